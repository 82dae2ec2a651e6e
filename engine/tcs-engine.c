/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OpenSSL ENGINE "tpm" (tpm.so): TSS KEY BLOB files (tpmcreate,
 * openssl_tpm_engine's create_tpm_key) as RSA private keys whose sign and
 * decrypt run in the TPM. Loaded as `-engine tpm` from OPENSSL_ENGINES or
 * through `dynamic` (SO_PATH, ID:tpm, LOAD, INIT). See tpm-engine(7).
 *
 * Control commands, as openssl_tpm_engine's:
 *   PIN          the SRK secret (default: TPM_SRK_PASSWD, else the well-known secret)
 *   SECRET_MODE  how PIN is taken: plain (SHA-1 of the string, the default)
 *                or sha1 (the secret itself: 40 hex digits, or 20 raw bytes
 *                through ENGINE_ctrl_cmd(e, "PIN", 20, raw, NULL, 0));
 *                TSS_SECRET_MODE_* numbers work too
 *
 * The ENGINE API is deprecated in OpenSSL 3; this file is built with the
 * deprecation warnings suppressed (engine/meson.build). Keys made here are
 * "foreign" RSA keys that OpenSSL 3 runs through its legacy code, which is
 * what libssl and the apps need.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ui.h>

#include "tcs-key.h"
#include "tcs-keyblob.h"
#include "tcs-tpmkey.h"

#define TSS_SECRET_MODE_SHA1 0x00001000
#define TSS_SECRET_MODE_PLAIN 0x00001800

#define CMD_PIN ENGINE_CMD_BASE
#define CMD_SECRET_MODE (ENGINE_CMD_BASE + 1)

static const char engine_id[] = "tpm";
static const char engine_name[] = "TPM 1.2 keys through tcsd (tcs)";

static const ENGINE_CMD_DEFN cmd_defns[] = {
	{CMD_PIN, "PIN", "The SRK secret (default: TPM_SRK_PASSWD, else the well-known secret)", ENGINE_CMD_FLAG_STRING},
	{CMD_SECRET_MODE, "SECRET_MODE", "How PIN is taken: plain (hashed) or sha1 (the secret)",
	 ENGINE_CMD_FLAG_STRING},
	{0, NULL, NULL, 0},
};

/* Errors: one library with one reason per kind of failure, the detail as data. */
enum {
	R_TPM = 100,
	R_NO_PSS,
	R_BAD_PADDING,
	R_BAD_ARGUMENT,
};
static int err_lib;
static ERR_STRING_DATA err_reasons[] = {
	{R_TPM, "TPM key operation failed"},
	{R_NO_PSS, "RSA-PSS is not possible with a TPM 1.2 key"},
	{R_BAD_PADDING, "padding not supported by the TPM key"},
	{R_BAD_ARGUMENT, "bad argument"},
	{0, NULL},
};
static ERR_STRING_DATA err_lib_name[] = {{0, "tpm engine"}, {0, NULL}};

static void
raise_err(int reason, const char *detail)
{
	ERR_raise_data(err_lib, reason, "%s", detail);
}

/* ---- state set by the control commands ---- */
static int secret_mode = TSS_SECRET_MODE_PLAIN;
static char *pin;   /* as given; turned into the secret when a key is loaded */
static size_t pin_len;
static int rsa_index = -1;
static RSA_METHOD *tpm_rsa;

static void
pin_clear(void)
{
	if (pin) {
		OPENSSL_clear_free(pin, pin_len);
		pin = NULL;
		pin_len = 0;
	}
}

static int
srk_secret(uint8_t out[TCS_SECRET_SIZE])
{
	if (!pin) {
		/* TPM_SRK_PASSWD, else the well-known secret */
		(void)tcs_auth_srk_secret(out);
		return 1;
	}
	if (secret_mode == TSS_SECRET_MODE_PLAIN)
		return tcs_auth_secret_plain(pin, pin_len, out) == 0;
	if (pin_len == 2 * TCS_SECRET_SIZE) {
		for (size_t i = 0; i < TCS_SECRET_SIZE; i++) {
			char hex[3] = {pin[2 * i], pin[2 * i + 1], 0};

			if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]))
				return 0;
			out[i] = (uint8_t)strtoul(hex, NULL, 16);
		}
		return 1;
	}
	if (pin_len != TCS_SECRET_SIZE)
		return 0;
	memcpy(out, pin, TCS_SECRET_SIZE);
	return 1;
}

static int
ctrl(ENGINE *e, int cmd, long i, void *p, void (*f)(void))
{
	switch (cmd) {
	case CMD_PIN:
		pin_clear();
		if (!p)
			return 1; /* back to the well-known secret */
		/* ENGINE_ctrl_cmd(e, "PIN", 20, raw, …) in sha1 mode: 20 raw bytes, maybe NULs;
		 * from a string (ENGINE_ctrl_cmd_string, i == 0) never more than the string */
		pin_len = secret_mode == TSS_SECRET_MODE_SHA1 && i == TCS_SECRET_SIZE ? TCS_SECRET_SIZE
										      : strlen(p);
		pin = OPENSSL_memdup(p, pin_len);
		return pin != NULL;
	case CMD_SECRET_MODE: {
		const char *s = p;
		long mode = i;

		if (s && !strcasecmp(s, "plain"))
			mode = TSS_SECRET_MODE_PLAIN;
		else if (s && !strcasecmp(s, "sha1"))
			mode = TSS_SECRET_MODE_SHA1;
		else if (s)
			mode = strtol(s, NULL, 0);
		if (mode != TSS_SECRET_MODE_PLAIN && mode != TSS_SECRET_MODE_SHA1) {
			raise_err(R_BAD_ARGUMENT, "SECRET_MODE must be plain or sha1");
			return 0;
		}
		secret_mode = (int)mode;
		return 1;
	}
	default:
		raise_err(R_BAD_ARGUMENT, "unknown control command");
		return 0;
	}
}

/* ---- the RSA method: private operations in the TPM, public ones in software ---- */

static TcsTpmKey *
key_of(RSA *rsa)
{
	return rsa_index >= 0 ? RSA_get_ex_data(rsa, rsa_index) : NULL;
}

static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
	TcsTpmKey *k = key_of(rsa);
	char err[TCS_TPMKEY_ERR_SIZE];
	size_t sig_len;

	if (!k) /* a software key that got this method through default_algorithms */
		return RSA_meth_get_priv_enc(RSA_PKCS1_OpenSSL())(flen, from, to, rsa, padding);
	if (padding == RSA_NO_PADDING) {
		/* what OpenSSL sends for RSA-PSS (it pads in software, then wants raw RSA) */
		raise_err(R_NO_PSS, TCS_TPMKEY_NO_PSS);
		/* also where stunnel and other quiet applications show it */
		fprintf(stderr, "tpm engine: %s\n", TCS_TPMKEY_NO_PSS);
		return -1;
	}
	if (padding != RSA_PKCS1_PADDING) {
		raise_err(R_BAD_PADDING, "TPM keys sign with PKCS#1 v1.5 padding only");
		return -1;
	}
	sig_len = (size_t)RSA_size(rsa);
	if (tcs_tpmkey_sign(k, from, (size_t)flen, to, &sig_len, err) < 0) {
		raise_err(R_TPM, err);
		return -1;
	}
	return (int)sig_len;
}

static int
rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
	TcsTpmKey *k = key_of(rsa);
	char err[TCS_TPMKEY_ERR_SIZE];
	size_t out_len;

	if (!k)
		return RSA_meth_get_priv_dec(RSA_PKCS1_OpenSSL())(flen, from, to, rsa, padding);
	if (padding != RSA_PKCS1_PADDING) {
		raise_err(R_BAD_PADDING, "TPM legacy keys decrypt PKCS#1 v1.5 only");
		return -1;
	}
	out_len = (size_t)RSA_size(rsa);
	if (tcs_tpmkey_decrypt(k, from, (size_t)flen, to, &out_len, err) < 0) {
		raise_err(R_TPM, err);
		return -1;
	}
	return (int)out_len;
}

static int
rsa_finish(RSA *rsa)
{
	TcsTpmKey *k = key_of(rsa);

	if (k) {
		RSA_set_ex_data(rsa, rsa_index, NULL);
		tcs_tpmkey_unref(k);
	}
	return 1;
}

static int
setup_rsa_method(void)
{
	tpm_rsa = RSA_meth_dup(RSA_PKCS1_OpenSSL());
	if (!tpm_rsa)
		return 0;
	return RSA_meth_set1_name(tpm_rsa, "TPM 1.2 RSA method (tcs)") &&
	       RSA_meth_set_priv_enc(tpm_rsa, rsa_priv_enc) &&
	       RSA_meth_set_priv_dec(tpm_rsa, rsa_priv_dec) &&
	       RSA_meth_set_finish(tpm_rsa, rsa_finish) &&
	       RSA_meth_set_flags(tpm_rsa, RSA_meth_get_flags(tpm_rsa) | RSA_FLAG_EXT_PKEY);
}

/* ---- loading keys ---- */

typedef struct {
	UI_METHOD *ui_method;
	void *callback_data;
} AskData;

static int
ask_passphrase(char *buf, size_t size, const char *prompt, void *userdata)
{
	AskData *d = userdata;
	UI *ui = UI_new_method(d->ui_method ? d->ui_method : UI_get_default_method());
	int rc = -ECANCELED;

	if (!ui)
		return -ENOMEM;
	if (d->callback_data)
		UI_add_user_data(ui, d->callback_data);
	/* DEFAULT_PWD: the apps' UI answers with -passin's password instead of prompting */
	if (UI_add_input_string(ui, prompt, UI_INPUT_FLAG_DEFAULT_PWD, buf, 0, (int)size - 1) >= 0 &&
	    UI_process(ui) == 0)
		rc = 0;
	UI_free(ui);
	return rc;
}

static EVP_PKEY *
load_privkey(ENGINE *e, const char *key_id, UI_METHOD *ui_method, void *callback_data)
{
	AskData ask = {ui_method, callback_data};
	char err[TCS_TPMKEY_ERR_SIZE];
	uint8_t secret[TCS_SECRET_SIZE];
	TcsTpmKey *k = NULL;
	EVP_PKEY *pub = NULL, *pkey = NULL;
	BIGNUM *n = NULL, *ex = NULL;
	RSA *rsa = NULL;
	int rc;

	if (!key_id) {
		raise_err(R_BAD_ARGUMENT, "no key file given");
		return NULL;
	}
	if (!srk_secret(secret)) {
		raise_err(R_BAD_ARGUMENT, "PIN is not a SHA-1 secret (40 hex digits) in SECRET_MODE sha1");
		return NULL;
	}
	rc = tcs_tpmkey_load(key_id, secret, ask_passphrase, &ask, &k, err);
	tcs_wipe(secret, sizeof(secret));
	if (rc < 0) {
		raise_err(R_TPM, err);
		/* said once on stderr too: daemons often log only the last OpenSSL error */
		fprintf(stderr, "tpm engine: %s\n", err);
		return NULL;
	}
	pub = tcs_tpmkey_public(k);
	rsa = RSA_new_method(e);
	if (rsa && EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) &&
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &ex) && RSA_set0_key(rsa, n, ex, NULL)) {
		n = ex = NULL;
		RSA_set_ex_data(rsa, rsa_index, TCS_TAKE_PTR(k));
		RSA_set_flags(rsa, RSA_FLAG_EXT_PKEY);
		pkey = EVP_PKEY_new();
		if (pkey && !EVP_PKEY_assign_RSA(pkey, rsa)) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		if (pkey)
			rsa = NULL;
	}
	BN_free(n);
	BN_free(ex);
	RSA_free(rsa); /* its finish drops k */
	tcs_tpmkey_unref(k);
	EVP_PKEY_free(pub);
	if (!pkey)
		raise_err(R_TPM, "out of memory");
	return pkey;
}

/* The public key is in the blob: no TPM, no passphrase. */
static EVP_PKEY *
load_pubkey(ENGINE *e, const char *key_id, UI_METHOD *ui_method, void *callback_data)
{
	_cleanup_keyblob_ TcsKeyBlob kb = {0};
	_cleanup_key_ TcsKey k = {0};
	EVP_PKEY *pub = NULL;
	char err[TCS_TPMKEY_ERR_SIZE];

	if (!key_id) {
		raise_err(R_BAD_ARGUMENT, "no key file given");
		return NULL;
	}
	if (tcs_keyblob_read_file(key_id, &kb) < 0 || tcs_key_parse(kb.blob, kb.blob_len, &k, NULL) < 0 ||
	    tcs_key_to_evp(&k, &pub) < 0) {
		snprintf(err, sizeof(err), "%s: not a TSS KEY BLOB file with an RSA public key", key_id);
		raise_err(R_TPM, err);
		return NULL;
	}
	return pub;
}

/* ---- life cycle ---- */

static int
engine_init(ENGINE *e)
{
	if (rsa_index < 0)
		rsa_index = RSA_get_ex_new_index(0, "tcs tpm key", NULL, NULL, NULL);
	return rsa_index >= 0;
}

static int
engine_finish(ENGINE *e)
{
	/* the last functional reference: every key (RSA_new_method holds one) is gone */
	tcs_tpmkey_disconnect();
	return 1;
}

static int
engine_destroy(ENGINE *e)
{
	pin_clear();
	RSA_meth_free(tpm_rsa);
	tpm_rsa = NULL;
	if (err_lib) {
		ERR_unload_strings(err_lib, err_reasons);
		ERR_unload_strings(err_lib, err_lib_name);
	}
	return 1;
}

static int
setup_engine(ENGINE *e)
{
	if (!err_lib) {
		err_lib = ERR_get_next_error_library();
		err_lib_name[0].error = ERR_PACK(err_lib, 0, 0);
		for (size_t i = 0; err_reasons[i].string; i++)
			err_reasons[i].error = ERR_PACK(err_lib, 0, err_reasons[i].error);
	}
	ERR_load_strings(err_lib, err_lib_name);
	ERR_load_strings(err_lib, err_reasons);
	if (!tpm_rsa && !setup_rsa_method())
		return 0;
	return ENGINE_set_id(e, engine_id) && ENGINE_set_name(e, engine_name) &&
	       ENGINE_set_RSA(e, tpm_rsa) && ENGINE_set_init_function(e, engine_init) &&
	       ENGINE_set_finish_function(e, engine_finish) &&
	       ENGINE_set_destroy_function(e, engine_destroy) &&
	       ENGINE_set_ctrl_function(e, ctrl) && ENGINE_set_cmd_defns(e, cmd_defns) &&
	       ENGINE_set_load_privkey_function(e, load_privkey) &&
	       ENGINE_set_load_pubkey_function(e, load_pubkey);
}

static int
bind_fn(ENGINE *e, const char *id)
{
	if (id && strcmp(id, engine_id) != 0)
		return 0;
	return setup_engine(e);
}

IMPLEMENT_DYNAMIC_CHECK_FN()
IMPLEMENT_DYNAMIC_BIND_FN(bind_fn)

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TPM half of tpmencrypt/tpmdecrypt (see tcs-crypt-tpm.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tcs-auth.h"
#include "tcs-bind.h"
#include "tcs-crypt-tpm.h"
#include "tcs-key.h"
#include "tcs-keyblob.h"
#include "tcs-passphrase.h"
#include "tcs-rc.h"
#include "tcs-uuid.h"

_Static_assert(TCS_CRYPT_DIGEST_SIZE == TCS_FINGERPRINT_SIZE, "the RK fingerprint is tcs_key_fingerprint");

#define RK_HINT "create it with 'tpmadm addkey key=rk' (or 'tpmctl addkey rk')"

const char *tcs_crypt_prog = "tcs-crypt";

static void
vmsg(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", tcs_crypt_prog, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
tcs_crypt_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void
tcs_crypt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

const char *
tcs_crypt_strerror(int rc)
{
	static char buf[128];

	if (rc < 0)
		return strerror(-rc);
	return tcs_rc_describe((uint32_t)rc, buf, sizeof(buf));
}

static bool
is_tss(int rc, uint32_t code)
{
	return rc > 0 && ((uint32_t)rc & 0xfffu) == code;
}

void
tcs_crypt_tpm_close(TcsCryptTpm *t)
{
	tcs_client_free(t->client);
	t->client = NULL;
	tcs_wipe(t->srk_secret, sizeof(t->srk_secret));
}

/* After the TPM refused the SRK secret: ask for the SRK password on the terminal. */
static bool
ask_srk_secret(TcsCryptTpm *t)
{
	char *pass = NULL;
	int rc;

	if (getenv(TCS_SRK_PASSWORD_ENV) ||
	    tcs_passphrase_prompt("Enter SRK password: ", TCS_PASSPHRASE_MAX, &pass) < 0)
		return false;
	rc = tcs_auth_secret_plain(pass, strlen(pass), t->srk_secret);
	tcs_passphrase_free(pass);
	return rc == 0;
}

int
tcs_crypt_tpm_open(TcsCryptTpm *t)
{
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_key_ TcsKey k = {0};
	size_t len = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = tcs_client_connect(NULL, NULL, &t->client);
	if (rc == 0)
		rc = tcs_client_open_context(t->client);
	if (rc != 0) {
		tcs_crypt_error("cannot reach tcsd at %s:%s: %s",
				getenv("TSS_TCSD_HOSTNAME") ?: TCS_CLIENT_DEFAULT_HOST,
				getenv("TSS_TCSD_PORT") ?: TCS_CLIENT_DEFAULT_PORT,
				tcs_crypt_strerror(rc));
		return TCS_CRYPT_EXIT_TPM;
	}
	rc = tcs_client_get_registered_key_blob(t->client, &TCS_UUID_RK, &blob, &len);
	if (TCS_RC_IS_RK_MISMATCH(rc)) {
		tcs_crypt_error("%s", TCS_RK_MISMATCH_MESSAGE);
		return TCS_CRYPT_EXIT_NO_RK;
	}
	if (is_tss(rc, TSS_E_PS_KEY_NOTFOUND)) {
		tcs_crypt_error("no roaming key (RK, UUID 00000000-0000-0000-0000-000000000003) is "
				"registered in system persistent storage; " RK_HINT);
		return TCS_CRYPT_EXIT_NO_RK;
	}
	if (rc != 0) {
		tcs_crypt_error("cannot read the roaming key from system persistent storage: %s",
				tcs_crypt_strerror(rc));
		return TCS_CRYPT_EXIT_TPM;
	}
	if (tcs_key_parse(blob, len, &k, NULL) < 0 || k.key_usage != TPM_KEY_STORAGE ||
	    tcs_key_fingerprint(&k, t->rk_fingerprint) < 0) {
		tcs_crypt_error("the registered roaming key is not a storage key; " RK_HINT);
		return TCS_CRYPT_EXIT_NO_RK;
	}
	t->rk_migratable = k.key_flags & TPM_KEY_FLAG_MIGRATABLE;
	(void)tcs_auth_srk_secret(t->srk_secret);
	rc = tcs_client_load_key_by_uuid(t->client, &TCS_UUID_RK, tcs_lookup_well_known, t->srk_secret, &t->rk);
	if (rc == TPM_AUTHFAIL && ask_srk_secret(t))
		rc = tcs_client_load_key_by_uuid(t->client, &TCS_UUID_RK, tcs_lookup_well_known, t->srk_secret,
						 &t->rk);
	if (TCS_RC_IS_RK_MISMATCH(rc)) {
		tcs_crypt_error("%s", TCS_RK_MISMATCH_MESSAGE);
		return TCS_CRYPT_EXIT_NO_RK;
	}
	if (rc == TPM_AUTHFAIL) {
		tcs_crypt_error("cannot load the roaming key: the TPM refused the SRK secret; give "
				"the SRK password in " TCS_SRK_PASSWORD_ENV " (or on the terminal)");
		return TCS_CRYPT_EXIT_AUTH;
	}
	if (rc != 0) {
		tcs_crypt_error("cannot load the roaming key: %s", tcs_crypt_strerror(rc));
		return TCS_CRYPT_EXIT_TPM;
	}
	return 0;
}

static void
random_uuid(TcsUuid *u)
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b)); /* caught: a null UUID is refused below */
	u->time_low = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	u->time_mid = (uint16_t)(b[4] << 8 | b[5]);
	u->time_high = (uint16_t)((b[6] << 8 | b[7]) & 0x0fff) | 0x4000; /* version 4 */
	u->clock_seq_high = (uint8_t)((b[8] & 0x3f) | 0x80);             /* RFC 4122 variant */
	u->clock_seq_low = b[9];
	memcpy(u->node, b + 10, 6);
}

int
tcs_crypt_tpm_new_key(TcsCryptTpm *t, const uint8_t secret[TCS_SECRET_SIZE], bool in_ps,
		      TcsCryptHeader *h, uint8_t key[TCS_CRYPT_KEY_SIZE])
{
	/* a non-migratable key cannot live under a migratable parent */
	TcsKeyTemplate tmpl = {
		.usage = TPM_KEY_BIND,
		.flags = t->rk_migratable ? TPM_KEY_FLAG_MIGRATABLE : 0,
		.auth_data_usage = TPM_AUTH_ALWAYS,
		.bits = 2048,
	};
	_cleanup_free_ uint8_t *info = NULL, *blob = NULL;
	_cleanup_key_ TcsKey k = {0};
	size_t info_len = 0, blob_len = 0;
	int rc;

	rc = tcs_client_key_template(&tmpl, &info, &info_len);
	if (rc == 0)
		/* migration secret = usage secret: migrating needs the passphrase too */
		rc = tcs_client_create_wrap_key(t->client, t->rk, tcs_auth_well_known, secret,
						secret, info, info_len, &blob, &blob_len);
	if (rc != 0) {
		tcs_crypt_error("cannot create a key under the roaming key: %s",
				tcs_crypt_strerror(rc));
		return TCS_CRYPT_EXIT_TPM;
	}
	if (tcs_key_parse(blob, blob_len, &k, NULL) < 0 || blob_len > TCS_CRYPT_BLOB_MAX) {
		tcs_crypt_error("the TPM returned an unusable key blob");
		return TCS_CRYPT_EXIT_TPM;
	}
	if (RAND_bytes(key, TCS_CRYPT_KEY_SIZE) != 1 ||
	    tcs_bind_software(&k, key, TCS_CRYPT_KEY_SIZE, &h->bound, &h->bound_len) < 0) {
		tcs_crypt_error("cannot encrypt the data key to the new TPM key (OpenSSL)");
		return TCS_CRYPT_EXIT_FAILURE;
	}
	h->rk_uuid = TCS_UUID_RK;
	memcpy(h->rk_fingerprint, t->rk_fingerprint, sizeof(h->rk_fingerprint));
	if (!in_ps) {
		h->key_blob = TCS_TAKE_PTR(blob);
		h->key_blob_len = blob_len;
		return 0;
	}
	random_uuid(&h->key_uuid);
	rc = tcs_uuid_is_null(&h->key_uuid)
		     ? -EIO
		     : tcs_client_register_key(t->client, &TCS_UUID_RK, &h->key_uuid, blob, blob_len);
	if (rc != 0) {
		tcs_crypt_error("cannot register the key in system persistent storage: %s",
				tcs_crypt_strerror(rc));
		return TCS_CRYPT_EXIT_TPM;
	}
	h->flags |= TCS_CRYPT_FLAG_KEY_IN_PS;
	return 0;
}

void
tcs_crypt_tpm_forget_key(TcsCryptTpm *t, const TcsCryptHeader *h)
{
	if (t->client && (h->flags & TCS_CRYPT_FLAG_KEY_IN_PS))
		(void)tcs_client_unregister_key(t->client, &h->key_uuid);
}

int
tcs_crypt_tpm_load_key(TcsCryptTpm *t, const TcsCryptHeader *h, const char *file,
		       uint32_t *ret_key)
{
	char ubuf[TCS_UUID_STRING_SIZE];
	int rc;

	/* a clear answer for "another machine" before the TPM says DECRYPT_ERROR */
	if (CRYPTO_memcmp(h->rk_fingerprint, t->rk_fingerprint, sizeof(t->rk_fingerprint)) != 0) {
		tcs_crypt_error("%s: was encrypted for another TPM's roaming key, not this one's "
				"(decrypt it on the machine that made it, or restore that RK here)",
				file);
		return TCS_CRYPT_EXIT_WRONG_TPM;
	}
	if (h->flags & TCS_CRYPT_FLAG_KEY_IN_PS) {
		rc = tcs_client_load_key_by_uuid(t->client, &h->key_uuid, tcs_lookup_well_known,
						 t->srk_secret, ret_key);
		if (is_tss(rc, TSS_E_PS_KEY_NOTFOUND)) {
			tcs_crypt_error("%s: its key %s is not in this system's persistent storage",
					file, tcs_uuid_to_string(&h->key_uuid, ubuf));
			return TCS_CRYPT_EXIT_WRONG_TPM;
		}
	} else {
		rc = tcs_client_load_key_by_blob(t->client, t->rk, NULL, h->key_blob,
						 h->key_blob_len, ret_key);
	}
	if (rc == TPM_DECRYPT_ERROR) {
		tcs_crypt_error("%s: its key cannot be loaded under this TPM's roaming key "
				"(made by another TPM): %s", file, tcs_crypt_strerror(rc));
		return TCS_CRYPT_EXIT_WRONG_TPM;
	}
	if (rc != 0) {
		tcs_crypt_error("%s: cannot load its key: %s", file, tcs_crypt_strerror(rc));
		return TCS_CRYPT_EXIT_TPM;
	}
	return 0;
}

int
tcs_crypt_tpm_unbind(TcsCryptTpm *t, uint32_t key, const TcsCryptHeader *h,
		     const uint8_t secret[TCS_SECRET_SIZE], const char *file,
		     uint8_t out[TCS_CRYPT_KEY_SIZE])
{
	uint8_t *plain = NULL;
	size_t len = 0;
	int rc = tcs_client_unbind(t->client, key, secret, h->bound, h->bound_len, &plain, &len);

	if (rc == 0 && len == TCS_CRYPT_KEY_SIZE)
		memcpy(out, plain, TCS_CRYPT_KEY_SIZE);
	if (plain) {
		OPENSSL_cleanse(plain, len);
		free(plain);
	}
	if (rc == TPM_AUTHFAIL) {
		tcs_crypt_error("%s: wrong passphrase", file);
		return TCS_CRYPT_EXIT_AUTH;
	}
	if (rc == TPM_DEFEND_LOCK_RUNNING) {
		tcs_crypt_error("%s: the TPM refuses authorisation for now after too many wrong "
				"secrets (dictionary-attack lockout); try again later", file);
		return TCS_CRYPT_EXIT_AUTH;
	}
	if (rc != 0) {
		tcs_crypt_error("%s: the TPM cannot recover the data key: %s", file,
				tcs_crypt_strerror(rc));
		return rc == TPM_DECRYPT_ERROR ? TCS_CRYPT_EXIT_BADFILE : TCS_CRYPT_EXIT_TPM;
	}
	if (len != TCS_CRYPT_KEY_SIZE) {
		tcs_crypt_error("%s: the recovered data key has the wrong size", file);
		return TCS_CRYPT_EXIT_BADFILE;
	}
	return 0;
}

int
tcs_crypt_get_secret(const char *option, bool confirm, uint8_t secret[TCS_SECRET_SIZE])
{
	TcsPassphraseSource src = {
		.value = option,
		.env = TCS_PASSPHRASE_ENV,
		.prompt = "Enter Passphrase: ",
		.confirm = confirm ? "Verifying - Enter Passphrase: " : NULL,
		.max_len = TCS_PASSPHRASE_MAX,
	};
	char *pass = NULL;
	int rc = tcs_passphrase_get(&src, &pass);

	if (rc == -E2BIG) {
		tcs_crypt_error("passphrase too long: at most %u characters", TCS_PASSPHRASE_MAX);
		return TCS_CRYPT_EXIT_AUTH;
	}
	if (rc < 0) {
		tcs_crypt_error("passphrase: %s", tcs_passphrase_strerror(rc));
		return TCS_CRYPT_EXIT_AUTH;
	}
	rc = tcs_auth_secret_plain(pass, strlen(pass), secret);
	tcs_passphrase_free(pass);
	if (rc < 0) {
		tcs_crypt_error("cannot hash the passphrase");
		return TCS_CRYPT_EXIT_FAILURE;
	}
	return 0;
}

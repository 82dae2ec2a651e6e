/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-tpmkey.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "tcs-client.h"
#include "tcs-key.h"
#include "tcs-keyblob.h"
#include "tcs-passphrase.h"
#include "tcs-rc.h"
#include "tcs-types.h"
#include "tcs-uuid.h"


struct TcsTpmKey {
	atomic_int refs;
	char *path;
	TcsKeyBlob kb;
	uint16_t usage, enc_scheme, sig_scheme;
	uint8_t auth_data_usage;
	uint8_t secret[TCS_SECRET_SIZE]; /* usage secret; used only when auth_data_usage != NEVER */
	uint8_t srk_secret[TCS_SECRET_SIZE];
	EVP_PKEY *pub;
	size_t size;
	uint32_t handle;
	unsigned gen; /* the connection the handle belongs to; 0: not loaded */
};

/* One connection per process, as libtspi-based engines have one context. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static TcsClient *client;
static unsigned client_gen;
static pid_t client_pid; /* a forked child must not talk on its parent's connection */

static void
say(char err[TCS_TPMKEY_ERR_SIZE], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
say(char err[TCS_TPMKEY_ERR_SIZE], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, TCS_TPMKEY_ERR_SIZE, fmt, ap);
	va_end(ap);
}

static const char *
describe(int rc, char *buf, size_t len)
{
	if (rc < 0)
		snprintf(buf, len, "%s", strerror(-rc));
	else
		tcs_rc_describe((uint32_t)rc, buf, len);
	return buf;
}

/* Transport failures leave the stream unusable: forget the connection. */
static bool
drop_if_broken(int rc)
{
	if (rc >= 0 || rc == -EINVAL || rc == -ENOMEM)
		return false;
	if (client_pid == getpid())
		tcs_client_free(client);
	client = NULL;
	return true;
}

static int
connect_locked(char err[TCS_TPMKEY_ERR_SIZE])
{
	char buf[128];
	int rc;

	if (client && client_pid != getpid()) {
		/* inherited across fork (stunnel going to the background): closing it would
		 * close the parent's TCS context, so only forget it and make our own */
		client = NULL;
	}
	if (client)
		return 0;
	rc = tcs_client_connect(NULL, NULL, &client);
	if (rc == 0)
		rc = tcs_client_open_context(client);
	if (rc != 0) {
		const char *host = getenv("TSS_TCSD_HOSTNAME"), *port = getenv("TSS_TCSD_PORT");

		tcs_client_free(client);
		client = NULL;
		say(err, "cannot reach tcsd at %s:%s: %s", host ? host : TCS_CLIENT_DEFAULT_HOST,
		    port ? port : TCS_CLIENT_DEFAULT_PORT, describe(rc, buf, sizeof(buf)));
		return rc < 0 ? rc : -ECONNREFUSED;
	}
	client_pid = getpid();
	if (++client_gen == 0)
		client_gen = 1;
	return 0;
}

static int
load_locked(TcsTpmKey *k, char err[TCS_TPMKEY_ERR_SIZE])
{
	char buf[128], u[TCS_UUID_STRING_SIZE];
	int rc = connect_locked(err);

	if (rc != 0 || k->gen == client_gen)
		return rc;
	rc = tcs_keyblob_load(client, &k->kb, k->srk_secret, &k->handle);
	if (rc > 0 && rc != TPM_AUTHFAIL && !k->kb.parent_recorded &&
	    tcs_uuid_equal(&k->kb.parent, &TCS_UUID_SRK)) {
		/* no recorded parent and the SRK cannot decrypt it: a tpmcreate key under the RK? */
		k->kb.parent = TCS_UUID_RK;
		if (tcs_keyblob_load(client, &k->kb, k->srk_secret, &k->handle) == 0)
			rc = 0;
		else
			k->kb.parent = TCS_UUID_SRK;
	}
	if (rc == 0) {
		k->gen = client_gen;
		return 0;
	}
	if (rc == -ENOENT && tcs_uuid_equal(&k->kb.parent, &TCS_UUID_RK))
		say(err, "%s: %s", k->path, TCS_KEYBLOB_NO_RK_MESSAGE);
	else if (TCS_RC_IS_RK_MISMATCH(rc))
		say(err, "%s: %s", k->path, TCS_RK_MISMATCH_MESSAGE);
	else if (rc == -ENOENT)
		say(err, "%s: its parent key %s is not in system persistent storage", k->path,
		    tcs_uuid_to_string(&k->kb.parent, u));
	else if (rc == TPM_AUTHFAIL)
		say(err, "%s: the SRK secret is wrong (engine PIN / SECRET_MODE, or the SRK "
			 "password in TPM_SRK_PASSWD; default: the well-known secret)",
		    k->path);
	else
		say(err, "%s: the TPM does not load the key under %s %s: %s", k->path,
		    tcs_uuid_equal(&k->kb.parent, &TCS_UUID_SRK) ? "the SRK" : "parent",
		    tcs_uuid_to_string(&k->kb.parent, u), describe(rc, buf, sizeof(buf)));
	drop_if_broken(rc);
	return rc;
}

static const uint8_t *
usage_secret(const TcsTpmKey *k)
{
	return k->auth_data_usage == TPM_AUTH_NEVER ? NULL : k->secret;
}

static void
key_free(TcsTpmKey *k)
{
	if (k->gen) {
		pthread_mutex_lock(&lock);
		if (client && k->gen == client_gen && client_pid == getpid())
			tcs_client_evict_key(client, k->handle);
		pthread_mutex_unlock(&lock);
	}
	tcs_wipe(k->secret, sizeof(k->secret));
	tcs_wipe(k->srk_secret, sizeof(k->srk_secret));
	tcs_keyblob_clear(&k->kb);
	EVP_PKEY_free(k->pub);
	free(k->path);
	free(k);
}

void
tcs_tpmkey_disconnect(void)
{
	pthread_mutex_lock(&lock);
	if (client_pid == getpid())
		tcs_client_free(client);
	client = NULL;
	pthread_mutex_unlock(&lock);
}

TcsTpmKey *
tcs_tpmkey_ref(TcsTpmKey *k)
{
	if (k)
		atomic_fetch_add(&k->refs, 1);
	return k;
}

void
tcs_tpmkey_unref(TcsTpmKey *k)
{
	if (k && atomic_fetch_sub(&k->refs, 1) == 1)
		key_free(k);
}
TCS_DEFINE_CLEANUP(TcsTpmKey *, tcs_tpmkey_unref)

static int
get_passphrase(TcsTpmKey *k, TcsTpmKeyPassphraseFn ask, void *userdata,
	       char err[TCS_TPMKEY_ERR_SIZE])
{
	char buf[TCS_PASSPHRASE_MAX + 2] = {0}, prompt[300];
	const char *env = getenv(TCS_PASSPHRASE_ENV);
	size_t len;
	int rc = 0;

	if (env) {
		len = strlen(env);
		if (len > TCS_PASSPHRASE_MAX) {
			say(err, "$%s is longer than %u characters", TCS_PASSPHRASE_ENV,
			    TCS_PASSPHRASE_MAX);
			return -E2BIG;
		}
		return tcs_auth_secret_plain(env, len, k->secret);
	}
	if (!ask) {
		say(err, "%s: the key needs a passphrase: set $%s", k->path, TCS_PASSPHRASE_ENV);
		return -ENOTTY;
	}
	snprintf(prompt, sizeof(prompt), "Enter passphrase for TPM key %s: ", k->path);
	rc = ask(buf, sizeof(buf), prompt, userdata);
	len = strnlen(buf, sizeof(buf));
	if (rc == 0 && len > TCS_PASSPHRASE_MAX)
		rc = -E2BIG;
	if (rc == 0)
		rc = tcs_auth_secret_plain(buf, len, k->secret);
	else
		say(err, "%s: no passphrase given%s", k->path,
		    rc == -E2BIG ? " (at most 128 characters)" : "");
	tcs_wipe(buf, sizeof(buf));
	return rc;
}

/* Check the passphrase now, not at the first signature in the middle of a handshake. */
static int
check_secret_locked(TcsTpmKey *k, char err[TCS_TPMKEY_ERR_SIZE])
{
	_cleanup_free_ uint8_t *pub = NULL;
	size_t pub_len;
	char buf[128];
	int rc;

	if (k->auth_data_usage != TPM_AUTH_ALWAYS)
		return 0;
	rc = tcs_client_get_pub_key(client, k->handle, k->secret, &pub, &pub_len);
	if (rc == TPM_AUTHFAIL || rc == TPM_DEFEND_LOCK_RUNNING) {
		say(err, "%s: wrong passphrase for the TPM key%s", k->path,
		    rc == TPM_DEFEND_LOCK_RUNNING ? " (the TPM's dictionary-attack lockout is running)"
						  : "");
		return -EKEYREJECTED;
	}
	if (rc != 0) {
		say(err, "%s: TPM_GetPubKey: %s", k->path, describe(rc, buf, sizeof(buf)));
		drop_if_broken(rc);
		return rc < 0 ? rc : -EIO;
	}
	return 0;
}

/*
 * The public key as a software key. Not tcs_key_to_evp(): inside the provider
 * an unqualified fetch of "RSA" could find our own keymgmt, which cannot
 * import keys.
 */
static int
public_key(const TcsKey *k, EVP_PKEY **ret)
{
	static const uint8_t default_exponent[] = {0x01, 0x00, 0x01};
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", "provider!=tpm");
	int rc = -ENOMEM;

	if (k->algorithm_id != TPM_ALG_RSA || tcs_key_modulus_is_zero(k))
		rc = -EINVAL;
	else if ((n = BN_bin2bn(k->modulus, (int)k->modulus_len, NULL)) &&
		 (e = k->exponent_len ? BN_bin2bn(k->exponent, (int)k->exponent_len, NULL)
				      : BN_bin2bn(default_exponent, sizeof(default_exponent), NULL)) &&
		 bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		 OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
		 (params = OSSL_PARAM_BLD_to_param(bld)))
		rc = EVP_PKEY_fromdata_init(ctx) > 0 &&
				     EVP_PKEY_fromdata(ctx, ret, EVP_PKEY_PUBLIC_KEY, params) > 0
			     ? 0
			     : -EIO;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return rc;
}

/* Fill k from its parsed blob: attributes, passphrase, load into the TPM. */
static int
key_setup(TcsTpmKey *k, TcsTpmKeyPassphraseFn ask, void *userdata, char err[TCS_TPMKEY_ERR_SIZE]);

static TcsTpmKey *
key_new(const char *name, const uint8_t srk_secret[TCS_SECRET_SIZE])
{
	TcsTpmKey *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	atomic_init(&k->refs, 1);
	memcpy(k->srk_secret, srk_secret, TCS_SECRET_SIZE);
	k->path = strdup(name);
	if (!k->path) {
		free(k);
		return NULL;
	}
	return k;
}

int
tcs_tpmkey_load(const char *path, const uint8_t srk_secret[TCS_SECRET_SIZE],
		TcsTpmKeyPassphraseFn ask, void *userdata, TcsTpmKey **ret,
		char err[TCS_TPMKEY_ERR_SIZE])
{
	_cleanup_(tcs_tpmkey_unrefp) TcsTpmKey *k = key_new(path, srk_secret);
	int rc;

	err[0] = '\0';
	if (!k) {
		say(err, "out of memory");
		return -ENOMEM;
	}
	rc = tcs_keyblob_read_file(path, &k->kb);
	if (rc < 0) {
		say(err, "%s: %s", path,
		    rc == -EBADMSG ? "not a TSS KEY BLOB file (tpmcreate, create_tpm_key)"
				   : strerror(-rc));
		return rc;
	}
	rc = key_setup(k, ask, userdata, err);
	if (rc == 0)
		*ret = TCS_TAKE_PTR(k);
	return rc;
}

int
tcs_tpmkey_load_text(const char *text, size_t len, const char *name,
		     const uint8_t srk_secret[TCS_SECRET_SIZE], TcsTpmKeyPassphraseFn ask,
		     void *userdata, TcsTpmKey **ret, char err[TCS_TPMKEY_ERR_SIZE])
{
	_cleanup_(tcs_tpmkey_unrefp) TcsTpmKey *k = key_new(name, srk_secret);
	int rc;

	err[0] = '\0';
	if (!k) {
		say(err, "out of memory");
		return -ENOMEM;
	}
	if (len > 0 && ((uint8_t)text[0] == 0x04 || (uint8_t)text[0] == 0x30)) /* DER forms */
		rc = tcs_keyblob_parse_der((const uint8_t *)text, len, &k->kb);
	else if (memmem(text, len, "-----BEGIN " TCS_KEYBLOB_PEM_NAME "-----",
			strlen("-----BEGIN " TCS_KEYBLOB_PEM_NAME "-----")))
		rc = tcs_keyblob_parse(text, len, &k->kb);
	else
		rc = -EMEDIUMTYPE;
	/* not ours (or only a piece of it): say nothing, others may decode it */
	if (rc < 0)
		return -EMEDIUMTYPE;
	rc = key_setup(k, ask, userdata, err);
	if (rc == 0)
		*ret = TCS_TAKE_PTR(k);
	return rc;
}

static int
key_setup(TcsTpmKey *k, TcsTpmKeyPassphraseFn ask, void *userdata, char err[TCS_TPMKEY_ERR_SIZE])
{
	_cleanup_key_ TcsKey parsed = {0};
	const char *path = k->path;
	int rc;

	rc = tcs_key_parse(k->kb.blob, k->kb.blob_len, &parsed, NULL);
	if (rc == 0)
		rc = public_key(&parsed, &k->pub);
	if (rc < 0) {
		say(err, "%s: the key blob holds no RSA public key", path);
		return -EBADMSG;
	}
	k->usage = parsed.key_usage;
	k->enc_scheme = parsed.enc_scheme;
	k->sig_scheme = parsed.sig_scheme;
	k->auth_data_usage = parsed.auth_data_usage;
	k->size = parsed.modulus_len;
	if (k->usage != TPM_KEY_LEGACY && k->usage != TPM_KEY_SIGNING && k->usage != TPM_KEY_BIND) {
		say(err, "%s: a TPM key of usage 0x%04x can neither sign nor decrypt", path,
		    k->usage);
		return -EINVAL;
	}
	if (k->auth_data_usage != TPM_AUTH_NEVER) {
		rc = get_passphrase(k, ask, userdata, err);
		if (rc < 0)
			return rc;
	}
	pthread_mutex_lock(&lock);
	rc = load_locked(k, err);
	if (rc == 0)
		rc = check_secret_locked(k, err);
	pthread_mutex_unlock(&lock);
	return rc == 0 ? 0 : rc < 0 ? rc : -EIO;
}

EVP_PKEY *
tcs_tpmkey_public(const TcsTpmKey *k)
{
	EVP_PKEY_up_ref(k->pub);
	return k->pub;
}

size_t
tcs_tpmkey_size(const TcsTpmKey *k)
{
	return k->size;
}

bool
tcs_tpmkey_can_sign(const TcsTpmKey *k)
{
	return k->usage != TPM_KEY_BIND && (k->sig_scheme == TPM_SS_RSASSAPKCS1v15_DER ||
					   k->sig_scheme == TPM_SS_RSASSAPKCS1v15_SHA1);
}

bool
tcs_tpmkey_can_decrypt(const TcsTpmKey *k)
{
	return k->usage != TPM_KEY_SIGNING && k->enc_scheme == TPM_ES_RSAESPKCSv15;
}

typedef int (*KeyOp)(TcsTpmKey *k, const uint8_t *in, size_t in_len, uint8_t **out,
		     size_t *out_len);

static int
op_sign(TcsTpmKey *k, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	return tcs_client_sign(client, k->handle, usage_secret(k), in, in_len, out, out_len);
}

static int
op_unbind(TcsTpmKey *k, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	return tcs_client_unbind(client, k->handle, usage_secret(k), in, in_len, out, out_len);
}

/* Run op on the loaded key; a broken connection is re-made and the key reloaded, once. */
static int
run(TcsTpmKey *k, KeyOp op, const char *what, const uint8_t *in, size_t in_len, uint8_t **out,
    size_t *out_len, char err[TCS_TPMKEY_ERR_SIZE])
{
	char buf[128];
	int rc = 0;

	pthread_mutex_lock(&lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = load_locked(k, err);
		if (rc != 0)
			break;
		rc = op(k, in, in_len, out, out_len);
		if (!drop_if_broken(rc))
			break;
	}
	pthread_mutex_unlock(&lock);
	if (rc > 0 || (rc < 0 && !err[0]))
		say(err, "%s: %s: %s", k->path, what, describe(rc, buf, sizeof(buf)));
	return rc == 0 ? 0 : rc < 0 ? rc : -EIO;
}

int
tcs_tpmkey_sign(TcsTpmKey *k, const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t *sig_len,
		char err[TCS_TPMKEY_ERR_SIZE])
{
	/* DigestInfo prefix of SHA-1 (RFC 8017 section 9.2, note 1) */
	static const uint8_t sha1_prefix[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
					      0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
	_cleanup_free_ uint8_t *out = NULL;
	size_t out_len = 0;
	int rc;

	err[0] = '\0';
	if (!tcs_tpmkey_can_sign(k)) {
		say(err, "%s: this TPM key cannot sign (usage 0x%04x, signature scheme 0x%04x)",
		    k->path, k->usage, k->sig_scheme);
		return -ENOTSUP;
	}
	if (k->sig_scheme == TPM_SS_RSASSAPKCS1v15_SHA1) {
		/* the TPM builds the SHA-1 DigestInfo itself from a bare digest */
		if (tbs_len != sizeof(sha1_prefix) + 20 || memcmp(tbs, sha1_prefix, sizeof(sha1_prefix))) {
			say(err, "%s: the key's signature scheme is PKCS#1 v1.5 SHA-1: it signs SHA-1 "
				 "digests only",
			    k->path);
			return -ENOTSUP;
		}
		tbs += sizeof(sha1_prefix);
		tbs_len = 20;
	} else if (tbs_len + 11 > k->size) {
		say(err, "%s: %zu bytes are too many to sign with a %zu-bit key", k->path, tbs_len,
		    k->size * 8);
		return -EMSGSIZE;
	}
	rc = run(k, op_sign, "TPM_Sign", tbs, tbs_len, &out, &out_len, err);
	if (rc < 0)
		return rc;
	if (out_len != k->size || *sig_len < out_len) {
		say(err, "%s: TPM_Sign returned %zu bytes for a %zu-byte key", k->path, out_len,
		    k->size);
		return -EBADMSG;
	}
	memcpy(sig, out, out_len);
	*sig_len = out_len;
	return 0;
}

int
tcs_tpmkey_decrypt(TcsTpmKey *k, const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len,
		   char err[TCS_TPMKEY_ERR_SIZE])
{
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	int rc;

	err[0] = '\0';
	if (!tcs_tpmkey_can_decrypt(k)) {
		say(err, "%s: this TPM key cannot decrypt PKCS#1 v1.5 (usage 0x%04x, encryption "
			 "scheme 0x%04x)",
		    k->path, k->usage, k->enc_scheme);
		return -ENOTSUP;
	}
	if (in_len != k->size) {
		say(err, "%s: the ciphertext is %zu bytes, not %zu", k->path, in_len, k->size);
		return -EINVAL;
	}
	rc = run(k, op_unbind, "TPM_UnBind", in, in_len, &plain, &plain_len, err);
	if (rc < 0)
		return rc;
	if (plain_len > *out_len) {
		tcs_wipe(plain, plain_len);
		free(plain);
		say(err, "%s: the plaintext does not fit", k->path);
		return -EMSGSIZE;
	}
	memcpy(out, plain, plain_len);
	*out_len = plain_len;
	tcs_wipe(plain, plain_len);
	free(plain);
	return 0;
}

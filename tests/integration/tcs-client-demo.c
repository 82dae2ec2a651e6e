/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-client-demo.c - libtcs' TSS client (src/tcs-client.h) against a live
 * tcsd: ours or TrouSerS' (run by test-tspi.sh on a fresh owned swtpm,
 * owner and SRK secrets well-known).
 *
 *   - context, GetRandom, GetCapability, OIAP/OSAP/TerminateHandle
 *   - a 2048-bit signing key under the SRK with a usage secret: CreateWrapKey
 *     (OSAP + ADIP), LoadKeyByBlob, Sign, the signature verified by OpenSSL
 *     with the key's modulus, GetPubKey
 *   - bind keys (OAEP and PKCS#1 v1.5): data bound in software as a
 *     TPM_BOUND_DATA, UnBind gives it back
 *   - Seal/Unseal under the SRK
 *   - system PS: a storage key with a usage secret registered under the SRK
 *     and a signing child registered under it, loaded back by UUID from fresh
 *     contexts through the LOADKEY_INFO retry protocol, enumerated, unregistered
 *   - wrong secrets give TPM_AUTHFAIL (TPM_AUTH2FAIL for Unseal's data)
 *
 * Against TrouSerS' tcsd (TCS_TEST_DAEMON=trousers) the same checks must pass:
 * where it cannot honour a LOADKEY_INFO (below the SRK) the client loads by
 * blob instead. Output is TAP; exit 0 / 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tcs-auth.h"
#include "tcs-client.h"
#include "tcs-key.h"
#include "tcs-uuid.h"

#define TPM_AUTH2FAIL 0x1du
#define TPM_CAP_VERSION_INFO_TAG 0x0030u
#define TPM_PT_BIND 0x02u

static int n_tests, n_failed;
static bool trousers;

static void
vreport(bool ok, const char *tail, const char *fmt, va_list ap)
{
	n_tests++;
	printf("%sok %d - ", ok ? "" : "not ", n_tests);
	vprintf(fmt, ap);
	printf("%s\n", tail ? tail : "");
	fflush(stdout);
}

static bool __attribute__((format(printf, 2, 3))) check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ok, NULL, fmt, ap);
	va_end(ap);
	n_failed += !ok;
	return ok;
}

/* rc must be want; prints what came instead */
static bool __attribute__((format(printf, 3, 4))) check_rc(int rc, int want, const char *fmt, ...)
{
	char tail[96] = "";
	va_list ap;

	if (rc != want)
		snprintf(tail, sizeof(tail), ": got %s0x%x (%s), expected 0x%x", rc < 0 ? "-" : "",
			 rc < 0 ? -rc : rc, rc < 0 ? strerror(-rc) : "TSS result", want);
	va_start(ap, fmt);
	vreport(rc == want, tail, fmt, ap);
	va_end(ap);
	n_failed += rc != want;
	return rc == want;
}

/* ------------------------------------------------------------------ helpers */

static uint8_t srk_secret[20];
static uint8_t sign_secret[20], bind_secret[20], storage_secret[20], child_secret[20];
static uint8_t seal_secret[20], wrong_secret[20];

/* UUIDs in the system PS; the last node byte tells them apart */
static TcsUuid
demo_uuid(uint8_t n)
{
	return (TcsUuid){0x7c5c1e00, 0xd3e0, 0x4a11, 0x80, 0x42, {0x10, 0x20, 0x30, 0x40, 0x50, n}};
}

typedef struct {
	TcsUuid uuid;
	const uint8_t *secret;
} KnownSecret;

static KnownSecret known[4];
static size_t n_known;

static int
lookup_secret(const TcsUuid *uuid, uint8_t secret[20], void *userdata)
{
	(void)userdata;
	for (size_t i = 0; i < n_known; i++) {
		if (tcs_uuid_equal(&known[i].uuid, uuid)) {
			memcpy(secret, known[i].secret, 20);
			return 0;
		}
	}
	return -ENOENT;
}

static int
connect_context(TcsClient **ret)
{
	_cleanup_client_ TcsClient *c = NULL;
	int rc = tcs_client_connect(NULL, NULL, &c);

	if (rc == 0)
		rc = tcs_client_open_context(c);
	if (rc == 0)
		*ret = TCS_TAKE_PTR(c);
	return rc;
}

static int
create_key(TcsClient *c, uint32_t parent, const uint8_t *parent_secret, const TcsKeyTemplate *t,
	   const uint8_t *usage_secret, uint8_t **blob, size_t *len)
{
	_cleanup_free_ uint8_t *info = NULL;
	size_t info_len = 0;
	int rc = tcs_client_key_template(t, &info, &info_len);

	if (rc < 0)
		return rc;
	return tcs_client_create_wrap_key(c, parent, parent_secret, usage_secret, NULL, info,
					  info_len, blob, len);
}

static void
pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void
pkey_ctx_freep(EVP_PKEY_CTX **p)
{
	EVP_PKEY_CTX_free(*p);
}

/* RSASSA-PKCS1-v1_5 with SHA-1 over a digest, with the public half of a key blob. */
static bool
openssl_verify(const uint8_t *blob, size_t len, const uint8_t digest[20], const uint8_t *sig,
	       size_t sig_len)
{
	_cleanup_key_ TcsKey k = {0};
	_cleanup_(pkey_freep) EVP_PKEY *pk = NULL;
	_cleanup_(pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;

	if (tcs_key_parse(blob, len, &k, NULL) < 0 || tcs_key_to_evp(&k, &pk) < 0)
		return false;
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	return ctx && EVP_PKEY_verify_init(ctx) > 0 &&
	       EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha1()) > 0 &&
	       EVP_PKEY_verify(ctx, sig, sig_len, digest, 20) == 1;
}

/*
 * Bind in software as Tspi_Data_Bind does for a bind key: a TPM_BOUND_DATA
 * {TPM_STRUCT_VER 1.1.0.0, TPM_PT_BIND, data}, RSA-encrypted with OAEP
 * (SHA-1, label "TCPA") or PKCS#1 v1.5 according to the key's encScheme.
 */
static int
software_bind(const uint8_t *blob, size_t len, const void *data, size_t data_len, uint8_t **ret,
	      size_t *ret_len)
{
	_cleanup_key_ TcsKey k = {0};
	_cleanup_(pkey_freep) EVP_PKEY *pk = NULL;
	_cleanup_(pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;
	_cleanup_free_ uint8_t *bound = NULL, *out = NULL;
	size_t out_len = 0;

	if (tcs_key_parse(blob, len, &k, NULL) < 0 || tcs_key_to_evp(&k, &pk) < 0)
		return -EINVAL;
	bound = malloc(5 + data_len);
	if (!bound)
		return -ENOMEM;
	memcpy(bound, (const uint8_t[]){1, 1, 0, 0, TPM_PT_BIND}, 5);
	memcpy(bound + 5, data, data_len);
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	if (!ctx || EVP_PKEY_encrypt_init(ctx) <= 0)
		return -EIO;
	if (k.enc_scheme == TPM_ES_RSAESOAEP_SHA1_MGF1) {
		/* the label is handed over: OpenSSL frees it with the context */
		char *label = OPENSSL_strdup("TCPA");

		if (!label || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) <= 0 ||
		    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, 4) <= 0) {
			OPENSSL_free(label);
			return -EIO;
		}
	} else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) {
		return -EIO;
	}
	if (EVP_PKEY_encrypt(ctx, NULL, &out_len, bound, 5 + data_len) <= 0)
		return -EIO;
	out = malloc(out_len);
	if (!out || EVP_PKEY_encrypt(ctx, out, &out_len, bound, 5 + data_len) <= 0)
		return -EIO;
	*ret = TCS_TAKE_PTR(out);
	*ret_len = out_len;
	return 0;
}

static bool
same_modulus(const uint8_t *blob, size_t len, const uint8_t *pub, size_t pub_len)
{
	_cleanup_key_ TcsKey a = {0};
	_cleanup_key_ TcsKey b = {0};
	const uint8_t *ma, *mb;
	size_t la, lb;

	return tcs_key_parse(blob, len, &a, NULL) == 0 &&
	       tcs_pubkey_parse(pub, pub_len, &b, NULL) == 0 &&
	       tcs_key_modulus(&a, &ma, &la) == 0 && tcs_key_modulus(&b, &mb, &lb) == 0 &&
	       la == lb && memcmp(ma, mb, la) == 0;
}

static bool
has_key(const TcsRegisteredKey *keys, size_t n, const TcsUuid *uuid, const TcsUuid *parent)
{
	for (size_t i = 0; i < n; i++)
		if (tcs_uuid_equal(&keys[i].uuid, uuid))
			return !parent || tcs_uuid_equal(&keys[i].parent, parent);
	return false;
}

/*
 * Every wrong secret counts towards the TPM's dictionary-attack lockout
 * (swtpm answers TPM_DEFEND_LOCK_RUNNING from the 7th): reset it each time.
 */
static void
reset_lock(TcsClient *c)
{
	check_rc(tcs_client_reset_lock_value(c, tcs_auth_well_known), 0,
		 "ResetLockValue with the owner secret");
}

/* ------------------------------------------------------------------ sections */

static void
test_basics(TcsClient *c)
{
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_free_ uint8_t *cap = NULL;
	uint8_t rnd[600] = {0}, none[600] = {0};
	size_t cap_len = 0;
	uint32_t srk = 0;

	check(tcs_client_context(c) != 0, "context 0x%08x open", tcs_client_context(c));
	check(tcs_client_tpm_version(c) == 2, "the daemon reports a TPM 1.2 (version %u)",
	      tcs_client_tpm_version(c));
	check_rc(tcs_client_get_random(c, rnd, sizeof(rnd)), 0, "GetRandom of %zu bytes",
		 sizeof(rnd));
	check(memcmp(rnd, none, sizeof(rnd)) != 0, "random bytes are not all zero");
	check_rc(tcs_client_get_capability(c, TPM_CAP_VERSION_VAL, NULL, 0, &cap, &cap_len), 0,
		 "GetCapability(TPM_CAP_VERSION_VAL)");
	check(cap_len >= 6 && cap[0] == 0 && cap[1] == TPM_CAP_VERSION_INFO_TAG && cap[2] == 1 &&
		      cap[3] == 2,
	      "TPM_CAP_VERSION_INFO for a TPM 1.2 (%zu bytes)", cap_len);
	check_rc(tcs_client_load_key_by_uuid(c, &TCS_UUID_SRK, lookup_secret, NULL, &srk), 0,
		 "LoadKeyByUUID(SRK)");
	check(srk == TPM_KH_SRK, "the SRK's handle is 0x%08x", srk);

	check_rc(tcs_client_oiap(c, srk_secret, &s), 0, "OIAP");
	check_rc(tcs_client_terminate_handle(c, s.handle), 0,
		 "TerminateHandle of the OIAP session");
	check_rc(tcs_client_osap(c, TPM_ET_KEYHANDLE, TPM_KH_SRK, srk_secret, &s), 0,
		 "OSAP on the SRK");
	check_rc(tcs_client_terminate_handle(c, s.handle), 0,
		 "TerminateHandle of the OSAP session");
}

static void
test_sign(TcsClient *c)
{
	_cleanup_free_ uint8_t *blob = NULL, *sig = NULL, *pub = NULL, *bad_sig = NULL;
	_cleanup_key_ TcsKey k = {0};
	uint8_t digest[20];
	size_t len = 0, sig_len = 0, pub_len = 0, bad_len = 0;
	uint32_t key = 0, bad_key = 0;
	TcsKeyTemplate t = {
		.usage = TPM_KEY_SIGNING,
		.auth_data_usage = TPM_AUTH_ALWAYS,
		.bits = 2048,
		.key12 = true,
	};

	if (!check_rc(create_key(c, TPM_KH_SRK, srk_secret, &t, sign_secret, &blob, &len), 0,
		      "CreateWrapKey: 2048-bit signing key (TPM_KEY12) under the SRK"))
		return;
	check(tcs_key_parse(blob, len, &k, NULL) == 0 && k.kind == TCS_KEY_KIND_KEY12 &&
		      k.key_usage == TPM_KEY_SIGNING && k.modulus_len == 256 &&
		      k.auth_data_usage == TPM_AUTH_ALWAYS,
	      "the blob is a TPM_KEY12 signing key with a 2048-bit modulus");
	check_rc(create_key(c, TPM_KH_SRK, wrong_secret, &t, sign_secret, &blob, &len),
		 TPM_AUTHFAIL, "CreateWrapKey with a wrong SRK secret: TPM_AUTHFAIL");
	reset_lock(c);
	check_rc(tcs_client_load_key_by_blob(c, TPM_KH_SRK, wrong_secret, blob, len, &bad_key),
		 TPM_AUTHFAIL, "LoadKeyByBlob with a wrong SRK secret: TPM_AUTHFAIL");
	reset_lock(c);
	if (!check_rc(tcs_client_load_key_by_blob(c, TPM_KH_SRK, srk_secret, blob, len, &key), 0,
		      "LoadKeyByBlob under the SRK"))
		return;
	tcs_sha1("tcs client demo", 15, digest);
	if (check_rc(tcs_client_sign(c, key, sign_secret, digest, sizeof(digest), &sig, &sig_len),
		     0, "Sign a SHA-1 digest"))
		check(sig_len == 256 && openssl_verify(blob, len, digest, sig, sig_len),
		      "OpenSSL verifies the signature with the key's modulus");
	check_rc(tcs_client_sign(c, key, wrong_secret, digest, sizeof(digest), &bad_sig, &bad_len),
		 TPM_AUTHFAIL, "Sign with a wrong usage secret: TPM_AUTHFAIL");
	reset_lock(c);
	if (check_rc(tcs_client_get_pub_key(c, key, sign_secret, &pub, &pub_len), 0, "GetPubKey"))
		check(same_modulus(blob, len, pub, pub_len), "GetPubKey: the blob's modulus");
	check_rc(tcs_client_flush_specific(c, key, TPM_RT_KEY), 0,
		 "FlushSpecific(TPM_RT_KEY) unloads the key");
	check(tcs_client_sign(c, key, sign_secret, digest, sizeof(digest), &bad_sig, &bad_len) > 0,
	      "the flushed key is gone");
}

static void
test_bind(TcsClient *c, uint16_t enc_scheme, const char *what)
{
	static const char msg[] = "bound in software, unbound by the TPM";
	_cleanup_free_ uint8_t *blob = NULL, *enc = NULL, *plain = NULL, *bad = NULL;
	size_t len = 0, enc_len = 0, plain_len = 0, bad_len = 0;
	uint32_t key = 0;
	TcsKeyTemplate t = {
		.usage = TPM_KEY_BIND,
		.auth_data_usage = TPM_AUTH_ALWAYS,
		.enc_scheme = enc_scheme,
	};

	if (!check_rc(create_key(c, TPM_KH_SRK, srk_secret, &t, bind_secret, &blob, &len), 0,
		      "CreateWrapKey: %s bind key (TPM_KEY)", what) ||
	    !check_rc(tcs_client_load_key_by_blob(c, TPM_KH_SRK, srk_secret, blob, len, &key), 0,
		      "LoadKeyByBlob: %s bind key", what))
		return;
	check_rc(software_bind(blob, len, msg, sizeof(msg), &enc, &enc_len), 0,
		 "bind in software (%s, TPM_BOUND_DATA)", what);
	if (check_rc(tcs_client_unbind(c, key, bind_secret, enc, enc_len, &plain, &plain_len), 0,
		     "UnBind (%s)", what))
		check(plain_len == sizeof(msg) && memcmp(plain, msg, sizeof(msg)) == 0,
		      "UnBind gives the data back (%s)", what);
	check_rc(tcs_client_unbind(c, key, wrong_secret, enc, enc_len, &bad, &bad_len),
		 TPM_AUTHFAIL, "UnBind with a wrong secret: TPM_AUTHFAIL (%s)", what);
	reset_lock(c);
	check_rc(tcs_client_evict_key(c, key), 0, "EvictKey (%s bind key)", what);
	if (plain)
		tcs_wipe(plain, plain_len);
}

static void
test_seal(TcsClient *c)
{
	static const char msg[] = "sealed under the SRK";
	_cleanup_free_ uint8_t *sealed = NULL, *plain = NULL, *bad = NULL;
	size_t sealed_len = 0, plain_len = 0, bad_len = 0;

	if (!check_rc(tcs_client_seal(c, TPM_KH_SRK, srk_secret, seal_secret, NULL, 0, msg,
				      sizeof(msg), &sealed, &sealed_len),
		      0, "Seal under the SRK"))
		return;
	if (check_rc(tcs_client_unseal(c, TPM_KH_SRK, srk_secret, seal_secret, sealed, sealed_len,
				       &plain, &plain_len),
		     0, "Unseal"))
		check(plain_len == sizeof(msg) && memcmp(plain, msg, sizeof(msg)) == 0,
		      "Unseal gives the data back");
	check_rc(tcs_client_unseal(c, TPM_KH_SRK, srk_secret, wrong_secret, sealed, sealed_len,
				   &bad, &bad_len),
		 TPM_AUTH2FAIL, "Unseal with a wrong data secret: TPM_AUTH2FAIL");
	reset_lock(c);
	check_rc(tcs_client_unseal(c, TPM_KH_SRK, wrong_secret, seal_secret, sealed, sealed_len,
				   &bad, &bad_len),
		 TPM_AUTHFAIL, "Unseal with a wrong SRK secret: TPM_AUTHFAIL");
	reset_lock(c);
}

static void
test_ps(TcsClient *c)
{
	const TcsUuid u_storage = demo_uuid(1), u_child = demo_uuid(2), u_none = demo_uuid(9);
	_cleanup_free_ uint8_t *sblob = NULL, *cblob = NULL, *got = NULL, *sig = NULL, *pub = NULL;
	_cleanup_free_ TcsRegisteredKey *keys = NULL;
	size_t slen = 0, clen = 0, got_len = 0, sig_len = 0, pub_len = 0, n = 0;
	uint32_t skey = 0, h = 0;
	uint8_t digest[20];
	int rc;
	TcsKeyTemplate st = {.usage = TPM_KEY_STORAGE, .auth_data_usage = TPM_AUTH_ALWAYS};
	TcsKeyTemplate ct = {.usage = TPM_KEY_SIGNING, .auth_data_usage = TPM_AUTH_ALWAYS};

	tcs_sha1("registered child", 16, digest);
	/* SRK -> storage key (usage secret) -> signing key (usage secret) */
	if (!check_rc(create_key(c, TPM_KH_SRK, srk_secret, &st, storage_secret, &sblob, &slen), 0,
		      "CreateWrapKey: storage key under the SRK") ||
	    !check_rc(tcs_client_load_key_by_blob(c, TPM_KH_SRK, srk_secret, sblob, slen, &skey), 0,
		      "LoadKeyByBlob: storage key") ||
	    !check_rc(create_key(c, skey, storage_secret, &ct, child_secret, &cblob, &clen), 0,
		      "CreateWrapKey: signing key under the storage key"))
		return;
	check_rc(create_key(c, skey, wrong_secret, &ct, child_secret, &got, &got_len), TPM_AUTHFAIL,
		 "CreateWrapKey with a wrong storage-key secret: TPM_AUTHFAIL");
	reset_lock(c);
	check_rc(tcs_client_evict_key(c, skey), 0, "EvictKey: storage key");

	check_rc(tcs_client_register_key(c, &TCS_UUID_SRK, &u_storage, sblob, slen), 0,
		 "RegisterKey: storage key under the SRK");
	check_rc(tcs_client_register_key(c, &u_storage, &u_child, cblob, clen), 0,
		 "RegisterKey: signing key under the storage key");
	check_rc(tcs_client_register_key(c, &u_storage, &u_child, cblob, clen),
		 TCS_ERR(TSS_E_KEY_ALREADY_REGISTERED), "RegisterKey again: already registered");
	if (check_rc(tcs_client_enum_registered_keys(c, NULL, &keys, &n), 0, "EnumRegisteredKeys"))
		check(has_key(keys, n, &TCS_UUID_SRK, NULL) &&
			      has_key(keys, n, &u_storage, &TCS_UUID_SRK) &&
			      has_key(keys, n, &u_child, &u_storage),
		      "SRK, storage key and child listed with their parents (%zu keys)", n);
	free(TCS_TAKE_PTR(keys));
	if (check_rc(tcs_client_enum_registered_keys(c, &u_child, &keys, &n), 0,
		     "EnumRegisteredKeys from the child"))
		check(n == 3 && has_key(keys, n, &u_child, &u_storage) &&
			      has_key(keys, n, &u_storage, &TCS_UUID_SRK),
		      "the path child -> storage key -> SRK (%zu keys)", n);
	if (check_rc(tcs_client_get_registered_key_blob(c, &u_child, &got, &got_len), 0,
		     "GetRegisteredKeyBlob: child"))
		check(got_len == clen && memcmp(got, cblob, clen) == 0, "the registered blob");

	/* a fresh context: the storage key, then its child, by UUID */
	{
		_cleanup_client_ TcsClient *c2 = NULL;

		if (check_rc(connect_context(&c2), 0, "second connection and context")) {
			known[n_known++] = (KnownSecret){TCS_UUID_SRK, srk_secret};
			check_rc(tcs_client_load_key_by_uuid(c2, &u_storage, NULL, NULL, &h),
				 TCS_ERR(TCS_E_KM_LOADFAILED),
				 "LoadKeyByUUID without the SRK's secret: TCS_E_KM_LOADFAILED");
			check_rc(tcs_client_load_key_by_uuid(c2, &u_storage, lookup_secret, NULL,
							     &h),
				 0, "LoadKeyByUUID: storage key (LOADKEY_INFO retry with the SRK)");
			free(TCS_TAKE_PTR(pub));
			if (check_rc(tcs_client_get_pub_key(c2, h, storage_secret, &pub, &pub_len),
				     0, "GetPubKey: storage key loaded by UUID"))
				check(same_modulus(sblob, slen, pub, pub_len),
				      "the registered storage key");
			known[n_known++] = (KnownSecret){u_storage, storage_secret};
			rc = tcs_client_load_key_by_uuid(c2, &u_child, lookup_secret, NULL, &h);
			if (check_rc(rc, 0,
				     "LoadKeyByUUID: child, its parent loaded (retry with the "
				     "storage key's secret; TrouSerS: by blob)")) {
				if (check_rc(tcs_client_sign(c2, h, child_secret, digest, 20, &sig,
							     &sig_len),
					     0, "Sign with the child loaded by UUID"))
					check(openssl_verify(cblob, clen, digest, sig, sig_len),
					      "OpenSSL verifies it");
			}
		}
	}
	/* and one more: the grandchild straight away, two levels of retries */
	{
		_cleanup_client_ TcsClient *c3 = NULL;

		if (check_rc(connect_context(&c3), 0, "third connection and context")) {
			rc = tcs_client_load_key_by_uuid(c3, &u_child, lookup_secret, NULL, &h);
			if (check_rc(rc, 0,
				     "LoadKeyByUUID: child with nothing loaded (two retries; "
				     "TrouSerS: one, then by blob)")) {
				free(TCS_TAKE_PTR(sig));
				if (check_rc(tcs_client_sign(c3, h, child_secret, digest, 20, &sig,
							     &sig_len),
					     0, "Sign with it"))
					check(openssl_verify(cblob, clen, digest, sig, sig_len),
					      "OpenSSL verifies it: the handle is the child's");
			}
			n_known = 1; /* the storage key's secret forgotten */
			check_rc(tcs_client_load_key_by_uuid(c3, &u_none, lookup_secret, NULL, &h),
				 TCS_ERR(TSS_E_PS_KEY_NOTFOUND), "LoadKeyByUUID: unknown UUID");
		}
	}
	{
		_cleanup_client_ TcsClient *c4 = NULL;

		if (check_rc(connect_context(&c4), 0, "fourth connection and context")) {
			known[0] = (KnownSecret){TCS_UUID_SRK, wrong_secret};
			n_known = 1;
			check_rc(tcs_client_load_key_by_uuid(c4, &u_storage, lookup_secret, NULL,
							     &h),
				 TPM_AUTHFAIL,
				 "LoadKeyByUUID with a wrong SRK secret: TPM_AUTHFAIL");
			reset_lock(c4);
			known[0] = (KnownSecret){TCS_UUID_SRK, srk_secret};
		}
	}

	check_rc(tcs_client_unregister_key(c, &u_child), 0, "UnregisterKey: child");
	check_rc(tcs_client_unregister_key(c, &u_storage), 0, "UnregisterKey: storage key");
	check_rc(tcs_client_unregister_key(c, &u_storage), TCS_ERR(TSS_E_PS_KEY_NOTFOUND),
		 "UnregisterKey again: not found");
	free(TCS_TAKE_PTR(keys));
	if (check_rc(tcs_client_enum_registered_keys(c, NULL, &keys, &n), 0,
		     "EnumRegisteredKeys after unregistering"))
		check(has_key(keys, n, &TCS_UUID_SRK, NULL) &&
			      !has_key(keys, n, &u_storage, NULL) &&
			      !has_key(keys, n, &u_child, NULL),
		      "only the SRK is left (%zu keys)", n);
}

int
main(void)
{
	_cleanup_client_ TcsClient *c = NULL;
	const char *daemon = getenv("TCS_TEST_DAEMON");
	int rc;

	trousers = daemon && strcmp(daemon, "trousers") == 0;
	printf("# tcs-client-demo against tcsd=%s (%s:%s)\n", trousers ? "trousers" : "ours",
	       getenv("TSS_TCSD_HOSTNAME") ?: "localhost", getenv("TSS_TCSD_PORT") ?: "30003");
	tcs_auth_secret_plain("sign", 4, sign_secret);
	tcs_auth_secret_plain("bind", 4, bind_secret);
	tcs_auth_secret_plain("storage", 7, storage_secret);
	tcs_auth_secret_plain("child", 5, child_secret);
	tcs_auth_secret_plain("seal", 4, seal_secret);
	tcs_auth_secret_plain("wrong", 5, wrong_secret);
	memcpy(srk_secret, tcs_auth_well_known, 20);
	known[n_known++] = (KnownSecret){TCS_UUID_SRK, srk_secret};

	rc = connect_context(&c);
	if (!check_rc(rc, 0, "connect and OpenContext")) {
		printf("1..%d\n", n_tests);
		return 1;
	}
	test_basics(c);
	test_sign(c);
	test_bind(c, TPM_ES_RSAESOAEP_SHA1_MGF1, "OAEP");
	test_bind(c, TPM_ES_RSAESPKCSv15, "PKCS#1 v1.5");
	test_seal(c);
	n_known = 0; /* test_ps() hands out the secrets as it goes */
	test_ps(c);
	check_rc(tcs_client_close_context(c), 0, "CloseContext");
	check_rc(tcs_client_get_random(c, (uint8_t[4]){0}, 4), -ENOTCONN,
		 "no calls without a context");

	printf("1..%d\n", n_tests);
	printf("# tcs-client-demo (tcsd=%s): %d checks, %d failed\n",
	       trousers ? "trousers" : "ours", n_tests, n_failed);
	return n_failed ? 1 : 0;
}

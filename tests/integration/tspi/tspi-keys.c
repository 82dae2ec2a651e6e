/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-keys.c - key ordinals through libtspi: CREATEWRAPKEY, LOADKEYBYBLOB,
 * SIGN, GETPUBKEY, UNBIND, CERTIFYKEY, FLUSHSPECIFIC, OIAP/OSAP.
 *
 *   signing key (2048, no auth) under the SRK: sign a SHA-1 digest, verify it
 *     with Tspi_Hash_VerifySignature and with OpenSSL from the public key the
 *     TPM returns (Tspi_Key_GetPubKey)
 *   signing key with usage auth: sign + verify; wrong usage secret ->
 *     TPM_E_AUTHFAIL, and the daemon keeps serving (GetRandom, sign again)
 *   bind key: Tspi_Data_Bind (local) / Tspi_Data_Unbind (TPM) round trip
 *   Tspi_Key_CertifyKey: the signing key certifies the bind key (OpenSSL check)
 *   storage key with auth under the SRK, signing child under it: sign
 *   GetPubKey of the SRK -> TPM_E_INVALID_KEYHANDLE (readSRKPub is off)
 *   Tspi_Key_UnloadKey, twice -> TCS_E_INVALID_KEY
 *
 * Usage: tspi-keys   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets)
 */
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define KEY_FLAGS(type, auth) ((type) | TSS_KEY_SIZE_2048 | TSS_KEY_NOT_MIGRATABLE | \
			       ((auth) ? TSS_KEY_AUTHORIZATION : TSS_KEY_NO_AUTHORIZATION))

/* sign digest with key, verify with libtspi and OpenSSL; returns 1 when all passed */
static int
sign_and_verify(TSS_HCONTEXT ctx, TSS_HKEY key, const char *name)
{
	BYTE digest[20], *sig = NULL, *mod = NULL;
	UINT32 sig_len = 0, mod_len = 0;
	uint32_t exponent = 0;
	TSS_RESULT rc;
	int ok = 1;

	tt_sha1(name, strlen(name), digest);
	rc = tt_sign(ctx, key, digest, &sig, &sig_len);
	if (!tt_rc(rc, 0, "%s: Tspi_Hash_Sign", name))
		return 0;
	ok &= tt_ok(sig_len == 256, "%s: signature is 256 bytes (%u)", name, sig_len);
	ok &= tt_rc(tt_verify_tspi(ctx, key, digest, sig, sig_len), 0,
		    "%s: Tspi_Hash_VerifySignature", name);
	rc = tt_pubkey_modulus(ctx, key, &mod, &mod_len, &exponent);
	ok &= tt_rc(rc, 0, "%s: Tspi_Key_GetPubKey", name);
	if (rc == 0) {
		ok &= tt_ok(tt_openssl_verify(mod, mod_len, exponent, digest, sig, sig_len),
			    "%s: OpenSSL verifies the signature with the TPM's public key "
			    "(%u-bit, e=%u)", name, mod_len * 8, exponent);
		/* a corrupted digest must not verify: the check has teeth */
		digest[0] ^= 1;
		ok &= tt_ok(!tt_openssl_verify(mod, mod_len, exponent, digest, sig, sig_len),
			    "%s: OpenSSL rejects the signature of another digest", name);
		free(mod);
	}
	Tspi_Context_FreeMemory(ctx, sig);
	return ok;
}

static void
test_bind(TSS_HCONTEXT ctx, TSS_HKEY srk, int auth)
{
	static const char msg[] = "bind/unbind round trip through the TPM";
	const char *name = auth ? "bind key (usage auth)" : "bind key (no auth)";
	TSS_HKEY key;
	TSS_HENCDATA enc;
	BYTE *out = NULL;
	UINT32 out_len = 0;
	TSS_RESULT rc;

	rc = tt_create_key(ctx, srk, KEY_FLAGS(TSS_KEY_TYPE_BIND, auth), "bind-secret", 1, &key);
	if (!tt_rc(rc, 0, "%s: create + load under the SRK", name))
		return;
	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_ENCDATA, TSS_ENCDATA_BIND, &enc);
	if (rc == 0)
		rc = Tspi_Data_Bind(enc, key, sizeof(msg), (BYTE *)msg);
	if (!tt_rc(rc, 0, "%s: Tspi_Data_Bind", name))
		return;
	rc = Tspi_Data_Unbind(enc, key, &out_len, &out);
	if (tt_rc(rc, 0, "%s: Tspi_Data_Unbind", name))
		tt_ok(out_len == sizeof(msg) && memcmp(out, msg, out_len) == 0,
		      "%s: unbound data equals the bound data", name);
	Tspi_Context_FreeMemory(ctx, out);
	Tspi_Context_CloseObject(ctx, enc);
	Tspi_Context_CloseObject(ctx, key);
}

static void
test_certify(TSS_HCONTEXT ctx, TSS_HKEY srk, TSS_HKEY signer)
{
	TSS_HKEY key;
	TSS_VALIDATION v;
	BYTE nonce[20], digest[20], *mod = NULL;
	UINT32 mod_len = 0;
	uint32_t exponent = 0;
	TSS_RESULT rc;

	rc = tt_create_key(ctx, srk, KEY_FLAGS(TSS_KEY_TYPE_BIND, 0), NULL, 1, &key);
	if (!tt_rc(rc, 0, "certify: create + load the key to certify"))
		return;
	tt_random(nonce, sizeof(nonce));
	memset(&v, 0, sizeof(v));
	v.ulExternalDataLength = sizeof(nonce);
	v.rgbExternalData = nonce;
	rc = Tspi_Key_CertifyKey(key, signer, &v);
	if (!tt_rc(rc, 0, "certify: Tspi_Key_CertifyKey (signing key certifies a bind key)"))
		goto out;
	/* TPM_CERTIFY_INFO: version 4, keyUsage 2 (0x0014 bind), keyFlags 4,
	 * authDataUsage 1, algorithmParms..., pubkeyDigest 20, data (nonce) 20, ... */
	tt_ok(v.ulDataLength > 60 && v.rgbData[4] == 0x00 && v.rgbData[5] == 0x14,
	      "certify: TPM_CERTIFY_INFO names a bind key (%u bytes)", v.ulDataLength);
	tt_ok(v.ulDataLength > 60 && memmem(v.rgbData, v.ulDataLength, nonce, sizeof(nonce)),
	      "certify: the nonce is in TPM_CERTIFY_INFO");
	tt_sha1(v.rgbData, v.ulDataLength, digest);
	rc = tt_pubkey_modulus(ctx, signer, &mod, &mod_len, &exponent);
	if (tt_rc(rc, 0, "certify: GetPubKey of the certifying key")) {
		tt_ok(tt_openssl_verify(mod, mod_len, exponent, digest, v.rgbValidationData,
					v.ulValidationDataLength),
		      "certify: OpenSSL verifies the certification signature");
		free(mod);
	}
out:
	Tspi_Context_CloseObject(ctx, key);
}

int
main(void)
{
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_HKEY srk, sign_na = 0, sign_a = 0, storage, child;
	TSS_HPOLICY pol;
	BYTE digest[20], *sig = NULL, *rnd = NULL, *pub = NULL;
	UINT32 sig_len, pub_len;
	TSS_RESULT rc;
	double t0 = tt_now_ms();

	tt_plan_name("tspi-keys");
	rc = tt_connect(&ctx, &tpm, &srk);
	if (!tt_rc(rc, 0, "connect, TPM object, LoadKeyByUUID(SRK)"))
		return tt_done();

	/* -- signing key without usage auth */
	rc = tt_create_key(ctx, srk, KEY_FLAGS(TSS_KEY_TYPE_SIGNING, 0), NULL, 1, &sign_na);
	if (tt_rc(rc, 0, "create + load 2048-bit signing key (no auth) under the SRK"))
		sign_and_verify(ctx, sign_na, "signing key (no auth)");

	/* -- signing key with usage auth */
	rc = tt_create_key(ctx, srk, KEY_FLAGS(TSS_KEY_TYPE_SIGNING, 1), "sign-secret", 1, &sign_a);
	if (tt_rc(rc, 0, "create + load 2048-bit signing key (usage auth) under the SRK")) {
		sign_and_verify(ctx, sign_a, "signing key (usage auth)");
		/* wrong usage secret: the TPM refuses the OIAP authorisation */
		rc = tt_set_usage_secret(ctx, sign_a, "wrong-secret", &pol);
		tt_rc(rc, 0, "assign a wrong usage secret");
		tt_sha1("wrong", 5, digest);
		rc = tt_sign(ctx, sign_a, digest, &sig, &sig_len);
		tt_rc(rc, TPM_E_AUTHFAIL, "sign with the wrong usage secret -> TPM_E_AUTHFAIL");
		/* the daemon still serves this client */
		rc = Tspi_TPM_GetRandom(tpm, 16, &rnd);
		tt_rc(rc, 0, "GetRandom right after the auth failure");
		Tspi_Context_FreeMemory(ctx, rnd);
		rc = Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_PLAIN, 11, (BYTE *)"sign-secret");
		tt_rc(rc, 0, "set the right usage secret again");
		sign_and_verify(ctx, sign_a, "signing key (usage auth) after the failure");
	}

	/* -- bind / unbind */
	test_bind(ctx, srk, 0);
	test_bind(ctx, srk, 1);

	/* -- certify key */
	if (sign_na)
		test_certify(ctx, srk, sign_na);
	else
		tt_skip("no signing key", "certify key");

	/* -- two-level hierarchy: storage key with auth, signing child under it */
	rc = tt_create_key(ctx, srk, KEY_FLAGS(TSS_KEY_TYPE_STORAGE, 1), "storage-secret", 1,
			   &storage);
	if (tt_rc(rc, 0, "create + load 2048-bit storage key (usage auth) under the SRK")) {
		rc = tt_create_key(ctx, storage, KEY_FLAGS(TSS_KEY_TYPE_SIGNING, 0), NULL, 1,
				   &child);
		if (tt_rc(rc, 0, "create + load signing key under the storage key (OSAP + OIAP "
			  "with the storage secret)"))
			sign_and_verify(ctx, child, "child of the storage key");
		rc = tt_create_key(ctx, storage, KEY_FLAGS(TSS_KEY_TYPE_SIGNING, 1), "child-secret",
				   1, &child);
		if (tt_rc(rc, 0, "create + load signing key with auth under the storage key"))
			sign_and_verify(ctx, child, "child with auth of the storage key");
	}

	/* -- GetPubKey of the SRK: the TPM refuses (readSRKPub off after TakeOwnership) */
	rc = Tspi_Key_GetPubKey(srk, &pub_len, &pub);
	tt_rc(rc, TPM_E_INVALID_KEYHANDLE, "GetPubKey(SRK) -> TPM_E_INVALID_KEYHANDLE (readSRKPub off)");

	/* -- unload */
	if (sign_na) {
		rc = Tspi_Key_UnloadKey(sign_na);
		tt_rc(rc, 0, "Tspi_Key_UnloadKey (FLUSHSPECIFIC)");
		rc = Tspi_Key_UnloadKey(sign_na);
		tt_rc(rc, TT_TCS_E_INVALID_KEY, "Tspi_Key_UnloadKey again -> TCS_E_INVALID_KEY");
	}

	rc = Tspi_Context_Close(ctx);
	tt_rc(rc, 0, "Tspi_Context_Close");
	tt_diag("tspi-keys took %.0f ms", tt_now_ms() - t0);
	return tt_done();
}

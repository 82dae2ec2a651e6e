/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-ps.c - system persistent storage through libtspi: REGISTERKEY,
 * UNREGISTERKEY, ENUMREGISTEREDKEYS(2), GETREGISTEREDKEYBLOB,
 * GETREGISTEREDKEYBYPUBLICINFO, LOADKEYBYUUID (with the LOADKEY_INFO
 * authorisation round trip).
 *
 * Hierarchy registered in the system PS (fixed UUIDs, fresh PS per run):
 *   SRK
 *   +- storage key, usage auth        U_STORAGE
 *   |  +- signing key, usage auth     U_SIGN     (the SRK's grandchild)
 *   +- bind key, no auth              U_BIND
 *   (and, for a moment, the bind key again as U_ORPHAN, its parent
 *   U_NO_PARENT never registered)
 *
 * A second context then loads them by UUID; a third one loads the same UUIDs
 * (shared with the second) and still uses them after the second has closed:
 * TrouSerS 0.3.15 answers TCS_E_INVALID_KEY there (the key cached for the
 * UUID goes with the first context), a known TrouSerS failure. The SRK needs authorisation
 * (well-known secret), so LoadKeyByUUID(U_STORAGE) answers TCS_E_KM_LOADFAILED
 * with a LOADKEY_INFO, libtspi authorises with the SRK object's policy and
 * retries once. LoadKeyByUUID(U_SIGN) does the same with the storage key's
 * policy: TrouSerS 0.3.15 answers 0x20ca again on that retry (it only honours
 * the LOADKEY_INFO for SRK children), reported as a known TrouSerS failure.
 * libtspi retries only once, so a grandchild can only be loaded once its
 * parent is loaded (here: by UUID, in the same context) - with any daemon.
 *
 * Usage: tspi-ps   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets;
 *                   the system PS must not hold these UUIDs yet)
 */
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define KEY_FLAGS(type, auth) ((type) | TSS_KEY_SIZE_2048 | TSS_KEY_NOT_MIGRATABLE | \
			       ((auth) ? TSS_KEY_AUTHORIZATION : TSS_KEY_NO_AUTHORIZATION))

static const char *
uuid_name(const TSS_UUID *u)
{
	static char buf[8][40];
	static int i;
	char *b = buf[i++ % 8];

	snprintf(b, 40, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", u->ulTimeLow,
		 u->usTimeMid, u->usTimeHigh, u->bClockSeqHigh, u->bClockSeqLow, u->rgbNode[0],
		 u->rgbNode[1], u->rgbNode[2], u->rgbNode[3], u->rgbNode[4], u->rgbNode[5]);
	return b;
}

static int
uuid_eq(const TSS_UUID *a, const TSS_UUID *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* enumerate all (start NULL) or the path from start up to the SRK */
static void
check_enum(TSS_HCONTEXT ctx, const TSS_UUID *start, const TSS_UUID *want, const TSS_UUID *parents,
	   UINT32 n_want, const char *what)
{
	TSS_KM_KEYINFO *info = NULL;
	TSS_KM_KEYINFO2 *info2 = NULL;
	UINT32 n = 0, n2 = 0, found = 0, found2 = 0;
	TSS_RESULT rc;

	rc = Tspi_Context_GetRegisteredKeysByUUID(ctx, TSS_PS_TYPE_SYSTEM, (TSS_UUID *)start, &n,
						  &info);
	if (tt_rc(rc, 0, "GetRegisteredKeysByUUID %s", what)) {
		for (UINT32 i = 0; i < n_want; i++)
			for (UINT32 j = 0; j < n; j++)
				if (uuid_eq(&info[j].keyUUID, &want[i]) &&
				    uuid_eq(&info[j].parentKeyUUID, &parents[i])) {
					found++;
					break;
				}
		tt_ok(n == n_want && found == n_want,
		      "GetRegisteredKeysByUUID %s: %u keys, the expected %u with their parents "
		      "(%u matched)", what, n, n_want, found);
		if (start && n > 0)
			tt_ok(uuid_eq(&info[0].keyUUID, start),
			      "GetRegisteredKeysByUUID %s: the path starts at the key (%s)", what,
			      uuid_name(&info[0].keyUUID));
		Tspi_Context_FreeMemory(ctx, (BYTE *)info);
	}
	rc = Tspi_Context_GetRegisteredKeysByUUID2(ctx, TSS_PS_TYPE_SYSTEM, (TSS_UUID *)start, &n2,
						   &info2);
	if (tt_rc(rc, 0, "GetRegisteredKeysByUUID2 %s", what)) {
		for (UINT32 i = 0; i < n_want; i++)
			for (UINT32 j = 0; j < n2; j++)
				if (uuid_eq(&info2[j].keyUUID, &want[i]) &&
				    uuid_eq(&info2[j].parentKeyUUID, &parents[i]) &&
				    info2[j].persistentStorageType == TSS_PS_TYPE_SYSTEM) {
					found2++;
					break;
				}
		tt_ok(n2 == n_want && found2 == n_want,
		      "GetRegisteredKeysByUUID2 %s: %u keys, the expected %u in system PS "
		      "(%u matched)", what, n2, n_want, found2);
		Tspi_Context_FreeMemory(ctx, (BYTE *)info2);
	}
}

static int
same_modulus(TSS_HKEY a, TSS_HKEY b)
{
	BYTE *ma = NULL, *mb = NULL;
	UINT32 la = 0, lb = 0;

	if (tt_attrib_modulus(a, &ma, &la) || tt_attrib_modulus(b, &mb, &lb))
		return 0;
	return la == lb && la > 0 && memcmp(ma, mb, la) == 0;
}

int
main(void)
{
	const TSS_UUID U_STORAGE = tt_uuid(0x50, 1), U_SIGN = tt_uuid(0x50, 2),
		       U_BIND = tt_uuid(0x50, 3), U_UNKNOWN = tt_uuid(0x50, 0x99),
		       U_ORPHAN = tt_uuid(0x50, 4), U_NO_PARENT = tt_uuid(0x50, 0x98);
	TSS_HCONTEXT ctx, ctx2, ctx3;
	TSS_HTPM tpm;
	TSS_HKEY srk, storage = 0, sign = 0, bind = 0, k, k_storage, k_sign, k_bind;
	BYTE *mod = NULL, *pmod = NULL, digest[20], *sig = NULL, *regmod = NULL;
	UINT32 mod_len = 0, pmod_len = 0, sig_len = 0, regmod_len = 0;
	uint32_t exponent;
	TSS_RESULT rc;
	int have_sign = 0, sign3;
	double t0 = tt_now_ms();

	tt_plan_name("tspi-ps");
	rc = tt_connect(&ctx, &tpm, &srk);
	if (!tt_rc(rc, 0, "connect, TPM object, LoadKeyByUUID(SRK)"))
		return tt_done();
	tt_diag("UUIDs: storage %s, sign %s, bind %s", uuid_name(&U_STORAGE), uuid_name(&U_SIGN),
		uuid_name(&U_BIND));

	/* -- register the hierarchy */
	rc = tt_create_key(ctx, srk, KEY_FLAGS(TSS_KEY_TYPE_STORAGE, 1), "ps-storage", 1, &storage);
	if (!tt_rc(rc, 0, "create + load storage key (usage auth) under the SRK"))
		goto out;
	rc = Tspi_Context_RegisterKey(ctx, storage, TSS_PS_TYPE_SYSTEM, U_STORAGE,
				      TSS_PS_TYPE_SYSTEM, tt_srk_uuid);
	tt_rc(rc, 0, "RegisterKey storage key (system PS, parent SRK)");
	rc = Tspi_Context_RegisterKey(ctx, storage, TSS_PS_TYPE_SYSTEM, U_STORAGE,
				      TSS_PS_TYPE_SYSTEM, tt_srk_uuid);
	tt_rc(rc, TT_TCS_E_KEY_ALREADY_REGISTERED,
	      "RegisterKey the same UUID again -> TSS_E_KEY_ALREADY_REGISTERED");

	rc = tt_create_key(ctx, storage, KEY_FLAGS(TSS_KEY_TYPE_SIGNING, 1), "ps-sign", 1, &sign);
	if (tt_rc(rc, 0, "create + load signing key (usage auth) under the storage key")) {
		rc = Tspi_Context_RegisterKey(ctx, sign, TSS_PS_TYPE_SYSTEM, U_SIGN,
					      TSS_PS_TYPE_SYSTEM, U_STORAGE);
		have_sign = tt_rc(rc, 0, "RegisterKey signing key (system PS, parent storage key)");
		tt_attrib_modulus(sign, &regmod, &regmod_len);
	}
	rc = tt_create_key(ctx, srk, KEY_FLAGS(TSS_KEY_TYPE_BIND, 0), NULL, 1, &bind);
	if (tt_rc(rc, 0, "create + load bind key (no auth) under the SRK")) {
		rc = Tspi_Context_RegisterKey(ctx, bind, TSS_PS_TYPE_SYSTEM, U_BIND,
					      TSS_PS_TYPE_SYSTEM, tt_srk_uuid);
		tt_rc(rc, 0, "RegisterKey bind key (system PS, parent SRK)");
		/* a parent that is not registered (yet): TrouSerS takes it, and so do we */
		rc = Tspi_Context_RegisterKey(ctx, bind, TSS_PS_TYPE_SYSTEM, U_ORPHAN,
					      TSS_PS_TYPE_SYSTEM, U_NO_PARENT);
		tt_rc(rc, 0, "RegisterKey with an unregistered parent UUID (system PS)");
		rc = Tspi_Context_UnregisterKey(ctx, TSS_PS_TYPE_SYSTEM, U_ORPHAN, &k);
		tt_rc(rc, 0, "UnregisterKey the key with the unregistered parent");
	}

	/* -- enumerate */
	{
		const TSS_UUID all[] = {tt_srk_uuid, U_STORAGE, U_SIGN, U_BIND};
		const TSS_UUID all_parents[] = {{0}, tt_srk_uuid, U_STORAGE, tt_srk_uuid};
		const TSS_UUID path[] = {U_SIGN, U_STORAGE, tt_srk_uuid};
		const TSS_UUID path_parents[] = {U_STORAGE, tt_srk_uuid, {0}};

		check_enum(ctx, NULL, all, all_parents, 4, "(all)");
		check_enum(ctx, &U_SIGN, path, path_parents, 3, "(from the signing key)");
	}

	/* -- GetKeyByUUID / GetKeyByPublicInfo */
	rc = Tspi_Context_GetKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, U_SIGN, &k);
	if (tt_rc(rc, 0, "GetKeyByUUID signing key"))
		tt_ok(same_modulus(k, sign), "GetKeyByUUID: the blob has the registered public key");
	rc = Tspi_Context_GetKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, U_UNKNOWN, &k);
	tt_rc(rc, TT_TCS_E_PS_KEY_NOTFOUND, "GetKeyByUUID unknown UUID -> TSS_E_PS_KEY_NOTFOUND");
	if (bind && tt_rc(tt_attrib_modulus(bind, &mod, &mod_len), 0, "modulus of the bind key")) {
		rc = Tspi_Context_GetKeyByPublicInfo(ctx, TSS_PS_TYPE_SYSTEM, TSS_ALG_RSA, mod_len,
						     mod, &k);
		if (tt_rc(rc, 0, "GetKeyByPublicInfo bind key (modulus)"))
			tt_ok(same_modulus(k, bind), "GetKeyByPublicInfo: the blob is the bind key");
		mod[mod_len / 2] ^= 0x55;
		rc = Tspi_Context_GetKeyByPublicInfo(ctx, TSS_PS_TYPE_SYSTEM, TSS_ALG_RSA, mod_len,
						     mod, &k);
		tt_rc(rc, TT_TCS_E_PS_KEY_NOTFOUND,
		      "GetKeyByPublicInfo unknown modulus -> TSS_E_PS_KEY_NOTFOUND");
	}
	rc = Tspi_Context_Close(ctx);
	tt_rc(rc, 0, "close the registering context");

	/* -- a fresh context loads the keys by UUID */
	rc = tt_connect(&ctx2, &tpm, &srk);
	if (!tt_rc(rc, 0, "second context, LoadKeyByUUID(SRK)"))
		goto out;
	rc = Tspi_Context_LoadKeyByUUID(ctx2, TSS_PS_TYPE_SYSTEM, U_BIND, &k);
	if (tt_rc(rc, 0, "LoadKeyByUUID bind key (SRK auth via LOADKEY_INFO)")) {
		static const char msg[] = "bound to a key loaded by UUID";
		TSS_HENCDATA enc;
		BYTE *out = NULL;
		UINT32 out_len = 0;

		rc = Tspi_Context_CreateObject(ctx2, TSS_OBJECT_TYPE_ENCDATA, TSS_ENCDATA_BIND, &enc);
		if (rc == 0)
			rc = Tspi_Data_Bind(enc, k, sizeof(msg), (BYTE *)msg);
		if (rc == 0)
			rc = Tspi_Data_Unbind(enc, k, &out_len, &out);
		tt_ok(rc == 0 && out_len == sizeof(msg) && memcmp(out, msg, out_len) == 0,
		      "bind/unbind with the bind key loaded by UUID (0x%x)", rc);
	}
	rc = Tspi_Context_LoadKeyByUUID(ctx2, TSS_PS_TYPE_SYSTEM, U_STORAGE, &k_storage);
	if (tt_rc(rc, 0, "LoadKeyByUUID storage key (SRK auth via LOADKEY_INFO)")) {
		rc = tt_set_usage_secret(ctx2, k_storage, "ps-storage", NULL);
		tt_rc(rc, 0, "usage secret of the storage key object");
		rc = Tspi_Context_LoadKeyByUUID(ctx2, TSS_PS_TYPE_SYSTEM, U_SIGN, &k_sign);
		if (tt_rc_xfail_trousers(rc, 0, TT_TCS_E_KM_LOADFAILED,
					 "LOADKEY_INFO retry for a non-SRK parent fails in 0.3.15",
					 "LoadKeyByUUID signing key, the SRK's grandchild (storage key "
					 "auth via LOADKEY_INFO)")) {
			rc = tt_set_usage_secret(ctx2, k_sign, "ps-sign", NULL);
			tt_sha1("signed by a key loaded by UUID", 30, digest);
			if (rc == 0)
				rc = tt_sign(ctx2, k_sign, digest, &sig, &sig_len);
			if (tt_rc(rc, 0, "sign with the signing key loaded by UUID")) {
				tt_rc(tt_verify_tspi(ctx2, k_sign, digest, sig, sig_len), 0,
				      "Tspi_Hash_VerifySignature (key loaded by UUID)");
				rc = tt_pubkey_modulus(ctx2, k_sign, &pmod, &pmod_len, &exponent);
				tt_ok(rc == 0 && have_sign && regmod_len == pmod_len &&
				      memcmp(regmod, pmod, pmod_len) == 0 &&
				      tt_openssl_verify(regmod, regmod_len, exponent, digest, sig,
							sig_len),
				      "the TPM's public key is the registered one and OpenSSL "
				      "verifies the signature");
			}
		}
	}
	rc = Tspi_Context_LoadKeyByUUID(ctx2, TSS_PS_TYPE_SYSTEM, U_UNKNOWN, &k);
	tt_rc(rc, TT_TCS_E_PS_KEY_NOTFOUND, "LoadKeyByUUID unknown UUID -> TSS_E_PS_KEY_NOTFOUND");

	/* -- a third context shares the keys loaded by UUID; they outlive ctx2 */
	rc = tt_connect(&ctx3, &tpm, &srk);
	if (!tt_rc(rc, 0, "third context, LoadKeyByUUID(SRK)"))
		goto out;
	rc = Tspi_Context_LoadKeyByUUID(ctx3, TSS_PS_TYPE_SYSTEM, U_BIND, &k_bind);
	tt_rc(rc, 0, "third context: LoadKeyByUUID bind key (loaded by the second one too)");
	rc = Tspi_Context_LoadKeyByUUID(ctx3, TSS_PS_TYPE_SYSTEM, U_STORAGE, &k);
	tt_rc(rc, 0, "third context: LoadKeyByUUID storage key (loaded by the second one too)");
	rc = Tspi_Context_LoadKeyByUUID(ctx3, TSS_PS_TYPE_SYSTEM, U_SIGN, &k_sign);
	sign3 = tt_rc_xfail_trousers(rc, 0, TT_TCS_E_KM_LOADFAILED,
				     "LOADKEY_INFO retry for a non-SRK parent fails in 0.3.15",
				     "third context: LoadKeyByUUID signing key");
	tt_rc(Tspi_Context_Close(ctx2), 0, "close the second context");
	{
		static const char msg[] = "unbound after the other context closed";
		TSS_HENCDATA enc;
		BYTE *out = NULL;
		UINT32 out_len = 0;

		rc = Tspi_Context_CreateObject(ctx3, TSS_OBJECT_TYPE_ENCDATA, TSS_ENCDATA_BIND, &enc);
		if (rc == 0)
			rc = Tspi_Data_Bind(enc, k_bind, sizeof(msg), (BYTE *)msg);
		if (rc == 0)
			rc = Tspi_Data_Unbind(enc, k_bind, &out_len, &out);
		if (rc == 0 && (out_len != sizeof(msg) || memcmp(out, msg, out_len) != 0))
			rc = TSS_E_INTERNAL_ERROR; /* wrong plaintext */
		tt_rc_xfail_trousers(rc, 0, TT_TCS_E_INVALID_KEY,
				     "a key loaded by UUID in two contexts goes when the first "
				     "closes",
				     "third context: unbind with the shared bind key after the "
				     "second context closed");
	}
	if (sign3) {
		rc = tt_set_usage_secret(ctx3, k_sign, "ps-sign", NULL);
		tt_sha1("signed after the loading context closed", 39, digest);
		if (rc == 0)
			rc = tt_sign(ctx3, k_sign, digest, &sig, &sig_len);
		if (tt_rc(rc, 0, "third context: sign after the second context closed"))
			tt_ok(have_sign && tt_openssl_verify(regmod, regmod_len, 65537, digest, sig,
							     sig_len),
			      "OpenSSL verifies it with the registered public key");
	}

	/* -- unregister */
	rc = Tspi_Context_UnregisterKey(ctx3, TSS_PS_TYPE_SYSTEM, U_SIGN, &k);
	tt_rc(rc, 0, "UnregisterKey signing key");
	rc = Tspi_Context_UnregisterKey(ctx3, TSS_PS_TYPE_SYSTEM, U_SIGN, &k);
	tt_rc(rc, TT_TCS_E_PS_KEY_NOTFOUND, "UnregisterKey again -> TSS_E_PS_KEY_NOTFOUND");
	rc = Tspi_Context_UnregisterKey(ctx3, TSS_PS_TYPE_SYSTEM, U_BIND, &k);
	tt_rc(rc, 0, "UnregisterKey bind key");
	rc = Tspi_Context_UnregisterKey(ctx3, TSS_PS_TYPE_SYSTEM, U_STORAGE, &k);
	tt_rc(rc, 0, "UnregisterKey storage key");
	{
		const TSS_UUID all[] = {tt_srk_uuid};
		const TSS_UUID all_parents[] = {{0}};

		check_enum(ctx3, NULL, all, all_parents, 1, "(after unregistering: SRK only)");
	}
	rc = Tspi_Context_LoadKeyByUUID(ctx3, TSS_PS_TYPE_SYSTEM, U_STORAGE, &k);
	tt_rc(rc, TT_TCS_E_PS_KEY_NOTFOUND,
	      "LoadKeyByUUID of the unregistered storage key -> TSS_E_PS_KEY_NOTFOUND");
	rc = Tspi_Context_Close(ctx3);
	tt_rc(rc, 0, "Tspi_Context_Close");
out:
	free(pmod);
	tt_diag("tspi-ps took %.0f ms", tt_now_ms() - t0);
	return tt_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-owner.c - owner and administration ordinals not reached elsewhere:
 * CHANGEAUTH, CHANGEAUTHOWNER, CERTIFYSELFTEST, SEALX, QUOTE2,
 * OWNERREADINTERNALPUB, ENUMREGISTEREDKEYS2, SETOPERATORAUTH,
 * SETTEMPDEACTIVATED2, SETCAPABILITY, RESETLOCKVALUE, OWNERSETDISABLE,
 * DISABLEFORCECLEAR, DISABLEOWNERCLEAR, OWNERCLEAR, OWNERREADPUBEK, DISABLEPUBEKREAD,
 * ACTIVATETPMIDENTITY, FORCECLEAR, SETOWNERINSTALL,
 * PHYSICALENABLE, PHYSICALDISABLE, PHYSICALSETDEACTIVATED, SETTEMPDEACTIVATED,
 * LOADMANUFACTURERMAINTENANCEPUB, READMANUFACTURERMAINTENANCEPUB.
 *
 *   Tspi_ChangeAuth of a key: the old secret fails, the new one signs
 *   Tspi_ChangeAuth of the owner, and back: owner commands follow the secret
 *   Tspi_TPM_Quote2 (OpenSSL verifies it)
 *   Tspi_Data_Seal of a SEALX object round trips; Unseal under a parent
 *     without auth (the data's AUTH alone)
 *   Tspi_TPM_OwnerGetSRKPubKey returns the SRK's public key
 *   Tspi_Context_GetRegisteredKeysByUUID2 lists a registered key
 *   Tspi_TPM_SetStatus: RESETLOCK, DISABLEPUBSRKREAD (SetCapability) and
 *     back, OWNERSETDISABLE on and off, DISABLEFORCECLEAR
 *   physical-presence commands (ForceClear, SetOwnerInstall, PhysicalEnable,
 *     PhysicalDisable, PhysicalSetDeactivated, SetTempDeactivated without an
 *     operator) reach the TPM, which refuses them: presence is locked
 *   maintenance public key load/read reach the TPM (built without maintenance)
 *   Tspi_TPM_GetPubEndorsementKey with owner auth, DISABLEPUBEKREAD; an
 *     ActivateIdentity with a signing key (owner AUTH only) reaches the TPM,
 *     which refuses it; DISABLEOWNERCLEAR, then OwnerClear fails
 *   Tspi_TPM_SetOperatorAuth and SetTempDeactivated with an operator secret
 *     (SetTempDeactivated2) reach the TPM, which wants physical presence
 *   CertifySelfTest reaches the TPM (libtpms: TPM_BAD_ORDINAL, deprecated)
 *
 * Usage: tspi-owner   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets)
 */
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define TPM_E_AUTHFAIL_RC 0x1u
#define TPM_E_DISABLED_RC 0x7u
#define TPM_E_CLEAR_DISABLED_RC 0x5u
#define TPM_E_BAD_PRESENCE_RC 0x2du

/* a TPM-layer result (the command reached the TPM, which refused it) */
static int
tpm_refused(TSS_RESULT rc)
{
	return rc != 0 && (rc & 0xf000) == 0;
}

static TSS_RESULT
policy(TSS_HCONTEXT ctx, TSS_FLAG type, const char *secret, TSS_HPOLICY *pol)
{
	TSS_RESULT rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_POLICY, type, pol);

	if (rc == 0 && secret)
		rc = Tspi_Policy_SetSecret(*pol, TSS_SECRET_MODE_PLAIN, (UINT32)strlen(secret),
					   (BYTE *)secret);
	if (rc == 0 && !secret)
		rc = Tspi_Policy_SetSecret(*pol, TSS_SECRET_MODE_SHA1, 20, tt_wellknown);
	return rc;
}

static int
verifies(TSS_HCONTEXT ctx, TSS_HKEY key, const TSS_VALIDATION *v)
{
	BYTE digest[20], *mod = NULL;
	UINT32 mod_len = 0;
	uint32_t e = 0;
	int ok;

	if (tt_pubkey_modulus(ctx, key, &mod, &mod_len, &e))
		return 0;
	tt_sha1(v->rgbData, v->ulDataLength, digest);
	ok = tt_openssl_verify(mod, mod_len, e, digest, v->rgbValidationData,
			       v->ulValidationDataLength);
	free(mod);
	return ok;
}

static void
test_change_auth(TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY srk)
{
	TSS_HKEY key;
	TSS_HPOLICY newpol, owner_new, owner_old;
	BYTE digest[20], *sig = NULL, *pub = NULL;
	UINT32 sig_len, pub_len;
	TSS_RESULT rc;

	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_AUTHORIZATION, "old secret", 1, &key);
	if (rc == 0)
		rc = policy(ctx, TSS_POLICY_USAGE, "new secret", &newpol);
	if (rc == 0)
		rc = Tspi_ChangeAuth(key, srk, newpol);
	tt_rc(rc, 0, "Tspi_ChangeAuth of a key (CHANGEAUTH)");
	tt_sha1("changed", 7, digest);
	if (rc == 0) {
		/* the new blob must be loaded again */
		rc = Tspi_Key_LoadKey(key, srk);
		if (rc == 0)
			rc = tt_sign(ctx, key, digest, &sig, &sig_len);
		tt_rc(rc, 0, "the key signs with the new secret");
		tt_set_usage_secret(ctx, key, "old secret", NULL);
		tt_rc(tt_sign(ctx, key, digest, &sig, &sig_len), TPM_E_AUTHFAIL_RC,
		      "the old secret -> TPM_E_AUTHFAIL");
	}

	rc = policy(ctx, TSS_POLICY_USAGE, "new owner", &owner_new);
	if (rc == 0)
		rc = Tspi_ChangeAuth(tpm, 0, owner_new);
	tt_rc(rc, 0, "Tspi_ChangeAuth of the owner (CHANGEAUTHOWNER)");
	rc = Tspi_TPM_OwnerGetSRKPubKey(tpm, &pub_len, &pub);
	tt_rc(rc, 0, "the new owner secret works (Tspi_TPM_OwnerGetSRKPubKey: OWNERREADINTERNALPUB)");
	tt_ok(rc == 0 && pub_len > 256, "the SRK public key (%u bytes)", rc ? 0 : pub_len);
	rc = policy(ctx, TSS_POLICY_USAGE, NULL, &owner_old);
	if (rc == 0)
		rc = Tspi_ChangeAuth(tpm, 0, owner_old);
	tt_rc(rc, 0, "the owner secret changed back");
}

static void
test_attest(TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY srk)
{
	TSS_HKEY key;
	TSS_HPCRS pcrs;
	TSS_HENCDATA enc;
	TSS_VALIDATION v;
	BYTE nonce[20], *out = NULL, *ver = NULL;
	UINT32 out_len = 0, ver_len = 0;
	static const char msg[] = "sealx round trip";
	TSS_RESULT rc;

	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_NO_AUTHORIZATION, NULL, 1, &key);
	if (!tt_rc(rc, 0, "a signing key"))
		return;
	memset(&v, 0, sizeof(v));
	tt_random(nonce, sizeof(nonce));
	v.ulExternalDataLength = 20;
	v.rgbExternalData = nonce;
	/* deprecated in TPM 1.2; libtpms answers TPM_BAD_ORDINAL */
	rc = Tspi_TPM_CertifySelfTest(tpm, key, &v);
	tt_ok(rc == 0 ? verifies(ctx, key, &v) : tpm_refused(rc),
	      "Tspi_TPM_CertifySelfTest reaches the TPM (0x%x)", rc);

	memset(&v, 0, sizeof(v));
	v.ulExternalDataLength = 20;
	v.rgbExternalData = nonce;
	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_PCRS, TSS_PCRS_STRUCT_INFO_SHORT,
				       &pcrs);
	if (rc == 0)
		rc = Tspi_PcrComposite_SelectPcrIndexEx(pcrs, 10, TSS_PCRS_DIRECTION_RELEASE);
	if (rc == 0)
		rc = Tspi_TPM_Quote2(tpm, key, TRUE, pcrs, &v, &ver_len, &ver);
	tt_rc(rc, 0, "Tspi_TPM_Quote2 of PCR 10 with version info");
	tt_ok(rc == 0 && verifies(ctx, key, &v), "OpenSSL verifies the Quote2 signature");

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_ENCDATA, TSS_ENCDATA_SEAL, &enc);
	if (rc == 0)
		rc = tt_set_usage_secret(ctx, enc, "sealed", NULL);
	if (rc == 0)
		rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_PCRS,
					       TSS_PCRS_STRUCT_INFO_LONG, &pcrs);
	if (rc == 0)
		rc = Tspi_PcrComposite_SelectPcrIndexEx(pcrs, 10, TSS_PCRS_DIRECTION_RELEASE);
	if (rc == 0) {
		BYTE *val = NULL;
		UINT32 len = 0;
		rc = Tspi_TPM_PcrRead(tpm, 10, &len, &val);
		if (rc == 0)
			rc = Tspi_PcrComposite_SetPcrValue(pcrs, 10, len, val);
	}
	if (rc == 0)
		rc = Tspi_PcrComposite_SetPcrLocality(pcrs, TPM_LOC_ZERO | TPM_LOC_ONE | TPM_LOC_TWO |
							    TPM_LOC_THREE | TPM_LOC_FOUR);
	/* an INFO_LONG PCR object and a SEALX-capable encdata make libtspi use Sealx */
	if (rc == 0)
		rc = Tspi_SetAttribUint32(enc, TSS_TSPATTRIB_ENCDATA_SEAL,
					  TSS_TSPATTRIB_ENCDATASEAL_PROTECT_MODE,
					  TSS_TSPATTRIB_ENCDATASEAL_PROTECT);
	if (rc == 0)
		rc = Tspi_Data_Seal(enc, srk, sizeof(msg), (BYTE *)msg, pcrs);
	tt_rc(rc, 0, "Tspi_Data_Seal with SEALX protection (SEALX)");
	if (rc == 0)
		rc = Tspi_Data_Unseal(enc, srk, &out_len, &out);
	tt_ok(rc == 0 && out_len == sizeof(msg) && memcmp(out, msg, out_len) == 0,
	      "and unseals to the same bytes (0x%x)", rc);
}

/* Unseal under a parent without auth: one AUTH (the data's) for an "aA" pair */
static void
test_unseal_one_auth(TSS_HCONTEXT ctx, TSS_HKEY srk)
{
	static const char msg[] = "one auth only";
	TSS_HKEY parent;
	TSS_HENCDATA enc;
	BYTE *out = NULL;
	UINT32 out_len = 0;
	TSS_RESULT rc;

	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_STORAGE | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_NO_AUTHORIZATION, NULL, 1, &parent);
	if (rc == 0)
		rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_ENCDATA, TSS_ENCDATA_SEAL, &enc);
	if (rc == 0)
		rc = tt_set_usage_secret(ctx, enc, "data secret", NULL);
	if (rc == 0)
		rc = Tspi_Data_Seal(enc, parent, sizeof(msg), (BYTE *)msg, 0);
	tt_rc(rc, 0, "Seal under a storage key without auth");
	if (rc == 0)
		rc = Tspi_Data_Unseal(enc, parent, &out_len, &out);
	tt_ok(rc == 0 && out_len == sizeof(msg) && memcmp(out, msg, out_len) == 0,
	      "Unseal with the data's AUTH only (0x%x)", rc);
}

static void
test_ps2(TSS_HCONTEXT ctx, TSS_HKEY srk)
{
	TSS_UUID uuid = tt_uuid(0x0e, 1);
	TSS_KM_KEYINFO2 *info = NULL;
	UINT32 n = 0;
	TSS_HKEY key;
	TSS_RESULT rc;
	int found = 0;

	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_STORAGE | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_NO_AUTHORIZATION, NULL, 0, &key);
	if (rc == 0)
		rc = Tspi_Context_RegisterKey(ctx, key, TSS_PS_TYPE_SYSTEM, uuid,
					      TSS_PS_TYPE_SYSTEM, tt_srk_uuid);
	if (!tt_rc(rc, 0, "a key registered in system PS"))
		return;
	rc = Tspi_Context_GetRegisteredKeysByUUID2(ctx, TSS_PS_TYPE_SYSTEM, NULL, &n, &info);
	for (UINT32 i = 0; rc == 0 && i < n; i++)
		found |= memcmp(&info[i].keyUUID, &uuid, sizeof(uuid)) == 0;
	tt_ok(rc == 0 && found, "Tspi_Context_GetRegisteredKeysByUUID2 lists it (ENUMREGISTEREDKEYS2, %u keys)", n);
	Tspi_Context_UnregisterKey(ctx, TSS_PS_TYPE_SYSTEM, uuid, &key);
}

static void
test_status(TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY srk)
{
	TSS_BOOL state = 0;
	TSS_HKEY mk;
	TSS_VALIDATION v = {0};
	BYTE nonce[20];
	TSS_RESULT rc;

	tt_rc(Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_RESETLOCK, TRUE), 0,
	      "SetStatus RESETLOCK (RESETLOCKVALUE)");
	rc = Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_DISABLEPUBSRKREAD, FALSE);
	if (rc == 0)
		rc = Tspi_TPM_GetStatus(tpm, TSS_TPMSTATUS_DISABLEPUBSRKREAD, &state);
	tt_ok(rc == 0 && !state, "SetStatus DISABLEPUBSRKREAD FALSE (SETCAPABILITY): readable (0x%x)",
	      rc);
	tt_rc(Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_DISABLEPUBSRKREAD, TRUE), 0,
	      "and back to TRUE");
	rc = Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_OWNERSETDISABLE, TRUE);
	tt_rc(rc, 0, "SetStatus OWNERSETDISABLE TRUE (OWNERSETDISABLE)");
	{
		BYTE *rnd = NULL;
		tt_rc(Tspi_TPM_GetRandom(tpm, 8, &rnd), TPM_E_DISABLED_RC,
		      "the TPM is disabled: GetRandom -> TPM_E_DISABLED");
	}
	rc = Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_OWNERSETDISABLE, FALSE);
	if (rc == 0)
		rc = Tspi_TPM_GetStatus(tpm, TSS_TPMSTATUS_DISABLED, &state);
	tt_ok(rc == 0 && !state, "SetStatus OWNERSETDISABLE FALSE: enabled again (0x%x)", rc);
	tt_rc(Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_DISABLEFORCECLEAR, TRUE), 0,
	      "SetStatus DISABLEFORCECLEAR");

	/* physical presence is locked (as a BIOS leaves it): the TPM refuses these */
	tt_ok(tpm_refused(Tspi_TPM_ClearOwner(tpm, TRUE)), "ForceClear reaches the TPM, refused");
	rc = Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_SETOWNERINSTALL, TRUE);
	tt_ok(rc == 0 || tpm_refused(rc), "SetOwnerInstall reaches the TPM (0x%x)", rc);
	tt_ok(tpm_refused(Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_PHYSICALDISABLE, FALSE)),
	      "PhysicalEnable reaches the TPM, refused");
	tt_ok(tpm_refused(Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_PHYSICALDISABLE, TRUE)),
	      "PhysicalDisable reaches the TPM, refused");
	tt_ok(tpm_refused(Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_PHYSICALSETDEACTIVATED, TRUE)),
	      "PhysicalSetDeactivated reaches the TPM, refused");
	tt_ok(tpm_refused(Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_SETTEMPDEACTIVATED, TRUE)),
	      "SetTempDeactivated without an operator reaches the TPM, refused");

	/* maintenance public key: libtpms has no maintenance */
	tt_random(nonce, sizeof(nonce));
	v.ulExternalDataLength = 20;
	v.rgbExternalData = nonce;
	/* any 2048-bit public key will do as the manufacturer's */
	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_LEGACY | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_NO_AUTHORIZATION, NULL, 0, &mk);
	tt_rc(rc, 0, "a key to offer as the maintenance key");
	rc = Tspi_TPM_LoadMaintenancePubKey(tpm, mk, &v);
	tt_ok(rc != 0 && tpm_refused(rc), "LoadManuMaintPub reaches the TPM, refused (0x%x)", rc);
	memset(&v, 0, sizeof(v));
	v.ulExternalDataLength = 20;
	v.rgbExternalData = nonce;
	rc = Tspi_TPM_CheckMaintenancePubKey(tpm, 0, &v);
	tt_ok(rc != 0 && tpm_refused(rc), "ReadManuMaintPub reaches the TPM, refused (0x%x)", rc);
}

/* EK, identity and clear-protection ordinals; DISABLEOWNERCLEAR last: it stays */
static void
test_more_owner(TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY srk)
{
	TSS_HKEY ek, notaik;
	BYTE blob[256] = {0}, *cred = NULL;
	UINT32 cred_len = 0;
	TSS_RESULT rc;

	rc = Tspi_TPM_GetPubEndorsementKey(tpm, TRUE, NULL, &ek);
	tt_rc(rc, 0, "Tspi_TPM_GetPubEndorsementKey with owner auth (OWNERREADPUBEK)");
	tt_rc(Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_DISABLEPUBEKREAD, TRUE), 0,
	      "SetStatus DISABLEPUBEKREAD (DISABLEPUBEKREAD)");
	/* a signing key is no identity: the TPM refuses to activate with it */
	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_NO_AUTHORIZATION, NULL, 1, &notaik);
	if (rc == 0)
		rc = Tspi_TPM_ActivateIdentity(tpm, notaik, sizeof(blob), blob, 0, NULL, &cred_len,
					       &cred);
	tt_ok(tpm_refused(rc), "ActivateIdentity (ACTIVATETPMIDENTITY) reaches the TPM, refused (0x%x)",
	      rc);
	/* ours once took the one AUTH for the key's and answered TSS_E_INTERNAL_ERROR */
	tt_rc(Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_DISABLEOWNERCLEAR, TRUE), 0,
	      "SetStatus DISABLEOWNERCLEAR (DISABLEOWNERCLEAR)");
	tt_rc(Tspi_TPM_ClearOwner(tpm, FALSE), TPM_E_CLEAR_DISABLED_RC,
	      "OwnerClear is refused now: TPM_E_CLEAR_DISABLED");
}

int
main(void)
{
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_HKEY srk;
	TSS_HPOLICY op;
	BYTE *rnd = NULL;
	TSS_RESULT rc;

	tt_plan_name("tspi-owner");
	if (!tt_rc(tt_connect(&ctx, &tpm, &srk), 0, "connect"))
		return tt_done();
	test_change_auth(ctx, tpm, srk);
	test_attest(ctx, tpm, srk);
	test_ps2(ctx, srk);
	test_unseal_one_auth(ctx, srk);
	test_status(ctx, tpm, srk);

	test_more_owner(ctx, tpm, srk);

	/* both need physical presence, which the BIOS locked */
	rc = policy(ctx, TSS_POLICY_OPERATOR, "operator", &op);
	if (rc == 0)
		rc = Tspi_TPM_SetOperatorAuth(tpm, op);
	tt_rc(rc, TPM_E_BAD_PRESENCE_RC,
	      "Tspi_TPM_SetOperatorAuth (SETOPERATORAUTH) -> TPM_E_BAD_PRESENCE");
	rc = Tspi_Policy_AssignToObject(op, tpm);
	if (rc == 0)
		rc = Tspi_TPM_SetStatus(tpm, TSS_TPMSTATUS_SETTEMPDEACTIVATED, TRUE);
	tt_ok(tpm_refused(rc),
	      "SetTempDeactivated with an operator secret (SETTEMPDEACTIVATED2) reaches the TPM (0x%x)",
	      rc);
	tt_rc(Tspi_TPM_GetRandom(tpm, 8, &rnd), 0, "the TPM still works");
	Tspi_Context_Close(ctx);
	return tt_done();
}

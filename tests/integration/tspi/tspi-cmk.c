/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-cmk.c - certified migratable keys: CMK_SETRESTRICTIONS, CMK_APPROVEMA,
 * CMK_CREATEKEY, CMK_CREATETICKET, CMK_CREATEBLOB, CMK_CONVERTMIGRATION,
 * AUTHORIZEMIGRATIONKEY (RESTRICT_MIGRATE).
 *
 *   a signing key is the migration authority (MA), a storage key the destination
 *   the owner approves the MA (Tspi_TPM_CMKApproveMA)
 *   a CMK signing key is created with that approval (Tspi_Key_CreateKey on a
 *     TSS_KEY_CERTIFIED_MIGRATABLE key), loads and signs
 *   the MA signs the TPM_CMK_AUTH (MA, destination, source digests); the owner
 *     turns the signature into a ticket (Tspi_TPM_CMKCreateTicket)
 *   a RESTRICT_APPROVE_DOUBLE ticket to the destination, Tspi_Key_CMKCreateBlob,
 *     Tspi_Key_CMKConvertMigration under the destination: the converted key
 *     loads there and signs for the CMK's public key (OpenSSL)
 *
 * Usage: tspi-cmk   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets)
 */
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define CMK_FLAGS (TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 | TSS_KEY_MIGRATABLE | \
		   TSS_KEY_CERTIFIED_MIGRATABLE | TSS_KEY_AUTHORIZATION | TSS_KEY_STRUCT_KEY12)

static TSS_RESULT
set_secret(TSS_HCONTEXT ctx, TSS_HOBJECT obj, TSS_FLAG type, const char *secret)
{
	TSS_HPOLICY pol;
	TSS_RESULT rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_POLICY, type, &pol);

	if (rc == 0)
		rc = Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_PLAIN, (UINT32)strlen(secret),
					   (BYTE *)secret);
	if (rc == 0)
		rc = Tspi_Policy_AssignToObject(pol, obj);
	return rc;
}

static TSS_RESULT
copy_attrib(TSS_HOBJECT from, TSS_FLAG f1, TSS_FLAG s1, TSS_HOBJECT to, TSS_FLAG f2, TSS_FLAG s2)
{
	BYTE *data = NULL;
	UINT32 len = 0;
	TSS_RESULT rc = Tspi_GetAttribData(from, f1, s1, &len, &data);

	if (rc == 0)
		rc = Tspi_SetAttribData(to, f2, s2, len, data);
	return rc;
}

static TSS_RESULT
cmk_object(TSS_HCONTEXT ctx, TSS_HKEY *key)
{
	TSS_RESULT rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_RSAKEY, CMK_FLAGS, key);

	if (rc == 0)
		rc = Tspi_SetAttribUint32(*key, TSS_TSPATTRIB_KEY_INFO,
					  TSS_TSPATTRIB_KEYINFO_SIGSCHEME,
					  TSS_SS_RSASSAPKCS1V15_SHA1);
	if (rc == 0)
		rc = set_secret(ctx, *key, TSS_POLICY_USAGE, "cmk usage");
	if (rc == 0)
		rc = set_secret(ctx, *key, TSS_POLICY_MIGRATION, "cmk migration");
	return rc;
}

/* a 60-byte TPM_CMK_AUTH digest the migration authority signs: SHA1(ma || dest || src) */
static TSS_RESULT
cmk_auth_digest(TSS_HMIGDATA ma, BYTE out[20])
{
	static const TSS_FLAG parts[] = {TSS_MIGATTRIB_MIG_AUTH_AUTHORITY_DIGEST,
					 TSS_MIGATTRIB_MIG_AUTH_DESTINATION_DIGEST,
					 TSS_MIGATTRIB_MIG_AUTH_SOURCE_DIGEST};
	BYTE buf[60], *d = NULL;
	UINT32 len = 0;

	for (int i = 0; i < 3; i++) {
		TSS_RESULT rc = Tspi_GetAttribData(ma, TSS_MIGATTRIB_MIG_AUTH_DATA, parts[i], &len, &d);
		if (rc || len != 20)
			return rc ? rc : TSS_E_FAIL;
		memcpy(buf + 20 * i, d, 20);
	}
	tt_sha1(buf, sizeof(buf), out);
	return 0;
}

int
main(void)
{
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_HKEY srk, authority, dest, key, migkey, moved;
	TSS_HMIGDATA ma;
	BYTE digest[20], auth_digest[20], *ma_pub = NULL, *dest_pub = NULL, *src_pub = NULL;
	BYTE *ticket = NULL, *rnd = NULL, *sig = NULL, *mod = NULL, *sigticket = NULL, *copy;
	UINT32 ma_pub_len, dest_pub_len, src_pub_len, ticket_len, rnd_len = 0, sig_len = 0;
	UINT32 mod_len = 0, sigticket_len = 0;
	uint32_t exponent = 0;
	TSS_RESULT rc;

	tt_plan_name("tspi-cmk");
	if (!tt_rc(tt_connect(&ctx, &tpm, &srk), 0, "connect"))
		return tt_done();
	tt_sha1("cmk", 3, digest);

	/* the migration authority signs; the destination (TPM_CMK_ConvertMigration insists on
	 * the parent's authorisation) receives */
	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_NO_AUTHORIZATION, NULL, 1, &authority);
	if (rc == 0)
		rc = Tspi_GetAttribData(authority, TSS_TSPATTRIB_KEY_BLOB,
					TSS_TSPATTRIB_KEYBLOB_PUBLIC_KEY, &ma_pub_len, &ma_pub);
	if (rc == 0)
		rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_STORAGE | TSS_KEY_SIZE_2048 |
				   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_AUTHORIZATION, "dest secret", 1,
				   &dest);
	if (rc == 0)
		rc = Tspi_GetAttribData(dest, TSS_TSPATTRIB_KEY_BLOB,
					TSS_TSPATTRIB_KEYBLOB_PUBLIC_KEY, &dest_pub_len, &dest_pub);
	if (!tt_rc(rc, 0, "a migration authority (signing) and a destination (storage) key"))
		return tt_done();
	tt_rc(Tspi_TPM_CMKSetRestrictions(tpm, TSS_CMK_DELEGATE_SIGNING | TSS_CMK_DELEGATE_MIGRATE),
	      0, "Tspi_TPM_CMKSetRestrictions");

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_MIGDATA, 0, &ma);
	if (rc == 0)
		rc = Tspi_SetAttribData(ma, TSS_MIGATTRIB_MIGRATIONBLOB,
					TSS_MIGATTRIB_MIG_MSALIST_PUBKEY_BLOB, ma_pub_len, ma_pub);
	if (rc == 0)
		rc = Tspi_TPM_CMKApproveMA(tpm, ma);
	if (!tt_rc(rc, 0, "Tspi_TPM_CMKApproveMA of the authority"))
		return tt_done();

	rc = cmk_object(ctx, &key);
	if (rc == 0)
		rc = copy_attrib(ma, TSS_MIGATTRIB_AUTHORITY_DATA, TSS_MIGATTRIB_AUTHORITY_APPROVAL_HMAC,
				 key, TSS_TSPATTRIB_KEY_CMKINFO, TSS_TSPATTRIB_KEYINFO_CMK_MA_APPROVAL);
	if (rc == 0)
		rc = copy_attrib(ma, TSS_MIGATTRIB_AUTHORITY_DATA, TSS_MIGATTRIB_AUTHORITY_DIGEST,
				 key, TSS_TSPATTRIB_KEY_CMKINFO, TSS_TSPATTRIB_KEYINFO_CMK_MA_DIGEST);
	if (rc == 0)
		rc = Tspi_Key_CreateKey(key, srk, 0);
	if (!tt_rc(rc, 0, "a CMK signing key with the approval (CMK_CREATEKEY)"))
		return tt_done();
	rc = Tspi_Key_LoadKey(key, srk);
	if (rc == 0)
		rc = tt_sign(ctx, key, digest, &sig, &sig_len);
	if (rc == 0)
		rc = tt_pubkey_modulus(ctx, key, &mod, &mod_len, &exponent);
	tt_ok(rc == 0 && tt_openssl_verify(mod, mod_len, exponent, digest, sig, sig_len),
	      "the CMK loads and signs (0x%x)", rc);
	rc = Tspi_GetAttribData(key, TSS_TSPATTRIB_KEY_BLOB, TSS_TSPATTRIB_KEYBLOB_PUBLIC_KEY,
				&src_pub_len, &src_pub);

	/* the authority approves this source -> destination move: a signed TPM_CMK_AUTH
	 * that the owner turns into a ticket */
	if (rc == 0)
		rc = Tspi_SetAttribData(ma, TSS_MIGATTRIB_MIGRATIONBLOB,
					TSS_MIGATTRIB_MIG_AUTHORITY_PUBKEY_BLOB, ma_pub_len, ma_pub);
	if (rc == 0)
		rc = Tspi_SetAttribData(ma, TSS_MIGATTRIB_MIGRATIONBLOB,
					TSS_MIGATTRIB_MIG_DESTINATION_PUBKEY_BLOB, dest_pub_len,
					dest_pub);
	if (rc == 0)
		rc = Tspi_SetAttribData(ma, TSS_MIGATTRIB_MIGRATIONBLOB,
					TSS_MIGATTRIB_MIG_SOURCE_PUBKEY_BLOB, src_pub_len, src_pub);
	if (rc == 0)
		rc = cmk_auth_digest(ma, auth_digest);
	Tspi_Context_FreeMemory(ctx, sig);
	sig = NULL;
	if (rc == 0)
		rc = tt_sign(ctx, authority, auth_digest, &sig, &sig_len);
	if (rc == 0)
		rc = Tspi_SetAttribData(ma, TSS_MIGATTRIB_TICKET_DATA,
					TSS_MIGATTRIB_TICKET_SIG_VALUE, sig_len, sig);
	if (rc == 0)
		rc = Tspi_TPM_CMKCreateTicket(tpm, authority, ma);
	if (rc == 0)
		rc = Tspi_GetAttribData(ma, TSS_MIGATTRIB_TICKET_DATA,
					TSS_MIGATTRIB_TICKET_SIG_TICKET, &sigticket_len, &sigticket);
	tt_ok(rc == 0 && sigticket_len == 20,
	      "Tspi_TPM_CMKCreateTicket of the authority's signature: a %u-byte ticket (0x%x)",
	      sigticket_len, rc);

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_RSAKEY,
				       TSS_KEY_TYPE_STORAGE | TSS_KEY_SIZE_2048, &migkey);
	if (rc == 0)
		rc = Tspi_SetAttribData(migkey, TSS_TSPATTRIB_KEY_BLOB,
					TSS_TSPATTRIB_KEYBLOB_PUBLIC_KEY, dest_pub_len, dest_pub);
	if (rc == 0)
		rc = Tspi_TPM_AuthorizeMigrationTicket(tpm, migkey, TSS_MS_RESTRICT_APPROVE_DOUBLE,
						       &ticket_len, &ticket);
	if (rc == 0)
		rc = Tspi_SetAttribData(ma, TSS_MIGATTRIB_MIGRATIONTICKET, 0, ticket_len, ticket);
	if (!tt_rc(rc, 0, "a RESTRICT_APPROVE_DOUBLE migration ticket to the destination"))
		return tt_done();
	/* RESTRICT_APPROVE_DOUBLE: with RESTRICT_MIGRATE libtspi 0.3.15 frees all of the
	 * context's memory, the random it returns included (free_tspi(ctx, NULL)) */
	rc = Tspi_Key_CMKCreateBlob(key, srk, ma, &rnd_len, &rnd);
	if (!tt_rc(rc, 0, "Tspi_Key_CMKCreateBlob (%u-byte random)", rnd_len))
		return tt_done();
	copy = malloc(rnd_len);
	memcpy(copy, rnd, rnd_len);
	rc = cmk_object(ctx, &moved);
	if (rc == 0)
		rc = Tspi_Key_CMKConvertMigration(moved, dest, ma, rnd_len, copy);
	free(copy);
	if (!tt_rc(rc, 0, "Tspi_Key_CMKConvertMigration under the destination key"))
		return tt_done();
	rc = Tspi_Key_LoadKey(moved, dest);
	Tspi_Context_FreeMemory(ctx, sig);
	sig = NULL;
	if (rc == 0)
		rc = tt_sign(ctx, moved, digest, &sig, &sig_len);
	tt_ok(rc == 0 && tt_openssl_verify(mod, mod_len, exponent, digest, sig, sig_len),
	      "the migrated CMK loads under the destination and signs for the CMK's public key "
	      "(0x%x)", rc);
	free(mod);
	Tspi_Context_Close(ctx);
	return tt_done();
}

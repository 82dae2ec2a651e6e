/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-admin.c - audit, DIR, ticks, NV with auth, owner-evict keys,
 * maintenance and the revocable EK: SETORDINALAUDITSTATUS, GETAUDITDIGEST,
 * GETAUDITDIGESTSIGNED, DIRWRITEAUTH, DIRREAD, READCURRENTTICKS,
 * TICKSTAMPBLOB, NVDEFINEORRELEASESPACE, NVWRITEVALUEAUTH, NVREADVALUEAUTH,
 * KEYCONTROLOWNER, CREATEMAINTENANCEARCHIVE, KILLMAINTENANCEFEATURE,
 * LOADMANUFACTURERMAINTENANCEPUB, READMANUFACTURERMAINTENANCEPUB,
 * CREATEREVOCABLEENDORSEMENTKEYPAIR, REVOKEENDORSEMENTKEYPAIR.
 *
 *   audit: straight after a first unsigned digest (default audit set), a
 *     signed one (issue 11 item 8b); then GetRandom alone is audited (Tspi_SetAttribUint32 ORDINAL_AUDIT_STATUS);
 *     after one GetRandom the digest is the SHA-1 chain computed here from the
 *     previous digest, the random bytes and the audit counter; the signed
 *     digest is the same and OpenSSL verifies its signature; closeAudit with a
 *     signing key -> TPM_E_INVALID_KEYUSAGE
 *   DIR 0 written with owner auth and read back
 *   ticks read twice (monotonic); TickStampBlob signed, OpenSSL verifies it
 *   NV index with AUTHREAD|AUTHWRITE: write + read with its secret, a wrong
 *     secret -> TPM_E_AUTHFAIL, released
 *   KeyControlOwner sets and clears owner-evict on a loaded key and answers
 *     TSS_UUID_OWNEREVICT(0); the key still signs
 *   maintenance: libtpms is built without it: the TPM's own error comes back
 *   revocable EK: this TPM already has an EK: the TPM's own error comes back
 *
 * Usage: tspi-admin   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets)
 */
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define ORD_GetRandom 0x46u
#define NV_INDEX 0x00011a01u
#define TPM_E_AUTHFAIL_RC 0x1u
#define TPM_E_INVALID_KEYUSAGE_RC 0x24u

static void
put32(BYTE *p, uint32_t v)
{
	p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

static void
put_cv(BYTE *p, const TPM_COUNTER_VALUE *cv)
{
	p[0] = cv->tag >> 8, p[1] = cv->tag;
	memcpy(p + 2, cv->label, 4);
	put32(p + 6, cv->counter);
}

/*
 * The audit digest after one audited GetRandom(n) -> rnd, from digest prev
 * (TPM 1.2 part 1, 11.2, as libtpms does it: TPM_AUDIT_EVENT_OUT without the
 * ordinal and return code of older revisions).
 */
static void
expected_audit_digest(const BYTE prev[20], const BYTE *rnd, UINT32 n,
		      const TPM_COUNTER_VALUE *cv, BYTE out[20])
{
	BYTE buf[4096], in_digest[20], out_digest[20], ev[20 + 32];

	put32(buf, ORD_GetRandom);
	put32(buf + 4, n);
	tt_sha1(buf, 8, in_digest);
	put32(buf, 0);
	put32(buf + 4, ORD_GetRandom);
	put32(buf + 8, n);
	memcpy(buf + 12, rnd, n);
	tt_sha1(buf, 12 + n, out_digest);
	/* digest = SHA1(digest || TPM_AUDIT_EVENT_IN{0x0012, inputParms, auditCount}) */
	memcpy(ev, prev, 20);
	ev[20] = 0x00, ev[21] = 0x12;
	memcpy(ev + 22, in_digest, 20);
	put_cv(ev + 42, cv);
	tt_sha1(ev, sizeof(ev), ev);
	/* then || TPM_AUDIT_EVENT_OUT{0x0013, outputParms, auditCount} */
	ev[20] = 0x00, ev[21] = 0x13;
	memcpy(ev + 22, out_digest, 20);
	put_cv(ev + 42, cv);
	tt_sha1(ev, sizeof(ev), out);
}

static uint32_t
be32(const UINT32 *p)
{
	const BYTE *b = (const BYTE *)p;
	return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

/* OpenSSL check of a TSS_VALIDATION signed by key: signature over SHA1(rgbData) */
static int
validation_verifies(TSS_HCONTEXT ctx, TSS_HKEY key, const TSS_VALIDATION *v)
{
	BYTE digest[20], *mod = NULL;
	UINT32 mod_len = 0;
	uint32_t exponent = 0;
	int ok;

	if (tt_pubkey_modulus(ctx, key, &mod, &mod_len, &exponent))
		return 0;
	tt_sha1(v->rgbData, v->ulDataLength, digest);
	ok = tt_openssl_verify(mod, mod_len, exponent, digest, v->rgbValidationData,
			       v->ulValidationDataLength);
	free(mod);
	return ok;
}

/*
 * Issue 11 item 8b: straight after a first unsigned GetAuditDigest, with the
 * TPM's default audit set, a digest signed by a key with a usage secret.
 */
static void
test_audit_signed_first(TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY signer)
{
	TSS_VALIDATION v = {0};
	TPM_COUNTER_VALUE cv = {0}, cvs = {0};
	BYTE nonce[20], first[20], *digest = NULL;
	UINT32 digest_len = 0, nord = 0, *ords = NULL;
	TSS_RESULT rc;

	rc = Tspi_TPM_GetAuditDigest(tpm, 0, FALSE, &digest_len, &digest, &cv, NULL, &nord, &ords);
	if (!tt_rc(rc, 0, "first Tspi_TPM_GetAuditDigest, unsigned (%u audited ordinals)", nord) ||
	    digest_len != 20)
		return;
	memcpy(first, digest, 20);
	tt_random(nonce, sizeof(nonce));
	v.ulExternalDataLength = sizeof(nonce);
	v.rgbExternalData = nonce;
	rc = Tspi_TPM_GetAuditDigest(tpm, signer, FALSE, &digest_len, &digest, &cvs, &v, &nord,
				     &ords);
	tt_rc(rc, 0, "then Tspi_TPM_GetAuditDigest signed by a 2048-bit key with a usage secret");
	tt_ok(rc == 0 && validation_verifies(ctx, signer, &v),
	      "OpenSSL verifies that signed audit digest");
	tt_ok(rc == 0 && cvs.counter == cv.counter, "the same audit counter (%u)", cv.counter);
}

static void
test_audit(TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY signer)
{
	TSS_VALIDATION v = {0};
	TPM_COUNTER_VALUE cv0 = {0}, cv = {0}, cvs = {0};
	BYTE nonce[20], prev[20], want[20], *digest = NULL, *rnd = NULL;
	UINT32 digest_len = 0, nord = 0, *ords = NULL, cleared = 0;
	TSS_RESULT rc;
	int listed = 0;

	/* TSS 1.2's way to Tspi_TPM_SetOrdinalAuditStatus */
	rc = Tspi_SetAttribUint32(tpm, TSS_TSPATTRIB_TPM_ORDINAL_AUDIT_STATUS,
				  TPM_CAP_PROP_TPM_SET_ORDINAL_AUDIT, ORD_GetRandom);
	if (!tt_rc(rc, 0, "SetOrdinalAuditStatus(GetRandom, TRUE)"))
		return;
	rc = Tspi_TPM_GetAuditDigest(tpm, 0, FALSE, &digest_len, &digest, &cv0, NULL, &nord, &ords);
	if (!tt_rc(rc, 0, "Tspi_TPM_GetAuditDigest (%u audited ordinals)", nord))
		return;
	/* only GetRandom audited from here: the digest changes by it alone */
	for (UINT32 i = 0; i < nord; i++) {
		if (be32(&ords[i]) == ORD_GetRandom)
			continue;
		rc = Tspi_SetAttribUint32(tpm, TSS_TSPATTRIB_TPM_ORDINAL_AUDIT_STATUS,
					  TPM_CAP_PROP_TPM_CLEAR_ORDINAL_AUDIT, be32(&ords[i]));
		cleared += rc == 0;
	}
	tt_diag("auditing cleared for %u of the other %u ordinals", cleared, nord - 1);
	rc = Tspi_TPM_GetAuditDigest(tpm, 0, FALSE, &digest_len, &digest, &cv0, NULL, &nord, &ords);
	for (UINT32 i = 0; rc == 0 && i < nord; i++)
		listed |= be32(&ords[i]) == ORD_GetRandom;
	tt_ok(rc == 0 && listed, "GetRandom is in the audited ordinal list (%u ordinals)", nord);
	if (rc || digest_len != 20)
		return;
	memcpy(prev, digest, 20);

	rc = Tspi_TPM_GetRandom(tpm, 24, &rnd);
	tt_rc(rc, 0, "GetRandom (audited)");
	rc = Tspi_TPM_GetAuditDigest(tpm, 0, FALSE, &digest_len, &digest, &cv, NULL, &nord, &ords);
	tt_rc(rc, 0, "Tspi_TPM_GetAuditDigest (counter %u)", cv.counter);
	if (rc)
		return;
	expected_audit_digest(prev, rnd, 24, &cv, want);
	tt_ok(digest_len == 20 && memcmp(digest, want, 20) == 0,
	      "the audit digest is the SHA-1 chain over GetRandom's parameters");

	tt_random(nonce, sizeof(nonce));
	v.ulExternalDataLength = sizeof(nonce);
	v.rgbExternalData = nonce;
	rc = Tspi_TPM_GetAuditDigest(tpm, signer, FALSE, &digest_len, &digest, &cvs, &v, &nord,
				     &ords);
	tt_rc(rc, 0, "Tspi_TPM_GetAuditDigest signed by a key with a usage secret");
	tt_ok(rc == 0 && digest_len == 20 && memcmp(digest, want, 20) == 0 &&
		      cvs.counter == cv.counter,
	      "the signed digest and counter are the same");
	tt_ok(rc == 0 && validation_verifies(ctx, signer, &v),
	      "OpenSSL verifies the signed audit digest");
	if (rc == 0 && v.ulDataLength > 8) {
		v.rgbData[v.ulDataLength - 1] ^= 1;
		tt_ok(!validation_verifies(ctx, signer, &v), "and rejects a changed one");
	}
	/* closing the audit session is for identity keys only */
	rc = Tspi_TPM_GetAuditDigest(tpm, signer, TRUE, &digest_len, &digest, &cvs, &v, &nord,
				     &ords);
	tt_rc(rc, TPM_E_INVALID_KEYUSAGE_RC,
	      "closeAudit with a signing key -> TPM_E_INVALID_KEYUSAGE (identity keys only)");
	tt_rc(Tspi_SetAttribUint32(tpm, TSS_TSPATTRIB_TPM_ORDINAL_AUDIT_STATUS,
				   TPM_CAP_PROP_TPM_CLEAR_ORDINAL_AUDIT, ORD_GetRandom),
	      0, "SetOrdinalAuditStatus(GetRandom, FALSE)");
}

static void
test_dir_ticks(TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY signer)
{
	BYTE value[20], *got = NULL, data[20];
	UINT32 len = 0;
	TPM_CURRENT_TICKS t1, t2;
	TSS_VALIDATION v = {0};
	TSS_HHASH hash;
	BYTE nonce[20];
	TSS_RESULT rc;

	tt_sha1("dir value", 9, value);
	tt_rc(Tspi_TPM_DirWrite(tpm, 0, 20, value), 0, "Tspi_TPM_DirWrite(0)");
	rc = Tspi_TPM_DirRead(tpm, 0, &len, &got);
	tt_ok(rc == 0 && len == 20 && memcmp(got, value, 20) == 0,
	      "Tspi_TPM_DirRead(0) reads it back (0x%x)", rc);

	rc = Tspi_TPM_ReadCurrentTicks(tpm, &t1);
	if (rc == 0)
		rc = Tspi_TPM_ReadCurrentTicks(tpm, &t2);
	tt_ok(rc == 0 && t2.currentTicks >= t1.currentTicks &&
		      memcmp(&t1.tickNonce, &t2.tickNonce, 20) == 0,
	      "Tspi_TPM_ReadCurrentTicks twice: monotonic, same tick session");

	tt_sha1("stamp me", 8, data);
	tt_random(nonce, sizeof(nonce));
	v.ulExternalDataLength = sizeof(nonce);
	v.rgbExternalData = nonce;
	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_HASH, TSS_HASH_SHA1, &hash);
	if (rc == 0)
		rc = Tspi_Hash_SetHashValue(hash, 20, data);
	if (rc == 0)
		rc = Tspi_Hash_TickStampBlob(hash, signer, &v);
	tt_rc(rc, 0, "Tspi_Hash_TickStampBlob");
	tt_ok(rc == 0 && validation_verifies(ctx, signer, &v),
	      "OpenSSL verifies the tick stamp signature");
}

static void
test_nv_auth(TSS_HCONTEXT ctx)
{
	TSS_HNVSTORE nv, nv2;
	BYTE data[16] = "nv with auth ok", *got = NULL;
	UINT32 len = sizeof(data);
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_NV, 0, &nv);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_INDEX, 0, NV_INDEX);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_PERMISSIONS, 0,
					  TPM_NV_PER_AUTHREAD | TPM_NV_PER_AUTHWRITE);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_DATASIZE, 0, sizeof(data));
	if (rc == 0)
		rc = tt_set_usage_secret(ctx, nv, "nv secret", NULL);
	if (rc == 0)
		rc = Tspi_NV_DefineSpace(nv, 0, 0);
	if (!tt_rc(rc, 0, "NV index with AUTHREAD|AUTHWRITE defined"))
		return;
	tt_rc(Tspi_NV_WriteValue(nv, 0, sizeof(data), data), 0, "NV write with its secret");
	rc = Tspi_NV_ReadValue(nv, 0, &len, &got);
	tt_ok(rc == 0 && len == sizeof(data) && memcmp(got, data, len) == 0,
	      "NV read with its secret (0x%x)", rc);
	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_NV, 0, &nv2);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv2, TSS_TSPATTRIB_NV_INDEX, 0, NV_INDEX);
	if (rc == 0)
		rc = tt_set_usage_secret(ctx, nv2, "wrong", NULL);
	len = sizeof(data);
	if (rc == 0)
		rc = Tspi_NV_ReadValue(nv2, 0, &len, &got);
	tt_rc(rc, TPM_E_AUTHFAIL_RC, "NV read with a wrong secret -> TPM_E_AUTHFAIL");
	rc = Tspi_NV_WriteValue(nv2, 0, sizeof(data), data);
	tt_rc(rc, TPM_E_AUTHFAIL_RC, "NV write with a wrong secret -> TPM_E_AUTHFAIL");
	tt_rc(Tspi_NV_ReleaseSpace(nv), 0, "NV index released");
}

static void
test_owner_evict(TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY srk)
{
	static const TSS_UUID evict0 = {0, 0, 0, 0, 0, {0, 0, 0, 0, 1, 0}};
	TSS_HKEY key;
	TSS_UUID uuid;
	BYTE digest[20], *sig = NULL;
	UINT32 sig_len = 0;
	TSS_RESULT rc;

	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_NO_AUTHORIZATION, NULL, 1, &key);
	if (!tt_rc(rc, 0, "a signing key to make owner-evict"))
		return;
	memset(&uuid, 0xff, sizeof(uuid));
	rc = Tspi_TPM_KeyControlOwner(tpm, key, TSS_TSPATTRIB_KEYCONTROL_OWNEREVICT, TRUE, &uuid);
	tt_rc(rc, 0, "Tspi_TPM_KeyControlOwner(OWNEREVICT, TRUE)");
	tt_ok(rc == 0 && memcmp(&uuid, &evict0, sizeof(uuid)) == 0,
	      "it answers TSS_UUID_OWNEREVICT(0)");
	tt_sha1("evict", 5, digest);
	tt_rc(tt_sign(ctx, key, digest, &sig, &sig_len), 0, "the owner-evict key signs");
	rc = Tspi_TPM_KeyControlOwner(tpm, key, TSS_TSPATTRIB_KEYCONTROL_OWNEREVICT, FALSE, &uuid);
	tt_rc(rc, 0, "Tspi_TPM_KeyControlOwner(OWNEREVICT, FALSE)");
	tt_rc(Tspi_Key_UnloadKey(key), 0, "the key unloads again");
}

/* a TPM-layer result (the command reached the TPM, which refused it) */
static int
tpm_layer_error(TSS_RESULT rc)
{
	return rc != 0 && (rc & TSS_LAYER_TSP) == 0 && (rc & 0xf000) == 0;
}

static void
test_maintenance_ek(TSS_HCONTEXT ctx, TSS_HTPM tpm)
{
	BYTE *rnd = NULL, *archive = NULL, *reset = NULL;
	UINT32 rnd_len = 0, archive_len = 0, reset_len = 0;
	TSS_VALIDATION v = {0};
	BYTE nonce[20];
	TSS_HKEY ek;
	TSS_RESULT rc;

	rc = Tspi_TPM_CreateMaintenanceArchive(tpm, FALSE, &rnd_len, &rnd, &archive_len, &archive);
	tt_ok(tpm_layer_error(rc),
	      "CreateMaintenanceArchive reaches the TPM, which has no maintenance (0x%x)", rc);
	rc = Tspi_TPM_KillMaintenanceFeature(tpm);
	tt_ok(tpm_layer_error(rc), "KillMaintenanceFeature reaches the TPM (0x%x)", rc);

	tt_random(nonce, sizeof(nonce));
	v.ulExternalDataLength = sizeof(nonce);
	v.rgbExternalData = nonce;
	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_RSAKEY,
				       TSS_KEY_SIZE_2048 | TSS_KEY_TYPE_LEGACY, &ek);
	if (rc == 0)
		rc = Tspi_TPM_CreateRevocableEndorsementKey(tpm, ek, &v, &reset_len, &reset);
	tt_ok(tpm_layer_error(rc),
	      "CreateRevocableEndorsementKeyPair reaches the TPM, which already has an EK (0x%x)",
	      rc);
	{
		BYTE fake[20] = {0};
		rc = Tspi_TPM_RevokeEndorsementKey(tpm, sizeof(fake), fake);
		tt_ok(tpm_layer_error(rc),
		      "RevokeEndorsementKeyPair reaches the TPM, which refuses it (0x%x)", rc);
	}
}

int
main(void)
{
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_HKEY srk, signer;
	TSS_RESULT rc;

	tt_plan_name("tspi-admin");
	if (!tt_rc(tt_connect(&ctx, &tpm, &srk), 0, "connect"))
		return tt_done();
	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_AUTHORIZATION, "signer", 1, &signer);
	if (!tt_rc(rc, 0, "a signing key with a usage secret"))
		return tt_done();
	test_audit_signed_first(ctx, tpm, signer);
	test_audit(ctx, tpm, signer);
	test_dir_ticks(ctx, tpm, signer);
	test_nv_auth(ctx);
	test_owner_evict(ctx, tpm, srk);
	test_maintenance_ek(ctx, tpm);
	Tspi_Context_Close(ctx);
	return tt_done();
}

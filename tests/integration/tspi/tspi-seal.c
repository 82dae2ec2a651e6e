/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-seal.c - data protection ordinals through libtspi: SEAL, SEALX,
 * UNSEAL (two authorisations: OSAP for the SRK, OIAP for the data), plus
 * PCRREAD / EXTEND / PCRRESET to move the PCRs the data is sealed to.
 *
 *   seal / unseal to the SRK without PCRs
 *   seal to PCR 16 (TPM_PCR_INFO), unseal; extend PCR 16 -> unseal fails with
 *     TPM_E_WRONGPCRVAL; reset PCR 16 (resettable at locality 0) -> unseal works
 *   Sealx (TSS_TSPATTRIB_ENCDATASEAL_PROTECT_MODE) to PCR 23: libtspi sends a
 *     TPM_PCR_INFO_LONG; the TPM_STORED_DATA12 blob has entity type XOR; unseal
 *     returns the data (unmasked by libtspi); extend PCR 23 -> TPM_E_WRONGPCRVAL
 *   unseal with a wrong data secret -> TPM_E_AUTH2FAIL (0x1d): the data
 *     authorisation is Unseal's second one, and the TPM names it so
 *
 * PCR objects are created as TSS_PCRS_STRUCT_INFO even for Sealx: with
 * TSS_PCRS_STRUCT_INFO_LONG or _SHORT objects libtspi 0.3.15 + libtpms answer
 * TPM_BADINDEX (0x2) to Seal and Sealx alike, through both daemons (a client /
 * TPM matter, nothing the TCS touches); for Sealx libtspi converts the INFO
 * object into a TPM_PCR_INFO_LONG itself (localityAtRelease = all).
 *
 * Usage: tspi-seal   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets)
 */
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

static const char secret_msg[] = "the quick brown fox: sealed to the SRK";

static TSS_RESULT
unseal(TSS_HCONTEXT ctx, TSS_HENCDATA enc, TSS_HKEY srk, const char *what)
{
	BYTE *out = NULL;
	UINT32 out_len = 0;
	TSS_RESULT rc;

	rc = Tspi_Data_Unseal(enc, srk, &out_len, &out);
	if (rc == 0) {
		tt_ok(out_len == sizeof(secret_msg) && memcmp(out, secret_msg, out_len) == 0,
		      "%s: unsealed data equals the sealed data (%u bytes)", what, out_len);
		Tspi_Context_FreeMemory(ctx, out);
	}
	return rc;
}

/* PCRs object of the given structure type with pcr = its current value */
static TSS_RESULT
pcrs_current(TSS_HCONTEXT ctx, TSS_HTPM tpm, UINT32 type, UINT32 pcr, TSS_HPCRS *pcrs)
{
	BYTE *val = NULL;
	UINT32 len = 0;
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_PCRS, type, pcrs);
	if (rc)
		return rc;
	rc = Tspi_TPM_PcrRead(tpm, pcr, &len, &val);
	if (rc == 0 && type == TSS_PCRS_STRUCT_INFO_LONG)
		rc = Tspi_PcrComposite_SelectPcrIndexEx(*pcrs, pcr, TSS_PCRS_DIRECTION_RELEASE);
	if (rc == 0)
		rc = Tspi_PcrComposite_SetPcrValue(*pcrs, pcr, len, val);
	Tspi_Context_FreeMemory(ctx, val);
	return rc;
}

static TSS_RESULT
extend(TSS_HCONTEXT ctx, TSS_HTPM tpm, UINT32 pcr)
{
	BYTE data[20], *val = NULL;
	UINT32 len;
	TSS_RESULT rc;

	tt_sha1("tspi-seal extend", 16, data);
	rc = Tspi_TPM_PcrExtend(tpm, pcr, sizeof(data), data, NULL, &len, &val);
	Tspi_Context_FreeMemory(ctx, val);
	return rc;
}

static TSS_RESULT
reset(TSS_HCONTEXT ctx, TSS_HTPM tpm, UINT32 pcr)
{
	TSS_HPCRS pcrs;
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_PCRS, TSS_PCRS_STRUCT_INFO, &pcrs);
	if (rc == 0)
		rc = Tspi_PcrComposite_SelectPcrIndex(pcrs, pcr);
	if (rc == 0)
		rc = Tspi_TPM_PcrReset(tpm, pcrs);
	Tspi_Context_CloseObject(ctx, pcrs);
	return rc;
}

static TSS_RESULT
new_sealed(TSS_HCONTEXT ctx, const char *secret, TSS_HENCDATA *enc, TSS_HPOLICY *pol)
{
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_ENCDATA, TSS_ENCDATA_SEAL, enc);
	if (rc == 0)
		rc = tt_set_usage_secret(ctx, *enc, secret, pol);
	return rc;
}

int
main(void)
{
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_HKEY srk;
	TSS_HENCDATA enc, enc16, encx;
	TSS_HPCRS pcrs;
	TSS_HPOLICY pol;
	BYTE *blob = NULL;
	UINT32 blob_len = 0;
	TSS_RESULT rc;
	double t0 = tt_now_ms();

	tt_plan_name("tspi-seal");
	rc = tt_connect(&ctx, &tpm, &srk);
	if (!tt_rc(rc, 0, "connect, TPM object, LoadKeyByUUID(SRK)"))
		return tt_done();

	/* -- no PCRs */
	rc = new_sealed(ctx, "data-secret", &enc, &pol);
	if (rc == 0)
		rc = Tspi_Data_Seal(enc, srk, sizeof(secret_msg), (BYTE *)secret_msg, 0);
	if (tt_rc(rc, 0, "Tspi_Data_Seal to the SRK, no PCRs")) {
		tt_rc(unseal(ctx, enc, srk, "no PCRs"), 0, "Tspi_Data_Unseal, no PCRs");
		/* wrong data secret: the second (OIAP) authorisation fails */
		rc = Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_PLAIN, 5, (BYTE *)"wrong");
		tt_rc(rc, 0, "set a wrong data secret");
		tt_rc(unseal(ctx, enc, srk, "wrong secret"), TPM_E_AUTH2FAIL,
		      "Tspi_Data_Unseal with a wrong data secret -> TPM_E_AUTH2FAIL");
		rc = Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_PLAIN, 11, (BYTE *)"data-secret");
		tt_rc(rc, 0, "set the right data secret again");
		tt_rc(unseal(ctx, enc, srk, "after the failure"), 0,
		      "Tspi_Data_Unseal after the auth failure");
	}

	/* -- PCR 16 (TPM_PCR_INFO) */
	rc = new_sealed(ctx, "pcr-secret", &enc16, NULL);
	if (rc == 0)
		rc = pcrs_current(ctx, tpm, TSS_PCRS_STRUCT_INFO, 16, &pcrs);
	if (rc == 0)
		rc = Tspi_Data_Seal(enc16, srk, sizeof(secret_msg), (BYTE *)secret_msg, pcrs);
	if (tt_rc(rc, 0, "Tspi_Data_Seal to PCR 16 (current value)")) {
		tt_rc(unseal(ctx, enc16, srk, "PCR 16"), 0, "Tspi_Data_Unseal, PCR 16 unchanged");
		tt_rc(extend(ctx, tpm, 16), 0, "Tspi_TPM_PcrExtend PCR 16");
		tt_rc(unseal(ctx, enc16, srk, "PCR 16 extended"), TPM_E_WRONGPCRVAL,
		      "Tspi_Data_Unseal after the extend -> TPM_E_WRONGPCRVAL");
		tt_rc(reset(ctx, tpm, 16), 0, "Tspi_TPM_PcrReset PCR 16");
		tt_rc(unseal(ctx, enc16, srk, "PCR 16 reset"), 0,
		      "Tspi_Data_Unseal after the reset (PCR back to its sealed value)");
	}

	/* -- Sealx, PCR 23 (TPM_PCR_INFO_LONG) */
	rc = new_sealed(ctx, "sealx-secret", &encx, NULL);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(encx, TSS_TSPATTRIB_ENCDATA_SEAL,
					  TSS_TSPATTRIB_ENCDATASEAL_PROTECT_MODE,
					  TSS_TSPATTRIB_ENCDATASEAL_PROTECT);
	if (!tt_rc(rc, 0, "TSS_TSPATTRIB_ENCDATASEAL_PROTECT_MODE = PROTECT (Sealx)"))
		goto out;
	rc = pcrs_current(ctx, tpm, TSS_PCRS_STRUCT_INFO, 23, &pcrs);
	if (rc == 0)
		rc = Tspi_Data_Seal(encx, srk, sizeof(secret_msg), (BYTE *)secret_msg, pcrs);
	if (tt_rc(rc, 0, "Tspi_Data_Seal with protect mode (SEALX) to PCR 23")) {
		rc = Tspi_GetAttribData(encx, TSS_TSPATTRIB_ENCDATA_BLOB,
					TSS_TSPATTRIB_ENCDATABLOB_BLOB, &blob_len, &blob);
		/* TPM_STORED_DATA12: tag 0x0016, et TPM_ET_XOR (0x0005) */
		tt_ok(rc == 0 && blob_len > 4 && blob[0] == 0x00 && blob[1] == 0x16 &&
		      blob[2] == 0x00 && blob[3] == 0x05,
		      "SEALX blob is a TPM_STORED_DATA12 with et = TPM_ET_XOR");
		Tspi_Context_FreeMemory(ctx, blob);
		tt_rc(unseal(ctx, encx, srk, "SEALX"), 0, "Tspi_Data_Unseal of the SEALX blob");
		tt_rc(extend(ctx, tpm, 23), 0, "Tspi_TPM_PcrExtend PCR 23");
		tt_rc(unseal(ctx, encx, srk, "SEALX PCR 23 extended"), TPM_E_WRONGPCRVAL,
		      "Tspi_Data_Unseal of the SEALX blob after the extend -> TPM_E_WRONGPCRVAL");
		tt_rc(reset(ctx, tpm, 23), 0, "Tspi_TPM_PcrReset PCR 23");
		tt_rc(unseal(ctx, encx, srk, "SEALX PCR 23 reset"), 0,
		      "Tspi_Data_Unseal of the SEALX blob after the reset");
	}
out:
	rc = Tspi_Context_Close(ctx);
	tt_rc(rc, 0, "Tspi_Context_Close");
	tt_diag("tspi-seal took %.0f ms", tt_now_ms() - t0);
	return tt_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Not built by meson: the libtspi client used once to make the system.data
 * fixtures in this directory against the reference TrouSerS tcsd (see README.md).
 *
 *   cc -o make-fixtures make-fixtures.c -ltspi
 *   make-fixtures create N PARENT storage|sign|bind 1024|2048 KEY12(0|1) PCRBOUND(0|1)
 *   make-fixtures unreg N
 *
 * N and PARENT name the UUID 11223344-5566-7788-99aa-bbccddeeffNN (1 = the SRK).
 * The SRK secret is the well-known one (tpm_takeownership -z).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss/platform.h>
#include <tss/tss_defines.h>
#include <tss/tss_error.h>
#include <tss/tspi.h>

#define CK(x)                                                                                      \
	do {                                                                                       \
		TSS_RESULT r_ = (x);                                                               \
		if (r_) {                                                                          \
			fprintf(stderr, "%s: 0x%x\n", #x, r_);                                     \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static TSS_UUID
mk(int n)
{
	TSS_UUID srk = TSS_UUID_SRK;
	TSS_UUID u = {0x11223344, 0x5566, 0x7788, 0x99, 0xaa, {0xbb, 0xcc, 0xdd, 0xee, 0xff, (BYTE)n}};

	return n == 1 ? srk : u;
}

int
main(int argc, char **argv)
{
	TSS_HCONTEXT ctx;
	TSS_HKEY srk, parent, key;
	TSS_HPOLICY pol;
	TSS_HTPM tpm;
	TSS_HPCRS pcrs = 0;
	TSS_FLAG fl = TSS_KEY_NO_AUTHORIZATION | TSS_KEY_NOT_MIGRATABLE;
	BYTE well_known[20] = {0};
	UINT32 len;
	BYTE *val;
	int n, pn, key12;

	if (argc == 3 && !strcmp(argv[1], "unreg")) {
		CK(Tspi_Context_Create(&ctx));
		CK(Tspi_Context_Connect(ctx, NULL));
		CK(Tspi_Context_UnregisterKey(ctx, TSS_PS_TYPE_SYSTEM, mk(atoi(argv[2])), &key));
		return 0;
	}
	if (argc != 8 || strcmp(argv[1], "create")) {
		fprintf(stderr, "usage: see the comment at the top\n");
		return 2;
	}
	n = atoi(argv[2]);
	pn = atoi(argv[3]);
	key12 = atoi(argv[6]);

	CK(Tspi_Context_Create(&ctx));
	CK(Tspi_Context_Connect(ctx, NULL));
	CK(Tspi_Context_GetTpmObject(ctx, &tpm));
	CK(Tspi_Context_LoadKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, mk(1), &srk));
	CK(Tspi_GetPolicyObject(srk, TSS_POLICY_USAGE, &pol));
	CK(Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_SHA1, 20, well_known));
	if (pn == 1)
		parent = srk;
	else
		CK(Tspi_Context_LoadKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, mk(pn), &parent));

	if (!strcmp(argv[4], "storage"))
		fl |= TSS_KEY_TYPE_STORAGE;
	else if (!strcmp(argv[4], "sign"))
		fl |= TSS_KEY_TYPE_SIGNING;
	else
		fl |= TSS_KEY_TYPE_BIND;
	fl |= atoi(argv[5]) == 2048 ? TSS_KEY_SIZE_2048 : TSS_KEY_SIZE_1024;
	fl |= key12 ? TSS_KEY_STRUCT_KEY12 : TSS_KEY_STRUCT_KEY;
	CK(Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_RSAKEY, fl, &key));

	if (atoi(argv[7])) {
		/* bound to the current value of PCR 7 */
		CK(Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_PCRS,
					     key12 ? TSS_PCRS_STRUCT_INFO_LONG : TSS_PCRS_STRUCT_INFO, &pcrs));
		CK(Tspi_TPM_PcrRead(tpm, 7, &len, &val));
		CK(Tspi_PcrComposite_SetPcrValue(pcrs, 7, len, val));
		if (key12) {
			CK(Tspi_PcrComposite_SelectPcrIndexEx(pcrs, 7, TSS_PCRS_DIRECTION_RELEASE));
			CK(Tspi_PcrComposite_SelectPcrIndexEx(pcrs, 7, TSS_PCRS_DIRECTION_CREATION));
			CK(Tspi_PcrComposite_SetPcrLocality(pcrs, TPM_LOC_ZERO | TPM_LOC_ONE));
		}
	}
	CK(Tspi_Key_CreateKey(key, parent, pcrs));
	CK(Tspi_Context_RegisterKey(ctx, key, TSS_PS_TYPE_SYSTEM, mk(n), TSS_PS_TYPE_SYSTEM, mk(pn)));
	CK(Tspi_GetAttribData(key, TSS_TSPATTRIB_KEY_BLOB, TSS_TSPATTRIB_KEYBLOB_BLOB, &len, &val));
	printf("registered %d: blob %u bytes\n", n, len);
	Tspi_Context_Close(ctx);
	return 0;
}

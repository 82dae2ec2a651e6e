/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-openssl-tspi-blob: make a key blob file exactly as openssl_tpm_engine's
 * create_tpm_key does, through libtspi: a TSS_KEY_TYPE_LEGACY |
 * TSS_KEY_VOLATILE key under the SRK (well-known SRK secret), PKCS#1 v1.5
 * encryption and the DER signature scheme (or SHA1 with -q sha1), written as
 * a DER OCTET STRING in a "TSS KEY BLOB" PEM block without headers.
 * Independent of libtcs on purpose: the engine and provider must take what
 * the reference tool makes.
 *
 * Usage: test-openssl-tspi-blob [-s BITS] [-q der|sha1] [-a PASSPHRASE] OUTPUT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/pem.h>

#include <trousers/tss.h>

#define CHECK_TSS(call)                                                                            \
	do {                                                                                       \
		TSS_RESULT r_ = (call);                                                            \
		if (r_ != TSS_SUCCESS) {                                                           \
			fprintf(stderr, "%s: 0x%08x\n", #call, r_);                                \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

int
main(int argc, char **argv)
{
	static BYTE well_known[20];
	TSS_UUID srk_uuid = TSS_UUID_SRK;
	TSS_FLAG flags = TSS_KEY_TYPE_LEGACY | TSS_KEY_VOLATILE;
	UINT32 sig_scheme = TSS_SS_RSASSAPKCS1V15_DER, bits = 2048, blob_len;
	TSS_HCONTEXT ctx;
	TSS_HKEY srk, key;
	TSS_HPOLICY srk_policy, key_policy;
	const char *pass = NULL;
	BYTE *blob;
	ASN1_OCTET_STRING *os;
	unsigned char *der = NULL;
	int der_len, ch;
	BIO *out;

	while ((ch = getopt(argc, argv, "s:q:a:")) != -1) {
		switch (ch) {
		case 's': bits = (UINT32)atoi(optarg); break;
		case 'q': sig_scheme = !strcmp(optarg, "sha1") ? TSS_SS_RSASSAPKCS1V15_SHA1
							       : TSS_SS_RSASSAPKCS1V15_DER; break;
		case 'a': pass = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: %s [-s BITS] [-q der|sha1] [-a PASS] OUTPUT\n", argv[0]);
		return 2;
	}
	flags |= bits == 512 ? TSS_KEY_SIZE_512 : bits == 1024 ? TSS_KEY_SIZE_1024 : TSS_KEY_SIZE_2048;
	if (pass)
		flags |= TSS_KEY_AUTHORIZATION;

	CHECK_TSS(Tspi_Context_Create(&ctx));
	CHECK_TSS(Tspi_Context_Connect(ctx, NULL));
	CHECK_TSS(Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_RSAKEY, flags, &key));
	CHECK_TSS(Tspi_SetAttribUint32(key, TSS_TSPATTRIB_KEY_INFO, TSS_TSPATTRIB_KEYINFO_SIGSCHEME,
				       sig_scheme));
	CHECK_TSS(Tspi_SetAttribUint32(key, TSS_TSPATTRIB_KEY_INFO, TSS_TSPATTRIB_KEYINFO_ENCSCHEME,
				       TSS_ES_RSAESPKCSV15));
	CHECK_TSS(Tspi_Context_LoadKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, srk_uuid, &srk));
	CHECK_TSS(Tspi_GetPolicyObject(srk, TSS_POLICY_USAGE, &srk_policy));
	CHECK_TSS(Tspi_Policy_SetSecret(srk_policy, TSS_SECRET_MODE_SHA1, 20, well_known));
	if (pass) {
		CHECK_TSS(Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_POLICY, TSS_POLICY_USAGE,
						    &key_policy));
		CHECK_TSS(Tspi_Policy_SetSecret(key_policy, TSS_SECRET_MODE_PLAIN,
						(UINT32)strlen(pass), (BYTE *)pass));
		CHECK_TSS(Tspi_Policy_AssignToObject(key_policy, key));
	}
	CHECK_TSS(Tspi_Key_CreateKey(key, srk, 0));
	CHECK_TSS(Tspi_GetAttribData(key, TSS_TSPATTRIB_KEY_BLOB, TSS_TSPATTRIB_KEYBLOB_BLOB,
				     &blob_len, &blob));

	os = ASN1_OCTET_STRING_new();
	if (!os || !ASN1_STRING_set(os, blob, (int)blob_len) ||
	    (der_len = i2d_ASN1_OCTET_STRING(os, &der)) <= 0 || !(out = BIO_new_file(argv[optind], "w")) ||
	    PEM_write_bio(out, "TSS KEY BLOB", "", der, der_len) <= 0) {
		fprintf(stderr, "writing %s failed\n", argv[optind]);
		return 1;
	}
	BIO_free(out);
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(os);
	Tspi_Context_FreeMemory(ctx, blob);
	Tspi_Context_Close(ctx);
	return 0;
}

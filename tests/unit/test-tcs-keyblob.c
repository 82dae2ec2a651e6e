/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key blob files (src/tcs-keyblob.h): create_tpm_key's exact PEM form, the
 * Parent-UUID line and that OpenSSL's own PEM reader still takes such a file
 * the way openssl_tpm_engine reads it, the DER forms, and refusals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "tcs-buf.h"
#include "tcs-keyblob.h"
#include "tcs-key.h"
#include "tcs-tap.h"
#include "tcs-uuid.h"

/* A small but complete TPM_KEY (1.1), as CreateWrapKey returns one. */
static uint8_t *
sample_key(size_t *len)
{
	TcsWbuf w;

	tcs_wbuf_init(&w, 0);
	tcs_wbuf_bytes(&w, (const uint8_t[]){1, 1, 0, 0}, 4);
	tcs_wbuf_u16(&w, TPM_KEY_LEGACY);
	tcs_wbuf_u32(&w, 2);
	tcs_wbuf_u8(&w, 0);
	tcs_wbuf_u32(&w, TPM_ALG_RSA);
	tcs_wbuf_u16(&w, TPM_ES_RSAESPKCSv15);
	tcs_wbuf_u16(&w, TPM_SS_RSASSAPKCS1v15_DER);
	tcs_wbuf_u32(&w, 12);
	tcs_wbuf_u32(&w, 512);
	tcs_wbuf_u32(&w, 2);
	tcs_wbuf_u32(&w, 0);
	tcs_wbuf_u32(&w, 0);
	tcs_wbuf_u32(&w, 64);
	for (int i = 0; i < 64; i++)
		tcs_wbuf_u8(&w, (uint8_t)(0x80 | i));
	tcs_wbuf_u32(&w, 64);
	tcs_wbuf_zeros(&w, 64);
	return tcs_wbuf_steal(&w, len);
}

/* What openssl_tpm_engine does to read a blob file. */
static bool
openssl_tpm_engine_reads(const char *text, const uint8_t *blob, size_t len)
{
	BIO *b = BIO_new_mem_buf(text, -1);
	ASN1_OCTET_STRING *os =
		PEM_ASN1_read_bio((d2i_of_void *)d2i_ASN1_OCTET_STRING, "TSS KEY BLOB", b, NULL, NULL, NULL);
	bool ok = os && (size_t)ASN1_STRING_length(os) == len &&
		  !memcmp(ASN1_STRING_get0_data(os), blob, len);

	ASN1_OCTET_STRING_free(os);
	BIO_free(b);
	return ok;
}

int
main(void)
{
	const TcsUuid other = {0x12345678, 0x9abc, 0xdef0, 0x11, 0x22, {1, 2, 3, 4, 5, 6}};
	size_t len, text_len, der_len;
	uint8_t *blob = sample_key(&len), *der = NULL;
	char *text = NULL, *bad;
	TcsKeyBlob kb = {0};

	/* SRK parent: exactly create_tpm_key's form */
	CHECK(tcs_keyblob_format(blob, len, NULL, &text, &text_len) == 0 &&
		      !strncmp(text, "-----BEGIN TSS KEY BLOB-----\n", 29) && !strchr(text + 29, ':'),
	      "SRK parent: a bare PEM block without headers");
	CHECK(openssl_tpm_engine_reads(text, blob, len), "... read as openssl_tpm_engine reads it");
	CHECK(tcs_keyblob_parse(text, text_len, &kb) == 0 && kb.blob_len == len &&
		      !memcmp(kb.blob, blob, len) && !kb.parent_recorded &&
		      tcs_uuid_equal(&kb.parent, &TCS_UUID_SRK),
	      "... parses back: same TPM_KEY, parent the SRK (not recorded)");
	tcs_keyblob_clear(&kb);
	free(text);

	/* RK parent: one line of explanatory text before the block */
	CHECK(tcs_keyblob_format(blob, len, &TCS_UUID_RK, &text, &text_len) == 0 &&
		      !strncmp(text, "Parent-UUID: 00000000-0000-0000-0000-000000000003\n-----BEGIN TSS KEY BLOB-----\n", 79),
	      "RK parent: a Parent-UUID line before the block");
	CHECK(openssl_tpm_engine_reads(text, blob, len),
	      "... which OpenSSL's PEM reader skips (openssl_tpm_engine-style loaders still read it)");
	CHECK(tcs_keyblob_parse(text, text_len, &kb) == 0 && kb.parent_recorded &&
		      tcs_uuid_equal(&kb.parent, &TCS_UUID_RK),
	      "... parses back with the RK as parent");

	/* DER forms: with the parent (SEQUENCE) and without (OCTET STRING) */
	CHECK(tcs_keyblob_to_der(&kb, &der, &der_len) == 0 && der[0] == 0x30,
	      "DER with a recorded parent is our SEQUENCE form");
	tcs_keyblob_clear(&kb);
	CHECK(tcs_keyblob_parse_der(der, der_len, &kb) == 0 && kb.parent_recorded &&
		      tcs_uuid_equal(&kb.parent, &TCS_UUID_RK) && kb.blob_len == len &&
		      !memcmp(kb.blob, blob, len),
	      "... parses back with blob and parent");
	CHECK(tcs_keyblob_parse_der(der, der_len - 1, &kb) == -EBADMSG, "... a truncated one: -EBADMSG");
	free(der);
	kb.parent_recorded = false;
	CHECK(tcs_keyblob_to_der(&kb, &der, &der_len) == 0 && der[0] == 0x04,
	      "DER without a recorded parent is the PEM block's OCTET STRING");
	tcs_keyblob_clear(&kb);
	CHECK(tcs_keyblob_parse_der(der, der_len, &kb) == 0 && !kb.parent_recorded,
	      "... parses back, parent unknown");
	tcs_keyblob_clear(&kb);
	free(der);
	free(text);

	/* another registered parent round-trips too */
	CHECK(tcs_keyblob_format(blob, len, &other, &text, &text_len) == 0 &&
		      tcs_keyblob_parse(text, text_len, &kb) == 0 && tcs_uuid_equal(&kb.parent, &other),
	      "any parent UUID round-trips");
	tcs_keyblob_clear(&kb);

	/* refusals */
	bad = strdup(text);
	memcpy(strstr(bad, "Parent-UUID: ") + 13, "zz", 2);
	CHECK(tcs_keyblob_parse(bad, strlen(bad), &kb) == -EBADMSG, "a bad Parent-UUID: -EBADMSG");
	free(bad);
	CHECK(tcs_keyblob_parse("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
				66, &kb) == -EBADMSG,
	      "another PEM type: -EBADMSG");
	CHECK(tcs_keyblob_parse("-----BEGIN TSS KEY BLOB-----\nBAEA\n-----END TSS KEY BLOB-----\n", 60,
				&kb) == -EBADMSG,
	      "an OCTET STRING that holds no TPM_KEY: -EBADMSG");
	CHECK(tcs_keyblob_parse(text, strstr(text, "-----END") - text, &kb) == -EBADMSG,
	      "a block without its end line: -EBADMSG");
	free(text);
	free(blob);
	return tap_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for TSS key blobs: TPM_KEY / TPM_KEY12 / TPM_PUBKEY
 * structures (src/tcs-key.c; from files, PS, archives and the TPM) and the
 * "TSS KEY BLOB" PEM and DER forms around them (src/tcs-keyblob.c; the
 * engine and provider read them from any file a user names). Each input is
 * tried as all of them; what parses is converted and must parse again.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tcs-key.h"
#include "tcs-keyblob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
key_checks(const uint8_t *data, size_t size)
{
	TcsKey k = {0}, pk = {0};
	const uint8_t *mod;
	uint8_t *pub = NULL;
	size_t consumed = 0, len = 0, mlen = 0, walked = 0;

	if (tcs_key_parse(data, size, &k, &consumed) == 0) {
		if (consumed > size || k.raw_len != consumed ||
		    tcs_struct_len_key(data, size, &walked) != 0 || walked != consumed)
			abort(); /* the length walker and the parser agree */
		(void)tcs_key_modulus(&k, &mod, &mlen);
		(void)tcs_key_modulus_is_zero(&k);
		if (tcs_key_to_pubkey(&k, &pub, &len) == 0) {
			if (tcs_pubkey_parse(pub, len, &pk, NULL) != 0)
				abort();
			tcs_key_free(&pk);
			free(pub);
		}
		if (k.modulus_len <= 512) { /* RSA of up to 4096 bits: OpenSSL's time, not ours */
			EVP_PKEY *e = NULL;

			if (tcs_key_to_evp(&k, &e) == 0)
				EVP_PKEY_free(e);
		}
		tcs_key_zero_modulus(&k);
		tcs_key_free(&k);
	}
	if (tcs_pubkey_parse(data, size, &pk, &consumed) == 0) {
		if (consumed > size || tcs_struct_len_pubkey(data, size, &walked) != 0 ||
		    walked != consumed)
			abort();
		tcs_key_free(&pk);
	}
}

static void
keyblob_round_trip(const TcsKeyBlob *kb)
{
	TcsKeyBlob again = {0};
	uint8_t *der = NULL;
	char *text = NULL;
	size_t len = 0;

	if (tcs_keyblob_to_der(kb, &der, &len) == 0) {
		if (tcs_keyblob_parse_der(der, len, &again) != 0 || again.blob_len != kb->blob_len ||
		    memcmp(again.blob, kb->blob, kb->blob_len) != 0)
			abort();
		tcs_keyblob_clear(&again);
		free(der);
	}
	if (tcs_keyblob_format(kb->blob, kb->blob_len, &kb->parent, &text, &len) == 0) {
		if (tcs_keyblob_parse(text, len, &again) != 0 || again.blob_len != kb->blob_len ||
		    memcmp(again.blob, kb->blob, kb->blob_len) != 0)
			abort();
		tcs_keyblob_clear(&again);
		free(text);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TcsKeyBlob kb = {0};

	key_checks(data, size);
	if (tcs_keyblob_parse((const char *)data, size, &kb) == 0) {
		key_checks(kb.blob, kb.blob_len);
		keyblob_round_trip(&kb);
		tcs_keyblob_clear(&kb);
	}
	if (tcs_keyblob_parse_der(data, size, &kb) == 0) {
		keyblob_round_trip(&kb);
		tcs_keyblob_clear(&kb);
	}
	return 0;
}

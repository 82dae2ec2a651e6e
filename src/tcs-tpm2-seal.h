/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seal and unseal a 256-bit state key with the host's TPM 2.0 (tpm2-tss ESYS
 * through the TCTI loader). The key is a keyed-hash object under a storage
 * primary key recreated each time from the TCG ECC P-256 SRK template, so
 * only that TPM (its owner hierarchy seed) can load it; with a PCR list the
 * unseal also needs those SHA-256 PCRs to hold the values they had at
 * sealing. Both commands run in sessions salted with the primary key that
 * encrypt the key on its way to and from the TPM. GLib-free.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCS_TPM2_STATE_KEY_LEN 32u
#define TCS_TPM2_MAX_PCR 23u

typedef enum {
	TCS_TPM2_OK = 0,
	TCS_TPM2_ERR_ARG,	   /* bad argument or PCR list */
	TCS_TPM2_ERR_TCTI,	   /* the TPM 2.0 cannot be reached */
	TCS_TPM2_ERR_TPM,	   /* the TPM 2.0 refused a command */
	TCS_TPM2_ERR_FORMAT,	   /* the sealed blob is malformed */
	TCS_TPM2_ERR_OTHER_TPM,	   /* sealed by another TPM 2.0 (or its owner seed cleared) */
	TCS_TPM2_ERR_PCR_MISMATCH, /* the PCR policy does not hold */
} TcsTpm2Status;

typedef struct {
	char message[512];
	uint32_t changed_pcrs; /* PCR_MISMATCH: the PCRs whose values differ from sealing time */
} TcsTpm2Error;

/* Parse "none", "" or a list like "0,2,4-7" into a bit mask (bit n = PCR n). */
bool tcs_tpm2_pcr_list_parse(const char *text, uint32_t *mask);
/* "none" or "0,2,4,5,6,7" into buf. */
const char *tcs_tpm2_pcr_list_format(uint32_t mask, char *buf, size_t len);

/* Seal key under the TPM 2.0 reached through tcti (a tpm2-tss TCTI string:
 * "device:/dev/tpmrm0", "swtpm:host=H,port=P", ...). *blob is malloc'd. */
TcsTpm2Status tcs_tpm2_seal(const char *tcti, uint32_t pcr_mask,
			    const uint8_t key[TCS_TPM2_STATE_KEY_LEN], uint8_t **blob,
			    size_t *blob_len, TcsTpm2Error *err);
/* Unseal a blob from tcs_tpm2_seal; key is wiped on failure. */
TcsTpm2Status tcs_tpm2_unseal(const char *tcti, const uint8_t *blob, size_t blob_len,
			      uint8_t key[TCS_TPM2_STATE_KEY_LEN], TcsTpm2Error *err);
/* The PCR mask a blob was sealed with, or false when it is malformed. */
bool tcs_tpm2_blob_pcr_mask(const uint8_t *blob, size_t blob_len, uint32_t *mask);

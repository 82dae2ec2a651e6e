/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCRs through the TSS client (see tcs-client.h for the result convention),
 * and the TPM_PCR_INFO that binds a key to PCR values at release.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tcs-client.h"

#define TCS_PCR_COUNT 24u /* a PC-client TPM 1.2 */

/* TPM_PcrRead: PCR index's value. */
int tcs_client_pcr_read(TcsClient *c, uint32_t index, uint8_t out[TCS_DIGEST_SIZE]);
/* TPM_Extend: PCR index := SHA-1(PCR || digest); new value in out (may be NULL). */
int tcs_client_pcr_extend(TcsClient *c, uint32_t index, const uint8_t digest[TCS_DIGEST_SIZE],
			  uint8_t *out);
/*
 * A TPM_PCR_INFO (TPM 1.1 layout, as in a TPM_KEY) selecting the PCRs in
 * mask (bit n = PCR n), digestAtRelease = SHA-1 of the TPM_PCR_COMPOSITE of
 * their current values (read from the TPM), digestAtCreation the same.
 * *ret malloc'd.
 */
int tcs_client_pcr_info(TcsClient *c, uint32_t mask, uint8_t **ret, size_t *ret_len);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TPM half of the "tcs" LUKS2 token, shared by tpmluks (enroll) and the
 * cryptsetup token plugin (unlock), through libtcs' TSS client. Callers get
 * a result class and a message naming the cause (err); they decide how to
 * report it (stderr for tpmluks, crypt_log for the plugin).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcs-client.h"
#include "tcs-luks-token.h"

typedef enum {
	TCS_LUKS_OK = 0,
	TCS_LUKS_E_LOCAL,     /* out of memory, OpenSSL */
	TCS_LUKS_E_TCSD,      /* tcsd not reachable */
	TCS_LUKS_E_NO_PARENT, /* no RK/SK registered, or not a storage key */
	TCS_LUKS_E_WRONG_TPM, /* enrolled with another TPM's RK/SK */
	TCS_LUKS_E_AUTH,      /* wrong PIN (or a PIN needed and none given) */
	TCS_LUKS_E_LOCKOUT,   /* the TPM's dictionary-attack defence is active */
	TCS_LUKS_E_PCR,       /* PCR values differ from those at enrolment */
	TCS_LUKS_E_BADTOKEN,  /* the token does not fit this TPM key / its data is damaged */
	TCS_LUKS_E_TPM,       /* any other TPM/TSS error */
} TcsLuksResult;

#define TCS_LUKS_ERR_SIZE 512u

typedef struct {
	TcsClient *client;
	uint32_t parent;         /* TCS handle of the loaded RK or SK */
	TcsLuksParent which;
	bool parent_migratable;
	uint8_t fingerprint[TCS_FINGERPRINT_SIZE];
} TcsLuksTpm;

void tcs_luks_tpm_close(TcsLuksTpm *t);

/* Connect ($TSS_TCSD_HOSTNAME/$TSS_TCSD_PORT), open a context, load the parent. */
TcsLuksResult tcs_luks_tpm_open(TcsLuksTpm *t, TcsLuksParent which, char *err, size_t errlen);

/*
 * Create a bind key under the parent with usage secret `secret` (PCR-bound
 * when pcr_mask, to the PCRs' current values), bind the payload to it and
 * fill tok's parent, fingerprint, key blob, bound data and PCR mask.
 */
TcsLuksResult tcs_luks_tpm_create(TcsLuksTpm *t, const uint8_t secret[TCS_SECRET_SIZE],
				  uint32_t pcr_mask, const uint8_t *payload, size_t len,
				  TcsLuksToken *tok, char *err, size_t errlen);

/*
 * Recover the payload of tok (exactly TCS_LUKS_SECRET_SIZE bytes) with the
 * key's usage secret. t must be open on tok->parent.
 */
TcsLuksResult tcs_luks_tpm_unlock(TcsLuksTpm *t, const TcsLuksToken *tok,
				  const uint8_t secret[TCS_SECRET_SIZE],
				  uint8_t out[TCS_LUKS_SECRET_SIZE], char *err, size_t errlen);

/* The usage secret for a PIN (SHA-1, as TSS_SECRET_MODE_PLAIN), or the well-known one. */
int tcs_luks_pin_secret(const void *pin, size_t len, uint8_t secret[TCS_SECRET_SIZE]);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LUKS2 token of type "tcs" (docs/luks.md): the JSON that tpmluks writes
 * into the header and the token plugin reads back. A header is data any user
 * can craft (a LUKS image root opens), so parsing is strict: bounded sizes,
 * exact types, hex of exact lengths, a key blob that parses whole.
 *
 *   {"type":"tcs","keyslots":["1"],"tcs-version":1,"tcs-parent":"rk",
 *    "tcs-parent-fingerprint":"<64 hex>","tcs-key":"<hex TPM_KEY>",
 *    "tcs-bound":"<hex>","tcs-pin":false,"tcs-pcrs":[7]}
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcs-bind.h"

#define TCS_LUKS_TOKEN_TYPE "tcs"
#define TCS_LUKS_TOKEN_VERSION 1
#define TCS_LUKS_JSON_MAX 16384u   /* a LUKS2 JSON area holds at most this much per token here */
#define TCS_LUKS_KEY_BLOB_MAX 2048u /* a 2048-bit TPM_KEY with a PCR_INFO is ~600 bytes */
#define TCS_LUKS_BOUND_MAX 512u     /* RSA-2048 ciphertext: 256 */
#define TCS_LUKS_KEYSLOT_MAX 31     /* LUKS2: 32 keyslots */
#define TCS_LUKS_PCR_COUNT 24u
#define TCS_LUKS_SECRET_SIZE 32u    /* the keyslot passphrase's random bytes */

typedef enum {
	TCS_LUKS_PARENT_RK, /* roaming key: moves with tpmadm backup/restore */
	TCS_LUKS_PARENT_SK, /* storage key: never leaves this TPM */
} TcsLuksParent;

typedef struct {
	int keyslot;
	TcsLuksParent parent;
	uint8_t parent_fingerprint[TCS_FINGERPRINT_SIZE];
	uint8_t *key_blob;
	size_t key_blob_len;
	uint8_t *bound;
	size_t bound_len;
	bool pin;
	uint32_t pcr_mask; /* bit n: PCR n; 0 = not bound to PCRs */
} TcsLuksToken;

void tcs_luks_token_clear(TcsLuksToken *t);

/*
 * Parse a token's JSON (len bytes, need not be NUL-terminated). 0, or
 * -EINVAL with a reason in err (never NULL-terminated beyond errlen).
 */
int tcs_luks_token_parse(const char *json, size_t len, TcsLuksToken *ret, char *err,
			 size_t errlen);
/* The token's JSON, malloc'd, or NULL (out of memory / invalid fields). */
char *tcs_luks_token_format(const TcsLuksToken *t);

/* "rk" / "sk" */
const char *tcs_luks_parent_name(TcsLuksParent p);
/* "0,7,23" into mask; -EINVAL on anything else (empty, out of range, repeats). */
int tcs_luks_parse_pcr_list(const char *s, uint32_t *mask);
/* mask as "0,7,23" into buf ("" for 0). */
void tcs_luks_format_pcr_list(uint32_t mask, char *buf, size_t size);

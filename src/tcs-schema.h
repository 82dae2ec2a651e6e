/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The interpreter of the ordinal table's schemas (see tcs-ordinal.h):
 * TCSD request -> TPM command, and TPM reply -> TCSD reply. Pure functions;
 * the daemon supplies the TCS->TPM key handle translation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tcs-buf.h"
#include "tcs-ordinal.h"
#include "tcs-packet.h"

#define TCS_SCHEMA_MAX_AUTH 2
#define TCS_TPM_MAX_COMMAND 4096u

typedef struct {
	uint32_t context;                      /* the 'x' parameter */
	unsigned n_auth_slots;                 /* authorisations the schema declares */
	bool auth_present[TCS_SCHEMA_MAX_AUTH];
	TcsAuthIn auth[TCS_SCHEMA_MAX_AUTH];
	unsigned n_auth;                       /* present ones = trailers in the TPM command */
	unsigned n_keys;
	uint32_t tcs_keys[4];                  /* TCS key handles, in order */
} TcsSchemaRequest;

/* Return the TPM handle for a TCS key handle, or a TSS result (non-zero) to refuse. */
typedef uint32_t (*TcsKeyTranslateFunc)(uint32_t tcs_handle, uint32_t *tpm_handle, void *user_data);

/*
 * Parse a TCSD request by the row's schema and build the TPM command.
 * Returns 0 or a TSS result (TCS layer) to send back as a bare error reply.
 * translate may be NULL to only parse (then key handles go through unchanged).
 */
uint32_t tcs_schema_build_command(const TcsOrdinal *o, TcsPacketReader *req,
				  TcsKeyTranslateFunc translate, void *user_data,
				  TcsSchemaRequest *st, TcsWbuf *tpm_cmd);

/* First pass only: the context handle of a request (the 'x'), for early checks. */
uint32_t tcs_schema_peek_context(TcsPacketReader *req, uint32_t *context);

/*
 * Convert a successful TPM reply into the TCSD reply parameters.
 * Returns 0 or a TSS result when the TPM reply does not match the schema.
 */
uint32_t tcs_schema_build_reply(const TcsOrdinal *o, const TcsSchemaRequest *st,
				const uint8_t *tpm_reply, size_t len, TcsPacketWriter *w);

/* Replace the handle of the i-th authorisation trailer present in a built TPM command. */
void tcs_schema_set_trailer_handle(TcsWbuf *tpm_cmd, const TcsSchemaRequest *st, unsigned i,
				   uint32_t handle);

/* TPM reply header helpers: return code, or TCS_ERR(TSS_E_INTERNAL_ERROR) if malformed. */
uint32_t tcs_tpm_reply_code(const uint8_t *rsp, size_t len);
/* Start a TPM command: tag, size placeholder, ordinal. */
void tcs_tpm_command_begin(TcsWbuf *w, uint16_t tag, uint32_t ordinal);
/* Patch the size field once the body is written. */
void tcs_tpm_command_end(TcsWbuf *w);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by the TSS client's files: the connection and one request/reply exchange. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcs-auth.h"
#include "tcs-buf.h"
#include "tcs-client.h"
#include "tcs-packet.h"

/* TCSD ordinals of table-driven rows, which tcs-ordinal.h does not name. */
enum {
	ORD_SEAL = 36,
	ORD_CREATEMIGRATIONBLOB = 39,
	ORD_AUTHORIZEMIGRATIONKEY = 41,
	ORD_READPUBEK = 50,
	ORD_OWNERSETDISABLE = 57,
	ORD_PHYSICALDISABLE = 62,
	ORD_PHYSICALENABLE = 63,
	ORD_PHYSICALSETDEACTIVATED = 64,
	ORD_OWNERREADINTERNALPUB = 100,
	ORD_UNSEAL = 37,
	ORD_UNBIND = 38,
	ORD_SIGN = 43,
	ORD_GETRANDOM = 44,
	ORD_GETCAPABILITY = 46,
	ORD_RESETLOCKVALUE = 77,
};

/* Retries of LoadKeyByUUID: one per level of the key hierarchy that needs auth. */
#define LOAD_BY_UUID_MAX_ROUNDS 16
/* Bytes asked of TPM_GetRandom per request. */
#define GET_RANDOM_CHUNK 4096u
/* How long tcs_client_free() waits for CloseContext. */
#define CLOSE_TIMEOUT_MS 5000

struct TcsClient {
	int fd;
	/* in-process transport instead of fd (tcs_client_new_exchange) */
	TcsClientExchange exchange;
	void *exchange_data;
	int timeout_ms;
	bool have_context;
	uint32_t context;
	uint32_t tpm_version;
};

typedef struct {
	uint8_t *buf;
	size_t len;
	TcsPacketReader r;
} Reply;

int tcsc_call(TcsClient *c, uint32_t ordinal, const TcsPacketWriter *w, Reply *ret);
int tcsc_call_ok(TcsClient *c, uint32_t ordinal, const TcsPacketWriter *w, Reply *ret);
int tcsc_start(TcsClient *c, TcsPacketWriter *w);
int tcsc_copy_out(const uint8_t *p, size_t len, uint8_t **ret, size_t *ret_len);
int tcsc_get_blob_dup(TcsPacketReader *r, uint8_t **ret, size_t *ret_len);
bool tcsc_size_ok(size_t len);
int tcsc_digest_done(TcsWbuf *w, uint8_t out[TCS_DIGEST_SIZE]);
int tcsc_oiap_authorise(TcsClient *c, const uint8_t secret[TCS_SECRET_SIZE], const uint8_t in_digest[TCS_DIGEST_SIZE], TcsAuthSession *s, TcsAuthIn *ret);
int tcsc_check_reply(TcsAuthSession *s, TcsPacketReader *r, uint32_t tpm_ordinal, const void *out, size_t out_len);
void tcsc_reply_free(Reply *rep);
void tcsc_writer_clear(TcsPacketWriter *w);
void tcsc_wbuf_free_secure(TcsWbuf *w);
/* Digest d (the request's parameters), authorise it with a new OIAP session, append the AUTH. */
int tcsc_authorise_request(TcsClient *c, const uint8_t secret[TCS_SECRET_SIZE], TcsWbuf *d,
			   TcsAuthSession *s, TcsPacketWriter *w);
/* Restart d as a reply digest: TPM_SUCCESS, ordinal, then the caller adds the outputs. */
void tcsc_reply_digest_begin(TcsWbuf *d, uint32_t tpm_ordinal);
/* OSAP on an entity and the command's odd nonce; the session is ended on failure. */
int tcsc_osap_begin(TcsClient *c, uint16_t entity_type, uint32_t entity_value,
		    const uint8_t entity_secret[TCS_SECRET_SIZE], TcsAuthSession *s);
/*
 * Authorise the parameters digested in d with s (continueAuthSession false).
 * rc is the result of the steps so far (ADIP, digest building): on any
 * failure, then or here, the session is ended and the error returned.
 */
int tcsc_session_authorise(TcsClient *c, TcsAuthSession *s, int rc, TcsWbuf *d, TcsAuthIn *ret);
/* Send w; the reply is one AUTH over one blob, checked against s; a copy in *ret (optional). */
int tcsc_call_auth_blob(TcsClient *c, uint32_t tcsd_ordinal, uint32_t tpm_ordinal,
			const TcsPacketWriter *w, TcsAuthSession *s, uint32_t max, uint8_t **ret,
			size_t *ret_len);
/* Digest d and check the reply's AUTH against the session. */
int tcsc_verify_reply(TcsAuthSession *s, TcsWbuf *d, const TcsAuthOut *a);

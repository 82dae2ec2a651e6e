/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TCSD packet codec: the TrouSerS TSP<->TCS wire format.
 *
 * A packet is a 28-byte header of seven big-endian UINT32 (packet_size,
 * ordinal/result, num_parms, type_size, type_offset, parm_size, parm_offset),
 * one type byte per parameter at type_offset, and the parameters back to back
 * at parm_offset. Parameters are read sequentially; a parameter whose type
 * byte does not match, or that lies beyond num_parms, is "absent" (-ENOMSG):
 * that is how optional parameters are signalled on this protocol.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcs-buf.h"
#include "tcs-types.h"

/* Limits: libtspi never builds a request above 4 KiB; we accept up to the
 * configured maximum (default 64 KiB) and never more than these. */
#define TCSD_MAX_PACKET_SIZE (1u * 1024 * 1024)
#define TCSD_MAX_PARMS 64u
/* Replies may be longer: event logs send one parameter per event. */
#define TCSD_MAX_REPLY_PARMS 4096u

typedef struct {
	uint32_t packet_size;
	uint32_t code; /* ordinal in requests, TSS result in replies */
	uint32_t num_parms;
	uint32_t type_size;
	uint32_t type_offset;
	uint32_t parm_size;
	uint32_t parm_offset;
} TcsPacketHeader;

typedef struct {
	uint32_t handle;
	uint8_t nonce_odd[20];
	uint8_t cont;
	uint8_t hmac[20];
} TcsAuthIn;

typedef struct {
	uint8_t nonce_even[20];
	uint8_t cont;
	uint8_t hmac[20];
} TcsAuthOut;

typedef struct {
	uint8_t major, minor, rev_major, rev_minor;
} TcsVersion;

typedef struct {
	TcsUuid key;
	TcsUuid parent;
	uint8_t param_digest[20];
	TcsAuthIn auth; /* handle, nonceOdd, (nonceEven below), continue, HMAC */
	uint8_t nonce_even[20];
} TcsLoadKeyInfo;

typedef struct {
	TcsVersion version;
	TcsUuid key;
	TcsUuid parent;
	uint8_t auth_data_usage;
	uint32_t ps_type;        /* KM_KEYINFO2 only */
	uint32_t ps_type_parent; /* KM_KEYINFO2 only */
	bool loaded;
	const uint8_t *vendor;
	uint32_t vendor_len;
} TcsKmKeyInfo;

typedef struct {
	TcsVersion version;
	uint32_t pcr_index;
	uint32_t event_type;
	const uint8_t *pcr_value;
	uint32_t pcr_value_len;
	const uint8_t *event;
	uint32_t event_len;
} TcsPcrEvent;

typedef struct {
	uint16_t tag;
	uint8_t label[4];
	uint32_t counter;
} TcsCounterValue;

/* ---- header ---- */
void tcs_packet_header_read(const uint8_t hdr[TCSD_HEADER_SIZE], TcsPacketHeader *ret);
/* Validate a header alone (before receiving the body): size within [28, max]. */
int tcs_packet_header_check(const TcsPacketHeader *h, uint32_t max_size);

/* ---- reader ---- */
typedef struct {
	TcsPacketHeader hdr;
	const uint8_t *types;
	TcsRbuf parms;
	uint32_t index;
} TcsPacketReader;

/* Validate a whole packet (header + body, len == packet_size) and set up a reader. */
int tcs_packet_reader_init(TcsPacketReader *r, const uint8_t *buf, size_t len);
/* The same for a reply, which may carry up to TCSD_MAX_REPLY_PARMS parameters. */
int tcs_packet_reader_init_reply(TcsPacketReader *r, const uint8_t *buf, size_t len);
/* Type of the next parameter, or -1 when there is none. */
int tcs_packet_peek_type(const TcsPacketReader *r);
/* All getters: 0, -ENOMSG (absent/other type; nothing consumed), -EBADMSG (short data). */
int tcs_packet_get_u8(TcsPacketReader *r, uint8_t *v);
int tcs_packet_get_bool(TcsPacketReader *r, bool *v);
int tcs_packet_get_u16(TcsPacketReader *r, uint16_t *v);
int tcs_packet_get_u32(TcsPacketReader *r, uint32_t *v);
int tcs_packet_get_u64(TcsPacketReader *r, uint64_t *v);
/* NONCE, DIGEST, ENCAUTH, SECRET: 20 raw bytes of the given type. */
int tcs_packet_get_20(TcsPacketReader *r, uint8_t type, uint8_t out[20]);
/* PBYTE of len bytes, borrowed from the packet. len 0 consumes a PBYTE slot if one is there. */
int tcs_packet_get_pbyte(TcsPacketReader *r, uint32_t len, const uint8_t **p);
/* UINT32 length followed by PBYTE (the protocol's only way to send blobs). */
int tcs_packet_get_blob(TcsPacketReader *r, uint32_t max, const uint8_t **p, uint32_t *len);
int tcs_packet_get_uuid(TcsPacketReader *r, TcsUuid *u);
int tcs_packet_get_version(TcsPacketReader *r, TcsVersion *v);
int tcs_packet_get_auth_in(TcsPacketReader *r, TcsAuthIn *a);
int tcs_packet_get_auth_out(TcsPacketReader *r, TcsAuthOut *a);
int tcs_packet_get_loadkey_info(TcsPacketReader *r, TcsLoadKeyInfo *info);
int tcs_packet_get_km_keyinfo(TcsPacketReader *r, bool v2, TcsKmKeyInfo *info);
int tcs_packet_get_pcr_event(TcsPacketReader *r, TcsPcrEvent *ev);
int tcs_packet_get_counter_value(TcsPacketReader *r, TcsCounterValue *cv);
/* True when every parameter was consumed. */
bool tcs_packet_reader_done(const TcsPacketReader *r);

/* ---- writer ---- */
typedef struct {
	uint8_t types[TCSD_MAX_REPLY_PARMS];
	uint32_t n;
	TcsWbuf parms;
	bool error;
} TcsPacketWriter;

void tcs_packet_writer_init(TcsPacketWriter *w);
void tcs_packet_writer_clear(TcsPacketWriter *w);
void tcs_packet_put_u8(TcsPacketWriter *w, uint8_t v);
void tcs_packet_put_bool(TcsPacketWriter *w, bool v);
void tcs_packet_put_u16(TcsPacketWriter *w, uint16_t v);
void tcs_packet_put_u32(TcsPacketWriter *w, uint32_t v);
void tcs_packet_put_u64(TcsPacketWriter *w, uint64_t v);
void tcs_packet_put_20(TcsPacketWriter *w, uint8_t type, const uint8_t v[20]);
void tcs_packet_put_pbyte(TcsPacketWriter *w, const void *p, uint32_t len);
/* UINT32 length + PBYTE. */
void tcs_packet_put_blob(TcsPacketWriter *w, const void *p, uint32_t len);
void tcs_packet_put_uuid(TcsPacketWriter *w, const TcsUuid *u);
void tcs_packet_put_version(TcsPacketWriter *w, const TcsVersion *v);
void tcs_packet_put_auth_in(TcsPacketWriter *w, const TcsAuthIn *a);
void tcs_packet_put_auth_out(TcsPacketWriter *w, const TcsAuthOut *a);
void tcs_packet_put_loadkey_info(TcsPacketWriter *w, const TcsLoadKeyInfo *info);
void tcs_packet_put_km_keyinfo(TcsPacketWriter *w, bool v2, const TcsKmKeyInfo *info);
void tcs_packet_put_pcr_event(TcsPacketWriter *w, const TcsPcrEvent *ev);
void tcs_packet_put_counter_value(TcsPacketWriter *w, const TcsCounterValue *cv);
/* Serialise: header + types + parameters. Returns a malloc'ed buffer. */
int tcs_packet_writer_finish(TcsPacketWriter *w, uint32_t code, uint8_t **ret, size_t *ret_len);
/* The bare 28-byte error reply TrouSerS sends for any failure. */
void tcs_packet_error_reply(uint32_t result, uint8_t out[TCSD_HEADER_SIZE]);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TCSD ordinal table: one declarative row per TCS function.
 *
 * Most TCS functions are a TPM command with the TCS handles translated. Such
 * rows carry a TPM ordinal and two schemas, and one interpreter in the daemon
 * runs them all; rows without a TPM ordinal name a hand-written handler.
 *
 * Request schema (TCSD parameters in wire order -> TPM command body):
 *   x context handle (UINT32), checked, not sent     k TCS key handle -> TPM key handle
 *   u UINT32 -> u32    w UINT16 -> u16    y BYTE -> u8    b BOOL -> u8    U UINT64 -> u64
 *   m UINT16 migration scheme: TSS_MS_* (0x20..0x24) -> TPM_MS_* (1..5), others as is
 *   n NONCE  d DIGEST  e ENCAUTH  s SECRET -> 20 bytes
 *   L UINT32 + PBYTE -> u32 size + bytes      R UINT32 + PBYTE -> bytes only (a TPM structure)
 *   4 UINT32 + PBYTE of exactly 4 bytes (a counter label) -> the 4 bytes
 *   M PBYTE of 60 bytes, no size (TPM_CMK_AUTH) -> the 60 bytes
 *   >X parameter X goes to the TPM after the next parameter that is not held
 *      (where TCSD and TPM orders differ: CreateCounter, CMK_CreateKey)
 *   A AUTH (required)  a AUTH (optional: absent = none)  z AUTH (all zeros = none);
 *     "aA" with one AUTH sent: that one is the required one (as TrouSerS reads it)
 *     -> the TPM authorisation trailers, in order; the tag counts them.
 *
 * TPM reply schema (fields after the return code, in TPM order):
 *   u u32  w u16  b BOOL  n nonce  d digest  V TPM_VERSION  c TPM_COUNTER_VALUE  U u64
 *   L u32 size + bytes   l same, empty PBYTE left out on the TCSD side
 *   Q TPM_COUNTER_VALUE as a structure   O u32 byte size + ordinals -> UINT32 count + PBYTE
 *   K TPM_KEY   P TPM_PUBKEY   C TPM_PCR_COMPOSITE   S TPM_STORED_DATA   T TPM_CURRENT_TICKS
 *   I TPM_PCR_INFO_SHORT   F TPM_CERTIFY_INFO   r the rest   (structures go out as UINT32 + PBYTE)
 *
 * TCSD reply order: 'A' the next request authorisation's trailer (left out if that
 * authorisation was absent), 'Z' the same but an all-zero AUTH when absent,
 * '0'..'9' the TPM reply field with that index. NULL = all trailers, then all fields.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum {
	TCSD_ORD_ERROR = 0,
	TCSD_ORD_OPENCONTEXT = 1,
	TCSD_ORD_CLOSECONTEXT = 2,
	TCSD_ORD_FREEMEMORY = 3,
	TCSD_ORD_TCSGETCAPABILITY = 4,
	TCSD_ORD_REGISTERKEY = 5,
	TCSD_ORD_UNREGISTERKEY = 6,
	TCSD_ORD_ENUMREGISTEREDKEYS = 7,
	TCSD_ORD_GETREGISTEREDKEY = 8,
	TCSD_ORD_GETREGISTEREDKEYBLOB = 9,
	TCSD_ORD_GETREGISTEREDKEYBYPUBLICINFO = 10,
	TCSD_ORD_LOADKEYBYBLOB = 11,
	TCSD_ORD_LOADKEYBYUUID = 12,
	TCSD_ORD_EVICTKEY = 13,
	TCSD_ORD_CREATEWRAPKEY = 14,
	TCSD_ORD_GETPUBKEY = 15,
	TCSD_ORD_MAKEIDENTITY = 16,
	TCSD_ORD_LOGPCREVENT = 17,
	TCSD_ORD_GETPCREVENT = 18,
	TCSD_ORD_GETPCREVENTBYPCR = 19,
	TCSD_ORD_GETPCREVENTLOG = 20,
	TCSD_ORD_SETOWNERINSTALL = 21,
	TCSD_ORD_TAKEOWNERSHIP = 22,
	TCSD_ORD_OIAP = 23,
	TCSD_ORD_OSAP = 24,
	TCSD_ORD_CHANGEAUTH = 25,
	TCSD_ORD_CHANGEAUTHOWNER = 26,
	TCSD_ORD_TERMINATEHANDLE = 29,
	TCSD_ORD_ACTIVATETPMIDENTITY = 30,
	TCSD_ORD_OWNERCLEAR = 58,
	TCSD_ORD_FORCECLEAR = 60,
	TCSD_ORD_PHYSICALPRESENCE = 66,
	TCSD_ORD_GETCREDENTIAL = 86,
	TCSD_ORD_ENUMREGISTEREDKEYS2 = 101,
	TCSD_ORD_SETTEMPDEACTIVATED2 = 102,
	TCSD_ORD_FLUSHSPECIFIC = 120,
	TCSD_ORD_DSAP = 122,
	TCSD_ORD_LAST = 123,
};

enum {
	TCS_ORD_STUB = 1 << 0,   /* never sent by libtspi; answers TSS_E_FAIL like TrouSerS */
	TCS_ORD_OWNER = 1 << 1,  /* ownership class: restricted to allowed local users */
	TCS_ORD_CUSTOM = 1 << 2, /* a hand-written handler in the daemon */
};

typedef struct {
	uint32_t ordinal;
	const char *name;
	uint32_t flags;
	uint32_t tpm_ordinal;
	const char *in;      /* request schema */
	const char *tpm_out; /* TPM reply schema */
	const char *out;     /* TCSD reply order, NULL = trailers then fields */
} TcsOrdinal;

/* The row for a TCSD ordinal, or NULL when out of range (0 or >= 123). */
const TcsOrdinal *tcs_ordinal_lookup(uint32_t ordinal);
/* Name without the TCSD_ORD_ prefix, or NULL. */
const char *tcs_ordinal_name(uint32_t ordinal);
/* Validate a row's schemas (used by the unit tests for every row). */
bool tcs_ordinal_schema_valid(const TcsOrdinal *o);

/*
 * A TPM ordinal's handle layout (TPM 1.2 Part 3): the handles that precede its
 * parameters, which the TPM (libtpms) locates by the ordinal, never by what a
 * client says. One letter per input handle:
 *   k a key   a an authorisation session   r typed by the resourceType parameter
 *     that follows it (FlushSpecific)
 * The rows of the TCSD functions with a schema derive it from their leading 'k's;
 * the hand-written ones (OIAP, LoadKey2, FlushSpecific, ...) are listed in
 * tcs-ordinal.c. OSAP's and DSAP's entity value is a parameter here.
 */
typedef struct {
	uint32_t tcsd_ordinal; /* a TCSD function that sends this TPM ordinal */
	const char *handles;   /* input handles, "" for none */
	unsigned out_handles;  /* handles ahead of the reply's parameters */
} TcsTpmHandles;

/* The layout of a TPM ordinal some TCSD function sends; false for any other ordinal. */
bool tcs_tpm_ordinal_handles(uint32_t tpm_ordinal, TcsTpmHandles *ret);
/*
 * The TCSD functions that send tpm_ordinal, one per call: start with *cursor = 0;
 * returns NULL when done. Stubs are left out.
 */
const TcsOrdinal *tcs_ordinal_next_for_tpm(uint32_t tpm_ordinal, uint32_t *cursor);
/* Whether a TPM_GetCapability area lists or probes TPM handles (HANDLE, KEY_HANDLE, KEY_STATUS). */
bool tcs_capability_names_handles(uint32_t area);

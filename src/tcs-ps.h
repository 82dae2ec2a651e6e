/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The system persistent storage file (system.data), byte-compatible with
 * TrouSerS 0.3.x "version 1" files:
 *
 *   u8 version (1) | LE32 number of records | records back to back
 *   record: UUID, parent UUID (raw x86 TSS_UUID: little-endian fields),
 *           LE16 pub size, LE16 blob size, LE32 vendor size, LE16 flags,
 *           pub data (the key's modulus), key blob, vendor data
 *
 * The whole file is read into memory and rewritten atomically on every
 * change, instead of TrouSerS' in-place edits that a crash could tear.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcs-common.h"
#include "tcs-types.h"

#define TCS_PS_VERSION 1u
#define TCS_PS_FLAG_VALID 0x0001u
#define TCS_PS_FLAG_PARENT_PS_SYSTEM 0x0002u /* clear: the parent lives in a user PS */

#define TCS_PS_MAX_KEYS 4096u
#define TCS_PS_MAX_PUB 65535u  /* LE16 on disk */
#define TCS_PS_MAX_BLOB 65535u /* LE16 on disk */
#define TCS_PS_MAX_VENDOR (64u * 1024)
#define TCS_PS_MAX_FILE_SIZE (16u * 1024 * 1024)

typedef struct {
	TcsUuid uuid;
	TcsUuid parent_uuid;
	uint16_t flags; /* as on disk, unknown bits kept */
	uint8_t *pub;   /* owned; NULL when the length is 0 */
	size_t pub_len;
	uint8_t *blob; /* owned: the registered TPM_KEY / TPM_KEY12 */
	size_t blob_len;
	uint8_t *vendor; /* owned */
	size_t vendor_len;
} TcsPsKey;

/* In file order, which TrouSerS and this code keep (new keys are appended). */
typedef struct {
	TcsPsKey *keys;
	size_t n_keys;
} TcsPs;

/*
 * An empty buffer is an empty store. Records without the VALID flag (holes
 * left by TrouSerS versions that did not compact) and repeated UUIDs after
 * the first are dropped. Bytes after the last record are ignored, as
 * TrouSerS does. -EBADMSG for anything malformed or over the limits.
 */
int tcs_ps_parse(const uint8_t *data, size_t len, TcsPs *ret);
/* -EINVAL for sizes the format cannot hold, -E2BIG beyond TCS_PS_MAX_FILE_SIZE. */
int tcs_ps_serialize(const TcsPs *ps, uint8_t **ret, size_t *ret_len);

/* A missing or empty file is an empty store; symlinks are refused (-ELOOP), as is a non-regular file. */
int tcs_ps_load_file(const char *path, TcsPs *ret);
/*
 * Atomic replace: private temp file (0600) in the same directory, fsync,
 * rename, fsync the directory. An error from the last step means the new
 * content is in place but may not survive a crash yet.
 */
int tcs_ps_save_file(const char *path, const TcsPs *ps);

/* The returned pointers are valid until the next tcs_ps_add/remove/clear. */
const TcsPsKey *tcs_ps_find(const TcsPs *ps, const TcsUuid *uuid);
/* Match on the stored pub data (the modulus). */
const TcsPsKey *tcs_ps_find_by_pubkey(const TcsPs *ps, const uint8_t *modulus, size_t len);

/*
 * Append a registration. The blob must be exactly one TPM_KEY/TPM_KEY12
 * (-EBADMSG otherwise); its modulus becomes the pub data, except for the SRK
 * whose pub data is zeroed like TrouSerS does (the blob is kept as given).
 * -EEXIST for a registered UUID, -ENOSPC beyond TCS_PS_MAX_KEYS, -E2BIG for
 * oversized vendor data.
 */
int tcs_ps_add(TcsPs *ps, const TcsUuid *uuid, const TcsUuid *parent, bool parent_in_system_ps,
	       const uint8_t *blob, size_t blob_len, const uint8_t *vendor, size_t vendor_len);
/* -ENOENT when not registered. The order of the others is kept. */
int tcs_ps_remove(TcsPs *ps, const TcsUuid *uuid);
/* Free everything; leaves an empty store. Usable as _cleanup_(tcs_ps_clear). */
void tcs_ps_clear(TcsPs *ps);
#define _cleanup_ps_ _cleanup_(tcs_ps_clear)

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The key cache: TCS key handles are virtual. A key may be in a TPM slot or
 * swapped out (its context saved with TPM_SaveContext); using it brings it
 * back. When the TPM is full the least recently used key makes room.
 */
#pragma once

#include <glib.h>

#include "tcs-packet.h"
#include "tcs-types.h"
#include "tcsd-tpm.h"

typedef struct _TcsdKeyCache TcsdKeyCache;

TcsdKeyCache *tcsd_keys_new(TcsdTpm *tpm);
void tcsd_keys_free(TcsdKeyCache *c);
/*
 * TPM_LoadKey2 of a key blob under a loaded parent (TCS handle). auth may be
 * NULL; auth_out receives the reply trailer when auth was given. On success
 * the new TCS handle has one reference.
 */
guint32 tcsd_keys_load(TcsdKeyCache *c, guint32 parent, const guint8 *blob, gsize len,
		       const TcsAuthIn *auth, TcsAuthOut *auth_out, guint32 *ret_handle);
/* Make a key slot free for a key a wrapped (transport) command will load. */
guint32 tcsd_keys_reserve(TcsdKeyCache *c);
/* Record a key the TPM loaded inside a transport; one reference, returns its TCS handle. */
guint32 tcsd_keys_adopt(TcsdKeyCache *c, guint32 parent, guint32 tpm_handle);
guint tcsd_keys_refs(TcsdKeyCache *c, guint32 tcs_handle);
/* The TPM already flushed the key (inside a transport): forget it without a flush. */
void tcsd_keys_forget_flushed(TcsdKeyCache *c, guint32 tcs_handle);
/* Make sure the key is in a TPM slot and return that slot's handle; pins it until unpin_all. */
guint32 tcsd_keys_translate(TcsdKeyCache *c, guint32 tcs_handle, guint32 *tpm_handle);
void tcsd_keys_unpin_all(TcsdKeyCache *c);
gboolean tcsd_keys_exists(TcsdKeyCache *c, guint32 tcs_handle);
void tcsd_keys_ref(TcsdKeyCache *c, guint32 tcs_handle);
/* Drop a reference; the last one flushes the key from the TPM. */
void tcsd_keys_unref(TcsdKeyCache *c, guint32 tcs_handle);
/* The blob a key was loaded from (borrowed), for PS lookups. */
const guint8 *tcs_keys_blob(TcsdKeyCache *c, guint32 tcs_handle, gsize *len);
/* Reserved TPM handles (SRK, owner, EK, …) pass through untranslated. */
gboolean tcsd_keys_is_reserved(guint32 handle);
guint tcsd_keys_count(TcsdKeyCache *c);
guint tcsd_keys_count_loaded(TcsdKeyCache *c);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Authorisation sessions (OIAP, OSAP, DSAP) with virtual handles. A TPM 1.2
 * holds few sessions (16 on swtpm); when it is full, the least recently used
 * session not needed by the current command is saved with TPM_SaveContext
 * and comes back with TPM_LoadContext the next time its client uses it. The
 * client's handle never changes.
 */
#pragma once

#include <glib.h>

#include "tcs-buf.h"
#include "tcsd-keys.h"
#include "tcsd-tpm.h"

typedef struct _TcsdSessions TcsdSessions;

TcsdSessions *tcsd_sessions_new(TcsdTpm *tpm, TcsdKeyCache *keys);
void tcsd_sessions_free(TcsdSessions *s);
/* What an OSAP/DSAP session is bound to: the TPM checks it when the session is reloaded. */
typedef struct {
	gboolean is_key;   /* value is a TCS key handle, translated at reload time */
	guint32 value;     /* key handle, NV index, counter id, … */
} TcsdSessionEntity;

/*
 * Send a complete session-opening command (OIAP/OSAP/DSAP), making room in
 * the TPM if it is full. On success the reply is in the TPM's buffer and
 * *virt is the handle to give the client in place of the TPM's.
 */
guint32 tcsd_sessions_open(TcsdSessions *s, TcsWbuf *cmd, const TcsdSessionEntity *entity,
			   guint32 *virt);
/* Make a session slot free for a session a wrapped (transport) command will open. */
guint32 tcsd_sessions_reserve(TcsdSessions *s);
/* Record a session the TPM opened inside a transport; returns the client's handle. */
guint32 tcsd_sessions_adopt(TcsdSessions *s, guint32 tpm_handle, const TcsdSessionEntity *entity);
/*
 * Transport sessions share the handle space and close() (flushed as TPM_RT_TRANS)
 * but are never swapped out, and translate() refuses them as authorisations.
 */
guint32 tcsd_sessions_add_transport(TcsdSessions *s, guint32 tpm_handle, guint32 attributes);
gboolean tcsd_sessions_transport(TcsdSessions *s, guint32 virt, guint32 *tpm_handle,
				 guint32 *attributes);
/* Whether any transport session has this TPM_TRANSPORT_* attribute (e.g. exclusive). */
gboolean tcsd_sessions_has_transport_with(TcsdSessions *s, guint32 attribute);
/* The TPM handle behind a client's handle, loading the session if saved; pinned until unpin_all. */
guint32 tcsd_sessions_translate(TcsdSessions *s, guint32 virt, guint32 *tpm_handle);
void tcsd_sessions_unpin_all(TcsdSessions *s);
/* The TPM ended the session (continueAuthSession FALSE or a failed command). */
void tcsd_sessions_forget(TcsdSessions *s, guint32 virt);
/* The client is done with it: flush it from the TPM (or drop its saved context). */
void tcsd_sessions_close(TcsdSessions *s, guint32 virt);
guint tcsd_sessions_count(TcsdSessions *s);
/* How many auth sessions the TPM can hold at once, loaded or saved (0 if it cannot say). */
guint tcsd_sessions_holdable(TcsdSessions *s);

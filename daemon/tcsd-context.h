/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TCS contexts: what one client owns (keys, auth sessions), bound to its connection. */
#pragma once

#include <glib.h>

#include "tcsd-daemon.h"

typedef struct {
	guint32 handle;
	guint64 conn_id;
	TcsdPeerUsage *usage; /* the peer's, for the per-peer quotas */
	GArray *keys;  /* guint32 TCS key handles this context loaded (one entry per load) */
	GArray *auths; /* guint32 TPM auth session handles this context opened */
} TcsdContext;

void tcsd_contexts_init(TcsdDaemon *d);
void tcsd_contexts_fini(TcsdDaemon *d);
/* A new context for the peer's connection, or NULL when it or the peer has too many. */
TcsdContext *tcsd_context_open(TcsdDaemon *d, const TcsdPeer *peer);
/* The context with this handle if it belongs to conn_id, else NULL. */
TcsdContext *tcsd_context_lookup(TcsdDaemon *d, guint32 handle, guint64 conn_id);
/* Release every key and session of the context and forget it. */
void tcsd_context_close(TcsdDaemon *d, TcsdContext *ctx);
void tcsd_context_close_connection(TcsdDaemon *d, guint64 conn_id);
gboolean tcsd_context_has_key(const TcsdContext *ctx, guint32 tcs_handle);
void tcsd_context_add_key(TcsdContext *ctx, guint32 tcs_handle);
/* Drop one reference of the key from the context; FALSE if it had none. */
gboolean tcsd_context_remove_key(TcsdContext *ctx, guint32 tcs_handle);
/* 0 when the context may hold one more session (per context and per peer), else 0x2005. */
guint32 tcsd_context_may_add_auth(TcsdDaemon *d, const TcsdContext *ctx, const char *who);
/* 0 when the context may load one more key, else 0x2005. */
guint32 tcsd_context_may_add_key(TcsdDaemon *d, const TcsdContext *ctx, const char *who);
/* The peer's usage record (created on first need). */
TcsdPeerUsage *tcsd_peer_usage(TcsdDaemon *d, const TcsdPeer *peer);
void tcsd_context_add_auth(TcsdContext *ctx, guint32 auth_handle);
gboolean tcsd_context_has_auth(const TcsdContext *ctx, guint32 auth_handle);
void tcsd_context_remove_auth(TcsdContext *ctx, guint32 auth_handle);

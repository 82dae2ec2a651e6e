/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's shared state.
 *
 * Two threads: the main thread owns sockets and connections; the TPM worker
 * owns the TPM and every piece of TCS state (contexts, keys, sessions,
 * persistent storage). They only meet through the worker's job queue and
 * the replies it posts back to the main context, so nothing here is locked.
 */
#pragma once

#include <glib.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "tcs-ps.h"
#include "tcsd-config.h"

typedef struct _TcsdDaemon TcsdDaemon;
typedef struct _TcsdKeyCache TcsdKeyCache;
typedef struct _TcsdSessions TcsdSessions;
typedef struct _TcsdTpm TcsdTpm;
typedef struct _TcsdEventLog TcsdEventLog;
typedef struct _TcsdPsOwners TcsdPsOwners;

/* Who is on the other end of a TCP connection (resolved at accept time). */
typedef struct {
	guint64 id;       /* connection id, never reused */
	gboolean local;   /* loopback peer */
	gboolean uid_known; /* never guessed: unknown is refused owner operations */
	gboolean internal; /* tcsd's own management plane: authorised by polkit already */
	uid_t uid;        /* loopback peers: from the kernel's socket diagnostics, at accept */
	char addr[64];    /* for log messages */
	char quota_key[64]; /* whom per-peer quotas count: "uid N", "uid ?", "addr HOST" */
} TcsdPeer;

/* What one peer (quota_key) holds, for the per-peer quotas (worker thread). */
typedef struct {
	char *key;
	gboolean exempt; /* owner_users and the management plane */
	guint contexts, sessions, keys, events;
} TcsdPeerUsage;

struct _TcsdDaemon {
	TcsdConfig *config;
	GMainContext *main_context;
	/* worker-thread state */
	TcsdTpm *tpm;
	GHashTable *contexts;       /* context handle -> TcsdContext */
	GHashTable *conn_contexts;  /* connection id -> GPtrArray of TcsdContext (borrowed) */
	TcsdKeyCache *keys;
	TcsdSessions *sessions;     /* auth sessions, virtual handles */
	GHashTable *uuid_keys;      /* UUID text -> TCS handle of keys loaded by UUID */
	TcsdEventLog *evlog;
	GHashTable *peer_usage;     /* quota key -> TcsdPeerUsage */
	TcsPs ps;
	char *ps_path;
	TcsdPsOwners *ps_owners;    /* who registered what, and the recorded RK */
	guint8 tpm_version_minor;   /* reported by OpenContext */
	gpointer manager;           /* TcsdManager, when org.tcs.Manager is served */
};

/* Entry points of the worker: one request in, one reply out (malloc'ed). */
guint8 *tcsd_dispatch_request(TcsdDaemon *d, TcsdPeer *peer, const guint8 *req, gsize len,
			      gsize *reply_len);
/* A connection went away: release everything it owned. */
void tcsd_dispatch_disconnect(TcsdDaemon *d, guint64 conn_id);

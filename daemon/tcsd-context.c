/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-random.h"
#include "tcsd-context.h"

#include "tcs-types.h"
#include "tcsd-keys.h"
#include "tcsd-peer.h"
#include "tcsd-sessions.h"
#include "tcsd-tpm.h"

static void
usage_free(TcsdPeerUsage *u)
{
	g_free(u->key);
	g_free(u);
}

TcsdPeerUsage *
tcsd_peer_usage(TcsdDaemon *d, const TcsdPeer *peer)
{
	TcsdPeerUsage *u = g_hash_table_lookup(d->peer_usage, peer->quota_key);

	if (!u) {
		u = g_new0(TcsdPeerUsage, 1);
		u->key = g_strdup(peer->quota_key);
		u->exempt = tcsd_peer_is_owner(peer, d->config);
		g_hash_table_insert(d->peer_usage, u->key, u);
	}
	return u;
}

/* A peer that holds nothing any more is forgotten (remote addresses come and go). */
static void
usage_release(TcsdDaemon *d, TcsdPeerUsage *u)
{
	if (!u->contexts && !u->sessions && !u->keys && !u->events)
		g_hash_table_remove(d->peer_usage, u->key);
}

static void
context_free(TcsdContext *ctx)
{
	g_array_unref(ctx->keys);
	g_array_unref(ctx->auths);
	g_free(ctx);
}

void
tcsd_contexts_init(TcsdDaemon *d)
{
	d->contexts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					    (GDestroyNotify)context_free);
	d->conn_contexts = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
						 (GDestroyNotify)g_ptr_array_unref);
	d->peer_usage = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					      (GDestroyNotify)usage_free);
}

void
tcsd_contexts_fini(TcsdDaemon *d)
{
	g_clear_pointer(&d->conn_contexts, g_hash_table_unref);
	g_clear_pointer(&d->contexts, g_hash_table_unref);
	g_clear_pointer(&d->peer_usage, g_hash_table_unref);
}

/* Handles are random so one client cannot guess another's (TrouSerS counts up). */
static guint32
new_handle(TcsdDaemon *d)
{
	guint32 h;

	do {
		h = tcsd_random_handle();
	} while (g_hash_table_contains(d->contexts, GUINT_TO_POINTER(h)));
	return h;
}

TcsdContext *
tcsd_context_open(TcsdDaemon *d, const TcsdPeer *peer)
{
	guint64 conn_id = peer->id;
	GPtrArray *list = g_hash_table_lookup(d->conn_contexts, &conn_id);
	TcsdPeerUsage *u = tcsd_peer_usage(d, peer);
	TcsdContext *ctx;

	if (list && list->len >= d->config->max_contexts_per_connection) {
		g_warning("%s: too many contexts on one connection", peer->addr);
		usage_release(d, u);
		return NULL;
	}
	if (!u->exempt && u->contexts >= d->config->max_contexts_per_peer) {
		g_warning("%s: %s holds %u contexts (max_contexts_per_peer), refusing another",
			  peer->addr, u->key, u->contexts);
		usage_release(d, u);
		return NULL;
	}
	if (!list) {
		list = g_ptr_array_new();
		g_hash_table_insert(d->conn_contexts, g_memdup2(&conn_id, sizeof(conn_id)), list);
	}
	ctx = g_new0(TcsdContext, 1);
	ctx->handle = new_handle(d);
	ctx->conn_id = conn_id;
	ctx->usage = u;
	u->contexts++;
	ctx->keys = g_array_new(FALSE, FALSE, sizeof(guint32));
	ctx->auths = g_array_new(FALSE, FALSE, sizeof(guint32));
	g_hash_table_insert(d->contexts, GUINT_TO_POINTER(ctx->handle), ctx);
	g_ptr_array_add(list, ctx);
	return ctx;
}

TcsdContext *
tcsd_context_lookup(TcsdDaemon *d, guint32 handle, guint64 conn_id)
{
	TcsdContext *ctx = g_hash_table_lookup(d->contexts, GUINT_TO_POINTER(handle));

	/* another connection's context is treated as unknown */
	if (!ctx || ctx->conn_id != conn_id)
		return NULL;
	return ctx;
}

void
tcsd_context_close(TcsdDaemon *d, TcsdContext *ctx)
{
	GPtrArray *list = g_hash_table_lookup(d->conn_contexts, &ctx->conn_id);

	for (guint i = 0; i < ctx->auths->len; i++)
		tcsd_sessions_close(d->sessions, g_array_index(ctx->auths, guint32, i));
	for (guint i = 0; i < ctx->keys->len; i++)
		tcsd_keys_unref(d->keys, g_array_index(ctx->keys, guint32, i));
	ctx->usage->sessions -= ctx->auths->len;
	ctx->usage->keys -= ctx->keys->len;
	ctx->usage->contexts--;
	usage_release(d, ctx->usage);
	if (list) {
		g_ptr_array_remove(list, ctx);
		if (list->len == 0)
			g_hash_table_remove(d->conn_contexts, &ctx->conn_id);
	}
	g_hash_table_remove(d->contexts, GUINT_TO_POINTER(ctx->handle));
}

void
tcsd_context_close_connection(TcsdDaemon *d, guint64 conn_id)
{
	GPtrArray *list = g_hash_table_lookup(d->conn_contexts, &conn_id);

	while (list) {
		/* closing the last context frees the list */
		gboolean last = list->len <= 1;
		if (list->len == 0) {
			g_hash_table_remove(d->conn_contexts, &conn_id);
			break;
		}
		tcsd_context_close(d, g_ptr_array_index(list, list->len - 1));
		if (last)
			break;
	}
}

static gint
find_u32(GArray *a, guint32 v)
{
	for (guint i = 0; i < a->len; i++)
		if (g_array_index(a, guint32, i) == v)
			return (gint)i;
	return -1;
}

gboolean
tcsd_context_has_key(const TcsdContext *ctx, guint32 tcs_handle)
{
	return find_u32(ctx->keys, tcs_handle) >= 0;
}

guint32
tcsd_context_may_add_key(TcsdDaemon *d, const TcsdContext *ctx, const char *who)
{
	if (ctx->keys->len >= d->config->max_keys_per_context)
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	if (!ctx->usage->exempt && ctx->usage->keys >= d->config->max_keys_per_peer) {
		g_warning("%s: %s holds %u keys (max_keys_per_peer), refusing another", who,
			  ctx->usage->key, ctx->usage->keys);
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	}
	return 0;
}

guint32
tcsd_context_may_add_auth(TcsdDaemon *d, const TcsdContext *ctx, const char *who)
{
	guint max = d->config->max_auth_sessions_per_peer;

	if (ctx->auths->len >= d->config->max_auth_sessions_per_context) {
		g_warning("%s: context has %u auth sessions, refusing another", who,
			  ctx->auths->len);
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	}
	if (ctx->usage->exempt)
		return 0;
	/* by default a quarter of what the TPM holds (loaded + saved): the rest stays for others */
	if (max == 0)
		max = MAX(1u, tcsd_sessions_holdable(d->sessions) / 4);
	if (ctx->usage->sessions >= max) {
		g_warning("%s: %s holds %u auth sessions (max_auth_sessions_per_peer %u), "
			  "refusing another",
			  who, ctx->usage->key, ctx->usage->sessions, max);
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	}
	return 0;
}

void
tcsd_context_add_key(TcsdContext *ctx, guint32 tcs_handle)
{
	g_array_append_val(ctx->keys, tcs_handle);
	ctx->usage->keys++;
}

gboolean
tcsd_context_remove_key(TcsdContext *ctx, guint32 tcs_handle)
{
	gint i = find_u32(ctx->keys, tcs_handle);
	if (i < 0)
		return FALSE;
	g_array_remove_index_fast(ctx->keys, (guint)i);
	ctx->usage->keys--;
	return TRUE;
}

void
tcsd_context_add_auth(TcsdContext *ctx, guint32 auth_handle)
{
	if (find_u32(ctx->auths, auth_handle) < 0) {
		g_array_append_val(ctx->auths, auth_handle);
		ctx->usage->sessions++;
	}
}

gboolean
tcsd_context_has_auth(const TcsdContext *ctx, guint32 auth_handle)
{
	return find_u32(ctx->auths, auth_handle) >= 0;
}

void
tcsd_context_remove_auth(TcsdContext *ctx, guint32 auth_handle)
{
	gint i = find_u32(ctx->auths, auth_handle);
	if (i >= 0) {
		g_array_remove_index_fast(ctx->auths, (guint)i);
		ctx->usage->sessions--;
	}
}

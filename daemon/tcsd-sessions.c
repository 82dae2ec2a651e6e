/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-random.h"
#include "tcsd-sessions.h"

#include "tcs-schema.h"
#include "tcs-types.h"

#define TCSD_SESSIONS_MAX 4096

typedef struct {
	guint32 virt;
	guint32 tpm_handle; /* 0 while saved */
	guint8 *saved;
	gsize saved_len;
	guint64 last_use;
	gboolean pinned;
	TcsdSessionEntity entity;
	/* a transport session: its own TPM table, never saved; entity.value = transAttributes */
	gboolean transport;
} Session;

struct _TcsdSessions {
	TcsdTpm *tpm;
	TcsdKeyCache *keys;
	GHashTable *by_virt; /* virtual handle -> Session */
	guint64 clock;
	/* session slots and saved-context entries the TPM gives us; 0 = not asked yet */
	guint capacity;
	guint ctx_capacity;
	/* the TPM refused to save a session (e.g. disabled): only its loaded slots count */
	gboolean cannot_save;
};

static void
session_free(Session *x)
{
	g_free(x->saved);
	g_free(x);
}

TcsdSessions *
tcsd_sessions_new(TcsdTpm *tpm, TcsdKeyCache *keys)
{
	TcsdSessions *s = g_new0(TcsdSessions, 1);
	s->tpm = tpm;
	s->keys = keys;
	s->by_virt = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					   (GDestroyNotify)session_free);
	return s;
}

void
tcsd_sessions_free(TcsdSessions *s)
{
	if (!s)
		return;
	g_hash_table_unref(s->by_virt);
	g_free(s);
}

guint
tcsd_sessions_count(TcsdSessions *s)
{
	return g_hash_table_size(s->by_virt);
}

static Session *
lookup(TcsdSessions *s, guint32 virt)
{
	return g_hash_table_lookup(s->by_virt, GUINT_TO_POINTER(virt));
}

/* Save the least recently used loaded, unpinned session and free its slot. */
static guint32
swap_out_lru(TcsdSessions *s)
{
	GHashTableIter it;
	Session *x, *lru = NULL;
	guint32 rc;

	g_hash_table_iter_init(&it, s->by_virt);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&x))
		if (x->tpm_handle && !x->pinned && !x->transport &&
		    (!lru || x->last_use < lru->last_use))
			lru = x;
	if (!lru)
		return TPM_RESOURCES;
	/*
	 * Saving a session takes it out of the TPM; flushing its handle now would
	 * also invalidate the saved context.
	 */
	rc = tcsd_tpm_save_context(s->tpm, lru->tpm_handle, TPM_RT_AUTH, &lru->saved,
				   &lru->saved_len);
	if (rc) {
		/* no room for another saved context either: the TPM is really full */
		g_debug("cannot save auth session 0x%08x: TPM 0x%x", lru->virt, rc);
		/* out of context space is temporary; any other refusal (a disabled TPM) is not */
		if (rc != TPM_RESOURCES && rc != TPM_NOCONTEXTSPACE)
			s->cannot_save = TRUE;
		return TPM_RESOURCES;
	}
	g_debug("auth session 0x%08x swapped out", lru->virt);
	lru->tpm_handle = 0;
	return 0;
}

static void
count(TcsdSessions *s, guint *loaded, guint *saved)
{
	GHashTableIter it;
	Session *x;

	*loaded = *saved = 0;
	g_hash_table_iter_init(&it, s->by_virt);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&x)) {
		if (x->transport)
			continue;
		if (x->tpm_handle)
			(*loaded)++;
		else if (x->saved)
			(*saved)++;
	}
}

/* The TPM's free slots plus what tcsd holds: what it can hold in all. */
static guint32
query_capacity(TcsdSessions *s, guint loaded, guint saved)
{
	guint32 n = 0, m = 0, rc;

	rc = tcsd_tpm_get_property(s->tpm, TPM_CAP_PROP_AUTHSESS, &n);
	if (rc == 0)
		rc = tcsd_tpm_get_property(s->tpm, TPM_CAP_PROP_CONTEXT, &m);
	if (rc)
		return rc;
	s->capacity = n + loaded;
	s->ctx_capacity = m + saved;
	return 0;
}

/*
 * Make a session slot free before a command needs one. The slots are
 * counted, not asked of the TPM each time (it is asked once, and again when
 * it turns out fuller than counted). A new session may push another out only
 * while a saved-context entry stays free afterwards, so every open session
 * can still come back (admission control).
 */
static guint32
make_room(TcsdSessions *s, gboolean new_session)
{
	guint loaded, saved;
	guint32 rc;

	count(s, &loaded, &saved);
	if (s->capacity == 0) {
		rc = query_capacity(s, loaded, saved);
		if (rc)
			return rc;
	}
	for (guint tries = 0; loaded >= s->capacity && tries < 64; tries++) {
		if (new_session && saved + 2 > s->ctx_capacity)
			return TPM_RESOURCES;
		rc = swap_out_lru(s);
		if (rc)
			return rc;
		count(s, &loaded, &saved);
	}
	return 0;
}

guint
tcsd_sessions_holdable(TcsdSessions *s)
{
	guint loaded, saved;

	if (s->capacity == 0) {
		count(s, &loaded, &saved);
		if (query_capacity(s, loaded, saved) != 0)
			return 0;
	}
	if (s->cannot_save)
		return s->capacity;
	/* admission keeps two saved-context entries free (make_room) */
	return s->capacity + (s->ctx_capacity > 2 ? s->ctx_capacity - 2 : 0);
}

static guint32
new_virt(TcsdSessions *s)
{
	guint32 h;

	do {
		h = tcsd_random_handle();
	} while (lookup(s, h));
	return h;
}

static guint32
insert(TcsdSessions *s, guint32 tpm_handle, const TcsdSessionEntity *entity, gboolean transport)
{
	Session *x = g_new0(Session, 1);

	x->tpm_handle = tpm_handle;
	x->virt = new_virt(s);
	if (entity)
		x->entity = *entity;
	x->transport = transport;
	x->last_use = ++s->clock;
	g_hash_table_insert(s->by_virt, GUINT_TO_POINTER(x->virt), x);
	return x->virt;
}

guint32
tcsd_sessions_open(TcsdSessions *s, TcsWbuf *cmd, const TcsdSessionEntity *entity, guint32 *virt)
{
	TcsRbuf r;
	guint32 rc;

	if (g_hash_table_size(s->by_virt) >= TCSD_SESSIONS_MAX)
		return TPM_RESOURCES;
	for (guint tries = 0;; tries++) {
		rc = make_room(s, TRUE);
		if (rc)
			return rc;
		rc = tcsd_tpm_transmit_wbuf(s->tpm, cmd);
		if (rc != TPM_RESOURCES || tries >= 1)
			break;
		/* fuller than counted (another user of the TPM): ask it again */
		s->capacity = 0;
	}
	if (rc)
		return rc;
	tcs_rbuf_init(&r, s->tpm->rsp, s->tpm->rsp_len);
	tcs_rbuf_skip(&r, 10);
	*virt = insert(s, tcs_rbuf_u32(&r), entity, FALSE);
	return 0;
}

guint32
tcsd_sessions_reserve(TcsdSessions *s)
{
	if (g_hash_table_size(s->by_virt) >= TCSD_SESSIONS_MAX)
		return TPM_RESOURCES;
	return make_room(s, TRUE);
}

guint32
tcsd_sessions_adopt(TcsdSessions *s, guint32 tpm_handle, const TcsdSessionEntity *entity)
{
	return insert(s, tpm_handle, entity, FALSE);
}

guint32
tcsd_sessions_add_transport(TcsdSessions *s, guint32 tpm_handle, guint32 attributes)
{
	TcsdSessionEntity e = {FALSE, attributes};

	return insert(s, tpm_handle, &e, TRUE);
}

gboolean
tcsd_sessions_transport(TcsdSessions *s, guint32 virt, guint32 *tpm_handle, guint32 *attributes)
{
	Session *x = lookup(s, virt);

	if (!x || !x->transport)
		return FALSE;
	*tpm_handle = x->tpm_handle;
	if (attributes)
		*attributes = x->entity.value;
	return TRUE;
}

gboolean
tcsd_sessions_has_transport_with(TcsdSessions *s, guint32 attribute)
{
	GHashTableIter it;
	Session *x;

	g_hash_table_iter_init(&it, s->by_virt);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&x))
		if (x->transport && (x->entity.value & attribute))
			return TRUE;
	return FALSE;
}

/*
 * Room first, then TPM_LoadContext: a TPM 1.2 (libtpms at least) consumes the
 * saved context even when the load then fails for lack of a slot, and the
 * session would be lost.
 */
static guint32
swap_in(TcsdSessions *s, Session *x)
{
	guint32 rc, entity_handle = x->entity.value;

	/* an OSAP/DSAP session on a key comes back only with that key loaded, by its handle */
	if (x->entity.is_key) {
		rc = tcsd_keys_translate(s->keys, x->entity.value, &entity_handle);
		if (rc)
			return rc;
	}
	rc = make_room(s, FALSE);
	if (rc)
		return rc;
	rc = tcsd_tpm_load_context(s->tpm, entity_handle, x->saved, x->saved_len, &x->tpm_handle);
	if (rc) {
		g_warning("cannot reload auth session 0x%08x: TPM 0x%x", x->virt, rc);
		return rc;
	}
	g_clear_pointer(&x->saved, g_free);
	x->saved_len = 0;
	g_debug("auth session 0x%08x swapped in", x->virt);
	return 0;
}

guint32
tcsd_sessions_translate(TcsdSessions *s, guint32 virt, guint32 *tpm_handle)
{
	Session *x = lookup(s, virt);
	guint32 rc;

	/* a transport handle is not an authorisation session the TPM would accept */
	if (!x || x->transport)
		return TCS_ERR(TCS_E_INVALID_AUTHHANDLE);
	x->pinned = TRUE;
	x->last_use = ++s->clock;
	if (!x->tpm_handle) {
		rc = swap_in(s, x);
		if (rc)
			return rc;
	}
	*tpm_handle = x->tpm_handle;
	return 0;
}

void
tcsd_sessions_unpin_all(TcsdSessions *s)
{
	GHashTableIter it;
	Session *x;

	g_hash_table_iter_init(&it, s->by_virt);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&x))
		x->pinned = FALSE;
}

void
tcsd_sessions_forget(TcsdSessions *s, guint32 virt)
{
	g_hash_table_remove(s->by_virt, GUINT_TO_POINTER(virt));
}

void
tcsd_sessions_close(TcsdSessions *s, guint32 virt)
{
	Session *x = lookup(s, virt);
	TcsRbuf r;

	if (x && x->tpm_handle) {
		(void)tcsd_tpm_flush(s->tpm, x->tpm_handle, x->transport ? TPM_RT_TRANS : TPM_RT_AUTH);
	} else if (x && x->saved) {
		/* a saved session holds one of the TPM's few context slots: free it by its count */
		tcs_rbuf_init(&r, x->saved, x->saved_len);
		tcs_rbuf_skip(&r, 2 + 4 + 4 + 16);
		if (tcs_rbuf_ok(&r) && tcs_rbuf_remaining(&r) >= 4)
			(void)tcsd_tpm_flush(s->tpm, tcs_rbuf_u32(&r), TPM_RT_CONTEXT);
	}
	g_hash_table_remove(s->by_virt, GUINT_TO_POINTER(virt));
}

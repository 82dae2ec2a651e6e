/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-random.h"
#include "tcsd-keys.h"

#include "tcs-buf.h"
#include "tcs-schema.h"

#define TCSD_KEYS_MAX 4096

typedef struct _TcsdKey TcsdKey;
struct _TcsdKey {
	guint32 tcs_handle;
	guint32 tpm_handle; /* 0 while swapped out */
	guint32 parent;     /* TCS handle of the parent */
	guint8 *blob;
	gsize blob_len;
	guint8 *saved;      /* TPM_SaveContext blob while swapped out */
	gsize saved_len;
	guint refs;
	guint64 last_use;
	gboolean pinned;
	gboolean authless; /* the TPM loaded it without parent authorisation */
};

struct _TcsdKeyCache {
	TcsdTpm *tpm;
	GHashTable *keys; /* tcs handle -> TcsdKey */
	guint64 clock;
	guint capacity;   /* key slots the TPM gives us; 0 = not asked yet */
};

static void
key_free(TcsdKey *k)
{
	g_free(k->blob);
	g_free(k->saved);
	g_free(k);
}

TcsdKeyCache *
tcsd_keys_new(TcsdTpm *tpm)
{
	TcsdKeyCache *c = g_new0(TcsdKeyCache, 1);
	c->tpm = tpm;
	c->keys = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					(GDestroyNotify)key_free);
	return c;
}

void
tcsd_keys_free(TcsdKeyCache *c)
{
	if (!c)
		return;
	g_hash_table_unref(c->keys);
	g_free(c);
}

gboolean
tcsd_keys_is_reserved(guint32 handle)
{
	return (handle & 0xFFFFFF00u) == 0x40000000u;
}

static TcsdKey *
lookup(TcsdKeyCache *c, guint32 h)
{
	return g_hash_table_lookup(c->keys, GUINT_TO_POINTER(h));
}

gboolean
tcsd_keys_exists(TcsdKeyCache *c, guint32 tcs_handle)
{
	return tcsd_keys_is_reserved(tcs_handle) || lookup(c, tcs_handle) != NULL;
}

guint
tcsd_keys_count(TcsdKeyCache *c)
{
	return g_hash_table_size(c->keys);
}

guint
tcsd_keys_count_loaded(TcsdKeyCache *c)
{
	GHashTableIter it;
	TcsdKey *k;
	guint n = 0;

	g_hash_table_iter_init(&it, c->keys);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&k))
		n += k->tpm_handle != 0;
	return n;
}

/* Save the key's context and free its slot: it comes back without an RSA decrypt. */
static guint32
swap_out(TcsdKeyCache *c, TcsdKey *k)
{
	guint32 rc;

	g_clear_pointer(&k->saved, g_free);
	rc = tcsd_tpm_save_context(c->tpm, k->tpm_handle, TPM_RT_KEY, &k->saved, &k->saved_len);
	if (rc) {
		g_warning("cannot save key context of 0x%08x: TPM 0x%x", k->tcs_handle, rc);
		return rc;
	}
	/* unlike a session, a saved key stays loaded until flushed */
	(void)tcsd_tpm_flush(c->tpm, k->tpm_handle, TPM_RT_KEY);
	g_debug("key 0x%08x swapped out of slot 0x%08x", k->tcs_handle, k->tpm_handle);
	k->tpm_handle = 0;
	return 0;
}

/* Evict least recently used unpinned keys until the TPM has a free key slot. */
static guint32
make_room(TcsdKeyCache *c)
{
	/*
	 * Every load and flush goes through here, so the free slots are counted,
	 * not asked of the TPM each time; the TPM is asked once, and again when a
	 * load finds the TPM fuller than counted.
	 */
	if (c->capacity == 0) {
		guint32 n = 0, rc = tcsd_tpm_get_property(c->tpm, TPM_CAP_PROP_KEYS, &n);
		if (rc)
			return rc;
		c->capacity = n + tcsd_keys_count_loaded(c);
	}
	for (guint tries = 0; tries < 64; tries++) {
		GHashTableIter it;
		TcsdKey *k, *lru = NULL;
		guint32 rc;

		if (tcsd_keys_count_loaded(c) < c->capacity)
			return 0;
		g_hash_table_iter_init(&it, c->keys);
		while (g_hash_table_iter_next(&it, NULL, (gpointer *)&k)) {
			if (!k->tpm_handle || k->pinned)
				continue;
			if (!lru || k->last_use < lru->last_use)
				lru = k;
		}
		if (!lru)
			return TPM_NOSPACE;
		rc = swap_out(c, lru);
		if (rc)
			return rc;
	}
	return TPM_NOSPACE;
}

static guint32 ensure_loaded(TcsdKeyCache *c, TcsdKey *k, guint depth);

/* TPM handle of a parent (TCS handle), loading it if needed. */
static guint32
parent_tpm_handle(TcsdKeyCache *c, guint32 parent, guint32 *tpm, guint depth)
{
	TcsdKey *p;
	guint32 rc;

	if (tcsd_keys_is_reserved(parent)) {
		*tpm = parent;
		return 0;
	}
	p = lookup(c, parent);
	if (!p)
		return TCS_ERR(TCS_E_INVALID_KEY);
	rc = ensure_loaded(c, p, depth + 1);
	if (rc)
		return rc;
	*tpm = p->tpm_handle;
	return 0;
}

static guint32
ensure_loaded(TcsdKeyCache *c, TcsdKey *k, guint depth)
{
	guint32 rc;

	k->last_use = ++c->clock;
	if (k->tpm_handle)
		return 0;
	if (depth > 32 || !k->saved)
		return TCS_ERR(TCS_E_KM_LOADFAILED);
	/* pinned so that making room for it cannot pick it (or evict the parent chain) */
	k->pinned = TRUE;
	rc = make_room(c);
	if (rc)
		return rc;
	rc = tcsd_tpm_load_context(c->tpm, 0, k->saved, k->saved_len, &k->tpm_handle);
	if (rc == TPM_NOSPACE)
		c->capacity = 0;
	if (rc) {
		g_warning("cannot reload key 0x%08x: TPM 0x%x", k->tcs_handle, rc);
		return rc == TPM_NOSPACE ? rc : TCS_ERR(TCS_E_KM_LOADFAILED);
	}
	g_clear_pointer(&k->saved, g_free);
	k->saved_len = 0;
	g_debug("key 0x%08x swapped into slot 0x%08x", k->tcs_handle, k->tpm_handle);
	return 0;
}

static guint32
new_tcs_handle(TcsdKeyCache *c)
{
	guint32 h;

	do {
		h = tcsd_random_handle();
	} while (lookup(c, h));
	return h;
}

guint32
tcsd_keys_load(TcsdKeyCache *c, guint32 parent, const guint8 *blob, gsize len,
	       const TcsAuthIn *auth, TcsAuthOut *auth_out, guint32 *ret_handle)
{
	TcsdKey *pk = tcsd_keys_is_reserved(parent) ? NULL : lookup(c, parent);
	TcsdKey *k;
	TcsWbuf w;
	TcsRbuf r;
	guint32 rc, parent_tpm, tpm_handle;

	if (g_hash_table_size(c->keys) >= TCSD_KEYS_MAX)
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	/*
	 * The same blob under the same parent, loaded before without authorisation
	 * (so the TPM has shown none is needed): share that slot.
	 */
	if (!auth) {
		GHashTableIter it;
		g_hash_table_iter_init(&it, c->keys);
		while (g_hash_table_iter_next(&it, NULL, (gpointer *)&k)) {
			if (k->authless && k->parent == parent && k->blob_len == len &&
			    memcmp(k->blob, blob, len) == 0) {
				k->refs++;
				*ret_handle = k->tcs_handle;
				return 0;
			}
		}
	}
	if (pk)
		pk->pinned = TRUE;
	rc = parent_tpm_handle(c, parent, &parent_tpm, 0);
	if (rc)
		return rc;
	/* room first: a failed authorised load would cost the client its session */
	rc = make_room(c);
	if (rc)
		return rc;
	tcs_wbuf_init(&w, TCS_TPM_MAX_COMMAND);
	tcs_tpm_command_begin(&w, auth ? TPM_TAG_RQU_AUTH1_COMMAND : TPM_TAG_RQU_COMMAND,
			      TPM_ORD_LoadKey2);
	tcs_wbuf_u32(&w, parent_tpm);
	tcs_wbuf_bytes(&w, blob, len);
	if (auth) {
		tcs_wbuf_u32(&w, auth->handle);
		tcs_wbuf_bytes(&w, auth->nonce_odd, 20);
		tcs_wbuf_u8(&w, auth->cont);
		tcs_wbuf_bytes(&w, auth->hmac, 20);
	}
	tcs_tpm_command_end(&w);
	rc = tcsd_tpm_transmit_wbuf(c->tpm, &w);
	tcs_wbuf_free(&w);
	if (rc == TPM_NOSPACE) {
		/* someone else holds slots too: count again from the TPM next time */
		c->capacity = 0;
	}
	if (rc)
		return rc;
	tcs_rbuf_init(&r, c->tpm->rsp, c->tpm->rsp_len);
	tcs_rbuf_skip(&r, 10);
	tpm_handle = tcs_rbuf_u32(&r);
	if (auth && auth_out) {
		tcs_rbuf_copy(&r, auth_out->nonce_even, 20);
		auth_out->cont = tcs_rbuf_u8(&r);
		tcs_rbuf_copy(&r, auth_out->hmac, 20);
	}
	if (!tcs_rbuf_ok(&r))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);

	k = g_new0(TcsdKey, 1);
	k->tcs_handle = new_tcs_handle(c);
	k->tpm_handle = tpm_handle;
	k->parent = parent;
	k->blob = g_memdup2(blob, len);
	k->blob_len = len;
	k->refs = 1;
	k->authless = auth == NULL;
	k->last_use = ++c->clock;
	g_hash_table_insert(c->keys, GUINT_TO_POINTER(k->tcs_handle), k);
	*ret_handle = k->tcs_handle;
	g_debug("key 0x%08x loaded into slot 0x%08x", k->tcs_handle, k->tpm_handle);
	return 0;
}

guint32
tcsd_keys_reserve(TcsdKeyCache *c)
{
	if (g_hash_table_size(c->keys) >= TCSD_KEYS_MAX)
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	return make_room(c);
}

guint32
tcsd_keys_adopt(TcsdKeyCache *c, guint32 parent, guint32 tpm_handle)
{
	TcsdKey *k = g_new0(TcsdKey, 1);

	/* no blob: it may have been encrypted on the wire; never shared, swapped by context */
	k->tcs_handle = new_tcs_handle(c);
	k->tpm_handle = tpm_handle;
	k->parent = parent;
	k->refs = 1;
	k->last_use = ++c->clock;
	g_hash_table_insert(c->keys, GUINT_TO_POINTER(k->tcs_handle), k);
	g_debug("key 0x%08x adopted from slot 0x%08x", k->tcs_handle, tpm_handle);
	return k->tcs_handle;
}

guint
tcsd_keys_refs(TcsdKeyCache *c, guint32 tcs_handle)
{
	TcsdKey *k = lookup(c, tcs_handle);

	return k ? k->refs : 0;
}

void
tcsd_keys_forget_flushed(TcsdKeyCache *c, guint32 tcs_handle)
{
	g_hash_table_remove(c->keys, GUINT_TO_POINTER(tcs_handle));
}

guint32
tcsd_keys_translate(TcsdKeyCache *c, guint32 tcs_handle, guint32 *tpm_handle)
{
	TcsdKey *k;
	guint32 rc;

	if (tcsd_keys_is_reserved(tcs_handle)) {
		*tpm_handle = tcs_handle;
		return 0;
	}
	k = lookup(c, tcs_handle);
	if (!k)
		return TCS_ERR(TCS_E_INVALID_KEY);
	k->pinned = TRUE;
	rc = ensure_loaded(c, k, 0);
	if (rc)
		return rc;
	*tpm_handle = k->tpm_handle;
	return 0;
}

void
tcsd_keys_unpin_all(TcsdKeyCache *c)
{
	GHashTableIter it;
	TcsdKey *k;

	g_hash_table_iter_init(&it, c->keys);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&k))
		k->pinned = FALSE;
}

void
tcsd_keys_ref(TcsdKeyCache *c, guint32 tcs_handle)
{
	TcsdKey *k = lookup(c, tcs_handle);
	if (k)
		k->refs++;
}

void
tcsd_keys_unref(TcsdKeyCache *c, guint32 tcs_handle)
{
	TcsdKey *k = lookup(c, tcs_handle);

	if (!k || --k->refs > 0)
		return;
	if (k->tpm_handle)
		(void)tcsd_tpm_flush(c->tpm, k->tpm_handle, TPM_RT_KEY);
	g_debug("key 0x%08x released", tcs_handle);
	g_hash_table_remove(c->keys, GUINT_TO_POINTER(tcs_handle));
}

const guint8 *
tcs_keys_blob(TcsdKeyCache *c, guint32 tcs_handle, gsize *len)
{
	TcsdKey *k = lookup(c, tcs_handle);

	if (!k)
		return NULL;
	*len = k->blob_len;
	return k->blob;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key loading and unloading: LoadKeyByBlob, LoadKeyByUUID, EvictKey, FlushSpecific. */
#include "config.h"

#include <openssl/evp.h>

#include "tcs-key.h"
#include "tcs-types.h"
#include "tcs-uuid.h"
#include "tcsd-dispatch.h"
#include "tcsd-keys.h"
#include "tcsd-ps.h"
#include "tcsd-sessions.h"
#include "tcsd-tpm.h"

#define TCSD_MAX_KEY_BLOB 4096u

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)

/* A context may only name parents it loaded itself, or the reserved handles. */
static guint32
check_parent(TcsdRequest *rq, guint32 parent)
{
	if (tcsd_keys_is_reserved(parent) || tcsd_context_has_key(rq->ctx, parent))
		return 0;
	return TCS_ERR(TCS_E_INVALID_KEY);
}

/*
 * Load a key, authorised with one of the client's sessions when auth is
 * given: the session must be this context's, the TPM knows it by another
 * handle, and afterwards it is forgotten if the TPM ended it.
 */
static guint32
load_key(TcsdRequest *rq, guint32 parent, const guint8 *blob, gsize len, const TcsAuthIn *auth,
	 TcsAuthOut *auth_out, guint32 *handle)
{
	TcsAuthIn tpm_auth;
	guint32 rc;

	if (!auth)
		return tcsd_keys_load(rq->d->keys, parent, blob, len, NULL, NULL, handle);
	if (!tcsd_context_has_auth(rq->ctx, auth->handle))
		return TCS_ERR(TCS_E_INVALID_AUTHHANDLE);
	tpm_auth = *auth;
	rc = tcsd_sessions_translate(rq->d->sessions, auth->handle, &tpm_auth.handle);
	if (rc == 0)
		rc = tcsd_keys_load(rq->d->keys, parent, blob, len, &tpm_auth, auth_out, handle);
	explicit_bzero(&tpm_auth, sizeof(tpm_auth));
	if (rc != 0 && !(rc & TSS_LAYER_TCS)) {
		/* the TPM refused the command: the session is gone or useless */
		tcsd_sessions_close(rq->d->sessions, auth->handle);
		tcsd_context_remove_auth(rq->ctx, auth->handle);
	} else if (rc == 0 && !auth->cont) {
		tcsd_sessions_forget(rq->d->sessions, auth->handle);
		tcsd_context_remove_auth(rq->ctx, auth->handle);
	}
	return rc;
}

static guint32
add_key_to_context(TcsdRequest *rq, guint32 handle)
{
	guint32 rc = tcsd_context_may_add_key(rq->d, rq->ctx, rq->peer->addr);

	if (rc)
		return rc;
	tcsd_context_add_key(rq->ctx, handle);
	return 0;
}

guint32
tcsd_op_load_key_by_blob(TcsdRequest *rq)
{
	guint32 ctx, parent, len, handle = 0, rc;
	const guint8 *blob;
	TcsAuthIn auth;
	TcsAuthOut auth_out;
	gboolean with_auth;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &parent) ||
	    tcs_packet_get_blob(rq->in, TCSD_MAX_KEY_BLOB, &blob, &len))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	with_auth = tcs_packet_get_auth_in(rq->in, &auth) == 0;
	if (!tcs_packet_reader_done(rq->in))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	rc = check_parent(rq, parent);
	if (rc == 0)
		rc = tcsd_context_may_add_key(rq->d, rq->ctx, rq->peer->addr);
	if (rc == 0)
		rc = load_key(rq, parent, blob, len, with_auth ? &auth : NULL, &auth_out, &handle);
	if (rc)
		return rc;
	tcsd_context_add_key(rq->ctx, handle);
	if (with_auth)
		tcs_packet_put_auth_out(rq->out, &auth_out);
	tcs_packet_put_u32(rq->out, handle);
	/* the 1.1 "key slot": meaningless on 1.2, TrouSerS sends garbage, we send 0 */
	tcs_packet_put_u32(rq->out, 0);
	return 0;
}

static gboolean
blob_needs_auth(const guint8 *blob, gsize len)
{
	_cleanup_key_ TcsKey k = {0};

	/* unparsable: assume so, the TPM has the last word anyway */
	if (tcs_key_parse(blob, len, &k, NULL) < 0)
		return TRUE;
	return k.auth_data_usage != 0;
}

/* A cached handle is only reused while it still is that registered key. */
static gboolean
same_blob(TcsdDaemon *d, guint32 handle, const TcsPsKey *pk)
{
	gsize len = 0;
	const guint8 *blob = tcs_keys_blob(d->keys, handle, &len);

	return blob && len == pk->blob_len && memcmp(blob, pk->blob, len) == 0;
}

static void
fill_loadkey_info(TcsLoadKeyInfo *info, const TcsUuid *key, const TcsUuid *parent,
		  const guint8 *blob, gsize len)
{
	guint8 ord[4] = {0, 0, 0, TPM_ORD_LoadKey2};
	g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
	unsigned int n = 0;

	memset(info, 0, sizeof(*info));
	info->key = *key;
	info->parent = *parent;
	/* what the client's parent authorisation HMAC covers */
	EVP_DigestInit_ex(md, EVP_sha1(), NULL);
	EVP_DigestUpdate(md, ord, sizeof(ord));
	EVP_DigestUpdate(md, blob, len);
	EVP_DigestFinal_ex(md, info->param_digest, &n);
}

/*
 * Load a registered key and, first, its registered ancestors. Keys loaded by
 * UUID are shared between contexts (one TPM slot, reference counted). When a
 * parent needs authorisation and the client sent none for this key, answer
 * with a filled LOADKEY_INFO so libtspi can authorise and retry; this works
 * at any depth of the hierarchy, not only under the SRK.
 */
static guint32
load_by_uuid(TcsdRequest *rq, const TcsUuid *uuid, TcsLoadKeyInfo *info, gboolean have_info,
	     guint depth, guint32 *ret)
{
	TcsdDaemon *d = rq->d;
	const TcsPsKey *pk, *ppk;
	char key_str[TCS_UUID_STRING_SIZE];
	gpointer cached;
	guint32 parent = TPM_KH_SRK, rc, handle = 0;
	const TcsAuthIn *auth = NULL;
	TcsAuthOut auth_out;

	if (tcs_uuid_equal(uuid, &TCS_UUID_SRK)) {
		*ret = TPM_KH_SRK;
		return 0;
	}
	if (depth > 16)
		return TCS_ERR(TCS_E_KM_LOADFAILED);
	pk = tcs_ps_find(&d->ps, uuid);
	if (!pk)
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	/* the RK, or an ancestor on the way to it: only the one tcsd recorded */
	rc = tcsd_ps_check_rk(d, pk);
	if (rc)
		return rc;
	tcs_uuid_to_string(uuid, key_str);
	if (g_hash_table_lookup_extended(d->uuid_keys, key_str, NULL, &cached) &&
	    same_blob(d, GPOINTER_TO_UINT(cached), pk)) {
		handle = GPOINTER_TO_UINT(cached);
		/* an ancestor this context already holds needs no second reference */
		if (depth > 0 && tcsd_context_has_key(rq->ctx, handle)) {
			*ret = handle;
			return 0;
		}
		rc = add_key_to_context(rq, handle);
		if (rc)
			return rc;
		tcsd_keys_ref(d->keys, handle);
		*ret = handle;
		return 0;
	}
	if (!(pk->flags & TCS_PS_FLAG_PARENT_PS_SYSTEM))
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	rc = load_by_uuid(rq, &pk->parent_uuid, info, have_info, depth + 1, &parent);
	if (rc)
		return rc;

	ppk = tcs_ps_find(&d->ps, &pk->parent_uuid);
	if (!ppk || blob_needs_auth(ppk->blob, ppk->blob_len)) {
		if (!have_info || !tcs_uuid_equal(&info->key, uuid) || info->auth.handle == 0) {
			fill_loadkey_info(info, uuid, &pk->parent_uuid, pk->blob, pk->blob_len);
			return TCS_ERR(TCS_E_KM_LOADFAILED);
		}
		auth = &info->auth;
	}
	rc = tcsd_context_may_add_key(d, rq->ctx, rq->peer->addr);
	if (rc)
		return rc;
	rc = load_key(rq, parent, pk->blob, pk->blob_len, auth, &auth_out, &handle);
	if (rc)
		return rc;
	tcsd_context_add_key(rq->ctx, handle);
	g_hash_table_insert(d->uuid_keys, g_strdup(key_str), GUINT_TO_POINTER(handle));
	*ret = handle;
	return 0;
}

guint32
tcsd_op_load_key_by_uuid(TcsdRequest *rq)
{
	TcsLoadKeyInfo info = {0};
	gboolean have_info;
	guint32 ctx, handle = 0, rc;
	TcsUuid uuid;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_uuid(rq->in, &uuid))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	have_info = tcs_packet_get_loadkey_info(rq->in, &info) == 0;
	rc = load_by_uuid(rq, &uuid, &info, have_info, 0, &handle);
	if (rc == TCS_ERR(TCS_E_KM_LOADFAILED) && have_info && !tcs_uuid_is_null(&info.key)) {
		/* only the LOADKEY_INFO goes back, for the client's retry */
		tcs_packet_put_loadkey_info(rq->out, &info);
		rq->data_with_error = TRUE;
		return rc;
	}
	if (rc)
		return rc;
	tcs_packet_put_u32(rq->out, handle);
	if (have_info)
		tcs_packet_put_loadkey_info(rq->out, &info);
	return 0;
}

static guint32
release_key(TcsdRequest *rq, guint32 handle)
{
	if (tcsd_keys_is_reserved(handle) || !tcsd_context_remove_key(rq->ctx, handle))
		return TCS_ERR(TCS_E_INVALID_KEY);
	tcsd_keys_unref(rq->d->keys, handle);
	return 0;
}

guint32
tcsd_op_evict_key(TcsdRequest *rq)
{
	guint32 ctx, handle;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &handle))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	return release_key(rq, handle);
}

guint32
tcsd_op_flush_specific(TcsdRequest *rq)
{
	guint32 ctx, handle, type;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &handle) ||
	    tcs_packet_get_u32(rq->in, &type))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	switch (type) {
	case TPM_RT_KEY:
		return release_key(rq, handle);
	case TPM_RT_AUTH:
		if (!tcsd_context_has_auth(rq->ctx, handle))
			return TCS_ERR(TCS_E_INVALID_AUTHHANDLE);
		tcsd_context_remove_auth(rq->ctx, handle);
		tcsd_sessions_close(rq->d->sessions, handle);
		return 0;
	default:
		/*
		 * Transports come through tcsd_op_flush_specific_transport. Nothing else
		 * is a client's to flush: saved-context counts (TPM_RT_CONTEXT) name other
		 * clients' swapped-out sessions and keys, DAA and unknown types tcsd
		 * never hands out.
		 */
		g_message("%s: refused FlushSpecific of resource type 0x%x", rq->peer->addr, type);
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	}
}

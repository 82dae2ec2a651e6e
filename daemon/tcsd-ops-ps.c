/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* System persistent storage: keys registered by UUID, kept in system.data. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tcs-key.h"
#include "tcs-types.h"
#include "tcs-uuid.h"
#include "tcsd-dispatch.h"
#include "tcsd-manager.h"
#include "tcsd-peer.h"
#include "tcsd-ps.h"

#define TCSD_MAX_KEY_BLOB 4096u
#define TCSD_MAX_VENDOR_DATA 4096u

/* Write the store; on failure put the previous state back so memory matches disk. */
static guint32
ps_commit(TcsdDaemon *d)
{
	int r = tcs_ps_save_file(d->ps_path, &d->ps);

	if (r < 0) {
		g_warning("cannot write %s: %s", d->ps_path, g_strerror(-r));
		return TCS_ERR(TSS_E_FAIL);
	}
	return 0;
}

static guint32
ps_reload(TcsdDaemon *d)
{
	TcsPs fresh = {0};
	int r = tcs_ps_load_file(d->ps_path, &fresh);

	if (r < 0) {
		g_warning("cannot reload %s: %s", d->ps_path, g_strerror(-r));
		return TCS_ERR(TSS_E_FAIL);
	}
	tcs_ps_clear(&d->ps);
	d->ps = fresh;
	return 0;
}

int
tcsd_ps_replace(TcsdDaemon *d, TcsPs *next)
{
	const TcsPsKey *old_rk = tcs_ps_find(&d->ps, &TCS_UUID_RK);
	const TcsPsKey *new_rk = tcs_ps_find(next, &TCS_UUID_RK);
	gboolean rk_new;
	TcsPs old;
	int r = tcs_ps_save_file(d->ps_path, next);

	if (r < 0) {
		g_warning("cannot write %s: %s", d->ps_path, g_strerror(-r));
		return r;
	}
	rk_new = new_rk && (!old_rk || old_rk->blob_len != new_rk->blob_len ||
			    memcmp(old_rk->blob, new_rk->blob, new_rk->blob_len) != 0);
	old = d->ps;
	d->ps = *next;
	*next = old;
	tcsd_ps_owners_changed(d, NULL, NULL, rk_new);
	return 0;
}

guint32
tcsd_ps_register(TcsdDaemon *d, const TcsUuid *uuid, const TcsUuid *parent, const guint8 *blob,
		 gsize blob_len, const guint8 *vendor, gsize vendor_len, const uid_t *owner)
{
	int r;

	r = tcs_ps_add(&d->ps, uuid, parent, TRUE, blob, blob_len, vendor, vendor_len);
	if (r == -EEXIST)
		return TCS_ERR(TSS_E_KEY_ALREADY_REGISTERED);
	if (r < 0)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	if (ps_commit(d)) {
		(void)ps_reload(d);
		return TCS_ERR(TSS_E_FAIL);
	}
	tcsd_ps_owners_changed(d, uuid, owner, tcs_uuid_equal(uuid, &TCS_UUID_RK));
	tcsd_manager_keys_changed(d, uuid, NULL);
	return 0;
}

/* Peers without a uid (remote, RegisterKey in remote_ops) share this one; no user has it. */
#define PS_UID_REMOTE ((uid_t)-1)
#define WELL_KNOWN_ONLY "a well-known UUID, for owner_users only"

typedef struct {
	gboolean privileged; /* the management plane or an owner_user */
	gboolean internal;
	uid_t uid;
} PsCaller;

static guint32
ps_caller(TcsdRequest *rq, PsCaller *c)
{
	TcsdPeer *p = rq->peer;

	*c = (PsCaller){.uid = PS_UID_REMOTE};
	if (p->internal) {
		c->privileged = c->internal = TRUE;
		return 0;
	}
	if (!p->local)
		return 0;
	if (!p->uid_known) {
		g_message("refused %s from %s: its uid is unknown", rq->ord->name, p->addr);
		return TCS_ERR(TSS_E_FAIL);
	}
	c->uid = p->uid;
	c->privileged = tcsd_peer_is_owner(p, rq->d->config);
	return 0;
}

/* The SRK, SK and RK are what the tools trust: owner_users and the management plane write them. */
static gboolean
is_well_known(const TcsUuid *u)
{
	return tcs_uuid_equal(u, &TCS_UUID_SRK) || tcs_uuid_equal(u, &TCS_UUID_SK) ||
	       tcs_uuid_equal(u, &TCS_UUID_RK);
}

static guint32
refuse(TcsdRequest *rq, const PsCaller *c, const TcsUuid *uuid, const char *why)
{
	char s[TCS_UUID_STRING_SIZE];

	g_message("refused %s of %s from %s (uid %ld): %s", rq->ord->name,
		  tcs_uuid_to_string(uuid, s), rq->peer->addr,
		  c->uid == PS_UID_REMOTE ? -1L : (long)c->uid, why);
	return TCS_ERR(TSS_E_FAIL);
}

guint32
tcsd_op_register_key(TcsdRequest *rq)
{
	TcsdDaemon *d = rq->d;
	const guint8 *blob, *vendor = NULL;
	guint32 ctx, blob_len, vendor_len = 0;
	TcsUuid parent, uuid;
	_cleanup_key_ TcsKey k = {0};
	PsCaller caller;
	guint32 rc;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_uuid(rq->in, &parent) ||
	    tcs_packet_get_uuid(rq->in, &uuid) ||
	    tcs_packet_get_blob(rq->in, TCSD_MAX_KEY_BLOB, &blob, &blob_len))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	/* the vendor data is optional: its size may be missing, or its bytes when 0 */
	if (tcs_packet_peek_type(rq->in) == TCSD_TYPE_UINT32 &&
	    tcs_packet_get_blob(rq->in, TCSD_MAX_VENDOR_DATA, &vendor, &vendor_len))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	rc = ps_caller(rq, &caller);
	if (rc)
		return rc;
	if (is_well_known(&uuid) && !caller.privileged)
		return refuse(rq, &caller, &uuid, WELL_KNOWN_ONLY);
	if (tcs_ps_find(&d->ps, &uuid))
		return TCS_ERR(TSS_E_KEY_ALREADY_REGISTERED);
	/* the parent need not be registered (yet): TrouSerS accepts that too */
	if (!caller.privileged &&
	    tcsd_ps_owners_count(d, caller.uid) >= d->config->max_registered_keys_per_user) {
		g_message("refused RegisterKey from %s (uid %ld): max_registered_keys_per_user "
			  "(%u) reached", rq->peer->addr,
			  caller.uid == PS_UID_REMOTE ? -1L : (long)caller.uid,
			  d->config->max_registered_keys_per_user);
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	}
	if (tcs_key_parse(blob, blob_len, &k, NULL) < 0)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	/* the management plane's and the well-known keys belong to owner_users */
	return tcsd_ps_register(d, &uuid, &parent, blob, blob_len, vendor, vendor_len,
				caller.internal || is_well_known(&uuid) ? NULL : &caller.uid);
}

guint32
tcsd_op_unregister_key(TcsdRequest *rq)
{
	TcsdDaemon *d = rq->d;
	PsCaller caller;
	guint32 ctx, rc;
	TcsUuid uuid;
	uid_t owner;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_uuid(rq->in, &uuid))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	rc = ps_caller(rq, &caller);
	if (rc)
		return rc;
	if (!tcs_ps_find(&d->ps, &uuid))
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	if (!caller.privileged) {
		if (is_well_known(&uuid))
			return refuse(rq, &caller, &uuid, WELL_KNOWN_ONLY);
		/* no recorded owner (TrouSerS' keys, the management plane's): owner_users only */
		if (!tcsd_ps_owners_lookup(d, &uuid, &owner) || owner != caller.uid)
			return refuse(rq, &caller, &uuid, "registered by another user");
	}
	if (tcs_ps_remove(&d->ps, &uuid) < 0)
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	if (ps_commit(d)) {
		(void)ps_reload(d);
		return TCS_ERR(TSS_E_FAIL);
	}
	tcsd_ps_owners_changed(d, NULL, NULL, FALSE);
	tcsd_manager_keys_changed(d, NULL, &uuid);
	return 0;
}

static void
put_keyinfo(TcsdRequest *rq, const TcsPsKey *pk, gboolean v2)
{
	_cleanup_key_ TcsKey k = {0};
	TcsKmKeyInfo info = {0};

	info.key = pk->uuid;
	info.parent = pk->parent_uuid;
	if (tcs_key_parse(pk->blob, pk->blob_len, &k, NULL) == 0) {
		if (k.kind == TCS_KEY_KIND_KEY)
			memcpy(&info.version, k.ver, 4);
		else
			info.version = (TcsVersion){1, 2, 0, 0};
		info.auth_data_usage = k.auth_data_usage;
	}
	info.ps_type = 2;       /* TSS_PS_TYPE_SYSTEM */
	info.ps_type_parent = 2;
	info.loaded = FALSE;
	info.vendor = pk->vendor;
	info.vendor_len = (guint32)pk->vendor_len;
	tcs_packet_put_km_keyinfo(rq->out, v2, &info);
}

/*
 * No UUID: every registered key. A UUID: that key and its ancestors up to
 * the root, the key first (the TSS "path to the SRK").
 */
guint32
tcsd_op_enum_registered_keys(TcsdRequest *rq)
{
	TcsdDaemon *d = rq->d;
	gboolean v2 = rq->ord->ordinal == TCSD_ORD_ENUMREGISTEREDKEYS2;
	g_autoptr(GPtrArray) list = g_ptr_array_new();
	guint32 ctx;
	TcsUuid uuid;

	if (tcs_packet_get_u32(rq->in, &ctx))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (tcs_packet_get_uuid(rq->in, &uuid) == 0) {
		const TcsPsKey *pk = tcs_ps_find(&d->ps, &uuid);

		if (!pk)
			return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
		for (guint depth = 0; pk && depth < 64; depth++) {
			guint32 rc = tcsd_ps_check_rk(d, pk);

			if (rc)
				return rc;
			g_ptr_array_add(list, (gpointer)pk);
			if (tcs_uuid_equal(&pk->uuid, &TCS_UUID_SRK))
				break;
			pk = tcs_ps_find(&d->ps, &pk->parent_uuid);
		}
	} else {
		for (gsize i = 0; i < d->ps.n_keys; i++)
			g_ptr_array_add(list, &d->ps.keys[i]);
	}
	if (list->len >= TCSD_MAX_REPLY_PARMS)
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	tcs_packet_put_u32(rq->out, list->len);
	for (guint i = 0; i < list->len; i++)
		put_keyinfo(rq, list->pdata[i], v2);
	return 0;
}

guint32
tcsd_op_get_registered_key_blob(TcsdRequest *rq)
{
	const TcsPsKey *pk;
	guint32 ctx, rc;
	TcsUuid uuid;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_uuid(rq->in, &uuid))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	pk = tcs_ps_find(&rq->d->ps, &uuid);
	if (!pk)
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	rc = tcsd_ps_check_rk(rq->d, pk);
	if (rc)
		return rc;
	tcs_packet_put_blob(rq->out, pk->blob, (guint32)pk->blob_len);
	return 0;
}

guint32
tcsd_op_get_registered_key_by_public_info(TcsdRequest *rq)
{
	const TcsPsKey *pk;
	const guint8 *pub;
	guint32 ctx, alg, len, rc;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &alg) ||
	    tcs_packet_get_blob(rq->in, TCSD_MAX_KEY_BLOB, &pub, &len))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (alg != TPM_ALG_RSA)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	pk = len ? tcs_ps_find_by_pubkey(&rq->d->ps, pub, len) : NULL;
	if (!pk)
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	rc = tcsd_ps_check_rk(rq->d, pk);
	if (rc)
		return rc;
	tcs_packet_put_blob(rq->out, pk->blob, (guint32)pk->blob_len);
	return 0;
}

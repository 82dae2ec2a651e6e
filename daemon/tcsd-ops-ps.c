/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* System persistent storage: keys registered by UUID, kept in system.data. */
#include "config.h"

#include <errno.h>

#include "tcs-key.h"
#include "tcs-types.h"
#include "tcs-uuid.h"
#include "tcsd-dispatch.h"
#include "tcsd-manager.h"
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
	TcsPs old;
	int r = tcs_ps_save_file(d->ps_path, next);

	if (r < 0) {
		g_warning("cannot write %s: %s", d->ps_path, g_strerror(-r));
		return r;
	}
	old = d->ps;
	d->ps = *next;
	*next = old;
	return 0;
}

guint32
tcsd_ps_register(TcsdDaemon *d, const TcsUuid *uuid, const TcsUuid *parent, const guint8 *blob,
		 gsize blob_len, const guint8 *vendor, gsize vendor_len)
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
	tcsd_manager_keys_changed(d, uuid, NULL);
	return 0;
}

guint32
tcsd_op_register_key(TcsdRequest *rq)
{
	TcsdDaemon *d = rq->d;
	const guint8 *blob, *vendor = NULL;
	guint32 ctx, blob_len, vendor_len = 0;
	TcsUuid parent, uuid;
	_cleanup_key_ TcsKey k = {0};

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_uuid(rq->in, &parent) ||
	    tcs_packet_get_uuid(rq->in, &uuid) ||
	    tcs_packet_get_blob(rq->in, TCSD_MAX_KEY_BLOB, &blob, &blob_len))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	/* the vendor data is optional: its size may be missing, or its bytes when 0 */
	if (tcs_packet_peek_type(rq->in) == TCSD_TYPE_UINT32 &&
	    tcs_packet_get_blob(rq->in, TCSD_MAX_VENDOR_DATA, &vendor, &vendor_len))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (tcs_ps_find(&d->ps, &uuid))
		return TCS_ERR(TSS_E_KEY_ALREADY_REGISTERED);
	if (!tcs_uuid_equal(&parent, &TCS_UUID_SRK) && !tcs_ps_find(&d->ps, &parent))
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	if (tcs_key_parse(blob, blob_len, &k, NULL) < 0)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	return tcsd_ps_register(d, &uuid, &parent, blob, blob_len, vendor, vendor_len);
}

guint32
tcsd_op_unregister_key(TcsdRequest *rq)
{
	TcsdDaemon *d = rq->d;
	guint32 ctx;
	TcsUuid uuid;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_uuid(rq->in, &uuid))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (tcs_ps_remove(&d->ps, &uuid) < 0)
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	if (ps_commit(d)) {
		(void)ps_reload(d);
		return TCS_ERR(TSS_E_FAIL);
	}
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
	guint32 ctx;
	TcsUuid uuid;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_uuid(rq->in, &uuid))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	pk = tcs_ps_find(&rq->d->ps, &uuid);
	if (!pk)
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	tcs_packet_put_blob(rq->out, pk->blob, (guint32)pk->blob_len);
	return 0;
}

guint32
tcsd_op_get_registered_key_by_public_info(TcsdRequest *rq)
{
	const TcsPsKey *pk;
	const guint8 *pub;
	guint32 ctx, alg, len;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &alg) ||
	    tcs_packet_get_blob(rq->in, TCSD_MAX_KEY_BLOB, &pub, &len))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (alg != TPM_ALG_RSA)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	pk = len ? tcs_ps_find_by_pubkey(&rq->d->ps, pub, len) : NULL;
	if (!pk)
		return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	tcs_packet_put_blob(rq->out, pk->blob, (guint32)pk->blob_len);
	return 0;
}

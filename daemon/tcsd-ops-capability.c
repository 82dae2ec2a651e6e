/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM_GetCapability for a TCS context. The areas that list or probe TPM handles
 * answer in the caller's terms: its own virtual handles only, never the TPM's
 * raw handles of other clients' keys and sessions. Every other area is the
 * TPM's answer.
 */
#include "config.h"

#include "tcs-types.h"
#include "tcsd-dispatch.h"
#include "tcsd-keys.h"
#include "tcsd-sessions.h"
#include "tcsd-tpm.h"

/* TPM_KEY_HANDLE_LIST: UINT16 count, then the handles; each handle once. */
static void
put_handle_list(TcsdRequest *rq, const GArray *handles)
{
	g_autoptr(GArray) once = g_array_new(FALSE, FALSE, sizeof(guint32));
	TcsWbuf w;

	for (guint i = 0; i < handles->len; i++) {
		guint32 h = g_array_index(handles, guint32, i);
		gboolean seen = FALSE;

		for (guint j = 0; j < once->len && !seen; j++)
			seen = g_array_index(once, guint32, j) == h;
		if (!seen)
			g_array_append_val(once, h);
	}
	tcs_wbuf_init(&w, 2 + 4 * once->len);
	tcs_wbuf_u16(&w, (guint16)MIN(once->len, G_MAXUINT16));
	for (guint i = 0; i < once->len && i < G_MAXUINT16; i++)
		tcs_wbuf_u32(&w, g_array_index(once, guint32, i));
	tcs_packet_put_blob(rq->out, w.data, (guint32)w.len);
	tcs_wbuf_free(&w);
}

/* The context's own sessions: transports (want_transport) or the others. */
static GArray *
own_sessions(TcsdRequest *rq, gboolean want_transport)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(guint32));

	for (guint i = 0; i < rq->ctx->auths->len; i++) {
		guint32 h = g_array_index(rq->ctx->auths, guint32, i), tpm;

		if (tcsd_sessions_transport(rq->d->sessions, h, &tpm, NULL) == want_transport)
			g_array_append_val(a, h);
	}
	return a;
}

/* TPM_CAP_HANDLE, by resource type. */
static guint32
handle_list(TcsdRequest *rq, guint32 type)
{
	g_autoptr(GArray) a = NULL;

	switch (type) {
	case TPM_RT_KEY:
		put_handle_list(rq, rq->ctx->keys);
		return 0;
	case TPM_RT_AUTH:
	case TPM_RT_TRANS:
		a = own_sessions(rq, type == TPM_RT_TRANS);
		put_handle_list(rq, a);
		return 0;
	default:
		/* saved contexts, DAA, ...: nothing a client holds through tcsd */
		a = g_array_new(FALSE, FALSE, sizeof(guint32));
		put_handle_list(rq, a);
		return 0;
	}
}

/* TPM_CAP_KEY_STATUS names a key: the caller's own, translated. */
static guint32
key_status(TcsdRequest *rq, guint32 key)
{
	const guint8 *data;
	guint32 tpm = 0, len, rc;

	if (!tcsd_keys_is_reserved(key) && !tcsd_context_has_key(rq->ctx, key))
		return TCS_ERR(TCS_E_INVALID_KEY);
	rc = tcsd_keys_translate(rq->d->keys, key, &tpm);
	if (rc == 0)
		rc = tcsd_tpm_get_capability(rq->d->tpm, TPM_CAP_KEY_STATUS, tpm, &data, &len);
	if (rc == 0)
		tcs_packet_put_blob(rq->out, data, len);
	return rc;
}

guint32
tcsd_op_get_capability(TcsdRequest *rq)
{
	TcsPacketReader start = *rq->in;
	const guint8 *sub = NULL;
	guint32 ctx, area, sub_len = 0, sub32;
	TcsRbuf r;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &area) ||
	    tcs_packet_get_blob(rq->in, TCS_TPM_MAX_COMMAND, &sub, &sub_len) ||
	    !tcs_packet_reader_done(rq->in))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	tcs_rbuf_init(&r, sub, sub_len);
	sub32 = tcs_rbuf_u32(&r);
	if (area == TPM_CAP_KEY_HANDLE) {
		put_handle_list(rq, rq->ctx->keys);
		return 0;
	}
	if (tcs_capability_names_handles(area)) {
		if (!tcs_rbuf_ok(&r) || tcs_rbuf_remaining(&r) != 0)
			return TCS_ERR(TSS_E_BAD_PARAMETER);
		return area == TPM_CAP_HANDLE ? handle_list(rq, sub32) : key_status(rq, sub32);
	}
	/* any other area: the TPM's answer, through the schema */
	*rq->in = start;
	return tcsd_run_passthrough(rq);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-dispatch.h"
#include "tcsd-manager.h"

#include <errno.h>

#include "tcs-rc.h"
#include "tcs-types.h"
#include "tcsd-keys.h"
#include "tcsd-peer.h"
#include "tcsd-sessions.h"
#include "tcsd-tpm.h"

static const struct {
	guint32 ordinal;
	TcsdHandlerFunc func;
} handlers[] = {
	{1, tcsd_op_open_context},
	{2, tcsd_op_close_context},
	{4, tcsd_op_tcs_get_capability},
	{5, tcsd_op_register_key},
	{6, tcsd_op_unregister_key},
	{7, tcsd_op_enum_registered_keys},
	{9, tcsd_op_get_registered_key_blob},
	{10, tcsd_op_get_registered_key_by_public_info},
	{11, tcsd_op_load_key_by_blob},
	{12, tcsd_op_load_key_by_uuid},
	{13, tcsd_op_evict_key},
	{16, tcsd_op_make_identity},
	{17, tcsd_op_log_pcr_event},
	{18, tcsd_op_get_pcr_event},
	{19, tcsd_op_get_pcr_event_by_pcr},
	{20, tcsd_op_get_pcr_event_log},
	{22, tcsd_op_take_ownership},
	{23, tcsd_op_oiap},
	{24, tcsd_op_osap},
	{29, tcsd_op_terminate_handle},
	{31, tcsd_op_extend},
	{32, tcsd_op_pcr_read},
	{46, tcsd_op_get_capability},
	{66, tcsd_op_physical_presence},
	{86, tcsd_op_get_credential},
	{92, tcsd_op_establish_transport},
	{93, tcsd_op_execute_transport},
	{94, tcsd_op_release_transport_signed},
	{101, tcsd_op_enum_registered_keys},
	{120, tcsd_op_flush_specific_transport},
	{121, tcsd_op_key_control_owner},
	{122, tcsd_op_dsap},
};

static TcsdHandlerFunc
lookup_handler(guint32 ordinal)
{
	for (gsize i = 0; i < G_N_ELEMENTS(handlers); i++)
		if (handlers[i].ordinal == ordinal)
			return handlers[i].func;
	return NULL;
}

static guint32
translate_key(guint32 tcs_handle, guint32 *tpm_handle, void *user_data)
{
	TcsdRequest *rq = user_data;

	/* a context may only use keys it loaded itself (and the reserved ones) */
	if (!tcsd_keys_is_reserved(tcs_handle) && !tcsd_context_has_key(rq->ctx, tcs_handle))
		return TCS_ERR(TCS_E_INVALID_KEY);
	return tcsd_keys_translate(rq->d->keys, tcs_handle, tpm_handle);
}

/* Forget sessions the TPM ended: continueAuthSession FALSE, or any failure. */
static void
account_sessions(TcsdRequest *rq, const TcsSchemaRequest *st, guint32 result)
{
	for (unsigned i = 0; i < st->n_auth_slots; i++) {
		guint32 h = st->auth[i].handle;

		if (!st->auth_present[i])
			continue;
		if (result != 0) {
			/* the TPM may or may not have kept it: make sure */
			tcsd_sessions_close(rq->d->sessions, h);
			tcsd_context_remove_auth(rq->ctx, h);
		} else if (!st->auth[i].cont) {
			tcsd_sessions_forget(rq->d->sessions, h);
			tcsd_context_remove_auth(rq->ctx, h);
		}
	}
}

guint32
tcsd_run_passthrough_full(TcsdRequest *rq, TcsSchemaRequest *st)
{
	TcsdTpm *tpm = rq->d->tpm;
	TcsWbuf cmd;
	guint32 rc;

	tcs_wbuf_init(&cmd, TCS_TPM_MAX_COMMAND);
	rc = tcs_schema_build_command(rq->ord, rq->in, translate_key, rq, st, &cmd);
	if (rc == 0 && !tcs_packet_reader_done(rq->in))
		rc = TCS_ERR(TSS_E_INTERNAL_ERROR);
	/* a session is usable only by the context that opened it; the TPM knows it by another handle */
	for (unsigned i = 0, t = 0; rc == 0 && i < st->n_auth_slots; i++) {
		guint32 tpm_handle = 0;

		if (!st->auth_present[i])
			continue;
		if (!tcsd_context_has_auth(rq->ctx, st->auth[i].handle))
			rc = TCS_ERR(TCS_E_INVALID_AUTHHANDLE);
		else
			rc = tcsd_sessions_translate(rq->d->sessions, st->auth[i].handle,
						     &tpm_handle);
		if (rc == 0)
			tcs_schema_set_trailer_handle(&cmd, st, t++, tpm_handle);
	}
	if (rc) {
		/* refused before reaching the TPM: the client's sessions are untouched */
		tcs_wbuf_free_secure(&cmd);
		return rc;
	}
	rc = tcsd_tpm_transmit_wbuf(tpm, &cmd);
	tcs_wbuf_free_secure(&cmd);
	if (rc == 0)
		rc = tcs_schema_build_reply(rq->ord, st, tpm->rsp, tpm->rsp_len, rq->out);
	account_sessions(rq, st, rc);
	return rc;
}

guint32
tcsd_run_passthrough(TcsdRequest *rq)
{
	TcsSchemaRequest st;
	guint32 rc = tcsd_run_passthrough_full(rq, &st);

	explicit_bzero(&st, sizeof(st));
	return rc;
}

/* Who may run what: remote peers their remote_ops, owner-class ordinals allowed users. */
static guint32
check_access(TcsdDaemon *d, TcsdPeer *peer, const TcsOrdinal *o)
{
	if (peer->internal)
		return 0;
	if (!peer->local) {
		if (!d->config->remote_ops[o->ordinal] || (o->flags & TCS_ORD_OWNER)) {
			g_message("refused %s from remote peer %s", o->name, peer->addr);
			return TCS_ERR(TSS_E_FAIL);
		}
		return 0;
	}
	/* the uid was fixed at accept; a peer it could not be established for is nobody */
	if ((o->flags & TCS_ORD_OWNER) && !tcsd_peer_is_owner(peer, d->config)) {
		if (peer->uid_known)
			g_message("refused owner operation %s from %s (uid %ld)", o->name,
				  peer->addr, (long)peer->uid);
		else
			g_message("refused owner operation %s from %s (uid unknown: the connection "
				  "was not established when accepted)",
				  o->name, peer->addr);
		return TCS_ERR(TSS_E_FAIL);
	}
	return 0;
}

guint32
tcsd_dispatch_check_wrapped(TcsdRequest *rq, guint32 tpm_ordinal, gboolean *owner_class)
{
	const TcsOrdinal *o;
	guint32 cursor = 0;
	gboolean known = FALSE;

	*owner_class = FALSE;
	/* tcsd keeps these to itself (contexts, its SRK record) or the TPM refuses them */
	if (tpm_ordinal == TPM_ORD_TakeOwnership || tpm_ordinal == TSC_ORD_PhysicalPresence)
		return TCS_ERR(TSS_E_NOTIMPL);
	/* every TCSD function that sends this ordinal must be open to the caller */
	while ((o = tcs_ordinal_next_for_tpm(tpm_ordinal, &cursor))) {
		guint32 rc = check_access(rq->d, rq->peer, o);

		if (rc)
			return rc;
		known = TRUE;
		*owner_class |= (o->flags & TCS_ORD_OWNER) != 0;
	}
	if (!known) {
		g_message("refused TPM ordinal 0x%x inside a transport session from %s",
			  tpm_ordinal, rq->peer->addr);
		return TCS_ERR(TSS_E_NOTIMPL);
	}
	return 0;
}

static guint32
dispatch(TcsdDaemon *d, TcsdPeer *peer, TcsPacketReader *in, TcsPacketWriter *out,
	 gboolean *data_with_error)
{
	const TcsOrdinal *o = tcs_ordinal_lookup(in->hdr.code);
	TcsdRequest rq = {d, peer, o, in, out, NULL, FALSE};
	TcsdHandlerFunc handler;
	guint32 context, rc;

	if (!o || (o->flags & TCS_ORD_STUB))
		return TCS_ERR(TSS_E_FAIL);
	rc = check_access(d, peer, o);
	if (rc)
		return rc;
	if (o->ordinal != TCSD_ORD_OPENCONTEXT) {
		if (tcs_schema_peek_context(in, &context) != 0)
			return TCS_ERR(TSS_E_INTERNAL_ERROR);
		rq.ctx = tcsd_context_lookup(d, context, peer->id);
		if (!rq.ctx)
			return TCS_ERR(TCS_E_INVALID_CONTEXTHANDLE);
	}
	handler = lookup_handler(o->ordinal);
	if (handler)
		rc = handler(&rq);
	else if (o->tpm_ordinal)
		rc = tcsd_run_passthrough(&rq);
	else
		rc = TCS_ERR(TSS_E_NOTIMPL);
	tcsd_keys_unpin_all(d->keys);
	tcsd_sessions_unpin_all(d->sessions);
	/* tpm-tools changed ownership or state: the D-Bus properties follow */
	if (rc == 0 && (o->flags & TCS_ORD_OWNER) && !peer->internal)
		tcsd_manager_tpm_state_changed(d);
	*data_with_error = rq.data_with_error;
	return rc;
}

guint8 *
tcsd_dispatch_request(TcsdDaemon *d, TcsdPeer *peer, const guint8 *req, gsize len,
		      gsize *reply_len)
{
	TcsPacketReader in;
	TcsPacketWriter out;
	gboolean data_with_error = FALSE;
	guint8 *reply = NULL;
	guint32 rc;

	tcs_packet_writer_init(&out);
	if (tcs_packet_reader_init(&in, req, len) < 0)
		rc = TCS_ERR(TSS_E_INTERNAL_ERROR);
	else
		rc = dispatch(d, peer, &in, &out, &data_with_error);
	if (rc == 0) {
		g_debug("%s from %s: 0x0", tcs_ordinal_name(in.hdr.code) ?: "?", peer->addr);
	} else {
		char desc[96];
		g_debug("%s from %s: %s", tcs_ordinal_name(in.hdr.code) ?: "unknown ordinal",
			peer->addr, tcs_rc_describe(rc, desc, sizeof(desc)));
	}
	if (rc != 0 && !data_with_error) {
		tcs_packet_writer_clear(&out);
		tcs_packet_writer_init(&out);
	}
	if (tcs_packet_writer_finish(&out, rc, &reply, reply_len) < 0) {
		reply = g_malloc(TCSD_HEADER_SIZE);
		tcs_packet_error_reply(TCS_ERR(TSS_E_INTERNAL_ERROR), reply);
		*reply_len = TCSD_HEADER_SIZE;
	}
	tcs_packet_writer_clear(&out);
	return reply;
}

void
tcsd_dispatch_disconnect(TcsdDaemon *d, guint64 conn_id)
{
	tcsd_context_close_connection(d, conn_id);
	tcsd_keys_unpin_all(d->keys);
}

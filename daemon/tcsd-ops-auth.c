/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authorisation sessions: OIAP, OSAP, TerminateHandle. Sessions belong to their context. */
#include "config.h"

#include "tcs-schema.h"
#include "tcs-types.h"
#include "tcsd-dispatch.h"
#include "tcsd-keys.h"
#include "tcsd-sessions.h"
#include "tcsd-tpm.h"

#define TPM_ET_KEYHANDLE 0x01u

static guint32
check_session_limit(TcsdRequest *rq)
{
	return tcsd_context_may_add_auth(rq->d, rq->ctx, rq->peer->addr);
}

/* Send a session command, record the session, and copy handle + nonces to the reply. */
static guint32
open_session(TcsdRequest *rq, TcsWbuf *cmd, const TcsdSessionEntity *entity, guint n_nonces)
{
	TcsdTpm *tpm = rq->d->tpm;
	TcsRbuf r;
	guint32 rc, handle;

	rc = tcsd_sessions_open(rq->d->sessions, cmd, entity, &handle);
	if (rc)
		return rc;
	tcs_rbuf_init(&r, tpm->rsp, tpm->rsp_len);
	tcs_rbuf_skip(&r, 14);
	if (tcs_rbuf_remaining(&r) != 20 * n_nonces) {
		tcsd_sessions_close(rq->d->sessions, handle);
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	}
	tcsd_context_add_auth(rq->ctx, handle);
	/* the client gets a virtual handle: the session may move in the TPM */
	tcs_packet_put_u32(rq->out, handle);
	for (guint i = 0; i < n_nonces; i++)
		tcs_packet_put_20(rq->out, TCSD_TYPE_NONCE, tcs_rbuf_take(&r, 20));
	return 0;
}

guint32
tcsd_op_oiap(TcsdRequest *rq)
{
	TcsWbuf cmd;
	guint32 ctx, rc;

	if (tcs_packet_get_u32(rq->in, &ctx) || !tcs_packet_reader_done(rq->in))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	rc = check_session_limit(rq);
	if (rc)
		return rc;
	tcs_wbuf_init(&cmd, 64);
	tcs_tpm_command_begin(&cmd, TPM_TAG_RQU_COMMAND, TPM_ORD_OIAP);
	tcs_tpm_command_end(&cmd);
	rc = open_session(rq, &cmd, NULL, 1);
	tcs_wbuf_free(&cmd);
	return rc;
}

guint32
tcsd_op_osap(TcsdRequest *rq)
{
	guint8 nonce[20];
	guint16 type;
	guint32 ctx, value, rc;
	TcsdSessionEntity entity = {FALSE, 0};
	TcsWbuf cmd;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u16(rq->in, &type) ||
	    tcs_packet_get_u32(rq->in, &value) ||
	    tcs_packet_get_20(rq->in, TCSD_TYPE_NONCE, nonce) || !tcs_packet_reader_done(rq->in))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	rc = check_session_limit(rq);
	if (rc)
		return rc;
	entity.value = value;
	/* a session bound to a key names the key by its TPM slot */
	if ((type & 0xff) == TPM_ET_KEYHANDLE) {
		entity.is_key = TRUE;
		if (!tcsd_keys_is_reserved(value) && !tcsd_context_has_key(rq->ctx, value))
			return TCS_ERR(TCS_E_INVALID_KEY);
		rc = tcsd_keys_translate(rq->d->keys, value, &value);
		if (rc)
			return rc;
	}
	tcs_wbuf_init(&cmd, 64);
	tcs_tpm_command_begin(&cmd, TPM_TAG_RQU_COMMAND, TPM_ORD_OSAP);
	tcs_wbuf_u16(&cmd, type);
	tcs_wbuf_u32(&cmd, value);
	tcs_wbuf_bytes(&cmd, nonce, sizeof(nonce));
	tcs_tpm_command_end(&cmd);
	rc = open_session(rq, &cmd, &entity, 2);
	tcs_wbuf_free(&cmd);
	return rc;
}

guint32
tcsd_op_terminate_handle(TcsdRequest *rq)
{
	guint32 ctx, handle;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &handle))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	/* libtspi sends this on error paths, where the TPM already ended the session */
	if (!tcsd_context_has_auth(rq->ctx, handle))
		return 0;
	tcsd_context_remove_auth(rq->ctx, handle);
	tcsd_sessions_close(rq->d->sessions, handle);
	return 0;
}

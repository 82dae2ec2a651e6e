/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Delegation: DSAP sessions, which may name a delegated key by its TCS handle. */
#include "config.h"

#include "tcs-schema.h"
#include "tcs-types.h"
#include "tcsd-dispatch.h"
#include "tcsd-keys.h"
#include "tcsd-sessions.h"
#include "tcsd-tpm.h"

#define TPM_ET_DEL_KEY_BLOB 0x09u

/* The TPM handle to send for DSAP's keyHandle; entity records it for session reloads. */
static guint32
dsap_key(TcsdRequest *rq, guint16 type, guint32 handle, TcsdSessionEntity *entity,
	 guint32 *tpm_handle)
{
	*tpm_handle = handle;
	entity->value = handle;
	if (tcsd_keys_is_reserved(handle))
		return 0;
	if (!tcsd_context_has_key(rq->ctx, handle)) {
		/* only a key delegation blob names a key; the others leave the handle unused */
		return (type & 0xff) == TPM_ET_DEL_KEY_BLOB ? TCS_ERR(TCS_E_INVALID_KEY) : 0;
	}
	entity->is_key = TRUE;
	return tcsd_keys_translate(rq->d->keys, handle, tpm_handle);
}

guint32
tcsd_op_dsap(TcsdRequest *rq)
{
	TcsdSessionEntity entity = {FALSE, 0};
	const guint8 *value;
	guint8 nonce[20];
	guint32 ctx, key, tpm_key, value_len, handle, rc;
	guint16 type;
	TcsWbuf cmd;
	TcsRbuf r;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u16(rq->in, &type) ||
	    tcs_packet_get_u32(rq->in, &key) ||
	    tcs_packet_get_20(rq->in, TCSD_TYPE_NONCE, nonce) ||
	    tcs_packet_get_blob(rq->in, TCS_TPM_MAX_COMMAND - 64, &value, &value_len) ||
	    !tcs_packet_reader_done(rq->in))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	rc = tcsd_context_may_add_auth(rq->d, rq->ctx, rq->peer->addr);
	if (rc)
		return rc;
	rc = dsap_key(rq, type, key, &entity, &tpm_key);
	if (rc)
		return rc;
	tcs_wbuf_init(&cmd, TCS_TPM_MAX_COMMAND);
	tcs_tpm_command_begin(&cmd, TPM_TAG_RQU_COMMAND, TPM_ORD_DSAP);
	tcs_wbuf_u16(&cmd, type);
	tcs_wbuf_u32(&cmd, tpm_key);
	tcs_wbuf_bytes(&cmd, nonce, sizeof(nonce));
	tcs_wbuf_u32(&cmd, value_len);
	tcs_wbuf_bytes(&cmd, value, value_len);
	tcs_tpm_command_end(&cmd);
	rc = tcs_wbuf_ok(&cmd) ? tcsd_sessions_open(rq->d->sessions, &cmd, &entity, &handle)
			       : TCS_ERR(TSS_E_INTERNAL_ERROR);
	tcs_wbuf_free(&cmd);
	if (rc)
		return rc;
	tcs_rbuf_init(&r, rq->d->tpm->rsp, rq->d->tpm->rsp_len);
	tcs_rbuf_skip(&r, 14);
	if (tcs_rbuf_remaining(&r) != 40) {
		tcsd_sessions_close(rq->d->sessions, handle);
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	}
	tcsd_context_add_auth(rq->ctx, handle);
	/* the client gets the virtual handle, then nonceEven and nonceEvenDSAP */
	tcs_packet_put_u32(rq->out, handle);
	tcs_packet_put_20(rq->out, TCSD_TYPE_NONCE, tcs_rbuf_take(&r, 20));
	tcs_packet_put_20(rq->out, TCSD_TYPE_NONCE, tcs_rbuf_take(&r, 20));
	return 0;
}

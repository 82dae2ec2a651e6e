/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-tpm.h"

#include "tcs-schema.h"
#include "tcs-types.h"

TcsdTpm *
tcsd_tpm_new(TcsdTpmDevice *dev)
{
	TcsdTpm *t = g_new0(TcsdTpm, 1);
	t->dev = dev;
	return t;
}

void
tcsd_tpm_free(TcsdTpm *t)
{
	if (!t)
		return;
	g_clear_pointer(&t->dev, tcsd_tpm_device_free);
	explicit_bzero(t->rsp, sizeof(t->rsp));
	g_free(t);
}

guint32
tcsd_tpm_transmit(TcsdTpm *t, const guint8 *cmd, gsize len)
{
	g_autoptr(GError) error = NULL;

	t->rsp_len = 0;
	t->n_commands++;
	if (!tcsd_tpm_device_transmit(t->dev, cmd, len, t->rsp, sizeof(t->rsp), &t->rsp_len,
				      &error)) {
		g_warning("TPM command failed: %s", error->message);
		t->rsp_len = 0;
		return TCS_ERR(TSS_E_COMM_FAILURE);
	}
	return tcs_tpm_reply_code(t->rsp, t->rsp_len);
}

guint32
tcsd_tpm_transmit_wbuf(TcsdTpm *t, TcsWbuf *cmd)
{
	if (!tcs_wbuf_ok(cmd))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	return tcsd_tpm_transmit(t, cmd->data, cmd->len);
}

guint32
tcsd_tpm_flush(TcsdTpm *t, guint32 handle, guint32 resource_type)
{
	TcsWbuf w;
	guint32 rc;

	tcs_wbuf_init(&w, 64);
	tcs_tpm_command_begin(&w, TPM_TAG_RQU_COMMAND, TPM_ORD_FlushSpecific);
	tcs_wbuf_u32(&w, handle);
	tcs_wbuf_u32(&w, resource_type);
	tcs_tpm_command_end(&w);
	rc = tcsd_tpm_transmit_wbuf(t, &w);
	tcs_wbuf_free(&w);
	return rc;
}

guint32
tcsd_tpm_get_property(TcsdTpm *t, guint32 prop, guint32 *value)
{
	const guint8 *data;
	guint32 len, rc;
	TcsRbuf r;

	rc = tcsd_tpm_get_capability(t, TPM_CAP_PROPERTY, prop, &data, &len);
	if (rc)
		return rc;
	tcs_rbuf_init(&r, data, len);
	*value = tcs_rbuf_u32(&r);
	return tcs_rbuf_ok(&r) ? 0 : TCS_ERR(TSS_E_INTERNAL_ERROR);
}

guint32
tcsd_tpm_save_context(TcsdTpm *t, guint32 handle, guint32 resource_type, guint8 **blob, gsize *len)
{
	static const guint8 label[16] = "tcsd-swap";
	TcsWbuf w;
	TcsRbuf r;
	guint32 rc, n;
	const guint8 *p;

	tcs_wbuf_init(&w, 64);
	tcs_tpm_command_begin(&w, TPM_TAG_RQU_COMMAND, TPM_ORD_SaveContext);
	tcs_wbuf_u32(&w, handle);
	tcs_wbuf_u32(&w, resource_type);
	tcs_wbuf_bytes(&w, label, sizeof(label));
	tcs_tpm_command_end(&w);
	rc = tcsd_tpm_transmit_wbuf(t, &w);
	tcs_wbuf_free(&w);
	if (rc)
		return rc;
	tcs_rbuf_init(&r, t->rsp, t->rsp_len);
	tcs_rbuf_skip(&r, 10);
	n = tcs_rbuf_u32(&r);
	p = tcs_rbuf_take(&r, n);
	if (!p)
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	*blob = g_memdup2(p, n);
	*len = n;
	return 0;
}

guint32
tcsd_tpm_load_context(TcsdTpm *t, guint32 entity, const guint8 *blob, gsize len, guint32 *handle)
{
	TcsWbuf w;
	TcsRbuf r;
	guint32 rc;

	tcs_wbuf_init(&w, 8192);
	tcs_tpm_command_begin(&w, TPM_TAG_RQU_COMMAND, TPM_ORD_LoadContext);
	tcs_wbuf_u32(&w, entity);
	tcs_wbuf_u8(&w, 0); /* keepHandle: any handle will do, clients never see it */
	tcs_wbuf_u32(&w, (guint32)len);
	tcs_wbuf_bytes(&w, blob, len);
	tcs_tpm_command_end(&w);
	rc = tcsd_tpm_transmit_wbuf(t, &w);
	tcs_wbuf_free(&w);
	if (rc)
		return rc;
	tcs_rbuf_init(&r, t->rsp, t->rsp_len);
	tcs_rbuf_skip(&r, 10);
	*handle = tcs_rbuf_u32(&r);
	return tcs_rbuf_ok(&r) ? 0 : TCS_ERR(TSS_E_INTERNAL_ERROR);
}

guint32
tcsd_tpm_get_capability(TcsdTpm *t, guint32 area, guint32 sub, const guint8 **data, guint32 *len)
{
	TcsWbuf w;
	TcsRbuf r;
	guint32 rc;

	tcs_wbuf_init(&w, 64);
	tcs_tpm_command_begin(&w, TPM_TAG_RQU_COMMAND, TPM_ORD_GetCapability);
	tcs_wbuf_u32(&w, area);
	tcs_wbuf_u32(&w, 4);
	tcs_wbuf_u32(&w, sub);
	tcs_tpm_command_end(&w);
	rc = tcsd_tpm_transmit_wbuf(t, &w);
	tcs_wbuf_free(&w);
	if (rc)
		return rc;
	tcs_rbuf_init(&r, t->rsp, t->rsp_len);
	tcs_rbuf_skip(&r, 10);
	*len = tcs_rbuf_u32(&r);
	*data = tcs_rbuf_take(&r, *len);
	return tcs_rbuf_ok(&r) ? 0 : TCS_ERR(TSS_E_INTERNAL_ERROR);
}

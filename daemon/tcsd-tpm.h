/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TPM command transport for the worker thread, plus the few commands tcsd sends itself. */
#pragma once

#include <glib.h>

#include "tcs-buf.h"
#include "tcsd-tpm-device.h"

struct _TcsdTpm {
	TcsdTpmDevice *dev;
	guint8 rsp[8192];
	gsize rsp_len;
	guint64 n_commands;
};

typedef struct _TcsdTpm TcsdTpm;

TcsdTpm *tcsd_tpm_new(TcsdTpmDevice *dev);
void tcsd_tpm_free(TcsdTpm *t);
/*
 * Send a complete TPM command; on success the reply is in t->rsp/t->rsp_len
 * (valid until the next call) and its return code is returned. A transport
 * failure returns TCS_ERR(TSS_E_COMM_FAILURE)-style codes and logs why.
 */
guint32 tcsd_tpm_transmit(TcsdTpm *t, const guint8 *cmd, gsize len);
guint32 tcsd_tpm_transmit_wbuf(TcsdTpm *t, TcsWbuf *cmd);
/* TPM_FlushSpecific(handle, resource type); the result is returned, not logged. */
guint32 tcsd_tpm_flush(TcsdTpm *t, guint32 handle, guint32 resource_type);
/* TPM_GetCapability(TPM_CAP_PROPERTY, prop) as a UINT32 (free key slots, sessions, …). */
guint32 tcsd_tpm_get_property(TcsdTpm *t, guint32 prop, guint32 *value);
/* TPM_SaveContext of a loaded resource; *blob is g_malloc'ed. */
guint32 tcsd_tpm_save_context(TcsdTpm *t, guint32 handle, guint32 resource_type, guint8 **blob,
			      gsize *len);
/* TPM_LoadContext of a saved blob; entity is the key an OSAP/DSAP session is bound to. */
guint32 tcsd_tpm_load_context(TcsdTpm *t, guint32 entity, const guint8 *blob, gsize len,
			      guint32 *handle);
/* TPM_GetCapability(area, u32 subcap); data borrowed from t->rsp. */
guint32 tcsd_tpm_get_capability(TcsdTpm *t, guint32 area, guint32 sub, const guint8 **data,
				guint32 *len);

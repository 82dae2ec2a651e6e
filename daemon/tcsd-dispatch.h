/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One TCSD request on the worker thread: checks, then a handler or the schema interpreter. */
#pragma once

#include <glib.h>

#include "tcs-ordinal.h"
#include "tcs-packet.h"
#include "tcs-schema.h"
#include "tcsd-context.h"
#include "tcsd-daemon.h"

typedef struct {
	TcsdDaemon *d;
	TcsdPeer *peer;
	const TcsOrdinal *ord;
	TcsPacketReader *in;
	TcsPacketWriter *out;
	TcsdContext *ctx; /* NULL only for OPENCONTEXT */
	/* set by a handler to send its parameters with a non-zero result */
	gboolean data_with_error;
} TcsdRequest;

typedef guint32 (*TcsdHandlerFunc)(TcsdRequest *rq);

/* The schema interpreter: TCSD request -> TPM command -> TCSD reply. */
guint32 tcsd_run_passthrough(TcsdRequest *rq);
/* Same, but leaves the parsed request for the caller (e.g. TakeOwnership's follow-up). */
guint32 tcsd_run_passthrough_full(TcsdRequest *rq, TcsSchemaRequest *st);

/*
 * A TPM command wrapped in a transport session: allowed only if every TCSD
 * function that sends it would be allowed to this peer (owner_users, remote_ops).
 * *owner_class: whether one of them is of the ownership class.
 */
guint32 tcsd_dispatch_check_wrapped(TcsdRequest *rq, guint32 tpm_ordinal,
				    gboolean *owner_class);

/* Handlers, one family per file. */
guint32 tcsd_op_open_context(TcsdRequest *rq);
guint32 tcsd_op_close_context(TcsdRequest *rq);
guint32 tcsd_op_tcs_get_capability(TcsdRequest *rq);
guint32 tcsd_op_get_credential(TcsdRequest *rq);
guint32 tcsd_op_register_key(TcsdRequest *rq);
guint32 tcsd_op_unregister_key(TcsdRequest *rq);
guint32 tcsd_op_enum_registered_keys(TcsdRequest *rq);
guint32 tcsd_op_get_registered_key_blob(TcsdRequest *rq);
guint32 tcsd_op_get_registered_key_by_public_info(TcsdRequest *rq);
guint32 tcsd_op_load_key_by_blob(TcsdRequest *rq);
guint32 tcsd_op_load_key_by_uuid(TcsdRequest *rq);
guint32 tcsd_op_evict_key(TcsdRequest *rq);
guint32 tcsd_op_flush_specific(TcsdRequest *rq);
guint32 tcsd_op_oiap(TcsdRequest *rq);
guint32 tcsd_op_osap(TcsdRequest *rq);
guint32 tcsd_op_terminate_handle(TcsdRequest *rq);
guint32 tcsd_op_take_ownership(TcsdRequest *rq);
guint32 tcsd_op_make_identity(TcsdRequest *rq);
guint32 tcsd_op_physical_presence(TcsdRequest *rq);
guint32 tcsd_op_extend(TcsdRequest *rq);
guint32 tcsd_op_pcr_read(TcsdRequest *rq);
/* TPM_GetCapability; the areas naming TPM handles answer with the caller's own. */
guint32 tcsd_op_get_capability(TcsdRequest *rq);
guint32 tcsd_op_log_pcr_event(TcsdRequest *rq);
guint32 tcsd_op_get_pcr_event(TcsdRequest *rq);
guint32 tcsd_op_get_pcr_event_by_pcr(TcsdRequest *rq);
guint32 tcsd_op_get_pcr_event_log(TcsdRequest *rq);
guint32 tcsd_op_dsap(TcsdRequest *rq);
guint32 tcsd_op_key_control_owner(TcsdRequest *rq);
guint32 tcsd_op_establish_transport(TcsdRequest *rq);
guint32 tcsd_op_execute_transport(TcsdRequest *rq);
guint32 tcsd_op_release_transport_signed(TcsdRequest *rq);
/* FlushSpecific that knows transport handles, else tcsd_op_flush_specific. */
guint32 tcsd_op_flush_specific_transport(TcsdRequest *rq);

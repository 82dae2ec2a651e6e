/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TCS event log: events clients log with LogPcrEvent, kept in memory for
 * this boot (TrouSerS does the same; firmware and IMA logs are not merged).
 */
#include "config.h"

#include "tcs-types.h"
#include "tcsd-dispatch.h"

#define TCSD_EVLOG_PCRS 24u
#define TCSD_EVLOG_MAX_EVENTS 4096u
#define TCSD_EVLOG_MAX_EVENT_DATA 4096u
#define TCSD_EVLOG_MAX_PCR_VALUE 64u

typedef struct {
	TcsPcrEvent ev; /* pointers below are owned copies */
	guint8 *pcr_value;
	guint8 *event;
} LoggedEvent;

struct _TcsdEventLog {
	GPtrArray *per_pcr[TCSD_EVLOG_PCRS];
	guint total;
};

static void
logged_event_free(LoggedEvent *e)
{
	g_free(e->pcr_value);
	g_free(e->event);
	g_free(e);
}

static TcsdEventLog *
evlog_get(TcsdDaemon *d)
{
	if (!d->evlog) {
		d->evlog = g_new0(TcsdEventLog, 1);
		for (guint i = 0; i < TCSD_EVLOG_PCRS; i++)
			d->evlog->per_pcr[i] =
				g_ptr_array_new_with_free_func((GDestroyNotify)logged_event_free);
	}
	return d->evlog;
}

void tcsd_evlog_free(TcsdEventLog *log);
void
tcsd_evlog_free(TcsdEventLog *log)
{
	if (!log)
		return;
	for (guint i = 0; i < TCSD_EVLOG_PCRS; i++)
		g_ptr_array_unref(log->per_pcr[i]);
	g_free(log);
}

static gboolean
pcr_is_external(TcsdDaemon *d, guint32 pcr)
{
	guint32 mask = d->config->firmware_pcrs | d->config->kernel_pcrs;
	return pcr < 32 && (mask & (1u << pcr));
}

/*
 * Extend and PcrRead check the PCR index before the TPM sees it, as TrouSerS
 * does: an index the TPM does not have is TSS_E_BAD_PARAMETER (not the TPM's
 * TPM_BADINDEX), and a PCR configured as firmware_pcrs / kernel_pcrs cannot
 * be extended through tcsd (TSS_E_FAIL), or its external log would no longer
 * replay to its value.
 */
static guint32
pcr_checked_passthrough(TcsdRequest *rq, gboolean extend)
{
	TcsPacketReader peek = *rq->in;
	guint32 ctx, pcr;

	if (tcs_packet_get_u32(&peek, &ctx) || tcs_packet_get_u32(&peek, &pcr))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (pcr >= TCSD_EVLOG_PCRS)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	if (extend && pcr_is_external(rq->d, pcr)) {
		g_message("refused Extend of PCR %u (firmware_pcrs / kernel_pcrs) from %s", pcr,
			  rq->peer->addr);
		return TCS_ERR(TSS_E_FAIL);
	}
	return tcsd_run_passthrough(rq);
}

guint32
tcsd_op_extend(TcsdRequest *rq)
{
	return pcr_checked_passthrough(rq, TRUE);
}

guint32
tcsd_op_pcr_read(TcsdRequest *rq)
{
	return pcr_checked_passthrough(rq, FALSE);
}

guint32
tcsd_op_log_pcr_event(TcsdRequest *rq)
{
	TcsdEventLog *log = evlog_get(rq->d);
	TcsPcrEvent ev;
	LoggedEvent *e;
	guint32 ctx;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_pcr_event(rq->in, &ev))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (ev.pcr_index >= TCSD_EVLOG_PCRS)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	/* as TrouSerS: the firmware's / kernel's PCRs are not the TCS log's */
	if (pcr_is_external(rq->d, ev.pcr_index))
		return TCS_ERR(TSS_E_FAIL);
	if (ev.event_len > TCSD_EVLOG_MAX_EVENT_DATA || ev.pcr_value_len > TCSD_EVLOG_MAX_PCR_VALUE)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	if (log->total >= TCSD_EVLOG_MAX_EVENTS)
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	/* the log lasts until tcsd stops: no peer may fill it for everyone */
	if (!rq->ctx->usage->exempt && rq->ctx->usage->events >= rq->d->config->max_events_per_peer) {
		g_warning("%s: %s logged %u events (max_events_per_peer), refusing another",
			  rq->peer->addr, rq->ctx->usage->key, rq->ctx->usage->events);
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	}
	rq->ctx->usage->events++;
	e = g_new0(LoggedEvent, 1);
	e->ev = ev;
	e->pcr_value = g_memdup2(ev.pcr_value, ev.pcr_value_len);
	e->event = g_memdup2(ev.event, ev.event_len);
	e->ev.pcr_value = e->pcr_value;
	e->ev.event = e->event;
	g_ptr_array_add(log->per_pcr[ev.pcr_index], e);
	log->total++;
	tcs_packet_put_u32(rq->out, log->per_pcr[ev.pcr_index]->len - 1);
	return 0;
}

guint32
tcsd_op_get_pcr_event(TcsdRequest *rq)
{
	TcsdEventLog *log = evlog_get(rq->d);
	guint32 ctx, pcr, number;
	guint8 length_only = 0;
	GPtrArray *events;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &pcr) ||
	    tcs_packet_get_u32(rq->in, &number) || tcs_packet_get_u8(rq->in, &length_only))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (pcr >= TCSD_EVLOG_PCRS)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	events = log->per_pcr[pcr];
	if (length_only) {
		tcs_packet_put_u32(rq->out, events->len);
		return 0;
	}
	if (number >= events->len)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	tcs_packet_put_u32(rq->out, number);
	tcs_packet_put_pcr_event(rq->out, &((LoggedEvent *)events->pdata[number])->ev);
	return 0;
}

guint32
tcsd_op_get_pcr_event_by_pcr(TcsdRequest *rq)
{
	TcsdEventLog *log = evlog_get(rq->d);
	guint32 ctx, pcr, first, count;
	GPtrArray *events;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &pcr) ||
	    tcs_packet_get_u32(rq->in, &first) || tcs_packet_get_u32(rq->in, &count))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (pcr >= TCSD_EVLOG_PCRS)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	events = log->per_pcr[pcr];
	if (first > events->len)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	/* one reply holds at most TCSD_MAX_REPLY_PARMS - 1 events */
	count = MIN(count, events->len - first);
	count = MIN(count, TCSD_MAX_REPLY_PARMS - 1);
	tcs_packet_put_u32(rq->out, count);
	for (guint32 i = 0; i < count; i++)
		tcs_packet_put_pcr_event(rq->out, &((LoggedEvent *)events->pdata[first + i])->ev);
	return 0;
}

guint32
tcsd_op_get_pcr_event_log(TcsdRequest *rq)
{
	TcsdEventLog *log = evlog_get(rq->d);
	guint32 ctx, n = 0;

	if (tcs_packet_get_u32(rq->in, &ctx))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	for (guint p = 0; p < TCSD_EVLOG_PCRS; p++)
		n += log->per_pcr[p]->len;
	n = MIN(n, TCSD_MAX_REPLY_PARMS - 1);
	tcs_packet_put_u32(rq->out, n);
	for (guint p = 0; p < TCSD_EVLOG_PCRS && n > 0; p++) {
		for (guint i = 0; i < log->per_pcr[p]->len && n > 0; i++, n--)
			tcs_packet_put_pcr_event(rq->out,
						 &((LoggedEvent *)log->per_pcr[p]->pdata[i])->ev);
	}
	return 0;
}

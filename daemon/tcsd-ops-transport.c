/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transport sessions: EstablishTransport, ExecuteTransport, ReleaseTransportSigned.
 *
 * libtspi sends a wrapped command in pieces: its TPM ordinal, its parameters
 * (DATAw, maybe encrypted), the TCS handles it names and its authorisations;
 * tcsd puts the TPM's handles in and reassembles it. The TPM hashes, logs and
 * encrypts DATAw only (TPM 1.2 Part 3 ExecuteTransport steps 2-7; libtpms counts
 * OSAP's and DSAP's entity fields as handles), and no HMAC covers a handle, so
 * translating handles leaves the transport digest, log and authorisations
 * intact. Keys and sessions a wrapped command creates come back as TPM handles
 * and are adopted as the context's own, under virtual handles.
 */
#include "config.h"

#include <errno.h>

#include "tcs-schema.h"
#include "tcs-types.h"
#include "tcsd-dispatch.h"
#include "tcsd-keys.h"
#include "tcsd-manager.h"
#include "tcsd-sessions.h"
#include "tcsd-tpm.h"

#define TPM_TRANSPORT_ENCRYPT 0x00000001u
#define TPM_TRANSPORT_EXCLUSIVE 0x00000004u
#define TSS_TCSATTRIB_TRANSPORT_EXCLUSIVE 0x00000001u
#define TPM_ET_KEYHANDLE 0x01u
#define TPM_ET_DEL_KEY_BLOB 0x09u
#define TRANSPORT_PUBLIC_SIZE 12u /* tag, transAttributes, algId, encScheme */
#define CURRENT_TICKS_SIZE 32u    /* tag, currentTicks, tickRate, tickNonce */
#define AUTH_RSP_SIZE 41u         /* nonceEven, continueAuthSession, HMAC */

enum { HANDLE_KEY, HANDLE_AUTH, HANDLE_TRANSPORT };

/* A wrapped command as the client sent it, and what tcsd made of it. */
typedef struct {
	guint32 ordinal;
	TcsTpmHandles layout; /* from the ordinal, never from the client */
	gboolean encrypted;   /* DATAw is encrypted: tcsd cannot read it */
	guint32 n_handles;
	guint32 handles[2];
	guint32 tpm_handles[2];
	guint8 kinds[2];
	guint8 data[TCS_TPM_MAX_COMMAND];
	guint32 data_len;
	TcsAuthIn auth[2];
	gboolean auth_present[2];
	TcsAuthIn trans;
	TcsdSessionEntity entity; /* of an OSAP/DSAP session opened inside */
} Wrapped;

static gboolean
all_zero(const void *p, gsize n)
{
	const guint8 *b = p;
	guint8 acc = 0;

	for (gsize i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

static gboolean
auth_absent(const TcsAuthIn *a)
{
	return a->handle == 0 && a->cont == 0 && all_zero(a->nonce_odd, 20) &&
	       all_zero(a->hmac, 20);
}

static guint32
key_handle(TcsdRequest *rq, guint32 h, guint32 *tpm)
{
	/* a context may only use keys it loaded itself (and the reserved ones) */
	if (!tcsd_keys_is_reserved(h) && !tcsd_context_has_key(rq->ctx, h))
		return TCS_ERR(TCS_E_INVALID_KEY);
	return tcsd_keys_translate(rq->d->keys, h, tpm);
}

static guint32
auth_handle(TcsdRequest *rq, guint32 h, guint32 *tpm)
{
	if (!tcsd_context_has_auth(rq->ctx, h))
		return TCS_ERR(TCS_E_INVALID_AUTHHANDLE);
	return tcsd_sessions_translate(rq->d->sessions, h, tpm);
}

static guint32
transport_handle(TcsdRequest *rq, guint32 h, guint32 *tpm, guint32 *attributes)
{
	if (!tcsd_context_has_auth(rq->ctx, h) ||
	    !tcsd_sessions_transport(rq->d->sessions, h, tpm, attributes))
		return TCS_ERR(TCS_E_INVALID_AUTHHANDLE);
	return 0;
}

/* The TPM ended a session (flush = FALSE) or may have kept it (flush = TRUE). */
static void
drop_session(TcsdRequest *rq, guint32 h, gboolean flush)
{
	tcsd_context_remove_auth(rq->ctx, h);
	if (flush)
		tcsd_sessions_close(rq->d->sessions, h);
	else
		tcsd_sessions_forget(rq->d->sessions, h);
}

/* As for any command: a failure ends the session, so does continueAuthSession FALSE. */
static void
account_auth(TcsdRequest *rq, const TcsAuthIn *a, guint32 result)
{
	if (result != 0)
		drop_session(rq, a->handle, TRUE);
	else if (!a->cont)
		drop_session(rq, a->handle, FALSE);
}

static void
put_trailer(TcsWbuf *w, const TcsAuthIn *a, guint32 tpm_handle)
{
	tcs_wbuf_u32(w, tpm_handle);
	tcs_wbuf_bytes(w, a->nonce_odd, 20);
	tcs_wbuf_u8(w, a->cont);
	tcs_wbuf_bytes(w, a->hmac, 20);
}

static void
get_trailer(TcsRbuf *r, TcsAuthOut *o)
{
	tcs_rbuf_copy(r, o->nonce_even, 20);
	o->cont = tcs_rbuf_u8(r);
	tcs_rbuf_copy(r, o->hmac, 20);
}

/* ---- EstablishTransport ---- */

guint32
tcsd_op_establish_transport(TcsdRequest *rq)
{
	const guint8 *info, *secret;
	guint8 ticks[CURRENT_TICKS_SIZE], nonce[20];
	guint32 ctx, flags, key, info_len, secret_len, tpm_key = 0, tpm_auth = 0, rc;
	guint32 attributes, trans = 0, locality = 0, virt;
	TcsAuthIn auth = {0};
	TcsAuthOut auth_out = {0};
	gboolean has_auth;
	TcsWbuf cmd;
	TcsRbuf r;
	int arc;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &flags) ||
	    tcs_packet_get_u32(rq->in, &key) ||
	    tcs_packet_get_blob(rq->in, 256, &info, &info_len) ||
	    tcs_packet_get_blob(rq->in, TCS_TPM_MAX_COMMAND - 128, &secret, &secret_len))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	arc = tcs_packet_get_auth_in(rq->in, &auth);
	if ((arc < 0 && arc != -ENOMSG) || !tcs_packet_reader_done(rq->in))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	has_auth = arc == 0;
	if (info_len != TRANSPORT_PUBLIC_SIZE)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	tcs_rbuf_init(&r, info, info_len);
	tcs_rbuf_skip(&r, 2);
	attributes = tcs_rbuf_u32(&r);
	if (flags == TSS_TCSATTRIB_TRANSPORT_EXCLUSIVE)
		attributes |= TPM_TRANSPORT_EXCLUSIVE;
	/* a transport session counts as one of the context's sessions */
	rc = tcsd_context_may_add_auth(rq->d, rq->ctx, rq->peer->addr);
	if (rc)
		return rc;
	/* as TrouSerS: with enforce_exclusive_transport, one exclusive session at a time */
	if ((attributes & TPM_TRANSPORT_EXCLUSIVE) && rq->d->config->enforce_exclusive_transport &&
	    tcsd_sessions_has_transport_with(rq->d->sessions, TPM_TRANSPORT_EXCLUSIVE)) {
		g_message("%s: an exclusive transport session is already open", rq->peer->addr);
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	}
	/* TPM_KH_TRANSPORT (no encryption key) is a reserved handle and goes through as is */
	rc = key_handle(rq, key, &tpm_key);
	if (rc == 0 && has_auth)
		rc = auth_handle(rq, auth.handle, &tpm_auth);
	if (rc)
		return rc;

	tcs_wbuf_init(&cmd, TCS_TPM_MAX_COMMAND);
	tcs_tpm_command_begin(&cmd, has_auth ? TPM_TAG_RQU_AUTH1_COMMAND : TPM_TAG_RQU_COMMAND,
			      TPM_ORD_EstablishTransport);
	tcs_wbuf_u32(&cmd, tpm_key);
	tcs_wbuf_bytes(&cmd, info, info_len);
	tcs_wbuf_u32(&cmd, secret_len);
	tcs_wbuf_bytes(&cmd, secret, secret_len);
	if (has_auth)
		put_trailer(&cmd, &auth, tpm_auth);
	tcs_tpm_command_end(&cmd);
	rc = tcs_wbuf_ok(&cmd) ? tcsd_tpm_transmit_wbuf(rq->d->tpm, &cmd)
			       : TCS_ERR(TSS_E_INTERNAL_ERROR);
	tcs_wbuf_free_secure(&cmd);
	if (rc == 0) {
		tcs_rbuf_init(&r, rq->d->tpm->rsp, rq->d->tpm->rsp_len);
		tcs_rbuf_skip(&r, 10);
		trans = tcs_rbuf_u32(&r);
		locality = tcs_rbuf_u32(&r);
		tcs_rbuf_copy(&r, ticks, sizeof(ticks));
		tcs_rbuf_copy(&r, nonce, sizeof(nonce));
		if (has_auth)
			get_trailer(&r, &auth_out);
		if (!tcs_rbuf_ok(&r) || tcs_rbuf_remaining(&r) != 0) {
			(void)tcsd_tpm_flush(rq->d->tpm, trans, TPM_RT_TRANS);
			rc = TCS_ERR(TSS_E_INTERNAL_ERROR);
		}
	}
	if (has_auth)
		account_auth(rq, &auth, rc);
	if (rc)
		return rc;
	virt = tcsd_sessions_add_transport(rq->d->sessions, trans, attributes);
	tcsd_context_add_auth(rq->ctx, virt);
	if (has_auth)
		tcs_packet_put_auth_out(rq->out, &auth_out);
	tcs_packet_put_u32(rq->out, locality);
	tcs_packet_put_u32(rq->out, virt);
	tcs_packet_put_u32(rq->out, CURRENT_TICKS_SIZE);
	tcs_packet_put_pbyte(rq->out, ticks, CURRENT_TICKS_SIZE);
	tcs_packet_put_20(rq->out, TCSD_TYPE_NONCE, nonce);
	return 0;
}

/* ---- ExecuteTransport ---- */

static guint32
parse_wrapped(TcsdRequest *rq, Wrapped *w)
{
	const guint8 *data = NULL, *handles = NULL;
	guint32 ctx, data_len;
	TcsRbuf r;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &w->ordinal) ||
	    tcs_packet_get_blob(rq->in, TCS_TPM_MAX_COMMAND - 256, &data, &data_len) ||
	    tcs_packet_get_u32(rq->in, &w->n_handles))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	/* no TPM 1.2 command names more than two handles */
	if (w->n_handles > 2)
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	if (w->n_handles && tcs_packet_get_pbyte(rq->in, w->n_handles * 4, &handles))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (tcs_packet_get_auth_in(rq->in, &w->auth[0]) ||
	    tcs_packet_get_auth_in(rq->in, &w->auth[1]) ||
	    tcs_packet_get_auth_in(rq->in, &w->trans) || !tcs_packet_reader_done(rq->in))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (data_len)
		memcpy(w->data, data, data_len);
	w->data_len = data_len;
	/* the handle list is an array of host-order UINT32 (x86 TrouSerS: little-endian) */
	tcs_rbuf_init(&r, handles, w->n_handles * 4);
	for (guint i = 0; i < w->n_handles; i++)
		w->handles[i] = tcs_rbuf_u32_le(&r);
	/* an all-zero AUTH means none */
	for (guint i = 0; i < 2; i++)
		w->auth_present[i] = !auth_absent(&w->auth[i]);
	return 0;
}

/*
 * What a wrapped FlushSpecific's handle names, by the resourceType that follows
 * it in DATAw: only the caller's own key, session or this transport; never
 * saved contexts (TPM_RT_CONTEXT: other clients' swapped-out sessions), nor
 * anything tcsd does not hand out.
 */
static guint32
flush_kind(TcsdRequest *rq, const Wrapped *w, char *kind)
{
	TcsRbuf r;
	guint32 type;

	if (w->encrypted) {
		g_message("%s: refused FlushSpecific inside an encrypted transport "
			  "(its resource type is unreadable)", rq->peer->addr);
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	}
	tcs_rbuf_init(&r, w->data, w->data_len);
	type = tcs_rbuf_u32(&r);
	if (!tcs_rbuf_ok(&r))
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	switch (type) {
	case TPM_RT_KEY:
		*kind = 'k';
		return 0;
	case TPM_RT_AUTH:
		*kind = 'a';
		return 0;
	case TPM_RT_TRANS:
		*kind = 't';
		return 0;
	default:
		g_message("%s: refused FlushSpecific of resource type 0x%x inside a transport",
			  rq->peer->addr, type);
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	}
}

/*
 * Which of the context's objects each handle names, and the TPM's handle for
 * it. How many handles there are and what they are comes from the ordinal: the
 * TPM reads them by the ordinal, so a count from the client could smuggle a
 * raw TPM handle in through DATAw.
 */
static guint32
translate_handles(TcsdRequest *rq, Wrapped *w, guint32 trans_virt, guint32 trans_tpm)
{
	gboolean flushes = w->ordinal == TPM_ORD_FlushSpecific || w->ordinal == TPM_ORD_EvictKey;

	if (w->n_handles != strlen(w->layout.handles)) {
		g_message("%s: refused TPM ordinal 0x%x inside a transport: %u handles given, "
			  "it takes %zu", rq->peer->addr, w->ordinal, w->n_handles,
			  strlen(w->layout.handles));
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	}
	for (guint i = 0; i < w->n_handles; i++) {
		guint32 h = w->handles[i], rc;
		char kind = w->layout.handles[i];

		if (kind == 'r' && (rc = flush_kind(rq, w, &kind)) != 0)
			return rc;
		switch (kind) {
		case 't':
			if (h != trans_virt)
				return TCS_ERR(TCS_E_INVALID_AUTHHANDLE);
			w->kinds[i] = HANDLE_TRANSPORT;
			w->tpm_handles[i] = trans_tpm;
			break;
		case 'a':
			w->kinds[i] = HANDLE_AUTH;
			rc = auth_handle(rq, h, &w->tpm_handles[i]);
			if (rc)
				return rc;
			break;
		case 'k':
			/* the TPM forgets a flushed key for everyone: only a key no one shares */
			if (flushes && !tcsd_keys_is_reserved(h) && tcsd_context_has_key(rq->ctx, h) &&
			    tcsd_keys_refs(rq->d->keys, h) != 1) {
				g_message("%s: refused to flush shared key 0x%08x inside a transport",
					  rq->peer->addr, h);
				return TCS_ERR(TSS_E_BAD_PARAMETER);
			}
			w->kinds[i] = HANDLE_KEY;
			rc = key_handle(rq, h, &w->tpm_handles[i]);
			if (rc)
				return rc;
			break;
		default:
			return TCS_ERR(TSS_E_INTERNAL_ERROR);
		}
	}
	return 0;
}

/*
 * GetCapability inside a transport: the TPM's own answer goes back (a rewritten
 * one would break the transport's digest), so the areas that list or probe raw
 * TPM handles are refused where tcsd can read DATAw. In an encrypted session
 * it cannot; the raw values are of no use there since every handle is translated.
 */
static guint32
check_capability(TcsdRequest *rq, const Wrapped *w)
{
	TcsRbuf r;
	guint32 area;

	if (w->ordinal != TPM_ORD_GetCapability || w->encrypted)
		return 0;
	tcs_rbuf_init(&r, w->data, w->data_len);
	area = tcs_rbuf_u32(&r);
	if (!tcs_rbuf_ok(&r))
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	if (tcs_capability_names_handles(area)) {
		g_message("%s: refused GetCapability(0x%x) inside a transport: it shows TPM handles",
			  rq->peer->addr, area);
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	}
	return 0;
}

/*
 * OSAP's and DSAP's key handle sits in DATAw but is never encrypted and never
 * hashed (libtpms' ordinal table counts it as a handle): translate it in place.
 */
static guint32
translate_entity(TcsdRequest *rq, Wrapped *w)
{
	guint32 value, tpm = 0, rc;
	guint16 type;
	TcsRbuf r;

	if (w->ordinal != TPM_ORD_OSAP && w->ordinal != TPM_ORD_DSAP)
		return 0;
	tcs_rbuf_init(&r, w->data, w->data_len);
	type = tcs_rbuf_u16(&r);
	value = tcs_rbuf_u32(&r);
	if (!tcs_rbuf_ok(&r))
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	w->entity.value = value;
	if (w->ordinal == TPM_ORD_OSAP && (type & 0xff) != TPM_ET_KEYHANDLE)
		return 0;
	if (w->ordinal == TPM_ORD_DSAP && !tcsd_keys_is_reserved(value) &&
	    !tcsd_context_has_key(rq->ctx, value))
		/* only a key delegation blob names a key */
		return (type & 0xff) == TPM_ET_DEL_KEY_BLOB ? TCS_ERR(TCS_E_INVALID_KEY) : 0;
	w->entity.is_key = TRUE;
	rc = key_handle(rq, value, &tpm);
	if (rc)
		return rc;
	w->data[2] = tpm >> 24;
	w->data[3] = tpm >> 16;
	w->data[4] = tpm >> 8;
	w->data[5] = tpm;
	return 0;
}

/* A free TPM slot for what the wrapped command creates, within the context's limits. */
static guint32
reserve(TcsdRequest *rq, guint32 ordinal)
{
	guint32 rc;

	switch (ordinal) {
	case TPM_ORD_OIAP:
	case TPM_ORD_OSAP:
	case TPM_ORD_DSAP:
		rc = tcsd_context_may_add_auth(rq->d, rq->ctx, rq->peer->addr);
		return rc ? rc : tcsd_sessions_reserve(rq->d->sessions);
	case TPM_ORD_LoadKey2:
		rc = tcsd_context_may_add_key(rq->d, rq->ctx, rq->peer->addr);
		return rc ? rc : tcsd_keys_reserve(rq->d->keys);
	default:
		return 0;
	}
}

/* |TAGw|LENw|ORDw|HANDLESw|DATAw|AUTH1w|AUTH2w| inside |TAGet|LENet|ORDet|size|...|AUTHet| */
static gboolean
build_command(const Wrapped *w, const guint32 tpm_auth[2], guint32 trans_tpm, TcsWbuf *cmd)
{
	guint n_auth = w->auth_present[0] + w->auth_present[1];
	static const guint16 tags[] = {TPM_TAG_RQU_COMMAND, TPM_TAG_RQU_AUTH1_COMMAND,
				       TPM_TAG_RQU_AUTH2_COMMAND};
	TcsWbuf wc;
	gboolean ok;

	tcs_wbuf_init(&wc, TCS_TPM_MAX_COMMAND);
	tcs_tpm_command_begin(&wc, tags[n_auth], w->ordinal);
	for (guint i = 0; i < w->n_handles; i++)
		tcs_wbuf_u32(&wc, w->tpm_handles[i]);
	tcs_wbuf_bytes(&wc, w->data, w->data_len);
	for (guint i = 0; i < 2; i++)
		if (w->auth_present[i])
			put_trailer(&wc, &w->auth[i], tpm_auth[i]);
	tcs_tpm_command_end(&wc);
	tcs_tpm_command_begin(cmd, TPM_TAG_RQU_AUTH1_COMMAND, TPM_ORD_ExecuteTransport);
	tcs_wbuf_u32(cmd, (guint32)wc.len);
	tcs_wbuf_bytes(cmd, wc.data, wc.len);
	put_trailer(cmd, &w->trans, trans_tpm);
	tcs_tpm_command_end(cmd);
	ok = tcs_wbuf_ok(&wc) && tcs_wbuf_ok(cmd);
	tcs_wbuf_free_secure(&wc);
	return ok;
}

/* What the TPM created or ended inside the transport, reflected in the context. */
static void
adopt_results(TcsdRequest *rq, Wrapped *w, guint32 out_handle, guint8 *out, gsize out_len,
	      guint32 *client_handle)
{
	TcsdSessions *s = rq->d->sessions;
	guint32 h;

	switch (w->ordinal) {
	case TPM_ORD_LoadKey2:
		*client_handle = tcsd_keys_adopt(rq->d->keys, w->handles[0], out_handle);
		tcsd_context_add_key(rq->ctx, *client_handle);
		break;
	case TPM_ORD_OIAP:
	case TPM_ORD_OSAP:
	case TPM_ORD_DSAP:
		/* the session handle leads DATAw; not hashed, not encrypted (libtpms) */
		if (out_len < 4)
			break;
		h = tcsd_sessions_adopt(s, (guint32)out[0] << 24 | (guint32)out[1] << 16 |
					       (guint32)out[2] << 8 | out[3],
					w->ordinal == TPM_ORD_OIAP ? NULL : &w->entity);
		tcsd_context_add_auth(rq->ctx, h);
		out[0] = h >> 24;
		out[1] = h >> 16;
		out[2] = h >> 8;
		out[3] = h;
		break;
	case TPM_ORD_Terminate_Handle:
	case TPM_ORD_FlushSpecific:
	case TPM_ORD_EvictKey:
		if (w->n_handles == 0)
			break;
		h = w->handles[0];
		if (w->kinds[0] == HANDLE_KEY && !tcsd_keys_is_reserved(h)) {
			tcsd_context_remove_key(rq->ctx, h);
			tcsd_keys_forget_flushed(rq->d->keys, h);
		} else if (w->kinds[0] != HANDLE_KEY) {
			drop_session(rq, h, FALSE);
		}
		break;
	default:
		break;
	}
}

static guint32
execute(TcsdRequest *rq, Wrapped *w)
{
	TcsdTpm *tpm = rq->d->tpm;
	guint32 tpm_auth[2] = {0, 0}, trans_tpm = 0, rc, rcw, locality, wlen, out_handle = 0;
	guint32 client_handle = 0, n_out_handles = 0, attributes = 0;
	gboolean owner_class = FALSE;
	guint64 ticks;
	TcsAuthOut auth_out[2], trans_out;
	TcsWbuf cmd, rsp;
	TcsRbuf r;
	const guint8 *wrapped;
	guint8 *out = NULL;
	gsize out_len = 0;

	memset(auth_out, 0, sizeof(auth_out));
	rc = transport_handle(rq, w->trans.handle, &trans_tpm, &attributes);
	w->encrypted = (attributes & TPM_TRANSPORT_ENCRYPT) != 0;
	if (rc == 0)
		rc = tcsd_dispatch_check_wrapped(rq, w->ordinal, &owner_class);
	/* known to check_wrapped, so the table has its layout; refused otherwise */
	if (rc == 0 && !tcs_tpm_ordinal_handles(w->ordinal, &w->layout))
		rc = TCS_ERR(TSS_E_NOTIMPL);
	if (rc == 0)
		rc = translate_handles(rq, w, w->trans.handle, trans_tpm);
	if (rc == 0)
		rc = check_capability(rq, w);
	if (rc == 0)
		rc = translate_entity(rq, w);
	for (guint i = 0; rc == 0 && i < 2; i++)
		if (w->auth_present[i])
			rc = auth_handle(rq, w->auth[i].handle, &tpm_auth[i]);
	if (rc == 0)
		rc = reserve(rq, w->ordinal);
	if (rc)
		return rc;

	tcs_wbuf_init(&cmd, TCS_TPM_MAX_COMMAND);
	rc = build_command(w, tpm_auth, trans_tpm, &cmd) ? tcsd_tpm_transmit_wbuf(tpm, &cmd)
							 : TCS_ERR(TSS_E_BAD_PARAMETER);
	tcs_wbuf_free_secure(&cmd);
	if (rc) {
		/* the TPM ends a transport session on any error of ExecuteTransport itself */
		drop_session(rq, w->trans.handle, TRUE);
		return rc;
	}
	/* |TAGet|LENet|RCet|currentTicks|locality|wrappedRspSize|wrappedRsp|AUTHet| */
	tcs_rbuf_init(&r, tpm->rsp, tpm->rsp_len);
	tcs_rbuf_skip(&r, 10);
	ticks = tcs_rbuf_u64(&r);
	locality = tcs_rbuf_u32(&r);
	wlen = tcs_rbuf_u32(&r);
	wrapped = tcs_rbuf_take(&r, wlen);
	/* kept aside: flushes and reloads below reuse the TPM's reply buffer */
	tcs_wbuf_init(&rsp, sizeof(tpm->rsp));
	if (wrapped)
		tcs_wbuf_bytes(&rsp, wrapped, wlen);
	get_trailer(&r, &trans_out);
	if (!wrapped || !tcs_rbuf_ok(&r) || tcs_rbuf_remaining(&r) != 0 || !tcs_wbuf_ok(&rsp) ||
	    wlen < 10) {
		tcs_wbuf_free_secure(&rsp);
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	}

	/* |TAGw|LENw|RCw|HANDLESw|DATAw|AUTH1w|AUTH2w| */
	tcs_rbuf_init(&r, rsp.data, rsp.len);
	tcs_rbuf_skip(&r, 6);
	rcw = tcs_rbuf_u32(&r);
	if (rcw == 0) {
		gsize trailers = AUTH_RSP_SIZE * (w->auth_present[0] + w->auth_present[1]);

		/* LoadKey2 is the one wrappable command with a handle before DATAw */
		n_out_handles = w->layout.out_handles;
		if (n_out_handles)
			out_handle = tcs_rbuf_u32(&r);
		if (tcs_rbuf_remaining(&r) < trailers) {
			tcs_wbuf_free_secure(&rsp);
			return TCS_ERR(TSS_E_INTERNAL_ERROR);
		}
		out_len = tcs_rbuf_remaining(&r) - trailers;
		out = (guint8 *)tcs_rbuf_cur(&r);
		tcs_rbuf_skip(&r, out_len);
		for (guint i = 0; i < 2; i++)
			if (w->auth_present[i])
				get_trailer(&r, &auth_out[i]);
		adopt_results(rq, w, out_handle, out, out_len, &client_handle);
		/* as after an outer owner-class command: the D-Bus properties follow */
		if (owner_class && !rq->peer->internal)
			tcsd_manager_tpm_state_changed(rq->d);
	}
	for (guint i = 0; i < 2; i++)
		if (w->auth_present[i])
			account_auth(rq, &w->auth[i], rcw);
	if (!trans_out.cont)
		drop_session(rq, w->trans.handle, FALSE);

	tcs_packet_put_u32(rq->out, n_out_handles);
	if (n_out_handles) {
		guint8 le[4] = {client_handle, client_handle >> 8, client_handle >> 16,
				client_handle >> 24};
		tcs_packet_put_pbyte(rq->out, le, 4);
	}
	tcs_packet_put_auth_out(rq->out, &auth_out[0]);
	tcs_packet_put_auth_out(rq->out, &auth_out[1]);
	tcs_packet_put_auth_out(rq->out, &trans_out);
	tcs_packet_put_u64(rq->out, ticks);
	tcs_packet_put_u32(rq->out, locality);
	tcs_packet_put_u32(rq->out, rcw);
	tcs_packet_put_u32(rq->out, (guint32)out_len);
	if (out_len)
		tcs_packet_put_pbyte(rq->out, out, (guint32)out_len);
	tcs_wbuf_free_secure(&rsp);
	return 0;
}

guint32
tcsd_op_execute_transport(TcsdRequest *rq)
{
	Wrapped *w = g_new0(Wrapped, 1);
	guint32 rc = parse_wrapped(rq, w);

	if (rc == 0)
		rc = execute(rq, w);
	/* DATAw may hold secrets in the clear (an unencrypted session) */
	explicit_bzero(w, sizeof(*w));
	g_free(w);
	return rc;
}

/* ---- ReleaseTransportSigned ---- */

guint32
tcsd_op_release_transport_signed(TcsdRequest *rq)
{
	static const TcsAuthOut none = {{0}, 0, {0}};
	guint8 nonce[20], ticks[CURRENT_TICKS_SIZE];
	guint32 ctx, key, tpm_key = 0, tpm_auth = 0, trans_tpm = 0, locality = 0, sig_len = 0, rc;
	g_autofree guint8 *sig = NULL;
	TcsAuthIn key_auth, trans;
	TcsAuthOut key_out = none, trans_out = none;
	gboolean has_key_auth;
	TcsWbuf cmd;
	TcsRbuf r;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &key) ||
	    tcs_packet_get_20(rq->in, TCSD_TYPE_NONCE, nonce) ||
	    tcs_packet_get_auth_in(rq->in, &key_auth) || tcs_packet_get_auth_in(rq->in, &trans) ||
	    !tcs_packet_reader_done(rq->in))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	has_key_auth = !auth_absent(&key_auth);
	rc = transport_handle(rq, trans.handle, &trans_tpm, NULL);
	if (rc == 0)
		rc = key_handle(rq, key, &tpm_key);
	if (rc == 0 && has_key_auth)
		rc = auth_handle(rq, key_auth.handle, &tpm_auth);
	if (rc)
		return rc;

	tcs_wbuf_init(&cmd, 256);
	tcs_tpm_command_begin(&cmd,
			      has_key_auth ? TPM_TAG_RQU_AUTH2_COMMAND : TPM_TAG_RQU_AUTH1_COMMAND,
			      TPM_ORD_ReleaseTransportSigned);
	tcs_wbuf_u32(&cmd, tpm_key);
	tcs_wbuf_bytes(&cmd, nonce, sizeof(nonce));
	if (has_key_auth)
		put_trailer(&cmd, &key_auth, tpm_auth);
	put_trailer(&cmd, &trans, trans_tpm);
	tcs_tpm_command_end(&cmd);
	rc = tcs_wbuf_ok(&cmd) ? tcsd_tpm_transmit_wbuf(rq->d->tpm, &cmd)
			       : TCS_ERR(TSS_E_INTERNAL_ERROR);
	tcs_wbuf_free(&cmd);
	if (rc == 0) {
		tcs_rbuf_init(&r, rq->d->tpm->rsp, rq->d->tpm->rsp_len);
		tcs_rbuf_skip(&r, 10);
		locality = tcs_rbuf_u32(&r);
		tcs_rbuf_copy(&r, ticks, sizeof(ticks));
		sig_len = tcs_rbuf_u32(&r);
		if (sig_len <= tcs_rbuf_remaining(&r))
			sig = g_memdup2(tcs_rbuf_take(&r, sig_len), sig_len);
		if (has_key_auth)
			get_trailer(&r, &key_out);
		get_trailer(&r, &trans_out);
		if (!sig || !tcs_rbuf_ok(&r) || tcs_rbuf_remaining(&r) != 0)
			rc = TCS_ERR(TSS_E_INTERNAL_ERROR);
	}
	if (has_key_auth)
		account_auth(rq, &key_auth, rc);
	/* released, or ended by the failure: either way the session is gone */
	drop_session(rq, trans.handle, rc != 0);
	if (rc)
		return rc;
	tcs_packet_put_auth_out(rq->out, &key_out);
	tcs_packet_put_auth_out(rq->out, &trans_out);
	tcs_packet_put_u32(rq->out, locality);
	tcs_packet_put_u32(rq->out, CURRENT_TICKS_SIZE);
	tcs_packet_put_pbyte(rq->out, ticks, CURRENT_TICKS_SIZE);
	tcs_packet_put_u32(rq->out, sig_len);
	tcs_packet_put_pbyte(rq->out, sig, sig_len);
	return 0;
}

/* ---- FlushSpecific of a transport handle (libtspi's Tspi_Context_Close sends one) ---- */

guint32
tcsd_op_flush_specific_transport(TcsdRequest *rq)
{
	TcsPacketReader start = *rq->in;
	guint32 ctx, handle, type, tpm;

	if (tcs_packet_get_u32(rq->in, &ctx) == 0 && tcs_packet_get_u32(rq->in, &handle) == 0 &&
	    tcs_packet_get_u32(rq->in, &type) == 0 && type == TPM_RT_TRANS) {
		if (transport_handle(rq, handle, &tpm, NULL) != 0)
			return TCS_ERR(TSS_E_BAD_PARAMETER);
		drop_session(rq, handle, TRUE);
		return 0;
	}
	/* not a transport: the ordinary handler reads the request from the start */
	*rq->in = start;
	return tcsd_op_flush_specific(rq);
}

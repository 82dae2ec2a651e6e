/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TCSD packet codec against real TrouSerS traffic: every recorded frame must
 * parse, every parameter must decode with the typed getters, and the writer
 * must give back the same types and parameter bytes. Malformed frames must
 * be refused with -EBADMSG, never read out of bounds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "tcs-packet.h"
#include "tcs-trace.h"

static TcsTrace wire, conversations;

/*
 * A PBYTE carries no length of its own; TrouSerS' marshallers put it in the
 * UINT32 just before it. These are the exceptions seen on the wire.
 */
typedef struct {
	uint32_t ordinal;
	bool reply;
	uint32_t index;
	uint32_t fixed;   /* fixed length, 0 = 4 * the preceding UINT32 */
} PbyteQuirk;

static const PbyteQuirk pbyte_quirks[] = {
	/* EXECUTETRANSPORT: handle lists go as a count of 4-byte handles */
	{93, false, 5, 0},
	{93, true, 1, 0},
	/* GETAUDITDIGEST: the ordinal list goes as a count of 4-byte ordinals */
	{96, true, 5, 0},
	/* CMK_CONVERTMIGRATION: restrictTicket is a bare TPM_CMK_AUTH (3 digests) */
	{119, false, 2, 60},
};

static bool
pbyte_len(uint32_t ordinal, bool reply, uint32_t index, bool have_prev, uint32_t prev,
	  uint32_t *len)
{
	for (size_t i = 0; i < G_N_ELEMENTS(pbyte_quirks); i++) {
		const PbyteQuirk *q = &pbyte_quirks[i];
		if (q->ordinal != ordinal || q->reply != reply || q->index != index)
			continue;
		*len = q->fixed ? q->fixed : prev * 4;
		return q->fixed || have_prev;
	}
	*len = prev;
	return have_prev;
}

/* Decode the next parameter with its typed getter and re-encode it with the matching put. */
static int
copy_param(TcsPacketReader *r, TcsPacketWriter *w, uint32_t ordinal, bool reply, bool *have_prev,
	   uint32_t *prev)
{
	int type = tcs_packet_peek_type(r);
	uint32_t index = r->index;
	int rc = -EINVAL;

	switch (type) {
	case TCSD_TYPE_BYTE: {
		uint8_t v;
		if ((rc = tcs_packet_get_u8(r, &v)) == 0)
			tcs_packet_put_u8(w, v);
		break;
	}
	case TCSD_TYPE_BOOL: {
		bool v;
		if ((rc = tcs_packet_get_bool(r, &v)) == 0)
			tcs_packet_put_bool(w, v);
		break;
	}
	case TCSD_TYPE_UINT16: {
		uint16_t v;
		if ((rc = tcs_packet_get_u16(r, &v)) == 0)
			tcs_packet_put_u16(w, v);
		break;
	}
	case TCSD_TYPE_UINT32: {
		uint32_t v;
		if ((rc = tcs_packet_get_u32(r, &v)) == 0) {
			tcs_packet_put_u32(w, v);
			*prev = v;
			*have_prev = true;
			return 0;
		}
		break;
	}
	case TCSD_TYPE_UINT64: {
		uint64_t v;
		if ((rc = tcs_packet_get_u64(r, &v)) == 0)
			tcs_packet_put_u64(w, v);
		break;
	}
	case TCSD_TYPE_NONCE:
	case TCSD_TYPE_DIGEST:
	case TCSD_TYPE_ENCAUTH:
	case TCSD_TYPE_SECRET: {
		uint8_t v[20];
		if ((rc = tcs_packet_get_20(r, (uint8_t)type, v)) == 0)
			tcs_packet_put_20(w, (uint8_t)type, v);
		break;
	}
	case TCSD_TYPE_PBYTE: {
		const uint8_t *p;
		uint32_t len;

		if (index + 1 == r->hdr.num_parms) {
			/* the last one runs to the end; its length must agree with the UINT32 */
			len = (uint32_t)tcs_rbuf_remaining(&r->parms);
			uint32_t want;
			if (pbyte_len(ordinal, reply, index, *have_prev, *prev, &want) && want != len)
				return -EPROTO;
		} else if (!pbyte_len(ordinal, reply, index, *have_prev, *prev, &len)) {
			return -EPROTO;
		}
		if ((rc = tcs_packet_get_pbyte(r, len, &p)) == 0)
			tcs_packet_put_pbyte(w, p, len);
		break;
	}
	case TCSD_TYPE_UUID: {
		TcsUuid v;
		if ((rc = tcs_packet_get_uuid(r, &v)) == 0)
			tcs_packet_put_uuid(w, &v);
		break;
	}
	case TCSD_TYPE_VERSION: {
		TcsVersion v;
		if ((rc = tcs_packet_get_version(r, &v)) == 0)
			tcs_packet_put_version(w, &v);
		break;
	}
	case TCSD_TYPE_AUTH:
		/* requests carry TPM_AUTH in (45 bytes), replies the output half (41) */
		if (reply) {
			TcsAuthOut v;
			if ((rc = tcs_packet_get_auth_out(r, &v)) == 0)
				tcs_packet_put_auth_out(w, &v);
		} else {
			TcsAuthIn v;
			if ((rc = tcs_packet_get_auth_in(r, &v)) == 0)
				tcs_packet_put_auth_in(w, &v);
		}
		break;
	case TCSD_TYPE_KM_KEYINFO:
	case TCSD_TYPE_KM_KEYINFO2: {
		bool v2 = type == TCSD_TYPE_KM_KEYINFO2;
		TcsKmKeyInfo v;
		if ((rc = tcs_packet_get_km_keyinfo(r, v2, &v)) == 0)
			tcs_packet_put_km_keyinfo(w, v2, &v);
		break;
	}
	case TCSD_TYPE_LOADKEY_INFO: {
		TcsLoadKeyInfo v;
		if ((rc = tcs_packet_get_loadkey_info(r, &v)) == 0)
			tcs_packet_put_loadkey_info(w, &v);
		break;
	}
	case TCSD_TYPE_PCR_EVENT: {
		TcsPcrEvent v;
		if ((rc = tcs_packet_get_pcr_event(r, &v)) == 0)
			tcs_packet_put_pcr_event(w, &v);
		break;
	}
	case TCSD_TYPE_COUNTER_VALUE: {
		TcsCounterValue v;
		if ((rc = tcs_packet_get_counter_value(r, &v)) == 0)
			tcs_packet_put_counter_value(w, &v);
		break;
	}
	}
	*have_prev = false;
	return rc;
}

static void
check_roundtrip(const TcsTraceRecord *rec, const uint8_t *frame, size_t len, bool reply)
{
	TcsPacketReader r;
	TcsPacketWriter w;
	uint8_t *out = NULL;
	size_t out_len = 0;
	bool have_prev = false;
	uint32_t prev = 0, n;

	g_assert_cmpint(tcs_packet_reader_init(&r, frame, len), ==, 0);
	n = r.hdr.num_parms;
	tcs_packet_writer_init(&w);
	while (tcs_packet_peek_type(&r) >= 0) {
		int rc = copy_param(&r, &w, rec->ordinal, reply, &have_prev, &prev);
		if (rc != 0)
			g_error("line %zu %s %s: parameter %u (type %d): %s", rec->line, rec->name,
				reply ? "reply" : "request", r.index, tcs_packet_peek_type(&r),
				strerror(-rc));
	}
	if (!tcs_packet_reader_done(&r))
		g_error("line %zu %s %s: %zu bytes left after the parameters", rec->line, rec->name,
			reply ? "reply" : "request", tcs_rbuf_remaining(&r.parms));
	g_assert_cmpint(tcs_packet_writer_finish(&w, r.hdr.code, &out, &out_len), ==, 0);
	tcs_packet_writer_clear(&w);

	if (n == 0) {
		/* our writer zeroes the offsets of empty packets, like TrouSerS' error
		 * replies; TrouSerS' parameter-less success replies may instead keep a
		 * reserved type slot (NVWRITEVALUE without auth: 29 bytes) */
		g_assert_cmpuint(out_len, ==, TCSD_HEADER_SIZE);
		if (reply && len == TCSD_HEADER_SIZE)
			g_assert_cmpmem(out, out_len, frame, len);
		free(out);
		return;
	}
	/* TrouSerS may reserve type slots beyond num_parms: compare types and bytes */
	g_assert_cmpuint(out_len, ==, TCSD_HEADER_SIZE + n + r.hdr.parm_size);
	g_assert_cmpmem(out + TCSD_HEADER_SIZE, n, r.types, n);
	g_assert_cmpmem(out + TCSD_HEADER_SIZE + n, r.hdr.parm_size, frame + r.hdr.parm_offset,
			r.hdr.parm_size);
	/* with TrouSerS' usual layout the whole frame is identical */
	if (r.hdr.type_offset == TCSD_HEADER_SIZE && r.hdr.type_size == n &&
	    r.hdr.parm_offset == TCSD_HEADER_SIZE + n)
		g_assert_cmpmem(out, out_len, frame, len);
	free(out);
}

static bool
deliberately_malformed(const TcsTraceRecord *rec)
{
	return rec->note && strstr(rec->note, "malformed");
}

static void
check_trace(const TcsTrace *t, unsigned *nframes, unsigned *nrefused)
{
	for (size_t i = 0; i < t->n; i++) {
		const TcsTraceRecord *rec = &t->rec[i];
		TcsPacketReader r;
		int rc = tcs_packet_reader_init(&r, rec->request, rec->request_len);

		if (deliberately_malformed(rec)) {
			g_assert_cmpint(rc, ==, -EBADMSG);
			(*nrefused)++;
			continue;
		}
		if (rc != 0)
			g_error("line %zu %s: request refused: %s", rec->line, rec->name,
				strerror(-rc));
		g_assert_cmpuint(r.hdr.code, ==, rec->ordinal);
		check_roundtrip(rec, rec->request, rec->request_len, false);
		(*nframes)++;
		if (!rec->reply_len)
			continue;
		rc = tcs_packet_reader_init(&r, rec->reply, rec->reply_len);
		if (rc != 0)
			g_error("line %zu %s: reply refused: %s", rec->line, rec->name,
				strerror(-rc));
		g_assert_true(rec->has_result);
		g_assert_cmphex(r.hdr.code, ==, rec->result);
		check_roundtrip(rec, rec->reply, rec->reply_len, true);
		(*nframes)++;
	}
}

static void
test_traces(void)
{
	unsigned nframes = 0, nrefused = 0;

	check_trace(&wire, &nframes, &nrefused);
	check_trace(&conversations, &nframes, &nrefused);
	g_test_message("%u frames parsed and re-encoded, %u malformed ones refused", nframes,
		       nrefused);
	g_assert_cmpuint(nframes, >, 600);
}

/* Every bare-header reply TrouSerS sent is exactly tcs_packet_error_reply(result). */
static void
test_error_replies(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < wire.n; i++) {
		const TcsTraceRecord *rec = &wire.rec[i];
		uint8_t hdr[TCSD_HEADER_SIZE];
		TcsPacketWriter w;
		uint8_t *out;
		size_t out_len;

		if (rec->reply_len != TCSD_HEADER_SIZE)
			continue;
		tcs_packet_error_reply(rec->result, hdr);
		g_assert_cmpmem(hdr, sizeof(hdr), rec->reply, rec->reply_len);
		/* a parameter-less success reply from the writer has the same shape */
		tcs_packet_writer_init(&w);
		g_assert_cmpint(tcs_packet_writer_finish(&w, rec->result, &out, &out_len), ==, 0);
		g_assert_cmpmem(out, out_len, rec->reply, rec->reply_len);
		free(out);
		tcs_packet_writer_clear(&w);
		n++;
	}
	g_assert_cmpuint(n, >, 20);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* A recorded request with parameters in the canonical layout, to mutate. */
static const TcsTraceRecord *
pick_request(uint32_t ordinal)
{
	for (size_t i = 0; i < wire.n; i++)
		if (wire.rec[i].ordinal == ordinal && wire.rec[i].request_len > TCSD_HEADER_SIZE)
			return &wire.rec[i];
	g_assert_not_reached();
}

static int
init_mutated(const uint8_t *frame, size_t len, unsigned word, uint32_t value)
{
	g_autofree uint8_t *copy = g_memdup2(frame, len);
	TcsPacketReader r;

	put_be32(copy + 4 * word, value);
	return tcs_packet_reader_init(&r, copy, len);
}

static void
test_malformed(void)
{
	/* OSAP: context, entity type (UINT16), entity value, nonceOddOSAP */
	const TcsTraceRecord *rec = pick_request(24);
	const uint8_t *f = rec->request;
	size_t len = rec->request_len;
	TcsPacketHeader h;
	TcsPacketReader r;
	uint8_t big[TCSD_HEADER_SIZE];

	tcs_packet_header_read(f, &h);
	g_assert_cmpint(tcs_packet_reader_init(&r, f, len), ==, 0);
	g_assert_cmpint(tcs_packet_reader_init(&r, NULL, 0), ==, -EBADMSG);

	/* every truncation, and one byte too many */
	for (size_t n = 0; n < len; n++)
		g_assert_cmpint(tcs_packet_reader_init(&r, f, n), ==, -EBADMSG);
	{
		g_autofree uint8_t *longer = g_malloc0(len + 1);
		memcpy(longer, f, len);
		g_assert_cmpint(tcs_packet_reader_init(&r, longer, len + 1), ==, -EBADMSG);
	}

	/* header words: 0 packet_size, 2 num_parms, 3 type_size, 4 type_offset,
	 * 5 parm_size, 6 parm_offset */
	g_assert_cmpint(init_mutated(f, len, 0, (uint32_t)len + 1), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 0, 27), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 0, TCSD_MAX_PACKET_SIZE + 1), ==, -EMSGSIZE);
	g_assert_cmpint(init_mutated(f, len, 2, TCSD_MAX_PARMS + 1), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 2, UINT32_MAX), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 2, h.num_parms + 1), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 3, h.num_parms - 1), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 4, 0), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 4, (uint32_t)len), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 4, UINT32_MAX), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 4, UINT32_MAX - 2), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 5, h.parm_size + 1), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 5, UINT32_MAX), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 6, h.parm_offset - 1), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 6, (uint32_t)len + 1), ==, -EBADMSG);
	g_assert_cmpint(init_mutated(f, len, 6, UINT32_MAX), ==, -EBADMSG);

	/* a header that claims more than it has */
	memset(big, 0, sizeof(big));
	put_be32(big, TCSD_HEADER_SIZE);
	put_be32(big + 8, 1);
	g_assert_cmpint(tcs_packet_reader_init(&r, big, sizeof(big)), ==, -EBADMSG);
}

/* Structurally valid frames whose types promise more bytes than there are. */
static void
test_short_parameters(void)
{
	/* types: UINT32, AUTH, PBYTE; parameters: 6 bytes only */
	static const uint8_t frame[] = {
		0, 0, 0, 37, 0, 0, 0, 23, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 6, 0, 0, 0, 31,
		TCSD_TYPE_UINT32, TCSD_TYPE_AUTH, TCSD_TYPE_PBYTE, 0xa0, 0xe8, 0x39, 0x00, 0x11, 0x22,
	};
	TcsPacketReader r;
	TcsAuthIn a;
	const uint8_t *p;
	uint32_t u, len;
	uint16_t w;

	g_assert_cmpint(tcs_packet_reader_init(&r, frame, sizeof(frame)), ==, 0);
	/* wrong type: absent, nothing consumed */
	g_assert_cmpint(tcs_packet_get_u16(&r, &w), ==, -ENOMSG);
	g_assert_cmpint(tcs_packet_get_u32(&r, &u), ==, 0);
	g_assert_cmphex(u, ==, 0xa0e83900);
	g_assert_cmpint(tcs_packet_get_auth_in(&r, &a), ==, -EBADMSG);
	g_assert_false(tcs_packet_reader_done(&r));

	/* a blob length beyond the data */
	g_assert_cmpint(tcs_packet_reader_init(&r, frame, sizeof(frame)), ==, 0);
	g_assert_cmpint(tcs_packet_get_blob(&r, 4096, &p, &len), ==, -EBADMSG);
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	tcs_trace_load("tcsd-wire.jsonl", &wire);
	tcs_trace_load("tcsd-conversations.jsonl", &conversations);
	g_test_add_func("/packet/traces", test_traces);
	g_test_add_func("/packet/error-replies", test_error_replies);
	g_test_add_func("/packet/malformed", test_malformed);
	g_test_add_func("/packet/short-parameters", test_short_parameters);
	rc = g_test_run();
	tcs_trace_free(&wire);
	tcs_trace_free(&conversations);
	return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The declarative ordinal table against real TrouSerS traffic.
 *
 * For every recorded TCSD request of a pass-through row, the schema
 * interpreter must build the TPM command TrouSerS sent for it: the nonces and
 * HMACs come from the client, so when both hops of one exchange were kept,
 * the command is found byte for byte in tpm-wire.jsonl (key handles aside:
 * TCS and TPM handles differ). The TPM reply of that exchange must then turn
 * into exactly the recorded TCSD reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "tcs-ordinal.h"
#include "tcs-packet.h"
#include "tcs-schema.h"
#include "tcs-trace.h"

static TcsTrace wire, conversations, tpm;

static void
test_rows_valid(void)
{
	unsigned passthrough = 0;

	g_assert_null(tcs_ordinal_lookup(0));
	g_assert_null(tcs_ordinal_lookup(TCSD_ORD_LAST));
	g_assert_null(tcs_ordinal_lookup(UINT32_MAX));
	for (uint32_t i = 1; i < TCSD_ORD_LAST; i++) {
		const TcsOrdinal *o = tcs_ordinal_lookup(i);

		g_assert_nonnull(o);
		g_assert_cmpuint(o->ordinal, ==, i);
		g_assert_cmpstr(tcs_ordinal_name(i), ==, o->name);
		if (!tcs_ordinal_schema_valid(o))
			g_error("row %u %s: invalid schema", i, o->name);
		passthrough += o->tpm_ordinal != 0;
	}
	g_assert_cmpuint(passthrough, >, 60);
}

/* Translation that flips every bit: the positions that differ from the
 * untranslated build are exactly the key handle words. */
static uint32_t
translate_invert(uint32_t tcs_handle, uint32_t *tpm_handle, void *user_data)
{
	*tpm_handle = ~tcs_handle;
	return 0;
}

typedef struct {
	uint8_t *cmd;
	size_t len;
	bool *keypos; /* bytes that hold a key handle */
	TcsSchemaRequest st;
} Built;

static void
built_clear(Built *b)
{
	free(b->cmd);
	free(b->keypos);
	memset(b, 0, sizeof(*b));
}

static uint32_t
build(const TcsOrdinal *o, const TcsTraceRecord *rec, Built *ret, bool *done)
{
	TcsPacketReader r;
	TcsSchemaRequest st2;
	TcsWbuf cmd, cmd2;
	uint32_t res;

	memset(ret, 0, sizeof(*ret));
	g_assert_cmpint(tcs_packet_reader_init(&r, rec->request, rec->request_len), ==, 0);
	tcs_wbuf_init(&cmd, 0);
	res = tcs_schema_build_command(o, &r, NULL, NULL, &ret->st, &cmd);
	*done = tcs_packet_reader_done(&r);
	if (res) {
		tcs_wbuf_free(&cmd);
		return res;
	}
	g_assert_cmpint(tcs_packet_reader_init(&r, rec->request, rec->request_len), ==, 0);
	tcs_wbuf_init(&cmd2, 0);
	g_assert_cmphex(tcs_schema_build_command(o, &r, translate_invert, NULL, &st2, &cmd2), ==, 0);
	g_assert_cmpuint(cmd.len, ==, cmd2.len);
	ret->keypos = calloc(cmd.len, sizeof(bool));
	for (size_t i = 0; i < cmd.len; i++)
		ret->keypos[i] = cmd.data[i] != cmd2.data[i];
	tcs_wbuf_free(&cmd2);
	ret->cmd = tcs_wbuf_steal(&cmd, &ret->len);
	return 0;
}

static bool
command_matches(const Built *b, const TcsTraceRecord *t)
{
	if (t->request_len != b->len)
		return false;
	for (size_t i = 0; i < b->len; i++)
		if (!b->keypos[i] && t->request[i] != b->cmd[i])
			return false;
	return true;
}

/*
 * Build the TCSD reply from a TPM reply; compare types and parameter bytes.
 * Rows with a hand-written part (custom, not yet) may append parameters of
 * their own (MAKEIDENTITY's credentials, KEYCONTROLOWNER's UUID): for those
 * the schema's output must be a prefix of the recorded reply.
 */
static bool
reply_matches(const TcsOrdinal *o, const Built *b, const TcsTraceRecord *t,
	      const TcsTraceRecord *rec, bool *prefix_only, GString *why)
{
	bool prefix = o->flags & TCS_ORD_CUSTOM;
	TcsPacketWriter w;
	TcsPacketReader want;
	uint8_t *out = NULL;
	size_t out_len = 0, got_size;
	uint32_t res, n, got_n;
	bool ok;

	tcs_packet_writer_init(&w);
	res = tcs_schema_build_reply(o, &b->st, t->reply, t->reply_len, &w);
	if (res) {
		g_string_printf(why, "build_reply refused the TPM reply (0x%x)", res);
		tcs_packet_writer_clear(&w);
		return false;
	}
	g_assert_cmpint(tcs_packet_writer_finish(&w, 0, &out, &out_len), ==, 0);
	tcs_packet_writer_clear(&w);
	g_assert_cmpint(tcs_packet_reader_init(&want, rec->reply, rec->reply_len), ==, 0);
	n = want.hdr.num_parms;
	got_n = tcs_trace_be32(out + 8);
	got_size = got_n ? out_len - TCSD_HEADER_SIZE - got_n : 0;
	ok = got_n == n && got_size == want.hdr.parm_size;
	if (!ok && prefix)
		ok = got_n < n && got_size < want.hdr.parm_size;
	ok = ok && (got_n == 0 ||
		    (memcmp(out + TCSD_HEADER_SIZE, want.types, got_n) == 0 &&
		     memcmp(out + TCSD_HEADER_SIZE + got_n, rec->reply + want.hdr.parm_offset,
			    got_size) == 0));
	*prefix_only = ok && got_n < n;
	if (!ok) {
		GString *s = g_string_new(NULL);

		for (uint32_t i = 0; i < got_n; i++)
			g_string_append_printf(s, "%02x", out[TCSD_HEADER_SIZE + i]);
		g_string_append(s, " vs recorded ");
		for (uint32_t i = 0; i < n; i++)
			g_string_append_printf(s, "%02x", want.types[i]);
		g_string_printf(why, "reply differs: types %s, parm_size %zu vs %u", s->str,
				got_size, want.hdr.parm_size);
		g_string_free(s, TRUE);
	}
	free(out);
	return ok;
}

typedef struct {
	unsigned records;  /* TCSD requests of this row that reached the TPM */
	unsigned built;    /* accepted by the schema, all parameters consumed */
	unsigned command;  /* built command found byte-exact in tpm-wire.jsonl */
	unsigned paired;   /* ... in a TPM record with the same result: the same exchange */
	unsigned replies;  /* paired successful exchanges */
	unsigned reply_ok; /* ... whose TCSD reply was rebuilt exactly */
	unsigned prefix;   /* ... of which only the schema's part (custom rows) */
	GString *problems;
} RowStats;

static RowStats stats[TCSD_ORD_LAST];
static unsigned failures;

static void
problem(RowStats *s, bool fatal, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
problem(RowStats *s, bool fatal, const char *fmt, ...)
{
	va_list ap;

	if (!s->problems)
		s->problems = g_string_new(NULL);
	va_start(ap, fmt);
	g_string_append_vprintf(s->problems, fmt, ap);
	va_end(ap);
	g_string_append(s->problems, fatal ? " [FAIL]\n" : "\n");
	failures += fatal;
}

static bool
is_tcs_error(uint32_t result)
{
	return (result & 0xf000) == TSS_LAYER_TCS;
}

static void
check_record(const TcsTraceRecord *rec)
{
	const TcsOrdinal *o = tcs_ordinal_lookup(rec->ordinal);
	bool done, command = false, paired = false, reply_ok = false, prefix = false;
	RowStats *s;
	uint32_t res;
	Built b;
	g_autoptr(GString) why = g_string_new(NULL);

	if (!o || !o->tpm_ordinal)
		return;
	s = &stats[o->ordinal];
	/* TCS-layer refusals and crashes never reached the TPM */
	if (!rec->has_result || is_tcs_error(rec->result))
		return;
	s->records++;
	res = build(o, rec, &b, &done);
	if (res) {
		problem(s, true, "line %zu: request refused (0x%x)", rec->line, res);
		return;
	}
	if (!done) {
		problem(s, true, "line %zu: parameters left over", rec->line);
		built_clear(&b);
		return;
	}
	g_assert_cmpuint(b.len, >=, 10);
	g_assert_cmphex(tcs_trace_be32(b.cmd + 6), ==, o->tpm_ordinal);
	g_assert_cmpuint(tcs_trace_be32(b.cmd + 2), ==, b.len);
	s->built++;

	for (size_t i = 0; i < tpm.n && !reply_ok; i++) {
		const TcsTraceRecord *t = &tpm.rec[i];

		if (t->ordinal != o->tpm_ordinal || !command_matches(&b, t))
			continue;
		command = true;
		/* commands without nonces repeat byte for byte: the result tells exchanges apart */
		if (!t->has_result || t->result != rec->result)
			continue;
		paired = true;
		if (rec->result == 0)
			reply_ok = reply_matches(o, &b, t, rec, &prefix, why);
	}
	s->command += command;
	s->paired += paired;
	if (paired && rec->result == 0) {
		s->replies++;
		s->reply_ok += reply_ok;
		s->prefix += reply_ok && prefix;
		if (!reply_ok)
			problem(s, true, "line %zu: %s", rec->line, why->str);
	}
	built_clear(&b);
}

static bool
seen_request(GHashTable *seen, const TcsTraceRecord *rec)
{
	GBytes *key = g_bytes_new(rec->request, rec->request_len);

	if (g_hash_table_contains(seen, key)) {
		g_bytes_unref(key);
		return true;
	}
	g_hash_table_add(seen, key);
	return false;
}

static void
test_traces(void)
{
	g_autoptr(GHashTable) seen =
		g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
	unsigned total[5] = {0}, rows_exact = 0, rows_command = 0;

	for (size_t i = 0; i < wire.n; i++)
		if (!seen_request(seen, &wire.rec[i]))
			check_record(&wire.rec[i]);
	for (size_t i = 0; i < conversations.n; i++)
		if (!seen_request(seen, &conversations.rec[i]))
			check_record(&conversations.rec[i]);

	g_test_message("%-4s %-34s %5s %5s %5s %5s %5s %s", "ord", "name", "recs", "built",
		       "cmd", "pair", "reply", "verified");
	for (uint32_t i = 1; i < TCSD_ORD_LAST; i++) {
		const TcsOrdinal *o = tcs_ordinal_lookup(i);
		RowStats *s = &stats[i];
		const char *verdict;

		if (!o->tpm_ordinal)
			continue;
		if (s->reply_ok && s->prefix == s->reply_ok)
			verdict = "both directions (reply: schema part)";
		else if (s->reply_ok)
			verdict = "both directions";
		else if (s->command)
			verdict = "command only (no successful paired exchange)";
		else if (s->built)
			verdict = "parsed only (no TPM record with these bytes)";
		else if (s->records)
			verdict = "FAILED";
		else
			verdict = "no record that reached the TPM";
		rows_exact += s->reply_ok > 0;
		rows_command += s->command > 0;
		g_test_message("%-4u %-34s %5u %5u %5u %5u %5u %s", i, o->name, s->records, s->built,
			       s->command, s->paired, s->reply_ok, verdict);
		if (s->problems) {
			g_auto(GStrv) lines = g_strsplit(s->problems->str, "\n", -1);
			for (char **l = lines; *l && **l; l++)
				g_test_message("       %s", *l);
			g_string_free(s->problems, TRUE);
			s->problems = NULL;
		}
		total[0] += s->records;
		total[1] += s->built;
		total[2] += s->command;
		total[3] += s->paired;
		total[4] += s->reply_ok;
	}
	g_test_message("%-4s %-34s %5u %5u %5u %5u %5u", "", "total", total[0], total[1],
		       total[2], total[3], total[4]);
	g_test_message("rows: %u with the command byte-exact, %u verified in both directions",
		       rows_command, rows_exact);
	g_assert_cmpuint(failures, ==, 0);
	g_assert_cmpuint(rows_exact, >, 30);
}

/*
 * Every successful TPM reply on the wire for a pass-through row's TPM ordinal
 * must fit its reply schema, including exchanges whose TCSD half was not
 * kept or that TrouSerS could not marshal (ReadCounter, IncrementCounter).
 * The authorisations present are taken from the command's tag.
 */
static void
test_tpm_replies(void)
{
	unsigned n = 0;

	for (uint32_t i = 1; i < TCSD_ORD_LAST; i++) {
		const TcsOrdinal *o = tcs_ordinal_lookup(i);

		if (!o->tpm_ordinal)
			continue;
		for (size_t j = 0; j < tpm.n; j++) {
			const TcsTraceRecord *t = &tpm.rec[j];
			TcsSchemaRequest st = {0};
			unsigned required = 0, optional;
			TcsPacketWriter w;
			uint32_t res;

			if (t->ordinal != o->tpm_ordinal || !t->has_result || t->result != 0 ||
			    t->request_len < 10)
				continue;
			st.n_auth = (unsigned)(((t->request[0] << 8) | t->request[1]) - TPM_TAG_RQU_COMMAND);
			for (const char *p = o->in; *p; p++)
				required += *p == 'A';
			optional = st.n_auth > required ? st.n_auth - required : 0;
			for (const char *p = o->in; *p; p++) {
				if (*p != 'A' && *p != 'a' && *p != 'z')
					continue;
				st.auth_present[st.n_auth_slots] = *p == 'A' || optional-- > 0;
				st.n_auth_slots++;
			}
			tcs_packet_writer_init(&w);
			res = tcs_schema_build_reply(o, &st, t->reply, t->reply_len, &w);
			tcs_packet_writer_clear(&w);
			if (res)
				g_error("row %u %s: TPM reply line %zu refused (0x%x)", i, o->name,
					t->line, res);
			n++;
		}
	}
	g_test_message("%u successful TPM replies fit their rows' schemas", n);
	g_assert_cmpuint(n, >, 100);
}

/* The raw probe that sent GETRANDOM's byte count as UINT16: TrouSerS answers
 * TSS_E_INTERNAL_ERROR, and so must the schema. */
static void
test_wrong_type(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < wire.n; i++) {
		const TcsTraceRecord *rec = &wire.rec[i];
		const TcsOrdinal *o = tcs_ordinal_lookup(rec->ordinal);
		TcsPacketReader r;
		TcsSchemaRequest st;
		TcsWbuf cmd;

		if (!o || !o->tpm_ordinal || rec->result != TCS_ERR(TSS_E_INTERNAL_ERROR))
			continue;
		g_assert_cmpint(tcs_packet_reader_init(&r, rec->request, rec->request_len), ==, 0);
		if (tcs_packet_get_u32(&r, &(uint32_t){0}) != 0 || tcs_packet_peek_type(&r) != TCSD_TYPE_UINT16)
			continue;
		g_assert_cmpint(tcs_packet_reader_init(&r, rec->request, rec->request_len), ==, 0);
		tcs_wbuf_init(&cmd, 0);
		g_assert_cmphex(tcs_schema_build_command(o, &r, NULL, NULL, &st, &cmd), ==,
				TCS_ERR(TSS_E_INTERNAL_ERROR));
		tcs_wbuf_free(&cmd);
		n++;
	}
	g_assert_cmpuint(n, ==, 1);
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	tcs_trace_load("tcsd-wire.jsonl", &wire);
	tcs_trace_load("tcsd-conversations.jsonl", &conversations);
	tcs_trace_load("tpm-wire.jsonl", &tpm);
	g_test_add_func("/schema/rows-valid", test_rows_valid);
	g_test_add_func("/schema/traces", test_traces);
	g_test_add_func("/schema/tpm-replies", test_tpm_replies);
	g_test_add_func("/schema/wrong-type", test_wrong_type);
	rc = g_test_run();
	tcs_trace_free(&wire);
	tcs_trace_free(&conversations);
	tcs_trace_free(&tpm);
	return rc;
}

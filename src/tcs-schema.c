/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-schema.h"

#include <errno.h>
#include <string.h>

#include "tcs-common.h"
#include "tcs-key.h"
#include "tcs-types.h"

#define BAD_PACKET TCS_ERR(TSS_E_INTERNAL_ERROR)

void
tcs_tpm_command_begin(TcsWbuf *w, uint16_t tag, uint32_t ordinal)
{
	tcs_wbuf_u16(w, tag);
	tcs_wbuf_u32(w, 0);
	tcs_wbuf_u32(w, ordinal);
}

void
tcs_tpm_command_end(TcsWbuf *w)
{
	tcs_wbuf_put_u32_at(w, 2, (uint32_t)w->len);
}

uint32_t
tcs_tpm_reply_code(const uint8_t *rsp, size_t len)
{
	TcsRbuf r;
	uint32_t size, rc;

	tcs_rbuf_init(&r, rsp, len);
	(void)tcs_rbuf_u16(&r);
	size = tcs_rbuf_u32(&r);
	rc = tcs_rbuf_u32(&r);
	if (!tcs_rbuf_ok(&r) || size != len)
		return BAD_PACKET;
	return rc;
}

uint32_t
tcs_schema_peek_context(TcsPacketReader *req, uint32_t *context)
{
	TcsPacketReader copy = *req;
	return tcs_packet_get_u32(&copy, context) == 0 ? 0 : BAD_PACKET;
}

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* One request parameter per schema letter. */
static uint32_t
command_param(char op, TcsPacketReader *req, TcsKeyTranslateFunc translate, void *user_data,
	      TcsSchemaRequest *st, TcsWbuf *body)
{
	uint8_t b20[20];
	const uint8_t *p;
	uint32_t u32, len;
	uint16_t u16;
	uint64_t u64;
	uint8_t u8;
	bool bl;
	int rc = 0;

	switch (op) {
	case 'x':
		rc = tcs_packet_get_u32(req, &st->context);
		break;
	case 'k':
		rc = tcs_packet_get_u32(req, &u32);
		if (rc == 0) {
			uint32_t tpm = u32;
			if (st->n_keys < TCS_ARRAY_SIZE(st->tcs_keys))
				st->tcs_keys[st->n_keys++] = u32;
			if (translate) {
				uint32_t res = translate(u32, &tpm, user_data);
				if (res)
					return res;
			}
			tcs_wbuf_u32(body, tpm);
		}
		break;
	case 'u':
		rc = tcs_packet_get_u32(req, &u32);
		if (rc == 0)
			tcs_wbuf_u32(body, u32);
		break;
	case 'w':
		rc = tcs_packet_get_u16(req, &u16);
		if (rc == 0)
			tcs_wbuf_u16(body, u16);
		break;
	case 'm':
		/* TrouSerS maps TSS_MS_MIGRATE..RESTRICT_APPROVE_DOUBLE (0x20..0x24) to the
		 * TPM_MS_* values 1..5 and lets the TPM judge anything else */
		rc = tcs_packet_get_u16(req, &u16);
		if (rc == 0)
			tcs_wbuf_u16(body, u16 >= 0x20 && u16 <= 0x24 ? (uint16_t)(u16 - 0x1f) : u16);
		break;
	case 'y':
		rc = tcs_packet_get_u8(req, &u8);
		if (rc == 0)
			tcs_wbuf_u8(body, u8);
		break;
	case 'b':
		rc = tcs_packet_get_bool(req, &bl);
		if (rc == 0)
			tcs_wbuf_u8(body, bl ? 1 : 0);
		break;
	case 'U':
		rc = tcs_packet_get_u64(req, &u64);
		if (rc == 0)
			tcs_wbuf_u64(body, u64);
		break;
	case 'n':
	case 'd':
	case 'e':
	case 's': {
		uint8_t type = op == 'n'   ? TCSD_TYPE_NONCE
			       : op == 'd' ? TCSD_TYPE_DIGEST
			       : op == 'e' ? TCSD_TYPE_ENCAUTH
					   : TCSD_TYPE_SECRET;
		rc = tcs_packet_get_20(req, type, b20);
		if (rc == 0)
			tcs_wbuf_bytes(body, b20, 20);
		tcs_wipe(b20, sizeof(b20));
		break;
	}
	case '4':
		/* a counter label: exactly 4 bytes (TrouSerS refuses other sizes the same way) */
		rc = tcs_packet_get_blob(req, TCS_TPM_MAX_COMMAND, &p, &len);
		if (rc == 0 && len != 4)
			return TCS_ERR(TSS_E_BAD_PARAMETER);
		if (rc == 0)
			tcs_wbuf_bytes(body, p, 4);
		break;
	case 'M':
		/* TPM_CMK_AUTH: three digests as a bare PBYTE, no size in front */
		rc = tcs_packet_get_pbyte(req, 60, &p);
		if (rc == 0)
			tcs_wbuf_bytes(body, p, 60);
		break;
	case 'L':
	case 'R':
		rc = tcs_packet_get_blob(req, TCS_TPM_MAX_COMMAND, &p, &len);
		if (rc == 0) {
			if (op == 'L')
				tcs_wbuf_u32(body, len);
			tcs_wbuf_bytes(body, p, len);
		}
		break;
	case 'A':
	case 'a':
	case 'z': {
		unsigned i = st->n_auth_slots++;
		TcsAuthIn *a = &st->auth[i];

		rc = tcs_packet_get_auth_in(req, a);
		if (rc == -ENOMSG && op == 'a')
			return 0; /* optional and absent */
		if (rc == 0 && op == 'z' && all_zero(a, sizeof(*a)))
			return 0; /* placeholder for "no authorisation" */
		if (rc == 0) {
			st->auth_present[i] = true;
			st->n_auth++;
		}
		break;
	}
	default:
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	}
	return rc == 0 ? 0 : BAD_PACKET;
}

uint32_t
tcs_schema_build_command(const TcsOrdinal *o, TcsPacketReader *req, TcsKeyTranslateFunc translate,
			 void *user_data, TcsSchemaRequest *st, TcsWbuf *tpm_cmd)
{
	static const uint16_t tags[] = {TPM_TAG_RQU_COMMAND, TPM_TAG_RQU_AUTH1_COMMAND,
					TPM_TAG_RQU_AUTH2_COMMAND};
	TcsWbuf body, held;
	uint32_t res = 0;

	memset(st, 0, sizeof(*st));
	if (!o->tpm_ordinal || !o->in)
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	tcs_wbuf_init(&body, TCS_TPM_MAX_COMMAND);
	tcs_wbuf_init(&held, TCS_TPM_MAX_COMMAND);
	for (const char *op = o->in; *op && res == 0; op++) {
		/* one AUTH for an optional + required pair ("aA") is the required one, as
		 * TrouSerS reads it (ActivateTPMIdentity: the owner's, no key auth) */
		if (*op == 'A' && op > o->in && op[-1] == 'a' && st->n_auth_slots > 0 &&
		    st->auth_present[st->n_auth_slots - 1] &&
		    tcs_packet_peek_type(req) != TCSD_TYPE_AUTH) {
			unsigned i = st->n_auth_slots++;

			st->auth[i] = st->auth[i - 1];
			st->auth_present[i] = true;
			st->auth_present[i - 1] = false;
			tcs_wipe(&st->auth[i - 1], sizeof(st->auth[i - 1]));
			continue;
		}
		/* '>': the TPM wants this parameter after the next one that is not held */
		if (*op == '>' && op[1]) {
			res = command_param(*++op, req, translate, user_data, st, &held);
			continue;
		}
		res = command_param(*op, req, translate, user_data, st, &body);
		if (held.len) {
			tcs_wbuf_bytes(&body, held.data, held.len);
			held.len = 0;
		}
	}
	if (res == 0 && (!tcs_wbuf_ok(&body) || !tcs_wbuf_ok(&held) || held.len))
		res = BAD_PACKET;
	if (res == 0) {
		/* the trailers follow the parameters, in the schema's order */
		tcs_tpm_command_begin(tpm_cmd, tags[st->n_auth], o->tpm_ordinal);
		tcs_wbuf_bytes(tpm_cmd, body.data, body.len);
		for (unsigned i = 0; i < st->n_auth_slots; i++) {
			const TcsAuthIn *a = &st->auth[i];
			if (!st->auth_present[i])
				continue;
			tcs_wbuf_u32(tpm_cmd, a->handle);
			tcs_wbuf_bytes(tpm_cmd, a->nonce_odd, 20);
			tcs_wbuf_u8(tpm_cmd, a->cont);
			tcs_wbuf_bytes(tpm_cmd, a->hmac, 20);
		}
		tcs_tpm_command_end(tpm_cmd);
		if (!tcs_wbuf_ok(tpm_cmd) || tpm_cmd->len > TCS_TPM_MAX_COMMAND)
			res = BAD_PACKET;
	}
	tcs_wbuf_free_secure(&body);
	tcs_wbuf_free_secure(&held);
	return res;
}

void
tcs_schema_set_trailer_handle(TcsWbuf *tpm_cmd, const TcsSchemaRequest *st, unsigned i,
			      uint32_t handle)
{
	/* the trailers are the last n_auth * 45 bytes, in order */
	if (i >= st->n_auth || tpm_cmd->len < st->n_auth * TCS_AUTH_IN_SIZE) {
		tpm_cmd->error = true;
		return;
	}
	tcs_wbuf_put_u32_at(tpm_cmd, tpm_cmd->len - (st->n_auth - i) * TCS_AUTH_IN_SIZE, handle);
}

typedef struct {
	char op;
	const uint8_t *p;
	size_t len;
	uint32_t u32;
} ReplyField;

/* Length of a TPM structure at the start of r, through tcs-key's walkers. */
static int
struct_len(char op, const TcsRbuf *r, size_t *len)
{
	const uint8_t *p = tcs_rbuf_cur(r);
	size_t n = tcs_rbuf_remaining(r);

	switch (op) {
	case 'K':
		return tcs_struct_len_key(p, n, len);
	case 'P':
		return tcs_struct_len_pubkey(p, n, len);
	case 'C':
		return tcs_struct_len_pcr_composite(p, n, len);
	case 'S':
		return tcs_struct_len_stored_data(p, n, len);
	case 'T':
		return tcs_struct_len_current_ticks(p, n, len);
	case 'I':
		return tcs_struct_len_pcr_info_short(p, n, len);
	case 'F':
		return tcs_struct_len_certify_info(p, n, len);
	case 'r':
		*len = n;
		return 0;
	}
	return -EINVAL;
}

static bool
parse_field(char op, TcsRbuf *r, ReplyField *f)
{
	size_t n;

	f->op = op;
	switch (op) {
	case 'u':
		f->u32 = tcs_rbuf_u32(r);
		break;
	case 'w':
		f->p = tcs_rbuf_take(r, 2);
		break;
	case 'b':
		f->p = tcs_rbuf_take(r, 1);
		break;
	case 'n':
	case 'd':
		f->p = tcs_rbuf_take(r, 20);
		break;
	case 'V':
		f->p = tcs_rbuf_take(r, 4);
		break;
	case 'c':
	case 'Q':
		f->p = tcs_rbuf_take(r, 10);
		f->len = 10;
		break;
	case 'U':
		f->p = tcs_rbuf_take(r, 8);
		break;
	case 'L':
	case 'l':
		f->len = tcs_rbuf_u32(r);
		f->p = tcs_rbuf_take(r, f->len);
		break;
	case 'O':
		f->len = tcs_rbuf_u32(r);
		f->p = tcs_rbuf_take(r, f->len);
		if (f->len % 4)
			return false;
		break;
	default:
		if (struct_len(op, r, &n) < 0)
			return false;
		f->len = n;
		f->p = tcs_rbuf_take(r, n);
		break;
	}
	return tcs_rbuf_ok(r);
}

static void
emit_field(const ReplyField *f, TcsPacketWriter *w)
{
	TcsRbuf r;

	tcs_rbuf_init(&r, f->p, 10);
	switch (f->op) {
	case 'u':
		tcs_packet_put_u32(w, f->u32);
		break;
	case 'w':
		tcs_packet_put_u16(w, (uint16_t)(f->p[0] << 8 | f->p[1]));
		break;
	case 'b':
		tcs_packet_put_bool(w, f->p[0] != 0);
		break;
	case 'n':
		tcs_packet_put_20(w, TCSD_TYPE_NONCE, f->p);
		break;
	case 'd':
		tcs_packet_put_20(w, TCSD_TYPE_DIGEST, f->p);
		break;
	case 'V': {
		TcsVersion v = {f->p[0], f->p[1], f->p[2], f->p[3]};
		tcs_packet_put_version(w, &v);
		break;
	}
	case 'c': {
		TcsCounterValue cv;
		cv.tag = tcs_rbuf_u16(&r);
		tcs_rbuf_copy(&r, cv.label, 4);
		cv.counter = tcs_rbuf_u32(&r);
		tcs_packet_put_counter_value(w, &cv);
		break;
	}
	case 'U': {
		TcsRbuf r8;
		tcs_rbuf_init(&r8, f->p, 8);
		tcs_packet_put_u64(w, tcs_rbuf_u64(&r8));
		break;
	}
	case 'O':
		/* the TSS counts ordinals, the TPM bytes; the list stays in TPM byte order */
		tcs_packet_put_u32(w, (uint32_t)f->len / 4);
		tcs_packet_put_pbyte(w, f->p, (uint32_t)f->len);
		break;
	case 'l':
		/* TrouSerS leaves an empty PBYTE out here, and libtspi counts on it */
		tcs_packet_put_u32(w, (uint32_t)f->len);
		if (f->len)
			tcs_packet_put_pbyte(w, f->p, (uint32_t)f->len);
		break;
	default:
		tcs_packet_put_blob(w, f->p, (uint32_t)f->len);
		break;
	}
}

uint32_t
tcs_schema_build_reply(const TcsOrdinal *o, const TcsSchemaRequest *st, const uint8_t *rsp,
		       size_t len, TcsPacketWriter *w)
{
	ReplyField fields[8] = {{0}};
	TcsAuthOut trailers[TCS_SCHEMA_MAX_AUTH] = {{{0}}};
	size_t nfields = strlen(o->tpm_out), trailer_bytes = st->n_auth * TCS_AUTH_OUT_SIZE;
	unsigned next_slot = 0, next_trailer = 0;
	TcsRbuf r, data;

	if (nfields > TCS_ARRAY_SIZE(fields) || len < 10 + trailer_bytes)
		return BAD_PACKET;
	tcs_rbuf_init(&r, rsp, len);
	tcs_rbuf_skip(&r, 10);
	/* the trailers sit at the very end; the fields fill what is before them */
	tcs_rbuf_sub(&r, len - 10 - trailer_bytes, &data);
	for (size_t i = 0; i < nfields; i++)
		if (!parse_field(o->tpm_out[i], &data, &fields[i]))
			return BAD_PACKET;
	if (tcs_rbuf_remaining(&data) != 0)
		return BAD_PACKET;
	for (unsigned i = 0; i < st->n_auth; i++) {
		tcs_rbuf_copy(&r, trailers[i].nonce_even, 20);
		trailers[i].cont = tcs_rbuf_u8(&r);
		tcs_rbuf_copy(&r, trailers[i].hmac, 20);
	}
	if (!tcs_rbuf_ok(&r))
		return BAD_PACKET;

	if (!o->out) {
		for (unsigned i = 0; i < st->n_auth; i++)
			tcs_packet_put_auth_out(w, &trailers[i]);
		for (size_t i = 0; i < nfields; i++)
			emit_field(&fields[i], w);
		return 0;
	}
	for (const char *op = o->out; *op; op++) {
		if (*op == 'A' || *op == 'Z') {
			unsigned slot = next_slot++;
			if (slot < st->n_auth_slots && st->auth_present[slot]) {
				tcs_packet_put_auth_out(w, &trailers[next_trailer++]);
			} else if (*op == 'Z') {
				TcsAuthOut zero = {{0}};
				tcs_packet_put_auth_out(w, &zero);
			}
		} else {
			emit_field(&fields[*op - '0'], w);
		}
	}
	return 0;
}

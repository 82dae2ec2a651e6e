/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-packet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcs-common.h"
#include "tcs-uuid.h"

void
tcs_packet_header_read(const uint8_t hdr[TCSD_HEADER_SIZE], TcsPacketHeader *ret)
{
	TcsRbuf r;

	tcs_rbuf_init(&r, hdr, TCSD_HEADER_SIZE);
	ret->packet_size = tcs_rbuf_u32(&r);
	ret->code = tcs_rbuf_u32(&r);
	ret->num_parms = tcs_rbuf_u32(&r);
	ret->type_size = tcs_rbuf_u32(&r);
	ret->type_offset = tcs_rbuf_u32(&r);
	ret->parm_size = tcs_rbuf_u32(&r);
	ret->parm_offset = tcs_rbuf_u32(&r);
}

int
tcs_packet_header_check(const TcsPacketHeader *h, uint32_t max_size)
{
	if (max_size == 0 || max_size > TCSD_MAX_PACKET_SIZE)
		max_size = TCSD_MAX_PACKET_SIZE;
	if (h->packet_size < TCSD_HEADER_SIZE)
		return -EBADMSG;
	if (h->packet_size > max_size)
		return -EMSGSIZE;
	return 0;
}

static int
reader_init(TcsPacketReader *r, const uint8_t *buf, size_t len, uint32_t max_parms)
{
	TcsPacketHeader *h = &r->hdr;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!buf || len < TCSD_HEADER_SIZE)
		return -EBADMSG;
	tcs_packet_header_read(buf, h);
	rc = tcs_packet_header_check(h, TCSD_MAX_PACKET_SIZE);
	if (rc < 0)
		return rc;
	if (h->packet_size != len)
		return -EBADMSG;
	if (h->num_parms == 0) {
		/* error replies zero everything; requests still point past the header */
		tcs_rbuf_init(&r->parms, NULL, 0);
		return 0;
	}
	/* every offset is checked against the packet before anything is read */
	if (h->num_parms > max_parms || h->type_size < h->num_parms)
		return -EBADMSG;
	if (h->type_offset < TCSD_HEADER_SIZE || h->type_offset > len ||
	    h->num_parms > len - h->type_offset)
		return -EBADMSG;
	if (h->parm_offset < h->type_offset + h->num_parms || h->parm_offset > len ||
	    h->parm_size != len - h->parm_offset)
		return -EBADMSG;
	r->types = buf + h->type_offset;
	tcs_rbuf_init(&r->parms, buf + h->parm_offset, h->parm_size);
	return 0;
}

int
tcs_packet_reader_init(TcsPacketReader *r, const uint8_t *buf, size_t len)
{
	return reader_init(r, buf, len, TCSD_MAX_PARMS);
}

int
tcs_packet_reader_init_reply(TcsPacketReader *r, const uint8_t *buf, size_t len)
{
	return reader_init(r, buf, len, TCSD_MAX_REPLY_PARMS);
}

int
tcs_packet_peek_type(const TcsPacketReader *r)
{
	if (r->index >= r->hdr.num_parms || !r->types)
		return -1;
	return r->types[r->index];
}

bool
tcs_packet_reader_done(const TcsPacketReader *r)
{
	return r->index >= r->hdr.num_parms && tcs_rbuf_remaining(&r->parms) == 0;
}

/* Claim the next parameter slot if it has the wanted type and n bytes are there. */
static int
claim(TcsPacketReader *r, uint8_t type, size_t n, TcsRbuf *sub)
{
	if (tcs_packet_peek_type(r) != type)
		return -ENOMSG;
	if (!tcs_rbuf_sub(&r->parms, n, sub))
		return -EBADMSG;
	r->index++;
	return 0;
}

int
tcs_packet_get_u8(TcsPacketReader *r, uint8_t *v)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_BYTE, 1, &s);
	if (rc == 0)
		*v = tcs_rbuf_u8(&s);
	return rc;
}

int
tcs_packet_get_bool(TcsPacketReader *r, bool *v)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_BOOL, 1, &s);
	if (rc == 0)
		*v = tcs_rbuf_u8(&s) != 0;
	return rc;
}

int
tcs_packet_get_u16(TcsPacketReader *r, uint16_t *v)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_UINT16, 2, &s);
	if (rc == 0)
		*v = tcs_rbuf_u16(&s);
	return rc;
}

int
tcs_packet_get_u32(TcsPacketReader *r, uint32_t *v)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_UINT32, 4, &s);
	if (rc == 0)
		*v = tcs_rbuf_u32(&s);
	return rc;
}

int
tcs_packet_get_u64(TcsPacketReader *r, uint64_t *v)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_UINT64, 8, &s);
	if (rc == 0)
		*v = tcs_rbuf_u64(&s);
	return rc;
}

int
tcs_packet_get_20(TcsPacketReader *r, uint8_t type, uint8_t out[20])
{
	TcsRbuf s;
	int rc = claim(r, type, 20, &s);
	if (rc == 0)
		tcs_rbuf_copy(&s, out, 20);
	return rc;
}

int
tcs_packet_get_pbyte(TcsPacketReader *r, uint32_t len, const uint8_t **p)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_PBYTE, len, &s);

	if (rc == -ENOMSG && len == 0) {
		/* Seal/Sealx leave out the slot of an empty PBYTE */
		*p = NULL;
		return 0;
	}
	if (rc == 0)
		*p = len ? tcs_rbuf_cur(&s) : NULL;
	return rc;
}

int
tcs_packet_get_blob(TcsPacketReader *r, uint32_t max, const uint8_t **p, uint32_t *len)
{
	uint32_t n;
	int rc;

	rc = tcs_packet_get_u32(r, &n);
	if (rc < 0)
		return rc;
	/* the length is checked against what is actually there before use */
	if (n > max || n > tcs_rbuf_remaining(&r->parms))
		return -EBADMSG;
	rc = tcs_packet_get_pbyte(r, n, p);
	if (rc < 0)
		return rc == -ENOMSG ? -EBADMSG : rc;
	*len = n;
	return 0;
}

int
tcs_packet_get_uuid(TcsPacketReader *r, TcsUuid *u)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_UUID, 16, &s);
	if (rc == 0)
		tcs_uuid_read_wire(&s, u);
	return rc;
}

static void
read_version(TcsRbuf *s, TcsVersion *v)
{
	v->major = tcs_rbuf_u8(s);
	v->minor = tcs_rbuf_u8(s);
	v->rev_major = tcs_rbuf_u8(s);
	v->rev_minor = tcs_rbuf_u8(s);
}

int
tcs_packet_get_version(TcsPacketReader *r, TcsVersion *v)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_VERSION, 4, &s);
	if (rc == 0)
		read_version(&s, v);
	return rc;
}

int
tcs_packet_get_auth_in(TcsPacketReader *r, TcsAuthIn *a)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_AUTH, TCS_AUTH_IN_SIZE, &s);
	if (rc == 0) {
		a->handle = tcs_rbuf_u32(&s);
		tcs_rbuf_copy(&s, a->nonce_odd, 20);
		a->cont = tcs_rbuf_u8(&s);
		tcs_rbuf_copy(&s, a->hmac, 20);
	}
	return rc;
}

int
tcs_packet_get_auth_out(TcsPacketReader *r, TcsAuthOut *a)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_AUTH, TCS_AUTH_OUT_SIZE, &s);
	if (rc == 0) {
		tcs_rbuf_copy(&s, a->nonce_even, 20);
		a->cont = tcs_rbuf_u8(&s);
		tcs_rbuf_copy(&s, a->hmac, 20);
	}
	return rc;
}

int
tcs_packet_get_loadkey_info(TcsPacketReader *r, TcsLoadKeyInfo *info)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_LOADKEY_INFO, TCS_LOADKEY_INFO_SIZE, &s);
	if (rc == 0) {
		tcs_uuid_read_wire(&s, &info->key);
		tcs_uuid_read_wire(&s, &info->parent);
		tcs_rbuf_copy(&s, info->param_digest, 20);
		info->auth.handle = tcs_rbuf_u32(&s);
		tcs_rbuf_copy(&s, info->auth.nonce_odd, 20);
		tcs_rbuf_copy(&s, info->nonce_even, 20);
		info->auth.cont = tcs_rbuf_u8(&s);
		tcs_rbuf_copy(&s, info->auth.hmac, 20);
	}
	return rc;
}

/* Variable-size parameters: parse from a copy of the cursor, then commit. */
int
tcs_packet_get_km_keyinfo(TcsPacketReader *r, bool v2, TcsKmKeyInfo *info)
{
	TcsRbuf s = r->parms;
	TcsKmKeyInfo ki = {0};

	if (tcs_packet_peek_type(r) != (v2 ? TCSD_TYPE_KM_KEYINFO2 : TCSD_TYPE_KM_KEYINFO))
		return -ENOMSG;
	read_version(&s, &ki.version);
	tcs_uuid_read_wire(&s, &ki.key);
	tcs_uuid_read_wire(&s, &ki.parent);
	ki.auth_data_usage = tcs_rbuf_u8(&s);
	if (v2) {
		ki.ps_type = tcs_rbuf_u32(&s);
		ki.ps_type_parent = tcs_rbuf_u32(&s);
	}
	ki.loaded = tcs_rbuf_u8(&s) != 0;
	ki.vendor_len = tcs_rbuf_u32(&s);
	ki.vendor = tcs_rbuf_take(&s, ki.vendor_len);
	if (!tcs_rbuf_ok(&s))
		return -EBADMSG;
	r->parms = s;
	r->index++;
	*info = ki;
	return 0;
}

int
tcs_packet_get_pcr_event(TcsPacketReader *r, TcsPcrEvent *ev)
{
	TcsRbuf s = r->parms;
	TcsPcrEvent e = {0};

	if (tcs_packet_peek_type(r) != TCSD_TYPE_PCR_EVENT)
		return -ENOMSG;
	read_version(&s, &e.version);
	e.pcr_index = tcs_rbuf_u32(&s);
	e.event_type = tcs_rbuf_u32(&s);
	e.pcr_value_len = tcs_rbuf_u32(&s);
	e.pcr_value = tcs_rbuf_take(&s, e.pcr_value_len);
	e.event_len = tcs_rbuf_u32(&s);
	e.event = tcs_rbuf_take(&s, e.event_len);
	if (!tcs_rbuf_ok(&s))
		return -EBADMSG;
	r->parms = s;
	r->index++;
	*ev = e;
	return 0;
}

int
tcs_packet_get_counter_value(TcsPacketReader *r, TcsCounterValue *cv)
{
	TcsRbuf s;
	int rc = claim(r, TCSD_TYPE_COUNTER_VALUE, 10, &s);
	if (rc == 0) {
		cv->tag = tcs_rbuf_u16(&s);
		tcs_rbuf_copy(&s, cv->label, 4);
		cv->counter = tcs_rbuf_u32(&s);
	}
	return rc;
}

/* ---- writer ---- */

void
tcs_packet_writer_init(TcsPacketWriter *w)
{
	memset(w, 0, sizeof(*w));
	tcs_wbuf_init(&w->parms, TCSD_MAX_PACKET_SIZE - TCSD_HEADER_SIZE - TCSD_MAX_REPLY_PARMS);
}

void
tcs_packet_writer_clear(TcsPacketWriter *w)
{
	/* replies carry secrets (unsealed data, key material): wipe them */
	tcs_wbuf_free_secure(&w->parms);
	w->n = 0;
}

static TcsWbuf *
slot(TcsPacketWriter *w, uint8_t type)
{
	if (w->n >= TCSD_MAX_REPLY_PARMS) {
		w->error = true;
		return &w->parms;
	}
	w->types[w->n++] = type;
	return &w->parms;
}

void
tcs_packet_put_u8(TcsPacketWriter *w, uint8_t v)
{
	tcs_wbuf_u8(slot(w, TCSD_TYPE_BYTE), v);
}

void
tcs_packet_put_bool(TcsPacketWriter *w, bool v)
{
	tcs_wbuf_u8(slot(w, TCSD_TYPE_BOOL), v ? 1 : 0);
}

void
tcs_packet_put_u16(TcsPacketWriter *w, uint16_t v)
{
	tcs_wbuf_u16(slot(w, TCSD_TYPE_UINT16), v);
}

void
tcs_packet_put_u32(TcsPacketWriter *w, uint32_t v)
{
	tcs_wbuf_u32(slot(w, TCSD_TYPE_UINT32), v);
}

void
tcs_packet_put_u64(TcsPacketWriter *w, uint64_t v)
{
	tcs_wbuf_u64(slot(w, TCSD_TYPE_UINT64), v);
}

void
tcs_packet_put_20(TcsPacketWriter *w, uint8_t type, const uint8_t v[20])
{
	tcs_wbuf_bytes(slot(w, type), v, 20);
}

void
tcs_packet_put_pbyte(TcsPacketWriter *w, const void *p, uint32_t len)
{
	tcs_wbuf_bytes(slot(w, TCSD_TYPE_PBYTE), p, len);
}

void
tcs_packet_put_blob(TcsPacketWriter *w, const void *p, uint32_t len)
{
	tcs_packet_put_u32(w, len);
	tcs_packet_put_pbyte(w, p, len);
}

void
tcs_packet_put_uuid(TcsPacketWriter *w, const TcsUuid *u)
{
	tcs_uuid_write_wire(slot(w, TCSD_TYPE_UUID), u);
}

static void
write_version(TcsWbuf *b, const TcsVersion *v)
{
	tcs_wbuf_u8(b, v->major);
	tcs_wbuf_u8(b, v->minor);
	tcs_wbuf_u8(b, v->rev_major);
	tcs_wbuf_u8(b, v->rev_minor);
}

void
tcs_packet_put_version(TcsPacketWriter *w, const TcsVersion *v)
{
	write_version(slot(w, TCSD_TYPE_VERSION), v);
}

void
tcs_packet_put_auth_in(TcsPacketWriter *w, const TcsAuthIn *a)
{
	TcsWbuf *b = slot(w, TCSD_TYPE_AUTH);
	tcs_wbuf_u32(b, a->handle);
	tcs_wbuf_bytes(b, a->nonce_odd, 20);
	tcs_wbuf_u8(b, a->cont);
	tcs_wbuf_bytes(b, a->hmac, 20);
}

void
tcs_packet_put_auth_out(TcsPacketWriter *w, const TcsAuthOut *a)
{
	TcsWbuf *b = slot(w, TCSD_TYPE_AUTH);
	tcs_wbuf_bytes(b, a->nonce_even, 20);
	tcs_wbuf_u8(b, a->cont);
	tcs_wbuf_bytes(b, a->hmac, 20);
}

void
tcs_packet_put_loadkey_info(TcsPacketWriter *w, const TcsLoadKeyInfo *info)
{
	TcsWbuf *b = slot(w, TCSD_TYPE_LOADKEY_INFO);
	tcs_uuid_write_wire(b, &info->key);
	tcs_uuid_write_wire(b, &info->parent);
	tcs_wbuf_bytes(b, info->param_digest, 20);
	tcs_wbuf_u32(b, info->auth.handle);
	tcs_wbuf_bytes(b, info->auth.nonce_odd, 20);
	tcs_wbuf_bytes(b, info->nonce_even, 20);
	tcs_wbuf_u8(b, info->auth.cont);
	tcs_wbuf_bytes(b, info->auth.hmac, 20);
}

void
tcs_packet_put_km_keyinfo(TcsPacketWriter *w, bool v2, const TcsKmKeyInfo *info)
{
	TcsWbuf *b = slot(w, v2 ? TCSD_TYPE_KM_KEYINFO2 : TCSD_TYPE_KM_KEYINFO);
	write_version(b, &info->version);
	tcs_uuid_write_wire(b, &info->key);
	tcs_uuid_write_wire(b, &info->parent);
	tcs_wbuf_u8(b, info->auth_data_usage);
	if (v2) {
		tcs_wbuf_u32(b, info->ps_type);
		tcs_wbuf_u32(b, info->ps_type_parent);
	}
	tcs_wbuf_u8(b, info->loaded ? 1 : 0);
	tcs_wbuf_u32(b, info->vendor_len);
	tcs_wbuf_bytes(b, info->vendor, info->vendor_len);
}

void
tcs_packet_put_pcr_event(TcsPacketWriter *w, const TcsPcrEvent *ev)
{
	TcsWbuf *b = slot(w, TCSD_TYPE_PCR_EVENT);
	write_version(b, &ev->version);
	tcs_wbuf_u32(b, ev->pcr_index);
	tcs_wbuf_u32(b, ev->event_type);
	tcs_wbuf_u32(b, ev->pcr_value_len);
	tcs_wbuf_bytes(b, ev->pcr_value, ev->pcr_value_len);
	tcs_wbuf_u32(b, ev->event_len);
	tcs_wbuf_bytes(b, ev->event, ev->event_len);
}

void
tcs_packet_put_counter_value(TcsPacketWriter *w, const TcsCounterValue *cv)
{
	TcsWbuf *b = slot(w, TCSD_TYPE_COUNTER_VALUE);
	tcs_wbuf_u16(b, cv->tag);
	tcs_wbuf_bytes(b, cv->label, 4);
	tcs_wbuf_u32(b, cv->counter);
}

int
tcs_packet_writer_finish(TcsPacketWriter *w, uint32_t code, uint8_t **ret, size_t *ret_len)
{
	TcsWbuf out;
	uint32_t parm_offset = TCSD_HEADER_SIZE + w->n;

	if (w->error || !tcs_wbuf_ok(&w->parms))
		return -EMSGSIZE;
	if (w->n == 0) {
		/* TrouSerS zeroes the offsets of parameter-less replies */
		*ret = malloc(TCSD_HEADER_SIZE);
		if (!*ret)
			return -ENOMEM;
		tcs_packet_error_reply(code, *ret);
		*ret_len = TCSD_HEADER_SIZE;
		return 0;
	}
	tcs_wbuf_init(&out, TCSD_MAX_PACKET_SIZE);
	tcs_wbuf_u32(&out, parm_offset + (uint32_t)w->parms.len);
	tcs_wbuf_u32(&out, code);
	tcs_wbuf_u32(&out, w->n);
	tcs_wbuf_u32(&out, w->n);
	tcs_wbuf_u32(&out, TCSD_HEADER_SIZE);
	tcs_wbuf_u32(&out, (uint32_t)w->parms.len);
	tcs_wbuf_u32(&out, parm_offset);
	tcs_wbuf_bytes(&out, w->types, w->n);
	tcs_wbuf_bytes(&out, w->parms.data, w->parms.len);
	if (!tcs_wbuf_ok(&out)) {
		tcs_wbuf_free_secure(&out);
		return -EMSGSIZE;
	}
	*ret = tcs_wbuf_steal(&out, ret_len);
	return 0;
}

void
tcs_packet_error_reply(uint32_t result, uint8_t out[TCSD_HEADER_SIZE])
{
	memset(out, 0, TCSD_HEADER_SIZE);
	out[3] = TCSD_HEADER_SIZE;
	out[4] = result >> 24;
	out[5] = (result >> 16) & 0xff;
	out[6] = (result >> 8) & 0xff;
	out[7] = result & 0xff;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-uuid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tcs-common.h"

bool
tcs_uuid_equal(const TcsUuid *a, const TcsUuid *b)
{
	/* field by field: the struct may have padding in other ABIs */
	return a->time_low == b->time_low && a->time_mid == b->time_mid &&
	       a->time_high == b->time_high && a->clock_seq_high == b->clock_seq_high &&
	       a->clock_seq_low == b->clock_seq_low && memcmp(a->node, b->node, 6) == 0;
}

bool
tcs_uuid_is_null(const TcsUuid *u)
{
	static const TcsUuid null_uuid;
	return tcs_uuid_equal(u, &null_uuid);
}

const char *
tcs_uuid_to_string(const TcsUuid *u, char buf[static TCS_UUID_STRING_SIZE])
{
	snprintf(buf, TCS_UUID_STRING_SIZE, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u->time_low, u->time_mid, u->time_high, u->clock_seq_high, u->clock_seq_low,
		 u->node[0], u->node[1], u->node[2], u->node[3], u->node[4], u->node[5]);
	return buf;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tcs_uuid_from_string(const char *s, TcsUuid *ret)
{
	static const struct {
		const char *name;
		TcsUuid uuid;
	} names[] = {
		{"srk", TCS_UUID_NODE(1)},
		{"sk", TCS_UUID_NODE(2)},
		{"rk", TCS_UUID_NODE(3)},
	};
	uint8_t b[16];
	size_t n = 0;

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < TCS_ARRAY_SIZE(names); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*ret = names[i].uuid;
			return 0;
		}
	}
	if (strlen(s) != TCS_UUID_STRING_SIZE - 1)
		return -EINVAL;
	for (size_t i = 0; s[i]; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	/* the canonical text is the big-endian field order, i.e. the wire encoding */
	TcsRbuf r;
	tcs_rbuf_init(&r, b, sizeof(b));
	tcs_uuid_read_wire(&r, ret);
	return 0;
}

bool
tcs_uuid_read_wire(TcsRbuf *r, TcsUuid *u)
{
	u->time_low = tcs_rbuf_u32(r);
	u->time_mid = tcs_rbuf_u16(r);
	u->time_high = tcs_rbuf_u16(r);
	u->clock_seq_high = tcs_rbuf_u8(r);
	u->clock_seq_low = tcs_rbuf_u8(r);
	tcs_rbuf_copy(r, u->node, sizeof(u->node));
	return tcs_rbuf_ok(r);
}

void
tcs_uuid_write_wire(TcsWbuf *w, const TcsUuid *u)
{
	tcs_wbuf_u32(w, u->time_low);
	tcs_wbuf_u16(w, u->time_mid);
	tcs_wbuf_u16(w, u->time_high);
	tcs_wbuf_u8(w, u->clock_seq_high);
	tcs_wbuf_u8(w, u->clock_seq_low);
	tcs_wbuf_bytes(w, u->node, sizeof(u->node));
}

/* TrouSerS stores the raw x86 TSS_UUID, so the multi-byte fields are little-endian. */
bool
tcs_uuid_read_ps(TcsRbuf *r, TcsUuid *u)
{
	u->time_low = tcs_rbuf_u32_le(r);
	u->time_mid = tcs_rbuf_u16_le(r);
	u->time_high = tcs_rbuf_u16_le(r);
	u->clock_seq_high = tcs_rbuf_u8(r);
	u->clock_seq_low = tcs_rbuf_u8(r);
	tcs_rbuf_copy(r, u->node, sizeof(u->node));
	return tcs_rbuf_ok(r);
}

void
tcs_uuid_write_ps(TcsWbuf *w, const TcsUuid *u)
{
	tcs_wbuf_u32_le(w, u->time_low);
	tcs_wbuf_u16_le(w, u->time_mid);
	tcs_wbuf_u16_le(w, u->time_high);
	tcs_wbuf_u8(w, u->clock_seq_high);
	tcs_wbuf_u8(w, u->clock_seq_low);
	tcs_wbuf_bytes(w, u->node, sizeof(u->node));
}

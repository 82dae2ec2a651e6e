/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-buf.h"

#include <stdlib.h>
#include <string.h>

#include "tcs-common.h"

#define TCS_WBUF_DEFAULT_MAX (16u * 1024 * 1024)

void
tcs_rbuf_init(TcsRbuf *r, const void *data, size_t len)
{
	r->data = data;
	r->len = data ? len : 0;
	r->pos = 0;
	r->error = false;
}

const uint8_t *
tcs_rbuf_take(TcsRbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->error || n > r->len - r->pos) {
		r->error = true;
		return NULL;
	}
	p = r->data + r->pos;
	r->pos += n;
	return p;
}

bool
tcs_rbuf_skip(TcsRbuf *r, size_t n)
{
	(void)tcs_rbuf_take(r, n);
	return !r->error;
}

bool
tcs_rbuf_copy(TcsRbuf *r, void *out, size_t n)
{
	const uint8_t *p = tcs_rbuf_take(r, n);

	if (!p) {
		if (out && n)
			memset(out, 0, n);
		return false;
	}
	if (n)
		memcpy(out, p, n);
	return true;
}

bool
tcs_rbuf_sub(TcsRbuf *r, size_t n, TcsRbuf *sub)
{
	const uint8_t *p = tcs_rbuf_take(r, n);

	tcs_rbuf_init(sub, p, p ? n : 0);
	if (!p)
		sub->error = true;
	return p != NULL;
}

uint8_t
tcs_rbuf_u8(TcsRbuf *r)
{
	const uint8_t *p = tcs_rbuf_take(r, 1);
	return p ? p[0] : 0;
}

uint16_t
tcs_rbuf_u16(TcsRbuf *r)
{
	const uint8_t *p = tcs_rbuf_take(r, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t
tcs_rbuf_u32(TcsRbuf *r)
{
	const uint8_t *p = tcs_rbuf_take(r, 4);
	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

uint64_t
tcs_rbuf_u64(TcsRbuf *r)
{
	uint64_t hi = tcs_rbuf_u32(r);
	return hi << 32 | tcs_rbuf_u32(r);
}

uint16_t
tcs_rbuf_u16_le(TcsRbuf *r)
{
	const uint8_t *p = tcs_rbuf_take(r, 2);
	return p ? (uint16_t)(p[1] << 8 | p[0]) : 0;
}

uint32_t
tcs_rbuf_u32_le(TcsRbuf *r)
{
	const uint8_t *p = tcs_rbuf_take(r, 4);
	return p ? (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0] : 0;
}

void
tcs_wbuf_init(TcsWbuf *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max ? max : TCS_WBUF_DEFAULT_MAX;
}

void
tcs_wbuf_free(TcsWbuf *w)
{
	free(w->data);
	w->data = NULL;
	w->len = w->cap = 0;
}

void
tcs_wbuf_free_secure(TcsWbuf *w)
{
	tcs_wipe(w->data, w->cap);
	tcs_wbuf_free(w);
}

static uint8_t *
wbuf_reserve(TcsWbuf *w, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	if (w->error)
		return NULL;
	if (n > w->max - w->len) {
		w->error = true;
		return NULL;
	}
	/* nothing to reserve; also keeps NULL + 0 (undefined) off an empty buffer */
	if (n == 0)
		return NULL;
	need = w->len + n;
	if (need > w->cap) {
		cap = w->cap ? w->cap : 64;
		while (cap < need)
			cap *= 2;
		if (cap > w->max)
			cap = w->max;
		/* not realloc: the old block may hold a secret, wipe it before freeing */
		p = malloc(cap);
		if (!p) {
			w->error = true;
			return NULL;
		}
		if (w->len)
			memcpy(p, w->data, w->len);
		tcs_wipe(w->data, w->cap);
		free(w->data);
		w->data = p;
		w->cap = cap;
	}
	p = w->data + w->len;
	w->len += n;
	return p;
}

void
tcs_wbuf_bytes(TcsWbuf *w, const void *src, size_t n)
{
	uint8_t *p = wbuf_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}

void
tcs_wbuf_zeros(TcsWbuf *w, size_t n)
{
	uint8_t *p = wbuf_reserve(w, n);
	if (p && n)
		memset(p, 0, n);
}

void
tcs_wbuf_u8(TcsWbuf *w, uint8_t v)
{
	tcs_wbuf_bytes(w, &v, 1);
}

void
tcs_wbuf_u16(TcsWbuf *w, uint16_t v)
{
	uint8_t b[2] = {v >> 8, v & 0xff};
	tcs_wbuf_bytes(w, b, 2);
}

void
tcs_wbuf_u32(TcsWbuf *w, uint32_t v)
{
	uint8_t b[4] = {v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff};
	tcs_wbuf_bytes(w, b, 4);
}

void
tcs_wbuf_u64(TcsWbuf *w, uint64_t v)
{
	tcs_wbuf_u32(w, (uint32_t)(v >> 32));
	tcs_wbuf_u32(w, (uint32_t)v);
}

void
tcs_wbuf_u16_le(TcsWbuf *w, uint16_t v)
{
	uint8_t b[2] = {v & 0xff, v >> 8};
	tcs_wbuf_bytes(w, b, 2);
}

void
tcs_wbuf_u32_le(TcsWbuf *w, uint32_t v)
{
	uint8_t b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};
	tcs_wbuf_bytes(w, b, 4);
}

void
tcs_wbuf_put_u32_at(TcsWbuf *w, size_t off, uint32_t v)
{
	if (w->error || off > w->len || w->len - off < 4) {
		w->error = true;
		return;
	}
	w->data[off] = v >> 24;
	w->data[off + 1] = (v >> 16) & 0xff;
	w->data[off + 2] = (v >> 8) & 0xff;
	w->data[off + 3] = v & 0xff;
}

uint8_t *
tcs_wbuf_steal(TcsWbuf *w, size_t *len)
{
	uint8_t *p = w->data;

	if (len)
		*len = w->len;
	w->data = NULL;
	w->len = w->cap = 0;
	return p;
}

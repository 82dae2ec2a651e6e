/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one bounds-checked cursor every wire byte goes through.
 *
 * Readers never read past the end: the first short read sets a sticky error
 * and every later read returns zeros, so a parser can read a whole structure
 * and check tcs_rbuf_ok() once. Writers grow up to a hard limit, with the same
 * sticky error on overflow. All multi-byte integers are big-endian (TPM and
 * TCSD wire order) unless the function name says _le.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	const uint8_t *data;
	size_t len;
	size_t pos;
	bool error;
} TcsRbuf;

void tcs_rbuf_init(TcsRbuf *r, const void *data, size_t len);
static inline bool
tcs_rbuf_ok(const TcsRbuf *r)
{
	return !r->error;
}
static inline size_t
tcs_rbuf_remaining(const TcsRbuf *r)
{
	return r->error ? 0 : r->len - r->pos;
}
static inline const uint8_t *
tcs_rbuf_cur(const TcsRbuf *r)
{
	return r->data + r->pos;
}
uint8_t tcs_rbuf_u8(TcsRbuf *r);
uint16_t tcs_rbuf_u16(TcsRbuf *r);
uint32_t tcs_rbuf_u32(TcsRbuf *r);
uint64_t tcs_rbuf_u64(TcsRbuf *r);
uint16_t tcs_rbuf_u16_le(TcsRbuf *r);
uint32_t tcs_rbuf_u32_le(TcsRbuf *r);
/* Copy n bytes out (zero-filled on error). */
bool tcs_rbuf_copy(TcsRbuf *r, void *out, size_t n);
/* Borrow a pointer to the next n bytes and advance; NULL on short data. */
const uint8_t *tcs_rbuf_take(TcsRbuf *r, size_t n);
bool tcs_rbuf_skip(TcsRbuf *r, size_t n);
/* A sub-cursor over the next n bytes (advances the parent). */
bool tcs_rbuf_sub(TcsRbuf *r, size_t n, TcsRbuf *sub);

typedef struct {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
	bool error;
} TcsWbuf;

/* max = hard upper bound on the buffer's length (0 = 16 MiB). */
void tcs_wbuf_init(TcsWbuf *w, size_t max);
void tcs_wbuf_free(TcsWbuf *w);
/* Wipe then free: for buffers that held secrets. */
void tcs_wbuf_free_secure(TcsWbuf *w);
static inline bool
tcs_wbuf_ok(const TcsWbuf *w)
{
	return !w->error;
}
void tcs_wbuf_u8(TcsWbuf *w, uint8_t v);
void tcs_wbuf_u16(TcsWbuf *w, uint16_t v);
void tcs_wbuf_u32(TcsWbuf *w, uint32_t v);
void tcs_wbuf_u64(TcsWbuf *w, uint64_t v);
void tcs_wbuf_u16_le(TcsWbuf *w, uint16_t v);
void tcs_wbuf_u32_le(TcsWbuf *w, uint32_t v);
void tcs_wbuf_bytes(TcsWbuf *w, const void *p, size_t n);
void tcs_wbuf_zeros(TcsWbuf *w, size_t n);
/* Overwrite a big-endian u32 at an earlier offset (for length fix-ups). */
void tcs_wbuf_put_u32_at(TcsWbuf *w, size_t off, uint32_t v);
/* Hand the bytes to the caller; the writer is left empty. */
uint8_t *tcs_wbuf_steal(TcsWbuf *w, size_t *len);

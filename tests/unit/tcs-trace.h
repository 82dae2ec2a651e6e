/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loader for the TrouSerS wire traces in tests/data/traces/ (JSON lines) (see the
 * README there): one record per request/reply exchange, frames as bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	int conn;
	int seq;
	uint32_t ordinal;
	char *name;
	char *source;
	char *note; /* NULL when the record has none */
	uint8_t *request;
	size_t request_len;
	uint8_t *reply; /* NULL/0 when the peer closed without answering */
	size_t reply_len;
	bool has_result;
	uint32_t result;
	size_t line; /* 1-based line in the file, for messages */
} TcsTraceRecord;

typedef struct {
	TcsTraceRecord *rec;
	size_t n;
} TcsTrace;

/* Load $TCS_SOURCE_DIR/tests/data/traces/<file>; aborts the test program on any error. */
void tcs_trace_load(const char *file, TcsTrace *ret);
void tcs_trace_free(TcsTrace *t);
/* The 28-byte TCSD header's seven big-endian words (no validation). */
uint32_t tcs_trace_be32(const uint8_t *p);

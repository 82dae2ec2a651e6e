/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TSS_UUID helpers. The same UUID has two byte encodings: big-endian fields on
 * the TCSD wire, and raw x86 memory (little-endian fields) in system.data.
 */
#pragma once

#include <stdbool.h>

#include "tcs-buf.h"
#include "tcs-types.h"

#define TCS_UUID_WIRE_SIZE 16u
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" plus NUL */
#define TCS_UUID_STRING_SIZE 37u

bool tcs_uuid_equal(const TcsUuid *a, const TcsUuid *b);
bool tcs_uuid_is_null(const TcsUuid *u);

/* Canonical lower-case 8-4-4-4-12 form of the fields, as TSS tools print them. Returns buf. */
const char *tcs_uuid_to_string(const TcsUuid *u, char buf[static TCS_UUID_STRING_SIZE]);
/* Canonical form (any hex case) or one of the names "srk", "sk", "rk". -EINVAL otherwise. */
int tcs_uuid_from_string(const char *s, TcsUuid *ret);

/* Like the tcs_rbuf readers: a short read zero-fills and sets the cursor's sticky error. */
bool tcs_uuid_read_wire(TcsRbuf *r, TcsUuid *u);
void tcs_uuid_write_wire(TcsWbuf *w, const TcsUuid *u);
bool tcs_uuid_read_ps(TcsRbuf *r, TcsUuid *u);
void tcs_uuid_write_ps(TcsWbuf *w, const TcsUuid *u);

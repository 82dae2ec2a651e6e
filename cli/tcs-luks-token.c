/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "tcs" LUKS2 token's JSON (see tcs-luks-token.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "tcs-key.h"
#include "tcs-luks-token.h"

#define JSON_DEPTH 4 /* object > array > value: nothing deeper is valid */

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void
tcs_luks_token_clear(TcsLuksToken *t)
{
	free(t->key_blob);
	if (t->bound)
		OPENSSL_cleanse(t->bound, t->bound_len);
	free(t->bound);
	memset(t, 0, sizeof(*t));
}

const char *
tcs_luks_parent_name(TcsLuksParent p)
{
	return p == TCS_LUKS_PARENT_SK ? "sk" : "rk";
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

/* A string member: present, a JSON string, no NUL inside; its length in *len. */
static const char *
get_string(json_object *o, const char *name, size_t *len)
{
	json_object *v;
	const char *s;
	int n;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (!s || n < 0 || strlen(s) != (size_t)n)
		return NULL;
	*len = (size_t)n;
	return s;
}

/* Hex of 1..max bytes (exactly max when exact) into a malloc'd buffer. */
static int
get_hex(json_object *o, const char *name, size_t max, bool exact, uint8_t **ret, size_t *ret_len,
	char *err, size_t errlen)
{
	size_t len = 0, n;
	const char *s = get_string(o, name, &len);
	uint8_t *b;

	if (!s)
		return fail(err, errlen, "\"%s\" is missing or not a string", name);
	if (len == 0 || len % 2 || len / 2 > max || (exact && len / 2 != max))
		return fail(err, errlen, "\"%s\" has a bad length (%zu hex digits)", name, len);
	n = len / 2;
	b = malloc(n);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return fail(err, errlen, "\"%s\" is not hex", name);
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = b;
	*ret_len = n;
	return 0;
}

static int
parse_object(json_object *o, TcsLuksToken *t, char *err, size_t errlen)
{
	json_object *v, *e;
	const char *s;
	uint8_t *fp = NULL;
	size_t len = 0, consumed = 0;
	TcsKey k = {0};
	int rc;

	if (!json_object_is_type(o, json_type_object))
		return fail(err, errlen, "not a JSON object");
	s = get_string(o, "type", &len);
	if (!s || strcmp(s, TCS_LUKS_TOKEN_TYPE) != 0)
		return fail(err, errlen, "not a \"%s\" token", TCS_LUKS_TOKEN_TYPE);
	if (!json_object_object_get_ex(o, "tcs-version", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != TCS_LUKS_TOKEN_VERSION)
		return fail(err, errlen, "unsupported \"tcs-version\" (this plugin reads %d)",
			    TCS_LUKS_TOKEN_VERSION);
	/* exactly one keyslot, a decimal number as LUKS2 writes it */
	if (!json_object_object_get_ex(o, "keyslots", &v) ||
	    !json_object_is_type(v, json_type_array) || json_object_array_length(v) != 1)
		return fail(err, errlen, "\"keyslots\" must name exactly one keyslot");
	e = json_object_array_get_idx(v, 0);
	s = e && json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
	len = s ? strlen(s) : 0;
	if (!s || len < 1 || len > 2 || (size_t)json_object_get_string_len(e) != len ||
	    s[0] < '0' || s[0] > '9' || (len == 2 && (s[1] < '0' || s[1] > '9' || s[0] == '0')))
		return fail(err, errlen, "\"keyslots\" holds no keyslot number");
	t->keyslot = atoi(s);
	if (t->keyslot > TCS_LUKS_KEYSLOT_MAX)
		return fail(err, errlen, "keyslot %d is out of range", t->keyslot);
	s = get_string(o, "tcs-parent", &len);
	if (s && strcmp(s, "rk") == 0)
		t->parent = TCS_LUKS_PARENT_RK;
	else if (s && strcmp(s, "sk") == 0)
		t->parent = TCS_LUKS_PARENT_SK;
	else
		return fail(err, errlen, "\"tcs-parent\" must be \"rk\" or \"sk\"");
	rc = get_hex(o, "tcs-parent-fingerprint", TCS_FINGERPRINT_SIZE, true, &fp, &len, err,
		     errlen);
	if (rc < 0)
		return rc;
	memcpy(t->parent_fingerprint, fp, TCS_FINGERPRINT_SIZE);
	free(fp);
	rc = get_hex(o, "tcs-key", TCS_LUKS_KEY_BLOB_MAX, false, &t->key_blob, &t->key_blob_len,
		     err, errlen);
	if (rc < 0)
		return rc;
	/* a TPM_KEY that parses whole and is a bind key: the TPM gets nothing else */
	rc = tcs_key_parse(t->key_blob, t->key_blob_len, &k, &consumed);
	if (rc == 0 && (consumed != t->key_blob_len || k.key_usage != TPM_KEY_BIND))
		rc = -EINVAL;
	tcs_key_free(&k);
	if (rc < 0)
		return fail(err, errlen, "\"tcs-key\" is not a TPM bind key blob");
	rc = get_hex(o, "tcs-bound", TCS_LUKS_BOUND_MAX, false, &t->bound, &t->bound_len, err,
		     errlen);
	if (rc < 0)
		return rc;
	if (!json_object_object_get_ex(o, "tcs-pin", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return fail(err, errlen, "\"tcs-pin\" is missing or not a boolean");
	t->pin = json_object_get_boolean(v);
	t->pcr_mask = 0;
	if (json_object_object_get_ex(o, "tcs-pcrs", &v)) {
		size_t n;

		if (!json_object_is_type(v, json_type_array) ||
		    (n = json_object_array_length(v)) > TCS_LUKS_PCR_COUNT)
			return fail(err, errlen, "\"tcs-pcrs\" is not a list of PCRs");
		for (size_t i = 0; i < n; i++) {
			int64_t pcr;

			e = json_object_array_get_idx(v, i);
			if (!e || !json_object_is_type(e, json_type_int) ||
			    (pcr = json_object_get_int64(e)) < 0 || pcr >= TCS_LUKS_PCR_COUNT ||
			    (t->pcr_mask & (1u << pcr)))
				return fail(err, errlen, "\"tcs-pcrs\" holds a bad PCR index");
			t->pcr_mask |= 1u << pcr;
		}
	}
	return 0;
}

int
tcs_luks_token_parse(const char *json, size_t len, TcsLuksToken *ret, char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *o;
	TcsLuksToken t = {0};
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!json || len == 0 || len > TCS_LUKS_JSON_MAX)
		return fail(err, errlen, "token JSON is empty or larger than %u bytes",
			    TCS_LUKS_JSON_MAX);
	if (memchr(json, '\0', len))
		return fail(err, errlen, "token JSON contains a NUL byte");
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		json_tokener_free(tok);
		return fail(err, errlen, "token JSON does not parse (or has trailing data)");
	}
	json_tokener_free(tok);
	rc = parse_object(o, &t, err, errlen);
	json_object_put(o);
	if (rc < 0) {
		tcs_luks_token_clear(&t);
		return rc;
	}
	*ret = t;
	return 0;
}

static char *
to_hex(const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static void
json_putp(json_object **o)
{
	json_object_put(*o);
}

char *
tcs_luks_token_format(const TcsLuksToken *t)
{
	__attribute__((cleanup(json_putp))) json_object *o = json_object_new_object();
	_cleanup_free_ char *fp = NULL, *key = NULL, *bound = NULL;
	json_object *slots = NULL, *pcrs = NULL;
	char slot[4];
	const char *s;

	if (!o || t->keyslot < 0 || t->keyslot > TCS_LUKS_KEYSLOT_MAX || !t->key_blob ||
	    !t->bound || t->key_blob_len > TCS_LUKS_KEY_BLOB_MAX ||
	    t->bound_len > TCS_LUKS_BOUND_MAX)
		return NULL;
	fp = to_hex(t->parent_fingerprint, TCS_FINGERPRINT_SIZE);
	key = to_hex(t->key_blob, t->key_blob_len);
	bound = to_hex(t->bound, t->bound_len);
	slots = json_object_new_array();
	if (!fp || !key || !bound || !slots) {
		json_object_put(slots);
		return NULL;
	}
	snprintf(slot, sizeof(slot), "%d", t->keyslot);
	json_object_array_add(slots, json_object_new_string(slot));
	json_object_object_add(o, "type", json_object_new_string(TCS_LUKS_TOKEN_TYPE));
	json_object_object_add(o, "keyslots", slots);
	json_object_object_add(o, "tcs-version", json_object_new_int(TCS_LUKS_TOKEN_VERSION));
	json_object_object_add(o, "tcs-parent",
			       json_object_new_string(tcs_luks_parent_name(t->parent)));
	json_object_object_add(o, "tcs-parent-fingerprint", json_object_new_string(fp));
	json_object_object_add(o, "tcs-key", json_object_new_string(key));
	json_object_object_add(o, "tcs-bound", json_object_new_string(bound));
	json_object_object_add(o, "tcs-pin", json_object_new_boolean(t->pin));
	if (t->pcr_mask) {
		pcrs = json_object_new_array();
		if (!pcrs)
			return NULL;
		for (unsigned i = 0; i < TCS_LUKS_PCR_COUNT; i++)
			if (t->pcr_mask & (1u << i))
				json_object_array_add(pcrs, json_object_new_int((int)i));
		json_object_object_add(o, "tcs-pcrs", pcrs);
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	return s ? strdup(s) : NULL;
}

int
tcs_luks_parse_pcr_list(const char *s, uint32_t *mask)
{
	uint32_t m = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		char *end;
		unsigned long v;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || end - s > 2 || v >= TCS_LUKS_PCR_COUNT || (m & (1u << v)))
			return -EINVAL;
		m |= 1u << v;
		s = end;
		if (*s == ',' && s[1])
			s++;
		else if (*s)
			return -EINVAL;
	}
	*mask = m;
	return 0;
}

void
tcs_luks_format_pcr_list(uint32_t mask, char *buf, size_t size)
{
	size_t off = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned i = 0; i < TCS_LUKS_PCR_COUNT && off < size; i++)
		if (mask & (1u << i)) {
			int n = snprintf(buf + off, size - off, "%s%u", off ? "," : "", i);

			if (n < 0)
				break;
			off += (size_t)n;
		}
}

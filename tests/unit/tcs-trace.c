/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static _Noreturn void
die(const char *what, const char *file, size_t line)
{
	fprintf(stderr, "trace %s line %zu: %s\n", file, line, what);
	abort();
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

static uint8_t *
hex_decode(const char *s, size_t *len, const char *file, size_t line)
{
	size_t n = strlen(s);
	uint8_t *out;

	if (n % 2)
		die("odd hex length", file, line);
	/* one spare byte so an empty frame is still a valid pointer to free */
	out = malloc(n / 2 + 1);
	if (!out)
		abort();
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			die("bad hex digit", file, line);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

static const char *
get_string(json_object *o, const char *key, bool required, const char *file, size_t line)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			die(key, file, line);
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string))
		die(key, file, line);
	return json_object_get_string(v);
}

static char *
xstrdup(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		abort();
	return d;
}

static void
parse_record(json_object *o, TcsTraceRecord *r, const char *file, size_t line)
{
	json_object *v;
	const char *s;

	memset(r, 0, sizeof(*r));
	r->line = line;
	if (json_object_object_get_ex(o, "conn", &v))
		r->conn = json_object_get_int(v);
	if (json_object_object_get_ex(o, "seq", &v))
		r->seq = json_object_get_int(v);
	if (!json_object_object_get_ex(o, "ordinal", &v))
		die("ordinal", file, line);
	r->ordinal = (uint32_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "result", &v) && !json_object_is_type(v, json_type_null)) {
		r->has_result = true;
		r->result = (uint32_t)json_object_get_int64(v);
	}
	r->name = xstrdup(get_string(o, "name", true, file, line));
	r->source = xstrdup(get_string(o, "source", false, file, line));
	r->note = xstrdup(get_string(o, "note", false, file, line));
	r->request = hex_decode(get_string(o, "request", true, file, line), &r->request_len, file,
				line);
	s = get_string(o, "reply", true, file, line);
	if (*s)
		r->reply = hex_decode(s, &r->reply_len, file, line);
}

void
tcs_trace_load(const char *file, TcsTrace *ret)
{
	const char *dir = getenv("TCS_SOURCE_DIR");
	char path[4096], *buf = NULL;
	size_t cap = 0, line = 0, alloc = 0;
	ssize_t n;
	FILE *f;

	memset(ret, 0, sizeof(*ret));
	snprintf(path, sizeof(path), "%s/tests/data/traces/%s", dir ? dir : ".", file);
	f = fopen(path, "re");
	if (!f) {
		perror(path);
		abort();
	}
	while ((n = getline(&buf, &cap, f)) > 0) {
		json_object *o;

		line++;
		if (n <= 1)
			continue;
		o = json_tokener_parse(buf);
		if (!o || !json_object_is_type(o, json_type_object))
			die("not a JSON object", path, line);
		if (ret->n == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			ret->rec = realloc(ret->rec, alloc * sizeof(*ret->rec));
			if (!ret->rec)
				abort();
		}
		parse_record(o, &ret->rec[ret->n++], path, line);
		json_object_put(o);
	}
	free(buf);
	fclose(f);
	if (ret->n == 0)
		die("no records", path, line);
}

void
tcs_trace_free(TcsTrace *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->rec[i].name);
		free(t->rec[i].source);
		free(t->rec[i].note);
		free(t->rec[i].request);
		free(t->rec[i].reply);
	}
	free(t->rec);
	memset(t, 0, sizeof(*t));
}

uint32_t
tcs_trace_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

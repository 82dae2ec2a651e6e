/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for tcs-uuid and tcs-ps. The fixtures in tests/data/ps/ were
 * written by TrouSerS 0.3.15 itself (see the README there); replaying the
 * same registrations here must give the same bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tcs-buf.h"
#include "tcs-key.h"
#include "tcs-ps.h"
#include "tcs-uuid.h"
#include "tcs-tap.h"



static const char *data_dir;

typedef struct {
	uint8_t *data;
	size_t len;
} Bytes;

static void
bytes_free(Bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}
#define _cleanup_bytes_ _cleanup_(bytes_free)

static Bytes
read_path(const char *path)
{
	Bytes b = {0};
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(99);
	}
	b.len = (size_t)n;
	b.data = malloc(b.len ? b.len : 1);
	if (fread(b.data, 1, b.len, f) != b.len)
		exit(99);
	fclose(f);
	return b;
}

static Bytes
fixture(const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	return read_path(path);
}

static bool
ps_equals_bytes(const TcsPs *ps, const Bytes *want)
{
	_cleanup_free_ uint8_t *out = NULL;
	size_t len;

	if (tcs_ps_serialize(ps, &out, &len) < 0)
		return false;
	return len == want->len && memcmp(out, want->data, len) == 0;
}

/* The UUIDs the fixture program registered: 11223344-5566-7788-99aa-bbccddeeffNN. */
static TcsUuid
fixture_uuid(uint8_t n)
{
	return (TcsUuid){0x11223344, 0x5566, 0x7788, 0x99, 0xaa, {0xbb, 0xcc, 0xdd, 0xee, 0xff, n}};
}

static const TcsUuid srk_uuid = TCS_UUID_SRK;
static const TcsUuid null_uuid;
static const uint8_t trousers_vendor[] = "trousers 0.3.15"; /* with its NUL: 16 bytes */

/* ---- UUIDs ---- */

static void
test_uuid(void)
{
	const TcsUuid u = fixture_uuid(0x0a);
	const uint8_t wire[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				  0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x0a};
	const uint8_t ps[16] = {0x44, 0x33, 0x22, 0x11, 0x66, 0x55, 0x88, 0x77,
				0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x0a};
	char s[TCS_UUID_STRING_SIZE];
	TcsUuid v, sentinel = fixture_uuid(0x77);
	TcsWbuf w;
	TcsRbuf r;

	CHECK(strcmp(tcs_uuid_to_string(&u, s), "11223344-5566-7788-99aa-bbccddeeff0a") == 0,
	      "uuid to string: %s", s);
	CHECK(strcmp(tcs_uuid_to_string(&srk_uuid, s), "00000000-0000-0000-0000-000000000001") == 0,
	      "SRK uuid to string");
	CHECK(tcs_uuid_from_string("11223344-5566-7788-99AA-BBCCDDEEFF0A", &v) == 0 && tcs_uuid_equal(&u, &v),
	      "uuid from string (upper case)");
	CHECK(tcs_uuid_from_string("srk", &v) == 0 && tcs_uuid_equal(&v, &srk_uuid), "name srk");
	CHECK(tcs_uuid_from_string("SK", &v) == 0 && tcs_uuid_equal(&v, &TCS_UUID_SK), "name SK");
	CHECK(tcs_uuid_from_string("rk", &v) == 0 && tcs_uuid_equal(&v, &TCS_UUID_RK), "name rk");

	static const char *bad[] = {
		"", "srk2", "11223344-5566-7788-99aa-bbccddeeff0", "11223344-5566-7788-99aa-bbccddeeff0a0",
		"11223344x5566-7788-99aa-bbccddeeff0a", "1122334g-5566-7788-99aa-bbccddeeff0a",
		"11223344-5566-7788-99aabbccddeeff0a-", "{1223344-5566-7788-99aa-bbccddeeff0a",
	};
	bool all_bad = true;
	for (size_t i = 0; i < TCS_ARRAY_SIZE(bad); i++) {
		v = sentinel;
		if (tcs_uuid_from_string(bad[i], &v) != -EINVAL || !tcs_uuid_equal(&v, &sentinel))
			all_bad = false;
	}
	CHECK(all_bad, "malformed uuid strings: -EINVAL, output untouched");
	CHECK(tcs_uuid_from_string(NULL, &v) == -EINVAL, "NULL string: -EINVAL");

	CHECK(tcs_uuid_is_null(&null_uuid) && !tcs_uuid_is_null(&srk_uuid), "tcs_uuid_is_null");

	tcs_wbuf_init(&w, 0);
	tcs_uuid_write_wire(&w, &u);
	CHECK(tcs_wbuf_ok(&w) && w.len == 16 && memcmp(w.data, wire, 16) == 0, "wire encoding is big-endian fields");
	tcs_wbuf_free(&w);
	tcs_wbuf_init(&w, 0);
	tcs_uuid_write_ps(&w, &u);
	CHECK(tcs_wbuf_ok(&w) && w.len == 16 && memcmp(w.data, ps, 16) == 0, "system.data encoding is little-endian fields");
	tcs_wbuf_free(&w);

	tcs_rbuf_init(&r, wire, 16);
	CHECK(tcs_uuid_read_wire(&r, &v) && tcs_uuid_equal(&u, &v) && tcs_rbuf_remaining(&r) == 0, "read wire");
	tcs_rbuf_init(&r, ps, 16);
	CHECK(tcs_uuid_read_ps(&r, &v) && tcs_uuid_equal(&u, &v), "read system.data");
	tcs_rbuf_init(&r, wire, 15);
	CHECK(!tcs_uuid_read_wire(&r, &v) && !tcs_rbuf_ok(&r), "short uuid sets the sticky error");
}

/* ---- the TrouSerS fixtures ---- */

static void
check_blob(const TcsPsKey *k, TcsKeyKind kind, uint16_t usage, uint32_t bits, size_t pcr_len, const char *name)
{
	_cleanup_key_ TcsKey key = {0};
	size_t used = 0;

	CHECK(tcs_key_parse(k->blob, k->blob_len, &key, &used) == 0 && used == k->blob_len,
	      "%s: blob is exactly one key", name);
	CHECK(key.kind == kind && key.key_usage == usage && key.rsa_key_bits == bits &&
	      key.modulus_len == bits / 8 && key.pcr_info_len == pcr_len,
	      "%s: kind %d usage %#x %u bits PCRInfo %zu", name, key.kind, key.key_usage, key.rsa_key_bits,
	      key.pcr_info_len);
	CHECK(k->pub_len == key.modulus_len && memcmp(k->pub, key.modulus, k->pub_len) == 0 &&
	      !tcs_key_modulus_is_zero(&key), "%s: pub data is the blob's modulus", name);
	CHECK(k->vendor_len == sizeof(trousers_vendor) && memcmp(k->vendor, trousers_vendor, k->vendor_len) == 0,
	      "%s: vendor data is libtspi's package string", name);
}

static void
test_fixtures(void)
{
	static const char *names[] = {"01-owned.data", "02-three-keys.data", "03-unregistered.data",
				      "04-reregistered.data", "05-srk-unregistered.data"};
	_cleanup_bytes_ Bytes owned = fixture("01-owned.data");
	_cleanup_bytes_ Bytes three = fixture("02-three-keys.data");
	_cleanup_ps_ TcsPs ps = {0};
	const TcsUuid a = fixture_uuid(0x0a), b = fixture_uuid(0x0b), c = fixture_uuid(0x0c);
	const TcsPsKey *k;

	for (size_t i = 0; i < TCS_ARRAY_SIZE(names); i++) {
		_cleanup_bytes_ Bytes f = fixture(names[i]);
		_cleanup_ps_ TcsPs p = {0};

		CHECK(tcs_ps_parse(f.data, f.len, &p) == 0 && ps_equals_bytes(&p, &f),
		      "%s: serialize(parse(x)) == x (%zu bytes)", names[i], f.len);
	}

	/* 01: just the SRK, as TakeOwnership wrote it */
	CHECK(owned.len == 606, "owned: 606 bytes");
	CHECK(tcs_ps_parse(owned.data, owned.len, &ps) == 0 && ps.n_keys == 1, "owned: one key");
	k = tcs_ps_find(&ps, &srk_uuid);
	CHECK(k && tcs_uuid_equal(&k->parent_uuid, &null_uuid), "owned: SRK with the NULL parent");
	CHECK(k && k->flags == (TCS_PS_FLAG_VALID | TCS_PS_FLAG_PARENT_PS_SYSTEM), "owned: SRK flags 0x0003");
	{
		bool zero = k && k->pub_len == 256;
		for (size_t i = 0; zero && i < k->pub_len; i++)
			zero = k->pub[i] == 0;
		CHECK(zero, "owned: SRK pub data is 256 zero bytes");
	}
	CHECK(k && k->blob_len == 303 && k->vendor_len == 0, "owned: SRK blob 303 bytes, no vendor data");
	if (k) {
		_cleanup_key_ TcsKey key = {0};
		EVP_PKEY *pk = NULL;

		CHECK(tcs_key_parse(k->blob, k->blob_len, &key, NULL) == 0 && key.kind == TCS_KEY_KIND_KEY &&
		      key.key_usage == TPM_KEY_STORAGE && key.auth_data_usage == 1 &&
		      key.enc_scheme == TPM_ES_RSAESOAEP_SHA1_MGF1 && key.sig_scheme == TPM_SS_NONE &&
		      key.rsa_key_bits == 2048 && key.enc_data_len == 0, "owned: SRK blob is a TPM_KEY storage key");
		CHECK(tcs_key_modulus_is_zero(&key) && key.modulus_len == 256, "owned: SRK blob modulus zeroed too");
		CHECK(tcs_key_to_evp(&key, &pk) == -ENODATA, "owned: no EVP key from the zeroed SRK");
	}
	tcs_ps_clear(&ps);

	/* 02: SRK, A (storage, child of SRK), B (signing, KEY12, PCR_INFO_LONG, child of A), C (bind, PCR_INFO) */
	CHECK(tcs_ps_parse(three.data, three.len, &ps) == 0 && ps.n_keys == 4, "three: four keys");
	CHECK(ps.n_keys == 4 && tcs_uuid_equal(&ps.keys[0].uuid, &srk_uuid) && tcs_uuid_equal(&ps.keys[1].uuid, &a) &&
	      tcs_uuid_equal(&ps.keys[2].uuid, &b) && tcs_uuid_equal(&ps.keys[3].uuid, &c), "three: file order kept");
	k = tcs_ps_find(&ps, &a);
	CHECK(k && tcs_uuid_equal(&k->parent_uuid, &srk_uuid) && k->flags == 3, "three: A is a child of the SRK");
	if (k)
		check_blob(k, TCS_KEY_KIND_KEY, TPM_KEY_STORAGE, 2048, 0, "A");
	k = tcs_ps_find(&ps, &b);
	CHECK(k && tcs_uuid_equal(&k->parent_uuid, &a) && k->flags == 3, "three: B is a child of A");
	if (k) {
		_cleanup_key_ TcsKey key = {0};
		EVP_PKEY *pk = NULL;

		check_blob(k, TCS_KEY_KIND_KEY12, TPM_KEY_SIGNING, 1024, 54, "B");
		tcs_key_parse(k->blob, k->blob_len, &key, NULL);
		CHECK(tcs_key_to_evp(&key, &pk) == 0 && EVP_PKEY_get_bits(pk) == 1024, "B: EVP public key");
		EVP_PKEY_free(pk);
		CHECK(tcs_ps_find_by_pubkey(&ps, key.modulus, key.modulus_len) == k, "find B by its modulus");
		CHECK(tcs_ps_find_by_pubkey(&ps, key.modulus, key.modulus_len - 1) == NULL, "a shorter modulus is no match");
	}
	k = tcs_ps_find(&ps, &c);
	CHECK(k && tcs_uuid_equal(&k->parent_uuid, &srk_uuid), "three: C is a child of the SRK");
	if (k)
		check_blob(k, TCS_KEY_KIND_KEY, TPM_KEY_BIND, 1024, 44, "C"); /* TPM_PCR_INFO, 2-byte select */
	{
		TcsUuid missing = fixture_uuid(0x0e);
		CHECK(tcs_ps_find(&ps, &missing) == NULL, "unknown uuid not found");
	}
}

/* Replaying TrouSerS' own sequence of registrations gives its exact bytes. */
static void
test_replay(void)
{
	_cleanup_bytes_ Bytes f1 = fixture("01-owned.data");
	_cleanup_bytes_ Bytes f2 = fixture("02-three-keys.data");
	_cleanup_bytes_ Bytes f3 = fixture("03-unregistered.data");
	_cleanup_bytes_ Bytes f4 = fixture("04-reregistered.data");
	_cleanup_bytes_ Bytes f5 = fixture("05-srk-unregistered.data");
	_cleanup_ps_ TcsPs src = {0};
	_cleanup_ps_ TcsPs src4 = {0};
	_cleanup_ps_ TcsPs ps = {0};
	const TcsUuid a = fixture_uuid(0x0a), d = fixture_uuid(0x0d);
	const TcsPsKey *s;
	bool ok = true;

	if (tcs_ps_parse(f2.data, f2.len, &src) < 0 || tcs_ps_parse(f4.data, f4.len, &src4) < 0 ||
	    src.n_keys != 4 || src4.n_keys != 4)
		exit(99);

	/* TakeOwnership: TrouSerS zeroes the pub data itself; the blob is stored as given */
	s = &src.keys[0];
	CHECK(tcs_ps_add(&ps, &srk_uuid, &null_uuid, true, s->blob, s->blob_len, NULL, 0) == 0 &&
	      ps_equals_bytes(&ps, &f1), "register SRK == 01-owned.data");

	for (size_t i = 1; i < 4; i++) {
		s = &src.keys[i];
		ok = ok && tcs_ps_add(&ps, &s->uuid, &s->parent_uuid, true, s->blob, s->blob_len, s->vendor,
				      s->vendor_len) == 0;
	}
	CHECK(ok && ps_equals_bytes(&ps, &f2), "register A, B, C == 02-three-keys.data");
	CHECK(tcs_ps_remove(&ps, &a) == 0 && ps_equals_bytes(&ps, &f3), "unregister A == 03-unregistered.data");
	s = tcs_ps_find(&src4, &d);
	CHECK(s && tcs_ps_add(&ps, &d, &srk_uuid, true, s->blob, s->blob_len, s->vendor, s->vendor_len) == 0 &&
	      ps_equals_bytes(&ps, &f4), "register D == 04-reregistered.data");
	CHECK(tcs_ps_remove(&ps, &srk_uuid) == 0 && ps_equals_bytes(&ps, &f5), "unregister SRK == 05-srk-unregistered.data");

	/* the SRK's pub data is zeroed even if the caller's blob carries a modulus */
	{
		_cleanup_ps_ TcsPs p = {0};
		s = &src.keys[1];
		CHECK(tcs_ps_add(&p, &srk_uuid, &null_uuid, true, s->blob, s->blob_len, NULL, 0) == 0 &&
		      p.keys[0].pub_len == 256 && p.keys[0].pub[0] == 0 && p.keys[0].pub[255] == 0 &&
		      memcmp(p.keys[0].blob, s->blob, s->blob_len) == 0, "SRK pub data zeroed, blob kept");
	}
}

/* ---- corruption and limits ---- */

static void
test_corruption(void)
{
	_cleanup_bytes_ Bytes f2 = fixture("02-three-keys.data");
	_cleanup_bytes_ Bytes f3 = fixture("03-unregistered.data");
	_cleanup_ps_ TcsPs ps = {0};
	uint8_t *m;
	bool ok = true;

	for (size_t i = 1; i < f2.len; i++) {
		uint8_t *c = malloc(i);
		TcsPs p = {(TcsPsKey *)1, 77};

		memcpy(c, f2.data, i);
		if (tcs_ps_parse(c, i, &p) != -EBADMSG || p.n_keys != 77)
			ok = false;
		free(c);
	}
	CHECK(ok, "every truncation of 02 (1..%zu bytes): -EBADMSG, output untouched", f2.len - 1);
	CHECK(tcs_ps_parse(f2.data, 0, &ps) == 0 && ps.n_keys == 0 && !ps.keys, "empty buffer: empty store");

	m = malloc(f2.len + 64);
	memcpy(m, f2.data, f2.len);
	memset(m + f2.len, 0xa5, 64);
	CHECK(tcs_ps_parse(m, f2.len + 64, &ps) == 0 && ps.n_keys == 4 && ps_equals_bytes(&ps, &f2),
	      "bytes after the last record are ignored");
	tcs_ps_clear(&ps);

	/* a record without VALID (a hole) is dropped: 02 with A invalid is 03 */
	memcpy(m, f2.data, f2.len);
	m[606 + 40] = 0x02;
	CHECK(tcs_ps_parse(m, f2.len, &ps) == 0 && ps.n_keys == 3 && ps_equals_bytes(&ps, &f3),
	      "hole (flags 0x0002) skipped: same as 03");
	tcs_ps_clear(&ps);

	/* a repeated uuid: C renamed to A; the first A wins */
	memcpy(m, f2.data, f2.len);
	m[2150 + 15] = 0x0a;
	CHECK(tcs_ps_parse(m, f2.len, &ps) == 0 && ps.n_keys == 3 && ps.keys[1].blob_len == 559,
	      "repeated uuid: later record dropped");
	tcs_ps_clear(&ps);

	/* unknown flag bits survive a round trip */
	memcpy(m, f2.data, f2.len);
	m[606 + 41] = 0x80;
	CHECK(tcs_ps_parse(m, f2.len, &ps) == 0 && ps.keys[1].flags == 0x8003 && ps_equals_bytes(&ps, &(Bytes){m, f2.len}),
	      "unknown flag bits kept");
	tcs_ps_clear(&ps);

	memcpy(m, f2.data, f2.len);
	m[0] = 0;
	CHECK(tcs_ps_parse(m, f2.len, &ps) == -EBADMSG, "version 0 refused");
	m[0] = 2;
	CHECK(tcs_ps_parse(m, f2.len, &ps) == -EBADMSG, "version 2 refused");
	m[0] = 1;
	m[1] = 5;
	CHECK(tcs_ps_parse(m, f2.len, &ps) == -EBADMSG, "one record too many: -EBADMSG");
	m[1] = m[2] = m[3] = m[4] = 0xff;
	CHECK(tcs_ps_parse(m, f2.len, &ps) == -EBADMSG, "record count 0xffffffff: -EBADMSG");
	memcpy(m, f2.data, f2.len);
	m[2150 + 36] = 0x01;
	m[2150 + 38] = 0x01; /* vendor size 0x00010001 */
	CHECK(tcs_ps_parse(m, f2.len, &ps) == -EBADMSG, "vendor size over the limit: -EBADMSG");
	free(m);

	/* a vendor field of exactly the limit is fine; one more is refused even when present */
	for (size_t extra = 0; extra < 2; extra++) {
		TcsWbuf w;
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len;
		_cleanup_ps_ TcsPs p = {0};

		tcs_wbuf_init(&w, 0);
		tcs_wbuf_u8(&w, 1);
		tcs_wbuf_u32_le(&w, 1);
		tcs_uuid_write_ps(&w, &srk_uuid);
		tcs_uuid_write_ps(&w, &null_uuid);
		tcs_wbuf_u16_le(&w, 0);
		tcs_wbuf_u16_le(&w, 0);
		tcs_wbuf_u32_le(&w, TCS_PS_MAX_VENDOR + (uint32_t)extra);
		tcs_wbuf_u16_le(&w, 3);
		tcs_wbuf_zeros(&w, TCS_PS_MAX_VENDOR + extra);
		buf = tcs_wbuf_steal(&w, &len);
		CHECK(tcs_ps_parse(buf, len, &p) == (extra ? -EBADMSG : 0), "vendor data of %u bytes: %s",
		      TCS_PS_MAX_VENDOR + (unsigned)extra, extra ? "refused" : "accepted");
	}
}

static void
test_limits(void)
{
	_cleanup_bytes_ Bytes f2 = fixture("02-three-keys.data");
	_cleanup_ps_ TcsPs src = {0};
	_cleanup_ps_ TcsPs ps = {0};
	_cleanup_free_ uint8_t *big = NULL;
	_cleanup_free_ uint8_t *out = NULL;
	const TcsPsKey *c;
	TcsUuid u = fixture_uuid(0x20);
	size_t len;
	bool ok = true;

	if (tcs_ps_parse(f2.data, f2.len, &src) < 0)
		exit(99);
	c = &src.keys[3];
	big = calloc(1, TCS_PS_MAX_VENDOR + 2);

	CHECK(tcs_ps_add(&ps, &u, &srk_uuid, false, c->blob, c->blob_len, NULL, 0) == 0 && ps.keys[0].flags == 0x0001,
	      "parent in user PS: flags 0x0001");
	CHECK(tcs_ps_add(&ps, &u, &srk_uuid, true, c->blob, c->blob_len, NULL, 0) == -EEXIST, "same uuid twice: -EEXIST");
	u.node[5]++;
	CHECK(tcs_ps_add(&ps, &u, &srk_uuid, true, big, TCS_PS_MAX_BLOB + 1, NULL, 0) == -E2BIG, "blob over 65535 bytes: -E2BIG");
	CHECK(tcs_ps_add(&ps, &u, &srk_uuid, true, c->blob, c->blob_len, big, TCS_PS_MAX_VENDOR + 1) == -E2BIG,
	      "vendor data over the limit: -E2BIG");
	CHECK(tcs_ps_add(&ps, &u, &srk_uuid, true, c->blob, c->blob_len - 1, NULL, 0) == -EBADMSG, "truncated blob: -EBADMSG");
	memcpy(big, c->blob, c->blob_len);
	CHECK(tcs_ps_add(&ps, &u, &srk_uuid, true, big, c->blob_len + 1, NULL, 0) == -EBADMSG,
	      "blob with trailing bytes: -EBADMSG");
	CHECK(tcs_ps_add(&ps, &u, &srk_uuid, true, big, 10, NULL, 0) == -EBADMSG, "garbage blob: -EBADMSG");
	CHECK(ps.n_keys == 1, "failed adds leave the store unchanged");
	CHECK(tcs_ps_add(&ps, &u, &srk_uuid, true, c->blob, c->blob_len, big, TCS_PS_MAX_VENDOR) == 0,
	      "vendor data at the limit");
	CHECK(tcs_ps_remove(&ps, &u) == 0 && tcs_ps_remove(&ps, &u) == -ENOENT, "remove twice: -ENOENT");

	for (uint32_t i = (uint32_t)ps.n_keys; i < TCS_PS_MAX_KEYS && ok; i++) {
		u.time_low = i;
		ok = tcs_ps_add(&ps, &u, &srk_uuid, true, c->blob, c->blob_len, c->vendor, c->vendor_len) == 0;
	}
	CHECK(ok && ps.n_keys == TCS_PS_MAX_KEYS, "%u keys", TCS_PS_MAX_KEYS);
	u.time_low = 0xffffffff;
	CHECK(tcs_ps_add(&ps, &u, &srk_uuid, true, c->blob, c->blob_len, NULL, 0) == -ENOSPC, "one more: -ENOSPC");
	CHECK(tcs_ps_serialize(&ps, &out, &len) == 0, "a full store serialises (%zu bytes)", len);
	{
		_cleanup_ps_ TcsPs back = {0};
		CHECK(out && tcs_ps_parse(out, len, &back) == 0 && back.n_keys == TCS_PS_MAX_KEYS &&
		      ps_equals_bytes(&back, &(Bytes){out, len}), "and parses back identically");
	}
	/* over the record limit on disk */
	if (out) {
		out[1] = (uint8_t)((TCS_PS_MAX_KEYS + 1) & 0xff);
		out[2] = (uint8_t)((TCS_PS_MAX_KEYS + 1) >> 8);
		{
			_cleanup_ps_ TcsPs back = {0};
			CHECK(tcs_ps_parse(out, len, &back) == -EBADMSG, "more than %u records on disk: -EBADMSG",
			      TCS_PS_MAX_KEYS);
		}
	}
	tcs_ps_clear(&ps);
	tcs_ps_clear(&ps);
	CHECK(ps.n_keys == 0 && !ps.keys, "tcs_ps_clear leaves an empty store");
}

/* ---- files ---- */

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return (size_t)-1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
test_files(void)
{
	_cleanup_bytes_ Bytes f2 = fixture("02-three-keys.data");
	_cleanup_bytes_ Bytes f3 = fixture("03-unregistered.data");
	_cleanup_ps_ TcsPs ps = {0};
	_cleanup_ps_ TcsPs ps3 = {0};
	char dir[] = "/tmp/test-tcs-ps.XXXXXX";
	char path[256], link[256], sub[256], nodir[256];
	struct stat st1, st2;
	FILE *f;

	if (!mkdtemp(dir) || tcs_ps_parse(f2.data, f2.len, &ps) < 0 || tcs_ps_parse(f3.data, f3.len, &ps3) < 0)
		exit(99);
	snprintf(path, sizeof(path), "%s/system.data", dir);
	snprintf(link, sizeof(link), "%s/link.data", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(nodir, sizeof(nodir), "%s/missing/system.data", dir);

	{
		TcsPs p = {(TcsPsKey *)1, 77};
		CHECK(tcs_ps_load_file(path, &p) == 0 && p.n_keys == 0 && !p.keys, "missing file: empty store");
	}
	f = fopen(path, "w");
	fclose(f);
	{
		TcsPs p = {0};
		CHECK(tcs_ps_load_file(path, &p) == 0 && p.n_keys == 0, "empty file: empty store");
	}

	CHECK(stat(path, &st1) == 0 && tcs_ps_save_file(path, &ps) == 0, "save over the empty file");
	{
		_cleanup_bytes_ Bytes got = read_path(path);
		CHECK(got.len == f2.len && memcmp(got.data, f2.data, f2.len) == 0, "saved bytes == TrouSerS' file");
	}
	CHECK(stat(path, &st2) == 0 && (st2.st_mode & 07777) == 0600 && S_ISREG(st2.st_mode), "saved file is 0600");
	CHECK(st1.st_ino != st2.st_ino, "the file was replaced, not rewritten in place");
	CHECK(count_entries(dir) == 1, "no temp files left");
	{
		_cleanup_ps_ TcsPs p = {0};
		CHECK(tcs_ps_load_file(path, &p) == 0 && ps_equals_bytes(&p, &f2), "load what was saved");
	}
	CHECK(tcs_ps_save_file(path, &ps3) == 0 && count_entries(dir) == 1, "save again");
	{
		_cleanup_bytes_ Bytes got = read_path(path);
		CHECK(got.len == f3.len && memcmp(got.data, f3.data, f3.len) == 0, "second save replaced the content");
	}

	CHECK(symlink(path, link) == 0, "symlink created");
	{
		TcsPs p = {0};
		CHECK(tcs_ps_load_file(link, &p) == -ELOOP, "symlink refused: -ELOOP");
		CHECK(tcs_ps_load_file(dir, &p) == -EINVAL, "directory refused: -EINVAL");
	}
	unlink(link);

	CHECK(tcs_ps_save_file(nodir, &ps) == -ENOENT && count_entries(dir) == 1, "save into a missing dir: -ENOENT");
	CHECK(mkdir(sub, 0700) == 0, "mkdir");
	CHECK(tcs_ps_save_file(sub, &ps) < 0 && count_entries(dir) == 2, "rename onto a directory fails, no temp left");
	rmdir(sub);

	f = fopen(path, "r+");
	fputc(7, f);
	fclose(f);
	{
		TcsPs p = {0};
		CHECK(tcs_ps_load_file(path, &p) == -EBADMSG, "corrupt file: -EBADMSG");
	}
	unlink(path);
	CHECK(rmdir(dir) == 0, "test dir cleaned up");
}

int
main(int argc, char **argv)
{
	data_dir = argc > 1 ? argv[1] : "tests/data/ps";
	test_uuid();
	test_fixtures();
	test_replay();
	test_corruption();
	test_limits();
	test_files();
	return tap_done();
}

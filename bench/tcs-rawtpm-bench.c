/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-rawtpm-bench - the floor: raw TPM 1.2 command bytes straight to a
 * swtpm's TCP data port over one persistent connection, no TCSD and no TSS,
 * exactly the TPM traffic a TCSD sends for the same libtspi workload.
 *
 * swtpm serves one TCP client at a time: no tcsd may be connected to it.
 *
 * Usage: tcs-rawtpm-bench getrandom|sign|swapsign -p PORT [-K KEYBLOB] [-d SECONDS] [-n COUNT] [-t SECONDS]
 *   getrandom  TPM_GetRandom(20) in a loop
 *   sign       first flushes keys and auth sessions left in the TPM, then
 *              OIAP + TPM_LoadKey2 of KEYBLOB (made by `tcs-bench mkkeys`)
 *              under the SRK with the well-known SRK secret; then in a loop
 *              TPM_OIAP + TPM_Sign of a SHA-1 digest with the key's
 *              well-known usage secret (continueAuthSession FALSE) - what
 *              libtspi's Tspi_Hash_Sign costs the TPM. Every response's
 *              auth HMAC is checked. Finally TPM_FlushSpecific of the key.
 *   swapsign   like sign, but every signature first swaps the key out and
 *              back in: TPM_SaveContext + TPM_FlushSpecific + TPM_LoadContext
 *              (the least a TCSD must add per signature when every signature
 *              needs a key that is not loaded - LRU over more keys than slots)
 *   -p PORT     swtpm data port on 127.0.0.1
 *   -d SECONDS  stop after SECONDS (0 = only -n)
 *   -n COUNT    at most COUNT operations (default 1000; 1000000 with -d)
 *   -t SECONDS  hard limit (SIGALRM), default 300
 *
 * Output: one line on stdout,
 *   tcs-rawtpm-bench mode=sign secs=... ops=... errors=... ops_per_s=...
 *     p50_us=... p90_us=... p99_us=... max_us=...
 * Exit status 0 when no operation failed, 1 otherwise, 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TPM_TAG_RQU_COMMAND 0x00C1
#define TPM_TAG_RQU_AUTH1_COMMAND 0x00C2
#define TPM_ORD_OIAP 0x0000000A
#define TPM_ORD_Sign 0x0000003C
#define TPM_ORD_LoadKey2 0x00000041
#define TPM_ORD_GetRandom 0x00000046
#define TPM_ORD_GetCapability 0x00000065
#define TPM_ORD_SaveContext 0x000000B8
#define TPM_ORD_LoadContext 0x000000B9
#define TPM_ORD_FlushSpecific 0x000000BA
#define TPM_CAP_HANDLE 0x00000014
#define TPM_RT_KEY 0x00000001
#define TPM_RT_AUTH 0x00000002
#define TPM_KH_SRK 0x40000000

#define MAX_MSG 4096

static int fd = -1;
static uint8_t rsp[MAX_MSG];
static uint32_t rsp_len;
static const uint8_t wellknown[20]; /* TSS_WELL_KNOWN_SECRET: 20 zero bytes */

struct msg {
	uint8_t b[MAX_MSG];
	uint32_t len;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put_u16(struct msg *m, uint16_t v)
{
	m->b[m->len++] = v >> 8;
	m->b[m->len++] = v;
}

static void put_u32(struct msg *m, uint32_t v)
{
	m->b[m->len++] = v >> 24;
	m->b[m->len++] = v >> 16;
	m->b[m->len++] = v >> 8;
	m->b[m->len++] = v;
}

static void put_bytes(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* start a command: tag, size placeholder, ordinal */
static void cmd_start(struct msg *m, uint16_t tag, uint32_t ord)
{
	m->len = 0;
	put_u16(m, tag);
	put_u32(m, 0);
	put_u32(m, ord);
}

static int io_full(int write_mode, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write_mode ? write(fd, p, n) : read(fd, p, n);

		if (r <= 0)
			return -1;
		p += r;
		n -= r;
	}
	return 0;
}

/*
 * send m, read the response into rsp; returns the TPM result, or -1 on I/O
 * errors. One read for the whole response when it is there (swtpm writes it
 * at once and nothing follows it): one write + one read per command, like a
 * plain client, not a header read and a body read.
 */
static long transact(struct msg *m)
{
	uint32_t len = m->len, got = 0;

	m->b[2] = len >> 24;
	m->b[3] = len >> 16;
	m->b[4] = len >> 8;
	m->b[5] = len;
	if (io_full(1, m->b, len))
		return -1;
	rsp_len = 0;
	while (got < 10 || got < rsp_len) {
		ssize_t r = read(fd, rsp + got, sizeof(rsp) - got);

		if (r <= 0)
			return -1;
		got += r;
		if (got >= 10) {
			rsp_len = get_u32(rsp + 2);
			if (rsp_len < 10 || rsp_len > sizeof(rsp) || got > rsp_len)
				return -1;
		}
	}
	return get_u32(rsp + 6);
}

/* ---------------------------------------------------------------- OIAP */

struct session {
	uint32_t handle;
	uint8_t nonce_even[20];
	uint8_t nonce_odd[20];
};

static long oiap(struct session *s)
{
	struct msg m;
	long rc;

	cmd_start(&m, TPM_TAG_RQU_COMMAND, TPM_ORD_OIAP);
	rc = transact(&m);
	if (rc)
		return rc;
	if (rsp_len < 34)
		return -1;
	s->handle = get_u32(rsp + 10);
	memcpy(s->nonce_even, rsp + 14, 20);
	return 0;
}

/* auth HMAC over digest || nonceEven || nonceOdd || continue */
static void auth_hmac(const uint8_t *digest, const uint8_t *ne, const uint8_t *no, uint8_t cont,
		      uint8_t *out)
{
	uint8_t buf[61];
	unsigned int len = 20;

	memcpy(buf, digest, 20);
	memcpy(buf + 20, ne, 20);
	memcpy(buf + 40, no, 20);
	buf[60] = cont;
	HMAC(EVP_sha1(), wellknown, sizeof(wellknown), buf, sizeof(buf), out, &len);
}

/* append the AUTH1 trailer for in-parameter digest pd; continueAuthSession FALSE */
static int add_auth(struct msg *m, struct session *s, const uint8_t *pd)
{
	uint8_t mac[20];

	if (RAND_bytes(s->nonce_odd, 20) != 1)
		return -1;
	auth_hmac(pd, s->nonce_even, s->nonce_odd, 0, mac);
	put_u32(m, s->handle);
	put_bytes(m, s->nonce_odd, 20);
	m->b[m->len++] = 0;
	put_bytes(m, mac, 20);
	return 0;
}

/*
 * check the response auth: out-parameter digest = SHA1(rc || ordinal || the
 * out parameters after the handles, out_off..end of params); trailer =
 * nonceEven(20) continue(1) resAuth(20) at the end of the response
 */
static int check_auth(uint32_t ord, uint32_t out_off, struct session *s)
{
	uint8_t pd[20], mac[20];
	uint32_t end = rsp_len - 41;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t hdr[8];
	int ok;

	if (rsp_len < 10 + 41 || out_off > end || !c)
		return -1;
	memcpy(hdr, rsp + 6, 4);
	hdr[4] = ord >> 24;
	hdr[5] = ord >> 16;
	hdr[6] = ord >> 8;
	hdr[7] = ord;
	EVP_DigestInit_ex(c, EVP_sha1(), NULL);
	EVP_DigestUpdate(c, hdr, 8);
	EVP_DigestUpdate(c, rsp + out_off, end - out_off);
	EVP_DigestFinal_ex(c, pd, NULL);
	EVP_MD_CTX_free(c);
	auth_hmac(pd, rsp + end, s->nonce_odd, rsp[end + 20], mac);
	ok = CRYPTO_memcmp(mac, rsp + end + 21, 20) == 0;
	return ok ? 0 : -1;
}

/* ------------------------------------------------------------ commands */

static void sha1_ord(uint32_t ord, const uint8_t *p, size_t n, uint8_t *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t o[4] = { ord >> 24, ord >> 16, ord >> 8, ord };

	EVP_DigestInit_ex(c, EVP_sha1(), NULL);
	EVP_DigestUpdate(c, o, 4);
	EVP_DigestUpdate(c, p, n);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static long flush(uint32_t handle, uint32_t type)
{
	struct msg m;

	cmd_start(&m, TPM_TAG_RQU_COMMAND, TPM_ORD_FlushSpecific);
	put_u32(&m, handle);
	put_u32(&m, type);
	return transact(&m);
}

/* flush every loaded handle of one resource type; returns how many */
static int flush_all(uint32_t type)
{
	uint32_t handles[256];
	struct msg m;
	unsigned n, i;
	int flushed = 0;

	cmd_start(&m, TPM_TAG_RQU_COMMAND, TPM_ORD_GetCapability);
	put_u32(&m, TPM_CAP_HANDLE);
	put_u32(&m, 4);
	put_u32(&m, type);
	if (transact(&m) || rsp_len < 16)
		return -1;
	n = (unsigned)rsp[14] << 8 | rsp[15];
	if (n > 256 || 16 + 4 * n > rsp_len)
		return -1;
	for (i = 0; i < n; i++)
		handles[i] = get_u32(rsp + 16 + 4 * i);
	for (i = 0; i < n; i++)
		if (handles[i] < TPM_KH_SRK && flush(handles[i], type) == 0)
			flushed++;
	return flushed;
}

static long load_key(const uint8_t *blob, size_t blen, uint32_t *key)
{
	struct session s;
	struct msg m;
	uint8_t pd[20];
	long rc;

	rc = oiap(&s);
	if (rc)
		return rc;
	cmd_start(&m, TPM_TAG_RQU_AUTH1_COMMAND, TPM_ORD_LoadKey2);
	put_u32(&m, TPM_KH_SRK);
	put_bytes(&m, blob, blen);
	sha1_ord(TPM_ORD_LoadKey2, blob, blen, pd);
	if (add_auth(&m, &s, pd))
		return -1;
	rc = transact(&m);
	if (rc)
		return rc;
	if (check_auth(TPM_ORD_LoadKey2, 14, &s)) {
		fprintf(stderr, "tcs-rawtpm-bench: LoadKey2 response auth does not verify\n");
		return -1;
	}
	*key = get_u32(rsp + 10);
	return 0;
}

static long sign_once(uint32_t key, long n)
{
	struct session s;
	struct msg m;
	uint8_t digest[20] = { 0 }, area[24], pd[20];
	long rc;

	memcpy(digest, &n, sizeof(n));
	rc = oiap(&s);
	if (rc)
		return rc;
	cmd_start(&m, TPM_TAG_RQU_AUTH1_COMMAND, TPM_ORD_Sign);
	put_u32(&m, key);
	put_u32(&m, sizeof(digest));
	put_bytes(&m, digest, sizeof(digest));
	/* in-parameter digest: ordinal || areaToSignSize || areaToSign */
	area[0] = area[1] = area[2] = 0;
	area[3] = sizeof(digest);
	memcpy(area + 4, digest, sizeof(digest));
	sha1_ord(TPM_ORD_Sign, area, sizeof(area), pd);
	if (add_auth(&m, &s, pd))
		return -1;
	rc = transact(&m);
	if (rc)
		return rc;
	if (rsp_len < 14 || get_u32(rsp + 10) != 256 || check_auth(TPM_ORD_Sign, 10, &s))
		return -2;
	return 0;
}

/* TPM_SaveContext + TPM_FlushSpecific + TPM_LoadContext of *key (its handle may change) */
static long swap_key(uint32_t *key)
{
	static uint8_t ctx[MAX_MSG];
	static const uint8_t label[16] = "tcs-rawtpm-bench";
	struct msg m;
	uint32_t len;
	long rc;

	cmd_start(&m, TPM_TAG_RQU_COMMAND, TPM_ORD_SaveContext);
	put_u32(&m, *key);
	put_u32(&m, TPM_RT_KEY);
	put_bytes(&m, label, sizeof(label));
	rc = transact(&m);
	if (rc)
		return rc;
	len = rsp_len >= 14 ? get_u32(rsp + 10) : 0;
	if (len == 0 || len > sizeof(ctx) - 64 || 14 + len > rsp_len)
		return -2;
	memcpy(ctx, rsp + 14, len);
	rc = flush(*key, TPM_RT_KEY);
	if (rc)
		return rc;
	cmd_start(&m, TPM_TAG_RQU_COMMAND, TPM_ORD_LoadContext);
	put_u32(&m, *key); /* entityHandle: the handle wanted back */
	m.b[m.len++] = 0;  /* keepHandle FALSE */
	put_u32(&m, len);
	put_bytes(&m, ctx, len);
	rc = transact(&m);
	if (rc)
		return rc;
	if (rsp_len < 14)
		return -2;
	*key = get_u32(rsp + 10);
	return 0;
}

static long get_random(void)
{
	struct msg m;
	long rc;

	cmd_start(&m, TPM_TAG_RQU_COMMAND, TPM_ORD_GetRandom);
	put_u32(&m, 20);
	rc = transact(&m);
	if (rc)
		return rc;
	return rsp_len == 34 && get_u32(rsp + 10) == 20 ? 0 : -2;
}

static int cmp_f(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: tcs-rawtpm-bench getrandom|sign|swapsign -p PORT [-K KEYBLOB] [-d SECONDS] "
			"[-n COUNT] [-t SECONDS]\n");
}

int main(int argc, char **argv)
{
	const char *mode, *keyfile = NULL;
	int port = 0, opt, sign, swap, one = 1;
	long max_ops = -1, i, ops = 0, errors = 0, rc;
	double duration = 0, hard = 300, t0, tstart, wall;
	uint8_t blob[MAX_MSG / 2];
	size_t blen = 0;
	uint32_t key = 0;
	float *lat;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 30 };

	if (argc < 2 || argv[1][0] == '-') {
		usage();
		return 2;
	}
	mode = argv[1];
	swap = !strcmp(mode, "swapsign");
	sign = swap || !strcmp(mode, "sign");
	if (!sign && strcmp(mode, "getrandom")) {
		usage();
		return 2;
	}
	optind = 2;
	while ((opt = getopt(argc, argv, "p:K:d:n:t:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'K': keyfile = optarg; break;
		case 'd': duration = atof(optarg); break;
		case 'n': max_ops = atol(optarg); break;
		case 't': hard = atof(optarg); break;
		default: usage(); return 2;
		}
	}
	if (max_ops < 0)
		max_ops = duration > 0 ? 1000000 : 1000;
	if (port <= 0 || port > 65535 || max_ops < 1 || max_ops > 10000000 || duration < 0 ||
	    duration > 3600 || hard <= 0 || hard > 3600 || (sign && !keyfile)) {
		usage();
		return 2;
	}
	alarm((unsigned)(duration + hard));
	if (sign) {
		FILE *f = fopen(keyfile, "rb");

		if (!f) {
			perror(keyfile);
			return 2;
		}
		blen = fread(blob, 1, sizeof(blob), f);
		fclose(f);
		if (blen < 64 || blen == sizeof(blob)) {
			fprintf(stderr, "tcs-rawtpm-bench: %s is not a key blob\n", keyfile);
			return 2;
		}
	}
	lat = malloc(sizeof(float) * max_ops);
	if (!lat)
		return 1;

	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("tcs-rawtpm-bench: connect 127.0.0.1");
		return 1;
	}
	if (sign) {
		int fk = flush_all(TPM_RT_KEY), fa = flush_all(TPM_RT_AUTH);

		if (fk > 0 || fa > 0)
			fprintf(stderr, "tcs-rawtpm-bench: flushed %d keys and %d auth sessions left in the TPM\n",
				fk, fa);
		rc = load_key(blob, blen, &key);
		if (rc) {
			fprintf(stderr, "tcs-rawtpm-bench: LoadKey2 failed: %ld (0x%lx)\n", rc, rc);
			return 1;
		}
	}

	tstart = now_s();
	for (i = 0; i < max_ops; i++) {
		if (duration > 0 && now_s() - tstart >= duration)
			break;
		t0 = now_s();
		rc = swap ? swap_key(&key) : 0;
		if (!rc)
			rc = sign ? sign_once(key, i) : get_random();
		if (rc) {
			if (errors++ < 3)
				fprintf(stderr, "tcs-rawtpm-bench: op %ld failed: %ld (0x%lx)\n", i, rc, rc);
			if (rc == -1)
				break; /* connection lost */
			continue;
		}
		lat[ops++] = (float)((now_s() - t0) * 1e6);
	}
	wall = now_s() - tstart;
	if (key)
		flush(key, TPM_RT_KEY);
	close(fd);
	qsort(lat, ops, sizeof(float), cmp_f);
#define PCT(p) (ops ? lat[(size_t)((p) * (ops - 1) + 0.5)] : 0.0)
	printf("tcs-rawtpm-bench mode=%s secs=%.3f ops=%ld errors=%ld ops_per_s=%.1f p50_us=%.0f "
	       "p90_us=%.0f p99_us=%.0f max_us=%.0f\n",
	       mode, wall, ops, errors, wall > 0 ? ops / wall : 0.0, PCT(0.50), PCT(0.90), PCT(0.99),
	       ops ? lat[ops - 1] : 0.0);
	return errors ? 1 : 0;
}

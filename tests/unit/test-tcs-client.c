/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-client against a scripted tcsd on loopback: the replies are TrouSerS'
 * recorded ones (tests/data/traces/tcsd-conversations.jsonl) and our
 * requests must be libtspi's recorded requests byte for byte, except for
 * the fresh nonces and HMACs of authorisations, which are checked by
 * recomputing them. Then transport failures: a closed connection, a bogus
 * header, a daemon that does not answer, an error reply.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcs-auth.h"
#include "tcs-client.h"
#include "tcs-packet.h"
#include "tcs-trace.h"
#include "tcs-uuid.h"
#include "tcs-tap.h"



/* ------------------------------------------------------------------ scripted daemon */

#define MAX_STEPS 16

typedef enum {
	STEP_REPLY, /* read a request, send the reply */
	STEP_CLOSE, /* read a request, close the connection */
	STEP_HANG,  /* read a request, answer nothing until the client gives up */
} StepKind;

typedef struct {
	StepKind kind;
	const uint8_t *reply;
	size_t reply_len;
} Step;

typedef struct {
	int listen_fd;
	Step steps[MAX_STEPS];
	size_t n_steps;
	/* what the client sent, one frame per step */
	uint8_t *req[MAX_STEPS];
	size_t req_len[MAX_STEPS];
	size_t n_req;
	pthread_t thread;
	char port[8];
} Daemon;

static bool
read_full(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void *
daemon_run(void *arg)
{
	Daemon *d = arg;
	int fd = accept(d->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	for (size_t i = 0; i < d->n_steps; i++) {
		uint8_t hdr[TCSD_HEADER_SIZE], junk[64];
		TcsPacketHeader h;

		if (!read_full(fd, hdr, sizeof(hdr)))
			break;
		tcs_packet_header_read(hdr, &h);
		if (h.packet_size < TCSD_HEADER_SIZE || h.packet_size > 65536)
			break;
		d->req[i] = malloc(h.packet_size);
		memcpy(d->req[i], hdr, sizeof(hdr));
		if (!read_full(fd, d->req[i] + sizeof(hdr), h.packet_size - sizeof(hdr)))
			break;
		d->req_len[i] = h.packet_size;
		d->n_req++;
		if (d->steps[i].kind == STEP_CLOSE)
			break;
		if (d->steps[i].kind == STEP_HANG) {
			/* until the client closes its end */
			while (read(fd, junk, sizeof(junk)) > 0)
				;
			break;
		}
		if (write(fd, d->steps[i].reply, d->steps[i].reply_len) !=
		    (ssize_t)d->steps[i].reply_len)
			break;
	}
	close(fd);
	return NULL;
}

static void
daemon_start(Daemon *d)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	d->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (d->listen_fd < 0 || bind(d->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(d->listen_fd, 1) < 0 ||
	    getsockname(d->listen_fd, (struct sockaddr *)&a, &len) < 0)
		abort();
	snprintf(d->port, sizeof(d->port), "%u", ntohs(a.sin_port));
	if (pthread_create(&d->thread, NULL, daemon_run, d) != 0)
		abort();
}

static void
daemon_stop(Daemon *d)
{
	pthread_join(d->thread, NULL);
	close(d->listen_fd);
}

/* Forget the requests recorded and the script, for the next scenario. */
static void
daemon_reset(Daemon *d)
{
	for (size_t i = 0; i < MAX_STEPS; i++)
		free(d->req[i]);
	memset(d, 0, sizeof(*d));
}

static void
step(Daemon *d, StepKind kind, const uint8_t *reply, size_t len)
{
	d->steps[d->n_steps++] = (Step){kind, reply, len};
}

/* ------------------------------------------------------------------ recorded conversation */

static TcsTrace conv;

static const TcsTraceRecord *
rec(int conn, int seq)
{
	for (size_t i = 0; i < conv.n; i++)
		if (conv.rec[i].conn == conn && conv.rec[i].seq == seq)
			return &conv.rec[i];
	fprintf(stderr, "no record conn %d seq %d\n", conn, seq);
	abort();
}

static bool
same_frame(const Daemon *d, size_t i, const TcsTraceRecord *r)
{
	return i < d->n_req && d->req_len[i] == r->request_len &&
	       memcmp(d->req[i], r->request, r->request_len) == 0;
}

static int
srk_lookup(const TcsUuid *uuid, uint8_t secret[20], void *userdata)
{
	(void)userdata;
	if (!tcs_uuid_equal(uuid, &TCS_UUID_SRK))
		return -ENOENT;
	memcpy(secret, tcs_auth_well_known, 20);
	return 0;
}

/*
 * LoadKeyByUUID (conversation 88: a key under the SRK, registered): the
 * first request asks for a LOADKEY_INFO, the daemon answers 0x20CA with it,
 * the client authorises the SRK with OIAP and retries; then CloseContext.
 */
static void
test_loadkey_info_replay(void)
{
	enum { OPEN = 0, LOAD1 = 3, OIAP = 4, LOAD2 = 5, CLOSE = 17 };
	Daemon d = {0};
	TcsClient *c = NULL;
	TcsPacketReader r, recorded;
	TcsLoadKeyInfo info, rec_info;
	uint8_t even[20], want[20];
	uint32_t ctx, handle = 0, oiap_handle;
	TcsUuid uuid, rec_uuid;
	int rc;

	step(&d, STEP_REPLY, rec(88, OPEN)->reply, rec(88, OPEN)->reply_len);
	step(&d, STEP_REPLY, rec(88, LOAD1)->reply, rec(88, LOAD1)->reply_len);
	step(&d, STEP_REPLY, rec(88, CLOSE)->reply, rec(88, CLOSE)->reply_len);
	daemon_start(&d);

	/* the UUID asked for in the recording */
	tcs_packet_reader_init(&recorded, rec(88, LOAD1)->request, rec(88, LOAD1)->request_len);
	tcs_packet_get_u32(&recorded, &ctx);
	tcs_packet_get_uuid(&recorded, &uuid);

	CHECK(tcs_client_connect("127.0.0.1", d.port, &c) == 0, "connect to the scripted daemon");
	CHECK(tcs_client_open_context(c) == 0 && tcs_client_context(c) == ctx &&
		      tcs_client_tpm_version(c) == 2,
	      "OpenContext: context 0x%08x, TPM 1.2", tcs_client_context(c));
	rc = tcs_client_load_key_by_uuid(c, &uuid, NULL, NULL, &handle);
	CHECK(rc == (int)TCS_ERR(TCS_E_KM_LOADFAILED),
	      "without a secret lookup the 0x20CA is returned (0x%x)", rc);
	tcs_client_free(c);
	daemon_stop(&d);

	CHECK(same_frame(&d, 0, rec(88, OPEN)), "OpenContext request: libtspi's bytes");
	CHECK(same_frame(&d, 1, rec(88, LOAD1)),
	      "LoadKeyByUUID with a zeroed LOADKEY_INFO: libtspi's bytes");
	CHECK(d.n_req == 3 && same_frame(&d, 2, rec(88, CLOSE)),
	      "then only CloseContext, from tcs_client_free() (%zu requests)", d.n_req);

	/* now with the SRK's secret */
	daemon_reset(&d);
	step(&d, STEP_REPLY, rec(88, OPEN)->reply, rec(88, OPEN)->reply_len);
	step(&d, STEP_REPLY, rec(88, LOAD1)->reply, rec(88, LOAD1)->reply_len);
	step(&d, STEP_REPLY, rec(88, OIAP)->reply, rec(88, OIAP)->reply_len);
	step(&d, STEP_REPLY, rec(88, LOAD2)->reply, rec(88, LOAD2)->reply_len);
	step(&d, STEP_REPLY, rec(88, CLOSE)->reply, rec(88, CLOSE)->reply_len);
	daemon_start(&d);
	CHECK(tcs_client_connect("127.0.0.1", d.port, &c) == 0 && tcs_client_open_context(c) == 0,
	      "connect and OpenContext again");
	rc = tcs_client_load_key_by_uuid(c, &uuid, srk_lookup, NULL, &handle);
	CHECK(rc == 0 && handle == 0x22330017, "LoadKeyByUUID with the retry: handle 0x%08x",
	      handle);
	CHECK(tcs_client_close_context(c) == 0 && tcs_client_context(c) == 0, "CloseContext");
	tcs_client_free(c);
	daemon_stop(&d);

	CHECK(d.n_req == 5, "five requests (%zu)", d.n_req);
	CHECK(same_frame(&d, 2, rec(88, OIAP)), "OIAP request: libtspi's bytes");
	CHECK(same_frame(&d, 4, rec(88, CLOSE)), "CloseContext request: libtspi's bytes");
	/* the retry: same layout as libtspi's, our own nonceOdd and HMAC */
	CHECK(d.n_req == 5 && d.req_len[3] == rec(88, LOAD2)->request_len &&
		      memcmp(d.req[3], rec(88, LOAD2)->request, 28 + 3 + 4 + 16 + 32) == 0,
	      "the retry has libtspi's header, context, UUID and LOADKEY_INFO UUIDs");
	tcs_packet_reader_init(&r, d.req[3], d.req_len[3]);
	tcs_packet_reader_init(&recorded, rec(88, LOAD2)->request, rec(88, LOAD2)->request_len);
	CHECK(tcs_packet_get_u32(&r, &ctx) == 0 && tcs_packet_get_uuid(&r, &rec_uuid) == 0 &&
		      tcs_packet_get_loadkey_info(&r, &info) == 0 &&
		      tcs_packet_get_u32(&recorded, &ctx) == 0 &&
		      tcs_packet_get_uuid(&recorded, &rec_uuid) == 0 &&
		      tcs_packet_get_loadkey_info(&recorded, &rec_info) == 0,
	      "both retries parse");
	/* the OIAP session the daemon handed out */
	tcs_packet_reader_init_reply(&r, rec(88, OIAP)->reply, rec(88, OIAP)->reply_len);
	tcs_packet_get_u32(&r, &oiap_handle);
	tcs_packet_get_20(&r, TCSD_TYPE_NONCE, even);
	CHECK(info.auth.handle == oiap_handle && memcmp(info.nonce_even, even, 20) == 0 &&
		      memcmp(info.param_digest, rec_info.param_digest, 20) == 0 &&
		      info.auth.cont == rec_info.auth.cont,
	      "the retry carries the session, its nonceEven, the digest asked about, no continue");
	CHECK(tcs_auth_hmac(tcs_auth_well_known, info.param_digest, even, info.auth.nonce_odd,
			    false, want) == 0 &&
		      memcmp(want, info.auth.hmac, 20) == 0,
	      "its HMAC is the SRK's authorisation");
	daemon_reset(&d);
}

/* ------------------------------------------------------------------ transport failures */

/* TrouSerS' OpenContext reply as seen on the wire: context 0xa01c9900, TPM version 2 */
static const uint8_t open_reply[] = {
	0, 0, 0, 0x26, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0x1c, 0, 0, 0, 8, 0, 0, 0, 0x1e,
	3, 3, 0xa0, 0x1c, 0x99, 0x00, 0, 0, 0, 2,
};

static void
test_transport(void)
{
	static const uint8_t bad_ctx[TCSD_HEADER_SIZE] = {0, 0, 0, 0x1c, 0, 0, 0x20, 0xc1};
	static const uint8_t too_short[TCSD_HEADER_SIZE] = {0, 0, 0, 0x10};
	Daemon d = {0};
	TcsClient *c = NULL;
	uint8_t buf[8];
	int rc;

	/* a TCS error, then the connection closed under a request */
	step(&d, STEP_REPLY, open_reply, sizeof(open_reply));
	step(&d, STEP_REPLY, bad_ctx, sizeof(bad_ctx));
	step(&d, STEP_CLOSE, NULL, 0);
	daemon_start(&d);
	CHECK(tcs_client_connect("127.0.0.1", d.port, &c) == 0 && tcs_client_open_context(c) == 0 &&
		      tcs_client_context(c) == 0xa01c9900,
	      "OpenContext from TrouSerS' recorded reply bytes");
	rc = tcs_client_get_random(c, buf, sizeof(buf));
	CHECK(rc == 0x20c1, "an error reply is a positive TSS result (0x%x)", rc);
	rc = tcs_client_get_random(c, buf, sizeof(buf));
	CHECK(rc == -ECONNRESET, "a closed connection: -ECONNRESET (%d)", rc);
	rc = tcs_client_get_random(c, buf, sizeof(buf));
	CHECK(rc == -ENOTCONN, "and afterwards -ENOTCONN (%d)", rc);
	tcs_client_free(c);
	daemon_stop(&d);

	/* a header that cannot be */
	daemon_reset(&d);
	step(&d, STEP_REPLY, open_reply, sizeof(open_reply));
	step(&d, STEP_REPLY, too_short, sizeof(too_short));
	daemon_start(&d);
	tcs_client_connect("127.0.0.1", d.port, &c);
	tcs_client_open_context(c);
	rc = tcs_client_get_random(c, buf, sizeof(buf));
	CHECK(rc == -EBADMSG, "packet_size < 28: -EBADMSG (%d)", rc);
	CHECK(tcs_client_context(c) == 0, "the connection is dropped with its context");
	tcs_client_free(c);
	daemon_stop(&d);

	/* no answer at all */
	daemon_reset(&d);
	step(&d, STEP_REPLY, open_reply, sizeof(open_reply));
	step(&d, STEP_HANG, NULL, 0);
	daemon_start(&d);
	tcs_client_connect("127.0.0.1", d.port, &c);
	tcs_client_open_context(c);
	tcs_client_set_timeout(c, 200);
	rc = tcs_client_get_random(c, buf, sizeof(buf));
	CHECK(rc == -ETIMEDOUT, "a daemon that does not answer: -ETIMEDOUT (%d)", rc);
	tcs_client_free(c);
	daemon_stop(&d);
	daemon_reset(&d);

	/* nobody listening: a port bound but not listening refuses connections */
	{
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		char port[8];

		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
			abort();
		snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
		rc = tcs_client_connect("127.0.0.1", port, &c);
		CHECK(rc == -ECONNREFUSED, "nobody listening: -ECONNREFUSED (%d)", rc);
		close(fd);
	}
	setenv("TSS_TCSD_HOSTNAME", "127.0.0.1", 1);
	setenv("TSS_TCSD_PORT", "1", 1);
	rc = tcs_client_connect(NULL, NULL, &c);
	CHECK(rc == -ECONNREFUSED, "TSS_TCSD_HOSTNAME/TSS_TCSD_PORT are used (%d)", rc);
	rc = tcs_client_connect("127.0.0.1", "tcsd", &c);
	CHECK(rc == -EHOSTUNREACH, "a port must be numeric, as for libtspi (%d)", rc);
}

int
main(void)
{
	tcs_trace_load("tcsd-conversations.jsonl", &conv);
	test_loadkey_info_replay();
	test_transport();
	tcs_trace_free(&conv);
	return tap_done();
}

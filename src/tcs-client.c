/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcs-key.h"
#include "tcs-ordinal.h"
#include "tcs-packet.h"
#include "tcs-uuid.h"

#include "tcs-client-private.h"

/* ------------------------------------------------------------------ transport */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline (monotonic ms). */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int
send_all(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		int rc;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
recv_all(int fd, uint8_t *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		int rc;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void
disconnect(TcsClient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->have_context = false;
	c->context = 0;
}

static int
connect_one(const struct addrinfo *ai)
{
	int fd, rc, err = 0, one = 1;
	socklen_t len = sizeof(err);

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
			close(fd);
			return rc;
		}
		rc = wait_fd(fd, POLLOUT, now_ms() + TCS_CLIENT_CONNECT_TIMEOUT_MS);
		if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			rc = -errno;
		else if (rc == 0 && err)
			rc = -err;
		if (rc < 0) {
			close(fd);
			return rc;
		}
	}
	/* one small request per reply: do not let Nagle hold it back */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

int
tcs_client_connect(const char *host, const char *port, TcsClient **ret)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	TcsClient *c;
	int rc, fd = -ENXIO;

	if (!ret)
		return -EINVAL;
	host = host ? host : env_or("TSS_TCSD_HOSTNAME", TCS_CLIENT_DEFAULT_HOST);
	port = port ? port : env_or("TSS_TCSD_PORT", TCS_CLIENT_DEFAULT_PORT);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc == EAI_SYSTEM)
		return -errno;
	if (rc == EAI_MEMORY)
		return -ENOMEM;
	if (rc != 0)
		return -EHOSTUNREACH;
	/* like libtspi: every address in turn ("localhost" is ::1 and 127.0.0.1) */
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fd;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->timeout_ms = TCS_CLIENT_TIMEOUT_MS;
	*ret = c;
	return 0;
}

int
tcs_client_new_exchange(TcsClientExchange exchange, void *userdata, TcsClient **ret)
{
	TcsClient *c;

	if (!exchange || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->exchange = exchange;
	c->exchange_data = userdata;
	c->timeout_ms = TCS_CLIENT_TIMEOUT_MS;
	*ret = c;
	return 0;
}

void
tcs_client_set_timeout(TcsClient *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : TCS_CLIENT_TIMEOUT_MS;
}

void
tcs_client_free(TcsClient *c)
{
	if (!c)
		return;
	if ((c->fd >= 0 || c->exchange) && c->have_context) {
		c->timeout_ms = c->timeout_ms < CLOSE_TIMEOUT_MS ? c->timeout_ms : CLOSE_TIMEOUT_MS;
		(void)tcs_client_close_context(c);
	}
	disconnect(c);
	free(c);
}

uint32_t
tcs_client_context(const TcsClient *c)
{
	return c->have_context ? c->context : 0;
}

uint32_t
tcs_client_tpm_version(const TcsClient *c)
{
	return c->tpm_version;
}

/* ------------------------------------------------------------------ one exchange */


void
tcsc_reply_free(Reply *rep)
{
	/* replies carry unbound and unsealed data */
	if (rep->buf)
		tcs_wipe(rep->buf, rep->len);
	free(rep->buf);
	rep->buf = NULL;
	rep->len = 0;
}

void
tcsc_writer_clear(TcsPacketWriter *w)
{
	tcs_packet_writer_clear(w);
}

void
tcsc_wbuf_free_secure(TcsWbuf *w)
{
	tcs_wbuf_free_secure(w);
}

/*
 * The request frame. A request without parameters still points its offsets
 * past the header (TrouSerS checks packet_size == parm_offset + parm_size),
 * which tcs_packet_writer_finish() does not do for replies.
 */
static int
frame_request(const TcsPacketWriter *w, uint32_t ordinal, TcsWbuf *out)
{
	uint32_t parm_offset = TCSD_HEADER_SIZE + w->n;

	if (w->error || !tcs_wbuf_ok(&w->parms) ||
	    w->parms.len > TCSD_MAX_PACKET_SIZE - parm_offset)
		return -EMSGSIZE;
	tcs_wbuf_init(out, TCSD_MAX_PACKET_SIZE);
	tcs_wbuf_u32(out, parm_offset + (uint32_t)w->parms.len);
	tcs_wbuf_u32(out, ordinal);
	tcs_wbuf_u32(out, w->n);
	tcs_wbuf_u32(out, w->n);
	tcs_wbuf_u32(out, TCSD_HEADER_SIZE);
	tcs_wbuf_u32(out, (uint32_t)w->parms.len);
	tcs_wbuf_u32(out, parm_offset);
	tcs_wbuf_bytes(out, w->types, w->n);
	tcs_wbuf_bytes(out, w->parms.data, w->parms.len);
	return tcs_wbuf_ok(out) ? 0 : -ENOMEM;
}

static int
parse_reply(Reply *rep, Reply *ret)
{
	int rc = tcs_packet_reader_init_reply(&rep->r, rep->buf, rep->len);

	if (rc < 0) {
		tcsc_reply_free(rep);
		return -EBADMSG;
	}
	/* TSS results are small; anything else is not a reply we understand */
	if (rep->r.hdr.code > INT_MAX) {
		tcsc_reply_free(rep);
		return -EBADMSG;
	}
	*ret = *rep;
	return (int)rep->r.hdr.code;
}

static int
call_exchange(TcsClient *c, const TcsWbuf *req, Reply *ret)
{
	Reply rep = {0};
	int rc = c->exchange(req->data, req->len, &rep.buf, &rep.len, c->exchange_data);

	if (rc < 0)
		return rc;
	return parse_reply(&rep, ret);
}

/*
 * Send one request and read its reply. Returns a negative errno (the reply
 * is left empty), else the TSS result of the reply header (0 or positive;
 * the reply's parameters are ready to be read either way, since a few
 * failures carry data, like LoadKeyByUUID's LOADKEY_INFO).
 */
int
tcsc_call(TcsClient *c, uint32_t ordinal, const TcsPacketWriter *w, Reply *ret)
{
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf req = {0};
	uint8_t hdr_bytes[TCSD_HEADER_SIZE];
	TcsPacketHeader hdr;
	Reply rep = {0};
	int64_t deadline;
	int rc;

	if (c->fd < 0 && !c->exchange)
		return -ENOTCONN;
	rc = frame_request(w, ordinal, &req);
	if (rc < 0)
		return rc;
	if (c->exchange)
		return call_exchange(c, &req, ret);
	deadline = now_ms() + c->timeout_ms;
	rc = send_all(c->fd, req.data, req.len, deadline);
	if (rc == 0)
		rc = recv_all(c->fd, hdr_bytes, sizeof(hdr_bytes), deadline);
	if (rc == 0) {
		tcs_packet_header_read(hdr_bytes, &hdr);
		rc = tcs_packet_header_check(&hdr, TCSD_MAX_PACKET_SIZE);
	}
	if (rc == 0) {
		rep.len = hdr.packet_size;
		rep.buf = malloc(rep.len);
		if (!rep.buf) {
			/* the rest of the frame stays unread: the stream is lost */
			rc = -ENOMEM;
		} else {
			memcpy(rep.buf, hdr_bytes, sizeof(hdr_bytes));
			rc = recv_all(c->fd, rep.buf + TCSD_HEADER_SIZE, rep.len - TCSD_HEADER_SIZE,
				      deadline);
		}
	}
	if (rc < 0) {
		tcsc_reply_free(&rep);
		disconnect(c);
		return rc;
	}
	return parse_reply(&rep, ret);
}

/* tcsc_call() for the usual case: outputs only on success. */
int
tcsc_call_ok(TcsClient *c, uint32_t ordinal, const TcsPacketWriter *w, Reply *ret)
{
	Reply rep = {0};
	int rc = tcsc_call(c, ordinal, w, &rep);

	if (rc != 0) {
		tcsc_reply_free(&rep);
		return rc;
	}
	*ret = rep;
	return 0;
}

int
tcsc_start(TcsClient *c, TcsPacketWriter *w)
{
	tcs_packet_writer_init(w);
	if ((c->fd < 0 && !c->exchange) || !c->have_context)
		return -ENOTCONN;
	tcs_packet_put_u32(w, c->context);
	return 0;
}

/* A malloc'd copy of an output (never NULL, even when empty). */
int
tcsc_copy_out(const uint8_t *p, size_t len, uint8_t **ret, size_t *ret_len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, p, len);
	*ret = copy;
	*ret_len = len;
	return 0;
}

/* A reply's UINT32 size + PBYTE, copied out. */
int
tcsc_get_blob_dup(TcsPacketReader *r, uint8_t **ret, size_t *ret_len)
{
	const uint8_t *p = NULL;
	uint32_t len = 0;

	if (tcs_packet_get_blob(r, TCSD_MAX_PACKET_SIZE, &p, &len) < 0)
		return -EBADMSG;
	return tcsc_copy_out(p, len, ret, ret_len);
}

bool
tcsc_size_ok(size_t len)
{
	return len <= TCSD_MAX_PACKET_SIZE;
}

/* SHA-1 of what a digest writer collected; the writer may hold secrets. */
int
tcsc_digest_done(TcsWbuf *w, uint8_t out[TCS_DIGEST_SIZE])
{
	if (!tcs_wbuf_ok(w))
		return -ENOMEM;
	return tcs_sha1(w->data, w->len, out);
}

/* ------------------------------------------------------------------ context */

int
tcs_client_open_context(TcsClient *c)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	uint32_t ctx, version = 1;
	int rc;

	tcs_packet_writer_init(&w);
	if (c->have_context)
		return -EBUSY;
	rc = tcsc_call_ok(c, TCSD_ORD_OPENCONTEXT, &w, &rep);
	if (rc != 0)
		return rc;
	if (tcs_packet_get_u32(&rep.r, &ctx) < 0)
		return -EBADMSG;
	/* the TPM version follows since TrouSerS 0.3; older daemons mean 1.1 */
	(void)tcs_packet_get_u32(&rep.r, &version);
	c->context = ctx;
	c->tpm_version = version;
	c->have_context = true;
	return 0;
}

int
tcs_client_close_context(TcsClient *c)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	rc = tcsc_call_ok(c, TCSD_ORD_CLOSECONTEXT, &w, &rep);
	/* whatever the daemon said, the context is gone for us */
	if (rc >= 0) {
		c->have_context = false;
		c->context = 0;
	}
	return rc;
}

/* ------------------------------------------------------------------ TPM pass-through */

int
tcs_client_get_random(TcsClient *c, void *buf, size_t n)
{
	uint8_t *out = buf;
	size_t done = 0;

	if (n && !buf)
		return -EINVAL;
	while (done < n) {
		_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
		_cleanup_(tcsc_reply_free) Reply rep = {0};
		uint32_t want =
			n - done > GET_RANDOM_CHUNK ? GET_RANDOM_CHUNK : (uint32_t)(n - done);
		const uint8_t *p = NULL;
		uint32_t got = 0;
		int rc = tcsc_start(c, &w);

		if (rc < 0)
			return rc;
		tcs_packet_put_u32(&w, want);
		rc = tcsc_call_ok(c, ORD_GETRANDOM, &w, &rep);
		if (rc != 0)
			return rc;
		if (tcs_packet_get_blob(&rep.r, want, &p, &got) < 0)
			return -EBADMSG;
		/* a TPM may return fewer bytes, never none */
		if (got == 0)
			return -EIO;
		memcpy(out + done, p, got);
		done += got;
	}
	return 0;
}

int
tcs_client_get_capability(TcsClient *c, uint32_t area, const void *sub, size_t sub_len,
			  uint8_t **ret, size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (!tcsc_size_ok(sub_len) || (sub_len && !sub))
		return -EINVAL;
	tcs_packet_put_u32(&w, area);
	/* libtspi always sends the PBYTE slot, even when empty */
	tcs_packet_put_blob(&w, sub, (uint32_t)sub_len);
	rc = tcsc_call_ok(c, ORD_GETCAPABILITY, &w, &rep);
	if (rc != 0)
		return rc;
	return tcsc_get_blob_dup(&rep.r, ret, ret_len);
}

/* ------------------------------------------------------------------ sessions */

int
tcs_client_oiap(TcsClient *c, const uint8_t usage_secret[TCS_SECRET_SIZE], TcsAuthSession *ret)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	uint8_t nonce_even[TCS_NONCE_SIZE];
	uint32_t handle;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	rc = tcsc_call_ok(c, TCSD_ORD_OIAP, &w, &rep);
	if (rc != 0)
		return rc;
	if (tcs_packet_get_u32(&rep.r, &handle) < 0 ||
	    tcs_packet_get_20(&rep.r, TCSD_TYPE_NONCE, nonce_even) < 0)
		return -EBADMSG;
	tcs_auth_session_oiap(ret, handle, nonce_even, usage_secret);
	return 0;
}

int
tcs_client_osap(TcsClient *c, uint16_t entity_type, uint32_t entity_value,
		const uint8_t entity_secret[TCS_SECRET_SIZE], TcsAuthSession *ret)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	uint8_t nonce_odd_osap[TCS_NONCE_SIZE], nonce_even[TCS_NONCE_SIZE];
	uint8_t nonce_even_osap[TCS_NONCE_SIZE];
	uint32_t handle;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	rc = tcs_auth_random_nonce(nonce_odd_osap);
	if (rc < 0)
		return rc;
	tcs_packet_put_u16(&w, entity_type);
	tcs_packet_put_u32(&w, entity_value);
	tcs_packet_put_20(&w, TCSD_TYPE_NONCE, nonce_odd_osap);
	rc = tcsc_call_ok(c, TCSD_ORD_OSAP, &w, &rep);
	if (rc != 0)
		return rc;
	if (tcs_packet_get_u32(&rep.r, &handle) < 0 ||
	    tcs_packet_get_20(&rep.r, TCSD_TYPE_NONCE, nonce_even) < 0 ||
	    tcs_packet_get_20(&rep.r, TCSD_TYPE_NONCE, nonce_even_osap) < 0)
		return -EBADMSG;
	return tcs_auth_session_osap(ret, handle, nonce_even, nonce_even_osap, nonce_odd_osap,
				     entity_secret);
}

int
tcs_client_terminate_handle(TcsClient *c, uint32_t auth_handle)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	tcs_packet_put_u32(&w, auth_handle);
	return tcsc_call_ok(c, TCSD_ORD_TERMINATEHANDLE, &w, &rep);
}

/*
 * A single-use OIAP authorisation of in_digest: the session ends with the
 * command (continueAuthSession false), so nothing is left to clean up.
 */
int
tcsc_authorise_request(TcsClient *c, const uint8_t secret[TCS_SECRET_SIZE], TcsWbuf *d,
		       TcsAuthSession *s, TcsPacketWriter *w)
{
	uint8_t digest[TCS_DIGEST_SIZE];
	TcsAuthIn auth;
	int rc = tcsc_digest_done(d, digest);

	if (rc == 0)
		rc = tcsc_oiap_authorise(c, secret, digest, s, &auth);
	if (rc == 0)
		tcs_packet_put_auth_in(w, &auth);
	tcs_wipe(&auth, sizeof(auth));
	return rc;
}

void
tcsc_reply_digest_begin(TcsWbuf *d, uint32_t tpm_ordinal)
{
	tcs_wbuf_free_secure(d);
	tcs_wbuf_init(d, 0);
	tcs_wbuf_u32(d, TPM_SUCCESS);
	tcs_wbuf_u32(d, tpm_ordinal);
}

int
tcsc_verify_reply(TcsAuthSession *s, TcsWbuf *d, const TcsAuthOut *a)
{
	uint8_t digest[TCS_DIGEST_SIZE];
	int rc = tcsc_digest_done(d, digest);

	return rc == 0 ? tcs_auth_session_check_reply(s, digest, a) : rc;
}

int
tcsc_osap_begin(TcsClient *c, uint16_t entity_type, uint32_t entity_value,
		const uint8_t entity_secret[TCS_SECRET_SIZE], TcsAuthSession *s)
{
	int rc = tcs_client_osap(c, entity_type, entity_value, entity_secret, s);

	if (rc != 0)
		return rc;
	rc = tcs_auth_session_next_nonce(s);
	if (rc < 0)
		(void)tcs_client_terminate_handle(c, s->handle);
	return rc;
}

int
tcsc_session_authorise(TcsClient *c, TcsAuthSession *s, int rc, TcsWbuf *d, TcsAuthIn *ret)
{
	uint8_t digest[TCS_DIGEST_SIZE];

	if (rc == 0)
		rc = tcsc_digest_done(d, digest);
	if (rc == 0)
		rc = tcs_auth_session_command(s, digest, false, ret);
	if (rc < 0)
		(void)tcs_client_terminate_handle(c, s->handle);
	return rc;
}

int
tcsc_oiap_authorise(TcsClient *c, const uint8_t secret[TCS_SECRET_SIZE],
	       const uint8_t in_digest[TCS_DIGEST_SIZE], TcsAuthSession *s, TcsAuthIn *ret)
{
	int rc = tcs_client_oiap(c, secret, s);

	if (rc != 0)
		return rc;
	rc = tcs_auth_session_next_nonce(s);
	if (rc == 0)
		rc = tcs_auth_session_command(s, in_digest, false, ret);
	if (rc < 0)
		(void)tcs_client_terminate_handle(c, s->handle);
	return rc;
}

/* Check the reply trailer of an authorised command against SHA1(0 || ordinal || out). */
int
tcsc_check_reply(TcsAuthSession *s, TcsPacketReader *r, uint32_t tpm_ordinal, const void *out,
	    size_t out_len)
{
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	uint8_t digest[TCS_DIGEST_SIZE];
	TcsAuthOut a;
	int rc;

	if (tcs_packet_get_auth_out(r, &a) < 0)
		return -EBADMSG;
	tcs_wbuf_init(&d, 0);
	tcs_wbuf_u32(&d, TPM_SUCCESS);
	tcs_wbuf_u32(&d, tpm_ordinal);
	tcs_wbuf_bytes(&d, out, out_len);
	rc = tcsc_digest_done(&d, digest);
	if (rc < 0)
		return rc;
	return tcs_auth_session_check_reply(s, digest, &a);
}

/*
 * Send w, whose reply is one AUTH and one blob authorised by s over
 * SHA1(0 || tpm_ordinal || blob); a copy of the blob in *ret (ret may be NULL).
 */
int
tcsc_call_auth_blob(TcsClient *c, uint32_t tcsd_ordinal, uint32_t tpm_ordinal,
		    const TcsPacketWriter *w, TcsAuthSession *s, uint32_t max, uint8_t **ret,
		    size_t *ret_len)
{
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	const uint8_t *blob = NULL;
	uint32_t blob_len = 0;
	TcsAuthOut a;
	int rc = tcsc_call_ok(c, tcsd_ordinal, w, &rep);

	if (rc != 0)
		return rc;
	if (tcs_packet_get_auth_out(&rep.r, &a) < 0 ||
	    tcs_packet_get_blob(&rep.r, max, &blob, &blob_len) < 0)
		return -EBADMSG;
	tcsc_reply_digest_begin(&d, tpm_ordinal);
	tcs_wbuf_bytes(&d, blob, blob_len);
	rc = tcsc_verify_reply(s, &d, &a);
	if (rc < 0 || !ret)
		return rc;
	return tcsc_copy_out(blob, blob_len, ret, ret_len);
}

int
tcs_client_reset_lock_value(TcsClient *c, const uint8_t owner_secret[TCS_SECRET_SIZE])
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_auth_session_ TcsAuthSession s = {0};
	uint8_t digest[TCS_DIGEST_SIZE];
	TcsAuthIn auth;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	rc = tcs_sha1((const uint8_t[]){0, 0, 0, TPM_ORD_ResetLockValue}, 4, digest);
	if (rc == 0)
		rc = tcsc_oiap_authorise(c, owner_secret, digest, &s, &auth);
	if (rc != 0)
		return rc;
	tcs_packet_put_auth_in(&w, &auth);
	rc = tcsc_call_ok(c, ORD_RESETLOCKVALUE, &w, &rep);
	if (rc != 0)
		return rc;
	return tcsc_check_reply(&s, &rep.r, TPM_ORD_ResetLockValue, NULL, 0);
}

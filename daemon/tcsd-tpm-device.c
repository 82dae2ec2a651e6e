/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-tpm-device.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tcs-buf.h"
#include "tcs-types.h"
#include "tcsd-swtpm.h"
#include "tcsd-tpm2-binding.h"
#include "tcsd-tpm-io.h"

G_DEFINE_QUARK(tcsd-tpm-device-error-quark, tcsd_tpm_device_error)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TcsWbuf, tcs_wbuf_free)

#define TCSD_TPM_CONNECT_TIMEOUT_MS 10000
/* TPM_RETRY: the TPM is busy (e.g. self test after power-on); TrouSerS also tries 5 times */
#define TCSD_TPM_RETRIES 5
#define TCSD_TPM_RETRY_DELAY_MS 50
/* fresh boot, reset after "already started but inactive", reset to make activation effective */
#define TCSD_TPM_MAX_BOOTS 3

/* TPM 1.2 constants tcs-types.h does not carry */
#define TPM_TAG_RSP_AUTH1_COMMAND 0x00C5u
#define TPM_TAG_RSP_AUTH2_COMMAND 0x00C6u
#define TPM_INVALID_POSTINIT 0x26u
#define TPM_ST_CLEAR 0x0001u
#define TPM_PHYSICAL_PRESENCE_LOCK 0x0004u
#define TPM_PHYSICAL_PRESENCE_PRESENT 0x0008u
#define TPM_PHYSICAL_PRESENCE_NOTPRESENT 0x0010u
#define TPM_PHYSICAL_PRESENCE_CMD_ENABLE 0x0020u

struct _TcsdTpmDevice {
	TcsdTpmBackend backend;
	char *description;
	char *path;	       /* CHAR */
	TcsdTpmEndpoint data;  /* TCP, SWTPM */
	TcsdTpmEndpoint ctrl;  /* TCP, SWTPM; empty = cannot reset */
	TcsdSwtpm *swtpm;      /* SWTPM */
	int fd;		       /* -1 = closed, reopened on the next command */
	gboolean fresh;	       /* fd opened and not used yet */
	guint timeout_ms;
};

/* ---- spec parsing ---- */

static gboolean
parse_port(const char *text, guint16 *port, GError **error)
{
	guint64 v;

	if (!g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT16, &v, NULL)) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_INVALID_SPEC,
			    "'%s' is not a port number 1-65535", text);
		return FALSE;
	}
	*port = (guint16)v;
	return TRUE;
}

/* HOST:PORT[:CTRLPORT], HOST may be [IPv6] */
static gboolean
parse_tcp(const char *text, TcsdTpmSpec *spec, GError **error)
{
	g_auto(GStrv) ports = NULL;
	const char *rest;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (end == NULL || end[1] != ':') {
			g_set_error(error, TCSD_TPM_DEVICE_ERROR,
				    TCSD_TPM_DEVICE_ERROR_INVALID_SPEC,
				    "expected tcp:[ADDRESS]:PORT, got 'tcp:%s'", text);
			return FALSE;
		}
		spec->host = g_strndup(text + 1, end - text - 1);
		rest = end + 2;
	} else {
		const char *colon = strchr(text, ':');

		if (colon == NULL) {
			g_set_error(error, TCSD_TPM_DEVICE_ERROR,
				    TCSD_TPM_DEVICE_ERROR_INVALID_SPEC,
				    "expected tcp:HOST:PORT, got 'tcp:%s'", text);
			return FALSE;
		}
		spec->host = g_strndup(text, colon - text);
		rest = colon + 1;
	}
	if (spec->host[0] == '\0') {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_INVALID_SPEC,
			    "missing host in 'tcp:%s'", text);
		return FALSE;
	}
	ports = g_strsplit(rest, ":", -1);
	if (g_strv_length(ports) < 1 || g_strv_length(ports) > 2) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_INVALID_SPEC,
			    "expected tcp:HOST:PORT[:CTRLPORT], got 'tcp:%s'", text);
		return FALSE;
	}
	if (!parse_port(ports[0], &spec->port, error))
		return FALSE;
	if (ports[1] != NULL)
		return parse_port(ports[1], &spec->ctrl_port, error);
	/* swtpm's usual layout: control channel right above the command port */
	spec->ctrl_port = spec->port < G_MAXUINT16 ? spec->port + 1 : 0;
	return TRUE;
}

gboolean
tcsd_tpm_spec_parse(const char *text, TcsdTpmSpec *spec, GError **error)
{
	g_auto(TcsdTpmSpec) tmp = {0};

	if (text == NULL || g_ascii_strcasecmp(text, "auto") == 0) {
		tmp.backend = TCSD_TPM_BACKEND_AUTO;
	} else if (g_ascii_strcasecmp(text, "swtpm") == 0) {
		tmp.backend = TCSD_TPM_BACKEND_SWTPM;
	} else if (text[0] == '/') {
		tmp.backend = TCSD_TPM_BACKEND_CHAR;
		tmp.path = g_strdup(text);
	} else if (g_ascii_strncasecmp(text, "tcp:", 4) == 0) {
		tmp.backend = TCSD_TPM_BACKEND_TCP;
		if (!parse_tcp(text + 4, &tmp, error))
			return FALSE;
	} else {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_INVALID_SPEC,
			    "unknown TPM device '%s' (expected auto, swtpm, tcp:HOST:PORT or an "
			    "absolute device path)",
			    text);
		return FALSE;
	}
	*spec = tmp;
	memset(&tmp, 0, sizeof(tmp));
	return TRUE;
}

void
tcsd_tpm_spec_clear(TcsdTpmSpec *spec)
{
	g_clear_pointer(&spec->path, g_free);
	g_clear_pointer(&spec->host, g_free);
}

/* ---- fd I/O shared with tcsd-swtpm.c ---- */

static void
set_io_error(GError **error, int errsv, const char *what)
{
	gint code = TCSD_TPM_DEVICE_ERROR_FAILED;

	if (errsv == EPIPE || errsv == ECONNRESET || errsv == ENOTCONN || errsv == ENODEV ||
	    errsv == ENXIO || errsv == EIO)
		code = TCSD_TPM_DEVICE_ERROR_DISCONNECTED;
	g_set_error(error, TCSD_TPM_DEVICE_ERROR, code, "%s failed: %s", what, g_strerror(errsv));
}

gboolean
tcsd_tpm_fd_wait(int fd, short events, gint64 deadline, GError **error)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		gint64 now = g_get_monotonic_time();
		int n;

		if (now >= deadline) {
			g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR,
					    TCSD_TPM_DEVICE_ERROR_TIMEOUT, "timed out");
			return FALSE;
		}
		n = poll(&pfd, 1, (int)MIN((deadline - now + 999) / 1000, G_MAXINT));
		if (n < 0 && errno != EINTR) {
			set_io_error(error, errno, "poll");
			return FALSE;
		}
		if (n > 0 && (pfd.revents & POLLNVAL)) {
			g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR,
					    TCSD_TPM_DEVICE_ERROR_FAILED,
					    "invalid file descriptor");
			return FALSE;
		}
		/* POLLHUP/POLLERR: the read or write that follows reports what happened */
		if (n > 0)
			return TRUE;
	}
}

gboolean
tcsd_tpm_fd_write_all(int fd, gboolean is_socket, const guint8 *buf, gsize len,
		      gint64 deadline, GError **error)
{
	gsize done = 0;

	while (done < len) {
		ssize_t n;

		if (!tcsd_tpm_fd_wait(fd, POLLOUT, deadline, error))
			return FALSE;
		/* MSG_NOSIGNAL: a vanished simulator must be an error, not SIGPIPE */
		if (is_socket)
			n = send(fd, buf + done, len - done, MSG_NOSIGNAL);
		else
			n = write(fd, buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			set_io_error(error, errno, "write");
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

gboolean
tcsd_tpm_fd_read_exact(int fd, guint8 *buf, gsize len, gint64 deadline, GError **error)
{
	gsize done = 0;

	while (done < len) {
		ssize_t n;

		if (!tcsd_tpm_fd_wait(fd, POLLIN, deadline, error))
			return FALSE;
		n = read(fd, buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			set_io_error(error, errno, "read");
			return FALSE;
		}
		if (n == 0) {
			g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR,
					    TCSD_TPM_DEVICE_ERROR_DISCONNECTED,
					    "connection closed by the peer");
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

void
tcsd_tpm_endpoint_clear(TcsdTpmEndpoint *ep)
{
	g_clear_pointer(&ep->path, g_free);
	g_clear_pointer(&ep->host, g_free);
	ep->port = 0;
}

void
tcsd_tpm_endpoint_copy(TcsdTpmEndpoint *dst, const TcsdTpmEndpoint *src)
{
	tcsd_tpm_endpoint_clear(dst);
	dst->path = g_strdup(src->path);
	dst->host = g_strdup(src->host);
	dst->port = src->port;
}

char *
tcsd_tpm_endpoint_to_string(const TcsdTpmEndpoint *ep)
{
	if (ep->path)
		return g_strdup_printf("unix:%s", ep->path);
	if (strchr(ep->host, ':'))
		return g_strdup_printf("tcp:[%s]:%u", ep->host, ep->port);
	return g_strdup_printf("tcp:%s:%u", ep->host, ep->port);
}

/* takes fd; returns it connected, or -1 */
static int
connect_fd(int fd, const struct sockaddr *sa, socklen_t sa_len, gint64 deadline, GError **error)
{
	int err = 0;
	socklen_t err_len = sizeof(err);

	if (fd < 0) {
		set_io_error(error, errno, "socket");
		return -1;
	}
	if (connect(fd, sa, sa_len) == 0)
		return fd;
	if (errno == EINPROGRESS) {
		if (!tcsd_tpm_fd_wait(fd, POLLOUT, deadline, error)) {
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0)
			err = errno;
		if (err == 0)
			return fd;
	} else {
		err = errno;
	}
	close(fd);
	if (err == ECONNREFUSED || err == ENOENT) {
		g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_NOT_FOUND,
				    "nothing is listening");
		return -1;
	}
	set_io_error(error, err, "connect");
	return -1;
}

static int
connect_unix(const char *path, gint64 deadline, GError **error)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
				    "socket path too long");
		return -1;
	}
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	return connect_fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
			  (struct sockaddr *)&sa, sizeof(sa), deadline, error);
}

static int
connect_tcp(const char *host, guint16 port, gint64 deadline, GError **error)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	g_autoptr(GError) last_error = NULL;
	char service[8];
	int rc;

	g_snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_NOT_FOUND,
			    "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int one = 1;
		int fd;

		g_clear_error(&last_error);
		fd = connect_fd(socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
				       0),
				ai->ai_addr, ai->ai_addrlen, deadline, &last_error);
		if (fd < 0)
			continue;
		/* one small request, one small reply: do not let Nagle hold them */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		freeaddrinfo(res);
		return fd;
	}
	freeaddrinfo(res);
	if (last_error == NULL)
		g_set_error_literal(&last_error, TCSD_TPM_DEVICE_ERROR,
				    TCSD_TPM_DEVICE_ERROR_NOT_FOUND, "no address");
	g_propagate_error(error, g_steal_pointer(&last_error));
	return -1;
}

int
tcsd_tpm_endpoint_connect(const TcsdTpmEndpoint *ep, gint64 deadline, GError **error)
{
	int fd;

	if (ep->path)
		fd = connect_unix(ep->path, deadline, error);
	else
		fd = connect_tcp(ep->host, ep->port, deadline, error);
	if (fd < 0) {
		g_autofree char *name = tcsd_tpm_endpoint_to_string(ep);

		g_prefix_error(error, "cannot connect to %s: ", name);
	}
	return fd;
}

/* ---- the device ---- */

static gboolean
device_is_socket(TcsdTpmDevice *d)
{
	return d->backend != TCSD_TPM_BACKEND_CHAR;
}

static void
device_close(TcsdTpmDevice *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static gboolean
device_connect(TcsdTpmDevice *d, GError **error)
{
	if (d->backend == TCSD_TPM_BACKEND_CHAR) {
		d->fd = open(d->path, O_RDWR | O_CLOEXEC);
		if (d->fd < 0) {
			int errsv = errno;

			g_set_error(error, TCSD_TPM_DEVICE_ERROR,
				    errsv == ENOENT || errsv == ENODEV || errsv == ENXIO
					    ? TCSD_TPM_DEVICE_ERROR_NOT_FOUND
					    : TCSD_TPM_DEVICE_ERROR_FAILED,
				    "cannot open %s: %s%s", d->path, g_strerror(errsv),
				    errsv == EBUSY ? " (is another TSS daemon using it?)" : "");
			return FALSE;
		}
	} else {
		d->fd = tcsd_tpm_endpoint_connect(
			&d->data, tcsd_tpm_deadline(TCSD_TPM_CONNECT_TIMEOUT_MS), error);
		if (d->fd < 0)
			return FALSE;
	}
	d->fresh = TRUE;
	return TRUE;
}

/* A simulator never talks unprompted: readable between commands = closed or garbage. */
static gboolean
socket_is_idle(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, 0) == 0;
}

static gboolean
parse_response_header(const guint8 *buf, gsize rsp_cap, gsize *size, GError **error)
{
	TcsRbuf r;
	guint16 tag;
	guint32 len;

	tcs_rbuf_init(&r, buf, TCSD_TPM_HEADER_SIZE);
	tag = tcs_rbuf_u16(&r);
	len = tcs_rbuf_u32(&r);
	if (tag != TPM_TAG_RSP_COMMAND && tag != TPM_TAG_RSP_AUTH1_COMMAND &&
	    tag != TPM_TAG_RSP_AUTH2_COMMAND) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_BAD_RESPONSE,
			    "response has tag 0x%04x, not a TPM 1.2 response tag", tag);
		return FALSE;
	}
	if (len < TCSD_TPM_HEADER_SIZE || len > TCSD_TPM_MAX_RESPONSE) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_BAD_RESPONSE,
			    "response size field %u is out of range", len);
		return FALSE;
	}
	if (len > rsp_cap) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
			    "%u byte response does not fit a %" G_GSIZE_FORMAT " byte buffer", len,
			    rsp_cap);
		return FALSE;
	}
	*size = len;
	return TRUE;
}

/* *got counts response bytes received, so callers know whether a retry could double a command */
static gboolean
device_read_frame(TcsdTpmDevice *d, guint8 *rsp, gsize rsp_cap, gint64 deadline, gsize *rsp_len,
		  gsize *got, GError **error)
{
	gsize have = 0;
	gsize want = TCSD_TPM_HEADER_SIZE;
	/* the kernel hands over a whole response per read(); ask for all of it */
	gboolean greedy = !device_is_socket(d);

	while (have < want) {
		ssize_t n;

		if (!tcsd_tpm_fd_wait(d->fd, POLLIN, deadline, error))
			return FALSE;
		n = read(d->fd, rsp + have, greedy ? rsp_cap - have : want - have);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			set_io_error(error, errno, "read");
			return FALSE;
		}
		if (n == 0) {
			g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR,
					    TCSD_TPM_DEVICE_ERROR_DISCONNECTED,
					    have ? "connection closed mid-response"
						 : "connection closed before a response");
			return FALSE;
		}
		have += (gsize)n;
		*got = have;
		if (want == TCSD_TPM_HEADER_SIZE && have >= TCSD_TPM_HEADER_SIZE &&
		    !parse_response_header(rsp, rsp_cap, &want, error))
			return FALSE;
	}
	if (have != want) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_BAD_RESPONSE,
			    "response is %" G_GSIZE_FORMAT " bytes, its header says "
			    "%" G_GSIZE_FORMAT,
			    have, want);
		return FALSE;
	}
	*rsp_len = want;
	return TRUE;
}

static gboolean
device_exchange_once(TcsdTpmDevice *d, const guint8 *cmd, gsize cmd_len, guint8 *rsp,
		     gsize rsp_cap, gsize *rsp_len, gsize *got, GError **error)
{
	gint64 deadline = tcsd_tpm_deadline(d->timeout_ms);

	*got = 0;
	d->fresh = FALSE;
	/* a kernel device runs the command inside write(), under the driver's own TPM timeouts */
	if (!tcsd_tpm_fd_write_all(d->fd, device_is_socket(d), cmd, cmd_len, deadline, error))
		return FALSE;
	return device_read_frame(d, rsp, rsp_cap, deadline, rsp_len, got, error);
}

static gboolean
device_exchange(TcsdTpmDevice *d, const guint8 *cmd, gsize cmd_len, guint8 *rsp, gsize rsp_cap,
		gsize *rsp_len, GError **error)
{
	g_autoptr(GError) local_error = NULL;
	gboolean was_fresh;
	gsize got = 0;

	if (d->fd >= 0 && device_is_socket(d) && !socket_is_idle(d->fd)) {
		g_debug("connection to %s was dropped, reconnecting", d->description);
		device_close(d);
	}
	if (d->fd < 0 && !device_connect(d, error))
		return FALSE;
	was_fresh = d->fresh;
	if (device_exchange_once(d, cmd, cmd_len, rsp, rsp_cap, rsp_len, &got, &local_error))
		return TRUE;
	/* after any failure the stream position is unknown: start over next time */
	device_close(d);
	/*
	 * A connection that died before answering anything is retried once on
	 * a new connection (swtpm restarted, idle connection reaped). Never
	 * after part of a response: the TPM has run that command.
	 */
	if (device_is_socket(d) && !was_fresh && got == 0 &&
	    g_error_matches(local_error, TCSD_TPM_DEVICE_ERROR,
			    TCSD_TPM_DEVICE_ERROR_DISCONNECTED)) {
		g_debug("%s: %s, reconnecting once", d->description, local_error->message);
		g_clear_error(&local_error);
		if (!device_connect(d, error))
			return FALSE;
		if (device_exchange_once(d, cmd, cmd_len, rsp, rsp_cap, rsp_len, &got,
					 &local_error))
			return TRUE;
		device_close(d);
	}
	g_propagate_error(error, g_steal_pointer(&local_error));
	return FALSE;
}

gboolean
tcsd_tpm_device_transmit(TcsdTpmDevice *d, const guint8 *cmd, gsize cmd_len, guint8 *rsp,
			 gsize rsp_cap, gsize *rsp_len, GError **error)
{
	TcsRbuf r;
	guint32 size;
	guint32 ordinal;

	tcs_rbuf_init(&r, cmd, cmd_len);
	tcs_rbuf_skip(&r, 2);
	size = tcs_rbuf_u32(&r);
	ordinal = tcs_rbuf_u32(&r);
	if (!tcs_rbuf_ok(&r) || size != cmd_len || cmd_len > TCSD_TPM_MAX_COMMAND) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_BAD_COMMAND,
			    "malformed TPM command (%" G_GSIZE_FORMAT " bytes, size field %u)",
			    cmd_len, size);
		return FALSE;
	}
	if (rsp_cap < TCSD_TPM_HEADER_SIZE) {
		g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
				    "response buffer too small");
		return FALSE;
	}
	for (guint attempt = 0;; attempt++) {
		guint32 rc;

		if (!device_exchange(d, cmd, cmd_len, rsp, rsp_cap, rsp_len, error)) {
			g_prefix_error(error, "TPM command 0x%x on %s: ", ordinal, d->description);
			return FALSE;
		}
		tcs_rbuf_init(&r, rsp, *rsp_len);
		tcs_rbuf_skip(&r, 6);
		rc = tcs_rbuf_u32(&r);
		if (rc != TPM_RETRY || attempt == TCSD_TPM_RETRIES)
			return TRUE;
		g_debug("TPM asked to retry command 0x%x", ordinal);
		g_usleep((attempt + 1) * TCSD_TPM_RETRY_DELAY_MS * 1000);
	}
}

/* ---- power-on ---- */

static void
cmd_begin(TcsWbuf *w, guint32 ordinal)
{
	tcs_wbuf_init(w, TCSD_TPM_MAX_COMMAND);
	tcs_wbuf_u16(w, TPM_TAG_RQU_COMMAND);
	tcs_wbuf_u32(w, 0); /* size, patched by cmd_run */
	tcs_wbuf_u32(w, ordinal);
}

/* Run a command built with cmd_begin; *rc = the TPM's return code. */
static gboolean
cmd_run(TcsdTpmDevice *d, TcsWbuf *w, guint8 *rsp, gsize *rsp_len, guint32 *rc, GError **error)
{
	TcsRbuf r;

	tcs_wbuf_put_u32_at(w, 2, (guint32)w->len);
	if (!tcs_wbuf_ok(w)) {
		g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
				    "cannot build TPM command");
		return FALSE;
	}
	if (!tcsd_tpm_device_transmit(d, w->data, w->len, rsp, TCSD_TPM_MAX_RESPONSE, rsp_len,
				      error))
		return FALSE;
	tcs_rbuf_init(&r, rsp, *rsp_len);
	tcs_rbuf_skip(&r, 6);
	*rc = tcs_rbuf_u32(&r);
	return TRUE;
}

static gboolean
tpm_simple(TcsdTpmDevice *d, guint32 ordinal, gint param_u16, gint param_u8, guint32 *rc,
	   GError **error)
{
	g_auto(TcsWbuf) w = {0};
	guint8 rsp[TCSD_TPM_MAX_RESPONSE];
	gsize rsp_len = 0;

	cmd_begin(&w, ordinal);
	if (param_u16 >= 0)
		tcs_wbuf_u16(&w, (guint16)param_u16);
	if (param_u8 >= 0)
		tcs_wbuf_u8(&w, (guint8)param_u8);
	return cmd_run(d, &w, rsp, &rsp_len, rc, error);
}

static gboolean
tpm_physical_presence(TcsdTpmDevice *d, guint16 flags, guint32 *rc, GError **error)
{
	return tpm_simple(d, TSC_ORD_PhysicalPresence, flags, -1, rc, error);
}

static gboolean
set_tpm_error(GError **error, const char *what, guint32 rc)
{
	g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_TPM,
		    "%s failed with TPM error 0x%x%s", what, rc,
		    rc == 0x1e ? " (bad tag: is this a TPM 2.0?)" : "");
	return FALSE;
}

/* The first n BOOLs of a TPM_PERMANENT_FLAGS / TPM_STCLEAR_FLAGS, after the structure tag. */
static gboolean
tpm_read_flags(TcsdTpmDevice *d, guint32 subcap, guint8 *flags, gsize n, GError **error)
{
	g_auto(TcsWbuf) w = {0};
	guint8 rsp[TCSD_TPM_MAX_RESPONSE];
	gsize rsp_len = 0;
	guint32 rc = 0;
	TcsRbuf r;
	TcsRbuf sub;

	cmd_begin(&w, TPM_ORD_GetCapability);
	tcs_wbuf_u32(&w, TPM_CAP_FLAG);
	tcs_wbuf_u32(&w, 4);
	tcs_wbuf_u32(&w, subcap);
	if (!cmd_run(d, &w, rsp, &rsp_len, &rc, error))
		return FALSE;
	if (rc != TPM_SUCCESS)
		return set_tpm_error(error, "TPM_GetCapability(TPM_CAP_FLAG)", rc);
	tcs_rbuf_init(&r, rsp, rsp_len);
	tcs_rbuf_skip(&r, TCSD_TPM_HEADER_SIZE);
	tcs_rbuf_sub(&r, tcs_rbuf_u32(&r), &sub);
	tcs_rbuf_skip(&sub, 2);
	tcs_rbuf_copy(&sub, flags, n);
	if (!tcs_rbuf_ok(&sub)) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_BAD_RESPONSE,
			    "short TPM_CAP_FLAG 0x%x response", subcap);
		return FALSE;
	}
	return TRUE;
}

typedef struct {
	gboolean disabled;    /* TPM_PERMANENT_FLAGS.disable */
	gboolean deactivated; /* TPM_STCLEAR_FLAGS.deactivated: what counts until the next boot */
} TpmState;

static gboolean
tpm_read_state(TcsdTpmDevice *d, TpmState *st, GError **error)
{
	guint8 perm[1] = {0};
	guint8 stclear[1] = {0};

	if (!tpm_read_flags(d, TPM_CAP_FLAG_PERMANENT, perm, sizeof(perm), error) ||
	    !tpm_read_flags(d, TPM_CAP_FLAG_VOLATILE, stclear, sizeof(stclear), error))
		return FALSE;
	st->disabled = perm[0] != 0;
	st->deactivated = stclear[0] != 0;
	return TRUE;
}

static gboolean
device_reset(TcsdTpmDevice *d, GError **error)
{
	g_auto(TcsWbuf) flags = {0};
	guint32 result = 0;

	if (d->ctrl.path == NULL && d->ctrl.host == NULL) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
			    "%s needs a reset but has no control channel; power-cycle it",
			    d->description);
		return FALSE;
	}
	tcs_wbuf_init(&flags, 4);
	tcs_wbuf_u32(&flags, 0); /* keep volatile state files */
	if (!tcsd_swtpm_ctrl_command(&d->ctrl, TCSD_SWTPM_CMD_INIT, flags.data, flags.len,
				     TCSD_TPM_CONNECT_TIMEOUT_MS, &result, error)) {
		g_prefix_error(error, "cannot reset %s: ", d->description);
		return FALSE;
	}
	if (result != TPM_SUCCESS)
		return set_tpm_error(error, "TPM_Init", result);
	return TRUE;
}

/* One BIOS pass; *need_reset when the TPM can only become active after TPM_Init. */
static gboolean
tpm_boot(TcsdTpmDevice *d, gboolean *need_reset, GError **error)
{
	TpmState st = {0};
	guint32 rc = 0;

	*need_reset = FALSE;
	if (!tpm_simple(d, TPM_ORD_Startup, TPM_ST_CLEAR, -1, &rc, error))
		return FALSE;
	if (rc == TPM_INVALID_POSTINIT) {
		/* booted before (an earlier tcsd, a BIOS script): physical presence is locked */
		if (!tpm_read_state(d, &st, error))
			return FALSE;
		g_debug("%s was already started (%s, %s)", d->description,
			st.disabled ? "disabled" : "enabled",
			st.deactivated ? "deactivated" : "active");
		*need_reset = st.disabled || st.deactivated;
		return TRUE;
	}
	if (rc != TPM_SUCCESS)
		return set_tpm_error(error, "TPM_Startup(ST_CLEAR)", rc);

	/* CMD_ENABLE fails once the TPM's lifetime lock is set; PRESENT then tells */
	if (!tpm_physical_presence(d, TPM_PHYSICAL_PRESENCE_CMD_ENABLE, &rc, error))
		return FALSE;
	if (rc != TPM_SUCCESS)
		g_debug("TSC_PhysicalPresence(CMD_ENABLE) returned 0x%x", rc);
	if (!tpm_physical_presence(d, TPM_PHYSICAL_PRESENCE_PRESENT, &rc, error))
		return FALSE;
	if (rc != TPM_SUCCESS) {
		if (!tpm_read_state(d, &st, error))
			return FALSE;
		if (st.disabled || st.deactivated)
			return set_tpm_error(error, "asserting physical presence", rc);
		return TRUE;
	}
	if (!tpm_simple(d, TPM_ORD_PhysicalEnable, -1, -1, &rc, error))
		return FALSE;
	if (rc != TPM_SUCCESS)
		return set_tpm_error(error, "TPM_PhysicalEnable", rc);
	if (!tpm_simple(d, TPM_ORD_PhysicalSetDeactivated, -1, FALSE, &rc, error))
		return FALSE;
	if (rc != TPM_SUCCESS)
		return set_tpm_error(error, "TPM_PhysicalSetDeactivated", rc);
	if (!tpm_read_state(d, &st, error))
		return FALSE;

	/* firmware gives up physical presence and locks it before the OS runs */
	if (!tpm_physical_presence(d, TPM_PHYSICAL_PRESENCE_NOTPRESENT | TPM_PHYSICAL_PRESENCE_LOCK,
				   &rc, error))
		return FALSE;
	if (rc != TPM_SUCCESS)
		g_warning("cannot lock physical presence on %s: TPM error 0x%x", d->description,
			  rc);
	/* PhysicalSetDeactivated changes the permanent flag; the running state follows at boot */
	*need_reset = st.deactivated;
	return TRUE;
}

gboolean
tcsd_tpm_device_power_on(TcsdTpmDevice *d, GError **error)
{
	if (d->backend == TCSD_TPM_BACKEND_CHAR) {
		g_debug("%s is a kernel device, the firmware has started it", d->description);
		return TRUE;
	}
	for (guint boot = 0; boot < TCSD_TPM_MAX_BOOTS; boot++) {
		gboolean need_reset = FALSE;

		if (boot > 0) {
			g_message("resetting %s to enable and activate it", d->description);
			if (!device_reset(d, error))
				return FALSE;
		}
		if (!tpm_boot(d, &need_reset, error))
			return FALSE;
		if (!need_reset)
			return TRUE;
	}
	g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_TPM,
		    "%s stays disabled or deactivated after %u resets", d->description,
		    TCSD_TPM_MAX_BOOTS - 1);
	return FALSE;
}

/* ---- open / free ---- */

TcsdTpmDevice *
tcsd_tpm_device_open(const char *spec_text, const char *state_dir, GError **error)
{
	g_auto(TcsdTpmSpec) spec = {0};
	g_autoptr(TcsdTpmDevice) d = NULL;

	if (!tcsd_tpm_spec_parse(spec_text, &spec, error))
		return NULL;
	if (spec.backend == TCSD_TPM_BACKEND_AUTO) {
		if (tcsd_tpm2_binding_tpm0_is_tpm12()) {
			spec.backend = TCSD_TPM_BACKEND_CHAR;
			spec.path = g_strdup(TCSD_TPM_DEFAULT_CHAR_DEVICE);
		} else {
			g_message("no TPM 1.2 at %s, using the embedded swtpm",
				  TCSD_TPM_DEFAULT_CHAR_DEVICE);
			spec.backend = TCSD_TPM_BACKEND_SWTPM;
		}
	}

	d = g_new0(TcsdTpmDevice, 1);
	d->fd = -1;
	d->backend = spec.backend;
	d->timeout_ms = TCSD_TPM_DEFAULT_TIMEOUT_MS;
	switch (spec.backend) {
	case TCSD_TPM_BACKEND_CHAR:
		d->path = g_steal_pointer(&spec.path);
		d->description = g_strdup(d->path);
		break;
	case TCSD_TPM_BACKEND_TCP:
		d->data.host = g_strdup(spec.host);
		d->data.port = spec.port;
		if (spec.ctrl_port != 0) {
			d->ctrl.host = g_strdup(spec.host);
			d->ctrl.port = spec.ctrl_port;
		}
		d->description = tcsd_tpm_endpoint_to_string(&d->data);
		break;
	case TCSD_TPM_BACKEND_SWTPM:
		if (state_dir == NULL) {
			g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR,
					    TCSD_TPM_DEVICE_ERROR_FAILED,
					    "the embedded swtpm needs a state directory");
			return NULL;
		}
		/* bound to the host's TPM 2.0 when configured (docs/tpm2-binding.md) */
		d->swtpm = tcsd_tpm2_binding_start_swtpm(state_dir, error);
		if (d->swtpm == NULL)
			return NULL;
		tcsd_tpm_endpoint_copy(&d->data, tcsd_swtpm_get_data_endpoint(d->swtpm));
		tcsd_tpm_endpoint_copy(&d->ctrl, tcsd_swtpm_get_ctrl_endpoint(d->swtpm));
		d->description = g_strdup_printf("swtpm:%s", tcsd_swtpm_get_tpm_dir(d->swtpm));
		break;
	case TCSD_TPM_BACKEND_AUTO:
		g_assert_not_reached();
	}
	if (!device_connect(d, error))
		return NULL;
	g_debug("opened TPM %s", d->description);
	return g_steal_pointer(&d);
}

void
tcsd_tpm_device_set_timeout(TcsdTpmDevice *d, guint timeout_ms)
{
	d->timeout_ms = MAX(timeout_ms, 1);
}

TcsdTpmBackend
tcsd_tpm_device_get_backend(TcsdTpmDevice *d)
{
	return d->backend;
}

const char *
tcsd_tpm_device_get_description(TcsdTpmDevice *d)
{
	return d->description;
}

GPid
tcsd_tpm_device_get_swtpm_pid(TcsdTpmDevice *d)
{
	return d->swtpm ? tcsd_swtpm_get_pid(d->swtpm) : 0;
}

void
tcsd_tpm_device_free(TcsdTpmDevice *d)
{
	if (d == NULL)
		return;
	device_close(d);
	g_clear_pointer(&d->swtpm, tcsd_swtpm_free);
	tcsd_tpm_endpoint_clear(&d->data);
	tcsd_tpm_endpoint_clear(&d->ctrl);
	g_free(d->path);
	g_free(d->description);
	g_free(d);
}

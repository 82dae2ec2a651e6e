/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections are served by one event loop: no thread per client and no
 * connection cap of 10. A complete request goes to the single TPM worker;
 * the strict request/reply protocol means a connection has at most one
 * request queued, so the FIFO queue is also fair round-robin between clients.
 */
#include "config.h"

#include "tcsd-server.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "tcs-packet.h"
#include "tcs-types.h"
#include "tcsd-peer.h"

typedef struct _TcsdConn TcsdConn;

struct _TcsdServer {
	TcsdDaemon *d;
	GArray *listen_fds;   /* int */
	GPtrArray *listen_sources;
	GHashTable *conns;    /* id -> TcsdConn */
	GHashTable *peer_conns; /* quota key -> number of connections (GUINT_TO_POINTER) */
	guint64 next_id;
	GThread *worker;
	GAsyncQueue *jobs;
	gboolean activated;
	gboolean accept_paused;
};

struct _TcsdConn {
	TcsdServer *server;
	guint64 id;
	int fd;
	TcsdPeer peer;
	GSource *source;      /* input watch and request deadline, one per connection */
	gpointer tag;
	GSource *out_source;
	guint8 hdr[TCSD_HEADER_SIZE];
	gsize have;
	guint8 *body; /* whole packet once the header is in */
	gsize want;
	guint8 *out;
	gsize out_len, out_off;
	gboolean busy;
	gboolean counted;      /* in peer_conns */
	gboolean holds;        /* has a TCS context (as of its last reply) */
};

typedef struct {
	guint64 conn_id;
	TcsdPeer peer;
	guint8 *req;
	gsize len;
	gboolean disconnect;
	gboolean quit;
	gboolean holds; /* filled by the worker: the connection has a context after this request */
	/* a task of the management plane: work() on the worker, done() back on the main thread */
	TcsdWorkFunc work;
	TcsdWorkFunc done;
	gpointer data;
	TcsdDaemon *server_d;
	/* filled by the worker */
	TcsdServer *server;
	guint8 *reply;
	gsize reply_len;
} TcsdJob;

static void conn_close(TcsdConn *c);

static void
job_free(TcsdJob *j)
{
	if (j->req)
		explicit_bzero(j->req, j->len);
	g_free(j->req);
	if (j->reply)
		explicit_bzero(j->reply, j->reply_len);
	g_free(j->reply);
	g_free(j);
}

/* ---- the worker ---- */

static gboolean deliver_reply(gpointer data);

static gboolean
deliver_work_done(gpointer data)
{
	TcsdJob *j = data;

	if (j->done)
		j->done(j->server_d, j->data);
	job_free(j);
	return G_SOURCE_REMOVE;
}

static gpointer
worker_main(gpointer data)
{
	TcsdServer *s = data;

	for (;;) {
		TcsdJob *j = g_async_queue_pop(s->jobs);

		if (j->quit) {
			job_free(j);
			break;
		}
		if (j->work) {
			j->work(s->d, j->data);
			g_main_context_invoke_full(s->d->main_context, G_PRIORITY_DEFAULT,
						   deliver_work_done, j, NULL);
			continue;
		}
		if (j->disconnect) {
			tcsd_dispatch_disconnect(s->d, j->conn_id);
			job_free(j);
			continue;
		}
		j->reply = tcsd_dispatch_request(s->d, &j->peer, j->req, j->len, &j->reply_len);
		j->holds = g_hash_table_contains(s->d->conn_contexts, &j->conn_id);
		j->server = s;
		g_main_context_invoke_full(s->d->main_context, G_PRIORITY_DEFAULT, deliver_reply, j,
					   NULL);
	}
	return NULL;
}

/* ---- connections (main thread) ---- */

static void
peer_conns_add(TcsdServer *s, const char *key, gint delta)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(s->peer_conns, key)) + delta;

	if (n)
		g_hash_table_replace(s->peer_conns, g_strdup(key), GUINT_TO_POINTER(n));
	else
		g_hash_table_remove(s->peer_conns, key);
}

/* A connection that holds nothing is closed after idle_timeout_ms without a request. */
static void
conn_arm_idle(TcsdConn *c)
{
	guint ms = c->server->d->config->idle_timeout_ms;

	g_source_set_ready_time(c->source, ms && !c->holds ? g_get_monotonic_time() +
								     (gint64)ms * 1000
							   : -1);
}

static void
conn_free(TcsdConn *c)
{
	if (c->counted)
		peer_conns_add(c->server, c->peer.quota_key, -1);
	if (c->source) {
		g_source_destroy(c->source);
		g_source_unref(c->source);
	}
	if (c->out_source) {
		g_source_destroy(c->out_source);
		g_source_unref(c->out_source);
	}
	if (c->fd >= 0)
		close(c->fd);
	g_free(c->body);
	if (c->out)
		explicit_bzero(c->out, c->out_len);
	g_free(c->out);
	g_free(c);
}

static void
conn_close(TcsdConn *c)
{
	TcsdServer *s = c->server;
	TcsdJob *j = g_new0(TcsdJob, 1);

	/* the worker releases the contexts; queued after any request of this connection */
	j->conn_id = c->id;
	j->disconnect = TRUE;
	g_async_queue_push(s->jobs, j);
	g_debug("connection %s closed", c->peer.addr);
	g_hash_table_remove(s->conns, &c->id);
}

static void
on_deadline(TcsdConn *c)
{
	if (c->have == 0)
		g_message("%s: idle for %u ms holding no context, closing", c->peer.addr,
			  c->server->d->config->idle_timeout_ms);
	else
		g_message("%s: request not received within %u ms, closing", c->peer.addr,
			  c->server->d->config->request_timeout_ms);
	conn_close(c);
}

static void
send_error_and_close(TcsdConn *c, guint32 result)
{
	guint8 reply[TCSD_HEADER_SIZE];

	tcs_packet_error_reply(result, reply);
	(void)!send(c->fd, reply, sizeof(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
	conn_close(c);
}

static void
submit(TcsdConn *c)
{
	TcsdJob *j = g_new0(TcsdJob, 1);

	/* strict request/reply: read nothing more until the reply is out */
	g_source_set_ready_time(c->source, -1);
	g_source_modify_unix_fd(c->source, c->tag, 0);
	j->conn_id = c->id;
	j->peer = c->peer;
	j->req = g_steal_pointer(&c->body);
	j->len = c->want;
	c->have = 0;
	c->want = 0;
	c->busy = TRUE;
	g_async_queue_push(c->server->jobs, j);
}

/* Read what is there of the current request. FALSE when the connection is gone. */
static gboolean
on_readable(TcsdConn *c)
{
	TcsdConfig *conf = c->server->d->config;
	ssize_t n;

	if (!c->body) {
		n = recv(c->fd, c->hdr + c->have, sizeof(c->hdr) - c->have, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return TRUE;
		if (n <= 0) {
			conn_close(c);
			return FALSE;
		}
		/* a request that has begun must be complete within the deadline */
		if (c->have == 0)
			g_source_set_ready_time(c->source, g_get_monotonic_time() +
								   (gint64)conf->request_timeout_ms * 1000);
		c->have += (gsize)n;
		if (c->have < sizeof(c->hdr))
			return TRUE;
		{
			TcsPacketHeader h;
			tcs_packet_header_read(c->hdr, &h);
			if (tcs_packet_header_check(&h, conf->max_request_size) < 0) {
				g_message("%s: bad request size %u, closing", c->peer.addr,
					  h.packet_size);
				send_error_and_close(c, TCS_ERR(TSS_E_INTERNAL_ERROR));
				return FALSE;
			}
			/* the size is bounded, so allocating it before the bytes arrive is safe */
			c->want = h.packet_size;
			c->body = g_malloc(c->want);
			memcpy(c->body, c->hdr, sizeof(c->hdr));
		}
	}
	if (c->have < c->want) {
		n = recv(c->fd, c->body + c->have, c->want - c->have, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return TRUE;
		if (n <= 0) {
			conn_close(c);
			return FALSE;
		}
		c->have += (gsize)n;
	}
	if (c->have == c->want)
		submit(c);
	return TRUE;
}

typedef struct {
	GSource source;
	TcsdConn *conn;
} ConnSource;

static gboolean
conn_source_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
	TcsdConn *c = ((ConnSource *)source)->conn;
	gint64 deadline = g_source_get_ready_time(source);

	if (deadline >= 0 && g_source_get_time(source) >= deadline) {
		on_deadline(c);
		return G_SOURCE_REMOVE;
	}
	if (g_source_query_unix_fd(source, c->tag) & (G_IO_IN | G_IO_HUP | G_IO_ERR))
		return on_readable(c) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs conn_source_funcs = {
	.dispatch = conn_source_dispatch,
};

/* One source per connection for its whole life: no source churn per request. */
static void
conn_watch_input(TcsdConn *c)
{
	c->source = g_source_new(&conn_source_funcs, sizeof(ConnSource));
	((ConnSource *)c->source)->conn = c;
	c->tag = g_source_add_unix_fd(c->source, c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_attach(c->source, c->server->d->main_context);
}

static gboolean flush_output(TcsdConn *c);

static gboolean
on_writable(gint fd, GIOCondition cond, gpointer data)
{
	TcsdConn *c = data;

	if (flush_output(c))
		return G_SOURCE_CONTINUE;
	return G_SOURCE_REMOVE;
}

/* Returns TRUE while output is pending (the writable watch stays). */
static gboolean
flush_output(TcsdConn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->out_source) {
				c->out_source = g_unix_fd_source_new(c->fd, G_IO_OUT | G_IO_ERR);
				g_source_set_callback(c->out_source, G_SOURCE_FUNC(on_writable), c,
						      NULL);
				g_source_attach(c->out_source, c->server->d->main_context);
			}
			return TRUE;
		}
		if (n <= 0) {
			conn_close(c);
			return FALSE;
		}
		c->out_off += (gsize)n;
	}
	explicit_bzero(c->out, c->out_len);
	g_clear_pointer(&c->out, g_free);
	c->out_len = c->out_off = 0;
	if (c->out_source) {
		g_source_destroy(c->out_source);
		g_clear_pointer(&c->out_source, g_source_unref);
	}
	c->busy = FALSE;
	g_source_modify_unix_fd(c->source, c->tag, G_IO_IN | G_IO_HUP | G_IO_ERR);
	conn_arm_idle(c);
	return FALSE;
}

static gboolean
deliver_reply(gpointer data)
{
	TcsdJob *j = data;
	TcsdConn *c = j->server->conns ? g_hash_table_lookup(j->server->conns, &j->conn_id) : NULL;

	if (c) {
		c->holds = j->holds;
		c->out = g_steal_pointer(&j->reply);
		c->out_len = j->reply_len;
		c->out_off = 0;
		flush_output(c);
	}
	job_free(j);
	return G_SOURCE_REMOVE;
}

static gboolean on_accept(gint lfd, GIOCondition cond, gpointer data);

static gboolean
resume_accept(gpointer data)
{
	TcsdServer *s = data;

	s->accept_paused = FALSE;
	return G_SOURCE_REMOVE;
}

/* Take one queued connection; FALSE when there is none left (or no descriptor for it). */
static gboolean
accept_one(TcsdServer *s, int lfd)
{
	TcsdConn *c;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			/* out of descriptors: stop spinning on the queue for a moment */
			g_warning("no file descriptor for a new connection (%u open): %s",
				  g_hash_table_size(s->conns), g_strerror(errno));
			s->accept_paused = TRUE;
			g_timeout_add(200, resume_accept, s);
		}
		return FALSE;
	}
	if (g_hash_table_size(s->conns) >= s->d->config->max_connections) {
		g_warning("%u connections open, refusing another", g_hash_table_size(s->conns));
		close(fd);
		return TRUE;
	}
	c = g_new0(TcsdConn, 1);
	c->server = s;
	c->fd = fd;
	c->id = ++s->next_id;
	c->peer.id = c->id;
	tcsd_peer_identify(fd, &c->peer);
	if (!c->peer.local && !tcsd_config_has_remote_ops(s->d->config)) {
		g_message("refused connection from remote peer %s (remote_ops is empty)",
			  c->peer.addr);
		close(fd);
		g_free(c);
		return TRUE;
	}
	/* one peer never takes all connections; owner_users are trusted with the TPM anyway */
	if (!tcsd_peer_is_owner(&c->peer, s->d->config)) {
		guint have = GPOINTER_TO_UINT(g_hash_table_lookup(s->peer_conns,
								   c->peer.quota_key));
		guint max = tcsd_config_connections_per_peer(s->d->config);

		if (have >= max) {
			g_warning("%s: %s has %u connections (max_connections_per_peer), "
				  "refusing another",
				  c->peer.addr, c->peer.quota_key, have);
			close(fd);
			g_free(c);
			return TRUE;
		}
		peer_conns_add(s, c->peer.quota_key, 1);
		c->counted = TRUE;
	}
	g_hash_table_insert(s->conns, &c->id, c);
	g_debug("connection from %s", c->peer.addr);
	conn_watch_input(c);
	conn_arm_idle(c);
	return TRUE;
}

static gboolean
on_accept(gint lfd, GIOCondition cond, gpointer data)
{
	TcsdServer *s = data;

	/* drain the queue: a burst of connects must not overflow the backlog */
	for (guint i = 0; i < 256 && !s->accept_paused && accept_one(s, lfd); i++)
		;
	return G_SOURCE_CONTINUE;
}

/* ---- listeners ---- */

static int
bind_one(int family, guint16 port, gboolean any, GError **error)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = any ? in6addr_any : in6addr_loopback;
		len = sizeof(*in6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0)
		goto fail;
	return fd;
fail:
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot listen on %s port %u: %s",
		    family == AF_INET ? "IPv4" : "IPv6", port, g_strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

TcsdServer *
tcsd_server_new(TcsdDaemon *d, GError **error)
{
	g_autoptr(GError) err4 = NULL, err6 = NULL;
	TcsdServer *s = g_new0(TcsdServer, 1);
	gboolean any = tcsd_config_has_remote_ops(d->config);
	int n;

	s->d = d;
	s->listen_fds = g_array_new(FALSE, FALSE, sizeof(int));
	s->listen_sources = g_ptr_array_new();
	s->conns = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					 (GDestroyNotify)conn_free);
	s->peer_conns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	s->jobs = g_async_queue_new();

	n = sd_listen_fds(1);
	if (n > 0) {
		for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			g_array_append_val(s->listen_fds, fd);
		}
		g_message("using %d socket(s) from systemd", n);
		s->activated = TRUE;
		return s;
	}
	if (!d->config->disable_ipv4) {
		int fd = bind_one(AF_INET, d->config->port, any, &err4);
		if (fd >= 0)
			g_array_append_val(s->listen_fds, fd);
	}
	if (!d->config->disable_ipv6) {
		int fd = bind_one(AF_INET6, d->config->port, any, &err6);
		if (fd >= 0)
			g_array_append_val(s->listen_fds, fd);
	}
	/* like TrouSerS, one working family is enough */
	if (s->listen_fds->len == 0) {
		if (err4)
			g_propagate_error(error, g_steal_pointer(&err4));
		else if (err6)
			g_propagate_error(error, g_steal_pointer(&err6));
		else
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
					    "both IPv4 and IPv6 are disabled");
		tcsd_server_free(s);
		return NULL;
	}
	if (err6)
		g_message("%s", err6->message);
	return s;
}

guint
tcsd_server_count_listeners(TcsdServer *s)
{
	return s->listen_fds->len;
}

gboolean
tcsd_server_is_activated(TcsdServer *s)
{
	return s->activated;
}

void
tcsd_server_start(TcsdServer *s)
{
	s->worker = g_thread_new("tcsd-tpm", worker_main, s);
	for (guint i = 0; i < s->listen_fds->len; i++) {
		GSource *src = g_unix_fd_source_new(g_array_index(s->listen_fds, int, i), G_IO_IN);
		g_source_set_callback(src, G_SOURCE_FUNC(on_accept), s, NULL);
		g_source_attach(src, s->d->main_context);
		g_ptr_array_add(s->listen_sources, src);
	}
}

void
tcsd_server_free(TcsdServer *s)
{
	if (!s)
		return;
	for (guint i = 0; i < s->listen_sources->len; i++) {
		g_source_destroy(s->listen_sources->pdata[i]);
		g_source_unref(s->listen_sources->pdata[i]);
	}
	g_ptr_array_unref(s->listen_sources);
	/* closing connections queues their clean-up for the worker */
	if (s->worker) {
		GHashTableIter it;
		gpointer key;
		g_hash_table_iter_init(&it, s->conns);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			TcsdJob *j = g_new0(TcsdJob, 1);
			j->conn_id = *(guint64 *)key;
			j->disconnect = TRUE;
			g_async_queue_push(s->jobs, j);
		}
	}
	g_clear_pointer(&s->conns, g_hash_table_unref);
	g_clear_pointer(&s->peer_conns, g_hash_table_unref);
	if (s->worker) {
		TcsdJob *j = g_new0(TcsdJob, 1);
		j->quit = TRUE;
		g_async_queue_push(s->jobs, j);
		g_thread_join(s->worker);
	}
	/* replies the worker posted for connections that are gone */
	while (g_main_context_iteration(s->d->main_context, FALSE))
		;
	for (guint i = 0; i < s->listen_fds->len; i++)
		close(g_array_index(s->listen_fds, int, i));
	g_array_unref(s->listen_fds);
	g_async_queue_unref(s->jobs);
	g_free(s);
}

void
tcsd_server_run_on_worker(TcsdServer *s, TcsdWorkFunc work, TcsdWorkFunc done, gpointer data)
{
	TcsdJob *j = g_new0(TcsdJob, 1);

	j->work = work;
	j->done = done;
	j->data = data;
	j->server_d = s->d;
	g_async_queue_push(s->jobs, j);
}

guint
tcsd_server_count_connections(TcsdServer *s)
{
	return g_hash_table_size(s->conns);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Deadline-bounded fd I/O shared by the TPM backends (tcsd-tpm-device.c,
 * tcsd-swtpm.c); private to them. Deadlines are g_get_monotonic_time() values.
 */
#pragma once

#include <glib.h>

/* Where a simulator listens: a unix socket path, or host and port. */
typedef struct {
	char *path;
	char *host;
	guint16 port;
} TcsdTpmEndpoint;

void tcsd_tpm_endpoint_clear(TcsdTpmEndpoint *ep);
void tcsd_tpm_endpoint_copy(TcsdTpmEndpoint *dst, const TcsdTpmEndpoint *src);
char *tcsd_tpm_endpoint_to_string(const TcsdTpmEndpoint *ep);
/* A connected non-blocking close-on-exec socket, or -1 with NOT_FOUND/TIMEOUT. */
int tcsd_tpm_endpoint_connect(const TcsdTpmEndpoint *ep, gint64 deadline, GError **error);

static inline gint64
tcsd_tpm_deadline(guint timeout_ms)
{
	return g_get_monotonic_time() + (gint64)timeout_ms * 1000;
}

/* Wait until fd is ready for events (POLLIN/POLLOUT) or the deadline passes. */
gboolean tcsd_tpm_fd_wait(int fd, short events, gint64 deadline, GError **error);
gboolean tcsd_tpm_fd_write_all(int fd, gboolean is_socket, const guint8 *buf, gsize len,
			       gint64 deadline, GError **error);
/* Reads exactly len bytes; end of file is a DISCONNECTED error. */
gboolean tcsd_tpm_fd_read_exact(int fd, guint8 *buf, gsize len, gint64 deadline,
				GError **error);

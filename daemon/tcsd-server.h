/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TCP front end on the main thread, and the TPM worker thread it feeds. */
#pragma once

#include <glib.h>

#include "tcsd-daemon.h"

typedef struct _TcsdServer TcsdServer;

/* Adopt systemd's sockets (LISTEN_FDS) or bind loopback:port as configured. */
TcsdServer *tcsd_server_new(TcsdDaemon *d, GError **error);
/* Start the worker thread and accept connections. */
void tcsd_server_start(TcsdServer *s);
/* Stop accepting, close connections, let the worker release everything, join it. */
void tcsd_server_free(TcsdServer *s);
guint tcsd_server_count_listeners(TcsdServer *s);
/* TRUE when the sockets came from systemd. */
gboolean tcsd_server_is_activated(TcsdServer *s);

/* Work for the TPM worker, queued behind the requests already waiting (FIFO). */
typedef void (*TcsdWorkFunc)(TcsdDaemon *d, gpointer data);
void tcsd_server_run_on_worker(TcsdServer *s, TcsdWorkFunc work, TcsdWorkFunc done,
			       gpointer data);
/* Open TSS client connections. */
guint tcsd_server_count_connections(TcsdServer *s);

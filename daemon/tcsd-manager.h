/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.tcs.Manager: tcsd's management plane on the system bus
 * (dbus/org.tcs.Manager.xml is the API). Method calls arrive on the main
 * thread, are authorised by polkit, and run as tasks on the TPM worker
 * through the TCS layer itself (an in-process TSS client), so they share
 * the key and session manager with every TSS application.
 */
#pragma once

#include <glib.h>

#include "tcs-types.h"
#include "tcsd-daemon.h"
#include "tcsd-server.h"

typedef struct _TcsdManager TcsdManager;

/*
 * Serve org.tcs.Manager as d->config->dbus says. NULL without error when it
 * is not to be served (dbus = no, or auto without a system bus).
 */
TcsdManager *tcsd_manager_new(TcsdDaemon *d, TcsdServer *server, GError **error);
/* Stop taking calls; tasks on the worker still finish. Call before stopping the server. */
void tcsd_manager_shutdown(TcsdManager *m);
/* After the server (and its worker) is gone. NULL-safe. */
void tcsd_manager_free(TcsdManager *m);

/* Worker thread: system PS changed through the wire protocol (either may be NULL). */
void tcsd_manager_keys_changed(TcsdDaemon *d, const TcsUuid *registered,
			       const TcsUuid *unregistered);
/* Worker thread: an owner-class ordinal succeeded; refresh the TPM state properties. */
void tcsd_manager_tpm_state_changed(TcsdDaemon *d);

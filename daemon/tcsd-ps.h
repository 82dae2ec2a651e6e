/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* System persistent storage as the worker changes it: memory and system.data move together. */
#pragma once

#include "tcs-ps.h"
#include "tcsd-daemon.h"

/* Add one key and write the store; a TSS result (0 on success). */
guint32 tcsd_ps_register(TcsdDaemon *d, const TcsUuid *uuid, const TcsUuid *parent,
			 const guint8 *blob, gsize blob_len, const guint8 *vendor, gsize vendor_len);
/*
 * Make *next the store: written first (atomically), then swapped in, so a
 * failed write changes nothing. On success *next holds the old store.
 * Returns 0 or a negative errno.
 */
int tcsd_ps_replace(TcsdDaemon *d, TcsPs *next);

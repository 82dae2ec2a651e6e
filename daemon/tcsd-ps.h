/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* System persistent storage as the worker changes it: memory and system.data move together. */
#pragma once

#include "tcs-ps.h"
#include "tcsd-daemon.h"

/*
 * Add one key and write the store; a TSS result (0 on success). owner: the
 * uid recorded as the key's owner (NULL: owner_users only). Registering
 * the RK records it as tcsd's RK: callers let only owner_users do that.
 */
guint32 tcsd_ps_register(TcsdDaemon *d, const TcsUuid *uuid, const TcsUuid *parent,
			 const guint8 *blob, gsize blob_len, const guint8 *vendor, gsize vendor_len,
			 const uid_t *owner);
/*
 * Make *next the store: written first (atomically), then swapped in, so a
 * failed write changes nothing. On success *next holds the old store.
 * Returns 0 or a negative errno. For the management plane: an RK that
 * differs from the old store's is recorded as tcsd's RK.
 */
int tcsd_ps_replace(TcsdDaemon *d, TcsPs *next);

/* ---- tcsd-ps-owners.c: the sidecar of system.data (key owners, the recorded RK) ---- */

/* After system.data is loaded: read state_dir/key-owners, or create it (recording the RK found). */
gboolean tcsd_ps_owners_init(TcsdDaemon *d, GError **error);
void tcsd_ps_owners_free(TcsdDaemon *d);
/*
 * system.data changed, then rewrite the sidecar: with registered, that one
 * key was added (owner recorded, or none when NULL); without, keys went and
 * their owners are dropped. rk_written: record the RK present now.
 */
void tcsd_ps_owners_changed(TcsdDaemon *d, const TcsUuid *registered, const uid_t *owner,
			    gboolean rk_written);
/* FALSE: no recorded owner (the key belongs to owner_users). */
gboolean tcsd_ps_owners_lookup(TcsdDaemon *d, const TcsUuid *uuid, uid_t *ret);
guint tcsd_ps_owners_count(TcsdDaemon *d, uid_t uid);
/*
 * The one check that an RK entry may be used: 0 for any other key or for
 * the RK tcsd recorded, TCS_E_KEY_MISMATCH (logged) for a substitute.
 */
guint32 tcsd_ps_check_rk(TcsdDaemon *d, const TcsPsKey *pk);

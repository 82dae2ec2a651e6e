/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Identify the peer of an accepted TCP connection: loopback or not, and for loopback its uid. */
#pragma once

#include "tcsd-daemon.h"

/*
 * Fill peer (except id) from a socket just accepted. A loopback peer's uid is
 * asked of the kernel here, once, while the connection is alive; it stays
 * unknown (uid_known FALSE) when the client's socket is no longer ESTABLISHED.
 */
void tcsd_peer_identify(int fd, TcsdPeer *peer);
/* Whether the peer may run owner-class ordinals (and is exempt from per-peer quotas). */
gboolean tcsd_peer_is_owner(const TcsdPeer *peer, const TcsdConfig *config);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Identify the peer of an accepted TCP connection: loopback or not, and for loopback its uid. */
#pragma once

#include "tcsd-daemon.h"

/* Fill peer (except id and uid) from an accepted socket. */
void tcsd_peer_identify(int fd, TcsdPeer *peer);
/*
 * The uid of a loopback TCP peer, asked of the kernel only when an ordinal
 * needs it (owner class): most connections never pay for the netlink query.
 */
gboolean tcsd_peer_resolve_uid(TcsdPeer *peer);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Identify the peer of an accepted TCP connection: loopback or not, and for loopback its uid. */
#pragma once

#include "tcsd-daemon.h"

/* Fill peer (except id) from an accepted socket. */
void tcsd_peer_identify(int fd, TcsdPeer *peer);

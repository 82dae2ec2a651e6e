/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-random.h"

#include <errno.h>
#include <sys/random.h>

guint32
tcsd_random_handle(void)
{
	guint32 h;
	ssize_t n;

	do {
		do
			n = getrandom(&h, sizeof(h), 0);
		while (n < 0 && errno == EINTR);
		/* no fallback to a guessable source: a handle must not be predictable */
		if (n != (ssize_t)sizeof(h))
			g_error("getrandom() failed: %s", n < 0 ? g_strerror(errno) : "short read");
	} while (h == 0 || (h & 0xFFFFFF00u) == 0x40000000u);
	return h;
}

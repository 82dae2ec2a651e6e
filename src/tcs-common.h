/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by all of libtcs: scope cleanup, array size, secret wiping. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TCS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))

/* Define a cleanup helper freep-style for a type with a NULL-safe destructor. */
#define TCS_DEFINE_CLEANUP(type, func)                                                             \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

static inline void
tcs_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(tcs_freep)

static inline void *
tcs_steal_ptr(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define TCS_TAKE_PTR(p) tcs_steal_ptr(&(p))

/* Wipe memory that held a secret; the compiler may not elide it. */
static inline void
tcs_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

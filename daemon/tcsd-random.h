/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Handles are capabilities: a client that guesses another's key, session or
 * context handle could use it, so they come from the kernel's CSPRNG.
 */
#pragma once

#include <glib.h>

/* A random handle, never 0 nor in the reserved range 0x400000xx. */
guint32 tcsd_random_handle(void);

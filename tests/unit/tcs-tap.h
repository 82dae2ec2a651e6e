/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TAP output for the plain-C unit tests: one "ok N - …" line per check, then the plan. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

static int n_tests, n_failed;

/* TAP line per check; cond is evaluated once (it usually has side effects). */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		bool ok_ = (cond);                                                                 \
		n_tests++;                                                                         \
		if (!ok_)                                                                          \
			n_failed++;                                                                \
		printf("%sok %d - ", ok_ ? "" : "not ", n_tests);                                  \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		if (!ok_)                                                                          \
			printf("# failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);               \
	} while (0)

/* Print the plan; the test's exit status. */
static inline int
tap_done(void)
{
	printf("1..%d\n", n_tests);
	return n_failed ? 1 : 0;
}

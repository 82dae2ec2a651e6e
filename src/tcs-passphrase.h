/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Secrets for the command-line tools, from the sources the TCS guide names,
 * in its order: an explicit value (an option), else an environment variable
 * (TPM_PASSWD for the owner password, TCS_PASS for passphrases), else a
 * prompt on the controlling terminal without echo, asked twice when a new
 * secret is being chosen. Length limits are the guide's: the TPM password
 * is at most 8 characters, a passphrase at most 128.
 *
 * Returns 0 with *ret a malloc'd NUL-terminated secret (wipe it with
 * tcs_passphrase_free()), or a negative errno:
 *   -E2BIG      longer than max_len
 *   -ENOTTY     no value, no variable and no terminal to ask on
 *   -EKEYREJECTED the confirmation did not match
 *   -ECANCELED  end of input at the prompt
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TCS_PASSPHRASE_MAX 128u
#define TCS_OWNER_PASSWORD_MAX 8u
#define TCS_PASSPHRASE_ENV "TCS_PASS"
#define TCS_OWNER_PASSWORD_ENV "TPM_PASSWD"

typedef struct {
	const char *value;   /* from an option; NULL if not given */
	const char *env;     /* variable to consult next; NULL for none */
	const char *prompt;  /* e.g. "Enter Passphrase: " */
	const char *confirm; /* e.g. "Confirm Passphrase: "; NULL: ask once */
	size_t max_len;      /* in bytes */
	bool allow_empty;    /* an empty answer is a valid (empty) secret */
} TcsPassphraseSource;

int tcs_passphrase_get(const TcsPassphraseSource *src, char **ret);
/* Read one line from the terminal (or fd 0 if it is one) without echo. */
int tcs_passphrase_prompt(const char *prompt, size_t max_len, char **ret);
/* Wipe and free; NULL-safe. */
void tcs_passphrase_free(char *secret);
/* A short message for the errors above. */
const char *tcs_passphrase_strerror(int err);

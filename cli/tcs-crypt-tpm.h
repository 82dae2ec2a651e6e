/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TPM half of tpmencrypt/tpmdecrypt, through libtcs' TSS client: the
 * roaming key (RK, UUID …0003 under the SRK), a bind key under it protecting
 * the file's data key, and the exit codes / messages both tools share.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tcs-client.h"
#include "tcs-crypt-format.h"
#include "tcs-key.h"

/* Exit codes (documented in tpmencrypt(1) and tpmdecrypt(1)). */
enum {
	TCS_CRYPT_EXIT_OK = 0,
	TCS_CRYPT_EXIT_FAILURE = 1,   /* local error: input missing, I/O, out of memory */
	TCS_CRYPT_EXIT_USAGE = 2,     /* bad command line */
	TCS_CRYPT_EXIT_TPM = 3,       /* tcsd unreachable or a TPM/TSS error */
	TCS_CRYPT_EXIT_NO_RK = 4,     /* no roaming key registered */
	TCS_CRYPT_EXIT_AUTH = 5,      /* wrong passphrase, no passphrase, TPM lockout */
	TCS_CRYPT_EXIT_BADFILE = 6,   /* not a tpmencrypt file, damaged, truncated, modified */
	TCS_CRYPT_EXIT_WRONG_TPM = 7, /* made for another TPM / key not in this PS */
	TCS_CRYPT_EXIT_REFUSED = 8,   /* unsafe member path, existing target */
};

/* "tool: " prefix for every message; set once by main. */
extern const char *tcs_crypt_prog;
void tcs_crypt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tcs_crypt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A negative errno or TSS result as text (static buffer). */
const char *tcs_crypt_strerror(int rc);

typedef struct {
	TcsClient *client;
	uint32_t rk;        /* TCS handle of the loaded RK */
	bool rk_migratable;
	uint8_t rk_fingerprint[TCS_CRYPT_DIGEST_SIZE];
	uint8_t srk_secret[TCS_SECRET_SIZE]; /* TPM_SRK_PASSWD, a prompt, or well-known */
} TcsCryptTpm;

void tcs_crypt_tpm_close(TcsCryptTpm *t);

/*
 * Connect (TSS_TCSD_HOSTNAME / TSS_TCSD_PORT), open a context, find and load
 * the RK. The SRK secret is TPM_SRK_PASSWD's, else the well-known one; when
 * the TPM refuses that and there is a terminal, the SRK password is asked for.
 * On failure prints the reason and returns the exit code (> 0).
 */
int tcs_crypt_tpm_open(TcsCryptTpm *t);

/*
 * Create a bind key (2048-bit, OAEP) under the RK with usage secret
 * `secret`, bind a fresh data key to it in software, and fill the header's
 * key fields (blob, or with in_ps a fresh UUID registered in system PS under
 * the RK) and bound data. key receives the data key. Returns 0 or an exit
 * code (message printed).
 */
int tcs_crypt_tpm_new_key(TcsCryptTpm *t, const uint8_t secret[TCS_SECRET_SIZE], bool in_ps,
			  TcsCryptHeader *h, uint8_t key[TCS_CRYPT_KEY_SIZE]);
/* Undo a registration of tcs_crypt_tpm_new_key (best effort). */
void tcs_crypt_tpm_forget_key(TcsCryptTpm *t, const TcsCryptHeader *h);

/*
 * Check that h was made with this TPM's RK and load its bind key. Returns 0
 * or an exit code (message printed naming `file`).
 */
int tcs_crypt_tpm_load_key(TcsCryptTpm *t, const TcsCryptHeader *h, const char *file,
			   uint32_t *ret_key);
/* UnBind the data key with the bind key's secret. 0 or an exit code. */
int tcs_crypt_tpm_unbind(TcsCryptTpm *t, uint32_t key, const TcsCryptHeader *h,
			 const uint8_t secret[TCS_SECRET_SIZE], const char *file,
			 uint8_t out[TCS_CRYPT_KEY_SIZE]);

/*
 * The usage secret: well-known without a passphrase, else SHA-1 of the
 * passphrase from -p, $TCS_PASS or the terminal (confirm: ask twice).
 * Returns 0 or an exit code.
 */
int tcs_crypt_get_secret(const char *option, bool confirm, uint8_t secret[TCS_SECRET_SIZE]);

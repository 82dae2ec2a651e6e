/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-common.h - shared helpers of the libtspi test programs in this folder.
 *
 * The programs talk to a tcsd through the unmodified TrouSerS client library
 * (libtspi): TSS_TCSD_HOSTNAME / TSS_TCSD_PORT select the daemon (exported by
 * tests/integration/tcs-harness.sh). They expect an owned TPM with the
 * well-known owner and SRK secrets (tpm_takeownership -y -z).
 *
 * Output is TAP-like, one line per check:
 *   ok N - what
 *   not ok N - what: 0x<result> (<libtspi's error string>)
 *   not ok N - what: 0x20ca (...) # TODO known TrouSerS failure: <why>
 * A "# TODO" line is an expected failure of TrouSerS' reference tcsd
 * (TSPI_TEST_DAEMON=trousers, set by tests/integration/test-tspi.sh); it is
 * not counted as a failure. The same check against our tcsd must pass.
 * Exit status: 0 all checks passed, 1 some check failed, 77 skip.
 */
#ifndef TSPI_COMMON_H
#define TSPI_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <tss/tspi.h>
#include <trousers/trousers.h>

/* results as libtspi returns them (layer | code); tcs_error.h is not in tspi.h */
#define TT_TCS(code) ((TSS_RESULT)(TSS_LAYER_TCS | (code)))
#define TT_TCS_E_INVALID_KEY TT_TCS(0x0C5)         /* TCS_E_INVALID_KEY */
#define TT_TCS_E_KM_LOADFAILED TT_TCS(0x0CA)       /* TCS_E_KM_LOADFAILED */
#define TT_TCS_E_PS_KEY_NOTFOUND TT_TCS(TSS_E_PS_KEY_NOTFOUND)
#define TT_TCS_E_KEY_ALREADY_REGISTERED TT_TCS(TSS_E_KEY_ALREADY_REGISTERED)
#define TT_TCS_E_BAD_PARAMETER TT_TCS(TSS_E_BAD_PARAMETER)

extern BYTE tt_wellknown[20];
extern const TSS_UUID tt_srk_uuid;

/* "ours" or "trousers" (TSPI_TEST_DAEMON; default ours) */
const char *tt_daemon(void);
int tt_is_trousers(void);

/* ------------------------------------------------------------ TAP output */
void tt_plan_name(const char *prog);
/* record one check; returns cond */
int tt_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ok when rc == want */
int tt_rc(TSS_RESULT rc, TSS_RESULT want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * ok when rc == want. Against TrouSerS (tt_is_trousers()) rc == trousers_rc
 * is reported as "# TODO known TrouSerS failure: why" and not counted.
 * Returns 1 when rc == want.
 */
int tt_rc_xfail_trousers(TSS_RESULT rc, TSS_RESULT want, TSS_RESULT trousers_rc, const char *why,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* a boolean check with a known TrouSerS failure (same reporting) */
int tt_ok_xfail_trousers(int cond, const char *why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tt_skip(const char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tt_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* summary line; returns the exit status (0 / 1) */
int tt_done(void);
int tt_failures(void);

/* monotonic milliseconds */
double tt_now_ms(void);

/* ------------------------------------------------------------ libtspi helpers */
/* Create + connect a context, get the TPM object (owner policy = well-known)
 * and load the SRK by UUID (usage policy = well-known). tpm / srk may be NULL. */
TSS_RESULT tt_connect(TSS_HCONTEXT *ctx, TSS_HTPM *tpm, TSS_HKEY *srk);
/* New usage policy with the given secret (plain text; NULL = well-known SHA-1
 * secret) assigned to obj. *pol (may be NULL) receives the policy. */
TSS_RESULT tt_set_usage_secret(TSS_HCONTEXT ctx, TSS_HOBJECT obj, const char *secret,
			       TSS_HPOLICY *pol);
/*
 * Create (Tspi_Key_CreateKey) and load a key under parent. flags: the
 * TSS_KEY_* init flags (type, size, auth, migratable); signing keys get
 * TSS_SS_RSASSAPKCS1V15_SHA1. secret: usage secret (plain) when the flags ask
 * for authorization. load: also Tspi_Key_LoadKey.
 */
TSS_RESULT tt_create_key(TSS_HCONTEXT ctx, TSS_HKEY parent, TSS_FLAG flags, const char *secret,
			 int load, TSS_HKEY *key);
/* Tspi_Hash_Sign of a SHA-1 digest (a 20-byte hash value). sig: libtspi memory. */
TSS_RESULT tt_sign(TSS_HCONTEXT ctx, TSS_HKEY key, const BYTE digest[20], BYTE **sig,
		   UINT32 *sig_len);
/* Tspi_Hash_VerifySignature of the same */
TSS_RESULT tt_verify_tspi(TSS_HCONTEXT ctx, TSS_HKEY key, const BYTE digest[20], BYTE *sig,
			  UINT32 sig_len);
/* Tspi_Key_GetPubKey (a TPM_PUBKEY from the TPM) -> modulus + exponent */
TSS_RESULT tt_pubkey_modulus(TSS_HCONTEXT ctx, TSS_HKEY key, BYTE **mod, UINT32 *mod_len, uint32_t *exponent);
/* The modulus from the key object's blob (no TCS call) */
TSS_RESULT tt_attrib_modulus(TSS_HKEY key, BYTE **mod, UINT32 *mod_len);
/* OpenSSL: RSASSA-PKCS1-v1_5 with SHA-1 over the digest. 1 = verifies. */
int tt_openssl_verify(const BYTE *mod, size_t mod_len, uint32_t exponent, const BYTE digest[20],
		      const BYTE *sig, size_t sig_len);
/* OpenSSL SHA-1 */
void tt_sha1(const void *data, size_t len, BYTE out[20]);
/* Fill buf with random bytes (OpenSSL) */
void tt_random(void *buf, size_t len);
/* TSS_UUID from a 16-byte pattern: the given last byte, fixed prefix per program */
TSS_UUID tt_uuid(BYTE prog, BYTE n);
const char *tt_err(TSS_RESULT rc);

#endif

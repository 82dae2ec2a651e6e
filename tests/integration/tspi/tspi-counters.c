/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-counters.c - monotonic counters: CREATECOUNTER, READCOUNTER,
 * INCREMENTCOUNTER, RELEASECOUNTER, RELEASECOUNTEROWNER.
 *
 * TSS 1.2 has no Tspi_ call that creates, increments or releases a counter,
 * so this program drives libtspi's own exported TCS client functions
 * (RPC_OSAP, RPC_CreateCounter, …: the same wire code the Tspi_ calls use)
 * and computes the authorisations itself, then checks every reply HMAC:
 *
 *   CreateCounter (owner OSAP, encAuth): id and value, reply HMAC verifies
 *   ReadCounter equals what CreateCounter answered; Tspi_TPM_ReadCounter too
 *   IncrementCounter (OIAP, counter secret) twice: +1 each time, reply HMACs
 *   wrong counter secret -> TPM_E_AUTHFAIL, value unchanged
 *   ReleaseCounter (counter secret); ReadCounter then fails
 *   a second counter released with ReleaseCounterOwner (owner secret)
 *
 * libtspi 0.3.15 sends the bytes of the label *pointer* instead of the label
 * (setData(PBYTE, &pLabel) in RPC_CreateCounter_TP); the TPM stores whatever
 * it gets, so the expected label is computed the same way.
 * TrouSerS' tcsd cannot encode TPM_COUNTER_VALUE in its replies: its failures
 * are reported as "# TODO".
 *
 * Usage: tspi-counters   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets)
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "tspi-common.h"

#include <tss/tpm.h>
#include <tss/tcs_structs.h>

#define ORD_CreateCounter 0xDCu
#define ORD_IncrementCounter 0xDDu
#define ORD_ReadCounter 0xDEu
#define ORD_ReleaseCounter 0xDFu
#define ORD_ReleaseCounterOwner 0xE0u
#define ET_OWNER 0x0002u
#define KH_OWNER 0x40000001u
#define TPM_E_AUTHFAIL_RC 0x1u
#define TPM_E_BAD_COUNTER_RC 0x45u

/* libtspi's TCS client (exported by libtspi.so.1, not declared in its headers) */
TSS_RESULT RPC_OIAP(TSS_HCONTEXT, TCS_AUTHHANDLE *, TPM_NONCE *);
TSS_RESULT RPC_OSAP(TSS_HCONTEXT, TPM_ENTITY_TYPE, UINT32, TPM_NONCE *, TCS_AUTHHANDLE *,
		    TPM_NONCE *, TPM_NONCE *);
TSS_RESULT RPC_TerminateHandle(TSS_HCONTEXT, TCS_AUTHHANDLE);
TSS_RESULT RPC_CreateCounter(TSS_HCONTEXT, UINT32, BYTE *, TPM_ENCAUTH, TPM_AUTH *,
			     TSS_COUNTER_ID *, TPM_COUNTER_VALUE *);
TSS_RESULT RPC_ReadCounter(TSS_HCONTEXT, TSS_COUNTER_ID, TPM_COUNTER_VALUE *);
TSS_RESULT RPC_IncrementCounter(TSS_HCONTEXT, TSS_COUNTER_ID, TPM_AUTH *, TPM_COUNTER_VALUE *);
TSS_RESULT RPC_ReleaseCounter(TSS_HCONTEXT, TSS_COUNTER_ID, TPM_AUTH *);
TSS_RESULT RPC_ReleaseCounterOwner(TSS_HCONTEXT, TSS_COUNTER_ID, TPM_AUTH *);

#define TROUSERS_CV "TrouSerS' tcsd cannot encode TPM_COUNTER_VALUE"

typedef struct {
	BYTE b[256];
	size_t n;
} Buf;

static void
put(Buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put32(Buf *b, uint32_t v)
{
	BYTE x[4] = {v >> 24, v >> 16, v >> 8, v};
	put(b, x, 4);
}

static void
put_cv(Buf *b, const TPM_COUNTER_VALUE *cv)
{
	BYTE tag[2] = {cv->tag >> 8, cv->tag};
	put(b, tag, 2);
	put(b, cv->label, 4);
	put32(b, cv->counter);
}

/* HMAC-SHA1(key, SHA1(params) || nonceEven || nonceOdd || continue) */
static void
auth_hmac(const BYTE key[20], const Buf *params, const TPM_AUTH *a, BYTE out[20])
{
	BYTE digest[20], msg[61];
	unsigned len = 20;

	tt_sha1(params->b, params->n, digest);
	memcpy(msg, digest, 20);
	memcpy(msg + 20, a->NonceEven.nonce, 20);
	memcpy(msg + 40, a->NonceOdd.nonce, 20);
	msg[60] = a->fContinueAuthSession ? 1 : 0;
	HMAC(EVP_sha1(), key, 20, msg, sizeof(msg), out, &len);
}

/* Fill in nonceOdd and the HMAC of a request; the TPM's nonceEven must be in a. */
static void
sign_request(const BYTE key[20], const Buf *params, TPM_AUTH *a)
{
	tt_random(a->NonceOdd.nonce, 20);
	a->fContinueAuthSession = FALSE;
	auth_hmac(key, params, a, a->HMAC.authdata);
}

/* The reply HMAC (now over the TPM's new nonceEven) */
static int
reply_ok(const BYTE key[20], const Buf *params, const TPM_AUTH *a)
{
	BYTE want[20];

	auth_hmac(key, params, a, want);
	return memcmp(want, a->HMAC.authdata, 20) == 0;
}

static TSS_RESULT
oiap(TSS_HCONTEXT ctx, TPM_AUTH *a)
{
	memset(a, 0, sizeof(*a));
	return RPC_OIAP(ctx, &a->AuthHandle, &a->NonceEven);
}

/* CreateCounter with the owner's OSAP session; returns the TSS result */
static TSS_RESULT
create_counter(TSS_HCONTEXT ctx, const BYTE secret[20], TSS_COUNTER_ID *id,
	       TPM_COUNTER_VALUE *cv, int *reply_verified, BYTE label_sent[4])
{
	TPM_NONCE odd_osap, even_osap;
	TPM_AUTH a = {0};
	TPM_ENCAUTH enc;
	BYTE shared[20], pad[20], seed[40], label[4] = "tcs!", *label_ptr = label;
	unsigned len = 20;
	TSS_RESULT rc;
	Buf p = {.n = 0};

	tt_random(odd_osap.nonce, 20);
	rc = RPC_OSAP(ctx, ET_OWNER, KH_OWNER, &odd_osap, &a.AuthHandle, &a.NonceEven, &even_osap);
	if (rc)
		return rc;
	memcpy(seed, even_osap.nonce, 20);
	memcpy(seed + 20, odd_osap.nonce, 20);
	HMAC(EVP_sha1(), tt_wellknown, 20, seed, 40, shared, &len);
	memcpy(seed, shared, 20);
	memcpy(seed + 20, a.NonceEven.nonce, 20);
	tt_sha1(seed, 40, pad);
	for (int i = 0; i < 20; i++)
		enc.authdata[i] = secret[i] ^ pad[i];
	/* what libtspi actually puts on the wire as the label: see the top comment */
	memcpy(label_sent, &label_ptr, 4);
	put32(&p, ORD_CreateCounter);
	put(&p, enc.authdata, 20);
	put(&p, label_sent, 4);
	sign_request(shared, &p, &a);
	rc = RPC_CreateCounter(ctx, 4, label_ptr, enc, &a, id, cv);
	if (rc == 0) {
		p.n = 0;
		put32(&p, 0);
		put32(&p, ORD_CreateCounter);
		put32(&p, *id);
		put_cv(&p, cv);
		*reply_verified = reply_ok(shared, &p, &a);
	}
	return rc;
}

static TSS_RESULT
increment(TSS_HCONTEXT ctx, TSS_COUNTER_ID id, const BYTE secret[20], TPM_COUNTER_VALUE *cv,
	  int *reply_verified)
{
	TPM_AUTH a;
	TSS_RESULT rc = oiap(ctx, &a);
	Buf p = {.n = 0};

	if (rc)
		return rc;
	put32(&p, ORD_IncrementCounter);
	put32(&p, id);
	sign_request(secret, &p, &a);
	rc = RPC_IncrementCounter(ctx, id, &a, cv);
	if (rc == 0) {
		p.n = 0;
		put32(&p, 0);
		put32(&p, ORD_IncrementCounter);
		put_cv(&p, cv);
		*reply_verified = reply_ok(secret, &p, &a);
	}
	return rc;
}

static TSS_RESULT
release(TSS_HCONTEXT ctx, TSS_COUNTER_ID id, const BYTE secret[20], int owner)
{
	uint32_t ord = owner ? ORD_ReleaseCounterOwner : ORD_ReleaseCounter;
	TPM_AUTH a;
	TSS_RESULT rc = oiap(ctx, &a);
	Buf p = {.n = 0};

	if (rc)
		return rc;
	put32(&p, ord);
	put32(&p, id);
	sign_request(secret, &p, &a);
	rc = owner ? RPC_ReleaseCounterOwner(ctx, id, &a) : RPC_ReleaseCounter(ctx, id, &a);
	if (rc == 0) {
		p.n = 0;
		put32(&p, 0);
		put32(&p, ord);
		if (!reply_ok(secret, &p, &a))
			rc = TSS_E_FAIL;
	}
	return rc;
}

int
main(void)
{
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_COUNTER_ID id = 0, id2 = 0;
	TPM_COUNTER_VALUE cv = {0}, cv2 = {0}, rd = {0};
	BYTE secret[20], wrong[20], label[4];
	int verified = 0;
	UINT32 tspi_value = 0;
	TSS_RESULT rc;

	tt_plan_name("tspi-counters");
	rc = tt_connect(&ctx, &tpm, NULL);
	if (!tt_rc(rc, 0, "connect"))
		return tt_done();
	tt_sha1("counter secret", 14, secret);
	tt_sha1("not the secret", 14, wrong);

	rc = create_counter(ctx, secret, &id, &cv, &verified, label);
	if (!tt_rc_xfail_trousers(rc, 0, TSS_LAYER_TSP | TSS_E_COMM_FAILURE, TROUSERS_CV,
				  "CreateCounter (owner OSAP)")) {
		Tspi_Context_Close(ctx);
		return tt_done();
	}
	tt_ok(verified, "CreateCounter: reply HMAC verifies (id %u, value %u)", id, cv.counter);
	tt_ok(memcmp(cv.label, label, 4) == 0, "CreateCounter: the TPM kept the label sent");

	rc = RPC_ReadCounter(ctx, id, &rd);
	tt_rc(rc, 0, "ReadCounter");
	tt_ok(rc == 0 && rd.counter == cv.counter && memcmp(rd.label, label, 4) == 0,
	      "ReadCounter: same value (%u) and label as CreateCounter", rd.counter);

	rc = increment(ctx, id, secret, &rd, &verified);
	tt_rc(rc, 0, "IncrementCounter");
	tt_ok(rc == 0 && verified && rd.counter == cv.counter + 1,
	      "IncrementCounter: value %u -> %u, reply HMAC verifies", cv.counter, rd.counter);
	rc = increment(ctx, id, secret, &rd, &verified);
	tt_ok(rc == 0 && verified && rd.counter == cv.counter + 2,
	      "IncrementCounter again: %u", rd.counter);
	rc = increment(ctx, id, wrong, &rd, &verified);
	tt_rc(rc, TPM_E_AUTHFAIL_RC, "IncrementCounter with a wrong secret -> TPM_E_AUTHFAIL");
	rc = RPC_ReadCounter(ctx, id, &rd);
	tt_ok(rc == 0 && rd.counter == cv.counter + 2, "ReadCounter: still %u", rd.counter);
	/* the incremented counter is the TPM's active one, which Tspi_TPM_ReadCounter reads */
	rc = Tspi_TPM_ReadCounter(tpm, &tspi_value);
	tt_ok(rc == 0 && tspi_value == cv.counter + 2, "Tspi_TPM_ReadCounter: %u (0x%x)",
	      tspi_value, rc);

	tt_rc(release(ctx, id, wrong, 0), TPM_E_AUTHFAIL_RC,
	      "ReleaseCounter with a wrong secret -> TPM_E_AUTHFAIL");
	tt_rc(release(ctx, id, secret, 0), 0, "ReleaseCounter (counter secret), reply HMAC");
	rc = RPC_ReadCounter(ctx, id, &rd);
	tt_rc(rc, TPM_E_BAD_COUNTER_RC, "ReadCounter of the released counter -> TPM_E_BAD_COUNTER");

	rc = create_counter(ctx, secret, &id2, &cv2, &verified, label);
	tt_ok(rc == 0 && verified, "a second counter (id %u; released ids are reused)", id2);
	if (rc == 0) {
		tt_rc(release(ctx, id2, tt_wellknown, 1), 0,
		      "ReleaseCounterOwner (owner secret), reply HMAC");
		tt_rc(RPC_ReadCounter(ctx, id2, &rd), TPM_E_BAD_COUNTER_RC,
		      "ReadCounter after ReleaseCounterOwner -> TPM_E_BAD_COUNTER");
	}
	Tspi_Context_Close(ctx);
	return tt_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-threads.c - 50 libtspi clients at once, one thread and one TSS
 * context each, all connected at the same time (a barrier holds them):
 *
 *   every thread connects, loads the SRK by UUID, loads a shared signing key
 *   by blob (its own TCS handle), signs its own digest with an OIAP session
 *   and verifies the signature with OpenSSL, reads a PCR, gets random bytes
 *   all 50 succeed; the daemon still serves a 51st client afterwards
 *
 * TrouSerS' tcsd serves at most num_threads (10) connections: the others
 * fail, reported as "# TODO".
 *
 * Usage: tspi-threads   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets)
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define N_THREADS 50

static BYTE *key_blob;
static UINT32 key_blob_len;
static BYTE *key_mod;
static UINT32 key_mod_len;
static uint32_t key_exp;
static pthread_barrier_t connected, done;

typedef struct {
	int id;
	TSS_RESULT connect_rc, rc;
	const char *step;
} Worker;

static TSS_RESULT
work(Worker *w, TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY srk)
{
	TSS_HKEY key;
	BYTE digest[20], *sig = NULL, *rnd = NULL, *pcr = NULL;
	UINT32 sig_len = 0, pcr_len = 0;
	char msg[32];
	TSS_RESULT rc;

	w->step = "LoadKeyByBlob";
	rc = Tspi_Context_LoadKeyByBlob(ctx, srk, key_blob_len, key_blob, &key);
	if (rc)
		return rc;
	w->step = "usage secret";
	rc = tt_set_usage_secret(ctx, key, "threads", NULL);
	if (rc)
		return rc;
	snprintf(msg, sizeof(msg), "thread %d", w->id);
	tt_sha1(msg, strlen(msg), digest);
	w->step = "sign";
	rc = tt_sign(ctx, key, digest, &sig, &sig_len);
	if (rc)
		return rc;
	w->step = "OpenSSL verify";
	if (!tt_openssl_verify(key_mod, key_mod_len, key_exp, digest, sig, sig_len))
		return TSS_E_FAIL;
	w->step = "PcrRead";
	rc = Tspi_TPM_PcrRead(tpm, 10, &pcr_len, &pcr);
	if (rc)
		return rc;
	w->step = "GetRandom";
	rc = Tspi_TPM_GetRandom(tpm, 16, &rnd);
	if (rc)
		return rc;
	w->step = "UnloadKey";
	return Tspi_Key_UnloadKey(key);
}

static void *
worker(void *arg)
{
	Worker *w = arg;
	TSS_HCONTEXT ctx = 0;
	TSS_HTPM tpm;
	TSS_HKEY srk;

	w->step = "connect";
	w->connect_rc = tt_connect(&ctx, &tpm, &srk);
	/* everyone is connected (or failed to) before anyone works */
	pthread_barrier_wait(&connected);
	w->rc = w->connect_rc ? w->connect_rc : work(w, ctx, tpm, srk);
	pthread_barrier_wait(&done);
	if (w->connect_rc == 0)
		Tspi_Context_Close(ctx);
	return NULL;
}

int
main(void)
{
	static Worker workers[N_THREADS];
	pthread_t threads[N_THREADS];
	TSS_HCONTEXT ctx;
	TSS_HKEY srk, key;
	BYTE *blob = NULL;
	TSS_RESULT rc;
	int n_connected = 0, n_ok = 0;
	double t0;

	tt_plan_name("tspi-threads");
	if (!tt_rc(tt_connect(&ctx, NULL, &srk), 0, "connect"))
		return tt_done();
	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_AUTHORIZATION, "threads", 1, &key);
	if (rc == 0)
		rc = Tspi_GetAttribData(key, TSS_TSPATTRIB_KEY_BLOB, TSS_TSPATTRIB_KEYBLOB_BLOB,
					&key_blob_len, &blob);
	if (rc == 0)
		rc = tt_pubkey_modulus(ctx, key, &key_mod, &key_mod_len, &key_exp);
	if (!tt_rc(rc, 0, "a signing key for the threads"))
		return tt_done();
	key_blob = malloc(key_blob_len);
	memcpy(key_blob, blob, key_blob_len);
	Tspi_Context_Close(ctx);

	pthread_barrier_init(&connected, NULL, N_THREADS);
	pthread_barrier_init(&done, NULL, N_THREADS);
	t0 = tt_now_ms();
	for (int i = 0; i < N_THREADS; i++) {
		workers[i].id = i;
		pthread_create(&threads[i], NULL, worker, &workers[i]);
	}
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < N_THREADS; i++) {
		n_connected += workers[i].connect_rc == 0;
		n_ok += workers[i].rc == 0;
		if (workers[i].rc && !tt_is_trousers())
			tt_diag("thread %d failed at %s: 0x%x (%s)", i, workers[i].step,
				workers[i].rc, tt_err(workers[i].rc));
	}
	tt_ok_xfail_trousers(n_connected == N_THREADS, "TrouSerS serves num_threads (10) clients",
			     "%d of %d threads connected at the same time", n_connected,
			     N_THREADS);
	tt_ok_xfail_trousers(n_ok == N_THREADS, "TrouSerS serves num_threads (10) clients",
			     "%d of %d threads loaded, signed, verified, read a PCR (%.0f ms)",
			     n_ok, N_THREADS, tt_now_ms() - t0);
	rc = tt_connect(&ctx, NULL, &srk);
	tt_rc(rc, 0, "a client afterwards is served");
	if (rc == 0)
		Tspi_Context_Close(ctx);
	free(key_blob);
	free(key_mod);
	return tt_done();
}

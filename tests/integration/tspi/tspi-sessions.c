/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-sessions.c - many clients and many keys at once through libtspi.
 *
 * Part 1, concurrency: N threads (default 50), each with its own context and
 * connection (Tspi_Context_Create + Connect). All connect first and wait at a
 * barrier, so N connections are open at the same time; then each thread, in
 * parallel: GetRandom, creates its own 2048-bit signing key under the SRK
 * (OSAP), loads it (OIAP), signs a SHA-1 digest and verifies the signature
 * (libtspi and OpenSSL). All must succeed. TrouSerS 0.3.15 serves at most
 * num_threads (10) connections and closes the others: a known TrouSerS failure.
 *
 * Part 2, more keys than TPM key slots: the N key blobs of part 1 are loaded
 * again (Tspi_Context_LoadKeyByBlob) into two contexts on two connections,
 * all at once (N > the TPM's slots, queried), then each key signs in an
 * interleaved order and every signature is verified with OpenSSL against the
 * key's own public key. The daemon has to swap keys in and out of the TPM.
 * TrouSerS 0.3.15 evicts keys to make room and later reloads them from the
 * blob without authorisation: under the SRK (which needs auth) the TPM answers
 * TPM_AUTHFAIL - a known TrouSerS failure. Our tcsd uses TPM_SaveContext.
 *
 * Usage: tspi-sessions [THREADS [KEYS_IN_PART_2]]   (TSS_TCSD_HOSTNAME/PORT;
 *        owned TPM, well-known secrets). Bounded: THREADS <= 200.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define MAX_THREADS 200

struct worker {
	pthread_t tid;
	int id;
	int connected, random_ok, key_ok, sign_ok, verify_ok;
	TSS_RESULT rc;
	const char *failed_at;
	BYTE *blob; /* malloc'd copy of the wrapped key blob */
	UINT32 blob_len;
	BYTE *mod; /* malloc'd modulus */
	UINT32 mod_len;
	double ms;
};

static pthread_barrier_t connected_barrier, done_barrier;
static struct worker workers[MAX_THREADS];

static BYTE *
dup_mem(const BYTE *p, UINT32 n)
{
	BYTE *d = malloc(n ? n : 1);
	memcpy(d, p, n);
	return d;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	TSS_HCONTEXT ctx = 0;
	TSS_HTPM tpm;
	TSS_HKEY srk, key;
	BYTE *rnd = NULL, *sig = NULL, *p = NULL, digest[20];
	UINT32 sig_len = 0, n = 0;
	char msg[64];
	double t0;

	w->rc = tt_connect(&ctx, &tpm, &srk);
	w->connected = w->rc == 0;
	if (!w->connected)
		w->failed_at = "connect";
	/* everybody is connected (or failed to) before anyone works */
	pthread_barrier_wait(&connected_barrier);
	t0 = tt_now_ms();
	if (!w->connected)
		goto done;

	w->rc = Tspi_TPM_GetRandom(tpm, 20, &rnd);
	if (w->rc) {
		w->failed_at = "GetRandom";
		goto done;
	}
	w->random_ok = 1;
	w->rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			      TSS_KEY_NO_AUTHORIZATION | TSS_KEY_NOT_MIGRATABLE, NULL, 1, &key);
	if (w->rc) {
		w->failed_at = "CreateKey/LoadKey";
		goto done;
	}
	w->key_ok = 1;
	if (Tspi_GetAttribData(key, TSS_TSPATTRIB_KEY_BLOB, TSS_TSPATTRIB_KEYBLOB_BLOB, &n, &p) ==
	    0) {
		w->blob = dup_mem(p, n);
		w->blob_len = n;
	}
	if (tt_attrib_modulus(key, &p, &n) == 0) {
		w->mod = dup_mem(p, n);
		w->mod_len = n;
	}
	snprintf(msg, sizeof(msg), "tspi-sessions worker %d", w->id);
	tt_sha1(msg, strlen(msg), digest);
	w->rc = tt_sign(ctx, key, digest, &sig, &sig_len);
	if (w->rc) {
		w->failed_at = "Sign";
		goto done;
	}
	w->sign_ok = 1;
	w->verify_ok = tt_verify_tspi(ctx, key, digest, sig, sig_len) == 0 && w->mod &&
		       tt_openssl_verify(w->mod, w->mod_len, 65537, digest, sig, sig_len);
	if (!w->verify_ok)
		w->failed_at = "verify";
done:
	w->ms = tt_now_ms() - t0;
	/* keep every connection open until all are done */
	pthread_barrier_wait(&done_barrier);
	if (ctx) {
		Tspi_Context_FreeMemory(ctx, NULL);
		Tspi_Context_Close(ctx);
	}
	return NULL;
}

static void
part1(int n)
{
	int connected = 0, rnd = 0, keys = 0, signs = 0, verified = 0, printed = 0;
	double t0 = tt_now_ms(), max_ms = 0;

	pthread_barrier_init(&connected_barrier, NULL, n);
	pthread_barrier_init(&done_barrier, NULL, n);
	for (int i = 0; i < n; i++) {
		workers[i].id = i;
		if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0) {
			tt_ok(0, "pthread_create %d", i);
			exit(tt_done());
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(workers[i].tid, NULL);
	for (int i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		connected += w->connected;
		rnd += w->random_ok;
		keys += w->key_ok;
		signs += w->sign_ok;
		verified += w->verify_ok;
		if (w->ms > max_ms)
			max_ms = w->ms;
		if (w->failed_at && printed++ < 5)
			tt_diag("worker %d failed at %s: 0x%x (%s)", i, w->failed_at, w->rc,
				tt_err(w->rc));
	}
	tt_diag("%d threads: %.0f ms in all, slowest worker %.0f ms after the barrier", n,
		tt_now_ms() - t0, max_ms);
	tt_ok_xfail_trousers(connected == n, "tcsd serves at most num_threads (10) connections",
			     "%d contexts connected at the same time (%d connected)", n, connected);
	tt_ok_xfail_trousers(rnd == n, "connections over the cap were closed",
			     "GetRandom in all %d contexts (%d)", n, rnd);
	tt_ok_xfail_trousers(keys == n, "connections over the cap were closed",
			     "CreateKey + LoadKey in all %d contexts, in parallel (%d)", n, keys);
	tt_ok_xfail_trousers(signs == n, "connections over the cap were closed",
			     "Sign in all %d contexts, in parallel (%d)", n, signs);
	tt_ok(verified == signs, "every signature made verifies (%d of %d)", verified, signs);
}

/* keys of part 1 loaded all at once in two contexts, then used round robin */
static void
part2(int n_keys)
{
	TSS_HCONTEXT ctx[2] = {0, 0};
	TSS_HTPM tpm[2];
	TSS_HKEY srk[2], keys[MAX_THREADS];
	int owner[MAX_THREADS], which[MAX_THREADS], n = 0, loaded = 0, signed_ok = 0,
	    verified = 0, printed = 0;
	BYTE *slots_p = NULL;
	UINT32 slots = 0, len = 0, sub = TSS_TPMCAP_PROP_SLOTS;

	TSS_RESULT rc, first_rc = 0;
	double t0 = tt_now_ms();

	for (int c = 0; c < 2; c++)
		if (!tt_rc(tt_connect(&ctx[c], &tpm[c], &srk[c]), 0, "part 2: context %d", c))
			return;
	if (Tspi_TPM_GetCapability(tpm[0], TSS_TPMCAP_PROPERTY, 4, (BYTE *)&sub, &len, &slots_p) ==
	    0 && len == 4)
		memcpy(&slots, slots_p, 4);
	for (int i = 0; i < MAX_THREADS && n < n_keys; i++)
		if (workers[i].blob && workers[i].mod)
			which[n++] = i;
	/* part 1 may have made fewer (TrouSerS): make the rest here, one by one */
	if (n < n_keys) {
		int made = 0;

		tt_diag("part 2: %d key blobs from part 1, creating %d more", n, n_keys - n);
		for (int i = 0; i < MAX_THREADS && n < n_keys; i++) {
			struct worker *w = &workers[i];
			TSS_HKEY key;
			BYTE *p = NULL;

			if (w->blob && w->mod)
				continue;
			free(w->blob);
			free(w->mod);
			w->blob = w->mod = NULL;
			rc = tt_create_key(ctx[0], srk[0], TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
					   TSS_KEY_NO_AUTHORIZATION | TSS_KEY_NOT_MIGRATABLE, NULL,
					   0, &key);
			if (rc == 0)
				rc = Tspi_GetAttribData(key, TSS_TSPATTRIB_KEY_BLOB,
							TSS_TSPATTRIB_KEYBLOB_BLOB, &len, &p);
			if (rc == 0) {
				w->blob = dup_mem(p, len);
				w->blob_len = len;
				rc = tt_attrib_modulus(key, &p, &len);
			}
			if (rc == 0) {
				w->mod = dup_mem(p, len);
				w->mod_len = len;
				which[n++] = i;
				made++;
			}
			Tspi_Context_CloseObject(ctx[0], key);
			if (rc) {
				first_rc = rc;
				break;
			}
		}
		tt_rc(first_rc, 0, "part 2: created %d more signing keys", made);
		first_rc = 0;
	}
	if (n == 0)
		return;
	tt_diag("the TPM reports %u key slots; loading %d keys", slots, n);
	for (int k = 0; k < n; k++) {
		struct worker *w = &workers[which[k]];

		owner[k] = k % 2;
		rc = Tspi_Context_LoadKeyByBlob(ctx[owner[k]], srk[owner[k]], w->blob_len, w->blob,
						&keys[k]);
		if (rc == 0)
			loaded++;
		else {
			keys[k] = 0;
			if (!first_rc)
				first_rc = rc;
		}
	}
	tt_rc(loaded == n ? 0 : first_rc, 0, "LoadKeyByBlob %d keys at once (%d loaded; TPM has %u "
	      "slots)", n, loaded, slots);
	/* interleaved: the last loaded first, alternating the contexts */
	first_rc = 0;
	for (int r = 0; r < n; r++) {
		int k = (r % 2) ? r / 2 : n - 1 - r / 2;
		struct worker *w = &workers[which[k]];
		BYTE digest[20], *sig = NULL;
		UINT32 sig_len = 0;
		char msg[64];

		if (!keys[k])
			continue;
		snprintf(msg, sizeof(msg), "part 2 key %d", k);
		tt_sha1(msg, strlen(msg), digest);
		rc = tt_sign(ctx[owner[k]], keys[k], digest, &sig, &sig_len);
		if (rc) {
			if (!first_rc)
				first_rc = rc;
			if (printed++ < 5)
				tt_diag("part 2: sign with key %d failed: 0x%x (%s)", k, rc,
					tt_err(rc));
			continue;
		}
		signed_ok++;
		verified += tt_openssl_verify(w->mod, w->mod_len, 65537, digest, sig, sig_len);
		Tspi_Context_FreeMemory(ctx[owner[k]], sig);
	}
	tt_rc_xfail_trousers(signed_ok == n ? 0 : first_rc, 0, TPM_E_AUTHFAIL,
			     "evicted keys are reloaded without the SRK's authorisation",
			     "sign with each of the %d loaded keys, interleaved (%d signed)", n,
			     signed_ok);
	tt_ok(verified == signed_ok, "every part-2 signature verifies with its own key's public "
	      "key (%d of %d)", verified, signed_ok);
	for (int c = 0; c < 2; c++)
		tt_rc(Tspi_Context_Close(ctx[c]), 0, "part 2: close context %d", c);
	tt_diag("part 2 took %.0f ms", tt_now_ms() - t0);
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;
	int n_keys = argc > 2 ? atoi(argv[2]) : 30;
	double t0 = tt_now_ms();

	if (n < 1 || n > MAX_THREADS || n_keys < 1 || n_keys > MAX_THREADS) {
		fprintf(stderr, "usage: tspi-sessions [THREADS [KEYS]] (1..%d)\n", MAX_THREADS);
		return 2;
	}
	tt_plan_name("tspi-sessions");
	part1(n);
	part2(n_keys);
	for (int i = 0; i < n; i++) {
		free(workers[i].blob);
		free(workers[i].mod);
	}
	tt_diag("tspi-sessions took %.0f ms", tt_now_ms() - t0);
	return tt_done();
}

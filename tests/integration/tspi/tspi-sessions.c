/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-sessions.c - many clients and many keys at once through libtspi.
 *
 * Part 1, concurrency: N clients (default 50), each a process with its own
 * context and connection (Tspi_Context_Create + Connect). All connect first
 * and wait at a barrier, so N connections are open at the same time; then
 * each client, in parallel: GetRandom, creates its own 2048-bit signing key
 * under the SRK (OSAP), loads it (OIAP), signs a SHA-1 digest (odd clients'
 * keys need usage auth: one more OIAP session each) and verifies the
 * signature (libtspi and OpenSSL). All must succeed. TrouSerS 0.3.15 serves
 * at most num_threads (10) connections and closes the others: a known
 * TrouSerS failure.
 *
 * The clients are processes, not threads, because libtspi 0.3.15 is not
 * thread-safe: obj_get_next_handle() reads the global handle counter after
 * dropping its lock, so two threads can get the same TSP handle (seen: two
 * Tspi_Context_Create calls returning one context handle -> 0x3103 "already
 * connected" in one thread and a stray CLOSECONTEXT / 0x20c1 in the other).
 *
 * Part 2, more keys than TPM key slots: the key blobs of part 1 (created
 * here when part 1 made too few, as on TrouSerS) are loaded again
 * (Tspi_Context_LoadKeyByBlob) into two contexts on two connections, all at
 * once (more than the TPM's slots, queried), then each key signs in an
 * interleaved order and every signature is verified with OpenSSL against the
 * key's own public key. The daemon has to swap keys in and out of the TPM.
 * TrouSerS 0.3.15 evicts keys to make room and later reloads them from the
 * blob without authorisation: under the SRK (which needs auth) the TPM answers
 * TPM_AUTHFAIL - a known TrouSerS failure. Our tcsd uses TPM_SaveContext.
 *
 * Usage: tspi-sessions [CLIENTS [KEYS_IN_PART_2]]   (TSS_TCSD_HOSTNAME/PORT;
 *        owned TPM, well-known secrets). Bounded: 1..200 each.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tspi-common.h"

#define MAX_THREADS 200
#define BARRIER_TIMEOUT_MS 120000.0

/* one per client, in memory shared with the parent */
struct worker {
	pid_t pid;
	int id;
	int connected, random_ok, key_ok, sign_ok, verify_ok;
	TSS_RESULT rc;
	char failed_at[32];
	BYTE blob[2048]; /* the wrapped key blob */
	UINT32 blob_len;
	BYTE mod[512]; /* its modulus */
	UINT32 mod_len;
	double ms;
};

struct shared {
	int arrived_connected, arrived_done;
	struct worker w[MAX_THREADS];
};

static struct shared *shm;
static struct worker *workers;

/* a barrier that cannot hang: a dead client only makes the others wait the timeout */
static void
barrier(int *counter, int n)
{
	double deadline = tt_now_ms() + BARRIER_TIMEOUT_MS;

	__atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(counter, __ATOMIC_SEQ_CST) < n && tt_now_ms() < deadline)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
}

static void
fail_at(struct worker *w, const char *what)
{
	snprintf(w->failed_at, sizeof(w->failed_at), "%s", what);
}

static void
worker_main(struct worker *w, int n)
{
	TSS_HCONTEXT ctx = 0;
	TSS_HTPM tpm;
	TSS_HKEY srk, key;
	BYTE *rnd = NULL, *sig = NULL, *p = NULL, digest[20];
	UINT32 sig_len = 0, len = 0;
	char msg[64];
	double t0;

	w->rc = tt_connect(&ctx, &tpm, &srk);
	w->connected = w->rc == 0;
	if (!w->connected)
		fail_at(w, "connect");
	/* everybody is connected (or failed to) before anyone works */
	barrier(&shm->arrived_connected, n);
	t0 = tt_now_ms();
	if (!w->connected)
		goto done;

	w->rc = Tspi_TPM_GetRandom(tpm, 20, &rnd);
	if (w->rc) {
		fail_at(w, "GetRandom");
		goto done;
	}
	w->random_ok = 1;
	/* odd clients: a key with usage auth, so each sign needs its own OIAP session */
	w->rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			      (w->id % 2 ? TSS_KEY_AUTHORIZATION : TSS_KEY_NO_AUTHORIZATION) |
			      TSS_KEY_NOT_MIGRATABLE, "worker-secret", 1, &key);
	if (w->rc) {
		fail_at(w, "CreateKey/LoadKey");
		goto done;
	}
	w->key_ok = 1;
	if (Tspi_GetAttribData(key, TSS_TSPATTRIB_KEY_BLOB, TSS_TSPATTRIB_KEYBLOB_BLOB, &len,
			       &p) == 0 && len <= sizeof(w->blob)) {
		memcpy(w->blob, p, len);
		w->blob_len = len;
	}
	if (tt_attrib_modulus(key, &p, &len) == 0 && len <= sizeof(w->mod)) {
		memcpy(w->mod, p, len);
		w->mod_len = len;
	}
	snprintf(msg, sizeof(msg), "tspi-sessions worker %d", w->id);
	tt_sha1(msg, strlen(msg), digest);
	w->rc = tt_sign(ctx, key, digest, &sig, &sig_len);
	if (w->rc) {
		fail_at(w, "Sign");
		goto done;
	}
	w->sign_ok = 1;
	w->verify_ok = tt_verify_tspi(ctx, key, digest, sig, sig_len) == 0 && w->mod_len &&
		       tt_openssl_verify(w->mod, w->mod_len, 65537, digest, sig, sig_len);
	if (!w->verify_ok)
		fail_at(w, "verify");
done:
	w->ms = tt_now_ms() - t0;
	/* keep every connection open until all are done */
	barrier(&shm->arrived_done, n);
	if (ctx) {
		Tspi_Context_FreeMemory(ctx, NULL);
		Tspi_Context_Close(ctx);
	}
}

static void
part1(int n)
{
	int connected = 0, rnd = 0, keys = 0, signs = 0, verified = 0, printed = 0, crashed = 0;
	double t0 = tt_now_ms(), max_ms = 0;

	fflush(stdout);
	for (int i = 0; i < n; i++) {
		pid_t pid;

		workers[i].id = i;
		pid = fork();
		if (pid < 0) {
			tt_ok(0, "fork client %d: %s", i, strerror(errno));
			/* let the started clients pass their barriers */
			__atomic_add_fetch(&shm->arrived_connected, n - i, __ATOMIC_SEQ_CST);
			__atomic_add_fetch(&shm->arrived_done, n - i, __ATOMIC_SEQ_CST);
			n = i;
			break;
		}
		if (pid == 0) {
			worker_main(&workers[i], n);
			_exit(0);
		}
		workers[i].pid = pid;
	}
	for (int i = 0; i < n; i++) {
		int status = 0;

		while (waitpid(workers[i].pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			crashed++;
			tt_diag("client %d (pid %d) died: status 0x%x", i, (int)workers[i].pid,
				status);
		}
	}
	for (int i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		connected += w->connected;
		rnd += w->random_ok;
		keys += w->key_ok;
		signs += w->sign_ok;
		verified += w->verify_ok;
		if (w->ms > max_ms)
			max_ms = w->ms;
		if (w->failed_at[0] && printed++ < 5)
			tt_diag("client %d failed at %s: 0x%x (%s)", i, w->failed_at, w->rc,
				tt_err(w->rc));
	}
	tt_diag("%d clients: %.0f ms in all, slowest client %.0f ms after the barrier", n,
		tt_now_ms() - t0, max_ms);
	tt_ok(crashed == 0, "no client process crashed (%d)", crashed);
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
		if (workers[i].blob_len && workers[i].mod_len)
			which[n++] = i;
	/* part 1 may have made fewer (TrouSerS): make the rest here, one by one */
	if (n < n_keys) {
		int made = 0;

		tt_diag("part 2: %d key blobs from part 1, creating %d more", n, n_keys - n);
		for (int i = 0; i < MAX_THREADS && n < n_keys; i++) {
			struct worker *w = &workers[i];
			TSS_HKEY key = 0;
			BYTE *p = NULL;

			if (w->blob_len && w->mod_len)
				continue;
			w->blob_len = w->mod_len = 0;
			rc = tt_create_key(ctx[0], srk[0], TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
					   TSS_KEY_NO_AUTHORIZATION | TSS_KEY_NOT_MIGRATABLE, NULL,
					   0, &key);
			if (rc == 0)
				rc = Tspi_GetAttribData(key, TSS_TSPATTRIB_KEY_BLOB,
							TSS_TSPATTRIB_KEYBLOB_BLOB, &len, &p);
			if (rc == 0 && len <= sizeof(w->blob)) {
				memcpy(w->blob, p, len);
				w->blob_len = len;
				rc = tt_attrib_modulus(key, &p, &len);
			}
			if (rc == 0 && len <= sizeof(w->mod)) {
				memcpy(w->mod, p, len);
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
		/* the odd clients' keys need their usage secret (unused by the others) */
		if (rc == 0)
			rc = tt_set_usage_secret(ctx[owner[k]], keys[k], "worker-secret", NULL);
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
		fprintf(stderr, "usage: tspi-sessions [CLIENTS [KEYS]] (1..%d)\n", MAX_THREADS);
		return 2;
	}
	tt_plan_name("tspi-sessions");
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		tt_ok(0, "mmap shared memory: %s", strerror(errno));
		return tt_done();
	}
	memset(shm, 0, sizeof(*shm));
	workers = shm->w;
	part1(n);
	part2(n_keys);
	tt_diag("tspi-sessions took %.0f ms", tt_now_ms() - t0);
	return tt_done();
}

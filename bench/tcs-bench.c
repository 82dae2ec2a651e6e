/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-bench - libtspi workloads against a TCSD (ours or TrouSerS'), through
 * the unmodified TrouSerS client library. TSS_TCSD_HOSTNAME / TSS_TCSD_PORT
 * select the daemon. sign, keythrash and mkkeys need an owned TPM with the
 * well-known SRK secret (tpm_takeownership -y -z).
 *
 * Usage: tcs-bench MODE [-c CLIENTS] [-k KEYS] [-K DIR] [-d SECONDS] [-n COUNT]
 *                       [-P PID] [-w SECONDS] [-t SECONDS]
 *   MODE
 *     random     each client: one context, then Tspi_TPM_GetRandom(20) in a loop
 *     connect    each client: Tspi_Context_Create + Connect + Close in a loop
 *     sign       each client loads DIR/key-0.blob (Tspi_Context_LoadKeyByBlob
 *                under the SRK) and signs a SHA-1 digest in a loop; the key's
 *                usage secret is the well-known one, so every Tspi_Hash_Sign
 *                is OIAP + Sign (two TCSD requests). The first signature of
 *                every client is verified.
 *     keythrash  like sign over KEYS keys DIR/key-0..KEYS-1.blob: with
 *                CLIENTS >= KEYS client i loads key i % KEYS only; with fewer
 *                clients every client loads all KEYS keys and signs with them
 *                in turn (client i starts at key i * KEYS / CLIENTS).
 *     mkkeys     create KEYS 2048-bit RSA signing keys under the SRK (usage
 *                secret well-known, PKCS#1 v1.5 SHA-1) into DIR/key-N.blob
 *   -c CLIENTS  client processes (1..2000, default 1)
 *   -k KEYS     keys for keythrash / mkkeys (1..1000, default 1)
 *   -K DIR      key blob directory (default .)
 *   -d SECONDS  stop each client's loop after SECONDS (0 = only -n)
 *   -n COUNT    at most COUNT operations per client (default 1000; 100000
 *               when -d is given, capped so all latencies fit in 64 MiB)
 *   -P PID      report the VmRSS of PID (the daemon) before the clients
 *               start, once all are connected and set up, and once all are
 *               done (still connected)
 *   -w SECONDS  wait at most SECONDS for every client's set-up (default 120)
 *   -t SECONDS  hard limit: a client still running after its set-up plus
 *               -d/-t is killed by SIGALRM (default 300)
 *
 * Clients are processes, not threads: each has its own copy of libtspi (whose
 * 0.3.15 internals - object lists, the per-context socket, the error
 * strings - were not written for many threads sharing one library), and a
 * TCSD sees exactly what it sees in real life, one process per client. All
 * clients set up (connect, load keys), report ready over a pipe, then start
 * together when the parent closes the "go" pipe; they stay connected until
 * the parent has taken its measurements and closes the "release" pipe.
 *
 * Output: one line on stdout,
 *   tcs-bench mode=random clients=8 keys=0 secs=2.001 setup_secs=0.02 ops=...
 *     errors=0 failed_clients=0 refused=0 ops_per_s=... p50_us=... p90_us=...
 *     p99_us=... max_us=... rss_before_kib=... rss_connected_kib=... rss_busy_kib=...
 * ops/s = successful operations of all clients / wall time from the common
 * start to the last client's end. failed_clients = clients whose set-up
 * failed; refused = those whose connect failed with a communication failure
 * (the daemon closed the connection: TrouSerS' connection cap). The rss_*
 * fields are -1 without -P. Exit status 0 when every client set up and no
 * operation failed, 1 otherwise, 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tss/tspi.h>
#include <trousers/trousers.h>

#define MAX_CLIENTS 2000
#define MAX_KEYS 1000
#define MAX_BLOB 4096
#define LAT_BUDGET (64u << 20) /* bytes for all latencies */

enum mode { M_RANDOM, M_CONNECT, M_SIGN, M_KEYTHRASH, M_MKKEYS };
static const char *const mode_names[] = { "random", "connect", "sign", "keythrash", "mkkeys" };

/* per-client results, in memory shared with the parent */
struct result {
	int setup_ok;
	int refused;
	long ops;
	long errors;
	TSS_RESULT first_error;
};

static enum mode mode;
static int clients = 1, nkeys = 1;
static long max_ops = -1;
static double duration, setup_wait = 120, hard_limit = 300;
static const char *keydir = ".";
static pid_t rss_pid;

static BYTE wellknown[20] = TSS_WELL_KNOWN_SECRET;

struct blob {
	BYTE *data;
	UINT32 len;
};
static struct blob *blobs;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tspi_fail(const char *what, TSS_RESULT r)
{
	fprintf(stderr, "tcs-bench[%d]: %s: 0x%08x (%s)\n", (int)getpid(), what, r,
		Trspi_Error_String(r));
}

#define CK(call)                                   \
	do {                                       \
		TSS_RESULT r_ = (call);            \
		if (r_ != TSS_SUCCESS) {           \
			tspi_fail(#call, r_);      \
			last_rc = r_;              \
			goto fail;                 \
		}                                  \
	} while (0)

static TSS_RESULT last_rc;

/* VmRSS of pid in KiB, -1 when unknown */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* --------------------------------------------------------------- key blobs */

static int read_blob(int i, struct blob *b)
{
	char path[PATH_MAX];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/key-%d.blob", keydir, i);
	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st) || st.st_size <= 0 || st.st_size > MAX_BLOB) {
		fprintf(stderr, "tcs-bench: cannot read key blob %s (make it with mkkeys)\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	b->len = st.st_size;
	b->data = malloc(b->len);
	if (!b->data || fread(b->data, 1, b->len, f) != b->len) {
		fprintf(stderr, "tcs-bench: short read on %s\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int write_blob(int i, const BYTE *data, UINT32 len)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(path, sizeof(path), "%s/key-%d.blob", keydir, i);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) || rename(tmp, path)) {
		perror(path);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ libtspi */

static int load_srk(TSS_HCONTEXT ctx, TSS_HKEY *srk)
{
	TSS_UUID srk_uuid = TSS_UUID_SRK;
	TSS_HPOLICY pol;

	CK(Tspi_Context_LoadKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, srk_uuid, srk));
	CK(Tspi_GetPolicyObject(*srk, TSS_POLICY_USAGE, &pol));
	CK(Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_SHA1, sizeof(wellknown), wellknown));
	return 0;
fail:
	return -1;
}

static int wellknown_policy(TSS_HCONTEXT ctx, TSS_HPOLICY *pol)
{
	CK(Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_POLICY, TSS_POLICY_USAGE, pol));
	CK(Tspi_Policy_SetSecret(*pol, TSS_SECRET_MODE_SHA1, sizeof(wellknown), wellknown));
	return 0;
fail:
	return -1;
}

static int do_mkkeys(void)
{
	TSS_HCONTEXT ctx;
	TSS_HKEY srk, key;
	TSS_HPOLICY pol;
	TSS_FLAG flags = TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 | TSS_KEY_NOT_MIGRATABLE |
			 TSS_KEY_AUTHORIZATION;
	BYTE *b;
	UINT32 blen;
	double t0 = now_s();
	int i;

	CK(Tspi_Context_Create(&ctx));
	CK(Tspi_Context_Connect(ctx, NULL));
	if (load_srk(ctx, &srk) || wellknown_policy(ctx, &pol))
		return 1;
	for (i = 0; i < nkeys; i++) {
		if (duration > 0 && now_s() - t0 > duration) {
			fprintf(stderr, "tcs-bench: mkkeys: time limit hit after %d keys\n", i);
			return 1;
		}
		CK(Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_RSAKEY, flags, &key));
		CK(Tspi_SetAttribUint32(key, TSS_TSPATTRIB_KEY_INFO, TSS_TSPATTRIB_KEYINFO_SIGSCHEME,
					TSS_SS_RSASSAPKCS1V15_SHA1));
		CK(Tspi_Policy_AssignToObject(pol, key));
		CK(Tspi_Key_CreateKey(key, srk, 0));
		CK(Tspi_GetAttribData(key, TSS_TSPATTRIB_KEY_BLOB, TSS_TSPATTRIB_KEYBLOB_BLOB, &blen, &b));
		if (write_blob(i, b, blen))
			return 1;
		Tspi_Context_FreeMemory(ctx, b);
		Tspi_Context_CloseObject(ctx, key);
	}
	Tspi_Context_Close(ctx);
	printf("tcs-bench mode=mkkeys keys=%d secs=%.3f\n", nkeys, now_s() - t0);
	return 0;
fail:
	return 1;
}

/* ------------------------------------------------------------------ clients */

struct client {
	int id;
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_HHASH hash;
	TSS_HKEY keys[MAX_KEYS];
	int nk;    /* keys this client signs with */
	int first; /* keys[] index of its first signature */
	int verified[MAX_KEYS];
};

static int client_setup(struct client *c, struct result *res)
{
	TSS_HKEY srk;
	TSS_HPOLICY pol;
	TSS_RESULT r;
	int i, k0;

	if (mode == M_CONNECT)
		return 0;
	CK(Tspi_Context_Create(&c->ctx));
	r = Tspi_Context_Connect(c->ctx, NULL);
	if (r != TSS_SUCCESS) {
		if (ERROR_CODE(r) == TSS_E_COMM_FAILURE)
			res->refused = 1;
		else
			tspi_fail("Tspi_Context_Connect", r);
		last_rc = r;
		return -1;
	}
	CK(Tspi_Context_GetTpmObject(c->ctx, &c->tpm));
	if (mode == M_RANDOM)
		return 0;

	/* sign / keythrash: which keys does this client use? */
	if (mode == M_SIGN) {
		c->nk = 1;
		k0 = 0;
		c->first = 0;
	} else if (clients >= nkeys) {
		c->nk = 1;
		k0 = c->id % nkeys;
		c->first = 0;
	} else {
		c->nk = nkeys;
		k0 = 0;
		c->first = (int)((long)c->id * nkeys / clients);
	}
	if (load_srk(c->ctx, &srk) || wellknown_policy(c->ctx, &pol))
		return -1;
	for (i = 0; i < c->nk; i++) {
		struct blob *b = &blobs[k0 + i];

		CK(Tspi_Context_LoadKeyByBlob(c->ctx, srk, b->len, b->data, &c->keys[i]));
		CK(Tspi_Policy_AssignToObject(pol, c->keys[i]));
	}
	CK(Tspi_Context_CreateObject(c->ctx, TSS_OBJECT_TYPE_HASH, TSS_HASH_SHA1, &c->hash));
	return 0;
fail:
	return -1;
}

static TSS_RESULT client_op(struct client *c, long n)
{
	TSS_RESULT r, r2;
	BYTE *buf, digest[20];
	UINT32 len;
	TSS_HCONTEXT c2;
	int k;

	switch (mode) {
	case M_RANDOM:
		r = Tspi_TPM_GetRandom(c->tpm, 20, &buf);
		if (r == TSS_SUCCESS)
			Tspi_Context_FreeMemory(c->ctx, buf);
		return r;
	case M_CONNECT:
		r = Tspi_Context_Create(&c2);
		if (r != TSS_SUCCESS)
			return r;
		r = Tspi_Context_Connect(c2, NULL);
		r2 = Tspi_Context_Close(c2);
		return r != TSS_SUCCESS ? r : r2;
	case M_SIGN:
	case M_KEYTHRASH:
		k = (int)((c->first + n) % c->nk);
		memset(digest, 0, sizeof(digest));
		memcpy(digest, &c->id, sizeof(c->id));
		memcpy(digest + 4, &n, sizeof(n));
		r = Tspi_Hash_SetHashValue(c->hash, sizeof(digest), digest);
		if (r != TSS_SUCCESS)
			return r;
		r = Tspi_Hash_Sign(c->hash, c->keys[k], &len, &buf);
		if (r != TSS_SUCCESS)
			return r;
		if (!c->verified[k]) {
			/* software verification inside libtspi, once per key */
			r = Tspi_Hash_VerifySignature(c->hash, c->keys[k], len, buf);
			if (r != TSS_SUCCESS)
				fprintf(stderr, "tcs-bench[%d]: signature does not verify\n", c->id);
			c->verified[k] = 1;
		}
		Tspi_Context_FreeMemory(c->ctx, buf);
		return r;
	default:
		return TSS_E_FAIL;
	}
}

/* wait until fd reaches EOF (the parent closed the other end) */
static void wait_eof(int fd)
{
	char ch;
	ssize_t r;

	do
		r = read(fd, &ch, 1);
	while (r > 0 || (r < 0 && errno == EINTR));
}

static void run_client(int id, int ready_fd, int done_fd, int go_fd, int release_fd,
		       struct result *res, float *lat, long cap)
{
	static struct client c;
	double t0, tstart;
	long i;
	TSS_RESULT r;
	char ok;

	c.id = id;
	alarm((unsigned)(setup_wait + 5)); /* the parent gives up waiting 3 s earlier */
	ok = client_setup(&c, res) ? 'f' : 'o';
	res->setup_ok = ok == 'o';
	if (ok == 'f')
		res->first_error = last_rc;
	if (write(ready_fd, &ok, 1) != 1)
		_exit(3);
	if (ok == 'f') {
		if (write(done_fd, &ok, 1) != 1)
			_exit(3);
		_exit(1);
	}
	wait_eof(go_fd);
	alarm((unsigned)((duration > 0 ? duration : 0) + hard_limit));
	tstart = now_s();
	for (i = 0; i < cap; i++) {
		if (duration > 0 && now_s() - tstart >= duration)
			break;
		t0 = now_s();
		r = client_op(&c, i);
		if (r != TSS_SUCCESS) {
			if (res->errors < 3)
				tspi_fail("operation", r);
			if (!res->errors)
				res->first_error = r;
			res->errors++;
			continue;
		}
		lat[res->ops++] = (float)((now_s() - t0) * 1e6);
	}
	if (write(done_fd, "d", 1) != 1)
		_exit(3);
	wait_eof(release_fd);
	if (c.ctx)
		Tspi_Context_Close(c.ctx);
	_exit(res->errors ? 1 : 0);
}

/* read up to n bytes (one per client) from fd until deadline; returns count */
static int collect(int fd, int n, double deadline)
{
	char buf[256];
	int got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = deadline - now_s();
		ssize_t r;

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		r = read(fd, buf, sizeof(buf) < (size_t)(n - got) ? sizeof(buf) : (size_t)(n - got));
		if (r == 0)
			break; /* every client is gone */
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += r;
	}
	return got;
}

static int cmp_f(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: tcs-bench random|connect|sign|keythrash|mkkeys [-c CLIENTS] [-k KEYS] "
			"[-K DIR] [-d SECONDS] [-n COUNT] [-P PID] [-w SECONDS] [-t SECONDS]\n");
}

int main(int argc, char **argv)
{
	int opt, i, ready[2], done[2], go[2], release[2], status;
	int failed = 0, refused = 0, got_ready, got_done;
	long ops = 0, errors = 0, cap, rss_before, rss_conn, rss_busy;
	size_t k, n;
	pid_t *pids;
	struct result *res;
	float *lat;
	double t_fork, t_go, t_end;
	TSS_RESULT first_error = 0;

	if (argc < 2 || argv[1][0] == '-') {
		usage();
		return 2;
	}
	for (i = 0; i < (int)(sizeof(mode_names) / sizeof(mode_names[0])); i++)
		if (!strcmp(argv[1], mode_names[i]))
			break;
	if (i == (int)(sizeof(mode_names) / sizeof(mode_names[0]))) {
		usage();
		return 2;
	}
	mode = i;
	optind = 2;
	while ((opt = getopt(argc, argv, "c:k:K:d:n:P:w:t:")) != -1) {
		switch (opt) {
		case 'c': clients = atoi(optarg); break;
		case 'k': nkeys = atoi(optarg); break;
		case 'K': keydir = optarg; break;
		case 'd': duration = atof(optarg); break;
		case 'n': max_ops = atol(optarg); break;
		case 'P': rss_pid = atoi(optarg); break;
		case 'w': setup_wait = atof(optarg); break;
		case 't': hard_limit = atof(optarg); break;
		default: usage(); return 2;
		}
	}
	if (clients < 1 || clients > MAX_CLIENTS || nkeys < 1 || nkeys > MAX_KEYS ||
	    duration < 0 || duration > 3600 || setup_wait <= 0 || setup_wait > 3600 ||
	    hard_limit <= 0 || hard_limit > 3600 || max_ops == 0 || max_ops > 100000000) {
		fprintf(stderr, "tcs-bench: bad -c/-k/-d/-n/-w/-t\n");
		return 2;
	}
	if (mode == M_MKKEYS)
		return do_mkkeys();
	if (mode == M_SIGN)
		nkeys = 1;
	if (mode == M_SIGN || mode == M_KEYTHRASH) {
		blobs = calloc(nkeys, sizeof(*blobs));
		for (i = 0; i < nkeys; i++)
			if (read_blob(i, &blobs[i]))
				return 2;
	}
	if (max_ops < 0)
		max_ops = duration > 0 ? 100000 : 1000;
	cap = max_ops;
	if ((size_t)cap * clients > LAT_BUDGET / sizeof(float))
		cap = LAT_BUDGET / sizeof(float) / clients;

	res = mmap(NULL, sizeof(*res) * clients, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	lat = mmap(NULL, sizeof(float) * cap * clients, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc(clients, sizeof(*pids));
	if (res == MAP_FAILED || lat == MAP_FAILED || !pids) {
		perror("tcs-bench: memory");
		return 1;
	}
	if (pipe2(ready, O_CLOEXEC) || pipe2(done, O_CLOEXEC) || pipe2(go, O_CLOEXEC) ||
	    pipe2(release, O_CLOEXEC)) {
		perror("tcs-bench: pipe");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	rss_before = rss_kib(rss_pid);
	t_fork = now_s();
	for (i = 0; i < clients; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("tcs-bench: fork");
			clients = i; /* run with the clients we have */
			break;
		}
		if (pids[i] == 0) {
			close(ready[0]);
			close(done[0]);
			close(go[1]);
			close(release[1]);
			run_client(i, ready[1], done[1], go[0], release[0], &res[i], lat + (size_t)i * cap, cap);
		}
	}
	close(ready[1]);
	close(done[1]);
	close(go[0]);
	close(release[0]);

	/* set-up barrier: every client connected (and holding its keys) */
	got_ready = collect(ready[0], clients, t_fork + setup_wait + 2);
	if (got_ready < clients)
		fprintf(stderr, "tcs-bench: only %d of %d clients reported their set-up\n", got_ready, clients);
	rss_conn = rss_kib(rss_pid);
	t_go = now_s();
	close(go[1]);
	got_done = collect(done[0], clients,
			   t_go + (duration > 0 ? duration : 0) + hard_limit + 2);
	t_end = now_s();
	if (got_done < clients)
		fprintf(stderr, "tcs-bench: only %d of %d clients finished\n", got_done, clients);
	rss_busy = rss_kib(rss_pid);
	close(release[1]);
	for (i = 0; i < clients; i++) {
		if (waitpid(pids[i], &status, 0) < 0)
			continue;
		if (WIFSIGNALED(status))
			fprintf(stderr, "tcs-bench: client %d killed by signal %d\n", i, WTERMSIG(status));
	}

	n = 0;
	for (i = 0; i < clients; i++) {
		if (!res[i].setup_ok) {
			failed++;
			refused += res[i].refused;
		}
		if (!first_error)
			first_error = res[i].first_error;
		ops += res[i].ops;
		errors += res[i].errors;
		/* compact the successful latencies */
		memmove(lat + n, lat + (size_t)i * cap, sizeof(float) * res[i].ops);
		n += res[i].ops;
	}
	if (failed && refused < failed)
		fprintf(stderr, "tcs-bench: %d clients failed their set-up (first error 0x%08x)\n",
			failed - refused, first_error);
	qsort(lat, n, sizeof(float), cmp_f);
#define PCT(p) (n ? lat[(size_t)((p) * (n - 1) + 0.5)] : 0.0)
	k = n ? n - 1 : 0;
	printf("tcs-bench mode=%s clients=%d keys=%d secs=%.3f setup_secs=%.3f ops=%ld errors=%ld "
	       "failed_clients=%d refused=%d ops_per_s=%.1f p50_us=%.0f p90_us=%.0f p99_us=%.0f "
	       "max_us=%.0f rss_before_kib=%ld rss_connected_kib=%ld rss_busy_kib=%ld\n",
	       mode_names[mode], clients, mode == M_KEYTHRASH || mode == M_SIGN ? nkeys : 0,
	       t_end - t_go, t_go - t_fork, ops, errors, failed, refused,
	       t_end > t_go ? ops / (t_end - t_go) : 0.0, PCT(0.50), PCT(0.90), PCT(0.99),
	       n ? lat[k] : 0.0, rss_before, rss_conn, rss_busy);
	return (errors || failed || got_done < clients) ? 1 : 0;
}

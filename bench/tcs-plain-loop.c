/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-plain-loop - the cross-check for bench/run.sh's small-command rows:
 * the simplest possible loop, one process, no fork, no pipes, no per-operation
 * clock. If tcs-bench (1 client) and this disagree, the benchmark measures
 * itself.
 *
 * Usage: tcs-plain-loop random|connect [-d SECONDS] [-n COUNT]
 *        tcs-plain-loop raw -p SWTPM_PORT [-d SECONDS] [-n COUNT]
 *   random   one libtspi context, Tspi_TPM_GetRandom(20) back to back
 *   connect  Tspi_Context_Create + Connect + Close back to back
 *   raw      TPM_GetRandom(20) on one persistent TCP connection to swtpm,
 *            no TSS (swtpm serves one client: no tcsd may be connected)
 *   -d SECONDS  stop after SECONDS (checked every 64 operations; default 2)
 *   -n COUNT    stop after COUNT operations (default 10000000)
 * TSS_TCSD_HOSTNAME / TSS_TCSD_PORT select the daemon (random, connect).
 *
 * Output: one line on stdout,
 *   tcs-plain-loop mode=random secs=... ops=... errors=... ops_per_s=...
 * Exit status 0 when no operation failed, 1 otherwise, 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tss/tspi.h>
#include <trousers/trousers.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* TPM_GetRandom(20): tag RQU_COMMAND, size 14, ordinal 0x46, bytesRequested */
static const uint8_t getrandom_cmd[14] = { 0x00, 0xc1, 0, 0, 0, 14, 0, 0, 0, 0x46, 0, 0, 0, 20 };

static int raw_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 30 };
	int fd, one = 1;

	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("tcs-plain-loop: connect 127.0.0.1");
		return -1;
	}
	return fd;
}

/* one GetRandom(20) round trip; 0 on success, -1 when the connection is lost */
static int raw_getrandom(int fd, int *tpm_error)
{
	uint8_t rsp[64];
	size_t got = 0;

	if (write(fd, getrandom_cmd, sizeof(getrandom_cmd)) != (ssize_t)sizeof(getrandom_cmd))
		return -1;
	while (got < 10 || got < ((size_t)rsp[4] << 8 | rsp[5])) {
		ssize_t r = read(fd, rsp + got, sizeof(rsp) - got);

		if (r <= 0)
			return -1;
		got += r;
	}
	*tpm_error = got != 34 || rsp[6] || rsp[7] || rsp[8] || rsp[9];
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode;
	double duration = 2, t0, t1;
	long max_ops = 10000000, ops = 0, errors = 0, i;
	int opt, port = 0, fd = -1, raw, conn, bad;
	TSS_HCONTEXT ctx = 0, c2;
	TSS_HTPM tpm;
	TSS_RESULT r;
	BYTE *buf;

	if (argc < 2 || argv[1][0] == '-')
		goto usage;
	mode = argv[1];
	raw = !strcmp(mode, "raw");
	conn = !strcmp(mode, "connect");
	if (!raw && !conn && strcmp(mode, "random"))
		goto usage;
	optind = 2;
	while ((opt = getopt(argc, argv, "p:d:n:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'n': max_ops = atol(optarg); break;
		default: goto usage;
		}
	}
	if (duration <= 0 || duration > 3600 || max_ops < 1 || (raw && (port <= 0 || port > 65535)))
		goto usage;
	alarm((unsigned)duration + 120);

	if (raw) {
		fd = raw_connect(port);
		if (fd < 0)
			return 1;
	} else if (!conn) {
		if ((r = Tspi_Context_Create(&ctx)) || (r = Tspi_Context_Connect(ctx, NULL)) ||
		    (r = Tspi_Context_GetTpmObject(ctx, &tpm))) {
			fprintf(stderr, "tcs-plain-loop: set-up: 0x%08x (%s)\n", r, Trspi_Error_String(r));
			return 1;
		}
	}
	t0 = now_s();
	for (i = 0; i < max_ops; i++) {
		if ((i & 63) == 0 && now_s() - t0 >= duration)
			break;
		if (raw) {
			if (raw_getrandom(fd, &bad)) {
				fprintf(stderr, "tcs-plain-loop: connection to swtpm lost\n");
				errors++;
				break;
			}
			r = bad ? TSS_E_FAIL : TSS_SUCCESS;
		} else if (conn) {
			r = Tspi_Context_Create(&c2);
			if (r == TSS_SUCCESS) {
				r = Tspi_Context_Connect(c2, NULL);
				if (Tspi_Context_Close(c2) != TSS_SUCCESS && r == TSS_SUCCESS)
					r = TSS_E_FAIL;
			}
		} else {
			r = Tspi_TPM_GetRandom(tpm, 20, &buf);
			if (r == TSS_SUCCESS)
				Tspi_Context_FreeMemory(ctx, buf);
		}
		if (r == TSS_SUCCESS)
			ops++;
		else if (errors++ < 3)
			fprintf(stderr, "tcs-plain-loop: %s: 0x%08x\n", mode, r);
	}
	t1 = now_s();
	if (ctx)
		Tspi_Context_Close(ctx);
	if (fd >= 0)
		close(fd);
	printf("tcs-plain-loop mode=%s secs=%.3f ops=%ld errors=%ld ops_per_s=%.1f\n", mode, t1 - t0, ops,
	       errors, t1 > t0 ? ops / (t1 - t0) : 0.0);
	return errors ? 1 : 0;
usage:
	fprintf(stderr, "usage: tcs-plain-loop random|connect [-d SECONDS] [-n COUNT]\n"
			"       tcs-plain-loop raw -p SWTPM_PORT [-d SECONDS] [-n COUNT]\n");
	return 2;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpmluks: LUKS2 volume keys protected by the TPM (docs/luks.md). enroll
 * adds a keyslot with a random passphrase and a "tcs" token holding that
 * passphrase bound to a new TPM bind key under the RK (or the SK), which the
 * token plugin libcryptsetup-token-tcs.so unbinds at open; list shows the
 * tokens; remove wipes a token's keyslot and the token. A TCSD client like
 * tpmencrypt; the device is opened with the caller's rights. See tpmluks(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tcs-luks-tpm.h"
#include "config.h"
#include "tcs-passphrase.h"

/* Exit codes (tpmluks(1)). */
enum {
	TPMLUKS_EXIT_OK = 0,
	TPMLUKS_EXIT_FAIL = 1,      /* local error, I/O, libcryptsetup */
	TPMLUKS_EXIT_USAGE = 2,
	TPMLUKS_EXIT_TPM = 3,       /* tcsd unreachable or a TPM/TSS error */
	TPMLUKS_EXIT_NO_PARENT = 4, /* no RK / SK registered */
	TPMLUKS_EXIT_AUTH = 5,      /* wrong passphrase or PIN, lockout */
	TPMLUKS_EXIT_BADTOKEN = 6,  /* not LUKS2, damaged token, no such token */
	TPMLUKS_EXIT_WRONG_TPM = 7,
	TPMLUKS_EXIT_REFUSED = 8,   /* would leave the volume without a keyslot, no free slot */
};

#define KEY_FILE_MAX (8u << 20) /* cryptsetup's default keyfile-size limit */
#define INTERACTIVE_MAX 512u

typedef struct {
	const char *cmd;
	const char *device;
	const char *key_file;
	bool pin;
	bool sk;
	uint32_t pcr_mask;
	int token;
} Options;

static void
error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("tpmluks: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int
result_exit(TcsLuksResult r)
{
	switch (r) {
	case TCS_LUKS_OK:
		return TPMLUKS_EXIT_OK;
	case TCS_LUKS_E_LOCAL:
		return TPMLUKS_EXIT_FAIL;
	case TCS_LUKS_E_TCSD:
	case TCS_LUKS_E_TPM:
		return TPMLUKS_EXIT_TPM;
	case TCS_LUKS_E_NO_PARENT:
		return TPMLUKS_EXIT_NO_PARENT;
	case TCS_LUKS_E_WRONG_TPM:
		return TPMLUKS_EXIT_WRONG_TPM;
	case TCS_LUKS_E_AUTH:
	case TCS_LUKS_E_LOCKOUT:
		return TPMLUKS_EXIT_AUTH;
	case TCS_LUKS_E_PCR:
	case TCS_LUKS_E_BADTOKEN:
		break;
	}
	return TPMLUKS_EXIT_BADTOKEN;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: tpmluks enroll DEVICE [--pin] [--pcrs LIST] [--sk] [--key-file FILE]\n"
		   "       tpmluks list DEVICE\n"
		   "       tpmluks remove DEVICE [--token N]\n"
		   "  --pin           protect the TPM key with a PIN (asked at open; TPMLUKS_PIN)\n"
		   "  --pcrs LIST     bind the TPM key to the current values of these PCRs (0,7)\n"
		   "  --sk            bind below the SK: never opens on another machine\n"
		   "  --key-file FILE an existing passphrase (whole file) instead of a prompt\n"
		   "  --token N       the tcs token to remove (default: the only one)\n"
		   "Talks to tcsd at $TSS_TCSD_HOSTNAME:$TSS_TCSD_PORT (localhost:30003).\n"
		   "Exit: 0 ok, 1 failure, 2 usage, 3 tcsd/TPM, 4 no RK/SK, 5 passphrase/PIN,\n"
		   "      6 not LUKS2/bad token, 7 another TPM, 8 refused\n");
}

static void
cd_freep(struct crypt_device **cd)
{
	crypt_free(*cd);
}

static int
open_device(const char *device, struct crypt_device **ret)
{
	struct crypt_device *cd = NULL;
	int rc = crypt_init(&cd, device);

	if (rc < 0) {
		error("%s: cannot open: %s", device, strerror(-rc));
		return TPMLUKS_EXIT_FAIL;
	}
	rc = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (rc < 0) {
		error("%s: not a LUKS2 volume (or its header cannot be read): %s", device,
		      strerror(-rc));
		crypt_free(cd);
		return TPMLUKS_EXIT_BADTOKEN;
	}
	*ret = cd;
	return 0;
}

/* The whole key file, as cryptsetup --key-file reads it. */
static int
read_key_file(const char *path, char **ret, size_t *ret_len)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		error("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return TPMLUKS_EXIT_FAIL;
	}
	buf = malloc(KEY_FILE_MAX);
	if (!buf) {
		close(fd);
		return TPMLUKS_EXIT_FAIL;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, KEY_FILE_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error("%s: %s", path, strerror(errno));
			close(fd);
			OPENSSL_cleanse(buf, len);
			free(buf);
			return TPMLUKS_EXIT_FAIL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == KEY_FILE_MAX) {
			error("%s: larger than %u bytes", path, KEY_FILE_MAX);
			close(fd);
			OPENSSL_cleanse(buf, len);
			free(buf);
			return TPMLUKS_EXIT_FAIL;
		}
	}
	close(fd);
	*ret = buf;
	*ret_len = len;
	return 0;
}

static void
secret_free(char *s, size_t len)
{
	if (s)
		OPENSSL_cleanse(s, len);
	free(s);
}

static int
cmd_enroll(const Options *o)
{
	_cleanup_(cd_freep) struct crypt_device *cd = NULL;
	struct crypt_pbkdf_type pbkdf = {
		/* the keyslot passphrase is 256 random bits: stretching it buys nothing */
		.type = CRYPT_KDF_PBKDF2,
		.hash = "sha256",
		.iterations = 1000,
		.flags = CRYPT_PBKDF_NO_BENCHMARK,
	};
	TcsPassphraseSource pin_src = {
		.env = "TPMLUKS_PIN",
		.prompt = "Enter a new TPM PIN: ",
		.confirm = "Verify the TPM PIN: ",
		.max_len = TCS_PASSPHRASE_MAX,
	};
	TcsLuksToken tok = {0};
	TcsLuksTpm tpm = {0};
	uint8_t secret[TCS_SECRET_SIZE], rnd[TCS_LUKS_SECRET_SIZE], check[TCS_LUKS_SECRET_SIZE];
	char err[TCS_LUKS_ERR_SIZE], hex[2 * TCS_LUKS_SECRET_SIZE + 1], pcrs[80];
	char *pass = NULL, *pin = NULL, *json = NULL;
	size_t pass_len = 0;
	TcsLuksResult r;
	int rc, slot = -1, tid, ret = TPMLUKS_EXIT_FAIL;

	rc = open_device(o->device, &cd);
	if (rc)
		return rc;
	if (o->key_file) {
		rc = read_key_file(o->key_file, &pass, &pass_len);
		if (rc)
			return rc;
	} else {
		rc = tcs_passphrase_prompt("Enter any existing passphrase: ", INTERACTIVE_MAX, &pass);
		if (rc < 0) {
			error("passphrase: %s (or use --key-file)", tcs_passphrase_strerror(rc));
			return TPMLUKS_EXIT_AUTH;
		}
		pass_len = strlen(pass);
	}
	/* check the passphrase before the TPM does any work: a wrong one changes nothing */
	rc = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, pass, pass_len, 0);
	if (rc < 0) {
		error("%s: %s", o->device,
		      rc == -EPERM ? "no keyslot opens with that passphrase"
				   : "cannot check the passphrase");
		ret = rc == -EPERM ? TPMLUKS_EXIT_AUTH : TPMLUKS_EXIT_FAIL;
		goto out;
	}
	if (o->pin) {
		rc = tcs_passphrase_get(&pin_src, &pin);
		if (rc < 0) {
			error("PIN: %s", tcs_passphrase_strerror(rc));
			ret = TPMLUKS_EXIT_AUTH;
			goto out;
		}
	}
	if (tcs_luks_pin_secret(pin, pin ? strlen(pin) : 0, secret) < 0 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1) {
		error("cannot derive the secrets (OpenSSL)");
		goto out;
	}
	r = tcs_luks_tpm_open(&tpm, o->sk ? TCS_LUKS_PARENT_SK : TCS_LUKS_PARENT_RK, err,
			      sizeof(err));
	if (r == TCS_LUKS_OK)
		r = tcs_luks_tpm_create(&tpm, secret, o->pcr_mask, rnd, sizeof(rnd), &tok, err,
					sizeof(err));
	tok.pin = o->pin;
	/* prove the TPM gives it back (PIN, PCRs) before the header changes */
	if (r == TCS_LUKS_OK)
		r = tcs_luks_tpm_unlock(&tpm, &tok, secret, check, err, sizeof(err));
	if (r == TCS_LUKS_OK && CRYPTO_memcmp(check, rnd, sizeof(rnd)) != 0) {
		r = TCS_LUKS_E_TPM;
		snprintf(err, sizeof(err), "the TPM unbound something else than was bound");
	}
	if (r != TCS_LUKS_OK) {
		error("%s", err);
		ret = result_exit(r);
		goto out;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	rc = crypt_set_pbkdf_type(cd, &pbkdf);
	if (rc == 0)
		slot = crypt_keyslot_add_by_passphrase(cd, CRYPT_ANY_SLOT, pass, pass_len, hex,
						       2 * TCS_LUKS_SECRET_SIZE);
	if (rc < 0 || slot < 0) {
		rc = rc < 0 ? rc : slot;
		error("%s: cannot add a keyslot: %s", o->device,
		      rc == -ENOSPC ? "no free keyslot (or no room in the header)" : strerror(-rc));
		ret = rc == -ENOSPC ? TPMLUKS_EXIT_REFUSED : TPMLUKS_EXIT_FAIL;
		slot = -1;
		goto out;
	}
	/* keyslot first, then its token; a token that cannot be written takes the keyslot back */
	tok.keyslot = slot;
	json = tcs_luks_token_format(&tok);
	tid = json ? crypt_token_json_set(cd, CRYPT_ANY_TOKEN, json) : -ENOMEM;
	if (tid < 0) {
		int drc = crypt_keyslot_destroy(cd, slot);

		error("%s: cannot write the token (%s); keyslot %d %s", o->device,
		      tid == -EINVAL ? "no free token slot or no room in the header"
				     : strerror(-tid),
		      slot, drc == 0 ? "removed again" : "could NOT be removed: remove it by hand");
		ret = tid == -EINVAL ? TPMLUKS_EXIT_REFUSED : TPMLUKS_EXIT_FAIL;
		goto out;
	}
	tcs_luks_format_pcr_list(tok.pcr_mask, pcrs, sizeof(pcrs));
	printf("token %d: keyslot %d, bound below the %s%s%s%s\n", tid, slot,
	       o->sk ? "SK (this TPM only)" : "RK", o->pin ? ", with a PIN" : "",
	       tok.pcr_mask ? ", PCRs " : "", tok.pcr_mask ? pcrs : "");
	ret = TPMLUKS_EXIT_OK;
out:
	tcs_luks_tpm_close(&tpm);
	tcs_luks_token_clear(&tok);
	free(json);
	secret_free(pass, pass_len);
	tcs_passphrase_free(pin);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(check, sizeof(check));
	OPENSSL_cleanse(hex, sizeof(hex));
	return ret;
}

/* Is token i a "tcs" token? */
static bool
is_tcs(struct crypt_device *cd, int i)
{
	const char *type = NULL;
	crypt_token_info st = crypt_token_status(cd, i, &type);

	return (st == CRYPT_TOKEN_EXTERNAL || st == CRYPT_TOKEN_EXTERNAL_UNKNOWN) && type &&
	       strcmp(type, TCS_LUKS_TOKEN_TYPE) == 0;
}

static int
cmd_list(const Options *o)
{
	_cleanup_(cd_freep) struct crypt_device *cd = NULL;
	int max = crypt_token_max(CRYPT_LUKS2), n = 0, rc = open_device(o->device, &cd);

	if (rc)
		return rc;
	for (int i = 0; i < max; i++) {
		TcsLuksToken tok = {0};
		char err[TCS_LUKS_ERR_SIZE], pcrs[80];
		const char *json = NULL;

		if (!is_tcs(cd, i))
			continue;
		n++;
		if (crypt_token_json_get(cd, i, &json) < 0 ||
		    tcs_luks_token_parse(json, strlen(json), &tok, err, sizeof(err)) < 0) {
			printf("token %d: invalid: %s\n", i, json ? err : "unreadable");
			continue;
		}
		tcs_luks_format_pcr_list(tok.pcr_mask, pcrs, sizeof(pcrs));
		printf("token %d: keyslot %d, parent %s, PIN %s, PCRs %s\n", i, tok.keyslot,
		       tcs_luks_parent_name(tok.parent), tok.pin ? "yes" : "no",
		       tok.pcr_mask ? pcrs : "none");
		tcs_luks_token_clear(&tok);
	}
	if (n == 0)
		printf("no tcs tokens\n");
	return TPMLUKS_EXIT_OK;
}

static int
cmd_remove(const Options *o)
{
	_cleanup_(cd_freep) struct crypt_device *cd = NULL;
	int max = crypt_token_max(CRYPT_LUKS2), slots = crypt_keyslot_max(CRYPT_LUKS2);
	int token = o->token, n = 0, active = 0, mine = 0, rc = open_device(o->device, &cd);

	if (rc)
		return rc;
	if (token < 0) {
		for (int i = 0; i < max; i++)
			if (is_tcs(cd, i)) {
				token = i;
				n++;
			}
		if (n != 1) {
			error("%s: %s", o->device,
			      n ? "several tcs tokens: choose one with --token N (see 'tpmluks list')"
				: "no tcs token");
			return n ? TPMLUKS_EXIT_USAGE : TPMLUKS_EXIT_BADTOKEN;
		}
	} else if (token >= max || !is_tcs(cd, token)) {
		error("%s: token %d is not a tcs token", o->device, token);
		return TPMLUKS_EXIT_BADTOKEN;
	}
	for (int s = 0; s < slots; s++) {
		crypt_keyslot_info ki = crypt_keyslot_status(cd, s);

		if (ki != CRYPT_SLOT_ACTIVE && ki != CRYPT_SLOT_ACTIVE_LAST)
			continue;
		active++;
		if (crypt_token_is_assigned(cd, token, s) == 0)
			mine++;
	}
	if (mine && active == mine) {
		error("%s: removing token %d would leave no keyslot: add a passphrase first",
		      o->device, token);
		return TPMLUKS_EXIT_REFUSED;
	}
	/* the keyslot first: once it is gone the TPM can no longer open the volume */
	for (int s = 0; s < slots; s++) {
		if (crypt_token_is_assigned(cd, token, s) != 0)
			continue;
		rc = crypt_keyslot_destroy(cd, s);
		if (rc < 0) {
			error("%s: cannot wipe keyslot %d: %s", o->device, s, strerror(-rc));
			return TPMLUKS_EXIT_FAIL;
		}
		printf("keyslot %d wiped\n", s);
	}
	rc = crypt_token_json_set(cd, token, NULL);
	if (rc < 0) {
		error("%s: cannot remove token %d: %s", o->device, token, strerror(-rc));
		return TPMLUKS_EXIT_FAIL;
	}
	printf("token %d removed\n", token);
	return TPMLUKS_EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pin", no_argument, NULL, 'P'},     {"pcrs", required_argument, NULL, 'p'},
		{"sk", no_argument, NULL, 's'},      {"key-file", required_argument, NULL, 'k'},
		{"token", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {0},
	};
	Options o = {.token = -1};
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			o.pin = true;
			break;
		case 'p':
			if (tcs_luks_parse_pcr_list(optarg, &o.pcr_mask) < 0) {
				error("--pcrs: '%s' is not a list of PCR indices 0..23 (e.g. 0,7)",
				      optarg);
				return TPMLUKS_EXIT_USAGE;
			}
			break;
		case 's':
			o.sk = true;
			break;
		case 'k':
			o.key_file = optarg;
			break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 0 || v > 1000) {
				error("--token: '%s' is not a token number", optarg);
				return TPMLUKS_EXIT_USAGE;
			}
			o.token = (int)v;
			break;
		case 'h':
			usage(stdout);
			return TPMLUKS_EXIT_OK;
		case 'V':
			printf("tpmluks %s\n", TCS_VERSION);
			return TPMLUKS_EXIT_OK;
		default:
			usage(stderr);
			return TPMLUKS_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return TPMLUKS_EXIT_USAGE;
	}
	o.cmd = argv[optind];
	o.device = argv[optind + 1];
	if (strcmp(o.cmd, "enroll") == 0 && o.token < 0)
		return cmd_enroll(&o);
	if ((o.pin || o.sk || o.pcr_mask || o.key_file) && strcmp(o.cmd, "enroll") != 0) {
		error("--pin, --pcrs, --sk and --key-file are options of enroll");
		return TPMLUKS_EXIT_USAGE;
	}
	if (strcmp(o.cmd, "list") == 0 && o.token < 0)
		return cmd_list(&o);
	if (strcmp(o.cmd, "remove") == 0)
		return cmd_remove(&o);
	usage(stderr);
	return TPMLUKS_EXIT_USAGE;
}

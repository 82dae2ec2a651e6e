/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpmcreate: create an RSA key inside the TPM, wrapped by the roaming key
 * (RK, 00000000-0000-0000-0000-000000000003), or wrap an existing PEM RSA key
 * for the RK, and write it as a "TSS KEY BLOB" file the TPM OpenSSL engine
 * and provider load (src/tcs-keyblob.h). The key is a TPM_KEY_LEGACY with
 * PKCS#1 v1.5 encryption and the DER signature scheme, as
 * openssl_tpm_engine's create_tpm_key makes them: it signs arbitrary
 * DigestInfos (any hash, TLS) and decrypts. See tpmcreate(1).
 *
 * Exit: 0 success, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tcs-auth.h"
#include "tcs-client.h"
#include "tcs-key-wrap.h"
#include "tcs-key.h"
#include "tcs-keyblob.h"
#include "tcs-passphrase.h"
#include "tcs-rc.h"
#include "tcs-types.h"

TCS_DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free)
TCS_DEFINE_CLEANUP(FILE *, fclose)

typedef struct {
	unsigned bits;
	bool bits_given;
	bool auth;
	bool extract;
	const char *wrap_in;
	const char *public_pem;
	const char *public_der;
	const char *public_ssh;
	bool ssh_next_to_output;
	bool force;
	const char *output;
	char *ssh_path; /* OUTPUT.pub with -s */
} Options;

static void
usage(FILE *f)
{
	fprintf(f, "usage: tpmcreate [-f] [-k 512|1024|2048] [-a] [-s] [-w INPUT.pem] [--public-pem FILE]\n"
		   "                 [--public-der FILE] [--public-ssh FILE] OUTPUT\n"
		   "       tpmcreate -x [-f] [--public-pem FILE] [--public-der FILE] [--public-ssh FILE] BLOB\n"
		   "  -k BITS         key size (default 2048; with -w: the input key's size)\n"
		   "  -a              protect the key with a passphrase (TCS_PASS, else a prompt)\n"
		   "  -w INPUT.pem    wrap an existing unencrypted PEM RSA private key\n"
		   "  -s              also write OUTPUT.pub with the public key in SSHv2 format\n"
		   "  -x              read an existing key blob and only write its public key\n"
		   "  -f              overwrite existing output files (never an input)\n"
		   "  --public-pem F  write the public key as PEM (SubjectPublicKeyInfo)\n"
		   "  --public-der F  write the public key as DER\n"
		   "  --public-ssh F  write the public key as an OpenSSH line\n");
}

static int
tss_error(const char *what, int rc)
{
	char buf[160];

	if (rc == -ENOENT)
		fprintf(stderr, "tpmcreate: %s\n", TCS_KEYBLOB_NO_RK_MESSAGE);
	else if (TCS_RC_IS_RK_MISMATCH(rc))
		fprintf(stderr, "tpmcreate: %s\n", TCS_RK_MISMATCH_MESSAGE);
	else if (rc < 0)
		fprintf(stderr, "tpmcreate: %s: %s\n", what, strerror(-rc));
	else
		fprintf(stderr, "tpmcreate: %s: %s\n", what,
			tcs_rc_describe((uint32_t)rc, buf, sizeof(buf)));
	return 1;
}

static int
parse_options(int argc, char **argv, Options *o)
{
	enum { OPT_PEM = 0x100, OPT_DER, OPT_SSH };
	static const struct option longopts[] = {
		{"key-size", required_argument, NULL, 'k'},
		{"auth", no_argument, NULL, 'a'},
		{"wrap", required_argument, NULL, 'w'},
		{"ssh", no_argument, NULL, 's'},
		{"extract", no_argument, NULL, 'x'},
		{"force", no_argument, NULL, 'f'},
		{"public-pem", required_argument, NULL, OPT_PEM},
		{"public-der", required_argument, NULL, OPT_DER},
		{"public-ssh", required_argument, NULL, OPT_SSH},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int ch;

	*o = (Options){.bits = 2048};
	while ((ch = getopt_long(argc, argv, "k:aw:sxfh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			if (strcmp(optarg, "512") && strcmp(optarg, "1024") && strcmp(optarg, "2048")) {
				fprintf(stderr, "tpmcreate: key size must be 512, 1024 or 2048\n");
				return 2;
			}
			o->bits = (unsigned)atoi(optarg);
			o->bits_given = true;
			break;
		case 'a': o->auth = true; break;
		case 'w': o->wrap_in = optarg; break;
		case 's': o->ssh_next_to_output = true; break;
		case 'x': o->extract = true; break;
		case 'f': o->force = true; break;
		case OPT_PEM: o->public_pem = optarg; break;
		case OPT_DER: o->public_der = optarg; break;
		case OPT_SSH: o->public_ssh = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || (o->extract && (o->auth || o->wrap_in || o->bits_given))) {
		usage(stderr);
		return 2;
	}
	o->output = argv[optind];
	if (o->ssh_next_to_output && asprintf(&o->ssh_path, "%s.pub", o->output) < 0) {
		o->ssh_path = NULL;
		return 1;
	}
	return 0;
}

static void
options_clear(Options *o)
{
	free(o->ssh_path);
	o->ssh_path = NULL;
}

/* ---- output safety ---- */

/* Open an output: never over an existing file without -f (O_EXCL closes the race). */
static FILE *
open_output(const Options *o, const char *path)
{
	return fopen(path, o->force ? "we" : "wxe");
}

static bool
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * Before any TPM work: no output may be an input or another output (same
 * name or same inode), and none may exist without -f - a key blob whose
 * certificate exists, or the PEM key being wrapped, would be lost.
 */
static int
check_outputs(const Options *o)
{
	const char *outs[5], *ins[2];
	size_t n_out = 0, n_in = 0;
	struct stat st;

	if (o->extract)
		ins[n_in++] = o->output;
	else
		outs[n_out++] = o->output;
	if (o->wrap_in)
		ins[n_in++] = o->wrap_in;
	if (o->public_pem)
		outs[n_out++] = o->public_pem;
	if (o->public_der)
		outs[n_out++] = o->public_der;
	if (o->public_ssh)
		outs[n_out++] = o->public_ssh;
	if (o->ssh_path)
		outs[n_out++] = o->ssh_path;
	for (size_t i = 0; i < n_out; i++) {
		for (size_t j = 0; j < n_in; j++)
			if (same_file(outs[i], ins[j])) {
				fprintf(stderr, "tpmcreate: output %s is the input %s; refusing\n",
					outs[i], ins[j]);
				return 1;
			}
		for (size_t j = 0; j < i; j++)
			if (same_file(outs[i], outs[j])) {
				fprintf(stderr, "tpmcreate: %s and %s are the same file; each output "
						"needs its own\n", outs[j], outs[i]);
				return 2;
			}
		if (!o->force && lstat(outs[i], &st) == 0) {
			fprintf(stderr, "tpmcreate: %s exists; refusing to overwrite it (use -f)\n",
				outs[i]);
			return 1;
		}
	}
	return 0;
}

/* ---- public key outputs ---- */

static void
ssh_put_string(uint8_t *buf, size_t *off, const uint8_t *p, size_t n)
{
	buf[(*off)++] = (uint8_t)(n >> 24);
	buf[(*off)++] = (uint8_t)(n >> 16);
	buf[(*off)++] = (uint8_t)(n >> 8);
	buf[(*off)++] = (uint8_t)n;
	memcpy(buf + *off, p, n);
	*off += n;
}

/* An SSH mpint: big-endian, with a leading zero byte when the top bit is set. */
static void
ssh_put_mpint(uint8_t *buf, size_t *off, const BIGNUM *bn)
{
	uint8_t tmp[1100];
	int n = BN_bn2bin(bn, tmp + 1);

	tmp[0] = 0;
	if (n > 0 && (tmp[1] & 0x80))
		ssh_put_string(buf, off, tmp, (size_t)n + 1);
	else
		ssh_put_string(buf, off, tmp + 1, (size_t)n);
}

static int
write_ssh(const Options *o, const char *path, EVP_PKEY *pub, const char *comment)
{
	_cleanup_(fclosep) FILE *f = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t blob[2300];
	char b64[3200];
	size_t off = 0;

	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) || BN_num_bytes(n) > 1024) {
		BN_free(n);
		BN_free(e);
		return -EINVAL;
	}
	ssh_put_string(blob, &off, (const uint8_t *)"ssh-rsa", 7);
	ssh_put_mpint(blob, &off, e);
	ssh_put_mpint(blob, &off, n);
	BN_free(n);
	BN_free(e);
	EVP_EncodeBlock((uint8_t *)b64, blob, (int)off);
	f = open_output(o, path);
	if (!f)
		return -errno;
	fprintf(f, "ssh-rsa %s %s\n", b64, comment);
	return ferror(f) ? -EIO : 0;
}

static int
write_public(const Options *o, EVP_PKEY *pub)
{
	int rc = 0;

	if (o->public_pem) {
		_cleanup_(fclosep) FILE *f = open_output(o, o->public_pem);

		if (!f || !PEM_write_PUBKEY(f, pub))
			rc = f ? -EIO : -errno;
		if (rc < 0) {
			fprintf(stderr, "tpmcreate: writing %s: %s\n", o->public_pem, strerror(-rc));
			return 1;
		}
	}
	if (o->public_der) {
		_cleanup_(fclosep) FILE *f = open_output(o, o->public_der);

		if (!f || !i2d_PUBKEY_fp(f, pub))
			rc = f ? -EIO : -errno;
		if (rc < 0) {
			fprintf(stderr, "tpmcreate: writing %s: %s\n", o->public_der, strerror(-rc));
			return 1;
		}
	}
	if (o->public_ssh && (rc = write_ssh(o, o->public_ssh, pub, "tpmcreate")) < 0) {
		fprintf(stderr, "tpmcreate: writing %s: %s\n", o->public_ssh, strerror(-rc));
		return 1;
	}
	if (o->ssh_path && (rc = write_ssh(o, o->ssh_path, pub, "tpmcreate")) < 0) {
		fprintf(stderr, "tpmcreate: writing %s: %s\n", o->ssh_path, strerror(-rc));
		return 1;
	}
	return 0;
}

static int
blob_public(const uint8_t *blob, size_t len, EVP_PKEY **ret)
{
	_cleanup_key_ TcsKey k = {0};
	int rc = tcs_key_parse(blob, len, &k, NULL);

	return rc < 0 ? rc : tcs_key_to_evp(&k, ret);
}

/* ---- inputs ---- */

static int
no_prompt(char *buf, int size, int rwflag, void *u)
{
	return -1; /* an encrypted input is refused, not prompted for */
}

static int
read_wrap_input(const Options *o, EVP_PKEY **ret)
{
	_cleanup_(fclosep) FILE *f = fopen(o->wrap_in, "re");
	EVP_PKEY *key;

	if (!f) {
		fprintf(stderr, "tpmcreate: %s: %s\n", o->wrap_in, strerror(errno));
		return 1;
	}
	key = PEM_read_PrivateKey(f, NULL, no_prompt, NULL);
	if (!key) {
		fprintf(stderr,
			"tpmcreate: %s: not an unencrypted PEM private key (remove a passphrase "
			"with `openssl rsa -in %s -out PLAIN.pem`)\n",
			o->wrap_in, o->wrap_in);
		return 1;
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		fprintf(stderr, "tpmcreate: %s: only RSA keys can be wrapped\n", o->wrap_in);
		EVP_PKEY_free(key);
		return 1;
	}
	if (o->bits_given && (unsigned)EVP_PKEY_get_bits(key) != o->bits) {
		fprintf(stderr, "tpmcreate: %s is a %d-bit key, not %u bits (-k)\n", o->wrap_in,
			EVP_PKEY_get_bits(key), o->bits);
		EVP_PKEY_free(key);
		return 1;
	}
	*ret = key;
	return 0;
}

static int
get_usage_secret(const Options *o, uint8_t secret[TCS_SECRET_SIZE])
{
	const TcsPassphraseSource src = {
		.env = TCS_PASSPHRASE_ENV,
		.prompt = "Enter Passphrase: ",
		.confirm = "Verifying - Enter Passphrase: ",
		.max_len = TCS_PASSPHRASE_MAX,
	};
	char *pass = NULL;
	int rc;

	if (!o->auth) {
		memcpy(secret, tcs_auth_well_known, TCS_SECRET_SIZE);
		return 0;
	}
	rc = tcs_passphrase_get(&src, &pass);
	if (rc == -E2BIG) {
		fprintf(stderr, "tpmcreate: passphrase too long: at most %u characters\n",
			TCS_PASSPHRASE_MAX);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "tpmcreate: passphrase: %s\n", tcs_passphrase_strerror(rc));
		return 1;
	}
	rc = tcs_auth_secret_plain(pass, strlen(pass), secret);
	tcs_passphrase_free(pass);
	return rc < 0 ? 1 : 0;
}

/* ---- the TPM side ---- */

static int
make_key(const Options *o, EVP_PKEY *wrap_key, const uint8_t usage_secret[TCS_SECRET_SIZE],
	 uint8_t **blob, size_t *blob_len)
{
	const TcsKeyTemplate t = {
		.usage = TPM_KEY_LEGACY,
		/* children of the migratable RK must be migratable; they move with it */
		.flags = TPM_KEY_FLAG_MIGRATABLE,
		.auth_data_usage = o->auth ? TPM_AUTH_ALWAYS : TPM_AUTH_NEVER,
		.bits = o->bits,
		.enc_scheme = TPM_ES_RSAESPKCSv15,
		.sig_scheme = TPM_SS_RSASSAPKCS1v15_DER,
	};
	_cleanup_client_ TcsClient *c = NULL;
	_cleanup_free_ uint8_t *info = NULL;
	_cleanup_free_ uint8_t *pub = NULL;
	const uint8_t *rk_secret = NULL;
	uint8_t srk[TCS_SECRET_SIZE];
	char *srk_pass = NULL;
	size_t info_len, pub_len;
	uint32_t rk = 0, check = 0;
	int rc;

	rc = tcs_client_connect(NULL, NULL, &c);
	if (rc == 0)
		rc = tcs_client_open_context(c);
	if (rc != 0) {
		const char *host = getenv("TSS_TCSD_HOSTNAME"), *port = getenv("TSS_TCSD_PORT");
		char what[300];

		snprintf(what, sizeof(what), "connecting to tcsd at %s:%s",
			 host ? host : TCS_CLIENT_DEFAULT_HOST, port ? port : TCS_CLIENT_DEFAULT_PORT);
		return tss_error(what, rc);
	}
	/* the SRK's secret: TPM_SRK_PASSWD, else well-known; asked for when the TPM refuses it */
	(void)tcs_auth_srk_secret(srk);
	rc = tcs_keyblob_load_parent(c, &TCS_UUID_RK, srk, &rk, &rk_secret);
	if (rc == TPM_AUTHFAIL && !getenv(TCS_SRK_PASSWORD_ENV) &&
	    tcs_passphrase_prompt("Enter SRK password: ", TCS_PASSPHRASE_MAX, &srk_pass) == 0) {
		rc = tcs_auth_secret_plain(srk_pass, strlen(srk_pass), srk);
		tcs_passphrase_free(srk_pass);
		if (rc == 0)
			rc = tcs_keyblob_load_parent(c, &TCS_UUID_RK, srk, &rk, &rk_secret);
	}
	if (rc == TPM_AUTHFAIL) {
		tcs_wipe(srk, sizeof(srk));
		fprintf(stderr, "tpmcreate: loading the RK: the TPM refused the SRK secret; give the "
				"SRK password in " TCS_SRK_PASSWORD_ENV " (or on the terminal)\n");
		return 1;
	}
	if (rc != 0)
		return tss_error("loading the RK", rc);

	if (!wrap_key) {
		rc = tcs_client_key_template(&t, &info, &info_len);
		if (rc == 0)
			rc = tcs_client_create_wrap_key(c, rk, rk_secret ? rk_secret : tcs_auth_well_known,
							usage_secret, tcs_auth_well_known, info,
							info_len, blob, blob_len);
		return rc ? tss_error("creating the key (TPM_CreateWrapKey under the RK)", rc) : 0;
	}

	const TcsKeyWrapParams wp = {
		.usage = t.usage,
		.flags = t.flags,
		.auth_data_usage = t.auth_data_usage,
		.enc_scheme = t.enc_scheme,
		.sig_scheme = t.sig_scheme,
	};
	rc = tcs_client_get_pub_key(c, rk, rk_secret, &pub, &pub_len);
	if (rc != 0)
		return tss_error("reading the RK's public key", rc);
	rc = tcs_key_wrap(wrap_key, pub, pub_len, &wp, usage_secret, tcs_auth_well_known, blob,
			  blob_len);
	if (rc == -E2BIG) {
		fprintf(stderr, "tpmcreate: %s: a %d-bit key is too large for the 2048-bit RK\n",
			o->wrap_in, EVP_PKEY_get_bits(wrap_key));
		return 1;
	}
	if (rc < 0)
		return tss_error("wrapping the key", rc);
	/* let the TPM check what we built before anyone relies on it */
	rc = tcs_client_load_key_by_blob(c, rk, rk_secret, *blob, *blob_len, &check);
	if (rc != 0) {
		free(*blob);
		*blob = NULL;
		return tss_error("the TPM refuses the wrapped key", rc);
	}
	tcs_client_evict_key(c, check);
	return 0;
}

int
main(int argc, char **argv)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *wrap_key = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pub = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	uint8_t usage_secret[TCS_SECRET_SIZE];
	size_t blob_len = 0;
	_cleanup_(options_clear) Options o = {0};
	int rc = parse_options(argc, argv, &o);

	if (rc != 0)
		return rc;
	rc = check_outputs(&o);
	if (rc != 0)
		return rc;
	if (o.extract) {
		_cleanup_keyblob_ TcsKeyBlob kb = {0};

		rc = tcs_keyblob_read_file(o.output, &kb);
		if (rc < 0) {
			fprintf(stderr, "tpmcreate: %s: %s\n", o.output,
				rc == -EBADMSG ? "not a TSS KEY BLOB file" : strerror(-rc));
			return 1;
		}
		if (blob_public(kb.blob, kb.blob_len, &pub) < 0) {
			fprintf(stderr, "tpmcreate: %s: the blob has no public key\n", o.output);
			return 1;
		}
		return write_public(&o, pub);
	}
	if (o.wrap_in && read_wrap_input(&o, &wrap_key) != 0)
		return 1;
	if (get_usage_secret(&o, usage_secret) != 0)
		return 1;
	rc = make_key(&o, wrap_key, usage_secret, &blob, &blob_len);
	tcs_wipe(usage_secret, sizeof(usage_secret));
	if (rc != 0)
		return rc;
	rc = tcs_keyblob_write_file(o.output, blob, blob_len, &TCS_UUID_RK, o.force);
	if (rc < 0) {
		fprintf(stderr, "tpmcreate: writing %s: %s\n", o.output, strerror(-rc));
		return 1;
	}
	if (blob_public(blob, blob_len, &pub) < 0) {
		fprintf(stderr, "tpmcreate: the new key blob has no public key\n");
		return 1;
	}
	return write_public(&o, pub);
}

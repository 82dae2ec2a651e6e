/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpmencrypt - pack files and directories into one archive stream
 * (libarchive: pax, optionally zstd/gzip), encrypt it on the CPU with a fresh
 * data key, and protect that key with a TPM bind key created under the
 * roaming key (docs/tpmencrypt-format.md, tpmencrypt(1)).
 *
 * The output is written to a temporary file next to it and renamed into
 * place only when complete; on any error it is removed (and a key
 * registered with -d unregistered again).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/crypto.h>

#include "config.h"
#include "tcs-auth.h"
#include "tcs-crypt-format.h"
#include "tcs-crypt-tpm.h"
#include "tcs-uuid.h"

typedef struct {
	const char *output;
	const char *pass;
	uint8_t alg;
	int comp;
	uint32_t chunk_size;
	bool in_ps, no_pass, absolute, force, verbose, raw;
} Options;

/* The output being written, removed unless committed. */
typedef struct {
	char *tmp_path; /* NULL for stdout */
	int fd;
	dev_t dev;
	ino_t ino;
} Output;

static void
output_abort(Output *o)
{
	if (o->fd >= 0 && o->tmp_path)
		close(o->fd);
	if (o->tmp_path) {
		unlink(o->tmp_path);
		free(o->tmp_path);
	}
	o->tmp_path = NULL;
	o->fd = -1;
}

static void
archive_write_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

static void
archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static void
entry_freep(struct archive_entry **e)
{
	if (*e)
		archive_entry_free(*e);
}

static void
linkresolver_freep(struct archive_entry_linkresolver **l)
{
	if (*l)
		archive_entry_linkresolver_free(*l);
}

/* ---- the archive's output goes through the chunk cipher ---- */
typedef struct {
	TcsCryptStream *stream;
	int err; /* first write error, -errno */
} Sink;

static la_ssize_t
sink_write(struct archive *a, void *userdata, const void *buf, size_t len)
{
	Sink *s = userdata;
	int rc = tcs_crypt_stream_write(s->stream, buf, len);

	if (rc < 0) {
		s->err = rc;
		archive_set_error(a, -rc, "%s", strerror(-rc));
		return -1;
	}
	return (la_ssize_t)len;
}

static int
sink_close(struct archive *a, void *userdata)
{
	(void)a;
	(void)userdata;
	return ARCHIVE_OK;
}

/* Drop leading '/' as tar does, unless -P; say once per run. */
static void
fix_name(struct archive_entry *e, const Options *opt, bool *warned_abs, bool *warned_dotdot)
{
	const char *name = archive_entry_pathname(e);
	const char *p = name;

	if (!name)
		return;
	if (!opt->absolute && *p == '/') {
		while (*p == '/')
			p++;
		if (!*warned_abs)
			tcs_crypt_warn("removing leading '/' from member names");
		*warned_abs = true;
		archive_entry_copy_pathname(e, *p ? p : ".");
	}
	name = archive_entry_pathname(e);
	if (!*warned_dotdot && (strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 ||
				strstr(name, "/../") || (strlen(name) >= 3 &&
							 strcmp(name + strlen(name) - 3, "/..") == 0))) {
		tcs_crypt_warn("member '%s' contains '..': tpmdecrypt will need -P to restore it",
			       name);
		*warned_dotdot = true;
	}
}

static int
copy_data(struct archive *disk, struct archive *out, const char *name)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t offset;
		int r = archive_read_data_block(disk, &buf, &size, &offset);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_OK) {
			tcs_crypt_error("%s: %s", name, archive_error_string(disk));
			return TCS_CRYPT_EXIT_FAILURE;
		}
		if (archive_write_data(out, buf, size) < 0) {
			tcs_crypt_error("writing the archive: %s", archive_error_string(out));
			return TCS_CRYPT_EXIT_FAILURE;
		}
	}
}

/* Walk one command-line input into the archive. */
static int
add_input(struct archive *out, struct archive_entry_linkresolver *lr, const char *input,
	  const Options *opt, const Output *o, bool *warned_abs, bool *warned_dotdot)
{
	_cleanup_(archive_read_freep) struct archive *disk = archive_read_disk_new();
	int rc;

	if (!disk)
		return TCS_CRYPT_EXIT_FAILURE;
	/* symlinks are stored as symlinks, never followed */
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_standard_lookup(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
						     ARCHIVE_READDISK_NO_FFLAGS |
						     ARCHIVE_READDISK_NO_SPARSE);
	if (archive_read_disk_open(disk, input) != ARCHIVE_OK) {
		tcs_crypt_error("%s: %s", input, archive_error_string(disk));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	for (;;) {
		_cleanup_(entry_freep) struct archive_entry *e = archive_entry_new();
		struct archive_entry *spare = NULL;
		const char *src;
		int r;

		if (!e)
			return TCS_CRYPT_EXIT_FAILURE;
		r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN) {
			tcs_crypt_warn("%s", archive_error_string(disk));
		} else if (r < ARCHIVE_WARN) {
			tcs_crypt_error("%s: %s", input, archive_error_string(disk));
			return TCS_CRYPT_EXIT_FAILURE;
		}
		src = archive_entry_sourcepath(e) ?: archive_entry_pathname(e);
		if (archive_read_disk_can_descend(disk))
			archive_read_disk_descend(disk);
		/* never the output itself (encrypting a directory that holds it) */
		if (o->tmp_path && (dev_t)archive_entry_dev(e) == o->dev && (ino_t)archive_entry_ino(e) == o->ino)
			continue;
		/* tpmdecrypt restores no device nodes, FIFOs or sockets */
		if (archive_entry_filetype(e) == AE_IFSOCK || archive_entry_filetype(e) == AE_IFIFO ||
		    archive_entry_filetype(e) == AE_IFCHR || archive_entry_filetype(e) == AE_IFBLK) {
			tcs_crypt_warn("%s: %s; skipped", src,
				       archive_entry_filetype(e) == AE_IFSOCK   ? "a socket"
				       : archive_entry_filetype(e) == AE_IFIFO ? "a FIFO"
									: "a device node");
			continue;
		}
		fix_name(e, opt, warned_abs, warned_dotdot);
		if (archive_entry_filetype(e) != AE_IFDIR && archive_entry_nlink(e) > 1) {
			struct archive_entry *orig = e;

			archive_entry_linkify(lr, &e, &spare);
			/* the tar strategy hands back the same entry, marked as a link or not */
			if (e != orig) {
				tcs_crypt_error("%s: unexpected hard-link handling", src);
				e = orig;
				return TCS_CRYPT_EXIT_FAILURE;
			}
		}
		if (opt->verbose)
			fprintf(stderr, "%s\n", archive_entry_pathname(e));
		r = archive_write_header(out, e);
		if (r == ARCHIVE_WARN) {
			tcs_crypt_warn("%s: %s", src, archive_error_string(out));
		} else if (r < ARCHIVE_WARN) {
			tcs_crypt_error("%s: %s", src, archive_error_string(out));
			return TCS_CRYPT_EXIT_FAILURE;
		}
		if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 &&
		    (rc = copy_data(disk, out, src)) != 0)
			return rc;
		archive_entry_free(spare);
	}
	return 0;
}

static int
open_output(const Options *opt, Output *o)
{
	struct stat st;

	o->fd = -1;
	if (strcmp(opt->output, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			tcs_crypt_error("refusing to write encrypted data to a terminal");
			return TCS_CRYPT_EXIT_USAGE;
		}
		o->fd = STDOUT_FILENO;
		return 0;
	}
	if (!opt->force && lstat(opt->output, &st) == 0) {
		tcs_crypt_error("%s: exists (use -f to overwrite)", opt->output);
		return TCS_CRYPT_EXIT_REFUSED;
	}
	if (asprintf(&o->tmp_path, "%s.tmp-XXXXXX", opt->output) < 0) {
		o->tmp_path = NULL;
		return TCS_CRYPT_EXIT_FAILURE;
	}
	o->fd = mkostemp(o->tmp_path, O_CLOEXEC);
	if (o->fd < 0) {
		tcs_crypt_error("%s: cannot create: %s", opt->output, strerror(errno));
		free(o->tmp_path);
		o->tmp_path = NULL;
		return TCS_CRYPT_EXIT_FAILURE;
	}
	if (fstat(o->fd, &st) == 0) {
		o->dev = st.st_dev;
		o->ino = st.st_ino;
	}
	return 0;
}

static int
commit_output(const Options *opt, Output *o)
{
	mode_t mask;

	if (!o->tmp_path)
		return 0;
	/* a file mode as any new file would get */
	mask = umask(0);
	umask(mask);
	/* no fsync: like tar and openssl enc; it would halve the throughput */
	if (fchmod(o->fd, 0666 & ~mask) < 0 || close(o->fd) < 0) {
		o->fd = -1;
		tcs_crypt_error("%s: %s", opt->output, strerror(errno));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	o->fd = -1;
	if (rename(o->tmp_path, opt->output) < 0) {
		tcs_crypt_error("%s: cannot rename into place: %s", opt->output, strerror(errno));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	free(o->tmp_path);
	o->tmp_path = NULL;
	return 0;
}

static int
write_archive(char **inputs, int n_inputs, const Options *opt, const Output *o, Sink *sink)
{
	_cleanup_(archive_write_freep) struct archive *a = archive_write_new();
	_cleanup_(linkresolver_freep) struct archive_entry_linkresolver *lr =
		archive_entry_linkresolver_new();
	bool warned_abs = false, warned_dotdot = false;
	int r = ARCHIVE_OK, rc;

	if (!a || !lr)
		return TCS_CRYPT_EXIT_FAILURE;
	archive_entry_linkresolver_set_strategy(lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK)
		r = ARCHIVE_FATAL;
	if (opt->comp == TCS_CRYPT_COMP_ZSTD)
		r = r ?: archive_write_add_filter_zstd(a);
	else if (opt->comp == TCS_CRYPT_COMP_GZIP)
		r = r ?: archive_write_add_filter_gzip(a);
	/* no tar blocking: the chunk cipher buffers, and no padding to 10 KiB */
	r = r ?: archive_write_set_bytes_per_block(a, 0);
	r = r ?: archive_write_open2(a, sink, NULL, sink_write, sink_close, NULL);
	if (r != ARCHIVE_OK) {
		tcs_crypt_error("cannot set up the archive: %s", archive_error_string(a));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	for (int i = 0; i < n_inputs; i++) {
		rc = add_input(a, lr, inputs[i], opt, o, &warned_abs, &warned_dotdot);
		if (rc != 0)
			return rc;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		tcs_crypt_error("%s: %s", opt->output,
				sink->err ? strerror(-sink->err) : archive_error_string(a));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	return 0;
}

/* -r: INPUT is an archive already (tar, pax, maybe compressed): encrypt it as it is. */
static int
write_raw(const char *input, const Options *opt, TcsCryptStream *stream)
{
	_cleanup_free_ uint8_t *buf = malloc(1u << 20);
	int fd = strcmp(input, "-") == 0 ? STDIN_FILENO : open(input, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || !buf) {
		tcs_crypt_error("%s: %s", input, strerror(fd < 0 ? errno : ENOMEM));
		if (fd > STDIN_FILENO)
			close(fd);
		return TCS_CRYPT_EXIT_FAILURE;
	}
	for (;;) {
		ssize_t n = tcs_crypt_read_full(fd, buf, 1u << 20);

		if (n < 0) {
			tcs_crypt_error("%s: %s", input, strerror((int)-n));
			rc = TCS_CRYPT_EXIT_FAILURE;
			break;
		}
		if (n == 0)
			break;
		if ((rc = tcs_crypt_stream_write(stream, buf, (size_t)n)) < 0) {
			tcs_crypt_error("%s: %s", opt->output, strerror(-rc));
			rc = TCS_CRYPT_EXIT_FAILURE;
			break;
		}
	}
	if (fd > STDIN_FILENO)
		close(fd);
	return rc;
}

static int
run(char **inputs, int n_inputs, const Options *opt)
{
	_cleanup_(tcs_crypt_stream_freep) TcsCryptStream *stream = NULL;
	_cleanup_(tcs_crypt_header_free) TcsCryptHeader h = {
		.alg = opt->alg,
		.comp = (uint8_t)opt->comp,
		.flags = opt->no_pass ? 0 : TCS_CRYPT_FLAG_PASSPHRASE,
		.chunk_size = opt->chunk_size,
	};
	_cleanup_(tcs_crypt_tpm_close) TcsCryptTpm tpm = {0};
	_cleanup_(output_abort) Output out = {.fd = -1};
	_cleanup_free_ uint8_t *hdr = NULL;
	uint8_t secret[TCS_SECRET_SIZE], key[TCS_CRYPT_KEY_SIZE];
	Sink sink = {0};
	size_t hdr_len = 0;
	struct stat st;
	int rc;

	/* fail on missing inputs before asking for anything */
	for (int i = 0; i < n_inputs; i++) {
		if ((!opt->raw || strcmp(inputs[i], "-") != 0) && lstat(inputs[i], &st) < 0) {
			tcs_crypt_error("%s: %s", inputs[i], strerror(errno));
			return TCS_CRYPT_EXIT_FAILURE;
		}
	}
	if (!opt->force && strcmp(opt->output, "-") != 0 && lstat(opt->output, &st) == 0) {
		tcs_crypt_error("%s: exists (use -f to overwrite)", opt->output);
		return TCS_CRYPT_EXIT_REFUSED;
	}
	rc = tcs_crypt_tpm_open(&tpm);
	if (rc != 0)
		return rc;
	if (opt->no_pass)
		memcpy(secret, tcs_auth_well_known, sizeof(secret));
	else if ((rc = tcs_crypt_get_secret(opt->pass, true, secret)) != 0)
		return rc;
	rc = tcs_crypt_tpm_new_key(&tpm, secret, opt->in_ps, &h, key);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc == 0)
		rc = open_output(opt, &out);
	if (rc == 0 && tcs_crypt_header_write(&h, &hdr, &hdr_len) < 0) {
		tcs_crypt_error("cannot build the header");
		rc = TCS_CRYPT_EXIT_FAILURE;
	}
	if (rc == 0 && tcs_crypt_stream_new(&h, key, out.fd, &stream) < 0) {
		tcs_crypt_error("cannot set up the cipher (OpenSSL)");
		rc = TCS_CRYPT_EXIT_FAILURE;
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (rc == 0 && (rc = tcs_crypt_write_full(out.fd, hdr, hdr_len)) < 0) {
		tcs_crypt_error("%s: %s", opt->output, strerror(-rc));
		rc = TCS_CRYPT_EXIT_FAILURE;
	}
	if (rc == 0) {
		sink.stream = stream;
		rc = opt->raw ? write_raw(inputs[0], opt, stream)
			      : write_archive(inputs, n_inputs, opt, &out, &sink);
	}
	if (rc == 0 && (rc = tcs_crypt_stream_finish(stream)) < 0) {
		tcs_crypt_error("%s: %s", opt->output, strerror(-rc));
		rc = TCS_CRYPT_EXIT_FAILURE;
	}
	if (rc == 0)
		rc = commit_output(opt, &out);
	if (rc != 0) {
		tcs_crypt_tpm_forget_key(&tpm, &h);
		return rc;
	}
	if (h.flags & TCS_CRYPT_FLAG_KEY_IN_PS) {
		char ubuf[TCS_UUID_STRING_SIZE];

		if (opt->verbose || isatty(STDERR_FILENO))
			fprintf(stderr, "%s: key registered in system persistent storage as %s\n",
				tcs_crypt_prog, tcs_uuid_to_string(&h.key_uuid, ubuf));
	}
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tpmencrypt [OPTIONS] -o OUTPUT INPUT...\n"
		"Pack, compress and encrypt files and directories; the data key is protected\n"
		"by a TPM key under the roaming key (RK).\n\n"
		"  -o OUTPUT  the encrypted file ('-': standard output)\n"
		"  -a ALG     aes-256-gcm (default), chacha20-poly1305, aes-256-cbc\n"
		"             (AES-256-CBC with HMAC-SHA256)\n"
		"  -z COMP    compression: zstd (default), gzip, none\n"
		"  -d         keep the TPM key in system persistent storage, not in OUTPUT\n"
		"  -n         no passphrase (the key's secret is the well-known secret)\n"
		"  -p PASS    the passphrase (else $TCS_PASS, else asked twice)\n"
		"  -P         keep leading '/' in member names\n"
		"  -c KIB     plaintext bytes per chunk, in KiB (default 1024)\n"
		"  -f         overwrite OUTPUT if it exists\n"
		"  -v         list the members on standard error\n"
		"  -r         INPUT is a tar/pax archive already ('-': standard input):\n"
		"             encrypt it as it is\n"
		"  -h, -V     help, version\n"
		"Exit: 0 ok, 1 I/O error, 2 usage, 3 tcsd/TPM error, 4 no RK, 5 passphrase,\n"
		"      8 OUTPUT exists.\n");
}

int
main(int argc, char **argv)
{
	Options opt = {
		.alg = TCS_CRYPT_ALG_AES256_GCM,
		.comp = TCS_CRYPT_COMP_ZSTD,
		.chunk_size = TCS_CRYPT_CHUNK_DEFAULT,
	};
	int c;

	tcs_crypt_prog = "tpmencrypt";
	while ((c = getopt(argc, argv, "o:a:z:dnp:PfvrhVc:")) != -1) {
		switch (c) {
		case 'o':
			opt.output = optarg;
			break;
		case 'a':
			opt.alg = tcs_crypt_alg_from_name(optarg);
			if (!opt.alg) {
				tcs_crypt_error("unknown algorithm '%s' (aes-256-gcm, "
						"chacha20-poly1305, aes-256-cbc)", optarg);
				return TCS_CRYPT_EXIT_USAGE;
			}
			break;
		case 'z':
			opt.comp = tcs_crypt_comp_from_name(optarg);
			if (opt.comp < 0) {
				tcs_crypt_error("unknown compression '%s' (zstd, gzip, none)",
						optarg);
				return TCS_CRYPT_EXIT_USAGE;
			}
			break;
		case 'c': {
			/* chunk size in KiB (tests, benchmarks) */
			unsigned long kib = strtoul(optarg, NULL, 10);

			opt.chunk_size = (uint32_t)(kib * 1024);
			if (kib == 0 || kib > TCS_CRYPT_CHUNK_MAX / 1024 ||
			    opt.chunk_size < TCS_CRYPT_CHUNK_MIN) {
				tcs_crypt_error("chunk size out of range");
				return TCS_CRYPT_EXIT_USAGE;
			}
			break;
		}
		case 'd':
			opt.in_ps = true;
			break;
		case 'n':
			opt.no_pass = true;
			break;
		case 'p':
			opt.pass = optarg;
			break;
		case 'P':
			opt.absolute = true;
			break;
		case 'f':
			opt.force = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'r':
			opt.raw = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tpmencrypt (tcs) %s\n", TCS_VERSION);
			return 0;
		default:
			usage(stderr);
			return TCS_CRYPT_EXIT_USAGE;
		}
	}
	if (!opt.output || optind >= argc) {
		tcs_crypt_error(!opt.output ? "no output file (-o OUTPUT)" : "no input given");
		usage(stderr);
		return TCS_CRYPT_EXIT_USAGE;
	}
	if (opt.raw && argc - optind != 1) {
		tcs_crypt_error("-r takes exactly one INPUT");
		return TCS_CRYPT_EXIT_USAGE;
	}
	if (opt.raw)
		opt.comp = TCS_CRYPT_COMP_NONE; /* whatever the archive has, tpmdecrypt detects */
	if (opt.no_pass && opt.pass) {
		tcs_crypt_error("-n and -p exclude each other");
		return TCS_CRYPT_EXIT_USAGE;
	}
	return run(argv + optind, argc - optind, &opt);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpmdecrypt - restore what tpmencrypt packed: the TPM recovers the data key
 * (UnBind with the bind key under the roaming key), the chunks are
 * authenticated and decrypted on the CPU, and libarchive unpacks the stream.
 *
 * Nothing appears at the destination before the whole file has been
 * authenticated: members are first written into a private staging directory
 * next to the destination (.tpmdecrypt-XXXXXX, mode 0700, flat numbered
 * names), then - after the final chunk verified - checked for conflicts and
 * unsafe paths all together, and only then renamed into place. Any error
 * before that removes the staging directory and leaves the destination as
 * it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
	const char *input;
	const char *dest;
	const char *pass;
	bool force, unsafe, list, verbose, keep_setid;
} Options;

typedef struct {
	char *path; /* normalised member path ("/…" only with -P) */
	bool dir;
	bool created; /* a directory this run made (its mode is set at the end) */
	mode_t mode;
	struct timespec mtime;
} Member;

typedef struct {
	Member *v;
	size_t n, cap;
} Members;

static void
members_free(Members *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static Member *
members_add(Members *m)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		Member *v = reallocarray(m->v, cap, sizeof(*v));

		if (!v)
			return NULL;
		m->v = v;
		m->cap = cap;
	}
	memset(&m->v[m->n], 0, sizeof(Member));
	return &m->v[m->n++];
}

/* ---- the staging directory ---- */
typedef struct {
	char *path; /* absolute */
	int fd;
	int dest_fd;
} Staging;

static void
staging_remove(Staging *s)
{
	if (s->fd >= 0) {
		int fd = openat(s->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		/* flat: only files, symlinks, fifos, … named by number */
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(s->fd, de->d_name, 0);
		if (d)
			closedir(d);
		else if (fd >= 0)
			close(fd);
		close(s->fd);
		s->fd = -1;
	}
	if (s->path && rmdir(s->path) < 0 && errno != ENOENT)
		tcs_crypt_warn("cannot remove %s: %s", s->path, strerror(errno));
	free(s->path);
	s->path = NULL;
	if (s->dest_fd >= 0)
		close(s->dest_fd);
	s->dest_fd = -1;
}

static int
staging_create(const char *dest, Staging *s)
{
	char *real = realpath(dest, NULL);

	if (!real) {
		tcs_crypt_error("%s: %s", dest, strerror(errno));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	s->dest_fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->dest_fd < 0 || asprintf(&s->path, "%s%s.tpmdecrypt-XXXXXX", real,
				       strcmp(real, "/") ? "/" : "") < 0) {
		tcs_crypt_error("%s: %s", dest, strerror(errno));
		s->path = NULL;
		free(real);
		return TCS_CRYPT_EXIT_FAILURE;
	}
	free(real);
	if (!mkdtemp(s->path)) {
		tcs_crypt_error("%s: cannot create a staging directory: %s", dest, strerror(errno));
		free(s->path);
		s->path = NULL;
		return TCS_CRYPT_EXIT_FAILURE;
	}
	s->fd = open(s->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->fd < 0) {
		tcs_crypt_error("%s: %s", s->path, strerror(errno));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	return 0;
}

/* ---- member names ---- */

/*
 * Normalise a member name: no empty or "." components. Absolute names and
 * ".." components are refused unless unsafe. "" is the destination itself.
 */
static int
normalise(const char *name, bool unsafe, const char *file, char **ret)
{
	_cleanup_free_ char *copy = strdup(name ?: "");
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	char *save = NULL, *tok;

	if (!copy || !(out = malloc(strlen(name ?: "") + 2)))
		return TCS_CRYPT_EXIT_FAILURE;
	if (!name || !*name) {
		tcs_crypt_error("%s: a member has an empty name", file);
		return TCS_CRYPT_EXIT_BADFILE;
	}
	if (name[0] == '/') {
		if (!unsafe) {
			tcs_crypt_error("%s: member '%s' has an absolute path; refusing "
					"(use -P to allow)", file, name);
			return TCS_CRYPT_EXIT_REFUSED;
		}
		out[len++] = '/';
	}
	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0 && !unsafe) {
			tcs_crypt_error("%s: member '%s' contains '..' and could escape the "
					"destination; refusing (use -P to allow)", file, name);
			return TCS_CRYPT_EXIT_REFUSED;
		}
		if (len > 0 && out[len - 1] != '/')
			out[len++] = '/';
		memcpy(out + len, tok, strlen(tok));
		len += strlen(tok);
	}
	out[len] = '\0';
	*ret = TCS_TAKE_PTR(out);
	return 0;
}

/* ---- the decrypted stream as libarchive's input ---- */
typedef struct {
	TcsCryptStream *stream;
	int err;
} Source;

static la_ssize_t
source_read(struct archive *a, void *userdata, const void **buf)
{
	Source *s = userdata;

	for (;;) {
		const uint8_t *data = NULL;
		size_t len = 0;
		int rc = tcs_crypt_stream_read(s->stream, &data, &len);

		if (rc == 0)
			return 0;
		if (rc < 0) {
			s->err = rc;
			archive_set_error(a, EBADMSG, "decryption failed");
			return -1;
		}
		if (len > 0) {
			*buf = data;
			return (la_ssize_t)len;
		}
	}
}

/* Report a stream error (authentication, truncation) or an archive error. */
static int
stream_error(const Source *src, struct archive *a, const char *file)
{
	switch (src->err) {
	case 0:
		tcs_crypt_error("%s: the archive inside is corrupt: %s", file,
				a ? archive_error_string(a) : "unexpected data");
		return TCS_CRYPT_EXIT_BADFILE;
	case -EBADMSG:
		tcs_crypt_error("%s: chunk %llu failed authentication: the file was modified, "
				"truncated or damaged; nothing was restored", file,
				(unsigned long long)tcs_crypt_stream_chunk(src->stream));
		return TCS_CRYPT_EXIT_BADFILE;
	case -ENODATA:
		tcs_crypt_error("%s: truncated: it ends before its final chunk; nothing was "
				"restored", file);
		return TCS_CRYPT_EXIT_BADFILE;
	default:
		tcs_crypt_error("%s: %s", file, strerror(-src->err));
		return TCS_CRYPT_EXIT_FAILURE;
	}
}

static void
archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static void
archive_write_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

static int
copy_data(struct archive *in, struct archive *out, const char *name)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t offset;
		int r = archive_read_data_block(in, &buf, &size, &offset);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_OK)
			return -1;
		if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_OK) {
			tcs_crypt_error("%s: %s", name, archive_error_string(out));
			return TCS_CRYPT_EXIT_FAILURE;
		}
	}
}

static const Member *
find_member(const Members *m, const char *path)
{
	for (size_t i = m->n; i-- > 0;)
		if (strcmp(m->v[i].path, path) == 0)
			return &m->v[i];
	return NULL;
}

/*
 * Regular files, directories, symlinks and hard links only: a device node
 * made by root's tpmdecrypt from anyone's file could be a world-readable raw
 * disk, and FIFOs and sockets are not data. Set-id and sticky bits go
 * unless -S (libarchive drops them without ARCHIVE_EXTRACT_PERM).
 */
static int
check_type(struct archive_entry *e, const char *path, const Options *opt)
{
	const char *what;

	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
	case AE_IFLNK:
		break;
	case AE_IFCHR:
		what = "a character device node";
		goto refuse;
	case AE_IFBLK:
		what = "a block device node";
		goto refuse;
	case AE_IFIFO:
		what = "a FIFO";
		goto refuse;
	case AE_IFSOCK:
		what = "a socket";
		goto refuse;
	default:
		/* hard links carry no type of their own in some tar variants */
		if (archive_entry_hardlink(e))
			break;
		what = "of an unknown file type";
		goto refuse;
	}
	if (!opt->keep_setid)
		archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
	return 0;
refuse:
	tcs_crypt_error("%s: member '%s' is %s; tpmdecrypt restores only files, directories and "
			"links; refusing, nothing was restored", opt->input, path, what);
	return TCS_CRYPT_EXIT_REFUSED;
}

/*
 * Read the whole stream, staging every non-directory member. Returns 0
 * only after the final chunk authenticated.
 */
static int
extract_to_staging(Source *src, const Options *opt, const Staging *stg, Members *m)
{
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();
	_cleanup_(archive_write_freep) struct archive *disk = archive_write_disk_new();
	int r, rc;

	if (!a || !disk)
		return TCS_CRYPT_EXIT_FAILURE;
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	/*
	 * No owners; modes under the umask without set-id and sticky bits (as
	 * tar does for users) unless -S, which restores modes as recorded.
	 */
	archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						     ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						     ARCHIVE_EXTRACT_NO_OVERWRITE |
						     (opt->keep_setid ? ARCHIVE_EXTRACT_PERM : 0));
	if (archive_read_open(a, src, NULL, source_read, NULL) != ARCHIVE_OK)
		return stream_error(src, a, opt->input);
	for (;;) {
		struct archive_entry *e;
		_cleanup_free_ char *path = NULL, *staged = NULL, *link_staged = NULL;
		Member *mem;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return stream_error(src, a, opt->input);
		rc = normalise(archive_entry_pathname(e), opt->unsafe, opt->input, &path);
		if (rc != 0)
			return rc;
		if (opt->list || opt->verbose)
			printf("%s%s\n", path, archive_entry_filetype(e) == AE_IFDIR ? "/" : "");
		if (opt->list) {
			if (archive_read_data_skip(a) < ARCHIVE_WARN)
				return stream_error(src, a, opt->input);
			continue;
		}
		if ((rc = check_type(e, path, opt)) != 0)
			return rc;
		if (archive_entry_filetype(e) == AE_IFDIR) {
			if (!*path)
				continue; /* the destination itself */
			if (!(mem = members_add(m)))
				return TCS_CRYPT_EXIT_FAILURE;
			mem->path = TCS_TAKE_PTR(path);
			mem->dir = true;
			mem->mode = archive_entry_perm(e);
			mem->mtime.tv_sec = archive_entry_mtime(e);
			mem->mtime.tv_nsec = archive_entry_mtime_nsec(e);
			continue;
		}
		if (!*path) {
			tcs_crypt_error("%s: a non-directory member is named '%s'", opt->input,
					archive_entry_pathname(e));
			return TCS_CRYPT_EXIT_BADFILE;
		}
		if (asprintf(&staged, "%s/%zu", stg->path, m->n) < 0) {
			staged = NULL;
			return TCS_CRYPT_EXIT_FAILURE;
		}
		if (archive_entry_hardlink(e)) {
			_cleanup_free_ char *target = NULL;
			const Member *t;

			rc = normalise(archive_entry_hardlink(e), opt->unsafe, opt->input, &target);
			if (rc != 0)
				return rc;
			t = find_member(m, target);
			if (!t || t->dir) {
				tcs_crypt_error("%s: member '%s' is a hard link to '%s', which is not "
						"an earlier file in the archive", opt->input, path,
						target);
				return TCS_CRYPT_EXIT_BADFILE;
			}
			if (asprintf(&link_staged, "%s/%zu", stg->path, (size_t)(t - m->v)) < 0) {
				link_staged = NULL;
				return TCS_CRYPT_EXIT_FAILURE;
			}
			archive_entry_copy_hardlink(e, link_staged);
		}
		archive_entry_copy_pathname(e, staged);
		if (archive_write_header(disk, e) < ARCHIVE_WARN) {
			tcs_crypt_error("%s: cannot stage '%s': %s", opt->input, path,
					archive_error_string(disk));
			return TCS_CRYPT_EXIT_FAILURE;
		}
		if (archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
			rc = copy_data(a, disk, path);
			if (rc < 0)
				return stream_error(src, a, opt->input);
			if (rc > 0)
				return rc;
		}
		if (archive_write_finish_entry(disk) < ARCHIVE_WARN) {
			tcs_crypt_error("%s: cannot stage '%s': %s", opt->input, path,
					archive_error_string(disk));
			return TCS_CRYPT_EXIT_FAILURE;
		}
		if (!(mem = members_add(m)))
			return TCS_CRYPT_EXIT_FAILURE;
		mem->path = TCS_TAKE_PTR(path);
	}
	/* the tar end may come before the last chunk: authenticate to the end */
	for (;;) {
		const uint8_t *data;
		size_t len;

		rc = tcs_crypt_stream_read(src->stream, &data, &len);
		if (rc == 0)
			break;
		if (rc < 0) {
			src->err = rc;
			return stream_error(src, NULL, opt->input);
		}
	}
	if (archive_write_close(disk) < ARCHIVE_WARN) {
		tcs_crypt_error("%s: %s", opt->input, archive_error_string(disk));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	return 0;
}

/* ---- into place ---- */

static void
closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/*
 * Walk to the directory holding path's last component, from dest_fd (or
 * "/" for an absolute path). Without create, a missing component gives 1
 * (nothing there yet). Symlinks on the way are refused unless unsafe.
 */
static int
walk_parent(int dest_fd, const char *path, bool create, bool unsafe, int *ret_fd,
	    const char **ret_name)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_(closep) int fd = -1;
	char *comp, *slash;

	if (!copy)
		return -ENOMEM;
	comp = copy;
	fd = *comp == '/' ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC) : fcntl(dest_fd, F_DUPFD_CLOEXEC, 0);
	while (*comp == '/')
		comp++;
	if (fd < 0)
		return -errno;
	while ((slash = strchr(comp, '/'))) {
		int next;

		*slash = '\0';
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_CLOEXEC | (unsafe ? 0 : O_NOFOLLOW));
		if (next < 0 && errno == ENOENT && !create)
			return 1;
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(fd, comp, 0777) < 0 && errno != EEXIST)
				return -errno;
			next = openat(fd, comp, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		}
		if (next < 0)
			return errno == ELOOP ? -ENOTDIR : -errno;
		close(fd);
		fd = next;
		comp = slash + 1;
	}
	*ret_fd = fd;
	fd = -1;
	*ret_name = path + (comp - copy);
	return 0;
}

static int
cmp_member_path(const void *a, const void *b)
{
	return strcmp((*(Member *const *)a)->path, (*(Member *const *)b)->path);
}

static Member *
bsearch_path(Member **sorted, size_t n, const char *path)
{
	Member key = {.path = (char *)path}, *kp = &key;
	Member **hit = bsearch(&kp, sorted, n, sizeof(*sorted), cmp_member_path);

	return hit ? *hit : NULL;
}

/* Every conflict and unsafe path, before anything is moved. */
static int
check_targets(const Members *m, const Options *opt, int dest_fd, int stage_fd)
{
	struct stat stage_st;
	_cleanup_free_ Member **sorted = m->n ? calloc(m->n, sizeof(*sorted)) : NULL;

	if ((m->n && !sorted) || fstat(stage_fd, &stage_st) < 0)
		return TCS_CRYPT_EXIT_FAILURE;
	for (size_t i = 0; i < m->n; i++)
		sorted[i] = &m->v[i];
	if (m->n)
		qsort(sorted, m->n, sizeof(*sorted), cmp_member_path);
	for (size_t i = 1; i < m->n; i++) {
		if (strcmp(sorted[i - 1]->path, sorted[i]->path) == 0 &&
		    !(sorted[i - 1]->dir && sorted[i]->dir)) {
			tcs_crypt_error("%s: member '%s' appears more than once; refusing",
					opt->input, sorted[i]->path);
			return TCS_CRYPT_EXIT_REFUSED;
		}
	}
	for (size_t i = 0; i < m->n; i++) {
		const Member *mem = &m->v[i];
		_cleanup_free_ char *prefix = strdup(mem->path);
		_cleanup_(closep) int fd = -1;
		const char *name = NULL;
		struct stat st;
		int rc;

		if (!prefix)
			return TCS_CRYPT_EXIT_FAILURE;
		/* a member below another member that is not a directory (a symlink) */
		for (char *s = strrchr(prefix, '/'); s && s > prefix; s = strrchr(prefix, '/')) {
			const Member *p;

			*s = '\0';
			p = bsearch_path(sorted, m->n, prefix);
			if (p && !p->dir && !opt->unsafe) {
				tcs_crypt_error("%s: member '%s' lies below member '%s', which is not "
						"a directory; refusing (use -P to allow)", opt->input,
						mem->path, prefix);
				return TCS_CRYPT_EXIT_REFUSED;
			}
		}
		rc = walk_parent(dest_fd, mem->path, false, opt->unsafe, &fd, &name);
		if (rc == 1)
			continue; /* its directory does not exist yet */
		if (rc < 0) {
			tcs_crypt_error("%s: cannot restore '%s': %s%s", opt->input, mem->path,
					strerror(-rc),
					rc == -ENOTDIR ? " (a file or symlink is in the way; -P "
							 "follows symlinks)" : "");
			return TCS_CRYPT_EXIT_REFUSED;
		}
		/* files are renamed out of the staging directory: same file system only (-P) */
		if (!mem->dir && fstat(fd, &st) == 0 && st.st_dev != stage_st.st_dev) {
			tcs_crypt_error("%s: cannot restore '%s': not on the destination's file "
					"system", opt->input, mem->path);
			return TCS_CRYPT_EXIT_REFUSED;
		}
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			tcs_crypt_error("%s: %s", mem->path, strerror(errno));
			return TCS_CRYPT_EXIT_FAILURE;
		}
		if (mem->dir && S_ISDIR(st.st_mode))
			continue; /* merged into */
		if (mem->dir || S_ISDIR(st.st_mode)) {
			tcs_crypt_error("%s: cannot restore '%s': a %s is in the way", opt->input,
					mem->path, S_ISDIR(st.st_mode) ? "directory" : "file");
			return TCS_CRYPT_EXIT_REFUSED;
		}
		if (!opt->force) {
			tcs_crypt_error("%s: '%s' exists; refusing to overwrite it (use -f)",
					opt->input, mem->path);
			return TCS_CRYPT_EXIT_REFUSED;
		}
	}
	return 0;
}

static int
move_into_place(Members *m, const Options *opt, const Staging *stg)
{
	for (size_t i = 0; i < m->n; i++) {
		Member *mem = &m->v[i];
		_cleanup_(closep) int fd = -1;
		const char *name = NULL;
		char staged[32];
		int rc = walk_parent(stg->dest_fd, mem->path, true, opt->unsafe, &fd, &name);

		if (rc < 0) {
			tcs_crypt_error("%s: cannot restore '%s': %s", opt->input, mem->path,
					strerror(-rc));
			return TCS_CRYPT_EXIT_FAILURE;
		}
		if (mem->dir) {
			/* writable for us until the end, when its own mode is applied */
			if (mkdirat(fd, name, 0700) == 0)
				mem->created = true;
			else if (errno != EEXIST)
				rc = -errno;
		} else {
			snprintf(staged, sizeof(staged), "%zu", i);
			rc = renameat2(stg->fd, staged, fd, name, opt->force ? 0 : RENAME_NOREPLACE);
			if (rc < 0 && errno == EINVAL && !opt->force) {
				/* no RENAME_NOREPLACE on this file system: link() never replaces */
				rc = linkat(stg->fd, staged, fd, name, 0);
				if (rc == 0)
					unlinkat(stg->fd, staged, 0);
			}
			rc = rc < 0 ? -errno : 0;
		}
		if (rc < 0) {
			tcs_crypt_error("%s: cannot restore '%s': %s", opt->input, mem->path,
					strerror(-rc));
			return TCS_CRYPT_EXIT_FAILURE;
		}
	}
	/* directory modes and times last (children first): their contents are in */
	for (size_t i = m->n; i-- > 0;) {
		Member *mem = &m->v[i];
		_cleanup_(closep) int fd = -1;
		const char *name = NULL;
		mode_t mask = umask(0);

		umask(mask);
		if (!mem->created || walk_parent(stg->dest_fd, mem->path, false, opt->unsafe, &fd,
						 &name) != 0)
			continue;
		fchmodat(fd, name, opt->keep_setid ? mem->mode & 07777 : mem->mode & ~mask & 0777, 0);
		utimensat(fd, name, (struct timespec[]){mem->mtime, mem->mtime}, AT_SYMLINK_NOFOLLOW);
	}
	return 0;
}

/* The data key from the TPM: load the file's bind key under the RK, UnBind. */
typedef struct {
	const Options *opt;
	TcsCryptTpm tpm;
} TpmKeySource;

static int
tpm_key_source(const TcsCryptHeader *h, void *userdata, uint8_t key[TCS_CRYPT_KEY_SIZE])
{
	TpmKeySource *ks = userdata;
	const Options *opt = ks->opt;
	uint8_t secret[TCS_SECRET_SIZE];
	uint32_t bind_key = 0;
	int rc;

	if (opt->verbose) {
		char ubuf[TCS_UUID_STRING_SIZE];

		fprintf(stderr, "%s: %s, %s, chunks of %u bytes, %s, key %s%s\n", opt->input,
			tcs_crypt_alg_name(h->alg), tcs_crypt_comp_name(h->comp), h->chunk_size,
			h->flags & TCS_CRYPT_FLAG_PASSPHRASE ? "passphrase" : "no passphrase",
			h->flags & TCS_CRYPT_FLAG_KEY_IN_PS ? "in system PS as " : "in the file",
			h->flags & TCS_CRYPT_FLAG_KEY_IN_PS ? tcs_uuid_to_string(&h->key_uuid, ubuf)
							     : "");
	}
	rc = tcs_crypt_tpm_open(&ks->tpm);
	if (rc == 0)
		rc = tcs_crypt_tpm_load_key(&ks->tpm, h, opt->input, &bind_key);
	if (rc != 0)
		return rc;
	if (!(h->flags & TCS_CRYPT_FLAG_PASSPHRASE))
		memcpy(secret, tcs_auth_well_known, sizeof(secret));
	else if ((rc = tcs_crypt_get_secret(opt->pass, false, secret)) != 0)
		return rc;
	rc = tcs_crypt_tpm_unbind(&ks->tpm, bind_key, h, secret, opt->input, key);
	OPENSSL_cleanse(secret, sizeof(secret));
	/* the TPM is done; do not hold the connection during the bulk work */
	tcs_crypt_tpm_close(&ks->tpm);
	return rc;
}

static int
run(const Options *opt)
{
	_cleanup_(tcs_crypt_stream_freep) TcsCryptStream *stream = NULL;
	_cleanup_(tcs_crypt_header_free) TcsCryptHeader h = {0};
	_cleanup_(staging_remove) Staging stg = {.fd = -1, .dest_fd = -1};
	_cleanup_(members_free) Members members = {0};
	_cleanup_(closep) int fd = -1;
	TpmKeySource ks = {.opt = opt};
	const char *why = NULL;
	Source src = {0};
	int rc;

	if (!opt->list) {
		struct stat st;

		if (stat(opt->dest, &st) < 0) {
			tcs_crypt_error("%s: %s", opt->dest, strerror(errno));
			return TCS_CRYPT_EXIT_FAILURE;
		}
		if (!S_ISDIR(st.st_mode)) {
			tcs_crypt_error("%s: not a directory", opt->dest);
			return TCS_CRYPT_EXIT_FAILURE;
		}
	}
	fd = strcmp(opt->input, "-") == 0 ? dup(STDIN_FILENO)
					  : open(opt->input, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tcs_crypt_error("%s: %s", opt->input, strerror(errno));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	rc = tcs_crypt_reader_open(fd, tpm_key_source, &ks, &h, &stream, &why);
	tcs_crypt_tpm_close(&ks.tpm);
	if (rc > 0)
		return rc; /* the key source said why */
	if (rc == -EPROTONOSUPPORT) {
		tcs_crypt_error("%s: format version not supported by this tpmdecrypt", opt->input);
		return TCS_CRYPT_EXIT_BADFILE;
	}
	if (rc == -EPROTO || rc == -EBADMSG) {
		tcs_crypt_error("%s: %s", opt->input, why);
		return TCS_CRYPT_EXIT_BADFILE;
	}
	if (rc < 0) {
		tcs_crypt_error("%s: %s", opt->input, why ?: strerror(-rc));
		return TCS_CRYPT_EXIT_FAILURE;
	}
	src.stream = stream;
	if (!opt->list && (rc = staging_create(opt->dest, &stg)) != 0)
		return rc;
	rc = extract_to_staging(&src, opt, &stg, &members);
	if (rc != 0 || opt->list)
		return rc;
	rc = check_targets(&members, opt, stg.dest_fd, stg.fd);
	if (rc == 0)
		rc = move_into_place(&members, opt, &stg);
	return rc;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tpmdecrypt [OPTIONS] -i INPUT\n"
		"Authenticate, decrypt and unpack a file made by tpmencrypt.\n\n"
		"  -i INPUT   the encrypted file ('-': standard input)\n"
		"  -C DIR     restore relative to DIR (default: the current directory)\n"
		"  -p PASS    the passphrase (else $TCS_PASS, else asked)\n"
		"  -f         overwrite existing files\n"
		"  -P         allow absolute member paths, '..' and symlinks on the way\n"
		"  -S, --keep-setid  restore modes as recorded: set-id and sticky bits,\n"
		"             not masked by the umask (default: both dropped)\n"
		"  -t         list the members (after authenticating them), restore nothing\n"
		"  -v         list the members while restoring; describe the header\n"
		"  -h, -V     help, version\n"
		"Exit: 0 ok, 1 I/O error, 2 usage, 3 tcsd/TPM error, 4 no RK, 5 passphrase,\n"
		"      6 bad/damaged/modified input, 7 another TPM, 8 refused (unsafe path,\n"
		"      existing file, device node, FIFO, socket).\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"keep-setid", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	Options opt = {.dest = "."};
	int c;

	tcs_crypt_prog = "tpmdecrypt";
	while ((c = getopt_long(argc, argv, "i:C:p:fPStvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			opt.input = optarg;
			break;
		case 'C':
			opt.dest = optarg;
			break;
		case 'p':
			opt.pass = optarg;
			break;
		case 'f':
			opt.force = true;
			break;
		case 'P':
			opt.unsafe = true;
			break;
		case 'S':
			opt.keep_setid = true;
			break;
		case 't':
			opt.list = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tpmdecrypt (tcs) %s\n", TCS_VERSION);
			return 0;
		default:
			usage(stderr);
			return TCS_CRYPT_EXIT_USAGE;
		}
	}
	if (!opt.input && optind < argc)
		opt.input = argv[optind++]; /* tpmdecrypt FILE, as the guide's typo suggests */
	if (!opt.input || optind < argc) {
		tcs_crypt_error(!opt.input ? "no input file (-i INPUT)" : "unexpected argument");
		usage(stderr);
		return TCS_CRYPT_EXIT_USAGE;
	}
	return run(&opt);
}

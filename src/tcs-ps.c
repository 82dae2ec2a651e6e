/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-ps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcs-buf.h"
#include "tcs-key.h"
#include "tcs-uuid.h"

#define PS_HEADER_SIZE 5u
#define PS_RECORD_HEADER_SIZE 42u

static void
ps_key_free(TcsPsKey *k)
{
	free(k->pub);
	free(k->blob);
	free(k->vendor);
	memset(k, 0, sizeof(*k));
}

void
tcs_ps_clear(TcsPs *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->n_keys; i++)
		ps_key_free(&ps->keys[i]);
	free(ps->keys);
	ps->keys = NULL;
	ps->n_keys = 0;
}

/* NULL for an empty field, so an empty store never holds zero-size allocations. */
static int
dup_bytes(const uint8_t *p, size_t n, uint8_t **ret)
{
	uint8_t *d = NULL;

	if (n) {
		d = malloc(n);
		if (!d)
			return -ENOMEM;
		memcpy(d, p, n);
	}
	*ret = d;
	return 0;
}

static int
ps_key_fill(TcsPsKey *k, const uint8_t *pub, size_t pub_len, const uint8_t *blob, size_t blob_len,
	    const uint8_t *vendor, size_t vendor_len)
{
	if (dup_bytes(pub, pub_len, &k->pub) < 0 || dup_bytes(blob, blob_len, &k->blob) < 0 ||
	    dup_bytes(vendor, vendor_len, &k->vendor) < 0) {
		ps_key_free(k);
		return -ENOMEM;
	}
	k->pub_len = pub_len;
	k->blob_len = blob_len;
	k->vendor_len = vendor_len;
	return 0;
}

const TcsPsKey *
tcs_ps_find(const TcsPs *ps, const TcsUuid *uuid)
{
	for (size_t i = 0; i < ps->n_keys; i++)
		if (tcs_uuid_equal(&ps->keys[i].uuid, uuid))
			return &ps->keys[i];
	return NULL;
}

const TcsPsKey *
tcs_ps_find_by_pubkey(const TcsPs *ps, const uint8_t *modulus, size_t len)
{
	for (size_t i = 0; i < ps->n_keys; i++) {
		const TcsPsKey *k = &ps->keys[i];

		if (k->pub_len == len && (len == 0 || memcmp(k->pub, modulus, len) == 0))
			return k;
	}
	return NULL;
}

int
tcs_ps_parse(const uint8_t *data, size_t len, TcsPs *ret)
{
	_cleanup_ps_ TcsPs ps = {0};
	TcsRbuf r;
	uint32_t n;

	if (len == 0) {
		*ret = ps;
		return 0;
	}
	tcs_rbuf_init(&r, data, len);
	if (tcs_rbuf_u8(&r) != TCS_PS_VERSION)
		return -EBADMSG;
	n = tcs_rbuf_u32_le(&r);
	if (!tcs_rbuf_ok(&r) || n > TCS_PS_MAX_KEYS)
		return -EBADMSG;
	/* every record needs at least its header: refuse absurd counts before allocating */
	if (n > tcs_rbuf_remaining(&r) / PS_RECORD_HEADER_SIZE)
		return -EBADMSG;
	if (n) {
		ps.keys = calloc(n, sizeof(*ps.keys));
		if (!ps.keys)
			return -ENOMEM;
	}

	for (uint32_t i = 0; i < n; i++) {
		TcsUuid uuid, parent;
		uint16_t pub_len, blob_len, flags;
		uint32_t vendor_len;
		const uint8_t *pub, *blob, *vendor;
		TcsPsKey *k;

		tcs_uuid_read_ps(&r, &uuid);
		tcs_uuid_read_ps(&r, &parent);
		pub_len = tcs_rbuf_u16_le(&r);
		blob_len = tcs_rbuf_u16_le(&r);
		vendor_len = tcs_rbuf_u32_le(&r);
		flags = tcs_rbuf_u16_le(&r);
		if (vendor_len > TCS_PS_MAX_VENDOR)
			return -EBADMSG;
		pub = tcs_rbuf_take(&r, pub_len);
		blob = tcs_rbuf_take(&r, blob_len);
		vendor = tcs_rbuf_take(&r, vendor_len);
		if (!tcs_rbuf_ok(&r))
			return -EBADMSG;
		if (!(flags & TCS_PS_FLAG_VALID) || tcs_ps_find(&ps, &uuid))
			continue;

		k = &ps.keys[ps.n_keys];
		if (ps_key_fill(k, pub, pub_len, blob, blob_len, vendor, vendor_len) < 0)
			return -ENOMEM;
		k->uuid = uuid;
		k->parent_uuid = parent;
		k->flags = flags;
		ps.n_keys++;
	}
	*ret = ps;
	ps = (TcsPs){0};
	return 0;
}

int
tcs_ps_serialize(const TcsPs *ps, uint8_t **ret, size_t *ret_len)
{
	TcsWbuf w;
	size_t total = PS_HEADER_SIZE;

	if (ps->n_keys > TCS_PS_MAX_KEYS)
		return -EINVAL;
	for (size_t i = 0; i < ps->n_keys; i++) {
		const TcsPsKey *k = &ps->keys[i];

		if (k->pub_len > TCS_PS_MAX_PUB || k->blob_len > TCS_PS_MAX_BLOB ||
		    k->vendor_len > TCS_PS_MAX_VENDOR)
			return -EINVAL;
		total += PS_RECORD_HEADER_SIZE + k->pub_len + k->blob_len + k->vendor_len;
	}
	if (total > TCS_PS_MAX_FILE_SIZE)
		return -E2BIG;

	tcs_wbuf_init(&w, TCS_PS_MAX_FILE_SIZE);
	tcs_wbuf_u8(&w, TCS_PS_VERSION);
	tcs_wbuf_u32_le(&w, (uint32_t)ps->n_keys);
	for (size_t i = 0; i < ps->n_keys; i++) {
		const TcsPsKey *k = &ps->keys[i];

		tcs_uuid_write_ps(&w, &k->uuid);
		tcs_uuid_write_ps(&w, &k->parent_uuid);
		tcs_wbuf_u16_le(&w, (uint16_t)k->pub_len);
		tcs_wbuf_u16_le(&w, (uint16_t)k->blob_len);
		tcs_wbuf_u32_le(&w, (uint32_t)k->vendor_len);
		tcs_wbuf_u16_le(&w, k->flags);
		tcs_wbuf_bytes(&w, k->pub, k->pub_len);
		tcs_wbuf_bytes(&w, k->blob, k->blob_len);
		tcs_wbuf_bytes(&w, k->vendor, k->vendor_len);
	}
	if (!tcs_wbuf_ok(&w)) {
		tcs_wbuf_free(&w);
		return -ENOMEM;
	}
	*ret = tcs_wbuf_steal(&w, ret_len);
	return 0;
}

int
tcs_ps_add(TcsPs *ps, const TcsUuid *uuid, const TcsUuid *parent, bool parent_in_system_ps,
	   const uint8_t *blob, size_t blob_len, const uint8_t *vendor, size_t vendor_len)
{
	_cleanup_key_ TcsKey key = {0};
	_cleanup_free_ uint8_t *zeros = NULL;
	const TcsUuid srk = TCS_UUID_SRK;
	const uint8_t *pub;
	TcsPsKey *keys, nk = {0};
	size_t used;
	int rc;

	if (tcs_ps_find(ps, uuid))
		return -EEXIST;
	if (ps->n_keys >= TCS_PS_MAX_KEYS)
		return -ENOSPC;
	if (blob_len > TCS_PS_MAX_BLOB || vendor_len > TCS_PS_MAX_VENDOR)
		return -E2BIG;
	rc = tcs_key_parse(blob, blob_len, &key, &used);
	if (rc < 0)
		return rc;
	if (used != blob_len)
		return -EBADMSG;

	pub = key.modulus;
	/* TrouSerS never stores the SRK's public key in the file */
	if (tcs_uuid_equal(uuid, &srk) && key.modulus_len) {
		zeros = calloc(1, key.modulus_len);
		if (!zeros)
			return -ENOMEM;
		pub = zeros;
	}
	rc = ps_key_fill(&nk, pub, key.modulus_len, blob, blob_len, vendor, vendor_len);
	if (rc < 0)
		return rc;
	nk.uuid = *uuid;
	nk.parent_uuid = *parent;
	nk.flags = TCS_PS_FLAG_VALID | (parent_in_system_ps ? TCS_PS_FLAG_PARENT_PS_SYSTEM : 0);

	keys = realloc(ps->keys, (ps->n_keys + 1) * sizeof(*keys));
	if (!keys) {
		ps_key_free(&nk);
		return -ENOMEM;
	}
	keys[ps->n_keys++] = nk;
	ps->keys = keys;
	return 0;
}

int
tcs_ps_remove(TcsPs *ps, const TcsUuid *uuid)
{
	const TcsPsKey *k = tcs_ps_find(ps, uuid);
	size_t i;

	if (!k)
		return -ENOENT;
	i = (size_t)(k - ps->keys);
	ps_key_free(&ps->keys[i]);
	memmove(&ps->keys[i], &ps->keys[i + 1], (ps->n_keys - i - 1) * sizeof(*ps->keys));
	ps->n_keys--;
	if (ps->n_keys == 0) {
		free(ps->keys);
		ps->keys = NULL;
	}
	return 0;
}

/* ---- files ---- */

static void
closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static int
take_fd(int *fd)
{
	int v = *fd;

	*fd = -1;
	return v;
}

/* Remove a temp file that never got renamed into place. */
static void
unlink_tempp(char **path)
{
	if (*path) {
		unlink(*path);
		free(*path);
	}
}

int
tcs_ps_load_file(const char *path, TcsPs *ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t size, got = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			*ret = (TcsPs){0};
			return 0;
		}
		return -errno;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > (off_t)TCS_PS_MAX_FILE_SIZE)
		return -EFBIG;
	size = (size_t)st.st_size;
	/* one spare byte tells us if the file grew under us */
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + got, size + 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > size)
			return -EAGAIN; /* grew while we read: not ours to guess */
	}
	return tcs_ps_parse(buf, got, ret);
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -1;
	const char *slash = strrchr(path, '/');

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

int
tcs_ps_save_file(const char *path, const TcsPs *ps)
{
	_cleanup_(unlink_tempp) char *tmp = NULL;
	_cleanup_free_ uint8_t *data = NULL;
	_cleanup_close_ int fd = -1;
	size_t len;
	int rc;

	rc = tcs_ps_serialize(ps, &data, &len);
	if (rc < 0)
		return rc;
	if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	/* mkostemp: O_CREAT|O_EXCL, mode 0600 */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(TCS_TAKE_PTR(tmp));
		return rc;
	}
	rc = write_all(fd, data, len);
	if (rc < 0)
		return rc;
	if (fsync(fd) < 0)
		return -errno;
	rc = close(take_fd(&fd));
	if (rc < 0)
		return -errno;
	if (rename(tmp, path) < 0)
		return -errno;
	free(TCS_TAKE_PTR(tmp));
	/* the rename is durable only once the directory is */
	return fsync_dir_of(path);
}

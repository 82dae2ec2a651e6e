/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Backup and Restore (tpmadm backup / restore), on the TPM worker.
 *
 * Backup migrates the RK with TPM_CreateMigrationBlob (REWRAP scheme) to a
 * throw-away RSA key made for the occasion, decrypts that in software and
 * writes the RK's private key with the registered keys below it into an
 * archive encrypted with the caller's secret (src/tcs-archive.h). Restore
 * wraps the archived RK for this TPM's SRK, as TPM_ConvertMigrationBlob
 * would, checks that the TPM loads it, and only then changes system
 * persistent storage, in one atomic write. The keys below the RK are wrapped
 * by the RK's public key, which does not change, so they load as they are.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "tcs-archive.h"
#include "tcs-buf.h"
#include "tcs-key-wrap.h"
#include "tcs-key.h"
#include "tcs-keyblob.h"
#include "tcs-uuid.h"
#include "tcsd-manager-private.h"
#include "tcsd-ps.h"

static const TcsUuid uuid_rk = TCS_UUID_NODE(3);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TcsArchive, tcs_archive_clear)

static void
migration_blob_clear(TcsMigrationBlob *b)
{
	tcs_migration_blob_clear(b);
}


/* The TPM_PUBKEY of a 2048-bit software RSA key, as a migration destination. */
static gboolean
tpm_pubkey_of(EVP_PKEY *key, TcsWbuf *out)
{
	BIGNUM *n = NULL;
	guint8 mod[256];
	gboolean ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
		      BN_bn2binpad(n, mod, sizeof(mod)) == (int)sizeof(mod);

	BN_free(n);
	if (!ok)
		return FALSE;
	tcs_wbuf_init(out, 0);
	tcs_wbuf_u32(out, TPM_ALG_RSA);
	tcs_wbuf_u16(out, TPM_ES_RSAESOAEP_SHA1_MGF1);
	tcs_wbuf_u16(out, TPM_SS_NONE);
	tcs_wbuf_u32(out, 12);
	tcs_wbuf_u32(out, 2048);
	tcs_wbuf_u32(out, 2);
	tcs_wbuf_u32(out, 0); /* exponent: the default 65537 */
	tcs_wbuf_u32(out, sizeof(mod));
	tcs_wbuf_bytes(out, mod, sizeof(mod));
	return tcs_wbuf_ok(out);
}

/* A copy of a TPM_KEY blob with another encData (the last field of TPM_KEY and TPM_KEY12). */
static guint8 *
with_enc_data(const TcsKey *k, const guint8 *enc, size_t enc_len, size_t *ret_len)
{
	TcsWbuf w;
	size_t head = (size_t)(k->enc_data - k->raw) - 4;

	tcs_wbuf_init(&w, 0);
	tcs_wbuf_bytes(&w, k->raw, head);
	tcs_wbuf_u32(&w, (guint32)enc_len);
	tcs_wbuf_bytes(&w, enc, enc_len);
	if (!tcs_wbuf_ok(&w)) {
		tcs_wbuf_free(&w);
		return NULL;
	}
	return tcs_wbuf_steal(&w, ret_len);
}

/* The RK's private key, migrated out of the TPM with the owner's consent. */
static gboolean
extract_rk(TcsClient *c, const guint8 owner[TCS_SECRET_SIZE], const guint8 *srk_secret,
	   const TcsPsKey *rk, TcsArchiveEntry *e, GError **error)
{
	_cleanup_key_ TcsKey k = {0};
	_cleanup_(tcs_wbuf_free) TcsWbuf pub = {0};
	_cleanup_(migration_blob_clear) TcsMigrationBlob mb = {0};
	g_autoptr(EVP_PKEY) dest = NULL, priv = NULL;
	g_autofree guint8 *ticket = NULL, *rewrapped = NULL;
	size_t ticket_len = 0, rewrapped_len = 0;
	unsigned char *der = NULL;
	int rc, der_len;

	if (tcs_key_parse(rk->blob, rk->blob_len, &k, NULL) < 0)
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INTERNAL, "the registered RK is malformed");
	if (!(k.key_flags & TPM_KEY_FLAG_MIGRATABLE))
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_NOT_SUPPORTED,
				 "the RK is not migratable, so it cannot be archived");
	dest = EVP_RSA_gen(2048);
	if (!dest || !tpm_pubkey_of(dest, &pub))
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INTERNAL,
				 "cannot make a migration key");
	rc = tcs_client_authorize_migration_key(c, owner, TSS_MS_REWRAP, pub.data, pub.len,
						&ticket, &ticket_len);
	if (rc != 0)
		return tcsd_manager_set_tpm_error(error, rc, "TPM_AuthorizeMigrationKey");
	/* the RK as TakeOwnership/CreateStorageKey made it: the well-known secret */
	rc = tcs_client_create_migration_blob(c, TPM_KH_SRK, srk_secret,
					      tcs_auth_well_known, TSS_MS_REWRAP, ticket,
					      ticket_len, k.enc_data, k.enc_data_len, &mb);
	if (rc != 0)
		return tcsd_manager_set_tpm_error(error, rc, "TPM_CreateMigrationBlob of the RK");
	rewrapped = with_enc_data(&k, mb.out, mb.out_len, &rewrapped_len);
	if (!rewrapped)
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INTERNAL, "out of memory");
	rc = tcs_key_unwrap(rewrapped, rewrapped_len, dest, &priv, e->usage_secret,
			    e->migration_secret);
	if (rc < 0)
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INTERNAL,
				 "the migrated RK does not decrypt: %s", g_strerror(-rc));
	der_len = i2d_PrivateKey(priv, &der);
	if (der_len <= 0)
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INTERNAL, "cannot encode the RK");
	e->kind = TCS_ARCHIVE_ENTRY_ROOT;
	e->uuid = rk->uuid;
	e->parent = rk->parent_uuid;
	e->blob = rk->blob;
	e->blob_len = rk->blob_len;
	e->private_der = g_memdup2(der, der_len);
	e->private_der_len = der_len;
	OPENSSL_clear_free(der, der_len);
	return TRUE;
}

/* A regular file: write() cannot stall on it as on a pipe. */
static gboolean
write_file(int fd, GBytes *bytes, GError **error)
{
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(bytes, &len);

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_IO, "cannot write the archive: %s",
					 n < 0 ? g_strerror(errno) : "no progress");
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_IO, "cannot write the archive: %s",
				 g_strerror(errno));
	return TRUE;
}

/* Archive the RK and its descendants into *out; *count gets the keys archived. */
static gboolean
archive_subtree(TcsdDaemon *d, TcsClient *c, const guint8 owner[TCS_SECRET_SIZE],
		const guint8 *srk_secret, GBytes *secret, GBytes **out, guint *count, GError **error)
{
	g_auto(TcsArchive) a = {0};
	g_autoptr(GArray) desc = NULL;
	g_autofree guint8 *data = NULL;
	const TcsPsKey *rk = tcs_ps_find(&d->ps, &uuid_rk);
	TcsArchiveEntry root = {0};
	size_t len = 0, secret_len = 0;
	const void *sp = g_bytes_get_data(secret, &secret_len);
	int rc;

	if (!rk)
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_NOT_FOUND,
				 "there is no RK (…0003) in system persistent storage");
	if (tcsd_ps_check_rk(d, rk))
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_NOT_FOUND, "%s",
				 TCS_RK_MISMATCH_MESSAGE);
	if (!extract_rk(c, owner, srk_secret, rk, &root, error))
		return FALSE;
	rc = tcs_archive_add(&a, &root);
	tcs_wipe(root.private_der, root.private_der_len);
	g_free(root.private_der);
	tcs_wipe(&root, sizeof(root));
	desc = tcsd_manager_descendants(&d->ps, &uuid_rk);
	for (guint i = 0; rc == 0 && i < desc->len; i++) {
		const TcsPsKey *pk = tcs_ps_find(&d->ps, &g_array_index(desc, TcsUuid, i));
		TcsArchiveEntry e = {
			.kind = TCS_ARCHIVE_ENTRY_KEY,
			.uuid = pk->uuid,
			.parent = pk->parent_uuid,
			.blob = pk->blob,
			.blob_len = pk->blob_len,
		};

		rc = tcs_archive_add(&a, &e);
	}
	if (rc == 0)
		rc = tcs_archive_seal(&a, sp, secret_len, 0, &data, &len);
	if (rc < 0)
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INTERNAL, "cannot write the archive: %s",
				 g_strerror(-rc));
	*out = g_bytes_new_take(g_steal_pointer(&data), len);
	*count = (guint)a.n_entries;
	return TRUE;
}

void
tcsd_manager_backup_run(TcsdDaemon *d, TcsClient *c, TcsdOp *op)
{
	guint8 owner[TCS_SECRET_SIZE];
	GVariantBuilder b;
	guint count = 0;
	gboolean ok;

	if (!tcs_ps_find(&d->ps, &uuid_rk)) {
		tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_NOT_FOUND,
			  "there is no RK (…0003) in system persistent storage");
		return;
	}
	if (!tcsd_manager_owner_secret(d, c, &op->owner, owner, &op->error))
		return;
	/* the main loop writes it: a pipe that does not drain must not hold the worker */
	ok = archive_subtree(d, c, owner, tcsd_manager_srk_secret(op), op->archive_secret,
			     &op->output, &count, &op->error);
	tcs_wipe(owner, sizeof(owner));
	if (!ok)
		return;
	g_message("key archive made: %u keys", count);
	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "key-count", g_variant_new_uint32(count));
	g_variant_builder_add(&b, "{sv}", "size", g_variant_new_uint64(g_bytes_get_size(op->output)));
	op->result = g_variant_new("(a{sv})", &b);
}

gboolean
tcsd_manager_rk_safety_copy(TcsdDaemon *d, TcsClient *c, TcsdOp *op, guint *count,
			    GError **error)
{
	g_autoptr(GBytes) safety = NULL;
	guint8 owner[TCS_SECRET_SIZE];
	gboolean ok;

	if (!tcsd_manager_owner_secret(d, c, &op->owner, owner, error))
		return FALSE;
	/* fd_out is a regular file (checked on the main loop): writing it cannot stall */
	ok = archive_subtree(d, c, owner, tcsd_manager_srk_secret(op), op->archive_secret,
			     &safety, count, error) &&
	     write_file(op->fd_out, safety, error);
	tcs_wipe(owner, sizeof(owner));
	if (ok)
		g_message("safety copy of the RK written: %u keys", *count);
	return ok;
}

/* ---------------------------------------------------------------- restore */

/* Every key's parent comes earlier in the archive, and every blob is a key. */
static gboolean
check_archive(const TcsArchive *a, GError **error)
{
	const TcsArchiveEntry *root = &a->entries[0];

	if (root->kind != TCS_ARCHIVE_ENTRY_ROOT || !tcs_uuid_equal(&root->uuid, &uuid_rk))
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INVALID_ARCHIVE,
				 "the archive does not hold an RK");
	for (size_t i = 0; i < a->n_entries; i++) {
		_cleanup_key_ TcsKey k = {0};
		gboolean parent_seen = i == 0;

		for (size_t j = 0; j < i && !parent_seen; j++)
			parent_seen = tcs_uuid_equal(&a->entries[j].uuid, &a->entries[i].parent);
		for (size_t j = 0; j < i; j++)
			if (tcs_uuid_equal(&a->entries[j].uuid, &a->entries[i].uuid))
				parent_seen = FALSE;
		if (!parent_seen || tcs_key_parse(a->entries[i].blob, a->entries[i].blob_len, &k,
						  NULL) < 0)
			return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INVALID_ARCHIVE,
					 "the archive is inconsistent (entry %zu)", i);
	}
	return TRUE;
}

/* The archived RK, wrapped for this TPM's SRK and checked by loading it. */
static guint8 *
rewrap_rk(TcsClient *c, const guint8 owner[TCS_SECRET_SIZE], const guint8 *srk_secret,
	  const TcsArchiveEntry *root, size_t *ret_len, GError **error)
{
	_cleanup_key_ TcsKey k = {0};
	g_autoptr(EVP_PKEY) priv = NULL;
	g_autofree guint8 *srk_pub = NULL;
	guint8 *blob = NULL;
	size_t srk_pub_len = 0;
	const unsigned char *p = root->private_der;
	TcsKeyWrapParams params;
	guint32 handle = 0;
	int rc;

	if (tcs_key_parse(root->blob, root->blob_len, &k, NULL) < 0 ||
	    !(priv = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)root->private_der_len))) {
		tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INVALID_ARCHIVE, "the archived RK is malformed");
		return NULL;
	}
	rc = tcs_client_owner_read_internal_pub(c, owner, TPM_KH_SRK, &srk_pub, &srk_pub_len);
	if (rc != 0) {
		tcsd_manager_set_tpm_error(error, rc, "reading the SRK's public key");
		return NULL;
	}
	params = (TcsKeyWrapParams){
		.usage = k.key_usage,
		.flags = k.key_flags,
		.auth_data_usage = k.auth_data_usage,
		.enc_scheme = k.enc_scheme,
		.sig_scheme = k.sig_scheme,
		.key12 = k.kind == TCS_KEY_KIND_KEY12,
	};
	rc = tcs_key_wrap(priv, srk_pub, srk_pub_len, &params, root->usage_secret,
			  root->migration_secret, &blob, ret_len);
	if (rc < 0) {
		tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INTERNAL, "cannot wrap the RK for this TPM: %s",
			  g_strerror(-rc));
		return NULL;
	}
	rc = tcs_client_load_key_by_blob(c, TPM_KH_SRK, srk_secret, blob, *ret_len,
					 &handle);
	if (rc != 0) {
		g_free(blob);
		tcsd_manager_set_tpm_error(error, rc, "loading the restored RK under the SRK");
		return NULL;
	}
	(void)tcs_client_evict_key(c, handle);
	return blob;
}

static gboolean
in_subtree(GArray *subtree, const TcsUuid *u)
{
	for (guint i = 0; i < subtree->len; i++)
		if (tcs_uuid_equal(&g_array_index(subtree, TcsUuid, i), u))
			return TRUE;
	return tcs_uuid_equal(u, &uuid_rk);
}

void
tcsd_manager_restore_run(TcsdDaemon *d, TcsClient *c, TcsdOp *op)
{
	g_auto(TcsArchive) a = {0};
	g_autofree guint8 *rk_blob = NULL;
	g_autoptr(GBytes) safety = NULL;
	g_autoptr(GArray) old = tcsd_manager_descendants(&d->ps, &uuid_rk);
	gboolean rk_exists = tcs_ps_find(&d->ps, &uuid_rk) != NULL;
	/* a substituted RK is what Restore repairs: nothing in it is worth a safety copy */
	gboolean rk_substitute = rk_exists && tcsd_ps_check_rk(d, tcs_ps_find(&d->ps, &uuid_rk));
	guint8 owner[TCS_SECRET_SIZE];
	size_t len = 0, rk_len = 0, secret_len = 0;
	const void *secret = g_bytes_get_data(op->archive_secret, &secret_len);
	/* read on the main loop before the op reached the worker */
	const guint8 *data = g_bytes_get_data(op->input, &len);
	guint replaced = rk_exists ? old->len + 1 : 0, safety_count = 0;
	GVariantBuilder b;
	TcsPs next = {0};
	int rc;

	rc = tcs_archive_open(data, len, secret, secret_len, &a);
	if (rc == -EKEYREJECTED) {
		tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_ARCHIVE_AUTH_FAILED,
			  "the archive secret is wrong");
		return;
	}
	if (rc < 0) {
		tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_INVALID_ARCHIVE,
			  "not a key archive, or a damaged one (%s)", g_strerror(-rc));
		return;
	}
	if (!check_archive(&a, &op->error))
		return;
	/* keys outside the RK's tree must not be overwritten by archived UUIDs */
	for (size_t i = 0; i < a.n_entries; i++)
		if (tcs_ps_find(&d->ps, &a.entries[i].uuid) &&
		    !in_subtree(old, &a.entries[i].uuid)) {
			char s[TCS_UUID_STRING_SIZE];

			tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_ALREADY_EXISTS,
				  "archived key %s is registered outside the RK",
				  tcs_uuid_to_string(&a.entries[i].uuid, s));
			return;
		}
	if (rk_exists && !op->replace && !op->dry_run) {
		tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_ALREADY_EXISTS,
			  "an RK exists with %u registered descendants; restoring replaces them",
			  old->len);
		return;
	}
	if (!tcsd_manager_owner_secret(d, c, &op->owner, owner, &op->error))
		return;
	rk_blob = rewrap_rk(c, owner, tcsd_manager_srk_secret(op), &a.entries[0], &rk_len,
			    &op->error);
	/* the safety copy goes out before anything is deleted; fd_out is a regular file
	 * (checked on the main loop), so writing it here cannot stall the worker */
	if (rk_blob && !op->dry_run && rk_exists && !rk_substitute &&
	    (!archive_subtree(d, c, owner, tcsd_manager_srk_secret(op), op->archive_secret,
			      &safety, &safety_count, &op->error) ||
	     !write_file(op->fd_out, safety, &op->error)))
		g_prefix_error(&op->error, "nothing was restored: the safety copy failed: ");
	tcs_wipe(owner, sizeof(owner));
	if (!rk_blob || op->error)
		return;
	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "key-count", g_variant_new_uint32((guint32)a.n_entries));
	g_variant_builder_add(&b, "{sv}", "replaced-key-count",
			      g_variant_new_uint32(op->replace || op->dry_run ? replaced : 0));
	g_variant_builder_add(&b, "{sv}", "rk-exists", g_variant_new_boolean(rk_exists));
	if (op->dry_run) {
		op->result = g_variant_new("(a{sv})", &b);
		return;
	}
	/* one new store, written atomically: all of it or none of it */
	{
		g_autofree guint8 *cur = NULL;
		size_t cur_len = 0;

		rc = tcs_ps_serialize(&d->ps, &cur, &cur_len);
		if (rc == 0)
			rc = tcs_ps_parse(cur, cur_len, &next);
	}
	for (guint i = 0; rc == 0 && i < old->len; i++) {
		(void)tcs_ps_remove(&next, &g_array_index(old, TcsUuid, i));
		tcsd_manager_note_unregistered(op, &g_array_index(old, TcsUuid, i));
	}
	if (rc == 0 && rk_exists) {
		(void)tcs_ps_remove(&next, &uuid_rk);
		tcsd_manager_note_unregistered(op, &uuid_rk);
	}
	if (rc == 0)
		rc = tcs_ps_add(&next, &uuid_rk, &TCS_UUID_SRK, TRUE, rk_blob, rk_len, NULL, 0);
	for (size_t i = 1; rc == 0 && i < a.n_entries; i++)
		rc = tcs_ps_add(&next, &a.entries[i].uuid, &a.entries[i].parent, TRUE,
				a.entries[i].blob, a.entries[i].blob_len, NULL, 0);
	if (rc == 0)
		rc = tcsd_ps_replace(d, &next);
	tcs_ps_clear(&next);
	if (rc < 0) {
		g_ptr_array_set_size(op->unregistered, 0);
		g_variant_builder_clear(&b);
		tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_IO,
			  "nothing was restored: cannot write system persistent storage: %s",
			  g_strerror(-rc));
		return;
	}
	for (size_t i = 0; i < a.n_entries; i++)
		tcsd_manager_note_registered(op, &a.entries[i].uuid);
	g_message("key archive restored: %zu keys, %u replaced", a.n_entries, replaced);
	op->result = g_variant_new("(a{sv})", &b);
}

/* ---------------------------------------------------------------- archive I/O (main loop) */

/*
 * A descriptor a caller passed may be a pipe or socket that never delivers or
 * never drains. The TPM worker never touches it (it would stop every TSS
 * client) and the main loop never blocks on it: it waits for poll readiness
 * and reads or writes without blocking, under a deadline and a size cap.
 * A pipe is reopened through /proc with O_NONBLOCK, a file description of
 * our own: setting O_NONBLOCK on the caller's would change it for the
 * caller too, and a blocking read could still stall if the caller drained
 * the pipe between our poll and our read.
 */

gboolean
tcsd_manager_check_fd(int fd, TcsdFdUse use, const char *what, GError **error)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_IO, "%s: %s", what,
					 g_strerror(errno));
	if (S_ISREG(st.st_mode))
		return TRUE;
	if (use == TCSD_FD_WRITE_FILE)
		return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INVALID_ARGS,
					 "%s must be a regular file", what);
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return TRUE;
	/* a terminal or device is read after poll said readable; writing could stall */
	if (use == TCSD_FD_READ && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
		return TRUE;
	return tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INVALID_ARGS,
				 "%s must be a regular file, a pipe or a socket", what);
}

static void
io_finish(TcsdOp *op)
{
	TcsdOpFunc then = op->io_then;

	tcsd_manager_io_stop(op);
	then(op);
}

void
tcsd_manager_io_stop(TcsdOp *op)
{
	if (op->io_watch)
		g_source_remove(op->io_watch);
	if (op->io_timer)
		g_source_remove(op->io_timer);
	op->io_watch = op->io_timer = 0;
	if (op->io_fd >= 0 && op->io_fd != op->fd_in && op->io_fd != op->fd_out)
		close(op->io_fd);
	op->io_fd = -1;
	if (op->io_buf) {
		tcs_wipe(op->io_buf->data, op->io_buf->len);
		g_byte_array_unref(op->io_buf);
		op->io_buf = NULL;
	}
	op->io_then = NULL;
}

static gboolean
io_timed_out(gpointer data)
{
	TcsdOp *op = data;

	op->io_timer = 0;
	tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_IO,
			  "the archive descriptor did not %s within %u ms",
			  op->io_buf ? "deliver the archive" : "take the archive",
			  op->io_timeout_ms);
	io_finish(op);
	return G_SOURCE_REMOVE;
}

/* fd itself, or for a pipe our own non-blocking file description of it */
static void
io_open(TcsdOp *op, int fd, int flags, guint timeout_ms, GIOCondition cond, GUnixFDSourceFunc fn,
	TcsdOpFunc then)
{
	struct stat st;
	gboolean known = fstat(fd, &st) == 0;

	op->io_fd = fd;
	op->io_sock = known && S_ISSOCK(st.st_mode);
	if (known && S_ISFIFO(st.st_mode)) {
		char path[64];
		int nfd;

		g_snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		nfd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (nfd >= 0)
			op->io_fd = nfd;
		else
			g_message("cannot reopen the archive pipe (%s): poll then %s it",
				  g_strerror(errno), flags == O_RDONLY ? "read" : "write");
	}
	op->io_then = then;
	op->io_timeout_ms = timeout_ms;
	op->io_timer = g_timeout_add(timeout_ms, io_timed_out, op);
	op->io_watch = g_unix_fd_add(op->io_fd, cond, fn, op);
}

static gboolean
on_readable(int fd, GIOCondition cond, gpointer data)
{
	TcsdOp *op = data;
	guint8 chunk[16384];
	ssize_t n = op->io_sock ? recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT)
				: read(fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return G_SOURCE_CONTINUE;
	if (n < 0) {
		tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_IO, "cannot read the archive: %s",
				  g_strerror(errno));
	} else if (n > 0 && op->io_buf->len + (size_t)n > TCS_ARCHIVE_MAX_SIZE) {
		tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_INVALID_ARCHIVE,
				  "not a key archive: larger than %u bytes", TCS_ARCHIVE_MAX_SIZE);
	} else if (n > 0) {
		g_byte_array_append(op->io_buf, chunk, (guint)n);
		tcs_wipe(chunk, (size_t)n);
		return G_SOURCE_CONTINUE;
	} else if (op->io_buf->len == 0) {
		tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_INVALID_ARCHIVE,
				  "the archive is empty");
	} else {
		op->input = g_bytes_new(op->io_buf->data, op->io_buf->len);
	}
	op->io_watch = 0; /* removed by returning G_SOURCE_REMOVE */
	io_finish(op);
	return G_SOURCE_REMOVE;
}

void
tcsd_manager_read_input(TcsdOp *op, guint timeout_ms, TcsdOpFunc then)
{
	op->io_buf = g_byte_array_new();
	io_open(op, op->fd_in, O_RDONLY, timeout_ms, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable,
		then);
}

static gboolean
on_writable(int fd, GIOCondition cond, gpointer data)
{
	TcsdOp *op = data;
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(op->output, &len);
	/* without our own non-blocking description, at most PIPE_BUF: poll promised that much */
	gsize chunk = fd == op->fd_out && !op->io_sock ? MIN(len - op->io_done, PIPE_BUF)
						       : len - op->io_done;
	ssize_t n = op->io_sock ? send(fd, p + op->io_done, chunk, MSG_DONTWAIT | MSG_NOSIGNAL)
				: write(fd, p + op->io_done, chunk);

	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_IO, "cannot write the archive: %s",
				  n < 0 ? g_strerror(errno) : "no progress");
	} else {
		op->io_done += (gsize)n;
		if (op->io_done < len)
			return G_SOURCE_CONTINUE;
		if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
			tcsd_manager_fail(&op->error, TCSD_MANAGER_ERROR_IO,
					  "cannot write the archive: %s", g_strerror(errno));
	}
	op->io_watch = 0;
	io_finish(op);
	return G_SOURCE_REMOVE;
}

void
tcsd_manager_write_output(TcsdOp *op, guint timeout_ms, TcsdOpFunc then)
{
	op->io_done = 0;
	io_open(op, op->fd_out, O_WRONLY, timeout_ms, G_IO_OUT | G_IO_HUP | G_IO_ERR,
		on_writable, then);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stored owner secret (TCS kept it in /etc/opt/tcs/passwd). Here it is
 * sealed to the SRK with TPM_Seal: the file in the state directory is
 * useless without this TPM, and unreadable through the API by design.
 *
 * A disabled or deactivated TPM cannot unseal, yet only the owner secret
 * enables it again: a sealed copy alone would trap a TPM disabled through
 * this API. So while the TPM cannot unseal, the secret is also kept as it is,
 * in a file only the service user can read (like TCS' passwd file), and that
 * copy is removed as soon as unsealing works again.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tcs-key.h"
#include "tcsd-manager-private.h"

#define OWNER_SECRET_FILE "owner-secret"
#define OWNER_SECRET_MAGIC "TCSOWN1\n"
#define OWNER_SECRET_MAX (8 * 1024)
/* the copy kept while the TPM cannot unseal: magic and the 20 bytes */
#define OWNER_SECRET_PLAIN_FILE "owner-secret.unsealed"
#define OWNER_SECRET_PLAIN_MAGIC "TCSOWNP1"

static char *
secret_path(TcsdDaemon *d)
{
	return g_build_filename(d->config->state_dir, OWNER_SECRET_FILE, NULL);
}

static char *
plain_path(TcsdDaemon *d)
{
	return g_build_filename(d->config->state_dir, OWNER_SECRET_PLAIN_FILE, NULL);
}

gboolean
tcsd_owner_secret_exists(TcsdDaemon *d)
{
	g_autofree char *path = secret_path(d);
	g_autofree char *plain = plain_path(d);

	return g_file_test(path, G_FILE_TEST_EXISTS) || g_file_test(plain, G_FILE_TEST_EXISTS);
}

gboolean
tcsd_owner_secret_check_storable(TcsdDaemon *d, GError **error)
{
	if (tcsd_config_check_dir_writable(d->config->state_dir, "state_dir", "state_dir", error))
		return TRUE;
	if (error && *error) {
		(*error)->domain = TCSD_MANAGER_ERROR;
		(*error)->code = TCSD_MANAGER_ERROR_IO;
	}
	g_prefix_error(error, "the owner secret could not be stored, so nothing was changed: ");
	return FALSE;
}

static gboolean
write_file(const char *path, const guint8 *data, gsize len, GError **error)
{
	if (g_file_set_contents_full(path, (const char *)data, len,
				     G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
				     0600, error))
		return TRUE;
	g_prefix_error(error, "cannot store the owner secret: ");
	if (error && *error) {
		(*error)->domain = TCSD_MANAGER_ERROR;
		(*error)->code = TCSD_MANAGER_ERROR_IO;
	}
	return FALSE;
}

static gboolean
write_plain(TcsdDaemon *d, const guint8 secret[TCS_SECRET_SIZE], GError **error)
{
	g_autofree char *path = plain_path(d);
	guint8 buf[sizeof(OWNER_SECRET_PLAIN_MAGIC) - 1 + TCS_SECRET_SIZE];
	size_t magic_len = sizeof(OWNER_SECRET_PLAIN_MAGIC) - 1;
	gboolean ok;

	memcpy(buf, OWNER_SECRET_PLAIN_MAGIC, magic_len);
	memcpy(buf + magic_len, secret, TCS_SECRET_SIZE);
	ok = write_file(path, buf, sizeof(buf), error);
	tcs_wipe(buf, sizeof(buf));
	return ok;
}

/* 1: read, 0: there is none, -1: unusable (error set) */
static int
read_plain(TcsdDaemon *d, guint8 out[TCS_SECRET_SIZE], GError **error)
{
	g_autofree char *path = plain_path(d);
	g_autofree char *data = NULL;
	size_t magic_len = sizeof(OWNER_SECRET_PLAIN_MAGIC) - 1;
	gsize len = 0;
	int ret = 1;

	if (!g_file_get_contents(path, &data, &len, NULL))
		return 0;
	if (len != magic_len + TCS_SECRET_SIZE || memcmp(data, OWNER_SECRET_PLAIN_MAGIC, magic_len)) {
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_IO,
			    "%s is not a stored owner secret", path);
		ret = -1;
	} else {
		memcpy(out, data + magic_len, TCS_SECRET_SIZE);
	}
	tcs_wipe(data, len);
	return ret;
}

static void
remove_file(TcsdDaemon *d, gboolean plain)
{
	g_autofree char *path = plain ? plain_path(d) : secret_path(d);

	if (unlink(path) < 0 && errno != ENOENT)
		g_warning("cannot remove %s: %s", path, g_strerror(errno));
}

gboolean
tcsd_owner_secret_store(TcsdDaemon *d, TcsClient *c, const guint8 secret[TCS_SECRET_SIZE],
			GError **error)
{
	g_autofree char *path = secret_path(d);
	g_autofree guint8 *sealed = NULL;
	g_autoptr(GByteArray) file = g_byte_array_new();
	size_t sealed_len = 0;
	int rc;

	/* the SRK must use the well-known secret: tcsd has no other to unseal with */
	rc = tcs_client_seal(c, TPM_KH_SRK, tcs_auth_well_known, tcs_auth_well_known, NULL, 0,
			     secret, TCS_SECRET_SIZE, &sealed, &sealed_len);
	if (rc == TPM_AUTHFAIL) {
		g_set_error_literal(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_INVALID_ARGS,
				    "storing the owner secret needs an SRK with the well-known "
				    "secret");
		return FALSE;
	}
	if (rc == TPM_DISABLED || rc == TPM_DEACTIVATED) {
		/* sealed later, once the TPM can unseal again (tcsd_owner_secret_load) */
		if (!write_plain(d, secret, error))
			return FALSE;
		remove_file(d, FALSE);
		return TRUE;
	}
	if (rc != 0)
		return tcsd_manager_set_tpm_error(error, rc, "sealing the owner secret");
	g_byte_array_append(file, (const guint8 *)OWNER_SECRET_MAGIC, strlen(OWNER_SECRET_MAGIC));
	g_byte_array_append(file, sealed, (guint)sealed_len);
	if (!write_file(path, file->data, file->len, error))
		return FALSE;
	remove_file(d, TRUE);
	return TRUE;
}

gboolean
tcsd_owner_secret_keep_unsealed(TcsdDaemon *d, TcsClient *c, GError **error)
{
	guint8 secret[TCS_SECRET_SIZE];
	gboolean ok;

	if (!tcsd_owner_secret_exists(d))
		return TRUE;
	ok = tcsd_owner_secret_load(d, c, secret, error) && write_plain(d, secret, error);
	tcs_wipe(secret, sizeof(secret));
	if (!ok)
		g_prefix_error(error, "the stored owner secret would be unusable while the TPM is "
				      "disabled or deactivated, so nothing was changed: ");
	return ok;
}

gboolean
tcsd_owner_secret_load(TcsdDaemon *d, TcsClient *c, guint8 out[TCS_SECRET_SIZE], GError **error)
{
	g_autofree char *path = secret_path(d);
	g_autofree char *data = NULL;
	g_autofree guint8 *plain = NULL;
	size_t plain_len = 0, magic_len = strlen(OWNER_SECRET_MAGIC);
	gsize len = 0;
	int rc, have_plain;

	if (!g_file_get_contents(path, &data, &len, NULL)) {
		/* stored while the TPM could not seal: seal it now if the TPM can */
		have_plain = read_plain(d, out, error);
		if (have_plain == 0)
			g_set_error_literal(error, TCSD_MANAGER_ERROR,
					    TCSD_MANAGER_ERROR_NO_OWNER_SECRET,
					    "no owner secret was given and none is stored");
		if (have_plain > 0)
			(void)tcsd_owner_secret_store(d, c, out, NULL);
		return have_plain > 0;
	}
	if (len <= magic_len || len > OWNER_SECRET_MAX || memcmp(data, OWNER_SECRET_MAGIC, magic_len)) {
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_IO,
			    "%s is not a stored owner secret", path);
		return FALSE;
	}
	rc = tcs_client_unseal(c, TPM_KH_SRK, tcs_auth_well_known, tcs_auth_well_known,
			       (const guint8 *)data + magic_len, len - magic_len, &plain,
			       &plain_len);
	if (rc == TPM_DISABLED || rc == TPM_DEACTIVATED) {
		have_plain = read_plain(d, out, error);
		if (have_plain == 0)
			return tcsd_manager_set_tpm_error(
				error, rc, "a disabled or deactivated TPM cannot unseal the stored "
					   "owner secret: give the owner secret");
		return have_plain > 0;
	}
	if (rc != 0)
		return tcsd_manager_set_tpm_error(
			error, rc, "unsealing the stored owner secret (was the TPM cleared?)");
	if (plain_len != TCS_SECRET_SIZE) {
		tcs_wipe(plain, plain_len);
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_IO,
			    "the stored owner secret in %s is malformed", path);
		return FALSE;
	}
	memcpy(out, plain, TCS_SECRET_SIZE);
	tcs_wipe(plain, plain_len);
	return TRUE;
}

void
tcsd_owner_secret_tidy(TcsdDaemon *d, TcsClient *c)
{
	g_autofree char *path = secret_path(d);
	g_autofree char *plain = plain_path(d);
	guint8 secret[TCS_SECRET_SIZE];

	if (!g_file_test(plain, G_FILE_TEST_EXISTS))
		return;
	/* load() seals a secret stored while the TPM could not; an unseal proves the copy redundant */
	if (tcsd_owner_secret_load(d, c, secret, NULL) && g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_autofree guint8 *check = NULL;
		g_autofree char *data = NULL;
		size_t check_len = 0, magic_len = strlen(OWNER_SECRET_MAGIC);
		gsize len = 0;

		if (g_file_get_contents(path, &data, &len, NULL) && len > magic_len &&
		    tcs_client_unseal(c, TPM_KH_SRK, tcs_auth_well_known, tcs_auth_well_known,
				      (const guint8 *)data + magic_len, len - magic_len, &check,
				      &check_len) == 0) {
			if (check_len == TCS_SECRET_SIZE && !memcmp(check, secret, TCS_SECRET_SIZE))
				remove_file(d, TRUE);
			tcs_wipe(check, check_len);
		}
	}
	tcs_wipe(secret, sizeof(secret));
}

gboolean
tcsd_owner_secret_forget(TcsdDaemon *d, gboolean *existed, GError **error)
{
	g_autofree char *path = secret_path(d);
	g_autofree char *plain = plain_path(d);

	*existed = FALSE;
	if (unlink(plain) == 0)
		*existed = TRUE;
	else if (errno != ENOENT) {
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_IO,
			    "cannot remove %s: %s", plain, g_strerror(errno));
		return FALSE;
	}
	if (unlink(path) == 0) {
		*existed = TRUE;
		return TRUE;
	}
	if (errno == ENOENT)
		return TRUE;
	g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_IO, "cannot remove %s: %s", path,
		    g_strerror(errno));
	return FALSE;
}

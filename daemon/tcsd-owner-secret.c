/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stored owner secret (TCS kept it in /etc/opt/tcs/passwd). Here it is
 * sealed to the SRK with TPM_Seal: the file in the state directory is
 * useless without this TPM, and unreadable through the API by design.
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

static char *
secret_path(TcsdDaemon *d)
{
	return g_build_filename(d->config->state_dir, OWNER_SECRET_FILE, NULL);
}

gboolean
tcsd_owner_secret_exists(TcsdDaemon *d)
{
	g_autofree char *path = secret_path(d);

	return g_file_test(path, G_FILE_TEST_EXISTS);
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
	if (rc != 0)
		return tcsd_manager_set_tpm_error(error, rc, "sealing the owner secret");
	g_byte_array_append(file, (const guint8 *)OWNER_SECRET_MAGIC, strlen(OWNER_SECRET_MAGIC));
	g_byte_array_append(file, sealed, (guint)sealed_len);
	if (!g_file_set_contents_full(path, (const char *)file->data, file->len,
				      G_FILE_SET_CONTENTS_CONSISTENT |
					      G_FILE_SET_CONTENTS_DURABLE,
				      0600, error)) {
		g_prefix_error(error, "cannot store the owner secret: ");
		if (error && *error) {
			(*error)->domain = TCSD_MANAGER_ERROR;
			(*error)->code = TCSD_MANAGER_ERROR_IO;
		}
		return FALSE;
	}
	return TRUE;
}

gboolean
tcsd_owner_secret_load(TcsdDaemon *d, TcsClient *c, guint8 out[TCS_SECRET_SIZE], GError **error)
{
	g_autofree char *path = secret_path(d);
	g_autofree char *data = NULL;
	g_autofree guint8 *plain = NULL;
	size_t plain_len = 0, magic_len = strlen(OWNER_SECRET_MAGIC);
	gsize len = 0;
	int rc;

	if (!g_file_get_contents(path, &data, &len, NULL)) {
		g_set_error_literal(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_NO_OWNER_SECRET,
				    "no owner secret was given and none is stored");
		return FALSE;
	}
	if (len <= magic_len || len > OWNER_SECRET_MAX || memcmp(data, OWNER_SECRET_MAGIC, magic_len)) {
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_IO,
			    "%s is not a stored owner secret", path);
		return FALSE;
	}
	rc = tcs_client_unseal(c, TPM_KH_SRK, tcs_auth_well_known, tcs_auth_well_known,
			       (const guint8 *)data + magic_len, len - magic_len, &plain,
			       &plain_len);
	if (rc == TPM_DISABLED || rc == TPM_DEACTIVATED)
		return tcsd_manager_set_tpm_error(
			error, rc, "a disabled or deactivated TPM cannot unseal the stored owner "
				   "secret: give the owner secret");
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

gboolean
tcsd_owner_secret_forget(TcsdDaemon *d, gboolean *existed, GError **error)
{
	g_autofree char *path = secret_path(d);

	*existed = FALSE;
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

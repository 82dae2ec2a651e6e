/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key archives: backup and restore. tcsd runs with a private /tmp and no
 * access to home directories, so we open the files and pass descriptors;
 * restore also creates the safety copy of the keys it replaces, in /tmp
 * under a random name as tpmadm did. The file "-" is standard output for
 * backup (then every message goes to stderr) and standard input for restore.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tpmctl.h"

static int
file_failed(Tpmctl *ctl, const char *what, const char *path, int err)
{
	int code = TPMCTL_EXIT_FAILURE;
	const char *name = "tpmctl.Io";

	switch (err) {
	case ENOENT:
	case ENOTDIR:
		code = TPMCTL_EXIT_NOT_FOUND;
		name = "tpmctl.NotFound";
		break;
	case EACCES:
	case EPERM:
		code = TPMCTL_EXIT_DENIED;
		name = "tpmctl.PermissionDenied";
		break;
	case EEXIST:
		code = TPMCTL_EXIT_EXISTS;
		name = "tpmctl.Exists";
		break;
	}
	if (err == EEXIST)
		return tpmctl_fail(ctl, code, name, "%s %s: the file exists (give %s to replace it)",
				   what, path, ctl->front == TPMCTL_FRONT_TPMCTL ? "--overwrite" : "overwrite");
	return tpmctl_fail(ctl, code, name, "%s %s: %s", what, path, g_strerror(err));
}

static void
add_mode(GVariantBuilder *b, const char *option, const char *mode)
{
	if (mode)
		g_variant_builder_add(b, "{sv}", option, g_variant_new_string(mode));
}

int
tpmctl_cmd_backup(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) summary = NULL;
	g_autoptr(GUnixFDList) fds = NULL;
	GVariant *secret = NULL, *owner = NULL;
	GVariantBuilder opts;
	const char *mode = NULL;
	int fd, rc, flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY;
	bool to_stdout = strcmp(req->file, "-") == 0;

	if (to_stdout && ctl->json)
		return tpmctl_fail(ctl, TPMCTL_EXIT_USAGE, "tpmctl.Usage",
				   "the archive and the JSON report cannot both go to standard output");
	if (to_stdout && isatty(STDOUT_FILENO))
		return tpmctl_fail(ctl, TPMCTL_EXIT_USAGE, "tpmctl.Usage",
				   "will not write a binary archive to a terminal: redirect standard output");
	rc = tpmctl_get_properties(ctl, &props);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	if (!tpmctl_property_bool(props, "Owned"))
		return tpmctl_fail(ctl, TPMCTL_EXIT_STATE, "org.tcs.Error.NotOwned",
				   "the TPM is not owned, so it holds no keys to back up");
	flags |= req->overwrite ? O_TRUNC : O_EXCL;
	if (to_stdout) {
		/* the messages must not mix with the archive */
		ctl->stdout_is_data = true;
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	} else {
		fd = open(req->file, flags, 0600);
	}
	if (fd < 0)
		return file_failed(ctl, "cannot create", req->file, errno);

	rc = tpmctl_archive_secret(ctl, req, "Please enter a secret used to encrypt backup information: ",
				   &secret);
	if (rc == TPMCTL_EXIT_OK) {
		g_variant_ref_sink(secret);
		rc = tpmctl_owner_secret(ctl, req, props, &owner, &mode);
	}
	if (rc == TPMCTL_EXIT_OK) {
		fds = g_unix_fd_list_new();
		if (g_unix_fd_list_append(fds, fd, &error) < 0)
			rc = tpmctl_report_error(ctl, "cannot pass the archive", error);
	}
	if (rc == TPMCTL_EXIT_OK) {
		g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
		add_mode(&opts, "owner-secret-mode", mode);
		rc = tpmctl_add_srk_secret(ctl, req, &opts);
	}
	if (rc == TPMCTL_EXIT_OK) {
		tpmctl_say(ctl, "Backup in progress...\n");
		rc = tpmctl_call(ctl, "Backup",
				 g_variant_new("(h@ay@ay@a{sv})", 0, secret, owner,
					       g_variant_builder_end(&opts)),
				 G_VARIANT_TYPE("(a{sv})"), fds, TPMCTL_TIMEOUT_LONG_MS, true, &reply,
				 &error);
		if (rc != TPMCTL_EXIT_OK)
			rc = tpmctl_report_error(ctl, "the backup operation has failed", error);
		else if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
			rc = file_failed(ctl, "cannot write", req->file, errno);
	}
	if (secret)
		g_variant_unref(secret);
	close(fd);
	if (rc != TPMCTL_EXIT_OK) {
		/* no half-written archive for anyone to trust later */
		if (!to_stdout)
			unlink(req->file);
		return rc;
	}
	g_variant_get(reply, "(@a{sv})", &summary);
	if (ctl->json) {
		json_object *doc = tpmctl_variant_to_json(summary);

		json_object_object_add(doc, "file", json_object_new_string(req->file));
		tpmctl_json_print(doc);
	} else {
		fprintf(to_stdout ? stderr : stdout, "The backup operation has succeeded.\n");
	}
	return TPMCTL_EXIT_OK;
}

/* An empty file of eight random letters in the temporary directory, like tpmadm's /tmp/NWDCgqke. */
int
tpmctl_create_safety_copy(char **path)
{
	static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	for (int tries = 0; tries < 100; tries++) {
		char name[9];
		g_autofree char *p = NULL;
		int fd;

		for (int i = 0; i < 8; i++)
			name[i] = letters[g_random_int_range(0, (gint32)sizeof(letters) - 1)];
		name[8] = '\0';
		p = g_build_filename(g_get_tmp_dir(), name, NULL);
		fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
		if (fd >= 0) {
			*path = g_steal_pointer(&p);
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static off_t
file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_size : 0;
}

typedef struct {
	int archive, safety;
	GVariant *secret, *owner;
	const char *mode;
	const TpmctlRequest *req;
} RestoreCall;

static int
restore_call(Tpmctl *ctl, RestoreCall *c, bool dry_run, bool replace, GVariant **report, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	GVariantBuilder opts;
	int rc;

	if (g_unix_fd_list_append(fds, c->archive, error) < 0 ||
	    g_unix_fd_list_append(fds, c->safety, error) < 0)
		return TPMCTL_EXIT_FAILURE;
	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	add_mode(&opts, "owner-secret-mode", c->mode);
	if (dry_run)
		g_variant_builder_add(&opts, "{sv}", "dry-run", g_variant_new_boolean(TRUE));
	if (replace)
		g_variant_builder_add(&opts, "{sv}", "replace", g_variant_new_boolean(TRUE));
	rc = tpmctl_add_srk_secret(ctl, c->req, &opts);
	if (rc != TPMCTL_EXIT_OK) {
		g_variant_builder_clear(&opts);
		return rc;
	}
	rc = tpmctl_call(ctl, "Restore",
			 g_variant_new("(hh@ay@ay@a{sv})", 0, 1, c->secret, c->owner,
				       g_variant_builder_end(&opts)),
			 G_VARIANT_TYPE("(a{sv})"), fds, TPMCTL_TIMEOUT_LONG_MS, true, &reply, error);
	if (rc == TPMCTL_EXIT_OK)
		g_variant_get(reply, "(@a{sv})", report);
	return rc;
}

static guint32
report_u(GVariant *report, const char *key)
{
	guint32 u = 0;

	if (report)
		g_variant_lookup(report, key, "u", &u);
	return u;
}

int
tpmctl_cmd_restore(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GVariant) check = NULL;
	g_autoptr(GVariant) report = NULL;
	g_autofree char *safety_path = NULL;
	RestoreCall c = { .archive = -1, .safety = -1, .req = req };
	bool rk_exists = false;
	int rc;

	rc = tpmctl_get_properties(ctl, &props);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	/* before any prompt: restoring needs the owner to wrap the RK for this TPM's SRK */
	if (!tpmctl_property_bool(props, "Owned"))
		return tpmctl_fail(ctl, TPMCTL_EXIT_STATE, "org.tcs.Error.NotOwned",
				   "the TPM is not owned: take ownership first (%s takeownership), "
				   "then restore", ctl->front == TPMCTL_FRONT_TPMCTL ? "tpmctl" : "tpmadm");
	if (strcmp(req->file, "-") == 0)
		c.archive = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	else
		c.archive = open(req->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (c.archive < 0)
		return file_failed(ctl, "cannot open", req->file, errno);
	{
		/* read twice (the check, then the restore): a pipe would be empty the second time */
		struct stat st;

		if (fstat(c.archive, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(c.archive);
			return tpmctl_fail(ctl, TPMCTL_EXIT_USAGE, "tpmctl.Usage",
					   "%s is not a regular file (restore reads the archive twice)",
					   strcmp(req->file, "-") == 0 ? "standard input" : req->file);
		}
	}
	rc = tpmctl_archive_secret(ctl, req, "Please enter the secret used for the backup file: ",
				   &c.secret);
	if (rc == TPMCTL_EXIT_OK) {
		g_variant_ref_sink(c.secret);
		rc = tpmctl_owner_secret(ctl, req, props, &c.owner, &c.mode);
	}
	if (rc == TPMCTL_EXIT_OK) {
		g_variant_ref_sink(c.owner);
		c.safety = tpmctl_create_safety_copy(&safety_path);
		if (c.safety < 0)
			rc = tpmctl_fail(ctl, TPMCTL_EXIT_FAILURE, "tpmctl.Io",
					 "cannot create the safety copy in %s: %s", g_get_tmp_dir(),
					 g_strerror(-c.safety));
	}

	/* check the archive and the secrets first, and learn whether an RK would be replaced */
	if (rc == TPMCTL_EXIT_OK) {
		rc = restore_call(ctl, &c, true, false, &check, &error);
		if (rc != TPMCTL_EXIT_OK && tpmctl_error_is(error, "AlreadyExists")) {
			rk_exists = true;
			rc = TPMCTL_EXIT_OK;
			g_clear_error(&error);
		} else if (rc != TPMCTL_EXIT_OK) {
			rc = tpmctl_report_error(ctl, "the restore operation has failed", error);
		} else {
			gboolean b = FALSE;

			g_variant_lookup(check, "rk-exists", "b", &b);
			rk_exists = b;
		}
	}
	if (rc == TPMCTL_EXIT_OK && req->dry_run) {
		if (ctl->json) {
			json_object *doc = check ? tpmctl_variant_to_json(check) : json_object_new_object();

			json_object_object_add(doc, "rk-exists", json_object_new_boolean(rk_exists));
			json_object_object_add(doc, "dry-run", json_object_new_boolean(1));
			json_object_object_add(doc, "file", json_object_new_string(req->file));
			tpmctl_json_print(doc);
		} else {
			printf("The archive %s holds %u key(s); the secrets are right.\n", req->file,
			       report_u(check, "key-count"));
			if (rk_exists)
				printf("Restoring it replaces the current Roaming Key and %u key(s) in all.\n",
				       report_u(check, "replaced-key-count"));
		}
	} else if (rc == TPMCTL_EXIT_OK) {
		if (rk_exists) {
			if (!ctl->json)
				printf("To proceed, the current Roaming Key and its descendant keys must be deleted first.\n"
				       "They will be backed up at %s with the above secret before deletion.\n",
				       safety_path);
			rc = tpmctl_confirm(ctl, req, "Do you wish to continue?");
		}
		if (rc == TPMCTL_EXIT_OK &&
		    (lseek(c.archive, 0, SEEK_SET) < 0 || ftruncate(c.safety, 0) < 0))
			rc = file_failed(ctl, "cannot rewind", req->file, errno);
		if (rc == TPMCTL_EXIT_OK) {
			if (rk_exists)
				tpmctl_say(ctl, "\nBacking up existing keys at %s...\n", safety_path);
			tpmctl_say(ctl, "\nRestoring keys from %s...\n\n", req->file);
			rc = restore_call(ctl, &c, false, rk_exists, &report, &error);
			if (rc != TPMCTL_EXIT_OK)
				rc = tpmctl_report_error(ctl, "the restore operation has failed", error);
		}
	}

	/* keep the safety copy only when tcsd wrote keys into it */
	if (c.safety >= 0) {
		if (file_size(c.safety) == 0) {
			unlink(safety_path);
			g_clear_pointer(&safety_path, g_free);
		} else {
			fsync(c.safety);
		}
		close(c.safety);
	}
	close(c.archive);
	if (c.secret)
		g_variant_unref(c.secret);
	if (c.owner)
		g_variant_unref(c.owner);
	if (rc != TPMCTL_EXIT_OK) {
		if (safety_path)
			tpmctl_error(ctl, "the keys that were replaced are saved in %s", safety_path);
		return rc;
	}
	if (req->dry_run)
		return TPMCTL_EXIT_OK;
	if (ctl->json) {
		json_object *doc = tpmctl_variant_to_json(report);

		json_object_object_add(doc, "file", json_object_new_string(req->file));
		json_object_object_add(doc, "safety-copy",
				       safety_path ? json_object_new_string(safety_path) : NULL);
		tpmctl_json_print(doc);
	} else {
		printf("The restore operation has succeeded.\n");
	}
	return TPMCTL_EXIT_OK;
}

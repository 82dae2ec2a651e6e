/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Changing system persistent storage: addkey (CreateStorageKey) and deletekeys (DeleteKeys). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

#include "tpmctl.h"

typedef struct {
	GVariant *srk, *owner, *safety_secret; /* floating refs sunk by add_key_call's caller */
	const char *srk_mode, *owner_mode;
	int safety; /* -1: no safety copy */
} AddKeyCall;

static int
create_storage_key(Tpmctl *ctl, const char *kind, bool replace, const AddKeyCall *a, char **uuid,
		   GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GUnixFDList) fds = NULL;
	GVariantBuilder opts;
	int rc;

	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	if (replace)
		g_variant_builder_add(&opts, "{sv}", "replace", g_variant_new_boolean(TRUE));
	if (a->srk_mode)
		g_variant_builder_add(&opts, "{sv}", "srk-secret-mode", g_variant_new_string(a->srk_mode));
	if (replace && a->safety >= 0) {
		fds = g_unix_fd_list_new();
		if (g_unix_fd_list_append(fds, a->safety, error) < 0) {
			g_variant_builder_clear(&opts);
			return TPMCTL_EXIT_FAILURE;
		}
		g_variant_builder_add(&opts, "{sv}", "safety-copy", g_variant_new_handle(0));
		g_variant_builder_add(&opts, "{sv}", "safety-secret", a->safety_secret);
		g_variant_builder_add(&opts, "{sv}", "owner-secret", a->owner);
		if (a->owner_mode)
			g_variant_builder_add(&opts, "{sv}", "owner-secret-mode",
					      g_variant_new_string(a->owner_mode));
	}
	rc = tpmctl_call(ctl, "CreateStorageKey",
			 g_variant_new("(s@ay@a{sv})", kind, a->srk, g_variant_builder_end(&opts)),
			 G_VARIANT_TYPE("(s)"), fds, TPMCTL_TIMEOUT_LONG_MS, true, &reply, error);
	if (rc == TPMCTL_EXIT_OK)
		g_variant_get(reply, "(s)", uuid);
	return rc;
}

static off_t
fd_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_size : 0;
}

/*
 * Replacing the RK loses every key and tpmencrypt file below it, so first
 * the secrets for a safety copy, which tcsd writes (like restore's) into a
 * file made here: tcsd has a private /tmp.
 */
static int
prepare_safety_copy(Tpmctl *ctl, TpmctlRequest *req, AddKeyCall *a, char **path)
{
	g_autoptr(GVariant) props = NULL;
	int rc = tpmctl_get_properties(ctl, &props);

	if (rc == TPMCTL_EXIT_OK)
		rc = tpmctl_archive_secret(ctl, req,
					   "Please enter a secret to encrypt the safety copy of the "
					   "current Roaming Key: ",
					   &a->safety_secret);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	g_variant_ref_sink(a->safety_secret);
	rc = tpmctl_owner_secret(ctl, req, props, &a->owner, &a->owner_mode);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	g_variant_ref_sink(a->owner);
	a->safety = tpmctl_create_safety_copy(path);
	if (a->safety < 0)
		return tpmctl_fail(ctl, TPMCTL_EXIT_FAILURE, "tpmctl.Io",
				   "cannot create the safety copy in %s: %s", g_get_tmp_dir(),
				   g_strerror(-a->safety));
	return TPMCTL_EXIT_OK;
}

int
tpmctl_cmd_addkey(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *uuid = NULL;
	g_autofree char *safety_path = NULL;
	AddKeyCall a = { .safety = -1 };
	const char *name;
	bool replaced = false, is_rk = g_ascii_strcasecmp(req->key, "rk") == 0;
	int rc;

	if (is_rk)
		name = "Roaming Key (RK)";
	else if (g_ascii_strcasecmp(req->key, "sk") == 0)
		name = "System-specific Key (SK)";
	else
		return tpmctl_fail(ctl, TPMCTL_EXIT_USAGE, "tpmctl.Usage",
				   "addkey creates the rk or the sk, not '%s'", req->key);

	rc = tpmctl_srk_secret(ctl, req, &a.srk, &a.srk_mode);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	g_variant_ref_sink(a.srk);
	/* without replace first: tcsd says whether there is a key to replace */
	rc = create_storage_key(ctl, req->key, false, &a, &uuid, &error);
	/* an SRK with a password (tpm_takeownership without -z): ask for it on a terminal */
	if (rc != TPMCTL_EXIT_OK && tpmctl_error_is(error, "TpmAuthFailed") && !a.srk_mode &&
	    ctl->ask_password && tpmctl_have_terminal()) {
		req->srk_ask = true;
		g_clear_pointer(&a.srk, g_variant_unref);
		rc = tpmctl_srk_secret(ctl, req, &a.srk, &a.srk_mode);
		if (rc != TPMCTL_EXIT_OK)
			return rc;
		g_variant_ref_sink(a.srk);
		g_clear_error(&error);
		rc = create_storage_key(ctl, req->key, false, &a, &uuid, &error);
	}
	if (rc != TPMCTL_EXIT_OK && tpmctl_error_is(error, "TpmAuthFailed") && !a.srk_mode)
		tpmctl_error(ctl, "the TPM refused the well-known SRK secret: if the SRK has a "
				  "password, give it (--srk-passwd=, srkpasswd=, TPM_SRK_PASSWD)");
	if (rc != TPMCTL_EXIT_OK && tpmctl_error_is(error, "AlreadyExists")) {
		g_autoptr(GError) copy = g_error_copy(error);

		g_dbus_error_strip_remote_error(copy);
		if (!ctl->json)
			printf("To proceed, the current %s and its descendant keys must be deleted first\n"
			       "(%s).\n", name, copy->message);
		if (is_rk && !ctl->json)
			printf("They will be saved in a key archive first (restore it with tpmadm "
			       "restore).\n");
		rc = req->replace ? TPMCTL_EXIT_OK : tpmctl_confirm(ctl, req, "Do you wish to continue?");
		if (rc == TPMCTL_EXIT_OK && is_rk)
			rc = prepare_safety_copy(ctl, req, &a, &safety_path);
		if (rc == TPMCTL_EXIT_OK) {
			g_clear_error(&error);
			replaced = true;
			if (safety_path)
				tpmctl_say(ctl, "\nBacking up the current Roaming Key and its "
						"descendants at %s...\n", safety_path);
			rc = create_storage_key(ctl, req->key, true, &a, &uuid, &error);
			if (rc != TPMCTL_EXIT_OK)
				rc = tpmctl_report_error(ctl, "cannot create the key", error);
		}
	} else if (rc != TPMCTL_EXIT_OK) {
		rc = tpmctl_report_error(ctl, "cannot create the key", error);
	}
	/* keep the safety copy only when tcsd wrote keys into it */
	if (a.safety >= 0) {
		if (fd_size(a.safety) == 0) {
			unlink(safety_path);
			g_clear_pointer(&safety_path, g_free);
		} else {
			fsync(a.safety);
		}
		close(a.safety);
	}
	g_clear_pointer(&a.srk, g_variant_unref);
	g_clear_pointer(&a.owner, g_variant_unref);
	g_clear_pointer(&a.safety_secret, g_variant_unref);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	if (ctl->json) {
		json_object *doc = json_object_new_object();

		json_object_object_add(doc, "uuid", json_object_new_string(uuid));
		json_object_object_add(doc, "replaced", json_object_new_boolean(replaced));
		json_object_object_add(doc, "safety-copy",
				       safety_path ? json_object_new_string(safety_path) : NULL);
		tpmctl_json_print(doc);
	} else {
		printf("The %s has been created: %s\n", name, uuid);
		if (safety_path)
			printf("The replaced Roaming Key and its descendants are saved in %s\n"
			       "(encrypted with the secret given; restore them with "
			       "'tpmadm restore filename=%s').\n",
			       safety_path, safety_path);
	}
	return TPMCTL_EXIT_OK;
}

/* UUID/parent pairs of ListKeys, appended to keys/parents unless already there. */
static int
list_keys(Tpmctl *ctl, GVariant *criteria, GPtrArray *keys, GPtrArray *parents)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	GVariantIter *it = NULL;
	const char *uuid, *parent;

	if (tpmctl_call(ctl, "ListKeys", g_variant_new("(@a{sv})", criteria), G_VARIANT_TYPE("(a(ss))"),
			NULL, TPMCTL_TIMEOUT_SHORT_MS, false, &reply, &error) != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, "cannot list the keys", error);
	g_variant_get(reply, "(a(ss))", &it);
	while (g_variant_iter_next(it, "(&s&s)", &uuid, &parent)) {
		bool dup = false;

		for (guint i = 0; i < keys->len && !dup; i++)
			dup = strcmp(g_ptr_array_index(keys, i), uuid) == 0;
		if (dup)
			continue;
		g_ptr_array_add(keys, g_strdup(uuid));
		g_ptr_array_add(parents, g_strdup(parent));
	}
	g_variant_iter_free(it);
	return TPMCTL_EXIT_OK;
}

int
tpmctl_cmd_deletekeys(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GPtrArray) matched = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) matched_parents = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) parents = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) fixed = g_ptr_array_new();
	g_autofree const char **deleted = NULL;
	g_autofree char *question = NULL;
	GVariantBuilder crit, opts;
	int rc;

	if (!tpmctl_has_criteria(req))
		return tpmctl_fail(ctl, TPMCTL_EXIT_USAGE, "tpmctl.Usage",
				   "deletekeys needs at least one criterion (e.g. alg=rsa, uuid=UUID)");
	rc = list_keys(ctl, tpmctl_criteria(req), matched, matched_parents);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	/* the SRK, SK and RK are never deleted; the rest is what the user confirms */
	for (guint i = 0; i < matched->len; i++) {
		const char *uuid = g_ptr_array_index(matched, i);

		if (tpmctl_is_fixed_key(uuid)) {
			g_ptr_array_add(fixed, (gpointer)uuid);
			continue;
		}
		g_ptr_array_add(keys, g_strdup(uuid));
		g_ptr_array_add(parents, g_strdup(g_ptr_array_index(matched_parents, i)));
	}
	if (req->descendants) {
		/* show the descendants too: they go with their ancestors */
		guint n = keys->len;

		for (guint i = 0; i < n; i++) {
			GVariantBuilder b;

			g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
			g_variant_builder_add(&b, "{sv}", "ancestor",
					      g_variant_new_string(g_ptr_array_index(keys, i)));
			rc = list_keys(ctl, g_variant_builder_end(&b), keys, parents);
			if (rc != TPMCTL_EXIT_OK)
				return rc;
		}
	}
	if (!ctl->json) {
		printf("Key(s) matching the above criteria:\n\n");
		for (guint i = 0; i < keys->len; i++)
			tpmctl_print_key_block(g_ptr_array_index(keys, i), g_ptr_array_index(parents, i));
		for (guint i = 0; i < fixed->len; i++)
			printf("Note: key %s can not be deleted.\n\n", (char *)g_ptr_array_index(fixed, i));
	}
	if (keys->len == 0) {
		if (ctl->json) {
			json_object *doc = json_object_new_object();
			json_object *skipped = json_object_new_array();

			for (guint i = 0; i < fixed->len; i++)
				json_object_array_add(skipped, json_object_new_string(g_ptr_array_index(fixed, i)));
			json_object_object_add(doc, "deleted", json_object_new_array());
			json_object_object_add(doc, "count", json_object_new_int(0));
			json_object_object_add(doc, "skipped", skipped);
			tpmctl_json_print(doc);
		} else {
			printf("Number of keys deleted: 0\n");
		}
		return TPMCTL_EXIT_OK;
	}
	question = g_strdup_printf("Are you sure you want to delete the above %u key(s)?", keys->len);
	rc = tpmctl_confirm(ctl, req, question);
	if (rc != TPMCTL_EXIT_OK)
		return rc;

	g_variant_builder_init(&crit, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&crit, "{sv}", "uuids",
			      g_variant_new_strv((const char *const *)keys->pdata, keys->len));
	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	if (req->descendants)
		g_variant_builder_add(&opts, "{sv}", "descendants", g_variant_new_boolean(TRUE));
	rc = tpmctl_call(ctl, "DeleteKeys",
			 g_variant_new("(@a{sv}@a{sv})", g_variant_builder_end(&crit),
				       g_variant_builder_end(&opts)),
			 G_VARIANT_TYPE("(as)"), NULL, TPMCTL_TIMEOUT_LONG_MS, true, &reply, &error);
	if (rc != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, "cannot delete the keys", error);
	g_variant_get(reply, "(^a&s)", &deleted);
	if (ctl->json) {
		json_object *doc = json_object_new_object();
		json_object *list = json_object_new_array();
		json_object *skipped = json_object_new_array();
		guint n = 0;

		for (; deleted[n]; n++)
			json_object_array_add(list, json_object_new_string(deleted[n]));
		for (guint i = 0; i < fixed->len; i++)
			json_object_array_add(skipped, json_object_new_string(g_ptr_array_index(fixed, i)));
		json_object_object_add(doc, "deleted", list);
		json_object_object_add(doc, "count", json_object_new_int((int)n));
		json_object_object_add(doc, "skipped", skipped);
		tpmctl_json_print(doc);
	} else {
		guint n = 0;

		for (; deleted[n]; n++)
			printf("Deleting key %u: %s ...\n", n + 1, deleted[n]);
		printf("\nNumber of keys deleted: %u\n", n);
	}
	return TPMCTL_EXIT_OK;
}

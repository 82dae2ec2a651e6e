/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Ownership and TPM state: takeownership, changepwd, forgetpwd, clear, enable/disable, activate/deactivate. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tpmctl.h"

static void
add_mode(GVariantBuilder *b, const char *option, const char *mode)
{
	if (mode)
		g_variant_builder_add(b, "{sv}", option, g_variant_new_string(mode));
}

/* The current owner secret, or an empty one when the TPM has no owner to ask about. */
static int
owner_secret_if_owned(Tpmctl *ctl, TpmctlRequest *req, GVariant *props, GVariant **secret,
		      const char **mode)
{
	if (!tpmctl_property_bool(props, "Owned")) {
		*mode = NULL;
		*secret = tpmctl_secret_empty();
		return TPMCTL_EXIT_OK;
	}
	return tpmctl_owner_secret(ctl, req, props, secret, mode);
}

static json_object *
json_result(void)
{
	json_object *doc = json_object_new_object();

	json_object_object_add(doc, "ok", json_object_new_boolean(1));
	return doc;
}

/*
 * The report of TakeOwnership and ChangeOwnerSecret: whether tcsd stores the
 * secret, a warning, and a generated secret it could not store, which is
 * printed here because nobody else has it (*warning and *lost_hex: the
 * caller's to free; wipe_hex for the secret).
 */
static void
read_report(Tpmctl *ctl, GVariant *reply, gboolean *stored, char **warning, char **lost_hex)
{
	g_autoptr(GVariant) report = NULL;
	g_autoptr(GVariant) lost = NULL;
	const guint8 *p;
	gsize n = 0;

	*warning = NULL;
	*lost_hex = NULL;
	if (!reply || !g_variant_is_of_type(reply, G_VARIANT_TYPE("(a{sv})")))
		return;
	g_variant_get(reply, "(@a{sv})", &report);
	(void)g_variant_lookup(report, "owner-secret-stored", "b", stored);
	(void)g_variant_lookup(report, "warning", "s", warning);
	lost = g_variant_lookup_value(report, "owner-secret", G_VARIANT_TYPE_BYTESTRING);
	if (!lost) {
		if (*warning)
			tpmctl_error(ctl, "WARNING: %s", *warning);
		return;
	}
	p = g_variant_get_fixed_array(lost, &n, 1);
	*lost_hex = g_malloc0(2 * n + 1);
	for (gsize i = 0; i < n; i++)
		g_snprintf(*lost_hex + 2 * i, 3, "%02x", p[i]);
	tpmctl_error(ctl, "WARNING: %s", *warning ? *warning : "the owner secret was not stored");
	tpmctl_error(ctl, "WARNING: the TPM owner secret (20 bytes, hex) is %s\n"
			  "Write it down now: it is shown only once, and without it only clearing "
			  "the TPM in the firmware\nrecovers the TPM. Give it as "
			  "--owner-secret-hex=HEX, e.g. to 'changepwd' to set a password you know.",
		     *lost_hex);
}

static void
wipe_hex(char *hex)
{
	if (hex)
		explicit_bzero(hex, strlen(hex));
	g_free(hex);
}

int
tpmctl_cmd_takeownership(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree char *warning = NULL;
	char *lost_hex = NULL;
	gboolean stored = !req->no_store;
	GVariant *owner = NULL;
	GVariantBuilder opts;
	const char *mode = NULL;
	bool random = false;
	int rc;

	/* say it before asking for a password the TPM would refuse anyway */
	rc = tpmctl_get_properties(ctl, &props);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	if (tpmctl_property_bool(props, "Owned"))
		return tpmctl_fail(ctl, TPMCTL_EXIT_STATE, "org.tcs.Error.AlreadyOwned",
				   "the TPM already has an owner");
	rc = tpmctl_new_owner_secret(ctl, req, true, &owner, &mode, &random);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	if (random && req->no_store) {
		g_variant_unref(g_variant_ref_sink(owner));
		return tpmctl_fail(ctl, TPMCTL_EXIT_USAGE, "tpmctl.Usage",
				   "a generated owner password must be stored: give one "
				   "(TPM_PASSWD or the prompt) to keep it unstored");
	}
	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	add_mode(&opts, "owner-secret-mode", mode);
	if (req->no_store)
		g_variant_builder_add(&opts, "{sv}", "store-owner-secret", g_variant_new_boolean(FALSE));
	if (req->no_storage_keys)
		g_variant_builder_add(&opts, "{sv}", "create-storage-keys", g_variant_new_boolean(FALSE));
	tpmctl_say(ctl, "Taking ownership of the TPM...\n");
	rc = tpmctl_call(ctl, "TakeOwnership",
			 g_variant_new("(@ay@ay@a{sv})", owner, tpmctl_secret_empty(),
				       g_variant_builder_end(&opts)),
			 NULL, NULL, TPMCTL_TIMEOUT_LONG_MS, true, &reply, &error);
	if (rc != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, "cannot take ownership of the TPM", error);
	/* tcsd hands back a generated secret it could not store: nobody else has it */
	read_report(ctl, reply, &stored, &warning, &lost_hex);
	if (ctl->json) {
		json_object *doc = json_result();

		json_object_object_add(doc, "owner-secret-stored", json_object_new_boolean(stored));
		if (lost_hex)
			json_object_object_add(doc, "owner-secret-hex", json_object_new_string(lost_hex));
		if (warning)
			json_object_object_add(doc, "warning", json_object_new_string(warning));
		json_object_object_add(doc, "owner-secret-generated", json_object_new_boolean(random));
		json_object_object_add(doc, "storage-keys-created",
				       json_object_new_boolean(!req->no_storage_keys));
		tpmctl_json_print(doc);
		wipe_hex(lost_hex);
		return TPMCTL_EXIT_OK;
	}
	wipe_hex(lost_hex);
	printf("The TPM ownership has been taken.\n");
	if (random && stored)
		printf("The TPM password is a random one, stored for tcsd; set one you know with "
		       "'changepwd' before deleting it.\n");
	else if (stored)
		printf("The TPM password is stored for tcsd.\n");
	if (!req->no_storage_keys)
		printf("The System-specific Key (SK) and the Roaming Key (RK) have been created.\n");
	return TPMCTL_EXIT_OK;
}

int
tpmctl_cmd_changepwd(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree char *warning = NULL;
	char *lost_hex = NULL;
	GVariant *owner = NULL, *new_owner = NULL;
	GVariantBuilder opts;
	const char *mode = NULL, *new_mode = NULL;
	bool random = false, stored_before;
	gboolean stored;
	int rc;

	rc = tpmctl_get_properties(ctl, &props);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	stored_before = tpmctl_property_bool(props, "OwnerSecretStored");
	rc = tpmctl_owner_secret(ctl, req, props, &owner, &mode);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	g_variant_ref_sink(owner);
	rc = tpmctl_new_owner_secret(ctl, req, false, &new_owner, &new_mode, &random);
	if (rc != TPMCTL_EXIT_OK) {
		g_variant_unref(owner);
		return rc;
	}
	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	add_mode(&opts, "owner-secret-mode", mode);
	add_mode(&opts, "new-owner-secret-mode", new_mode);
	/* a generated secret nobody knows must be kept */
	if (req->store || random)
		g_variant_builder_add(&opts, "{sv}", "store-owner-secret", g_variant_new_boolean(TRUE));
	rc = tpmctl_call(ctl, "ChangeOwnerSecret",
			 g_variant_new("(@ay@ay@a{sv})", owner, new_owner, g_variant_builder_end(&opts)),
			 NULL, NULL, TPMCTL_TIMEOUT_LONG_MS, true, &reply, &error);
	g_variant_unref(owner);
	if (rc != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, "cannot change the TPM password", error);
	/* a generated secret tcsd could not store comes back: nobody else has it */
	stored = stored_before || req->store || random;
	read_report(ctl, reply, &stored, &warning, &lost_hex);
	if (ctl->json) {
		json_object *doc = json_result();

		json_object_object_add(doc, "owner-secret-stored", json_object_new_boolean(stored));
		if (lost_hex)
			json_object_object_add(doc, "owner-secret-hex", json_object_new_string(lost_hex));
		if (warning)
			json_object_object_add(doc, "warning", json_object_new_string(warning));
		json_object_object_add(doc, "owner-secret-generated", json_object_new_boolean(random));
		tpmctl_json_print(doc);
		wipe_hex(lost_hex);
		return TPMCTL_EXIT_OK;
	}
	wipe_hex(lost_hex);
	printf("  Password change successful.\n");
	return TPMCTL_EXIT_OK;
}

int
tpmctl_cmd_forgetpwd(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	gboolean removed = FALSE;

	if (tpmctl_call(ctl, "ForgetOwnerSecret", NULL, G_VARIANT_TYPE("(b)"), NULL,
			TPMCTL_TIMEOUT_SHORT_MS, true, &reply, &error) != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, "cannot delete the stored TPM password", error);
	g_variant_get(reply, "(b)", &removed);
	if (ctl->json) {
		json_object *doc = json_result();

		json_object_object_add(doc, "removed", json_object_new_boolean(removed));
		tpmctl_json_print(doc);
	} else {
		printf(removed ? "The stored TPM password has been deleted.\n"
			       : "No TPM password was stored.\n");
	}
	return TPMCTL_EXIT_OK;
}

int
tpmctl_cmd_clear(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) props = NULL;
	GVariant *owner = NULL;
	GVariantBuilder opts;
	const char *mode = NULL;
	int rc;

	rc = tpmctl_get_properties(ctl, &props);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	if (!req->yes && !ctl->json)
		printf("Clearing the TPM owner destroys the SRK: every TPM key becomes unusable\n"
		       "unless a key archive (backup) is restored after taking ownership again.\n");
	rc = tpmctl_confirm(ctl, req, "Do you wish to continue?");
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	rc = owner_secret_if_owned(ctl, req, props, &owner, &mode);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	add_mode(&opts, "owner-secret-mode", mode);
	rc = tpmctl_call(ctl, "ClearOwner", g_variant_new("(@ay@a{sv})", owner,
							  g_variant_builder_end(&opts)),
			 NULL, NULL, TPMCTL_TIMEOUT_LONG_MS, true, NULL, &error);
	if (rc != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, "cannot clear the TPM owner", error);
	if (ctl->json)
		tpmctl_json_print(json_result());
	else
		printf("The TPM owner has been cleared. The TPM may now be disabled and deactivated\n"
		       "until it is enabled in the firmware set-up.\n");
	return TPMCTL_EXIT_OK;
}

int
tpmctl_cmd_set_enabled(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) props = NULL;
	bool enable = strcmp(req->command, "enable") == 0;
	GVariant *owner = NULL;
	GVariantBuilder opts;
	const char *mode = NULL;
	int rc;

	rc = tpmctl_get_properties(ctl, &props);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	rc = owner_secret_if_owned(ctl, req, props, &owner, &mode);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	add_mode(&opts, "owner-secret-mode", mode);
	rc = tpmctl_call(ctl, "SetEnabled", g_variant_new("(b@ay@a{sv})", enable, owner,
							  g_variant_builder_end(&opts)),
			 NULL, NULL, TPMCTL_TIMEOUT_LONG_MS, true, NULL, &error);
	if (rc != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, enable ? "cannot enable the TPM" : "cannot disable the TPM",
					   error);
	if (ctl->json) {
		json_object *doc = json_result();

		json_object_object_add(doc, "enabled", json_object_new_boolean(enable));
		tpmctl_json_print(doc);
	} else {
		printf(enable ? "The TPM is enabled.\n" : "The TPM is disabled.\n");
	}
	return TPMCTL_EXIT_OK;
}

int
tpmctl_cmd_set_activated(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	bool activate = strcmp(req->command, "activate") == 0;
	gboolean reboot = FALSE;
	int rc;

	rc = tpmctl_call(ctl, "SetActivated", g_variant_new("(b@a{sv})", activate,
							    g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0)),
			 G_VARIANT_TYPE("(b)"), NULL, TPMCTL_TIMEOUT_LONG_MS, true, &reply, &error);
	if (rc != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, activate ? "cannot activate the TPM"
							 : "cannot deactivate the TPM", error);
	g_variant_get(reply, "(b)", &reboot);
	if (ctl->json) {
		json_object *doc = json_result();

		json_object_object_add(doc, "activated", json_object_new_boolean(activate));
		json_object_object_add(doc, "reboot-required", json_object_new_boolean(reboot));
		tpmctl_json_print(doc);
	} else if (reboot) {
		printf(activate ? "The TPM will be activated at the next boot.\n"
				: "The TPM will be deactivated at the next boot.\n");
	} else {
		printf(activate ? "The TPM is activated.\n" : "The TPM is deactivated.\n");
	}
	return TPMCTL_EXIT_OK;
}

/* BindToTpm2: the embedded TPM's unbound state to one bound to the host's TPM 2.0 */
int
tpmctl_cmd_bind(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	const char *binding = NULL;

	(void)req;
	if (tpmctl_call(ctl, "BindToTpm2", NULL, G_VARIANT_TYPE("(s)"), NULL,
			TPMCTL_TIMEOUT_LONG_MS, true, &reply, &error) != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, "cannot bind the embedded TPM to the TPM 2.0",
					   error);
	g_variant_get(reply, "(&s)", &binding);
	if (ctl->json) {
		json_object *doc = json_result();

		json_object_object_add(doc, "binding", json_object_new_string(binding));
		tpmctl_json_print(doc);
	} else {
		printf("The embedded TPM's state is bound: %s\n", binding);
	}
	return TPMCTL_EXIT_OK;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading: status (the properties), keys (ListKeys), keyinfo (GetKeyInfo). */
#include "config.h"

#include <stdio.h>

#include "tpmctl.h"

bool
tpmctl_has_criteria(const TpmctlRequest *req)
{
	return req->ancestor || req->parent || req->algorithm || req->usage ||
	       (req->uuids && req->uuids->len);
}

GVariant *
tpmctl_criteria(const TpmctlRequest *req)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	if (req->ancestor)
		g_variant_builder_add(&b, "{sv}", "ancestor", g_variant_new_string(req->ancestor));
	if (req->parent)
		g_variant_builder_add(&b, "{sv}", "parent", g_variant_new_string(req->parent));
	if (req->algorithm)
		g_variant_builder_add(&b, "{sv}", "algorithm", g_variant_new_string(req->algorithm));
	if (req->usage)
		g_variant_builder_add(&b, "{sv}", "usage", g_variant_new_string(req->usage));
	if (req->uuids && req->uuids->len)
		g_variant_builder_add(&b, "{sv}", "uuids",
				      g_variant_new_strv((const char *const *)req->uuids->pdata,
							 req->uuids->len));
	return g_variant_builder_end(&b);
}

int
tpmctl_cmd_status(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GVariant) props = NULL;
	int rc = tpmctl_get_properties(ctl, &props);

	if (rc != TPMCTL_EXIT_OK)
		return rc;
	if (ctl->json)
		tpmctl_json_print(tpmctl_variant_to_json(props));
	else
		tpmctl_print_status(ctl, props);
	return TPMCTL_EXIT_OK;
}

int
tpmctl_cmd_keys(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	GVariantIter *it = NULL;
	const char *uuid, *parent;
	json_object *doc = NULL, *list = NULL;
	unsigned n = 0;

	if (tpmctl_call(ctl, "ListKeys", g_variant_new("(@a{sv})", tpmctl_criteria(req)),
			G_VARIANT_TYPE("(a(ss))"), NULL, TPMCTL_TIMEOUT_SHORT_MS, false, &reply,
			&error) != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, "cannot list the keys", error);
	if (ctl->json) {
		doc = json_object_new_object();
		list = json_object_new_array();
	} else {
		printf("Key(s) matching the above criteria:\n\n");
	}
	g_variant_get(reply, "(a(ss))", &it);
	while (g_variant_iter_next(it, "(&s&s)", &uuid, &parent)) {
		n++;
		if (list) {
			json_object *k = json_object_new_object();

			json_object_object_add(k, "uuid", json_object_new_string(uuid));
			json_object_object_add(k, "parent-uuid", json_object_new_string(parent));
			json_object_array_add(list, k);
		} else {
			tpmctl_print_key_block(uuid, parent);
		}
	}
	g_variant_iter_free(it);
	if (doc) {
		json_object_object_add(doc, "keys", list);
		json_object_object_add(doc, "count", json_object_new_int((int)n));
		tpmctl_json_print(doc);
	} else {
		printf("Number of keys found: %u\n", n);
	}
	return TPMCTL_EXIT_OK;
}

int
tpmctl_cmd_keyinfo(Tpmctl *ctl, TpmctlRequest *req)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) info = NULL;

	if (tpmctl_call(ctl, "GetKeyInfo", g_variant_new("(s)", req->key), G_VARIANT_TYPE("(a{sv})"),
			NULL, TPMCTL_TIMEOUT_SHORT_MS, false, &reply, &error) != TPMCTL_EXIT_OK)
		return tpmctl_report_error(ctl, "cannot describe the key", error);
	g_variant_get(reply, "(@a{sv})", &info);
	if (ctl->json)
		tpmctl_json_print(tpmctl_variant_to_json(info));
	else
		tpmctl_print_keyinfo(info);
	return TPMCTL_EXIT_OK;
}

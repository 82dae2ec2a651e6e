/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Output: the layouts the TCS guide prints (tpmlist status, the key blocks of
 * tpmlist keys and tpmadm deletekeys, tpmlist keyinfo) and JSON documents.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tpmctl.h"

static const char *const fixed_keys[] = {
	"00000000-0000-0000-0000-000000000001",
	"00000000-0000-0000-0000-000000000002",
	"00000000-0000-0000-0000-000000000003",
};

bool
tpmctl_is_fixed_key(const char *uuid)
{
	for (size_t i = 0; i < G_N_ELEMENTS(fixed_keys); i++)
		if (g_ascii_strcasecmp(uuid, fixed_keys[i]) == 0)
			return true;
	return false;
}

void
tpmctl_print_key_block(const char *uuid, const char *parent)
{
	printf("%-24s%s\n%-24s%s\n\n", "Key UUID:", uuid, "Parent Key UUID:", parent);
}

static const char *
yes_no(bool b)
{
	return b ? "yes" : "no";
}

void
tpmctl_print_status(Tpmctl *ctl, GVariant *props)
{
	/* the layout of tpmlist status in chapters 3 and 8 of the guide */
	static const struct {
		const char *label, *prop;
		bool clear; /* printed as enabled/disabled, from a ...Disabled property */
	} lines[] = {
		{ "Owned:", "Owned", false },
		{ "Activated:", "Activated", false },
		{ "Enabled:", "Enabled", false },
		{ "Ownable:", "Ownable", false },
		{ "Owner clear:", "OwnerClearDisabled", true },
		{ "Force clear:", "ForceClearDisabled", true },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
		bool b = tpmctl_property_bool(props, lines[i].prop);

		printf("  %-22s%s\n", lines[i].label,
		       lines[i].clear ? (b ? "disabled" : "enabled") : yes_no(b));
	}
	if (ctl->front == TPMCTL_FRONT_TPMCTL) {
		const char *s;
		guint32 u;

		printf("  %-22s%s\n", "Owner secret stored:",
		       yes_no(tpmctl_property_bool(props, "OwnerSecretStored")));
		if (g_variant_lookup(props, "TpmVersion", "&s", &s))
			printf("  %-22s%s\n", "TPM version:", s);
		if (g_variant_lookup(props, "TpmManufacturer", "&s", &s))
			printf("  %-22s%s\n", "TPM manufacturer:", s);
		if (g_variant_lookup(props, "TpmBackend", "&s", &s))
			printf("  %-22s%s\n", "TPM backend:", s);
		if (g_variant_lookup(props, "Tpm2Binding", "&s", &s)) {
			g_autoptr(GVariant) pcrs = g_variant_lookup_value(props, "Tpm2BindingPcrs",
									   G_VARIANT_TYPE("au"));
			g_autoptr(GString) list = g_string_new(NULL);

			for (gsize i = 0; pcrs && i < g_variant_n_children(pcrs); i++) {
				g_variant_get_child(pcrs, i, "u", &u);
				g_string_append_printf(list, "%s%u", i ? "," : "", u);
			}
			if (list->len)
				printf("  %-22s%s (PCRs %s)\n", "TPM 2.0 binding:", s, list->str);
			else
				printf("  %-22s%s\n", "TPM 2.0 binding:", s);
		}
		if (g_variant_lookup(props, "ConnectedClients", "u", &u))
			printf("  %-22s%u\n", "TSS clients:", u);
		if (g_variant_lookup(props, "DaemonVersion", "&s", &s))
			printf("  %-22s%s\n", "tcsd version:", s);
	}
}

static bool
has_flag(const char *const *names, const char *name)
{
	return names && g_strv_contains(names, name);
}

void
tpmctl_print_keyinfo(GVariant *info)
{
	const char *uuid = "", *parent = "", *version = "";
	const char *usage_name = "", *auth_name = "", *alg_name = "", *es_name = "", *ss_name = "";
	guint32 usage = 0, flags = 0, auth = 0, alg = 0, es = 0, ss = 0;
	g_autofree const char **flag_names = NULL;
	g_autoptr(GVariant) pub = NULL;
	g_autoptr(GString) fl = g_string_new(NULL);
	const guint8 *p = NULL;
	gsize len = 0;
	static const struct {
		const char *name, *label;
		bool always; /* the guide always lists these, '!' when clear */
	} flag_labels[] = {
		{ "volatile", "VOLATILE", true },
		{ "migratable", "MIGRATABLE", true },
		{ "redirection", "REDIRECTION", true },
		{ "pcr-ignored-on-read", "PCR_IGNORED_ON_READ", false },
		{ "migrate-authority", "MIGRATE_AUTHORITY", false },
	};

	g_variant_lookup(info, "uuid", "&s", &uuid);
	g_variant_lookup(info, "parent-uuid", "&s", &parent);
	g_variant_lookup(info, "version", "&s", &version);
	g_variant_lookup(info, "usage", "u", &usage);
	g_variant_lookup(info, "usage-name", "&s", &usage_name);
	g_variant_lookup(info, "flags", "u", &flags);
	g_variant_lookup(info, "flag-names", "^a&s", &flag_names);
	g_variant_lookup(info, "auth-usage", "u", &auth);
	g_variant_lookup(info, "auth-usage-name", "&s", &auth_name);
	g_variant_lookup(info, "algorithm", "u", &alg);
	g_variant_lookup(info, "algorithm-name", "&s", &alg_name);
	g_variant_lookup(info, "encryption-scheme", "u", &es);
	g_variant_lookup(info, "encryption-scheme-name", "&s", &es_name);
	g_variant_lookup(info, "signature-scheme", "u", &ss);
	g_variant_lookup(info, "signature-scheme-name", "&s", &ss_name);
	pub = g_variant_lookup_value(info, "public-key", G_VARIANT_TYPE_BYTESTRING);
	if (pub)
		p = g_variant_get_fixed_array(pub, &len, 1);

	/* "!VOLATILE,  MIGRATABLE, !REDIRECTION": a set flag keeps the '!' column blank */
	for (size_t i = 0; i < G_N_ELEMENTS(flag_labels); i++) {
		bool set = has_flag(flag_names, flag_labels[i].name);

		if (!set && !flag_labels[i].always)
			continue;
		g_string_append_printf(fl, "%s%c%s", fl->len ? ", " : "", set ? ' ' : '!',
				       flag_labels[i].label);
	}

	printf("------------------------------------\n");
	printf("  %-13s%s\n", "Key UUID:", uuid);
	printf("  %-13s%s\n", "Parent UUID:", parent);
	printf("  %-13s%s\n", "Version:", version);
	printf("  %-13s0x%04x (%s)\n", "Usage:", usage, usage_name);
	printf("  %-13s0x%08x (%s)\n", "Flags:", flags, fl->str);
	printf("  %-13s0x%02x (%s)\n", "AuthUsage:", auth, auth_name);
	printf("  %-13s0x%08x (%s)\n", "Algorithm:", alg, alg_name);
	printf("  %-21s0x%08x (%s)\n", "Encryption Scheme:", es, es_name);
	printf("  %-21s0x%08x (%s)\n", "Signature Scheme:", ss, ss_name);
	printf("  %-21s%zu bytes\n", "Public Key Size:", len);
	printf("  Public Key:\n\n");
	/* 32-bit words, eight to a line */
	for (gsize i = 0; i < len; i += 4) {
		if (i % 32 == 0)
			printf("        ");
		for (gsize j = i; j < i + 4 && j < len; j++)
			printf("%02x", p[j]);
		printf((i + 4) % 32 == 0 || i + 4 >= len ? "\n" : " ");
	}
}

json_object *
tpmctl_variant_to_json(GVariant *v)
{
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_VARIANT)) {
		g_autoptr(GVariant) inner = g_variant_get_variant(v);
		return tpmctl_variant_to_json(inner);
	}
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN))
		return json_object_new_boolean(g_variant_get_boolean(v));
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) ||
	    g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH))
		return json_object_new_string(g_variant_get_string(v, NULL));
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_BYTE))
		return json_object_new_int(g_variant_get_byte(v));
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
		return json_object_new_int64(g_variant_get_uint32(v));
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT32))
		return json_object_new_int(g_variant_get_int32(v));
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64))
		return json_object_new_uint64(g_variant_get_uint64(v));
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT64))
		return json_object_new_int64(g_variant_get_int64(v));
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_BYTESTRING)) {
		/* byte arrays (public keys) as lower-case hex */
		gsize n = 0;
		const guint8 *b = g_variant_get_fixed_array(v, &n, 1);
		g_autoptr(GString) hex = g_string_sized_new(n * 2 + 1);

		for (gsize i = 0; i < n; i++)
			g_string_append_printf(hex, "%02x", b[i]);
		return json_object_new_string(hex->str);
	}
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_VARDICT)) {
		json_object *o = json_object_new_object();
		GVariantIter it;
		const char *k;
		GVariant *val;

		g_variant_iter_init(&it, v);
		while (g_variant_iter_next(&it, "{&sv}", &k, &val)) {
			json_object_object_add(o, k, tpmctl_variant_to_json(val));
			g_variant_unref(val);
		}
		return o;
	}
	if (g_variant_is_container(v)) {
		json_object *a = json_object_new_array();
		GVariantIter it;
		GVariant *child;

		g_variant_iter_init(&it, v);
		while ((child = g_variant_iter_next_value(&it))) {
			json_object_array_add(a, tpmctl_variant_to_json(child));
			g_variant_unref(child);
		}
		return a;
	}
	{
		g_autofree char *text = g_variant_print(v, FALSE);
		return json_object_new_string(text);
	}
}

void
tpmctl_json_print(json_object *doc)
{
	fputs(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE), stdout);
	fputc('\n', stdout);
	fflush(stdout);
	json_object_put(doc);
}

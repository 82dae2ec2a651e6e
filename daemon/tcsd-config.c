/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "tcs-ps.h"
#include "tcs-types.h"
#include "tcsd-tpm-device.h"

G_DEFINE_QUARK(tcsd-config-error-quark, tcsd_config_error)

#define TCSD_CONFIG_DEFAULT_PATH TCS_SYSCONFDIR "/tcsd.conf"

typedef enum {
	OPT_PORT,
	OPT_UINT,
	OPT_FILE,
	OPT_DIR,
	OPT_BOOL,
	OPT_PCRS,
	OPT_REMOTE_OPS,
	OPT_PLATFORM_CLASS,
	OPT_PLATFORM_CLASSES,
	OPT_TPM_DEVICE,
	OPT_USERS,
	OPT_DBUS,
	OPT_TCTI,
} TcsdOptionKind;

typedef struct {
	const char *name;
	TcsdOptionKind kind;
	gsize offset;
	guint64 min; /* OPT_UINT only */
	guint64 max;
} TcsdOption;

#define OPT(field, kind) {#field, kind, offsetof(TcsdConfig, field), 0, 0}
#define OPT_RANGE(field, lo, hi) {#field, OPT_UINT, offsetof(TcsdConfig, field), lo, hi}

static const TcsdOption options[] = {
	OPT(port, OPT_PORT),
	OPT_RANGE(num_threads, 1, 65536),
	OPT(system_ps_file, OPT_FILE),
	OPT(firmware_log_file, OPT_FILE),
	OPT(kernel_log_file, OPT_FILE),
	OPT(firmware_pcrs, OPT_PCRS),
	OPT(kernel_pcrs, OPT_PCRS),
	OPT(platform_cred, OPT_FILE),
	OPT(conformance_cred, OPT_FILE),
	OPT(endorsement_cred, OPT_FILE),
	OPT(remote_ops, OPT_REMOTE_OPS),
	OPT(enforce_exclusive_transport, OPT_BOOL),
	OPT(host_platform_class, OPT_PLATFORM_CLASS),
	OPT(all_platform_classes, OPT_PLATFORM_CLASSES),
	OPT(disable_ipv4, OPT_BOOL),
	OPT(disable_ipv6, OPT_BOOL),
	OPT(tpm_device, OPT_TPM_DEVICE),
	OPT(tpm2_binding, OPT_TCTI),
	OPT(tpm2_pcrs, OPT_PCRS),
	{"owner_users", OPT_USERS, offsetof(TcsdConfig, owner_uids), 0, 0},
	OPT(state_dir, OPT_DIR),
	OPT_RANGE(max_connections, 1, 1000000),
	OPT_RANGE(max_contexts_per_connection, 1, 65536),
	OPT_RANGE(max_keys_per_context, 1, 65536),
	OPT_RANGE(max_auth_sessions_per_context, 1, 65536),
	OPT_RANGE(max_registered_keys_per_user, 0, TCS_PS_MAX_KEYS),
	OPT_RANGE(max_request_size, TCSD_HEADER_SIZE, 16 * 1024 * 1024),
	OPT_RANGE(request_timeout_ms, 100, 3600 * 1000),
	OPT_RANGE(max_connections_per_peer, 0, 1000000),
	OPT_RANGE(max_contexts_per_peer, 1, 1000000),
	OPT_RANGE(max_auth_sessions_per_peer, 0, 65536),
	OPT_RANGE(max_keys_per_peer, 1, 1000000),
	OPT_RANGE(max_events_per_peer, 1, 65536),
	OPT_RANGE(idle_timeout_ms, 0, 24 * 3600 * 1000),
	OPT(dbus, OPT_DBUS),
	OPT_RANGE(manager_auth_timeout_ms, 100, 3600 * 1000),
	OPT_RANGE(manager_io_timeout_ms, 100, 3600 * 1000),
};

/* the TCSD ordinals (anchors §3) that remote_ops names open up */
enum {
	ORD_OPENCONTEXT = 1,
	ORD_CLOSECONTEXT = 2,
	ORD_FREEMEMORY = 3,
	ORD_TCSGETCAPABILITY = 4,
	ORD_REGISTERKEY = 5,
	ORD_UNREGISTERKEY = 6,
	ORD_GETREGISTEREDKEYBLOB = 9,
	ORD_GETREGISTEREDKEYBYPUBLICINFO = 10,
	ORD_LOADKEYBYBLOB = 11,
	ORD_LOADKEYBYUUID = 12,
	ORD_CREATEWRAPKEY = 14,
	ORD_GETPUBKEY = 15,
	ORD_OIAP = 23,
	ORD_OSAP = 24,
	ORD_TERMINATEHANDLE = 29,
	ORD_QUOTE = 33,
	ORD_SEAL = 36,
	ORD_UNSEAL = 37,
	ORD_UNBIND = 38,
	ORD_SIGN = 43,
	ORD_GETRANDOM = 44,
	ORD_STIRRANDOM = 45,
	ORD_GETCAPABILITY = 46,
	ORD_READPUBEK = 50,
	ORD_SELFTESTFULL = 53,
	ORD_CERTIFYSELFTEST = 54,
	ORD_CONTINUESELFTEST = 55,
	ORD_GETTESTRESULT = 56,
};

/* helper groups every operation needs alongside its own ordinal */
#define ORDS_CONTEXT ORD_OPENCONTEXT, ORD_CLOSECONTEXT
#define ORDS_AUTH ORD_OIAP, ORD_OSAP, ORD_TERMINATEHANDLE
#define ORDS_RANDOM ORD_GETRANDOM, ORD_STIRRANDOM
#define ORDS_KEYLOAD ORD_LOADKEYBYUUID, ORD_GETREGISTEREDKEYBLOB, ORD_FREEMEMORY

/* ordinal lists end at the first 0 (TCSD ordinal 0 is the error stub) */
static const struct {
	const char *name;
	guint8 ords[16];
} remote_op_sets[] = {
	{"seal", {ORD_SEAL, ORDS_KEYLOAD, ORDS_RANDOM, ORDS_AUTH, ORDS_CONTEXT}},
	{"unseal", {ORD_UNSEAL, ORDS_KEYLOAD, ORDS_RANDOM, ORDS_AUTH, ORDS_CONTEXT}},
	{"registerkey", {ORD_REGISTERKEY, ORDS_CONTEXT, ORDS_KEYLOAD, ORD_LOADKEYBYBLOB}},
	{"unregisterkey", {ORD_UNREGISTERKEY, ORDS_CONTEXT}},
	{"getregisteredkeybypublicinfo", {ORD_GETREGISTEREDKEYBYPUBLICINFO, ORDS_CONTEXT}},
	{"getpubkey", {ORD_GETPUBKEY, ORDS_RANDOM, ORDS_AUTH, ORDS_CONTEXT}},
	{"loadkey", {ORD_LOADKEYBYBLOB, ORDS_KEYLOAD, ORDS_CONTEXT, ORDS_AUTH, ORDS_RANDOM}},
	{"createkey", {ORD_CREATEWRAPKEY, ORDS_CONTEXT, ORDS_AUTH, ORDS_KEYLOAD, ORDS_RANDOM}},
	{"sign", {ORD_SIGN, ORDS_CONTEXT, ORDS_AUTH, ORDS_RANDOM, ORD_FREEMEMORY}},
	{"random", {ORDS_RANDOM, ORDS_CONTEXT, ORD_FREEMEMORY}},
	{"getcapability", {ORD_GETCAPABILITY, ORD_TCSGETCAPABILITY, ORDS_CONTEXT, ORD_FREEMEMORY}},
	{"unbind", {ORD_UNBIND, ORDS_CONTEXT, ORDS_AUTH, ORDS_RANDOM}},
	{"quote", {ORD_QUOTE, ORDS_CONTEXT, ORDS_AUTH, ORDS_RANDOM}},
	{"readpubek", {ORD_READPUBEK, ORDS_CONTEXT, ORDS_AUTH, ORDS_RANDOM}},
	{"selftest",
	 {ORD_SELFTESTFULL, ORD_CERTIFYSELFTEST, ORD_CONTINUESELFTEST, ORD_GETTESTRESULT,
	  ORDS_CONTEXT, ORD_FREEMEMORY}},
};

static const char *const platform_classes[] = {"PC_11", "PC_12", "PDA_12", "SERVER_12",
					       "MOBILE_12"};

static gboolean
lookup_user(const char *name, uid_t *uid, GError **error)
{
	struct passwd pw;
	struct passwd *res = NULL;
	long bufsize = sysconf(_SC_GETPW_R_SIZE_MAX);
	g_autofree char *buf = NULL;
	int rc;

	if (bufsize <= 0)
		bufsize = 16384;
	buf = g_malloc(bufsize);
	rc = getpwnam_r(name, &pw, buf, bufsize, &res);
	if (rc != 0 || res == NULL) {
		g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
			    "unknown user '%s'%s%s", name, rc ? ": " : "",
			    rc ? g_strerror(rc) : "");
		return FALSE;
	}
	*uid = pw.pw_uid;
	return TRUE;
}

/* strict: unknown user names are errors; otherwise they are skipped (built-in default) */
static gboolean
parse_users(const char *value, gboolean strict, GArray **out, GError **error)
{
	g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(uid_t));
	g_auto(GStrv) items = NULL;

	if (*value == '\0') {
		*out = g_steal_pointer(&uids);
		return TRUE;
	}
	items = g_strsplit(value, ",", -1);
	for (guint i = 0; items[i]; i++) {
		const char *item = g_strstrip(items[i]);
		guint64 num;
		uid_t uid;

		if (*item == '\0') {
			g_set_error_literal(error, TCSD_CONFIG_ERROR,
					    TCSD_CONFIG_ERROR_INVALID_VALUE,
					    "empty entry in user list");
			return FALSE;
		}
		if (g_ascii_isdigit(*item)) {
			if (!g_ascii_string_to_unsigned(item, 10, 0, (uid_t)-2, &num, NULL)) {
				g_set_error(error, TCSD_CONFIG_ERROR,
					    TCSD_CONFIG_ERROR_INVALID_VALUE, "invalid uid '%s'",
					    item);
				return FALSE;
			}
			uid = (uid_t)num;
		} else if (!lookup_user(item, &uid, strict ? error : NULL)) {
			if (strict)
				return FALSE;
			g_debug("default owner user '%s' does not exist, skipping", item);
			continue;
		}
		g_array_append_val(uids, uid);
	}
	*out = g_steal_pointer(&uids);
	return TRUE;
}

static gboolean
parse_pcrs(const char *value, guint32 *out, GError **error)
{
	g_auto(GStrv) items = NULL;
	guint32 mask = 0;

	if (*value == '\0' || g_strcmp0(value, "none") == 0) {
		*out = 0;
		return TRUE;
	}
	items = g_strsplit(value, ",", -1);
	for (guint i = 0; items[i]; i++) {
		const char *item = g_strstrip(items[i]);
		guint64 pcr;

		if (!g_ascii_string_to_unsigned(item, 10, 0, TCSD_CONFIG_MAX_PCR, &pcr, NULL)) {
			g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
				    "'%s' is not a PCR index 0-%u", item, TCSD_CONFIG_MAX_PCR);
			return FALSE;
		}
		mask |= 1u << pcr;
	}
	*out = mask;
	return TRUE;
}

static gboolean
parse_remote_ops(const char *value, gboolean *ops, GError **error)
{
	gboolean result[TCSD_CONFIG_NUM_ORDINALS] = {FALSE};
	g_auto(GStrv) items = NULL;

	items = g_strsplit(value, ",", -1);
	for (guint i = 0; *value && items[i]; i++) {
		const char *item = g_strstrip(items[i]);
		gboolean found = FALSE;

		for (gsize j = 0; j < G_N_ELEMENTS(remote_op_sets) && !found; j++) {
			if (g_ascii_strcasecmp(item, remote_op_sets[j].name) != 0)
				continue;
			for (gsize k = 0; k < G_N_ELEMENTS(remote_op_sets[j].ords); k++) {
				guint8 ord = remote_op_sets[j].ords[k];

				if (ord == 0)
					break;
				result[ord] = TRUE;
			}
			found = TRUE;
		}
		if (!found) {
			g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
				    "unknown remote operation '%s'", item);
			return FALSE;
		}
	}
	memcpy(ops, result, sizeof(result));
	return TRUE;
}

static const char *
platform_class_lookup(const char *name, GError **error)
{
	for (gsize i = 0; i < G_N_ELEMENTS(platform_classes); i++) {
		if (g_ascii_strcasecmp(name, platform_classes[i]) == 0)
			return platform_classes[i];
	}
	g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
		    "unknown platform class '%s' (one of PC_11, PC_12, PDA_12, SERVER_12, "
		    "MOBILE_12)",
		    name);
	return NULL;
}

static char *
parse_platform_classes(const char *value, GError **error)
{
	g_auto(GStrv) items = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new();

	if (*value == '\0')
		return g_strdup("");
	items = g_strsplit(value, ",", -1);
	for (guint i = 0; items[i]; i++) {
		const char *name = platform_class_lookup(g_strstrip(items[i]), error);

		if (!name)
			return NULL;
		g_ptr_array_add(names, (gpointer)name);
	}
	g_ptr_array_add(names, NULL);
	return g_strjoinv(",", (char **)names->pdata);
}

static gboolean
check_path(const char *value, gboolean is_file, GError **error)
{
	if (value[0] != '/') {
		g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
			    "'%s' is not an absolute path", value);
		return FALSE;
	}
	for (const char *p = value; *p; p++) {
		if (g_ascii_iscntrl(*p)) {
			g_set_error_literal(error, TCSD_CONFIG_ERROR,
					    TCSD_CONFIG_ERROR_INVALID_VALUE,
					    "path contains a control character");
			return FALSE;
		}
	}
	if (is_file && g_str_has_suffix(value, "/")) {
		g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
			    "'%s' names a directory, not a file", value);
		return FALSE;
	}
	return TRUE;
}

static void
set_string(char **field, char *value)
{
	g_free(*field);
	*field = value;
}

static gboolean
config_apply(TcsdConfig *c, const TcsdOption *opt, const char *value, GError **error)
{
	gpointer field = (guint8 *)c + opt->offset;
	guint64 num;

	switch (opt->kind) {
	case OPT_PORT:
		if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT16, &num, NULL)) {
			g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
				    "'%s' is not a port number 0-65535", value);
			return FALSE;
		}
		*(guint16 *)field = (guint16)num;
		return TRUE;
	case OPT_UINT:
		if (!g_ascii_string_to_unsigned(value, 10, opt->min, opt->max, &num, NULL)) {
			g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
				    "'%s' is not an integer %" G_GUINT64_FORMAT
				    "-%" G_GUINT64_FORMAT,
				    value, opt->min, opt->max);
			return FALSE;
		}
		*(guint *)field = (guint)num;
		return TRUE;
	case OPT_BOOL:
		if (g_strcmp0(value, "0") != 0 && g_strcmp0(value, "1") != 0) {
			g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
				    "'%s' is not 0 or 1", value);
			return FALSE;
		}
		*(gboolean *)field = value[0] == '1';
		return TRUE;
	case OPT_FILE:
	case OPT_DIR:
		if (!check_path(value, opt->kind == OPT_FILE, error))
			return FALSE;
		set_string(field, g_strdup(value));
		return TRUE;
	case OPT_PCRS:
		return parse_pcrs(value, field, error);
	case OPT_REMOTE_OPS:
		return parse_remote_ops(value, field, error);
	case OPT_PLATFORM_CLASS: {
		const char *name = platform_class_lookup(value, error);

		if (!name)
			return FALSE;
		set_string(field, g_strdup(name));
		return TRUE;
	}
	case OPT_PLATFORM_CLASSES: {
		char *names = parse_platform_classes(value, error);

		if (!names)
			return FALSE;
		/* an empty list is the same as unset */
		if (*names == '\0')
			g_clear_pointer(&names, g_free);
		set_string(field, names);
		return TRUE;
	}
	case OPT_DBUS:
		if (g_strcmp0(value, "auto") == 0)
			*(TcsdDbusMode *)field = TCSD_DBUS_AUTO;
		else if (g_strcmp0(value, "yes") == 0)
			*(TcsdDbusMode *)field = TCSD_DBUS_YES;
		else if (g_strcmp0(value, "no") == 0)
			*(TcsdDbusMode *)field = TCSD_DBUS_NO;
		else {
			g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
				    "'%s' is not auto, yes or no", value);
			return FALSE;
		}
		return TRUE;
	case OPT_TPM_DEVICE: {
		g_auto(TcsdTpmSpec) spec = {0};
		g_autoptr(GError) spec_error = NULL;

		if (!tcsd_tpm_spec_parse(value, &spec, &spec_error)) {
			g_set_error_literal(error, TCSD_CONFIG_ERROR,
					    TCSD_CONFIG_ERROR_INVALID_VALUE, spec_error->message);
			return FALSE;
		}
		set_string(field, g_strdup(value));
		return TRUE;
	}
	case OPT_TCTI:
		/* "none" or NAME[:CONF] for tpm2-tss' TCTI loader; it checks the rest when used */
		if (*value == '\0' || *value == ':' || strpbrk(value, " \t\n") != NULL) {
			g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
				    "'%s' is not none or a TCTI such as device:/dev/tpmrm0", value);
			return FALSE;
		}
		set_string(field, g_strdup(value));
		return TRUE;
	case OPT_USERS: {
		GArray *uids = NULL;

		if (!parse_users(value, TRUE, &uids, error))
			return FALSE;
		g_array_unref(c->owner_uids);
		c->owner_uids = uids;
		return TRUE;
	}
	}
	g_assert_not_reached();
}

static const TcsdOption *
option_lookup(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(options); i++) {
		if (g_ascii_strcasecmp(name, options[i].name) == 0)
			return &options[i];
	}
	return NULL;
}

TcsdConfig *
tcsd_config_new_defaults(void)
{
	g_autoptr(TcsdConfig) c = g_new0(TcsdConfig, 1);

	c->port = TCS_DEFAULT_PORT;
	c->num_threads = 10;
	c->system_ps_file = g_strdup(TCS_LOCALSTATEDIR "/lib/tpm/system.data");
	c->firmware_log_file = g_strdup("/sys/kernel/security/tpm0/binary_bios_measurements");
	c->kernel_log_file = g_strdup("/sys/kernel/security/ima/binary_runtime_measurements");
	c->host_platform_class = g_strdup("PC_12");
	c->tpm_device = g_strdup("auto");
	c->state_dir = g_strdup(TCS_LOCALSTATEDIR "/lib/tcs");
	c->max_connections = 1024;
	c->max_contexts_per_connection = 64;
	c->max_keys_per_context = 256;
	c->max_auth_sessions_per_context = 64;
	c->max_registered_keys_per_user = 64;
	c->max_request_size = 65536;
	c->request_timeout_ms = 10000;
	c->max_connections_per_peer = 0;
	c->max_contexts_per_peer = 512;
	c->max_auth_sessions_per_peer = 0;
	c->max_keys_per_peer = 512;
	c->max_events_per_peer = 1024;
	c->idle_timeout_ms = 60000;
	c->manager_auth_timeout_ms = 300000;
	c->manager_io_timeout_ms = 60000;
	/* cannot fail when not strict */
	parse_users("root," TCS_TSS_USER, FALSE, &c->owner_uids, NULL);
	return g_steal_pointer(&c);
}

gboolean
tcsd_config_load_data(TcsdConfig *c, const char *data, gsize len, const char *origin,
		      GError **error)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (memchr(data, '\0', len) != NULL) {
		g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_SYNTAX,
			    "%s contains a NUL byte", origin);
		return FALSE;
	}
	text = g_strndup(data, len);
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		char *line = g_strstrip(lines[i]);
		char *eq;
		const char *name;
		const char *value;
		const TcsdOption *opt;

		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL || eq == line) {
			g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_SYNTAX,
				    "expected 'name = value' at %s:%u", origin, i + 1);
			return FALSE;
		}
		*eq = '\0';
		name = g_strstrip(line);
		value = g_strstrip(eq + 1);
		opt = option_lookup(name);
		if (opt == NULL) {
			g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_UNKNOWN_OPTION,
				    "unknown option '%s' at %s:%u", name, origin, i + 1);
			return FALSE;
		}
		if (!config_apply(c, opt, value, error)) {
			g_prefix_error(error, "invalid value for '%s' at %s:%u: ", opt->name,
				       origin, i + 1);
			return FALSE;
		}
	}
	return TRUE;
}

/* a tcsd.conf is a few hundred bytes; anything this large is not one */
#define TCSD_CONFIG_MAX_SIZE (1024 * 1024)

/*
 * Not g_file_get_contents(): its messages quote the path with the locale's
 * quotation marks, which the C locale turns into '?'. G_FILE_ERROR codes.
 */
static gboolean
read_config_file(const char *path, char **data, gsize *len, GError **error)
{
	g_autoptr(GString) text = g_string_new(NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int errsv = 0;

	if (fd < 0)
		errsv = errno;
	while (fd >= 0 && errsv == 0) {
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			errsv = errno;
		else if (n == 0)
			break;
		else if (text->len + (gsize)n > TCSD_CONFIG_MAX_SIZE)
			errsv = EFBIG;
		else
			g_string_append_len(text, buf, n);
	}
	if (fd >= 0)
		close(fd);
	if (errsv != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
			    "cannot read configuration file %s: %s", path, g_strerror(errsv));
		return FALSE;
	}
	*len = text->len;
	*data = g_string_free(g_steal_pointer(&text), FALSE);
	return TRUE;
}

gboolean
tcsd_config_load(TcsdConfig *c, const char *path, GError **error)
{
	g_autofree char *data = NULL;
	g_autoptr(GError) local_error = NULL;
	gsize len = 0;

	if (path == NULL) {
		if (!read_config_file(TCSD_CONFIG_DEFAULT_PATH, &data, &len, &local_error)) {
			if (g_error_matches(local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
				g_debug("no %s, using defaults", TCSD_CONFIG_DEFAULT_PATH);
				return TRUE;
			}
			g_propagate_error(error, g_steal_pointer(&local_error));
			return FALSE;
		}
		path = TCSD_CONFIG_DEFAULT_PATH;
	} else if (!read_config_file(path, &data, &len, error)) {
		return FALSE;
	}
	return tcsd_config_load_data(c, data, len, path, error);
}

gboolean
tcsd_config_has_remote_ops(const TcsdConfig *c)
{
	for (gsize i = 0; i < TCSD_CONFIG_NUM_ORDINALS; i++) {
		if (c->remote_ops[i])
			return TRUE;
	}
	return FALSE;
}

gboolean
tcsd_config_is_owner_uid(const TcsdConfig *c, uid_t uid)
{
	for (guint i = 0; i < c->owner_uids->len; i++) {
		if (g_array_index(c->owner_uids, uid_t, i) == uid)
			return TRUE;
	}
	return FALSE;
}

guint
tcsd_config_connections_per_peer(const TcsdConfig *c)
{
	if (c->max_connections_per_peer)
		return c->max_connections_per_peer;
	return MAX(1u, c->max_connections / 4);
}

void
tcsd_config_free(TcsdConfig *c)
{
	if (c == NULL)
		return;
	g_free(c->system_ps_file);
	g_free(c->firmware_log_file);
	g_free(c->kernel_log_file);
	g_free(c->platform_cred);
	g_free(c->conformance_cred);
	g_free(c->endorsement_cred);
	g_free(c->host_platform_class);
	g_free(c->all_platform_classes);
	g_free(c->tpm_device);
	g_free(c->tpm2_binding);
	g_clear_pointer(&c->owner_uids, g_array_unref);
	g_free(c->state_dir);
	g_free(c);
}

gboolean
tcsd_config_check_dir_writable(const char *dir, const char *what, const char *key,
			       GError **error)
{
	g_autofree char *probe = g_build_filename(dir, ".tcsd-probe-XXXXXX", NULL);
	int fd = g_mkstemp_full(probe, O_RDWR | O_CLOEXEC, 0600);
	int err = errno;
	/* not g_get_user_name(): it caches the name from before privileges were dropped */
	struct passwd *pw = getpwuid(getuid());

	if (fd >= 0 && write(fd, "x", 1) == 1 && fsync(fd) == 0) {
		close(fd);
		if (unlink(probe) == 0)
			return TRUE;
		err = errno;
	} else if (fd >= 0) {
		err = errno;
		close(fd);
		(void)unlink(probe);
	}
	g_set_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE,
		    "%s %s is not usable by user %s (uid %u): cannot create a file in it: %s; "
		    "the user needs write access to it and search (x) access to every directory "
		    "above it (e.g. chmod o+x on the parent), or set %s in tcsd.conf to a "
		    "usable directory",
		    what, dir, pw ? pw->pw_name : "?", (unsigned)getuid(), g_strerror(err), key);
	return FALSE;
}

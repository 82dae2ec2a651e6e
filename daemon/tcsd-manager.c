/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.tcs.Manager, the D-Bus side (main thread): arguments are checked and
 * secrets decoded here, polkit asked (bounded in time), a Restore's archive
 * read (tcsd-manager-archive.c, never on the worker); then an owner
 * operation waits for its turn in a bounded FIFO, runs on the TPM worker
 * (tcsd-manager-ops.c), and a Backup's archive is written out before the
 * next one starts. ListKeys, GetKeyInfo and the properties are open to all.
 */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <string.h>
#include <unistd.h>

#include "tcs-uuid.h"
#include "tcsd-resources.h"
#include "tcsd-manager-private.h"

#define MANAGER_BUS_NAME "org.tcs.Manager"
#define MANAGER_PATH "/org/tcs/Manager"
#define MANAGER_IFACE "org.tcs.Manager"
#define MANAGER_MAX_SECRET 1024u
#define MANAGER_MAX_CRITERIA_UUIDS 4096u
/* authorised owner operations waiting for their turn (reading input or queued) */
#define MANAGER_MAX_WAITING 16u
/* polkit checks in flight: an unprivileged caller cannot pile up more */
#define MANAGER_MAX_AUTHORISING 64u

struct _TcsdManager {
	TcsdDaemon *d;
	TcsdServer *server;
	GDBusConnection *bus;
	GDBusNodeInfo *info;
	guint registration;
	gboolean busy;	  /* an owner operation has its turn */
	GQueue queue;	  /* TcsdOp: authorised owner operations waiting, FIFO */
	guint waiting;	  /* owner operations authorised and not yet running */
	guint authorising; /* polkit checks in flight */
	GList *io;	  /* TcsdOp reading or writing an archive descriptor */
	gboolean closing; /* tcsd is stopping: no new tasks for the worker */
	TcsdTpmState state;
};

static const GDBusErrorEntry error_entries[] = {
	{TCSD_MANAGER_ERROR_INVALID_ARGS, "org.tcs.Error.InvalidArgs"},
	{TCSD_MANAGER_ERROR_PERMISSION_DENIED, "org.tcs.Error.PermissionDenied"},
	{TCSD_MANAGER_ERROR_BUSY, "org.tcs.Error.Busy"},
	{TCSD_MANAGER_ERROR_NOT_SUPPORTED, "org.tcs.Error.NotSupported"},
	{TCSD_MANAGER_ERROR_NO_OWNER_SECRET, "org.tcs.Error.NoOwnerSecret"},
	{TCSD_MANAGER_ERROR_TPM_AUTH_FAILED, "org.tcs.Error.TpmAuthFailed"},
	{TCSD_MANAGER_ERROR_LOCKOUT, "org.tcs.Error.Lockout"},
	{TCSD_MANAGER_ERROR_ALREADY_OWNED, "org.tcs.Error.AlreadyOwned"},
	{TCSD_MANAGER_ERROR_NOT_OWNED, "org.tcs.Error.NotOwned"},
	{TCSD_MANAGER_ERROR_NOT_OWNABLE, "org.tcs.Error.NotOwnable"},
	{TCSD_MANAGER_ERROR_DISABLED, "org.tcs.Error.Disabled"},
	{TCSD_MANAGER_ERROR_DEACTIVATED, "org.tcs.Error.Deactivated"},
	{TCSD_MANAGER_ERROR_OWNER_CLEAR_DISABLED, "org.tcs.Error.OwnerClearDisabled"},
	{TCSD_MANAGER_ERROR_PHYSICAL_PRESENCE_REQUIRED, "org.tcs.Error.PhysicalPresenceRequired"},
	{TCSD_MANAGER_ERROR_NO_ENDORSEMENT_KEY, "org.tcs.Error.NoEndorsementKey"},
	{TCSD_MANAGER_ERROR_NOT_FOUND, "org.tcs.Error.NotFound"},
	{TCSD_MANAGER_ERROR_ALREADY_EXISTS, "org.tcs.Error.AlreadyExists"},
	{TCSD_MANAGER_ERROR_HAS_CHILDREN, "org.tcs.Error.HasChildren"},
	{TCSD_MANAGER_ERROR_INVALID_ARCHIVE, "org.tcs.Error.InvalidArchive"},
	{TCSD_MANAGER_ERROR_ARCHIVE_AUTH_FAILED, "org.tcs.Error.ArchiveAuthFailed"},
	{TCSD_MANAGER_ERROR_IO, "org.tcs.Error.Io"},
	{TCSD_MANAGER_ERROR_TPM, "org.tcs.Error.Tpm"},
	{TCSD_MANAGER_ERROR_INTERNAL, "org.tcs.Error.Internal"},
};

GQuark
tcsd_manager_error_quark(void)
{
	static gsize quark;

	g_dbus_error_register_error_domain("tcsd-manager-error-quark", &quark, error_entries,
					   G_N_ELEMENTS(error_entries));
	return (GQuark)quark;
}

void
tcsd_op_free(TcsdOp *op)
{
	if (!op)
		return;
	explicit_bzero(&op->owner, sizeof(op->owner));
	explicit_bzero(&op->srk, sizeof(op->srk));
	explicit_bzero(&op->new_owner, sizeof(op->new_owner));
	if (op->archive_secret) {
		gsize n = 0;
		gpointer p = (gpointer)g_bytes_get_data(op->archive_secret, &n);

		explicit_bzero(p, n);
		g_bytes_unref(op->archive_secret);
	}
	if (op->criteria.uuids)
		g_array_unref(op->criteria.uuids);
	tcsd_manager_io_stop(op);
	if (op->vanish_watch)
		g_dbus_connection_signal_unsubscribe(op->manager->bus, op->vanish_watch);
	if (op->input)
		g_bytes_unref(op->input);
	if (op->output)
		g_bytes_unref(op->output);
	if (op->fd_in >= 0)
		close(op->fd_in);
	if (op->fd_out >= 0)
		close(op->fd_out);
	if (op->result)
		g_variant_unref(op->result);
	g_clear_error(&op->error);
	g_clear_object(&op->invocation);
	g_ptr_array_unref(op->registered);
	g_ptr_array_unref(op->unregistered);
	g_free(op);
}

static TcsdOp *
op_new(TcsdManager *m, TcsdOpKind kind, GDBusMethodInvocation *inv)
{
	TcsdOp *op = g_new0(TcsdOp, 1);

	op->kind = kind;
	op->manager = m;
	op->invocation = inv ? g_object_ref(inv) : NULL;
	op->fd_in = op->fd_out = op->io_fd = -1;
	op->registered = g_ptr_array_new_with_free_func(g_free);
	op->unregistered = g_ptr_array_new_with_free_func(g_free);
	return op;
}

/* ------------------------------------------------------------ properties */

static GVariant *
state_property(TcsdManager *m, const char *name)
{
	const TcsdTpmState *st = &m->state;

	if (!strcmp(name, "DaemonVersion"))
		return g_variant_new_string(TCS_VERSION);
	if (!strcmp(name, "TpmVersion"))
		return g_variant_new_string(st->version);
	if (!strcmp(name, "TpmManufacturer"))
		return g_variant_new_string(st->manufacturer);
	if (!strcmp(name, "Owned"))
		return g_variant_new_boolean(st->owned);
	if (!strcmp(name, "Enabled"))
		return g_variant_new_boolean(st->enabled);
	if (!strcmp(name, "Activated"))
		return g_variant_new_boolean(st->activated);
	if (!strcmp(name, "Ownable"))
		return g_variant_new_boolean(st->ownable);
	if (!strcmp(name, "OwnerClearDisabled"))
		return g_variant_new_boolean(st->owner_clear_disabled);
	if (!strcmp(name, "ForceClearDisabled"))
		return g_variant_new_boolean(st->force_clear_disabled);
	if (!strcmp(name, "OwnerSecretStored"))
		return g_variant_new_boolean(st->owner_secret_stored);
	if (!strcmp(name, "TpmBackend"))
		return g_variant_new_string(st->tpm_backend);
	if (!strcmp(name, "Tpm2Binding"))
		return g_variant_new_string(st->tpm2_binding);
	if (!strcmp(name, "Tpm2BindingPcrs")) {
		GVariantBuilder b;

		g_variant_builder_init(&b, G_VARIANT_TYPE("au"));
		for (guint i = 0; i < 32; i++)
			if (st->tpm2_pcrs & (1u << i))
				g_variant_builder_add(&b, "u", i);
		return g_variant_builder_end(&b);
	}
	if (!strcmp(name, "ConnectedClients"))
		return g_variant_new_uint32(tcsd_server_count_connections(m->server));
	return NULL;
}

static GVariant *
on_get_property(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
		const char *name, GError **error, gpointer data)
{
	GVariant *v = state_property(data, name);

	if (!v)
		g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
			    "no property %s", name);
	return v;
}

/* Take the worker's reading and announce what changed. */
static void
update_state(TcsdManager *m, const TcsdTpmState *st)
{
	static const char *const names[] = {"TpmVersion",	   "TpmManufacturer",
					    "Owned",		   "Enabled",
					    "Activated",	   "Ownable",
					    "OwnerClearDisabled", "ForceClearDisabled",
					    "OwnerSecretStored",  "TpmBackend",
					    "Tpm2Binding",	   "Tpm2BindingPcrs"};
	GVariantBuilder changed;
	gboolean any = FALSE;

	if (!st->valid)
		return;
	g_variant_builder_init(&changed, G_VARIANT_TYPE("a{sv}"));
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(GVariant) before = g_variant_ref_sink(state_property(m, names[i]));
		TcsdTpmState old = m->state;
		g_autoptr(GVariant) after = NULL;

		m->state = *st;
		after = g_variant_ref_sink(state_property(m, names[i]));
		m->state = old;
		if (!g_variant_equal(before, after)) {
			g_variant_builder_add(&changed, "{sv}", names[i], after);
			any = TRUE;
		}
	}
	m->state = *st;
	if (any && m->bus)
		g_dbus_connection_emit_signal(m->bus, NULL, MANAGER_PATH,
					      "org.freedesktop.DBus.Properties", "PropertiesChanged",
					      g_variant_new("(sa{sv}as)", MANAGER_IFACE, &changed,
							    NULL),
					      NULL);
	else
		g_variant_builder_clear(&changed);
}

static GVariant *
string_array(GPtrArray *a)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("as"));
	for (guint i = 0; i < a->len; i++)
		g_variant_builder_add(&b, "s", (const char *)a->pdata[i]);
	return g_variant_builder_end(&b);
}

static void
emit_keys_changed(TcsdManager *m, GPtrArray *registered, GPtrArray *unregistered)
{
	GVariant *args[2];

	if (!m->bus || (registered->len == 0 && unregistered->len == 0))
		return;
	args[0] = string_array(registered);
	args[1] = string_array(unregistered);
	g_dbus_connection_emit_signal(m->bus, NULL, MANAGER_PATH, MANAGER_IFACE, "KeysChanged",
				      g_variant_new_tuple(args, 2), NULL);
}

/* ------------------------------------------------------------ running operations */

static void
op_work(TcsdDaemon *d, gpointer data)
{
	tcsd_manager_run_op(d, data);
}

static void start_next(TcsdManager *m);

/* Answer op's caller and free op; an operation that had its turn passes it on. */
static void
op_finish(TcsdOp *op)
{
	TcsdManager *m = op->manager;
	gboolean had_turn = op->has_turn;

	if (op->waiting)
		m->waiting--;
	m->io = g_list_remove(m->io, op);
	if (op->invocation && !op->error && !op->result &&
	    g_dbus_method_invocation_get_method_info(op->invocation)->out_args[0])
		op->error = g_error_new(TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_INTERNAL,
					"%s gave no answer", g_dbus_method_invocation_get_method_name(op->invocation));
	if (op->invocation && op->error)
		g_dbus_method_invocation_return_gerror(g_steal_pointer(&op->invocation), op->error);
	else if (op->invocation)
		g_dbus_method_invocation_return_value(g_steal_pointer(&op->invocation),
						      op->result ? g_steal_pointer(&op->result)
								 : NULL);
	tcsd_op_free(op);
	if (had_turn) {
		m->busy = FALSE;
		start_next(m);
	}
}

static void
op_fail(TcsdOp *op, TcsdManagerError code, const char *message)
{
	g_clear_error(&op->error);
	g_set_error_literal(&op->error, TCSD_MANAGER_ERROR, code, message);
	op_finish(op);
}

static void
op_done(TcsdDaemon *d, gpointer data)
{
	TcsdOp *op = data;
	TcsdManager *m = op->manager;

	update_state(m, &op->state);
	emit_keys_changed(m, op->registered, op->unregistered);
	if (!op->error && op->output && op->fd_out >= 0 && !m->closing) {
		/* the caller hears of it once the archive is out (or could not go out) */
		m->io = g_list_prepend(m->io, op);
		tcsd_manager_write_output(op, m->d->config->manager_io_timeout_ms, op_finish);
		return;
	}
	op_finish(op);
}

static void
op_start(TcsdOp *op)
{
	if (op->manager->closing) {
		op_fail(op, TCSD_MANAGER_ERROR_BUSY, "tcsd is stopping");
		return;
	}
	tcsd_server_run_on_worker(op->manager->server, op_work, op_done, op);
}

/* Owner operations one at a time, in the order they were authorised. */
static void
start_next(TcsdManager *m)
{
	TcsdOp *op;

	while (!m->busy && !m->closing && (op = g_queue_pop_head(&m->queue))) {
		op->waiting = FALSE;
		m->waiting--;
		op->has_turn = TRUE;
		m->busy = TRUE;
		op_start(op);
	}
}

static void
take_turn(TcsdOp *op)
{
	TcsdManager *m = op->manager;

	if (!op->exclusive) {
		op_start(op);
		return;
	}
	if (op->caller_gone) {
		g_message("%s dropped: its caller left the bus",
			  g_dbus_method_invocation_get_method_name(op->invocation));
		op_fail(op, TCSD_MANAGER_ERROR_BUSY, "the caller left");
		return;
	}
	g_queue_push_tail(&m->queue, op);
	start_next(m);
}

/* The caller of a waiting operation disconnected: nobody wants its result. */
static void
on_caller_vanished(GDBusConnection *bus, const char *sender, const char *path,
		   const char *iface, const char *signal, GVariant *params, gpointer data)
{
	TcsdOp *op = data;
	TcsdManager *m = op->manager;
	const char *name, *old_owner, *new_owner;

	g_variant_get(params, "(&s&s&s)", &name, &old_owner, &new_owner);
	if (*new_owner)
		return;
	op->caller_gone = TRUE;
	if (g_queue_remove(&m->queue, op)) {
		g_message("queued %s dropped: its caller left the bus",
			  g_dbus_method_invocation_get_method_name(op->invocation));
		op_fail(op, TCSD_MANAGER_ERROR_BUSY, "the caller left");
	}
}

static void
on_input(TcsdOp *op)
{
	op->manager->io = g_list_remove(op->manager->io, op);
	if (op->error)
		op_finish(op);
	else
		take_turn(op);
}

static void
on_authorised(GObject *source, GAsyncResult *res, gpointer data)
{
	TcsdOp *op = data;
	TcsdManager *m = op->manager;
	g_autoptr(GError) error = NULL;

	m->authorising--;
	if (!tcsd_polkit_check_finish(res, &error)) {
		op->error = g_steal_pointer(&error);
		op_finish(op);
		return;
	}
	if (m->closing) {
		op_fail(op, TCSD_MANAGER_ERROR_BUSY, "tcsd is stopping");
		return;
	}
	if (op->exclusive) {
		if (m->waiting >= MANAGER_MAX_WAITING) {
			g_autofree char *msg = g_strdup_printf(
				"%u owner operations are waiting already (at most %u)", m->waiting,
				MANAGER_MAX_WAITING);

			op_fail(op, TCSD_MANAGER_ERROR_BUSY, msg);
			return;
		}
		op->waiting = TRUE;
		m->waiting++;
	}
	if (op->fd_in >= 0) {
		/* before the turn: an archive that never arrives holds up nobody else */
		m->io = g_list_prepend(m->io, op);
		tcsd_manager_read_input(op, m->d->config->manager_io_timeout_ms, on_input);
		return;
	}
	take_turn(op);
}

static void
authorise_and_start(TcsdManager *m, TcsdOp *op, const char *action, gboolean open)
{
	if (open) {
		/* reading status and keys, as any TSS application may over the wire */
		op_start(op);
		return;
	}
	if (m->authorising >= MANAGER_MAX_AUTHORISING) {
		op_fail(op, TCSD_MANAGER_ERROR_BUSY, "too many authorisation checks are pending");
		return;
	}
	/* subscribed before polkit identifies the caller: the bus handles both in order,
	 * so a caller that leaves later is always seen */
	if (op->exclusive)
		op->vanish_watch = g_dbus_connection_signal_subscribe(
			m->bus, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
			"/org/freedesktop/DBus", g_dbus_method_invocation_get_sender(op->invocation),
			G_DBUS_SIGNAL_FLAGS_NONE, on_caller_vanished, op, NULL);
	m->authorising++;
	/* no turn is taken before polkit answers: a pending prompt blocks nobody */
	tcsd_polkit_check_async(m->bus, op->invocation, action,
				m->d->config->manager_auth_timeout_ms, on_authorised, op);
}

/* ------------------------------------------------------------ arguments */

#define invalid(error, ...) tcsd_manager_fail(error, TCSD_MANAGER_ERROR_INVALID_ARGS, __VA_ARGS__)

/* Every option must be one of allowed ("name:type" strings). */
static gboolean
check_options(GVariant *options, const char *const *allowed, GError **error)
{
	GVariantIter it;
	const char *key;
	GVariant *value;

	g_variant_iter_init(&it, options);
	while (g_variant_iter_next(&it, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) v = value;
		gboolean ok = FALSE;

		for (const char *const *a = allowed; *a && !ok; a++) {
			const char *colon = strchr(*a, ':');

			ok = colon && strlen(key) == (size_t)(colon - *a) &&
			     !strncmp(key, *a, colon - *a) &&
			     !strcmp(g_variant_get_type_string(v), colon + 1);
		}
		if (!ok)
			return invalid(error, "unknown option '%s' or wrong type '%s'", key,
				       g_variant_get_type_string(v));
	}
	return TRUE;
}

static gboolean
option_bool(GVariant *options, const char *key, gboolean def)
{
	gboolean v;

	return g_variant_lookup(options, key, "b", &v) ? v : def;
}

/* A secret argument (ay) with its "<name>-mode" option. */
static gboolean
parse_secret(GVariant *ay, GVariant *options, const char *mode_key, TcsdSecret *out,
	     GError **error)
{
	gsize len = 0;
	const guint8 *p = g_variant_get_fixed_array(ay, &len, 1);
	const char *mode = NULL;

	*out = (TcsdSecret){0};
	if (len > MANAGER_MAX_SECRET)
		return invalid(error, "secret too long (at most %u bytes)", MANAGER_MAX_SECRET);
	if (!g_variant_lookup(options, mode_key, "&s", &mode) && len == 0)
		return TRUE; /* the method's default */
	if (!mode || !strcmp(mode, "plain")) {
		out->kind = TCSD_SECRET_VALUE;
		return tcs_auth_secret_plain(p, len, out->value) == 0 ||
		       invalid(error, "cannot hash the secret");
	}
	if (!strcmp(mode, "sha1")) {
		if (len != TCS_SECRET_SIZE)
			return invalid(error, "%s sha1 needs exactly 20 bytes", mode_key);
		out->kind = TCSD_SECRET_VALUE;
		memcpy(out->value, p, TCS_SECRET_SIZE);
		return TRUE;
	}
	if (!strcmp(mode, "well-known")) {
		if (len != 0)
			return invalid(error, "%s well-known takes an empty secret", mode_key);
		out->kind = TCSD_SECRET_VALUE;
		memcpy(out->value, tcs_auth_well_known, TCS_SECRET_SIZE);
		return TRUE;
	}
	return invalid(error, "unknown %s '%s' (plain, sha1 or well-known)", mode_key, mode);
}

/* A secret passed as an "ay" option (one the signature has no argument for), with its mode. */
static gboolean
parse_secret_option(GVariant *options, const char *key, const char *mode_key, TcsdSecret *out,
		    GError **error)
{
	g_autoptr(GVariant) ay = g_variant_lookup_value(options, key, G_VARIANT_TYPE_BYTESTRING);

	if (!ay)
		ay = g_variant_ref_sink(g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, NULL, 0, 1));
	return parse_secret(ay, options, mode_key, out, error);
}

/* The archive secret feeds the KDF as given (plain) or as its 20 bytes (sha1). */
static gboolean
parse_archive_secret(GVariant *ay, GVariant *options, TcsdOp *op, GError **error)
{
	gsize len = 0;
	const guint8 *p = g_variant_get_fixed_array(ay, &len, 1);
	const char *mode = "plain";
	const char *mode_key = op->kind == TCSD_OP_CREATE_STORAGE_KEY ? "safety-secret-mode"
								       : "secret-mode";

	(void)g_variant_lookup(options, mode_key, "&s", &mode);
	if (len == 0)
		return invalid(error, "an archive secret is required");
	if (len > MANAGER_MAX_SECRET)
		return invalid(error, "secret too long (at most %u bytes)", MANAGER_MAX_SECRET);
	if (strcmp(mode, "plain") && strcmp(mode, "sha1"))
		return invalid(error, "%s '%s' is not allowed here (plain or sha1)", mode_key, mode);
	if (!strcmp(mode, "sha1") && len != TCS_SECRET_SIZE)
		return invalid(error, "%s sha1 needs exactly 20 bytes", mode_key);
	op->archive_secret = g_bytes_new(p, len);
	return TRUE;
}

static gboolean
parse_key_name(const char *s, TcsUuid *out, GError **error)
{
	if (!g_ascii_strcasecmp(s, "srk"))
		*out = TCS_UUID_SRK;
	else if (!g_ascii_strcasecmp(s, "sk"))
		*out = (TcsUuid)TCS_UUID_NODE(2);
	else if (!g_ascii_strcasecmp(s, "rk"))
		*out = (TcsUuid)TCS_UUID_NODE(3);
	else if (tcs_uuid_from_string(s, out) < 0)
		return invalid(error, "'%s' is not a key UUID or srk, sk, rk", s);
	return TRUE;
}

static gboolean
parse_enum(const char *s, const char *const *names, const guint32 *values, guint32 *out)
{
	for (guint i = 0; names[i]; i++)
		if (!g_ascii_strcasecmp(s, names[i])) {
			*out = values[i];
			return TRUE;
		}
	return FALSE;
}

static gboolean
parse_criteria(GVariant *cr, TcsdKeyCriteria *out, GError **error)
{
	static const char *const allowed[] = {"ancestor:s", "parent:s", "algorithm:s", "usage:s",
					      "uuids:as", NULL};
	static const char *const alg_names[] = {"rsa", "des", "3des", "aes128", "aes192",
						"aes256", "hmac", "sha", "xor", NULL};
	static const guint32 alg_values[] = {0x20, 0x21, 0x22, 0x25, 0x27, 0x28, 0x24, 0x23, 0x26};
	static const char *const usage_names[] = {"bind", "identity", "legacy", "signing",
						  "storage", "authchange", "migrate", NULL};
	static const guint32 usage_values[] = {0, 1, 2, 3, 4, 5, 6};
	const char *s;
	g_autoptr(GVariantIter) it = NULL;

	if (!check_options(cr, allowed, error))
		return FALSE;
	if (g_variant_lookup(cr, "ancestor", "&s", &s)) {
		if (!parse_key_name(s, &out->ancestor, error))
			return FALSE;
		out->has_ancestor = TRUE;
	}
	if (g_variant_lookup(cr, "parent", "&s", &s)) {
		if (!parse_key_name(s, &out->parent, error))
			return FALSE;
		out->has_parent = TRUE;
	}
	if (g_variant_lookup(cr, "algorithm", "&s", &s)) {
		if (!parse_enum(s, alg_names, alg_values, &out->algorithm))
			return invalid(error, "unknown algorithm '%s'", s);
		out->has_algorithm = TRUE;
	}
	if (g_variant_lookup(cr, "usage", "&s", &s)) {
		if (!parse_enum(s, usage_names, usage_values, &out->usage))
			return invalid(error, "unknown usage '%s'", s);
		out->has_usage = TRUE;
	}
	if (g_variant_lookup(cr, "uuids", "as", &it)) {
		out->uuids = g_array_new(FALSE, FALSE, sizeof(TcsUuid));
		while (g_variant_iter_next(it, "&s", &s)) {
			TcsUuid u;

			if (out->uuids->len >= MANAGER_MAX_CRITERIA_UUIDS)
				return invalid(error, "too many UUIDs");
			if (!parse_key_name(s, &u, error))
				return FALSE;
			g_array_append_val(out->uuids, u);
		}
	}
	return TRUE;
}

static int
take_fd(GDBusMethodInvocation *inv, gint32 handle, GError **error)
{
	GUnixFDList *fds = g_dbus_message_get_unix_fd_list(g_dbus_method_invocation_get_message(inv));

	if (!fds || handle < 0 || handle >= g_unix_fd_list_get_length(fds)) {
		invalid(error, "file descriptor %d was not passed", handle);
		return -1;
	}
	return g_unix_fd_list_get(fds, handle, error);
}

/* ------------------------------------------------------------ methods */

typedef struct {
	const char *name;
	TcsdOpKind kind;
	gboolean exclusive; /* an owner operation: one at a time */
	gboolean open;	    /* read-only: neither polkit nor root needed */
} MethodInfo;

static const MethodInfo methods[] = {
	{"TakeOwnership", TCSD_OP_TAKE_OWNERSHIP, TRUE, FALSE},
	{"ChangeOwnerSecret", TCSD_OP_CHANGE_OWNER_SECRET, TRUE, FALSE},
	{"ForgetOwnerSecret", TCSD_OP_FORGET_OWNER_SECRET, TRUE, FALSE},
	{"ClearOwner", TCSD_OP_CLEAR_OWNER, TRUE, FALSE},
	{"SetEnabled", TCSD_OP_SET_ENABLED, TRUE, FALSE},
	{"SetActivated", TCSD_OP_SET_ACTIVATED, TRUE, FALSE},
	{"CreateStorageKey", TCSD_OP_CREATE_STORAGE_KEY, TRUE, FALSE},
	{"ListKeys", TCSD_OP_LIST_KEYS, FALSE, TRUE},
	{"GetKeyInfo", TCSD_OP_GET_KEY_INFO, FALSE, TRUE},
	{"DeleteKeys", TCSD_OP_DELETE_KEYS, TRUE, FALSE},
	{"Backup", TCSD_OP_BACKUP, TRUE, FALSE},
	{"Restore", TCSD_OP_RESTORE, TRUE, FALSE},
	{"BindToTpm2", TCSD_OP_BIND_TPM2, TRUE, FALSE},
};

static gboolean
parse_args(TcsdOp *op, GVariant *params, GError **error)
{
	g_autoptr(GVariant) a = NULL, b = NULL, opts = NULL, cr = NULL;
	const char *s;
	gboolean flag;
	gint32 h1, h2;

	switch (op->kind) {
	case TCSD_OP_TAKE_OWNERSHIP: {
		static const char *const allowed[] = {"owner-secret-mode:s", "srk-secret-mode:s",
						      "store-owner-secret:b",
						      "create-storage-keys:b", NULL};

		g_variant_get(params, "(@ay@ay@a{sv})", &a, &b, &opts);
		if (!check_options(opts, allowed, error) ||
		    !parse_secret(a, opts, "owner-secret-mode", &op->owner, error) ||
		    !parse_secret(b, opts, "srk-secret-mode", &op->srk, error))
			return FALSE;
		op->store_owner_secret = option_bool(opts, "store-owner-secret", TRUE);
		op->create_storage_keys = option_bool(opts, "create-storage-keys", TRUE);
		if (op->owner.kind == TCSD_SECRET_DEFAULT && !op->store_owner_secret)
			return invalid(error, "a generated owner secret must be stored");
		if (op->store_owner_secret && op->srk.kind == TCSD_SECRET_VALUE &&
		    memcmp(op->srk.value, tcs_auth_well_known, TCS_SECRET_SIZE) != 0)
			return invalid(error, "storing the owner secret needs the SRK's well-known "
					      "secret (store-owner-secret false with a known owner "
					      "secret otherwise)");
		return TRUE;
	}
	case TCSD_OP_CHANGE_OWNER_SECRET: {
		static const char *const allowed[] = {"owner-secret-mode:s",
						      "new-owner-secret-mode:s",
						      "store-owner-secret:b", NULL};

		g_variant_get(params, "(@ay@ay@a{sv})", &a, &b, &opts);
		if (!check_options(opts, allowed, error) ||
		    !parse_secret(a, opts, "owner-secret-mode", &op->owner, error) ||
		    !parse_secret(b, opts, "new-owner-secret-mode", &op->new_owner, error))
			return FALSE;
		op->store_owner_secret = option_bool(opts, "store-owner-secret", FALSE);
		return TRUE;
	}
	case TCSD_OP_FORGET_OWNER_SECRET:
		return TRUE;
	case TCSD_OP_CLEAR_OWNER: {
		static const char *const allowed[] = {"owner-secret-mode:s", NULL};

		g_variant_get(params, "(@ay@a{sv})", &a, &opts);
		return check_options(opts, allowed, error) &&
		       parse_secret(a, opts, "owner-secret-mode", &op->owner, error);
	}
	case TCSD_OP_SET_ENABLED: {
		static const char *const allowed[] = {"owner-secret-mode:s", NULL};

		g_variant_get(params, "(b@ay@a{sv})", &flag, &a, &opts);
		op->flag = flag;
		return check_options(opts, allowed, error) &&
		       parse_secret(a, opts, "owner-secret-mode", &op->owner, error);
	}
	case TCSD_OP_SET_ACTIVATED: {
		static const char *const allowed[] = {NULL};

		g_variant_get(params, "(b@a{sv})", &flag, &opts);
		op->flag = flag;
		return check_options(opts, allowed, error);
	}
	case TCSD_OP_CREATE_STORAGE_KEY: {
		static const char *const allowed[] = {
			"srk-secret-mode:s", "replace:b",	   "safety-copy:h",
			"safety-secret:ay",  "safety-secret-mode:s", "owner-secret:ay",
			"owner-secret-mode:s", "no-safety-copy:b", NULL};
		g_autoptr(GVariant) safety_secret = NULL;

		g_variant_get(params, "(&s@ay@a{sv})", &s, &a, &opts);
		if (g_ascii_strcasecmp(s, "rk") && g_ascii_strcasecmp(s, "sk"))
			return invalid(error, "kind must be rk or sk, not '%s'", s);
		op->key = (TcsUuid)TCS_UUID_NODE(g_ascii_strcasecmp(s, "rk") ? 2 : 3);
		op->replace = option_bool(opts, "replace", FALSE);
		op->no_safety_copy = option_bool(opts, "no-safety-copy", FALSE);
		if (!check_options(opts, allowed, error) ||
		    !parse_secret(a, opts, "srk-secret-mode", &op->srk, error) ||
		    !parse_secret_option(opts, "owner-secret", "owner-secret-mode", &op->owner,
					 error))
			return FALSE;
		safety_secret = g_variant_lookup_value(opts, "safety-secret", G_VARIANT_TYPE_BYTESTRING);
		if (g_variant_lookup(opts, "safety-copy", "h", &h1)) {
			if (!safety_secret)
				return invalid(error, "safety-copy needs safety-secret");
			if (!parse_archive_secret(safety_secret, opts, op, error))
				return FALSE;
			op->fd_out = take_fd(op->invocation, h1, error);
			/* written on the worker before the RK is replaced: a regular file only */
			return op->fd_out >= 0 && tcsd_manager_check_fd(op->fd_out, TCSD_FD_WRITE_FILE,
									"the safety copy", error);
		}
		if (safety_secret)
			return invalid(error, "safety-secret without safety-copy");
		return TRUE;
	}
	case TCSD_OP_LIST_KEYS:
		g_variant_get(params, "(@a{sv})", &cr);
		return parse_criteria(cr, &op->criteria, error);
	case TCSD_OP_GET_KEY_INFO:
		g_variant_get(params, "(&s)", &s);
		return parse_key_name(s, &op->key, error);
	case TCSD_OP_DELETE_KEYS: {
		static const char *const allowed[] = {"descendants:b", NULL};

		g_variant_get(params, "(@a{sv}@a{sv})", &cr, &opts);
		if (g_variant_n_children(cr) == 0)
			return invalid(error, "DeleteKeys needs at least one criterion");
		op->descendants = option_bool(opts, "descendants", FALSE);
		return check_options(opts, allowed, error) &&
		       parse_criteria(cr, &op->criteria, error);
	}
	case TCSD_OP_BACKUP: {
		static const char *const allowed[] = {"secret-mode:s", "owner-secret-mode:s",
						      "srk-secret:ay", "srk-secret-mode:s", NULL};

		g_variant_get(params, "(h@ay@ay@a{sv})", &h1, &a, &b, &opts);
		if (!check_options(opts, allowed, error) ||
		    !parse_archive_secret(a, opts, op, error) ||
		    !parse_secret(b, opts, "owner-secret-mode", &op->owner, error) ||
		    !parse_secret_option(opts, "srk-secret", "srk-secret-mode", &op->srk, error))
			return FALSE;
		op->fd_out = take_fd(op->invocation, h1, error);
		return op->fd_out >= 0 &&
		       tcsd_manager_check_fd(op->fd_out, TCSD_FD_WRITE, "the archive", error);
	}
	case TCSD_OP_RESTORE: {
		static const char *const allowed[] = {"secret-mode:s",	"owner-secret-mode:s",
						      "replace:b",	"dry-run:b",
						      "srk-secret:ay", "srk-secret-mode:s", NULL};

		g_variant_get(params, "(hh@ay@ay@a{sv})", &h1, &h2, &a, &b, &opts);
		if (!check_options(opts, allowed, error) ||
		    !parse_archive_secret(a, opts, op, error) ||
		    !parse_secret(b, opts, "owner-secret-mode", &op->owner, error) ||
		    !parse_secret_option(opts, "srk-secret", "srk-secret-mode", &op->srk, error))
			return FALSE;
		op->replace = option_bool(opts, "replace", FALSE);
		op->dry_run = option_bool(opts, "dry-run", FALSE);
		op->fd_in = take_fd(op->invocation, h1, error);
		if (op->fd_in < 0 || !tcsd_manager_check_fd(op->fd_in, TCSD_FD_READ, "the archive", error))
			return FALSE;
		/* written on the worker before keys are deleted: a file cannot stall it */
		op->fd_out = take_fd(op->invocation, h2, error);
		return op->fd_out >= 0 &&
		       tcsd_manager_check_fd(op->fd_out, TCSD_FD_WRITE_FILE, "the safety copy", error);
	}
	case TCSD_OP_BIND_TPM2:
	case TCSD_OP_REFRESH:
		break;
	}
	return TRUE;
}

static const char *
polkit_action(GDBusInterfaceInfo *iface, const char *method)
{
	GDBusMethodInfo *mi = g_dbus_interface_info_lookup_method(iface, method);

	return mi ? g_dbus_annotation_info_lookup(mi->annotations, "org.tcs.Polkit.Action") : NULL;
}

static void
on_method_call(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
	       const char *method, GVariant *params, GDBusMethodInvocation *inv, gpointer data)
{
	TcsdManager *m = data;
	g_autoptr(GError) error = NULL;
	const char *action = polkit_action(m->info->interfaces[0], method);
	TcsdOp *op;
	guint i;

	for (i = 0; i < G_N_ELEMENTS(methods); i++)
		if (!strcmp(methods[i].name, method))
			break;
	if (i == G_N_ELEMENTS(methods) || !action) {
		g_dbus_method_invocation_return_error(inv, G_DBUS_ERROR,
						      G_DBUS_ERROR_UNKNOWN_METHOD,
						      "no method %s", method);
		return;
	}
	op = op_new(m, methods[i].kind, inv);
	op->exclusive = methods[i].exclusive;
	if (!parse_args(op, params, &error)) {
		g_dbus_method_invocation_return_gerror(inv, error);
		tcsd_op_free(op);
		return;
	}
	/* the invocation reference moves into op; GDBus gave us one to return */
	g_object_unref(inv);
	authorise_and_start(m, op, action, methods[i].open);
}

static const GDBusInterfaceVTable vtable = {
	.method_call = on_method_call,
	.get_property = on_get_property,
};

/* ------------------------------------------------------------ worker notifications */

typedef struct {
	TcsdDaemon *d;
	char *registered, *unregistered;
} KeysNote;

static gboolean
deliver_keys_note(gpointer data)
{
	KeysNote *n = data;
	TcsdManager *m = n->d->manager;

	if (m) {
		g_autoptr(GPtrArray) reg = g_ptr_array_new();
		g_autoptr(GPtrArray) unreg = g_ptr_array_new();

		if (n->registered)
			g_ptr_array_add(reg, n->registered);
		if (n->unregistered)
			g_ptr_array_add(unreg, n->unregistered);
		emit_keys_changed(m, reg, unreg);
	}
	g_free(n->registered);
	g_free(n->unregistered);
	g_free(n);
	return G_SOURCE_REMOVE;
}

void
tcsd_manager_keys_changed(TcsdDaemon *d, const TcsUuid *registered, const TcsUuid *unregistered)
{
	KeysNote *n;
	char s[TCS_UUID_STRING_SIZE];

	if (!d->manager)
		return;
	n = g_new0(KeysNote, 1);
	n->d = d;
	n->registered = registered ? g_strdup(tcs_uuid_to_string(registered, s)) : NULL;
	n->unregistered = unregistered ? g_strdup(tcs_uuid_to_string(unregistered, s)) : NULL;
	g_main_context_invoke(d->main_context, deliver_keys_note, n);
}

void
tcsd_manager_tpm_state_changed(TcsdDaemon *d)
{
	TcsdManager *m = d->manager;

	if (!m || m->closing)
		return;
	/* queued behind the current request; m outlives the worker */
	tcsd_server_run_on_worker(m->server, op_work, op_done, op_new(m, TCSD_OP_REFRESH, NULL));
}

/* ------------------------------------------------------------ life cycle */

TcsdManager *
tcsd_manager_new(TcsdDaemon *d, TcsdServer *server, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) xml = NULL;
	g_autoptr(GVariant) reply = NULL;
	TcsdManager *m;
	guint32 result = 0;

	if (d->config->dbus == TCSD_DBUS_NO)
		return NULL;
	m = g_new0(TcsdManager, 1);
	m->d = d;
	m->server = server;
	m->bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &local);
	if (!m->bus) {
		g_free(m);
		if (d->config->dbus == TCSD_DBUS_YES) {
			g_propagate_prefixed_error(error, g_steal_pointer(&local),
						   "cannot connect to the system bus: ");
			return NULL;
		}
		g_message("no system bus (%s): org.tcs.Manager is not served", local->message);
		return NULL;
	}
	/* by reference: a constructor in a static library may never be linked in */
	xml = g_resource_lookup_data(tcsd_resources_get_resource(),
				     "/org/tcs/daemon/org.tcs.Manager.xml",
				     G_RESOURCE_LOOKUP_FLAGS_NONE, error);
	m->info = xml ? g_dbus_node_info_new_for_xml(g_bytes_get_data(xml, NULL), error) : NULL;
	if (!m->info) {
		tcsd_manager_free(m);
		return NULL;
	}
	m->registration = g_dbus_connection_register_object(m->bus, MANAGER_PATH,
							    m->info->interfaces[0], &vtable, m,
							    NULL, error);
	if (!m->registration) {
		tcsd_manager_free(m);
		return NULL;
	}
	/* DO_NOT_QUEUE: a second tcsd must not wait for the name silently */
	reply = g_dbus_connection_call_sync(m->bus, "org.freedesktop.DBus",
					    "/org/freedesktop/DBus", "org.freedesktop.DBus",
					    "RequestName",
					    g_variant_new("(su)", MANAGER_BUS_NAME, 4u),
					    G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, 10000,
					    NULL, &local);
	if (reply)
		g_variant_get(reply, "(u)", &result);
	if (result != 1) {
		g_autofree char *why = local ? g_strdup(local->message)
					     : g_strdup("the name is taken");

		tcsd_manager_free(m);
		if (d->config->dbus == TCSD_DBUS_YES) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot own %s on the system bus: %s", MANAGER_BUS_NAME, why);
			return NULL;
		}
		g_message("cannot own %s on the system bus (%s): not served", MANAGER_BUS_NAME,
			  why);
		return NULL;
	}
	d->manager = m;
	g_message("serving %s on the system bus", MANAGER_BUS_NAME);
	/* first reading of the TPM state, behind nothing */
	tcsd_manager_tpm_state_changed(d);
	return m;
}

void
tcsd_manager_shutdown(TcsdManager *m)
{
	if (!m || m->closing)
		return;
	m->closing = TRUE;
	/* nothing more starts: fail what waits for its turn or for a descriptor */
	while (m->queue.length > 0)
		op_fail(g_queue_pop_head(&m->queue), TCSD_MANAGER_ERROR_BUSY, "tcsd is stopping");
	while (m->io) {
		TcsdOp *op = m->io->data;

		tcsd_manager_io_stop(op);
		op_fail(op, TCSD_MANAGER_ERROR_BUSY, "tcsd is stopping");
	}
	if (m->registration)
		g_dbus_connection_unregister_object(m->bus, m->registration);
	m->registration = 0;
}

void
tcsd_manager_free(TcsdManager *m)
{
	if (!m)
		return;
	tcsd_manager_shutdown(m);
	if (m->d && m->d->manager == m)
		m->d->manager = NULL;
	if (m->bus)
		g_dbus_connection_flush_sync(m->bus, NULL, NULL);
	g_clear_object(&m->bus);
	g_clear_pointer(&m->info, g_dbus_node_info_unref);
	g_free(m);
}

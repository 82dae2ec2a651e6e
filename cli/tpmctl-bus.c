/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The system bus, calls to org.tcs.Manager, and its errors as exit codes. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "tpmctl.h"

#define MANAGER_NAME "org.tcs.Manager"
#define MANAGER_PATH "/org/tcs/Manager"
#define MANAGER_IFACE "org.tcs.Manager"
#define ERROR_PREFIX "org.tcs.Error."

static const struct {
	const char *name; /* org.tcs.Error.NAME or a full D-Bus error name */
	int code;
} error_codes[] = {
	{ "InvalidArgs", TPMCTL_EXIT_USAGE },
	{ "PermissionDenied", TPMCTL_EXIT_DENIED },
	{ "org.freedesktop.DBus.Error.AccessDenied", TPMCTL_EXIT_DENIED },
	{ "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", TPMCTL_EXIT_DENIED },
	{ "NotFound", TPMCTL_EXIT_NOT_FOUND },
	{ "TpmAuthFailed", TPMCTL_EXIT_AUTH },
	{ "ArchiveAuthFailed", TPMCTL_EXIT_AUTH },
	{ "NoOwnerSecret", TPMCTL_EXIT_AUTH },
	{ "AlreadyOwned", TPMCTL_EXIT_STATE },
	{ "NotOwned", TPMCTL_EXIT_STATE },
	{ "NotOwnable", TPMCTL_EXIT_STATE },
	{ "Disabled", TPMCTL_EXIT_STATE },
	{ "Deactivated", TPMCTL_EXIT_STATE },
	{ "OwnerClearDisabled", TPMCTL_EXIT_STATE },
	{ "PhysicalPresenceRequired", TPMCTL_EXIT_STATE },
	{ "NoEndorsementKey", TPMCTL_EXIT_STATE },
	{ "NotSupported", TPMCTL_EXIT_STATE },
	{ "AlreadyExists", TPMCTL_EXIT_EXISTS },
	{ "HasChildren", TPMCTL_EXIT_EXISTS },
	{ "Busy", TPMCTL_EXIT_BUSY },
	{ "Lockout", TPMCTL_EXIT_BUSY },
	{ "InvalidArchive", TPMCTL_EXIT_ARCHIVE },
	{ "org.freedesktop.DBus.Error.ServiceUnknown", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.NameHasNoOwner", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.NoReply", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.Timeout", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.Disconnected", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.NoServer", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.UnknownMethod", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.UnknownObject", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.UnknownInterface", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.Spawn.ChildExited", TPMCTL_EXIT_UNAVAILABLE },
	{ "org.freedesktop.DBus.Error.Spawn.ExecFailed", TPMCTL_EXIT_UNAVAILABLE },
};

int
tpmctl_connect(Tpmctl *ctl)
{
	g_autoptr(GError) error = NULL;

	/* honours DBUS_SYSTEM_BUS_ADDRESS, which the tests point at a private bus */
	ctl->bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
	if (!ctl->bus) {
		tpmctl_fail(ctl, TPMCTL_EXIT_UNAVAILABLE, "tpmctl.Unavailable",
			    "cannot connect to the system bus: %s", error->message);
		return TPMCTL_EXIT_UNAVAILABLE;
	}
	return TPMCTL_EXIT_OK;
}

const char *
tpmctl_error_name(const GError *error)
{
	/* remote errors keep their name in the message: "GDBus.Error:NAME: text" */
	static char name[256];
	g_autofree char *remote = NULL;

	if (!error || !g_dbus_error_is_remote_error(error))
		return NULL;
	remote = g_dbus_error_get_remote_error(error);
	if (!remote)
		return NULL;
	g_strlcpy(name, remote, sizeof(name));
	return g_str_has_prefix(name, ERROR_PREFIX) ? name + strlen(ERROR_PREFIX) : name;
}

bool
tpmctl_error_is(const GError *error, const char *short_name)
{
	const char *name = tpmctl_error_name(error);

	return name && strcmp(name, short_name) == 0;
}

int
tpmctl_exit_for_error(const GError *error)
{
	const char *name = tpmctl_error_name(error);

	if (!name) {
		/* local GDBus errors: no bus, timeouts, a vanished peer */
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
		    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
		    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
		    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
		    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
		    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
		    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED))
			return TPMCTL_EXIT_UNAVAILABLE;
		if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
			return TPMCTL_EXIT_DENIED;
		return TPMCTL_EXIT_FAILURE;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(error_codes); i++)
		if (strcmp(error_codes[i].name, name) == 0)
			return error_codes[i].code;
	return TPMCTL_EXIT_FAILURE;
}

int
tpmctl_report_error(Tpmctl *ctl, const char *what, const GError *error)
{
	g_autoptr(GError) copy = g_error_copy(error);
	g_autofree char *remote = g_dbus_error_is_remote_error(error) ?
				  g_dbus_error_get_remote_error(error) : NULL;
	int code = tpmctl_exit_for_error(error);
	const char *hint = NULL;

	g_dbus_error_strip_remote_error(copy);
	if (code == TPMCTL_EXIT_UNAVAILABLE)
		hint = "is tcsd running with its D-Bus service enabled?";
	else if (code == TPMCTL_EXIT_DENIED)
		hint = "polkit did not authorise this; run as root or as an administrator";
	if (hint)
		tpmctl_fail(ctl, code, remote ? remote : "tpmctl.Error", "%s: %s (%s)", what,
			    copy->message, hint);
	else
		tpmctl_fail(ctl, code, remote ? remote : "tpmctl.Error", "%s: %s", what, copy->message);
	return code;
}

int
tpmctl_call(Tpmctl *ctl, const char *method, GVariant *params, const GVariantType *reply_type,
	    GUnixFDList *fds, int timeout_ms, bool owner_method, GVariant **reply, GError **error)
{
	GDBusCallFlags flags = G_DBUS_CALL_FLAGS_NONE;
	GVariant *r;

	if (owner_method && ctl->ask_password) {
		flags |= G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
		tpmctl_agent_start(ctl);
	}
	r = g_dbus_connection_call_with_unix_fd_list_sync(ctl->bus, MANAGER_NAME, MANAGER_PATH,
							  MANAGER_IFACE, method, params, reply_type,
							  flags, timeout_ms, fds, NULL, NULL, error);
	if (!r)
		return tpmctl_exit_for_error(*error);
	if (reply)
		*reply = r;
	else
		g_variant_unref(r);
	return TPMCTL_EXIT_OK;
}

int
tpmctl_get_properties(Tpmctl *ctl, GVariant **props)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) r = NULL;

	r = g_dbus_connection_call_sync(ctl->bus, MANAGER_NAME, MANAGER_PATH,
					"org.freedesktop.DBus.Properties", "GetAll",
					g_variant_new("(s)", MANAGER_IFACE), G_VARIANT_TYPE("(a{sv})"),
					G_DBUS_CALL_FLAGS_NONE, TPMCTL_TIMEOUT_SHORT_MS, NULL, &error);
	if (!r)
		return tpmctl_report_error(ctl, "cannot read the TPM status", error);
	g_variant_get(r, "(@a{sv})", props);
	return TPMCTL_EXIT_OK;
}

bool
tpmctl_property_bool(GVariant *props, const char *name)
{
	gboolean b = FALSE;

	return props && g_variant_lookup(props, name, "b", &b) && b;
}

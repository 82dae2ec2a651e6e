/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Authorisation of org.tcs.Manager callers: root always (like root's tpmadm),
 * anyone else as polkit decides. Without a polkit authority the answer is
 * no: the daemon fails closed. Every check is bounded: a check polkit does
 * not answer in time (a password prompt nobody answers) is cancelled and fails.
 */
#include "config.h"

#include "tcsd-manager-private.h"

typedef struct {
	GDBusConnection *bus;
	char *sender;
	char *action;
	gboolean interactive;
	guint timeout_ms;
	char *cancellation_id;
} Check;

static void
check_free(Check *c)
{
	g_object_unref(c->bus);
	g_free(c->sender);
	g_free(c->action);
	g_free(c->cancellation_id);
	g_free(c);
}

static void
on_authorization(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(GTask) task = data;
	Check *c = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res,
								  &error);
	gboolean authorized = FALSE, challenge = FALSE;

	if (!reply && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
		/* withdraw the prompt: nobody may answer it after the caller was refused */
		g_dbus_connection_call(c->bus, "org.freedesktop.PolicyKit1",
				       "/org/freedesktop/PolicyKit1/Authority",
				       "org.freedesktop.PolicyKit1.Authority",
				       "CancelCheckAuthorization",
				       g_variant_new("(s)", c->cancellation_id), NULL,
				       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL, NULL);
		g_message("polkit did not answer within %u ms: %s refused", c->timeout_ms,
			  c->action);
		g_task_return_new_error(task, TCSD_MANAGER_ERROR,
					TCSD_MANAGER_ERROR_PERMISSION_DENIED,
					"not authorised: polkit did not answer within %u s",
					(c->timeout_ms + 999) / 1000);
		return;
	}
	if (!reply) {
		g_message("polkit is not available (%s): only root may %s", error->message,
			  c->action);
		g_task_return_new_error(task, TCSD_MANAGER_ERROR,
					TCSD_MANAGER_ERROR_PERMISSION_DENIED,
					"not authorised: polkit is not available, only root may "
					"do this");
		return;
	}
	g_variant_get(reply, "((bb@a{ss}))", &authorized, &challenge, NULL);
	if (authorized) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	g_task_return_new_error(task, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_PERMISSION_DENIED,
				"not authorised by polkit (%s)%s", c->action,
				challenge ? "; authentication is required" : "");
}

static void
on_uid(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(GTask) task = data;
	Check *c = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res,
								  &error);
	GVariantBuilder subject, details;
	guint32 uid;

	if (!reply) {
		g_task_return_new_error(task, TCSD_MANAGER_ERROR,
					TCSD_MANAGER_ERROR_PERMISSION_DENIED,
					"cannot identify the caller: %s", error->message);
		return;
	}
	g_variant_get(reply, "(u)", &uid);
	if (uid == 0) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	g_variant_builder_init(&subject, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&subject, "{sv}", "name", g_variant_new_string(c->sender));
	g_variant_builder_init(&details, G_VARIANT_TYPE("a{ss}"));
	g_dbus_connection_call(c->bus, "org.freedesktop.PolicyKit1",
			       "/org/freedesktop/PolicyKit1/Authority",
			       "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
			       g_variant_new("((sa{sv})sa{ss}us)", "system-bus-name", &subject,
					     c->action, &details, c->interactive ? 1u : 0u,
					     c->cancellation_id),
			       G_VARIANT_TYPE("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE,
			       (int)c->timeout_ms, NULL, on_authorization, g_steal_pointer(&task));
}

void
tcsd_polkit_check_async(GDBusConnection *bus, GDBusMethodInvocation *inv, const char *action,
			guint timeout_ms, GAsyncReadyCallback cb, gpointer data)
{
	static guint serial;
	GTask *task = g_task_new(NULL, NULL, cb, data);
	Check *c = g_new0(Check, 1);
	GDBusMessage *msg = g_dbus_method_invocation_get_message(inv);

	c->bus = g_object_ref(bus);
	c->sender = g_strdup(g_dbus_method_invocation_get_sender(inv));
	c->action = g_strdup(action);
	c->interactive = (g_dbus_message_get_flags(msg) &
			  G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION) != 0;
	/* an interactive check waits for the user's password, up to the bound */
	c->timeout_ms = c->interactive ? timeout_ms : MIN(timeout_ms, 25000u);
	c->cancellation_id = g_strdup_printf("tcsd-%u", ++serial);
	g_task_set_task_data(task, c, (GDestroyNotify)check_free);
	g_dbus_connection_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetConnectionUnixUser",
			       g_variant_new("(s)", c->sender), G_VARIANT_TYPE("(u)"),
			       G_DBUS_CALL_FLAGS_NONE, 10000, NULL, on_uid, task);
}

gboolean
tcsd_polkit_check_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shared main of tpmctl, tpmadm and tpmlist: parse, connect, run one command. */
#include "config.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tcs-passphrase.h"
#include "tpmctl.h"

typedef struct {
	const char *name;
	int (*run)(Tpmctl *ctl, TpmctlRequest *req);
	bool tpmlist; /* also a tpmlist subcommand (all are tpmadm and tpmctl commands) */
} Command;

static const Command commands[] = {
	{ "status", tpmctl_cmd_status, true },
	{ "keys", tpmctl_cmd_keys, true },
	{ "keyinfo", tpmctl_cmd_keyinfo, true },
	{ "takeownership", tpmctl_cmd_takeownership, false },
	{ "changepwd", tpmctl_cmd_changepwd, false },
	{ "forgetpwd", tpmctl_cmd_forgetpwd, false },
	{ "bind", tpmctl_cmd_bind, false },
	{ "clear", tpmctl_cmd_clear, false },
	{ "enable", tpmctl_cmd_set_enabled, false },
	{ "disable", tpmctl_cmd_set_enabled, false },
	{ "activate", tpmctl_cmd_set_activated, false },
	{ "deactivate", tpmctl_cmd_set_activated, false },
	{ "addkey", tpmctl_cmd_addkey, false },
	{ "deletekeys", tpmctl_cmd_deletekeys, false },
	{ "backup", tpmctl_cmd_backup, false },
	{ "restore", tpmctl_cmd_restore, false },
};

void
tpmctl_error(const Tpmctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", ctl->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
tpmctl_fail(Tpmctl *ctl, int code, const char *name, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	tpmctl_error(ctl, "%s", msg);
	if (ctl->json) {
		json_object *doc = json_object_new_object();
		json_object *err = json_object_new_object();

		json_object_object_add(err, "name", json_object_new_string(name));
		json_object_object_add(err, "message", json_object_new_string(msg));
		json_object_object_add(err, "exit-code", json_object_new_int(code));
		json_object_object_add(doc, "error", err);
		tpmctl_json_print(doc);
	}
	return code;
}

void
tpmctl_say(const Tpmctl *ctl, const char *fmt, ...)
{
	va_list ap;

	FILE *out = ctl->stdout_is_data ? stderr : stdout;

	if (ctl->json)
		return;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fflush(out);
}

static void
wipe_string(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		g_free(*s);
		*s = NULL;
	}
}

void
tpmctl_request_clear(TpmctlRequest *req)
{
	g_free(req->command);
	g_free(req->key);
	g_free(req->file);
	g_free(req->ancestor);
	g_free(req->parent);
	g_free(req->algorithm);
	g_free(req->usage);
	if (req->uuids)
		g_ptr_array_unref(req->uuids);
	wipe_string(&req->passwd);
	wipe_string(&req->new_passwd);
	wipe_string(&req->owner_hex);
	wipe_string(&req->srk_passwd);
	wipe_string(&req->secret);
	memset(req, 0, sizeof(*req));
}

static const Command *
find_command(TpmctlFront front, const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		if (front == TPMCTL_FRONT_TPMLIST && !commands[i].tpmlist)
			return NULL;
		if (front == TPMCTL_FRONT_TPMADM && commands[i].tpmlist &&
		    strcmp(name, "status") != 0)
			return NULL;
		return &commands[i];
	}
	return NULL;
}

int
tpmctl_main(TpmctlFront front, int argc, char **argv)
{
	Tpmctl ctl = {
		.front = front,
		.ask_password = true,
		.interactive = isatty(STDIN_FILENO),
	};
	TpmctlRequest req = { 0 };
	const Command *cmd;
	int rc;

	setlocale(LC_ALL, "");
	ctl.prog = front == TPMCTL_FRONT_TPMADM ? "tpmadm" :
		   front == TPMCTL_FRONT_TPMLIST ? "tpmlist" : "tpmctl";

	rc = front == TPMCTL_FRONT_TPMCTL ? tpmctl_parse_args(&ctl, argc, argv, &req)
					  : tpmctl_parse_keywords(&ctl, argc, argv, &req);
	if (rc != TPMCTL_EXIT_OK || !req.command) {
		if (rc != TPMCTL_EXIT_OK && ctl.json)
			tpmctl_fail(&ctl, rc, "tpmctl.Usage", "invalid command line (see tpmctl --help)");
		tpmctl_request_clear(&req);
		return rc;
	}
	cmd = find_command(front, req.command);
	if (!cmd) {
		tpmctl_fail(&ctl, TPMCTL_EXIT_USAGE, "tpmctl.Usage", "unknown command '%s'", req.command);
		if (front == TPMCTL_FRONT_TPMCTL)
			tpmctl_usage(stderr);
		else
			tpmctl_keyword_usage(front, stderr);
		tpmctl_request_clear(&req);
		return TPMCTL_EXIT_USAGE;
	}
	rc = tpmctl_connect(&ctl);
	if (rc == TPMCTL_EXIT_OK)
		rc = cmd->run(&ctl, &req);
	tpmctl_agent_stop(&ctl);
	g_clear_object(&ctl.bus);
	tpmctl_request_clear(&req);
	return rc;
}

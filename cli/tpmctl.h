/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tpmctl, tpmadm and tpmlist: D-Bus clients of org.tcs.Manager
 * (dbus/org.tcs.Manager.xml). One request structure is filled either from
 * tpmctl's options (tpmctl-args.c) or from the TCS keyword syntax of tpmadm
 * and tpmlist (tpmctl-keyword.c), then run by the command functions
 * (tpmctl-cmd-*.c), which print the TCS guide's output or one JSON document.
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit codes, documented in tpmctl(1); D-Bus errors map onto them in tpmctl-bus.c. */
typedef enum {
	TPMCTL_EXIT_OK = 0,
	TPMCTL_EXIT_FAILURE = 1,     /* TPM, I/O or internal error */
	TPMCTL_EXIT_USAGE = 2,       /* bad command line or argument (org.tcs.Error.InvalidArgs) */
	TPMCTL_EXIT_DENIED = 3,      /* polkit or the bus refused */
	TPMCTL_EXIT_NOT_FOUND = 4,   /* no such key or file */
	TPMCTL_EXIT_AUTH = 5,        /* wrong or missing owner secret or archive secret */
	TPMCTL_EXIT_STATE = 6,       /* the TPM is not in a state that allows it */
	TPMCTL_EXIT_EXISTS = 7,      /* the key exists / has descendants: confirm or ask for more */
	TPMCTL_EXIT_BUSY = 8,        /* another owner operation, or the TPM's lockout */
	TPMCTL_EXIT_ARCHIVE = 9,     /* not a key archive, or damaged */
	TPMCTL_EXIT_UNAVAILABLE = 10,/* tcsd or the bus is not reachable */
	TPMCTL_EXIT_DECLINED = 11,   /* not confirmed */
} TpmctlExit;

typedef enum {
	TPMCTL_FRONT_TPMCTL,
	TPMCTL_FRONT_TPMADM,
	TPMCTL_FRONT_TPMLIST,
} TpmctlFront;

/* How a new owner secret is chosen (takeownership, changepwd). */
typedef enum {
	TPMCTL_NEW_SECRET_DEFAULT,    /* option, else environment, else the command's default */
	TPMCTL_NEW_SECRET_RANDOM,     /* tcsd generates 20 random bytes and stores them */
	TPMCTL_NEW_SECRET_ASK,        /* prompt twice on the terminal */
	TPMCTL_NEW_SECRET_WELL_KNOWN, /* the TSS well-known secret (tpm_takeownership -y) */
} TpmctlNewSecret;

typedef struct {
	char *command;         /* canonical name: status, keys, keyinfo, takeownership, ... */
	char *key;             /* keyinfo KEY, addkey rk|sk, changepwd key=tpm */
	char *file;            /* backup / restore */
	/* ListKeys / DeleteKeys criteria */
	char *ancestor, *parent, *algorithm, *usage;
	GPtrArray *uuids;      /* char*, NULL when not given */
	/* flags */
	bool replace, yes, descendants, dry_run, store, no_store, no_storage_keys, overwrite;
	bool owner_well_known; /* the current owner secret is the well-known one */
	TpmctlNewSecret new_owner;
	/* secrets given on the command line: visible in ps, documented as such */
	char *passwd, *new_passwd, *secret;
	char *owner_hex;  /* the current owner secret as 40 hex digits (sha1 mode) */
	char *srk_passwd; /* the SRK password; TPM_SRK_PASSWD; default well-known */
	bool srk_ask;     /* prompt for the SRK password */
} TpmctlRequest;

typedef struct {
	TpmctlFront front;
	const char *prog;
	bool json;
	bool ask_password;     /* prompts and polkit's interactive authorisation allowed */
	bool interactive;      /* stdin is a terminal */
	bool stdout_is_data;   /* an archive goes to stdout: messages go to stderr */
	GDBusConnection *bus;
	GPid agent_pid;        /* pkttyagent, 0 when none */
	bool agent_tried;
} Tpmctl;

/* tpmctl-main.c */
int tpmctl_main(TpmctlFront front, int argc, char **argv);
void tpmctl_request_clear(TpmctlRequest *req);
/* Print "PROG: message" to stderr. */
void tpmctl_error(const Tpmctl *ctl, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Report a failure: the message on stderr and, with --json, the document
 * {"error": {"name": NAME, "message": ..., "exit-code": CODE}}. Returns code. */
int tpmctl_fail(Tpmctl *ctl, int code, const char *name, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* tpmctl-args.c: tpmctl's own options. Returns TPMCTL_EXIT_OK or USAGE. */
int tpmctl_parse_args(Tpmctl *ctl, int argc, char **argv, TpmctlRequest *req);
void tpmctl_usage(FILE *out);
/* tpmctl-keyword.c: tpmadm/tpmlist SUBCOMMAND keyword=value ... */
int tpmctl_parse_keywords(Tpmctl *ctl, int argc, char **argv, TpmctlRequest *req);
void tpmctl_keyword_usage(TpmctlFront front, FILE *out);
/* One CRITERION keyword=value (ancestoruuid, parentuuid, alg, usage, uuid) into req. */
int tpmctl_keyword_criterion(Tpmctl *ctl, TpmctlRequest *req, const char *arg);

/* tpmctl-bus.c */
int tpmctl_connect(Tpmctl *ctl);
/* Call a method of org.tcs.Manager; on error prints it and returns the exit code. */
int tpmctl_call(Tpmctl *ctl, const char *method, GVariant *params, const GVariantType *reply_type,
		GUnixFDList *fds, int timeout_ms, bool owner_method, GVariant **reply, GError **error);
/* All properties as a{sv}. */
int tpmctl_get_properties(Tpmctl *ctl, GVariant **props);
bool tpmctl_property_bool(GVariant *props, const char *name);
int tpmctl_exit_for_error(const GError *error);
/* Report a call's error (stderr, and the JSON error document) and return its exit code. */
int tpmctl_report_error(Tpmctl *ctl, const char *what, const GError *error);
/* The D-Bus error name without the org.tcs.Error. prefix, or NULL. */
const char *tpmctl_error_name(const GError *error);
bool tpmctl_error_is(const GError *error, const char *short_name);

/* tpmctl-secret.c: secrets as the "ay" values the API wants. */
/* The current owner secret: passwd=, TPM_PASSWD, the stored one, a prompt. *mode is
 * "plain", "well-known" or NULL (no option). */
int tpmctl_owner_secret(Tpmctl *ctl, const TpmctlRequest *req, GVariant *props,
			GVariant **secret, const char **mode);
/* A new owner secret (takeownership / changepwd); *secret is empty for "random". */
int tpmctl_new_owner_secret(Tpmctl *ctl, const TpmctlRequest *req, bool default_random,
			    GVariant **secret, const char **mode, bool *random);
/* The archive secret: secret=, TCS_PASS, a prompt (asked twice when confirm). */
int tpmctl_archive_secret(Tpmctl *ctl, const TpmctlRequest *req, const char *prompt,
			  GVariant **secret);
/* An empty "ay". */
GVariant *tpmctl_secret_empty(void);
/* The SRK secret: --srk-passwd= (srkpasswd=), TPM_SRK_PASSWD, a prompt when srk_ask
 * (after the TPM refused the well-known one), else empty (the well-known secret). */
int tpmctl_srk_secret(Tpmctl *ctl, const TpmctlRequest *req, GVariant **secret, const char **mode);
/* The options srk-secret and srk-secret-mode when an SRK secret was given. */
int tpmctl_add_srk_secret(Tpmctl *ctl, const TpmctlRequest *req, GVariantBuilder *opts);
/* Whether there is a controlling terminal to ask on. */
bool tpmctl_have_terminal(void);
/* tpmctl-cmd-archive.c: an empty 0600 file with a random name in the temporary directory. */
int tpmctl_create_safety_copy(char **path);

/* tpmctl-confirm.c: "(y|n): " questions. */
/* Returns OK when confirmed, DECLINED when not or when nobody can be asked. */
int tpmctl_confirm(Tpmctl *ctl, const TpmctlRequest *req, const char *question);

/* tpmctl-output.c */
void tpmctl_print_key_block(const char *uuid, const char *parent);
void tpmctl_print_keyinfo(GVariant *info);
void tpmctl_print_status(Tpmctl *ctl, GVariant *props);
/* a{sv} (or any variant) as JSON: b bool, integers, s string, as array, ay hex. */
json_object *tpmctl_variant_to_json(GVariant *v);
/* Print one document on stdout and take ownership of it. */
void tpmctl_json_print(json_object *doc);
bool tpmctl_is_fixed_key(const char *uuid);
/* Print progress lines only in human mode. */
void tpmctl_say(const Tpmctl *ctl, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* tpmctl-polkit-agent.c */
void tpmctl_agent_start(Tpmctl *ctl);
void tpmctl_agent_stop(Tpmctl *ctl);

/* the commands, tpmctl-cmd-*.c */
int tpmctl_cmd_status(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_keys(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_keyinfo(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_takeownership(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_changepwd(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_forgetpwd(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_bind(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_clear(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_set_enabled(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_set_activated(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_addkey(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_deletekeys(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_backup(Tpmctl *ctl, TpmctlRequest *req);
int tpmctl_cmd_restore(Tpmctl *ctl, TpmctlRequest *req);

/* ListKeys/DeleteKeys criteria from the request; NULL-free a{sv}. */
GVariant *tpmctl_criteria(const TpmctlRequest *req);
bool tpmctl_has_criteria(const TpmctlRequest *req);

#define TPMCTL_TIMEOUT_SHORT_MS (30 * 1000)
#define TPMCTL_TIMEOUT_LONG_MS (120 * 1000)

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tpmctl's command line: global options, COMMAND, its options and arguments. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tpmctl.h"

enum {
	OPT_JSON = 0x100, OPT_NO_ASK, OPT_HELP, OPT_VERSION,
	OPT_ANCESTOR, OPT_PARENT, OPT_ALG, OPT_USAGE, OPT_UUID,
	OPT_OWNER_RANDOM, OPT_OWNER_ASK, OPT_OWNER_WELL_KNOWN, OPT_NO_STORAGE_KEYS, OPT_NO_STORE,
	OPT_STORE, OPT_NEW_RANDOM, OPT_NEW_ASK,
	OPT_REPLACE, OPT_YES, OPT_DESCENDANTS, OPT_DRY_RUN, OPT_OVERWRITE,
	OPT_PASSWD, OPT_NEW_PASSWD, OPT_SECRET, OPT_CUR_WELL_KNOWN, OPT_OWNER_HEX, OPT_SRK_PASSWD,
	OPT_LAST,
};

static const struct option options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "no-ask-password", no_argument, NULL, OPT_NO_ASK },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "ancestor", required_argument, NULL, OPT_ANCESTOR },
	{ "parent", required_argument, NULL, OPT_PARENT },
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "usage", required_argument, NULL, OPT_USAGE },
	{ "uuid", required_argument, NULL, OPT_UUID },
	{ "owner-secret-random", no_argument, NULL, OPT_OWNER_RANDOM },
	{ "owner-secret-ask", no_argument, NULL, OPT_OWNER_ASK },
	{ "owner-secret-well-known", no_argument, NULL, OPT_OWNER_WELL_KNOWN },
	{ "no-storage-keys", no_argument, NULL, OPT_NO_STORAGE_KEYS },
	{ "no-store", no_argument, NULL, OPT_NO_STORE },
	{ "store", no_argument, NULL, OPT_STORE },
	{ "new-secret-random", no_argument, NULL, OPT_NEW_RANDOM },
	{ "new-secret-ask", no_argument, NULL, OPT_NEW_ASK },
	{ "replace", no_argument, NULL, OPT_REPLACE },
	{ "yes", no_argument, NULL, OPT_YES },
	{ "descendants", no_argument, NULL, OPT_DESCENDANTS },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
	{ "passwd", required_argument, NULL, OPT_PASSWD },
	{ "new-passwd", required_argument, NULL, OPT_NEW_PASSWD },
	{ "secret", required_argument, NULL, OPT_SECRET },
	{ "well-known-owner", no_argument, NULL, OPT_CUR_WELL_KNOWN },
	{ "owner-secret-hex", required_argument, NULL, OPT_OWNER_HEX },
	{ "srk-passwd", required_argument, NULL, OPT_SRK_PASSWD },
	{ 0 },
};

#define BIT(o) (1ull << ((o) - OPT_ANCESTOR))
#define CRITERIA (BIT(OPT_ANCESTOR) | BIT(OPT_PARENT) | BIT(OPT_ALG) | BIT(OPT_USAGE) | BIT(OPT_UUID))
#define OWNER (BIT(OPT_PASSWD) | BIT(OPT_CUR_WELL_KNOWN) | BIT(OPT_OWNER_HEX))
#define SRK BIT(OPT_SRK_PASSWD)

/* Which command takes which option, and how many arguments. */
static const struct {
	const char *name;
	unsigned long long opts;
	int min_args, max_args; /* max -1: any number of CRITERIA (keyword=value) */
} rules[] = {
	{ "status", 0, 0, 0 },
	{ "keys", CRITERIA, 0, -1 },
	{ "keyinfo", 0, 1, 1 },
	{ "takeownership", BIT(OPT_OWNER_RANDOM) | BIT(OPT_OWNER_ASK) | BIT(OPT_OWNER_WELL_KNOWN) |
		BIT(OPT_NO_STORAGE_KEYS) | BIT(OPT_NO_STORE) | BIT(OPT_PASSWD), 0, 0 },
	{ "changepwd", OWNER | BIT(OPT_STORE) | BIT(OPT_NEW_RANDOM) | BIT(OPT_NEW_ASK) |
		BIT(OPT_NEW_PASSWD), 0, 0 },
	{ "forgetpwd", 0, 0, 0 },
	{ "bind", 0, 0, 0 },
	{ "clear", OWNER | BIT(OPT_YES), 0, 0 },
	{ "enable", OWNER, 0, 0 },
	{ "disable", OWNER, 0, 0 },
	{ "activate", 0, 0, 0 },
	{ "deactivate", 0, 0, 0 },
	{ "addkey", OWNER | SRK | BIT(OPT_SECRET) | BIT(OPT_REPLACE) | BIT(OPT_YES), 1, 1 },
	{ "deletekeys", CRITERIA | BIT(OPT_DESCENDANTS) | BIT(OPT_YES), 0, -1 },
	{ "backup", OWNER | SRK | BIT(OPT_SECRET) | BIT(OPT_OVERWRITE), 1, 1 },
	{ "restore", OWNER | SRK | BIT(OPT_SECRET) | BIT(OPT_YES) | BIT(OPT_DRY_RUN), 1, 1 },
};

void
tpmctl_usage(FILE *out)
{
	fputs("Usage: tpmctl [--json] [--no-ask-password] COMMAND [OPTION...] [ARG...]\n"
	      "\n"
	      "TPM 1.2 administration through tcsd (D-Bus service org.tcs.Manager).\n"
	      "Options may come before or after COMMAND.\n"
	      "\n"
	      "Commands:\n"
	      "  status                         TPM flags, versions, stored owner secret\n"
	      "  keys [CRITERIA...]             keys in system persistent storage\n"
	      "  keyinfo KEY                    details of one key (UUID, srk, sk or rk)\n"
	      "  takeownership [--owner-secret-random|--owner-secret-ask|--owner-secret-well-known]\n"
	      "                [--no-storage-keys] [--no-store]\n"
	      "  changepwd [--store] [--new-secret-random|--new-secret-ask]\n"
	      "  forgetpwd                      delete the owner secret tcsd stores\n"
	      "  bind                           bind the embedded TPM's state to the TPM 2.0\n"
	      "  clear [--yes]                  remove the owner (every key becomes unusable)\n"
	      "  enable | disable | activate | deactivate\n"
	      "  addkey rk|sk [--replace|--yes] create the roaming or system-specific key\n"
	      "  deletekeys CRITERIA... [--descendants] [--yes]\n"
	      "  backup FILE [--overwrite]      write a key archive of the RK and its descendants\n"
	      "  restore FILE [--yes] [--dry-run]\n"
	      "\n"
	      "CRITERIA: --ancestor KEY, --parent KEY, --alg ALG, --usage USAGE, --uuid KEY,\n"
	      "  or the tpmlist keywords ancestoruuid=KEY parentuuid=KEY alg=ALG usage=USAGE uuid=KEY.\n"
	      "\n"
	      "Secrets: the owner password comes from --passwd=, else TPM_PASSWD, else the one\n"
	      "tcsd stores, else a prompt; the archive secret from --secret=, else TCS_PASS, else\n"
	      "a prompt; a new owner password from --new-passwd=, else TPM_NEW_PASSWD, else a\n"
	      "prompt. Values given as options are visible to other users in ps(1).\n"
	      "  --well-known-owner             the owner secret is the TSS well-known secret\n"
	      "  --owner-secret-hex=HEX         the owner secret as its 20 bytes in hex (as\n"
	      "                                 takeownership prints one it could not store)\n"
	      "  --srk-passwd=PASSWORD          the SRK password (addkey, backup, restore), else\n"
	      "                                 TPM_SRK_PASSWD, else the well-known secret\n"
	      "\n"
	      "  --json                         print one JSON document\n"
	      "  --no-ask-password              never prompt, not even through polkit\n"
	      "  -h, --help, --version\n"
	      "\n"
	      "Exit status: 0 ok, 1 failure, 2 usage, 3 permission denied, 4 not found,\n"
	      "5 authentication failed, 6 TPM state, 7 exists, 8 busy, 9 invalid archive,\n"
	      "10 tcsd unavailable, 11 not confirmed. See tpmctl(1).\n", out);
}

static void
set_string(char **dst, const char *value)
{
	if (*dst) {
		explicit_bzero(*dst, strlen(*dst));
		g_free(*dst);
	}
	*dst = g_strdup(value);
}

/* Copy a secret given as an option and blank it in argv, which ps(1) shows
 * (/proc/PID/cmdline): it was visible until now, but not for the whole run. */
static void
take_secret(char **dst, char *arg)
{
	set_string(dst, arg);
	memset(arg, '*', strlen(arg));
}

/* -1: not one of the request's options */
static int
apply_option(TpmctlRequest *req, int c, char *arg)
{
	switch (c) {
	case OPT_ANCESTOR: set_string(&req->ancestor, arg); break;
	case OPT_PARENT: set_string(&req->parent, arg); break;
	case OPT_ALG: set_string(&req->algorithm, arg); break;
	case OPT_USAGE: set_string(&req->usage, arg); break;
	case OPT_UUID:
		if (!req->uuids)
			req->uuids = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(req->uuids, g_strdup(arg));
		break;
	case OPT_OWNER_RANDOM:
	case OPT_NEW_RANDOM: req->new_owner = TPMCTL_NEW_SECRET_RANDOM; break;
	case OPT_OWNER_ASK:
	case OPT_NEW_ASK: req->new_owner = TPMCTL_NEW_SECRET_ASK; break;
	case OPT_OWNER_WELL_KNOWN: req->new_owner = TPMCTL_NEW_SECRET_WELL_KNOWN; break;
	case OPT_NO_STORAGE_KEYS: req->no_storage_keys = true; break;
	case OPT_NO_STORE: req->no_store = true; break;
	case OPT_STORE: req->store = true; break;
	case OPT_REPLACE: req->replace = true; break;
	case OPT_YES: req->yes = true; break;
	case OPT_DESCENDANTS: req->descendants = true; break;
	case OPT_DRY_RUN: req->dry_run = true; break;
	case OPT_OVERWRITE: req->overwrite = true; break;
	case OPT_CUR_WELL_KNOWN: req->owner_well_known = true; break;
	case OPT_PASSWD: take_secret(&req->passwd, arg); break;
	case OPT_NEW_PASSWD: take_secret(&req->new_passwd, arg); break;
	case OPT_SECRET: take_secret(&req->secret, arg); break;
	case OPT_OWNER_HEX: take_secret(&req->owner_hex, arg); break;
	case OPT_SRK_PASSWD: take_secret(&req->srk_passwd, arg); break;
	default: return -1;
	}
	return 0;
}

int
tpmctl_parse_args(Tpmctl *ctl, int argc, char **argv, TpmctlRequest *req)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	unsigned long long seen = 0;
	const char *seen_name[OPT_LAST - OPT_ANCESTOR] = { 0 };
	int c, nargs;
	size_t r;

	/* options may come before or after COMMAND and its arguments */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-hy", options, NULL)) != -1) {
		if (c == 'y')
			c = OPT_YES;
		if (c >= OPT_ANCESTOR && c < OPT_LAST) {
			seen |= BIT(c);
			seen_name[c - OPT_ANCESTOR] = argv[optind - 1];
		}
		switch (c) {
		case 1:
			if (!req->command)
				req->command = g_strdup(optarg);
			else
				g_ptr_array_add(args, optarg);
			break;
		case OPT_JSON: ctl->json = true; break;
		case OPT_NO_ASK: ctl->ask_password = false; break;
		case 'h':
		case OPT_HELP:
			tpmctl_usage(stdout);
			g_clear_pointer(&req->command, g_free);
			return TPMCTL_EXIT_OK;
		case OPT_VERSION:
			printf("tpmctl %s\n", TCS_VERSION);
			g_clear_pointer(&req->command, g_free);
			return TPMCTL_EXIT_OK;
		default:
			if (apply_option(req, c, optarg) < 0) {
				tpmctl_error(ctl, "unknown option '%s'", argv[optind - 1]);
				return TPMCTL_EXIT_USAGE;
			}
		}
	}
	/* after "--": operands only */
	for (; optind < argc; optind++) {
		if (!req->command)
			req->command = g_strdup(argv[optind]);
		else
			g_ptr_array_add(args, argv[optind]);
	}
	if (!req->command) {
		tpmctl_usage(stderr);
		return TPMCTL_EXIT_USAGE;
	}
	for (r = 0; r < G_N_ELEMENTS(rules); r++)
		if (strcmp(rules[r].name, req->command) == 0)
			break;
	if (r == G_N_ELEMENTS(rules))
		return TPMCTL_EXIT_OK; /* tpmctl_main reports the unknown command */
	for (int o = OPT_ANCESTOR; o < OPT_LAST; o++) {
		if ((seen & BIT(o)) && !(rules[r].opts & BIT(o))) {
			tpmctl_error(ctl, "option '%s' does not apply to '%s'",
				     seen_name[o - OPT_ANCESTOR], req->command);
			return TPMCTL_EXIT_USAGE;
		}
	}
	nargs = (int)args->len;
	if (rules[r].max_args < 0) {
		/* keyword=value criteria, as tpmlist takes them */
		for (guint i = 0; i < args->len; i++) {
			int krc = tpmctl_keyword_criterion(ctl, req, g_ptr_array_index(args, i));

			if (krc != TPMCTL_EXIT_OK)
				return krc;
		}
	} else if (nargs < rules[r].min_args || nargs > rules[r].max_args) {
		tpmctl_error(ctl, "'%s' takes %s", req->command,
			     rules[r].max_args == 0 ? "no arguments" : "one argument");
		return TPMCTL_EXIT_USAGE;
	} else if (nargs == 1) {
		if (strcmp(req->command, "backup") == 0 || strcmp(req->command, "restore") == 0)
			req->file = g_strdup(g_ptr_array_index(args, 0));
		else
			req->key = g_strdup(g_ptr_array_index(args, 0));
	}
	if (req->replace && strcmp(req->command, "addkey") == 0)
		req->yes = true;
	return TPMCTL_EXIT_OK;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TCS syntax of tpmadm and tpmlist: "SUBCOMMAND keyword=value ... bare",
 * as the HP-UX TCS guide shows it (tpmadm backup filename=F, tpmlist keys
 * ancestoruuid=rk, tpmadm changepwd key=tpm storeentry).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tpmctl.h"

/* Keywords (with '=') and bare words each subcommand accepts. */
static const struct {
	const char *name;
	const char *words; /* space separated; "k=" takes a value */
} grammar[] = {
	{ "status", "passwd=" },
	{ "keys", "ancestoruuid= parentuuid= alg= usage= uuid=" },
	{ "keyinfo", "uuid=" },
	{ "takeownership", "passwd= random ask wellknown nostore nostoragekeys" },
	{ "changepwd", "key= passwd= newpasswd= storeentry random ask wellknownowner" },
	{ "forgetpwd", "" },
	{ "bind", "" },
	{ "clear", "passwd= yes wellknownowner" },
	{ "enable", "passwd= wellknownowner" },
	{ "disable", "passwd= wellknownowner" },
	{ "activate", "" },
	{ "deactivate", "" },
	{ "addkey", "key= yes passwd= secret= srkpasswd= wellknownowner" },
	{ "deletekeys", "ancestoruuid= parentuuid= alg= usage= uuid= descendants yes" },
	{ "backup", "filename= passwd= secret= srkpasswd= overwrite wellknownowner" },
	{ "restore", "filename= passwd= secret= srkpasswd= yes dryrun wellknownowner" },
};

void
tpmctl_keyword_usage(TpmctlFront front, FILE *out)
{
	if (front == TPMCTL_FRONT_TPMLIST) {
		fputs("Usage: tpmlist status\n"
		      "       tpmlist keys [ancestoruuid=KEY] [parentuuid=KEY] [alg=ALG] [usage=USAGE] [uuid=KEY]\n"
		      "       tpmlist keyinfo uuid=KEY\n"
		      "KEY is a UUID or srk, sk, rk. See tpmlist(1).\n", out);
		return;
	}
	fputs("Usage: tpmadm takeownership [passwd=PASSWORD|random|ask|wellknown] [nostore] [nostoragekeys]\n"
	      "       tpmadm changepwd key=tpm [storeentry] [passwd=OLD] [newpasswd=NEW|random|ask]\n"
	      "       tpmadm forgetpwd\n"
	      "       tpmadm bind\n"
	      "       tpmadm addkey key=rk|sk [yes] [secret=SECRET] [passwd=PASSWORD] [srkpasswd=PASSWORD]\n"
	      "       tpmadm deletekeys CRITERIA... [descendants] [yes]\n"
	      "       tpmadm backup filename=FILE [secret=SECRET] [passwd=PASSWORD] [srkpasswd=PASSWORD] [overwrite]\n"
	      "       tpmadm restore filename=FILE [secret=SECRET] [passwd=PASSWORD] [srkpasswd=PASSWORD] [yes] [dryrun]\n"
	      "       tpmadm clear [yes] | enable | disable | activate | deactivate | status\n"
	      "CRITERIA: ancestoruuid=KEY parentuuid=KEY alg=ALG usage=USAGE uuid=KEY.\n"
	      "passwd= and secret= are visible to other users in ps(1); TPM_PASSWD and TCS_PASS\n"
	      "are not. See tpmadm(8).\n", out);
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

int
tpmctl_keyword_criterion(Tpmctl *ctl, TpmctlRequest *req, const char *arg)
{
	const char *eq = strchr(arg, '=');
	g_autofree char *kw = NULL;
	const char *value;

	if (!eq || eq == arg || !eq[1]) {
		tpmctl_error(ctl, "'%s': expected keyword=value", arg);
		return TPMCTL_EXIT_USAGE;
	}
	kw = g_strndup(arg, (gsize)(eq - arg));
	value = eq + 1;
	if (strcmp(kw, "ancestoruuid") == 0 || strcmp(kw, "ancestor") == 0)
		set_string(&req->ancestor, value);
	else if (strcmp(kw, "parentuuid") == 0 || strcmp(kw, "parent") == 0)
		set_string(&req->parent, value);
	else if (strcmp(kw, "alg") == 0)
		set_string(&req->algorithm, value);
	else if (strcmp(kw, "usage") == 0)
		set_string(&req->usage, value);
	else if (strcmp(kw, "uuid") == 0) {
		if (!req->uuids)
			req->uuids = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(req->uuids, g_strdup(value));
	} else {
		tpmctl_error(ctl, "unknown criterion '%s'", kw);
		return TPMCTL_EXIT_USAGE;
	}
	return TPMCTL_EXIT_OK;
}

static bool
word_allowed(const char *words, const char *word, bool with_value)
{
	g_auto(GStrv) list = g_strsplit(words, " ", -1);
	g_autofree char *want = with_value ? g_strconcat(word, "=", NULL) : g_strdup(word);

	return g_strv_contains((const char *const *)list, want);
}

static int
apply_word(Tpmctl *ctl, TpmctlRequest *req, const char *kw, const char *value)
{
	const char *cmd = req->command;

	if (!value) {
		if (strcmp(kw, "storeentry") == 0)
			req->store = true;
		else if (strcmp(kw, "random") == 0)
			req->new_owner = TPMCTL_NEW_SECRET_RANDOM;
		else if (strcmp(kw, "ask") == 0)
			req->new_owner = TPMCTL_NEW_SECRET_ASK;
		else if (strcmp(kw, "wellknown") == 0)
			req->new_owner = TPMCTL_NEW_SECRET_WELL_KNOWN;
		else if (strcmp(kw, "wellknownowner") == 0)
			req->owner_well_known = true;
		else if (strcmp(kw, "nostore") == 0)
			req->no_store = true;
		else if (strcmp(kw, "nostoragekeys") == 0)
			req->no_storage_keys = true;
		else if (strcmp(kw, "yes") == 0)
			req->yes = true;
		else if (strcmp(kw, "descendants") == 0)
			req->descendants = true;
		else if (strcmp(kw, "overwrite") == 0)
			req->overwrite = true;
		else if (strcmp(kw, "dryrun") == 0)
			req->dry_run = true;
		return TPMCTL_EXIT_OK;
	}
	if (strcmp(kw, "passwd") == 0)
		set_string(&req->passwd, value);
	else if (strcmp(kw, "newpasswd") == 0)
		set_string(&req->new_passwd, value);
	else if (strcmp(kw, "secret") == 0)
		set_string(&req->secret, value);
	else if (strcmp(kw, "srkpasswd") == 0)
		set_string(&req->srk_passwd, value);
	else if (strcmp(kw, "filename") == 0)
		set_string(&req->file, value);
	else if (strcmp(kw, "key") == 0)
		set_string(&req->key, value);
	else if (strcmp(kw, "uuid") == 0 && strcmp(cmd, "keyinfo") == 0)
		set_string(&req->key, value);
	else {
		g_autofree char *arg = g_strconcat(kw, "=", value, NULL);
		return tpmctl_keyword_criterion(ctl, req, arg);
	}
	return TPMCTL_EXIT_OK;
}

int
tpmctl_parse_keywords(Tpmctl *ctl, int argc, char **argv, TpmctlRequest *req)
{
	size_t g;

	if (argc < 2) {
		tpmctl_keyword_usage(ctl->front, stderr);
		return TPMCTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		tpmctl_keyword_usage(ctl->front, stdout);
		return TPMCTL_EXIT_OK;
	}
	req->command = g_strdup(argv[1]);
	for (g = 0; g < G_N_ELEMENTS(grammar); g++)
		if (strcmp(grammar[g].name, req->command) == 0)
			break;
	if (g == G_N_ELEMENTS(grammar))
		return TPMCTL_EXIT_OK; /* tpmctl_main reports the unknown subcommand */

	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		g_autofree char *kw = eq ? g_strndup(arg, (gsize)(eq - arg)) : g_strdup(arg);
		int rc;

		if (!word_allowed(grammar[g].words, kw, eq != NULL)) {
			tpmctl_error(ctl, "'%s' is not an option of %s %s", arg, ctl->prog, req->command);
			tpmctl_keyword_usage(ctl->front, stderr);
			return TPMCTL_EXIT_USAGE;
		}
		if (eq && !eq[1]) {
			tpmctl_error(ctl, "'%s' needs a value", arg);
			return TPMCTL_EXIT_USAGE;
		}
		rc = apply_word(ctl, req, kw, eq ? eq + 1 : NULL);
		if (rc != TPMCTL_EXIT_OK)
			return rc;
		/* ps(1) showed passwd= and secret= until now; not for the whole run */
		if (eq && (strcmp(kw, "passwd") == 0 || strcmp(kw, "newpasswd") == 0 ||
			   strcmp(kw, "secret") == 0 || strcmp(kw, "srkpasswd") == 0))
			memset(argv[i] + (eq - arg) + 1, '*', strlen(eq + 1));
	}

	/* what each subcommand requires */
	if (strcmp(req->command, "keyinfo") == 0 && !req->key) {
		tpmctl_error(ctl, "keyinfo needs uuid=UUID (or srk, sk, rk)");
		return TPMCTL_EXIT_USAGE;
	}
	if ((strcmp(req->command, "backup") == 0 || strcmp(req->command, "restore") == 0) &&
	    !req->file) {
		tpmctl_error(ctl, "%s needs filename=FILE", req->command);
		return TPMCTL_EXIT_USAGE;
	}
	if (strcmp(req->command, "changepwd") == 0) {
		if (!req->key || strcmp(req->key, "tpm") != 0) {
			tpmctl_error(ctl, "changepwd supports key=tpm only");
			return TPMCTL_EXIT_USAGE;
		}
		g_clear_pointer(&req->key, g_free);
	}
	if (strcmp(req->command, "addkey") == 0) {
		if (!req->key) {
			tpmctl_error(ctl, "addkey needs key=rk or key=sk");
			return TPMCTL_EXIT_USAGE;
		}
	}
	return TPMCTL_EXIT_OK;
}

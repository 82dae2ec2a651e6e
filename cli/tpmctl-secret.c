/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Secrets, in the order the TCS guide gives: the command-line value, the
 * environment (TPM_PASSWD, TCS_PASS), for the owner password the one tcsd
 * stores (sent as an empty secret), and a prompt without echo last. They
 * travel as "ay" whose buffer is wiped when GLib drops the value; GDBus' own
 * copy in the serialised message is beyond our reach.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "tcs-passphrase.h"
#include "tcs-auth.h"
#include "tpmctl.h"

#define NEW_OWNER_PASSWORD_ENV "TPM_NEW_PASSWD"
#define SRK_PASSWORD_ENV "TPM_SRK_PASSWD"

GVariant *
tpmctl_secret_empty(void)
{
	return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, NULL, 0, 1);
}

/* Takes ownership of s (a tcs_passphrase string). */
static GVariant *
secret_variant(char *s)
{
	g_autoptr(GBytes) bytes = g_bytes_new_with_free_func(s, strlen(s),
							     (GDestroyNotify)tcs_passphrase_free, s);

	return g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

static void
free_authorisation(gpointer p)
{
	explicit_bzero(p, TCS_SECRET_SIZE);
	g_free(p);
}

/* A 20-byte authorisation value (sha1 mode) as "ay"; wiped when dropped. */
static GVariant *
authorisation_variant(const guint8 raw[TCS_SECRET_SIZE])
{
	gpointer copy = g_memdup2(raw, TCS_SECRET_SIZE);
	g_autoptr(GBytes) bytes =
		g_bytes_new_with_free_func(copy, TCS_SECRET_SIZE, free_authorisation, copy);

	return g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

static int
passphrase_failed(Tpmctl *ctl, const char *what, size_t max_len, int err)
{
	switch (err) {
	case -E2BIG:
		return tpmctl_fail(ctl, TPMCTL_EXIT_USAGE, "tpmctl.SecretTooLong",
				   "the %s is too long: at most %zu characters", what, max_len);
	case -EINVAL:
		return tpmctl_fail(ctl, TPMCTL_EXIT_USAGE, "tpmctl.SecretEmpty",
				   "the %s must not be empty", what);
	case -ENOTTY:
		return tpmctl_fail(ctl, TPMCTL_EXIT_AUTH, "tpmctl.NoSecret",
				   "no %s given and no terminal to ask for it", what);
	default:
		return tpmctl_fail(ctl, TPMCTL_EXIT_AUTH, "tpmctl.NoSecret", "%s: %s", what,
				   tcs_passphrase_strerror(err));
	}
}

static int
get_passphrase(Tpmctl *ctl, const char *what, const TcsPassphraseSource *src, char **ret)
{
	bool given = src->value || (src->env && getenv(src->env));
	int err;

	if (!given && !ctl->ask_password)
		return tpmctl_fail(ctl, TPMCTL_EXIT_AUTH, "tpmctl.NoSecret",
				   "no %s given%s%s, and --no-ask-password forbids asking", what,
				   src->env ? " in " : "", src->env ? src->env : "");
	err = tcs_passphrase_get(src, ret);
	if (err < 0)
		return passphrase_failed(ctl, what, src->max_len, err);
	return TPMCTL_EXIT_OK;
}

int
tpmctl_owner_secret(Tpmctl *ctl, const TpmctlRequest *req, GVariant *props,
		    GVariant **secret, const char **mode)
{
	const TcsPassphraseSource src = {
		.value = req->passwd,
		.env = TCS_OWNER_PASSWORD_ENV,
		.prompt = "Please enter TPM password: ",
		.max_len = TCS_OWNER_PASSWORD_MAX,
	};
	char *s = NULL;
	int rc;

	*mode = NULL;
	if (req->owner_hex) {
		guint8 raw[TCS_SECRET_SIZE];
		size_t n = strlen(req->owner_hex);

		for (size_t i = 0; i < sizeof(raw) && n == 2 * sizeof(raw); i++) {
			int hi = g_ascii_xdigit_value(req->owner_hex[2 * i]);
			int lo = g_ascii_xdigit_value(req->owner_hex[2 * i + 1]);

			if (hi < 0 || lo < 0)
				n = 0;
			raw[i] = (guint8)(hi << 4 | lo);
		}
		if (n != 2 * sizeof(raw)) {
			explicit_bzero(raw, sizeof(raw));
			return tpmctl_fail(ctl, TPMCTL_EXIT_USAGE, "tpmctl.Usage",
					   "--owner-secret-hex needs exactly 40 hex digits");
		}
		*mode = "sha1";
		*secret = authorisation_variant(raw);
		explicit_bzero(raw, sizeof(raw));
		return TPMCTL_EXIT_OK;
	}
	if (req->owner_well_known) {
		*mode = "well-known";
		*secret = tpmctl_secret_empty();
		return TPMCTL_EXIT_OK;
	}
	if (!req->passwd && !getenv(TCS_OWNER_PASSWORD_ENV) &&
	    tpmctl_property_bool(props, "OwnerSecretStored")) {
		*secret = tpmctl_secret_empty(); /* tcsd uses the stored one */
		return TPMCTL_EXIT_OK;
	}
	rc = get_passphrase(ctl, "TPM password", &src, &s);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	*mode = "plain";
	*secret = secret_variant(s);
	return TPMCTL_EXIT_OK;
}

int
tpmctl_new_owner_secret(Tpmctl *ctl, const TpmctlRequest *req, bool default_random,
			GVariant **secret, const char **mode, bool *random)
{
	/* takeownership's passwd= is the password being set; changepwd's is the old one */
	const char *value = default_random ? req->passwd : req->new_passwd;
	const char *env = default_random ? TCS_OWNER_PASSWORD_ENV : NEW_OWNER_PASSWORD_ENV;
	TcsPassphraseSource src = {
		.value = value,
		.env = env,
		.prompt = "Please enter the new TPM password (8 char max): ",
		.confirm = "Confirm password: ",
		.max_len = TCS_OWNER_PASSWORD_MAX,
	};
	char *s = NULL;
	int rc;

	*mode = NULL;
	*random = false;
	switch (req->new_owner) {
	case TPMCTL_NEW_SECRET_RANDOM:
		*random = true;
		*secret = tpmctl_secret_empty();
		return TPMCTL_EXIT_OK;
	case TPMCTL_NEW_SECRET_WELL_KNOWN:
		*mode = "well-known";
		*secret = tpmctl_secret_empty();
		return TPMCTL_EXIT_OK;
	case TPMCTL_NEW_SECRET_ASK:
		src.value = NULL;
		src.env = NULL;
		break;
	case TPMCTL_NEW_SECRET_DEFAULT:
		if (default_random && !value && !getenv(env)) {
			*random = true;
			*secret = tpmctl_secret_empty();
			return TPMCTL_EXIT_OK;
		}
		break;
	}
	rc = get_passphrase(ctl, "new TPM password", &src, &s);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	*mode = "plain";
	*secret = secret_variant(s);
	return TPMCTL_EXIT_OK;
}

int
tpmctl_archive_secret(Tpmctl *ctl, const TpmctlRequest *req, const char *prompt,
		      GVariant **secret)
{
	const TcsPassphraseSource src = {
		.value = req->secret,
		.env = TCS_PASSPHRASE_ENV,
		.prompt = prompt,
		.max_len = TCS_PASSPHRASE_MAX,
	};
	char *s = NULL;
	int rc = get_passphrase(ctl, "secret", &src, &s);

	if (rc != TPMCTL_EXIT_OK)
		return rc;
	*secret = secret_variant(s);
	return TPMCTL_EXIT_OK;
}

int
tpmctl_srk_secret(Tpmctl *ctl, const TpmctlRequest *req, GVariant **secret, const char **mode)
{
	const TcsPassphraseSource src = {
		.value = req->srk_passwd,
		.env = SRK_PASSWORD_ENV,
		.prompt = "Please enter the SRK password: ",
		.max_len = TCS_PASSPHRASE_MAX,
	};
	char *s = NULL;
	int rc;

	/* the well-known secret, which TSS applications expect, unless one is given */
	*mode = NULL;
	if (!req->srk_passwd && !getenv(SRK_PASSWORD_ENV) && !req->srk_ask) {
		*secret = tpmctl_secret_empty();
		return TPMCTL_EXIT_OK;
	}
	rc = get_passphrase(ctl, "SRK password", &src, &s);
	if (rc != TPMCTL_EXIT_OK)
		return rc;
	*mode = "plain";
	*secret = secret_variant(s);
	return TPMCTL_EXIT_OK;
}

int
tpmctl_add_srk_secret(Tpmctl *ctl, const TpmctlRequest *req, GVariantBuilder *opts)
{
	GVariant *srk = NULL;
	const char *mode = NULL;
	int rc = tpmctl_srk_secret(ctl, req, &srk, &mode);

	if (rc != TPMCTL_EXIT_OK)
		return rc;
	if (!mode) {
		g_variant_unref(g_variant_ref_sink(srk));
		return TPMCTL_EXIT_OK;
	}
	g_variant_builder_add(opts, "{sv}", "srk-secret", srk);
	g_variant_builder_add(opts, "{sv}", "srk-secret-mode", g_variant_new_string(mode));
	return TPMCTL_EXIT_OK;
}

bool
tpmctl_have_terminal(void)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

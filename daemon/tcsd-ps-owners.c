/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What system.data cannot say without changing its (TrouSerS) format: who
 * registered each key, and which RK tcsd itself put there. Both live in a
 * sidecar file in state_dir, rewritten atomically after every change:
 *
 *   tcs-key-owners 1
 *   rk-sha256 <hex>          SHA-256 of the RK's modulus, when tcsd wrote an RK
 *   key <uuid> <uid>         one per key registered over TCP by a known uid
 *
 * A key without a line belongs to owner_users (keys adopted from TrouSerS,
 * keys the management plane made). The RK record is the one place that
 * decides whether the RK in system.data may be used: tcsd checks it before
 * handing out or loading the RK (tcsd_ps_check_rk), so every client, the
 * tools and the OpenSSL engine/provider included, gets the same refusal.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcs-key.h"
#include "tcs-uuid.h"
#include "tcsd-ps.h"

#define OWNERS_FILE "key-owners"
#define OWNERS_MAGIC "tcs-key-owners 1"
#define OWNERS_MAX_SIZE (1024u * 1024)
#define RK_DIGEST_SIZE 32u
#define OWNERS_REPAIR                                                                              \
	" (repair or delete it: without it every key belongs to owner_users and the RK found "   \
	"in system.data is taken as tcsd's)"

struct _TcsdPsOwners {
	char *path;
	GHashTable *owners; /* UUID text -> GUINT_TO_POINTER(uid) */
	gboolean rk_recorded;
	guint8 rk_digest[RK_DIGEST_SIZE];
};

static gboolean
rk_digest(const TcsPsKey *pk, guint8 out[RK_DIGEST_SIZE])
{
	_cleanup_key_ TcsKey k = {0};
	g_autoptr(GChecksum) sum = NULL;
	const uint8_t *mod;
	size_t len;
	gsize out_len = RK_DIGEST_SIZE;

	if (tcs_key_parse(pk->blob, pk->blob_len, &k, NULL) < 0 ||
	    tcs_key_modulus(&k, &mod, &len) < 0 || len == 0)
		return FALSE;
	sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, mod, (gssize)len);
	g_checksum_get_digest(sum, out, &out_len);
	return out_len == RK_DIGEST_SIZE;
}

static gboolean
save(TcsdPsOwners *o, GError **error)
{
	g_autoptr(GString) s = g_string_new(OWNERS_MAGIC "\n");
	GHashTableIter it;
	gpointer k, v;

	if (o->rk_recorded) {
		g_string_append(s, "rk-sha256 ");
		for (guint i = 0; i < RK_DIGEST_SIZE; i++)
			g_string_append_printf(s, "%02x", o->rk_digest[i]);
		g_string_append_c(s, '\n');
	}
	g_hash_table_iter_init(&it, o->owners);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_string_append_printf(s, "key %s %u\n", (const char *)k, GPOINTER_TO_UINT(v));
	/* temp file, fsync, rename: a crash leaves the old file or the new one */
	return g_file_set_contents_full(o->path, s->str, (gssize)s->len,
					G_FILE_SET_CONTENTS_CONSISTENT |
						G_FILE_SET_CONTENTS_DURABLE,
					0600, error);
}

static void
save_or_warn(TcsdPsOwners *o)
{
	g_autoptr(GError) error = NULL;

	if (!save(o, &error))
		g_warning("cannot write %s (key owners and the RK record): %s", o->path,
			  error->message);
}

static gboolean
parse_line(TcsdPsOwners *o, const char *line, GError **error)
{
	g_auto(GStrv) f = g_strsplit(line, " ", -1);
	guint n = g_strv_length(f);
	TcsUuid u;
	guint64 uid;
	char canon[TCS_UUID_STRING_SIZE];

	if (n == 2 && !strcmp(f[0], "rk-sha256") && strlen(f[1]) == 2 * RK_DIGEST_SIZE) {
		for (guint i = 0; i < RK_DIGEST_SIZE; i++) {
			int hi = g_ascii_xdigit_value(f[1][2 * i]);
			int lo = g_ascii_xdigit_value(f[1][2 * i + 1]);

			if (hi < 0 || lo < 0)
				goto bad;
			o->rk_digest[i] = (guint8)(hi << 4 | lo);
		}
		o->rk_recorded = TRUE;
		return TRUE;
	}
	if (n == 3 && !strcmp(f[0], "key") && tcs_uuid_from_string(f[1], &u) == 0 &&
	    g_ascii_string_to_unsigned(f[2], 10, 0, G_MAXUINT32, &uid, NULL)) {
		g_hash_table_replace(o->owners, g_strdup(tcs_uuid_to_string(&u, canon)),
				     GUINT_TO_POINTER((guint)uid));
		return TRUE;
	}
bad:
	g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: bad line '%s'" OWNERS_REPAIR,
		    o->path, line);
	return FALSE;
}

/* Forget owners of keys no longer registered, so a UUID used again starts clean. */
static gboolean
prune(TcsdDaemon *d)
{
	GHashTableIter it;
	gpointer k;
	gboolean changed = FALSE;

	g_hash_table_iter_init(&it, d->ps_owners->owners);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		TcsUuid u;

		if (tcs_uuid_from_string(k, &u) < 0 || !tcs_ps_find(&d->ps, &u)) {
			g_hash_table_iter_remove(&it);
			changed = TRUE;
		}
	}
	return changed;
}

static void
record_rk(TcsdDaemon *d)
{
	const TcsPsKey *rk = tcs_ps_find(&d->ps, &TCS_UUID_RK);

	if (rk && rk_digest(rk, d->ps_owners->rk_digest))
		d->ps_owners->rk_recorded = TRUE;
}

gboolean
tcsd_ps_owners_init(TcsdDaemon *d, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *data = NULL;
	g_auto(GStrv) lines = NULL;
	TcsdPsOwners *o = g_new0(TcsdPsOwners, 1);
	gsize len = 0;

	o->path = g_build_filename(d->config->state_dir, OWNERS_FILE, NULL);
	o->owners = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	d->ps_owners = o;
	if (!g_file_get_contents(o->path, &data, &len, &local)) {
		if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_propagate_prefixed_error(error, g_steal_pointer(&local),
						   "cannot read the key owners: ");
			return FALSE;
		}
		/* first start, or a store adopted from TrouSerS: its RK is the one we know */
		record_rk(d);
		if (o->rk_recorded)
			g_message("recorded the RK in %s as tcsd's RK (no earlier record)",
				  d->ps_path);
		save_or_warn(o);
		return TRUE;
	}
	if (len > OWNERS_MAX_SIZE || memchr(data, '\0', len)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s: not a key owners file" OWNERS_REPAIR, o->path);
		return FALSE;
	}
	lines = g_strsplit(data, "\n", -1);
	if (!lines[0] || strcmp(lines[0], OWNERS_MAGIC) != 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s: not a key owners file" OWNERS_REPAIR, o->path);
		return FALSE;
	}
	for (guint i = 1; lines[i]; i++)
		if (lines[i][0] && !parse_line(o, lines[i], error))
			return FALSE;
	/* system.data edited while tcsd was stopped: owners of removed keys go */
	if (prune(d))
		save_or_warn(o);
	return TRUE;
}

void
tcsd_ps_owners_free(TcsdDaemon *d)
{
	TcsdPsOwners *o = d->ps_owners;

	if (!o)
		return;
	g_hash_table_unref(o->owners);
	g_free(o->path);
	g_free(o);
	d->ps_owners = NULL;
}

void
tcsd_ps_owners_changed(TcsdDaemon *d, const TcsUuid *registered, const uid_t *owner,
		       gboolean rk_written)
{
	char s[TCS_UUID_STRING_SIZE];

	if (!d->ps_owners)
		return;
	if (registered) {
		/* only this key changed: no need to walk the store */
		tcs_uuid_to_string(registered, s);
		if (owner)
			g_hash_table_replace(d->ps_owners->owners, g_strdup(s),
					     GUINT_TO_POINTER((guint)*owner));
		else
			(void)g_hash_table_remove(d->ps_owners->owners, s);
	} else {
		(void)prune(d);
	}
	if (rk_written)
		record_rk(d);
	save_or_warn(d->ps_owners);
}

gboolean
tcsd_ps_owners_lookup(TcsdDaemon *d, const TcsUuid *uuid, uid_t *ret)
{
	char s[TCS_UUID_STRING_SIZE];
	gpointer v;

	if (!d->ps_owners ||
	    !g_hash_table_lookup_extended(d->ps_owners->owners, tcs_uuid_to_string(uuid, s), NULL,
					  &v))
		return FALSE;
	*ret = (uid_t)GPOINTER_TO_UINT(v);
	return TRUE;
}

guint
tcsd_ps_owners_count(TcsdDaemon *d, uid_t uid)
{
	GHashTableIter it;
	gpointer v;
	guint n = 0;

	if (!d->ps_owners)
		return 0;
	g_hash_table_iter_init(&it, d->ps_owners->owners);
	while (g_hash_table_iter_next(&it, NULL, &v))
		n += (uid_t)GPOINTER_TO_UINT(v) == uid;
	return n;
}

guint32
tcsd_ps_check_rk(TcsdDaemon *d, const TcsPsKey *pk)
{
	guint8 digest[RK_DIGEST_SIZE];

	if (!pk || !tcs_uuid_equal(&pk->uuid, &TCS_UUID_RK) || !d->ps_owners)
		return 0;
	if (d->ps_owners->rk_recorded && rk_digest(pk, digest) &&
	    memcmp(digest, d->ps_owners->rk_digest, RK_DIGEST_SIZE) == 0)
		return 0;
	g_warning("the RK in %s is not the one tcsd recorded when it was created (%s): refusing "
		  "to use it; system.data was changed behind tcsd's back",
		  d->ps_path, d->ps_owners->rk_recorded ? "another public key" : "no RK recorded");
	return TCS_ERR(TCS_E_KEY_MISMATCH);
}

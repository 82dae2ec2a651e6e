/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The management operations, on the TPM worker thread. Each one is a short
 * conversation of an in-process TSS client with the TCS layer, so keys and
 * sessions go through the same manager as every application's.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tcs-key.h"
#include "tcs-rc.h"
#include "tcs-uuid.h"
#include "tcsd-dispatch.h"
#include "tcsd-manager-private.h"
#include "tcsd-ps.h"
#include "tcsd-tpm.h"
#include "tcsd-tpm2-binding.h"

/* the manager's own connection id: never handed to a TCP connection */
#define TCSD_MANAGER_CONN_ID (G_MAXUINT64 - 1)

static const TcsUuid uuid_sk = TCS_UUID_NODE(2);
static const TcsUuid uuid_rk = TCS_UUID_NODE(3);

/* ------------------------------------------------------------ in-process client */

static int
exchange(const uint8_t *req, size_t len, uint8_t **reply, size_t *reply_len, void *userdata)
{
	TcsdDaemon *d = userdata;
	TcsdPeer peer = {
		.id = TCSD_MANAGER_CONN_ID,
		.local = TRUE,
		.internal = TRUE,
	};
	gsize n = 0;

	g_strlcpy(peer.addr, "org.tcs.Manager", sizeof(peer.addr));
	g_strlcpy(peer.quota_key, "internal", sizeof(peer.quota_key));
	*reply = tcsd_dispatch_request(d, &peer, req, len, &n);
	*reply_len = n;
	return 0;
}

TcsClient *
tcsd_manager_client(TcsdDaemon *d, GError **error)
{
	TcsClient *c = NULL;
	int rc = tcs_client_new_exchange(exchange, d, &c);

	if (rc == 0)
		rc = tcs_client_open_context(c);
	if (rc != 0) {
		tcs_client_free(c);
		tcsd_manager_set_tpm_error(error, rc, "opening a TCS context");
		return NULL;
	}
	return c;
}

static void
client_done(TcsdDaemon *d, TcsClient *c)
{
	tcs_client_free(c);
	/* whatever the conversation left behind goes with its connection */
	tcsd_dispatch_disconnect(d, TCSD_MANAGER_CONN_ID);
}

/* ------------------------------------------------------------ errors */

gboolean
tcsd_manager_fail(GError **error, TcsdManagerError code, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, TCSD_MANAGER_ERROR, code, msg);
	return FALSE;
}

gboolean
tcsd_manager_set_tpm_error(GError **error, int rc, const char *what)
{
	TcsdManagerError code = TCSD_MANAGER_ERROR_TPM;
	char desc[96];

	if (rc < 0) {
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_INTERNAL, "%s: %s", what,
			    g_strerror(-rc));
		return FALSE;
	}
	switch ((guint32)rc) {
	case TPM_AUTHFAIL:
	case TPM_AUTH2FAIL:
		code = TCSD_MANAGER_ERROR_TPM_AUTH_FAILED;
		break;
	case TPM_DEFEND_LOCK_RUNNING:
		code = TCSD_MANAGER_ERROR_LOCKOUT;
		break;
	case TPM_OWNER_SET:
		code = TCSD_MANAGER_ERROR_ALREADY_OWNED;
		break;
	case TPM_NOSRK:
		code = TCSD_MANAGER_ERROR_NOT_OWNED;
		break;
	case TPM_INSTALL_DISABLED:
		code = TCSD_MANAGER_ERROR_NOT_OWNABLE;
		break;
	case TPM_DISABLED:
		code = TCSD_MANAGER_ERROR_DISABLED;
		break;
	case TPM_DEACTIVATED:
		code = TCSD_MANAGER_ERROR_DEACTIVATED;
		break;
	case TPM_CLEAR_DISABLED:
		code = TCSD_MANAGER_ERROR_OWNER_CLEAR_DISABLED;
		break;
	case TPM_BAD_PRESENCE:
		code = TCSD_MANAGER_ERROR_PHYSICAL_PRESENCE_REQUIRED;
		break;
	case TPM_NO_ENDORSEMENT:
		code = TCSD_MANAGER_ERROR_NO_ENDORSEMENT_KEY;
		break;
	default:
		break;
	}
	g_set_error(error, TCSD_MANAGER_ERROR, code, "%s: %s", what,
		    tcs_rc_describe((guint32)rc, desc, sizeof(desc)));
	return FALSE;
}

/* ------------------------------------------------------------ TPM state */

static int
get_flag_bytes(TcsClient *c, guint32 sub, guint8 **ret, size_t *len)
{
	guint8 s[4] = {sub >> 24, sub >> 16, sub >> 8, sub};

	return tcs_client_get_capability(c, TPM_CAP_FLAG, s, sizeof(s), ret, len);
}

static void
read_state(TcsdDaemon *d, TcsClient *c, TcsdTpmState *st)
{
	g_autofree guint8 *perm = NULL, *vol = NULL, *ver = NULL, *man = NULL, *owner = NULL;
	size_t perm_len = 0, vol_len = 0, ver_len = 0, man_len = 0, owner_len = 0;
	guint8 sub_man[4] = {0, 0, TPM_CAP_PROP_MANUFACTURER >> 8, TPM_CAP_PROP_MANUFACTURER & 0xff};
	guint8 sub_owner[4] = {0, 0, TPM_CAP_PROP_OWNER >> 8, TPM_CAP_PROP_OWNER & 0xff};

	*st = (TcsdTpmState){0};
	st->owner_secret_stored = tcsd_owner_secret_exists(d);
	g_strlcpy(st->tpm_backend,
		  tcsd_tpm2_binding_backend_name(tcsd_tpm_device_get_backend(d->tpm->dev)),
		  sizeof(st->tpm_backend));
	g_strlcpy(st->tpm2_binding, tcsd_tpm2_binding_state_name(tcsd_tpm2_binding_get_state()),
		  sizeof(st->tpm2_binding));
	st->tpm2_pcrs = tcsd_tpm2_binding_get_pcrs();
	/* TPM_PERMANENT_FLAGS: tag, disable, ownership, deactivated, readPubek, disableOwnerClear */
	if (get_flag_bytes(c, TPM_CAP_FLAG_PERMANENT, &perm, &perm_len) != 0 || perm_len < 7)
		return;
	/* TPM_STCLEAR_FLAGS: tag, deactivated, disableForceClear */
	if (get_flag_bytes(c, TPM_CAP_FLAG_VOLATILE, &vol, &vol_len) != 0 || vol_len < 4)
		return;
	st->enabled = !perm[2];
	st->ownable = perm[3];
	st->owner_clear_disabled = perm[6];
	st->activated = !vol[2];
	st->force_clear_disabled = vol[3];
	if (tcs_client_get_capability(c, TPM_CAP_PROPERTY, sub_owner, 4, &owner, &owner_len) == 0 &&
	    owner_len >= 1)
		st->owned = owner[0] != 0;
	/* TPM_CAP_VERSION_VAL: tag(2) TPM_VERSION(4) specLevel errata vendorID … */
	if (tcs_client_get_capability(c, TPM_CAP_VERSION_VAL, NULL, 0, &ver, &ver_len) == 0 &&
	    ver_len >= 6)
		g_snprintf(st->version, sizeof(st->version), "%u.%u.%u.%u", ver[2], ver[3], ver[4],
			   ver[5]);
	if (tcs_client_get_capability(c, TPM_CAP_PROPERTY, sub_man, 4, &man, &man_len) == 0 &&
	    man_len >= 4) {
		gboolean printable = TRUE;
		int n = 4;

		while (n > 0 && (man[n - 1] == ' ' || man[n - 1] == 0))
			n--;
		for (int i = 0; i < n; i++)
			printable = printable && g_ascii_isprint(man[i]);
		if (printable)
			g_snprintf(st->manufacturer, sizeof(st->manufacturer), "%.*s", n,
				   (const char *)man);
		else
			g_snprintf(st->manufacturer, sizeof(st->manufacturer), "0x%02x%02x%02x%02x",
				   man[0], man[1], man[2], man[3]);
	}
	st->valid = TRUE;
}

/* ------------------------------------------------------------ secrets */

gboolean
tcsd_manager_owner_secret(TcsdDaemon *d, TcsClient *c, const TcsdSecret *given,
			  guint8 out[TCS_SECRET_SIZE], GError **error)
{
	if (given->kind == TCSD_SECRET_VALUE) {
		memcpy(out, given->value, TCS_SECRET_SIZE);
		return TRUE;
	}
	return tcsd_owner_secret_load(d, c, out, error);
}

const guint8 *
tcsd_manager_srk_secret(const TcsdOp *op)
{
	return op->srk.kind == TCSD_SECRET_VALUE ? op->srk.value : tcs_auth_well_known;
}

/* ------------------------------------------------------------ key bookkeeping */

void
tcsd_manager_note_registered(TcsdOp *op, const TcsUuid *u)
{
	char s[TCS_UUID_STRING_SIZE];

	g_ptr_array_add(op->registered, g_strdup(tcs_uuid_to_string(u, s)));
}

void
tcsd_manager_note_unregistered(TcsdOp *op, const TcsUuid *u)
{
	char s[TCS_UUID_STRING_SIZE];

	g_ptr_array_add(op->unregistered, g_strdup(tcs_uuid_to_string(u, s)));
}

GArray *
tcsd_manager_descendants(const TcsPs *ps, const TcsUuid *root)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(TcsUuid));
	g_autoptr(GArray) frontier = g_array_new(FALSE, FALSE, sizeof(TcsUuid));

	g_array_append_val(frontier, *root);
	/* breadth first: a parent always comes before its children */
	for (guint f = 0; f < frontier->len; f++) {
		TcsUuid p = g_array_index(frontier, TcsUuid, f);

		for (size_t i = 0; i < ps->n_keys; i++) {
			const TcsPsKey *k = &ps->keys[i];

			if (!tcs_uuid_equal(&k->parent_uuid, &p) || tcs_uuid_equal(&k->uuid, root))
				continue;
			if (out->len >= TCS_PS_MAX_KEYS)
				return out; /* a cycle in a corrupt store */
			g_array_append_val(out, k->uuid);
			g_array_append_val(frontier, k->uuid);
		}
	}
	return out;
}

/* Remove uuid and its registered descendants from ps, noting them in op. */
static void
remove_subtree(TcsPs *ps, const TcsUuid *uuid, TcsdOp *op)
{
	g_autoptr(GArray) desc = tcsd_manager_descendants(ps, uuid);

	for (guint i = 0; i < desc->len; i++) {
		const TcsUuid *u = &g_array_index(desc, TcsUuid, i);

		if (tcs_ps_remove(ps, u) == 0)
			tcsd_manager_note_unregistered(op, u);
	}
	if (tcs_ps_remove(ps, uuid) == 0)
		tcsd_manager_note_unregistered(op, uuid);
}

static gboolean
ps_copy(const TcsPs *from, TcsPs *to, GError **error)
{
	g_autofree guint8 *data = NULL;
	size_t len = 0;
	int rc = tcs_ps_serialize(from, &data, &len);

	if (rc == 0)
		rc = tcs_ps_parse(data, len, to);
	if (rc < 0) {
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_INTERNAL,
			    "copying system persistent storage: %s", g_strerror(-rc));
		return FALSE;
	}
	return TRUE;
}

static gboolean
ps_commit(TcsdDaemon *d, TcsPs *next, GError **error)
{
	int rc = tcsd_ps_replace(d, next);

	if (rc < 0) {
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_IO, "cannot write %s: %s",
			    d->ps_path, g_strerror(-rc));
		return FALSE;
	}
	return TRUE;
}

/* ------------------------------------------------------------ storage keys */

static gboolean
create_storage_key(TcsdDaemon *d, TcsClient *c, TcsdOp *op, const TcsUuid *uuid,
		   gboolean replace, GError **error)
{
	const TcsKeyTemplate t = {
		.usage = TPM_KEY_STORAGE,
		/* the RK moves between TPMs (Backup/Restore); the SK never leaves this one */
		.flags = tcs_uuid_equal(uuid, &uuid_rk) ? TPM_KEY_FLAG_MIGRATABLE : 0,
		.auth_data_usage = TPM_AUTH_NEVER,
		.bits = 2048,
	};
	g_autofree guint8 *tmpl = NULL, *blob = NULL;
	size_t tmpl_len = 0, blob_len = 0;
	TcsPs next = {0};
	gboolean ok;
	int rc;

	if (tcs_ps_find(&d->ps, uuid) && !replace) {
		g_autoptr(GArray) desc = tcsd_manager_descendants(&d->ps, uuid);

		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_ALREADY_EXISTS,
			    "the %s exists with %u registered descendants; replacing it "
			    "deletes them",
			    tcs_uuid_equal(uuid, &uuid_rk) ? "RK" : "SK", desc->len);
		return FALSE;
	}
	/* the RK and every key and file below it are gone for good without an archive */
	if (tcs_uuid_equal(uuid, &uuid_rk) && tcs_ps_find(&d->ps, uuid) &&
	    op->kind == TCSD_OP_CREATE_STORAGE_KEY) {
		guint count = 0;

		if (op->fd_out < 0 && !op->no_safety_copy)
			return tcsd_manager_fail(
				error, TCSD_MANAGER_ERROR_INVALID_ARGS,
				"replacing the RK makes it and every key and file below it "
				"unrecoverable: pass safety-copy and safety-secret for an archive of "
				"them (or no-safety-copy)");
		if (op->fd_out >= 0 && !tcsd_manager_rk_safety_copy(d, c, op, &count, error)) {
			g_prefix_error(error, "nothing was replaced: the safety copy failed: ");
			return FALSE;
		}
		op->safety_count = count;
	}
	rc = tcs_client_key_template(&t, &tmpl, &tmpl_len);
	if (rc == 0)
		rc = tcs_client_create_wrap_key(c, TPM_KH_SRK, tcsd_manager_srk_secret(op), NULL, NULL, tmpl,
						tmpl_len, &blob, &blob_len);
	if (rc != 0)
		return tcsd_manager_set_tpm_error(error, rc, "creating the key under the SRK");
	if (!ps_copy(&d->ps, &next, error))
		return FALSE;
	if (tcs_ps_find(&next, uuid))
		remove_subtree(&next, uuid, op);
	rc = tcs_ps_add(&next, uuid, &TCS_UUID_SRK, TRUE, blob, blob_len, NULL, 0);
	if (rc < 0) {
		tcs_ps_clear(&next);
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_INTERNAL,
			    "registering the key: %s", g_strerror(-rc));
		return FALSE;
	}
	ok = ps_commit(d, &next, error);
	tcs_ps_clear(&next);
	if (ok)
		tcsd_manager_note_registered(op, uuid);
	return ok;
}

/* ------------------------------------------------------------ operations */

/*
 * The owner secret must never end up known to nobody: storing is tried out
 * before TPM_TakeOwnership, and should it still fail afterwards, the
 * generated secret goes back to the caller in the report instead of an error.
 */
static void
take_ownership(TcsdDaemon *d, TcsClient *c, TcsdOp *op)
{
	guint8 owner[TCS_SECRET_SIZE];
	gboolean generated = op->owner.kind == TCSD_SECRET_DEFAULT;
	g_autoptr(GError) store_error = NULL;
	g_autoptr(GError) keys_error = NULL;
	GVariantBuilder report;
	TcsdTpmState st;
	TcsPs next = {0};
	int rc;

	/* an owned TPM answers TPM_DISABLED_CMD, which says less */
	read_state(d, c, &st);
	if (st.valid && st.owned) {
		g_set_error_literal(&op->error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_ALREADY_OWNED,
				    "the TPM has an owner");
		return;
	}
	if ((op->store_owner_secret || generated) &&
	    !tcsd_owner_secret_check_storable(d, &op->error))
		return;
	if (generated) {
		rc = tcs_auth_random_nonce(owner);
		if (rc < 0) {
			tcsd_manager_set_tpm_error(&op->error, rc, "generating an owner secret");
			return;
		}
	} else {
		memcpy(owner, op->owner.value, sizeof(owner));
	}
	rc = tcs_client_take_ownership(c, owner, tcsd_manager_srk_secret(op), NULL, NULL);
	if (rc != 0) {
		tcs_wipe(owner, sizeof(owner));
		tcsd_manager_set_tpm_error(&op->error, rc, "TPM_TakeOwnership");
		return;
	}
	g_message("TPM ownership taken through org.tcs.Manager");
	/* keys of an earlier owner can never load again (the SRK is new) */
	if (ps_copy(&d->ps, &next, NULL)) {
		gboolean changed = FALSE;

		for (size_t i = next.n_keys; i-- > 0;) {
			TcsUuid u = next.keys[i].uuid;

			if (tcs_uuid_equal(&u, &TCS_UUID_SRK))
				continue;
			tcs_ps_remove(&next, &u);
			tcsd_manager_note_unregistered(op, &u);
			changed = TRUE;
		}
		if (changed && !ps_commit(d, &next, NULL))
			g_ptr_array_set_size(op->unregistered, 0);
		tcs_ps_clear(&next);
	}
	tcsd_manager_note_registered(op, &TCS_UUID_SRK);
	g_variant_builder_init(&report, G_VARIANT_TYPE_VARDICT);
	if ((op->store_owner_secret || generated) &&
	    !tcsd_owner_secret_store(d, c, owner, &store_error)) {
		g_warning("TakeOwnership: the owner secret could not be stored: %s",
			  store_error->message);
		if (!generated) {
			/* the caller knows this secret: an error is the whole story */
			tcs_wipe(owner, sizeof(owner));
			g_propagate_prefixed_error(&op->error, g_steal_pointer(&store_error),
						   "the TPM is owned, but ");
			return;
		}
		/* nobody else knows it: the caller gets it, whatever fails next */
		g_variant_builder_add(&report, "{sv}", "owner-secret",
				      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, owner,
								sizeof(owner), 1));
	}
	tcs_wipe(owner, sizeof(owner));
	g_variant_builder_add(&report, "{sv}", "owner-secret-stored",
			      g_variant_new_boolean((op->store_owner_secret || generated) &&
						    !store_error));
	if (op->create_storage_keys &&
	    (!create_storage_key(d, c, op, &uuid_sk, TRUE, &keys_error) ||
	     !create_storage_key(d, c, op, &uuid_rk, TRUE, &keys_error)))
		g_prefix_error(&keys_error, "the TPM is owned, but creating the SK and RK failed "
					    "(CreateStorageKey finishes the job): ");
	if (keys_error && !store_error) {
		g_variant_builder_clear(&report);
		op->error = g_steal_pointer(&keys_error);
		return;
	}
	if (store_error || keys_error) {
		g_autofree char *warning = g_strdup_printf(
			"%s%s%s", store_error ? "the TPM is owned, but the generated owner secret "
						"could not be stored (it is in owner-secret: keep it): "
					      : "",
			store_error ? store_error->message : "",
			keys_error ? keys_error->message : "");

		g_variant_builder_add(&report, "{sv}", "warning", g_variant_new_string(warning));
	}
	op->result = g_variant_new("(a{sv})", &report);
}

static void
change_owner_secret(TcsdDaemon *d, TcsClient *c, TcsdOp *op)
{
	g_autoptr(GError) store_error = NULL;
	GVariantBuilder report;
	guint8 owner[TCS_SECRET_SIZE], next[TCS_SECRET_SIZE];
	gboolean stored = tcsd_owner_secret_exists(d);
	gboolean generated = op->new_owner.kind == TCSD_SECRET_DEFAULT;
	int rc;

	if (generated && !stored && !op->store_owner_secret) {
		g_set_error_literal(&op->error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_INVALID_ARGS,
				    "a generated owner secret must be stored (store-owner-secret)");
		return;
	}
	/* a generated secret that cannot be stored would be known to nobody */
	if ((generated || stored || op->store_owner_secret) &&
	    !tcsd_owner_secret_check_storable(d, &op->error))
		return;
	if (!tcsd_manager_owner_secret(d, c, &op->owner, owner, &op->error))
		return;
	if (generated)
		rc = tcs_auth_random_nonce(next);
	else {
		memcpy(next, op->new_owner.value, sizeof(next));
		rc = 0;
	}
	if (rc == 0)
		rc = tcs_client_change_owner_secret(c, owner, next);
	tcs_wipe(owner, sizeof(owner));
	if (rc != 0) {
		tcs_wipe(next, sizeof(next));
		tcsd_manager_set_tpm_error(&op->error, rc,
					   rc == TPM_DISABLED ? "TPM_ChangeAuthOwner (enable the TPM "
								"first: SetEnabled, tpmadm enable)"
							      : "TPM_ChangeAuthOwner");
		return;
	}
	g_message("TPM owner secret changed through org.tcs.Manager");
	g_variant_builder_init(&report, G_VARIANT_TYPE_VARDICT);
	/* a stored secret never goes stale: one that cannot be replaced is removed */
	if ((stored || op->store_owner_secret) && !tcsd_owner_secret_store(d, c, next, &store_error)) {
		g_autofree char *warning = NULL;
		gboolean existed;

		(void)tcsd_owner_secret_forget(d, &existed, NULL);
		warning = g_strdup_printf("the owner secret was changed, but it could not be stored%s: "
					  "%s", generated ? " (it is in owner-secret: keep it)" : "",
					  store_error->message);
		g_warning("%s", warning);
		g_variant_builder_add(&report, "{sv}", "warning", g_variant_new_string(warning));
		/* nobody else knows a generated secret: the caller gets it */
		if (generated)
			g_variant_builder_add(&report, "{sv}", "owner-secret",
					      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, next,
									sizeof(next), 1));
	}
	g_variant_builder_add(&report, "{sv}", "owner-secret-stored",
			      g_variant_new_boolean((stored || op->store_owner_secret) && !store_error));
	tcs_wipe(next, sizeof(next));
	op->result = g_variant_new("(a{sv})", &report);
}

static void
clear_owner(TcsdDaemon *d, TcsClient *c, TcsdOp *op)
{
	guint8 owner[TCS_SECRET_SIZE];
	gboolean existed;
	TcsPs empty = {0};
	int rc;

	if (!tcsd_manager_owner_secret(d, c, &op->owner, owner, &op->error))
		return;
	rc = tcs_client_owner_clear(c, owner);
	tcs_wipe(owner, sizeof(owner));
	if (rc != 0) {
		tcsd_manager_set_tpm_error(&op->error, rc,
					   rc == TPM_DISABLED ? "TPM_OwnerClear (enable the TPM first: "
								"SetEnabled, tpmadm enable)"
							      : "TPM_OwnerClear");
		return;
	}
	g_message("TPM owner cleared through org.tcs.Manager");
	(void)tcsd_owner_secret_forget(d, &existed, NULL);
	for (size_t i = 0; i < d->ps.n_keys; i++)
		tcsd_manager_note_unregistered(op, &d->ps.keys[i].uuid);
	if (!ps_commit(d, &empty, &op->error))
		g_prefix_error(&op->error, "the TPM was cleared, but ");
	tcs_ps_clear(&empty);
}

static void
set_enabled(TcsdDaemon *d, TcsClient *c, TcsdOp *op)
{
	TcsdTpmState st;
	guint8 owner[TCS_SECRET_SIZE];
	int rc;

	read_state(d, c, &st);
	/*
	 * A disabled TPM cannot unseal the stored secret that would enable it
	 * again. A caller who gave the secret knows it: then a stored one that
	 * does not unseal (a stale one) does not stand in the way.
	 */
	if (!op->flag) {
		g_autoptr(GError) keep_error = NULL;

		if (!tcsd_owner_secret_keep_unsealed(d, c, &keep_error) &&
		    op->owner.kind != TCSD_SECRET_VALUE) {
			op->error = g_steal_pointer(&keep_error);
			return;
		}
	}
	if (st.owned) {
		if (!tcsd_manager_owner_secret(d, c, &op->owner, owner, &op->error))
			return;
		rc = tcs_client_owner_set_disable(c, owner, !op->flag);
		tcs_wipe(owner, sizeof(owner));
	} else {
		rc = tcs_client_physical_enable(c, op->flag);
	}
	if (rc != 0) {
		tcsd_manager_set_tpm_error(&op->error, rc, op->flag ? "enabling the TPM"
								    : "disabling the TPM");
		return;
	}
}

static void
set_activated(TcsdDaemon *d, TcsClient *c, TcsdOp *op)
{
	int rc;

	if (!op->flag && !tcsd_owner_secret_keep_unsealed(d, c, &op->error))
		return;
	rc = tcs_client_physical_set_deactivated(c, !op->flag);

	if (rc != 0) {
		tcsd_manager_set_tpm_error(&op->error, rc, "TPM_PhysicalSetDeactivated");
		return;
	}
	op->result = g_variant_new("(b)", TRUE);
}

/* ---- keys in system persistent storage ---- */

static guint32
tss_usage(guint16 tpm_usage)
{
	switch (tpm_usage) {
	case TPM_KEY_BIND: return 0x00;
	case TPM_KEY_IDENTITY: return 0x01;
	case TPM_KEY_LEGACY: return 0x02;
	case TPM_KEY_SIGNING: return 0x03;
	case TPM_KEY_STORAGE: return 0x04;
	case TPM_KEY_AUTHCHANGE: return 0x05;
	case TPM_KEY_MIGRATE: return 0x06;
	default: return 0xffff;
	}
}

static const char *
usage_name(guint32 u)
{
	static const char *const names[] = {"Bind", "Identity", "Legacy", "Signing",
					    "Storage", "AuthChange", "Migrate"};

	return u < G_N_ELEMENTS(names) ? names[u] : "Unknown";
}

static guint32
tss_algorithm(guint32 tpm_alg)
{
	/* TPM_ALG_* 1..10 -> TSS_ALG_*: RSA DES 3DES SHA HMAC AES128 MGF1 AES192 AES256 XOR */
	static const guint32 map[] = {0, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0, 0x27, 0x28, 0x26};

	return tpm_alg < G_N_ELEMENTS(map) ? map[tpm_alg] : 0;
}

static const char *
algorithm_name(guint32 a)
{
	switch (a) {
	case 0x20: return "RSA";
	case 0x21: return "DES";
	case 0x22: return "3DES";
	case 0x23: return "SHA";
	case 0x24: return "HMAC";
	case 0x25: return "AES128";
	case 0x26: return "XOR";
	case 0x27: return "AES192";
	case 0x28: return "AES256";
	default: return "Unknown";
	}
}

/* below: the ancestor's descendants (worked out once per call), NULL without that criterion */
static gboolean
key_matches(const TcsPsKey *pk, const TcsdKeyCriteria *cr, GArray *below)
{
	_cleanup_key_ TcsKey k = {0};

	if (cr->uuids) {
		gboolean found = FALSE;

		for (guint i = 0; i < cr->uuids->len && !found; i++)
			found = tcs_uuid_equal(&g_array_index(cr->uuids, TcsUuid, i), &pk->uuid);
		if (!found)
			return FALSE;
	}
	if (cr->has_parent && !tcs_uuid_equal(&pk->parent_uuid, &cr->parent))
		return FALSE;
	if (below) {
		gboolean found = FALSE;

		for (guint i = 0; i < below->len && !found; i++)
			found = tcs_uuid_equal(&g_array_index(below, TcsUuid, i), &pk->uuid);
		if (!found)
			return FALSE;
	}
	if (cr->has_algorithm || cr->has_usage) {
		if (tcs_key_parse(pk->blob, pk->blob_len, &k, NULL) < 0)
			return FALSE;
		if (cr->has_algorithm && tss_algorithm(k.algorithm_id) != cr->algorithm)
			return FALSE;
		if (cr->has_usage && tss_usage(k.key_usage) != cr->usage)
			return FALSE;
	}
	return TRUE;
}

static gboolean
check_criteria_keys(const TcsPs *ps, const TcsdKeyCriteria *cr, GError **error)
{
	char s[TCS_UUID_STRING_SIZE];

	if (cr->has_ancestor && !tcs_uuid_equal(&cr->ancestor, &TCS_UUID_SRK) &&
	    !tcs_ps_find(ps, &cr->ancestor)) {
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_NOT_FOUND,
			    "no key %s in system persistent storage", tcs_uuid_to_string(&cr->ancestor, s));
		return FALSE;
	}
	if (cr->has_parent && !tcs_uuid_equal(&cr->parent, &TCS_UUID_SRK) &&
	    !tcs_ps_find(ps, &cr->parent)) {
		g_set_error(error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_NOT_FOUND,
			    "no key %s in system persistent storage", tcs_uuid_to_string(&cr->parent, s));
		return FALSE;
	}
	return TRUE;
}

static void
list_keys(TcsdDaemon *d, TcsdOp *op)
{
	g_autoptr(GArray) below = NULL;
	GVariantBuilder b;
	char u[TCS_UUID_STRING_SIZE], p[TCS_UUID_STRING_SIZE];

	if (!check_criteria_keys(&d->ps, &op->criteria, &op->error))
		return;
	if (op->criteria.has_ancestor)
		below = tcsd_manager_descendants(&d->ps, &op->criteria.ancestor);
	g_variant_builder_init(&b, G_VARIANT_TYPE("a(ss)"));
	for (size_t i = 0; i < d->ps.n_keys; i++) {
		const TcsPsKey *pk = &d->ps.keys[i];

		if (key_matches(pk, &op->criteria, below))
			g_variant_builder_add(&b, "(ss)", tcs_uuid_to_string(&pk->uuid, u),
					      tcs_uuid_to_string(&pk->parent_uuid, p));
	}
	op->result = g_variant_new("(a(ss))", &b);
}

static void
get_key_info(TcsdDaemon *d, TcsClient *c, TcsdOp *op)
{
	const TcsPsKey *pk = tcs_ps_find(&d->ps, &op->key);
	_cleanup_key_ TcsKey k = {0};
	g_autofree guint8 *srk_pub = NULL;
	GVariantBuilder b, flags;
	char u[TCS_UUID_STRING_SIZE], ver[9];
	guint32 usage, alg;
	static const struct {
		guint32 bit;
		const char *name;
	} flag_names[] = {{TPM_KEY_FLAG_REDIRECTION, "redirection"},
			  {TPM_KEY_FLAG_MIGRATABLE, "migratable"},
			  {TPM_KEY_FLAG_VOLATILE, "volatile"},
			  {TPM_KEY_FLAG_PCR_IGNORED_ON_READ, "pcr-ignored-on-read"},
			  {0x10, "migrate-authority"}};
	const guint8 *mod = NULL;
	size_t mod_len = 0;

	if (!pk) {
		g_set_error(&op->error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_NOT_FOUND,
			    "no key %s in system persistent storage", tcs_uuid_to_string(&op->key, u));
		return;
	}
	if (tcs_key_parse(pk->blob, pk->blob_len, &k, NULL) < 0) {
		g_set_error(&op->error, TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_INTERNAL,
			    "the registered key %s is malformed", tcs_uuid_to_string(&op->key, u));
		return;
	}
	usage = tss_usage(k.key_usage);
	alg = tss_algorithm(k.algorithm_id);
	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "uuid",
			      g_variant_new_string(tcs_uuid_to_string(&pk->uuid, u)));
	g_variant_builder_add(&b, "{sv}", "parent-uuid",
			      g_variant_new_string(tcs_uuid_to_string(&pk->parent_uuid, u)));
	g_snprintf(ver, sizeof(ver), "%02x%02x%02x%02x", pk->blob[0], pk->blob[1], pk->blob[2],
		   pk->blob[3]);
	g_variant_builder_add(&b, "{sv}", "version", g_variant_new_string(ver));
	g_variant_builder_add(&b, "{sv}", "usage", g_variant_new_uint32(usage));
	g_variant_builder_add(&b, "{sv}", "usage-name", g_variant_new_string(usage_name(usage)));
	g_variant_builder_add(&b, "{sv}", "flags", g_variant_new_uint32(k.key_flags));
	g_variant_builder_init(&flags, G_VARIANT_TYPE("as"));
	for (guint i = 0; i < G_N_ELEMENTS(flag_names); i++)
		if (k.key_flags & flag_names[i].bit)
			g_variant_builder_add(&flags, "s", flag_names[i].name);
	g_variant_builder_add(&b, "{sv}", "flag-names", g_variant_builder_end(&flags));
	g_variant_builder_add(&b, "{sv}", "auth-usage", g_variant_new_uint32(k.auth_data_usage));
	g_variant_builder_add(&b, "{sv}", "auth-usage-name",
			      g_variant_new_string(k.auth_data_usage == TPM_AUTH_NEVER ? "Never"
						   : k.auth_data_usage == TPM_AUTH_ALWAYS
							   ? "Always"
							   : k.auth_data_usage == TPM_AUTH_PRIV_USE_ONLY
								     ? "Private use only"
								     : "Unknown"));
	g_variant_builder_add(&b, "{sv}", "algorithm", g_variant_new_uint32(alg));
	g_variant_builder_add(&b, "{sv}", "algorithm-name",
			      g_variant_new_string(algorithm_name(alg)));
	/* TSS_ES_* = TPM_ES_* + 0x0f, TSS_SS_* = TPM_SS_* + 0x0f for the RSA schemes */
	g_variant_builder_add(&b, "{sv}", "encryption-scheme",
			      g_variant_new_uint32(k.enc_scheme + 0x0fu));
	g_variant_builder_add(&b, "{sv}", "encryption-scheme-name",
			      g_variant_new_string(k.enc_scheme == TPM_ES_RSAESOAEP_SHA1_MGF1
							   ? "RSAESOAEP_SHA1_MGF1"
						   : k.enc_scheme == TPM_ES_RSAESPKCSv15
							   ? "RSAESPKCSV15"
							   : "None"));
	g_variant_builder_add(&b, "{sv}", "signature-scheme",
			      g_variant_new_uint32(k.sig_scheme + 0x0fu));
	g_variant_builder_add(&b, "{sv}", "signature-scheme-name",
			      g_variant_new_string(k.sig_scheme == TPM_SS_RSASSAPKCS1v15_SHA1
							   ? "RSASSAPKCS1V15_SHA1"
						   : k.sig_scheme == TPM_SS_RSASSAPKCS1v15_DER
							   ? "RSASSAPKCS1V15_DER"
						   : k.sig_scheme == TPM_SS_RSASSAPKCS1v15_INFO
							   ? "RSASSAPKCS1V15_INFO"
							   : "None"));
	g_variant_builder_add(&b, "{sv}", "key-size", g_variant_new_uint32(k.rsa_key_bits));
	if (tcs_key_modulus(&k, &mod, &mod_len) < 0 || tcs_key_modulus_is_zero(&k)) {
		mod = NULL;
		mod_len = 0;
		/* the SRK's public key: only with the owner secret (OwnerReadInternalPub) */
		if (tcs_uuid_equal(&pk->uuid, &TCS_UUID_SRK) && c) {
			guint8 owner[TCS_SECRET_SIZE];
			TcsdSecret none = {0};
			_cleanup_key_ TcsKey pub = {0};
			size_t pub_len = 0;

			if (tcsd_manager_owner_secret(d, c, &none, owner, NULL) &&
			    tcs_client_owner_read_internal_pub(c, owner, TPM_KH_SRK, &srk_pub,
							       &pub_len) == 0 &&
			    tcs_pubkey_parse(srk_pub, pub_len, &pub, NULL) == 0 &&
			    tcs_key_modulus(&pub, &mod, &mod_len) == 0) {
				g_variant_builder_add(&b, "{sv}", "public-key",
						      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE,
										mod, mod_len, 1));
				mod = NULL;
				mod_len = G_MAXSIZE;
			}
			tcs_wipe(owner, sizeof(owner));
		}
	}
	if (mod_len != G_MAXSIZE)
		g_variant_builder_add(&b, "{sv}", "public-key",
				      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, mod ? mod : (const guint8 *)"",
								mod_len, 1));
	op->result = g_variant_new("(a{sv})", &b);
}

static gboolean
is_fixed_key(const TcsUuid *u)
{
	return tcs_uuid_equal(u, &TCS_UUID_SRK) || tcs_uuid_equal(u, &uuid_sk) ||
	       tcs_uuid_equal(u, &uuid_rk);
}

static void
delete_keys(TcsdDaemon *d, TcsdOp *op)
{
	g_autoptr(GArray) below = NULL;
	g_autoptr(GArray) doomed = g_array_new(FALSE, FALSE, sizeof(TcsUuid));
	GVariantBuilder b;
	TcsPs next = {0};
	char s[TCS_UUID_STRING_SIZE];

	if (!check_criteria_keys(&d->ps, &op->criteria, &op->error))
		return;
	if (op->criteria.has_ancestor)
		below = tcsd_manager_descendants(&d->ps, &op->criteria.ancestor);
	for (size_t i = 0; i < d->ps.n_keys; i++) {
		const TcsPsKey *pk = &d->ps.keys[i];

		if (!is_fixed_key(&pk->uuid) && key_matches(pk, &op->criteria, below))
			g_array_append_val(doomed, pk->uuid);
	}
	/* a key whose descendants stay behind would orphan them */
	for (guint i = 0; i < doomed->len; i++) {
		g_autoptr(GArray) desc =
			tcsd_manager_descendants(&d->ps, &g_array_index(doomed, TcsUuid, i));

		for (guint j = 0; j < desc->len; j++) {
			const TcsUuid *u = &g_array_index(desc, TcsUuid, j);
			gboolean listed = FALSE;

			for (guint k = 0; k < doomed->len && !listed; k++)
				listed = tcs_uuid_equal(&g_array_index(doomed, TcsUuid, k), u);
			if (listed)
				continue;
			if (!op->descendants) {
				g_set_error(&op->error, TCSD_MANAGER_ERROR,
					    TCSD_MANAGER_ERROR_HAS_CHILDREN,
					    "key %s has registered descendants that do not match "
					    "(delete them too with the descendants option)",
					    tcs_uuid_to_string(&g_array_index(doomed, TcsUuid, i), s));
				return;
			}
			g_array_append_val(doomed, *u);
		}
	}
	if (!ps_copy(&d->ps, &next, &op->error))
		return;
	for (guint i = 0; i < doomed->len; i++)
		(void)tcs_ps_remove(&next, &g_array_index(doomed, TcsUuid, i));
	if (doomed->len && !ps_commit(d, &next, &op->error)) {
		tcs_ps_clear(&next);
		return;
	}
	tcs_ps_clear(&next);
	g_variant_builder_init(&b, G_VARIANT_TYPE("as"));
	for (guint i = 0; i < doomed->len; i++) {
		const TcsUuid *u = &g_array_index(doomed, TcsUuid, i);

		tcsd_manager_note_unregistered(op, u);
		g_variant_builder_add(&b, "s", tcs_uuid_to_string(u, s));
	}
	op->result = g_variant_new("(as)", &b);
}

void
tcsd_manager_run_op(TcsdDaemon *d, TcsdOp *op)
{
	g_autoptr(GError) error = NULL;
	TcsClient *c = NULL;

	/* ListKeys needs no TPM; everything else talks to it */
	if (op->kind != TCSD_OP_LIST_KEYS && op->kind != TCSD_OP_FORGET_OWNER_SECRET &&
	    op->kind != TCSD_OP_BIND_TPM2) {
		c = tcsd_manager_client(d, &error);
		if (!c) {
			op->error = g_steal_pointer(&error);
			return;
		}
	}
	switch (op->kind) {
	case TCSD_OP_TAKE_OWNERSHIP:
		take_ownership(d, c, op);
		break;
	case TCSD_OP_CHANGE_OWNER_SECRET:
		change_owner_secret(d, c, op);
		break;
	case TCSD_OP_FORGET_OWNER_SECRET: {
		gboolean existed = FALSE;

		if (tcsd_owner_secret_forget(d, &existed, &op->error))
			op->result = g_variant_new("(b)", existed);
		break;
	}
	case TCSD_OP_CLEAR_OWNER:
		clear_owner(d, c, op);
		break;
	case TCSD_OP_SET_ENABLED:
		set_enabled(d, c, op);
		break;
	case TCSD_OP_SET_ACTIVATED:
		set_activated(d, c, op);
		break;
	case TCSD_OP_CREATE_STORAGE_KEY:
		if (create_storage_key(d, c, op, &op->key, op->replace, &op->error)) {
			char s[TCS_UUID_STRING_SIZE];

			if (op->safety_count)
				g_message("the replaced RK and %u keys below it are in the safety copy",
					  op->safety_count - 1);
			op->result = g_variant_new("(s)", tcs_uuid_to_string(&op->key, s));
		}
		break;
	case TCSD_OP_LIST_KEYS:
		list_keys(d, op);
		break;
	case TCSD_OP_GET_KEY_INFO:
		get_key_info(d, c, op);
		break;
	case TCSD_OP_DELETE_KEYS:
		delete_keys(d, op);
		break;
	case TCSD_OP_BACKUP:
		tcsd_manager_backup_run(d, c, op);
		break;
	case TCSD_OP_RESTORE:
		tcsd_manager_restore_run(d, c, op);
		break;
	case TCSD_OP_BIND_TPM2:
		/* swtpm restarts under the new key: on the worker, between two TCS requests */
		if (tcsd_tpm2_binding_get_state() == TCSD_TPM2_BINDING_BOUND) {
			g_set_error_literal(&op->error, TCSD_MANAGER_ERROR,
					    TCSD_MANAGER_ERROR_NOT_SUPPORTED,
					    "the embedded TPM is already bound to the TPM 2.0");
		} else if (tcsd_tpm2_binding_get_state() != TCSD_TPM2_BINDING_PENDING) {
			g_set_error_literal(&op->error, TCSD_MANAGER_ERROR,
					    TCSD_MANAGER_ERROR_NOT_SUPPORTED,
					    "nothing to bind: tcsd does not run the embedded "
					    "swtpm, or tpm2_binding is none (or no TPM 2.0)");
		} else if (tcsd_tpm2_binding_bind_live(d->tpm, d->config->tpm_device,
						       d->config->state_dir, &error)) {
			g_autofree char *text = tcsd_tpm2_binding_describe();

			op->result = g_variant_new("(s)", text);
		} else {
			op->error = g_error_new_literal(TCSD_MANAGER_ERROR, TCSD_MANAGER_ERROR_TPM,
							error->message);
		}
		break;
	case TCSD_OP_REFRESH:
		break;
	}
	if (!c)
		c = tcsd_manager_client(d, NULL);
	/* a copy kept for a disabled TPM goes once the TPM unseals again (e.g. after a boot) */
	if (c && op->kind != TCSD_OP_LIST_KEYS && op->kind != TCSD_OP_GET_KEY_INFO)
		tcsd_owner_secret_tidy(d, c);
	if (c && (op->kind != TCSD_OP_LIST_KEYS && op->kind != TCSD_OP_GET_KEY_INFO))
		read_state(d, c, &op->state);
	if (c)
		client_done(d, c);
}

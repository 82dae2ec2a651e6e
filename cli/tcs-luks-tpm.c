/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TPM half of the "tcs" LUKS2 token (see tcs-luks-tpm.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tcs-client-pcr.h"
#include "tcs-key.h"
#include "tcs-keyblob.h"
#include "tcs-luks-tpm.h"
#include "tcs-rc.h"
#include "tcs-types.h"

#define PCR_INFO_TAIL 12u /* PCRInfoSize, pubKey size, encData size ending a key template */

static TcsLuksResult fail(TcsLuksResult r, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static TcsLuksResult
fail(TcsLuksResult r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

static const char *
describe(int rc, char *buf, size_t size)
{
	if (rc < 0) {
		snprintf(buf, size, "%s", strerror(-rc));
		return buf;
	}
	return tcs_rc_describe((uint32_t)rc, buf, size);
}

static bool
is_tss(int rc, uint32_t code)
{
	return rc > 0 && ((uint32_t)rc & 0xfffu) == code;
}

static TcsUuid
parent_uuid(TcsLuksParent p)
{
	return p == TCS_LUKS_PARENT_SK ? TCS_UUID_SK : TCS_UUID_RK;
}

static const char *
parent_label(TcsLuksParent p)
{
	return p == TCS_LUKS_PARENT_SK ? "storage key (SK, UUID 00000000-0000-0000-0000-000000000002)"
				       : "roaming key (RK, UUID 00000000-0000-0000-0000-000000000003)";
}

void
tcs_luks_tpm_close(TcsLuksTpm *t)
{
	tcs_client_free(t->client);
	t->client = NULL;
}

int
tcs_luks_pin_secret(const void *pin, size_t len, uint8_t secret[TCS_SECRET_SIZE])
{
	if (!pin) {
		memcpy(secret, tcs_auth_well_known, TCS_SECRET_SIZE);
		return 0;
	}
	return tcs_auth_secret_plain(pin, len, secret);
}

TcsLuksResult
tcs_luks_tpm_open(TcsLuksTpm *t, TcsLuksParent which, char *err, size_t errlen)
{
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_key_ TcsKey k = {0};
	const char *hint = which == TCS_LUKS_PARENT_SK ? "tpmadm takeownership creates it"
						       : "create it with 'tpmadm addkey key=rk'";
	const TcsUuid uuid = parent_uuid(which);
	uint8_t srk_secret[TCS_SECRET_SIZE];
	char buf[160];
	size_t len = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	t->which = which;
	rc = tcs_client_connect(NULL, NULL, &t->client);
	if (rc == 0)
		rc = tcs_client_open_context(t->client);
	if (rc != 0)
		return fail(TCS_LUKS_E_TCSD, err, errlen,
			    "cannot reach tcsd at %s:%s: %s (is tcsd.socket running?)",
			    getenv("TSS_TCSD_HOSTNAME") ?: TCS_CLIENT_DEFAULT_HOST,
			    getenv("TSS_TCSD_PORT") ?: TCS_CLIENT_DEFAULT_PORT,
			    describe(rc, buf, sizeof(buf)));
	rc = tcs_client_get_registered_key_blob(t->client, &uuid, &blob, &len);
	if (TCS_RC_IS_RK_MISMATCH(rc))
		return fail(TCS_LUKS_E_NO_PARENT, err, errlen, "%s", TCS_RK_MISMATCH_MESSAGE);
	if (is_tss(rc, TSS_E_PS_KEY_NOTFOUND))
		return fail(TCS_LUKS_E_NO_PARENT, err, errlen,
			    "no %s is registered in system persistent storage; %s",
			    parent_label(which), hint);
	if (rc != 0)
		return fail(TCS_LUKS_E_TPM, err, errlen,
			    "cannot read the %s from system persistent storage: %s",
			    parent_label(which), describe(rc, buf, sizeof(buf)));
	if (tcs_key_parse(blob, len, &k, NULL) < 0 || k.key_usage != TPM_KEY_STORAGE ||
	    tcs_key_fingerprint(&k, t->fingerprint) < 0)
		return fail(TCS_LUKS_E_NO_PARENT, err, errlen,
			    "the registered %s is not a storage key; %s", parent_label(which), hint);
	t->parent_migratable = k.key_flags & TPM_KEY_FLAG_MIGRATABLE;
	/* an SRK password (tpm_takeownership without -z) comes from TPM_SRK_PASSWD */
	(void)tcs_auth_srk_secret(srk_secret);
	rc = tcs_client_load_key_by_uuid(t->client, &uuid, tcs_lookup_well_known, srk_secret,
					 &t->parent);
	tcs_wipe(srk_secret, sizeof(srk_secret));
	if (rc == TPM_AUTHFAIL)
		return fail(TCS_LUKS_E_TPM, err, errlen,
			    "cannot load the %s: the TPM refused the SRK secret; give the SRK "
			    "password in " TCS_SRK_PASSWORD_ENV, parent_label(which));
	if (TCS_RC_IS_RK_MISMATCH(rc))
		return fail(TCS_LUKS_E_NO_PARENT, err, errlen, "%s", TCS_RK_MISMATCH_MESSAGE);
	if (rc != 0)
		return fail(TCS_LUKS_E_TPM, err, errlen, "cannot load the %s: %s",
			    parent_label(which), describe(rc, buf, sizeof(buf)));
	return TCS_LUKS_OK;
}

/* A key template with a TPM_PCR_INFO spliced in before its pubKey/encData sizes. */
static int
pcr_template(TcsLuksTpm *t, const uint8_t *tmpl, size_t tmpl_len, uint32_t mask, uint8_t **ret,
	     size_t *ret_len)
{
	_cleanup_free_ uint8_t *info = NULL;
	size_t info_len = 0, head = tmpl_len - PCR_INFO_TAIL;
	uint8_t *out;
	int rc = tcs_client_pcr_info(t->client, mask, &info, &info_len);

	if (rc != 0)
		return rc;
	out = malloc(tmpl_len + info_len);
	if (!out)
		return -ENOMEM;
	memcpy(out, tmpl, head);
	out[head] = (uint8_t)(info_len >> 24);
	out[head + 1] = (uint8_t)(info_len >> 16);
	out[head + 2] = (uint8_t)(info_len >> 8);
	out[head + 3] = (uint8_t)info_len;
	memcpy(out + head + 4, info, info_len);
	memset(out + head + 4 + info_len, 0, 8); /* pubKey, encData: the TPM fills them */
	*ret = out;
	*ret_len = tmpl_len + info_len;
	return 0;
}

TcsLuksResult
tcs_luks_tpm_create(TcsLuksTpm *t, const uint8_t secret[TCS_SECRET_SIZE], uint32_t pcr_mask,
		    const uint8_t *payload, size_t len, TcsLuksToken *tok, char *err,
		    size_t errlen)
{
	/* a non-migratable key cannot live under a migratable parent, and vice versa */
	TcsKeyTemplate tmpl = {
		.usage = TPM_KEY_BIND,
		.flags = t->parent_migratable ? TPM_KEY_FLAG_MIGRATABLE : 0,
		.auth_data_usage = TPM_AUTH_ALWAYS,
		.bits = 2048,
	};
	_cleanup_free_ uint8_t *info = NULL, *pinfo = NULL, *blob = NULL;
	_cleanup_key_ TcsKey k = {0};
	size_t info_len = 0, pinfo_len = 0, blob_len = 0, consumed = 0;
	char buf[160];
	int rc;

	rc = tcs_client_key_template(&tmpl, &info, &info_len);
	if (rc == 0 && pcr_mask)
		rc = info_len > PCR_INFO_TAIL
			     ? pcr_template(t, info, info_len, pcr_mask, &pinfo, &pinfo_len)
			     : -EINVAL;
	if (rc != 0)
		return fail(rc > 0 ? TCS_LUKS_E_TPM : TCS_LUKS_E_LOCAL, err, errlen,
			    "cannot prepare the key template%s: %s",
			    pcr_mask ? " (reading the PCRs)" : "", describe(rc, buf, sizeof(buf)));
	/* migration secret = usage secret: migrating the key alone needs the PIN too */
	rc = tcs_client_create_wrap_key(t->client, t->parent, tcs_auth_well_known, secret, secret,
					pinfo ? pinfo : info, pinfo ? pinfo_len : info_len, &blob,
					&blob_len);
	if (rc != 0)
		return fail(TCS_LUKS_E_TPM, err, errlen, "cannot create a bind key under the %s: %s",
			    parent_label(t->which), describe(rc, buf, sizeof(buf)));
	if (tcs_key_parse(blob, blob_len, &k, &consumed) < 0 || consumed != blob_len ||
	    blob_len > TCS_LUKS_KEY_BLOB_MAX)
		return fail(TCS_LUKS_E_TPM, err, errlen, "the TPM returned an unusable key blob");
	rc = tcs_bind_software(&k, payload, len, &tok->bound, &tok->bound_len);
	if (rc < 0)
		return fail(TCS_LUKS_E_LOCAL, err, errlen,
			    "cannot encrypt the keyslot passphrase to the new TPM key (OpenSSL)");
	tok->parent = t->which;
	memcpy(tok->parent_fingerprint, t->fingerprint, TCS_FINGERPRINT_SIZE);
	tok->key_blob = TCS_TAKE_PTR(blob);
	tok->key_blob_len = blob_len;
	tok->pcr_mask = pcr_mask;
	return TCS_LUKS_OK;
}

TcsLuksResult
tcs_luks_tpm_unlock(TcsLuksTpm *t, const TcsLuksToken *tok, const uint8_t secret[TCS_SECRET_SIZE],
		    uint8_t out[TCS_LUKS_SECRET_SIZE], char *err, size_t errlen)
{
	uint8_t *plain = NULL;
	size_t len = 0;
	uint32_t key = 0;
	char buf[160], pcrs[80];
	int rc;

	/* a clear answer for "another machine" before the TPM says DECRYPT_ERROR */
	if (CRYPTO_memcmp(tok->parent_fingerprint, t->fingerprint, TCS_FINGERPRINT_SIZE) != 0) {
		if (tok->parent == TCS_LUKS_PARENT_SK)
			return fail(TCS_LUKS_E_WRONG_TPM, err, errlen,
				    "this token is bound to the storage key (SK) of the TPM that "
				    "enrolled it; an SK never leaves its TPM, so it cannot open "
				    "here (use the passphrase, or enroll an RK-bound token)");
		return fail(TCS_LUKS_E_WRONG_TPM, err, errlen,
			    "this token was enrolled with another roaming key (RK) than this "
			    "TPM's: restore that RK here ('tpmadm restore' of a backup made on "
			    "the enrolling host), or use the passphrase");
	}
	rc = tcs_client_load_key_by_blob(t->client, t->parent, NULL, tok->key_blob,
					 tok->key_blob_len, &key);
	if (rc == TPM_DECRYPT_ERROR || rc == TPM_BAD_PARAMETER || rc == TPM_FAIL)
		return fail(TCS_LUKS_E_BADTOKEN, err, errlen,
			    "the token's key does not load under this TPM's %s (damaged token?): %s",
			    tcs_luks_parent_name(tok->parent), describe(rc, buf, sizeof(buf)));
	if (rc != 0)
		return fail(TCS_LUKS_E_TPM, err, errlen, "cannot load the token's key: %s",
			    describe(rc, buf, sizeof(buf)));
	rc = tcs_client_unbind(t->client, key, secret, tok->bound, tok->bound_len, &plain, &len);
	(void)tcs_client_evict_key(t->client, key);
	if (rc == 0 && len == TCS_LUKS_SECRET_SIZE)
		memcpy(out, plain, TCS_LUKS_SECRET_SIZE);
	if (plain) {
		OPENSSL_cleanse(plain, len);
		free(plain);
	}
	if (rc == TPM_AUTHFAIL)
		return fail(TCS_LUKS_E_AUTH, err, errlen,
			    tok->pin ? "wrong PIN (the TPM counts failures: repeated wrong PINs "
				       "trigger its dictionary-attack lockout)"
				     : "the TPM refused the token's key authorisation");
	if (rc == TPM_DEFEND_LOCK_RUNNING)
		return fail(TCS_LUKS_E_LOCKOUT, err, errlen,
			    "the TPM refuses authorisation for now after too many wrong PINs "
			    "(dictionary-attack lockout); wait for it to expire, or have the "
			    "TPM owner reset it (TPM_ResetLockValue)");
	if (rc == TPM_WRONGPCRVAL) {
		tcs_luks_format_pcr_list(tok->pcr_mask, pcrs, sizeof(pcrs));
		return fail(TCS_LUKS_E_PCR, err, errlen,
			    "the TPM's PCRs %s differ from their values at enrolment (changed "
			    "firmware, boot loader or kernel?); use the passphrase and re-enroll",
			    pcrs);
	}
	if (rc == TPM_DECRYPT_ERROR || (rc == 0 && len != TCS_LUKS_SECRET_SIZE))
		return fail(TCS_LUKS_E_BADTOKEN, err, errlen,
			    "the token's bound data does not decrypt with its key (damaged token)");
	if (rc != 0)
		return fail(TCS_LUKS_E_TPM, err, errlen, "the TPM cannot unbind the passphrase: %s",
			    describe(rc, buf, sizeof(buf)));
	return TCS_LUKS_OK;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcryptsetup-token-tcs.so: the LUKS2 external token plugin for tokens of
 * type "tcs" (cryptsetup >= 2.4 token ABI CRYPTSETUP_TOKEN_1.0). It reads the
 * token, asks tcsd to load the bind key under the RK/SK and UnBind the
 * keyslot passphrase, and hands that to libcryptsetup. Every message goes
 * through crypt_log; the passphrase is wiped wherever it lies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcryptsetup.h>
#include <openssl/crypto.h>

#include "config.h"
#include "tcs-luks-tpm.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT const char *cryptsetup_token_version(void);
EXPORT int cryptsetup_token_open(struct crypt_device *cd, int token, char **buffer,
				 size_t *buffer_len, void *usrptr);
EXPORT int cryptsetup_token_open_pin(struct crypt_device *cd, int token, const char *pin,
				     size_t pin_size, char **buffer, size_t *buffer_len,
				     void *usrptr);
EXPORT void cryptsetup_token_buffer_free(void *buffer, size_t buffer_len);
EXPORT int cryptsetup_token_validate(struct crypt_device *cd, const char *json);
EXPORT void cryptsetup_token_dump(struct crypt_device *cd, const char *json);

const char *
cryptsetup_token_version(void)
{
	return TCS_VERSION;
}

static int
result_errno(TcsLuksResult r)
{
	switch (r) {
	case TCS_LUKS_OK:
		return 0;
	case TCS_LUKS_E_AUTH:
		return -ENOANO; /* libcryptsetup: PIN missing or wrong, ask again */
	case TCS_LUKS_E_TCSD:
		return -EAGAIN; /* the "hardware" (tcsd and its TPM) is not there */
	case TCS_LUKS_E_LOCAL:
		return -ENOMEM;
	case TCS_LUKS_E_BADTOKEN:
		return -EINVAL;
	case TCS_LUKS_E_TPM:
		return -EIO;
	case TCS_LUKS_E_NO_PARENT:
	case TCS_LUKS_E_WRONG_TPM:
	case TCS_LUKS_E_LOCKOUT:
	case TCS_LUKS_E_PCR:
		break;
	}
	return -EACCES;
}

int
cryptsetup_token_open_pin(struct crypt_device *cd, int token, const char *pin, size_t pin_size,
			  char **buffer, size_t *buffer_len, void *usrptr)
{
	static const char digits[] = "0123456789abcdef";
	TcsLuksToken tok = {0};
	TcsLuksTpm tpm = {0};
	uint8_t secret[TCS_SECRET_SIZE], pass[TCS_LUKS_SECRET_SIZE];
	char err[TCS_LUKS_ERR_SIZE];
	const char *json = NULL;
	TcsLuksResult r;
	char *out;
	int rc;

	(void)usrptr;
	rc = crypt_token_json_get(cd, token, &json);
	if (rc < 0 || !json) {
		crypt_logf(cd, CRYPT_LOG_ERROR, "tcs token %d: cannot read it from the header\n",
			  token);
		return rc < 0 ? rc : -EINVAL;
	}
	rc = tcs_luks_token_parse(json, strlen(json), &tok, err, sizeof(err));
	if (rc < 0) {
		crypt_logf(cd, CRYPT_LOG_ERROR, "tcs token %d: invalid token: %s\n", token, err);
		return rc;
	}
	if (tok.pin && !pin) {
		tcs_luks_token_clear(&tok);
		return -ENOANO; /* libcryptsetup asks for the PIN and calls us again */
	}
	if (tcs_luks_pin_secret(tok.pin ? pin : NULL, pin_size, secret) < 0) {
		tcs_luks_token_clear(&tok);
		return -ENOMEM;
	}
	r = tcs_luks_tpm_open(&tpm, tok.parent, err, sizeof(err));
	if (r == TCS_LUKS_OK)
		r = tcs_luks_tpm_unlock(&tpm, &tok, secret, pass, err, sizeof(err));
	tcs_luks_tpm_close(&tpm);
	tcs_luks_token_clear(&tok);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (r != TCS_LUKS_OK) {
		crypt_logf(cd, CRYPT_LOG_ERROR, "tcs token %d: %s\n", token, err);
		return result_errno(r);
	}
	/* the keyslot passphrase is the hex of the random bytes (tpmluks enroll) */
	out = malloc(2 * TCS_LUKS_SECRET_SIZE + 1);
	if (!out) {
		OPENSSL_cleanse(pass, sizeof(pass));
		return -ENOMEM;
	}
	for (size_t i = 0; i < TCS_LUKS_SECRET_SIZE; i++) {
		out[2 * i] = digits[pass[i] >> 4];
		out[2 * i + 1] = digits[pass[i] & 15];
	}
	out[2 * TCS_LUKS_SECRET_SIZE] = '\0';
	OPENSSL_cleanse(pass, sizeof(pass));
	*buffer = out;
	*buffer_len = 2 * TCS_LUKS_SECRET_SIZE;
	return 0;
}

int
cryptsetup_token_open(struct crypt_device *cd, int token, char **buffer, size_t *buffer_len,
		      void *usrptr)
{
	return cryptsetup_token_open_pin(cd, token, NULL, 0, buffer, buffer_len, usrptr);
}

void
cryptsetup_token_buffer_free(void *buffer, size_t buffer_len)
{
	if (buffer)
		OPENSSL_cleanse(buffer, buffer_len);
	free(buffer);
}

int
cryptsetup_token_validate(struct crypt_device *cd, const char *json)
{
	TcsLuksToken tok = {0};
	char err[TCS_LUKS_ERR_SIZE];
	int rc = tcs_luks_token_parse(json, json ? strlen(json) : 0, &tok, err, sizeof(err));

	if (rc < 0)
		crypt_logf(cd, CRYPT_LOG_ERROR, "tcs token: invalid: %s\n", err);
	tcs_luks_token_clear(&tok);
	return rc;
}

void
cryptsetup_token_dump(struct crypt_device *cd, const char *json)
{
	TcsLuksToken tok = {0};
	char err[TCS_LUKS_ERR_SIZE], pcrs[80], fp[2 * TCS_FINGERPRINT_SIZE + 1];

	if (tcs_luks_token_parse(json, json ? strlen(json) : 0, &tok, err, sizeof(err)) < 0) {
		crypt_logf(cd, CRYPT_LOG_NORMAL, "\tinvalid tcs token: %s\n", err);
		return;
	}
	for (size_t i = 0; i < TCS_FINGERPRINT_SIZE; i++)
		snprintf(fp + 2 * i, 3, "%02x", tok.parent_fingerprint[i]);
	tcs_luks_format_pcr_list(tok.pcr_mask, pcrs, sizeof(pcrs));
	crypt_logf(cd, CRYPT_LOG_NORMAL, "\ttcs parent: %s (SHA-256 of modulus %.16s…)\n",
		  tok.parent == TCS_LUKS_PARENT_SK ? "SK (this TPM only)" : "RK (roaming)", fp);
	crypt_logf(cd, CRYPT_LOG_NORMAL, "\ttcs PIN:    %s\n", tok.pin ? "yes" : "no");
	crypt_logf(cd, CRYPT_LOG_NORMAL, "\ttcs PCRs:   %s\n", tok.pcr_mask ? pcrs : "none");
	tcs_luks_token_clear(&tok);
}

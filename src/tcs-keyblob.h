/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key blob files: the PEM form openssl_tpm_engine's create_tpm_key writes,
 *
 *     -----BEGIN TSS KEY BLOB-----
 *     base64 of a DER OCTET STRING holding the TPM_KEY (or TPM_KEY12) bytes
 *     -----END TSS KEY BLOB-----
 *
 * (no PEM headers). Those keys are wrapped by the SRK, which the file does
 * not say. tpmcreate's keys are wrapped by the RK, so a parent other than the
 * SRK is recorded as one line of explanatory text before the boundary:
 *
 *     Parent-UUID: 00000000-0000-0000-0000-000000000003
 *     -----BEGIN TSS KEY BLOB-----
 *
 * PEM readers ignore text outside the boundaries (RFC 7468 section 5.2;
 * OpenSSL's PEM_read_bio and GnuTLS skip it), so openssl_tpm_engine-style
 * loaders still read the blob. A PEM header line ("Parent: …" inside the
 * block) would not do: OpenSSL takes any header for Proc-Type and refuses
 * the block. No line means the SRK. The parent must be a key registered in
 * system persistent storage (the SRK always is).
 *
 * Every function returns 0 or a negative errno: -EBADMSG (not a TSS KEY BLOB,
 * not DER, not a TPM_KEY, bad Parent-UUID), -ENOMEM, -EIO, or the errno of a
 * failed open/read/write.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcs-client.h"
#include "tcs-types.h"

#define TCS_KEYBLOB_PEM_NAME "TSS KEY BLOB"
#define TCS_KEYBLOB_PARENT_TAG "Parent-UUID:"
#define TCS_KEYBLOB_MAX_FILE (64u * 1024)

typedef struct {
	uint8_t *blob; /* the TPM_KEY / TPM_KEY12, malloc'd */
	size_t blob_len;
	TcsUuid parent;       /* the SRK unless recorded */
	bool parent_recorded; /* a Parent-UUID line was present */
} TcsKeyBlob;

/* NULL-safe; leaves *kb zeroed. */
void tcs_keyblob_clear(TcsKeyBlob *kb);
#define _cleanup_keyblob_ _cleanup_(tcs_keyblob_clear)

/* Parse the text of a key blob file (the TPM_KEY must fill the OCTET STRING exactly). */
int tcs_keyblob_parse(const char *text, size_t len, TcsKeyBlob *ret);
int tcs_keyblob_read_file(const char *path, TcsKeyBlob *ret);
/*
 * DER forms, for OpenSSL decoder chains that pass DER between stages:
 *   OCTET STRING (the TPM_KEY)                  the PEM block's content; the
 *                                               parent is not known (loaders
 *                                               try the SRK, then the RK)
 *   SEQUENCE { OCTET STRING (the TPM_KEY),      this library's own form, with
 *              OCTET STRING (16-byte UUID) }    the parent (wire byte order)
 * tcs_keyblob_to_der writes the second form when a parent is recorded, else
 * the first; *ret malloc'd.
 */
int tcs_keyblob_parse_der(const uint8_t *der, size_t len, TcsKeyBlob *ret);
int tcs_keyblob_to_der(const TcsKeyBlob *kb, uint8_t **ret, size_t *ret_len);

/*
 * Format a TPM_KEY as a key blob file; parent NULL or the SRK writes exactly
 * what create_tpm_key writes. *ret is a malloc'd NUL-terminated string.
 */
int tcs_keyblob_format(const uint8_t *blob, size_t len, const TcsUuid *parent, char **ret,
		       size_t *ret_len);
/* Write it to path (created 0600); an existing file is replaced only with
 * replace, else -EEXIST. */
int tcs_keyblob_write_file(const char *path, const uint8_t *blob, size_t len,
			   const TcsUuid *parent, bool replace);

/* ---- loading a key blob through a TSS client ---- */

/* What the tools say when the RK (or another recorded parent) is not registered. */
#define TCS_KEYBLOB_NO_RK_MESSAGE                                                                  \
	"no RK (00000000-0000-0000-0000-000000000003) in system persistent storage: create it "    \
	"with `tpmadm addkey key=rk` / `tpmctl addkey rk`"
/*
 * What they say when tcsd refuses the RK it finds in system.data because it
 * is not the one it recorded (tcsd answers TCS_E_KEY_MISMATCH only then).
 */
#define TCS_RK_MISMATCH_MESSAGE                                                                    \
	"the RK registered in system PS is not the one tcsd recorded when it was created: "       \
	"system.data was changed outside tcsd, and whoever put this RK there may read what is "   \
	"encrypted under it; restore the RK (`tpmctl restore`) or make a new one (`tpmctl addkey " \
	"rk --replace`)"
#define TCS_RC_IS_RK_MISMATCH(rc) ((rc) > 0 && ((uint32_t)(rc) & 0xfffu) == TCS_E_KEY_MISMATCH)

/*
 * Load a parent key from system persistent storage: for the SRK
 * *ret_secret = srk_secret; any other UUID is loaded by UUID (the SRK
 * authorised with srk_secret on the way), and *ret_secret is NULL when its
 * authDataUsage is TPM_AUTH_NEVER, else the well-known secret (the RK's,
 * by project decision). -ENOENT when the UUID is not registered; otherwise
 * the tcs-client.h results.
 */
int tcs_keyblob_load_parent(TcsClient *c, const TcsUuid *parent,
			    const uint8_t srk_secret[TCS_SECRET_SIZE], uint32_t *ret_handle,
			    const uint8_t **ret_secret);
/* Load the blob under its parent (as above); *ret_handle is the key's TCS handle. */
int tcs_keyblob_load(TcsClient *c, const TcsKeyBlob *kb, const uint8_t srk_secret[TCS_SECRET_SIZE],
		     uint32_t *ret_handle);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A blocking TSS client for the TCSD protocol: what libtspi's RPC layer and
 * its authorisation code do, for our tools. It speaks to our tcsd and to
 * TrouSerS' alike (requests are laid out as libtspi lays them out).
 *
 * One TcsClient is one TCP connection carrying at most one TCS context, as
 * libtspi does. It is not thread-safe; use one per thread.
 *
 * Results. Every int-returning function returns
 *     0   success; the outputs are written (and only then),
 *   < 0   a negative errno for local and transport failures: -ENOTCONN (no
 *         connection or no open context), -ETIMEDOUT, -ECONNRESET, -EBADMSG
 *         (a malformed reply, or a reply whose authorisation HMAC does not
 *         verify: its data cannot be trusted), -EMSGSIZE, -ENOMEM, -EIO
 *         (OpenSSL), -EINVAL (bad arguments),
 *   > 0   the TSS_RESULT the daemon answered: a TPM return code with layer 0
 *         (TPM_AUTHFAIL = 0x1 for a wrong secret) or a TCS error
 *         (0x2000 | code, e.g. 0x20CA TCS_E_KM_LOADFAILED).
 * After a transport failure the connection is closed (the stream may be out
 * of step); every later call gives -ENOTCONN.
 *
 * Secrets are 20-byte TPM secrets (see tcs-auth.h to derive them); a NULL
 * secret where one is optional means "no authorisation". Authorised
 * commands run in their own OIAP or OSAP session with continueAuthSession
 * false, so the TPM closes the session with the command, and the reply's
 * HMAC is checked before any output is returned. Buffers returned with
 * secrets in them (UnBind, Unseal) should be wiped by the caller.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcs-auth.h"
#include "tcs-common.h"
#include "tcs-types.h"

#define TCS_CLIENT_DEFAULT_HOST "localhost"
#define TCS_CLIENT_DEFAULT_PORT "30003"
#define TCS_CLIENT_CONNECT_TIMEOUT_MS 10000
/* per exchange: a TPM 1.2 may need a minute or two to generate an RSA key */
#define TCS_CLIENT_TIMEOUT_MS 300000

/* TPM_KEY_FLAGS and TPM_AUTH_DATA_USAGE */
#define TPM_KEY_FLAG_REDIRECTION 0x00000001u
#define TPM_KEY_FLAG_MIGRATABLE 0x00000002u
#define TPM_KEY_FLAG_VOLATILE 0x00000004u
#define TPM_KEY_FLAG_PCR_IGNORED_ON_READ 0x00000008u
#define TPM_AUTH_NEVER 0x00u
#define TPM_AUTH_ALWAYS 0x01u
#define TPM_AUTH_PRIV_USE_ONLY 0x03u

typedef struct TcsClient TcsClient;

/*
 * Connect to a tcsd. host NULL: $TSS_TCSD_HOSTNAME, else "localhost"; port
 * NULL: $TSS_TCSD_PORT, else "30003" (numeric, as libtspi). Every address
 * the name resolves to is tried in turn, each for at most
 * TCS_CLIENT_CONNECT_TIMEOUT_MS. No context is opened yet.
 */
int tcs_client_connect(const char *host, const char *port, TcsClient **ret);
/*
 * A client without a socket: each request frame goes to exchange(), which
 * returns the whole reply frame (malloc'd) or a negative errno. tcsd uses
 * this to run its own management operations through the TCS layer.
 */
typedef int (*TcsClientExchange)(const uint8_t *req, size_t len, uint8_t **reply,
				 size_t *reply_len, void *userdata);
int tcs_client_new_exchange(TcsClientExchange exchange, void *userdata, TcsClient **ret);
/* Close the context (best effort, briefly) and the connection. NULL-safe. */
void tcs_client_free(TcsClient *c);
TCS_DEFINE_CLEANUP(TcsClient *, tcs_client_free)
#define _cleanup_client_ _cleanup_(tcs_client_freep)
/* Time allowed for one request/reply exchange; <= 0 restores the default. */
void tcs_client_set_timeout(TcsClient *c, int timeout_ms);

/* ---- context ---- */
int tcs_client_open_context(TcsClient *c);
int tcs_client_close_context(TcsClient *c);
/* The open context's handle (0 when none) and the TPM's minor version (2 = TPM 1.2). */
uint32_t tcs_client_context(const TcsClient *c);
uint32_t tcs_client_tpm_version(const TcsClient *c);

/* ---- TPM pass-through ---- */
/* n random bytes from the TPM (several requests if the TPM returns fewer). */
int tcs_client_get_random(TcsClient *c, void *buf, size_t n);
/* TPM_GetCapability(area, subCap): the raw response bytes, malloc'd. */
int tcs_client_get_capability(TcsClient *c, uint32_t area, const void *sub, size_t sub_len,
			      uint8_t **ret, size_t *ret_len);

/*
 * TPM_ResetLockValue with the owner's secret: ends the dictionary-attack
 * lockout (TPM_DEFEND_LOCK_RUNNING) that repeated wrong secrets cause.
 * An owner-class command: tcsd allows it to local root/tss only.
 */
int tcs_client_reset_lock_value(TcsClient *c, const uint8_t owner_secret[TCS_SECRET_SIZE]);

/* ---- authorisation sessions (for callers that run their own) ---- */
/* OIAP: *ret gets the handle, nonceEven and a copy of usage_secret. */
int tcs_client_oiap(TcsClient *c, const uint8_t usage_secret[TCS_SECRET_SIZE], TcsAuthSession *ret);
/* OSAP on an entity (TPM_ET_*, e.g. TPM_ET_KEYHANDLE + a TCS key handle): *ret
 * gets the nonces and the shared secret derived from entity_secret. */
int tcs_client_osap(TcsClient *c, uint16_t entity_type, uint32_t entity_value,
		    const uint8_t entity_secret[TCS_SECRET_SIZE], TcsAuthSession *ret);
int tcs_client_terminate_handle(TcsClient *c, uint32_t auth_handle);

/* ---- system persistent storage ---- */
typedef struct {
	TcsUuid uuid;
	TcsUuid parent;
	uint8_t auth_data_usage;
	bool loaded;
} TcsRegisteredKey;

/* The parent must be registered already (the SRK always is once owned). */
int tcs_client_register_key(TcsClient *c, const TcsUuid *parent, const TcsUuid *uuid,
			    const uint8_t *blob, size_t len);
int tcs_client_unregister_key(TcsClient *c, const TcsUuid *uuid);
/* All registered keys (uuid NULL), or the path from uuid up to the SRK; *ret malloc'd. */
int tcs_client_enum_registered_keys(TcsClient *c, const TcsUuid *uuid, TcsRegisteredKey **ret,
				    size_t *n);
int tcs_client_get_registered_key_blob(TcsClient *c, const TcsUuid *uuid, uint8_t **ret,
				       size_t *ret_len);

/*
 * Looks up the usage secret of a (parent) key the daemon needs authorisation
 * for. Return 0 with secret filled, or a negative errno when unknown.
 */
typedef int (*TcsSecretLookup)(const TcsUuid *uuid, uint8_t secret[TCS_SECRET_SIZE],
			       void *userdata);
/*
 * Load a registered key (and its registered ancestors) by UUID. When the
 * daemon answers TCS_E_KM_LOADFAILED with a filled LOADKEY_INFO, a parent
 * needs authorisation: its secret comes from lookup (NULL: none known; an
 * unknown secret gives 0x20CA back), an OIAP session authorises that one
 * load and the request is repeated, once per level that needs it, however
 * deep. TrouSerS' tcsd cannot use a LOADKEY_INFO below the SRK (and would
 * return an ancestor's handle for the key asked for); there the rest of the
 * path is loaded by blob (GetRegisteredKeyBlob + LoadKeyByBlob). Ancestors
 * loaded on the way stay loaded in the context until it closes.
 */
int tcs_client_load_key_by_uuid(TcsClient *c, const TcsUuid *uuid, TcsSecretLookup lookup,
				void *userdata, uint32_t *ret_handle);

/* ---- keys ---- */
/* Load a TPM_KEY/TPM_KEY12 blob under parent; parent_secret NULL: no authorisation. */
int tcs_client_load_key_by_blob(TcsClient *c, uint32_t parent, const uint8_t *parent_secret,
				const uint8_t *blob, size_t len, uint32_t *ret_handle);
int tcs_client_evict_key(TcsClient *c, uint32_t key);
/* TPM_FlushSpecific through the TCS (TPM_RT_KEY, TPM_RT_AUTH, …). */
int tcs_client_flush_specific(TcsClient *c, uint32_t handle, uint32_t resource_type);

/* A key template for CreateWrapKey (RSA; exponent 65537). */
typedef struct {
	uint16_t usage;          /* TPM_KEY_SIGNING, TPM_KEY_BIND, TPM_KEY_STORAGE, … */
	uint32_t flags;          /* TPM_KEY_FLAG_* */
	uint8_t auth_data_usage; /* TPM_AUTH_NEVER / _ALWAYS / _PRIV_USE_ONLY */
	uint32_t bits;           /* 0 = 2048 */
	uint16_t enc_scheme;     /* 0 = by usage: OAEP for storage/bind/legacy, else none */
	uint16_t sig_scheme;     /* 0 = by usage: PKCS#1 v1.5 SHA-1 for signing/legacy */
	bool key12;              /* TPM_KEY12 instead of the 1.1 TPM_KEY (as libtspi) */
} TcsKeyTemplate;

/* Serialise a template as the keyInfo of CreateWrapKey; *ret malloc'd. */
int tcs_client_key_template(const TcsKeyTemplate *t, uint8_t **ret, size_t *ret_len);

/*
 * TPM_CreateWrapKey under parent, authorised with an OSAP session on it.
 * usage_secret / migration_secret NULL: the well-known secret (all zeros).
 * Returns the wrapped key (TPM_KEY or TPM_KEY12, as the template), malloc'd.
 */
int tcs_client_create_wrap_key(TcsClient *c, uint32_t parent,
			       const uint8_t parent_secret[TCS_SECRET_SIZE],
			       const uint8_t *usage_secret, const uint8_t *migration_secret,
			       const uint8_t *key_info, size_t key_info_len, uint8_t **ret,
			       size_t *ret_len);
/* TPM_GetPubKey: a TPM_PUBKEY (tcs_pubkey_parse), malloc'd. */
int tcs_client_get_pub_key(TcsClient *c, uint32_t key, const uint8_t *secret, uint8_t **ret,
			   size_t *ret_len);
/* TPM_Sign of data (for TPM_SS_RSASSAPKCS1v15_SHA1: a 20-byte SHA-1 digest). */
int tcs_client_sign(TcsClient *c, uint32_t key, const uint8_t *secret, const void *data, size_t len,
		    uint8_t **ret, size_t *ret_len);
/* TPM_UnBind: the plaintext (for bind keys, the TPM_BOUND_DATA payload). */
int tcs_client_unbind(TcsClient *c, uint32_t key, const uint8_t *secret, const void *data,
		      size_t len, uint8_t **ret, size_t *ret_len);
/*
 * TPM_Seal under a storage key (OSAP on it; data_secret sent with ADIP).
 * pcr_info: a TPM_PCR_INFO(_LONG) or NULL. Returns a TPM_STORED_DATA.
 */
int tcs_client_seal(TcsClient *c, uint32_t key, const uint8_t key_secret[TCS_SECRET_SIZE],
		    const uint8_t data_secret[TCS_SECRET_SIZE], const uint8_t *pcr_info,
		    size_t pcr_info_len, const void *data, size_t len, uint8_t **ret,
		    size_t *ret_len);
/* TPM_Unseal; key_secret NULL when the key needs no authorisation. */
int tcs_client_unseal(TcsClient *c, uint32_t key, const uint8_t *key_secret,
		      const uint8_t data_secret[TCS_SECRET_SIZE], const uint8_t *sealed,
		      size_t sealed_len, uint8_t **ret, size_t *ret_len);

/* ---- owner class (tcs-client-owner.c); tcsd allows these to local root/tss ---- */
/* TPM_ReadPubek: the endorsement key's TPM_PUBKEY (checksum verified). */
int tcs_client_read_pubek(TcsClient *c, uint8_t **ret, size_t *ret_len);
/* RSA-OAEP (SHA-1, label "TCPA") to a TPM_PUBKEY or TPM_KEY, as TPMs take secrets. */
int tcs_client_encrypt_oaep_tcpa(const uint8_t *pubkey, size_t pubkey_len, const void *data,
				 size_t len, uint8_t **ret, size_t *ret_len);
/* TPM_TakeOwnership with a 2048-bit SRK; the new SRK's TPM_KEY in *ret_srk (optional). */
int tcs_client_take_ownership(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE],
			      const uint8_t srk[TCS_SECRET_SIZE], uint8_t **ret_srk,
			      size_t *ret_len);
int tcs_client_owner_clear(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE]);
/* TPM_ChangeAuthOwner for the owner secret itself (OSAP + ADIP). */
int tcs_client_change_owner_secret(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE],
				   const uint8_t new_owner[TCS_SECRET_SIZE]);
int tcs_client_owner_set_disable(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE],
				 bool disable);
/* Physical-presence commands: they fail with TPM_BAD_PRESENCE once firmware locked it. */
int tcs_client_physical_enable(TcsClient *c, bool enable);
int tcs_client_physical_set_deactivated(TcsClient *c, bool deactivated);
/* TPM_OwnerReadInternalPub (TPM_KH_SRK or TPM_KH_EK): a TPM_PUBKEY. */
int tcs_client_owner_read_internal_pub(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE],
				       uint32_t key_handle, uint8_t **ret, size_t *ret_len);

#define TSS_MS_MIGRATE 0x0020u
#define TSS_MS_REWRAP 0x0021u
/* TPM_AuthorizeMigrationKey: the TPM_MIGRATIONKEYAUTH ticket for pubkey (a TPM_PUBKEY). */
int tcs_client_authorize_migration_key(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE],
				       uint16_t scheme, const uint8_t *pubkey, size_t pubkey_len,
				       uint8_t **ret, size_t *ret_len);
typedef struct {
	uint8_t *random; /* empty for TSS_MS_REWRAP */
	size_t random_len;
	uint8_t *out;
	size_t out_len;
} TcsMigrationBlob;
void tcs_migration_blob_clear(TcsMigrationBlob *b);
/*
 * TPM_CreateMigrationBlob of a key's encData (from its TPM_KEY) under parent;
 * parent_secret NULL: the parent needs no authorisation.
 */
int tcs_client_create_migration_blob(TcsClient *c, uint32_t parent, const uint8_t *parent_secret,
				     const uint8_t migration_secret[TCS_SECRET_SIZE],
				     uint16_t scheme, const uint8_t *ticket, size_t ticket_len,
				     const uint8_t *enc_data, size_t enc_len,
				     TcsMigrationBlob *ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-rc.h"

#include <stdio.h>

#include "tcs-common.h"
#include "tcs-types.h"

typedef struct {
	uint32_t code;
	const char *name;
	const char *message;
} RcEntry;

/* TPM 1.2 return codes (layer 0x0000) */
static const RcEntry tpm_codes[] = {
	{0x01, "TPM_E_AUTHFAIL", "authentication failed"},
	{0x02, "TPM_E_BADINDEX", "bad index"},
	{0x03, "TPM_E_BAD_PARAMETER", "bad parameter"},
	{0x04, "TPM_E_AUDITFAILURE", "audit failure"},
	{0x05, "TPM_E_CLEAR_DISABLED", "clear has been disabled"},
	{0x06, "TPM_E_DEACTIVATED", "TPM is deactivated"},
	{0x07, "TPM_E_DISABLED", "TPM is disabled"},
	{0x08, "TPM_E_DISABLED_CMD", "the command has been disabled"},
	{0x09, "TPM_E_FAIL", "operation failed"},
	{0x0a, "TPM_E_BAD_ORDINAL", "unknown or inconsistent ordinal"},
	{0x0b, "TPM_E_INSTALL_DISABLED", "owner install disabled"},
	{0x0c, "TPM_E_INVALID_KEYHANDLE", "invalid key handle"},
	{0x0d, "TPM_E_KEYNOTFOUND", "key not found"},
	{0x0e, "TPM_E_INAPPROPRIATE_ENC", "unacceptable encryption scheme"},
	{0x0f, "TPM_E_MIGRATEFAIL", "migration authorisation failed"},
	{0x10, "TPM_E_INVALID_PCR_INFO", "invalid PCR information"},
	{0x11, "TPM_E_NOSPACE", "no room to load the key"},
	{0x12, "TPM_E_NOSRK", "no SRK: the TPM has no owner"},
	{0x13, "TPM_E_NOTSEALED_BLOB", "not a sealed blob"},
	{0x14, "TPM_E_OWNER_SET", "the TPM already has an owner"},
	{0x15, "TPM_E_RESOURCES", "the TPM is out of resources"},
	{0x16, "TPM_E_SHORTRANDOM", "random string too short"},
	{0x17, "TPM_E_SIZE", "the TPM has no room for the operation"},
	{0x18, "TPM_E_WRONGPCRVAL", "PCR values do not match"},
	{0x19, "TPM_E_BAD_PARAM_SIZE", "bad paramSize"},
	{0x1a, "TPM_E_SHA_THREAD", "no SHA-1 thread"},
	{0x1b, "TPM_E_SHA_ERROR", "SHA-1 error"},
	{0x1c, "TPM_E_FAILEDSELFTEST", "self test failed"},
	{0x1d, "TPM_E_AUTH2FAIL", "second authorisation failed"},
	{0x1e, "TPM_E_BADTAG", "bad tag"},
	{0x1f, "TPM_E_IOERROR", "I/O error"},
	{0x20, "TPM_E_ENCRYPT_ERROR", "encryption error"},
	{0x21, "TPM_E_DECRYPT_ERROR", "decryption error"},
	{0x22, "TPM_E_INVALID_AUTHHANDLE", "invalid authorisation handle"},
	{0x23, "TPM_E_NO_ENDORSEMENT", "no endorsement key"},
	{0x24, "TPM_E_INVALID_KEYUSAGE", "key usage not allowed"},
	{0x25, "TPM_E_WRONG_ENTITYTYPE", "wrong entity type"},
	{0x26, "TPM_E_INVALID_POSTINIT", "wrong power-on state"},
	{0x27, "TPM_E_INAPPROPRIATE_SIG", "inappropriate signature scheme"},
	{0x2c, "TPM_E_BAD_MODE", "bad mode parameter"},
	{0x2d, "TPM_E_BAD_PRESENCE", "physical presence required"},
	{0x2e, "TPM_E_BAD_VERSION", "bad version"},
	{0x32, "TPM_E_NOTRESETABLE", "PCR cannot be reset"},
	{0x3b, "TPM_E_AUTH_CONFLICT", "authorisation conflict"},
	{0x3c, "TPM_E_AREA_LOCKED", "NV area locked"},
	{0x3f, "TPM_E_PER_NOWRITE", "NV area without write protection"},
	{0x45, "TPM_E_BAD_COUNTER", "bad counter"},
	{0x49, "TPM_E_NOOPERATOR", "no operator authorisation set"},
	{0x58, "TPM_E_BAD_HANDLE", "bad handle"},
	{0x5a, "TPM_E_BADCONTEXT", "bad saved context"},
	{0x63, "TPM_E_NOCONTEXTSPACE", "no room for a saved context"},
	{0x800, "TPM_E_RETRY", "TPM busy, retry"},
	{0x803, "TPM_E_DEFEND_LOCK_RUNNING", "dictionary-attack lockout active"},
};

/* TSS/TCS codes (the low 12 bits; layer 0x2000 = TCS, 0x3000 = TSP) */
static const RcEntry tss_codes[] = {
	{TSS_E_FAIL, "TSS_E_FAIL", "general failure"},
	{TSS_E_BAD_PARAMETER, "TSS_E_BAD_PARAMETER", "bad parameter"},
	{TSS_E_INTERNAL_ERROR, "TSS_E_INTERNAL_ERROR", "internal error or malformed request"},
	{TSS_E_OUTOFMEMORY, "TSS_E_OUTOFMEMORY", "out of memory or over a limit"},
	{TSS_E_NOTIMPL, "TSS_E_NOTIMPL", "not implemented"},
	{TSS_E_KEY_ALREADY_REGISTERED, "TSS_E_KEY_ALREADY_REGISTERED", "UUID already registered"},
	{TSS_E_COMM_FAILURE, "TSS_E_COMM_FAILURE", "communication failure"},
	{TSS_E_PS_KEY_NOTFOUND, "TSS_E_PS_KEY_NOTFOUND", "key not found in persistent storage"},
	{TSS_E_KEY_NOT_LOADED, "TSS_E_KEY_NOT_LOADED", "key not loaded"},
	{TCS_E_INVALID_CONTEXTHANDLE, "TCS_E_INVALID_CONTEXTHANDLE", "invalid context handle"},
	{TCS_E_INVALID_KEYHANDLE, "TCS_E_INVALID_KEYHANDLE", "invalid key handle"},
	{TCS_E_INVALID_AUTHHANDLE, "TCS_E_INVALID_AUTHHANDLE", "invalid authorisation handle"},
	{TCS_E_INVALID_AUTHSESSION, "TCS_E_INVALID_AUTHSESSION", "invalid authorisation session"},
	{TCS_E_INVALID_KEY, "TCS_E_INVALID_KEY", "invalid key"},
	{TCS_E_KEY_MISMATCH, "TCS_E_KEY_MISMATCH", "key mismatch"},
	{TCS_E_KM_LOADFAILED, "TCS_E_KM_LOADFAILED", "key load failed: parent needs authorisation"},
	{TCS_E_KEY_CONTEXT_RELOAD, "TCS_E_KEY_CONTEXT_RELOAD", "key context reload failed"},
	{TCS_E_BAD_INDEX, "TCS_E_BAD_INDEX", "bad index"},
};

static const RcEntry *
lookup(uint32_t rc)
{
	uint32_t layer = rc & 0xF000u;

	if (layer == 0)
		for (size_t i = 0; i < TCS_ARRAY_SIZE(tpm_codes); i++)
			if (tpm_codes[i].code == rc)
				return &tpm_codes[i];
	if (layer == 0x2000u || layer == 0x3000u)
		for (size_t i = 0; i < TCS_ARRAY_SIZE(tss_codes); i++)
			if (tss_codes[i].code == (rc & 0x0FFFu))
				return &tss_codes[i];
	return NULL;
}

const char *
tcs_rc_name(uint32_t rc)
{
	const RcEntry *e = lookup(rc);
	return rc == 0 ? "TSS_SUCCESS" : e ? e->name : NULL;
}

const char *
tcs_rc_message(uint32_t rc)
{
	const RcEntry *e = lookup(rc);
	return rc == 0 ? "success" : e ? e->message : "unknown error";
}

const char *
tcs_rc_describe(uint32_t rc, char *buf, size_t len)
{
	const char *name = tcs_rc_name(rc);

	snprintf(buf, len, "0x%08x %s (%s)", rc, name ? name : "?", tcs_rc_message(rc));
	return buf;
}

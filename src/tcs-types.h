/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TPM 1.2 and TSS 1.2 constants used on the two wires (TCSD protocol and TPM commands). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* ---- TCSD packet parameter type codes (one byte per parameter) ---- */
enum {
	TCSD_TYPE_BYTE = 0,
	TCSD_TYPE_BOOL = 1,
	TCSD_TYPE_UINT16 = 2,
	TCSD_TYPE_UINT32 = 3,
	TCSD_TYPE_PBYTE = 4,
	TCSD_TYPE_KEY = 5,
	TCSD_TYPE_NONCE = 6,
	TCSD_TYPE_AUTH = 7,
	TCSD_TYPE_DIGEST = 8,
	TCSD_TYPE_UUID = 9,
	TCSD_TYPE_ENCAUTH = 10,
	TCSD_TYPE_VERSION = 11,
	TCSD_TYPE_KM_KEYINFO = 12,
	TCSD_TYPE_KM_KEYINFO2 = 13,
	TCSD_TYPE_LOADKEY_INFO = 14,
	TCSD_TYPE_PCR_EVENT = 15,
	TCSD_TYPE_COUNTER_VALUE = 16,
	TCSD_TYPE_UINT64 = 17,
	TCSD_TYPE_SECRET = 18,
	TCSD_TYPE_MAX = 18,
};

#define TCSD_HEADER_SIZE 28u
#define TCS_DIGEST_SIZE 20u
#define TCS_AUTH_IN_SIZE 45u  /* handle, nonceOdd, continue, HMAC */
#define TCS_AUTH_OUT_SIZE 41u /* nonceEven, continue, HMAC */
#define TCS_LOADKEY_INFO_SIZE 117u

/* ---- TSS result codes ---- */
#define TSS_LAYER_TCS 0x2000u
#define TCS_ERR(x) (TSS_LAYER_TCS | (x))
enum {
	TSS_SUCCESS = 0,
	TSS_E_FAIL = 0x002,
	TSS_E_BAD_PARAMETER = 0x003,
	TSS_E_INTERNAL_ERROR = 0x004,
	TSS_E_OUTOFMEMORY = 0x005,
	TSS_E_NOTIMPL = 0x006,
	TSS_E_KEY_ALREADY_REGISTERED = 0x008,
	TSS_E_COMM_FAILURE = 0x011,
	TSS_E_PS_KEY_NOTFOUND = 0x020,
	TSS_E_KEY_NOT_LOADED = 0x10e,
	TCS_E_KEY_MISMATCH = 0x0c8,
	TCS_E_KM_LOADFAILED = 0x0ca,
	TCS_E_KEY_CONTEXT_RELOAD = 0x0cc,
	TCS_E_BAD_INDEX = 0x0cd,
	TCS_E_INVALID_CONTEXTHANDLE = 0x0c1,
	TCS_E_INVALID_KEYHANDLE = 0x0c2,
	TCS_E_INVALID_AUTHHANDLE = 0x0c3,
	TCS_E_INVALID_AUTHSESSION = 0x0c4,
	TCS_E_INVALID_KEY = 0x0c5,
};

/* ---- TPM 1.2 return codes (the subset tcs names) ---- */
enum {
	TPM_SUCCESS = 0,
	TPM_AUTHFAIL = 0x01,
	TPM_BADINDEX = 0x02,
	TPM_BAD_PARAMETER = 0x03,
	TPM_CLEAR_DISABLED = 0x05,
	TPM_DEACTIVATED = 0x06,
	TPM_DISABLED = 0x07,
	TPM_DISABLED_CMD = 0x08,
	TPM_FAIL = 0x09,
	TPM_BAD_ORDINAL = 0x0a,
	TPM_INSTALL_DISABLED = 0x0b,
	TPM_INVALID_KEYHANDLE = 0x0c,
	TPM_NOSPACE = 0x11,
	TPM_NOSRK = 0x12,
	TPM_OWNER_SET = 0x14,
	TPM_RESOURCES = 0x15,
	TPM_SIZE = 0x17,
	TPM_WRONGPCRVAL = 0x18,
	TPM_AUTH2FAIL = 0x1d,
	TPM_DECRYPT_ERROR = 0x21,
	TPM_INVALID_AUTHHANDLE = 0x22,
	TPM_NO_ENDORSEMENT = 0x23,
	TPM_BAD_PRESENCE = 0x2d,
	TPM_NOCONTEXTSPACE = 0x63,
	TPM_RETRY = 0x800,
	TPM_DEFEND_LOCK_RUNNING = 0x803,
};

/* TPM_PROTOCOL_ID */
#define TPM_PID_ADCP 0x0004u
#define TPM_PID_OWNER 0x0005u

/* ---- TPM 1.2 command tags ---- */
#define TPM_TAG_RQU_COMMAND 0x00C1u
#define TPM_TAG_RQU_AUTH1_COMMAND 0x00C2u
#define TPM_TAG_RQU_AUTH2_COMMAND 0x00C3u
#define TPM_TAG_RSP_COMMAND 0x00C4u

/* ---- TPM 1.2 ordinals ---- */
enum {
	TPM_ORD_OIAP = 0x0a,
	TPM_ORD_OSAP = 0x0b,
	TPM_ORD_ChangeAuth = 0x0c,
	TPM_ORD_TakeOwnership = 0x0d,
	TPM_ORD_ChangeAuthOwner = 0x10,
	TPM_ORD_DSAP = 0x11,
	TPM_ORD_CMK_CreateTicket = 0x12,
	TPM_ORD_CMK_CreateKey = 0x13,
	TPM_ORD_Extend = 0x14,
	TPM_ORD_PcrRead = 0x15,
	TPM_ORD_Quote = 0x16,
	TPM_ORD_Seal = 0x17,
	TPM_ORD_Unseal = 0x18,
	TPM_ORD_DirWriteAuth = 0x19,
	TPM_ORD_DirRead = 0x1a,
	TPM_ORD_CMK_CreateBlob = 0x1b,
	TPM_ORD_CMK_SetRestrictions = 0x1c,
	TPM_ORD_CMK_ApproveMA = 0x1d,
	TPM_ORD_UnBind = 0x1e,
	TPM_ORD_CreateWrapKey = 0x1f,
	TPM_ORD_LoadKey = 0x20,
	TPM_ORD_GetPubKey = 0x21,
	TPM_ORD_EvictKey = 0x22,
	TPM_ORD_KeyControlOwner = 0x23,
	TPM_ORD_CMK_ConvertMigration = 0x24,
	TPM_ORD_MigrateKey = 0x25,
	TPM_ORD_CreateMigrationBlob = 0x28,
	TPM_ORD_ConvertMigrationBlob = 0x2a,
	TPM_ORD_AuthorizeMigrationKey = 0x2b,
	TPM_ORD_CreateMaintenanceArchive = 0x2c,
	TPM_ORD_LoadMaintenanceArchive = 0x2d,
	TPM_ORD_KillMaintenanceFeature = 0x2e,
	TPM_ORD_LoadManuMaintPub = 0x2f,
	TPM_ORD_ReadManuMaintPub = 0x30,
	TPM_ORD_CertifyKey = 0x32,
	TPM_ORD_CertifyKey2 = 0x33,
	TPM_ORD_Sign = 0x3c,
	TPM_ORD_Sealx = 0x3d,
	TPM_ORD_Quote2 = 0x3e,
	TPM_ORD_SetCapability = 0x3f,
	TPM_ORD_ResetLockValue = 0x40,
	TPM_ORD_LoadKey2 = 0x41,
	TPM_ORD_GetRandom = 0x46,
	TPM_ORD_StirRandom = 0x47,
	TPM_ORD_SelfTestFull = 0x50,
	TPM_ORD_CertifySelfTest = 0x52,
	TPM_ORD_ContinueSelfTest = 0x53,
	TPM_ORD_GetTestResult = 0x54,
	TPM_ORD_Reset = 0x5a,
	TPM_ORD_OwnerClear = 0x5b,
	TPM_ORD_DisableOwnerClear = 0x5c,
	TPM_ORD_ForceClear = 0x5d,
	TPM_ORD_DisableForceClear = 0x5e,
	TPM_ORD_GetCapability = 0x65,
	TPM_ORD_GetCapabilityOwner = 0x66,
	TPM_ORD_OwnerSetDisable = 0x6e,
	TPM_ORD_PhysicalEnable = 0x6f,
	TPM_ORD_PhysicalDisable = 0x70,
	TPM_ORD_SetOwnerInstall = 0x71,
	TPM_ORD_PhysicalSetDeactivated = 0x72,
	TPM_ORD_SetTempDeactivated = 0x73,
	TPM_ORD_SetOperatorAuth = 0x74,
	TPM_ORD_CreateEndorsementKeyPair = 0x78,
	TPM_ORD_MakeIdentity = 0x79,
	TPM_ORD_ActivateIdentity = 0x7a,
	TPM_ORD_ReadPubek = 0x7c,
	TPM_ORD_OwnerReadPubek = 0x7d,
	TPM_ORD_DisablePubekRead = 0x7e,
	TPM_ORD_CreateRevocableEK = 0x7f,
	TPM_ORD_RevokeTrust = 0x80,
	TPM_ORD_OwnerReadInternalPub = 0x81,
	TPM_ORD_GetAuditDigest = 0x85,
	TPM_ORD_GetAuditDigestSigned = 0x86,
	TPM_ORD_SetOrdinalAuditStatus = 0x8d,
	TPM_ORD_Terminate_Handle = 0x96,
	TPM_ORD_Startup = 0x99,
	TPM_ORD_SaveKeyContext = 0xb4,
	TPM_ORD_LoadKeyContext = 0xb5,
	TPM_ORD_SaveAuthContext = 0xb6,
	TPM_ORD_LoadAuthContext = 0xb7,
	TPM_ORD_SaveContext = 0xb8,
	TPM_ORD_LoadContext = 0xb9,
	TPM_ORD_FlushSpecific = 0xba,
	TPM_ORD_PCR_Reset = 0xc8,
	TPM_ORD_NV_DefineSpace = 0xcc,
	TPM_ORD_NV_WriteValue = 0xcd,
	TPM_ORD_NV_WriteValueAuth = 0xce,
	TPM_ORD_NV_ReadValue = 0xcf,
	TPM_ORD_NV_ReadValueAuth = 0xd0,
	TPM_ORD_Delegate_UpdateVerification = 0xd1,
	TPM_ORD_Delegate_Manage = 0xd2,
	TPM_ORD_Delegate_CreateKeyDelegation = 0xd4,
	TPM_ORD_Delegate_CreateOwnerDelegation = 0xd5,
	TPM_ORD_Delegate_VerifyDelegation = 0xd6,
	TPM_ORD_Delegate_LoadOwnerDelegation = 0xd8,
	TPM_ORD_Delegate_ReadTable = 0xdb,
	TPM_ORD_CreateCounter = 0xdc,
	TPM_ORD_IncrementCounter = 0xdd,
	TPM_ORD_ReadCounter = 0xde,
	TPM_ORD_ReleaseCounter = 0xdf,
	TPM_ORD_ReleaseCounterOwner = 0xe0,
	TPM_ORD_EstablishTransport = 0xe6,
	TPM_ORD_ExecuteTransport = 0xe7,
	TPM_ORD_ReleaseTransportSigned = 0xe8,
	TPM_ORD_GetTicks = 0xf1,
	TPM_ORD_TickStampBlob = 0xf2,
	TSC_ORD_PhysicalPresence = 0x4000000a,
};

/* ---- TPM handles and resource types ---- */
#define TPM_KH_SRK 0x40000000u
#define TPM_KH_OWNER 0x40000001u
#define TPM_KH_TRANSPORT 0x40000003u /* EstablishTransport without an encryption key */
#define TPM_KH_EK 0x40000006u
#define TPM_RT_KEY 0x00000001u
#define TPM_RT_AUTH 0x00000002u
#define TPM_RT_HASH 0x00000003u
#define TPM_RT_TRANS 0x00000004u
#define TPM_RT_CONTEXT 0x00000005u
#define TPM_RT_COUNTER 0x00000006u
#define TPM_RT_DELEGATE 0x00000007u
#define TPM_RT_DAA_TPM 0x00000008u

/* ---- TPM_GetCapability areas used by tcsd itself ---- */
#define TPM_CAP_ORD 0x01u
#define TPM_CAP_FLAG 0x04u
#define TPM_CAP_PROPERTY 0x05u
#define TPM_CAP_VERSION_VAL 0x1au
#define TPM_CAP_KEY_HANDLE 0x07u
#define TPM_CAP_HANDLE 0x14u
#define TPM_CAP_KEY_STATUS 0x0cu /* subCap: a key handle */
#define TPM_CAP_PROP_PCR 0x101u
#define TPM_CAP_PROP_MANUFACTURER 0x103u
#define TPM_CAP_PROP_KEYS 0x104u
#define TPM_CAP_PROP_MAX_AUTHSESS 0x10du
#define TPM_CAP_PROP_AUTHSESS 0x10au /* free auth session slots */
#define TPM_CAP_PROP_CONTEXT 0x112u /* free saved-context entries */
#define TPM_CAP_PROP_MAX_KEYS 0x110u
#define TPM_CAP_PROP_OWNER 0x111u
#define TPM_CAP_FLAG_PERMANENT 0x108u
#define TPM_CAP_FLAG_VOLATILE 0x109u

/* ---- TSS UUIDs ---- */
typedef struct {
	uint32_t time_low;
	uint16_t time_mid;
	uint16_t time_high;
	uint8_t clock_seq_high;
	uint8_t clock_seq_low;
	uint8_t node[6];
} TcsUuid;

/* Well-known system keys: SRK …01, SK …02 (HP: system key), RK …03 (roaming key). */
#define TCS_UUID_NODE(n) {0, 0, 0, 0, 0, {0, 0, 0, 0, 0, (n)}}
#define TCS_UUID_SRK ((TcsUuid)TCS_UUID_NODE(1))
#define TCS_UUID_SK ((TcsUuid)TCS_UUID_NODE(2))
#define TCS_UUID_RK ((TcsUuid)TCS_UUID_NODE(3))

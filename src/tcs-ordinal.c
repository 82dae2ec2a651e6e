/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-ordinal.h"

#include <string.h>

#include "tcs-common.h"
#include "tcs-types.h"

#define STUB(n, name) [n] = {n, name, TCS_ORD_STUB, 0, NULL, NULL, NULL}
#define CUSTOM(n, name, fl) [n] = {n, name, TCS_ORD_CUSTOM | (fl), 0, NULL, NULL, NULL}
#define TPM(n, name, fl, tord, in, tout, out) [n] = {n, name, (fl), tord, in, tout, out}

static const TcsOrdinal ordinals[TCSD_ORD_LAST] = {
	/* context and TCS-level functions */
	CUSTOM(1, "OPENCONTEXT", 0),
	CUSTOM(2, "CLOSECONTEXT", 0),
	STUB(3, "FREEMEMORY"),
	CUSTOM(4, "TCSGETCAPABILITY", 0),
	/* system persistent storage */
	CUSTOM(5, "REGISTERKEY", 0),
	CUSTOM(6, "UNREGISTERKEY", 0),
	CUSTOM(7, "ENUMREGISTEREDKEYS", 0),
	STUB(8, "GETREGISTEREDKEY"),
	CUSTOM(9, "GETREGISTEREDKEYBLOB", 0),
	CUSTOM(10, "GETREGISTEREDKEYBYPUBLICINFO", 0),
	/* keys */
	CUSTOM(11, "LOADKEYBYBLOB", 0),
	CUSTOM(12, "LOADKEYBYUUID", 0),
	CUSTOM(13, "EVICTKEY", 0),
	TPM(14, "CREATEWRAPKEY", 0, TPM_ORD_CreateWrapKey, "xkeeRA", "K", "0A"),
	TPM(15, "GETPUBKEY", 0, TPM_ORD_GetPubKey, "xka", "P", NULL),
	TPM(16, "MAKEIDENTITY", TCS_ORD_OWNER | TCS_ORD_CUSTOM, TPM_ORD_MakeIdentity, "xedRaA",
	    "KL", NULL),
	/* event log */
	CUSTOM(17, "LOGPCREVENT", 0),
	CUSTOM(18, "GETPCREVENT", 0),
	CUSTOM(19, "GETPCREVENTBYPCR", 0),
	CUSTOM(20, "GETPCREVENTLOG", 0),
	/* ownership and administration */
	TPM(21, "SETOWNERINSTALL", TCS_ORD_OWNER, TPM_ORD_SetOwnerInstall, "xb", "", NULL),
	TPM(22, "TAKEOWNERSHIP", TCS_ORD_OWNER | TCS_ORD_CUSTOM, TPM_ORD_TakeOwnership, "xwLLRA",
	    "K", NULL),
	CUSTOM(23, "OIAP", 0),
	CUSTOM(24, "OSAP", 0),
	TPM(25, "CHANGEAUTH", 0, TPM_ORD_ChangeAuth, "xkwewLAA", "L", NULL),
	TPM(26, "CHANGEAUTHOWNER", TCS_ORD_OWNER, TPM_ORD_ChangeAuthOwner, "xwewA", "", NULL),
	STUB(27, "CHANGEAUTHASYMSTART"),
	STUB(28, "CHANGEAUTHASYMFINISH"),
	CUSTOM(29, "TERMINATEHANDLE", 0),
	TPM(30, "ACTIVATETPMIDENTITY", TCS_ORD_OWNER, TPM_ORD_ActivateIdentity, "xkLaA", "r", NULL),
	/* PCRs */
	TPM(31, "EXTEND", 0, TPM_ORD_Extend, "xud", "d", NULL),
	TPM(32, "PCRREAD", 0, TPM_ORD_PcrRead, "xu", "d", NULL),
	TPM(33, "QUOTE", 0, TPM_ORD_Quote, "xknRa", "CL", NULL),
	TPM(34, "DIRWRITEAUTH", TCS_ORD_OWNER, TPM_ORD_DirWriteAuth, "xudA", "", NULL),
	TPM(35, "DIRREAD", 0, TPM_ORD_DirRead, "xu", "d", NULL),
	/* data protection */
	TPM(36, "SEAL", 0, TPM_ORD_Seal, "xkeLLa", "S", NULL),
	TPM(37, "UNSEAL", 0, TPM_ORD_Unseal, "xkRaA", "L", "ZA0"),
	TPM(38, "UNBIND", 0, TPM_ORD_UnBind, "xkLa", "L", NULL),
	/* migration */
	/* TrouSerS maps TSS_MS_* schemes to TPM_MS_* ('m') and leaves out the PBYTE of an
	 * empty random (REWRAP) in the reply ('l'): both seen on the wire */
	TPM(39, "CREATEMIGRATIONBLOB", 0, TPM_ORD_CreateMigrationBlob, "xkmRLaA", "lL", NULL),
	TPM(40, "CONVERTMIGRATIONBLOB", 0, TPM_ORD_ConvertMigrationBlob, "xkLLa", "L", NULL),
	/* libtspi sends TSS_MS_REWRAP (0x21), the TPM gets TPM_MS_REWRAP (2) */
	TPM(41, "AUTHORIZEMIGRATIONKEY", TCS_ORD_OWNER, TPM_ORD_AuthorizeMigrationKey, "xmRA",
	    "r", NULL),
	/* certification, random, capabilities, self test */
	TPM(42, "CERTIFYKEY", 0, TPM_ORD_CertifyKey, "xkknzz", "FL", NULL),
	TPM(43, "SIGN", 0, TPM_ORD_Sign, "xkLa", "L", NULL),
	TPM(44, "GETRANDOM", 0, TPM_ORD_GetRandom, "xu", "L", NULL),
	TPM(45, "STIRRANDOM", 0, TPM_ORD_StirRandom, "xL", "", NULL),
	TPM(46, "GETCAPABILITY", 0, TPM_ORD_GetCapability, "xuL", "L", NULL),
	STUB(47, "GETCAPABILITYSIGNED"),
	TPM(48, "GETCAPABILITYOWNER", 0, TPM_ORD_GetCapabilityOwner, "xA", "Vuu", "012A"),
	TPM(49, "CREATEENDORSEMENTKEYPAIR", TCS_ORD_OWNER, TPM_ORD_CreateEndorsementKeyPair, "xnR",
	    "Pd", NULL),
	TPM(50, "READPUBEK", 0, TPM_ORD_ReadPubek, "xn", "Pd", NULL),
	TPM(51, "DISABLEPUBEKREAD", TCS_ORD_OWNER, TPM_ORD_DisablePubekRead, "xA", "", NULL),
	TPM(52, "OWNERREADPUBEK", 0, TPM_ORD_OwnerReadPubek, "xA", "P", NULL),
	TPM(53, "SELFTESTFULL", 0, TPM_ORD_SelfTestFull, "x", "", NULL),
	TPM(54, "CERTIFYSELFTEST", 0, TPM_ORD_CertifySelfTest, "xkna", "L", NULL),
	STUB(55, "CONTINUESELFTEST"),
	TPM(56, "GETTESTRESULT", 0, TPM_ORD_GetTestResult, "x", "L", NULL),
	TPM(57, "OWNERSETDISABLE", TCS_ORD_OWNER, TPM_ORD_OwnerSetDisable, "xbA", "", NULL),
	TPM(58, "OWNERCLEAR", TCS_ORD_OWNER, TPM_ORD_OwnerClear, "xA", "", NULL),
	TPM(59, "DISABLEOWNERCLEAR", TCS_ORD_OWNER, TPM_ORD_DisableOwnerClear, "xA", "", NULL),
	TPM(60, "FORCECLEAR", TCS_ORD_OWNER, TPM_ORD_ForceClear, "x", "", NULL),
	TPM(61, "DISABLEFORCECLEAR", TCS_ORD_OWNER, TPM_ORD_DisableForceClear, "x", "", NULL),
	TPM(62, "PHYSICALDISABLE", TCS_ORD_OWNER, TPM_ORD_PhysicalDisable, "x", "", NULL),
	TPM(63, "PHYSICALENABLE", TCS_ORD_OWNER, TPM_ORD_PhysicalEnable, "x", "", NULL),
	TPM(64, "PHYSICALSETDEACTIVATED", TCS_ORD_OWNER, TPM_ORD_PhysicalSetDeactivated, "xb", "",
	    NULL),
	TPM(65, "SETTEMPDEACTIVATED", TCS_ORD_OWNER, TPM_ORD_SetTempDeactivated, "x", "", NULL),
	CUSTOM(66, "PHYSICALPRESENCE", TCS_ORD_OWNER),
	STUB(67, "FIELDUPGRADE"),
	STUB(68, "SETRIDIRECTION"),
	/* maintenance */
	TPM(69, "CREATEMAINTENANCEARCHIVE", TCS_ORD_OWNER, TPM_ORD_CreateMaintenanceArchive, "xbA",
	    "LL", NULL),
	/* the archive goes to the TPM with its UINT32 size in front (seen on the wire) */
	TPM(70, "LOADMAINTENANCEARCHIVE", TCS_ORD_OWNER, TPM_ORD_LoadMaintenanceArchive, "xLA",
	    "r", NULL),
	TPM(71, "KILLMAINTENANCEFEATURE", TCS_ORD_OWNER, TPM_ORD_KillMaintenanceFeature, "xA", "",
	    NULL),
	TPM(72, "LOADMANUFACTURERMAINTENANCEPUB", TCS_ORD_OWNER, TPM_ORD_LoadManuMaintPub, "xnR",
	    "d", NULL),
	TPM(73, "READMANUFACTURERMAINTENANCEPUB", 0, TPM_ORD_ReadManuMaintPub, "xn", "d", NULL),
	/* DAA is not built (as in TrouSerS' default build) */
	STUB(74, "DAAJOIN"),
	STUB(75, "DAASIGN"),
	TPM(76, "SETCAPABILITY", TCS_ORD_OWNER, TPM_ORD_SetCapability, "xuLLA", "", NULL),
	TPM(77, "RESETLOCKVALUE", TCS_ORD_OWNER, TPM_ORD_ResetLockValue, "xA", "", NULL),
	TPM(78, "PCRRESET", 0, TPM_ORD_PCR_Reset, "xR", "", NULL),
	/* monotonic counters (broken in TrouSerS 0.3.15; these work) */
	TPM(79, "READCOUNTER", 0, TPM_ORD_ReadCounter, "xu", "c", NULL),
	/* TCSD sends the label before the encAuth, the TPM wants them the other way round */
	TPM(80, "CREATECOUNTER", TCS_ORD_OWNER, TPM_ORD_CreateCounter, "x>4eA", "uc", NULL),
	TPM(81, "INCREMENTCOUNTER", 0, TPM_ORD_IncrementCounter, "xuA", "c", NULL),
	TPM(82, "RELEASECOUNTER", 0, TPM_ORD_ReleaseCounter, "xuA", "", NULL),
	TPM(83, "RELEASECOUNTEROWNER", TCS_ORD_OWNER, TPM_ORD_ReleaseCounterOwner, "xuA", "",
	    NULL),
	/* ticks */
	TPM(84, "READCURRENTTICKS", 0, TPM_ORD_GetTicks, "x", "r", NULL),
	TPM(85, "TICKSTAMPBLOB", 0, TPM_ORD_TickStampBlob, "xknda", "TL", "A10"),
	CUSTOM(86, "GETCREDENTIAL", 0),
	/* NV storage */
	TPM(87, "NVDEFINEORRELEASESPACE", TCS_ORD_OWNER, TPM_ORD_NV_DefineSpace, "xRea", "", NULL),
	TPM(88, "NVWRITEVALUE", 0, TPM_ORD_NV_WriteValue, "xuuLa", "", NULL),
	TPM(89, "NVWRITEVALUEAUTH", 0, TPM_ORD_NV_WriteValueAuth, "xuuLA", "", NULL),
	TPM(90, "NVREADVALUE", 0, TPM_ORD_NV_ReadValue, "xuuua", "L", NULL),
	TPM(91, "NVREADVALUEAUTH", 0, TPM_ORD_NV_ReadValueAuth, "xuuuA", "L", NULL),
	/* transport sessions */
	CUSTOM(92, "ESTABLISHTRANSPORT", 0),
	CUSTOM(93, "EXECUTETRANSPORT", 0),
	CUSTOM(94, "RELEASETRANSPORTSIGNED", 0),
	/* audit */
	TPM(95, "SETORDINALAUDITSTATUS", TCS_ORD_OWNER, TPM_ORD_SetOrdinalAuditStatus, "xubA", "",
	    NULL),
	/* the counter value goes out as a structure, the ordinal list counted in ordinals */
	TPM(96, "GETAUDITDIGEST", 0, TPM_ORD_GetAuditDigest, "xu", "QdbO", "1023"),
	TPM(97, "GETAUDITDIGESTSIGNED", 0, TPM_ORD_GetAuditDigestSigned, "xkbna", "QddL", NULL),
	TPM(98, "SEALX", 0, TPM_ORD_Sealx, "xkeLLa", "S", NULL),
	TPM(99, "SETOPERATORAUTH", TCS_ORD_OWNER, TPM_ORD_SetOperatorAuth, "xs", "", NULL),
	TPM(100, "OWNERREADINTERNALPUB", 0, TPM_ORD_OwnerReadInternalPub, "xuA", "P", NULL),
	CUSTOM(101, "ENUMREGISTEREDKEYS2", 0),
	TPM(102, "SETTEMPDEACTIVATED2", TCS_ORD_OWNER, TPM_ORD_SetTempDeactivated, "xz", "", NULL),
	/* delegation */
	TPM(103, "DELEGATE_MANAGE", TCS_ORD_OWNER, TPM_ORD_Delegate_Manage, "xuuLa", "L", NULL),
	TPM(104, "DELEGATE_CREATEKEYDELEGATION", 0, TPM_ORD_Delegate_CreateKeyDelegation, "xkReA",
	    "L", NULL),
	TPM(105, "DELEGATE_CREATEOWNERDELEGATION", TCS_ORD_OWNER,
	    TPM_ORD_Delegate_CreateOwnerDelegation, "xbReA", "L", NULL),
	TPM(106, "DELEGATE_LOADOWNERDELEGATION", TCS_ORD_OWNER,
	    TPM_ORD_Delegate_LoadOwnerDelegation, "xuLa", "", NULL),
	TPM(107, "DELEGATE_READTABLE", 0, TPM_ORD_Delegate_ReadTable, "x", "LL", NULL),
	TPM(108, "DELEGATE_UPDATEVERIFICATIONCOUNT", TCS_ORD_OWNER,
	    TPM_ORD_Delegate_UpdateVerification, "xLa", "L", NULL),
	TPM(109, "DELEGATE_VERIFYDELEGATION", 0, TPM_ORD_Delegate_VerifyDelegation, "xL", "", NULL),
	TPM(110, "CREATEREVOCABLEENDORSEMENTKEYPAIR", TCS_ORD_OWNER, TPM_ORD_CreateRevocableEK,
	    "xnRbd", "Pdd", "201"),
	TPM(111, "REVOKEENDORSEMENTKEYPAIR", TCS_ORD_OWNER, TPM_ORD_RevokeTrust, "xd", "", NULL),
	STUB(112, "MAKEIDENTITY2"),
	TPM(113, "QUOTE2", 0, TPM_ORD_Quote2, "xknRba", "IlL", NULL),
	/* certified migratable keys */
	TPM(114, "CMK_SETRESTRICTIONS", TCS_ORD_OWNER, TPM_ORD_CMK_SetRestrictions, "xuA", "", NULL),
	TPM(115, "CMK_APPROVEMA", TCS_ORD_OWNER, TPM_ORD_CMK_ApproveMA, "xdA", "d", NULL),
	/* TCSD sends the two digests before the key, the TPM wants them after it */
	TPM(116, "CMK_CREATEKEY", 0, TPM_ORD_CMK_CreateKey, "xke>d>dRz", "K", "0A"),
	TPM(117, "CMK_CREATETICKET", TCS_ORD_OWNER, TPM_ORD_CMK_CreateTicket, "xRdLA", "d", NULL),
	/* the scheme comes from the migration ticket: already a TPM_MS_* value; libtspi
	 * sends an all-zero AUTH for "no parent authorisation" in the CMK rows */
	TPM(118, "CMK_CREATEBLOB", 0, TPM_ORD_CMK_CreateBlob, "xkwRdLLLLz", "LL", NULL),
	TPM(119, "CMK_CONVERTMIGRATION", 0, TPM_ORD_CMK_ConvertMigration, "xkMdRLLz", "L", NULL),
	CUSTOM(120, "FLUSHSPECIFIC", 0),
	/* the handler adds the owner-evict UUID TrouSerS answers with */
	TPM(121, "KEYCONTROLOWNER", TCS_ORD_OWNER | TCS_ORD_CUSTOM, TPM_ORD_KeyControlOwner,
	    "xkRubA", "", NULL),
	CUSTOM(122, "DSAP", 0),
};

const TcsOrdinal *
tcs_ordinal_lookup(uint32_t ordinal)
{
	if (ordinal == 0 || ordinal >= TCSD_ORD_LAST || !ordinals[ordinal].name)
		return NULL;
	return &ordinals[ordinal];
}

const char *
tcs_ordinal_name(uint32_t ordinal)
{
	const TcsOrdinal *o = tcs_ordinal_lookup(ordinal);
	return o ? o->name : NULL;
}

static unsigned
count_auths(const char *s)
{
	unsigned n = 0;
	for (; s && *s; s++)
		n += (*s == 'A' || *s == 'a' || *s == 'z');
	return n;
}

bool
tcs_ordinal_schema_valid(const TcsOrdinal *o)
{
	size_t nfields;
	unsigned nauth_in, nauth_out = 0;

	if (!o->tpm_ordinal)
		return o->in == NULL && o->tpm_out == NULL;
	if (!o->in || !o->tpm_out || o->in[0] != 'x')
		return false;
	if (strspn(o->in, "xkuwmybUndesLR4MAaz>") != strlen(o->in))
		return false;
	if (strspn(o->tpm_out, "uwbndVcQULlOKPCSTIFr") != strlen(o->tpm_out))
		return false;
	/* 'r' (the rest) can only be the last field */
	if (strchr(o->tpm_out, 'r') && strchr(o->tpm_out, 'r')[1] != '\0')
		return false;
	/* '>' holds back a plain parameter, never an authorisation, and is never last */
	for (const char *p = strchr(o->in, '>'); p; p = strchr(p + 1, '>'))
		if (!p[1] || strchr("Aaz>x", p[1]))
			return false;
	nfields = strlen(o->tpm_out);
	nauth_in = count_auths(o->in);
	if (nauth_in > 2)
		return false;
	for (const char *p = o->out; p && *p; p++) {
		if (*p == 'A' || *p == 'Z')
			nauth_out++;
		else if (*p < '0' || (size_t)(*p - '0') >= nfields)
			return false;
	}
	return !o->out || nauth_out == nauth_in;
}

/* The TPM ordinals of the hand-written TCSD functions, and their handles. */
static const struct {
	uint32_t tpm_ordinal;
	TcsTpmHandles h;
} custom_tpm[] = {
	{TPM_ORD_OIAP, {TCSD_ORD_OIAP, "", 0}},
	{TPM_ORD_OSAP, {TCSD_ORD_OSAP, "", 0}},
	{TPM_ORD_DSAP, {TCSD_ORD_DSAP, "", 0}},
	{TPM_ORD_LoadKey2, {TCSD_ORD_LOADKEYBYBLOB, "k", 1}},
	{TPM_ORD_EvictKey, {TCSD_ORD_EVICTKEY, "k", 0}},
	{TPM_ORD_FlushSpecific, {TCSD_ORD_FLUSHSPECIFIC, "r", 0}},
	{TPM_ORD_Terminate_Handle, {TCSD_ORD_TERMINATEHANDLE, "a", 0}},
};

/* Rows with a schema name their key handles first ("xk..."): the TPM's handle area. */
static const char *
schema_handles(const TcsOrdinal *o)
{
	static const char ks[] = "kk";
	size_t n = strspn(o->in + 1, "k");

	return n < sizeof(ks) ? ks + (sizeof(ks) - 1 - n) : NULL;
}

const TcsOrdinal *
tcs_ordinal_next_for_tpm(uint32_t tpm_ordinal, uint32_t *cursor)
{
	for (uint32_t n = *cursor + 1; n < TCSD_ORD_LAST; n++) {
		const TcsOrdinal *o = tcs_ordinal_lookup(n);
		bool match = o && !(o->flags & TCS_ORD_STUB) && o->tpm_ordinal &&
			     o->tpm_ordinal == tpm_ordinal;

		for (size_t i = 0; o && !match && i < TCS_ARRAY_SIZE(custom_tpm); i++)
			match = custom_tpm[i].tpm_ordinal == tpm_ordinal &&
				custom_tpm[i].h.tcsd_ordinal == n;
		if (match) {
			*cursor = n;
			return o;
		}
	}
	*cursor = TCSD_ORD_LAST;
	return NULL;
}

bool
tcs_tpm_ordinal_handles(uint32_t tpm_ordinal, TcsTpmHandles *ret)
{
	uint32_t cursor = 0;
	const TcsOrdinal *o;
	bool found = false;

	for (size_t i = 0; i < TCS_ARRAY_SIZE(custom_tpm); i++) {
		if (custom_tpm[i].tpm_ordinal == tpm_ordinal) {
			*ret = custom_tpm[i].h;
			return true;
		}
	}
	/* every row sending the ordinal must agree (SetTempDeactivated has two) */
	while ((o = tcs_ordinal_next_for_tpm(tpm_ordinal, &cursor))) {
		const char *h = schema_handles(o);

		if (!h || (found && strcmp(h, ret->handles) != 0))
			return false;
		*ret = (TcsTpmHandles){o->ordinal, h, 0};
		found = true;
	}
	return found;
}

bool
tcs_capability_names_handles(uint32_t area)
{
	return area == TPM_CAP_HANDLE || area == TPM_CAP_KEY_HANDLE || area == TPM_CAP_KEY_STATUS;
}

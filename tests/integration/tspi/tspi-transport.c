/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-transport.c - transport sessions through libtspi: ESTABLISHTRANSPORT,
 * EXECUTETRANSPORT, RELEASETRANSPORTSIGNED.
 *
 * Each session (logged: TSS_TSPATTRIB_TRANSPORT_AUTHENTIC_CHANNEL; the session
 * secret wrapped by a storage key, Tspi_Context_SetTransEncryptionKey) runs,
 * once in the clear and once encrypted (DEFAULT_ENCRYPTION):
 *   a signing key loaded inside the transport under that storage key (OIAP
 *     inside, the TPM's key handle adopted as a TCS handle), a signature made
 *     with it (its key handle translated) verified with OpenSSL
 *   an NV index defined (owner OSAP inside), written and read back (OIAP),
 *     released
 *   Tspi_Context_CloseSignTransport: the TPM's signature over the session log
 *     (TPM_SIGN_INFO "TRAN", our nonce) verifies with OpenSSL, which proves
 *     the TPM's log digest equals libtspi's: no logged byte was changed
 *   the next command opens a second session; after Tspi_Context_Close the TPM
 *     holds no transport session
 * On the wire: three handles are refused (TSS_E_BAD_PARAMETER); a transport
 * handle the context never opened is refused (TCS_E_INVALID_AUTHHANDLE).
 * Then an exclusive session (TSS_TSPATTRIB_TRANSPORT_EXCLUSIVE) wraps a
 * GetRandom and is released signed. Last, as uid 65534 (not in owner_users):
 * a GetRandom inside a transport works, an NV_DefineSpace (owner class) inside
 * one is refused (TSS_E_FAIL) exactly as outside.
 *
 * libtspi 0.3.15 limits what can be shown: the key signing the log has no
 * usage secret (with one, libtspi deadlocks on its own lock); a key loaded
 * under the SRK inside a session breaks the log check (libtspi hashes its SRK
 * object, whose stored modulus is zero, TrouSerS' tcsd alike); NV reads go
 * 4 bytes at a time (libtspi mis-sizes longer wrapped reads).
 *
 * Usage: tspi-transport   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets)
 */
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tspi-common.h"

#include <tss/tcs_structs.h>
#include <tss/tpm.h>

/* libtspi's exported wire functions: the same code Tspi_ calls use, for malformed requests */
TSS_RESULT RPC_ExecuteTransport(TSS_HCONTEXT, TPM_COMMAND_CODE, UINT32, BYTE *, UINT32 *,
				TCS_HANDLE **, TPM_AUTH *, TPM_AUTH *, TPM_AUTH *, UINT64 *,
				TPM_MODIFIER_INDICATOR *, TPM_RESULT *, UINT32 *, BYTE **);

#define NV_INDEX 0x00011e01u
#define TROUSERS_EXCLUSIVE \
	"under TrouSerS' tcsd the exclusive session is gone by then (TPM_INVALID_AUTHHANDLE)"

#define SIGN_FLAGS (TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 | TSS_KEY_AUTHORIZATION)
#define STORAGE_FLAGS (TSS_KEY_TYPE_STORAGE | TSS_KEY_SIZE_2048 | TSS_KEY_AUTHORIZATION)

/*
 * Free transport sessions in the TPM (TSS_TPMCAP_PROP_TRANSESSIONS), or -1: our
 * tcsd's TPM_CAP_HANDLE lists the caller's own handles only, not the TPM's.
 */
static int
count_transports(TSS_HCONTEXT ctx)
{
	TSS_HTPM tpm;
	UINT32 sub = TSS_TPMCAP_PROP_TRANSESSIONS, len = 0, v;
	BYTE *resp = NULL;
	int n = -1;

	if (Tspi_Context_GetTpmObject(ctx, &tpm) == 0 &&
	    Tspi_TPM_GetCapability(tpm, TSS_TPMCAP_PROPERTY, sizeof(sub), (BYTE *)&sub, &len,
				   &resp) == 0 &&
	    len == sizeof(v)) {
		memcpy(&v, resp, sizeof(v));
		n = (int)v;
	}
	Tspi_Context_FreeMemory(ctx, resp);
	return n;
}

static TSS_RESULT
enable_transport(TSS_HCONTEXT ctx, TSS_HKEY wrap_key, int encrypt, int exclusive)
{
	TSS_RESULT rc = Tspi_Context_SetTransEncryptionKey(ctx, wrap_key);

	if (rc == 0)
		rc = Tspi_SetAttribUint32(ctx, TSS_TSPATTRIB_CONTEXT_TRANSPORT,
					  TSS_TSPATTRIB_CONTEXTTRANS_MODE,
					  TSS_TSPATTRIB_TRANSPORT_AUTHENTIC_CHANNEL);
	if (rc == 0 && encrypt)
		rc = Tspi_SetAttribUint32(ctx, TSS_TSPATTRIB_CONTEXT_TRANSPORT,
					  TSS_TSPATTRIB_CONTEXTTRANS_MODE,
					  TSS_TSPATTRIB_TRANSPORT_DEFAULT_ENCRYPTION);
	if (rc == 0 && exclusive)
		rc = Tspi_SetAttribUint32(ctx, TSS_TSPATTRIB_CONTEXT_TRANSPORT,
					  TSS_TSPATTRIB_CONTEXTTRANS_MODE,
					  TSS_TSPATTRIB_TRANSPORT_EXCLUSIVE);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(ctx, TSS_TSPATTRIB_CONTEXT_TRANSPORT,
					  TSS_TSPATTRIB_CONTEXTTRANS_CONTROL,
					  TSS_TSPATTRIB_ENABLE_TRANSPORT);
	return rc;
}

/*
 * Tspi_Context_CloseSignTransport with our nonce; OpenSSL checks the TPM's
 * signature. The signer has no usage secret: for one with a secret, libtspi
 * 0.3.15 opens its OIAP session through the transport while holding its own
 * context lock, and deadlocks before anything reaches the tcsd.
 */
static void
close_signed(TSS_HCONTEXT ctx, TSS_HKEY signer, const BYTE *mod, UINT32 mod_len,
	     uint32_t exponent, const char *what, const char *trousers_fails)
{
	TSS_VALIDATION v;
	BYTE nonce[20], digest[20];
	TSS_RESULT rc;

	memset(&v, 0, sizeof(v));
	tt_random(nonce, sizeof(nonce));
	v.ulExternalDataLength = sizeof(nonce);
	v.rgbExternalData = nonce;
	rc = Tspi_Context_CloseSignTransport(ctx, signer, &v);
	if (trousers_fails && tt_is_trousers() && rc != 0) {
		tt_ok_xfail_trousers(0, trousers_fails, "%s: Tspi_Context_CloseSignTransport", what);
		return;
	}
	if (!tt_rc(rc, 0, "%s: Tspi_Context_CloseSignTransport", what))
		return;
	/* TPM_SIGN_INFO: tag, "TRAN", replay nonce, dataLen, the session log digest */
	tt_ok(v.ulDataLength == 2 + 4 + 20 + 4 + 20 && memcmp(v.rgbData + 2, "TRAN", 4) == 0 &&
		      memcmp(v.rgbData + 6, nonce, 20) == 0,
	      "%s: the signed structure is a TPM_SIGN_INFO \"TRAN\" with our nonce", what);
	tt_sha1(v.rgbData, v.ulDataLength, digest);
	tt_ok(mod && tt_openssl_verify(mod, mod_len, exponent, digest, v.rgbValidationData,
				       v.ulValidationDataLength),
	      "%s: OpenSSL verifies the TPM's signature of the transport log", what);
	Tspi_Context_FreeMemory(ctx, v.rgbData);
	Tspi_Context_FreeMemory(ctx, v.rgbValidationData);
}

/* A signing key without a usage secret, loaded, and its public key (before any transport). */
static TSS_RESULT
log_signer(TSS_HCONTEXT ctx, TSS_HKEY srk, TSS_HKEY *key, BYTE **mod, UINT32 *mod_len,
	   uint32_t *exponent)
{
	TSS_RESULT rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048, NULL, 1,
				      key);

	if (rc == 0)
		rc = tt_pubkey_modulus(ctx, *key, mod, mod_len, exponent);
	return rc;
}

static void
nv_in_transport(TSS_HCONTEXT ctx, const char *what)
{
	BYTE data[16] = "in a transport!", *got = NULL;
	UINT32 len = sizeof(data);
	TSS_HNVSTORE nv;
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_NV, 0, &nv);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_INDEX, 0, NV_INDEX);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_PERMISSIONS, 0,
					  TPM_NV_PER_AUTHREAD | TPM_NV_PER_AUTHWRITE);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_DATASIZE, 0, sizeof(data));
	if (rc == 0)
		rc = tt_set_usage_secret(ctx, nv, "nv secret", NULL);
	if (rc == 0)
		rc = Tspi_NV_DefineSpace(nv, 0, 0);
	if (!tt_rc(rc, 0, "%s: NV index defined (owner OSAP inside the transport)", what))
		return;
	tt_rc(Tspi_NV_WriteValue(nv, 0, sizeof(data), data), 0, "%s: NV written", what);
	/*
	 * libtspi 0.3.15 sizes the wrapped NV_ReadValueAuth as 8 + the length asked
	 * for (instead of 12): only 4-byte reads reach the TPM intact.
	 */
	for (UINT32 off = 0; rc == 0 && off < sizeof(data); off += 4) {
		len = 4;
		rc = Tspi_NV_ReadValue(nv, off, &len, &got);
		if (rc == 0 && (len != 4 || memcmp(got, data + off, 4) != 0))
			rc = TSS_E_FAIL;
		Tspi_Context_FreeMemory(ctx, got);
	}
	tt_rc(rc, 0, "%s: NV read back, 4 bytes at a time", what);
	tt_rc(Tspi_NV_ReleaseSpace(nv), 0, "%s: NV index released", what);
}

static void
key_in_transport(TSS_HCONTEXT ctx, TSS_HKEY parent, TSS_HKEY key, const char *what)
{
	BYTE digest[20], *sig = NULL, *mod = NULL;
	UINT32 sig_len = 0, mod_len = 0;
	uint32_t exponent = 0;
	TSS_RESULT rc;

	if (!tt_rc(Tspi_Key_LoadKey(key, parent), 0, "%s: signing key loaded (LoadKey2 wrapped)",
		   what))
		return;
	tt_sha1(what, strlen(what), digest);
	rc = tt_sign(ctx, key, digest, &sig, &sig_len);
	if (!tt_rc(rc, 0, "%s: Tspi_Hash_Sign with the key loaded in the transport", what))
		return;
	rc = tt_pubkey_modulus(ctx, key, &mod, &mod_len, &exponent);
	tt_rc(rc, 0, "%s: Tspi_Key_GetPubKey (wrapped)", what);
	if (rc == 0) {
		tt_ok(tt_openssl_verify(mod, mod_len, exponent, digest, sig, sig_len),
		      "%s: OpenSSL verifies the signature", what);
		digest[0] ^= 1;
		tt_ok(!tt_openssl_verify(mod, mod_len, exponent, digest, sig, sig_len),
		      "%s: OpenSSL rejects it for another digest", what);
	}
	free(mod);
	Tspi_Context_FreeMemory(ctx, sig);
}

static void
session(int encrypt)
{
	const char *what = encrypt ? "encrypted" : "clear";
	TSS_HCONTEXT ctx = 0, probe = 0;
	TSS_HKEY srk, wrap_key, sign_key, signer;
	TSS_HTPM tpm;
	BYTE *mod = NULL;
	UINT32 mod_len = 0;
	uint32_t exponent = 0;
	TSS_RESULT rc;
	int before;

	rc = tt_connect(&probe, NULL, NULL);
	before = rc == 0 ? count_transports(probe) : -1;
	rc = tt_connect(&ctx, &tpm, &srk);
	if (rc == 0)
		rc = tt_create_key(ctx, srk, STORAGE_FLAGS, "wrap secret", 1, &wrap_key);
	if (rc == 0)
		rc = tt_create_key(ctx, wrap_key, SIGN_FLAGS, "sign secret", 0, &sign_key);
	if (rc == 0)
		rc = log_signer(ctx, srk, &signer, &mod, &mod_len, &exponent);
	if (!tt_rc(rc, 0, "%s: context, storage key (loaded), signing keys", what))
		goto out;
	if (!tt_rc(enable_transport(ctx, wrap_key, encrypt, 0), 0, "%s: transport enabled", what))
		goto out;
	key_in_transport(ctx, wrap_key, sign_key, what);
	nv_in_transport(ctx, what);
	close_signed(ctx, signer, mod, mod_len, exponent, what, NULL);
	/* the next command opens a new session; Tspi_Context_Close must end it */
	key_in_transport(ctx, wrap_key, sign_key, encrypt ? "encrypted, second session"
						     : "clear, second session");
out:
	free(mod);
	if (ctx)
		Tspi_Context_Close(ctx);
	if (probe) {
		int after = count_transports(probe);

		tt_ok(before >= 0 && after == before,
		      "%s: no transport session left in the TPM after Tspi_Context_Close "
		      "(%d free before, %d after)", what, before, after);
		Tspi_Context_Close(probe);
	}
}

static void
exclusive(void)
{
	TSS_HCONTEXT ctx = 0;
	TSS_HKEY srk, wrap_key, signer;
	TSS_HTPM tpm;
	BYTE *random = NULL, *mod = NULL;
	UINT32 mod_len = 0;
	uint32_t exponent = 0;
	TSS_RESULT rc;

	rc = tt_connect(&ctx, &tpm, &srk);
	if (rc == 0)
		rc = tt_create_key(ctx, srk, STORAGE_FLAGS, "wrap secret", 1, &wrap_key);
	if (rc == 0)
		rc = log_signer(ctx, srk, &signer, &mod, &mod_len, &exponent);
	if (rc == 0)
		rc = enable_transport(ctx, wrap_key, 0, 1);
	if (!tt_rc(rc, 0, "exclusive: keys loaded, transport enabled"))
		goto out;
	rc = Tspi_TPM_GetRandom(tpm, 32, &random);
	tt_rc(rc, 0, "exclusive: GetRandom inside the exclusive transport");
	Tspi_Context_FreeMemory(ctx, random);
	close_signed(ctx, signer, mod, mod_len, exponent, "exclusive", TROUSERS_EXCLUSIVE);
out:
	free(mod);
	if (ctx)
		Tspi_Context_Close(ctx);
}

static void
wire(void)
{
	TCS_HANDLE three[3] = {0x40000000u, 0x40000000u, 0x40000000u}, *handles = three;
	BYTE count[4] = {0, 0, 0, 8}, *out = NULL;
	UINT32 n = 3, out_len = 0;
	TPM_AUTH trans;
	TPM_MODIFIER_INDICATOR locality = 0;
	TPM_RESULT wrapped = 0;
	UINT64 ticks = 0;
	TSS_HCONTEXT ctx = 0;
	TSS_RESULT rc;

	if (!tt_rc(tt_connect(&ctx, NULL, NULL), 0, "wire: context"))
		return;
	memset(&trans, 0, sizeof(trans));
	trans.AuthHandle = 0x12345678u;
	trans.fContinueAuthSession = TRUE;
	rc = RPC_ExecuteTransport(ctx, TPM_ORD_GetRandom, sizeof(count), count, &n, &handles, NULL,
				  NULL, &trans, &ticks, &locality, &wrapped, &out_len, &out);
	tt_rc(rc, TT_TCS_E_BAD_PARAMETER, "wire: ExecuteTransport with three handles refused");
	n = 0;
	rc = RPC_ExecuteTransport(ctx, TPM_ORD_GetRandom, sizeof(count), count, &n, &handles, NULL,
				  NULL, &trans, &ticks, &locality, &wrapped, &out_len, &out);
	tt_ok_xfail_trousers(rc == TT_TCS(0x0C3), "TrouSerS hands any transport handle to the TPM",
			     "wire: a transport handle the context does not own -> "
			     "TCS_E_INVALID_AUTHHANDLE (0x%x)", rc);
	Tspi_Context_Close(ctx);
}

/* As uid/gid 65534 (a child): bit 0 GetRandom inside a transport worked, bit 1 NV_DefineSpace
 * inside one was refused with TSS_E_FAIL, bit 2 it succeeded (then released). */
static int
not_owner_child(void)
{
	TSS_HCONTEXT ctx = 0;
	TSS_HKEY srk, wrap_key;
	TSS_HNVSTORE nv;
	TSS_HTPM tpm;
	BYTE *random = NULL;
	TSS_RESULT rc;
	int bits = 0;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return 64;
	rc = tt_connect(&ctx, &tpm, &srk);
	if (rc == 0)
		rc = tt_create_key(ctx, srk, STORAGE_FLAGS, "wrap secret", 1, &wrap_key);
	if (rc == 0)
		rc = enable_transport(ctx, wrap_key, 0, 0);
	if (rc == 0 && Tspi_TPM_GetRandom(tpm, 16, &random) == 0)
		bits |= 1;
	if (rc == 0)
		rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_NV, 0, &nv);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_INDEX, 0, NV_INDEX + 1);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_PERMISSIONS, 0,
					  TPM_NV_PER_AUTHREAD | TPM_NV_PER_AUTHWRITE);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_DATASIZE, 0, 16);
	if (rc == 0)
		rc = tt_set_usage_secret(ctx, nv, "nv secret", NULL);
	if (rc == 0) {
		rc = Tspi_NV_DefineSpace(nv, 0, 0);
		tt_diag("uid 65534: NV_DefineSpace inside a transport: 0x%x", rc);
		if (rc == TT_TCS(TSS_E_FAIL))
			bits |= 2;
		if (rc == 0 && Tspi_NV_ReleaseSpace(nv) == 0)
			bits |= 4;
	}
	if (ctx)
		Tspi_Context_Close(ctx);
	return bits;
}

static void
not_owner(void)
{
	int status = 0, bits;
	pid_t pid;

	if (geteuid() != 0) {
		tt_skip("not root", "uid 65534: owner-class ordinals inside a transport");
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(not_owner_child());
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		tt_ok(0, "uid 65534: the child ran");
		return;
	}
	bits = WEXITSTATUS(status);
	tt_ok(bits != 64 && (bits & 1), "uid 65534: GetRandom inside a transport works (%d)", bits);
	tt_ok_xfail_trousers(bits != 64 && (bits & 2),
			     "TrouSerS opens owner-class ordinals to every local process",
			     "uid 65534: NV_DefineSpace inside a transport refused (TSS_E_FAIL) as "
			     "outside (%d)", bits);
}

int
main(void)
{
	tt_plan_name("tspi-transport");
	session(0);
	session(1);
	exclusive();
	wire();
	not_owner();
	return tt_done();
}

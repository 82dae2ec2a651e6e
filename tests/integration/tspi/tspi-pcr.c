/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-pcr.c - PCR, event log, quote, capability, self-test, random, tick and
 * NV ordinals through libtspi:
 *   PCRREAD, EXTEND, PCRRESET (16 resettable, 10 not -> TPM_E_NOTRESETABLE)
 *   LOGPCREVENT (Tspi_TPM_PcrExtend with an event), GETPCREVENT,
 *     GETPCREVENTBYPCR, GETPCREVENTLOG: the log replays to the PCR value
 *   QUOTE and QUOTE2 with a plain signing key (no AIK): OpenSSL verifies the
 *     signature, the composite hash matches the PCR values read before
 *   GETCAPABILITY (TPM: version, PCR count, key slots, ordinal support, NV list)
 *     and TCSGETCAPABILITY (TCS: version, caching, PS, manufacturer, algorithms)
 *   SELFTESTFULL, GETTESTRESULT, GETRANDOM, STIRRANDOM, READCURRENTTICKS
 *   NVDEFINEORRELEASESPACE / NVWRITEVALUE / NVREADVALUE with owner auth
 *
 * Usage: tspi-pcr   (TSS_TCSD_HOSTNAME/PORT; owned TPM, well-known secrets;
 *                    expects a fresh daemon: PCR 16's event log is empty)
 */
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define EV_TYPE 0x0000000d /* EV_IPL; any value works for the TCS log */

static void
put32(BYTE *p, UINT32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static TSS_RESULT
pcr_read(TSS_HCONTEXT ctx, TSS_HTPM tpm, UINT32 pcr, BYTE out[20])
{
	BYTE *val = NULL;
	UINT32 len = 0;
	TSS_RESULT rc = Tspi_TPM_PcrRead(tpm, pcr, &len, &val);

	if (rc == 0 && len != 20)
		rc = TSS_E_INTERNAL_ERROR;
	if (rc == 0)
		memcpy(out, val, 20);
	Tspi_Context_FreeMemory(ctx, val);
	return rc;
}

static TSS_RESULT
pcr_reset(TSS_HCONTEXT ctx, TSS_HTPM tpm, UINT32 pcr)
{
	TSS_HPCRS pcrs;
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_PCRS, TSS_PCRS_STRUCT_INFO, &pcrs);
	if (rc == 0)
		rc = Tspi_PcrComposite_SelectPcrIndex(pcrs, pcr);
	if (rc == 0)
		rc = Tspi_TPM_PcrReset(tpm, pcrs);
	Tspi_Context_CloseObject(ctx, pcrs);
	return rc;
}

static void
extend_digest(BYTE pcr[20], const BYTE digest[20])
{
	BYTE buf[40];

	memcpy(buf, pcr, 20);
	memcpy(buf + 20, digest, 20);
	tt_sha1(buf, 40, pcr);
}

static void
test_pcrs(TSS_HCONTEXT ctx, TSS_HTPM tpm)
{
	BYTE v[20], before[20], data[20], want[20], *out = NULL, zero[20] = {0};
	UINT32 len = 0, n_ok = 0;
	TSS_RESULT rc;

	for (UINT32 i = 0; i < 24; i++)
		n_ok += pcr_read(ctx, tpm, i, v) == 0;
	tt_ok(n_ok == 24, "PcrRead of PCR 0..23 (%u succeeded)", n_ok);
	/* TrouSerS checks the index itself: TSS_E_BAD_PARAMETER (0x2003); our tcsd
	 * passes it to the TPM: TPM_BADINDEX (0x2). Either way it must fail. */
	rc = pcr_read(ctx, tpm, 24, v);
	tt_ok(rc == TT_TCS_E_BAD_PARAMETER || rc == TPM_E_BADINDEX, "PcrRead 24 fails (0x%x)", rc);

	tt_rc(pcr_read(ctx, tpm, 16, before), 0, "PcrRead 16");
	tt_sha1("tspi-pcr extend", 15, data);
	rc = Tspi_TPM_PcrExtend(tpm, 16, 20, data, NULL, &len, &out);
	if (tt_rc(rc, 0, "PcrExtend 16 (no event)")) {
		memcpy(want, before, 20);
		extend_digest(want, data);
		tt_ok(len == 20 && memcmp(out, want, 20) == 0,
		      "PcrExtend returns SHA1(old || data)");
		tt_ok(pcr_read(ctx, tpm, 16, v) == 0 && memcmp(v, want, 20) == 0,
		      "PcrRead 16 shows the extended value");
	}
	Tspi_Context_FreeMemory(ctx, out);
	tt_rc(pcr_reset(ctx, tpm, 16), 0, "PcrReset 16 (resettable)");
	tt_ok(pcr_read(ctx, tpm, 16, v) == 0 && memcmp(v, zero, 20) == 0,
	      "PCR 16 is zero after the reset");
	tt_rc(pcr_reset(ctx, tpm, 10), TPM_E_NOTRESETABLE,
	      "PcrReset 10 -> TPM_E_NOTRESETABLE");
}

/* extend PCR 16 with an event: the TCS logs it */
static TSS_RESULT
extend_event(TSS_HCONTEXT ctx, TSS_HTPM tpm, UINT32 pcr, const char *ev, BYTE pcr_shadow[20],
	     BYTE digest_out[20])
{
	TSS_PCR_EVENT event;
	BYTE data[20], *out = NULL;
	UINT32 len = 0;
	TSS_RESULT rc;

	memset(&event, 0, sizeof(event));
	event.eventType = EV_TYPE;
	event.ulEventLength = strlen(ev);
	event.rgbEvent = (BYTE *)ev;
	tt_sha1(ev, strlen(ev), data);
	rc = Tspi_TPM_PcrExtend(tpm, pcr, 20, data, &event, &len, &out);
	if (rc == 0) {
		/* libtspi extends SHA1(index || data || type || event) and logs that digest */
		BYTE buf[4 + 20 + 4 + 256];
		size_t n = 0;

		put32(buf, pcr);
		n = 4;
		memcpy(buf + n, data, 20);
		n += 20;
		memcpy(buf + n, (BYTE[4]){0, 0, 0, EV_TYPE}, 4);
		n += 4;
		memcpy(buf + n, ev, strlen(ev));
		n += strlen(ev);
		tt_sha1(buf, n, digest_out);
		extend_digest(pcr_shadow, digest_out);
		if (len != 20 || memcmp(out, pcr_shadow, 20) != 0)
			rc = TSS_E_INTERNAL_ERROR;
	}
	Tspi_Context_FreeMemory(ctx, out);
	return rc;
}

static int
event_is(const TSS_PCR_EVENT *e, UINT32 pcr, const char *ev, const BYTE digest[20])
{
	return e->ulPcrIndex == pcr && e->eventType == EV_TYPE && e->ulEventLength == strlen(ev) &&
	       memcmp(e->rgbEvent, ev, e->ulEventLength) == 0 && e->ulPcrValueLength == 20 &&
	       memcmp(e->rgbPcrValue, digest, 20) == 0;
}

static void
test_event_log(TSS_HCONTEXT ctx, TSS_HTPM tpm)
{
	static const char *evs[] = {"tspi-pcr event one", "tspi-pcr event two",
				    "tspi-pcr event three (PCR 23)"};
	BYTE shadow16[20] = {0}, shadow23[20] = {0}, digests[3][20], v[20], replay[20] = {0};
	TSS_PCR_EVENT ev, *evl = NULL;
	UINT32 n = 0, found = 0;
	TSS_RESULT rc;

	/* PCR 16 was just reset to zero; reset 23 too */
	tt_rc(pcr_reset(ctx, tpm, 23), 0, "PcrReset 23");
	tt_rc(extend_event(ctx, tpm, 16, evs[0], shadow16, digests[0]), 0,
	      "PcrExtend 16 with an event (EXTEND + LOGPCREVENT)");
	tt_rc(extend_event(ctx, tpm, 16, evs[1], shadow16, digests[1]), 0,
	      "PcrExtend 16 with a second event");
	tt_rc(extend_event(ctx, tpm, 23, evs[2], shadow23, digests[2]), 0,
	      "PcrExtend 23 with an event");

	memset(&ev, 0, sizeof(ev));
	rc = Tspi_TPM_GetEvent(tpm, 16, 0, &ev);
	if (tt_rc(rc, 0, "GetEvent PCR 16 #0"))
		tt_ok(event_is(&ev, 16, evs[0], digests[0]),
		      "GetEvent PCR 16 #0 is the first event (index, type, data, digest)");
	memset(&ev, 0, sizeof(ev));
	rc = Tspi_TPM_GetEvent(tpm, 16, 1, &ev);
	if (tt_rc(rc, 0, "GetEvent PCR 16 #1"))
		tt_ok(event_is(&ev, 16, evs[1], digests[1]), "GetEvent PCR 16 #1 is the second event");
	rc = Tspi_TPM_GetEvent(tpm, 16, 99, &ev);
	tt_rc(rc, TT_TCS_E_BAD_PARAMETER, "GetEvent PCR 16 #99 -> TSS_E_BAD_PARAMETER");

	n = 10;
	rc = Tspi_TPM_GetEvents(tpm, 16, 0, &n, &evl);
	if (tt_rc(rc, 0, "GetEvents PCR 16 from #0")) {
		tt_ok(n == 2 && event_is(&evl[0], 16, evs[0], digests[0]) &&
		      event_is(&evl[1], 16, evs[1], digests[1]),
		      "GetEvents PCR 16: both events, in order (%u)", n);
		for (UINT32 i = 0; i < n && i < 2; i++)
			extend_digest(replay, evl[i].rgbPcrValue);
		tt_ok(pcr_read(ctx, tpm, 16, v) == 0 && memcmp(v, replay, 20) == 0 &&
		      memcmp(v, shadow16, 20) == 0, "replaying the PCR 16 log gives PCR 16");
		Tspi_Context_FreeMemory(ctx, (BYTE *)evl);
	}
	n = 10;
	evl = NULL;
	rc = Tspi_TPM_GetEvents(tpm, 16, 1, &n, &evl);
	if (tt_rc(rc, 0, "GetEvents PCR 16 from #1"))
		tt_ok(n == 1 && event_is(&evl[0], 16, evs[1], digests[1]),
		      "GetEvents PCR 16 from #1: the second event only (%u)", n);
	Tspi_Context_FreeMemory(ctx, (BYTE *)evl);

	evl = NULL;
	rc = Tspi_TPM_GetEventLog(tpm, &n, &evl);
	if (tt_rc(rc, 0, "GetEventLog")) {
		for (UINT32 i = 0; i < n; i++)
			for (int j = 0; j < 3; j++)
				found += event_is(&evl[i], j == 2 ? 23 : 16, evs[j], digests[j]);
		tt_ok(found == 3, "GetEventLog holds the 3 events (%u events, %u matched)", n, found);
		Tspi_Context_FreeMemory(ctx, (BYTE *)evl);
	}
	tt_ok(pcr_read(ctx, tpm, 23, v) == 0 && memcmp(v, shadow23, 20) == 0,
	      "PCR 23 matches its logged event");
}

/* TPM_PCR_COMPOSITE {select {size 2|3, map}, valueSize, values} of the PCRs */
static void
composite_hash(TSS_HCONTEXT ctx, TSS_HTPM tpm, const UINT32 *pcrs, UINT32 n, UINT32 sel_size,
	       BYTE out[20])
{
	BYTE buf[2 + 3 + 4 + 24 * 20], v[20];
	size_t off;

	memset(buf, 0, sizeof(buf));
	buf[1] = sel_size;
	for (UINT32 i = 0; i < n; i++)
		buf[2 + pcrs[i] / 8] |= 1 << (pcrs[i] % 8);
	off = 2 + sel_size;
	put32(buf + off, n * 20);
	off += 4;
	for (UINT32 i = 0; i < n; i++) {
		pcr_read(ctx, tpm, pcrs[i], v);
		memcpy(buf + off, v, 20);
		off += 20;
	}
	tt_sha1(buf, off, out);
}

static void
test_quote(TSS_HCONTEXT ctx, TSS_HTPM tpm, TSS_HKEY srk)
{
	static const UINT32 sel[] = {10, 16};
	TSS_HKEY key;
	TSS_HPCRS pcrs;
	TSS_VALIDATION val;
	BYTE nonce[20], digest[20], comp[20], *mod = NULL, *ver = NULL;
	UINT32 mod_len = 0, ver_len = 0;
	uint32_t exponent = 0;
	TSS_RESULT rc;

	rc = tt_create_key(ctx, srk, TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NO_AUTHORIZATION | TSS_KEY_NOT_MIGRATABLE, NULL, 1, &key);
	if (!tt_rc(rc, 0, "quote: create + load a signing key (not an AIK)"))
		return;
	rc = tt_pubkey_modulus(ctx, key, &mod, &mod_len, &exponent);
	if (!tt_rc(rc, 0, "quote: GetPubKey of the signing key"))
		return;

	/* TPM_Quote: TPM_QUOTE_INFO {version 1.1.0.0, "QUOT", composite hash, nonce} */
	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_PCRS, TSS_PCRS_STRUCT_INFO, &pcrs);
	for (UINT32 i = 0; rc == 0 && i < 2; i++)
		rc = Tspi_PcrComposite_SelectPcrIndex(pcrs, sel[i]);
	tt_random(nonce, sizeof(nonce));
	memset(&val, 0, sizeof(val));
	val.ulExternalDataLength = 20;
	val.rgbExternalData = nonce;
	if (rc == 0)
		rc = Tspi_TPM_Quote(tpm, key, pcrs, &val);
	if (tt_rc(rc, 0, "Tspi_TPM_Quote PCR 10,16 with a signing key")) {
		/* libtspi sends a 3-byte selection (PCR 16 needs the third byte) */
		composite_hash(ctx, tpm, sel, 2, 3, comp);
		tt_ok(val.ulDataLength == 48 && memcmp(val.rgbData + 4, "QUOT", 4) == 0 &&
		      memcmp(val.rgbData + 8, comp, 20) == 0 &&
		      memcmp(val.rgbData + 28, nonce, 20) == 0,
		      "quote info: QUOT, composite hash of the PCRs read, our nonce");
		tt_sha1(val.rgbData, val.ulDataLength, digest);
		tt_ok(tt_openssl_verify(mod, mod_len, exponent, digest, val.rgbValidationData,
					val.ulValidationDataLength),
		      "OpenSSL verifies the quote signature");
	}

	/* TPM_Quote2: TPM_QUOTE_INFO2 {tag 0x0036, "QUT2", nonce, TPM_PCR_INFO_SHORT} */
	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_PCRS, TSS_PCRS_STRUCT_INFO_SHORT, &pcrs);
	for (UINT32 i = 0; rc == 0 && i < 2; i++)
		rc = Tspi_PcrComposite_SelectPcrIndexEx(pcrs, sel[i], TSS_PCRS_DIRECTION_RELEASE);
	tt_random(nonce, sizeof(nonce));
	memset(&val, 0, sizeof(val));
	val.ulExternalDataLength = 20;
	val.rgbExternalData = nonce;
	if (rc == 0)
		rc = Tspi_TPM_Quote2(tpm, key, FALSE, pcrs, &val, &ver_len, &ver);
	if (tt_rc(rc, 0, "Tspi_TPM_Quote2 PCR 10,16 with a signing key")) {
		/* tag 2, "QUT2" 4, nonce 20, PCR_INFO_SHORT {select 2+3, locality 1, digest 20} */
		composite_hash(ctx, tpm, sel, 2, 3, comp);
		tt_ok(val.ulDataLength == 52 && memcmp(val.rgbData + 2, "QUT2", 4) == 0 &&
		      memcmp(val.rgbData + 6, nonce, 20) == 0 &&
		      memcmp(val.rgbData + 32, comp, 20) == 0,
		      "quote2 info: QUT2, our nonce, composite hash of the PCRs read (%u bytes)",
		      val.ulDataLength);
		tt_sha1(val.rgbData, val.ulDataLength, digest);
		tt_ok(tt_openssl_verify(mod, mod_len, exponent, digest, val.rgbValidationData,
					val.ulValidationDataLength),
		      "OpenSSL verifies the quote2 signature");
	}
	free(mod);
}

static TSS_RESULT
tpm_cap(TSS_HTPM tpm, TSS_FLAG area, UINT32 sub, UINT32 *len, BYTE **data)
{
	return Tspi_TPM_GetCapability(tpm, area, sizeof(sub), (BYTE *)&sub, len, data);
}

static void
test_caps(TSS_HCONTEXT ctx, TSS_HTPM tpm)
{
	BYTE *d = NULL;
	UINT32 len = 0, v;
	TSS_RESULT rc;

	rc = Tspi_TPM_GetCapability(tpm, TSS_TPMCAP_VERSION_VAL, 0, NULL, &len, &d);
	if (tt_rc(rc, 0, "TPM GetCapability VERSION_VAL"))
		/* TPM_CAP_VERSION_INFO: tag 0x0030, version 1.2 */
		tt_ok(len >= 6 && d[0] == 0 && d[1] == 0x30 && d[2] == 1 && d[3] == 2,
		      "TPM_CAP_VERSION_INFO says 1.2 (%u bytes)", len);
	rc = tpm_cap(tpm, TSS_TPMCAP_PROPERTY, TSS_TPMCAP_PROP_PCR, &len, &d);
	if (tt_rc(rc, 0, "TPM GetCapability PROPERTY PCR")) {
		memcpy(&v, d, sizeof(v));
		tt_ok(len == 4 && v == 24, "the TPM has 24 PCRs (%u)", v);
	}
	rc = tpm_cap(tpm, TSS_TPMCAP_PROPERTY, TSS_TPMCAP_PROP_SLOTS, &len, &d);
	if (tt_rc(rc, 0, "TPM GetCapability PROPERTY SLOTS")) {
		memcpy(&v, d, sizeof(v));
		tt_ok(len == 4 && v >= 3, "key slots: %u", v);
	}
	rc = tpm_cap(tpm, TSS_TPMCAP_ORD, TPM_ORD_Quote2, &len, &d);
	tt_ok(rc == 0 && len == 1 && d[0] == 1, "TPM GetCapability ORD Quote2 -> supported (0x%x)",
	      rc);
	rc = Tspi_TPM_GetCapability(tpm, TSS_TPMCAP_NV_LIST, 0, NULL, &len, &d);
	tt_rc(rc, 0, "TPM GetCapability NV_LIST (%u bytes)", len);

	rc = Tspi_Context_GetCapability(ctx, TSS_TCSCAP_VERSION, 0, NULL, &len, &d);
	if (tt_rc(rc, 0, "TCS GetCapability VERSION"))
		tt_ok(len == 4 && d[0] == 1 && d[1] == 2,
		      "TCS version %u.%u.%u.%u (TSS 1.2)", d[0], d[1], len > 2 ? d[2] : 0,
		      len > 3 ? d[3] : 0);
	rc = Tspi_Context_GetCapability(ctx, TSS_TCSCAP_PERSSTORAGE, 0, NULL, &len, &d);
	if (tt_rc(rc, 0, "TCS GetCapability PERSSTORAGE"))
		tt_ok(len == 1 && d[0] == 1, "the TCS has persistent storage");
	v = TSS_TCSCAP_PROP_AUTHCACHE;
	rc = Tspi_Context_GetCapability(ctx, TSS_TCSCAP_CACHING, 4, (BYTE *)&v, &len, &d);
	if (tt_rc(rc, 0, "TCS GetCapability CACHING AUTHCACHE"))
		tt_ok(len == 1, "CACHING AUTHCACHE is a boolean (%u)", len ? d[0] : 0);
	v = TSS_TCSCAP_PROP_KEYCACHE;
	rc = Tspi_Context_GetCapability(ctx, TSS_TCSCAP_CACHING, 4, (BYTE *)&v, &len, &d);
	if (tt_rc(rc, 0, "TCS GetCapability CACHING KEYCACHE"))
		tt_ok(len == 1, "CACHING KEYCACHE is a boolean (%u)", len ? d[0] : 0);
	v = TSS_TCSCAP_PROP_MANUFACTURER_ID;
	rc = Tspi_Context_GetCapability(ctx, TSS_TCSCAP_MANUFACTURER, 4, (BYTE *)&v, &len, &d);
	if (tt_rc(rc, 0, "TCS GetCapability MANUFACTURER ID"))
		tt_ok(len == 4, "manufacturer ID is a UINT32 (%02x %02x %02x %02x)", d[0], d[1], d[2],
		      d[3]);
	v = TSS_ALG_RSA;
	rc = Tspi_Context_GetCapability(ctx, TSS_TCSCAP_ALG, 4, (BYTE *)&v, &len, &d);
	tt_ok(rc == 0 && len == 1, "TCS GetCapability ALG RSA (0x%x, %u)", rc, len ? d[0] : 0);
	v = TSS_ALG_SHA;
	rc = Tspi_Context_GetCapability(ctx, TSS_TCSCAP_ALG, 4, (BYTE *)&v, &len, &d);
	tt_ok(rc == 0 && len == 1 && d[0] == 1, "TCS GetCapability ALG SHA -> TRUE (0x%x)", rc);
}

static void
test_misc(TSS_HCONTEXT ctx, TSS_HTPM tpm)
{
	BYTE *r1 = NULL, *r2 = NULL, *res = NULL, entropy[64];
	UINT32 len = 0;
	TPM_CURRENT_TICKS t1, t2;
	TSS_RESULT rc;

	tt_rc(Tspi_TPM_SelfTestFull(tpm), 0, "SelfTestFull");
	rc = Tspi_TPM_GetTestResult(tpm, &len, &res);
	tt_rc(rc, 0, "GetTestResult (%u bytes)", len);

	rc = Tspi_TPM_GetRandom(tpm, 32, &r1);
	if (tt_rc(rc, 0, "GetRandom 32")) {
		rc = Tspi_TPM_GetRandom(tpm, 32, &r2);
		tt_ok(rc == 0 && memcmp(r1, r2, 32) != 0, "GetRandom twice: different bytes");
	}
	rc = Tspi_TPM_GetRandom(tpm, 1024, &r2);
	tt_rc(rc, 0, "GetRandom 1024");
	tt_random(entropy, sizeof(entropy));
	tt_rc(Tspi_TPM_StirRandom(tpm, sizeof(entropy), entropy), 0, "StirRandom 64 bytes");

	memset(&t1, 0, sizeof(t1));
	memset(&t2, 0, sizeof(t2));
	rc = Tspi_TPM_ReadCurrentTicks(tpm, &t1);
	if (tt_rc(rc, 0, "ReadCurrentTicks")) {
		rc = Tspi_TPM_ReadCurrentTicks(tpm, &t2);
		tt_ok(rc == 0 && t1.tag == TPM_TAG_CURRENT_TICKS && t2.currentTicks >= t1.currentTicks &&
		      memcmp(&t1.tickNonce, &t2.tickNonce, sizeof(t1.tickNonce)) == 0,
		      "ReadCurrentTicks twice: ticks do not go back, same tick session "
		      "(%llu -> %llu, rate %u)", (unsigned long long)t1.currentTicks,
		      (unsigned long long)t2.currentTicks, t1.tickRate);
	}
}

static void
test_nv(TSS_HCONTEXT ctx, TSS_HTPM tpm)
{
	const UINT32 index = 0x00011aa5;
	TSS_HNVSTORE nv;
	BYTE data[32], *out = NULL, *list = NULL;
	UINT32 len = 0, listed = 0;
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_NV, 0, &nv);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_INDEX, 0, index);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_PERMISSIONS, 0,
					  TPM_NV_PER_OWNERWRITE | TPM_NV_PER_OWNERREAD);
	if (rc == 0)
		rc = Tspi_SetAttribUint32(nv, TSS_TSPATTRIB_NV_DATASIZE, 0, 64);
	if (rc == 0)
		rc = Tspi_NV_DefineSpace(nv, 0, 0);
	if (!tt_rc(rc, 0, "NV_DefineSpace 0x%08x, 64 bytes, owner read/write", index))
		return;
	rc = Tspi_TPM_GetCapability(tpm, TSS_TPMCAP_NV_LIST, 0, NULL, &len, &list);
	for (UINT32 i = 0; rc == 0 && i + 4 <= len; i += 4)
		listed |= ((UINT32)list[i] << 24 | list[i + 1] << 16 | list[i + 2] << 8 |
			   list[i + 3]) == index;
	tt_ok(rc == 0 && listed, "NV_LIST shows the new index");
	tt_random(data, sizeof(data));
	rc = Tspi_NV_WriteValue(nv, 16, sizeof(data), data);
	tt_rc(rc, 0, "NV_WriteValue 32 bytes at offset 16 (owner auth)");
	len = sizeof(data);
	rc = Tspi_NV_ReadValue(nv, 16, &len, &out);
	if (tt_rc(rc, 0, "NV_ReadValue 32 bytes at offset 16 (owner auth)"))
		tt_ok(len == sizeof(data) && memcmp(out, data, len) == 0,
		      "NV read back equals what was written");
	rc = Tspi_NV_WriteValue(nv, 60, sizeof(data), data);
	tt_ok(rc != 0, "NV_WriteValue past the end fails (0x%x)", rc);
	tt_rc(Tspi_NV_ReleaseSpace(nv), 0, "NV_ReleaseSpace (owner auth)");
	len = 4;
	rc = Tspi_NV_ReadValue(nv, 0, &len, &out);
	tt_ok(rc != 0, "NV_ReadValue of the released index fails (0x%x)", rc);
}

int
main(void)
{
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_HKEY srk;
	TSS_RESULT rc;
	double t0 = tt_now_ms();

	tt_plan_name("tspi-pcr");
	rc = tt_connect(&ctx, &tpm, &srk);
	if (!tt_rc(rc, 0, "connect, TPM object, LoadKeyByUUID(SRK)"))
		return tt_done();
	test_pcrs(ctx, tpm);
	test_event_log(ctx, tpm);
	test_quote(ctx, tpm, srk);
	test_caps(ctx, tpm);
	test_misc(ctx, tpm);
	test_nv(ctx, tpm);
	rc = Tspi_Context_Close(ctx);
	tt_rc(rc, 0, "Tspi_Context_Close");
	tt_diag("tspi-pcr took %.0f ms", tt_now_ms() - t0);
	return tt_done();
}

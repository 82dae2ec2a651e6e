/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for tcs-auth: known answers computed independently
 * (gen-tcs-auth-vectors.py), then the strongest check there is: the
 * authorisations libtspi computed in the recorded TrouSerS conversations
 * (tests/data/traces/tcsd-conversations.jsonl), recomputed byte for byte.
 * Those used the well-known owner/SRK secret and SHA1("password") for the
 * keys and data tpm_sealdata creates, so every secret involved is known.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcs-auth.h"
#include "tcs-auth-vectors.h"
#include "tcs-client.h"
#include "tcs-key.h"
#include "tcs-packet.h"
#include "tcs-trace.h"
#include "tcs-tap.h"



#define EQ20(a, b) (memcmp((a), (b), 20) == 0)

static const uint8_t zeros[20];

/* ------------------------------------------------------------------ known answers */

static void
test_secrets(void)
{
	uint8_t out[20];

	CHECK(tcs_auth_secret_plain("password", 8, out) == 0 && EQ20(out, kat_secret_password),
	      "plain secret: SHA-1 of the bytes, no NUL");
	CHECK(tcs_auth_secret_plain("", 0, out) == 0 && EQ20(out, kat_secret_empty),
	      "plain secret of the empty passphrase");
	CHECK(tcs_auth_secret_utf16((const char *)kat_utf16_input, out) == 0 &&
		      EQ20(out, kat_secret_utf16),
	      "UTF-16LE secret with terminator (tpm-tools --unicode), astral character included");
	CHECK(tcs_auth_secret_utf16("\xc3", out) == -EINVAL, "truncated UTF-8 refused");
	CHECK(tcs_auth_secret_utf16("\xc0\xaf", out) == -EINVAL, "overlong UTF-8 refused");
	CHECK(tcs_auth_secret_utf16("\xed\xa0\x80", out) == -EINVAL, "UTF-8 surrogate refused");
	CHECK(tcs_hmac_sha1(kat_hmac_key80, sizeof(kat_hmac_key80), kat_hmac_data80,
			    strlen((const char *)kat_hmac_data80), out) == 0 &&
		      EQ20(out, kat_hmac_out80),
	      "HMAC-SHA1 with a key longer than the block (RFC 2202 case 6)");
	CHECK(memcmp(tcs_auth_well_known, zeros, 20) == 0, "the well-known secret is 20 zeros");
}

static void
test_oiap_vectors(void)
{
	_cleanup_auth_session_ TcsAuthSession s = {0};
	uint8_t digest[20], buf[4 + 4 + 20];
	TcsAuthIn in;
	TcsAuthOut out;

	memcpy(buf, (uint8_t[]){0, 0, 0, 0x3c, 0, 0, 0, 20}, 8);
	memcpy(buf + 8, kat_sign_area, 20);
	CHECK(tcs_sha1(buf, sizeof(buf), digest) == 0 && EQ20(digest, kat_sign_in_digest),
	      "Sign param digest");

	tcs_auth_session_oiap(&s, 0x02000001, kat_nonce_even, kat_oiap_secret);
	memcpy(s.nonce_odd, kat_nonce_odd, 20);
	CHECK(tcs_auth_session_command(&s, kat_sign_in_digest, false, &in) == 0 &&
		      EQ20(in.hmac, kat_sign_in_hmac_cont0) && in.handle == 0x02000001 &&
		      in.cont == 0 && EQ20(in.nonce_odd, kat_nonce_odd),
	      "OIAP command HMAC, continue false");
	CHECK(tcs_auth_session_command(&s, kat_sign_in_digest, true, &in) == 0 &&
		      EQ20(in.hmac, kat_sign_in_hmac_cont1) && in.cont == 1,
	      "OIAP command HMAC, continue true");

	memcpy(out.nonce_even, kat_nonce_even2, 20);
	out.cont = 0;
	memcpy(out.hmac, kat_sign_out_hmac, 20);
	out.hmac[19] ^= 1;
	CHECK(tcs_auth_session_check_reply(&s, kat_sign_out_digest, &out) == -EBADMSG &&
		      EQ20(s.nonce_even, kat_nonce_even),
	      "a tampered reply HMAC is refused and the nonces do not roll");
	out.hmac[19] ^= 1;
	CHECK(tcs_auth_session_check_reply(&s, kat_sign_out_digest, &out) == 0,
	      "reply HMAC verifies");
	CHECK(EQ20(s.nonce_even, kat_nonce_even2) && !s.cont,
	      "nonceEven rolled to the reply's, continue taken from the reply");

	CHECK(tcs_auth_session_next_nonce(&s) == 0 && !EQ20(s.nonce_odd, kat_nonce_odd),
	      "a fresh nonceOdd is drawn");
	tcs_auth_session_wipe(&s);
	CHECK(EQ20(s.secret, zeros) && s.handle == 0, "wipe clears the secret");
}

static void
test_osap_vectors(void)
{
	_cleanup_auth_session_ TcsAuthSession s = {0};
	uint8_t out[20];

	CHECK(tcs_auth_session_osap(&s, 0x02000002, kat_nonce_even, kat_osap_nonce_even_osap,
				    kat_osap_nonce_odd_osap, kat_osap_entity) == 0 &&
		      EQ20(s.secret, kat_osap_shared) && s.osap,
	      "OSAP shared secret");
	CHECK(tcs_auth_adip(s.secret, kat_nonce_even, kat_adip_usage, out) == 0 &&
		      EQ20(out, kat_adip_enc_usage),
	      "ADIP: usage secret under nonceEven");
	CHECK(tcs_auth_adip(s.secret, kat_nonce_odd, kat_adip_mig, out) == 0 &&
		      EQ20(out, kat_adip_enc_mig),
	      "ADIP: migration secret under nonceOdd");
	CHECK(tcs_auth_adip(s.secret, kat_nonce_odd, kat_adip_enc_mig, out) == 0 &&
		      EQ20(out, kat_adip_mig),
	      "ADIP twice decrypts");
}

/* ------------------------------------------------------------------ recorded conversations */

static TcsTrace conv;

static const TcsTraceRecord *
find(int conn, int seq, const char *name)
{
	for (size_t i = 0; i < conv.n; i++) {
		const TcsTraceRecord *r = &conv.rec[i];
		if (r->conn == conn && r->seq == seq)
			return strcmp(r->name, name) == 0 && r->reply_len ? r : NULL;
	}
	return NULL;
}

/* Readers over a recorded exchange: the request past its context handle, and the reply. */
static bool
open_exchange(int conn, int seq, const char *name, TcsPacketReader *req, TcsPacketReader *rep)
{
	const TcsTraceRecord *r = find(conn, seq, name);
	uint32_t ctx;

	if (!r) {
		printf("# no record conn %d seq %d %s\n", conn, seq, name);
		return false;
	}
	return tcs_packet_reader_init(req, r->request, r->request_len) == 0 &&
	       tcs_packet_get_u32(req, &ctx) == 0 &&
	       tcs_packet_reader_init_reply(rep, r->reply, r->reply_len) == 0;
}

/* The OIAP exchange that opened a session: handle and nonceEven. */
static bool
recorded_oiap(int conn, int seq, uint32_t *handle, uint8_t nonce_even[20])
{
	TcsPacketReader q, p;

	return open_exchange(conn, seq, "OIAP", &q, &p) && tcs_packet_get_u32(&p, handle) == 0 &&
	       tcs_packet_get_20(&p, TCSD_TYPE_NONCE, nonce_even) == 0;
}

/* The OSAP exchange: a session as the client had it, from the entity's secret. */
static bool
recorded_osap(int conn, int seq, const uint8_t secret[20], TcsAuthSession *s)
{
	TcsPacketReader q, p;
	uint8_t odd_osap[20], even[20], even_osap[20];
	uint16_t et;
	uint32_t ev, handle;

	return open_exchange(conn, seq, "OSAP", &q, &p) && tcs_packet_get_u16(&q, &et) == 0 &&
	       tcs_packet_get_u32(&q, &ev) == 0 &&
	       tcs_packet_get_20(&q, TCSD_TYPE_NONCE, odd_osap) == 0 &&
	       tcs_packet_get_u32(&p, &handle) == 0 &&
	       tcs_packet_get_20(&p, TCSD_TYPE_NONCE, even) == 0 &&
	       tcs_packet_get_20(&p, TCSD_TYPE_NONCE, even_osap) == 0 &&
	       tcs_auth_session_osap(s, handle, even, even_osap, odd_osap, secret) == 0;
}

/* SHA1(u32 a || u32 b || bytes) for param digests. */
static void
digest3(uint32_t a, const uint32_t *b, const void *p, size_t n, uint8_t out[20])
{
	TcsWbuf w;

	tcs_wbuf_init(&w, 0);
	tcs_wbuf_u32(&w, a);
	if (b)
		tcs_wbuf_u32(&w, *b);
	tcs_wbuf_bytes(&w, p, n);
	tcs_sha1(w.data, w.len, out);
	tcs_wbuf_free(&w);
}

/* Recompute a recorded request's HMAC with s (its nonceOdd taken from the record). */
static bool
same_command_hmac(TcsAuthSession *s, const uint8_t digest[20], const TcsAuthIn *rec)
{
	TcsAuthIn mine;

	memcpy(s->nonce_odd, rec->nonce_odd, 20);
	return tcs_auth_session_command(s, digest, rec->cont, &mine) == 0 &&
	       mine.handle == rec->handle && EQ20(mine.hmac, rec->hmac);
}

/* tpm_clear -z: OIAP with the owner's well-known secret, TPM_OwnerClear. */
static void
test_trace_owner_clear(void)
{
	_cleanup_auth_session_ TcsAuthSession s = {0};
	TcsPacketReader q, p;
	uint8_t even[20], digest[20];
	uint32_t handle;
	TcsAuthIn in;
	TcsAuthOut out;

	if (!recorded_oiap(27, 1, &handle, even) || !open_exchange(27, 2, "OWNERCLEAR", &q, &p) ||
	    tcs_packet_get_auth_in(&q, &in) < 0 || tcs_packet_get_auth_out(&p, &out) < 0) {
		CHECK(false, "tpm_clear conversation found");
		return;
	}
	tcs_auth_session_oiap(&s, handle, even, tcs_auth_well_known);
	digest3(TPM_ORD_OwnerClear, NULL, NULL, 0, digest);
	CHECK(same_command_hmac(&s, digest, &in), "OwnerClear: libtspi's owner HMAC recomputed");
	digest3(TPM_SUCCESS, &(uint32_t){TPM_ORD_OwnerClear}, NULL, 0, digest);
	CHECK(tcs_auth_session_check_reply(&s, digest, &out) == 0,
	      "OwnerClear: the TPM's reply HMAC verifies");
}

/* tpm_sealdata -z: CreateWrapKey under the SRK, LoadKey2, Seal. */
static void
test_trace_sealdata(void)
{
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_free_ uint8_t *tmpl = NULL;
	TcsPacketReader q, p;
	uint8_t enc_u[20], enc_m[20], dec[20], password[20], digest[20], even[20];
	const uint8_t *ki = NULL, *key = NULL, *blob = NULL, *sealed = NULL, *pcr = NULL,
		      *data = NULL;
	uint32_t parent, ki_len = 0, key_len = 0, blob_len, sealed_len, pcr_len, data_len, handle,
			 keyh;
	size_t tmpl_len = 0;
	TcsAuthIn in;
	TcsAuthOut out;

	tcs_auth_secret_plain("password", 8, password);

	/* OSAP on the SRK (well-known), then CreateWrapKey */
	if (!recorded_osap(17, 4, tcs_auth_well_known, &s) ||
	    !open_exchange(17, 5, "CREATEWRAPKEY", &q, &p) || tcs_packet_get_u32(&q, &parent) ||
	    tcs_packet_get_20(&q, TCSD_TYPE_ENCAUTH, enc_u) ||
	    tcs_packet_get_20(&q, TCSD_TYPE_ENCAUTH, enc_m) ||
	    tcs_packet_get_blob(&q, 4096, &ki, &ki_len) || tcs_packet_get_auth_in(&q, &in) ||
	    tcs_packet_get_blob(&p, 4096, &key, &key_len) || tcs_packet_get_auth_out(&p, &out)) {
		CHECK(false, "tpm_sealdata CreateWrapKey found");
		return;
	}
	CHECK(tcs_auth_adip(s.secret, s.nonce_even, enc_u, dec) == 0 && EQ20(dec, password),
	      "CreateWrapKey: the usage secret decrypts (ADIP, nonceEven) to SHA1(\"password\")");
	CHECK(tcs_auth_adip(s.secret, in.nonce_odd, enc_m, dec) == 0 && EQ20(dec, zeros),
	      "CreateWrapKey: the migration secret decrypts (ADIP, nonceOdd) to zeros");
	CHECK(tcs_auth_adip(s.secret, s.nonce_even, password, dec) == 0 && EQ20(dec, enc_u),
	      "CreateWrapKey: ADIP encryption gives libtspi's encAuth");
	{
		TcsWbuf w;
		tcs_wbuf_init(&w, 0);
		tcs_wbuf_u32(&w, TPM_ORD_CreateWrapKey);
		tcs_wbuf_bytes(&w, enc_u, 20);
		tcs_wbuf_bytes(&w, enc_m, 20);
		tcs_wbuf_bytes(&w, ki, ki_len);
		tcs_sha1(w.data, w.len, digest);
		tcs_wbuf_free(&w);
	}
	CHECK(same_command_hmac(&s, digest, &in), "CreateWrapKey: OSAP command HMAC recomputed");
	digest3(TPM_SUCCESS, &(uint32_t){TPM_ORD_CreateWrapKey}, key, key_len, digest);
	CHECK(tcs_auth_session_check_reply(&s, digest, &out) == 0,
	      "CreateWrapKey: the TPM's reply HMAC verifies with the shared secret");
	CHECK(tcs_client_key_template(&(TcsKeyTemplate){.usage = TPM_KEY_STORAGE,
							.flags = TPM_KEY_FLAG_VOLATILE,
							.auth_data_usage = TPM_AUTH_ALWAYS},
				      &tmpl, &tmpl_len) == 0 &&
		      tmpl_len == ki_len && memcmp(tmpl, ki, ki_len) == 0,
	      "key template: byte for byte libtspi's storage key keyInfo");

	/* OIAP on the SRK, LoadKey2 of the new key */
	if (!recorded_oiap(17, 6, &handle, even) ||
	    !open_exchange(17, 7, "LOADKEYBYBLOB", &q, &p) || tcs_packet_get_u32(&q, &parent) ||
	    tcs_packet_get_blob(&q, 4096, &blob, &blob_len) || tcs_packet_get_auth_in(&q, &in) ||
	    tcs_packet_get_auth_out(&p, &out) || tcs_packet_get_u32(&p, &keyh)) {
		CHECK(false, "tpm_sealdata LoadKeyByBlob found");
		return;
	}
	tcs_auth_session_oiap(&s, handle, even, tcs_auth_well_known);
	digest3(TPM_ORD_LoadKey2, NULL, blob, blob_len, digest);
	CHECK(same_command_hmac(&s, digest, &in), "LoadKey2: SRK authorisation recomputed");
	digest3(TPM_SUCCESS, &(uint32_t){TPM_ORD_LoadKey2}, NULL, 0, digest);
	CHECK(tcs_auth_session_check_reply(&s, digest, &out) == 0,
	      "LoadKey2: reply HMAC (no handle in it) verifies");

	/* OSAP on the new key (SHA1("password")), Seal */
	if (!recorded_osap(17, 8, password, &s) || !open_exchange(17, 9, "SEAL", &q, &p) ||
	    tcs_packet_get_u32(&q, &parent) || tcs_packet_get_20(&q, TCSD_TYPE_ENCAUTH, enc_u) ||
	    tcs_packet_get_blob(&q, 4096, &pcr, &pcr_len) ||
	    tcs_packet_get_blob(&q, 4096, &data, &data_len) || tcs_packet_get_auth_in(&q, &in) ||
	    tcs_packet_get_auth_out(&p, &out) ||
	    tcs_packet_get_blob(&p, 4096, &sealed, &sealed_len)) {
		CHECK(false, "tpm_sealdata Seal found");
		return;
	}
	CHECK(parent == keyh, "Seal uses the key just loaded");
	CHECK(tcs_auth_adip(s.secret, s.nonce_even, enc_u, dec) == 0 && EQ20(dec, password),
	      "Seal: the data secret decrypts to SHA1(\"password\")");
	{
		TcsWbuf w;
		tcs_wbuf_init(&w, 0);
		tcs_wbuf_u32(&w, TPM_ORD_Seal);
		tcs_wbuf_bytes(&w, enc_u, 20);
		tcs_wbuf_u32(&w, pcr_len);
		tcs_wbuf_bytes(&w, pcr, pcr_len);
		tcs_wbuf_u32(&w, data_len);
		tcs_wbuf_bytes(&w, data, data_len);
		tcs_sha1(w.data, w.len, digest);
		tcs_wbuf_free(&w);
	}
	CHECK(same_command_hmac(&s, digest, &in), "Seal: OSAP command HMAC recomputed");
	digest3(TPM_SUCCESS, &(uint32_t){TPM_ORD_Seal}, sealed, sealed_len, digest);
	CHECK(tcs_auth_session_check_reply(&s, digest, &out) == 0, "Seal: reply HMAC verifies");
}

/* tpm_unsealdata -z: Unseal with an OSAP parent session and an OIAP data session. */
static void
test_trace_unseal(void)
{
	_cleanup_auth_session_ TcsAuthSession ks = {0};
	_cleanup_auth_session_ TcsAuthSession ds = {0};
	TcsPacketReader q, p;
	uint8_t password[20], digest[20], even[20];
	const uint8_t *sealed = NULL, *data = NULL;
	uint32_t key, sealed_len, data_len, handle;
	TcsAuthIn kin, din;
	TcsAuthOut kout, dout;

	tcs_auth_secret_plain("password", 8, password);
	if (!recorded_osap(18, 5, password, &ks) || !recorded_oiap(18, 6, &handle, even) ||
	    !open_exchange(18, 7, "UNSEAL", &q, &p) || tcs_packet_get_u32(&q, &key) ||
	    tcs_packet_get_blob(&q, 4096, &sealed, &sealed_len) ||
	    tcs_packet_get_auth_in(&q, &kin) || tcs_packet_get_auth_in(&q, &din) ||
	    tcs_packet_get_auth_out(&p, &kout) || tcs_packet_get_auth_out(&p, &dout) ||
	    tcs_packet_get_blob(&p, 4096, &data, &data_len)) {
		CHECK(false, "tpm_unsealdata Unseal found");
		return;
	}
	tcs_auth_session_oiap(&ds, handle, even, password);
	digest3(TPM_ORD_Unseal, NULL, sealed, sealed_len, digest);
	CHECK(same_command_hmac(&ks, digest, &kin), "Unseal: parent (OSAP) HMAC recomputed");
	CHECK(same_command_hmac(&ds, digest, &din), "Unseal: data (OIAP) HMAC recomputed");
	{
		TcsWbuf w;
		tcs_wbuf_init(&w, 0);
		tcs_wbuf_u32(&w, TPM_SUCCESS);
		tcs_wbuf_u32(&w, TPM_ORD_Unseal);
		tcs_wbuf_u32(&w, data_len);
		tcs_wbuf_bytes(&w, data, data_len);
		tcs_sha1(w.data, w.len, digest);
		tcs_wbuf_free_secure(&w);
	}
	CHECK(tcs_auth_session_check_reply(&ks, digest, &kout) == 0,
	      "Unseal: parent reply HMAC verifies");
	CHECK(tcs_auth_session_check_reply(&ds, digest, &dout) == 0,
	      "Unseal: data reply HMAC verifies");
}

/* LoadKeyByUUID answered 0x20CA + LOADKEY_INFO; libtspi authorised the SRK and retried. */
static void
test_trace_loadkey_info(void)
{
	_cleanup_auth_session_ TcsAuthSession s = {0};
	TcsPacketReader q, p, q2, p2;
	TcsLoadKeyInfo asked, info;
	const uint8_t *blob = NULL;
	uint8_t even[20], digest[20];
	uint32_t handle, blob_len;
	TcsUuid uuid;

	if (!open_exchange(88, 3, "LOADKEYBYUUID", &q, &p) ||
	    tcs_packet_get_loadkey_info(&p, &asked) || !recorded_oiap(88, 4, &handle, even) ||
	    !open_exchange(88, 5, "LOADKEYBYUUID", &q, &p) || tcs_packet_get_uuid(&q, &uuid) ||
	    tcs_packet_get_loadkey_info(&q, &info) ||
	    !open_exchange(88, 6, "GETREGISTEREDKEYBLOB", &q2, &p2) ||
	    tcs_packet_get_blob(&p2, 4096, &blob, &blob_len)) {
		CHECK(false, "LoadKeyByUUID round trip found");
		return;
	}
	digest3(TPM_ORD_LoadKey2, NULL, blob, blob_len, digest);
	CHECK(EQ20(asked.param_digest, digest),
	      "LOADKEY_INFO paramDigest = SHA1(LoadKey2 || blob)");
	CHECK(memcmp(&asked.parent, &TCS_UUID_SRK, sizeof(TcsUuid)) == 0,
	      "parent asked about: SRK");
	CHECK(info.auth.handle == handle && EQ20(info.nonce_even, even) &&
		      EQ20(info.param_digest, asked.param_digest),
	      "the retry carries the OIAP handle, its nonceEven and the digest asked about");
	tcs_auth_session_oiap(&s, handle, even, tcs_auth_well_known);
	CHECK(same_command_hmac(&s, info.param_digest, &info.auth),
	      "the retry's SRK HMAC recomputed");
}

int
main(void)
{
	test_secrets();
	test_oiap_vectors();
	test_osap_vectors();
	tcs_trace_load("tcsd-conversations.jsonl", &conv);
	test_trace_owner_clear();
	test_trace_sealdata();
	test_trace_unseal();
	test_trace_loadkey_info();
	tcs_trace_free(&conv);
	return tap_done();
}

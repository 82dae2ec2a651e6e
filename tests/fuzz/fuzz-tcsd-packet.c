/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for everything tcsd does with bytes from a client or the TPM
 * before any policy applies: the TCSD packet reader and its getters, the
 * schema interpreter in both directions, and the packet writer.
 *
 * One input is used twice:
 *   - as a TCSD request frame: parse it, walk every parameter with its
 *     typed getter, and for a pass-through ordinal build the TPM command;
 *   - as a TPM reply: the first byte names a TCSD ordinal, the rest is the
 *     reply that row's schema converts (the TPM is not trusted either).
 * Whatever the writer produces must parse again.
 */
#include <stdlib.h>
#include <string.h>

#include "tcs-ordinal.h"
#include "tcs-packet.h"
#include "tcs-schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writer output must always be a frame our own reader accepts. */
static void
finish_and_reparse(TcsPacketWriter *w)
{
	TcsPacketReader r;
	uint8_t *out;
	size_t len;

	if (tcs_packet_writer_finish(w, 0, &out, &len) == 0) {
		if (tcs_packet_reader_init(&r, out, len) != 0)
			abort();
		free(out);
	}
	tcs_packet_writer_clear(w);
}

/* Every getter on every parameter; PBYTE lengths come from the UINT32 before. */
static void
walk_params(TcsPacketReader *r, bool reply)
{
	TcsPacketWriter w;
	uint32_t prev = 0;

	tcs_packet_writer_init(&w);
	while (tcs_packet_peek_type(r) >= 0) {
		int type = tcs_packet_peek_type(r), rc = -1;
		uint8_t b20[20];

		switch (type) {
		case TCSD_TYPE_BYTE: {
			uint8_t v;
			if ((rc = tcs_packet_get_u8(r, &v)) == 0)
				tcs_packet_put_u8(&w, v);
			break;
		}
		case TCSD_TYPE_BOOL: {
			bool v;
			if ((rc = tcs_packet_get_bool(r, &v)) == 0)
				tcs_packet_put_bool(&w, v);
			break;
		}
		case TCSD_TYPE_UINT16: {
			uint16_t v;
			if ((rc = tcs_packet_get_u16(r, &v)) == 0)
				tcs_packet_put_u16(&w, v);
			break;
		}
		case TCSD_TYPE_UINT32: {
			/* try it as a blob length first, like most handlers do */
			TcsPacketReader copy = *r;
			const uint8_t *p;
			uint32_t len;

			if (tcs_packet_get_blob(&copy, 4096, &p, &len) == 0)
				tcs_packet_put_blob(&w, p, len);
			if ((rc = tcs_packet_get_u32(r, &prev)) == 0)
				tcs_packet_put_u32(&w, prev);
			break;
		}
		case TCSD_TYPE_UINT64: {
			uint64_t v;
			if ((rc = tcs_packet_get_u64(r, &v)) == 0)
				tcs_packet_put_u64(&w, v);
			break;
		}
		case TCSD_TYPE_NONCE:
		case TCSD_TYPE_DIGEST:
		case TCSD_TYPE_ENCAUTH:
		case TCSD_TYPE_SECRET:
			if ((rc = tcs_packet_get_20(r, (uint8_t)type, b20)) == 0)
				tcs_packet_put_20(&w, (uint8_t)type, b20);
			break;
		case TCSD_TYPE_PBYTE: {
			const uint8_t *p;
			if ((rc = tcs_packet_get_pbyte(r, prev, &p)) == 0)
				tcs_packet_put_pbyte(&w, p, prev);
			break;
		}
		case TCSD_TYPE_UUID: {
			TcsUuid v;
			if ((rc = tcs_packet_get_uuid(r, &v)) == 0)
				tcs_packet_put_uuid(&w, &v);
			break;
		}
		case TCSD_TYPE_VERSION: {
			TcsVersion v;
			if ((rc = tcs_packet_get_version(r, &v)) == 0)
				tcs_packet_put_version(&w, &v);
			break;
		}
		case TCSD_TYPE_AUTH:
			if (reply) {
				TcsAuthOut v;
				if ((rc = tcs_packet_get_auth_out(r, &v)) == 0)
					tcs_packet_put_auth_out(&w, &v);
			} else {
				TcsAuthIn v;
				if ((rc = tcs_packet_get_auth_in(r, &v)) == 0)
					tcs_packet_put_auth_in(&w, &v);
			}
			break;
		case TCSD_TYPE_KM_KEYINFO:
		case TCSD_TYPE_KM_KEYINFO2: {
			TcsKmKeyInfo v;
			bool v2 = type == TCSD_TYPE_KM_KEYINFO2;
			if ((rc = tcs_packet_get_km_keyinfo(r, v2, &v)) == 0)
				tcs_packet_put_km_keyinfo(&w, v2, &v);
			break;
		}
		case TCSD_TYPE_LOADKEY_INFO: {
			TcsLoadKeyInfo v;
			if ((rc = tcs_packet_get_loadkey_info(r, &v)) == 0)
				tcs_packet_put_loadkey_info(&w, &v);
			break;
		}
		case TCSD_TYPE_PCR_EVENT: {
			TcsPcrEvent v;
			if ((rc = tcs_packet_get_pcr_event(r, &v)) == 0)
				tcs_packet_put_pcr_event(&w, &v);
			break;
		}
		case TCSD_TYPE_COUNTER_VALUE: {
			TcsCounterValue v;
			if ((rc = tcs_packet_get_counter_value(r, &v)) == 0)
				tcs_packet_put_counter_value(&w, &v);
			break;
		}
		}
		if (rc != 0)
			break; /* unknown type or short data: a handler would refuse here */
		if (type != TCSD_TYPE_UINT32)
			prev = 0;
	}
	(void)tcs_packet_reader_done(r);
	finish_and_reparse(&w);
}

/* Refuse odd handles so both translation outcomes are exercised. */
static uint32_t
translate(uint32_t tcs_handle, uint32_t *tpm_handle, void *user_data)
{
	if (tcs_handle & 1)
		return TCS_ERR(TCS_E_INVALID_KEYHANDLE);
	*tpm_handle = tcs_handle ^ 0x01000000u;
	return 0;
}

static void
fuzz_request(const uint8_t *data, size_t size)
{
	const TcsOrdinal *o;
	TcsPacketReader r, copy;
	TcsSchemaRequest st;
	TcsWbuf cmd;
	uint32_t context;

	if (tcs_packet_reader_init(&r, data, size) != 0)
		return;
	copy = r;
	walk_params(&copy, false);
	copy = r;
	walk_params(&copy, true);
	(void)tcs_schema_peek_context(&r, &context);

	o = tcs_ordinal_lookup(r.hdr.code);
	if (!o || !o->tpm_ordinal)
		return;
	for (int pass = 0; pass < 2; pass++) {
		copy = r;
		tcs_wbuf_init(&cmd, 0);
		if (tcs_schema_build_command(o, &copy, pass ? translate : NULL, NULL, &st, &cmd) == 0) {
			/* a built command is a well-formed TPM frame */
			if (cmd.len < 10 || cmd.len > TCS_TPM_MAX_COMMAND)
				abort();
			(void)tcs_packet_reader_done(&copy);
		}
		tcs_wbuf_free_secure(&cmd);
	}
}

static void
fuzz_tpm_reply(const uint8_t *data, size_t size)
{
	const TcsOrdinal *o;
	TcsSchemaRequest st = {0};
	TcsPacketWriter w;
	const uint8_t *rsp = data + 1;
	size_t len = size - 1;
	unsigned required = 0, optional, tag_auths;

	if (size < 1)
		return;
	o = tcs_ordinal_lookup(data[0]);
	if (!o || !o->tpm_ordinal)
		return;
	(void)tcs_tpm_reply_code(rsp, len);
	/* the authorisations that were "sent", as build_command would record them:
	 * the required ones, plus optional ones up to what the reply's tag says */
	tag_auths = len >= 2 && rsp[0] == 0 && rsp[1] >= 0xc4 && rsp[1] <= 0xc6 ? rsp[1] - 0xc4 : 0;
	for (const char *p = o->in; *p; p++)
		required += *p == 'A';
	optional = tag_auths > required ? tag_auths - required : 0;
	for (const char *p = o->in; *p && st.n_auth_slots < TCS_SCHEMA_MAX_AUTH; p++) {
		bool present;

		if (*p != 'A' && *p != 'a' && *p != 'z')
			continue;
		present = *p == 'A' || (optional > 0 && optional--);
		st.auth_present[st.n_auth_slots++] = present;
		st.n_auth += present;
	}
	tcs_packet_writer_init(&w);
	if (tcs_schema_build_reply(o, &st, rsp, len, &w) == 0)
		finish_and_reparse(&w);
	else
		tcs_packet_writer_clear(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy, so reads past the end hit the sanitizer's redzone */
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	fuzz_request(buf, size);
	fuzz_tpm_reply(buf, size);
	free(buf);
	return 0;
}

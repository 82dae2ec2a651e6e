/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PCR read/extend and TPM_PCR_INFO (see tcs-client-pcr.h). */
#include <errno.h>
#include <string.h>

#include <stdlib.h>

#include "tcs-client-pcr.h"
#include "tcs-client-private.h"

enum {
	ORD_EXTEND = 31,
	ORD_PCRREAD = 32,
};

#define PCR_SELECT_BYTES 3u /* TCS_PCR_COUNT / 8 */

int
tcs_client_pcr_read(TcsClient *c, uint32_t index, uint8_t out[TCS_DIGEST_SIZE])
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	uint8_t v[TCS_DIGEST_SIZE];
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (index >= TCS_PCR_COUNT)
		return -EINVAL;
	tcs_packet_put_u32(&w, index);
	rc = tcsc_call_ok(c, ORD_PCRREAD, &w, &rep);
	if (rc != 0)
		return rc;
	if (tcs_packet_get_20(&rep.r, TCSD_TYPE_DIGEST, v) < 0)
		return -EBADMSG;
	memcpy(out, v, sizeof(v));
	return 0;
}

int
tcs_client_pcr_extend(TcsClient *c, uint32_t index, const uint8_t digest[TCS_DIGEST_SIZE],
		      uint8_t *out)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	uint8_t v[TCS_DIGEST_SIZE];
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (index >= TCS_PCR_COUNT)
		return -EINVAL;
	tcs_packet_put_u32(&w, index);
	tcs_packet_put_20(&w, TCSD_TYPE_DIGEST, digest);
	rc = tcsc_call_ok(c, ORD_EXTEND, &w, &rep);
	if (rc != 0)
		return rc;
	if (tcs_packet_get_20(&rep.r, TCSD_TYPE_DIGEST, v) < 0)
		return -EBADMSG;
	if (out)
		memcpy(out, v, sizeof(v));
	return 0;
}

int
tcs_client_pcr_info(TcsClient *c, uint32_t mask, uint8_t **ret, size_t *ret_len)
{
	/* TPM_PCR_COMPOSITE: select {u16 size, bitmap}, u32 valueSize, values */
	uint8_t comp[2 + PCR_SELECT_BYTES + 4 + TCS_PCR_COUNT * TCS_DIGEST_SIZE];
	uint8_t info[2 + PCR_SELECT_BYTES + 2 * TCS_DIGEST_SIZE], *p;
	size_t n = 0, off;
	int rc;

	if (mask == 0 || mask >> TCS_PCR_COUNT)
		return -EINVAL;
	comp[0] = 0;
	comp[1] = PCR_SELECT_BYTES;
	for (unsigned i = 0; i < PCR_SELECT_BYTES; i++)
		comp[2 + i] = (uint8_t)(mask >> (8 * i));
	off = 2 + PCR_SELECT_BYTES + 4;
	for (uint32_t i = 0; i < TCS_PCR_COUNT; i++) {
		if (!(mask & (1u << i)))
			continue;
		rc = tcs_client_pcr_read(c, i, comp + off + n * TCS_DIGEST_SIZE);
		if (rc != 0)
			return rc;
		n++;
	}
	comp[2 + PCR_SELECT_BYTES] = (uint8_t)((n * TCS_DIGEST_SIZE) >> 24);
	comp[2 + PCR_SELECT_BYTES + 1] = (uint8_t)((n * TCS_DIGEST_SIZE) >> 16);
	comp[2 + PCR_SELECT_BYTES + 2] = (uint8_t)((n * TCS_DIGEST_SIZE) >> 8);
	comp[2 + PCR_SELECT_BYTES + 3] = (uint8_t)(n * TCS_DIGEST_SIZE);
	/* TPM_PCR_INFO: select, digestAtRelease, digestAtCreation */
	memcpy(info, comp, 2 + PCR_SELECT_BYTES);
	if (tcs_sha1(comp, off + n * TCS_DIGEST_SIZE, info + 2 + PCR_SELECT_BYTES) < 0)
		return -EIO;
	memcpy(info + 2 + PCR_SELECT_BYTES + TCS_DIGEST_SIZE, info + 2 + PCR_SELECT_BYTES,
	       TCS_DIGEST_SIZE);
	p = malloc(sizeof(info));
	if (!p)
		return -ENOMEM;
	memcpy(p, info, sizeof(info));
	*ret = p;
	*ret_len = sizeof(info);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Context and TCS-level functions: OpenContext, CloseContext, TCS GetCapability, GetCredential. */
#include "config.h"

#include "tcs-types.h"
#include "tcsd-dispatch.h"

#define TSS_TCSCAP_ALG 0x01u
#define TSS_TCSCAP_VERSION 0x02u
#define TSS_TCSCAP_CACHING 0x03u
#define TSS_TCSCAP_PERSSTORAGE 0x04u
#define TSS_TCSCAP_MANUFACTURER 0x05u
#define TSS_TCSCAP_PLATFORM_CLASS 0x06u
#define TSS_TCSCAP_TRANSPORT 0x07u
#define TSS_TCSCAP_PROP_KEYCACHE 0x100u
#define TSS_TCSCAP_PROP_AUTHCACHE 0x101u
#define TSS_TCSCAP_PROP_MANUFACTURER_STR 0x102u
#define TSS_TCSCAP_PROP_MANUFACTURER_ID 0x103u
#define TSS_TCSCAP_TRANS_EXCLUSIVE 0x2100u
#define TSS_TCSCAP_PROP_HOST_PLATFORM 0x3001u
#define TSS_TCSCAP_PROP_ALL_PLATFORMS 0x3002u
#define TSS_ALG_SHA 0x23u
#define TSS_ALG_DEFAULT 0xfeu
#define TSS_ALG_DEFAULT_SIZE 0xffu
#define TSS_ALG_RSA 0x20u
#define TSS_TCS_CERT_ACCESS_AUTO 0x1u
#define TSS_TCS_CREDENTIAL_EKCERT 0x1u
#define TSS_TCS_CREDENTIAL_TPM_CC 0x2u
#define TSS_TCS_CREDENTIAL_PLATFORMCERT 0x3u
#define TCSD_MAX_CREDENTIAL (64u * 1024)

guint32
tcsd_op_open_context(TcsdRequest *rq)
{
	TcsdContext *ctx = tcsd_context_open(rq->d, rq->peer);

	/* tcsd_context_open said why */
	if (!ctx)
		return TCS_ERR(TSS_E_OUTOFMEMORY);
	tcs_packet_put_u32(rq->out, ctx->handle);
	/* libtspi picks its TPM 1.1 or 1.2 behaviour from this */
	tcs_packet_put_u32(rq->out, rq->d->tpm_version_minor);
	return 0;
}

guint32
tcsd_op_close_context(TcsdRequest *rq)
{
	tcsd_context_close(rq->d, rq->ctx);
	return 0;
}

/*
 * TCS capabilities travel in the peer's host byte order (TrouSerS copies
 * integers raw); every libtspi peer is little-endian x86/ARM in practice,
 * so they are encoded little-endian explicitly.
 */
guint32
tcsd_op_tcs_get_capability(TcsdRequest *rq)
{
	guint32 ctx, area, sub = 0, len;
	const guint8 *p;
	TcsWbuf w;
	TcsRbuf r;
	guint32 rc = 0;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &area) ||
	    tcs_packet_get_blob(rq->in, 64, &p, &len))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (len == 4) {
		tcs_rbuf_init(&r, p, len);
		sub = tcs_rbuf_u32_le(&r);
	}
	tcs_wbuf_init(&w, 1024);
	switch (area) {
	case TSS_TCSCAP_ALG:
		if (sub == TSS_ALG_DEFAULT)
			tcs_wbuf_u32_le(&w, TSS_ALG_RSA);
		else if (sub == TSS_ALG_DEFAULT_SIZE)
			tcs_wbuf_u32_le(&w, 2048);
		else if (sub >= 0x20 && sub <= 0x2f)
			tcs_wbuf_u8(&w, sub == TSS_ALG_SHA);
		else
			rc = TCS_ERR(TSS_E_BAD_PARAMETER);
		break;
	case TSS_TCSCAP_VERSION: {
		static const guint8 version[4] = {1, 2, 0, 3};
		tcs_wbuf_bytes(&w, version, sizeof(version));
		break;
	}
	case TSS_TCSCAP_PERSSTORAGE:
		tcs_wbuf_u8(&w, 1);
		break;
	case TSS_TCSCAP_CACHING:
		if (sub == TSS_TCSCAP_PROP_KEYCACHE || sub == TSS_TCSCAP_PROP_AUTHCACHE)
			tcs_wbuf_u8(&w, 1);
		else
			rc = TCS_ERR(TSS_E_BAD_PARAMETER);
		break;
	case TSS_TCSCAP_MANUFACTURER:
		if (sub == TSS_TCSCAP_PROP_MANUFACTURER_ID) {
			tcs_wbuf_u32_le(&w, 0x54435300); /* "TCS\0" */
		} else if (sub == TSS_TCSCAP_PROP_MANUFACTURER_STR) {
			static const guint8 str[8] = {'T', 0, 'C', 0, 'S', 0, 0, 0}; /* UTF-16LE */
			tcs_wbuf_bytes(&w, str, sizeof(str));
		} else {
			rc = TCS_ERR(TSS_E_BAD_PARAMETER);
		}
		break;
	case TSS_TCSCAP_TRANSPORT:
		if (sub == TSS_TCSCAP_TRANS_EXCLUSIVE)
			tcs_wbuf_u8(&w, rq->d->config->enforce_exclusive_transport ? 1 : 0);
		else if (sub == 0)
			tcs_wbuf_u8(&w, 1);
		else
			rc = TCS_ERR(TSS_E_BAD_PARAMETER);
		break;
	case TSS_TCSCAP_PLATFORM_CLASS:
		/* no platform class URIs are configured: empty answers */
		if (sub != TSS_TCSCAP_PROP_HOST_PLATFORM && sub != TSS_TCSCAP_PROP_ALL_PLATFORMS)
			rc = TCS_ERR(TSS_E_BAD_PARAMETER);
		else if (sub == TSS_TCSCAP_PROP_HOST_PLATFORM) {
			tcs_wbuf_u32(&w, 0);
			tcs_wbuf_u32(&w, 0);
		}
		break;
	default:
		rc = TCS_ERR(TSS_E_BAD_PARAMETER);
		break;
	}
	if (rc == 0)
		tcs_packet_put_blob(rq->out, w.data, (guint32)w.len);
	tcs_wbuf_free(&w);
	return rc;
}

guint32
tcsd_op_get_credential(TcsdRequest *rq)
{
	TcsdConfig *conf = rq->d->config;
	g_autofree char *data = NULL;
	g_autoptr(GError) error = NULL;
	guint32 ctx, type, mode;
	const char *path;
	gsize len = 0;

	if (tcs_packet_get_u32(rq->in, &ctx) || tcs_packet_get_u32(rq->in, &type) ||
	    tcs_packet_get_u32(rq->in, &mode))
		return TCS_ERR(TSS_E_INTERNAL_ERROR);
	if (mode != TSS_TCS_CERT_ACCESS_AUTO)
		return TCS_ERR(TSS_E_FAIL);
	switch (type) {
	case TSS_TCS_CREDENTIAL_EKCERT:
		path = conf->endorsement_cred;
		break;
	case TSS_TCS_CREDENTIAL_TPM_CC:
		path = conf->conformance_cred;
		break;
	case TSS_TCS_CREDENTIAL_PLATFORMCERT:
		path = conf->platform_cred;
		break;
	default:
		return TCS_ERR(TSS_E_BAD_PARAMETER);
	}
	if (path && !g_file_get_contents(path, &data, &len, &error)) {
		g_warning("cannot read credential: %s", error->message);
		len = 0;
	}
	if (len > TCSD_MAX_CREDENTIAL) {
		g_warning("credential %s is larger than %u bytes, ignoring", path,
			  TCSD_MAX_CREDENTIAL);
		len = 0;
	}
	tcs_packet_put_blob(rq->out, data, (guint32)len);
	return 0;
}

/* Physical presence belongs to the platform firmware; TrouSerS refuses it too. */
guint32
tcsd_op_physical_presence(TcsdRequest *rq)
{
	g_message("refused PhysicalPresence from %s: physical presence is asserted by firmware",
		  rq->peer->addr);
	return TCS_ERR(TSS_E_NOTIMPL);
}

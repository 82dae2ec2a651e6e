/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Owner-class TCS functions of the TSS client: taking and clearing
 * ownership, the owner secret, TPM state, and the migration steps a key
 * archive needs. tcsd's management plane runs them in-process; they work
 * over TCP too (as root or tss, tcsd's owner_users).
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tcs-client-private.h"
#include "tcs-key.h"
#include "tcs-ordinal.h"
#include "tcs-types.h"

static void
digest_begin(TcsWbuf *d, uint32_t tpm_ordinal)
{
	tcs_wbuf_init(d, 0);
	tcs_wbuf_u32(d, tpm_ordinal);
}

/* A command whose only input is the owner's OIAP authorisation (after params in w/d). */
static int
owner_command(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE], uint32_t tcsd_ord,
	      uint32_t tpm_ord, TcsPacketWriter *w, TcsWbuf *d)
{
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_auth_session_ TcsAuthSession s = {0};
	int rc = tcsc_authorise_request(c, owner, d, &s, w);

	if (rc != 0)
		return rc;
	rc = tcsc_call_ok(c, tcsd_ord, w, &rep);
	if (rc != 0)
		return rc;
	return tcsc_check_reply(&s, &rep.r, tpm_ord, NULL, 0);
}

int
tcs_client_owner_clear(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE])
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	digest_begin(&d, TPM_ORD_OwnerClear);
	return owner_command(c, owner, TCSD_ORD_OWNERCLEAR, TPM_ORD_OwnerClear, &w, &d);
}

int
tcs_client_owner_set_disable(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE], bool disable)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	tcs_packet_put_bool(&w, disable);
	digest_begin(&d, TPM_ORD_OwnerSetDisable);
	tcs_wbuf_u8(&d, disable);
	return owner_command(c, owner, ORD_OWNERSETDISABLE, TPM_ORD_OwnerSetDisable, &w, &d);
}

static int
physical_command(TcsClient *c, uint32_t tcsd_ord, int flag)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (flag >= 0)
		tcs_packet_put_bool(&w, flag);
	return tcsc_call_ok(c, tcsd_ord, &w, &rep);
}

int
tcs_client_physical_enable(TcsClient *c, bool enable)
{
	return physical_command(c, enable ? ORD_PHYSICALENABLE : ORD_PHYSICALDISABLE, -1);
}

int
tcs_client_physical_set_deactivated(TcsClient *c, bool deactivated)
{
	return physical_command(c, ORD_PHYSICALSETDEACTIVATED, deactivated);
}

int
tcs_client_change_owner_secret(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE],
			       const uint8_t new_owner[TCS_SECRET_SIZE])
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	uint8_t enc_auth[TCS_SECRET_SIZE];
	TcsAuthIn auth;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	rc = tcsc_osap_begin(c, TPM_ET_OWNER, TPM_KH_OWNER, owner, &s);
	if (rc != 0)
		return rc;
	rc = tcs_auth_adip(s.secret, s.nonce_even, new_owner, enc_auth);
	if (rc == 0) {
		digest_begin(&d, TPM_ORD_ChangeAuthOwner);
		tcs_wbuf_u16(&d, TPM_PID_ADCP);
		tcs_wbuf_bytes(&d, enc_auth, sizeof(enc_auth));
		tcs_wbuf_u16(&d, TPM_ET_OWNER);
	}
	rc = tcsc_session_authorise(c, &s, rc, &d, &auth);
	if (rc < 0)
		return rc;
	tcs_packet_put_u16(&w, TPM_PID_ADCP);
	tcs_packet_put_20(&w, TCSD_TYPE_ENCAUTH, enc_auth);
	tcs_packet_put_u16(&w, TPM_ET_OWNER);
	tcs_packet_put_auth_in(&w, &auth);
	tcs_wipe(enc_auth, sizeof(enc_auth));
	rc = tcsc_call_ok(c, TCSD_ORD_CHANGEAUTHOWNER, &w, &rep);
	if (rc != 0)
		return rc;
	/* the reply is authorised with the shared secret of the old owner secret */
	return tcsc_check_reply(&s, &rep.r, TPM_ORD_ChangeAuthOwner, NULL, 0);
}

int
tcs_client_read_pubek(TcsClient *c, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	uint8_t nonce[TCS_NONCE_SIZE], checksum[TCS_DIGEST_SIZE], expect[TCS_DIGEST_SIZE];
	const uint8_t *pub = NULL;
	uint32_t pub_len = 0;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	rc = tcs_auth_random_nonce(nonce);
	if (rc < 0)
		return rc;
	tcs_packet_put_20(&w, TCSD_TYPE_NONCE, nonce);
	rc = tcsc_call_ok(c, ORD_READPUBEK, &w, &rep);
	if (rc != 0)
		return rc;
	if (tcs_packet_get_blob(&rep.r, TCS_KEY_MAX_SIZE, &pub, &pub_len) < 0 ||
	    tcs_packet_get_20(&rep.r, TCSD_TYPE_DIGEST, checksum) < 0)
		return -EBADMSG;
	/* checksum = SHA1(pubEndorsementKey || antiReplay): the key is the TPM's */
	tcs_wbuf_init(&d, 0);
	tcs_wbuf_bytes(&d, pub, pub_len);
	tcs_wbuf_bytes(&d, nonce, sizeof(nonce));
	rc = tcsc_digest_done(&d, expect);
	if (rc < 0)
		return rc;
	if (memcmp(expect, checksum, sizeof(expect)) != 0)
		return -EBADMSG;
	return tcsc_copy_out(pub, pub_len, ret, ret_len);
}

/* RSA-OAEP (SHA-1, MGF1, label "TCPA") to a TPM public key, as the TPM expects secrets. */
int
tcs_client_encrypt_oaep_tcpa(const uint8_t *pubkey, size_t pubkey_len, const void *data,
			     size_t len, uint8_t **ret, size_t *ret_len)
{
	_cleanup_key_ TcsKey k = {0};
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char *label = NULL, *out = NULL;
	size_t out_len = 0;
	int rc = tcs_pubkey_parse(pubkey, pubkey_len, &k, NULL);

	if (rc < 0)
		rc = tcs_key_parse(pubkey, pubkey_len, &k, NULL);
	if (rc == 0)
		rc = tcs_key_to_evp(&k, &pkey);
	if (rc < 0)
		return rc;
	rc = -EIO;
	ctx = EVP_PKEY_CTX_new(pkey, NULL);
	label = OPENSSL_memdup("TCPA", 4);
	if (ctx && label && EVP_PKEY_encrypt_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) > 0 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) > 0 &&
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, 4) > 0) {
		label = NULL; /* owned by ctx now */
		if (EVP_PKEY_encrypt(ctx, NULL, &out_len, data, len) > 0 &&
		    (out = malloc(out_len)) &&
		    EVP_PKEY_encrypt(ctx, out, &out_len, data, len) > 0) {
			*ret = out;
			*ret_len = out_len;
			out = NULL;
			rc = 0;
		}
	}
	free(out);
	OPENSSL_free(label);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

int
tcs_client_take_ownership(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE],
			  const uint8_t srk[TCS_SECRET_SIZE], uint8_t **ret_srk, size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	_cleanup_free_ uint8_t *ek = NULL, *enc_owner = NULL, *enc_srk = NULL, *srk_parms = NULL;
	size_t ek_len = 0, enc_owner_len = 0, enc_srk_len = 0, srk_parms_len = 0;
	const TcsKeyTemplate srk_template = {
		.usage = TPM_KEY_STORAGE,
		.auth_data_usage = TPM_AUTH_ALWAYS,
		.bits = 2048,
	};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	rc = tcs_client_read_pubek(c, &ek, &ek_len);
	if (rc != 0)
		return rc;
	rc = tcs_client_encrypt_oaep_tcpa(ek, ek_len, owner, TCS_SECRET_SIZE, &enc_owner,
					  &enc_owner_len);
	if (rc == 0)
		rc = tcs_client_encrypt_oaep_tcpa(ek, ek_len, srk, TCS_SECRET_SIZE, &enc_srk,
						  &enc_srk_len);
	if (rc == 0)
		rc = tcs_client_key_template(&srk_template, &srk_parms, &srk_parms_len);
	if (rc < 0)
		return rc;
	tcs_packet_put_u16(&w, TPM_PID_OWNER);
	tcs_packet_put_u32(&w, (uint32_t)enc_owner_len);
	tcs_packet_put_pbyte(&w, enc_owner, (uint32_t)enc_owner_len);
	tcs_packet_put_u32(&w, (uint32_t)enc_srk_len);
	tcs_packet_put_pbyte(&w, enc_srk, (uint32_t)enc_srk_len);
	tcs_packet_put_u32(&w, (uint32_t)srk_parms_len);
	tcs_packet_put_pbyte(&w, srk_parms, (uint32_t)srk_parms_len);
	digest_begin(&d, TPM_ORD_TakeOwnership);
	tcs_wbuf_u16(&d, TPM_PID_OWNER);
	tcs_wbuf_u32(&d, (uint32_t)enc_owner_len);
	tcs_wbuf_bytes(&d, enc_owner, enc_owner_len);
	tcs_wbuf_u32(&d, (uint32_t)enc_srk_len);
	tcs_wbuf_bytes(&d, enc_srk, enc_srk_len);
	tcs_wbuf_bytes(&d, srk_parms, srk_parms_len);
	rc = tcsc_authorise_request(c, owner, &d, &s, &w);
	if (rc != 0)
		return rc;
	return tcsc_call_auth_blob(c, TCSD_ORD_TAKEOWNERSHIP, TPM_ORD_TakeOwnership, &w, &s,
				   TCS_KEY_MAX_SIZE, ret_srk, ret_len);
}

int
tcs_client_owner_read_internal_pub(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE],
				   uint32_t key_handle, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	tcs_packet_put_u32(&w, key_handle);
	digest_begin(&d, TPM_ORD_OwnerReadInternalPub);
	tcs_wbuf_u32(&d, key_handle);
	rc = tcsc_authorise_request(c, owner, &d, &s, &w);
	if (rc != 0)
		return rc;
	return tcsc_call_auth_blob(c, ORD_OWNERREADINTERNALPUB, TPM_ORD_OwnerReadInternalPub, &w,
				   &s, TCS_KEY_MAX_SIZE, ret, ret_len);
}

/* TSS_MS_* as libtspi sends them; the TPM's TPM_MS_* is 0x1f less. */
static uint16_t
tpm_scheme(uint16_t tss_scheme)
{
	return tss_scheme >= 0x20 && tss_scheme <= 0x24 ? (uint16_t)(tss_scheme - 0x1f) : tss_scheme;
}

int
tcs_client_authorize_migration_key(TcsClient *c, const uint8_t owner[TCS_SECRET_SIZE],
				   uint16_t scheme, const uint8_t *pubkey, size_t pubkey_len,
				   uint8_t **ret, size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (!pubkey || !tcsc_size_ok(pubkey_len))
		return -EINVAL;
	tcs_packet_put_u16(&w, scheme);
	tcs_packet_put_u32(&w, (uint32_t)pubkey_len);
	tcs_packet_put_pbyte(&w, pubkey, (uint32_t)pubkey_len);
	digest_begin(&d, TPM_ORD_AuthorizeMigrationKey);
	tcs_wbuf_u16(&d, tpm_scheme(scheme));
	tcs_wbuf_bytes(&d, pubkey, pubkey_len);
	rc = tcsc_authorise_request(c, owner, &d, &s, &w);
	if (rc != 0)
		return rc;
	return tcsc_call_auth_blob(c, ORD_AUTHORIZEMIGRATIONKEY, TPM_ORD_AuthorizeMigrationKey, &w,
				   &s, TCS_KEY_MAX_SIZE, ret, ret_len);
}

int
tcs_client_create_migration_blob(TcsClient *c, uint32_t parent, const uint8_t *parent_secret,
				 const uint8_t migration_secret[TCS_SECRET_SIZE], uint16_t scheme,
				 const uint8_t *ticket, size_t ticket_len, const uint8_t *enc_data,
				 size_t enc_len, TcsMigrationBlob *ret)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_auth_session_ TcsAuthSession ps = {0};
	_cleanup_auth_session_ TcsAuthSession ms = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	uint8_t digest[TCS_DIGEST_SIZE];
	const uint8_t *random = NULL, *out = NULL;
	uint32_t random_len = 0, out_len = 0;
	TcsAuthIn pauth, mauth;
	TcsAuthOut pa, ma;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (!ticket || !enc_data || !tcsc_size_ok(ticket_len) || !tcsc_size_ok(enc_len))
		return -EINVAL;
	digest_begin(&d, TPM_ORD_CreateMigrationBlob);
	tcs_wbuf_u16(&d, tpm_scheme(scheme));
	tcs_wbuf_bytes(&d, ticket, ticket_len);
	tcs_wbuf_u32(&d, (uint32_t)enc_len);
	tcs_wbuf_bytes(&d, enc_data, enc_len);
	rc = tcsc_digest_done(&d, digest);
	if (rc == 0 && parent_secret)
		rc = tcsc_oiap_authorise(c, parent_secret, digest, &ps, &pauth);
	if (rc == 0)
		rc = tcsc_oiap_authorise(c, migration_secret, digest, &ms, &mauth);
	if (rc != 0)
		return rc;
	tcs_packet_put_u32(&w, parent);
	tcs_packet_put_u16(&w, scheme);
	tcs_packet_put_u32(&w, (uint32_t)ticket_len);
	tcs_packet_put_pbyte(&w, ticket, (uint32_t)ticket_len);
	tcs_packet_put_u32(&w, (uint32_t)enc_len);
	tcs_packet_put_pbyte(&w, enc_data, (uint32_t)enc_len);
	if (parent_secret)
		tcs_packet_put_auth_in(&w, &pauth);
	tcs_packet_put_auth_in(&w, &mauth);
	rc = tcsc_call_ok(c, ORD_CREATEMIGRATIONBLOB, &w, &rep);
	if (rc != 0)
		return rc;
	if ((parent_secret && tcs_packet_get_auth_out(&rep.r, &pa) < 0) ||
	    tcs_packet_get_auth_out(&rep.r, &ma) < 0 ||
	    tcs_packet_get_u32(&rep.r, &random_len) < 0 || random_len > TCS_KEY_MAX_SIZE ||
	    (random_len && tcs_packet_get_pbyte(&rep.r, random_len, &random) < 0) ||
	    tcs_packet_get_blob(&rep.r, TCS_KEY_MAX_SIZE, &out, &out_len) < 0)
		return -EBADMSG;
	tcsc_reply_digest_begin(&d, TPM_ORD_CreateMigrationBlob);
	tcs_wbuf_u32(&d, random_len);
	tcs_wbuf_bytes(&d, random, random_len);
	tcs_wbuf_u32(&d, out_len);
	tcs_wbuf_bytes(&d, out, out_len);
	rc = tcsc_digest_done(&d, digest);
	if (rc == 0 && parent_secret)
		rc = tcs_auth_session_check_reply(&ps, digest, &pa);
	if (rc == 0)
		rc = tcs_auth_session_check_reply(&ms, digest, &ma);
	if (rc < 0)
		return rc;
	*ret = (TcsMigrationBlob){0};
	rc = tcsc_copy_out(out, out_len, &ret->out, &ret->out_len);
	if (rc == 0 && random_len)
		rc = tcsc_copy_out(random, random_len, &ret->random, &ret->random_len);
	if (rc < 0)
		tcs_migration_blob_clear(ret);
	return rc;
}

void
tcs_migration_blob_clear(TcsMigrationBlob *b)
{
	if (!b)
		return;
	if (b->out)
		tcs_wipe(b->out, b->out_len);
	free(b->out);
	if (b->random)
		tcs_wipe(b->random, b->random_len);
	free(b->random);
	*b = (TcsMigrationBlob){0};
}

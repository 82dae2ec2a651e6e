/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TSS client's key, persistent-storage and data operations. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcs-key.h"
#include "tcs-ordinal.h"
#include "tcs-packet.h"
#include "tcs-uuid.h"

#include "tcs-client-private.h"

/* ------------------------------------------------------------------ persistent storage */

int
tcs_client_register_key(TcsClient *c, const TcsUuid *parent, const TcsUuid *uuid,
			const uint8_t *blob, size_t len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (!tcsc_size_ok(len) || !blob)
		return -EINVAL;
	tcs_packet_put_uuid(&w, parent);
	tcs_packet_put_uuid(&w, uuid);
	tcs_packet_put_blob(&w, blob, (uint32_t)len);
	/* no vendor data: size 0 and, as libtspi, an empty PBYTE slot */
	tcs_packet_put_blob(&w, NULL, 0);
	return tcsc_call_ok(c, TCSD_ORD_REGISTERKEY, &w, &rep);
}

int
tcs_client_unregister_key(TcsClient *c, const TcsUuid *uuid)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	tcs_packet_put_uuid(&w, uuid);
	return tcsc_call_ok(c, TCSD_ORD_UNREGISTERKEY, &w, &rep);
}

int
tcs_client_enum_registered_keys(TcsClient *c, const TcsUuid *uuid, TcsRegisteredKey **ret,
				size_t *n)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_free_ TcsRegisteredKey *keys = NULL;
	uint32_t count;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (uuid)
		tcs_packet_put_uuid(&w, uuid);
	rc = tcsc_call_ok(c, TCSD_ORD_ENUMREGISTEREDKEYS, &w, &rep);
	if (rc != 0)
		return rc;
	if (tcs_packet_get_u32(&rep.r, &count) < 0 || count > TCSD_MAX_REPLY_PARMS)
		return -EBADMSG;
	keys = calloc(count ? count : 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		TcsKmKeyInfo ki;

		if (tcs_packet_get_km_keyinfo(&rep.r, false, &ki) < 0)
			return -EBADMSG;
		keys[i] = (TcsRegisteredKey){
			.uuid = ki.key,
			.parent = ki.parent,
			.auth_data_usage = ki.auth_data_usage,
			.loaded = ki.loaded,
		};
	}
	*ret = TCS_TAKE_PTR(keys);
	*n = count;
	return 0;
}

int
tcs_client_get_registered_key_blob(TcsClient *c, const TcsUuid *uuid, uint8_t **ret,
				   size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	tcs_packet_put_uuid(&w, uuid);
	rc = tcsc_call_ok(c, TCSD_ORD_GETREGISTEREDKEYBLOB, &w, &rep);
	if (rc != 0)
		return rc;
	return tcsc_get_blob_dup(&rep.r, ret, ret_len);
}

static bool
same_request(const TcsLoadKeyInfo *a, const TcsLoadKeyInfo *b)
{
	return tcs_uuid_equal(&a->key, &b->key) && tcs_uuid_equal(&a->parent, &b->parent) &&
	       memcmp(a->param_digest, b->param_digest, TCS_DIGEST_SIZE) == 0;
}

/* Fill info's authorisation for the parent load the daemon asked about. */
static int
authorise_load_info(TcsClient *c, TcsLoadKeyInfo *info, TcsSecretLookup lookup, void *userdata)
{
	_cleanup_auth_session_ TcsAuthSession s = {0};
	uint8_t secret[TCS_SECRET_SIZE];
	TcsAuthIn auth;
	int rc;

	if (!lookup || lookup(&info->parent, secret, userdata) < 0)
		return TCS_ERR(TCS_E_KM_LOADFAILED);
	rc = tcsc_oiap_authorise(c, secret, info->param_digest, &s, &auth);
	tcs_wipe(secret, sizeof(secret));
	if (rc != 0)
		return rc;
	info->auth = auth;
	memcpy(info->nonce_even, s.nonce_even, TCS_NONCE_SIZE);
	return 0;
}

/* One LoadKeyByUUID request. On 0x20CA with a LOADKEY_INFO, *info is what the daemon asks. */
static int
load_by_uuid_once(TcsClient *c, const TcsUuid *uuid, TcsLoadKeyInfo *info, uint32_t *ret_handle)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	TcsLoadKeyInfo asked;
	uint32_t handle;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	tcs_packet_put_uuid(&w, uuid);
	tcs_packet_put_loadkey_info(&w, info);
	rc = tcsc_call(c, TCSD_ORD_LOADKEYBYUUID, &w, &rep);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (tcs_packet_get_u32(&rep.r, &handle) < 0)
			return -EBADMSG;
		*ret_handle = handle;
		return 0;
	}
	if ((uint32_t)rc == TCS_ERR(TCS_E_KM_LOADFAILED) &&
	    tcs_packet_get_loadkey_info(&rep.r, &asked) == 0)
		*info = asked;
	return rc;
}

typedef struct {
	TcsUuid uuid;
	uint32_t handle;
} LoadedKey;

static const LoadedKey *
find_loaded(const LoadedKey *keys, size_t n, const TcsUuid *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (tcs_uuid_equal(&keys[i].uuid, uuid))
			return &keys[i];
	return NULL;
}

static const TcsRegisteredKey *
find_registered(const TcsRegisteredKey *keys, size_t n, const TcsUuid *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (tcs_uuid_equal(&keys[i].uuid, uuid))
			return &keys[i];
	return NULL;
}

/*
 * Load uuid ourselves, by blob, down its registered path from the deepest
 * ancestor already loaded (the SRK at least). For a daemon that cannot use
 * a LOADKEY_INFO below the SRK: TrouSerS finds a key's parent only among
 * keys it loaded by UUID without authorisation.
 */
static int
load_path_by_blob(TcsClient *c, const TcsUuid *uuid, const LoadedKey *loaded, size_t n_loaded,
		  TcsSecretLookup lookup, void *userdata, uint32_t *ret_handle)
{
	_cleanup_free_ TcsRegisteredKey *path = NULL;
	_cleanup_free_ const TcsRegisteredKey **chain = NULL;
	size_t n = 0, depth = 0;
	uint32_t handle = TPM_KH_SRK;
	int rc;

	rc = tcs_client_enum_registered_keys(c, uuid, &path, &n);
	if (rc != 0)
		return rc;
	chain = calloc(n ? n : 1, sizeof(*chain));
	if (!chain)
		return -ENOMEM;
	/* chain[0] = the key, then its parents up to one we hold a handle for */
	for (const TcsRegisteredKey *k = find_registered(path, n, uuid); k;
	     k = find_registered(path, n, &k->parent)) {
		const LoadedKey *l = find_loaded(loaded, n_loaded, &k->uuid);

		if (tcs_uuid_equal(&k->uuid, &TCS_UUID_SRK) || l) {
			handle = l ? l->handle : TPM_KH_SRK;
			break;
		}
		if (depth == n)
			return -ELOOP;
		chain[depth++] = k;
		if (!find_registered(path, n, &k->parent) &&
		    !tcs_uuid_equal(&k->parent, &TCS_UUID_SRK))
			return TCS_ERR(TSS_E_PS_KEY_NOTFOUND);
	}
	if (depth == 0)
		return TCS_ERR(TCS_E_KM_LOADFAILED);
	while (depth-- > 0) {
		const TcsRegisteredKey *parent = find_registered(path, n, &chain[depth]->parent);
		_cleanup_free_ uint8_t *blob = NULL;
		uint8_t secret[TCS_SECRET_SIZE];
		bool auth = !parent || parent->auth_data_usage != TPM_AUTH_NEVER;
		size_t len = 0;

		if (auth && (!lookup || lookup(&chain[depth]->parent, secret, userdata) < 0))
			return TCS_ERR(TCS_E_KM_LOADFAILED);
		rc = tcs_client_get_registered_key_blob(c, &chain[depth]->uuid, &blob, &len);
		if (rc == 0)
			rc = tcs_client_load_key_by_blob(c, handle, auth ? secret : NULL, blob, len,
							 &handle);
		tcs_wipe(secret, sizeof(secret));
		if (rc != 0)
			return rc;
	}
	*ret_handle = handle;
	return 0;
}

int
tcs_client_load_key_by_uuid(TcsClient *c, const TcsUuid *uuid, TcsSecretLookup lookup,
			    void *userdata, uint32_t *ret_handle)
{
	LoadedKey loaded[LOAD_BY_UUID_MAX_ROUNDS];
	size_t n_loaded = 0;
	/* the first request carries a zeroed LOADKEY_INFO: it asks for one back */
	TcsLoadKeyInfo info = {0}, authorised = {0};
	bool have_authorised = false;
	TcsUuid want = *uuid;

	for (int round = 0; round < LOAD_BY_UUID_MAX_ROUNDS; round++) {
		uint32_t handle = 0;
		int rc = load_by_uuid_once(c, &want, &info, &handle);

		if (rc == 0 && tcs_uuid_equal(&want, uuid)) {
			*ret_handle = handle;
			return 0;
		}
		if (rc == 0) {
			/* an ancestor is in; ask for the key itself again */
			loaded[n_loaded++] = (LoadedKey){want, handle};
			want = *uuid;
			memset(&info, 0, sizeof(info));
			have_authorised = false;
			continue;
		}
		if ((uint32_t)rc != TCS_ERR(TCS_E_KM_LOADFAILED) || tcs_uuid_is_null(&info.key))
			return rc;
		/* asked again for what we authorised, or for a key it just loaded for us:
		 * the daemon cannot use LOADKEY_INFO at this depth, so we load by blob */
		if (have_authorised && same_request(&info, &authorised)) {
			(void)tcs_client_terminate_handle(c, authorised.auth.handle);
			return load_path_by_blob(c, uuid, loaded, n_loaded, lookup, userdata,
						 ret_handle);
		}
		if (find_loaded(loaded, n_loaded, &info.key))
			return load_path_by_blob(c, uuid, loaded, n_loaded, lookup, userdata,
						 ret_handle);
		rc = authorise_load_info(c, &info, lookup, userdata);
		if (rc != 0)
			return rc;
		/*
		 * Retry for the key the authorisation is for, not necessarily the one
		 * wanted: TrouSerS loads info.key whatever UUID the request names and
		 * returns its handle, ours loads the named key through info.key.
		 */
		want = info.key;
		authorised = info;
		have_authorised = true;
	}
	return TCS_ERR(TCS_E_KM_LOADFAILED);
}

/* ------------------------------------------------------------------ keys */

int
tcs_client_load_key_by_blob(TcsClient *c, uint32_t parent, const uint8_t *parent_secret,
			    const uint8_t *blob, size_t len, uint32_t *ret_handle)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	/* what the TCS sends the TPM, hence what the HMACs cover */
	uint32_t ord = c->tpm_version >= 2 ? TPM_ORD_LoadKey2 : TPM_ORD_LoadKey;
	uint32_t handle, slot = 0;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (!tcsc_size_ok(len) || !blob)
		return -EINVAL;
	tcs_packet_put_u32(&w, parent);
	tcs_packet_put_blob(&w, blob, (uint32_t)len);
	if (parent_secret) {
		tcs_wbuf_init(&d, 0);
		tcs_wbuf_u32(&d, ord);
		tcs_wbuf_bytes(&d, blob, len);
		rc = tcsc_authorise_request(c, parent_secret, &d, &s, &w);
		if (rc != 0)
			return rc;
	}
	rc = tcsc_call_ok(c, TCSD_ORD_LOADKEYBYBLOB, &w, &rep);
	if (rc != 0)
		return rc;
	if (parent_secret) {
		TcsAuthOut a;

		if (tcs_packet_get_auth_out(&rep.r, &a) < 0)
			return -EBADMSG;
		if (tcs_packet_get_u32(&rep.r, &handle) < 0)
			return -EBADMSG;
		(void)tcs_packet_get_u32(&rep.r, &slot);
		/* TPM_LoadKey (1.1) also covers the TPM's handle, which the TCS
		 * virtualises in the second UINT32 as libtspi expects */
		tcsc_reply_digest_begin(&d, ord);
		if (ord == TPM_ORD_LoadKey)
			tcs_wbuf_u32(&d, slot);
		rc = tcsc_verify_reply(&s, &d, &a);
		if (rc < 0) {
			/* a key we cannot trust is of no use: unload it */
			(void)tcs_client_evict_key(c, handle);
			return rc;
		}
	} else if (tcs_packet_get_u32(&rep.r, &handle) < 0) {
		return -EBADMSG;
	}
	*ret_handle = handle;
	return 0;
}

int
tcs_client_evict_key(TcsClient *c, uint32_t key)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	tcs_packet_put_u32(&w, key);
	return tcsc_call_ok(c, TCSD_ORD_EVICTKEY, &w, &rep);
}

int
tcs_client_flush_specific(TcsClient *c, uint32_t handle, uint32_t resource_type)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	tcs_packet_put_u32(&w, handle);
	tcs_packet_put_u32(&w, resource_type);
	return tcsc_call_ok(c, TCSD_ORD_FLUSHSPECIFIC, &w, &rep);
}

int
tcs_client_key_template(const TcsKeyTemplate *t, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf w;
	uint16_t enc = t->enc_scheme, sig = t->sig_scheme;

	if (!enc)
		enc = t->usage == TPM_KEY_STORAGE || t->usage == TPM_KEY_BIND ||
				      t->usage == TPM_KEY_LEGACY || t->usage == TPM_KEY_MIGRATE
			      ? TPM_ES_RSAESOAEP_SHA1_MGF1
			      : TPM_ES_NONE;
	if (!sig)
		sig = t->usage == TPM_KEY_SIGNING || t->usage == TPM_KEY_LEGACY
			      ? TPM_SS_RSASSAPKCS1v15_SHA1
			      : TPM_SS_NONE;
	tcs_wbuf_init(&w, 0);
	if (t->key12) {
		tcs_wbuf_u16(&w, TPM_TAG_KEY12);
		tcs_wbuf_u16(&w, 0); /* fill */
	} else {
		tcs_wbuf_bytes(&w, (const uint8_t[]){1, 1, 0, 0}, 4); /* TPM_STRUCT_VER 1.1 */
	}
	tcs_wbuf_u16(&w, t->usage);
	tcs_wbuf_u32(&w, t->flags);
	tcs_wbuf_u8(&w, t->auth_data_usage);
	/* TPM_KEY_PARMS with TPM_RSA_KEY_PARMS: 2 primes, default exponent */
	tcs_wbuf_u32(&w, TPM_ALG_RSA);
	tcs_wbuf_u16(&w, enc);
	tcs_wbuf_u16(&w, sig);
	tcs_wbuf_u32(&w, 12);
	tcs_wbuf_u32(&w, t->bits ? t->bits : 2048);
	tcs_wbuf_u32(&w, 2);
	tcs_wbuf_u32(&w, 0);
	tcs_wbuf_u32(&w, 0); /* PCRInfoSize */
	tcs_wbuf_u32(&w, 0); /* pubKey: the TPM fills it */
	tcs_wbuf_u32(&w, 0); /* encData */
	if (!tcs_wbuf_ok(&w))
		return -ENOMEM;
	*ret = tcs_wbuf_steal(&w, ret_len);
	return 0;
}

int
tcs_client_create_wrap_key(TcsClient *c, uint32_t parent,
			   const uint8_t parent_secret[TCS_SECRET_SIZE],
			   const uint8_t *usage_secret, const uint8_t *migration_secret,
			   const uint8_t *key_info, size_t key_info_len, uint8_t **ret,
			   size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	uint8_t enc_usage[TCS_SECRET_SIZE], enc_mig[TCS_SECRET_SIZE];
	const uint8_t *key = NULL;
	uint32_t key_len = 0;
	TcsAuthIn auth;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (!tcsc_size_ok(key_info_len) || !key_info || !parent_secret)
		return -EINVAL;
	rc = tcsc_osap_begin(c, TPM_ET_KEYHANDLE, parent, parent_secret, &s);
	if (rc != 0)
		return rc;
	/* usage secret under the even nonce, migration secret under the odd one */
	rc = tcs_auth_adip(s.secret, s.nonce_even,
				   usage_secret ? usage_secret : tcs_auth_well_known, enc_usage);
	if (rc == 0)
		rc = tcs_auth_adip(s.secret, s.nonce_odd,
				   migration_secret ? migration_secret : tcs_auth_well_known,
				   enc_mig);
	if (rc == 0) {
		tcs_wbuf_init(&d, 0);
		tcs_wbuf_u32(&d, TPM_ORD_CreateWrapKey);
		tcs_wbuf_bytes(&d, enc_usage, sizeof(enc_usage));
		tcs_wbuf_bytes(&d, enc_mig, sizeof(enc_mig));
		tcs_wbuf_bytes(&d, key_info, key_info_len);
	}
	rc = tcsc_session_authorise(c, &s, rc, &d, &auth);
	if (rc < 0)
		return rc;
	tcs_packet_put_u32(&w, parent);
	tcs_packet_put_20(&w, TCSD_TYPE_ENCAUTH, enc_usage);
	tcs_packet_put_20(&w, TCSD_TYPE_ENCAUTH, enc_mig);
	tcs_packet_put_blob(&w, key_info, (uint32_t)key_info_len);
	tcs_packet_put_auth_in(&w, &auth);
	rc = tcsc_call_ok(c, TCSD_ORD_CREATEWRAPKEY, &w, &rep);
	if (rc != 0)
		return rc;
	/* the key comes first, its AUTH last */
	if (tcs_packet_get_blob(&rep.r, TCSD_MAX_PACKET_SIZE, &key, &key_len) < 0)
		return -EBADMSG;
	rc = tcsc_check_reply(&s, &rep.r, TPM_ORD_CreateWrapKey, key, key_len);
	if (rc < 0)
		return rc;
	return tcsc_copy_out(key, key_len, ret, ret_len);
}

/*
 * The common shape of GetPubKey, Sign and UnBind: key, optional input blob,
 * optional AUTH; reply: AUTH (when sent), UINT32 + PBYTE.
 */
static int
key_op(TcsClient *c, uint32_t tcsd_ord, uint32_t tpm_ord, uint32_t key, const uint8_t *secret,
       const void *data, size_t len, bool has_input, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	const uint8_t *p = NULL;
	uint32_t plen = 0;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (has_input && (!tcsc_size_ok(len) || (len && !data)))
		return -EINVAL;
	tcs_packet_put_u32(&w, key);
	if (has_input)
		tcs_packet_put_blob(&w, data, (uint32_t)len);
	if (secret) {
		tcs_wbuf_init(&d, 0);
		tcs_wbuf_u32(&d, tpm_ord);
		if (has_input) {
			tcs_wbuf_u32(&d, (uint32_t)len);
			tcs_wbuf_bytes(&d, data, len);
		}
		rc = tcsc_authorise_request(c, secret, &d, &s, &w);
		if (rc != 0)
			return rc;
	}
	rc = tcsc_call_ok(c, tcsd_ord, &w, &rep);
	if (rc != 0)
		return rc;
	if (secret) {
		TcsAuthOut a;
		TcsPacketReader after;

		/* the AUTH comes first on the wire but covers the output after it */
		if (tcs_packet_get_auth_out(&rep.r, &a) < 0)
			return -EBADMSG;
		after = rep.r;
		if (tcs_packet_get_blob(&after, TCSD_MAX_PACKET_SIZE, &p, &plen) < 0)
			return -EBADMSG;
		tcsc_reply_digest_begin(&d, tpm_ord);
		/* GetPubKey's TPM_PUBKEY is a structure; Sign/UnBind outputs are sized */
		if (has_input)
			tcs_wbuf_u32(&d, plen);
		tcs_wbuf_bytes(&d, p, plen);
		rc = tcsc_verify_reply(&s, &d, &a);
		if (rc < 0)
			return rc;
		rep.r = after;
	} else if (tcs_packet_get_blob(&rep.r, TCSD_MAX_PACKET_SIZE, &p, &plen) < 0) {
		return -EBADMSG;
	}
	return tcsc_copy_out(p, plen, ret, ret_len);
}

int
tcs_client_get_pub_key(TcsClient *c, uint32_t key, const uint8_t *secret, uint8_t **ret,
		       size_t *ret_len)
{
	return key_op(c, TCSD_ORD_GETPUBKEY, TPM_ORD_GetPubKey, key, secret, NULL, 0, false, ret,
		      ret_len);
}

int
tcs_client_sign(TcsClient *c, uint32_t key, const uint8_t *secret, const void *data, size_t len,
		uint8_t **ret, size_t *ret_len)
{
	return key_op(c, ORD_SIGN, TPM_ORD_Sign, key, secret, data, len, true, ret, ret_len);
}

int
tcs_client_unbind(TcsClient *c, uint32_t key, const uint8_t *secret, const void *data, size_t len,
		  uint8_t **ret, size_t *ret_len)
{
	return key_op(c, ORD_UNBIND, TPM_ORD_UnBind, key, secret, data, len, true, ret, ret_len);
}

int
tcs_client_seal(TcsClient *c, uint32_t key, const uint8_t key_secret[TCS_SECRET_SIZE],
		const uint8_t data_secret[TCS_SECRET_SIZE], const uint8_t *pcr_info,
		size_t pcr_info_len, const void *data, size_t len, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_auth_session_ TcsAuthSession s = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	uint8_t enc_auth[TCS_SECRET_SIZE];
	TcsAuthIn auth;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (!key_secret || !data_secret || !tcsc_size_ok(pcr_info_len) || !tcsc_size_ok(len) ||
	    (pcr_info_len && !pcr_info) || (len && !data))
		return -EINVAL;
	rc = tcsc_osap_begin(c, TPM_ET_KEYHANDLE, key, key_secret, &s);
	if (rc != 0)
		return rc;
	rc = tcs_auth_adip(s.secret, s.nonce_even, data_secret, enc_auth);
	if (rc == 0) {
		tcs_wbuf_init(&d, 0);
		tcs_wbuf_u32(&d, TPM_ORD_Seal);
		tcs_wbuf_bytes(&d, enc_auth, sizeof(enc_auth));
		tcs_wbuf_u32(&d, (uint32_t)pcr_info_len);
		tcs_wbuf_bytes(&d, pcr_info, pcr_info_len);
		tcs_wbuf_u32(&d, (uint32_t)len);
		tcs_wbuf_bytes(&d, data, len);
	}
	rc = tcsc_session_authorise(c, &s, rc, &d, &auth);
	if (rc < 0)
		return rc;
	tcs_packet_put_u32(&w, key);
	tcs_packet_put_20(&w, TCSD_TYPE_ENCAUTH, enc_auth);
	/* as libtspi: an empty PBYTE is left out, not sent empty */
	tcs_packet_put_u32(&w, (uint32_t)pcr_info_len);
	if (pcr_info_len)
		tcs_packet_put_pbyte(&w, pcr_info, (uint32_t)pcr_info_len);
	tcs_packet_put_u32(&w, (uint32_t)len);
	if (len)
		tcs_packet_put_pbyte(&w, data, (uint32_t)len);
	tcs_packet_put_auth_in(&w, &auth);
	return tcsc_call_auth_blob(c, ORD_SEAL, TPM_ORD_Seal, &w, &s, TCSD_MAX_PACKET_SIZE, ret,
				   ret_len);
}

int
tcs_client_unseal(TcsClient *c, uint32_t key, const uint8_t *key_secret,
		  const uint8_t data_secret[TCS_SECRET_SIZE], const uint8_t *sealed,
		  size_t sealed_len, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(tcsc_writer_clear) TcsPacketWriter w;
	_cleanup_(tcsc_reply_free) Reply rep = {0};
	_cleanup_auth_session_ TcsAuthSession ks = {0};
	_cleanup_auth_session_ TcsAuthSession ds = {0};
	_cleanup_(tcsc_wbuf_free_secure) TcsWbuf d = {0};
	uint8_t digest[TCS_DIGEST_SIZE];
	const uint8_t *p = NULL;
	uint32_t plen = 0;
	TcsAuthIn kauth, dauth;
	TcsAuthOut ka, da;
	int rc = tcsc_start(c, &w);

	if (rc < 0)
		return rc;
	if (!data_secret || !sealed || !tcsc_size_ok(sealed_len))
		return -EINVAL;
	tcs_wbuf_init(&d, 0);
	tcs_wbuf_u32(&d, TPM_ORD_Unseal);
	tcs_wbuf_bytes(&d, sealed, sealed_len);
	rc = tcsc_digest_done(&d, digest);
	if (rc < 0)
		return rc;
	/* both authorisations cover the same digest, each with its own session */
	if (key_secret) {
		rc = tcsc_oiap_authorise(c, key_secret, digest, &ks, &kauth);
		if (rc != 0)
			return rc;
	}
	rc = tcsc_oiap_authorise(c, data_secret, digest, &ds, &dauth);
	if (rc != 0) {
		if (key_secret)
			(void)tcs_client_terminate_handle(c, ks.handle);
		return rc;
	}
	tcs_packet_put_u32(&w, key);
	tcs_packet_put_blob(&w, sealed, (uint32_t)sealed_len);
	if (key_secret)
		tcs_packet_put_auth_in(&w, &kauth);
	tcs_packet_put_auth_in(&w, &dauth);
	rc = tcsc_call_ok(c, ORD_UNSEAL, &w, &rep);
	if (rc != 0)
		return rc;
	/* the key's AUTH slot is always there (all zeros without authorisation) */
	if (tcs_packet_get_auth_out(&rep.r, &ka) < 0 || tcs_packet_get_auth_out(&rep.r, &da) < 0 ||
	    tcs_packet_get_blob(&rep.r, TCSD_MAX_PACKET_SIZE, &p, &plen) < 0)
		return -EBADMSG;
	tcsc_reply_digest_begin(&d, TPM_ORD_Unseal);
	tcs_wbuf_u32(&d, plen);
	tcs_wbuf_bytes(&d, p, plen);
	rc = tcsc_digest_done(&d, digest);
	if (rc == 0 && key_secret)
		rc = tcs_auth_session_check_reply(&ks, digest, &ka);
	if (rc == 0)
		rc = tcs_auth_session_check_reply(&ds, digest, &da);
	if (rc < 0)
		return rc;
	return tcsc_copy_out(p, plen, ret, ret_len);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcs-tpm2-seal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "tcs-buf.h"

/*
 * Blob layout (big endian): magic "TCS2SEAL", u16 version, u32 PCR mask,
 * then per PCR in the mask its 32-byte SHA-256 value at sealing time (to
 * name the PCRs that changed), the primary key's name (TPM2B: tells
 * another TPM 2.0 from a damaged blob), TPM2B_PUBLIC and TPM2B_PRIVATE of
 * the sealed object as tpm2-tss marshals them. Nothing in it is secret.
 */
#define BLOB_MAGIC "TCS2SEAL"
#define BLOB_MAGIC_LEN 8u
#define BLOB_VERSION 1u
#define BLOB_MAX 4096u
#define PCR_DIGEST_LEN 32u
#define PCR_ALL_MASK ((1u << (TCS_TPM2_MAX_PCR + 1)) - 1)

typedef struct {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR primary;
	ESYS_TR session;
	ESYS_TR object;
	TPM2B_NAME *primary_name;
} Tpm2;

static void
set_error(TcsTpm2Error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static TcsTpm2Status
tpm_error(TcsTpm2Error *err, const char *what, TSS2_RC rc)
{
	set_error(err, "TPM 2.0 %s failed: %s (0x%x)", what, Tss2_RC_Decode(rc), rc);
	return TCS_TPM2_ERR_TPM;
}

/* the TPM's own response code without the layer, format-one parameter/handle number masked */
static TSS2_RC
rc_base(TSS2_RC rc)
{
	rc &= 0xffffu;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3fu);
	return rc;
}

bool
tcs_tpm2_pcr_list_parse(const char *text, uint32_t *mask)
{
	const char *p = text;

	*mask = 0;
	if (text == NULL || *text == '\0' || strcmp(text, "none") == 0)
		return true;
	while (*p != '\0') {
		char *end;
		unsigned long lo, hi;

		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		lo = strtoul(p, &end, 10);
		hi = lo;
		p = end;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				return false;
			hi = strtoul(p, &end, 10);
			p = end;
		}
		if (lo > hi || hi > TCS_TPM2_MAX_PCR)
			return false;
		for (unsigned long i = lo; i <= hi; i++)
			*mask |= 1u << i;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return false;
	}
	return *mask != 0;
}

const char *
tcs_tpm2_pcr_list_format(uint32_t mask, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if ((mask & PCR_ALL_MASK) == 0) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (unsigned i = 0; i <= TCS_TPM2_MAX_PCR && used < len; i++) {
		if (mask & (1u << i))
			used += (size_t)snprintf(buf + used, len - used, "%s%u", used ? "," : "",
						 i);
	}
	return buf;
}

static void
pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (unsigned i = 0; i <= TCS_TPM2_MAX_PCR; i++)
		if (mask & (1u << i))
			sel->pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void
tpm2_close(Tpm2 *t)
{
	if (t->esys != NULL) {
		if (t->object != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, t->object);
		if (t->session != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, t->session);
		if (t->primary != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, t->primary);
		Esys_Finalize(&t->esys);
	}
	if (t->tcti != NULL)
		Tss2_TctiLdr_Finalize(&t->tcti);
	Esys_Free(t->primary_name);
	t->primary_name = NULL;
}

/* connect and recreate the storage primary key (TCG ECC P-256 SRK template) */
static TcsTpm2Status
tpm2_open(Tpm2 *t, const char *tcti, TcsTpm2Error *err)
{
	const TPM2B_SENSITIVE_CREATE no_auth = {0};
	const TPM2B_PUBLIC srk_template = {
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
					    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
			.parameters.eccDetail = {
				.symmetric = {.algorithm = TPM2_ALG_AES,
					      .keyBits.aes = 128,
					      .mode.aes = TPM2_ALG_CFB},
				.scheme.scheme = TPM2_ALG_NULL,
				.curveID = TPM2_ECC_NIST_P256,
				.kdf.scheme = TPM2_ALG_NULL,
			},
		},
	};
	const TPM2B_DATA no_outside = {0};
	const TPML_PCR_SELECTION no_pcrs = {0};
	TSS2_RC rc;

	memset(t, 0, sizeof(*t));
	t->primary = t->session = t->object = ESYS_TR_NONE;
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		set_error(err, "cannot reach the TPM 2.0 through TCTI '%s': %s", tcti,
			  Tss2_RC_Decode(rc));
		return TCS_TPM2_ERR_TCTI;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		set_error(err, "cannot talk to the TPM 2.0 through TCTI '%s': %s", tcti,
			  Tss2_RC_Decode(rc));
		return TCS_TPM2_ERR_TCTI;
	}
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &no_auth, &srk_template, &no_outside, &no_pcrs,
				&t->primary, NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_error(err, "CreatePrimary (owner hierarchy storage key)", rc);
	rc = Esys_TR_GetName(t->esys, t->primary, &t->primary_name);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_error(err, "TR_GetName", rc);
	return TCS_TPM2_OK;
}

/*
 * A session salted with the primary key (only this TPM can decrypt the salt)
 * that AES-CFB encrypts the first command parameter (attrs DECRYPT) or the
 * first response parameter (ENCRYPT): the key never crosses the bus in clear.
 */
static TcsTpm2Status
tpm2_start_session(Tpm2 *t, TPM2_SE type, TPMA_SESSION attrs, TcsTpm2Error *err)
{
	const TPMT_SYM_DEF aes = {.algorithm = TPM2_ALG_AES,
				  .keyBits.aes = 128,
				  .mode.aes = TPM2_ALG_CFB};
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, t->primary, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, type, &aes, TPM2_ALG_SHA256, &t->session);
	if (rc != TSS2_RC_SUCCESS) {
		t->session = ESYS_TR_NONE;
		return tpm_error(err, "StartAuthSession", rc);
	}
	rc = Esys_TRSess_SetAttributes(t->esys, t->session,
				       attrs | TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_error(err, "TRSess_SetAttributes", rc);
	return TCS_TPM2_OK;
}

/* the current SHA-256 values of the PCRs in mask, in PCR order */
static TcsTpm2Status
tpm2_read_pcrs(Tpm2 *t, uint32_t mask, uint8_t values[][PCR_DIGEST_LEN], TcsTpm2Error *err)
{
	uint32_t todo = mask;
	unsigned n = 0;

	while (todo != 0) {
		TPML_PCR_SELECTION sel, *out_sel = NULL;
		TPML_DIGEST *digests = NULL;
		uint32_t got = 0;
		TSS2_RC rc;

		pcr_selection(todo, &sel);
		rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, NULL,
				   &out_sel, &digests);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_error(err, "PCR_Read", rc);
		for (unsigned i = 0; i < out_sel->count; i++) {
			if (out_sel->pcrSelections[i].hash != TPM2_ALG_SHA256)
				continue;
			for (unsigned b = 0; b < out_sel->pcrSelections[i].sizeofSelect && b < 3;
			     b++)
				got |= (uint32_t)out_sel->pcrSelections[i].pcrSelect[b] << (8 * b);
		}
		got &= todo;
		if (got == 0) {
			/* nothing of what was asked: no SHA-256 bank, or no such PCR */
			Esys_Free(out_sel);
			Esys_Free(digests);
			set_error(err, "TPM 2.0 has no SHA-256 bank with the PCRs asked for");
			return TCS_TPM2_ERR_TPM;
		}
		/* the TPM answers in ascending PCR order, at most 8 per call */
		for (unsigned i = 0, d = 0; i <= TCS_TPM2_MAX_PCR && got != 0; i++) {
			if (!(got & (1u << i)))
				continue;
			if (d >= digests->count || digests->digests[d].size != PCR_DIGEST_LEN) {
				Esys_Free(out_sel);
				Esys_Free(digests);
				set_error(err, "TPM 2.0 has no SHA-256 bank for PCR %u", i);
				return TCS_TPM2_ERR_TPM;
			}
			memcpy(values[n++], digests->digests[d++].buffer, PCR_DIGEST_LEN);
			todo &= ~(1u << i);
			got &= ~(1u << i);
		}
		Esys_Free(out_sel);
		Esys_Free(digests);
	}
	return TCS_TPM2_OK;
}

static unsigned
popcount24(uint32_t mask)
{
	return (unsigned)__builtin_popcount(mask & PCR_ALL_MASK);
}

/* the policy a PolicyPCR over the PCRs' current values yields, via a trial session */
static TcsTpm2Status
tpm2_pcr_policy(Tpm2 *t, uint32_t mask, TPM2B_DIGEST *policy, TcsTpm2Error *err)
{
	const TPMT_SYM_DEF none = {.algorithm = TPM2_ALG_NULL};
	const TPM2B_DIGEST current = {0}; /* empty: the TPM uses the PCRs' current values */
	TPM2B_DIGEST *digest = NULL;
	TPML_PCR_SELECTION sel;
	ESYS_TR trial = ESYS_TR_NONE;
	TSS2_RC rc;

	pcr_selection(mask, &sel);
	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256,
				   &trial);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_error(err, "StartAuthSession (trial)", rc);
	rc = Esys_PolicyPCR(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current,
			    &sel);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_PolicyGetDigest(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					  &digest);
	Esys_FlushContext(t->esys, trial);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_error(err, "PolicyPCR (trial)", rc);
	*policy = *digest;
	Esys_Free(digest);
	return TCS_TPM2_OK;
}

TcsTpm2Status
tcs_tpm2_seal(const char *tcti, uint32_t pcr_mask, const uint8_t key[TCS_TPM2_STATE_KEY_LEN],
	      uint8_t **blob, size_t *blob_len, TcsTpm2Error *err)
{
	TPM2B_SENSITIVE_CREATE sensitive = {0};
	TPM2B_PUBLIC tmpl = {
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_NODA,
			.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
		},
	};
	const TPM2B_DATA no_outside = {0};
	const TPML_PCR_SELECTION no_pcrs = {0};
	uint8_t pcr_values[TCS_TPM2_MAX_PCR + 1][PCR_DIGEST_LEN];
	uint8_t pub[sizeof(TPM2B_PUBLIC)], priv[sizeof(TPM2B_PRIVATE)];
	size_t pub_len = 0, priv_len = 0;
	TPM2B_PRIVATE *out_private = NULL;
	TPM2B_PUBLIC *out_public = NULL;
	TcsTpm2Status st;
	TcsWbuf w;
	Tpm2 t;
	TSS2_RC rc;

	*blob = NULL;
	*blob_len = 0;
	if (err)
		memset(err, 0, sizeof(*err));
	if (tcti == NULL || (pcr_mask & ~PCR_ALL_MASK) != 0) {
		set_error(err, "invalid TCTI or PCR list");
		return TCS_TPM2_ERR_ARG;
	}
	st = tpm2_open(&t, tcti, err);
	if (st == TCS_TPM2_OK && pcr_mask != 0) {
		st = tpm2_read_pcrs(&t, pcr_mask, pcr_values, err);
		if (st == TCS_TPM2_OK)
			st = tpm2_pcr_policy(&t, pcr_mask, &tmpl.publicArea.authPolicy, err);
	} else if (st == TCS_TPM2_OK) {
		/* no policy: the empty auth value in an HMAC session unseals it */
		tmpl.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	}
	if (st == TCS_TPM2_OK)
		st = tpm2_start_session(&t, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, err);
	if (st == TCS_TPM2_OK) {
		sensitive.sensitive.data.size = TCS_TPM2_STATE_KEY_LEN;
		memcpy(sensitive.sensitive.data.buffer, key, TCS_TPM2_STATE_KEY_LEN);
		/* the password session authorizes the primary, the salted one encrypts the key */
		rc = Esys_Create(t.esys, t.primary, ESYS_TR_PASSWORD, t.session, ESYS_TR_NONE,
				 &sensitive, &tmpl, &no_outside, &no_pcrs, &out_private,
				 &out_public, NULL, NULL, NULL);
		explicit_bzero(&sensitive, sizeof(sensitive));
		if (rc != TSS2_RC_SUCCESS)
			st = tpm_error(err, "Create (sealed state key)", rc);
	}
	if (st == TCS_TPM2_OK &&
	    (Tss2_MU_TPM2B_PUBLIC_Marshal(out_public, pub, sizeof(pub), &pub_len) !=
		     TSS2_RC_SUCCESS ||
	     Tss2_MU_TPM2B_PRIVATE_Marshal(out_private, priv, sizeof(priv), &priv_len) !=
		     TSS2_RC_SUCCESS)) {
		set_error(err, "cannot marshal the sealed object");
		st = TCS_TPM2_ERR_TPM;
	}
	if (st == TCS_TPM2_OK) {
		tcs_wbuf_init(&w, BLOB_MAX);
		tcs_wbuf_bytes(&w, BLOB_MAGIC, BLOB_MAGIC_LEN);
		tcs_wbuf_u16(&w, BLOB_VERSION);
		tcs_wbuf_u32(&w, pcr_mask);
		tcs_wbuf_bytes(&w, pcr_values, popcount24(pcr_mask) * PCR_DIGEST_LEN);
		tcs_wbuf_u16(&w, t.primary_name->size);
		tcs_wbuf_bytes(&w, t.primary_name->name, t.primary_name->size);
		tcs_wbuf_u32(&w, (uint32_t)pub_len);
		tcs_wbuf_bytes(&w, pub, pub_len);
		tcs_wbuf_u32(&w, (uint32_t)priv_len);
		tcs_wbuf_bytes(&w, priv, priv_len);
		if (!tcs_wbuf_ok(&w)) {
			tcs_wbuf_free(&w);
			set_error(err, "sealed blob exceeds %u bytes", BLOB_MAX);
			st = TCS_TPM2_ERR_FORMAT;
		} else {
			*blob = tcs_wbuf_steal(&w, blob_len);
		}
	}
	Esys_Free(out_private);
	Esys_Free(out_public);
	tpm2_close(&t);
	return st;
}

typedef struct {
	uint32_t pcr_mask;
	const uint8_t *pcr_values;
	TPM2B_NAME primary_name;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
} Blob;

static bool
blob_parse(const uint8_t *data, size_t len, Blob *b)
{
	const uint8_t *magic, *name, *pub, *priv;
	size_t off = 0;
	uint32_t pub_len, priv_len;
	uint16_t name_len;
	TcsRbuf r;

	memset(b, 0, sizeof(*b));
	tcs_rbuf_init(&r, data, len);
	magic = tcs_rbuf_take(&r, BLOB_MAGIC_LEN);
	if (magic == NULL || memcmp(magic, BLOB_MAGIC, BLOB_MAGIC_LEN) != 0 ||
	    tcs_rbuf_u16(&r) != BLOB_VERSION)
		return false;
	b->pcr_mask = tcs_rbuf_u32(&r);
	if ((b->pcr_mask & ~PCR_ALL_MASK) != 0)
		return false;
	b->pcr_values = tcs_rbuf_take(&r, popcount24(b->pcr_mask) * PCR_DIGEST_LEN);
	name_len = tcs_rbuf_u16(&r);
	if (name_len > sizeof(b->primary_name.name))
		return false;
	name = tcs_rbuf_take(&r, name_len);
	pub_len = tcs_rbuf_u32(&r);
	pub = tcs_rbuf_take(&r, pub_len);
	priv_len = tcs_rbuf_u32(&r);
	priv = tcs_rbuf_take(&r, priv_len);
	if (!tcs_rbuf_ok(&r) || tcs_rbuf_remaining(&r) != 0 || name == NULL || pub == NULL ||
	    priv == NULL || (b->pcr_mask != 0 && b->pcr_values == NULL))
		return false;
	b->primary_name.size = name_len;
	memcpy(b->primary_name.name, name, name_len);
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, pub_len, &off, &b->pub) != TSS2_RC_SUCCESS ||
	    off != pub_len)
		return false;
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(priv, priv_len, &off, &b->priv) != TSS2_RC_SUCCESS ||
	    off != priv_len)
		return false;
	return true;
}

bool
tcs_tpm2_blob_pcr_mask(const uint8_t *blob, size_t blob_len, uint32_t *mask)
{
	Blob b;

	if (!blob_parse(blob, blob_len, &b))
		return false;
	*mask = b.pcr_mask;
	return true;
}

/* which PCRs no longer hold their sealing-time values */
static TcsTpm2Status
pcr_mismatch(Tpm2 *t, const Blob *b, TcsTpm2Error *err)
{
	uint8_t now[TCS_TPM2_MAX_PCR + 1][PCR_DIGEST_LEN];
	char sealed_list[96], changed_list[96];
	uint32_t changed = 0;
	unsigned n = 0;

	if (tpm2_read_pcrs(t, b->pcr_mask, now, err) == TCS_TPM2_OK) {
		for (unsigned i = 0; i <= TCS_TPM2_MAX_PCR; i++) {
			if (!(b->pcr_mask & (1u << i)))
				continue;
			if (memcmp(now[n], b->pcr_values + (size_t)n * PCR_DIGEST_LEN,
				   PCR_DIGEST_LEN) != 0)
				changed |= 1u << i;
			n++;
		}
	}
	/* unreadable, or changed and changed back: name them all */
	if (changed == 0)
		changed = b->pcr_mask;
	if (err)
		err->changed_pcrs = changed;
	set_error(err,
		  "the TPM 2.0 refuses to unseal the state key: its PCR policy (SHA-256 PCRs %s) "
		  "does not hold, PCR %s changed since the binding was made",
		  tcs_tpm2_pcr_list_format(b->pcr_mask, sealed_list, sizeof(sealed_list)),
		  tcs_tpm2_pcr_list_format(changed, changed_list, sizeof(changed_list)));
	return TCS_TPM2_ERR_PCR_MISMATCH;
}

static TcsTpm2Status
other_tpm(TcsTpm2Error *err, const char *tcti)
{
	set_error(err,
		  "the state key was sealed by another TPM 2.0 (or this TPM's owner hierarchy was "
		  "cleared since): the storage key that TCTI '%s' derives does not match the "
		  "binding; the state cannot be unlocked on this machine",
		  tcti);
	return TCS_TPM2_ERR_OTHER_TPM;
}

TcsTpm2Status
tcs_tpm2_unseal(const char *tcti, const uint8_t *blob, size_t blob_len,
		uint8_t key[TCS_TPM2_STATE_KEY_LEN], TcsTpm2Error *err)
{
	TPM2B_SENSITIVE_DATA *data = NULL;
	TcsTpm2Status st;
	Blob b;
	Tpm2 t;
	TSS2_RC rc;

	explicit_bzero(key, TCS_TPM2_STATE_KEY_LEN);
	if (err)
		memset(err, 0, sizeof(*err));
	if (tcti == NULL) {
		set_error(err, "no TCTI");
		return TCS_TPM2_ERR_ARG;
	}
	if (!blob_parse(blob, blob_len, &b)) {
		set_error(err, "the sealed state key is malformed or from another tcs version");
		return TCS_TPM2_ERR_FORMAT;
	}
	st = tpm2_open(&t, tcti, err);
	if (st == TCS_TPM2_OK && (t.primary_name->size != b.primary_name.size ||
				  memcmp(t.primary_name->name, b.primary_name.name,
					 b.primary_name.size) != 0))
		st = other_tpm(err, tcti);
	if (st == TCS_TPM2_OK) {
		rc = Esys_Load(t.esys, t.primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       &b.priv, &b.pub, &t.object);
		if (rc != TSS2_RC_SUCCESS) {
			t.object = ESYS_TR_NONE;
			st = rc_base(rc) == TPM2_RC_INTEGRITY ? other_tpm(err, tcti)
							      : tpm_error(err, "Load", rc);
		}
	}
	if (st == TCS_TPM2_OK)
		st = tpm2_start_session(&t, b.pcr_mask ? TPM2_SE_POLICY : TPM2_SE_HMAC,
					TPMA_SESSION_ENCRYPT, err);
	if (st == TCS_TPM2_OK && b.pcr_mask != 0) {
		const TPM2B_DIGEST current = {0};
		TPML_PCR_SELECTION sel;

		pcr_selection(b.pcr_mask, &sel);
		rc = Esys_PolicyPCR(t.esys, t.session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				    &current, &sel);
		if (rc != TSS2_RC_SUCCESS)
			st = tpm_error(err, "PolicyPCR", rc);
	}
	if (st == TCS_TPM2_OK) {
		rc = Esys_Unseal(t.esys, t.object, t.session, ESYS_TR_NONE, ESYS_TR_NONE, &data);
		if (rc != TSS2_RC_SUCCESS)
			st = rc_base(rc) == TPM2_RC_POLICY_FAIL ? pcr_mismatch(&t, &b, err)
								: tpm_error(err, "Unseal", rc);
	}
	if (st == TCS_TPM2_OK && data->size != TCS_TPM2_STATE_KEY_LEN) {
		set_error(err, "the sealed state key has %u bytes, not %u", data->size,
			  TCS_TPM2_STATE_KEY_LEN);
		st = TCS_TPM2_ERR_FORMAT;
	}
	if (st == TCS_TPM2_OK)
		memcpy(key, data->buffer, TCS_TPM2_STATE_KEY_LEN);
	if (data != NULL) {
		explicit_bzero(data, sizeof(*data));
		Esys_Free(data);
	}
	tpm2_close(&t);
	return st;
}

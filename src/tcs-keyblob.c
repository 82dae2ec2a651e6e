/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-keyblob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "tcs-auth.h"
#include "tcs-key.h"
#include "tcs-uuid.h"

#define BEGIN_LINE "-----BEGIN " TCS_KEYBLOB_PEM_NAME "-----"

TCS_DEFINE_CLEANUP(BIO *, BIO_free_all)
TCS_DEFINE_CLEANUP(ASN1_OCTET_STRING *, ASN1_OCTET_STRING_free)

static void
openssl_freep(void *p)
{
	OPENSSL_free(*(void **)p);
}

void
tcs_keyblob_clear(TcsKeyBlob *kb)
{
	if (!kb)
		return;
	free(kb->blob);
	memset(kb, 0, sizeof(*kb));
}

/* Look for "Parent-UUID: <uuid>" in the explanatory text before the block. */
static int
parse_preamble(const char *text, size_t len, TcsUuid *parent, bool *recorded)
{
	const size_t tag_len = strlen(TCS_KEYBLOB_PARENT_TAG);
	const char *p = text, *end = text + len;

	*parent = TCS_UUID_SRK;
	*recorded = false;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;

		if ((size_t)(line_end - p) > tag_len && !strncmp(p, TCS_KEYBLOB_PARENT_TAG, tag_len)) {
			char buf[TCS_UUID_STRING_SIZE] = {0};
			const char *v = p + tag_len;
			size_t n;

			while (v < line_end && (*v == ' ' || *v == '\t'))
				v++;
			n = (size_t)(line_end - v);
			while (n && (v[n - 1] == '\r' || v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (n != TCS_UUID_STRING_SIZE - 1)
				return -EBADMSG;
			memcpy(buf, v, n);
			if (*recorded || tcs_uuid_from_string(buf, parent) < 0)
				return -EBADMSG;
			*recorded = true;
		}
		p = line_end + 1;
	}
	return 0;
}

int
tcs_keyblob_parse(const char *text, size_t len, TcsKeyBlob *ret)
{
	_cleanup_(BIO_free_allp) BIO *bio = NULL;
	_cleanup_(openssl_freep) char *name = NULL;
	_cleanup_(openssl_freep) char *header = NULL;
	_cleanup_(openssl_freep) uint8_t *der = NULL;
	const char *begin;
	long der_len = 0;
	TcsKeyBlob kb = {0};
	int rc;

	if (!text || !ret || len > TCS_KEYBLOB_MAX_FILE)
		return -EINVAL;
	begin = memmem(text, len, BEGIN_LINE, strlen(BEGIN_LINE));
	if (!begin)
		return -EBADMSG;
	rc = parse_preamble(text, (size_t)(begin - text), &kb.parent, &kb.parent_recorded);
	if (rc < 0)
		return rc;
	bio = BIO_new_mem_buf(begin, (int)(len - (size_t)(begin - text)));
	if (!bio)
		return -ENOMEM;
	if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1 ||
	    strcmp(name, TCS_KEYBLOB_PEM_NAME) != 0 || header[0] != '\0' || der_len <= 0)
		return -EBADMSG;
	{
		bool recorded = kb.parent_recorded;
		TcsUuid parent = kb.parent;

		rc = tcs_keyblob_parse_der(der, (size_t)der_len, &kb);
		if (rc < 0)
			return rc;
		kb.parent = parent;
		kb.parent_recorded = recorded;
	}
	*ret = kb;
	return 0;
}

/* A DER tag and definite length; the content's start and length. */
static bool
der_header(TcsRbuf *r, uint8_t want_tag, TcsRbuf *content)
{
	uint8_t tag = tcs_rbuf_u8(r), first = tcs_rbuf_u8(r);
	size_t n = first;

	if (first & 0x80) {
		uint8_t bytes = first & 0x7f;

		if (bytes == 0 || bytes > 3)
			return false;
		n = 0;
		while (bytes--)
			n = (n << 8) | tcs_rbuf_u8(r);
	}
	return tcs_rbuf_ok(r) && tag == want_tag && tcs_rbuf_sub(r, n, content);
}

static void
der_put_header(TcsWbuf *w, uint8_t tag, size_t n)
{
	tcs_wbuf_u8(w, tag);
	if (n < 0x80) {
		tcs_wbuf_u8(w, (uint8_t)n);
	} else if (n <= 0xff) {
		tcs_wbuf_u8(w, 0x81);
		tcs_wbuf_u8(w, (uint8_t)n);
	} else if (n <= 0xffff) {
		tcs_wbuf_u8(w, 0x82);
		tcs_wbuf_u16(w, (uint16_t)n);
	} else {
		tcs_wbuf_u8(w, 0x83);
		tcs_wbuf_u8(w, (uint8_t)(n >> 16));
		tcs_wbuf_u16(w, (uint16_t)n);
	}
}

static size_t
der_header_len(size_t n)
{
	return n < 0x80 ? 2 : n <= 0xff ? 3 : n <= 0xffff ? 4 : 5;
}

int
tcs_keyblob_to_der(const TcsKeyBlob *kb, uint8_t **ret, size_t *ret_len)
{
	TcsWbuf w;

	if (!kb || !kb->blob || !ret || !ret_len)
		return -EINVAL;
	tcs_wbuf_init(&w, TCS_KEYBLOB_MAX_FILE + 64);
	if (kb->parent_recorded) {
		size_t inner = der_header_len(kb->blob_len) + kb->blob_len + 2 + TCS_UUID_WIRE_SIZE;

		der_put_header(&w, 0x30, inner);
	}
	der_put_header(&w, 0x04, kb->blob_len);
	tcs_wbuf_bytes(&w, kb->blob, kb->blob_len);
	if (kb->parent_recorded) {
		der_put_header(&w, 0x04, TCS_UUID_WIRE_SIZE);
		tcs_uuid_write_wire(&w, &kb->parent);
	}
	if (!tcs_wbuf_ok(&w)) {
		tcs_wbuf_free(&w);
		return -ENOMEM;
	}
	*ret = tcs_wbuf_steal(&w, ret_len);
	return 0;
}

int
tcs_keyblob_parse_der(const uint8_t *der, size_t len, TcsKeyBlob *ret)
{
	_cleanup_(ASN1_OCTET_STRING_freep) ASN1_OCTET_STRING *os = NULL;
	_cleanup_key_ TcsKey k = {0};
	const uint8_t *q = der;
	size_t consumed = 0;
	TcsKeyBlob kb = {.parent = TCS_UUID_SRK};

	if (!der || !ret || len == 0 || len > TCS_KEYBLOB_MAX_FILE + 64)
		return -EINVAL;
	if (der[0] == 0x30) {
		TcsRbuf r, seq, blob, uuid;
		const uint8_t *os_start;

		tcs_rbuf_init(&r, der, len);
		if (!der_header(&r, 0x30, &seq) || tcs_rbuf_remaining(&r) != 0)
			return -EBADMSG;
		/* the OCTET STRING with its header is parsed below like the plain form */
		os_start = tcs_rbuf_cur(&seq);
		if (!der_header(&seq, 0x04, &blob))
			return -EBADMSG;
		len = (size_t)(tcs_rbuf_cur(&seq) - os_start);
		q = der = os_start;
		if (!der_header(&seq, 0x04, &uuid) || tcs_rbuf_remaining(&seq) != 0 ||
		    uuid.len != TCS_UUID_WIRE_SIZE || !tcs_uuid_read_wire(&uuid, &kb.parent))
			return -EBADMSG;
		kb.parent_recorded = true;
	}
	os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)len);
	if (!os || q != der + len)
		return -EBADMSG;
	if (tcs_key_parse(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os), &k,
			  &consumed) < 0 ||
	    consumed != (size_t)ASN1_STRING_length(os))
		return -EBADMSG;
	kb.blob_len = consumed;
	kb.blob = malloc(consumed);
	if (!kb.blob)
		return -ENOMEM;
	memcpy(kb.blob, ASN1_STRING_get0_data(os), consumed);
	*ret = kb;
	return 0;
}

int
tcs_keyblob_read_file(const char *path, TcsKeyBlob *ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(TCS_KEYBLOB_MAX_FILE + 1);
	while (buf) {
		ssize_t n = read(fd, buf + len, TCS_KEYBLOB_MAX_FILE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > TCS_KEYBLOB_MAX_FILE) {
			err = -EFBIG;
			break;
		}
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (err < 0)
		return err;
	return tcs_keyblob_parse(buf, len, ret);
}

int
tcs_keyblob_format(const uint8_t *blob, size_t len, const TcsUuid *parent, char **ret,
		   size_t *ret_len)
{
	_cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
	_cleanup_(ASN1_OCTET_STRING_freep) ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	_cleanup_(openssl_freep) uint8_t *der = NULL;
	char *mem, *out;
	long mem_len;
	int der_len;

	if (!blob || !len || len > TCS_KEYBLOB_MAX_FILE || !ret)
		return -EINVAL;
	if (!bio || !os || !ASN1_OCTET_STRING_set(os, blob, (int)len))
		return -ENOMEM;
	der_len = i2d_ASN1_OCTET_STRING(os, &der);
	if (der_len <= 0)
		return -ENOMEM;
	if (parent && !tcs_uuid_equal(parent, &TCS_UUID_SRK)) {
		char u[TCS_UUID_STRING_SIZE];

		if (BIO_printf(bio, "%s %s\n", TCS_KEYBLOB_PARENT_TAG, tcs_uuid_to_string(parent, u)) <= 0)
			return -EIO;
	}
	if (PEM_write_bio(bio, TCS_KEYBLOB_PEM_NAME, "", der, der_len) <= 0)
		return -EIO;
	mem_len = BIO_get_mem_data(bio, &mem);
	if (mem_len <= 0)
		return -EIO;
	out = malloc((size_t)mem_len + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, mem, (size_t)mem_len);
	out[mem_len] = '\0';
	*ret = out;
	if (ret_len)
		*ret_len = (size_t)mem_len;
	return 0;
}

int
tcs_keyblob_write_file(const char *path, const uint8_t *blob, size_t len, const TcsUuid *parent,
		       bool replace)
{
	_cleanup_free_ char *text = NULL;
	size_t text_len, off = 0;
	int fd, rc = tcs_keyblob_format(blob, len, parent, &text, &text_len);

	if (rc < 0)
		return rc;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0)
		return -errno;
	while (off < text_len) {
		ssize_t n = write(fd, text + off, text_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int
srk_lookup(const TcsUuid *uuid, uint8_t secret[TCS_SECRET_SIZE], void *userdata)
{
	if (!tcs_uuid_equal(uuid, &TCS_UUID_SRK))
		return -ENOENT;
	memcpy(secret, userdata, TCS_SECRET_SIZE);
	return 0;
}

int
tcs_keyblob_load_parent(TcsClient *c, const TcsUuid *parent,
			const uint8_t srk_secret[TCS_SECRET_SIZE], uint32_t *ret_handle,
			const uint8_t **ret_secret)
{
	_cleanup_free_ uint8_t *reg = NULL;
	_cleanup_key_ TcsKey k = {0};
	size_t reg_len;
	int rc;

	/* TrouSerS' tcsd accepts a key handle only after the context loaded it, even the SRK's */
	if (tcs_uuid_equal(parent, &TCS_UUID_SRK)) {
		*ret_secret = srk_secret;
		return tcs_client_load_key_by_uuid(c, parent, NULL, NULL, ret_handle);
	}
	rc = tcs_client_get_registered_key_blob(c, parent, &reg, &reg_len);
	if (rc == (int)TCS_ERR(TSS_E_PS_KEY_NOTFOUND))
		return -ENOENT;
	if (rc != 0)
		return rc;
	if (tcs_key_parse(reg, reg_len, &k, NULL) < 0)
		return -EBADMSG;
	rc = tcs_client_load_key_by_uuid(c, parent, srk_lookup, (void *)srk_secret, ret_handle);
	if (rc != 0)
		return rc;
	*ret_secret = k.auth_data_usage == TPM_AUTH_NEVER ? NULL : tcs_auth_well_known;
	return 0;
}

int
tcs_keyblob_load(TcsClient *c, const TcsKeyBlob *kb, const uint8_t srk_secret[TCS_SECRET_SIZE],
		 uint32_t *ret_handle)
{
	const uint8_t *parent_secret = NULL;
	uint32_t parent = 0;
	int rc = tcs_keyblob_load_parent(c, &kb->parent, srk_secret, &parent, &parent_secret);

	if (rc != 0)
		return rc;
	return tcs_client_load_key_by_blob(c, parent, parent_secret, kb->blob, kb->blob_len,
					   ret_handle);
}

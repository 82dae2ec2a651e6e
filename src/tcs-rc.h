/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Names and messages for TPM_RESULT and TSS_RESULT codes, for logs and tools. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* "TPM_E_AUTHFAIL", "TCS_E_INVALID_CONTEXTHANDLE", … or NULL when unknown. */
const char *tcs_rc_name(uint32_t rc);
/* A short human message ("authentication failed"), never NULL. */
const char *tcs_rc_message(uint32_t rc);
/* "0x00000001 TPM_E_AUTHFAIL (authentication failed)" into buf. */
const char *tcs_rc_describe(uint32_t rc, char *buf, size_t len);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The embedded TPM 1.2's state bound to the host's TPM 2.0
 * (docs/tpm2-binding.md): a random 256-bit key encrypts swtpm's state; only
 * its sealed form (src/tcs-tpm2-seal.h) is kept, in <state_dir>/tpm2-key.sealed.
 */
#pragma once

#include <glib.h>

#include "tcsd-swtpm.h"

#define TCSD_TPM2_SEALED_FILE "tpm2-key.sealed"
#define TCSD_TPM2_DEFAULT_DEVICE "/dev/tpmrm0"

typedef enum {
	TCSD_TPM2_BINDING_NONE,	   /* not configured (or no TPM 2.0): plain state */
	TCSD_TPM2_BINDING_BOUND,   /* the state is encrypted, its key sealed */
	TCSD_TPM2_BINDING_PENDING, /* configured, but an older unbound state is in use */
} TcsdTpm2BindingState;

/*
 * tcsd.conf's tpm2_binding (NULL: the default, "device:/dev/tpmrm0" when that
 * device exists; "none") and tpm2_pcrs (bit n = PCR n). Call before the
 * embedded swtpm starts.
 */
void tcsd_tpm2_binding_configure(const char *tcti, guint32 pcrs);
/*
 * tpm_device = auto: whether /dev/tpm0 is a TPM 1.2 (sysfs tpm_version_major;
 * without it, a /dev/tpmrm0 means a TPM 2.0). FALSE when there is no /dev/tpm0.
 */
gboolean tcsd_tpm2_binding_tpm0_is_tpm12(void);
/* The TCTI in effect, or NULL for none. */
const char *tcsd_tpm2_binding_get_tcti(void);

/*
 * Start the embedded swtpm of state_dir, bound as configured: unseal the
 * key of a bound state (a clear error naming the cause, another TPM 2.0 or
 * the PCRs that changed, and nothing touched when that fails), bind a new
 * state, or run an older unbound state as it is (PENDING).
 */
TcsdSwtpm *tcsd_tpm2_binding_start_swtpm(const char *state_dir, GError **error);

/*
 * Convert the unbound state of state_dir to a bound one, keeping every key:
 * swtpm must not run on it. The state blobs go through swtpm's control
 * channel from an unencrypted instance to an encrypted one.
 */
gboolean tcsd_tpm2_binding_convert(const char *state_dir, GError **error);

/*
 * The live form of the conversion, on the TPM worker of a running tcsd whose
 * state is PENDING: stop swtpm (it saves its volatile state), convert, start
 * it again bound; loaded keys and sessions come back with the volatile state.
 */
struct _TcsdTpm;
gboolean tcsd_tpm2_binding_bind_live(struct _TcsdTpm *tpm, const char *tpm_device,
				     const char *state_dir, GError **error);

TcsdTpm2BindingState tcsd_tpm2_binding_get_state(void);
/* "device", "tcp" or "swtpm" for a TcsdTpmBackend */
const char *tcsd_tpm2_binding_backend_name(int backend);
/* "none", "tpm2" or "pending" */
const char *tcsd_tpm2_binding_state_name(TcsdTpm2BindingState st);
/* The PCRs of the active binding (bit mask), 0 when none. */
guint32 tcsd_tpm2_binding_get_pcrs(void);
/* One line for logs and tpmctl status: "tpm2 (device:/dev/tpmrm0, PCRs 7)", ... */
char *tcsd_tpm2_binding_describe(void);

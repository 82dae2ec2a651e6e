/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The embedded TPM: an swtpm (TPM 1.2 mode) that tcsd starts, owns and
 * stops, with its state in <state_dir>/tpm and its sockets in state_dir.
 */
#pragma once

#include <glib.h>

#include "tcsd-tpm-io.h"

/* swtpm control channel commands (swtpm's tpm_ioctl.h, socket flavour) */
#define TCSD_SWTPM_CMD_INIT 0x02u
#define TCSD_SWTPM_CMD_SHUTDOWN 0x03u

typedef struct _TcsdSwtpm TcsdSwtpm;

/*
 * Manufacture the TPM on first use (swtpm_setup --createek), start swtpm on
 * unix sockets in state_dir (mode 0600; reached through a descriptor of
 * state_dir when the paths are too long, never over TCP) and wait until it
 * accepts. The child gets SIGTERM if the calling thread dies.
 */
TcsdSwtpm *tcsd_swtpm_start(const char *state_dir, GError **error);
/* The same with the state encrypted under key (TCSD_SWTPM_KEY_LEN bytes, AES-256-CBC),
 * handed to swtpm_setup and swtpm through an inherited pipe; key NULL = unencrypted. */
#define TCSD_SWTPM_KEY_LEN 32u
TcsdSwtpm *tcsd_swtpm_start_keyed(const char *state_dir, const guint8 *key, GError **error);
/* A pipe's read end (close-on-exec) holding data, for a child to inherit; -1 on error. */
int tcsd_swtpm_secret_pipe(const void *data, gsize len, GError **error);
const TcsdTpmEndpoint *tcsd_swtpm_get_data_endpoint(TcsdSwtpm *s);
const TcsdTpmEndpoint *tcsd_swtpm_get_ctrl_endpoint(TcsdSwtpm *s);
const char *tcsd_swtpm_get_tpm_dir(TcsdSwtpm *s);
GPid tcsd_swtpm_get_pid(TcsdSwtpm *s);
/* Send CMD_SHUTDOWN (swtpm saves state and exits), wait, escalate to signals. */
void tcsd_swtpm_free(TcsdSwtpm *s);

/* One control-channel request: cmd + payload, answered by a 4-byte result. */
gboolean tcsd_swtpm_ctrl_command(const TcsdTpmEndpoint *ctrl, guint32 cmd, const guint8 *payload,
				 gsize payload_len, guint timeout_ms, guint32 *result,
				 GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TcsdSwtpm, tcsd_swtpm_free)

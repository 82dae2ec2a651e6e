/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM 1.2 transports behind one blocking interface: a kernel character
 * device, a simulator's TCP command port, or an swtpm that tcsd starts
 * itself. Not thread-safe: one thread (the TPM worker) owns a device.
 */
#pragma once

#include <glib.h>

#define TCSD_TPM_DEVICE_ERROR (tcsd_tpm_device_error_quark())
typedef enum {
	TCSD_TPM_DEVICE_ERROR_FAILED,	    /* setup or I/O failure */
	TCSD_TPM_DEVICE_ERROR_INVALID_SPEC, /* bad tpm_device string */
	TCSD_TPM_DEVICE_ERROR_NOT_FOUND,    /* no such device, nothing listening */
	TCSD_TPM_DEVICE_ERROR_TIMEOUT,
	TCSD_TPM_DEVICE_ERROR_DISCONNECTED, /* the TPM went away mid-command */
	TCSD_TPM_DEVICE_ERROR_BAD_COMMAND,  /* caller's command is malformed */
	TCSD_TPM_DEVICE_ERROR_BAD_RESPONSE, /* response framing is wrong */
	TCSD_TPM_DEVICE_ERROR_TPM,	    /* the TPM refused a power-on command */
} TcsdTpmDeviceError;

typedef enum {
	TCSD_TPM_BACKEND_AUTO,
	TCSD_TPM_BACKEND_CHAR,
	TCSD_TPM_BACKEND_TCP,
	TCSD_TPM_BACKEND_SWTPM,
} TcsdTpmBackend;

#define TCSD_TPM_DEFAULT_CHAR_DEVICE "/dev/tpm0"
/* key generation on slow TPMs takes tens of seconds */
#define TCSD_TPM_DEFAULT_TIMEOUT_MS (120 * 1000)
/* the kernel's TPM_BUFSIZE; TPM 1.2 commands never exceed it */
#define TCSD_TPM_MAX_COMMAND 4096
#define TCSD_TPM_MAX_RESPONSE 8192
#define TCSD_TPM_HEADER_SIZE 10

/* A parsed tpm_device value: auto | swtpm | tcp:HOST:PORT[:CTRLPORT] | /path/to/device */
typedef struct {
	TcsdTpmBackend backend;
	char *path;	   /* CHAR */
	char *host;	   /* TCP; IPv6 literals are written [addr] in the spec */
	guint16 port;	   /* TCP command port */
	guint16 ctrl_port; /* TCP swtpm control port (only to reset the TPM); default port + 1 */
} TcsdTpmSpec;

GQuark tcsd_tpm_device_error_quark(void);

gboolean tcsd_tpm_spec_parse(const char *text, TcsdTpmSpec *spec, GError **error);
void tcsd_tpm_spec_clear(TcsdTpmSpec *spec);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TcsdTpmSpec, tcsd_tpm_spec_clear)

typedef struct _TcsdTpmDevice TcsdTpmDevice;

/*
 * Open the TPM named by spec (a tpm_device value, NULL = "auto"). state_dir
 * holds the embedded swtpm's state and sockets; it is only needed for
 * "swtpm" or an "auto" that finds no /dev/tpm0. The embedded
 * swtpm is tied to the calling thread (PR_SET_PDEATHSIG), so open it from a
 * thread that lives as long as the device.
 */
TcsdTpmDevice *tcsd_tpm_device_open(const char *spec, const char *state_dir, GError **error);
/* Per-command timeout, default TCSD_TPM_DEFAULT_TIMEOUT_MS. */
void tcsd_tpm_device_set_timeout(TcsdTpmDevice *d, guint timeout_ms);
/*
 * Send one TPM command and read one framed response into rsp. A TPM that
 * answers TPM_RETRY is asked again a few times; a dropped simulator
 * connection is reopened once. The response's return code is the caller's
 * business: TRUE means a well-framed response arrived. A rsp_cap of
 * TCSD_TPM_MAX_RESPONSE always suffices.
 */
gboolean tcsd_tpm_device_transmit(TcsdTpmDevice *d, const guint8 *cmd, gsize cmd_len,
				  guint8 *rsp, gsize rsp_cap, gsize *rsp_len, GError **error);
/*
 * Play the BIOS on a simulator: TPM_Startup(ST_CLEAR), assert physical
 * presence, enable and activate (resetting the TPM through the control
 * channel when activation needs one), then lock physical presence. A TPM
 * that is already started, enabled and active is left alone. Does nothing
 * on a kernel device, where the firmware has done this.
 */
gboolean tcsd_tpm_device_power_on(TcsdTpmDevice *d, GError **error);
TcsdTpmBackend tcsd_tpm_device_get_backend(TcsdTpmDevice *d);
/* e.g. "/dev/tpm0", "tcp:127.0.0.1:2321", "swtpm:/var/lib/tcs/tpm" */
const char *tcsd_tpm_device_get_description(TcsdTpmDevice *d);
/* The embedded swtpm's pid, 0 for other backends. */
GPid tcsd_tpm_device_get_swtpm_pid(TcsdTpmDevice *d);
/* Closes the TPM; an embedded swtpm saves its state and is waited for. */
void tcsd_tpm_device_free(TcsdTpmDevice *d);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TcsdTpmDevice, tcsd_tpm_device_free)

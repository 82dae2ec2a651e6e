/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcsd.conf: TrouSerS option names plus tcsd's own TPM and resource-limit options. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#define TCSD_CONFIG_ERROR (tcsd_config_error_quark())
typedef enum {
	TCSD_CONFIG_ERROR_SYNTAX,
	TCSD_CONFIG_ERROR_UNKNOWN_OPTION,
	TCSD_CONFIG_ERROR_INVALID_VALUE,
} TcsdConfigError;

/* TCSD ordinals are 0..122 (TCSD_MAX_NUM_ORDS in TrouSerS) */
#define TCSD_CONFIG_NUM_ORDINALS 123

/* highest PCR index accepted in firmware_pcrs / kernel_pcrs */
#define TCSD_CONFIG_MAX_PCR 23

typedef enum {
	TCSD_DBUS_AUTO, /* when a system bus is there; without one, TSS service only */
	TCSD_DBUS_YES,  /* fail to start without the bus name */
	TCSD_DBUS_NO,
} TcsdDbusMode;

typedef struct {
	guint16 port;
	guint num_threads;
	char *system_ps_file;
	char *firmware_log_file;
	char *kernel_log_file;
	guint32 firmware_pcrs; /* bit n set = PCR n */
	guint32 kernel_pcrs;
	char *platform_cred;
	char *conformance_cred;
	char *endorsement_cred;
	/* TCSD ordinals remote (non-loopback) peers may call; all FALSE = local only */
	gboolean remote_ops[TCSD_CONFIG_NUM_ORDINALS];
	gboolean enforce_exclusive_transport;
	char *host_platform_class;  /* one of PC_11 PC_12 PDA_12 SERVER_12 MOBILE_12 */
	char *all_platform_classes; /* comma list of the same, NULL = none */
	gboolean disable_ipv4;
	gboolean disable_ipv6;
	char *tpm_device; /* "auto", "swtpm", "tcp:HOST:PORT[:CTRLPORT]" or an absolute path */
	/* the embedded swtpm's state bound to a TPM 2.0: a tpm2-tss TCTI, "none", or NULL for
	 * the default (device:/dev/tpmrm0 when it exists); docs/tpm2-binding.md */
	char *tpm2_binding;
	guint32 tpm2_pcrs; /* PCR policy of the binding, bit n = PCR n */
	GArray *owner_uids; /* of uid_t: users allowed to run owner operations */
	char *state_dir;
	guint max_connections;
	guint max_contexts_per_connection;
	guint max_keys_per_context;
	guint max_auth_sessions_per_context;
	guint max_registered_keys_per_user; /* in system PS, per uid; owner_users exempt */
	guint max_request_size;
	guint request_timeout_ms;
	/*
	 * Per-peer quotas (a local uid, or a remote address): one peer never takes
	 * all of a resource. owner_users are exempt. 0 = automatic where noted.
	 */
	guint max_connections_per_peer;    /* 0: max_connections / 4 */
	guint max_contexts_per_peer;
	guint max_auth_sessions_per_peer;  /* 0: a quarter of what the TPM can hold */
	guint max_keys_per_peer;
	guint max_events_per_peer;         /* event log entries, kept until tcsd stops */
	guint idle_timeout_ms;             /* a connection holding no context; 0 = never */
	TcsdDbusMode dbus; /* serve org.tcs.Manager on the system bus */
	guint manager_auth_timeout_ms; /* a polkit check that does not answer fails */
	guint manager_io_timeout_ms;   /* reading or writing an archive descriptor */
} TcsdConfig;

GQuark tcsd_config_error_quark(void);

TcsdConfig *tcsd_config_new_defaults(void);
/*
 * Load a tcsd.conf on top of the current values. path NULL = the default
 * TCS_SYSCONFDIR "/tcsd.conf", which may be missing (defaults stay); an
 * explicit path must exist. On error the config may be partly updated.
 */
gboolean tcsd_config_load(TcsdConfig *c, const char *path, GError **error);
/* Parse config text; origin names it in error messages. */
gboolean tcsd_config_load_data(TcsdConfig *c, const char *data, gsize len, const char *origin,
			       GError **error);
gboolean tcsd_config_has_remote_ops(const TcsdConfig *c);
gboolean tcsd_config_is_owner_uid(const TcsdConfig *c, uid_t uid);
/* max_connections_per_peer with its automatic value worked out */
guint tcsd_config_connections_per_peer(const TcsdConfig *c);
void tcsd_config_free(TcsdConfig *c);
/*
 * Whether this process can create, write and remove files in dir: a file is
 * created there and removed again. what names the setting in the message
 * ("state_dir"), key the tcsd.conf setting to change.
 */
gboolean tcsd_config_check_dir_writable(const char *dir, const char *what, const char *key,
					GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TcsdConfig, tcsd_config_free)

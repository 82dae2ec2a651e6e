/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the D-Bus front end (main thread) and the operations (worker thread). */
#pragma once

#include <gio/gio.h>

#include "tcs-auth.h"
#include "tcs-client.h"
#include "tcsd-manager.h"

#define TCSD_MANAGER_ERROR (tcsd_manager_error_quark())
GQuark tcsd_manager_error_quark(void);

/* org.tcs.Error.* in the order of the XML */
typedef enum {
	TCSD_MANAGER_ERROR_INVALID_ARGS,
	TCSD_MANAGER_ERROR_PERMISSION_DENIED,
	TCSD_MANAGER_ERROR_BUSY,
	TCSD_MANAGER_ERROR_NOT_SUPPORTED,
	TCSD_MANAGER_ERROR_NO_OWNER_SECRET,
	TCSD_MANAGER_ERROR_TPM_AUTH_FAILED,
	TCSD_MANAGER_ERROR_LOCKOUT,
	TCSD_MANAGER_ERROR_ALREADY_OWNED,
	TCSD_MANAGER_ERROR_NOT_OWNED,
	TCSD_MANAGER_ERROR_NOT_OWNABLE,
	TCSD_MANAGER_ERROR_DISABLED,
	TCSD_MANAGER_ERROR_DEACTIVATED,
	TCSD_MANAGER_ERROR_OWNER_CLEAR_DISABLED,
	TCSD_MANAGER_ERROR_PHYSICAL_PRESENCE_REQUIRED,
	TCSD_MANAGER_ERROR_NO_ENDORSEMENT_KEY,
	TCSD_MANAGER_ERROR_NOT_FOUND,
	TCSD_MANAGER_ERROR_ALREADY_EXISTS,
	TCSD_MANAGER_ERROR_HAS_CHILDREN,
	TCSD_MANAGER_ERROR_INVALID_ARCHIVE,
	TCSD_MANAGER_ERROR_ARCHIVE_AUTH_FAILED,
	TCSD_MANAGER_ERROR_IO,
	TCSD_MANAGER_ERROR_TPM,
	TCSD_MANAGER_ERROR_INTERNAL,
} TcsdManagerError;

/* The TPM's state as the properties show it; read on the worker. */
typedef struct {
	gboolean valid;
	char version[32];
	char manufacturer[16];
	gboolean owned, enabled, activated, ownable, owner_clear_disabled, force_clear_disabled;
	gboolean owner_secret_stored;
	char tpm_backend[16];  /* device, tcp, swtpm */
	char tpm2_binding[16]; /* none, tpm2, pending (tcsd-tpm2-binding.h) */
	guint32 tpm2_pcrs;
} TcsdTpmState;

/* A secret argument after its mode was applied. */
typedef enum {
	TCSD_SECRET_DEFAULT, /* empty, no mode: the method's default */
	TCSD_SECRET_VALUE,   /* value holds the 20-byte authorisation */
} TcsdSecretKind;

typedef struct {
	TcsdSecretKind kind;
	guint8 value[TCS_SECRET_SIZE];
} TcsdSecret;

/* Key selection of ListKeys and DeleteKeys. */
typedef struct {
	gboolean has_ancestor, has_parent, has_algorithm, has_usage;
	TcsUuid ancestor, parent;
	guint32 algorithm; /* TSS_ALG_* */
	guint32 usage;     /* TSS_KEYUSAGE_* */
	GArray *uuids;     /* TcsUuid; NULL = any */
} TcsdKeyCriteria;

typedef enum {
	TCSD_OP_TAKE_OWNERSHIP,
	TCSD_OP_CHANGE_OWNER_SECRET,
	TCSD_OP_FORGET_OWNER_SECRET,
	TCSD_OP_CLEAR_OWNER,
	TCSD_OP_SET_ENABLED,
	TCSD_OP_SET_ACTIVATED,
	TCSD_OP_CREATE_STORAGE_KEY,
	TCSD_OP_LIST_KEYS,
	TCSD_OP_GET_KEY_INFO,
	TCSD_OP_DELETE_KEYS,
	TCSD_OP_BACKUP,
	TCSD_OP_RESTORE,
	TCSD_OP_BIND_TPM2,
	TCSD_OP_REFRESH, /* no method: re-read the TPM state */
} TcsdOpKind;

typedef struct _TcsdOp TcsdOp;
typedef void (*TcsdOpFunc)(TcsdOp *op);

struct _TcsdOp {
	TcsdOpKind kind;
	TcsdManager *manager;
	GDBusMethodInvocation *invocation; /* NULL for REFRESH */
	gboolean exclusive;                /* an owner operation: one at a time */
	gboolean has_turn;                 /* holds the manager's busy flag */
	gboolean waiting;                  /* authorised, counted in the manager's waiting */
	gboolean caller_gone;              /* the caller left the bus */
	/* inputs */
	TcsdSecret owner, srk, new_owner;
	GBytes *archive_secret; /* raw bytes for the archive KDF; wiped */
	gboolean store_owner_secret, create_storage_keys, replace, descendants, dry_run, flag;
	gboolean no_safety_copy; /* CreateStorageKey: replace the RK without a safety copy */
	guint safety_count;      /* CreateStorageKey: keys written to the safety copy */
	TcsUuid key;
	TcsdKeyCriteria criteria;
	int fd_in, fd_out;
	GBytes *input; /* Restore: the archive, read from fd_in on the main loop */
	/* outputs */
	GVariant *result;
	GError *error;
	GBytes *output; /* Backup: the archive, written to fd_out on the main loop */
	GPtrArray *registered, *unregistered; /* UUID strings */
	TcsdTpmState state;
	/* main loop: waiting for its turn, or archive I/O (tcsd-manager-archive.c) */
	guint vanish_watch; /* NameOwnerChanged of the queued caller */
	guint io_watch, io_timer, io_timeout_ms;
	int io_fd;	  /* fd_in/fd_out, or a non-blocking reopening of that pipe */
	gboolean io_sock; /* a socket: send/recv with MSG_DONTWAIT */
	GByteArray *io_buf;
	gsize io_done;
	TcsdOpFunc io_then;
};

void tcsd_op_free(TcsdOp *op);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TcsdOp, tcsd_op_free)

/* Worker thread: run op, fill its outputs and op->state. */
void tcsd_manager_run_op(TcsdDaemon *d, TcsdOp *op);

/* tcsd-manager-ops.c helpers shared with the archive code */
TcsClient *tcsd_manager_client(TcsdDaemon *d, GError **error);
gboolean tcsd_manager_set_tpm_error(GError **error, int rc, const char *what);
/* Set an org.tcs.Error; always FALSE, for "return tcsd_manager_fail(…)". */
gboolean tcsd_manager_fail(GError **error, TcsdManagerError code, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
gboolean tcsd_manager_owner_secret(TcsdDaemon *d, TcsClient *c, const TcsdSecret *given,
				   guint8 out[TCS_SECRET_SIZE], GError **error);
/* The SRK's usage secret the caller gave, else the well-known one. */
const guint8 *tcsd_manager_srk_secret(const TcsdOp *op);
void tcsd_manager_note_registered(TcsdOp *op, const TcsUuid *u);
void tcsd_manager_note_unregistered(TcsdOp *op, const TcsUuid *u);
/* The registered descendants of root (not root itself), parents before children. */
GArray *tcsd_manager_descendants(const TcsPs *ps, const TcsUuid *root);

/* tcsd-manager-archive.c */
void tcsd_manager_backup_run(TcsdDaemon *d, TcsClient *c, TcsdOp *op);
void tcsd_manager_restore_run(TcsdDaemon *d, TcsClient *c, TcsdOp *op);
/* Main thread: can fd carry an archive? Files, pipes and sockets; devices for reading. */
typedef enum {
	TCSD_FD_READ,
	TCSD_FD_WRITE,
	TCSD_FD_WRITE_FILE, /* a regular file only: written on the worker */
} TcsdFdUse;
gboolean tcsd_manager_check_fd(int fd, TcsdFdUse use, const char *what, GError **error);
/* Main thread, never blocking: read fd_in into op->input (at most TCS_ARCHIVE_MAX_SIZE) or
 * write op->output to fd_out within timeout_ms, then call then(op), op->error set on failure. */
void tcsd_manager_read_input(TcsdOp *op, guint timeout_ms, TcsdOpFunc then);
void tcsd_manager_write_output(TcsdOp *op, guint timeout_ms, TcsdOpFunc then);
/* Stop op's I/O without calling its continuation (tcsd is stopping). */
void tcsd_manager_io_stop(TcsdOp *op);
/* Before CreateStorageKey replaces the RK: archive it and its descendants to op->fd_out. */
gboolean tcsd_manager_rk_safety_copy(TcsdDaemon *d, TcsClient *c, TcsdOp *op, guint *count,
				     GError **error);

/* tcsd-polkit.c: is the caller of inv allowed action? root always is. A check
 * polkit does not answer within timeout_ms is cancelled and refused. */
void tcsd_polkit_check_async(GDBusConnection *bus, GDBusMethodInvocation *inv, const char *action,
			     guint timeout_ms, GAsyncReadyCallback cb, gpointer data);
gboolean tcsd_polkit_check_finish(GAsyncResult *res, GError **error);

/* tcsd-owner-secret.c: the stored owner secret, sealed to the SRK */
gboolean tcsd_owner_secret_exists(TcsdDaemon *d);
gboolean tcsd_owner_secret_load(TcsdDaemon *d, TcsClient *c, guint8 out[TCS_SECRET_SIZE],
				GError **error);
gboolean tcsd_owner_secret_store(TcsdDaemon *d, TcsClient *c, const guint8 secret[TCS_SECRET_SIZE],
				 GError **error);
gboolean tcsd_owner_secret_forget(TcsdDaemon *d, gboolean *existed, GError **error);
/* Before TakeOwnership: can a secret be stored at all? (an Io error saying why not) */
gboolean tcsd_owner_secret_check_storable(TcsdDaemon *d, GError **error);
/* Before disabling or deactivating: keep a stored secret usable without unsealing. */
gboolean tcsd_owner_secret_keep_unsealed(TcsdDaemon *d, TcsClient *c, GError **error);
/* Once the TPM unseals again: drop the unsealed copy (sealing the secret first if need be). */
void tcsd_owner_secret_tidy(TcsdDaemon *d, TcsClient *c);

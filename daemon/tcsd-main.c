/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcsd: the TSS core services daemon. Start-up, privileges, and the main loop. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "tcs-schema.h"
#include "tcs-types.h"
#include "tcsd-context.h"
#include "tcsd-daemon.h"
#include "tcsd-keys.h"
#include "tcsd-manager.h"
#include "tcsd-ps.h"
#include "tcsd-server.h"
#include "tcsd-sessions.h"
#include "tcsd-tpm.h"
#include "tcsd-tpm2-binding.h"

void tcsd_evlog_free(TcsdEventLog *log);

static gboolean opt_foreground;
static char *opt_config;
static gboolean opt_version;
static gboolean opt_emulator;

static const GOptionEntry options[] = {
	{"foreground", 'f', 0, G_OPTION_ARG_NONE, &opt_foreground,
	 "Stay in the foreground and log to stderr", NULL},
	{"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config, "Configuration file", "FILE"},
	{"emulator", 'e', 0, G_OPTION_ARG_NONE, &opt_emulator,
	 "Accepted for TrouSerS compatibility; use tpm_device instead", NULL},
	{"version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL},
	{NULL},
};

/* Make a directory tcsd writes to, owned by the service user when we create it as root. */
static gboolean
ensure_dir(const char *path, uid_t uid, gid_t gid, GError **error)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return TRUE;
	if (g_mkdir_with_parents(path, 0750) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s",
			    path, g_strerror(errno));
		return FALSE;
	}
	if (getuid() == 0 && chown(path, uid, gid) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot chown %s: %s",
			    path, g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

/*
 * Only root and the service user may be able to write where we chown: anyone
 * else could swap names under us between our checks.
 */
static gboolean
check_ps_dir(const char *path, const struct passwd *pw, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	struct stat st;

	if (stat(dir, &st) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot stat %s: %s",
			    dir, g_strerror(errno));
		return FALSE;
	}
	if ((st.st_uid != 0 && st.st_uid != pw->pw_uid) || (st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0 && st.st_gid != pw->pw_gid)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "refusing to hand %s to user %s: its directory %s (owner uid %u, "
			    "mode %04o) is writable by other users; make it owned by root or %s "
			    "and not group/world-writable",
			    path, pw->pw_name, dir, (unsigned)st.st_uid,
			    (unsigned)(st.st_mode & 07777), pw->pw_name);
		return FALSE;
	}
	return TRUE;
}

/*
 * TrouSerS creates system.data as root:root 0600 although it runs as tss;
 * hand an existing store to the service user so its keys keep working. Only a
 * root-owned regular file with a single link is handed over: a hard link the
 * service user planted to another root file (CVE-2020-24330) is refused.
 */
static gboolean
adopt_ps_file(const char *path, const struct passwd *pw, GError **error)
{
	struct stat st;
	const char *why = NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return TRUE; /* created later, by the service user */
	if (fd < 0 || fstat(fd, &st) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot open %s: %s",
			    path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return FALSE;
	}
	if (!S_ISREG(st.st_mode))
		why = "it is not a regular file";
	else if (st.st_uid == pw->pw_uid)
		why = NULL; /* already ours: nothing to change */
	else if (st.st_uid != 0)
		why = "it belongs to neither root nor the service user";
	else if (st.st_nlink != 1)
		why = "it has more than one hard link";
	if (why != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "refusing to use system_ps_file %s (owner uid %u, %u links): %s", path,
			    (unsigned)st.st_uid, (unsigned)st.st_nlink, why);
		close(fd);
		return FALSE;
	}
	if (st.st_uid != pw->pw_uid) {
		if (!check_ps_dir(path, pw, error)) {
			close(fd);
			return FALSE;
		}
		if (fchown(fd, pw->pw_uid, pw->pw_gid) < 0 || fchmod(fd, 0600) < 0) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
				    "cannot hand %s to user %s: %s", path, pw->pw_name,
				    g_strerror(errno));
			close(fd);
			return FALSE;
		}
		g_message("%s now belongs to user %s", path, pw->pw_name);
	}
	close(fd);
	return TRUE;
}

static gboolean
drop_privileges(const struct passwd *pw, GError **error)
{
	/* every result is checked: a half-dropped daemon must not run */
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
	    setuid(0) == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "cannot drop privileges to user %s: %s", pw->pw_name,
			    g_strerror(errno));
		return FALSE;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* test builds only: LeakSanitizer cannot inspect a non-dumpable process */
	prctl(PR_SET_DUMPABLE, 1);
#endif
	return TRUE;
}

/* Ask the TPM what it is; refuse anything but a TPM 1.2. */
static gboolean
probe_tpm(TcsdDaemon *d, GError **error)
{
	const guint8 *data;
	guint32 len, rc;

	rc = tcsd_tpm_get_capability(d->tpm, TPM_CAP_VERSION_VAL, 0, &data, &len);
	if (rc == 0x1e || rc == 0x0100 || rc == 0x101) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "the TPM answered 0x%x to a TPM 1.2 command: it is probably a TPM 2.0, "
			    "which tcsd does not serve",
			    rc);
		return FALSE;
	}
	if (rc || len < 6) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "TPM_GetCapability(VERSION_VAL) failed: 0x%x", rc);
		return FALSE;
	}
	/* TPM_CAP_VERSION_INFO: tag(2) then TPM_VERSION major, minor, … */
	if (data[2] != 1 || data[3] != 2) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "unsupported TPM version %u.%u", data[2], data[3]);
		return FALSE;
	}
	d->tpm_version_minor = data[3];
	return TRUE;
}

/* Without -f and outside systemd: detach like TrouSerS and log to syslog. */
static GLogWriterOutput
syslog_writer(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
	int prio = LOG_INFO;
	const char *msg = NULL;

	if (!g_log_writer_default_would_drop(level, "tcsd") || (level & G_LOG_LEVEL_DEBUG) == 0) {
		for (gsize i = 0; i < n; i++)
			if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
				msg = fields[i].value;
		if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
			prio = LOG_ERR;
		else if (level & G_LOG_LEVEL_WARNING)
			prio = LOG_WARNING;
		else if (level & G_LOG_LEVEL_MESSAGE)
			prio = LOG_NOTICE;
		else if (level & G_LOG_LEVEL_DEBUG)
			prio = LOG_DEBUG;
		if (msg)
			syslog(prio, "%s", msg);
	}
	return G_LOG_WRITER_HANDLED;
}

static gboolean
detach(GError **error)
{
	if (daemon(0, 0) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot detach: %s",
			    g_strerror(errno));
		return FALSE;
	}
	openlog("tcsd", LOG_PID, LOG_DAEMON);
	g_log_set_writer_func(syslog_writer, NULL, NULL);
	return TRUE;
}

/* One descriptor per client: take what the hard limit allows. */
static void
raise_fd_limit(guint max_connections)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max_connections + 64)
		g_warning("max_connections is %u but only %lu file descriptors are allowed",
			  max_connections, (unsigned long)rl.rlim_cur);
}

static gboolean
on_signal(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_CONTINUE;
}

static int
run(int argc, char **argv)
{
	g_autoptr(GOptionContext) octx = g_option_context_new("- TSS core services daemon");
	g_autoptr(GError) error = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	g_autoptr(TcsdConfig) config = tcsd_config_new_defaults();
	g_autofree char *ps_dir = NULL;
	TcsdDaemon d = {0};
	TcsdServer *server;
	TcsdManager *manager = NULL;
	TcsdTpmDevice *dev = NULL;
	struct passwd *pw = NULL;
	gboolean is_char_device;
	int r;

	g_option_context_add_main_entries(octx, options, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		g_printerr("tcsd: %s\n", error->message);
		return 2;
	}
	if (opt_version) {
		g_print("tcsd %s\n", TCS_VERSION);
		return 0;
	}
	if (!tcsd_config_load(config, opt_config, &error)) {
		g_printerr("tcsd: %s\n", error->message);
		return 1;
	}
	d.config = config;
	raise_fd_limit(config->max_connections);
	d.main_context = g_main_context_default();
	d.ps_path = config->system_ps_file;
	ps_dir = g_path_get_dirname(d.ps_path);

	if (getuid() == 0) {
		pw = getpwnam(TCS_TSS_USER);
		if (!pw) {
			g_printerr("tcsd: user %s does not exist\n", TCS_TSS_USER);
			return 1;
		}
	}
	if (!ensure_dir(config->state_dir, pw ? pw->pw_uid : getuid(), pw ? pw->pw_gid : getgid(),
			&error) ||
	    !ensure_dir(ps_dir, pw ? pw->pw_uid : getuid(), pw ? pw->pw_gid : getgid(), &error)) {
		g_printerr("tcsd: %s\n", error->message);
		return 1;
	}
	server = tcsd_server_new(&d, &error);
	if (!server) {
		g_printerr("tcsd: %s\n", error->message);
		return 1;
	}
	/*
	 * Under systemd (notify or socket activation) stay in the foreground. Detach
	 * before the embedded swtpm starts: it dies with the thread that spawned it.
	 */
	if (!opt_foreground && !g_getenv("NOTIFY_SOCKET") && !g_getenv("LISTEN_FDS") &&
	    !detach(&error))
		goto fail;
	/* a kernel TPM device is opened with our privileges, a simulator after dropping them */
	is_char_device = config->tpm_device && config->tpm_device[0] == '/';
	if (is_char_device) {
		dev = tcsd_tpm_device_open(config->tpm_device, config->state_dir, &error);
		if (!dev)
			goto fail;
	}
	if (pw && (!adopt_ps_file(d.ps_path, pw, &error) || !drop_privileges(pw, &error)))
		goto fail;
	/* an unusable directory would fail much later, e.g. after TakeOwnership: say it now */
	if (!tcsd_config_check_dir_writable(config->state_dir, "state_dir", "state_dir", &error) ||
	    !tcsd_config_check_dir_writable(ps_dir, "the directory of system_ps_file",
					    "system_ps_file", &error))
		goto fail;
	if (!dev) {
		tcsd_tpm2_binding_configure(config->tpm2_binding, config->tpm2_pcrs);
		dev = tcsd_tpm_device_open(config->tpm_device, config->state_dir, &error);
		if (!dev)
			goto fail;
		if (tcsd_tpm_device_get_backend(dev) == TCSD_TPM_BACKEND_SWTPM &&
		    !tcsd_tpm_device_power_on(dev, &error))
			goto fail;
	}
	g_message("TPM: %s", tcsd_tpm_device_get_description(dev));
	d.tpm = tcsd_tpm_new(g_steal_pointer(&dev));
	if (!probe_tpm(&d, &error))
		goto fail;
	r = tcs_ps_load_file(d.ps_path, &d.ps);
	if (r < 0) {
		/* never start over a store we cannot read: that would lose every key */
		g_set_error(&error, G_IO_ERROR, g_io_error_from_errno(-r),
			    "cannot load system persistent storage %s: %s", d.ps_path,
			    g_strerror(-r));
		goto fail;
	}
	if (!tcsd_ps_owners_init(&d, &error))
		goto fail;
	tcsd_contexts_init(&d);
	d.keys = tcsd_keys_new(d.tpm);
	d.sessions = tcsd_sessions_new(d.tpm, d.keys);
	d.uuid_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	loop = g_main_loop_new(d.main_context, FALSE);
	g_unix_signal_add(SIGTERM, on_signal, loop);
	g_unix_signal_add(SIGINT, on_signal, loop);
	/* an archive pipe whose reader left must fail the write (EPIPE), not kill tcsd */
	signal(SIGPIPE, SIG_IGN);
	tcsd_server_start(server);
	manager = tcsd_manager_new(&d, server, &error);
	if (!manager && error)
		goto fail;
	if (tcsd_server_is_activated(server))
		g_message("tcsd %s up: TPM 1.2, %zu registered keys, sockets from systemd",
			  TCS_VERSION, d.ps.n_keys);
	else
		g_message("tcsd %s up: TPM 1.2, %zu registered keys, port %u", TCS_VERSION,
			  d.ps.n_keys, config->port);
	sd_notify(0, "READY=1\nSTATUS=Serving TSS clients");
	g_main_loop_run(loop);
	sd_notify(0, "STOPPING=1");
	g_message("tcsd stopping");

	tcsd_manager_shutdown(manager);
	tcsd_server_free(server);
	tcsd_manager_free(manager);
	g_hash_table_unref(d.uuid_keys);
	tcsd_keys_free(d.keys);
	tcsd_contexts_fini(&d);
	tcsd_sessions_free(d.sessions);
	tcsd_evlog_free(d.evlog);
	tcs_ps_clear(&d.ps);
	tcsd_ps_owners_free(&d);
	tcsd_tpm_free(d.tpm);
	return 0;

fail:
	g_printerr("tcsd: %s\n", error->message);
	tcsd_manager_shutdown(manager);
	tcsd_server_free(server);
	tcsd_manager_free(manager);
	tcsd_tpm_free(d.tpm);
	if (dev)
		tcsd_tpm_device_free(dev);
	tcs_ps_clear(&d.ps);
	tcsd_ps_owners_free(&d);
	return 1;
}

int
main(int argc, char **argv)
{
	return run(argc, argv);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-swtpm.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tcs-buf.h"
#include "tcsd-tpm-device.h"

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TcsWbuf, tcs_wbuf_free)

#define TCSD_SWTPM_SETUP_TIMEOUT_MS (60 * 1000)
#define TCSD_SWTPM_START_TIMEOUT_MS (10 * 1000)
#define TCSD_SWTPM_STOP_TIMEOUT_MS (5 * 1000)

/* names inside state_dir; swtpm runs there, so its arguments never carry state_dir itself */
#define SWTPM_TPM_DIR "tpm"
#define SWTPM_DATA_SOCKET "swtpm.sock"
#define SWTPM_CTRL_SOCKET "swtpm.ctrl"
#define SWTPM_LOG "swtpm.log"
#define SWTPM_SETUP_LOG "swtpm_setup.log"

struct _TcsdSwtpm {
	char *state_dir;
	guint8 key[TCSD_SWTPM_KEY_LEN]; /* state encryption key (TPM 2.0 binding); wiped */
	gboolean has_key;
	char *tpm_dir;
	int dir_fd; /* state_dir, for socket paths too long for sockaddr_un */
	GSubprocess *proc;
	GPid pid;
	TcsdTpmEndpoint data;
	TcsdTpmEndpoint ctrl;
};

gboolean
tcsd_swtpm_ctrl_command(const TcsdTpmEndpoint *ctrl, guint32 cmd, const guint8 *payload,
			gsize payload_len, guint timeout_ms, guint32 *result, GError **error)
{
	gint64 deadline = tcsd_tpm_deadline(timeout_ms);
	g_auto(TcsWbuf) req = {0};
	guint8 rsp[4] = {0};
	gboolean ok;
	TcsRbuf r;
	int fd;

	tcs_wbuf_init(&req, 4 + payload_len);
	tcs_wbuf_u32(&req, cmd);
	tcs_wbuf_bytes(&req, payload, payload_len);
	fd = tcsd_tpm_endpoint_connect(ctrl, deadline, error);
	if (fd < 0)
		return FALSE;
	/* every response starts with the 4-byte result; the commands used here send nothing else */
	ok = tcsd_tpm_fd_write_all(fd, TRUE, req.data, req.len, deadline, error) &&
	     tcsd_tpm_fd_read_exact(fd, rsp, sizeof(rsp), deadline, error);
	close(fd);
	if (!ok) {
		g_prefix_error(error, "swtpm control command 0x%x: ", cmd);
		return FALSE;
	}
	tcs_rbuf_init(&r, rsp, sizeof(rsp));
	*result = tcs_rbuf_u32(&r);
	return TRUE;
}

/* GSubprocess reaps its child from GLib's worker thread; the identifier goes NULL then */
static gboolean
wait_exit(GSubprocess *proc, guint timeout_ms)
{
	gint64 deadline = tcsd_tpm_deadline(timeout_ms);
	gulong delay_us = 2000;

	while (g_subprocess_get_identifier(proc) != NULL) {
		if (g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(delay_us);
		delay_us = MIN(delay_us * 2, 50000);
	}
	return TRUE;
}

static char *
log_tail(const char *state_dir, const char *name)
{
	g_autofree char *path = g_build_filename(state_dir, name, NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("no log");
	lines = g_strsplit(g_strstrip(text), "\n", -1);
	if (lines[0] == NULL)
		return g_strdup("empty log");
	return g_strdup(lines[g_strv_length(lines) - 1]);
}

int
tcsd_swtpm_secret_pipe(const void *data, gsize len, GError **error)
{
	int p[2];

	/* the secret fits in the pipe buffer: written whole before the child runs */
	if (len > 4096 || pipe2(p, O_CLOEXEC) < 0) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
			    "cannot create a pipe: %s", g_strerror(errno));
		return -1;
	}
	if (write(p[1], data, len) != (ssize_t)len) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
			    "cannot write to a pipe: %s", g_strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	return p[0];
}

/* hand the state key to swtpm_setup (hex, --keyfile-fd) or swtpm (binary, --key fd=) as fd 3 */
static gboolean
pass_key(TcsdSwtpm *s, GSubprocessLauncher *launcher, gboolean hex, GError **error)
{
	char text[2 * TCSD_SWTPM_KEY_LEN + 2];
	int fd;

	if (hex) {
		for (guint i = 0; i < TCSD_SWTPM_KEY_LEN; i++)
			g_snprintf(text + 2 * i, 3, "%02x", s->key[i]);
		text[2 * TCSD_SWTPM_KEY_LEN] = '\n';
		fd = tcsd_swtpm_secret_pipe(text, 2 * TCSD_SWTPM_KEY_LEN + 1, error);
		explicit_bzero(text, sizeof(text));
	} else {
		fd = tcsd_swtpm_secret_pipe(s->key, TCSD_SWTPM_KEY_LEN, error);
	}
	if (fd < 0)
		return FALSE;
	g_subprocess_launcher_take_fd(launcher, fd, 3);
	return TRUE;
}

static gboolean
swtpm_manufacture(TcsdSwtpm *s, GError **error)
{
	g_autofree char *permall = g_build_filename(s->tpm_dir, "tpm-00.permall", NULL);
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	struct stat st;

	if (stat(permall, &st) == 0 && st.st_size > 0)
		return TRUE;
	g_message("manufacturing a TPM 1.2 with an endorsement key in %s", s->tpm_dir);
	/* swtpm_setup logs to its --logfile; stdout only says where its swtpm listens */
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_subprocess_launcher_set_cwd(launcher, s->state_dir);
	/* TPM 1.2 is swtpm_setup's default; no --overwrite: never replace an existing TPM */
	if (s->has_key) {
		/* bound: the state is encrypted from its first byte on disk */
		if (!pass_key(s, launcher, TRUE, error))
			return FALSE;
		proc = g_subprocess_launcher_spawn(launcher, error, "swtpm_setup", "--tpm-state",
						   SWTPM_TPM_DIR, "--createek", "--logfile",
						   SWTPM_SETUP_LOG, "--cipher", "aes-256-cbc",
						   "--keyfile-fd", "3", NULL);
	} else {
		proc = g_subprocess_launcher_spawn(launcher, error, "swtpm_setup", "--tpm-state",
						   SWTPM_TPM_DIR, "--createek", "--logfile",
						   SWTPM_SETUP_LOG, NULL);
	}
	if (proc == NULL) {
		g_prefix_error(error, "cannot run swtpm_setup (is swtpm-tools installed?): ");
		return FALSE;
	}
	if (!wait_exit(proc, TCSD_SWTPM_SETUP_TIMEOUT_MS)) {
		g_subprocess_force_exit(proc);
		g_subprocess_wait(proc, NULL, NULL);
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_TIMEOUT,
			    "swtpm_setup did not finish within %u s",
			    TCSD_SWTPM_SETUP_TIMEOUT_MS / 1000);
		return FALSE;
	}
	if (!g_subprocess_get_successful(proc) || stat(permall, &st) != 0) {
		g_autofree char *tail = log_tail(s->state_dir, SWTPM_SETUP_LOG);

		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
			    "swtpm_setup failed (%s/%s: %s)", s->state_dir, SWTPM_SETUP_LOG, tail);
		return FALSE;
	}
	return TRUE;
}

/*
 * swtpm runs in state_dir and binds relative names there, whatever its length.
 * When the absolute paths do not fit in sun_path, tcsd reaches them through
 * its own descriptor of the directory (/proc/self/fd/N/NAME), which keeps the
 * sockets in the private state_dir. Never loopback TCP: anyone on the host
 * could connect to it and send control commands such as CMD_SHUTDOWN.
 */
static gboolean
swtpm_choose_endpoints(TcsdSwtpm *s, GError **error)
{
	struct sockaddr_un sa;
	g_autofree char *data_path = g_build_filename(s->state_dir, SWTPM_DATA_SOCKET, NULL);
	g_autofree char *ctrl_path = g_build_filename(s->state_dir, SWTPM_CTRL_SOCKET, NULL);

	tcsd_tpm_endpoint_clear(&s->data);
	tcsd_tpm_endpoint_clear(&s->ctrl);
	if (strlen(data_path) >= sizeof(sa.sun_path) || strlen(ctrl_path) >= sizeof(sa.sun_path)) {
		s->dir_fd = open(s->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (s->dir_fd < 0) {
			g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
				    "cannot open %s: %s", s->state_dir, g_strerror(errno));
			return FALSE;
		}
		g_free(data_path);
		g_free(ctrl_path);
		data_path = g_strdup_printf("/proc/self/fd/%d/" SWTPM_DATA_SOCKET, s->dir_fd);
		ctrl_path = g_strdup_printf("/proc/self/fd/%d/" SWTPM_CTRL_SOCKET, s->dir_fd);
		g_debug("%s is too long for unix socket paths, reaching swtpm through %s",
			s->state_dir, data_path);
	}
	s->data.path = g_steal_pointer(&data_path);
	s->ctrl.path = g_steal_pointer(&ctrl_path);
	return TRUE;
}

/*
 * An earlier tcsd that died without its death signal reaching swtpm leaves
 * swtpm holding the state lock; shut it down through its control socket.
 */
static void
swtpm_stop_stale(TcsdSwtpm *s)
{
	g_autoptr(GError) error = NULL;
	guint32 result = 0;

	if (g_file_test(s->ctrl.path, G_FILE_TEST_EXISTS) &&
	    tcsd_swtpm_ctrl_command(&s->ctrl, TCSD_SWTPM_CMD_SHUTDOWN, NULL, 0, 1000, &result,
				    &error)) {
		gint64 deadline = tcsd_tpm_deadline(TCSD_SWTPM_STOP_TIMEOUT_MS);

		g_warning("stopped a stale swtpm on %s", s->ctrl.path);
		/* it removes its sockets on the way out */
		while (g_file_test(s->ctrl.path, G_FILE_TEST_EXISTS) &&
		       g_get_monotonic_time() < deadline)
			g_usleep(10000);
	}
	unlink(s->data.path);
	unlink(s->ctrl.path);
}

static void
child_setup(gpointer user_data)
{
	pid_t parent = GPOINTER_TO_INT(user_data);

	/* die with tcsd even if it crashes; follows the spawning thread, see the header */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		raise(SIGTERM);
}

static gboolean
swtpm_spawn(TcsdSwtpm *s, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	const char *id;

	g_ptr_array_add(argv, g_strdup("swtpm"));
	g_ptr_array_add(argv, g_strdup("socket"));
	g_ptr_array_add(argv, g_strdup("--tpmstate"));
	g_ptr_array_add(argv, g_strdup("dir=" SWTPM_TPM_DIR ",mode=0600"));
	/* relative to state_dir, swtpm's working directory: no length limit, not reachable
	 * by other users (state_dir is private to the service user) */
	g_ptr_array_add(argv, g_strdup("--server"));
	g_ptr_array_add(argv, g_strdup("type=unixio,path=" SWTPM_DATA_SOCKET ",mode=0600"));
	g_ptr_array_add(argv, g_strdup("--ctrl"));
	g_ptr_array_add(argv, g_strdup("type=unixio,path=" SWTPM_CTRL_SOCKET ",mode=0600"));
	/* no startup flag: tcsd_tpm_device_power_on() plays the BIOS */
	g_ptr_array_add(argv, g_strdup("--flags"));
	g_ptr_array_add(argv, g_strdup("not-need-init"));
	g_ptr_array_add(argv, g_strdup("--log"));
	g_ptr_array_add(argv, g_strdup("file=" SWTPM_LOG ",level=1,truncate"));
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	if (s->has_key) {
		/* the key through an inherited pipe: never on disk, in argv or the environment */
		if (!pass_key(s, launcher, FALSE, error))
			return FALSE;
		g_ptr_array_add(argv, g_strdup("--key"));
		g_ptr_array_add(argv, g_strdup("fd=3,mode=aes-256-cbc,format=binary"));
	}
	g_ptr_array_add(argv, NULL);

	g_subprocess_launcher_set_cwd(launcher, s->state_dir);
	g_subprocess_launcher_set_child_setup(launcher, child_setup, GINT_TO_POINTER(getpid()),
					      NULL);
	s->proc = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, error);
	if (s->proc == NULL) {
		g_prefix_error(error, "cannot start swtpm (is swtpm installed?): ");
		return FALSE;
	}
	id = g_subprocess_get_identifier(s->proc);
	s->pid = id ? (GPid)g_ascii_strtoll(id, NULL, 10) : 0;
	return TRUE;
}

static gboolean
swtpm_wait_ready(TcsdSwtpm *s, GError **error)
{
	gint64 deadline = tcsd_tpm_deadline(TCSD_SWTPM_START_TIMEOUT_MS);
	gulong delay_us = 2000;

	for (;;) {
		g_autoptr(GError) local_error = NULL;
		int fd;

		if (g_subprocess_get_identifier(s->proc) == NULL) {
			g_autofree char *tail = log_tail(s->state_dir, SWTPM_LOG);

			g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
				    "swtpm exited during start-up (%s/%s: %s)", s->state_dir,
				    SWTPM_LOG, tail);
			return FALSE;
		}
		fd = tcsd_tpm_endpoint_connect(&s->data, tcsd_tpm_deadline(1000), &local_error);
		if (fd >= 0) {
			close(fd);
			return TRUE;
		}
		if (g_get_monotonic_time() >= deadline) {
			g_propagate_prefixed_error(error, g_steal_pointer(&local_error),
						   "swtpm did not start listening: ");
			return FALSE;
		}
		g_usleep(delay_us);
		delay_us = MIN(delay_us * 2, 100000);
	}
}

static void
swtpm_stop(TcsdSwtpm *s)
{
	g_autoptr(GError) error = NULL;
	guint32 result = 0;

	if (g_subprocess_get_identifier(s->proc) == NULL) {
		g_warning("swtpm (pid %d) had already exited", s->pid);
		return;
	}
	/* CMD_SHUTDOWN: swtpm writes its volatile state and exits */
	if (!tcsd_swtpm_ctrl_command(&s->ctrl, TCSD_SWTPM_CMD_SHUTDOWN, NULL, 0,
				     TCSD_SWTPM_STOP_TIMEOUT_MS, &result, &error))
		g_warning("cannot shut swtpm down cleanly: %s", error->message);
	else if (result != 0)
		g_warning("swtpm shutdown returned 0x%x", result);
	if (wait_exit(s->proc, TCSD_SWTPM_STOP_TIMEOUT_MS))
		return;
	g_warning("swtpm (pid %d) did not exit, terminating it", s->pid);
	g_subprocess_send_signal(s->proc, SIGTERM);
	if (wait_exit(s->proc, TCSD_SWTPM_STOP_TIMEOUT_MS))
		return;
	g_subprocess_force_exit(s->proc);
	g_subprocess_wait(s->proc, NULL, NULL);
}

TcsdSwtpm *
tcsd_swtpm_start(const char *state_dir, GError **error)
{
	return tcsd_swtpm_start_keyed(state_dir, NULL, error);
}

TcsdSwtpm *
tcsd_swtpm_start_keyed(const char *state_dir, const guint8 *key, GError **error)
{
	g_autoptr(TcsdSwtpm) s = g_new0(TcsdSwtpm, 1);

	s->dir_fd = -1;
	if (key != NULL) {
		memcpy(s->key, key, TCSD_SWTPM_KEY_LEN);
		s->has_key = TRUE;
	}
	s->state_dir = g_strdup(state_dir);
	s->tpm_dir = g_build_filename(state_dir, SWTPM_TPM_DIR, NULL);
	if (g_mkdir_with_parents(s->tpm_dir, 0700) < 0) {
		g_set_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED,
			    "cannot create %s: %s", s->tpm_dir, g_strerror(errno));
		return NULL;
	}
	if (!swtpm_manufacture(s, error))
		return NULL;
	if (!swtpm_choose_endpoints(s, error))
		return NULL;
	swtpm_stop_stale(s);
	if (!swtpm_spawn(s, error) || !swtpm_wait_ready(s, error))
		return NULL;
	/* swtpm has read it from the pipe */
	explicit_bzero(s->key, sizeof(s->key));
	g_debug("swtpm (pid %d) serves %s", s->pid, s->tpm_dir);
	return g_steal_pointer(&s);
}

const TcsdTpmEndpoint *
tcsd_swtpm_get_data_endpoint(TcsdSwtpm *s)
{
	return &s->data;
}

const TcsdTpmEndpoint *
tcsd_swtpm_get_ctrl_endpoint(TcsdSwtpm *s)
{
	return &s->ctrl;
}

const char *
tcsd_swtpm_get_tpm_dir(TcsdSwtpm *s)
{
	return s->tpm_dir;
}

GPid
tcsd_swtpm_get_pid(TcsdSwtpm *s)
{
	return s->proc ? s->pid : 0;
}

void
tcsd_swtpm_free(TcsdSwtpm *s)
{
	if (s == NULL)
		return;
	if (s->proc != NULL) {
		swtpm_stop(s);
		g_clear_object(&s->proc);
	}
	tcsd_tpm_endpoint_clear(&s->data);
	tcsd_tpm_endpoint_clear(&s->ctrl);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	g_free(s->state_dir);
	g_free(s->tpm_dir);
	explicit_bzero(s->key, sizeof(s->key));
	g_free(s);
}

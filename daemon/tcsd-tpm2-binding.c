/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tcsd-tpm2-binding.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcs-tpm2-seal.h"
#include "tcsd-tpm-device.h"
#include "tcsd-tpm.h"

G_STATIC_ASSERT(TCS_TPM2_STATE_KEY_LEN == TCSD_SWTPM_KEY_LEN);

/* names inside state_dir (tcsd-swtpm.c keeps the TPM in "tpm") */
#define TPM_DIR "tpm"
#define CONVERT_DIR "tpm2-convert"
#define NEW_TPM_DIR "tpm.bound-new"
#define PERMALL "tpm-00.permall"
#define SWTPM_BLOB_FLAG_ENCRYPTED 0x1u /* swtpm's state file header: flags at byte 4 */
#define CONVERT_TIMEOUT_MS (10 * 1000)

static struct {
	GMutex lock;
	gboolean configured;
	char *tcti; /* NULL = none */
	guint32 pcrs;
	TcsdTpm2BindingState state;
	guint32 active_pcrs;
} binding;

void
tcsd_tpm2_binding_configure(const char *tcti, guint32 pcrs)
{
	g_mutex_lock(&binding.lock);
	g_clear_pointer(&binding.tcti, g_free);
	if (tcti == NULL) {
		/* the default: the kernel's resource manager of a TPM 2.0, when there is one */
		if (g_file_test(TCSD_TPM2_DEFAULT_DEVICE, G_FILE_TEST_EXISTS))
			binding.tcti = g_strdup("device:" TCSD_TPM2_DEFAULT_DEVICE);
	} else if (g_ascii_strcasecmp(tcti, "none") != 0) {
		binding.tcti = g_strdup(tcti);
	}
	binding.pcrs = pcrs;
	binding.configured = TRUE;
	g_mutex_unlock(&binding.lock);
}

gboolean
tcsd_tpm2_binding_tpm0_is_tpm12(void)
{
	g_autofree char *major = NULL;

	if (!g_file_test(TCSD_TPM_DEFAULT_CHAR_DEVICE, G_FILE_TEST_EXISTS))
		return FALSE;
	if (g_file_get_contents("/sys/class/tpm/tpm0/tpm_version_major", &major, NULL, NULL))
		return g_strcmp0(g_strstrip(major), "1") == 0;
	/* older kernels: only a TPM 2.0 gets the resource manager device */
	return !g_file_test(TCSD_TPM2_DEFAULT_DEVICE, G_FILE_TEST_EXISTS);
}

const char *
tcsd_tpm2_binding_get_tcti(void)
{
	return binding.tcti;
}

static void
set_state(TcsdTpm2BindingState st, guint32 pcrs)
{
	g_mutex_lock(&binding.lock);
	binding.state = st;
	binding.active_pcrs = pcrs;
	g_mutex_unlock(&binding.lock);
}

TcsdTpm2BindingState
tcsd_tpm2_binding_get_state(void)
{
	TcsdTpm2BindingState st;

	g_mutex_lock(&binding.lock);
	st = binding.state;
	g_mutex_unlock(&binding.lock);
	return st;
}

const char *
tcsd_tpm2_binding_state_name(TcsdTpm2BindingState st)
{
	switch (st) {
	case TCSD_TPM2_BINDING_BOUND:
		return "tpm2";
	case TCSD_TPM2_BINDING_PENDING:
		return "pending";
	case TCSD_TPM2_BINDING_NONE:
		break;
	}
	return "none";
}

guint32
tcsd_tpm2_binding_get_pcrs(void)
{
	guint32 pcrs;

	g_mutex_lock(&binding.lock);
	pcrs = binding.state == TCSD_TPM2_BINDING_BOUND ? binding.active_pcrs : 0;
	g_mutex_unlock(&binding.lock);
	return pcrs;
}

char *
tcsd_tpm2_binding_describe(void)
{
	char pcrs[96];
	char *text;

	g_mutex_lock(&binding.lock);
	switch (binding.state) {
	case TCSD_TPM2_BINDING_BOUND:
		text = g_strdup_printf("tpm2 (%s, PCRs %s)", binding.tcti ? binding.tcti : "?",
				       tcs_tpm2_pcr_list_format(binding.active_pcrs, pcrs,
								sizeof(pcrs)));
		break;
	case TCSD_TPM2_BINDING_PENDING:
		text = g_strdup_printf("pending (unbound state; tpmctl bind converts it to %s)",
				       binding.tcti);
		break;
	default:
		text = g_strdup("none");
	}
	g_mutex_unlock(&binding.lock);
	return text;
}

static char *
state_path(const char *state_dir, const char *name)
{
	return g_build_filename(state_dir, name, NULL);
}

static gboolean
fail(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
fail(GError **error, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_FAILED, msg);
	g_free(msg);
	return FALSE;
}

/* write the sealed blob next to the state, atomically (it is public, but only tcsd needs it) */
static gboolean
write_sealed(const char *state_dir, const guint8 *blob, gsize len, GError **error)
{
	g_autofree char *path = state_path(state_dir, TCSD_TPM2_SEALED_FILE);
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	gboolean ok;

	if (fd < 0)
		return fail(error, "cannot create %s: %s", tmp, g_strerror(errno));
	ok = write(fd, blob, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return fail(error, "cannot write %s: %s", path, g_strerror(e));
	}
	return TRUE;
}

static gboolean
unseal_key(const char *state_dir, const char *sealed_path, guint8 *key, guint32 *pcrs,
	   GError **error)
{
	g_autofree guint8 *blob = NULL;
	g_autoptr(GError) local = NULL;
	TcsTpm2Error err;
	TcsTpm2Status st;
	gsize len = 0;
	gint64 t0;

	if (!g_file_get_contents(sealed_path, (char **)&blob, &len, &local))
		return fail(error, "cannot read the sealed state key: %s", local->message);
	if (binding.tcti == NULL)
		return fail(error,
			    "the embedded TPM's state in %s is bound to a TPM 2.0 (%s) but "
			    "tpm2_binding = none: set tpm2_binding to the TCTI of that TPM",
			    state_dir, TCSD_TPM2_SEALED_FILE);
	t0 = g_get_monotonic_time();
	st = tcs_tpm2_unseal(binding.tcti, blob, len, key, &err);
	g_debug("unsealing the state key took %" G_GINT64_FORMAT " ms",
		(g_get_monotonic_time() - t0) / 1000);
	if (st != TCS_TPM2_OK)
		return fail(error, "cannot unlock the embedded TPM's state in %s: %s", state_dir,
			    err.message);
	if (!tcs_tpm2_blob_pcr_mask(blob, len, pcrs))
		*pcrs = 0;
	return TRUE;
}

static gboolean remove_tree(const char *path);
static gboolean file_is_encrypted(const char *path);

/*
 * Finish or undo a conversion that tcsd did not live to complete
 * (tcsd_tpm2_binding_convert: the sealed key is written first, then
 * NEW_TPM_DIR replaces TPM_DIR, then CONVERT_DIR with the plaintext goes).
 */
static gboolean
recover_conversion(const char *state_dir, GError **error)
{
	g_autofree char *sealed = state_path(state_dir, TCSD_TPM2_SEALED_FILE);
	g_autofree char *tpm = state_path(state_dir, TPM_DIR);
	g_autofree char *work = state_path(state_dir, CONVERT_DIR);
	g_autofree char *new_tpm = state_path(state_dir, NEW_TPM_DIR);
	g_autofree char *permall = g_build_filename(tpm, PERMALL, NULL);
	g_autofree char *new_permall = g_build_filename(new_tpm, PERMALL, NULL);
	g_autofree char *old_tpm = g_build_filename(work, "old-tpm", NULL);

	if (!g_file_test(sealed, G_FILE_TEST_EXISTS)) {
		/* interrupted before the switch: the unbound state is intact */
		if (g_file_test(new_tpm, G_FILE_TEST_EXISTS) ||
		    g_file_test(work, G_FILE_TEST_EXISTS))
			g_warning("removing the remains of an interrupted conversion in %s",
				  state_dir);
		remove_tree(new_tpm);
		remove_tree(work);
		return TRUE;
	}
	if (g_file_test(new_tpm, G_FILE_TEST_EXISTS) && file_is_encrypted(new_permall) &&
	    !file_is_encrypted(permall)) {
		g_warning("completing an interrupted conversion in %s", state_dir);
		if (g_file_test(tpm, G_FILE_TEST_EXISTS) &&
		    ((g_mkdir(work, 0700) != 0 && errno != EEXIST) || rename(tpm, old_tpm) != 0))
			return fail(error, "cannot move %s aside: %s", tpm, g_strerror(errno));
		if (rename(new_tpm, tpm) != 0)
			return fail(error, "cannot move %s to %s: %s", new_tpm, tpm,
				    g_strerror(errno));
	}
	/* the unencrypted copy and the blobs never outlive a conversion */
	remove_tree(work);
	return TRUE;
}

/* a new random state key, sealed into state_dir; key is wiped on failure */
static gboolean
bind_new(const char *state_dir, guint8 key[TCS_TPM2_STATE_KEY_LEN], GError **error)
{
	g_autofree guint8 *blob = NULL;
	TcsTpm2Error err;
	gsize len = 0;

	if (RAND_priv_bytes(key, TCS_TPM2_STATE_KEY_LEN) != 1)
		return fail(error, "cannot generate the state key");
	if (tcs_tpm2_seal(binding.tcti, binding.pcrs, key, &blob, &len, &err) != TCS_TPM2_OK) {
		explicit_bzero(key, TCS_TPM2_STATE_KEY_LEN);
		return fail(error, "cannot bind the embedded TPM to the TPM 2.0: %s", err.message);
	}
	if (!write_sealed(state_dir, blob, len, error)) {
		explicit_bzero(key, TCS_TPM2_STATE_KEY_LEN);
		return FALSE;
	}
	g_message("bound the embedded TPM's state in %s to the TPM 2.0 (%s)", state_dir,
		  binding.tcti);
	return TRUE;
}

TcsdSwtpm *
tcsd_tpm2_binding_start_swtpm(const char *state_dir, GError **error)
{
	g_autofree char *sealed = state_path(state_dir, TCSD_TPM2_SEALED_FILE);
	g_autofree char *permall = g_build_filename(state_dir, TPM_DIR, PERMALL, NULL);
	guint8 key[TCS_TPM2_STATE_KEY_LEN];
	TcsdSwtpm *s;
	guint32 pcrs = 0;

	/* unconfigured (a test opening the device directly): no binding, never the host's TPM */
	if (!binding.configured)
		tcsd_tpm2_binding_configure("none", 0);
	if (!recover_conversion(state_dir, error))
		return NULL;
	if (g_file_test(sealed, G_FILE_TEST_EXISTS)) {
		if (!unseal_key(state_dir, sealed, key, &pcrs, error))
			return NULL;
	} else if (binding.tcti != NULL && g_file_test(permall, G_FILE_TEST_EXISTS)) {
		g_warning("the embedded TPM's state in %s is not bound to the TPM 2.0 (%s): "
			  "'tpmctl bind' converts it, keeping its keys",
			  state_dir, binding.tcti);
		set_state(TCSD_TPM2_BINDING_PENDING, 0);
		return tcsd_swtpm_start(state_dir, error);
	} else if (binding.tcti != NULL) {
		/* a new TPM: its state is encrypted from the start */
		if (!bind_new(state_dir, key, error))
			return NULL;
		pcrs = binding.pcrs;
	} else {
		set_state(TCSD_TPM2_BINDING_NONE, 0);
		return tcsd_swtpm_start(state_dir, error);
	}
	s = tcsd_swtpm_start_keyed(state_dir, key, error);
	explicit_bzero(key, sizeof(key));
	if (s != NULL)
		set_state(TCSD_TPM2_BINDING_BOUND, pcrs);
	return s;
}

/* ---- conversion ---- */

static gboolean
run_ioctl(const char *state_dir, GError **error, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree char *err_text = NULL;
	const char *arg;
	va_list ap;

	g_ptr_array_add(argv, (gpointer) "swtpm_ioctl");
	va_start(ap, error);
	while ((arg = va_arg(ap, const char *)) != NULL)
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
					     G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_subprocess_launcher_set_cwd(launcher, state_dir);
	proc = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, error);
	if (proc == NULL ||
	    !g_subprocess_communicate_utf8(proc, NULL, NULL, NULL, &err_text, error))
		return FALSE;
	if (!g_subprocess_get_successful(proc))
		return fail(error, "swtpm_ioctl %s failed: %s", (const char *)argv->pdata[1],
			    err_text ? g_strstrip(err_text) : "");
	return TRUE;
}

/*
 * An swtpm on dir: the source initialised (TPM_Init loads its state, whose
 * blobs are then read), the target not (its blobs can only be set before).
 */
static GSubprocess *
spawn_convert_swtpm(const char *state_dir, const char *dir, const char *ctrl,
		    const guint8 *key, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
					  G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_autofree char *tpmstate = g_strdup_printf("dir=%s,mode=0600", dir);
	g_autofree char *server = g_strdup_printf("type=unixio,path=%s.sock,mode=0600", ctrl);
	g_autofree char *ctrl_arg = g_strdup_printf("type=unixio,path=%s,mode=0600", ctrl);
	g_autoptr(GSubprocess) proc = NULL;
	gint64 deadline = g_get_monotonic_time() + CONVERT_TIMEOUT_MS * 1000;

	g_subprocess_launcher_set_cwd(launcher, state_dir);
	if (key != NULL) {
		int fd = tcsd_swtpm_secret_pipe(key, TCSD_SWTPM_KEY_LEN, error);

		if (fd < 0)
			return NULL;
		g_subprocess_launcher_take_fd(launcher, fd, 3);
		proc = g_subprocess_launcher_spawn(launcher, error, "swtpm", "socket", "--tpmstate",
						   tpmstate, "--server", server, "--ctrl", ctrl_arg,
						   "--key", "fd=3,mode=aes-256-cbc,format=binary",
						   NULL);
	} else {
		proc = g_subprocess_launcher_spawn(launcher, error, "swtpm", "socket", "--tpmstate",
						   tpmstate, "--server", server, "--ctrl", ctrl_arg,
						   "--flags", "not-need-init", NULL);
	}
	if (proc == NULL)
		return NULL;
	for (;;) {
		g_autoptr(GError) local = NULL;

		if (run_ioctl(state_dir, &local, "--unix", ctrl, "-c", NULL))
			return g_steal_pointer(&proc);
		if (g_subprocess_get_identifier(proc) == NULL ||
		    g_get_monotonic_time() > deadline) {
			g_subprocess_force_exit(proc);
			g_subprocess_wait(proc, NULL, NULL);
			fail(error, "swtpm for the conversion did not start: %s", local->message);
			return NULL;
		}
		g_usleep(20000);
	}
}

static gboolean
stop_convert_swtpm(const char *state_dir, GSubprocess *proc, const char *ctrl, GError **error)
{
	gboolean ok = run_ioctl(state_dir, error, "--unix", ctrl, "-s", NULL);

	if (!ok)
		g_subprocess_force_exit(proc);
	g_subprocess_wait(proc, NULL, NULL);
	return ok;
}

static gboolean
remove_tree(const char *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const char *name;

	if (dir != NULL) {
		while ((name = g_dir_read_name(dir)) != NULL) {
			g_autofree char *child = g_build_filename(path, name, NULL);

			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				remove_tree(child);
			else
				unlink(child);
		}
	}
	return g_rmdir(path) == 0 || errno == ENOENT;
}

static gboolean
file_is_encrypted(const char *path)
{
	g_autofree guint8 *data = NULL;
	gsize len = 0;

	return g_file_get_contents(path, (char **)&data, &len, NULL) && len > 6 &&
	       (((guint)data[4] << 8 | data[5]) & SWTPM_BLOB_FLAG_ENCRYPTED);
}

static const char *const blob_types[] = {"permanent", "volatile", "savestate"};

/* the state blobs of TPM_DIR (unencrypted) into CONVERT_DIR/TYPE files */
static gboolean
save_blobs(const char *state_dir, GError **error)
{
	g_autoptr(GSubprocess) proc = NULL;
	const char *ctrl = CONVERT_DIR "/old.ctrl";
	gboolean ok = TRUE;

	proc = spawn_convert_swtpm(state_dir, TPM_DIR, ctrl, NULL, error);
	if (proc == NULL)
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(blob_types) && ok; i++) {
		g_autofree char *file = g_strdup_printf(CONVERT_DIR "/%s", blob_types[i]);
		g_autoptr(GError) local = NULL;

		if (run_ioctl(state_dir, &local, "--unix", ctrl, "--save", blob_types[i], file,
			      NULL))
			continue;
		/* only the permanent state must exist; a TPM shut down cleanly may have no other */
		if (i == 0) {
			g_propagate_error(error, g_steal_pointer(&local));
			ok = FALSE;
		} else {
			g_debug("no %s state to convert: %s", blob_types[i], local->message);
		}
	}
	return stop_convert_swtpm(state_dir, proc, ctrl, ok ? error : NULL) && ok;
}

/* the saved blobs into NEW_TPM_DIR, written encrypted by an swtpm holding key */
static gboolean
load_blobs(const char *state_dir, const guint8 *key, GError **error)
{
	g_autoptr(GSubprocess) proc = NULL;
	const char *ctrl = CONVERT_DIR "/new.ctrl";
	gboolean ok = TRUE;

	proc = spawn_convert_swtpm(state_dir, NEW_TPM_DIR, ctrl, key, error);
	if (proc == NULL)
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(blob_types) && ok; i++) {
		g_autofree char *file =
			g_build_filename(state_dir, CONVERT_DIR, blob_types[i], NULL);
		g_autofree char *rel = g_strdup_printf(CONVERT_DIR "/%s", blob_types[i]);
		struct stat st;

		if (stat(file, &st) != 0 || st.st_size == 0)
			continue;
		ok = run_ioctl(state_dir, error, "--unix", ctrl, "--load", blob_types[i], rel,
			       NULL);
	}
	/* TPM_Init makes swtpm write the permanent state, now encrypted */
	if (ok)
		ok = run_ioctl(state_dir, error, "--unix", ctrl, "-i", NULL);
	return stop_convert_swtpm(state_dir, proc, ctrl, ok ? error : NULL) && ok;
}

gboolean
tcsd_tpm2_binding_convert(const char *state_dir, GError **error)
{
	g_autofree char *sealed = state_path(state_dir, TCSD_TPM2_SEALED_FILE);
	g_autofree char *tpm = state_path(state_dir, TPM_DIR);
	g_autofree char *work = state_path(state_dir, CONVERT_DIR);
	g_autofree char *new_tpm = state_path(state_dir, NEW_TPM_DIR);
	g_autofree char *old_tpm = g_build_filename(work, "old-tpm", NULL);
	g_autofree char *permall = g_build_filename(tpm, PERMALL, NULL);
	g_autofree char *new_permall = g_build_filename(new_tpm, PERMALL, NULL);
	g_autofree guint8 *blob = NULL;
	guint8 key[TCS_TPM2_STATE_KEY_LEN];
	TcsTpm2Error err;
	gsize len = 0;
	gboolean ok;

	if (binding.tcti == NULL)
		return fail(error, "tpm2_binding is none (or %s is missing): no TPM 2.0 to bind "
				   "to", TCSD_TPM2_DEFAULT_DEVICE);
	if (g_file_test(sealed, G_FILE_TEST_EXISTS))
		return fail(error, "the embedded TPM's state in %s is already bound", state_dir);
	if (!g_file_test(permall, G_FILE_TEST_EXISTS))
		return fail(error, "no embedded TPM state in %s to convert", tpm);
	/* leftovers of an interrupted conversion: the unbound state in TPM_DIR is intact */
	remove_tree(work);
	remove_tree(new_tpm);
	if (g_mkdir(work, 0700) != 0 || g_mkdir(new_tpm, 0700) != 0)
		return fail(error, "cannot create %s: %s", work, g_strerror(errno));
	/* seal first: a TPM 2.0 that refuses leaves everything as it was */
	if (RAND_priv_bytes(key, sizeof(key)) != 1)
		return fail(error, "cannot generate the state key");
	if (tcs_tpm2_seal(binding.tcti, binding.pcrs, key, &blob, &len, &err) != TCS_TPM2_OK) {
		explicit_bzero(key, sizeof(key));
		remove_tree(work);
		remove_tree(new_tpm);
		return fail(error, "cannot bind to the TPM 2.0: %s", err.message);
	}
	ok = save_blobs(state_dir, error) && load_blobs(state_dir, key, error);
	explicit_bzero(key, sizeof(key));
	if (ok && !file_is_encrypted(new_permall))
		ok = fail(error, "swtpm did not write the converted state encrypted");
	/* the switch: sealed key first, then the directories; the old plaintext goes */
	if (ok)
		ok = write_sealed(state_dir, blob, len, error);
	if (ok && (rename(tpm, old_tpm) != 0 || rename(new_tpm, tpm) != 0))
		ok = fail(error, "cannot switch %s to the converted state: %s", tpm,
			  g_strerror(errno));
	if (!ok) {
		/* back to the unbound state that still works */
		if (!g_file_test(tpm, G_FILE_TEST_EXISTS))
			(void)rename(old_tpm, tpm);
		unlink(sealed);
		remove_tree(new_tpm);
		remove_tree(work);
		return FALSE;
	}
	remove_tree(work);
	g_message("converted the embedded TPM's state in %s to one bound to the TPM 2.0 (%s)",
		  state_dir, binding.tcti);
	return TRUE;
}

const char *
tcsd_tpm2_binding_backend_name(int backend)
{
	switch ((TcsdTpmBackend)backend) {
	case TCSD_TPM_BACKEND_CHAR:
		return "device";
	case TCSD_TPM_BACKEND_TCP:
		return "tcp";
	case TCSD_TPM_BACKEND_SWTPM:
		return "swtpm";
	case TCSD_TPM_BACKEND_AUTO:
		break;
	}
	return "auto";
}

static TcsdTpmDevice *
reopen(const char *tpm_device, const char *state_dir, GError **error)
{
	g_autoptr(TcsdTpmDevice) dev = tcsd_tpm_device_open(tpm_device, state_dir, error);

	if (dev == NULL || !tcsd_tpm_device_power_on(dev, error))
		return NULL;
	return g_steal_pointer(&dev);
}

gboolean
tcsd_tpm2_binding_bind_live(TcsdTpm *tpm, const char *tpm_device, const char *state_dir,
			    GError **error)
{
	g_autoptr(GError) local = NULL;
	gboolean converted;

	if (tcsd_tpm2_binding_get_state() != TCSD_TPM2_BINDING_PENDING ||
	    tcsd_tpm_device_get_backend(tpm->dev) != TCSD_TPM_BACKEND_SWTPM)
		return fail(error, "the embedded TPM's state is not waiting for a binding");
	/* CMD_SHUTDOWN: swtpm writes its volatile state, which the conversion carries over */
	g_clear_pointer(&tpm->dev, tcsd_tpm_device_free);
	converted = tcsd_tpm2_binding_convert(state_dir, error);
	/* bound after a conversion, the old unbound state otherwise */
	tpm->dev = reopen(tpm_device, state_dir, &local);
	if (tpm->dev == NULL) {
		/* nothing left to serve TPM commands with: systemd restarts tcsd */
		g_critical("cannot restart the embedded swtpm after %s: %s",
			   converted ? "the conversion" : "a failed conversion", local->message);
		exit(1);
	}
	return converted;
}

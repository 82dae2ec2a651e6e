/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM transports against real swtpm (TPM 1.2) instances: the embedded swtpm
 * (unix sockets, also for state paths longer than sun_path) and an external
 * swtpm on tcp:127.0.0.1:PORT. Also framing and timeout checks against fake
 * TPMs, which need no swtpm.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcs-buf.h"
#include "tcs-types.h"
#include "tcsd-swtpm.h"
#include "tcsd-tpm-device.h"

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TcsWbuf, tcs_wbuf_free)

static gboolean
have_swtpm(void)
{
	g_autofree char *swtpm = g_find_program_in_path("swtpm");
	g_autofree char *setup = g_find_program_in_path("swtpm_setup");

	if (swtpm && setup)
		return TRUE;
	g_test_skip("swtpm or swtpm_setup not installed");
	return FALSE;
}

static void
rm_rf(const char *path)
{
	g_autoptr(GFile) file = g_file_new_for_path(path);
	g_autoptr(GFileEnumerator) children = g_file_enumerate_children(
		file, G_FILE_ATTRIBUTE_STANDARD_NAME, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL,
		NULL);

	while (children) {
		GFileInfo *info = g_file_enumerator_next_file(children, NULL, NULL);
		g_autofree char *child = NULL;

		if (info == NULL)
			break;
		child = g_build_filename(path, g_file_info_get_name(info), NULL);
		g_object_unref(info);
		rm_rf(child);
	}
	g_remove(path);
}

/* Run one command; returns the TPM return code and leaves the response in rsp. */
static guint32
run(TcsdTpmDevice *d, TcsWbuf *w, guint8 *rsp, gsize *rsp_len)
{
	g_autoptr(GError) error = NULL;
	TcsRbuf r;

	tcs_wbuf_put_u32_at(w, 2, (guint32)w->len);
	g_assert_true(tcs_wbuf_ok(w));
	g_assert_true(tcsd_tpm_device_transmit(d, w->data, w->len, rsp, TCSD_TPM_MAX_RESPONSE,
					       rsp_len, &error));
	g_assert_no_error(error);
	tcs_rbuf_init(&r, rsp, *rsp_len);
	g_assert_cmphex(tcs_rbuf_u16(&r), ==, TPM_TAG_RSP_COMMAND);
	g_assert_cmpuint(tcs_rbuf_u32(&r), ==, *rsp_len);
	return tcs_rbuf_u32(&r);
}

static void
cmd_begin(TcsWbuf *w, guint32 ordinal)
{
	tcs_wbuf_init(w, TCSD_TPM_MAX_COMMAND);
	tcs_wbuf_u16(w, TPM_TAG_RQU_COMMAND);
	tcs_wbuf_u32(w, 0);
	tcs_wbuf_u32(w, ordinal);
}

/* TPM_GetCapability(TPM_CAP_VERSION_VAL) says 1.2, TPM_GetRandom(20) gives 20 bytes. */
static void
check_tpm(TcsdTpmDevice *d)
{
	guint8 rsp[TCSD_TPM_MAX_RESPONSE];
	gsize rsp_len = 0;
	TcsRbuf r;
	TcsRbuf info;

	{
		g_auto(TcsWbuf) w = {0};

		cmd_begin(&w, TPM_ORD_GetCapability);
		tcs_wbuf_u32(&w, TPM_CAP_VERSION_VAL);
		tcs_wbuf_u32(&w, 0);
		g_assert_cmphex(run(d, &w, rsp, &rsp_len), ==, TPM_SUCCESS);
	}
	tcs_rbuf_init(&r, rsp, rsp_len);
	tcs_rbuf_skip(&r, TCSD_TPM_HEADER_SIZE);
	g_assert_true(tcs_rbuf_sub(&r, tcs_rbuf_u32(&r), &info));
	g_assert_cmpuint(tcs_rbuf_remaining(&r), ==, 0);
	g_assert_cmphex(tcs_rbuf_u16(&info), ==, 0x0030); /* TPM_TAG_CAP_VERSION_INFO */
	g_assert_cmpuint(tcs_rbuf_u8(&info), ==, 1);
	g_assert_cmpuint(tcs_rbuf_u8(&info), ==, 2);
	g_assert_true(tcs_rbuf_ok(&info));

	{
		g_auto(TcsWbuf) w = {0};

		cmd_begin(&w, TPM_ORD_GetRandom);
		tcs_wbuf_u32(&w, 20);
		g_assert_cmphex(run(d, &w, rsp, &rsp_len), ==, TPM_SUCCESS);
	}
	g_assert_cmpuint(rsp_len, ==, TCSD_TPM_HEADER_SIZE + 4 + 20);
	tcs_rbuf_init(&r, rsp, rsp_len);
	tcs_rbuf_skip(&r, TCSD_TPM_HEADER_SIZE);
	g_assert_cmpuint(tcs_rbuf_u32(&r), ==, 20);

	/* swtpm_setup --createek made an EK, readable while the TPM is unowned */
	{
		g_auto(TcsWbuf) w = {0};

		cmd_begin(&w, TPM_ORD_ReadPubek);
		tcs_wbuf_zeros(&w, 20);
		g_assert_cmphex(run(d, &w, rsp, &rsp_len), ==, TPM_SUCCESS);
	}
	g_assert_cmpuint(rsp_len, >, TCSD_TPM_HEADER_SIZE + 256 + 20);
}

/* TPM_STCLEAR_FLAGS.deactivated: what the running TPM obeys */
static gboolean
tpm_is_deactivated(TcsdTpmDevice *d)
{
	g_auto(TcsWbuf) w = {0};
	guint8 rsp[TCSD_TPM_MAX_RESPONSE];
	gsize rsp_len = 0;
	TcsRbuf r;

	cmd_begin(&w, TPM_ORD_GetCapability);
	tcs_wbuf_u32(&w, TPM_CAP_FLAG);
	tcs_wbuf_u32(&w, 4);
	tcs_wbuf_u32(&w, TPM_CAP_FLAG_VOLATILE);
	g_assert_cmphex(run(d, &w, rsp, &rsp_len), ==, TPM_SUCCESS);
	tcs_rbuf_init(&r, rsp, rsp_len);
	tcs_rbuf_skip(&r, TCSD_TPM_HEADER_SIZE + 4 + 2);
	return tcs_rbuf_u8(&r) != 0;
}

static guint32
simple_cmd(TcsdTpmDevice *d, guint32 ordinal, gint u16, gint u8)
{
	g_auto(TcsWbuf) w = {0};
	guint8 rsp[TCSD_TPM_MAX_RESPONSE];
	gsize rsp_len = 0;

	cmd_begin(&w, ordinal);
	if (u16 >= 0)
		tcs_wbuf_u16(&w, (guint16)u16);
	if (u8 >= 0)
		tcs_wbuf_u8(&w, (guint8)u8);
	return run(d, &w, rsp, &rsp_len);
}

static gboolean
pid_is_gone(GPid pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

static void
test_embedded(void)
{
	g_autofree char *dir = NULL;
	g_autofree char *permall = NULL;
	g_autofree char *sock = NULL;
	g_autoptr(GError) error = NULL;
	TcsdTpmDevice *d;
	GPid pid;

	if (!have_swtpm())
		return;
	dir = g_dir_make_tmp("tcsd-swtpm-XXXXXX", &error);
	g_assert_no_error(error);
	permall = g_build_filename(dir, "tpm", "tpm-00.permall", NULL);
	sock = g_build_filename(dir, "swtpm.sock", NULL);

	/* first start manufactures the TPM */
	d = tcsd_tpm_device_open("swtpm", dir, &error);
	g_assert_no_error(error);
	g_assert_nonnull(d);
	g_assert_cmpint(tcsd_tpm_device_get_backend(d), ==, TCSD_TPM_BACKEND_SWTPM);
	g_assert_true(g_file_test(permall, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(sock, G_FILE_TEST_EXISTS));
	pid = tcsd_tpm_device_get_swtpm_pid(d);
	g_assert_cmpint(pid, >, 0);
	g_assert_false(pid_is_gone(pid));
	g_assert_true(tcsd_tpm_device_power_on(d, &error));
	g_assert_no_error(error);
	check_tpm(d);
	/* a second power-on finds it started and active and leaves it alone */
	g_assert_true(tcsd_tpm_device_power_on(d, &error));
	g_assert_no_error(error);
	check_tpm(d);
	tcsd_tpm_device_free(d);
	g_assert_true(pid_is_gone(pid));
	g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));

	/* second start reuses the state */
	d = tcsd_tpm_device_open("swtpm", dir, &error);
	g_assert_no_error(error);
	pid = tcsd_tpm_device_get_swtpm_pid(d);
	g_assert_true(tcsd_tpm_device_power_on(d, &error));
	g_assert_no_error(error);
	check_tpm(d);
	tcsd_tpm_device_free(d);
	g_assert_true(pid_is_gone(pid));
	rm_rf(dir);
}

static void
test_embedded_long_path(void)
{
	g_autofree char *base = NULL;
	g_autofree char *dir = NULL;
	g_autofree char *sock = NULL;
	g_autoptr(GError) error = NULL;
	TcsdTpmDevice *d;
	GPid pid;

	if (!have_swtpm())
		return;
	base = g_dir_make_tmp("tcsd-swtpm-XXXXXX", &error);
	g_assert_no_error(error);
	/* longer than sockaddr_un.sun_path: still unix sockets in dir, never loopback TCP */
	dir = g_build_filename(base, "a-rather-long-directory-name-to-push-the-socket-path",
			       "beyond-the-one-hundred-and-eight-bytes-of-sun-path", NULL);
	sock = g_build_filename(dir, "swtpm.sock", NULL);
	g_assert_cmpuint(strlen(sock), >=, 108);
	d = tcsd_tpm_device_open("swtpm", dir, &error);
	g_assert_no_error(error);
	g_assert_nonnull(d);
	pid = tcsd_tpm_device_get_swtpm_pid(d);
	g_assert_true(g_file_test(sock, G_FILE_TEST_EXISTS));
	g_assert_true(tcsd_tpm_device_power_on(d, &error));
	g_assert_no_error(error);
	check_tpm(d);
	tcsd_tpm_device_free(d);
	g_assert_true(pid_is_gone(pid));
	g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));

	/* a second start finds the state and the stale-socket check works there too */
	d = tcsd_tpm_device_open("swtpm", dir, &error);
	g_assert_no_error(error);
	pid = tcsd_tpm_device_get_swtpm_pid(d);
	g_assert_true(tcsd_tpm_device_power_on(d, &error));
	g_assert_no_error(error);
	check_tpm(d);
	tcsd_tpm_device_free(d);
	g_assert_true(pid_is_gone(pid));
	rm_rf(base);
}

static void
child_setup(gpointer user_data)
{
	/* no orphaned swtpm when an assertion aborts the test */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* a port P with P + 1 also free, for swtpm's data and control channels */
static guint16
pick_port_pair(void)
{
	for (guint attempt = 0; attempt < 100; attempt++) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(sa);
		int a = socket(AF_INET, SOCK_STREAM, 0);
		int b = socket(AF_INET, SOCK_STREAM, 0);
		guint16 port = 0;

		if (bind(a, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(a, (struct sockaddr *)&sa, &len) == 0 &&
		    ntohs(sa.sin_port) < G_MAXUINT16) {
			port = ntohs(sa.sin_port);
			sa.sin_port = htons(port + 1);
			if (bind(b, (struct sockaddr *)&sa, sizeof(sa)) != 0)
				port = 0;
		}
		close(a);
		close(b);
		if (port)
			return port;
	}
	g_assert_not_reached();
}

static GSubprocess *
spawn_tcp_swtpm(const char *tpm_dir, guint16 port)
{
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_autoptr(GError) error = NULL;
	g_autofree char *state = g_strdup_printf("dir=%s", tpm_dir);
	g_autofree char *server = g_strdup_printf("type=tcp,port=%u,bindaddr=127.0.0.1", port);
	g_autofree char *ctrl = g_strdup_printf("type=tcp,port=%u,bindaddr=127.0.0.1", port + 1);
	GSubprocess *proc;

	g_subprocess_launcher_set_child_setup(launcher, child_setup, NULL, NULL);
	proc = g_subprocess_launcher_spawn(launcher, &error, "swtpm", "socket", "--tpmstate", state,
					   "--server", server, "--ctrl", ctrl, "--flags",
					   "not-need-init", NULL);
	g_assert_no_error(error);
	/* wait until it listens */
	for (guint i = 0; i < 500; i++) {
		TcsdTpmEndpoint ep = {.host = (char *)"127.0.0.1", .port = port};
		int fd = tcsd_tpm_endpoint_connect(&ep, g_get_monotonic_time() + G_USEC_PER_SEC,
						   NULL);

		if (fd >= 0) {
			close(fd);
			return proc;
		}
		g_usleep(10000);
	}
	g_assert_not_reached();
}

static void
stop_swtpm(GSubprocess *proc)
{
	g_subprocess_force_exit(proc);
	g_assert_true(g_subprocess_wait(proc, NULL, NULL));
	g_object_unref(proc);
}

static void
test_tcp(void)
{
	g_autofree char *dir = NULL;
	g_autofree char *spec = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) setup = NULL;
	TcsdTpmEndpoint ctrl = {.host = (char *)"127.0.0.1"};
	GSubprocess *proc;
	TcsdTpmDevice *d;
	guint16 port;
	guint32 result = 1;
	gint64 start;

	if (!have_swtpm())
		return;
	dir = g_dir_make_tmp("tcsd-swtpm-XXXXXX", &error);
	g_assert_no_error(error);
	setup = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, "swtpm_setup",
				 "--tpm-state", dir, "--createek", NULL);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_wait_check(setup, NULL, &error));
	g_assert_no_error(error);

	port = pick_port_pair();
	ctrl.port = port + 1;
	proc = spawn_tcp_swtpm(dir, port);
	spec = g_strdup_printf("tcp:127.0.0.1:%u", port);
	d = tcsd_tpm_device_open(spec, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(tcsd_tpm_device_get_backend(d), ==, TCSD_TPM_BACKEND_TCP);
	g_assert_cmpstr(tcsd_tpm_device_get_description(d), ==, spec);
	g_assert_cmpint(tcsd_tpm_device_get_swtpm_pid(d), ==, 0);
	g_assert_true(tcsd_tpm_device_power_on(d, &error));
	g_assert_no_error(error);
	check_tpm(d);
	g_assert_false(tpm_is_deactivated(d));

	/* deactivate it for the next boot, then reboot: power-on needs TPM_Init to activate */
	g_assert_true(tcsd_swtpm_ctrl_command(&ctrl, TCSD_SWTPM_CMD_INIT, (const guint8[4]){0}, 4,
					      5000, &result, &error));
	g_assert_no_error(error);
	g_assert_cmphex(result, ==, 0);
	g_assert_cmphex(simple_cmd(d, TPM_ORD_Startup, 1, -1), ==, 0);
	g_assert_cmphex(simple_cmd(d, TSC_ORD_PhysicalPresence, 0x0020, -1), ==, 0);
	g_assert_cmphex(simple_cmd(d, TSC_ORD_PhysicalPresence, 0x0008, -1), ==, 0);
	g_assert_cmphex(simple_cmd(d, TPM_ORD_PhysicalSetDeactivated, -1, 1), ==, 0);
	g_assert_true(tcsd_swtpm_ctrl_command(&ctrl, TCSD_SWTPM_CMD_INIT, (const guint8[4]){0}, 4,
					      5000, &result, &error));
	g_assert_cmphex(simple_cmd(d, TPM_ORD_Startup, 1, -1), ==, 0);
	g_assert_true(tpm_is_deactivated(d));
	g_assert_true(tcsd_swtpm_ctrl_command(&ctrl, TCSD_SWTPM_CMD_INIT, (const guint8[4]){0}, 4,
					      5000, &result, &error));
	g_assert_true(tcsd_tpm_device_power_on(d, &error));
	g_assert_no_error(error);
	g_assert_false(tpm_is_deactivated(d));
	check_tpm(d);

	/* swtpm restarts behind our back: the dropped connection is reopened */
	stop_swtpm(proc);
	proc = spawn_tcp_swtpm(dir, port);
	g_assert_true(tcsd_tpm_device_power_on(d, &error));
	g_assert_no_error(error);
	check_tpm(d);

	/* the TPM disappears: a prompt error, not a hang */
	stop_swtpm(proc);
	start = g_get_monotonic_time();
	{
		guint8 cmd[] = {0x00, 0xc1, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x00,
				0x00, 0x46, 0x00, 0x00, 0x00, 0x08};
		guint8 rsp[TCSD_TPM_MAX_RESPONSE];
		gsize rsp_len = 0;

		g_assert_false(tcsd_tpm_device_transmit(d, cmd, sizeof(cmd), rsp, sizeof(rsp),
							&rsp_len, &error));
		g_assert_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_NOT_FOUND);
		g_test_message("after the TPM went away: %s", error->message);
		g_clear_error(&error);
	}
	g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
	tcsd_tpm_device_free(d);
	rm_rf(dir);
}

/* ---- fake TPMs ---- */

typedef struct {
	int listen_fd;
	const guint8 *reply;
	gsize reply_len;
} FakeTpm;

static gpointer
fake_tpm_thread(gpointer user_data)
{
	FakeTpm *fake = user_data;
	int fd = accept(fake->listen_fd, NULL, NULL);
	guint8 buf[64];

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(read(fd, buf, sizeof(buf)), >, 0);
	g_assert_cmpint(write(fd, fake->reply, fake->reply_len), ==, (gssize)fake->reply_len);
	/* hold the connection until the client gives up */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

static int
listen_loopback(guint16 *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static const guint8 getrandom_cmd[] = {0x00, 0xc1, 0x00, 0x00, 0x00, 0x0e, 0x00,
				       0x00, 0x00, 0x46, 0x00, 0x00, 0x00, 0x08};

static void
expect_bad_reply(const guint8 *reply, gsize reply_len, gint code)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *spec = NULL;
	FakeTpm fake = {.reply = reply, .reply_len = reply_len};
	guint8 rsp[TCSD_TPM_MAX_RESPONSE];
	gsize rsp_len = 0;
	guint16 port = 0;
	TcsdTpmDevice *d;
	GThread *thread;

	fake.listen_fd = listen_loopback(&port);
	spec = g_strdup_printf("tcp:127.0.0.1:%u", port);
	thread = g_thread_new("fake-tpm", fake_tpm_thread, &fake);
	d = tcsd_tpm_device_open(spec, NULL, &error);
	g_assert_no_error(error);
	tcsd_tpm_device_set_timeout(d, 300);
	g_assert_false(tcsd_tpm_device_transmit(d, getrandom_cmd, sizeof(getrandom_cmd), rsp,
						sizeof(rsp), &rsp_len, &error));
	g_assert_error(error, TCSD_TPM_DEVICE_ERROR, code);
	g_test_message("%s", error->message);
	tcsd_tpm_device_free(d);
	g_thread_join(thread);
	close(fake.listen_fd);
}

static void
test_bad_framing(void)
{
	/* size below the header */
	expect_bad_reply((const guint8[]){0x00, 0xc4, 0, 0, 0, 5, 0, 0, 0, 0}, 10,
			 TCSD_TPM_DEVICE_ERROR_BAD_RESPONSE);
	/* size beyond any TPM 1.2 response */
	expect_bad_reply((const guint8[]){0x00, 0xc4, 0, 1, 0, 0, 0, 0, 0, 0}, 10,
			 TCSD_TPM_DEVICE_ERROR_BAD_RESPONSE);
	/* TPM 2.0 tag */
	expect_bad_reply((const guint8[]){0x80, 0x01, 0, 0, 0, 10, 0, 0, 1, 0}, 10,
			 TCSD_TPM_DEVICE_ERROR_BAD_RESPONSE);
	/* header promises 14 bytes, 12 arrive, then silence */
	expect_bad_reply((const guint8[]){0x00, 0xc4, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0}, 12,
			 TCSD_TPM_DEVICE_ERROR_TIMEOUT);
}

static void
test_timeout(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *spec = NULL;
	guint8 rsp[TCSD_TPM_MAX_RESPONSE];
	gsize rsp_len = 0;
	guint16 port = 0;
	/* listening but never accepting: connect succeeds, nothing answers */
	int listen_fd = listen_loopback(&port);
	TcsdTpmDevice *d;
	gint64 start;

	spec = g_strdup_printf("tcp:127.0.0.1:%u", port);
	d = tcsd_tpm_device_open(spec, NULL, &error);
	g_assert_no_error(error);
	tcsd_tpm_device_set_timeout(d, 200);
	start = g_get_monotonic_time();
	g_assert_false(tcsd_tpm_device_transmit(d, getrandom_cmd, sizeof(getrandom_cmd), rsp,
						sizeof(rsp), &rsp_len, &error));
	g_assert_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_TIMEOUT);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
	g_clear_error(&error);

	/* malformed commands never reach the TPM */
	g_assert_false(tcsd_tpm_device_transmit(d, getrandom_cmd, sizeof(getrandom_cmd) - 1, rsp,
						sizeof(rsp), &rsp_len, &error));
	g_assert_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_BAD_COMMAND);
	tcsd_tpm_device_free(d);
	close(listen_fd);
}

static void
test_missing_device(void)
{
	g_autoptr(GError) error = NULL;
	TcsdTpmDevice *d = tcsd_tpm_device_open("/nonexistent/tpm0", NULL, &error);

	g_assert_null(d);
	g_assert_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_NOT_FOUND);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tcsd/tpm-device/missing-device", test_missing_device);
	g_test_add_func("/tcsd/tpm-device/timeout", test_timeout);
	g_test_add_func("/tcsd/tpm-device/bad-framing", test_bad_framing);
	g_test_add_func("/tcsd/tpm-device/swtpm-embedded", test_embedded);
	g_test_add_func("/tcsd/tpm-device/swtpm-embedded-long-path", test_embedded_long_path);
	g_test_add_func("/tcsd/tpm-device/swtpm-tcp", test_tcp);
	return g_test_run();
}

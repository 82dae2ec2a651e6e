/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "tcs-tpm2-seal.h"
#include "tcsd-config.h"
#include "tcsd-tpm-device.h"

static gboolean
load_text(TcsdConfig *c, const char *text, GError **error)
{
	return tcsd_config_load_data(c, text, strlen(text), "test.conf", error);
}

/* load one "name = value" line into fresh defaults; expect an invalid-value error */
static void
assert_invalid(const char *line)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();
	g_autoptr(GError) error = NULL;

	g_assert_false(load_text(c, line, &error));
	g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE);
	g_assert_nonnull(strstr(error->message, "at test.conf:1"));
}

static void
test_defaults(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();

	g_assert_cmpuint(c->port, ==, TCS_DEFAULT_PORT);
	g_assert_cmpuint(c->num_threads, ==, 10);
	g_assert_cmpstr(c->system_ps_file, ==, TCS_LOCALSTATEDIR "/lib/tpm/system.data");
	g_assert_cmpstr(c->tpm_device, ==, "auto");
	g_assert_cmpstr(c->state_dir, ==, TCS_LOCALSTATEDIR "/lib/tcs");
	g_assert_cmpstr(c->host_platform_class, ==, "PC_12");
	g_assert_null(c->all_platform_classes);
	g_assert_null(c->platform_cred);
	g_assert_cmpuint(c->firmware_pcrs, ==, 0);
	g_assert_false(tcsd_config_has_remote_ops(c));
	g_assert_false(c->disable_ipv4);
	g_assert_false(c->disable_ipv6);
	g_assert_false(c->enforce_exclusive_transport);
	g_assert_true(tcsd_config_is_owner_uid(c, 0));
	g_assert_cmpuint(c->max_connections, ==, 1024);
	g_assert_cmpuint(c->max_contexts_per_connection, ==, 64);
	g_assert_cmpuint(c->max_keys_per_context, ==, 256);
	g_assert_cmpuint(c->max_auth_sessions_per_context, ==, 64);
	g_assert_cmpuint(c->max_request_size, ==, 65536);
	g_assert_cmpuint(c->request_timeout_ms, ==, 10000);
	/* per-peer quotas: automatic connection share, exempt owner users */
	g_assert_cmpuint(c->idle_timeout_ms, ==, 60000);
	g_assert_cmpuint(tcsd_config_connections_per_peer(c), ==, 256);
	g_assert_cmpuint(c->max_auth_sessions_per_peer, ==, 0);
	g_assert_cmpuint(c->max_events_per_peer, ==, 1024);
	c->max_connections = 2;
	g_assert_cmpuint(tcsd_config_connections_per_peer(c), ==, 1);
	c->max_connections_per_peer = 7;
	g_assert_cmpuint(tcsd_config_connections_per_peer(c), ==, 7);
}

static void
test_valid(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();
	g_autoptr(GError) error = NULL;
	const char *text = "# tcsd.conf\n"
			   "\n"
			   "  PORT = 30004\r\n"
			   "num_threads=4\n"
			   "system_ps_file = /tmp/ps/system.data\n"
			   "firmware_log_file = /tmp/bios\n"
			   "kernel_log_file = /tmp/ima\n"
			   "firmware_pcrs = 0,1,2,3,4,5,6,7\n"
			   "kernel_pcrs = 10, 23\n"
			   "platform_cred = /etc/pc.cert\n"
			   "conformance_cred = /etc/cc.cert\n"
			   "endorsement_cred = /etc/ek.cert\n"
			   "enforce_exclusive_transport = 1\n"
			   "host_platform_class = server_12\n"
			   "all_platform_classes = pc_11, PDA_12\n"
			   "disable_ipv4 = 0\n"
			   "Disable_IPv6 = 1\n"
			   "tpm_device = tcp:127.0.0.1:2321\n"
			   "owner_users = root, 1234\n"
			   "state_dir = /run/tcs\n"
			   "max_connections = 10\n"
			   "max_contexts_per_connection = 2\n"
			   "max_keys_per_context = 3\n"
			   "max_auth_sessions_per_context = 4\n"
			   "max_request_size = 28\n"
			   "request_timeout_ms = 500\n"
			   "# trailing comment";

	g_assert_true(load_text(c, text, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(c->port, ==, 30004);
	g_assert_cmpuint(c->num_threads, ==, 4);
	g_assert_cmpstr(c->system_ps_file, ==, "/tmp/ps/system.data");
	g_assert_cmpstr(c->firmware_log_file, ==, "/tmp/bios");
	g_assert_cmpstr(c->kernel_log_file, ==, "/tmp/ima");
	g_assert_cmphex(c->firmware_pcrs, ==, 0xff);
	g_assert_cmphex(c->kernel_pcrs, ==, (1u << 10) | (1u << 23));
	g_assert_cmpstr(c->platform_cred, ==, "/etc/pc.cert");
	g_assert_cmpstr(c->conformance_cred, ==, "/etc/cc.cert");
	g_assert_cmpstr(c->endorsement_cred, ==, "/etc/ek.cert");
	g_assert_true(c->enforce_exclusive_transport);
	g_assert_cmpstr(c->host_platform_class, ==, "SERVER_12");
	g_assert_cmpstr(c->all_platform_classes, ==, "PC_11,PDA_12");
	g_assert_false(c->disable_ipv4);
	g_assert_true(c->disable_ipv6);
	g_assert_cmpstr(c->tpm_device, ==, "tcp:127.0.0.1:2321");
	g_assert_cmpuint(c->owner_uids->len, ==, 2);
	g_assert_true(tcsd_config_is_owner_uid(c, 0));
	g_assert_true(tcsd_config_is_owner_uid(c, 1234));
	g_assert_false(tcsd_config_is_owner_uid(c, 1235));
	g_assert_cmpstr(c->state_dir, ==, "/run/tcs");
	g_assert_cmpuint(c->max_connections, ==, 10);
	g_assert_cmpuint(c->max_contexts_per_connection, ==, 2);
	g_assert_cmpuint(c->max_keys_per_context, ==, 3);
	g_assert_cmpuint(c->max_auth_sessions_per_context, ==, 4);
	g_assert_cmpuint(c->max_request_size, ==, 28);
	g_assert_cmpuint(c->request_timeout_ms, ==, 500);
}

static void
test_unknown_option(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();
	g_autoptr(GError) error = NULL;

	g_assert_false(load_text(c, "port = 1\n\nbogus = 1\n", &error));
	g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_UNKNOWN_OPTION);
	g_assert_cmpstr(error->message, ==, "unknown option 'bogus' at test.conf:3");
	g_clear_error(&error);

	/* TrouSerS matched name prefixes; only whole names count here */
	g_assert_false(load_text(c, "por = 1\n", &error));
	g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_UNKNOWN_OPTION);
	g_clear_error(&error);
	g_assert_false(load_text(c, "port_number = 1\n", &error));
	g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_UNKNOWN_OPTION);
}

static void
test_syntax(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();
	g_autoptr(GError) error = NULL;

	g_assert_false(load_text(c, "# x\nport 30003\n", &error));
	g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_SYNTAX);
	g_assert_nonnull(strstr(error->message, "test.conf:2"));
	g_clear_error(&error);
	g_assert_false(load_text(c, "= 1\n", &error));
	g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_SYNTAX);
	g_clear_error(&error);
	g_assert_false(tcsd_config_load_data(c, "port = 1\0x", 10, "nul.conf", &error));
	g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_SYNTAX);
}

static void
test_bad_port(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();
	g_autoptr(GError) error = NULL;

	assert_invalid("port = 65536");
	assert_invalid("port = -1");
	assert_invalid("port = +5");
	assert_invalid("port = 0x10");
	assert_invalid("port = abc");
	assert_invalid("port = 30003 # comment");
	assert_invalid("port =");
	g_assert_false(load_text(c, "port = 70000", &error));
	g_assert_cmpstr(error->message, ==,
			"invalid value for 'port' at test.conf:1: '70000' is not a port number "
			"0-65535");
	g_assert_true(load_text(c, "port = 0", NULL));
	g_assert_cmpuint(c->port, ==, 0);
	g_assert_true(load_text(c, "port = 65535", NULL));
	g_assert_cmpuint(c->port, ==, 65535);
}

static void
test_bad_values(void)
{
	assert_invalid("num_threads = 0");
	assert_invalid("disable_ipv6 = yes");
	assert_invalid("disable_ipv6 = 2");
	assert_invalid("enforce_exclusive_transport = ");
	assert_invalid("system_ps_file = var/lib/tpm/system.data");
	assert_invalid("system_ps_file = /var/lib/tpm/");
	assert_invalid("system_ps_file =");
	assert_invalid("state_dir = relative");
	assert_invalid("host_platform_class = PC_13");
	assert_invalid("all_platform_classes = PC_11,,PC_12");
	assert_invalid("owner_users = no-such-user-tcsd-test");
	assert_invalid("owner_users = root,,tss");
	assert_invalid("owner_users = 4294967295");
	assert_invalid("max_request_size = 27");
	assert_invalid("max_connections = 0");
	assert_invalid("request_timeout_ms = 99");
}

static void
test_pcr_lists(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();

	assert_invalid("firmware_pcrs = 24");
	assert_invalid("firmware_pcrs = 1,,2");
	assert_invalid("firmware_pcrs = 1,");
	assert_invalid("kernel_pcrs = a");
	assert_invalid("kernel_pcrs = 1,-1");
	assert_invalid("kernel_pcrs = 1 2");
	g_assert_true(load_text(c, "firmware_pcrs = 0,23\nkernel_pcrs = 8,9", NULL));
	g_assert_cmphex(c->firmware_pcrs, ==, 0x800001);
	g_assert_cmphex(c->kernel_pcrs, ==, 0x300);
	g_assert_true(load_text(c, "firmware_pcrs =", NULL));
	g_assert_cmphex(c->firmware_pcrs, ==, 0);
}

static void
test_remote_ops(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();
	g_autoptr(GError) error = NULL;
	/* seal + getcapability, anchors §4.1 */
	const guint expected[] = {1, 2, 3, 4, 9, 12, 23, 24, 29, 36, 44, 45, 46};

	g_assert_true(load_text(c, "remote_ops = seal, GetCapability", &error));
	g_assert_no_error(error);
	g_assert_true(tcsd_config_has_remote_ops(c));
	for (guint ord = 0, j = 0; ord < TCSD_CONFIG_NUM_ORDINALS; ord++) {
		gboolean want = j < G_N_ELEMENTS(expected) && expected[j] == ord;

		if (want)
			j++;
		g_assert_cmpint(c->remote_ops[ord], ==, want);
	}

	/* every name is known; owner-class ordinals such as TAKEOWNERSHIP (22) stay closed */
	g_assert_true(load_text(c,
				"remote_ops = seal,unseal,registerkey,unregisterkey,"
				"getregisteredkeybypublicinfo,getpubkey,loadkey,createkey,sign,"
				"random,getcapability,unbind,quote,readpubek,selftest",
				NULL));
	g_assert_true(c->remote_ops[43]);
	g_assert_true(c->remote_ops[14]);
	g_assert_true(c->remote_ops[50]);
	g_assert_true(c->remote_ops[53]);
	g_assert_true(c->remote_ops[56]);
	g_assert_false(c->remote_ops[22]);
	g_assert_false(c->remote_ops[58]);
	g_assert_false(c->remote_ops[0]);

	/* a failed line leaves the previous value */
	g_assert_true(load_text(c, "remote_ops = random", NULL));
	g_assert_false(load_text(c, "remote_ops = random,takeownership", &error));
	g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE);
	g_assert_nonnull(strstr(error->message, "'takeownership'"));
	g_assert_true(c->remote_ops[44]);
	g_assert_false(c->remote_ops[46]);

	g_assert_true(load_text(c, "remote_ops =", NULL));
	g_assert_false(tcsd_config_has_remote_ops(c));
}

static void
test_tpm_device(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();
	g_auto(TcsdTpmSpec) spec = {0};
	g_autoptr(GError) error = NULL;

	g_assert_true(tcsd_tpm_spec_parse("auto", &spec, &error));
	g_assert_cmpint(spec.backend, ==, TCSD_TPM_BACKEND_AUTO);
	g_assert_true(tcsd_tpm_spec_parse(NULL, &spec, &error));
	g_assert_cmpint(spec.backend, ==, TCSD_TPM_BACKEND_AUTO);
	g_assert_true(tcsd_tpm_spec_parse("SWTPM", &spec, &error));
	g_assert_cmpint(spec.backend, ==, TCSD_TPM_BACKEND_SWTPM);

	g_assert_true(tcsd_tpm_spec_parse("/dev/tpm0", &spec, &error));
	g_assert_cmpint(spec.backend, ==, TCSD_TPM_BACKEND_CHAR);
	g_assert_cmpstr(spec.path, ==, "/dev/tpm0");
	tcsd_tpm_spec_clear(&spec);

	g_assert_true(tcsd_tpm_spec_parse("tcp:127.0.0.1:2321", &spec, &error));
	g_assert_cmpint(spec.backend, ==, TCSD_TPM_BACKEND_TCP);
	g_assert_cmpstr(spec.host, ==, "127.0.0.1");
	g_assert_cmpuint(spec.port, ==, 2321);
	g_assert_cmpuint(spec.ctrl_port, ==, 2322);
	tcsd_tpm_spec_clear(&spec);

	g_assert_true(tcsd_tpm_spec_parse("tcp:[::1]:2321:4000", &spec, &error));
	g_assert_cmpstr(spec.host, ==, "::1");
	g_assert_cmpuint(spec.port, ==, 2321);
	g_assert_cmpuint(spec.ctrl_port, ==, 4000);
	tcsd_tpm_spec_clear(&spec);

	g_assert_true(tcsd_tpm_spec_parse("tcp:localhost:65535", &spec, &error));
	g_assert_cmpuint(spec.ctrl_port, ==, 0);
	tcsd_tpm_spec_clear(&spec);
	g_assert_no_error(error);

	for (const char *const *bad = (const char *const[]){"tcp:localhost", "tcp::2321",
							    "tcp:h:0", "tcp:h:1:2:3", "tcp:h:",
							    "tcp:[::1:2321", "tcp:[]:1", "dev/tpm0",
							    "", "tpm0", NULL};
	     *bad; bad++) {
		g_autofree char *line = g_strdup_printf("tpm_device = %s", *bad);

		g_assert_false(tcsd_tpm_spec_parse(*bad, &spec, &error));
		g_assert_error(error, TCSD_TPM_DEVICE_ERROR, TCSD_TPM_DEVICE_ERROR_INVALID_SPEC);
		g_clear_error(&error);
		assert_invalid(line);
	}

	g_assert_true(load_text(c, "tpm_device = swtpm", NULL));
	g_assert_cmpstr(c->tpm_device, ==, "swtpm");
	g_assert_true(load_text(c, "tpm_device = /dev/tpm1", NULL));
	g_assert_cmpstr(c->tpm_device, ==, "/dev/tpm1");
}

/* the TPM 2.0 binding's keys (docs/tpm2-binding.md) and the seal library's PCR lists */
static void
test_tpm2_binding(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();
	static const char *const bad[] = {"tpm2_binding = :x", "tpm2_binding = device: /dev/tpmrm0",
					  "tpm2_pcrs = 24", "tpm2_pcrs = 7,x", NULL};
	char buf[96];
	uint32_t mask = 0;

	g_assert_null(c->tpm2_binding); /* the default: device:/dev/tpmrm0 when it exists */
	g_assert_cmpuint(c->tpm2_pcrs, ==, 0);
	g_assert_true(load_text(c, "tpm2_binding = swtpm:host=127.0.0.1,port=2321\n"
				   "tpm2_pcrs = 0, 7,23",
				NULL));
	g_assert_cmpstr(c->tpm2_binding, ==, "swtpm:host=127.0.0.1,port=2321");
	g_assert_cmpuint(c->tpm2_pcrs, ==, (1u << 0) | (1u << 7) | (1u << 23));
	g_assert_true(load_text(c, "tpm2_binding = none\ntpm2_pcrs = none", NULL));
	g_assert_cmpstr(c->tpm2_binding, ==, "none");
	g_assert_cmpuint(c->tpm2_pcrs, ==, 0);
	for (const char *const *b = bad; *b; b++) {
		g_autoptr(GError) error = NULL;

		g_assert_false(load_text(c, *b, &error));
		g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_INVALID_VALUE);
	}
	g_assert_true(tcs_tpm2_pcr_list_parse("0,2,4-7", &mask));
	g_assert_cmpuint(mask, ==, 0xf5);
	g_assert_cmpstr(tcs_tpm2_pcr_list_format(mask, buf, sizeof(buf)), ==, "0,2,4,5,6,7");
	g_assert_true(tcs_tpm2_pcr_list_parse("none", &mask));
	g_assert_cmpuint(mask, ==, 0);
	g_assert_cmpstr(tcs_tpm2_pcr_list_format(0, buf, sizeof(buf)), ==, "none");
	g_assert_false(tcs_tpm2_pcr_list_parse("24", &mask));
	g_assert_false(tcs_tpm2_pcr_list_parse("7-3", &mask));
	g_assert_false(tcs_tpm2_pcr_list_parse("1,,x", &mask));
}

static void
test_load_file(void)
{
	g_autoptr(TcsdConfig) c = tcsd_config_new_defaults();
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	g_autofree char *missing = NULL;
	g_autofree char *where = NULL;
	int fd;

	fd = g_file_open_tmp("tcsd-conf-XXXXXX", &path, &error);
	g_assert_no_error(error);
	close(fd);
	g_assert_true(g_file_set_contents(path, "port = 1234\nwhat = 1\n", -1, &error));
	g_assert_false(tcsd_config_load(c, path, &error));
	g_assert_error(error, TCSD_CONFIG_ERROR, TCSD_CONFIG_ERROR_UNKNOWN_OPTION);
	where = g_strdup_printf("at %s:2", path);
	g_assert_true(g_str_has_suffix(error->message, where));
	g_clear_error(&error);

	g_assert_true(g_file_set_contents(path, "port = 1234\n", -1, &error));
	g_assert_true(tcsd_config_load(c, path, &error));
	g_assert_cmpuint(c->port, ==, 1234);

	/* an explicit path must exist */
	missing = g_strconcat(path, ".missing", NULL);
	g_assert_false(tcsd_config_load(c, missing, &error));
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
	/* plain ASCII: GLib's own message quotes the path with locale-dependent marks */
	g_assert_true(g_str_has_prefix(error->message, "cannot read configuration file "));
	g_assert_true(g_str_has_suffix(error->message, ".missing: No such file or directory"));
	g_clear_error(&error);
	g_unlink(path);

	/* the default path may be missing */
	if (!g_file_test(TCS_SYSCONFDIR "/tcsd.conf", G_FILE_TEST_EXISTS)) {
		g_assert_true(tcsd_config_load(c, NULL, &error));
		g_assert_no_error(error);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tcsd/config/defaults", test_defaults);
	g_test_add_func("/tcsd/config/valid", test_valid);
	g_test_add_func("/tcsd/config/unknown-option", test_unknown_option);
	g_test_add_func("/tcsd/config/syntax", test_syntax);
	g_test_add_func("/tcsd/config/bad-port", test_bad_port);
	g_test_add_func("/tcsd/config/bad-values", test_bad_values);
	g_test_add_func("/tcsd/config/pcr-lists", test_pcr_lists);
	g_test_add_func("/tcsd/config/remote-ops", test_remote_ops);
	g_test_add_func("/tcsd/config/tpm-device", test_tpm_device);
	g_test_add_func("/tcsd/config/tpm2-binding", test_tpm2_binding);
	g_test_add_func("/tcsd/config/load-file", test_load_file);
	return g_test_run();
}

/*
 * test_k8s_conn.c - kubeconfig parsing and the in-cluster environment.
 *
 * Each case is a kubeconfig text written to a fresh temporary directory;
 * relative file names must come back absolute against that directory, and
 * each error must name the file (the temporary path) and the key.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s_http.h"

/* "aGVsbG8K" = "hello\n"; "Y2VydA==" = "cert"; "a2V5" = "key" */
static const struct kc_case {
	const char	*name;
	const char	*yaml;
	const char	*context;
	const char	*err;		/* after "<file>: "; NULL: success */
	const char	*server;
	const char	*ca_file;	/* "@/x": dir + "/x" */
	const char	*ca_data;
	bool		 insecure;
	const char	*token, *token_file;
	const char	*cert_file, *key_file, *cert_data, *key_data;
	const char	*namespace;
} kc_cases[] = {
	{ "token+ca-data",
	  "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
	  "    server: https://127.0.0.1:6443/\n    certificate-authority-data: aGVsbG8K\n"
	  "users:\n- name: u\n  user:\n    token: abc\n"
	  "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: ns1\n"
	  "current-context: x\n",
	  NULL, NULL, "https://127.0.0.1:6443", NULL, "hello\n", false, "abc", NULL,
	  NULL, NULL, NULL, NULL, "ns1" },
	{ "files relative and absolute",
	  "clusters:\n- name: c\n  cluster:\n    server: https://k:443\n"
	  "    certificate-authority: ca.pem\n    insecure-skip-tls-verify: false\n"
	  "users:\n- name: u\n  user:\n    tokenFile: sub/tok\n"
	  "    client-certificate: /abs/c.pem\n    client-key: k.pem\n"
	  "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
	  NULL, NULL, "https://k:443", "@/ca.pem", NULL, false, NULL, "@/sub/tok",
	  "/abs/c.pem", "@/k.pem", NULL, NULL, NULL },
	{ "client data, insecure, named context",
	  "clusters:\n- name: a\n  cluster: {server: 'https://a'}\n"
	  "- name: b\n  cluster:\n    server: https://[::1]:6443\n"
	  "    insecure-skip-tls-verify: true\n"
	  "users:\n- name: u\n  user:\n    client-certificate-data: Y2VydA==\n"
	  "    client-key-data: a2V5\n"
	  "contexts:\n- name: one\n  context: {cluster: a}\n"
	  "- name: two\n  context: {cluster: b, user: u}\ncurrent-context: one\n",
	  "two", NULL, "https://[::1]:6443", NULL, NULL, true, NULL, NULL,
	  NULL, NULL, "cert", "key", NULL },
	{ "-data wins over file; empty user",
	  "clusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:8080\n"
	  "    certificate-authority: ca.pem\n    certificate-authority-data: Y2VydA==\n"
	  "users:\n- name: u\n  user: {}\n"
	  "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
	  NULL, NULL, "http://127.0.0.1:8080", NULL, "cert", false, NULL, NULL,
	  NULL, NULL, NULL, NULL, NULL },
	{ "no current-context",
	  "clusters: []\ncontexts: []\n", NULL,
	  "no current-context and no context given" },
	{ "missing context",
	  "contexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: b\n", NULL,
	  "context \"b\" not found in contexts" },
	{ "no contexts",
	  "current-context: b\n", NULL, "context \"b\" not found (no contexts)" },
	{ "context without cluster",
	  "contexts:\n- name: a\n  context: {user: u}\ncurrent-context: a\n", NULL,
	  "context \"a\": missing key \"cluster\"" },
	{ "missing cluster",
	  "clusters:\n- name: z\n  cluster: {server: 'https://z'}\n"
	  "contexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: a\n", NULL,
	  "cluster \"c\" not found in clusters" },
	{ "cluster without server",
	  "clusters:\n- name: c\n  cluster: {insecure-skip-tls-verify: true}\n"
	  "contexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: a\n", NULL,
	  "cluster \"c\": missing key \"server\"" },
	{ "server not a URL",
	  "clusters:\n- name: c\n  cluster: {server: 'k:443'}\n"
	  "contexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: a\n", NULL,
	  "cluster \"c\": server: not an http(s) URL: \"k:443\"" },
	{ "bad insecure",
	  "clusters:\n- name: c\n  cluster: {server: 'https://k', insecure-skip-tls-verify: maybe}\n"
	  "contexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: a\n", NULL,
	  "cluster \"c\": insecure-skip-tls-verify: not a boolean: \"maybe\"" },
	{ "bad base64",
	  "clusters:\n- name: c\n  cluster: {server: 'https://k', certificate-authority-data: 'abc'}\n"
	  "contexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: a\n", NULL,
	  "cluster \"c\": certificate-authority-data: bad base64" },
	{ "missing user",
	  "clusters:\n- name: c\n  cluster: {server: 'https://k'}\n"
	  "users:\n- name: v\n  user: {token: t}\n"
	  "contexts:\n- name: a\n  context: {cluster: c, user: u}\ncurrent-context: a\n", NULL,
	  "user \"u\" not found in users" },
	{ "cert without key",
	  "clusters:\n- name: c\n  cluster: {server: 'https://k'}\n"
	  "users:\n- name: u\n  user: {client-certificate: c.pem}\n"
	  "contexts:\n- name: a\n  context: {cluster: c, user: u}\ncurrent-context: a\n", NULL,
	  "user \"u\": client-certificate without client-key" },
	{ "key without cert",
	  "clusters:\n- name: c\n  cluster: {server: 'https://k'}\n"
	  "users:\n- name: u\n  user: {client-key-data: a2V5}\n"
	  "contexts:\n- name: a\n  context: {cluster: c, user: u}\ncurrent-context: a\n", NULL,
	  "user \"u\": client-key without client-certificate" },
	{ "token not a string",
	  "clusters:\n- name: c\n  cluster: {server: 'https://k'}\n"
	  "users:\n- name: u\n  user: {token: [a]}\n"
	  "contexts:\n- name: a\n  context: {cluster: c, user: u}\ncurrent-context: a\n", NULL,
	  "user \"u\": token: not a string" },
	{ "clusters not a list",
	  "clusters: {}\ncontexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: a\n",
	  NULL, "clusters: not a list" },
	{ "not a mapping",
	  "- a\n- b\n", NULL, "not a kubeconfig (no top-level mapping)" },
	{ "YAML syntax",
	  "clusters: [\n", NULL, "line 2: did not find expected node content" },
};

static char tmpdir[64];

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/test_k8s_conn.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void
check_str(const char *what, const char *got, const char *want)
{
	char buf[256];

	if (want != NULL && want[0] == '@') {
		snprintf(buf, sizeof(buf), "%s%s", tmpdir, want + 1);
		want = buf;
	}
	if (want == NULL)
		ck_assert_msg(got == NULL, "%s: got \"%s\", want NULL", what, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0,
		    "%s: got \"%s\", want \"%s\"", what, got ? got : "(null)", want);
}

START_TEST(test_kubeconfig)
{
	const struct kc_case *tc = &kc_cases[_i];
	struct k8s_conn c;
	char path[256], err[512], want[512];
	int rc;

	write_file("kubeconfig", tc->yaml);
	snprintf(path, sizeof(path), "%s/kubeconfig", tmpdir);
	err[0] = '\0';
	rc = k8s_conn_from_kubeconfig(path, tc->context, &c, err, sizeof(err));
	if (tc->err != NULL) {
		snprintf(want, sizeof(want), "%s: %s", path, tc->err);
		ck_assert_msg(rc == -1, "%s: parsed", tc->name);
		ck_assert_str_eq(err, want);
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", tc->name, err);
	check_str("server", c.server, tc->server);
	check_str("ca_file", c.ca_file, tc->ca_file);
	check_str("ca_data", c.ca_data, tc->ca_data);
	ck_assert_int_eq(c.insecure, tc->insecure);
	check_str("token", c.token, tc->token);
	check_str("token_file", c.token_file, tc->token_file);
	check_str("client_cert_file", c.client_cert_file, tc->cert_file);
	check_str("client_key_file", c.client_key_file, tc->key_file);
	check_str("client_cert_data", c.client_cert_data, tc->cert_data);
	check_str("client_key_data", c.client_key_data, tc->key_data);
	check_str("namespace", c.namespace, tc->namespace);
	k8s_conn_free(&c);
}
END_TEST

START_TEST(test_kubeconfig_missing_file)
{
	struct k8s_conn c;
	char path[256], err[512], want[600];

	snprintf(path, sizeof(path), "%s/nope", tmpdir);
	ck_assert_int_eq(k8s_conn_from_kubeconfig(path, NULL, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_in_cluster)
{
	struct k8s_conn c;
	char err[512], want[600];

	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	ck_assert_int_eq(k8s_conn_in_cluster(tmpdir, &c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "in-cluster: KUBERNETES_SERVICE_HOST is not set");

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	ck_assert_int_eq(k8s_conn_in_cluster(tmpdir, &c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "in-cluster: KUBERNETES_SERVICE_PORT is not set");

	setenv("KUBERNETES_SERVICE_PORT", "44x", 1);
	ck_assert_int_eq(k8s_conn_in_cluster(tmpdir, &c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "in-cluster: KUBERNETES_SERVICE_PORT: bad port \"44x\"");

	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(k8s_conn_in_cluster(tmpdir, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "in-cluster: %s/token: No such file or directory",
	    tmpdir);
	ck_assert_str_eq(err, want);

	write_file("token", "  tok-1\n");
	ck_assert_int_eq(k8s_conn_in_cluster(tmpdir, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "in-cluster: %s/ca.crt: No such file or directory",
	    tmpdir);
	ck_assert_str_eq(err, want);

	/* No namespace file: allowed. */
	write_file("ca.crt", "PEM");
	ck_assert_int_eq(k8s_conn_in_cluster(tmpdir, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.server, "https://10.96.0.1:443");
	ck_assert_str_eq(c.token, "tok-1");
	snprintf(want, sizeof(want), "%s/token", tmpdir);
	ck_assert_str_eq(c.token_file, want);
	snprintf(want, sizeof(want), "%s/ca.crt", tmpdir);
	ck_assert_str_eq(c.ca_file, want);
	ck_assert_ptr_null(c.namespace);
	ck_assert(!c.insecure);
	k8s_conn_free(&c);

	write_file("namespace", "bgplb-system\n");
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	ck_assert_int_eq(k8s_conn_in_cluster(tmpdir, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.server, "https://[fd00::1]:443");
	ck_assert_str_eq(c.namespace, "bgplb-system");
	k8s_conn_free(&c);
}
END_TEST

static Suite *
k8s_conn_suite(void)
{
	Suite *s = suite_create("k8s_conn");
	TCase *tc = tcase_create("kubeconfig");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_kubeconfig, 0,
	    (int)(sizeof(kc_cases) / sizeof(kc_cases[0])));
	tcase_add_test(tc, test_kubeconfig_missing_file);
	tcase_add_test(tc, test_in_cluster);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(k8s_conn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

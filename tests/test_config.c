/*
 * test_config.c - unit tests of the configuration loader.
 *
 * Most of the coverage is golden files in tests/config/: NAME.yaml with
 * either NAME.out (the exact cfg_emit output) or NAME.err (the exact error
 * lines).  Files are loaded by their bare name from inside that directory,
 * so the file name in error lines is stable wherever the tree lives.  Every
 * .out golden is also loaded back and must emit identically.  The small
 * value grammars (durations, communities, RD/RT) and selector matching are
 * checked with tables.  $BGPLB_SRCDIR must point at the source tree.
 */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgplb/config.h"

static const char *
srcdir(void)
{
	const char *s = getenv("BGPLB_SRCDIR");

	ck_assert_msg(s != NULL, "BGPLB_SRCDIR is not set");
	return s;
}

static void
chdir_to(const char *sub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", srcdir(), sub);
	ck_assert_msg(chdir(path) == 0, "chdir %s", path);
}

/* Whole file, NUL-terminated; NULL when it does not exist. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, n;

	if (f == NULL)
		return NULL;
	buf = malloc(1);
	for (;;) {
		buf = realloc(buf, len + 4097);
		ck_assert_ptr_nonnull(buf);
		if ((n = fread(buf + len, 1, 4096, f)) == 0)
			break;
		len += n;
	}
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

static char *
emit_str(const struct cfg *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	cfg_emit(c, f);
	fclose(f);
	return out;
}

static char *
errors_str(const struct cfg_errors *e)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (size_t i = 0; i < e->n; i++)
		fprintf(f, "%s\n", e->lines[i]);
	fclose(f);
	return out;
}

/* The password comment is the one line that cannot survive a reload. */
static char *
strip_password(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	while (*s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t n = nl != NULL ? (size_t)(nl - s + 1) : strlen(s);

		if (strstr(s, "# password: set (not shown)") == NULL ||
		    (nl != NULL && strstr(s, "# password") > nl)) {
			memcpy(o, s, n);
			o += n;
		}
		s += n;
	}
	*o = '\0';
	return out;
}

/* Emit, reload the emitted text, emit again: the same text. */
static void
assert_round_trip(const char *name, const char *emitted)
{
	struct cfg_errors errs = { 0 };
	struct cfg *c2;
	char *again, *a, *b, *errtext;

	c2 = cfg_load_buf("roundtrip.yaml", emitted, strlen(emitted), &errs);
	errtext = errors_str(&errs);
	ck_assert_msg(c2 != NULL, "%s: emitted config does not reload:\n%s\n%s",
	    name, errtext, emitted);
	again = emit_str(c2);
	a = strip_password(emitted);
	b = strip_password(again);
	ck_assert_msg(strcmp(a, b) == 0, "%s: round trip differs:\n%s\n---\n%s",
	    name, a, b);
	free(a);
	free(b);
	free(again);
	free(errtext);
	cfg_free(c2);
	cfg_errors_free(&errs);
}

/* ---- golden files ---- */

static const char *const goldens[] = {
	"native-full", "native-minimal", "legacy-full", "configmap-native",
	"multi-doc", "seed-metallb-configMap", "status-token", "status-insecure",
	"err-agg", "err-alias", "err-asn-port", "err-communities",
	"err-configmap-folded", "err-configmap-indented", "err-configmap-key",
	"err-configmap-missing", "err-configmap-syntax", "err-dup-names",
	"err-layer2-bgp-keys", "err-legacy", "err-multi-doc",
	"err-no-configmap", "err-ranges", "err-refs", "err-semantic",
	"err-services", "err-syntax", "err-syntax-unclosed", "err-timers",
	"err-types", "err-unknown-key", "err-values", "err-status-exposed",
	"err-password", "k8s-daemon", "err-k8s-daemon", "health",
	"err-health",
};
#define NGOLDENS (int)(sizeof(goldens) / sizeof(goldens[0]))

START_TEST(test_golden)
{
	const char *name = goldens[_i];
	char yaml[256], out[256], errf[256];
	char *want_out, *want_err, *got;
	struct cfg_errors errs = { 0 };
	struct cfg *c;

	chdir_to("tests/config");
	snprintf(yaml, sizeof(yaml), "%s.yaml", name);
	snprintf(out, sizeof(out), "%s.out", name);
	snprintf(errf, sizeof(errf), "%s.err", name);
	want_out = slurp(out, NULL);
	want_err = slurp(errf, NULL);
	ck_assert_msg((want_out != NULL) != (want_err != NULL),
	    "%s: needs exactly one of .out and .err", name);

	c = cfg_load_file(yaml, &errs);
	got = errors_str(&errs);
	if (want_err != NULL) {
		ck_assert_msg(c == NULL, "%s: loaded despite errors", name);
		ck_assert_msg(errs.n > 0, "%s: no errors reported", name);
		ck_assert_msg(strcmp(got, want_err) == 0,
		    "%s: errors differ; got:\n%s\nwant:\n%s", name, got,
		    want_err);
	} else {
		char *emitted;

		ck_assert_msg(c != NULL, "%s: failed to load:\n%s", name, got);
		ck_assert_uint_eq(errs.n, 0);
		{
			/* Warnings: exactly NAME.warn, or none. */
			char warnf[256], *want_warn, *got_warn = NULL;
			size_t wl = 0;
			FILE *wf = open_memstream(&got_warn, &wl);

			ck_assert_ptr_nonnull(wf);
			for (size_t i = 0; i < c->nwarnings; i++)
				fprintf(wf, "%s\n", c->warnings[i]);
			fclose(wf);
			snprintf(warnf, sizeof(warnf), "%s.warn", name);
			want_warn = slurp(warnf, NULL);
			ck_assert_msg(strcmp(got_warn, want_warn ? want_warn :
			    "") == 0, "%s: warnings differ; got:\n%s\nwant:\n%s",
			    name, got_warn, want_warn ? want_warn : "");
			free(want_warn);
			free(got_warn);
		}
		emitted = emit_str(c);
		ck_assert_msg(strcmp(emitted, want_out) == 0,
		    "%s: output differs; got:\n%s\nwant:\n%s", name, emitted,
		    want_out);
		assert_round_trip(name, emitted);
		free(emitted);
	}
	free(got);
	free(want_out);
	free(want_err);
	cfg_free(c);
	cfg_errors_free(&errs);
}
END_TEST

/* No golden file is forgotten by the table above. */
START_TEST(test_golden_table_complete)
{
	glob_t g;

	chdir_to("tests/config");
	ck_assert_int_eq(glob("*.yaml", 0, NULL, &g), 0);
	ck_assert_uint_ge(g.gl_pathc, (size_t)NGOLDENS);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		bool found = false;

		for (int j = 0; j < NGOLDENS; j++)
			if (strncmp(g.gl_pathv[i], goldens[j],
			    strlen(goldens[j])) == 0 &&
			    strcmp(g.gl_pathv[i] + strlen(goldens[j]),
			    ".yaml") == 0)
				found = true;
		ck_assert_msg(found, "%s is not in the goldens table",
		    g.gl_pathv[i]);
	}
	globfree(&g);
}
END_TEST

/* The seed ConfigMap as users have it, when the shared tree is present. */
START_TEST(test_seed_configmap)
{
	char path[4096];
	char *seed, *copy, *want, *got;
	struct cfg_errors errs = { 0 };
	struct cfg *c;

	snprintf(path, sizeof(path), "%s/../shared/seed-examples/"
	    "metallb-configMap.yml", srcdir());
	if ((seed = slurp(path, NULL)) == NULL)
		return;		/* the verbatim copy is a golden anyway */
	chdir_to("tests/config");
	copy = slurp("seed-metallb-configMap.yaml", NULL);
	want = slurp("seed-metallb-configMap.out", NULL);
	ck_assert_ptr_nonnull(copy);
	ck_assert_ptr_nonnull(want);
	ck_assert_msg(strcmp(seed, copy) == 0, "the verbatim copy drifted");
	c = cfg_load_file(path, &errs);
	ck_assert_msg(c != NULL, "seed failed to load");
	ck_assert_int_eq(c->source, CFG_SOURCE_CONFIGMAP_METALLB);
	ck_assert_uint_eq(c->npools, 2);
	ck_assert_int_eq(c->pools[1].protocol, CFG_PROTO_LAYER2);
	ck_assert_ptr_nonnull(cfg_pool_find(c, "poc"));
	got = emit_str(c);
	ck_assert_str_eq(got, want);
	free(got);
	free(seed);
	free(copy);
	free(want);
	cfg_free(c);
	cfg_errors_free(&errs);
}
END_TEST

/* Everything in examples/ loads cleanly and round-trips. */
START_TEST(test_examples)
{
	glob_t g;
	size_t n = 0;

	chdir_to("examples");
	ck_assert_int_eq(glob("*.yaml", 0, NULL, &g), 0);
	ck_assert_int_eq(glob("*.yml", GLOB_APPEND, NULL, &g), 0);
	ck_assert_int_eq(glob("control-plane-vip/*.yaml", GLOB_APPEND, NULL,
	    &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct cfg_errors errs = { 0 };
		struct cfg *c = cfg_load_file(g.gl_pathv[i], &errs);
		char *e = errors_str(&errs), *out;

		ck_assert_msg(c != NULL && errs.n == 0, "%s:\n%s",
		    g.gl_pathv[i], e);
		out = emit_str(c);
		assert_round_trip(g.gl_pathv[i], out);
		free(out);
		free(e);
		cfg_free(c);
		cfg_errors_free(&errs);
		n++;
	}
	ck_assert_uint_ge(n, 5);
	globfree(&g);
}
END_TEST

/* Loading from a buffer uses the given name; errors accumulate. */
START_TEST(test_load_buf_and_missing_file)
{
	static const char bad[] = "pools:\n  - name: a\n    adresses: []\n";
	struct cfg_errors errs = { 0 };
	struct cfg *c;

	c = cfg_load_buf("mem.yaml", bad, strlen(bad), &errs);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.lines[1], "mem.yaml:3:5: pools[0].adresses: "
	    "unknown key \"adresses\" (did you mean \"addresses\"?)");
	c = cfg_load_file("/nonexistent/bgplb.yaml", &errs);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 3);
	ck_assert_str_eq(errs.lines[2], "/nonexistent/bgplb.yaml:1:1: cannot "
	    "read the file: No such file or directory");
	cfg_errors_free(&errs);
	ck_assert_uint_eq(errs.n, 0);

	c = cfg_load_buf("empty.yaml", "", 0, &errs);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->status_listen, "127.0.0.1:7473");
	ck_assert_str_eq(c->file, "empty.yaml");
	cfg_free(c);
}
END_TEST

/*
 * Kubernetes mode: the cluster ConfigMap's data.config.  Either form loads;
 * node-local keys there are warnings (not used); real mistakes are errors
 * placed in data.config.
 */
static const struct cluster_case {
	const char *text;
	int ok;				/* 1: loads */
	enum cfg_source source;
	size_t npools, npeers;
	const char *diag;		/* errors or warnings, one per line */
} cluster_cases[] = {
	/* The seed's data.config, verbatim. */
	{ "address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n"
	  "  - 172.16.3.1-172.16.3.254\n- name: poc\n  protocol: layer2\n"
	  "  addresses:\n  - 172.16.13.1-172.16.13.254\n", 1,
	  CFG_SOURCE_CONFIGMAP_METALLB, 2, 0, "" },
	/* The seed switched to BGP with a peer, as the end-to-end test does. */
	{ "peers:\n- peer-address: 10.0.0.1\n  peer-asn: 64500\n  my-asn: 64512\n"
	  "address-pools:\n- name: poc\n  protocol: bgp\n  addresses:\n"
	  "  - 172.16.13.1-172.16.13.254\n", 1, CFG_SOURCE_CONFIGMAP_METALLB, 1, 1,
	  "" },
	{ "pools: [{name: a, addresses: [10.1.0.0/24]}]\nnode: worker-1\n"
	  "kubernetes: {}\nservices: [{name: x}]\n", 1,
	  CFG_SOURCE_CONFIGMAP_NATIVE, 1, 0,
	  "data.config:2:7: warning: node: not used from the ConfigMap: a "
	  "node's own setting belongs in the daemon's file (--config)\n"
	  "data.config:3:13: warning: kubernetes: not used from the ConfigMap: "
	  "a node's own setting belongs in the daemon's file (--config)\n"
	  "data.config:4:11: warning: services: not used in Kubernetes mode: "
	  "the services are the cluster's Service objects\n" },
	/* The seed walk-through's typo. */
	{ "address-pools:\n- name: poc\n  protocol: layer2\n  addresses: 10.1.1.1: x\n",
	  0, 0, 0, 0, "data.config:4:22: syntax error: mapping values are not allowed in this "
	  "context\n" },
	{ "pools: [{name: a, addresses: [10.1.0.9-10.1.0.1]}]\n", 0, 0, 0, 0,
	  "data.config:1:31: pools[0].addresses[0]: range start 10.1.0.9 is after "
	  "its end 10.1.0.1\n" },
	/* A whole manifest pasted into data.config is not searched for a
	 * ConfigMap: it is a config with unknown keys. */
	{ "apiVersion: v1\nkind: ConfigMap\n", 0, 0, 0, 0,
	  "data.config:1:1: apiVersion: unknown key \"apiVersion\"\n"
	  "data.config:2:1: kind: unknown key \"kind\"\n" },
	{ "", 1, CFG_SOURCE_CONFIGMAP_NATIVE, 0, 0, "" },
};

START_TEST(test_cluster_config)
{
	const struct cluster_case *k = &cluster_cases[_i];
	struct cfg_errors errs = { 0 };
	struct cfg *c;
	char *diag = NULL;
	size_t dl = 0;
	FILE *f;

	c = cfg_load_cluster("data.config", k->text, strlen(k->text), &errs);
	ck_assert_ptr_nonnull(f = open_memstream(&diag, &dl));
	for (size_t i = 0; i < errs.n; i++)
		fprintf(f, "%s\n", errs.lines[i]);
	for (size_t i = 0; c != NULL && i < c->nwarnings; i++)
		fprintf(f, "%s\n", c->warnings[i]);
	fclose(f);
	ck_assert_msg(strcmp(diag, k->diag) == 0, "case %d: got:\n%s\nwant:\n%s",
	    _i, diag, k->diag);
	ck_assert_int_eq(c != NULL, k->ok);
	if (c != NULL) {
		ck_assert_int_eq(c->source, k->source);
		ck_assert_uint_eq(c->npools, k->npools);
		ck_assert_uint_eq(c->npeers, k->npeers);
		ck_assert_ptr_null(c->node);
		ck_assert(!c->kubernetes.enabled);
		ck_assert_uint_eq(c->nservices, 0);
	}
	free(diag);
	cfg_free(c);
	cfg_errors_free(&errs);
}
END_TEST

/* The daemon's file and the cluster's part make one config. */
START_TEST(test_k8s_merge)
{
	static const char local[] =
	    "router-id: 10.0.0.2\n"
	    "pools: [{name: ignored, addresses: [10.9.0.0/24]}]\n"
	    "services: [{name: a/b, pool: ignored}]\n"
	    "layer2:\n  membership:\n    key-file: /k\n"
	    "    members: [{name: n2, address: 10.0.0.3}]\n"
	    "kubernetes: {config-map: ns/cm}\n";
	static const char cluster[] =
	    "bgp-communities: {web: 64512:100}\n"
	    "peers: [{name: tor, address: 10.0.0.1, asn: 64500, my-asn: 64512}]\n"
	    "pools: [{name: web, addresses: [198.51.100.0/28], communities: [web]}]\n"
	    "status-listen: 0.0.0.0:1\n";
	struct cfg_errors errs = { 0 };
	struct cfg *l, *k, *m;

	l = cfg_load_buf("bgplbd.yaml", local, strlen(local), &errs);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->nwarnings, 3);
	ck_assert_str_eq(l->warnings[0], "bgplbd.yaml:2:8: warning: pools: not "
	    "used in Kubernetes mode: taken from the ConfigMap ns/cm (data.config)");
	k = cfg_load_cluster("data.config", cluster, strlen(cluster), &errs);
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_uint_eq(k->nwarnings, 1);
	m = cfg_k8s_merge(l, k);
	ck_assert_ptr_eq(m, l);
	ck_assert_uint_eq(m->npools, 1);
	ck_assert_str_eq(m->pools[0].name, "web");
	ck_assert_uint_eq(m->pools[0].adverts[0].communities[0], 64512u << 16 | 100);
	ck_assert_uint_eq(m->npeers, 1);
	ck_assert_uint_eq(m->ncommunity_aliases, 1);
	ck_assert_uint_eq(m->nservices, 0);
	ck_assert_uint_eq(m->layer2.nmembers, 0);
	ck_assert_str_eq(m->layer2.key_file, "/k");
	ck_assert_str_eq(m->status_listen, "127.0.0.1:7473");
	ck_assert_int_eq(m->source, CFG_SOURCE_CONFIGMAP_NATIVE);
	ck_assert(m->kubernetes.enabled);
	ck_assert_str_eq(m->kubernetes.config_map, "ns/cm");
	/* The daemon's warnings, then the ConfigMap's. */
	ck_assert_uint_eq(m->nwarnings, 4);
	ck_assert_str_eq(m->warnings[3], "data.config:4:16: warning: "
	    "status-listen: not used from the ConfigMap: a node's own setting "
	    "belongs in the daemon's file (--config)");
	cfg_free(m);
	cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_lookups)
{
	static const char y[] =
	    "nodes: [{name: n1, labels: {rack: r1}}]\n"
	    "vrfs: [{name: red, route-distinguisher: 192.0.2.1:7}]\n"
	    "peers: [{name: p, address: 192.0.2.1, asn: 1, my-asn: 2}]\n"
	    "pools: [{name: a, protocol: layer2, addresses: [192.0.2.0/28]}]\n";
	struct cfg_errors errs = { 0 };
	struct cfg *c = cfg_load_buf("l.yaml", y, strlen(y), &errs);

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(cfg_pool_find(c, "a"), &c->pools[0]);
	ck_assert_ptr_null(cfg_pool_find(c, "b"));
	ck_assert_ptr_eq(cfg_peer_find(c, "p"), &c->peers[0]);
	ck_assert_ptr_null(cfg_peer_find(c, "q"));
	ck_assert_ptr_eq(cfg_vrf_find(c, "red"), &c->vrfs[0]);
	ck_assert_ptr_null(cfg_vrf_find(c, "blue"));
	ck_assert_ptr_eq(cfg_node_find(c, "n1"), &c->nodes[0]);
	ck_assert_ptr_null(cfg_node_find(c, NULL));
	ck_assert_str_eq(c->vrfs[0].route_distinguisher, "192.0.2.1:7");
	ck_assert_int_eq(c->vrfs[0].rd[1], 1);
	ck_assert_uint_eq(c->peers[0].keepalive_ms, 30000);
	ck_assert_uint_eq(c->peers[0].hold_time_ms, 90000);
	ck_assert_int_eq(c->source, CFG_SOURCE_NATIVE);
	cfg_free(c);
	cfg_errors_free(&errs);
}
END_TEST

/* ---- value grammars ---- */

static const struct {
	const char	*in;
	int		 ret;
	uint32_t	 ms;
} durations[] = {
	{ "90s", 0, 90000 }, { "300ms", 0, 300 }, { "2m", 0, 120000 },
	{ "1h", 0, 3600000 }, { "90", 0, 90000 }, { "0", 0, 0 },
	{ "1m30s", 0, 90000 }, { "1h1ms", 0, 3600001 }, { "0s", 0, 0 },
	{ "", -1, 0 }, { "s", -1, 0 }, { "90x", -1, 0 }, { "-1s", -1, 0 },
	{ "1.5s", -1, 0 }, { "90 s", -1, 0 }, { "5000000s", -1, 0 },
	{ "4294967296", -1, 0 }, { "4294967ms", 0, 4294967 },
	{ "2000h", -1, 0 },
};

START_TEST(test_duration)
{
	uint32_t ms = 12345;
	int ret = cfg_parse_duration(durations[_i].in, &ms);

	ck_assert_msg(ret == durations[_i].ret, "\"%s\": ret %d",
	    durations[_i].in, ret);
	if (ret == 0)
		ck_assert_uint_eq(ms, durations[_i].ms);
}
END_TEST

static const struct {
	const char	*in;
	int		 ret;
	uint32_t	 v;
} communities[] = {
	{ "64512:100", 0, 64512u << 16 | 100 }, { "0:0", 0, 0 },
	{ "65535:65535", 0, 0xFFFFFFFF }, { "no-export", 0, 0xFFFFFF01 },
	{ "NO-ADVERTISE", 0, 0xFFFFFF02 }, { "no-export-subconfed", 0, 0xFFFFFF03 },
	{ "no-peer", 0, 0xFFFFFF04 }, { "blackhole", 0, 0xFFFF029A },
	{ "graceful-shutdown", 0, 0xFFFF0000 }, { "accept-own", 0, 0xFFFF0001 },
	{ "llgr-stale", 0, 0xFFFF0006 }, { "no-llgr", 0, 0xFFFF0007 },
	{ "4294967295", 0, 0xFFFFFFFF }, { "100", 0, 100 },
	{ "65536:1", -1, 0 }, { "1:65536", -1, 0 }, { "1:", -1, 0 },
	{ ":1", -1, 0 }, { "a:b", -1, 0 }, { "1:2:3", -1, 0 },
	{ "4294967296", -1, 0 }, { "", -1, 0 }, { "no-such", -1, 0 },
};

START_TEST(test_community)
{
	uint32_t v = 7;
	int ret = cfg_parse_community(communities[_i].in, &v);

	ck_assert_msg(ret == communities[_i].ret, "\"%s\": ret %d",
	    communities[_i].in, ret);
	if (ret == 0)
		ck_assert_uint_eq(v, communities[_i].v);
}
END_TEST

static const struct {
	const char	*in;
	int		 ret;
	uint32_t	 g, l1, l2;
} large_communities[] = {
	{ "64512:1:1", 0, 64512, 1, 1 },
	{ "4294967295:4294967295:0", 0, 4294967295u, 4294967295u, 0 },
	{ "1:2", -1, 0, 0, 0 }, { "1:2:3:4", -1, 0, 0, 0 },
	{ "4294967296:1:1", -1, 0, 0, 0 }, { "a:1:1", -1, 0, 0, 0 },
	{ "1::1", -1, 0, 0, 0 }, { "", -1, 0, 0, 0 },
};

START_TEST(test_large_community)
{
	struct cfg_large_community lc = { 9, 9, 9 };
	int ret = cfg_parse_large_community(large_communities[_i].in, &lc);

	ck_assert_msg(ret == large_communities[_i].ret, "\"%s\": ret %d",
	    large_communities[_i].in, ret);
	if (ret == 0) {
		ck_assert_uint_eq(lc.global, large_communities[_i].g);
		ck_assert_uint_eq(lc.local1, large_communities[_i].l1);
		ck_assert_uint_eq(lc.local2, large_communities[_i].l2);
	}
}
END_TEST

static const struct {
	const char	*in;
	int		 ret;
	uint8_t		 rd[8];
	uint8_t		 rt[8];
} rdrts[] = {
	{ "64512:13", 0, { 0, 0, 0xFC, 0x00, 0, 0, 0, 13 },
	    { 0x00, 0x02, 0xFC, 0x00, 0, 0, 0, 13 } },
	{ "1:4294967295", 0, { 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF },
	    { 0x00, 0x02, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF } },
	{ "192.0.2.1:7", 0, { 0, 1, 192, 0, 2, 1, 0, 7 },
	    { 0x01, 0x02, 192, 0, 2, 1, 0, 7 } },
	{ "4200000000:65535", 0, { 0, 2, 0xFA, 0x56, 0xEA, 0x00, 0xFF, 0xFF },
	    { 0x02, 0x02, 0xFA, 0x56, 0xEA, 0x00, 0xFF, 0xFF } },
	{ "4200000000:65536", -1, { 0 }, { 0 } },
	{ "192.0.2.1:65536", -1, { 0 }, { 0 } },
	{ "1:4294967296", -1, { 0 }, { 0 } },
	{ "4294967296:1", -1, { 0 }, { 0 } },
	{ "2001:db8::1:1", -1, { 0 }, { 0 } },
	{ "1.2.3:4", -1, { 0 }, { 0 } },
	{ "x:1", -1, { 0 }, { 0 } },
	{ "64512", -1, { 0 }, { 0 } },
	{ ":1", -1, { 0 }, { 0 } },
};

START_TEST(test_rd_rt)
{
	uint8_t rd[8], rt[8];
	int r1 = cfg_parse_rd(rdrts[_i].in, rd);
	int r2 = cfg_parse_rt(rdrts[_i].in, rt);

	ck_assert_msg(r1 == rdrts[_i].ret && r2 == rdrts[_i].ret,
	    "\"%s\": rd %d rt %d", rdrts[_i].in, r1, r2);
	if (rdrts[_i].ret == 0) {
		ck_assert_mem_eq(rd, rdrts[_i].rd, 8);
		ck_assert_mem_eq(rt, rdrts[_i].rt, 8);
	}
}
END_TEST

/* ---- selectors ---- */

static char *in_vals[] = { "r1", "r2" };
static struct cfg_kv lbl_rack_r1[] = { { "rack", "r1" } };
static struct cfg_sel_expr expr_in = { "rack", CFG_SEL_IN, in_vals, 2 };
static struct cfg_sel_expr expr_notin = { "rack", CFG_SEL_NOT_IN, in_vals, 2 };
static struct cfg_sel_expr expr_exists = { "spare", CFG_SEL_EXISTS, NULL, 0 };
static struct cfg_sel_expr expr_dne = { "spare", CFG_SEL_DOES_NOT_EXIST,
    NULL, 0 };
static struct cfg_sel_term term_labels = { lbl_rack_r1, 1, NULL, 0 };
static struct cfg_sel_term term_in = { NULL, 0, &expr_in, 1 };
static struct cfg_sel_term term_notin = { NULL, 0, &expr_notin, 1 };
static struct cfg_sel_term term_exists = { NULL, 0, &expr_exists, 1 };
static struct cfg_sel_term term_dne = { NULL, 0, &expr_dne, 1 };
static struct cfg_sel_term term_both = { lbl_rack_r1, 1, &expr_exists, 1 };
static struct cfg_sel_term terms_any[] = { { lbl_rack_r1, 1, NULL, 0 },
    { NULL, 0, &expr_exists, 1 } };
static struct cfg_sel_term term_empty = { NULL, 0, NULL, 0 };

static struct cfg_kv node_r1[] = { { "rack", "r1" } };
static struct cfg_kv node_r3[] = { { "rack", "r3" } };
static struct cfg_kv node_r3_spare[] = { { "rack", "r3" }, { "spare", "" } };
static struct cfg_kv node_r1_spare[] = { { "spare", "yes" }, { "rack", "r1" } };

static const struct {
	const char		*what;
	struct cfg_selector	 sel;
	struct cfg_kv		*labels;
	size_t			 nlabels;
	bool			 match;
} selectors[] = {
	{ "empty selector", { NULL, 0 }, NULL, 0, true },
	{ "labels match", { &term_labels, 1 }, node_r1, 1, true },
	{ "labels differ", { &term_labels, 1 }, node_r3, 1, false },
	{ "labels missing", { &term_labels, 1 }, NULL, 0, false },
	{ "In match", { &term_in, 1 }, node_r1, 1, true },
	{ "In miss", { &term_in, 1 }, node_r3, 1, false },
	{ "In no label", { &term_in, 1 }, NULL, 0, false },
	{ "NotIn match", { &term_notin, 1 }, node_r3, 1, true },
	{ "NotIn miss", { &term_notin, 1 }, node_r1, 1, false },
	{ "NotIn no label", { &term_notin, 1 }, NULL, 0, true },
	{ "Exists yes", { &term_exists, 1 }, node_r3_spare, 2, true },
	{ "Exists no", { &term_exists, 1 }, node_r3, 1, false },
	{ "DoesNotExist yes", { &term_dne, 1 }, node_r3, 1, true },
	{ "DoesNotExist no", { &term_dne, 1 }, node_r3_spare, 2, false },
	{ "AND both", { &term_both, 1 }, node_r1_spare, 2, true },
	{ "AND one", { &term_both, 1 }, node_r1, 1, false },
	{ "OR first", { terms_any, 2 }, node_r1, 1, true },
	{ "OR second", { terms_any, 2 }, node_r3_spare, 2, true },
	{ "OR none", { terms_any, 2 }, node_r3, 1, false },
	{ "empty term", { &term_empty, 1 }, node_r3, 1, true },
};

START_TEST(test_selector)
{
	bool m = cfg_selector_match(&selectors[_i].sel, selectors[_i].labels,
	    selectors[_i].nlabels);

	ck_assert_msg(m == selectors[_i].match, "%s: got %d",
	    selectors[_i].what, m);
}
END_TEST

/* Parsed selectors behave like built ones. */
START_TEST(test_selector_parsed)
{
	static const char y[] =
	    "peers:\n"
	    "  - address: 192.0.2.1\n"
	    "    asn: 1\n"
	    "    my-asn: 2\n"
	    "    node-selectors:\n"
	    "      - match-labels: {rack: r1}\n"
	    "        match-expressions:\n"
	    "          - {key: role, operator: notin, values: [edge]}\n";
	struct cfg_errors errs = { 0 };
	struct cfg *c = cfg_load_buf("s.yaml", y, strlen(y), &errs);
	struct cfg_kv ok[] = { { "rack", "r1" }, { "role", "core" } };
	struct cfg_kv edge[] = { { "rack", "r1" }, { "role", "edge" } };

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->peers[0].node_selector.nterms, 1);
	ck_assert(cfg_selector_match(&c->peers[0].node_selector, ok, 2));
	ck_assert(!cfg_selector_match(&c->peers[0].node_selector, edge, 2));
	ck_assert(!cfg_selector_match(&c->peers[0].node_selector, NULL, 0));
	cfg_free(c);
}
END_TEST

START_TEST(test_proto_name)
{
	ck_assert_str_eq(cfg_proto_name(CFG_PROTO_BGP), "bgp");
	ck_assert_str_eq(cfg_proto_name(CFG_PROTO_LAYER2), "layer2");
}
END_TEST

/*
 * Leader election timing in the daemon's kubernetes: section (client-go's
 * lease-duration, renew-deadline, retry-period; 0 = default).
 */
static const struct {
	const char *text;
	unsigned lease_s, renew_ms, retry_ms;
} election_ok[] = {
	{ "kubernetes: {}\n", 0, 0, 0 },
	{ "kubernetes:\n  lease-duration: 60s\n  renew-deadline: 40s\n"
	  "  retry-period: 5s\n", 60, 40000, 5000 },
	{ "kubernetes: {lease-duration: 1m}\n", 60, 0, 0 },
	{ "kubernetes: {lease-duration: 90}\n", 90, 0, 0 },
	{ "kubernetes: {lease-duration: 11s}\n", 11, 0, 0 },
	{ "kubernetes: {renew-deadline: 14500ms}\n", 0, 14500, 0 },
	{ "kubernetes: {renew-deadline: 3s}\n", 0, 3000, 0 },
	{ "kubernetes: {retry-period: 500ms}\n", 0, 0, 500 },
	{ "kubernetes: {retry-period: 8s}\n", 0, 0, 8000 },
	/* Just over 1.2 times the default retry-period of 2s. */
	{ "kubernetes: {renew-deadline: 2401ms}\n", 0, 2401, 0 },
	{ "kubernetes: {lease-duration: 2s, renew-deadline: 1500ms, "
	  "retry-period: 1s}\n", 2, 1500, 1000 },
};

START_TEST(test_election_valid)
{
	struct cfg_errors errs = { 0 };
	const char *y = election_ok[_i].text;
	struct cfg *c = cfg_load_buf("k.yaml", y, strlen(y), &errs);
	char *e = errors_str(&errs);

	ck_assert_msg(c != NULL, "case %d: %s", _i, e);
	ck_assert(c->kubernetes.enabled);
	ck_assert_uint_eq(c->kubernetes.lease_duration_s,
	    election_ok[_i].lease_s);
	ck_assert_uint_eq(c->kubernetes.renew_deadline_ms,
	    election_ok[_i].renew_ms);
	ck_assert_uint_eq(c->kubernetes.retry_period_ms,
	    election_ok[_i].retry_ms);
	ck_assert_uint_eq(c->nwarnings, 0);
	free(e);
	cfg_free(c);
	cfg_errors_free(&errs);
}
END_TEST

static const struct {
	const char *text;
	const char *errors;
} election_bad[] = {
	{ "kubernetes:\n  lease-duration: 500ms\n",
	  "k.yaml:2:19: kubernetes.lease-duration: lease-duration 500ms must "
	  "be at least 1s\n" },
	{ "kubernetes:\n  lease-duration: 0s\n",
	  "k.yaml:2:19: kubernetes.lease-duration: lease-duration must be more "
	  "than 0\n" },
	{ "kubernetes:\n  lease-duration: 1500ms\n",
	  "k.yaml:2:19: kubernetes.lease-duration: lease-duration 1500ms is not "
	  "a whole number of seconds (a Lease holds leaseDurationSeconds)\n" },
	{ "kubernetes:\n  lease-duration: soon\n",
	  "k.yaml:2:19: kubernetes.lease-duration: invalid duration \"soon\" "
	  "(expected e.g. 90s, 300ms, 2m, 1h, or a number of seconds)\n" },
	{ "kubernetes:\n  renew-deadline: 0\n",
	  "k.yaml:2:19: kubernetes.renew-deadline: renew-deadline must be more "
	  "than 0\n" },
	{ "kubernetes:\n  retry-period: 0ms\n",
	  "k.yaml:2:17: kubernetes.retry-period: retry-period must be more "
	  "than 0\n" },
	{ "kubernetes:\n  retry-period: [2s]\n",
	  "k.yaml:2:17: kubernetes.retry-period: expected a single value, got "
	  "a list\n" },
	{ "kubernetes:\n  renew-dealine: 5s\n",
	  "k.yaml:2:3: kubernetes.renew-dealine: unknown key \"renew-dealine\" "
	  "(did you mean \"renew-deadline\"?)\n" },
	/* The order rule, with the defaults (15s, 10s, 2s) for what is unset. */
	{ "kubernetes:\n  lease-duration: 10s\n",
	  "k.yaml:2:19: kubernetes.lease-duration: lease-duration 10s must be "
	  "longer than renew-deadline 10s (the default)\n" },
	{ "kubernetes:\n  renew-deadline: 20s\n",
	  "k.yaml:2:19: kubernetes.renew-deadline: lease-duration 15s (the "
	  "default) must be longer than renew-deadline 20s\n" },
	/* renew-deadline over retry-period times client-go's JitterFactor. */
	{ "kubernetes:\n  renew-deadline: 2400ms\n",
	  "k.yaml:2:19: kubernetes.renew-deadline: renew-deadline 2400ms must "
	  "be longer than retry-period 2s (the default) times client-go's "
	  "jitter factor 1.2 (2400ms)\n" },
	{ "kubernetes:\n  retry-period: 9s\n",
	  "k.yaml:2:17: kubernetes.retry-period: renew-deadline 10s (the "
	  "default) must be longer than retry-period 9s times client-go's "
	  "jitter factor 1.2 (10800ms)\n" },
	{ "kubernetes:\n  renew-deadline: 1ms\n  retry-period: 1ms\n",
	  "k.yaml:2:19: kubernetes.renew-deadline: renew-deadline 1ms must be "
	  "longer than retry-period 1ms times client-go's jitter factor 1.2 "
	  "(1.2ms)\n" },
	{ "kubernetes:\n  lease-duration: 30s\n  renew-deadline: 40s\n",
	  "k.yaml:2:19: kubernetes.lease-duration: lease-duration 30s must be "
	  "longer than renew-deadline 40s\n" },
	{ "kubernetes:\n  lease-duration: 5s\n  renew-deadline: 5s\n"
	  "  retry-period: 5s\n",
	  "k.yaml:2:19: kubernetes.lease-duration: lease-duration 5s must be "
	  "longer than renew-deadline 5s\n"
	  "k.yaml:3:19: kubernetes.renew-deadline: renew-deadline 5s must be "
	  "longer than retry-period 5s times client-go's jitter factor 1.2 "
	  "(6s)\n" },
	/* An invalid value is reported once, not compared as well. */
	{ "kubernetes:\n  lease-duration: 1500ms\n  renew-deadline: 20s\n",
	  "k.yaml:2:19: kubernetes.lease-duration: lease-duration 1500ms is not "
	  "a whole number of seconds (a Lease holds leaseDurationSeconds)\n" },
};

START_TEST(test_election_errors)
{
	struct cfg_errors errs = { 0 };
	const char *y = election_bad[_i].text;
	struct cfg *c = cfg_load_buf("k.yaml", y, strlen(y), &errs);
	char *e = errors_str(&errs);

	ck_assert_msg(c == NULL, "case %d loaded", _i);
	ck_assert_msg(strcmp(e, election_bad[_i].errors) == 0,
	    "case %d: got:\n%s\nwant:\n%s", _i, e, election_bad[_i].errors);
	free(e);
	cfg_errors_free(&errs);
}
END_TEST

/* Set keys are emitted (as durations), and the output loads back the same. */
START_TEST(test_election_emit)
{
	static const char y[] = "kubernetes:\n  lease-duration: 120\n"
	    "  renew-deadline: 45s\n  retry-period: 1500ms\n";
	static const char only_renew[] = "kubernetes: {renew-deadline: 7s}\n";
	struct cfg_errors errs = { 0 };
	struct cfg *c, *c2;
	char *out;

	c = cfg_load_buf("k.yaml", y, strlen(y), &errs);
	ck_assert_ptr_nonnull(c);
	out = emit_str(c);
	ck_assert_msg(strstr(out, "\nkubernetes:\n"
	    "  config-map: bgplb-system/bgplb\n"
	    "  lease: bgplb-system/bgplb-leader\n"
	    "  load-balancer-class: bgplb.io/lb\n  lease-duration: 2m\n"
	    "  renew-deadline: 45s\n  retry-period: 1500ms\n") != NULL,
	    "emitted:\n%s", out);
	assert_round_trip("election", out);
	c2 = cfg_load_buf("again.yaml", out, strlen(out), &errs);
	ck_assert_ptr_nonnull(c2);
	ck_assert_uint_eq(c2->kubernetes.lease_duration_s, 120);
	ck_assert_uint_eq(c2->kubernetes.renew_deadline_ms, 45000);
	ck_assert_uint_eq(c2->kubernetes.retry_period_ms, 1500);
	cfg_free(c2);
	free(out);
	cfg_free(c);

	/* Unset keys stay unset: nothing is written for them. */
	c = cfg_load_buf("k.yaml", only_renew, strlen(only_renew), &errs);
	ck_assert_ptr_nonnull(c);
	out = emit_str(c);
	ck_assert_ptr_null(strstr(out, "lease-duration"));
	ck_assert_ptr_null(strstr(out, "retry-period"));
	ck_assert_ptr_nonnull(strstr(out, "  renew-deadline: 7s\n"));
	assert_round_trip("election-renew", out);
	free(out);
	cfg_free(c);
	ck_assert_uint_eq(errs.n, 0);
	cfg_errors_free(&errs);
}
END_TEST

/*
 * The timing belongs to the daemon's own file: in the cluster's ConfigMap
 * the kubernetes: section is not used (a warning), and its values are not
 * taken even when they would be wrong in the daemon's file.
 */
START_TEST(test_election_cluster_part)
{
	static const char y[] = "pools: [{name: a, addresses: [10.1.0.0/24]}]\n"
	    "kubernetes:\n  lease-duration: 1500ms\n  retry-period: 20s\n";
	static const char local[] = "kubernetes: {lease-duration: 30s}\n";
	struct cfg_errors errs = { 0 };
	struct cfg *c, *l;

	c = cfg_load_cluster("data.config", y, strlen(y), &errs);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert(!c->kubernetes.enabled);
	ck_assert_uint_eq(c->kubernetes.lease_duration_s, 0);
	ck_assert_uint_eq(c->kubernetes.retry_period_ms, 0);
	ck_assert_uint_eq(c->nwarnings, 1);
	ck_assert_str_eq(c->warnings[0], "data.config:3:3: warning: kubernetes: "
	    "not used from the ConfigMap: a node's own setting belongs in the "
	    "daemon's file (--config)");

	/* Merged: the daemon file's timing is what counts. */
	l = cfg_load_buf("bgplbd.yaml", local, strlen(local), &errs);
	ck_assert_ptr_nonnull(l);
	l = cfg_k8s_merge(l, c);
	ck_assert_uint_eq(l->kubernetes.lease_duration_s, 30);
	ck_assert_uint_eq(l->npools, 1);
	cfg_free(l);
	cfg_errors_free(&errs);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("golden");
	tcase_add_loop_test(tc, test_golden, 0, NGOLDENS);
	tcase_add_test(tc, test_golden_table_complete);
	tcase_add_test(tc, test_seed_configmap);
	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_load_buf_and_missing_file);
	tcase_add_test(tc, test_lookups);
	tcase_add_loop_test(tc, test_cluster_config, 0,
	    sizeof(cluster_cases) / sizeof(cluster_cases[0]));
	tcase_add_test(tc, test_k8s_merge);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_loop_test(tc, test_duration, 0,
	    (int)(sizeof(durations) / sizeof(durations[0])));
	tcase_add_loop_test(tc, test_community, 0,
	    (int)(sizeof(communities) / sizeof(communities[0])));
	tcase_add_loop_test(tc, test_large_community, 0,
	    (int)(sizeof(large_communities) / sizeof(large_communities[0])));
	tcase_add_loop_test(tc, test_rd_rt, 0,
	    (int)(sizeof(rdrts) / sizeof(rdrts[0])));
	tcase_add_test(tc, test_proto_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("selector");
	tcase_add_loop_test(tc, test_selector, 0,
	    (int)(sizeof(selectors) / sizeof(selectors[0])));
	tcase_add_test(tc, test_selector_parsed);
	suite_add_tcase(s, tc);

	tc = tcase_create("election");
	tcase_add_loop_test(tc, test_election_valid, 0,
	    (int)(sizeof(election_ok) / sizeof(election_ok[0])));
	tcase_add_loop_test(tc, test_election_errors, 0,
	    (int)(sizeof(election_bad) / sizeof(election_bad[0])));
	tcase_add_test(tc, test_election_emit);
	tcase_add_test(tc, test_election_cluster_part);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * test_k8s_store.c - the Kubernetes source's object store fed the way the
 * watch engine feeds it: a list page by page (on_page, `first` at each
 * list's start) and on_synced at its end.  What a complete list did not
 * bring is swept; nothing is swept during a list or after one that failed
 * midway; what only a failed list brought does not survive the next
 * complete one; the glue hears of a list once, at its end.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "k8s_source_priv.h"
#include "k8s_watch.h"

static int nchanged;

static void
changed(struct daemon_k8s *k)
{
	(void)k;
	nchanged++;
}

static struct daemon_k8s *
store_new(void)
{
	struct daemon_k8s *k = calloc(1, sizeof(*k));

	ck_assert_ptr_nonnull(k);
	ks_store_init(k);
	k->changed = changed;
	k->synced = true;	/* no watches here to ask */
	k->cm_ns = strdup("ns");
	k->cm_name = strdup("config");
	nchanged = 0;
	return k;
}

static void
store_free(struct daemon_k8s *k)
{
	ks_store_free(k);
	free(k->cm_ns);
	free(k->cm_name);
	free(k->cm_text);
	free(k->cm_rv);
	free(k->cm_uid);
	free(k);
}

static struct json_object *
object(int which, const char *name, const char *rv)
{
	char buf[1024];

	switch (which) {
	case W_EPS:
		snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"%s\","
		    "\"namespace\":\"ns\",\"resourceVersion\":\"%s\",\"labels\":"
		    "{\"kubernetes.io/service-name\":\"svc-%s\"}},"
		    "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":"
		    "[\"10.0.0.1\"],\"conditions\":{\"ready\":true},"
		    "\"nodeName\":\"n1\"}]}", name, rv, name);
		break;
	case W_SVC:
		snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"%s\","
		    "\"namespace\":\"ns\",\"resourceVersion\":\"%s\",\"uid\":"
		    "\"u-%s\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
		    "\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80,"
		    "\"protocol\":\"TCP\"}]}}", name, rv, name);
		break;
	default:
		snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"%s\","
		    "\"namespace\":\"ns\",\"resourceVersion\":\"%s\"},\"data\":"
		    "{\"config\":\"pools: []\\n\"}}", name, rv);
		break;
	}
	return json_tokener_parse(buf);
}

/* One page of names ("a b c") for watch `which`, as the engine hands it. */
static void
page(struct daemon_k8s *k, int which, const char *names, bool first)
{
	struct k8s_watch_opts wo = { 0 };
	struct json_object *items[16];
	char *copy = strdup(names), *save = NULL, *t;
	size_t n = 0;

	ks_watch_callbacks(k, which, &wo);
	for (t = strtok_r(copy, " ", &save); t != NULL && n < 16;
	    t = strtok_r(NULL, " ", &save))
		items[n++] = object(which, t, "7");
	wo.on_page(wo.arg, items, n, first);
	for (size_t i = 0; i < n; i++)
		json_object_put(items[i]);
	free(copy);
}

static void
synced(struct daemon_k8s *k, int which)
{
	struct k8s_watch_opts wo = { 0 };

	ks_watch_callbacks(k, which, &wo);
	wo.on_synced(wo.arg, 0);
}

/* The keys of a map, sorted, joined with ' '. */
static const char *
keys(struct smap *m)
{
	static char out[512];
	struct smap_ent **all;
	size_t n = smap_all(m, &all);

	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(all[j - 1]->key,
		    all[j]->key) > 0; j--) {
			struct smap_ent *x = all[j];

			all[j] = all[j - 1];
			all[j - 1] = x;
		}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
		    i ? " " : "", all[i]->key);
	free(all);
	return out;
}

START_TEST(test_pages_then_sweep)
{
	struct daemon_k8s *k = store_new();

	/* The first list, in two pages: stored as they come, told once. */
	page(k, W_EPS, "a b", true);
	ck_assert_str_eq(keys(&k->eps), "ns/a ns/b");
	page(k, W_EPS, "c", false);
	ck_assert_int_eq(nchanged, 0);
	synced(k, W_EPS);
	ck_assert_int_eq(nchanged, 1);
	ck_assert_str_eq(keys(&k->eps), "ns/a ns/b ns/c");
	/* A relist: nothing goes before it is complete, then a and c do. */
	page(k, W_EPS, "b", true);
	ck_assert_str_eq(keys(&k->eps), "ns/a ns/b ns/c");
	page(k, W_EPS, "d", false);
	ck_assert_str_eq(keys(&k->eps), "ns/a ns/b ns/c ns/d");
	synced(k, W_EPS);
	ck_assert_str_eq(keys(&k->eps), "ns/b ns/d");
	ck_assert_int_eq(nchanged, 2);
	store_free(k);
}
END_TEST

START_TEST(test_a_failed_list_sweeps_nothing_and_is_forgotten)
{
	struct daemon_k8s *k = store_new();

	page(k, W_EPS, "a b c", true);
	synced(k, W_EPS);
	/* A relist whose continue token expires after its first page (which
	 * brought x): no sweep, c (on the page never served) stays. */
	page(k, W_EPS, "b x", true);
	ck_assert_str_eq(keys(&k->eps), "ns/a ns/b ns/c ns/x");
	/* It starts again from the first page; meanwhile x and c went. */
	page(k, W_EPS, "a", true);
	page(k, W_EPS, "b", false);
	synced(k, W_EPS);
	ck_assert_str_eq(keys(&k->eps), "ns/a ns/b");
	store_free(k);
}
END_TEST

START_TEST(test_services_sweep_the_same_way)
{
	struct daemon_k8s *k = store_new();
	struct json_object *o;

	page(k, W_SVC, "s1 s2", true);
	synced(k, W_SVC);
	ck_assert_str_eq(keys(&k->svcs), "ns/s1 ns/s2");
	/* A status write's answer between lists marks s3; the next list
	 * does not have it, so it goes all the same. */
	o = object(W_SVC, "s3", "9");
	ck_assert_ptr_nonnull(ks_svc_update(k, o, true));
	json_object_put(o);
	page(k, W_SVC, "s1", true);
	page(k, W_SVC, "s4", true);	/* the list before failed: again */
	synced(k, W_SVC);
	ck_assert_str_eq(keys(&k->svcs), "ns/s4");
	store_free(k);
}
END_TEST

START_TEST(test_configmap_by_pages)
{
	struct daemon_k8s *k = store_new();

	page(k, W_CM, "config", true);
	synced(k, W_CM);
	ck_assert(k->cm_present);
	ck_assert_ptr_nonnull(k->cm_text);
	/* A relist that fails after a page with it, then one without it. */
	page(k, W_CM, "config", true);
	page(k, W_CM, "", true);
	ck_assert(k->cm_present);
	synced(k, W_CM);
	ck_assert(!k->cm_present);
	ck_assert(k->cm_dirty);
	store_free(k);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("k8s_store");
	TCase *tc = tcase_create("pages");

	tcase_add_test(tc, test_pages_then_sweep);
	tcase_add_test(tc, test_a_failed_list_sweeps_nothing_and_is_forgotten);
	tcase_add_test(tc, test_services_sweep_the_same_way);
	tcase_add_test(tc, test_configmap_by_pages);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

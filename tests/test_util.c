/*
 * test_util.c - the util layer: allocation wrapper, error formatter, and
 * the string-keyed map (including keys that collide in their hash chain).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "bgplb/smap.h"
#include "bgplb/sockaddr.h"
#include "bgplb/util.h"

struct ent {
	struct smap_ent	 s;
	int		 v;
};

START_TEST(t_xstrdup)
{
	char *a = xstrdup("abc"), *b = xstrndup("abcdef", 2);
	char *c = xasprintf("%s-%d", "x", 7);

	ck_assert_ptr_null(xstrdup(NULL));
	ck_assert_str_eq(a, "abc");
	ck_assert_str_eq(b, "ab");
	ck_assert_str_eq(c, "x-7");
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(t_errf)
{
	char err[8];

	ck_assert_int_eq(errf(err, sizeof(err), "%s:%d", "file", 12345), -1);
	ck_assert_str_eq(err, "file:12");	/* truncated, terminated */
	ck_assert_int_eq(errf(NULL, 0, "nothing"), -1);
}
END_TEST

static const char *const keys[] = { "default/web", "default/api", "kube-system/dns",
    "a", "b", "", "metallb-system/config", "default/web2" };
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

START_TEST(t_smap)
{
	struct ent e[NKEYS];
	struct smap m;
	struct smap_ent **all;
	size_t n;

	smap_init(&m);
	for (size_t i = 0; i < NKEYS; i++) {
		e[i].s.key = xstrdup(keys[i]);
		e[i].v = (int)i;
		ck_assert_ptr_null(smap_get(&m, keys[i]));
		smap_add(&m, &e[i].s);
		ck_assert_uint_eq(smap_count(&m), i + 1);
	}
	for (size_t i = 0; i < NKEYS; i++) {
		struct ent *f = (struct ent *)smap_get(&m, keys[i]);

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(f->v, (int)i);
	}
	ck_assert_ptr_null(smap_get(&m, "default/we"));
	n = smap_all(&m, &all);
	ck_assert_uint_eq(n, NKEYS);
	{
		int seen = 0;

		for (size_t i = 0; i < n; i++)
			seen |= 1 << ((struct ent *)all[i])->v;
		ck_assert_int_eq(seen, (1 << NKEYS) - 1);
	}
	free(all);
	/* Remove every other one, the rest stay findable. */
	for (size_t i = 0; i < NKEYS; i += 2)
		smap_del(&m, &e[i].s);
	smap_del(&m, &e[0].s);		/* not in it any more: a no-op */
	ck_assert_uint_eq(smap_count(&m), NKEYS / 2);
	for (size_t i = 0; i < NKEYS; i++) {
		if (i % 2 == 0)
			ck_assert_ptr_null(smap_get(&m, keys[i]));
		else
			ck_assert_ptr_eq(smap_get(&m, keys[i]), &e[i].s);
	}
	smap_fini(&m);
	for (size_t i = 0; i < NKEYS; i++)
		free(e[i].s.key);
}
END_TEST

/* Chains: many keys, so that some share a hash slot's neighbourhood, and
 * deleting from the middle of a chain keeps the rest. */
START_TEST(t_smap_many)
{
	enum { N = 5000 };
	struct ent *e = xcalloc(N, sizeof(*e));
	struct smap m;

	smap_init(&m);
	for (int i = 0; i < N; i++) {
		e[i].s.key = xasprintf("ns-%d/svc-%d", i % 17, i);
		e[i].v = i;
		smap_add(&m, &e[i].s);
	}
	for (int i = 0; i < N; i += 3)
		smap_del(&m, &e[i].s);
	for (int i = 0; i < N; i++) {
		struct smap_ent *f = smap_get(&m, e[i].s.key);

		if (i % 3 == 0)
			ck_assert_ptr_null(f);
		else
			ck_assert_ptr_eq(f, &e[i].s);
	}
	ck_assert_uint_eq(smap_count(&m), N - (N + 2) / 3);
	smap_fini(&m);
	for (int i = 0; i < N; i++)
		free(e[i].s.key);
	free(e);
}
END_TEST

/* struct addr -> sockaddr -> struct addr, and a v4-mapped IPv6 peer. */
static const struct {
	const char *in, *out;
	uint16_t port;
	int family;
	socklen_t len;
} sa_cases[] = {
	{ "192.0.2.7", "192.0.2.7", 179, AF_INET, sizeof(struct sockaddr_in) },
	{ "2001:db8::7", "2001:db8::7", 1790, AF_INET6, sizeof(struct sockaddr_in6) },
	{ "::ffff:192.0.2.9", "192.0.2.9", 80, AF_INET6, sizeof(struct sockaddr_in6) },
};

START_TEST(t_sockaddr)
{
	struct sockaddr_storage ss;
	struct addr a, b;
	char buf[ADDR_STRLEN];
	uint16_t port = 0;

	ck_assert_int_eq(addr_parse(sa_cases[_i].in, &a), 0);
	ck_assert_uint_eq(addr_to_sockaddr(&a, sa_cases[_i].port, &ss),
	    sa_cases[_i].len);
	ck_assert_int_eq(ss.ss_family, sa_cases[_i].family);
	sockaddr_to_addr((struct sockaddr *)&ss, &b, &port);
	ck_assert_str_eq(addr_ntop(&b, buf, sizeof(buf)), sa_cases[_i].out);
	ck_assert_uint_eq(port, sa_cases[_i].port);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, t_xstrdup);
	tcase_add_test(tc, t_errf);
	tcase_add_test(tc, t_smap);
	tcase_add_test(tc, t_smap_many);
	tcase_add_loop_test(tc, t_sockaddr, 0,
	    sizeof(sa_cases) / sizeof(sa_cases[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

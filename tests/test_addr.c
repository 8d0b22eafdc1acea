/*
 * test_addr.c - addresses, prefixes, ranges and 128-bit counts.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/addr.h"
#include "bgplb/hmap.h"

static const struct {
	const char *in;
	int ok;
	const char *out;	/* canonical text */
} parse_cases[] = {
	{ "10.0.0.1", 0, "10.0.0.1" },
	{ "0.0.0.0", 0, "0.0.0.0" },
	{ "255.255.255.255", 0, "255.255.255.255" },
	{ "2001:DB8::1", 0, "2001:db8::1" },
	{ "2001:db8:0:0:0:0:0:1", 0, "2001:db8::1" },
	{ "::", 0, "::" },
	{ "::ffff:10.0.0.1", 0, "::ffff:10.0.0.1" },
	{ "10.0.0", -1, NULL },
	{ "10.0.0.256", -1, NULL },
	{ "010.0.0.1", -1, NULL },
	{ "", -1, NULL },
	{ "2001:db8::1::2", -1, NULL },
	{ "fe80::1%eth0", -1, NULL },
	{ "10.0.0.1/32", -1, NULL },
};

START_TEST(test_parse)
{
	char buf[ADDR_STRLEN];
	struct addr a;
	int rc = addr_parse(parse_cases[_i].in, &a);

	ck_assert_msg(rc == parse_cases[_i].ok, "parse %s: rc %d",
	    parse_cases[_i].in, rc);
	if (rc == 0)
		ck_assert_str_eq(addr_ntop(&a, buf, sizeof(buf)),
		    parse_cases[_i].out);
}
END_TEST

static const struct {
	const char *in;
	bool host_bits;
	int ok;
	const char *out;
} prefix_cases[] = {
	{ "10.0.0.0/8", false, 0, "10.0.0.0/8" },
	{ "10.0.0.1/8", false, -1, NULL },
	{ "10.0.0.1/8", true, 0, "10.0.0.1/8" },
	{ "10.0.0.0/33", false, -1, NULL },
	{ "10.0.0.0/", false, -1, NULL },
	{ "10.0.0.0/-1", false, -1, NULL },
	{ "2001:db8::/64", false, 0, "2001:db8::/64" },
	{ "2001:db8::1/64", false, -1, NULL },
	{ "2001:db8::/129", false, -1, NULL },
	{ "::/0", false, 0, "::/0" },
	{ "0.0.0.0/0", false, 0, "0.0.0.0/0" },
	{ "10.0.0.0", false, -1, NULL },
};

START_TEST(test_prefix_parse)
{
	char buf[ADDR_STRLEN];
	struct prefix p;
	int rc = prefix_parse(prefix_cases[_i].in, &p, prefix_cases[_i].host_bits);

	ck_assert_msg(rc == prefix_cases[_i].ok, "prefix %s: rc %d",
	    prefix_cases[_i].in, rc);
	if (rc == 0)
		ck_assert_str_eq(prefix_ntop(&p, buf, sizeof(buf)),
		    prefix_cases[_i].out);
}
END_TEST

static struct addr_range
mkrange(const char *a, const char *b)
{
	struct addr_range r;

	ck_assert_int_eq(addr_parse(a, &r.first), 0);
	ck_assert_int_eq(addr_parse(b, &r.last), 0);
	return r;
}

static const struct {
	const char *first, *last;
	const char *size;
	unsigned longest;
	const char *cidrs;	/* space separated */
} range_cases[] = {
	{ "172.16.13.1", "172.16.13.254", "254", 32,
	  "172.16.13.1/32 172.16.13.2/31 172.16.13.4/30 172.16.13.8/29 "
	  "172.16.13.16/28 172.16.13.32/27 172.16.13.64/26 172.16.13.128/26 "
	  "172.16.13.192/27 172.16.13.224/28 172.16.13.240/29 172.16.13.248/30 "
	  "172.16.13.252/31 172.16.13.254/32" },
	{ "10.0.0.0", "10.0.0.255", "256", 24, "10.0.0.0/24" },
	{ "10.0.0.0", "10.0.1.255", "512", 23, "10.0.0.0/23" },
	{ "10.0.0.5", "10.0.0.5", "1", 32, "10.0.0.5/32" },
	{ "0.0.0.0", "255.255.255.255", "4294967296", 0, "0.0.0.0/0" },
	{ "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "18446744073709551616",
	  64, "2001:db8::/64" },
	{ "2001:db8::", "2001:db8:0:ffff:ffff:ffff:ffff:ffff",
	  "1208925819614629174706176", 48, "2001:db8::/48" },
	{ "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "340282366920938463463374607431768211455", 0, "::/0" },
	{ "2001:db8::1", "2001:db8::2", "2", 128, "2001:db8::1/128 2001:db8::2/128" },
};

static void
cat_cb(const struct prefix *p, void *arg)
{
	char *out = arg, buf[ADDR_STRLEN];

	if (*out)
		strcat(out, " ");
	strcat(out, prefix_ntop(p, buf, sizeof(buf)));
}

START_TEST(test_ranges)
{
	struct addr_range r = mkrange(range_cases[_i].first, range_cases[_i].last);
	char buf[ADDR_COUNT_STRLEN], cidrs[1024] = "";

	ck_assert_str_eq(u128_to_dec(range_size(&r), buf, sizeof(buf)),
	    range_cases[_i].size);
	ck_assert_uint_eq(range_longest_cidr(&r), range_cases[_i].longest);
	range_cidrs(&r, cat_cb, cidrs);
	ck_assert_str_eq(cidrs, range_cases[_i].cidrs);
}
END_TEST

START_TEST(test_contains_overlap)
{
	struct addr_range a = mkrange("10.0.0.10", "10.0.0.20");
	struct addr_range b = mkrange("10.0.0.20", "10.0.0.30");
	struct addr_range c = mkrange("10.0.0.21", "10.0.0.30");
	struct addr_range v6 = mkrange("::a", "::20");
	struct prefix p;
	struct addr x;

	ck_assert(range_overlaps(&a, &b));
	ck_assert(!range_overlaps(&a, &c));
	ck_assert(!range_overlaps(&a, &v6));	/* families never overlap */
	ck_assert_int_eq(addr_parse("10.0.0.15", &x), 0);
	ck_assert(range_contains(&a, &x));
	ck_assert(!range_contains(&c, &x));
	ck_assert_int_eq(prefix_parse("10.0.0.0/28", &p, false), 0);
	ck_assert(prefix_contains(&p, &x));
	ck_assert_int_eq(addr_parse("10.0.0.16", &x), 0);
	ck_assert(!prefix_contains(&p, &x));
	p = prefix_of(&x, 24);
	ck_assert(p.addr.v == 0x0a000000u && p.len == 24);
}
END_TEST

START_TEST(test_bytes)
{
	uint8_t b[16];
	struct addr a, c;

	ck_assert_int_eq(addr_parse("192.0.2.1", &a), 0);
	addr_to_bytes(&a, b);
	ck_assert(b[0] == 192 && b[1] == 0 && b[2] == 2 && b[3] == 1);
	addr_from_bytes(&c, ADDR_AF_INET, b);
	ck_assert(addr_eq(&a, &c));
	ck_assert_int_eq(addr_parse("2001:db8::ff", &a), 0);
	addr_to_bytes(&a, b);
	ck_assert(b[0] == 0x20 && b[1] == 0x01 && b[15] == 0xff && b[14] == 0);
	addr_from_bytes(&c, ADDR_AF_INET6, b);
	ck_assert_int_eq(addr_cmp(&a, &c), 0);
}
END_TEST

/* The hash map against a plain array, through many adds and deletes:
 * backward-shift deletion must never lose a key still in the map. */
START_TEST(test_loopback)
{
	static const struct { const char *s; bool lo; } t[] = {
		{ "127.0.0.1", true }, { "127.255.0.9", true }, { "::1", true },
		{ "::ffff:127.0.0.1", true }, { "128.0.0.1", false },
		{ "0.0.0.0", false }, { "::", false }, { "10.0.0.2", false },
		{ "::2", false }, { "fe80::1", false }, { "::ffff:10.0.0.1", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct addr a;

		ck_assert_int_eq(addr_parse(t[i].s, &a), 0);
		ck_assert_msg(addr_is_loopback(&a) == t[i].lo, "%s", t[i].s);
	}
}
END_TEST

START_TEST(test_hmap_model)
{
	enum { N = 5000 };
	static long model[N];		/* 0 = absent, else stored value */
	struct hmap *m = hmap_new(sizeof(uint32_t));
	uint64_t rnd = 88172645463325252ULL;
	size_t count = 0, it = 0, seen = 0;
	const void *k;
	void *v;

	memset(model, 0, sizeof(model));
	for (long step = 1; step <= 200000; step++) {
		uint32_t key;

		rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17;
		key = (uint32_t)(rnd % N);
		if ((rnd >> 32) % 3 == 0) {
			void *old = hmap_del(m, &key);

			ck_assert_ptr_eq(old, model[key] ? (void *)model[key] : NULL);
			if (model[key])
				count--;
			model[key] = 0;
		} else {
			void *old = hmap_put(m, &key, (void *)step);

			ck_assert_ptr_eq(old, model[key] ? (void *)model[key] : NULL);
			if (!model[key])
				count++;
			model[key] = step;
		}
		ck_assert_uint_eq(hmap_count(m), count);
	}
	for (uint32_t key = 0; key < N; key++)
		ck_assert_ptr_eq(hmap_get(m, &key),
		    model[key] ? (void *)model[key] : NULL);
	while (hmap_next(m, &it, &k, &v)) {
		uint32_t key;

		memcpy(&key, k, sizeof(key));
		ck_assert_ptr_eq(v, (void *)model[key]);
		seen++;
	}
	ck_assert_uint_eq(seen, count);
	hmap_free(m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_parse, 0,
	    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_loop_test(tc, test_prefix_parse, 0,
	    sizeof(prefix_cases) / sizeof(prefix_cases[0]));
	tcase_add_loop_test(tc, test_ranges, 0,
	    sizeof(range_cases) / sizeof(range_cases[0]));
	tcase_add_test(tc, test_contains_overlap);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_loopback);
	tcase_add_test(tc, test_hmap_model);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * test_k8s_watch.c - the watch engine's pure parts: line framing of a
 * chunked stream (any split, \r\n, keep-alive blank lines, the length cap,
 * a callback that stops the stream) and the backoff arithmetic.  The engine
 * itself runs against the fake API server in tests/k8s/test_watch.py.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_watch.h"

struct collect {
	char	out[4096];	/* lines joined with '|' */
	int	nlines;
	int	stop_after;	/* return -1 on this line (1-based); 0: never */
};

static int
collect_cb(void *arg, const char *line, size_t len)
{
	struct collect *c = arg;
	size_t n = strlen(c->out);

	ck_assert(len > 0);
	ck_assert(n + len + 2 < sizeof(c->out));
	if (n > 0)
		c->out[n++] = '|';
	memcpy(c->out + n, line, len);
	c->out[n + len] = '\0';
	c->nlines++;
	return c->stop_after && c->nlines == c->stop_after ? -1 : 0;
}

static const struct frame_case {
	const char *stream;
	const char *want;
	size_t max;		/* 0: default */
	int ret;		/* of the whole feed, at every split */
} frame_cases[] = {
	{ "", "", 0, 0 },
	{ "a\n", "a", 0, 0 },
	{ "a\nb\n", "a|b", 0, 0 },
	{ "a\r\nbb\r\n", "a|bb", 0, 0 },
	{ "\n\n a \n\r\n", " a ", 0, 0 },
	{ "{\"type\":\"ADDED\"}\n{\"x\":1}\npartial", "{\"type\":\"ADDED\"}|{\"x\":1}", 0, 0 },
	{ "12345\n123456\n", "12345|123456", 6, 0 },
	{ "12345\r\n", "12345", 5, 0 },
	{ "1234567\n", "", 6, -1 },
	{ "ok\n12345678", "ok", 6, -1 },
};

/* Every case at every split into 1, 2 and 3 pieces must give the same lines. */
START_TEST(test_framing)
{
	const struct frame_case *c = &frame_cases[_i];
	size_t len = strlen(c->stream), a, b;

	for (a = 0; a <= len; a++) {
		for (b = a; b <= len; b++) {
			struct k8s_lines l = { .max = c->max };
			struct collect col = { .out = "" };
			int r = 0;

			if (r == 0)
				r = k8s_lines_feed(&l, c->stream, a, collect_cb, &col);
			if (r == 0)
				r = k8s_lines_feed(&l, c->stream + a, b - a, collect_cb, &col);
			if (r == 0)
				r = k8s_lines_feed(&l, c->stream + b, len - b, collect_cb, &col);
			ck_assert_msg(r == c->ret, "case %d split %zu/%zu: ret %d",
			    _i, a, b, r);
			if (c->ret == 0)
				ck_assert_msg(strcmp(col.out, c->want) == 0,
				    "case %d split %zu/%zu: got \"%s\"", _i, a, b, col.out);
			k8s_lines_reset(&l);
		}
	}
}
END_TEST

/* Byte by byte, as the fake server's split=1 chunking does. */
START_TEST(test_framing_bytewise)
{
	const char *s = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";
	struct k8s_lines l = { 0 };
	struct collect col = { .out = "" };
	size_t i;

	for (i = 0; i < strlen(s); i++)
		ck_assert_int_eq(k8s_lines_feed(&l, s + i, 1, collect_cb, &col), 0);
	ck_assert_str_eq(col.out, "{\"a\":1}|{\"b\":2}|{\"c\":3}");
	k8s_lines_reset(&l);
}
END_TEST

START_TEST(test_framing_stop)
{
	struct k8s_lines l = { 0 };
	struct collect col = { .out = "", .stop_after = 2 };

	ck_assert_int_eq(k8s_lines_feed(&l, "a\nb\nc\n", 6, collect_cb, &col), -1);
	ck_assert_str_eq(col.out, "a|b");
	k8s_lines_reset(&l);
	/* Stopped on a buffered line. */
	memset(&col, 0, sizeof(col));
	col.stop_after = 1;
	ck_assert_int_eq(k8s_lines_feed(&l, "xy", 2, collect_cb, &col), 0);
	ck_assert_int_eq(k8s_lines_feed(&l, "z\nq\n", 4, collect_cb, &col), -1);
	ck_assert_str_eq(col.out, "xyz");
	k8s_lines_reset(&l);
}
END_TEST

/* A large line (1 MB) across many chunks, and the cap after an overflow. */
START_TEST(test_framing_large)
{
	struct k8s_lines l = { .max = 1 << 20 };
	struct collect col = { .out = "" };
	char chunk[4096];
	size_t i;

	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < (1 << 20) / sizeof(chunk); i++)
		ck_assert_int_eq(k8s_lines_feed(&l, chunk, sizeof(chunk), collect_cb,
		    &col), 0);
	/* One byte over is tolerated while buffering (it may be the \r of a
	 * \r\n); two are not. */
	ck_assert_int_eq(k8s_lines_feed(&l, "yz", 2, collect_cb, &col), -1);
	ck_assert_ptr_null(l.buf);
	ck_assert_uint_eq(l.len, 0);
	/* Usable again after the reset. */
	ck_assert_int_eq(k8s_lines_feed(&l, "ok\n", 3, collect_cb, &col), 0);
	ck_assert_str_eq(col.out, "ok");
	k8s_lines_reset(&l);
	ck_assert_uint_eq(K8S_LINE_MAX, 64u * 1024 * 1024);
}
END_TEST

static const struct backoff_case {
	uint32_t base, cap;
	unsigned attempt;
	uint32_t rnd;
	uint32_t want;
	unsigned attempt_after;
} backoff_cases[] = {
	/* d = min(cap, base << attempt); result = d - d/2 + rnd % (d/2 + 1) */
	{ 500, 30000, 0, 0, 250, 1 },
	{ 500, 30000, 0, 250, 500, 1 },
	{ 500, 30000, 0, 251, 250, 1 },
	{ 500, 30000, 1, 0, 500, 2 },
	{ 500, 30000, 1, 500, 1000, 2 },
	{ 500, 30000, 2, 7, 1007, 3 },
	{ 500, 30000, 5, 0, 8000, 6 },
	{ 500, 30000, 6, 0, 15000, 7 },		/* 32000 capped to 30000 */
	{ 500, 30000, 6, 15000, 30000, 7 },
	{ 500, 30000, 40, 0xffffffffu, 15000 + 0xffffffffu % 15001, 41 },
	{ 500, 30000, 64, 0, 15000, 64 },	/* attempt saturates */
	{ 1, 1, 0, 9, 1, 1 },
	{ 0, 0, 3, 0, 1, 4 },			/* degenerate config: never 0 */
	{ 1000, 500, 0, 0, 250, 1 },		/* cap below base wins */
};

START_TEST(test_backoff)
{
	const struct backoff_case *c = &backoff_cases[_i];
	struct k8s_backoff b = { c->base, c->cap, c->attempt };
	uint32_t d = k8s_backoff_next(&b, c->rnd);

	ck_assert_msg(d == c->want, "case %d: %u, want %u", _i, d, c->want);
	ck_assert_uint_eq(b.attempt, c->attempt_after);
	k8s_backoff_reset(&b);
	ck_assert_uint_eq(b.attempt, 0);
}
END_TEST

/* Over many draws: never above the cap, never below half the step. */
START_TEST(test_backoff_bounds)
{
	struct k8s_backoff b = { 200, 10000, 0 };
	unsigned seed = 7, i;
	uint32_t d, step = 200;

	for (i = 0; i < 40; i++) {
		d = k8s_backoff_next(&b, (uint32_t)rand_r(&seed));
		ck_assert_uint_le(d, step);
		ck_assert_uint_ge(d, step - step / 2);
		if (step < 10000)
			step = step * 2 > 10000 ? 10000 : step * 2;
	}
}
END_TEST

START_TEST(test_watch_timeout)
{
	ck_assert_uint_eq(k8s_watch_timeout_s(0), 300);
	ck_assert_uint_eq(k8s_watch_timeout_s(300), 600);
	ck_assert_uint_eq(k8s_watch_timeout_s(301), 300);
	ck_assert_uint_eq(k8s_watch_timeout_s(0xffffffffu), 300 + 0xffffffffu % 301);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int
main(void)
{
	Suite *s = suite_create("k8s_watch");
	TCase *tc = tcase_create("pure");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_framing, 0, N(frame_cases));
	tcase_add_test(tc, test_framing_bytewise);
	tcase_add_test(tc, test_framing_stop);
	tcase_add_test(tc, test_framing_large);
	tcase_add_loop_test(tc, test_backoff, 0, N(backoff_cases));
	tcase_add_test(tc, test_backoff_bounds);
	tcase_add_test(tc, test_watch_timeout);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * test_k8s_events.c - the Event recorder's pure parts and its queue, without
 * an API server (tests/k8s/test_events.py runs it against the fake one).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "k8s_events.h"
#include "k8s_http.h"
#include "k8s_objects.h"

static const struct k8s_object_ref svc_a = { .kind = "Service",
    .namespace = "protopod", .name = "protopod" };

START_TEST(t_key_identity)
{
	static const struct {
		struct k8s_object_ref	ref;
		bool			warning;
		const char		*reason, *message;
		bool			same;	/* as svc_a/Normal/IPAllocated/m */
	} tc[] = {
		{ { "Service", NULL, "protopod", "protopod", NULL, NULL },
		  false, "IPAllocated", "m", true },
		/* uid and resourceVersion do not make it another event */
		{ { "Service", NULL, "protopod", "protopod", "u-1", "77" },
		  false, "IPAllocated", "m", true },
		{ { "Service", "v1", "protopod", "protopod", NULL, NULL },
		  false, "IPAllocated", "m", true },
		{ { "Service", NULL, "protopod", "protopod", NULL, NULL },
		  true, "IPAllocated", "m", false },
		{ { "Service", NULL, "protopod", "protopod", NULL, NULL },
		  false, "AllocationFailed", "m", false },
		{ { "Service", NULL, "protopod", "protopod", NULL, NULL },
		  false, "IPAllocated", "m2", false },
		{ { "Service", NULL, "other", "protopod", NULL, NULL },
		  false, "IPAllocated", "m", false },
		{ { "Service", NULL, "protopod", "other", NULL, NULL },
		  false, "IPAllocated", "m", false },
		{ { "ConfigMap", NULL, "protopod", "protopod", NULL, NULL },
		  false, "IPAllocated", "m", false },
		/* fields can't run into each other */
		{ { "Service", NULL, "protopo", "dprotopod", NULL, NULL },
		  false, "IPAllocated", "m", false },
	};
	char *base = k8s_event_key(&svc_a, false, "IPAllocated", "m");

	ck_assert_ptr_nonnull(base);
	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		char *k = k8s_event_key(&tc[i].ref, tc[i].warning,
		    tc[i].reason, tc[i].message);

		ck_assert_ptr_nonnull(k);
		ck_assert_msg((strcmp(k, base) == 0) == tc[i].same,
		    "case %zu: same=%d", i, tc[i].same);
		free(k);
	}
	free(base);
}
END_TEST

START_TEST(t_name_matches_event_json)
{
	static const struct timespec firsts[] = {
		{ 0, 0 }, { 1765000000, 123456789 }, { 1, 1 },
	};
	for (size_t i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
		struct k8s_event_spec sp = { .kind = "Service",
		    .namespace = "ns", .name = "web", .reason = "R",
		    .message = "m", .count = 1, .first = firsts[i],
		    .last = firsts[i] };
		char *js = k8s_event_json(&sp), nm[300];
		struct json_object *o = json_tokener_parse(js), *meta, *n;

		ck_assert_ptr_nonnull(o);
		ck_assert(json_object_object_get_ex(o, "metadata", &meta));
		ck_assert(json_object_object_get_ex(meta, "name", &n));
		k8s_event_name("web", &firsts[i], nm, sizeof(nm));
		ck_assert_str_eq(nm, json_object_get_string(n));
		json_object_put(o);
		free(js);
	}
	{
		struct timespec t = { 1765000000, 5 };
		char nm[300];

		k8s_event_name("web", &t, nm, sizeof(nm));
		/* 1765000000 s + 5 ns in hex */
		ck_assert_str_eq(nm, "web.187e8a260c908005");
	}
}
END_TEST

START_TEST(t_aggregates)
{
	static const struct {
		int64_t		 first, now;
		unsigned	 window_s;
		bool		 has_event, want;
	} tc[] = {
		{ 1000, 1000, 600, true, true },
		{ 1000, 1000 + 599999, 600, true, true },
		{ 1000, 1000 + 600000, 600, true, false },	/* window passed */
		{ 1000, 1000 + 700000, 600, true, false },
		{ 1000, 1001, 600, false, false },		/* never written */
		{ 0, 999, 1, true, true },
		{ 0, 1000, 1, true, false },
	};
	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++)
		ck_assert_msg(k8s_event_aggregates(tc[i].first, tc[i].now,
		    tc[i].window_s, tc[i].has_event) == tc[i].want, "case %zu", i);
}
END_TEST

/* An http client on a loopback port nobody listens on. */
static struct k8s_http *
dead_http(struct event_base *base, struct k8s_conn *c)
{
	char err[256];
	struct k8s_http *h;

	memset(c, 0, sizeof(*c));
	c->server = strdup("http://127.0.0.1:9");
	h = k8s_http_new(base, c, err, sizeof(err));
	ck_assert_msg(h != NULL, "%s", err);
	return h;
}

START_TEST(t_new_rejects)
{
	struct event_base *base = event_base_new();
	struct k8s_conn c;
	struct k8s_http *h = dead_http(base, &c);
	struct k8s_recorder_opts ok = { .host = "node-1" };
	struct k8s_recorder_opts nohost = { 0 }, empty = { .host = "" };
	struct k8s_recorder *r;

	ck_assert_ptr_null(k8s_recorder_new(NULL, h, &ok));
	ck_assert_ptr_null(k8s_recorder_new(base, NULL, &ok));
	ck_assert_ptr_null(k8s_recorder_new(base, h, NULL));
	ck_assert_ptr_null(k8s_recorder_new(base, h, &nohost));
	ck_assert_ptr_null(k8s_recorder_new(base, h, &empty));
	r = k8s_recorder_new(base, h, &ok);
	ck_assert_ptr_nonnull(r);
	k8s_recorder_free(r);
	k8s_recorder_free(NULL);
	k8s_http_free(h);
	k8s_conn_free(&c);
	event_base_free(base);
}
END_TEST

static int nerrors, nfull;
static char last_error[512];

static void
on_err(void *arg, const char *text)
{
	(void)arg;
	nerrors++;
	if (strstr(text, "queue full (") != NULL)
		nfull++;		/* a drop report, not a failed write */
	snprintf(last_error, sizeof(last_error), "%s", text);
}

/* Run the loop in 50 ms slices until the stats satisfy done(), at most
 * max_ms. */
static void
run_until(struct event_base *base, struct k8s_recorder *r,
    bool (*done)(const struct k8s_recorder_stats *), int max_ms,
    struct k8s_recorder_stats *st)
{
	for (int t = 0; t < max_ms; t += 50) {
		struct timeval tv = { 0, 50000 };

		k8s_recorder_get_stats(r, st);
		if (done(st))
			return;
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	k8s_recorder_get_stats(r, st);
}

static bool
is_idle(const struct k8s_recorder_stats *st)
{
	return st->queued == 0;
}

START_TEST(t_queue_bounds_and_aggregation)
{
	struct event_base *base = event_base_new();
	struct k8s_conn c;
	struct k8s_http *h = dead_http(base, &c);
	struct k8s_recorder_opts o = { .host = "node-1", .max_inflight = 1,
	    .max_queue = 2, .on_error = on_err };
	struct k8s_recorder *r = k8s_recorder_new(base, h, &o);
	struct k8s_recorder_stats st;
	struct k8s_object_ref refs[5];
	char names[5][8];

	nerrors = 0;
	for (int i = 0; i < 5; i++) {
		snprintf(names[i], sizeof(names[i]), "s%d", i);
		refs[i] = (struct k8s_object_ref){ .kind = "Service",
		    .namespace = "ns", .name = names[i] };
	}
	/* s0 goes out at once (1 in flight), s1 and s2 wait, s3 and s4 push
	 * the oldest waiting ones out. */
	for (int i = 0; i < 5; i++)
		k8s_record(r, &refs[i], false, "IPAllocated", "Assigned IP %d", i);
	k8s_recorder_get_stats(r, &st);
	ck_assert_uint_eq(st.queued, 3);
	ck_assert_uint_eq(st.dropped, 2);
	ck_assert_int_eq(nerrors, 1);		/* once per burst */
	ck_assert_ptr_nonnull(strstr(last_error, "queue full"));
	/* The same event as the one in flight folds into it. */
	k8s_record(r, &refs[0], false, "IPAllocated", "Assigned IP %d", 0);
	k8s_record(r, &refs[0], false, "IPAllocated", "Assigned IP %d", 0);
	k8s_recorder_get_stats(r, &st);
	ck_assert_uint_eq(st.aggregated, 2);
	ck_assert_uint_eq(st.queued, 3);
	ck_assert_uint_eq(st.posted, 0);
	/* Bad references are ignored, not crashed on. */
	k8s_record(r, &(struct k8s_object_ref){ .kind = "Service" }, false,
	    "X", "y");
	k8s_record(NULL, &refs[0], false, "X", "y");
	k8s_recorder_get_stats(r, &st);
	ck_assert_uint_eq(st.queued, 3);
	/* Nothing listens: each write fails, and is retried once after 1 s
	 * if the queue (waiting retries included) has room, then counts as
	 * failed.  Run the loop until everything is done. */
	for (int i = 0; i < 100; i++) {
		struct timeval tv = { 0, 100000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		k8s_recorder_get_stats(r, &st);
		if (st.queued == 0)
			break;
	}
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.posted, 0);
	ck_assert_uint_eq(st.failed, 3);	/* s0 (with its repeats), s3, s4 */
	k8s_recorder_free(r);
	k8s_http_free(h);
	k8s_conn_free(&c);
	event_base_free(base);
}
END_TEST

/* A queue of one: a drop is reported once per burst, and again in the
 * next burst once the queue has emptied. */
START_TEST(t_drop_report_per_burst)
{
	struct event_base *base = event_base_new();
	struct k8s_conn c;
	struct k8s_http *h = dead_http(base, &c);
	struct k8s_recorder_opts o = { .host = "node-1", .max_inflight = 1,
	    .max_queue = 1, .on_error = on_err };
	struct k8s_recorder *r = k8s_recorder_new(base, h, &o);
	struct k8s_recorder_stats st;

	nerrors = nfull = 0;
	for (int burst = 1; burst <= 2; burst++) {
		/* one in flight, one waiting, two pushed out */
		for (int i = 0; i < 4; i++)
			k8s_record(r, &svc_a, false, "R", "burst %d event %d",
			    burst, i);
		k8s_recorder_get_stats(r, &st);
		ck_assert_uint_eq(st.dropped, 2 * (unsigned)burst);
		ck_assert_int_eq(nfull, burst);
		run_until(base, r, is_idle, 10000, &st);
		ck_assert_uint_eq(st.queued, 0);
	}
	ck_assert_uint_eq(st.failed, 4);	/* 2 written per burst, all failed */
	ck_assert_int_eq(nerrors, 2 + 4);
	k8s_recorder_free(r);
	k8s_http_free(h);
	k8s_conn_free(&c);
	event_base_free(base);
}
END_TEST

/* A loopback server that answers every request 429 with Retry-After: 30. */
static int nrequests;

static void
busy_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	nrequests++;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Retry-After", "30");
	evbuffer_add_printf(b, "{\"kind\":\"Status\",\"code\":429}");
	evhttp_send_reply(req, 429, "Too Many Requests", b);
	evbuffer_free(b);
}

static struct k8s_http *
busy_http(struct event_base *base, struct evhttp **srv, struct k8s_conn *c)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	ev_socklen_t sl = sizeof(ss);
	char err[256];
	struct k8s_http *h;

	*srv = evhttp_new(base);
	ck_assert_ptr_nonnull(*srv);
	evhttp_set_gencb(*srv, busy_cb, NULL);
	bs = evhttp_bind_socket_with_handle(*srv, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&ss, &sl), 0);
	memset(c, 0, sizeof(*c));
	ck_assert_int_ne(asprintf(&c->server, "http://127.0.0.1:%u",
	    ntohs(((struct sockaddr_in *)&ss)->sin_port)), -1);
	h = k8s_http_new(base, c, err, sizeof(err));
	ck_assert_msg(h != NULL, "%s", err);
	return h;
}

static bool
five_answered(const struct k8s_recorder_stats *st)
{
	return nrequests >= 5 && st->failed + st->queued == 5 &&
	    st->failed >= 3;
}

/* Writes waiting for their retry count against max_queue: with room for
 * two, of five writes answered 429 at once, two wait (for Retry-After, not
 * the default 1 s) and three fail for good. */
START_TEST(t_retries_are_bounded_by_the_queue)
{
	struct event_base *base = event_base_new();
	struct evhttp *srv;
	struct k8s_conn c;
	struct k8s_http *h = busy_http(base, &srv, &c);
	struct k8s_recorder_opts o = { .host = "node-1", .max_inflight = 8,
	    .max_queue = 2, .on_error = on_err };
	struct k8s_recorder *r = k8s_recorder_new(base, h, &o);
	struct k8s_recorder_stats st;
	int n;

	nerrors = nfull = nrequests = 0;
	for (int i = 0; i < 5; i++)
		k8s_record(r, &svc_a, false, "R", "message %d", i);
	k8s_recorder_get_stats(r, &st);
	ck_assert_uint_eq(st.queued, 5);	/* all five in flight */
	run_until(base, r, five_answered, 10000, &st);
	ck_assert_int_eq(nrequests, 5);
	ck_assert_uint_eq(st.failed, 3);
	ck_assert_uint_eq(st.queued, 2);	/* waiting for their retry */
	ck_assert_int_eq(nerrors, 3);
	ck_assert_ptr_nonnull(strstr(last_error, "HTTP 429"));
	ck_assert_ptr_nonnull(strstr(last_error, "not retried: queue full"));
	/* Retry-After: 30 is honoured: nothing goes out after the default
	 * 1 s. */
	n = nrequests;
	{
		struct timeval tv = { 1, 500000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	k8s_recorder_get_stats(r, &st);
	ck_assert_int_eq(nrequests, n);
	ck_assert_uint_eq(st.queued, 2);
	k8s_recorder_free(r);			/* cancels the retry timers */
	k8s_http_free(h);
	k8s_conn_free(&c);
	evhttp_free(srv);
	event_base_free(base);
}
END_TEST

START_TEST(t_free_with_writes_in_flight)
{
	struct event_base *base = event_base_new();
	struct k8s_conn c;
	struct k8s_http *h = dead_http(base, &c);
	struct k8s_recorder_opts o = { .host = "node-1" };
	struct k8s_recorder *r = k8s_recorder_new(base, h, &o);
	struct k8s_recorder_stats st;

	for (int i = 0; i < 50; i++)
		k8s_record(r, &svc_a, i % 2, "R", "message %d", i % 7);
	k8s_recorder_get_stats(r, &st);
	ck_assert_uint_eq(st.queued, 14);	/* 2 types x 7 messages */
	ck_assert_uint_eq(st.aggregated, 36);
	k8s_recorder_free(r);			/* cancels; no callbacks */
	event_base_loop(base, EVLOOP_NONBLOCK);
	k8s_http_free(h);
	k8s_conn_free(&c);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("k8s_events");
	TCase *tc = tcase_create("events");
	SRunner *sr;
	int nf;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_key_identity);
	tcase_add_test(tc, t_name_matches_event_json);
	tcase_add_test(tc, t_aggregates);
	tcase_add_test(tc, t_new_rejects);
	tcase_add_test(tc, t_queue_bounds_and_aggregation);
	tcase_add_test(tc, t_drop_report_per_burst);
	tcase_add_test(tc, t_retries_are_bounded_by_the_queue);
	tcase_add_test(tc, t_free_with_writes_in_flight);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

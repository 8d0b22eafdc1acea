/*
 * test_health.c - the health checks' rise/fall state machine, table-driven
 * (a string of results in, the states after each result out), and the
 * checks on a real event loop against loopback: a TCP listener, a refused
 * port, programs run without a shell (exit status, output as the reason,
 * no capabilities, a clean environment, killed at the timeout), and an
 * HTTP endpoint that never answers.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <check.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgplb/health.h"

/* ---- state machine --------------------------------------------------------- */

static const struct sm_case {
	const char	*what;
	unsigned	 rise, fall;
	const char	*in;	/* + success, - failure */
	const char	*want;	/* state after each: P pending, U up, D down */
} sm_cases[] = {
	{ "rise 2: up after the second success", 2, 3, "++", "PU" },
	{ "rise 1 fall 1: every result counts", 1, 1, "+-+-", "UDUD" },
	{ "new service: failures make it down, not up", 2, 3, "---", "PPD" },
	{ "fall 3: down after three failures in a row", 2, 3, "++---", "PUUUD" },
	{ "a success resets the failures", 2, 3, "++--+--", "PUUUUUU" },
	{ "flapping never reaches rise 2 / fall 2", 2, 2, "++-+-+-+-+", "PUUUUUUUUU" },
	{ "back up after rise successes", 2, 2, "++--++", "PUUDDU" },
	{ "a failure resets the successes", 3, 2, "++-++-+++", "PPPPPPPPU" },
	{ "pending -> down -> up", 2, 2, "--++", "PDDU" },
	{ "rise 0 / fall 0 are taken as 1", 0, 0, "+-", "UD" },
};

START_TEST(test_state_machine)
{
	const struct sm_case *c = &sm_cases[_i];
	struct health_sm sm;
	char got[32];
	size_t n = strlen(c->in);

	health_sm_init(&sm, c->rise, c->fall);
	ck_assert_int_eq(sm.state, HEALTH_PENDING);
	for (size_t i = 0; i < n; i++) {
		enum health_state was = sm.state;
		bool changed = health_sm_feed(&sm, c->in[i] == '+');

		got[i] = sm.state == HEALTH_UP ? 'U' : sm.state == HEALTH_DOWN ?
		    'D' : 'P';
		ck_assert_msg(changed == (sm.state != was), "%s: step %zu",
		    c->what, i);
	}
	got[n] = '\0';
	ck_assert_msg(strcmp(got, c->want) == 0, "%s: got %s want %s", c->what,
	    got, c->want);
}
END_TEST

START_TEST(test_state_names)
{
	ck_assert_str_eq(health_state_name(HEALTH_PENDING), "pending");
	ck_assert_str_eq(health_state_name(HEALTH_UP), "up");
	ck_assert_str_eq(health_state_name(HEALTH_DOWN), "down");
}
END_TEST

/* ---- checks on a loop ------------------------------------------------------ */

struct run {
	struct event_base *base;
	struct health_runner *hr;
	struct health_check *hc;
	int	 transitions;
	enum health_state want;
};

static void
on_change(void *arg, struct health_check *hc)
{
	struct run *r = arg;

	r->transitions++;
	if (health_check_state(hc) == r->want)
		event_base_loopbreak(r->base);
}

static void
on_give_up(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Run the check until it reaches `want` or 5 s pass; its JSON (caller puts). */
static struct json_object *
run_check(const struct cfg_health *cfg, enum health_state want)
{
	struct run r = { 0 };
	struct event *give_up;
	struct timeval tv = { 5, 0 };
	struct json_object *j;

	r.base = event_base_new();
	r.hr = health_runner_new(r.base);
	r.want = want;
	r.hc = health_check_new(r.hr, "t", cfg, on_change, &r);
	give_up = evtimer_new(r.base, on_give_up, r.base);
	evtimer_add(give_up, &tv);
	event_base_dispatch(r.base);
	ck_assert_msg(health_check_state(r.hc) == want, "state %s, want %s",
	    health_state_name(health_check_state(r.hc)),
	    health_state_name(want));
	j = health_check_json(r.hc);
	health_check_free(r.hc);
	health_runner_free(r.hr);
	event_free(give_up);
	event_base_free(r.base);
	return j;
}

static const char *
jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	ck_assert(json_object_object_get_ex(o, k, &v));
	return json_object_get_string(v);
}

static struct cfg_health
mkcfg(enum cfg_check_kind kind)
{
	struct cfg_health h = { .kind = kind, .interval_ms = 100,
		.timeout_ms = 80, .rise = 1, .fall = 1 };

	addr_parse("127.0.0.1", &h.addr);
	return h;
}

static int
listener(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

START_TEST(test_tcp_up_and_refused)
{
	struct cfg_health h = mkcfg(CFG_CHECK_TCP);
	struct json_object *j;
	int fd = listener(&h.port);

	j = run_check(&h, HEALTH_UP);
	ck_assert_str_eq(jstr(j, "kind"), "tcp");
	json_object_put(j);
	close(fd);		/* nothing listens on the port now */
	j = run_check(&h, HEALTH_DOWN);
	ck_assert_msg(strstr(jstr(j, "last_failure"), "refused") != NULL, "%s",
	    jstr(j, "last_failure"));
	json_object_put(j);
}
END_TEST

static char *argv_true[] = { "/bin/true", NULL };
static char *argv_exit3[] = { "/bin/sh", "-c",
	"printf 'bad\\nthing\\n'; exit 3", NULL };
static char *argv_caps[] = { "/bin/sh", "-c",
	"grep CapEff /proc/self/status; echo \"n=$(env | grep -vc "
	"'^PWD=\\|^SHLVL=\\|^_=')\"; exit 1", NULL };
static char *argv_hang[] = { "/bin/sleep", "10", NULL };
static char *argv_missing[] = { "/nonexistent/check", NULL };

static const struct exec_case {
	char		**argv;
	enum health_state want;
	const char	*reason;	/* NULL: none; else a substring */
} exec_cases[] = {
	{ argv_true, HEALTH_UP, NULL },
	{ argv_exit3, HEALTH_DOWN, "exit status 3: bad thing" },
	/* No capabilities; PATH alone in the environment. */
	{ argv_caps, HEALTH_DOWN, "CapEff: 0000000000000000 n=1" },
	{ argv_hang, HEALTH_DOWN, "timeout after 80ms" },
	{ argv_missing, HEALTH_DOWN, "exit status 127: bgplbd: execve failed" },
};

START_TEST(test_exec)
{
	const struct exec_case *c = &exec_cases[_i];
	struct cfg_health h = mkcfg(CFG_CHECK_EXEC);
	struct json_object *j, *lf;

	h.argv = c->argv;
	while (h.argv[h.nargv] != NULL)
		h.nargv++;
	j = run_check(&h, c->want);
	ck_assert(json_object_object_get_ex(j, "last_failure", &lf));
	if (c->reason == NULL)
		ck_assert_ptr_null(lf);
	else
		ck_assert_msg(strstr(json_object_get_string(lf), c->reason) !=
		    NULL, "got \"%s\", want \"%s\"", json_object_get_string(lf),
		    c->reason);
	json_object_put(j);
}
END_TEST

/* An endpoint that accepts and never answers: the timeout decides. */
START_TEST(test_http_hang)
{
	struct cfg_health h = mkcfg(CFG_CHECK_HTTP);
	uint16_t port;
	int fd = listener(&port);
	char url[64];
	struct json_object *j;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", port);
	h.url = url;
	j = run_check(&h, HEALTH_DOWN);
	/* Whichever clock ran out first (curl's, in the connect or the read,
	 * or the scheduler's), the reason says it the same way. */
	ck_assert_msg(strncmp(jstr(j, "last_failure"), "timeout after ", 14) == 0,
	    "%s", jstr(j, "last_failure"));
	json_object_put(j);
	close(fd);
}
END_TEST

static Suite *
health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("health");

	tcase_add_loop_test(tc, test_state_machine, 0,
	    sizeof(sm_cases) / sizeof(sm_cases[0]));
	tcase_add_test(tc, test_state_names);
	tcase_add_test(tc, test_tcp_up_and_refused);
	tcase_add_loop_test(tc, test_exec, 0,
	    sizeof(exec_cases) / sizeof(exec_cases[0]));
	tcase_add_test(tc, test_http_hang);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(health_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

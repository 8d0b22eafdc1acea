/*
 * health.c - the rise/fall state machine (pure) and the scheduler of one
 * service's check: a persistent timer starts a probe every interval, a
 * second timer ends it at the timeout, and each result is fed to the state
 * machine; a transition is logged (one line) and handed to the owner.
 * The probes themselves are in health_http.c and health_probe.c; what
 * /v1/services and /metrics show of a check is built here.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "bgplb/log.h"
#include "bgplb/util.h"
#include "health_priv.h"

#define MOD	"health"

/* ---- state machine ------------------------------------------------------- */

void
health_sm_init(struct health_sm *sm, uint32_t rise, uint32_t fall)
{
	memset(sm, 0, sizeof(*sm));
	sm->rise = rise > 0 ? rise : 1;
	sm->fall = fall > 0 ? fall : 1;
}

bool
health_sm_feed(struct health_sm *sm, bool ok)
{
	enum health_state was = sm->state;

	if (ok) {
		sm->fails = 0;
		if (sm->oks < UINT32_MAX)
			sm->oks++;
		if (sm->state != HEALTH_UP && sm->oks >= sm->rise)
			sm->state = HEALTH_UP;
	} else {
		sm->oks = 0;
		if (sm->fails < UINT32_MAX)
			sm->fails++;
		if (sm->state != HEALTH_DOWN && sm->fails >= sm->fall)
			sm->state = HEALTH_DOWN;
	}
	return sm->state != was;
}

const char *
health_state_name(enum health_state s)
{
	switch (s) {
	case HEALTH_PENDING:
		return "pending";
	case HEALTH_UP:
		return "up";
	case HEALTH_DOWN:
		return "down";
	}
	return "?";
}

/* ---- scheduling ---------------------------------------------------------- */

static const char *
kind_name(enum cfg_check_kind k)
{
	switch (k) {
	case CFG_CHECK_HTTP:
		return "http";
	case CFG_CHECK_TCP:
		return "tcp";
	case CFG_CHECK_EXEC:
		return "exec";
	case CFG_CHECK_NONE:
		break;
	}
	return "none";
}

/* The check's target as the operator wrote it. */
static void
target(const struct health_check *hc, char *buf, size_t len)
{
	char a[ADDR_STRLEN];
	size_t off = 0;

	buf[0] = '\0';
	switch (hc->cfg.kind) {
	case CFG_CHECK_HTTP:
		snprintf(buf, len, "%s", hc->cfg.url);
		break;
	case CFG_CHECK_TCP:
		addr_ntop(&hc->cfg.addr, a, sizeof(a));
		snprintf(buf, len, hc->cfg.addr.af == ADDR_AF_INET6 ?
		    "[%s]:%u" : "%s:%u", a, hc->cfg.port);
		break;
	case CFG_CHECK_EXEC:
		for (size_t i = 0; i < hc->cfg.nargv && off + 1 < len; i++) {
			snprintf(buf + off, len - off, "%s%s", i ? " " : "",
			    hc->cfg.argv[i]);
			off += strlen(buf + off);
		}
		break;
	case CFG_CHECK_NONE:
		break;
	}
}

static uint64_t
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - since->tv_sec) * 1000 +
	    (uint64_t)((now.tv_nsec - since->tv_nsec) / 1000000);
}

/* Whatever a probe in flight holds, whatever its kind. */
static void
probe_stop(struct health_check *hc)
{
	health_tcp_stop(hc);
	health_http_stop(hc);
	health_exec_stop(hc);
}

static void
probe_done(struct health_check *hc, bool ok, const char *reason)
{
	enum health_state was = hc->sm.state;

	if (!hc->running)
		return;
	hc->running = false;
	evtimer_del(hc->deadline);
	probe_stop(hc);
	hc->last_ms = elapsed_ms(&hc->started);
	hc->nchecks++;
	if (!ok) {
		hc->nfailures++;
		snprintf(hc->last_failure, sizeof(hc->last_failure), "%s",
		    reason != NULL ? reason : "failed");
		hc->last_failure_at = time(NULL);
		log_debug(MOD, "service %s: check failed: %s", hc->name,
		    hc->last_failure);
	}
	if (!health_sm_feed(&hc->sm, ok))
		return;
	hc->since = time(NULL);
	hc->ntransitions++;
	if (hc->sm.state == HEALTH_UP)
		log_info(MOD, "service %s: %s -> up after %u successful checks",
		    hc->name, health_state_name(was), hc->sm.rise);
	else
		log_warn(MOD, "service %s: %s -> down after %u failed checks "
		    "(last: %s)", hc->name, health_state_name(was),
		    hc->sm.fall, hc->last_failure);
	hc->cb(hc->cbarg, hc);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;
	char why[64];

	hc->ntimeouts++;
	snprintf(why, sizeof(why), "timeout after %ums", hc->cfg.timeout_ms);
	probe_done(hc, false, why);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;
	struct timeval tv = { hc->cfg.timeout_ms / 1000,
		(hc->cfg.timeout_ms % 1000) * 1000 };
	char err[256] = "";
	int rc = -1;

	if (hc->running)
		return;		/* timeout <= interval: only after a retune */
	hc->running = true;
	clock_gettime(CLOCK_MONOTONIC, &hc->started);
	evtimer_add(hc->deadline, &tv);
	switch (hc->cfg.kind) {
	case CFG_CHECK_HTTP:
		rc = health_http_start(hc, err, sizeof(err));
		break;
	case CFG_CHECK_TCP:
		rc = health_tcp_start(hc, err, sizeof(err));
		break;
	case CFG_CHECK_EXEC:
		rc = health_exec_start(hc, err, sizeof(err));
		break;
	case CFG_CHECK_NONE:
		snprintf(err, sizeof(err), "no check configured");
		break;
	}
	if (rc == -1)
		probe_done(hc, false, err);
}

static void
arm_tick(struct health_check *hc)
{
	struct timeval tv = { hc->cfg.interval_ms / 1000,
		(hc->cfg.interval_ms % 1000) * 1000 };

	if (hc->tick != NULL)
		event_free(hc->tick);
	hc->tick = event_new(hc->run->base, -1, EV_PERSIST, on_tick, hc);
	event_add(hc->tick, &tv);
}

/*
 * The first probe soon, not an interval later; checks started together
 * (a start-up, a reload adding many) are spread over their first interval
 * (up to 1 s), so hundreds of them never probe in the same instant.
 */
static void
on_first(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;

	arm_tick(hc);
	on_tick(-1, EV_TIMEOUT, hc);
}

static void
first_probe(struct health_check *hc)
{
	uint32_t span = hc->cfg.interval_ms < 1000 ? hc->cfg.interval_ms : 1000;
	uint32_t ms = hc->run->nchecks > 1 ? (uint32_t)random() % span : 0;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	hc->tick = evtimer_new(hc->run->base, on_first, hc);
	evtimer_add(hc->tick, &tv);
}

struct health_runner *
health_runner_new(struct event_base *base)
{
	struct health_runner *r = xcalloc(1, sizeof(*r));

	r->base = base;
	return r;
}

void
health_runner_free(struct health_runner *r)
{
	if (r == NULL)
		return;
	if (r->nchecks != 0)
		fatalx("health_runner_free: %zu checks left", r->nchecks);
	health_http_runner_free(r);
	health_exec_runner_free(r);
	free(r);
}

struct health_check *
health_check_new(struct health_runner *run, const char *name,
    const struct cfg_health *cfg, health_cb cb, void *arg)
{
	struct health_check *hc = xcalloc(1, sizeof(*hc));

	hc->run = run;
	hc->name = xstrdup(name);
	hc->cfg = *cfg;
	hc->cfg.url = xstrdup(cfg->url);
	hc->cfg.ca_file = xstrdup(cfg->ca_file);
	if (cfg->nargv > 0) {
		hc->cfg.argv = xcalloc(cfg->nargv + 1, sizeof(char *));
		for (size_t i = 0; i < cfg->nargv; i++)
			hc->cfg.argv[i] = xstrdup(cfg->argv[i]);
	}
	health_sm_init(&hc->sm, cfg->rise, cfg->fall);
	hc->cb = cb;
	hc->cbarg = arg;
	hc->done = probe_done;
	hc->fd = hc->pidfd = hc->outfd = -1;
	hc->since = time(NULL);
	hc->deadline = evtimer_new(run->base, on_deadline, hc);
	run->nchecks++;
	first_probe(hc);
	return hc;
}

void
health_check_free(struct health_check *hc)
{
	if (hc == NULL)
		return;
	hc->running = false;
	probe_stop(hc);
	if (hc->tick != NULL)
		event_free(hc->tick);
	event_free(hc->deadline);
	hc->run->nchecks--;
	free(hc->cfg.url);
	free(hc->cfg.ca_file);
	for (size_t i = 0; i < hc->cfg.nargv; i++)
		free(hc->cfg.argv[i]);
	free(hc->cfg.argv);
	free(hc->name);
	free(hc);
}

bool
health_check_same_target(const struct health_check *hc,
    const struct cfg_health *c)
{
	if (hc->cfg.kind != c->kind)
		return false;
	switch (c->kind) {
	case CFG_CHECK_HTTP:
		return strcmp(hc->cfg.url, c->url) == 0 &&
		    (hc->cfg.ca_file == NULL) == (c->ca_file == NULL) &&
		    (c->ca_file == NULL || strcmp(hc->cfg.ca_file,
		    c->ca_file) == 0);
	case CFG_CHECK_TCP:
		return addr_eq(&hc->cfg.addr, &c->addr) &&
		    hc->cfg.port == c->port;
	case CFG_CHECK_EXEC:
		if (hc->cfg.nargv != c->nargv)
			return false;
		for (size_t i = 0; i < c->nargv; i++)
			if (strcmp(hc->cfg.argv[i], c->argv[i]) != 0)
				return false;
		return true;
	case CFG_CHECK_NONE:
		break;
	}
	return true;
}

void
health_check_retune(struct health_check *hc, const struct cfg_health *c)
{
	bool rearm = hc->cfg.interval_ms != c->interval_ms;

	hc->cfg.interval_ms = c->interval_ms;
	hc->cfg.timeout_ms = c->timeout_ms;
	hc->cfg.rise = c->rise;
	hc->cfg.fall = c->fall;
	hc->sm.rise = c->rise;
	hc->sm.fall = c->fall;
	if (rearm)
		arm_tick(hc);
}

bool
health_check_up(const struct health_check *hc)
{
	return hc->sm.state == HEALTH_UP;
}

enum health_state
health_check_state(const struct health_check *hc)
{
	return hc->sm.state;
}

const char *
health_check_name(const struct health_check *hc)
{
	return hc->name;
}

time_t
health_check_since(const struct health_check *hc)
{
	return hc->since;
}

static struct json_object *
json_time(time_t t)
{
	char buf[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

struct json_object *
health_check_json(const struct health_check *hc)
{
	struct json_object *o = json_object_new_object();
	char t[1024];

	target(hc, t, sizeof(t));
	json_object_object_add(o, "state",
	    json_object_new_string(health_state_name(hc->sm.state)));
	json_object_object_add(o, "since", json_time(hc->since));
	json_object_object_add(o, "kind",
	    json_object_new_string(kind_name(hc->cfg.kind)));
	json_object_object_add(o, "target", json_object_new_string(t));
	json_object_object_add(o, "interval_ms",
	    json_object_new_int64(hc->cfg.interval_ms));
	json_object_object_add(o, "timeout_ms",
	    json_object_new_int64(hc->cfg.timeout_ms));
	json_object_object_add(o, "rise", json_object_new_int64(hc->sm.rise));
	json_object_object_add(o, "fall", json_object_new_int64(hc->sm.fall));
	json_object_object_add(o, "successes_in_a_row",
	    json_object_new_int64(hc->sm.oks));
	json_object_object_add(o, "failures_in_a_row",
	    json_object_new_int64(hc->sm.fails));
	json_object_object_add(o, "checks", json_object_new_int64(
	    (int64_t)hc->nchecks));
	json_object_object_add(o, "failures", json_object_new_int64(
	    (int64_t)hc->nfailures));
	json_object_object_add(o, "last_duration_ms",
	    json_object_new_int64((int64_t)hc->last_ms));
	if (hc->last_failure_at != 0) {
		json_object_object_add(o, "last_failure",
		    json_object_new_string(hc->last_failure));
		json_object_object_add(o, "last_failure_at",
		    json_time(hc->last_failure_at));
	} else
		json_object_object_add(o, "last_failure", NULL);
	return o;
}

/* Prometheus label values escape backslash, quote and newline. */
static void
label(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

enum { M_UP, M_CHECKS, M_FAILURES, M_TIMEOUTS, M_TRANSITIONS, M_DURATION,
	M__N };

static void
metric_value(const struct health_check *hc, int m, struct evbuffer *b)
{
	switch (m) {
	case M_UP:
		evbuffer_add_printf(b, "%d", hc->sm.state == HEALTH_UP);
		break;
	case M_CHECKS:
		evbuffer_add_printf(b, "%lu", hc->nchecks);
		break;
	case M_FAILURES:
		evbuffer_add_printf(b, "%lu", hc->nfailures);
		break;
	case M_TIMEOUTS:
		evbuffer_add_printf(b, "%lu", hc->ntimeouts);
		break;
	case M_TRANSITIONS:
		evbuffer_add_printf(b, "%lu", hc->ntransitions);
		break;
	default:
		evbuffer_add_printf(b, "%.3f", hc->last_ms / 1000.0);
		break;
	}
}

void
health_metrics(struct health_check *const *checks, size_t n,
    struct evbuffer *out)
{
	static const struct { const char *name, *type, *help; } m[M__N] = {
		{ "bgplb_health_up", "gauge",
		  "1 while the service's health check says up on this node" },
		{ "bgplb_health_checks_total", "counter",
		  "Health check probes run" },
		{ "bgplb_health_check_failures_total", "counter",
		  "Health check probes that failed (timeouts included)" },
		{ "bgplb_health_check_timeouts_total", "counter",
		  "Health check probes stopped at their timeout" },
		{ "bgplb_health_transitions_total", "counter",
		  "Changes of the health state (pending, up, down)" },
		{ "bgplb_health_check_duration_seconds", "gauge",
		  "Duration of the last probe" },
	};

	if (n == 0)
		return;
	for (int k = 0; k < M__N; k++) {
		evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
		    m[k].name, m[k].help, m[k].name, m[k].type);
		for (size_t i = 0; i < n; i++) {
			evbuffer_add_printf(out, "%s{service=\"", m[k].name);
			label(out, checks[i]->name);
			evbuffer_add(out, "\"} ", 3);
			metric_value(checks[i], k, out);
			evbuffer_add(out, "\n", 1);
		}
	}
}

/*
 * health.h - health checks of embedded-mode services (src/health/).
 *
 * Two layers.  The state machine (health_sm_*) is pure: fed one result at
 * a time, it says when a service goes up (rise successes in a row) or down
 * (fall failures in a row); a new check starts PENDING, which counts as
 * down, so a new service is announced only after its first rise
 * successes.  The checks (health_check_*) run it on the event loop: every
 * interval one probe - an HTTP GET through libcurl multi, a non-blocking
 * TCP connect, or a program run without a shell - bounded by the timeout,
 * never blocking the loop.  Whoever owns the checks (the file source) is
 * called back once per transition.
 */
#ifndef BGPLB_HEALTH_H
#define BGPLB_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bgplb/config.h"

struct event_base;
struct evbuffer;
struct json_object;

/* ---- the state machine (pure) ------------------------------------------- */

enum health_state {
	HEALTH_PENDING = 0,	/* not yet up since the check started: down */
	HEALTH_UP,
	HEALTH_DOWN,
};

struct health_sm {
	enum health_state state;
	uint32_t	 rise;		/* successes in a row to go up */
	uint32_t	 fall;		/* failures in a row to go down */
	uint32_t	 oks;		/* current run of successes */
	uint32_t	 fails;		/* current run of failures */
};

void	health_sm_init(struct health_sm *, uint32_t rise, uint32_t fall);
/* One result.  true when the state changed (PENDING -> DOWN included). */
bool	health_sm_feed(struct health_sm *, bool ok);
const char *health_state_name(enum health_state);

/* ---- the checks, on the event loop --------------------------------------- */

/* What the checks of one owner share (libcurl's multi handle). */
struct health_runner;
struct health_check;

/* Called once per transition of the state machine. */
typedef void (*health_cb)(void *arg, struct health_check *);

struct health_runner *health_runner_new(struct event_base *);
/* Every check must have been freed first. */
void	health_runner_free(struct health_runner *);

/*
 * Start checking `name` as cfg says (copied): the first probe runs at once.
 */
struct health_check *health_check_new(struct health_runner *,
	    const char *name, const struct cfg_health *cfg, health_cb, void *arg);
/* Stops the timers and any probe in flight (a program gets SIGKILL). */
void	health_check_free(struct health_check *);
/* Is this config the same check (kind and target) as the running one? */
bool	health_check_same_target(const struct health_check *,
	    const struct cfg_health *);
/* Take new interval, timeout, rise and fall; the state and runs stay. */
void	health_check_retune(struct health_check *, const struct cfg_health *);

bool	health_check_up(const struct health_check *);
enum health_state health_check_state(const struct health_check *);
const char *health_check_name(const struct health_check *);
/* When the state last changed (or the check started), wall clock. */
time_t	health_check_since(const struct health_check *);
/* {state, since, kind, target, last_failure, checks, failures, ...} */
struct json_object *health_check_json(const struct health_check *);
/* Prometheus text for these checks (label service="name"). */
void	health_metrics(struct health_check *const *, size_t n,
	    struct evbuffer *);

#endif

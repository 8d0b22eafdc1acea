/*
 * k8s_events.h - core/v1 Events about objects (what `kubectl describe`
 * shows), written in the background on top of k8s_http.h.
 *
 * k8s_record() never blocks and never fails for the caller: the event is
 * queued and POSTed to /api/v1/namespaces/NS/events with at most
 * max_inflight requests at a time.  As client-go's EventCorrelator does, an
 * event identical to one written less than aggregate_s ago (same involved
 * object, type, reason and message) is not written again: the existing
 * Event's count goes up and its lastTimestamp moves, by a PATCH
 * (application/merge-patch+json {"count":N,"lastTimestamp":T}).  A PATCH that
 * gets 404 (the Event expired, or was deleted) POSTs a new one instead.
 * Repeats that arrive while the first write is still in flight are folded
 * into one PATCH after it.
 *
 * A full queue drops the oldest queued event (counted in stats.dropped and
 * reported through on_error once per burst): events are for people, and
 * must never hold up the daemon.  Failed writes are not retried, except
 * once after 429/5xx or no answer at all (after Retry-After, or 1 s; a
 * retried POST whose first answer was lost gets 409, which counts as
 * written).  The aggregation window counts from the Event's first write.
 */
#ifndef BGPLB_K8S_EVENTS_H
#define BGPLB_K8S_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "k8s_http.h"

struct event_base;

/* The object an event is about (involvedObject). */
struct k8s_object_ref {
	const char	*kind;		/* "Service", "ConfigMap" */
	const char	*api_version;	/* NULL: "v1" */
	const char	*namespace;	/* also the Event's namespace */
	const char	*name;
	const char	*uid;		/* NULL: left out */
	const char	*resource_version; /* NULL: left out */
};

struct k8s_recorder_opts {
	/* source.component and reportingComponent are "bgplb" (k8s_event_json) */
	const char	*host;		/* source.host, reportingInstance: the node */
	unsigned	 max_inflight;	/* 0: 4 */
	unsigned	 max_queue;	/* 0: 1000 */
	unsigned	 aggregate_s;	/* 0: 600 (client-go's 10 minutes) */
	/* Optional: a write failed, or events were dropped. */
	void	(*on_error)(void *arg, const char *text);
	void	*arg;
};

struct k8s_recorder_stats {
	uint64_t	 posted;	/* new Events created (2xx) */
	uint64_t	 patched;	/* count increments written (2xx) */
	uint64_t	 aggregated;	/* k8s_record() calls folded into an existing Event */
	uint64_t	 dropped;	/* queue overflow */
	uint64_t	 failed;	/* writes that failed for good */
	size_t		 queued;	/* waiting or in flight now */
};

/* NULL on a missing option or allocation failure; strings are copied. */
struct k8s_recorder *k8s_recorder_new(struct event_base *, struct k8s_http *,
	    const struct k8s_recorder_opts *);
/* Cancels what is queued or in flight; NULL is fine. */
void	k8s_recorder_free(struct k8s_recorder *);
/* Queue one event; the strings are copied.  warning: type Warning, else
 * Normal. */
void	k8s_record(struct k8s_recorder *, const struct k8s_object_ref *,
	    bool warning, const char *reason, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
void	k8s_recorder_get_stats(const struct k8s_recorder *,
	    struct k8s_recorder_stats *);

/* The pure parts, for tests. */
/* The identity two events are the same by (kind, apiVersion, namespace,
 * name, type, reason, message), as one string; NULL on ENOMEM. */
char	*k8s_event_key(const struct k8s_object_ref *, bool warning,
	    const char *reason, const char *message);
/* The Event's metadata.name: "<object name>.<hex nanoseconds of first>",
 * the same as k8s_event_json() writes. */
void	k8s_event_name(const char *object_name, const struct timespec *first,
	    char *buf, size_t len);
/* Whether a repeat at now_ms goes onto the count of the Event that began at
 * first_ms (has_event: it was written), or makes a new Event. */
bool	k8s_event_aggregates(int64_t first_ms, int64_t now_ms,
	    unsigned aggregate_s, bool has_event);

#endif

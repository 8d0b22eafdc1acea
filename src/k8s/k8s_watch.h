/*
 * k8s_watch.h - list+watch of one Kubernetes resource, as client-go's
 * reflector does it, on top of k8s_http.h.
 *
 *   LIST  PATH?limit=500[&continue=T]       (pages, one consistent snapshot)
 *   on_page(items, first)                   (each page as it arrives)
 *   on_synced(n)                            (once per complete (re)list)
 *   WATCH PATH?watch=1&resourceVersion=RV&allowWatchBookmarks=true
 *         &timeoutSeconds=300..600          (random, so watchers spread out)
 *   on_event(type, object) for each ADDED/MODIFIED/DELETED, in order
 *
 * A bookmark only moves the remembered resourceVersion.  A watch that ends
 * (timeout, dropped connection) resumes from the last resourceVersion.
 * 410 Gone (as HTTP status or as an ERROR event) means that version is
 * compacted: relist, and the pages hand the owner the whole state again, so
 * nothing is lost.  Pages are not kept: each is parsed, handed over and
 * freed, so a list costs one page of memory, not the whole list.  The owner
 * marks what a list's pages bring and, at on_synced, sweeps what they did
 * not; a list that fails midway (410 on its continue token, an error) is
 * started again from its first page (`first` again), so the owner clears
 * its marks there and never sweeps after a list that did not complete.  Other failures back off exponentially with jitter,
 * capped, and reset after a success; 429/503 wait for Retry-After.
 *
 * The pure pieces (line framing, backoff arithmetic) are exported for tests.
 */
#ifndef BGPLB_K8S_WATCH_H
#define BGPLB_K8S_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_http.h"
#include "k8s_objects.h"

struct event_base;
struct json_object;

/* Line framing of a watch stream. */
#define K8S_LINE_MAX	(64u * 1024 * 1024)

struct k8s_lines {
	char	*buf;		/* the incomplete last line */
	size_t	 len, cap;
	size_t	 max;		/* 0: K8S_LINE_MAX */
};

/*
 * Feed stream bytes; cb gets each complete line without its "\n" (and
 * without a "\r" before it); empty lines are skipped.  Returns 0, or -1 when
 * a line exceeds the maximum (the buffer is emptied: the caller must start a
 * new stream) or when cb returned -1 (the rest of data is dropped).
 */
int	k8s_lines_feed(struct k8s_lines *, const char *data, size_t len,
	    int (*cb)(void *arg, const char *line, size_t len), void *arg);
void	k8s_lines_reset(struct k8s_lines *);	/* frees the buffer */

/* Exponential backoff with jitter. */
struct k8s_backoff {
	uint32_t	base_ms;	/* first delay */
	uint32_t	cap_ms;		/* never more */
	unsigned	attempt;	/* failures since the last success */
};
/*
 * The next delay: d = min(cap, base * 2^attempt), then a uniform draw in
 * [d/2, d] from `rnd` ("equal jitter": never zero, never above the cap, and
 * watchers that failed together spread out).  Increments attempt.
 */
uint32_t k8s_backoff_next(struct k8s_backoff *, uint32_t rnd);
void	k8s_backoff_reset(struct k8s_backoff *);
/* client-go's watch timeout: 5..10 minutes, from rnd. */
unsigned k8s_watch_timeout_s(uint32_t rnd);

struct k8s_watch_opts {
	const char	*path;		/* "/api/v1/services", no query */
	const char	*label_selector;	/* escaped, or NULL */
	const char	*field_selector;	/* escaped, or NULL */
	unsigned	 page_limit;	/* 0: 500 */
	unsigned	 timeout_s;	/* 0: random 300..600 */
	uint32_t	 backoff_base_ms;	/* 0: 500 */
	uint32_t	 backoff_cap_ms;	/* 0: 30000 */
	size_t		 max_line;	/* one watch event; 0: K8S_LINE_MAX */
	/*
	 * on_page: one page of a (re)list as it arrives, in server order;
	 * `first`: the first page of a list (the previous pages, if any,
	 * belonged to a list that did not complete).  The objects are borrowed
	 * for the call (json_object_get to keep one).
	 */
	void	(*on_page)(void *arg, struct json_object **items, size_t n,
		    bool first);
	/* The list whose first page came last is complete: n objects. */
	void	(*on_synced)(void *arg, size_t n);
	/* One change; the object is borrowed for the call. */
	void	(*on_event)(void *arg, enum k8s_event_type, struct json_object *);
	/* Something went wrong; the engine recovers by itself. */
	void	(*on_error)(void *arg, const char *text);
	/* A relist starts (not the first list); optional. */
	void	(*on_relist)(void *arg, const char *reason);
	void	*arg;
};

struct k8s_watch;

/* Starts listing at once.  The callbacks must not free the watch. */
struct k8s_watch *k8s_watch_new(struct event_base *, struct k8s_http *,
	    const struct k8s_watch_opts *);
void	k8s_watch_free(struct k8s_watch *);
/* The last resourceVersion seen (list, event or bookmark), or "". */
const char *k8s_watch_resource_version(const struct k8s_watch *);
/* True after the first complete list. */
bool	k8s_watch_synced(const struct k8s_watch *);

#endif

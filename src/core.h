/*
 * core.h - struct core: the running config, the services with their
 * allocation, the plan, the backends and the source, all on one libevent
 * base (daemon.c owns it; status.c only reads it).
 *
 * Data flows one way: source (config + services, allocated) -> core
 * (planner) -> announcers.  The core names no particular source or backend:
 * it knows them by their descriptors (bgplb/source.h, bgplb/announce.h).
 */
#ifndef BGPLB_CORE_H
#define BGPLB_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "bgplb/alloc.h"
#include "bgplb/announce.h"
#include "bgplb/config.h"
#include "bgplb/plan.h"
#include "bgplb/source.h"

struct event_base;
struct event;
struct evbuffer;
struct json_object;
struct status_server;
struct l2_membership;

#define CORE_MAX_ANNOUNCERS 4
#define CORE_MAX_SOURCES 4

/* A backend's constructor: called once, when the node name is known. */
typedef struct announcer *(*announcer_new_fn)(struct event_base *,
	    const char *node);

struct daemon_opts {
	const char	*config_path;
	const char	*node;			/* --node; NULL: config, then hostname */
	const char	*status_listen;		/* --status-listen; NULL: config */
	enum core_role	 role;			/* --role; default both */
	/* The sources, asked in order which one claims the first config
	 * (NULL-terminated; NULL: k8s_source_ops then file_source_ops). */
	const struct source_ops *const *sources;
	/* The backends to create (NULL-terminated; NULL: the BGP speaker and
	 * the layer 2 responder).  Tests pass recording backends. */
	const announcer_new_fn *backends;
	/* No layer 2 membership (tests without sockets). */
	bool		 no_membership;
};

/*
 * The core: the running config, the services with their allocation, the
 * plan, the backends and the source that feeds them, all on one libevent
 * base.  The status endpoint only reads it; a source sees it only through
 * the core_*() functions of bgplb/source.h.
 */
struct core {
	struct event_base *base;
	struct daemon_opts opts;
	char		*node;			/* effective node name */

	struct cfg	*cfg;			/* running config; NULL before the first load */
	time_t		 cfg_loaded_at;
	bool		 cfg_stale;		/* the last (re)load failed; cfg is older */
	time_t		 cfg_failed_at;
	char		**cfg_errors;		/* errors of the last failed load */
	size_t		 ncfg_errors;
	struct stat	 cfg_st;		/* what we loaded: for change detection */
	bool		 cfg_st_valid;
	unsigned long	 reloads_ok;
	unsigned long	 reloads_failed;

	struct alloc	*alloc;
	struct core_service *services;
	size_t		 nservices;
	unsigned long	 alloc_failures_total;

	struct plan	*plan;
	struct l2_membership *members;		/* layer 2: who is alive */
	bool		 l2_settling;		/* start-up grace: members presumed alive */
	struct event	*ev_l2_settle;
	struct announcer *announcers[CORE_MAX_ANNOUNCERS];
	size_t		 nannouncers;

	/* The source that feeds the core (chosen at the first load). */
	const struct source_ops *src;
	void		*src_ctx;

	struct status_server *status;
	char		*status_listen;		/* where it listens (fixed at start) */
	struct event	*ev_hup, *ev_term, *ev_int, *ev_watch;
	time_t		 started_at;
	bool		 stopping;
};

#endif

/*
 * k8s_source_priv.h - Kubernetes mode's private header: struct daemon_k8s,
 * the entries of its object store, and the ks_ names the four files of the
 * Kubernetes source share.
 *
 *   k8s_store.c    the object store (Services, EndpointSlices, Nodes, the
 *                  ConfigMap) kept by list + watch; the last error, Events
 *   k8s_compose.c  the config: the daemon's file + data.config, layer 2
 *                  membership from the Nodes, the config Events, the last
 *                  good data.config kept in a file on the node
 *   k8s_duties.c   the leader's duties: what to write, the status-write
 *                  queue, the allocation Events
 *   k8s_source.c   the source descriptor (bgplb/source.h): start, replan,
 *                  nodes, shutdown, status and metrics (the only file that
 *                  sees the core)
 *
 * The calls go one way: source -> duties, compose -> store (the glue
 * reaches back only through k->changed).
 *
 * Nothing is decided before every watch has listed once: a node that has
 * not seen the whole picture neither announces (its BGP sessions start with
 * the full plan) nor, as leader, assigns (it would not know what is held).
 */
#ifndef BGPLB_K8S_SOURCE_PRIV_H
#define BGPLB_K8S_SOURCE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "bgplb/addr.h"
#include "bgplb/config.h"
#include "bgplb/smap.h"
#include "bgplb/util.h"
#include "k8s_http.h"
#include "k8s_objects.h"

#define MOD		"kubernetes"

struct core;
struct alloc;
struct event;
struct event_base;
struct evbuffer;
struct json_object;
struct k8s_leader;
struct k8s_recorder;
struct k8s_req;
struct k8s_watch;
struct k8s_watch_opts;
struct rc_result;

enum { W_SVC, W_EPS, W_NODE, W_CM, W__N };

/* ---- the store's entries (each begins with its map entry) --------------- */

struct svc_write;

struct svc_ent {
	struct smap_ent	 s;		/* key: namespace/name */
	struct k8s_service svc;
	char		*err;		/* parse error; NULL: parsed whole */
	bool		 mark;
	uint64_t	 req_changed;	/* k->req_seq when its request last
					   changed; 0: not since we started */
	/* leader */
	struct svc_write *w;		/* queued or in flight */
	bool		 has_pending;	/* a status write decided, not yet seen */
	struct addr	 pending[2];
	size_t		 npending;
	char		*fail_msg;	/* the AllocationFailed message posted last */
	char		*refused_msg;	/* the StatusWriteRefused message posted last */
	bool		 ann_lost;	/* the server dropped our pool annotation:
					 * no more writes for it alone */
};

struct eps_ent {
	struct smap_ent	 s;		/* key: namespace/name of the slice */
	struct k8s_endpointslice es;
	bool		 mark;
};

struct node_ent {
	struct smap_ent	 s;		/* key: name */
	struct k8s_node	 node;
	bool		 mark;
};

struct own_ent {
	struct smap_ent	 s;		/* key: service (layer 2, this node owns it) */
	bool		 mark;
};

struct svc_write {
	TAILQ_ENTRY(svc_write) q;	/* the queue, when queued */
	LIST_ENTRY(svc_write) all;	/* every write */
	struct daemon_k8s *k;
	char		*key;
	struct addr	 addrs[2];
	size_t		 naddrs;
	bool		 cleared;	/* takes addresses away: ClearAssignment */
	char		*clear_why;
	char		*pool;		/* ip-allocated-from-pool; NULL: removed */
	bool		 ann_only;	/* the addresses are as they are: only the
					 * annotations change */
	bool		 inflight, get;	/* PATCH, or the GET after a 409 */
	bool		 queued;
	struct k8s_req	*req;
	struct evbuffer	*body;
	unsigned	 attempts;
	struct event	*retry;
};
TAILQ_HEAD(write_q, svc_write);
LIST_HEAD(write_list, svc_write);

enum cm_state {
	CM_WAITING = 0,		/* no ConfigMap seen yet */
	CM_LOADED,		/* running the ConfigMap's config */
	CM_INVALID,		/* no good config yet: the ConfigMap is broken */
	CM_STALE,		/* running an older config: broken or deleted */
};

/* What a watch's callbacks are called with. */
struct ks_watch_arg {
	struct daemon_k8s *k;
	int		 which;
};

struct daemon_k8s {
	struct core	*core;		/* k8s_source.c only */
	bool		 in_replan;	/* the core is applying a replan's plan */
	struct event_base *base;
	/* Set by the glue: something changed, replan soon. */
	void		(*changed)(struct daemon_k8s *);
	const char	*config_path;	/* the daemon's file (borrowed) */
	struct k8s_conn	 conn;
	struct k8s_http	*http;
	struct k8s_watch *w[W__N];	/* NULL: not watched in this role */
	struct ks_watch_arg wa[W__N];
	uint64_t	 events[W__N], relists[W__N];
	bool		 synced;	/* every watch has listed once */
	/* --role: the allocator campaigns for the Lease and, leading,
	 * writes status and the allocation Events; the speaker announces
	 * (watches EndpointSlices and Nodes, posts nodeAssigned).  Both by
	 * default. */
	bool		 allocates, announces;
	struct k8s_leader *leader;	/* NULL: a speaker never campaigns */
	bool		 leading;
	char		*holder;
	struct k8s_recorder *rec;
	char		*cm_ns, *cm_name, *lease_ns, *lease_name, *lb_class;

	/* the daemon's own file, kept to compose again */
	char		*local_buf;
	size_t		 local_len;

	struct smap	 svcs, eps, nodes, owned;
	size_t		 nhandled;
	uint64_t	 req_seq;	/* Service requests seen changing */

	/* the ConfigMap as seen */
	bool		 cm_present;
	bool		 cm_listed;	/* the list in progress has brought it */
	char		*cm_text;	/* data.config; NULL: none */
	char		*cm_rv, *cm_uid;
	bool		 cm_dirty;	/* changed since composed */
	/* what runs */
	enum cm_state	 cm_state;
	char		*good_text;	/* data.config of the running config */
	char		*good_rv;
	char		**cm_errors;	/* of the last failed data.config */
	size_t		 ncm_errors;
	char		*cm_event_key;	/* rv + outcome of the last config Event */
	/* the last good data.config, kept on this node (k8s_compose.c) */
	char		*lg_path;	/* kubernetes.last-good-config */
	char		*lg_saved;	/* the text in the file (NULL: unknown) */
	bool		 lg_tried;	/* read once already */
	bool		 lg_running;	/* the running config came from it */
	char		*members_sig;	/* layer 2 members of the running config */

	/* self */
	bool		 self_found, self_eligible;
	char		 self_why[160];

	/* status writes */
	struct write_q	 wq;
	struct write_list writes;
	unsigned	 inflight;
	uint64_t	 writes_ok, writes_conflict, writes_failed;

	/* replan */
	struct event	*ev_replan;
	/* service config copies the core's services point to */
	struct cfg_service *svc_cfgs;
	size_t		 nsvc_cfgs;

	/* shutdown */
	struct event	*ev_stop;
	bool		 stopping;

	uint64_t	 replans, replan_us;	/* count; the last one's time */
	int64_t		 replan_end_us;		/* monotonic, when it ended */
	char		 last_error[512];
};

static inline void
ks_set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

static inline struct svc_ent *
ks_svc_get(const struct daemon_k8s *k, const char *key)
{
	return (struct svc_ent *)smap_get(&k->svcs, key);
}

/* k8s_store.c */
extern const char *const ks_watch_names[W__N];
void	ks_store_init(struct daemon_k8s *);
void	ks_store_free(struct daemon_k8s *);
/* The store's callbacks for watch `which` into wo. */
void	ks_watch_callbacks(struct daemon_k8s *, int which,
	    struct k8s_watch_opts *wo);
void	ks_svc_key(const char *ns, const char *name, char *buf, size_t len);
struct svc_ent *ks_svc_update(struct daemon_k8s *, struct json_object *,
	    bool force);
/* The last error (status) and the log; an Event (no-op without recorder). */
void	ks_note_error(struct daemon_k8s *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	ks_record(struct daemon_k8s *, const char *kind, const char *ns,
	    const char *name, const char *uid, bool warning, const char *reason,
	    const char *fmt, ...) __attribute__((format(printf, 8, 9)));
void	ks_svc_record(struct daemon_k8s *, const struct svc_ent *,
	    bool warning, const char *reason, const char *msg);

/* k8s_compose.c */
extern const char *const ks_cm_state_names[];
bool	ks_node_eligible(const struct k8s_node *, char *why, size_t len);
struct cfg *ks_compose(struct daemon_k8s *, const char *text,
	    struct cfg_errors *);
struct cfg *ks_next_config(struct daemon_k8s *, bool local_changed,
	    bool *nodes_changed);
bool	ks_members_changed(struct daemon_k8s *, const struct cfg *running);
void	ks_last_good_path(struct daemon_k8s *, const struct cfg *local,
	    const char *node);
void	ks_config_outcome_event(struct daemon_k8s *, const struct cfg *running);
void	ks_free_cm_errors(struct daemon_k8s *);

/* k8s_duties.c */
void	ks_clear_unbalanced(struct daemon_k8s *, const struct alloc *,
	    struct svc_ent **, size_t n);
void	ks_lead(struct daemon_k8s *, const struct alloc *, struct svc_ent **,
	    const struct rc_result *, size_t n);
void	ks_lead_without_config(struct daemon_k8s *, struct svc_ent **,
	    size_t n);
void	ks_write_free(struct svc_write *);
void	ks_drop_writes(struct daemon_k8s *);


#endif

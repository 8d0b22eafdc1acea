/*
 * announce_log.c - an announcer that only writes log lines.
 *
 * It stands in for a backend that does not exist yet, lets an operator dry
 * run a config ("what would this node announce?"), and gives the tests a
 * backend whose behaviour they can count.  It remembers which routes are
 * active, keyed by route identity (backend, vrf, prefix) exactly like the
 * plan, so an announce that replaces an active route (an attribute change)
 * does not count twice, and shutdown can withdraw what is left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/announce.h"
#include "bgplb/log.h"

struct alog_key {
	enum cfg_proto	 backend;
	char		*vrf;
	struct prefix	 prefix;
};

struct alog {
	enum cfg_proto	 backend;
	struct alog_key	*active;		/* sorted by alog_key_cmp */
	size_t		 nactive;
	size_t		 cap;
	struct announce_log_counts counts;
};

static const char *
proto_name(enum cfg_proto p)
{
	return p == CFG_PROTO_LAYER2 ? "layer2" : "bgp";
}

/* A stored key against a route's identity (the plan's order). */
static int
key_route_cmp(const struct alog_key *k, const struct plan_route *r)
{
	int c;

	if (k->backend != r->backend)
		return k->backend < r->backend ? -1 : 1;
	if (k->vrf == NULL || r->vrf == NULL) {
		if ((c = (k->vrf != NULL) - (r->vrf != NULL)) != 0)
			return c;
	} else if ((c = strcmp(k->vrf, r->vrf)) != 0) {
		return c < 0 ? -1 : 1;
	}
	if ((c = addr_cmp(&k->prefix.addr, &r->prefix.addr)) != 0)
		return c;
	if (k->prefix.len != r->prefix.len)
		return k->prefix.len < r->prefix.len ? -1 : 1;
	return 0;
}

/* Index of the route's key, or where it would go; *found says which. */
static size_t
alog_find(const struct alog *al, const struct plan_route *r, bool *found)
{
	size_t lo = 0, hi = al->nactive;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_route_cmp(&al->active[mid], r);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int
alog_insert(struct alog *al, const struct plan_route *r)
{
	struct alog_key k;
	bool found;
	size_t at;

	at = alog_find(al, r, &found);
	if (found)
		return 0;
	if (al->nactive == al->cap) {
		size_t ncap = al->cap ? al->cap * 2 : 16;
		struct alog_key *v = reallocarray(al->active, ncap, sizeof(*v));

		if (v == NULL)
			return -1;
		al->active = v;
		al->cap = ncap;
	}
	k.backend = r->backend;
	k.prefix = r->prefix;
	k.vrf = NULL;
	if (r->vrf != NULL && (k.vrf = strdup(r->vrf)) == NULL)
		return -1;
	memmove(&al->active[at + 1], &al->active[at],
	    (al->nactive - at) * sizeof(*al->active));
	al->active[at] = k;
	al->nactive++;
	return 0;
}

static bool
alog_remove(struct alog *al, const struct plan_route *r)
{
	bool found;
	size_t at;

	at = alog_find(al, r, &found);
	if (!found)
		return false;
	free(al->active[at].vrf);
	memmove(&al->active[at], &al->active[at + 1],
	    (al->nactive - at - 1) * sizeof(*al->active));
	al->nactive--;
	return true;
}

static void
put_strv(FILE *f, const char *label, char *const *v, size_t n)
{
	fprintf(f, " %s ", label);
	if (n == 0)
		fputs("-", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? "," : "", v[i]);
}

/* One line naming everything a real backend would act on. */
static char *
describe(const struct plan_route *r)
{
	char pbuf[ADDR_STRLEN];
	char *s = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&s, &len)) == NULL)
		return NULL;
	fprintf(f, "%s %s", proto_name(r->backend),
	    prefix_ntop(&r->prefix, pbuf, sizeof(pbuf)));
	if (r->vrf != NULL)
		fprintf(f, " vrf %s", r->vrf);
	fprintf(f, " pool %s", r->pool != NULL ? r->pool : "-");
	put_strv(f, "services", r->services, r->nservices);
	if (r->backend == CFG_PROTO_BGP) {
		put_strv(f, "peers", r->peers, r->npeers);
		if (r->has_local_pref)
			fprintf(f, " local-pref %u", r->local_pref);
		if (r->ncommunities > 0) {
			fputs(" communities ", f);
			for (size_t i = 0; i < r->ncommunities; i++)
				fprintf(f, "%s%u:%u", i ? "," : "",
				    r->communities[i] >> 16,
				    r->communities[i] & 0xffff);
		}
		if (r->nlarge_communities > 0) {
			fputs(" large-communities ", f);
			for (size_t i = 0; i < r->nlarge_communities; i++)
				fprintf(f, "%s%u:%u:%u", i ? "," : "",
				    r->large_communities[i].global,
				    r->large_communities[i].local1,
				    r->large_communities[i].local2);
		}
	} else {
		fprintf(f, " owner %s%s", r->owner != NULL ? r->owner : "-",
		    r->local ? " (this node)" : "");
		if (r->ninterfaces > 0)
			put_strv(f, "interfaces", r->interfaces, r->ninterfaces);
	}
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static void
log_route(const char *verb, const struct plan_route *r)
{
	char *d = describe(r);

	if (d != NULL)
		log_info("announce", "%s %s", verb, d);
	else
		log_info("announce", "%s (route description unavailable)", verb);
	free(d);
}

static void
alog_announce(void *ctx, const struct plan_route *r)
{
	struct alog *al = ctx;

	log_route("announce", r);
	al->counts.announced++;
	if (alog_insert(al, r) == -1)
		log_warn("announce", "out of memory tracking active routes");
	al->counts.active = al->nactive;
}

static void
alog_withdraw(void *ctx, const struct plan_route *r)
{
	struct alog *al = ctx;

	log_route("withdraw", r);
	al->counts.withdrawn++;
	if (!alog_remove(al, r))
		log_debug("announce", "withdrawn route was not active");
	al->counts.active = al->nactive;
}

static void
alog_flush(void *ctx)
{
	struct alog *al = ctx;

	al->counts.flushes++;
	log_info("announce", "flush %s: %zu active route(s)",
	    proto_name(al->backend), al->nactive);
}

static void
alog_reconfigure(void *ctx, const struct cfg *old, const struct cfg *new)
{
	struct alog *al = ctx;

	log_info("announce", "reconfigure %s: %zu pool(s), %zu peer(s) -> "
	    "%zu pool(s), %zu peer(s)", proto_name(al->backend),
	    old != NULL ? old->npools : 0, old != NULL ? old->npeers : 0,
	    new != NULL ? new->npools : 0, new != NULL ? new->npeers : 0);
}

static void
alog_status(void *ctx, struct json_object *out)
{
	struct alog *al = ctx;

	if (out == NULL)
		return;
	json_object_object_add(out, "backend", json_object_new_string("log"));
	json_object_object_add(out, "protocol",
	    json_object_new_string(proto_name(al->backend)));
	json_object_object_add(out, "active_routes",
	    json_object_new_uint64(al->nactive));
	json_object_object_add(out, "announced",
	    json_object_new_uint64(al->counts.announced));
	json_object_object_add(out, "withdrawn",
	    json_object_new_uint64(al->counts.withdrawn));
	json_object_object_add(out, "flushes",
	    json_object_new_uint64(al->counts.flushes));
}

static void
alog_shutdown(void *ctx)
{
	struct alog *al = ctx;
	char pbuf[ADDR_STRLEN];

	/* Only the identity is kept, so that is all the log can say. */
	for (size_t i = 0; i < al->nactive; i++) {
		struct alog_key *k = &al->active[i];

		log_info("announce", "withdraw %s %s%s%s (shutdown)",
		    proto_name(k->backend),
		    prefix_ntop(&k->prefix, pbuf, sizeof(pbuf)),
		    k->vrf != NULL ? " vrf " : "", k->vrf != NULL ? k->vrf : "");
		free(k->vrf);
		al->counts.withdrawn++;
	}
	al->nactive = 0;
	al->counts.active = 0;
	al->counts.flushes++;
	log_info("announce", "flush %s: shut down", proto_name(al->backend));
}

static void
alog_destroy(void *ctx)
{
	struct alog *al = ctx;

	if (al == NULL)
		return;
	for (size_t i = 0; i < al->nactive; i++)
		free(al->active[i].vrf);
	free(al->active);
	free(al);
}

/* ops carries the backend it takes, so there is one table per protocol. */
static const struct announcer_ops alog_ops[] = {
	[CFG_PROTO_BGP] = {
		.name = "log", .backend = CFG_PROTO_BGP,
		.announce = alog_announce, .withdraw = alog_withdraw,
		.flush = alog_flush, .reconfigure = alog_reconfigure,
		.status = alog_status, .shutdown = alog_shutdown,
		.destroy = alog_destroy,
	},
	[CFG_PROTO_LAYER2] = {
		.name = "log", .backend = CFG_PROTO_LAYER2,
		.announce = alog_announce, .withdraw = alog_withdraw,
		.flush = alog_flush, .reconfigure = alog_reconfigure,
		.status = alog_status, .shutdown = alog_shutdown,
		.destroy = alog_destroy,
	},
};

struct announcer *
announce_log_new(enum cfg_proto backend)
{
	struct announcer *a = NULL;
	struct alog *al = NULL;

	if (backend != CFG_PROTO_BGP && backend != CFG_PROTO_LAYER2)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto fail;
	if ((al = calloc(1, sizeof(*al))) == NULL)
		goto fail;
	al->backend = backend;
	a->ops = &alog_ops[backend];
	a->ctx = al;
	return a;
fail:
	free(al);
	free(a);
	return NULL;
}

void
announce_log_counts(const struct announcer *a, struct announce_log_counts *out)
{
	const struct alog *al;

	memset(out, 0, sizeof(*out));
	if (a == NULL || a->ops == NULL || a->ops->announce != alog_announce)
		return;
	al = a->ctx;
	*out = al->counts;
}

void
announcer_free(struct announcer *a)
{
	if (a == NULL)
		return;
	if (a->ops != NULL && a->ops->destroy != NULL)
		a->ops->destroy(a->ctx);
	free(a);
}

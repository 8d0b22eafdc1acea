/*
 * status.c - the read-only HTTP status endpoint (libevent evhttp).
 *
 * Every document is built from the daemon struct on request; nothing here
 * changes state.  Counts that can exceed 2^53 (IPv6 pool sizes) are JSON
 * strings of decimal digits, so no client loses precision parsing them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "bgplb_version.h"
#include "status.h"

struct status_server {
	struct core	*d;
	struct evhttp	*http;
	char		*token;		/* bearer token; NULL: no authentication */
};

#define STATUS_TOKEN_MAX	4096

static struct json_object *
jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* Is the config in force stale on the source's side (its half failed)? */
static bool
source_stale(const struct core *d)
{
	return d->src != NULL && d->src->stale != NULL &&
	    d->src->stale(d->src_ctx);
}

static struct json_object *
jaddr(const struct addr *a)
{
	char buf[ADDR_STRLEN];

	return json_object_new_string(addr_ntop(a, buf, sizeof(buf)));
}

static struct json_object *
jcount(addr_u128 v)
{
	char buf[ADDR_COUNT_STRLEN];

	return json_object_new_string(u128_to_dec(v, buf, sizeof(buf)));
}


struct json_object *
status_json_pools(const struct core *d)
{
	struct json_object *arr = json_object_new_array();

	if (d->cfg == NULL || d->alloc == NULL)
		return arr;
	for (size_t i = 0; i < alloc_npools(d->alloc); i++) {
		struct alloc_pool_stats st;
		const struct cfg_pool *p;
		struct json_object *o = json_object_new_object(), *ranges;

		alloc_pool_stats(d->alloc, i, &st);
		p = cfg_pool_find(d->cfg, st.name);
		json_object_object_add(o, "name", jstr(st.name));
		if (p != NULL) {
			json_object_object_add(o, "protocol",
			    jstr(cfg_proto_name(p->protocol)));
			json_object_object_add(o, "vrf", jstr(p->vrf));
			json_object_object_add(o, "auto_assign",
			    json_object_new_boolean(p->auto_assign));
			json_object_object_add(o, "avoid_buggy_ips",
			    json_object_new_boolean(p->avoid_buggy_ips));
			ranges = json_object_new_array();
			for (size_t r = 0; r < p->nranges; r++) {
				char a[ADDR_STRLEN], b[ADDR_STRLEN], buf[2 * ADDR_STRLEN + 2];

				if (p->ranges[r].is_cidr)
					prefix_ntop(&p->ranges[r].cidr, buf, sizeof(buf));
				else
					snprintf(buf, sizeof(buf), "%s-%s",
					    addr_ntop(&p->ranges[r].range.first, a, sizeof(a)),
					    addr_ntop(&p->ranges[r].range.last, b, sizeof(b)));
				json_object_array_add(ranges, json_object_new_string(buf));
			}
			json_object_object_add(o, "addresses", ranges);
		}
		json_object_object_add(o, "total", jcount(st.total));
		json_object_object_add(o, "in_use", jcount(st.in_use));
		json_object_object_add(o, "available", jcount(st.total - st.in_use));
		json_object_object_add(o, "services",
		    json_object_new_int64((int64_t)st.services));
		json_object_array_add(arr, o);
	}
	return arr;
}

static const struct announcer *
backend_of(const struct core *d, enum cfg_proto p)
{
	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->backend == p)
			return d->announcers[i];
	return NULL;
}

/* Is the route really out there?  A backend that can't tell (the logging
 * one) counts a planned route as announced. */
static bool
announcer_announced(const struct core *d, const struct plan_route *r)
{
	const struct announcer *a = backend_of(d, r->backend);

	if (a == NULL)
		return false;
	if (a->ops->announced == NULL)
		return r->backend == CFG_PROTO_LAYER2 || r->npeers > 0;
	return a->ops->announced(a->ctx, r);
}

/* The routes of the plan that carry this service. */
static void
service_routes(const struct core *d, const char *name, struct json_object *o)
{
	struct json_object *peers = json_object_new_array(), *prefixes =
	    json_object_new_array();
	const char *owner = NULL;
	bool announced = false;

	for (size_t i = 0; d->plan != NULL && i < d->plan->nroutes; i++) {
		const struct plan_route *r = &d->plan->routes[i];
		bool mine = false;
		char buf[ADDR_STRLEN];

		for (size_t s = 0; s < r->nservices; s++)
			if (strcmp(r->services[s], name) == 0)
				mine = true;
		if (!mine)
			continue;
		json_object_array_add(prefixes, json_object_new_string(
		    prefix_ntop(&r->prefix, buf, sizeof(buf))));
		if (r->backend == CFG_PROTO_LAYER2) {
			owner = r->owner;
			if (r->local && announcer_announced(d, r))
				announced = true;
			continue;
		}
		if (announcer_announced(d, r))
			announced = true;
		for (size_t p = 0; p < r->npeers; p++) {
			bool dup = false;

			for (size_t k = 0; k < json_object_array_length(peers); k++)
				if (strcmp(json_object_get_string(
				    json_object_array_get_idx(peers, k)),
				    r->peers[p]) == 0)
					dup = true;
			if (!dup)
				json_object_array_add(peers,
				    json_object_new_string(r->peers[p]));
		}
	}
	json_object_object_add(o, "announced", json_object_new_boolean(announced));
	json_object_object_add(o, "announcing_node", jstr(owner));
	json_object_object_add(o, "peers", peers);
	json_object_object_add(o, "prefixes", prefixes);
}

struct json_object *
status_json_services(const struct core *d)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < d->nservices; i++) {
		const struct core_service *s = &d->services[i];
		struct json_object *o = json_object_new_object(), *addrs;
		const struct cfg_pool *p = NULL;

		json_object_object_add(o, "name", jstr(s->cfg->name));
		addrs = json_object_new_array();
		for (size_t a = 0; a < s->assign.naddrs; a++)
			json_object_array_add(addrs, jaddr(&s->assign.addrs[a]));
		json_object_object_add(o, "addresses", addrs);
		if (s->assign.pool != NULL)
			p = cfg_pool_find(d->cfg, s->assign.pool);
		json_object_object_add(o, "pool",
		    jstr(s->assign.pool ? s->assign.pool : s->cfg->pool));
		json_object_object_add(o, "protocol",
		    jstr(p ? cfg_proto_name(p->protocol) : NULL));
		if (s->err != ALLOC_OK && s->why != NULL)
			json_object_object_add(o, "error", jstr(s->why));
		service_routes(d, s->cfg->name, o);
		if (d->src != NULL && d->src->service_status != NULL)
			d->src->service_status(d->src_ctx, s, o);
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *
status_json_peers(const struct core *d)
{
	struct json_object *arr = json_object_new_array();

	const struct announcer *bgp = backend_of(d, CFG_PROTO_BGP);

	if (d->cfg == NULL)
		return arr;
	if (bgp != NULL && bgp->ops->peers != NULL) {
		bgp->ops->peers(bgp->ctx, arr);
		return arr;
	}
	/* No speaker: the configured peers, honestly Idle. */
	for (size_t i = 0; i < d->cfg->npeers; i++) {
		const struct cfg_peer *p = &d->cfg->peers[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", jstr(p->name));
		json_object_object_add(o, "address", jaddr(&p->address));
		json_object_object_add(o, "port", json_object_new_int(p->port));
		json_object_object_add(o, "asn", json_object_new_int64(p->asn));
		json_object_object_add(o, "local_asn", json_object_new_int64(p->my_asn));
		json_object_object_add(o, "vrf", jstr(p->vrf));
		json_object_object_add(o, "state", json_object_new_string("Idle"));
		json_object_object_add(o, "backend",
		    jstr(bgp != NULL ? bgp->ops->name : "none"));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *
config_json(const struct core *d)
{
	struct json_object *o = json_object_new_object(), *errs;

	json_object_object_add(o, "file", jstr(d->opts.config_path));
	json_object_object_add(o, "loaded", json_object_new_boolean(d->cfg != NULL));
	json_object_object_add(o, "loaded_at", json_object_new_int64(d->cfg_loaded_at));
	json_object_object_add(o, "stale", json_object_new_boolean(d->cfg_stale ||
	    source_stale(d)));
	json_object_object_add(o, "reloads_ok", json_object_new_int64((int64_t)d->reloads_ok));
	json_object_object_add(o, "reloads_failed",
	    json_object_new_int64((int64_t)d->reloads_failed));
	json_object_object_add(o, "last_error",
	    d->ncfg_errors ? jstr(d->cfg_errors[0]) : NULL);
	if (d->ncfg_errors) {
		json_object_object_add(o, "failed_at",
		    json_object_new_int64(d->cfg_failed_at));
		errs = json_object_new_array();
		for (size_t i = 0; i < d->ncfg_errors; i++)
			json_object_array_add(errs, jstr(d->cfg_errors[i]));
		json_object_object_add(o, "errors", errs);
	}
	return o;
}

struct json_object *
status_json_status(const struct core *d)
{
	struct json_object *o = json_object_new_object(), *b;

	json_object_object_add(o, "node", jstr(d->node));
	json_object_object_add(o, "version", jstr(BGPLB_VERSION));
	json_object_object_add(o, "uptime_s",
	    json_object_new_int64(time(NULL) - d->started_at));
	/* The file source fills it in; null elsewhere. */
	json_object_object_add(o, "state_file", NULL);
	json_object_object_add(o, "config", config_json(d));
	json_object_object_add(o, "allocation_failures_total",
	    json_object_new_int64((int64_t)d->alloc_failures_total));
	b = json_object_new_object();
	for (size_t i = 0; i < d->nannouncers; i++) {
		struct json_object *bo = json_object_new_object();

		json_object_object_add(bo, "backend",
		    jstr(d->announcers[i]->ops->name));
		if (d->announcers[i]->ops->status != NULL)
			d->announcers[i]->ops->status(d->announcers[i]->ctx, bo);
		json_object_object_add(b,
		    cfg_proto_name(d->announcers[i]->ops->backend), bo);
	}
	json_object_object_add(o, "backends", b);
	if (d->members != NULL) {
		struct json_object *m = json_object_new_object();

		l2_membership_status(d->members, m);
		json_object_object_add(o, "membership", m);
	}
	if (d->src != NULL && d->src->status != NULL)
		d->src->status(d->src_ctx, o);
	json_object_object_add(o, "routes_planned", json_object_new_int64(
	    d->plan ? (int64_t)d->plan->nroutes : 0));
	json_object_object_add(o, "pools", status_json_pools(d));
	json_object_object_add(o, "services", status_json_services(d));
	json_object_object_add(o, "peers", status_json_peers(d));
	return o;
}

/* Prometheus label values escape backslash, quote and newline. */
static void
label_escape(struct evbuffer *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void
metric_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
pool_metric(struct evbuffer *b, const struct core *d, const char *name,
    const char *help, bool in_use)
{
	metric_head(b, name, "gauge", help);
	for (size_t i = 0; d->alloc && i < alloc_npools(d->alloc); i++) {
		struct alloc_pool_stats st;
		char num[ADDR_COUNT_STRLEN];

		alloc_pool_stats(d->alloc, i, &st);
		evbuffer_add_printf(b, "%s{pool=\"", name);
		label_escape(b, st.name);
		evbuffer_add_printf(b, "\"} %s\n",
		    u128_to_dec(in_use ? st.in_use : st.total, num, sizeof(num)));
	}
}

char *
status_metrics(const struct core *d)
{
	struct evbuffer *b = evbuffer_new();
	size_t len, nbgp = 0, nl2 = 0;
	char *out;

	pool_metric(b, d, "metallb_allocator_addresses_total",
	    "Number of usable IP addresses, per pool", false);
	pool_metric(b, d, "metallb_allocator_addresses_in_use_total",
	    "Number of IP addresses in use, per pool", true);
	pool_metric(b, d, "bgplb_pool_addresses_total",
	    "Number of usable IP addresses, per pool", false);
	pool_metric(b, d, "bgplb_pool_addresses_in_use",
	    "Number of IP addresses in use, per pool", true);
	metric_head(b, "metallb_k8s_client_config_loaded_bool", "gauge",
	    "1 if the config was loaded at least once");
	evbuffer_add_printf(b, "metallb_k8s_client_config_loaded_bool %d\n",
	    d->cfg != NULL);
	metric_head(b, "metallb_k8s_client_config_stale_bool", "gauge",
	    "1 if the running config is stale (the last reload failed)");
	evbuffer_add_printf(b, "metallb_k8s_client_config_stale_bool %d\n",
	    d->cfg_stale || source_stale(d));
	metric_head(b, "bgplb_config_loaded", "gauge",
	    "1 if a config is running");
	evbuffer_add_printf(b, "bgplb_config_loaded %d\n", d->cfg != NULL);
	metric_head(b, "bgplb_config_stale", "gauge",
	    "1 if the last reload failed and an older config is running");
	evbuffer_add_printf(b, "bgplb_config_stale %d\n", d->cfg_stale ||
	    source_stale(d));
	metric_head(b, "bgplb_config_reloads_total", "counter",
	    "Config loads, by result");
	evbuffer_add_printf(b, "bgplb_config_reloads_total{result=\"ok\"} %lu\n"
	    "bgplb_config_reloads_total{result=\"error\"} %lu\n",
	    d->reloads_ok, d->reloads_failed);
	metric_head(b, "bgplb_allocation_failures_total", "counter",
	    "Services that could not get an address, counted at each (re)allocation");
	evbuffer_add_printf(b, "bgplb_allocation_failures_total %lu\n",
	    d->alloc_failures_total);
	metric_head(b, "bgplb_services", "gauge", "Services known, by state");
	{
		size_t ok = 0;

		for (size_t i = 0; i < d->nservices; i++)
			ok += d->services[i].assign.naddrs > 0;
		evbuffer_add_printf(b, "bgplb_services{state=\"allocated\"} %zu\n"
		    "bgplb_services{state=\"failed\"} %zu\n", ok,
		    d->nservices - ok);
	}
	for (size_t i = 0; d->plan && i < d->plan->nroutes; i++) {
		if (d->plan->routes[i].backend == CFG_PROTO_BGP)
			nbgp++;
		else
			nl2++;
	}
	metric_head(b, "bgplb_routes_planned", "gauge",
	    "Routes this node should announce, by backend");
	evbuffer_add_printf(b, "bgplb_routes_planned{backend=\"bgp\"} %zu\n"
	    "bgplb_routes_planned{backend=\"layer2\"} %zu\n", nbgp, nl2);
	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->metrics != NULL)
			d->announcers[i]->ops->metrics(d->announcers[i]->ctx, b);
	if (d->members != NULL)
		l2_membership_metrics(d->members, b);
	if (d->src != NULL && d->src->metrics != NULL)
		d->src->metrics(d->src_ctx, b);
	metric_head(b, "bgplb_info", "gauge", "Build and node information");
	evbuffer_add_printf(b, "bgplb_info{version=\"%s\",node=\"", BGPLB_VERSION);
	label_escape(b, d->node);
	evbuffer_add_printf(b, "\"} 1\n");

	len = evbuffer_get_length(b);
	out = malloc(len + 1);
	if (out != NULL) {
		evbuffer_remove(b, out, len);
		out[len] = '\0';
	}
	evbuffer_free(b);
	return out;
}

static void
reply_json(struct evhttp_request *req, struct json_object *o)
{
	struct evbuffer *b = evbuffer_new();
	const char *s = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
	json_object_put(o);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, text, strlen(text));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ctype);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

/* Compare without an early exit, so timing tells nothing of the token. */
static bool
token_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned char diff = alen != blen;

	for (size_t i = 0; i < alen; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i % (blen ? blen : 1)];
	return diff == 0;
}

/* "Authorization: Bearer <token>" with the configured token? */
static bool
authorized(const struct status_server *s, struct evhttp_request *req)
{
	const char *h;

	if (s->token == NULL)
		return true;
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	for (h += 7; *h == ' '; h++)
		;
	return token_eq(h, strlen(h), s->token);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct status_server *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evhttp_uri *u;
	const char *path;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed", "text/plain",
		    "the status endpoint is read-only\n");
		return;
	}
	u = evhttp_uri_parse(uri);
	path = u ? evhttp_uri_get_path(u) : NULL;
	if (path == NULL)
		path = "/";
	if (strcmp(path, "/healthz") == 0)
		/* Open to probes (kubelet) even with a token. */
		reply_text(req, HTTP_OK, "OK", "text/plain", "ok\n");
	else if (!authorized(s, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"bgplb\"");
		reply_text(req, 401, "Unauthorized", "text/plain",
		    "a bearer token is required (bgplbctl --token-file)\n");
	} else if (strcmp(path, "/v1/status") == 0)
		reply_json(req, status_json_status(s->d));
	else if (strcmp(path, "/v1/pools") == 0)
		reply_json(req, status_json_pools(s->d));
	else if (strcmp(path, "/v1/services") == 0)
		reply_json(req, status_json_services(s->d));
	else if (strcmp(path, "/v1/peers") == 0)
		reply_json(req, status_json_peers(s->d));
	else if (strcmp(path, "/metrics") == 0) {
		char *m = status_metrics(s->d);

		reply_text(req, HTTP_OK, "OK", "text/plain; version=0.0.4",
		    m ? m : "");
		free(m);
	} else
		reply_text(req, HTTP_NOTFOUND, "Not Found", "text/plain",
		    "not found; try /v1/status, /v1/pools, /v1/services, "
		    "/v1/peers, /metrics, /healthz\n");
	if (u != NULL)
		evhttp_uri_free(u);
}

/* "127.0.0.1:7473", "[::1]:7473", ":7473" (all addresses). */
static int
split_listen(const char *listen, char *host, size_t hostlen, unsigned *port)
{
	const char *colon;
	char *end;
	unsigned long p;

	if (listen[0] == '[') {
		const char *rb = strchr(listen, ']');

		if (rb == NULL || rb[1] != ':' || (size_t)(rb - listen - 1) >= hostlen)
			return -1;
		memcpy(host, listen + 1, (size_t)(rb - listen - 1));
		host[rb - listen - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL || (size_t)(colon - listen) >= hostlen)
			return -1;
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
		if (host[0] == '\0')
			snprintf(host, hostlen, "0.0.0.0");
	}
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || p == 0 || p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

struct status_server *
status_start(struct core *d, const char *listen, char *err, size_t errlen)
{
	struct status_server *s;
	char host[64];
	unsigned port;

	if (split_listen(listen, host, sizeof(host), &port) == -1) {
		snprintf(err, errlen, "status-listen \"%s\": expected ADDR:PORT",
		    listen);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatalx("out of memory");
	s->d = d;
	s->http = evhttp_new(d->base);
	if (s->http == NULL)
		fatalx("evhttp_new failed");
	/* A slow or stuck client must not hold a connection forever. */
	evhttp_set_timeout(s->http, 10);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(s->http, on_request, s);
	if (evhttp_bind_socket(s->http, host, (ev_uint16_t)port) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(errno));
		evhttp_free(s->http);
		free(s);
		return NULL;
	}
	return s;
}

void
status_stop(struct status_server *s)
{
	if (s == NULL)
		return;
	evhttp_free(s->http);
	if (s->token != NULL)
		explicit_bzero(s->token, strlen(s->token));
	free(s->token);
	free(s);
}

bool
status_listen_loopback(const char *listen)
{
	char host[64];
	unsigned port;
	struct in_addr a4;
	struct in6_addr a6;

	if (split_listen(listen, host, sizeof(host), &port) == -1)
		return false;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) &&
		    a6.s6_addr[12] == 127);
	return false;	/* a name may resolve to anything */
}

/*
 * Read the bearer token: the file's content without trailing white space.
 * The token itself never reaches an error message or the log.
 */
int
status_set_token(struct status_server *s, const char *path, char *err,
    size_t errlen)
{
	char buf[STATUS_TOKEN_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd;

	if (path == NULL) {
		if (s->token != NULL)
			explicit_bzero(s->token, strlen(s->token));
		free(s->token);
		s->token = NULL;
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "status-token-file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 007) != 0)
		log_warn("status", "status-token-file %s is readable by every "
		    "user; chmod 600 it", path);
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "status-token-file %s: %s", path,
			    strerror(errno));
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	buf[len] = '\0';
	if (len == 0 || len == STATUS_TOKEN_MAX || strpbrk(buf, " \t\r\n") != NULL) {
		snprintf(err, errlen, "status-token-file %s: %s", path, len == 0 ?
		    "empty" : len == STATUS_TOKEN_MAX ? "longer than 4095 bytes" :
		    "the token must be one word");
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	if (s->token != NULL)
		explicit_bzero(s->token, strlen(s->token));
	free(s->token);
	if ((s->token = strdup(buf)) == NULL)
		fatalx("out of memory");
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/*
 * bgp_speaker.c - the BGP backend of the announcer interface.
 *
 * The core hands us plan routes (prefix, attributes, the peers that should
 * get it); we keep them in a table and translate each into per-peer
 * Adj-RIB-Out entries: unicast for a peer of the route's VRF, VPNv4/VPNv6
 * with the VRF's RD, route targets and label for a peer that carries the
 * VRF in its `vpn:` list.  A reconfiguration starts, stops or resets only
 * the sessions whose configuration changed (the listener and the sessions
 * it starts wait for the event loop's next turn: sp_start); routes are
 * re-sent only where the plan changed them.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/log.h"
#include "bgplb/util.h"
#include "bgp.h"

#define VRF_KEYLEN	48

/* The speaker's copy of one plan route. */
struct bgp_route_key {
	uint8_t		 af;
	uint8_t		 len;
	uint8_t		 addr[16];
	char		 vrf[VRF_KEYLEN];
};

struct bgp_route_out {
	char		*peer;
	struct bgp_rkey	 key;
};

struct bgp_route {
	struct bgp_route_key key;
	struct bgp_route_out *outs;		/* where it went */
	size_t		 nouts;
};

static struct bgp_peer *
peer_find(struct bgp_speaker *sp, const char *name)
{
	for (size_t i = 0; i < sp->npeers; i++)
		if (strcmp(sp->peers[i]->name, name) == 0)
			return sp->peers[i];
	return NULL;
}

static void
route_key(const struct plan_route *r, struct bgp_route_key *k)
{
	memset(k, 0, sizeof(*k));
	k->af = r->prefix.addr.af;
	k->len = r->prefix.len;
	addr_to_bytes(&r->prefix.addr, k->addr);
	if (r->vrf != NULL)
		snprintf(k->vrf, sizeof(k->vrf), "%s", r->vrf);
}

static bool
in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* MPLS label for a VRF's VPN routes: configured, or 16 + its index (the
 * first unreserved label, RFC 3032), the same on every node. */
static uint32_t
vrf_label(const struct cfg *cfg, const struct cfg_vrf *v)
{
	if (v->label != 0)
		return v->label;
	return 16 + (uint32_t)(v - cfg->vrfs);
}

static void
route_unset_all(struct bgp_speaker *sp, struct bgp_route *rt)
{
	for (size_t i = 0; i < rt->nouts; i++) {
		struct bgp_peer *p = peer_find(sp, rt->outs[i].peer);

		if (p != NULL)
			bgp_out_unset(p, &rt->outs[i].key);
		free(rt->outs[i].peer);
	}
	free(rt->outs);
	rt->outs = NULL;
	rt->nouts = 0;
}

static void
sp_announce(void *ctx, const struct plan_route *r)
{
	struct bgp_speaker *sp = ctx;
	struct bgp_route_key k;
	struct bgp_route *rt;
	struct bgp_route_out *outs;
	size_t nouts = 0;

	route_key(r, &k);
	if ((rt = hmap_get(sp->routes, &k)) == NULL) {
		rt = xcalloc(1, sizeof(*rt));
		rt->key = k;
		hmap_put(sp->routes, &k, rt);
	}
	outs = xcalloc(r->npeers ? r->npeers : 1, sizeof(*outs));
	for (size_t i = 0; i < r->npeers; i++) {
		struct bgp_peer *p = peer_find(sp, r->peers[i]);
		const struct cfg_vrf *vpn = NULL;
		struct bgp_rattrs *a;
		enum bgp_fam fam;
		uint32_t label = 0;

		if (p == NULL)
			continue;	/* not a peer of this node */
		fam = r->prefix.addr.af == ADDR_AF_INET ? BGP_FAM_IPV4 : BGP_FAM_IPV6;
		if (r->vrf != NULL && !(p->vrf && strcmp(p->vrf, r->vrf) == 0)) {
			if (!in_list(p->vpn, p->nvpn, r->vrf) || sp->cfg == NULL ||
			    (vpn = cfg_vrf_find(sp->cfg, r->vrf)) == NULL)
				continue;
			fam = fam == BGP_FAM_IPV4 ? BGP_FAM_VPNV4 : BGP_FAM_VPNV6;
			label = vrf_label(sp->cfg, vpn);
		}
		bgp_rkey_make(&outs[nouts].key, fam, &r->prefix, vpn ? vpn->rd : NULL);
		outs[nouts].peer = xstrdup(p->name);
		a = bgp_rattrs_intern(sp, r, vpn, p->my_asn);
		bgp_out_set(p, &outs[nouts].key, a, label);
		bgp_rattrs_unref(sp, a);
		nouts++;
	}
	/* Withdraw from the peers (or families) that no longer get it. */
	for (size_t i = 0; i < rt->nouts; i++) {
		bool kept = false;

		for (size_t j = 0; j < nouts && !kept; j++)
			kept = strcmp(rt->outs[i].peer, outs[j].peer) == 0 &&
			    memcmp(&rt->outs[i].key, &outs[j].key,
			    sizeof(outs[j].key)) == 0;
		if (!kept) {
			struct bgp_peer *p = peer_find(sp, rt->outs[i].peer);

			if (p != NULL)
				bgp_out_unset(p, &rt->outs[i].key);
		}
		free(rt->outs[i].peer);
	}
	free(rt->outs);
	rt->outs = outs;
	rt->nouts = nouts;
}

static void
sp_withdraw(void *ctx, const struct plan_route *r)
{
	struct bgp_speaker *sp = ctx;
	struct bgp_route_key k;
	struct bgp_route *rt;

	route_key(r, &k);
	if ((rt = hmap_del(sp->routes, &k)) == NULL)
		return;
	route_unset_all(sp, rt);
	free(rt);
}

static void
sp_flush(void *ctx)
{
	struct bgp_speaker *sp = ctx;

	for (size_t i = 0; i < sp->npeers; i++)
		bgp_out_flush(sp->peers[i]);
}

static const struct cfg_node *
this_node(const struct cfg *cfg, const char *node)
{
	return node ? cfg_node_find(cfg, node) : NULL;
}

static bool
peer_on_this_node(const struct bgp_speaker *sp, const struct cfg *cfg,
    const struct cfg_peer *cp)
{
	const struct cfg_node *n = this_node(cfg, sp->node);

	return cfg_selector_match(&cp->node_selector, n ? n->labels : NULL,
	    n ? n->nlabels : 0);
}

/* The first IPv4 address of the node that isn't loopback. */
static void
first_ipv4(struct addr *out)
{
	struct ifaddrs *ifa, *i;

	memset(out, 0, sizeof(*out));
	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		const struct sockaddr_in *sin;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		sin = (const struct sockaddr_in *)i->ifa_addr;
		if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127)
			continue;
		addr_from_bytes(out, ADDR_AF_INET, (const uint8_t *)&sin->sin_addr);
		break;
	}
	freeifaddrs(ifa);
}

static void
sp_reconfigure(void *ctx, const struct cfg *old, const struct cfg *new)
{
	struct bgp_speaker *sp = ctx;
	struct bgp_peer **np;
	size_t nn = 0;
	uint16_t port = new->bgp_listen_port;

	sp->cfg = new;
	if (new->router_id.af == ADDR_AF_INET)
		sp->router_id = new->router_id;
	else
		first_ipv4(&sp->router_id);

	if (port != sp->listen_port || (sp->listen_fd[0] < 0 &&
	    sp->listen_fd[1] < 0 && port != 0)) {
		bgp_listen_close(sp);
		sp->listen_port = port;
		sp->listen_pending = port != 0;
	}

	np = xcalloc(new->npeers + 1, sizeof(*np));
	/* Keep, reset or create the peers this node has under the new config. */
	for (size_t i = 0; i < new->npeers; i++) {
		const struct cfg_peer *cp = &new->peers[i];
		struct bgp_peer *p = peer_find(sp, cp->name);

		if (!peer_on_this_node(sp, new, cp))
			continue;
		if (p != NULL && bgp_peer_cfg_same(p, cp)) {
			bgp_peer_update_cfg(p, cp);
			np[nn++] = p;
			continue;
		}
		if (p != NULL) {
			/* Changed: drop the session with a reason the router
			 * logs and start over with the new settings.  The
			 * peer keeps its Adj-RIB-Out, so every route it should
			 * hold is sent again once the session is back. */
			log_info("bgp", "peer %s: configuration changed: resetting "
			    "the session", p->name);
			bgp_listen_md5(sp, p, false);
			bgp_peer_reconfigure(p, cp);
			bgp_listen_md5(sp, p, true);
			np[nn++] = p;
			continue;
		}
		p = bgp_peer_new(sp, cp);
		bgp_listen_md5(sp, p, true);
		np[nn++] = p;
		log_info("bgp", "peer %s: configured (AS %u, %s)", p->name, p->asn,
		    p->ebgp ? "eBGP" : "iBGP");
	}
	/* Peers gone from this node. */
	for (size_t i = 0; i < sp->npeers; i++) {
		struct bgp_peer *p = sp->peers[i];
		bool kept = false;

		for (size_t j = 0; j < nn; j++)
			kept |= np[j] == p;
		if (kept)
			continue;
		log_info("bgp", "peer %s: removed from the configuration", p->name);
		if (p->state != BGP_ST_IDLE || p->out || p->in)
			bgp_peer_stop(p, BGP_ERR_CEASE_PEER_UNCONFIGURED,
			    "peer unconfigured", false);
		bgp_listen_md5(sp, p, false);
		bgp_peer_free(p);
	}
	free(sp->peers);
	sp->peers = np;
	sp->npeers = nn;
	/* The listener and the new sessions start when the event loop turns
	 * again, after the caller's work (a large config: the plan, the first
	 * Adj-RIB-Out). */
	{
		struct timeval now = { 0, 0 };

		evtimer_add(sp->ev_start, &now);
	}
	(void)old;
}

/*
 * Listen and connect only once the event loop runs.  A listening socket
 * makes the kernel accept the router's connection (and queue its OPEN)
 * while we are still busy with the config; our own connection then meets
 * it in one burst: both OPENs, our KEEPALIVE and the collision's Cease
 * leave together.  FRR 8.4 then closes the session both sides had kept
 * (doc/bgp.md, "Connection collisions").  Until the loop runs, a router's
 * connect is refused and it simply tries again.
 */
static void
sp_start(evutil_socket_t fd, short what, void *arg)
{
	struct bgp_speaker *sp = arg;

	(void)fd;
	(void)what;
	if (sp->shutting_down)
		return;
	if (sp->listen_pending) {
		sp->listen_pending = false;
		bgp_listen(sp);
		for (size_t i = 0; i < sp->npeers; i++)
			bgp_listen_md5(sp, sp->peers[i], true);
	}
	for (size_t i = 0; i < sp->npeers; i++)
		if (sp->peers[i]->state == BGP_ST_IDLE &&
		    !evtimer_pending(sp->peers[i]->t_idle_hold, NULL))
			bgp_peer_start(sp->peers[i]);
}

static struct json_object *
jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *
msg_counters(const struct bgp_counters *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "open", json_object_new_int64((int64_t)c->msgs[BGP_MSG_OPEN]));
	json_object_object_add(o, "update", json_object_new_int64((int64_t)c->msgs[BGP_MSG_UPDATE]));
	json_object_object_add(o, "notification",
	    json_object_new_int64((int64_t)c->msgs[BGP_MSG_NOTIFICATION]));
	json_object_object_add(o, "keepalive",
	    json_object_new_int64((int64_t)c->msgs[BGP_MSG_KEEPALIVE]));
	json_object_object_add(o, "route_refresh",
	    json_object_new_int64((int64_t)c->msgs[BGP_MSG_ROUTE_REFRESH]));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)c->msgs[0]));
	return o;
}

static size_t
adv_total(const struct bgp_peer *p)
{
	size_t n = 0;

	for (int f = 0; f < BGP_FAM_COUNT; f++)
		n += p->adv_count[f];
	return n;
}

static struct json_object *
peer_json(const struct bgp_speaker *sp, const struct bgp_peer *p)
{
	struct json_object *o = json_object_new_object(), *caps, *fams, *hist;
	char a[ADDR_STRLEN];
	time_t now = time(NULL);

	json_object_object_add(o, "name", jstr(p->name));
	json_object_object_add(o, "address", jstr(addr_ntop(&p->address, a, sizeof(a))));
	json_object_object_add(o, "port", json_object_new_int(p->port));
	json_object_object_add(o, "asn", json_object_new_int64(p->asn));
	json_object_object_add(o, "local_asn", json_object_new_int64(p->my_asn));
	json_object_object_add(o, "type", jstr(p->ebgp ? "ebgp" : "ibgp"));
	json_object_object_add(o, "vrf", jstr(p->vrf));
	json_object_object_add(o, "state", jstr(bgp_state_name(p->state)));
	json_object_object_add(o, "state_since_s", json_object_new_int64(now - p->state_since));
	if (p->state == BGP_ST_ESTABLISHED)
		json_object_object_add(o, "uptime_s",
		    json_object_new_int64(now - p->established_at));
	json_object_object_add(o, "prefixes_advertised",
	    json_object_new_int64((int64_t)adv_total(p)));
	json_object_object_add(o, "prefixes_received",
	    json_object_new_int64((int64_t)hmap_count(p->adj_in)));
	json_object_object_add(o, "max_prefixes", p->max_prefixes ?
	    json_object_new_int64(p->max_prefixes) : NULL);
	json_object_object_add(o, "last_error",
	    p->last_error[0] ? jstr(p->last_error) : NULL);
	json_object_object_add(o, "passive", json_object_new_boolean(p->passive));
	json_object_object_add(o, "md5", json_object_new_boolean(p->password != NULL));
	if (p->conn != NULL) {
		json_object_object_add(o, "local_address",
		    jstr(addr_ntop(&p->conn->local, a, sizeof(a))));
		json_object_object_add(o, "hold_time", json_object_new_int(p->conn->hold_time));
		json_object_object_add(o, "keepalive_time",
		    json_object_new_int(p->conn->keepalive_time));
		{
			struct addr rid = { ADDR_AF_INET, p->remote_id };

			json_object_object_add(o, "remote_id",
			    jstr(addr_ntop(&rid, a, sizeof(a))));
		}
	} else {
		json_object_object_add(o, "hold_time", NULL);
	}
	json_object_object_add(o, "configured_hold_time",
	    json_object_new_int((int)(p->hold_time_ms / 1000)));
	caps = json_object_new_object();
	fams = json_object_new_array();
	for (int f = 0; f < BGP_FAM_COUNT; f++) {
		uint16_t afi;
		uint8_t safi;

		if (!p->fam_on[f] || p->state != BGP_ST_ESTABLISHED)
			continue;
		bgp_fam_afisafi((enum bgp_fam)f, &afi, &safi);
		json_object_array_add(fams, jstr(bgp_afi_safi_name(afi, safi)));
	}
	json_object_object_add(caps, "families", fams);
	json_object_object_add(caps, "as4", json_object_new_boolean(p->as4));
	json_object_object_add(caps, "route_refresh", json_object_new_boolean(p->route_refresh));
	json_object_object_add(caps, "graceful_restart", json_object_new_boolean(p->gr));
	json_object_object_add(caps, "enhanced_route_refresh",
	    json_object_new_boolean(p->enhanced_rr));
	json_object_object_add(caps, "extended_message",
	    json_object_new_boolean(p->extended_message));
	json_object_object_add(caps, "max_message_length",
	    json_object_new_int64((int64_t)p->max_msg_len));
	json_object_object_add(o, "capabilities", caps);
	{
		struct json_object *b = json_object_new_object();

		if (p->bfd != NULL)
			bfd_session_status(p->bfd, b);
		else
			json_object_object_add(b, "state", jstr(
			    p->bfd_cfg.enabled ? "not started" : "disabled"));
		json_object_object_add(o, "bfd", b);
	}
	{
		struct json_object *m = json_object_new_object();

		json_object_object_add(m, "sent", msg_counters(&p->sent));
		json_object_object_add(m, "received", msg_counters(&p->rcvd));
		json_object_object_add(o, "messages", m);
		m = json_object_new_object();
		json_object_object_add(m, "sent", msg_counters(&p->sess_sent));
		json_object_object_add(m, "received", msg_counters(&p->sess_rcvd));
		json_object_object_add(o, "session_messages", m);
	}
	json_object_object_add(o, "flaps", json_object_new_int64((int64_t)p->flaps));
	json_object_object_add(o, "updates_treated_as_withdraw",
	    json_object_new_int64((int64_t)p->updates_treat_as_withdraw));
	hist = json_object_new_array();
	for (size_t i = 0; i < p->nhistory; i++) {
		struct json_object *h = json_object_new_object();

		json_object_object_add(h, "at", json_object_new_int64(p->history[i].when));
		json_object_object_add(h, "from", jstr(bgp_state_name(p->history[i].from)));
		json_object_object_add(h, "to", jstr(bgp_state_name(p->history[i].to)));
		json_object_object_add(h, "why", jstr(p->history[i].why));
		json_object_array_add(hist, h);
	}
	json_object_object_add(o, "history", hist);
	(void)sp;
	return o;
}

static void
sp_peers(void *ctx, struct json_object *arr)
{
	struct bgp_speaker *sp = ctx;

	for (size_t i = 0; i < sp->npeers; i++)
		json_object_array_add(arr, peer_json(sp, sp->peers[i]));
}

static void
sp_status(void *ctx, struct json_object *o)
{
	struct bgp_speaker *sp = ctx;
	size_t up = 0;
	char a[ADDR_STRLEN];

	for (size_t i = 0; i < sp->npeers; i++)
		up += sp->peers[i]->state == BGP_ST_ESTABLISHED;
	json_object_object_add(o, "peers", json_object_new_int64((int64_t)sp->npeers));
	json_object_object_add(o, "established", json_object_new_int64((int64_t)up));
	json_object_object_add(o, "listen_port", json_object_new_int(sp->listen_port));
	json_object_object_add(o, "listen_error",
	    sp->listen_error[0] ? jstr(sp->listen_error) : NULL);
	json_object_object_add(o, "router_id", sp->router_id.af ?
	    jstr(addr_ntop(&sp->router_id, a, sizeof(a))) : NULL);
	json_object_object_add(o, "routes", json_object_new_int64(
	    (int64_t)hmap_count(sp->routes)));
}

static void
label_peer(struct evbuffer *b, const struct bgp_peer *p)
{
	char a[ADDR_STRLEN];

	evbuffer_add_printf(b, "{peer=\"%s\"}", addr_ntop(&p->address, a, sizeof(a)));
}

static void
metric(struct evbuffer *b, const struct bgp_speaker *sp, const char *name,
    const char *type, const char *help, uint64_t (*get)(const struct bgp_peer *))
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t i = 0; i < sp->npeers; i++) {
		evbuffer_add_printf(b, "%s", name);
		label_peer(b, sp->peers[i]);
		evbuffer_add_printf(b, " %llu\n", (unsigned long long)get(sp->peers[i]));
	}
}

static uint64_t g_up(const struct bgp_peer *p) { return p->state == BGP_ST_ESTABLISHED; }
static uint64_t g_upd_s(const struct bgp_peer *p) { return p->sent.msgs[BGP_MSG_UPDATE]; }
static uint64_t g_upd_r(const struct bgp_peer *p) { return p->rcvd.msgs[BGP_MSG_UPDATE]; }
static uint64_t g_adv(const struct bgp_peer *p) { return adv_total(p); }
static uint64_t g_rcv(const struct bgp_peer *p) { return hmap_count(p->adj_in); }
static uint64_t g_open_s(const struct bgp_peer *p) { return p->sent.msgs[BGP_MSG_OPEN]; }
static uint64_t g_open_r(const struct bgp_peer *p) { return p->rcvd.msgs[BGP_MSG_OPEN]; }
static uint64_t g_not_s(const struct bgp_peer *p) { return p->sent.msgs[BGP_MSG_NOTIFICATION]; }
static uint64_t g_not_r(const struct bgp_peer *p) { return p->rcvd.msgs[BGP_MSG_NOTIFICATION]; }
static uint64_t g_ka_s(const struct bgp_peer *p) { return p->sent.msgs[BGP_MSG_KEEPALIVE]; }
static uint64_t g_ka_r(const struct bgp_peer *p) { return p->rcvd.msgs[BGP_MSG_KEEPALIVE]; }
static uint64_t g_rr_s(const struct bgp_peer *p) { return p->sent.msgs[BGP_MSG_ROUTE_REFRESH]; }
static uint64_t g_rr_r(const struct bgp_peer *p) { return p->rcvd.msgs[BGP_MSG_ROUTE_REFRESH]; }
static uint64_t g_tot_s(const struct bgp_peer *p) { return p->sent.msgs[0]; }
static uint64_t g_tot_r(const struct bgp_peer *p) { return p->rcvd.msgs[0]; }
static uint64_t g_flaps(const struct bgp_peer *p) { return p->flaps; }
static uint64_t g_bfd_up(const struct bgp_peer *p)
{ return p->bfd != NULL && bfd_session_state(p->bfd) == BFD_ST_UP; }
static uint64_t g_bfd_in(const struct bgp_peer *p)
{ return p->bfd ? bfd_session_counters(p->bfd)->rx : 0; }
static uint64_t g_bfd_out(const struct bgp_peer *p)
{ return p->bfd ? bfd_session_counters(p->bfd)->tx : 0; }
static uint64_t g_bfd_upev(const struct bgp_peer *p)
{ return p->bfd ? bfd_session_counters(p->bfd)->up_events : 0; }
static uint64_t g_bfd_downev(const struct bgp_peer *p)
{ return p->bfd ? bfd_session_counters(p->bfd)->down_events : 0; }

static void
sp_metrics(void *ctx, struct evbuffer *b)
{
	struct bgp_speaker *sp = ctx;
	static const struct {
		const char *name, *type, *help;
		uint64_t (*get)(const struct bgp_peer *);
	} m[] = {
		{ "metallb_bgp_session_up", "gauge", "BGP session state (1 is up, 0 is down)", g_up },
		{ "metallb_bgp_updates_total", "counter", "Number of BGP UPDATE messages sent", g_upd_s },
		{ "metallb_bgp_announced_prefixes_total", "gauge", "Number of prefixes currently being advertised on the BGP session", g_adv },
		{ "metallb_bgp_opens_sent", "counter", "Number of BGP open messages sent", g_open_s },
		{ "metallb_bgp_opens_received", "counter", "Number of BGP open messages received", g_open_r },
		{ "metallb_bgp_notifications_sent", "counter", "Number of BGP notification messages sent", g_not_s },
		{ "metallb_bgp_updates_total_received", "counter", "Number of BGP UPDATE messages received", g_upd_r },
		{ "metallb_bgp_keepalives_sent", "counter", "Number of BGP keepalive messages sent", g_ka_s },
		{ "metallb_bgp_keepalives_received", "counter", "Number of BGP keepalive messages received", g_ka_r },
		{ "metallb_bgp_route_refresh_sent", "counter", "Number of BGP route refresh messages sent", g_rr_s },
		{ "metallb_bgp_total_sent", "counter", "Number of total BGP messages sent", g_tot_s },
		{ "metallb_bgp_total_received", "counter", "Number of total BGP messages received", g_tot_r },
		{ "bgplb_bgp_session_up", "gauge", "1 while the session is Established", g_up },
		{ "bgplb_bgp_prefixes_advertised", "gauge", "Prefixes the peer holds from us", g_adv },
		{ "bgplb_bgp_prefixes_received", "gauge", "Prefixes the peer sent us (counted, not installed)", g_rcv },
		{ "bgplb_bgp_notifications_received_total", "counter", "NOTIFICATION messages received", g_not_r },
		{ "bgplb_bgp_route_refresh_received_total", "counter", "ROUTE-REFRESH messages received", g_rr_r },
		{ "bgplb_bgp_flaps_total", "counter", "Times the session left Established", g_flaps },
		{ "metallb_bfd_session_up", "gauge", "BFD session state (1 is up, 0 is down)", g_bfd_up },
		{ "metallb_bfd_control_packet_input", "counter", "Number of received BFD control packets", g_bfd_in },
		{ "metallb_bfd_control_packet_output", "counter", "Number of sent BFD control packets", g_bfd_out },
		{ "metallb_bfd_session_up_events", "counter", "Number of BFD session up events", g_bfd_upev },
		{ "metallb_bfd_session_down_events", "counter", "Number of BFD session down events", g_bfd_downev },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		metric(b, sp, m[i].name, m[i].type, m[i].help, m[i].get);
}

static bool
sp_announced(void *ctx, const struct plan_route *r)
{
	struct bgp_speaker *sp = ctx;
	struct bgp_route_key k;
	struct bgp_route *rt;

	route_key(r, &k);
	if ((rt = hmap_get(sp->routes, &k)) == NULL)
		return false;
	for (size_t i = 0; i < rt->nouts; i++) {
		struct bgp_peer *p = peer_find(sp, rt->outs[i].peer);
		struct bgp_out *e;

		if (p == NULL || p->state != BGP_ST_ESTABLISHED)
			continue;
		if ((e = hmap_get(p->adj_out, &rt->outs[i].key)) != NULL &&
		    e->held != NULL)
			return true;
	}
	return false;
}

static void
sp_shutdown(void *ctx)
{
	struct bgp_speaker *sp = ctx;

	sp->shutting_down = true;
	/* RFC 8203: tell the router why; the Cease withdraws our routes. */
	for (size_t i = 0; i < sp->npeers; i++) {
		if (sp->peers[i]->state != BGP_ST_IDLE || sp->peers[i]->out ||
		    sp->peers[i]->in)
			bgp_peer_stop(sp->peers[i], BGP_ERR_CEASE_ADMIN_SHUTDOWN,
			    "bgplbd shutting down", false);
		/* AdminDown: a planned stop, not a path failure. */
		if (sp->peers[i]->bfd != NULL)
			bfd_session_set_admin_down(sp->peers[i]->bfd, true);
	}
	bgp_listen_close(sp);
}

static void
sp_destroy(void *ctx)
{
	struct bgp_speaker *sp = ctx;
	size_t it = 0;
	void *v;

	sp->shutting_down = true;
	while (hmap_next(sp->routes, &it, NULL, &v)) {
		struct bgp_route *rt = v;

		for (size_t i = 0; i < rt->nouts; i++)
			free(rt->outs[i].peer);
		free(rt->outs);
		free(rt);
	}
	hmap_free(sp->routes);
	for (size_t i = 0; i < sp->npeers; i++)
		bgp_peer_free(sp->peers[i]);
	free(sp->peers);
	if (sp->bfd != NULL)
		bfd_ctx_free(sp->bfd);
	bgp_listen_close(sp);
	event_free(sp->ev_start);
	while (sp->attrs != NULL) {
		struct bgp_rattrs *a = sp->attrs;

		sp->attrs = a->next;
		free(a->communities);
		free(a->large);
		free(a->ext);
		free(a);
	}
	free(sp->node);
	free(sp);
}

/* RFC 4724: the R bit goes on the first session of a restarted process. */
static void
sp_restarted(void *ctx, bool restarted)
{
	struct bgp_speaker *sp = ctx;

	sp->restarted = restarted;
}

static const struct announcer_ops bgp_ops = {
	.name = "bgp",
	.backend = CFG_PROTO_BGP,
	.announce = sp_announce,
	.withdraw = sp_withdraw,
	.flush = sp_flush,
	.reconfigure = sp_reconfigure,
	.status = sp_status,
	.peers = sp_peers,
	.metrics = sp_metrics,
	.announced = sp_announced,
	.restarted = sp_restarted,
	.shutdown = sp_shutdown,
	.destroy = sp_destroy,
};

struct announcer *
bgp_speaker_new(struct event_base *base, const char *node)
{
	struct announcer *a = xcalloc(1, sizeof(*a));
	struct bgp_speaker *sp = xcalloc(1, sizeof(*sp));

	sp->base = base;
	sp->io = &bgp_session_io;
	sp->node = xstrdup(node);
	sp->listen_fd[0] = sp->listen_fd[1] = -1;
	sp->routes = hmap_new(sizeof(struct bgp_route_key));
	sp->ev_start = evtimer_new(base, sp_start, sp);
	if (sp->ev_start == NULL)
		fatalx("cannot create the speaker's start event");
	a->ops = &bgp_ops;
	a->ctx = sp;
	return a;
}

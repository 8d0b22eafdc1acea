/*
 * l2_responder.c - the layer 2 announcer: answers ARP and IPv6 Neighbor
 * Solicitations for the service addresses this node owns.
 *
 * The core hands us plan routes of backend layer2; a route with `local` set
 * is an address we own.  We keep one entry per owned address (sorted, so a
 * received request is a binary search away) and, per network interface,
 * two AF_PACKET sockets (l2_iface.c, with the multicast groups IPv6 needs
 * and the receive path).  A socket exists only while some owned address is
 * answered on its interface, so a node without layer 2 pools opens nothing.
 *
 * Stopping is immediate: withdraw() removes the entry, and a request for an
 * address without an entry is never answered.  Starting is loud: a new
 * entry (or a new interface for it) gets gratuitous ARP (request and reply)
 * or unsolicited NAs on the schedule in garp_ms[] (0, 0.5, 1 and 2 s after
 * taking over; then silence, as the neighbours' caches are now right and
 * requests keep them so).  Unsolicited NAs leave from the interface's
 * link-local address (the service address when the link has none);
 * solicited NAs from the service address, the target.  Never from the
 * interface's first global address: MetalLB did that, which broke NDP
 * when that address was not the expected one.
 *
 * Interfaces: the route's own list (the pool's `interfaces`), else
 * layer2.interfaces, else every interface but the default exclusions
 * (l2_iface_default_excluded).  Names may be shell globs.  Only up,
 * Ethernet, non-loopback interfaces are used.  They are re-read every
 * RESCAN_MS, so a link that appears, comes up or changes its MAC is picked
 * up (and announced on) without a config change.
 *
 * This file owns the policy: the address table, which interfaces answer
 * for which address (reconcile), the gratuitous ARP / unsolicited NA
 * schedule, and the announcer ops.  Links, sockets and receiving are
 * l2_iface.c; packet building and parsing are l2_packet.c.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "bgplb/util.h"
#include "l2_packet.h"
#include "l2_iface.h"

#define MOD		"layer2"
#define RESCAN_MS	2000

/* Gratuitous ARP / unsolicited NA, in ms after taking over. */
static const unsigned garp_ms[] = { 0, 500, 1000, 2000 };
#define GARP_STEPS	(sizeof(garp_ms) / sizeof(garp_ms[0]))

/* ---- small helpers ------------------------------------------------------- */

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A copy of n strings (NULL when n is 0). */
static char **
strv_dup(char *const *in, size_t n)
{
	char **v;

	if (n == 0)
		return NULL;
	v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(in[i]);
	return v;
}

static bool
strv_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static const char *
mac_str(const uint8_t m[L2_ETH_ALEN], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x",
	    m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

/* ---- the address table --------------------------------------------------- */

static void
addr_free(struct l2_addr *a)
{
	if (a == NULL)
		return;
	if (a->garp != NULL)
		event_free(a->garp);
	free(a->pool);
	strv_free(a->services, a->nservices);
	strv_free(a->ifpat, a->nifpat);
	free(a->on);
	free(a);
}

/* ---- gratuitous ARP / unsolicited NA ------------------------------------- */

static void
garp_send(struct l2_responder *rs, struct l2_addr *a)
{
	uint8_t frame[L2_FRAME_MAX];
	size_t len;

	for (size_t i = 0; i < a->non; i++) {
		struct l2_iface *ifc = a->on[i];

		if (a->addr.af == ADDR_AF_INET) {
			/* Both forms: some hosts only update their cache
			 * from one of them (keepalived sends both too). */
			len = l2_garp_build(frame, sizeof(frame), ifc->mac,
			    a->bytes, L2_ARP_OP_REQUEST);
			if (l2_iface_send(rs, ifc, SK_ARP, frame, len) == 0)
				a->gratuitous++;
			len = l2_garp_build(frame, sizeof(frame), ifc->mac,
			    a->bytes, L2_ARP_OP_REPLY);
			if (l2_iface_send(rs, ifc, SK_ARP, frame, len) == 0)
				a->gratuitous++;
		} else {
			len = l2_na_build_unsolicited(frame, sizeof(frame),
			    ifc->mac, ifc->has_ll ? ifc->ll : a->bytes,
			    a->bytes);
			if (l2_iface_send(rs, ifc, SK_ND, frame, len) == 0)
				a->gratuitous++;
		}
	}
}

static void
garp_arm(struct l2_addr *a)
{
	unsigned ms = garp_ms[a->garp_step] - garp_ms[a->garp_step - 1];
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(a->garp, &tv);
}

static void
on_garp(evutil_socket_t fd, short what, void *arg)
{
	struct l2_addr *a = arg;

	garp_send(a->rs, a);
	if (++a->garp_step < GARP_STEPS)
		garp_arm(a);
}

/* Step 0 now, the rest on the timer.  Restarting is fine: the schedule is
 * short and neighbours take the same answer twice. */
static void
garp_start(struct l2_responder *rs, struct l2_addr *a)
{
	a->garp_pending = false;
	if (a->non == 0)
		return;
	if (a->garp == NULL && (a->garp = evtimer_new(rs->base, on_garp, a)) == NULL) {
		log_warn(MOD, "cannot create a timer: no gratuitous announcements");
		return;
	}
	evtimer_del(a->garp);
	a->garp_step = 0;
	garp_send(rs, a);
	if (++a->garp_step < GARP_STEPS)
		garp_arm(a);
}

/* ---- reconciliation ------------------------------------------------------ */

static bool
match_any(char *const *pat, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pat[i], name, 0) == 0)
			return true;
	return false;
}

static bool
iface_selected(const struct l2_responder *rs, const struct l2_addr *a,
    const struct l2_iface *ifc)
{
	if (a->nifpat > 0)
		return match_any(a->ifpat, a->nifpat, ifc->name);
	if (rs->nifpat > 0)
		return match_any(rs->ifpat, rs->nifpat, ifc->name);
	return !l2_iface_default_excluded(ifc->name);
}

static void
log_on(const struct l2_addr *a, const char *verb)
{
	char abuf[ADDR_STRLEN], list[256];
	size_t off = 0;

	list[0] = '\0';
	for (size_t i = 0; i < a->non && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i ? "," : "", a->on[i]->name);
	log_info(MOD, "%s %s for %s (pool %s) on %s", verb,
	    a->addr.af == ADDR_AF_INET ? "ARP" : "NDP",
	    addr_ntop(&a->addr, abuf, sizeof(abuf)), a->pool,
	    a->non ? list : "no interface");
}

/*
 * Bring sockets, per-address interface lists and multicast groups in line
 * with the owned addresses and the links that exist now.  An address that
 * gains an interface is announced there (its schedule restarts).
 */
static void
reconcile(struct l2_responder *rs)
{
	size_t k;

	rs->dirty = false;
	if (rs->naddrs > 0 || rs->nifaces > 0)
		(void)l2_iface_scan(rs);

	/* Which interfaces does any address want?  Open those. */
	for (size_t i = 0; i < rs->nifaces; i++) {
		struct l2_iface *ifc = rs->ifaces[i];
		bool want = false;

		if (l2_iface_usable(ifc))
			for (size_t j = 0; j < rs->naddrs && !want; j++)
				want = iface_selected(rs, rs->addrs[j], ifc);
		if (want)
			(void)l2_iface_ensure_open(ifc);
		else if (ifc->fd[SK_ARP] != -1 || ifc->fd[SK_ND] != -1)
			l2_iface_close(ifc);
	}

	/* Each address answers where it is selected and sockets are open. */
	for (size_t j = 0; j < rs->naddrs; j++) {
		struct l2_addr *a = rs->addrs[j];
		struct l2_iface **on;
		size_t non = 0;
		bool gained = false, changed;

		on = xcalloc(rs->nifaces, sizeof(*on));
		for (size_t i = 0; i < rs->nifaces; i++) {
			struct l2_iface *ifc = rs->ifaces[i];

			if (!l2_iface_usable(ifc) || !l2_iface_is_open(ifc) ||
			    !iface_selected(rs, a, ifc))
				continue;
			if (!iface_on(a, ifc))
				gained = true;
			on[non++] = ifc;
		}
		changed = gained || non != a->non;
		free(a->on);
		a->on = on;
		a->non = non;
		if (gained)
			a->garp_pending = true;
		if (changed)
			log_on(a, "answering");
	}

	for (size_t i = 0; i < rs->nifaces; i++)
		l2_iface_sync_groups(rs, rs->ifaces[i]);

	/* Forget links that are gone; no address points at them now. */
	for (size_t i = k = 0; i < rs->nifaces; i++) {
		if (!rs->ifaces[i]->seen)
			l2_iface_free(rs->ifaces[i]);
		else
			rs->ifaces[k++] = rs->ifaces[i];
	}
	rs->nifaces = k;
}

static void
start_pending(struct l2_responder *rs)
{
	for (size_t j = 0; j < rs->naddrs; j++)
		if (rs->addrs[j]->garp_pending)
			garp_start(rs, rs->addrs[j]);
}

static void
on_rescan(evutil_socket_t fd, short what, void *arg)
{
	struct l2_responder *rs = arg;

	if (rs->stopped || (rs->naddrs == 0 && rs->nifaces == 0))
		return;
	reconcile(rs);
	start_pending(rs);
}

/* ---- announcer ops ------------------------------------------------------- */

static void
l2r_announce(void *ctx, const struct plan_route *r)
{
	struct l2_responder *rs = ctx;
	struct l2_addr *a;
	char **services = NULL, **ifpat = NULL, *pool = NULL;
	bool found;
	size_t at;

	if (rs->stopped || r->backend != CFG_PROTO_LAYER2)
		return;
	/* Not ours (any more): stop answering this very moment. */
	if (!r->local) {
		at = l2_addr_find(rs, &r->prefix.addr, &found);
		if (found) {
			char abuf[ADDR_STRLEN];

			log_info(MOD, "%s: owner is now %s, stopped answering",
			    addr_ntop(&r->prefix.addr, abuf, sizeof(abuf)),
			    r->owner != NULL ? r->owner : "(none)");
			addr_free(rs->addrs[at]);
			memmove(&rs->addrs[at], &rs->addrs[at + 1],
			    (rs->naddrs - at - 1) * sizeof(*rs->addrs));
			rs->naddrs--;
			rs->dirty = true;
		}
		return;
	}
	services = strv_dup(r->services, r->nservices);
	ifpat = strv_dup(r->interfaces, r->ninterfaces);
	pool = xstrdup(r->pool != NULL ? r->pool : "-");
	at = l2_addr_find(rs, &r->prefix.addr, &found);
	if (found) {
		a = rs->addrs[at];
		if (!strv_eq(a->ifpat, a->nifpat, ifpat, r->ninterfaces))
			rs->dirty = true;
		free(a->pool);
		strv_free(a->services, a->nservices);
		strv_free(a->ifpat, a->nifpat);
	} else {
		a = xcalloc(1, sizeof(*a));
		rs->addrs = xreallocarray(rs->addrs, rs->naddrs + 1,
		    sizeof(*rs->addrs));
		memmove(&rs->addrs[at + 1], &rs->addrs[at],
		    (rs->naddrs - at) * sizeof(*rs->addrs));
		rs->addrs[at] = a;
		rs->naddrs++;
		a->rs = rs;
		a->addr = r->prefix.addr;
		addr_to_bytes(&a->addr, a->bytes);
		a->garp_pending = true;
		rs->dirty = true;
	}
	a->pool = pool;
	a->services = services;
	a->nservices = r->nservices;
	a->ifpat = ifpat;
	a->nifpat = r->ninterfaces;
}

static void
l2r_withdraw(void *ctx, const struct plan_route *r)
{
	struct l2_responder *rs = ctx;
	char abuf[ADDR_STRLEN];
	bool found;
	size_t at;

	if (r->backend != CFG_PROTO_LAYER2)
		return;
	at = l2_addr_find(rs, &r->prefix.addr, &found);
	if (!found)
		return;
	log_info(MOD, "stopped answering for %s",
	    addr_ntop(&r->prefix.addr, abuf, sizeof(abuf)));
	addr_free(rs->addrs[at]);
	memmove(&rs->addrs[at], &rs->addrs[at + 1],
	    (rs->naddrs - at - 1) * sizeof(*rs->addrs));
	rs->naddrs--;
	rs->dirty = true;
}

static void
l2r_flush(void *ctx)
{
	struct l2_responder *rs = ctx;

	if (rs->stopped)
		return;
	if (rs->dirty)
		reconcile(rs);
	start_pending(rs);
}

static void
l2r_reconfigure(void *ctx, const struct cfg *old, const struct cfg *new)
{
	struct l2_responder *rs = ctx;
	char **v;

	if (new == NULL)
		return;
	if (strv_eq(rs->ifpat, rs->nifpat, new->layer2.interfaces,
	    new->layer2.ninterfaces))
		return;
	v = strv_dup(new->layer2.interfaces, new->layer2.ninterfaces);
	strv_free(rs->ifpat, rs->nifpat);
	rs->ifpat = v;
	rs->nifpat = new->layer2.ninterfaces;
	rs->dirty = true;
}

static struct json_object *
strv_json(char *const *v, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

static void
l2r_status(void *ctx, struct json_object *out)
{
	struct l2_responder *rs = ctx;
	struct json_object *addrs, *ifaces, *ign, *sched;
	char buf[ADDR_STRLEN];

	if (out == NULL)
		return;
	addrs = json_object_new_array();
	ifaces = json_object_new_array();
	ign = json_object_new_object();
	sched = json_object_new_array();
	json_object_object_add(out, "node", json_object_new_string(rs->node));
	json_object_object_add(out, "interfaces_configured",
	    strv_json(rs->ifpat, rs->nifpat));
	for (size_t i = 0; i < GARP_STEPS; i++)
		json_object_array_add(sched, json_object_new_int(garp_ms[i]));
	json_object_object_add(out, "gratuitous_schedule_ms", sched);
	for (size_t j = 0; j < rs->naddrs; j++) {
		const struct l2_addr *a = rs->addrs[j];
		struct json_object *o = json_object_new_object(),
		    *on = json_object_new_array();

		for (size_t i = 0; i < a->non; i++)
			json_object_array_add(on,
			    json_object_new_string(a->on[i]->name));
		json_object_object_add(o, "address", json_object_new_string(
		    addr_ntop(&a->addr, buf, sizeof(buf))));
		json_object_object_add(o, "protocol", json_object_new_string(
		    a->addr.af == ADDR_AF_INET ? "arp" : "ndp"));
		json_object_object_add(o, "pool", json_object_new_string(a->pool));
		json_object_object_add(o, "services",
		    strv_json(a->services, a->nservices));
		json_object_object_add(o, "interfaces", on);
		json_object_object_add(o, "requests_received",
		    json_object_new_uint64(a->requests));
		json_object_object_add(o, "responses_sent",
		    json_object_new_uint64(a->responses));
		json_object_object_add(o, "gratuitous_sent",
		    json_object_new_uint64(a->gratuitous));
		json_object_object_add(o, "gratuitous_in_progress",
		    json_object_new_boolean(a->garp != NULL &&
		    evtimer_pending(a->garp, NULL)));
		json_object_array_add(addrs, o);
	}
	json_object_object_add(out, "addresses", addrs);
	for (size_t i = 0; i < rs->nifaces; i++) {
		const struct l2_iface *ifc = rs->ifaces[i];
		struct json_object *o;
		char mbuf[24];
		size_t n = 0;

		if (!l2_iface_is_open(ifc) && ifc->last_error[0] == '\0')
			continue;	/* not wanted: not interesting */
		o = json_object_new_object();
		for (size_t j = 0; j < rs->naddrs; j++)
			n += iface_on(rs->addrs[j], ifc);
		json_object_object_add(o, "name", json_object_new_string(ifc->name));
		json_object_object_add(o, "ifindex", json_object_new_int(ifc->ifindex));
		json_object_object_add(o, "mac", json_object_new_string(
		    mac_str(ifc->mac, mbuf, sizeof(mbuf))));
		if (ifc->has_ll) {
			struct addr ll;

			addr_from_bytes(&ll, ADDR_AF_INET6, ifc->ll);
			json_object_object_add(o, "link_local", json_object_new_string(
			    addr_ntop(&ll, buf, sizeof(buf))));
		} else {
			json_object_object_add(o, "link_local", NULL);
		}
		json_object_object_add(o, "answering", json_object_new_boolean(
		    l2_iface_is_open(ifc)));
		json_object_object_add(o, "addresses", json_object_new_uint64(n));
		json_object_object_add(o, "multicast_groups",
		    json_object_new_uint64(ifc->ngroups));
		json_object_object_add(o, "arp_frames_received",
		    json_object_new_uint64(ifc->rx[SK_ARP]));
		json_object_object_add(o, "ns_frames_received",
		    json_object_new_uint64(ifc->rx[SK_ND]));
		json_object_object_add(o, "last_error", ifc->last_error[0] ?
		    json_object_new_string(ifc->last_error) : NULL);
		json_object_array_add(ifaces, o);
	}
	json_object_object_add(out, "interfaces", ifaces);
	json_object_object_add(ign, "not_owned", json_object_new_uint64(rs->ign_not_owned));
	json_object_object_add(ign, "malformed", json_object_new_uint64(rs->ign_malformed));
	json_object_object_add(ign, "other", json_object_new_uint64(rs->ign_other));
	json_object_object_add(out, "ignored", ign);
	json_object_object_add(out, "send_errors", json_object_new_uint64(rs->send_errors));
}

static uint64_t m_req(const struct l2_addr *a) { return a->requests; }
static uint64_t m_resp(const struct l2_addr *a) { return a->responses; }
static uint64_t m_garp(const struct l2_addr *a) { return a->gratuitous; }

static void
l2r_metrics(void *ctx, struct evbuffer *b)
{
	struct l2_responder *rs = ctx;
	static const struct {
		const char *name, *help;
		uint64_t (*get)(const struct l2_addr *);
	} m[] = {
		{ "metallb_layer2_requests_received", "Number of layer2 requests received for owned IPs", m_req },
		{ "metallb_layer2_responses_sent", "Number of layer2 responses sent for owned IPs", m_resp },
		{ "metallb_layer2_gratuitous_sent", "Number of gratuitous layer2 packets sent for owned IPs as a result of failovers", m_garp },
	};
	char buf[ADDR_STRLEN];
	size_t open = 0;

	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n",
		    m[k].name, m[k].help, m[k].name);
		for (size_t j = 0; j < rs->naddrs; j++)
			evbuffer_add_printf(b, "%s{ip=\"%s\"} %llu\n", m[k].name,
			    addr_ntop(&rs->addrs[j]->addr, buf, sizeof(buf)),
			    (unsigned long long)m[k].get(rs->addrs[j]));
	}
	for (size_t i = 0; i < rs->nifaces; i++)
		open += l2_iface_is_open(rs->ifaces[i]);
	evbuffer_add_printf(b,
	    "# HELP bgplb_layer2_addresses Addresses this node answers for\n"
	    "# TYPE bgplb_layer2_addresses gauge\n"
	    "bgplb_layer2_addresses %zu\n"
	    "# HELP bgplb_layer2_interfaces Interfaces with open ARP/NDP sockets\n"
	    "# TYPE bgplb_layer2_interfaces gauge\n"
	    "bgplb_layer2_interfaces %zu\n"
	    "# HELP bgplb_layer2_requests_ignored_total Requests not answered, by reason\n"
	    "# TYPE bgplb_layer2_requests_ignored_total counter\n"
	    "bgplb_layer2_requests_ignored_total{reason=\"not_owned\"} %llu\n"
	    "bgplb_layer2_requests_ignored_total{reason=\"malformed\"} %llu\n"
	    "bgplb_layer2_requests_ignored_total{reason=\"other\"} %llu\n"
	    "# HELP bgplb_layer2_send_errors_total Frames that could not be sent\n"
	    "# TYPE bgplb_layer2_send_errors_total counter\n"
	    "bgplb_layer2_send_errors_total %llu\n",
	    rs->naddrs, open, (unsigned long long)rs->ign_not_owned,
	    (unsigned long long)rs->ign_malformed,
	    (unsigned long long)rs->ign_other,
	    (unsigned long long)rs->send_errors);
}

static bool
l2r_announced(void *ctx, const struct plan_route *r)
{
	struct l2_responder *rs = ctx;
	bool found;
	size_t at;

	at = l2_addr_find(rs, &r->prefix.addr, &found);
	return found && rs->addrs[at]->non > 0;
}

static void
forget_all(struct l2_responder *rs)
{
	for (size_t j = 0; j < rs->naddrs; j++)
		addr_free(rs->addrs[j]);
	free(rs->addrs);
	rs->addrs = NULL;
	rs->naddrs = 0;
	for (size_t i = 0; i < rs->nifaces; i++)
		l2_iface_free(rs->ifaces[i]);
	free(rs->ifaces);
	rs->ifaces = NULL;
	rs->nifaces = 0;
}

static void
l2r_shutdown(void *ctx)
{
	struct l2_responder *rs = ctx;

	/* Nothing to say on the wire: the next owner's gratuitous
	 * announcements move the neighbours. */
	rs->stopped = true;
	if (rs->rescan != NULL)
		evtimer_del(rs->rescan);
	log_info(MOD, "shutting down: no longer answering for %zu address(es)",
	    rs->naddrs);
	forget_all(rs);
}

static void
l2r_destroy(void *ctx)
{
	struct l2_responder *rs = ctx;

	if (rs == NULL)
		return;
	forget_all(rs);
	if (rs->mld_fd != -1)
		close(rs->mld_fd);
	if (rs->rescan != NULL)
		event_free(rs->rescan);
	strv_free(rs->ifpat, rs->nifpat);
	free(rs->node);
	free(rs);
}

/*
 * Send gratuitous ARP / unsolicited NA again for every address we own.  The
 * core calls it when membership changes: after a false death (heartbeats
 * lost for a moment) the others took our addresses and announced them; when
 * we are seen again they stop answering, but our own plan never changed,
 * so without this the clients would keep the other node's MAC until their
 * neighbour entries expire.
 */
static void
l2r_nodes_changed(void *ctx)
{
	struct l2_responder *rs = ctx;

	if (rs->stopped)
		return;
	for (size_t i = 0; i < rs->naddrs; i++)
		garp_start(rs, rs->addrs[i]);
}

static const struct announcer_ops l2_ops = {
	.name = "layer2",
	.backend = CFG_PROTO_LAYER2,
	.announce = l2r_announce,
	.withdraw = l2r_withdraw,
	.flush = l2r_flush,
	.reconfigure = l2r_reconfigure,
	.status = l2r_status,
	.metrics = l2r_metrics,
	.announced = l2r_announced,
	.nodes_changed = l2r_nodes_changed,
	.shutdown = l2r_shutdown,
	.destroy = l2r_destroy,
};

struct announcer *
l2_responder_new(struct event_base *base, const char *node)
{
	struct timeval tv = { RESCAN_MS / 1000, (RESCAN_MS % 1000) * 1000 };
	struct announcer *a = NULL;
	struct l2_responder *rs = NULL;

	a = xcalloc(1, sizeof(*a));
	rs = xcalloc(1, sizeof(*rs));
	rs->node = xstrdup(node != NULL ? node : "");
	rs->base = base;
	rs->mld_fd = -1;
	if ((rs->rescan = event_new(base, -1, EV_PERSIST, on_rescan, rs)) == NULL ||
	    event_add(rs->rescan, &tv) == -1)
		goto fail;
	a->ops = &l2_ops;
	a->ctx = rs;
	return a;
fail:
	if (rs->rescan != NULL)
		event_free(rs->rescan);
	free(rs->node);
	free(rs);
	free(a);
	return NULL;
}

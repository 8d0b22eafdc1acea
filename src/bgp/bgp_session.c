/*
 * bgp_session.c - BGP sessions: sockets, the FSM, timers, message I/O.
 *
 * Each peer has up to two TCP connections (the one we open and the one the
 * peer opens); each runs the connection part of the RFC 4271 FSM (Connect,
 * OpenSent, OpenConfirm, Established) on its own, and the RFC 4271 6.8
 * collision rule keeps one of them.  The peer's own state is Idle (idle-hold
 * damping after an error, or stopped), Active (waiting for the connect-retry
 * timer or for the peer to connect), or the most advanced of its
 * connections.  Every change of the peer state goes through set_state(),
 * which logs "old -> new (why)" and does the side effects of entering it.
 *
 * Errors a peer causes end in conn_fail(): log with the peer's name,
 * remember the error (decoded into words) for the status endpoint, send the
 * NOTIFICATION and close.  Nothing a peer sends reaches fatalx().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bgplb/log.h"
#include "bgp.h"

#define OPENSENT_HOLD_S		240	/* RFC 4271 8.2.2: a large value */
#define IDLE_HOLD_BASE_MS	1000
#define IDLE_HOLD_MAX_MS	120000
#define CONNECT_RETRY_MAX_MS	120000
#define STABLE_S		60	/* an Established period this long resets damping */
#define MAX_MSGS_PER_READ	256	/* fairness between peers */

static const char *const state_names[] = {
	"Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established",
};

const char *
bgp_state_name(enum bgp_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ?
	    state_names[s] : "?";
}

static void	conn_free(struct bgp_conn *);
static void	peer_update_state(struct bgp_peer *, const char *why);
static void	peer_connect(struct bgp_peer *);

/* ---- helpers ------------------------------------------------------------ */

static char *
xstrdup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		fatalx("out of memory");
	return d;
}

static void
ms_to_tv(uint32_t ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* +-12.5% so that two speakers that failed together don't retry together. */
static uint32_t
jitter(uint32_t ms)
{
	uint32_t span = ms / 4;

	if (span == 0)
		return ms;
	return ms - span / 2 + (uint32_t)(random() % (span + 1));
}

static socklen_t
addr_to_sockaddr(const struct addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == ADDR_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		addr_to_bytes(a, (uint8_t *)&sin->sin_addr);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		addr_to_bytes(a, sin6->sin6_addr.s6_addr);
		return sizeof(*sin6);
	}
}

/* A v4-mapped IPv6 address becomes the plain IPv4 address. */
static void
sockaddr_to_addr(const struct sockaddr *sa, struct addr *a, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		addr_from_bytes(a, ADDR_AF_INET, (const uint8_t *)&sin->sin_addr);
		*port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			addr_from_bytes(a, ADDR_AF_INET, sin6->sin6_addr.s6_addr + 12);
		else
			addr_from_bytes(a, ADDR_AF_INET6, sin6->sin6_addr.s6_addr);
		*port = ntohs(sin6->sin6_port);
	}
}

/* TCP MD5 signature key for one remote address on a socket (RFC 2385). */
static int
set_md5(int fd, const struct addr *remote, const char *password)
{
	struct tcp_md5sig md5;
	size_t len = password ? strlen(password) : 0;

	if (len > TCP_MD5SIG_MAXKEYLEN) {
		errno = EMSGSIZE;	/* the config refuses these already */
		return -1;
	}
	memset(&md5, 0, sizeof(md5));
	addr_to_sockaddr(remote, 0, (struct sockaddr_storage *)&md5.tcpm_addr);
	md5.tcpm_keylen = (uint16_t)len;
	if (len)
		memcpy(md5.tcpm_key, password, len);
	return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5));
}

static void
set_ttl(struct bgp_peer *p, int fd, uint8_t af)
{
	/* eBGP single hop: TTL 1 unless ebgp-multihop says otherwise. */
	int ttl = p->ebgp_multihop ? p->ebgp_multihop : (p->ebgp ? 1 : 64);
	int tos = IPTOS_PREC_INTERNETCONTROL;

	if (af == ADDR_AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
		setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl));
		setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	}
}

/* Our address on the connection, and the link-local / IPv4 of its interface
 * (next hops for IPv6 and IPv4 routes). */
static void
conn_addresses(struct bgp_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ifaddrs *ifa, *i;
	char ifname[IF_NAMESIZE] = "";

	if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_to_addr((struct sockaddr *)&ss, &c->local, &c->local_port);
	sl = sizeof(ss);
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_to_addr((struct sockaddr *)&ss, &c->remote, &c->remote_port);
	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		struct addr a;
		uint16_t port;

		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
		    i->ifa_addr->sa_family != AF_INET6))
			continue;
		sockaddr_to_addr(i->ifa_addr, &a, &port);
		if (addr_eq(&a, &c->local)) {
			snprintf(ifname, sizeof(ifname), "%s", i->ifa_name);
			break;
		}
	}
	for (i = ifa; ifname[0] && i != NULL; i = i->ifa_next) {
		struct addr a;
		uint16_t port;

		if (i->ifa_addr == NULL || strcmp(i->ifa_name, ifname) != 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s6 =
			    (const struct sockaddr_in6 *)i->ifa_addr;

			if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) && !c->has_ll) {
				addr_from_bytes(&c->ll, ADDR_AF_INET6,
				    s6->sin6_addr.s6_addr);
				c->has_ll = true;
			} else if (!IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) &&
			    !c->has_if6) {
				addr_from_bytes(&c->if6, ADDR_AF_INET6,
				    s6->sin6_addr.s6_addr);
				c->has_if6 = true;
			}
		} else if (i->ifa_addr->sa_family == AF_INET && !c->has_if4) {
			sockaddr_to_addr(i->ifa_addr, &a, &port);
			c->if4 = a;
			c->has_if4 = true;
		}
	}
	freeifaddrs(ifa);
}

static const char *
peer_addr_str(const struct bgp_peer *p, char *buf, size_t len)
{
	return addr_ntop(&p->address, buf, len);
}

/* ---- state -------------------------------------------------------------- */

static void
record(struct bgp_peer *p, enum bgp_state from, enum bgp_state to,
    const char *why)
{
	struct bgp_state_change *h;

	if (p->nhistory == BGP_HISTORY) {
		memmove(p->history, p->history + 1,
		    sizeof(p->history[0]) * (BGP_HISTORY - 1));
		p->nhistory--;
	}
	h = &p->history[p->nhistory++];
	h->when = time(NULL);
	h->from = from;
	h->to = to;
	snprintf(h->why, sizeof(h->why), "%s", why ? why : "");
}

static void
reset_negotiated(struct bgp_peer *p)
{
	p->as4 = p->route_refresh = p->extended_message = p->gr = false;
	p->enhanced_rr = false;
	memset(p->fam_on, 0, sizeof(p->fam_on));
	memset(p->eor_received, 0, sizeof(p->eor_received));
	memset(p->in_refresh, 0, sizeof(p->in_refresh));
	p->remote_id = 0;
	p->max_msg_len = BGP_MAX_MSG_LEN;
}

static void
clear_adj_in(struct bgp_peer *p)
{
	hmap_free(p->adj_in);
	p->adj_in = hmap_new(sizeof(struct bgp_rkey));
}

/*
 * Enter `to`.  The side effects of each state live here and nowhere else.
 */
static void
set_state(struct bgp_peer *p, enum bgp_state to, const char *why)
{
	enum bgp_state from = p->state;
	time_t now = time(NULL);

	if (from == to)
		return;
	log_info("bgp", "peer %s: %s -> %s%s%s%s", p->name, bgp_state_name(from),
	    bgp_state_name(to), why ? " (" : "", why ? why : "", why ? ")" : "");
	record(p, from, to, why);
	p->state = to;
	p->state_since = now;

	if (from == BGP_ST_ESTABLISHED) {
		/* Flap damping: a session that did not stay up long doubles the
		 * time we wait before the next attempt. */
		if (now - p->established_at >= STABLE_S)
			p->idle_hold_cur_ms = IDLE_HOLD_BASE_MS;
		else if (p->idle_hold_cur_ms < IDLE_HOLD_MAX_MS)
			p->idle_hold_cur_ms = p->idle_hold_cur_ms * 2 > IDLE_HOLD_MAX_MS ?
			    IDLE_HOLD_MAX_MS : p->idle_hold_cur_ms * 2;
		p->flaps++;
		p->last_flap = now;
		p->conn = NULL;
		bgp_out_reset(p);
		clear_adj_in(p);
		reset_negotiated(p);
	}
	if (to == BGP_ST_ESTABLISHED) {
		p->established_at = now;
		p->established_total++;
		p->connect_retry_cur_ms = p->connect_time_ms;
		evtimer_del(p->t_connect_retry);
		p->last_error[0] = '\0';
	}
}

/* ---- connections --------------------------------------------------------- */

static void
conn_detach(struct bgp_conn *c)
{
	struct bgp_peer *p = c->peer;

	if (p == NULL)
		return;
	if (p->out == c)
		p->out = NULL;
	if (p->in == c)
		p->in = NULL;
	if (p->conn == c)
		p->conn = NULL;
	c->peer = NULL;
}

static void
conn_free(struct bgp_conn *c)
{
	if (c == NULL)
		return;
	conn_detach(c);
	if (c->t_hold)
		event_free(c->t_hold);
	if (c->t_keepalive)
		event_free(c->t_keepalive);
	if (c->bev)
		bufferevent_free(c->bev);	/* closes fd */
	else if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void
count_msg(struct bgp_counters *ctr, const uint8_t *msg, size_t len)
{
	uint8_t type = len >= BGP_HEADER_LEN ? msg[18] : 0;

	ctr->msgs[0]++;
	if (type >= 1 && type < BGP_MSG_TYPES)
		ctr->msgs[type]++;
}

static int
conn_send(struct bgp_conn *c, const uint8_t *msg, size_t len)
{
	if (c->bev == NULL)
		return -1;
	if (bufferevent_write(c->bev, msg, len) == -1)
		return -1;
	if (c->peer)
		count_msg(&c->peer->sent, msg, len);
	return 0;
}

static int
peer_emit(void *arg, const uint8_t *msg, size_t len)
{
	struct bgp_peer *p = arg;

	if (p->conn == NULL)
		return -1;
	return conn_send(p->conn, msg, len);
}

/*
 * Close a connection, sending a NOTIFICATION first when an OPEN went out
 * on it.  Queued output is dropped: the session is over, and the
 * NOTIFICATION must not wait behind a megabyte of UPDATEs.
 */
static void
conn_close(struct bgp_conn *c, const struct bgp_wbuf *notif)
{
	if (notif != NULL && c->fd >= 0 && c->state >= BGP_ST_OPENSENT) {
		struct evbuffer *out = bufferevent_get_output(c->bev);

		evbuffer_drain(out, evbuffer_get_length(out));
		if (send(c->fd, notif->p, notif->len, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		    (ssize_t)notif->len && c->peer)
			count_msg(&c->peer->sent, notif->p, notif->len);
	}
	if (c->fd >= 0) {
		uint8_t junk[4096];

		/* Closing with unread input sends a RST, and a RST can make the
		 * peer's kernel drop our NOTIFICATION unread: read it first. */
		for (int i = 0; i < 64 && recv(c->fd, junk, sizeof(junk),
		    MSG_DONTWAIT) > 0; i++)
			;
	}
	conn_free(c);
}

static void
notif_words(struct bgp_peer *p, bool sent, uint8_t code, uint8_t subcode,
    const uint8_t *data, size_t datalen)
{
	char words[200];

	bgp_notification_str(code, subcode, data, datalen, words, sizeof(words));
	snprintf(p->last_error, sizeof(p->last_error), "%s NOTIFICATION: %s",
	    sent ? "sent" : "received", words);
}

/*
 * A connection of p is gone.  When it was the last one the peer goes Idle
 * and tries again after the idle-hold time, which doubles each time a
 * session fails before it became stable (set_state does it for a flap of an
 * Established session).
 */
static void
peer_conn_gone(struct bgp_peer *p, const char *why)
{
	enum bgp_state was = p->state;
	struct timeval tv;

	if (p->deleting)
		return;
	if (p->out != NULL || p->in != NULL) {
		peer_update_state(p, why);
		return;
	}
	set_state(p, BGP_ST_IDLE, why);
	ms_to_tv(jitter(p->idle_hold_cur_ms), &tv);
	evtimer_add(p->t_idle_hold, &tv);
	if (was != BGP_ST_ESTABLISHED && p->idle_hold_cur_ms < IDLE_HOLD_MAX_MS)
		p->idle_hold_cur_ms = p->idle_hold_cur_ms * 2 > IDLE_HOLD_MAX_MS ?
		    IDLE_HOLD_MAX_MS : p->idle_hold_cur_ms * 2;
}

/*
 * The single exit for a failed connection.  When it was the peer's last
 * connection the peer goes Idle and retries after the idle-hold time.
 */
static void
conn_fail(struct bgp_conn *c, const struct bgp_error *err, const char *why)
{
	struct bgp_peer *p = c->peer;
	struct bgp_wbuf wb;

	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	if (err != NULL) {
		bgp_notification_build(err->code, err->subcode, err->data,
		    err->datalen, &wb);
		notif_words(p, true, err->code, err->subcode, err->data,
		    err->datalen);
		log_warn("bgp", "peer %s: %s", p->name, p->last_error);
	} else if (why != NULL) {
		snprintf(p->last_error, sizeof(p->last_error), "%s", why);
		log_warn("bgp", "peer %s: %s", p->name, why);
	}
	conn_close(c, err ? &wb : NULL);
	bgp_wbuf_free(&wb);
	peer_conn_gone(p, why ? why : "error");
}

static void
conn_error(struct bgp_conn *c, uint8_t code, uint8_t subcode, const char *why)
{
	struct bgp_error e;

	memset(&e, 0, sizeof(e));
	e.code = code;
	e.subcode = subcode;
	conn_fail(c, &e, why);
}

/* The peer state follows its most advanced connection. */
static void
peer_update_state(struct bgp_peer *p, const char *why)
{
	enum bgp_state s = BGP_ST_ACTIVE;

	if (p->out && p->out->state > s)
		s = p->out->state;
	if (p->in && p->in->state > s)
		s = p->in->state;
	if (p->out && p->out->state == BGP_ST_CONNECT && s == BGP_ST_ACTIVE)
		s = BGP_ST_CONNECT;
	set_state(p, s, why);
}

static void
restart_hold(struct bgp_conn *c, uint16_t secs)
{
	struct timeval tv = { secs, 0 };

	if (secs == 0)
		evtimer_del(c->t_hold);
	else
		evtimer_add(c->t_hold, &tv);
}

static void
on_hold(evutil_socket_t fd, short what, void *arg)
{
	struct bgp_conn *c = arg;

	conn_error(c, BGP_ERR_HOLD_TIMER, 0, "hold timer expired");
}

static void
send_keepalive(struct bgp_conn *c)
{
	struct bgp_wbuf wb;

	bgp_wbuf_init(&wb, BGP_HEADER_LEN);
	if (bgp_keepalive_build(&wb) == 0)
		conn_send(c, wb.p, wb.len);
	bgp_wbuf_free(&wb);
}

static void
on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct bgp_conn *c = arg;
	struct timeval tv = { c->keepalive_time, 0 };

	send_keepalive(c);
	if (c->keepalive_time)
		evtimer_add(c->t_keepalive, &tv);
}

/* Returns -1 when the connection had to be closed. */
static int
send_open(struct bgp_conn *c)
{
	struct bgp_peer *p = c->peer;
	struct bgp_open o;
	struct bgp_wbuf wb;
	uint32_t id = 0;

	memset(&o, 0, sizeof(o));
	o.version = BGP_VERSION;
	o.my_as = p->my_asn > 0xffff ? BGP_AS_TRANS : (uint16_t)p->my_asn;
	o.hold_time = (uint16_t)(p->hold_time_ms / 1000);
	if (p->router_id.af == ADDR_AF_INET)
		id = (uint32_t)p->router_id.v;
	else if (p->sp->router_id.af == ADDR_AF_INET)
		id = (uint32_t)p->sp->router_id.v;
	else if (c->local.af == ADDR_AF_INET)
		id = (uint32_t)c->local.v;
	o.bgp_id = id;
	o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ BGP_AFI_IPV4, BGP_SAFI_UNICAST };
	o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ BGP_AFI_IPV6, BGP_SAFI_UNICAST };
	if (p->nvpn > 0) {
		o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ BGP_AFI_IPV4, BGP_SAFI_MPLS_VPN };
		o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ BGP_AFI_IPV6, BGP_SAFI_MPLS_VPN };
	}
	o.caps.as4 = true;
	o.caps.as4_asn = p->my_asn;
	o.caps.route_refresh = true;
	o.caps.enhanced_route_refresh = true;
	o.caps.extended_message = true;
	if (p->graceful_restart) {
		/*
		 * RFC 4724: while bgplbd restarts, the nodes keep serving the
		 * addresses (the forwarding state is the node itself), so the
		 * router may keep our routes as stale for the restart time.
		 * The R bit says this process was restarted: set on the first
		 * session of a process that found its state file.
		 */
		o.caps.gr.present = true;
		o.caps.gr.restart_time = 120;
		if (p->sp->restarted && p->established_total == 0)
			o.caps.gr.flags |= BGP_GR_FLAG_RESTART;
		for (size_t i = 0; i < o.caps.n_mp && i < BGP_MAX_CAP_FAMILIES; i++) {
			o.caps.gr.fam[o.caps.gr.n].afi = o.caps.mp[i].afi;
			o.caps.gr.fam[o.caps.gr.n].safi = o.caps.mp[i].safi;
			o.caps.gr.fam[o.caps.gr.n].flags = BGP_GR_AF_FORWARDING;
			o.caps.gr.n++;
		}
	}
	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	if (id == 0) {
		bgp_wbuf_free(&wb);
		conn_fail(c, NULL, "no BGP identifier: set router-id (no IPv4 "
		    "address on this node)");
		return -1;
	}
	if (bgp_open_encode(&o, &wb) == 0)
		conn_send(c, wb.p, wb.len);
	bgp_wbuf_free(&wb);
	c->state = BGP_ST_OPENSENT;
	restart_hold(c, OPENSENT_HOLD_S);
	return 0;
}

/* RFC 4271 6.8: of two connections, keep the one opened by the speaker
 * with the higher BGP identifier.  Returns the connection to close. */
static struct bgp_conn *
collision_loser(struct bgp_peer *p, uint32_t local_id, uint32_t remote_id)
{
	return local_id < remote_id ? p->out : p->in;
}

static uint32_t
local_id(const struct bgp_peer *p, const struct bgp_conn *c)
{
	if (p->router_id.af == ADDR_AF_INET)
		return (uint32_t)p->router_id.v;
	if (p->sp->router_id.af == ADDR_AF_INET)
		return (uint32_t)p->sp->router_id.v;
	return c->local.af == ADDR_AF_INET ? (uint32_t)c->local.v : 0;
}

static void
cease(struct bgp_conn *c, uint8_t subcode, const char *why)
{
	struct bgp_wbuf wb;

	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	bgp_notification_build(BGP_ERR_CEASE, subcode, NULL, 0, &wb);
	log_info("bgp", "peer %s: closing %s connection: %s",
	    c->peer ? c->peer->name : "?", c->outgoing ? "outgoing" : "incoming",
	    why);
	conn_close(c, &wb);
	bgp_wbuf_free(&wb);
}

static void
handle_open(struct bgp_conn *c, const uint8_t *payload, size_t len)
{
	struct bgp_peer *p = c->peer;
	struct bgp_error err;
	struct bgp_conn *other;
	uint32_t as;
	uint16_t hold, ka;

	if (c->state != BGP_ST_OPENSENT) {
		conn_error(c, BGP_ERR_FSM, c->state == BGP_ST_OPENCONFIRM ?
		    BGP_ERR_FSM_OPENCONFIRM : BGP_ERR_FSM_ESTABLISHED,
		    "unexpected OPEN");
		return;
	}
	memset(&err, 0, sizeof(err));
	if (bgp_open_decode(payload, len, &c->open, &err) == -1) {
		conn_fail(c, &err, "bad OPEN");
		return;
	}
	as = bgp_open_peer_as(&c->open);
	if (as != p->asn) {
		err.code = BGP_ERR_OPEN;
		err.subcode = BGP_ERR_OPEN_BAD_AS;
		err.data[0] = (uint8_t)(c->open.my_as >> 8);
		err.data[1] = (uint8_t)c->open.my_as;
		err.datalen = 2;
		conn_fail(c, &err, "peer AS mismatch");
		snprintf(p->last_error, sizeof(p->last_error),
		    "sent NOTIFICATION: OPEN Message Error / Bad Peer AS "
		    "(peer says AS %u, configured %u)", as, p->asn);
		return;
	}
	if (!p->ebgp && c->open.bgp_id == local_id(p, c)) {
		err.code = BGP_ERR_OPEN;
		err.subcode = BGP_ERR_OPEN_BAD_ID;
		err.datalen = 0;
		conn_fail(c, &err, "iBGP peer has our BGP identifier");
		return;
	}
	/* Collision: the other connection already got an OPEN, or is in
	 * OpenSent (its OPEN is on the way).  Decide now by identifiers. */
	other = c->outgoing ? p->in : p->out;
	if (other != NULL && other->state == BGP_ST_ESTABLISHED) {
		cease(c, BGP_ERR_CEASE_COLLISION, "collision with an Established "
		    "session");
		return;
	}
	if (other != NULL && other->state >= BGP_ST_OPENSENT) {
		struct bgp_conn *loser = collision_loser(p, local_id(p, c),
		    c->open.bgp_id);

		cease(loser, BGP_ERR_CEASE_COLLISION, "connection collision "
		    "resolution (RFC 4271 6.8)");
		if (loser == c)
			return;
	} else if (other != NULL) {
		/* Still connecting: this one is ahead; drop the attempt. */
		conn_free(other);
	}
	hold = c->open.hold_time < p->hold_time_ms / 1000 ? c->open.hold_time :
	    (uint16_t)(p->hold_time_ms / 1000);
	ka = (uint16_t)(p->keepalive_ms / 1000);
	if (hold > 0 && (ka == 0 || ka > hold / 3))
		ka = hold / 3 ? hold / 3 : 1;
	if (hold == 0)
		ka = 0;
	c->hold_time = hold;
	c->keepalive_time = ka;
	c->state = BGP_ST_OPENCONFIRM;
	send_keepalive(c);
	restart_hold(c, hold);
	if (ka) {
		struct timeval tv = { ka, 0 };

		evtimer_add(c->t_keepalive, &tv);
	}
	peer_update_state(p, "OPEN received");
}

static void
negotiate(struct bgp_peer *p, struct bgp_conn *c)
{
	const struct bgp_caps *caps = &c->open.caps;

	reset_negotiated(p);
	p->as4 = caps->as4;
	p->route_refresh = caps->route_refresh;
	p->enhanced_rr = caps->enhanced_route_refresh;
	/* RFC 8654: both sent the capability (we always do), so UPDATEs may
	 * be up to 65535 bytes both ways; OPEN and KEEPALIVE stay <= 4096. */
	p->extended_message = caps->extended_message;
	p->max_msg_len = p->extended_message ? BGP_MAX_EXT_MSG_LEN :
	    BGP_MAX_MSG_LEN;
	p->gr = caps->gr.present && p->graceful_restart;
	p->remote_id = c->open.bgp_id;
	if (caps->n_mp == 0) {
		/* RFC 4760: no MP capability means IPv4 unicast only. */
		p->fam_on[BGP_FAM_IPV4] = true;
		return;
	}
	for (size_t i = 0; i < caps->n_mp; i++) {
		enum bgp_fam f = bgp_fam_of(caps->mp[i].afi, caps->mp[i].safi);

		if (f == BGP_FAM_COUNT)
			continue;
		if ((f == BGP_FAM_VPNV4 || f == BGP_FAM_VPNV6) && p->nvpn == 0)
			continue;
		p->fam_on[f] = true;
	}
}

static void
handle_keepalive(struct bgp_conn *c)
{
	struct bgp_peer *p = c->peer;
	struct bgp_conn *other;

	if (c->state == BGP_ST_OPENSENT) {
		conn_error(c, BGP_ERR_FSM, BGP_ERR_FSM_OPENSENT,
		    "KEEPALIVE in OpenSent");
		return;
	}
	restart_hold(c, c->hold_time);
	if (c->state != BGP_ST_OPENCONFIRM)
		return;
	/* OpenConfirm -> Established; the other connection, if any, loses. */
	other = c->outgoing ? p->in : p->out;
	if (other != NULL)
		cease(other, BGP_ERR_CEASE_COLLISION, "the other connection "
		    "reached Established");
	c->state = BGP_ST_ESTABLISHED;
	p->conn = c;
	negotiate(p, c);
	peer_update_state(p, "KEEPALIVE received");
	{
		char fams[64] = "";

		for (int f = 0; f < BGP_FAM_COUNT; f++) {
			uint16_t afi;
			uint8_t safi;

			if (!p->fam_on[f])
				continue;
			bgp_fam_afisafi((enum bgp_fam)f, &afi, &safi);
			snprintf(fams + strlen(fams), sizeof(fams) - strlen(fams),
			    "%s%s", fams[0] ? "," : "", bgp_afi_safi_name(afi, safi));
		}
		log_info("bgp", "peer %s: session up, hold time %us, families %s",
		    p->name, c->hold_time, fams);
	}
	bgp_out_dump(p);
}

static bool
as_path_has(const struct bgp_update *u, uint32_t as)
{
	for (size_t i = 0; i < u->as_path_n; i++)
		if (u->as_path[i] == as)
			return true;
	return false;
}

/*
 * RFC 4486 6/1: the data is AFI, SAFI and the limit, so the router's
 * operator sees which family and which limit.  The peer then waits out
 * the idle-hold time, which doubles if it keeps happening.
 */
static void
max_prefix_exceeded(struct bgp_conn *c, enum bgp_fam f)
{
	struct bgp_peer *p = c->peer;
	struct bgp_error err;
	char why[160];
	uint16_t afi;
	uint8_t safi;

	bgp_fam_afisafi(f, &afi, &safi);
	memset(&err, 0, sizeof(err));
	err.code = BGP_ERR_CEASE;
	err.subcode = BGP_ERR_CEASE_MAX_PREFIX;
	err.data[0] = (uint8_t)(afi >> 8);
	err.data[1] = (uint8_t)afi;
	err.data[2] = safi;
	err.data[3] = (uint8_t)(p->max_prefixes >> 24);
	err.data[4] = (uint8_t)(p->max_prefixes >> 16);
	err.data[5] = (uint8_t)(p->max_prefixes >> 8);
	err.data[6] = (uint8_t)p->max_prefixes;
	err.datalen = 7;
	snprintf(why, sizeof(why), "peer sent more than max-prefixes %u "
	    "routes (last one %s): closing the session", p->max_prefixes,
	    bgp_afi_safi_name(afi, safi));
	log_error("bgp", "peer %s: %s", p->name, why);
	conn_fail(c, &err, why);
	snprintf(p->last_error, sizeof(p->last_error), "%s; sent NOTIFICATION: "
	    "Cease / Maximum Number of Prefixes Reached", why);
}

/* RFC 7313 on the receiving side: after the EoRR, what the peer did not
 * re-send during its refresh is gone. */
static void
adj_in_sweep(struct bgp_peer *p, enum bgp_fam f)
{
	struct bgp_rkey *dead;
	size_t it = 0, n = 0;
	const void *k;
	void *v;

	dead = malloc((hmap_count(p->adj_in) + 1) * sizeof(*dead));
	if (dead == NULL)
		fatalx("out of memory");
	while (hmap_next(p->adj_in, &it, &k, &v)) {
		const struct bgp_rkey *key = k;

		if (key->fam == f && (uintptr_t)v != p->in_gen[f] + 1)
			dead[n++] = *key;
	}
	for (size_t i = 0; i < n; i++)
		hmap_del(p->adj_in, &dead[i]);
	free(dead);
	if (n > 0)
		log_info("bgp", "peer %s: %zu routes not re-sent in the route "
		    "refresh are gone", p->name, n);
}

static void
handle_update(struct bgp_conn *c, const uint8_t *payload, size_t len)
{
	struct bgp_peer *p = c->peer;
	struct bgp_afisafi fams[BGP_FAM_COUNT];
	struct bgp_update_ctx ctx;
	struct bgp_update u;
	struct bgp_error err;
	enum bgp_update_result r;
	enum bgp_fam over = BGP_FAM_COUNT;
	bool loop;

	if (c->state != BGP_ST_ESTABLISHED) {
		conn_error(c, BGP_ERR_FSM, c->state == BGP_ST_OPENSENT ?
		    BGP_ERR_FSM_OPENSENT : BGP_ERR_FSM_OPENCONFIRM,
		    "UPDATE before Established");
		return;
	}
	restart_hold(c, c->hold_time);
	memset(&ctx, 0, sizeof(ctx));
	ctx.as4 = p->as4;
	ctx.ebgp = p->ebgp;
	for (int f = 0; f < BGP_FAM_COUNT; f++) {
		if (!p->fam_on[f])
			continue;
		bgp_fam_afisafi((enum bgp_fam)f, &fams[ctx.n_families].afi,
		    &fams[ctx.n_families].safi);
		ctx.n_families++;
	}
	ctx.families = fams;
	memset(&u, 0, sizeof(u));
	memset(&err, 0, sizeof(err));
	r = bgp_update_decode(payload, len, &ctx, &u, &err);
	if (r == BGP_UPDATE_ERROR) {
		bgp_update_free(&u);
		conn_fail(c, &err, "malformed UPDATE");
		return;
	}
	if (r == BGP_UPDATE_TREAT_AS_WITHDRAW) {
		char words[200];

		p->updates_treat_as_withdraw++;
		bgp_notification_str(u.reason.code, u.reason.subcode,
		    u.reason.data, u.reason.datalen, words, sizeof(words));
		snprintf(p->last_error, sizeof(p->last_error),
		    "UPDATE treated as withdraw (RFC 7606): %s", words);
		if (p->updates_treat_as_withdraw <= 10 ||
		    p->updates_treat_as_withdraw % 1000 == 0)
			log_warn("bgp", "peer %s: %s (%lu so far)", p->name,
			    p->last_error, (unsigned long)p->updates_treat_as_withdraw);
	}
	for (size_t i = 0; i < u.n_withdrawn; i++) {
		struct bgp_rkey k;
		uint8_t rd[8];

		bgp_rd_to_bytes(u.withdrawn[i].rd, rd);
		bgp_rkey_make(&k, bgp_fam_of(u.withdrawn[i].afi,
		    u.withdrawn[i].safi), &u.withdrawn[i].pfx, rd);
		hmap_del(p->adj_in, &k);
	}
	/* AS-path loop detection: our own routes reflected back are ignored. */
	loop = as_path_has(&u, p->my_asn);
	for (size_t i = 0; i < u.n_announced; i++) {
		struct bgp_rkey k;
		uint8_t rd[8];

		enum bgp_fam f = bgp_fam_of(u.announced[i].afi,
		    u.announced[i].safi);

		bgp_rd_to_bytes(u.announced[i].rd, rd);
		bgp_rkey_make(&k, f, &u.announced[i].pfx, rd);
		if (loop) {
			hmap_del(p->adj_in, &k);
			continue;
		}
		/* The value is the refresh generation (+1: never NULL). */
		hmap_put(p->adj_in, &k, (void *)(p->in_gen[f] + 1));
		if (p->max_prefixes != 0 && over == BGP_FAM_COUNT &&
		    hmap_count(p->adj_in) > p->max_prefixes)
			over = f;
	}
	if (u.eor) {
		enum bgp_fam f = bgp_fam_of(u.eor_family.afi, u.eor_family.safi);

		if (f != BGP_FAM_COUNT && !p->eor_received[f]) {
			p->eor_received[f] = true;
			log_info("bgp", "peer %s: End-of-RIB received for %s",
			    p->name, bgp_afi_safi_name(u.eor_family.afi,
			    u.eor_family.safi));
		}
	}
	bgp_update_free(&u);
	if (over != BGP_FAM_COUNT)
		max_prefix_exceeded(c, over);
}

static void
handle_notification(struct bgp_conn *c, const uint8_t *payload, size_t len)
{
	struct bgp_peer *p = c->peer;
	struct bgp_notification n;
	char why[300];

	memset(&n, 0, sizeof(n));
	if (bgp_notification_decode(payload, len, &n) == -1) {
		snprintf(p->last_error, sizeof(p->last_error),
		    "received a malformed NOTIFICATION");
	} else {
		notif_words(p, false, n.code, n.subcode, n.data, n.datalen);
	}
	snprintf(why, sizeof(why), "%s", p->last_error);
	log_warn("bgp", "peer %s: %s", p->name, why);
	conn_free(c);
	peer_conn_gone(p, why);
}

static void
handle_route_refresh(struct bgp_conn *c, const uint8_t *payload, size_t len)
{
	struct bgp_peer *p = c->peer;
	struct bgp_route_refresh rr;
	struct bgp_error err;
	enum bgp_fam f;

	if (c->state != BGP_ST_ESTABLISHED) {
		conn_error(c, BGP_ERR_FSM, c->state == BGP_ST_OPENSENT ?
		    BGP_ERR_FSM_OPENSENT : BGP_ERR_FSM_OPENCONFIRM,
		    "ROUTE-REFRESH before Established");
		return;
	}
	memset(&err, 0, sizeof(err));
	if (bgp_route_refresh_decode(payload, len, &rr, &err) == -1) {
		conn_fail(c, &err, "malformed ROUTE-REFRESH");
		return;
	}
	f = bgp_fam_of(rr.afi, rr.safi);
	if (rr.subtype == BGP_RR_BORR || rr.subtype == BGP_RR_EORR) {
		/* The peer re-sends its routes (RFC 7313 4): routes it held
		 * before the BoRR and did not re-send by the EoRR are gone. */
		if (f == BGP_FAM_COUNT || !p->fam_on[f] || !p->enhanced_rr)
			return;
		if (rr.subtype == BGP_RR_BORR) {
			p->in_gen[f]++;
			p->in_refresh[f] = true;
		} else if (p->in_refresh[f]) {
			p->in_refresh[f] = false;
			adj_in_sweep(p, f);
		}
		return;
	}
	if (rr.subtype != BGP_RR_NORMAL)
		return;		/* RFC 7313: other subtypes are ignored */
	if (f == BGP_FAM_COUNT || !p->fam_on[f]) {
		log_info("bgp", "peer %s: ROUTE-REFRESH for a family not "
		    "negotiated (afi %u safi %u): ignored", p->name, rr.afi,
		    rr.safi);
		return;
	}
	bgp_out_refresh(p, f);
}

/* Returns -1 when the connection is gone. */
static int
handle_msg(struct bgp_conn *c, uint8_t type, const uint8_t *msg, size_t len)
{
	struct bgp_peer *p = c->peer;
	const uint8_t *payload = msg + BGP_HEADER_LEN;
	size_t plen = len - BGP_HEADER_LEN;
	struct bgp_conn *before_out = p->out, *before_in = p->in;

	count_msg(&p->rcvd, msg, len);
	switch (type) {
	case BGP_MSG_OPEN:
		handle_open(c, payload, plen);
		break;
	case BGP_MSG_UPDATE:
		handle_update(c, payload, plen);
		break;
	case BGP_MSG_NOTIFICATION:
		handle_notification(c, payload, plen);
		return -1;
	case BGP_MSG_KEEPALIVE:
		handle_keepalive(c);
		break;
	case BGP_MSG_ROUTE_REFRESH:
		handle_route_refresh(c, payload, plen);
		break;
	}
	/* Was c closed by the handler? */
	if ((c == before_out && p->out != c) || (c == before_in && p->in != c))
		return -1;
	return 0;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct bgp_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (int n = 0; n < MAX_MSGS_PER_READ; n++) {
		size_t have = evbuffer_get_length(in);
		struct bgp_error err;
		uint8_t type, *msg;
		uint16_t msglen;
		int rc;

		if (have < BGP_HEADER_LEN)
			return;
		msg = evbuffer_pullup(in, BGP_HEADER_LEN);
		memset(&err, 0, sizeof(err));
		rc = bgp_msg_header_check(msg, have, c->state == BGP_ST_ESTABLISHED ?
		    c->peer->max_msg_len : BGP_MAX_MSG_LEN, &type, &msglen, &err);
		if (rc == -1) {
			conn_fail(c, &err, "bad message header");
			return;
		}
		if (rc == 1 || have < msglen)
			return;
		msg = evbuffer_pullup(in, msglen);
		if (handle_msg(c, type, msg, msglen) == -1)
			return;
		evbuffer_drain(in, msglen);
	}
	/* More is buffered: come back after the other peers had a turn. */
	if (evbuffer_get_length(in) >= BGP_HEADER_LEN)
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
		    BEV_TRIG_IGNORE_WATERMARKS);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct bgp_conn *c = arg;
	struct bgp_peer *p = c->peer;
	char why[200];

	if (what & BEV_EVENT_CONNECTED) {
		char a[ADDR_STRLEN];

		conn_addresses(c);
		log_info("bgp", "peer %s: connected to %s port %u from %s",
		    p->name, peer_addr_str(p, a, sizeof(a)), p->port,
		    addr_ntop(&c->local, why, sizeof(why)));
		evtimer_del(p->t_connect_retry);
		if (send_open(c) == 0)
			peer_update_state(p, "connected");
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed by peer");
	else
		snprintf(why, sizeof(why), "%s: %s",
		    c->state == BGP_ST_CONNECT ? "connect failed" : "socket error",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	if (c->state == BGP_ST_CONNECT) {
		/* A failed attempt: back off; the peer may still connect to us. */
		snprintf(p->last_error, sizeof(p->last_error), "%s", why);
		log_info("bgp", "peer %s: %s; retry in %.1fs", p->name, why,
		    p->connect_retry_cur_ms / 1000.0);
		conn_free(c);
		peer_update_state(p, why);
		return;
	}
	conn_fail(c, NULL, why);
}

static struct bgp_conn *
conn_new(struct bgp_peer *p, int fd, bool outgoing)
{
	struct bgp_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		fatalx("out of memory");
	c->peer = p;
	c->fd = fd;
	c->outgoing = outgoing;
	c->state = BGP_ST_CONNECT;
	c->bev = bufferevent_socket_new(p->sp->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->t_hold = evtimer_new(p->sp->base, on_hold, c);
	c->t_keepalive = evtimer_new(p->sp->base, on_keepalive, c);
	if (c->bev == NULL || c->t_hold == NULL || c->t_keepalive == NULL)
		fatalx("cannot create connection events");
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
}

static void
arm_connect_retry(struct bgp_peer *p)
{
	struct timeval tv;

	ms_to_tv(jitter(p->connect_retry_cur_ms), &tv);
	evtimer_add(p->t_connect_retry, &tv);
	if (p->connect_retry_cur_ms < CONNECT_RETRY_MAX_MS)
		p->connect_retry_cur_ms = p->connect_retry_cur_ms * 2 >
		    CONNECT_RETRY_MAX_MS ? CONNECT_RETRY_MAX_MS :
		    p->connect_retry_cur_ms * 2;
}

/*
 * A peer in a VRF talks through the Linux VRF device of that name.  Without
 * it, connecting in the default VRF would be wrong, so we don't, and say
 * why (the kernels this runs on may lack CONFIG_NET_VRF altogether).
 */
static int
vrf_bind(struct bgp_peer *p, int fd)
{
	if (p->vrf == NULL)
		return 0;
	if (if_nametoindex(p->vrf) == 0) {
		bool nokernel = access("/sys/module/vrf", F_OK) != 0;

		snprintf(p->last_error, sizeof(p->last_error),
		    "VRF device \"%s\" does not exist%s", p->vrf, nokernel ?
		    " (this kernel has no VRF support: CONFIG_NET_VRF is off)" : "");
		if (!p->vrf_warned)
			log_error("bgp", "peer %s: %s; not connecting", p->name,
			    p->last_error);
		p->vrf_warned = true;
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, p->vrf,
	    (socklen_t)strlen(p->vrf)) == -1) {
		snprintf(p->last_error, sizeof(p->last_error),
		    "cannot bind to VRF device \"%s\": %s", p->vrf, strerror(errno));
		if (!p->vrf_warned)
			log_error("bgp", "peer %s: %s", p->name, p->last_error);
		p->vrf_warned = true;
		return -1;
	}
	p->vrf_warned = false;
	return 0;
}

static void
peer_connect(struct bgp_peer *p)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;
	char a[ADDR_STRLEN];

	if (p->passive || p->out != NULL || p->conn != NULL)
		return;
	/* With BFD the session waits for the path to be proven up. */
	if (p->bfd != NULL && bfd_session_state(p->bfd) != BFD_ST_UP)
		return;
	arm_connect_retry(p);
	fd = socket(p->address.af == ADDR_AF_INET ? AF_INET : AF_INET6,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(p->last_error, sizeof(p->last_error), "socket: %s",
		    strerror(errno));
		return;
	}
	if (vrf_bind(p, fd) == -1) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_ttl(p, fd, p->address.af);
	if (p->password != NULL && set_md5(fd, &p->address, p->password) == -1) {
		snprintf(p->last_error, sizeof(p->last_error),
		    "TCP MD5 (password) not supported here: %s", strerror(errno));
		log_error("bgp", "peer %s: %s", p->name, p->last_error);
		close(fd);
		return;
	}
	if (p->source_address.af != 0) {
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		sl = addr_to_sockaddr(&p->source_address, 0, &ss);
		if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
			snprintf(p->last_error, sizeof(p->last_error),
			    "cannot use source-address %s: %s",
			    addr_ntop(&p->source_address, a, sizeof(a)),
			    strerror(errno));
			log_error("bgp", "peer %s: %s", p->name, p->last_error);
			close(fd);
			return;
		}
	}
	p->out = conn_new(p, fd, true);
	sl = addr_to_sockaddr(&p->address, p->port, &ss);
	if (bufferevent_socket_connect(p->out->bev, (struct sockaddr *)&ss,
	    (int)sl) == -1) {
		snprintf(p->last_error, sizeof(p->last_error), "connect: %s",
		    strerror(errno));
		log_info("bgp", "peer %s: %s; retry in %.1fs", p->name,
		    p->last_error, p->connect_retry_cur_ms / 1000.0);
		conn_free(p->out);
		peer_update_state(p, p->last_error);
		return;
	}
	log_debug("bgp", "peer %s: connecting to %s port %u", p->name,
	    peer_addr_str(p, a, sizeof(a)), p->port);
	peer_update_state(p, "connecting");
}

static void
on_connect_retry(evutil_socket_t fd, short what, void *arg)
{
	struct bgp_peer *p = arg;

	if (p->out != NULL && p->out->state == BGP_ST_CONNECT) {
		/* The attempt is taking too long: start a new one. */
		conn_free(p->out);
	}
	peer_connect(p);
}

static void
on_idle_hold(evutil_socket_t fd, short what, void *arg)
{
	bgp_peer_start(arg);
}


/*
 * BFD says the path to the peer is up or down.  Down: tear the session down
 * at once (Cease / BFD Down) so the router withdraws our routes without
 * waiting for the hold timer.  Up: connect now.
 */
static void
on_bfd(void *arg, bool up, const char *why)
{
	struct bgp_peer *p = arg;
	char msg[128];

	if (up) {
		log_info("bgp", "peer %s: BFD up", p->name);
		p->connect_retry_cur_ms = p->connect_time_ms;
		if (p->state == BGP_ST_IDLE || p->state == BGP_ST_ACTIVE) {
			evtimer_del(p->t_idle_hold);
			bgp_peer_start(p);
		}
		return;
	}
	snprintf(msg, sizeof(msg), "BFD down: %s", why ? why : "");
	log_warn("bgp", "peer %s: %s", p->name, msg);
	if (p->state != BGP_ST_IDLE || p->out != NULL || p->in != NULL)
		bgp_peer_stop(p, BGP_ERR_CEASE_BFD_DOWN, NULL, false);
	snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
	/* Wait in Active for BFD to come back (on_bfd up restarts us). */
	set_state(p, BGP_ST_ACTIVE, msg);
}

void
bgp_peer_start(struct bgp_peer *p)
{
	if (p->deleting || p->sp->shutting_down)
		return;
	if (p->bfd_cfg.enabled && p->bfd == NULL) {
		const struct addr *local = p->source_address.af ?
		    &p->source_address : NULL;

		if (p->sp->bfd == NULL)
			p->sp->bfd = bfd_ctx_new(p->sp->base);
		p->bfd = bfd_session_new(p->sp->bfd, local, &p->address,
		    p->ebgp_multihop > 1, &p->bfd_cfg, on_bfd, p);
		if (p->bfd == NULL)
			snprintf(p->last_error, sizeof(p->last_error),
			    "cannot start BFD (see the log); BGP runs without it");
	}
	evtimer_del(p->t_idle_hold);
	if (p->state == BGP_ST_IDLE)
		set_state(p, BGP_ST_ACTIVE, p->passive ? "start (passive)" : "start");
	if (!p->passive)
		peer_connect(p);
}

void
bgp_peer_stop(struct bgp_peer *p, uint8_t subcode, const char *msg, bool restart)
{
	struct bgp_wbuf wb;
	struct bgp_conn *cs[2] = { p->out, p->in };

	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	bgp_notification_build_shutdown(subcode, msg, &wb);
	for (int i = 0; i < 2; i++)
		if (cs[i] != NULL)
			conn_close(cs[i], &wb);
	bgp_wbuf_free(&wb);
	evtimer_del(p->t_connect_retry);
	evtimer_del(p->t_idle_hold);
	set_state(p, BGP_ST_IDLE, msg ? msg : "stopped");
	if (restart) {
		struct timeval tv = { 0, 0 };

		p->idle_hold_cur_ms = IDLE_HOLD_BASE_MS;
		p->connect_retry_cur_ms = p->connect_time_ms;
		evtimer_add(p->t_idle_hold, &tv);
	}
}

/* ---- the listener -------------------------------------------------------- */

/*
 * The configured peer a connection comes from: same address and same VRF.
 * An accepted socket is bound to the VRF device it arrived through (with
 * net.ipv4.tcp_l3mdev_accept=1); one in the default VRF is bound to none.
 * A peer of a VRF never matches a connection of another VRF, so a VRF's
 * routes can't leak into the default table through a passive session.
 */
static struct bgp_peer *
peer_by_addr(struct bgp_speaker *sp, const struct addr *a, const char *vrf)
{
	for (size_t i = 0; i < sp->npeers; i++) {
		struct bgp_peer *p = sp->peers[i];

		if (!addr_eq(&p->address, a) || p->deleting)
			continue;
		if ((p->vrf == NULL) != (vrf == NULL) ||
		    (vrf != NULL && strcmp(p->vrf, vrf) != 0))
			continue;
		return p;
	}
	return NULL;
}

/* The VRF device an accepted socket is bound to, or NULL. */
static const char *
socket_vrf(int fd, char *buf, size_t len)
{
	socklen_t sl = (socklen_t)len;

	memset(buf, 0, len);
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, buf, &sl) == -1 ||
	    buf[0] == '\0')
		return NULL;
	return buf;
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct bgp_speaker *sp = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct bgp_peer *p;
	struct bgp_conn *c;
	struct addr remote;
	uint16_t port;
	char a[ADDR_STRLEN], vrfbuf[IF_NAMESIZE + 1];
	const char *vrf;
	int fd, one = 1;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	sockaddr_to_addr((struct sockaddr *)&ss, &remote, &port);
	vrf = socket_vrf(fd, vrfbuf, sizeof(vrfbuf));
	p = peer_by_addr(sp, &remote, vrf);
	if (p == NULL) {
		log_info("bgp", "connection from %s port %u%s%s refused: not a "
		    "configured peer%s", addr_ntop(&remote, a, sizeof(a)), port,
		    vrf ? " in VRF " : "", vrf ? vrf : "",
		    vrf ? " of that VRF" : " of the default VRF");
		close(fd);
		return;
	}
	if (p->bfd != NULL && bfd_session_state(p->bfd) != BFD_ST_UP) {
		log_info("bgp", "peer %s: incoming connection refused: BFD is "
		    "not up", p->name);
		close(fd);
		return;
	}
	if (p->state == BGP_ST_IDLE || sp->shutting_down) {
		log_info("bgp", "peer %s: incoming connection refused: %s",
		    p->name, sp->shutting_down ? "shutting down" :
		    "Idle (waiting before the next attempt)");
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_ttl(p, fd, remote.af);
	if (p->conn != NULL) {
		/* Established already: RFC 4271 6.8 says close the new one. */
		close(fd);
		log_info("bgp", "peer %s: second connection while Established: "
		    "closed", p->name);
		return;
	}
	if (p->in != NULL)
		conn_free(p->in);	/* a stale half-open one */
	c = conn_new(p, fd, false);
	conn_addresses(c);
	p->in = c;
	log_info("bgp", "peer %s: accepted connection from %s port %u", p->name,
	    addr_ntop(&remote, a, sizeof(a)), port);
	if (send_open(c) == 0)
		peer_update_state(p, "incoming connection");
}

static int
listen_one(struct bgp_speaker *sp, int family, int idx)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(sp->listen_port);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(sp->listen_port);
		sl = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 || listen(fd, 64) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	sp->listen_fd[idx] = fd;
	sp->listen_ev[idx] = event_new(sp->base, fd, EV_READ | EV_PERSIST,
	    on_accept, sp);
	event_add(sp->listen_ev[idx], NULL);
	return 0;
}

/* MD5 keys live on the listening sockets too: one per peer address. */
void
bgp_listen_md5(struct bgp_speaker *sp, const struct bgp_peer *p, bool add)
{
	for (int i = 0; i < 2; i++) {
		int want = i == 0 ? ADDR_AF_INET : ADDR_AF_INET6;

		if (sp->listen_fd[i] < 0 || p->password == NULL ||
		    p->address.af != want)
			continue;
		if (set_md5(sp->listen_fd[i], &p->address, add ? p->password :
		    NULL) == -1)
			log_error("bgp", "peer %s: cannot set TCP MD5 key on the "
			    "listener: %s", p->name, strerror(errno));
	}
}

int
bgp_listen(struct bgp_speaker *sp)
{
	int ok = 0;

	sp->listen_fd[0] = sp->listen_fd[1] = -1;
	sp->listen_error[0] = '\0';
	if (sp->listen_port == 0)
		return 0;
	if (listen_one(sp, AF_INET, 0) == 0)
		ok++;
	else
		snprintf(sp->listen_error, sizeof(sp->listen_error),
		    "cannot listen on 0.0.0.0 port %u: %s", sp->listen_port,
		    strerror(errno));
	if (listen_one(sp, AF_INET6, 1) == 0)
		ok++;
	else if (errno != EAFNOSUPPORT && sp->listen_error[0] == '\0')
		snprintf(sp->listen_error, sizeof(sp->listen_error),
		    "cannot listen on [::] port %u: %s", sp->listen_port,
		    strerror(errno));
	if (sp->listen_error[0])
		log_error("bgp", "%s: peers can't connect to us; we still "
		    "connect to them", sp->listen_error);
	else
		log_info("bgp", "listening on port %u", sp->listen_port);
	return ok > 0 ? 0 : -1;
}

void
bgp_listen_close(struct bgp_speaker *sp)
{
	for (int i = 0; i < 2; i++) {
		if (sp->listen_ev[i] != NULL)
			event_free(sp->listen_ev[i]);
		sp->listen_ev[i] = NULL;
		if (sp->listen_fd[i] >= 0)
			close(sp->listen_fd[i]);
		sp->listen_fd[i] = -1;
	}
}

/* ---- peers ---------------------------------------------------------------- */

static void
copy_cfg(struct bgp_peer *p, const struct cfg_peer *c)
{
	p->name = xstrdup(c->name);
	p->address = c->address;
	p->port = c->port ? c->port : BGP_PORT;
	p->asn = c->asn;
	p->my_asn = c->my_asn;
	p->hold_time_ms = c->hold_time_ms;
	p->keepalive_ms = c->keepalive_ms;
	p->connect_time_ms = c->connect_time_ms ? c->connect_time_ms : 5000;
	p->passive = c->passive;
	p->password = xstrdup(c->password);
	p->ebgp_multihop = c->ebgp_multihop;
	p->source_address = c->source_address;
	p->router_id = c->router_id;
	p->vrf = xstrdup(c->vrf);
	p->nvpn = c->nvpn;
	if (c->nvpn) {
		if ((p->vpn = calloc(c->nvpn, sizeof(char *))) == NULL)
			fatalx("out of memory");
		for (size_t i = 0; i < c->nvpn; i++)
			p->vpn[i] = xstrdup(c->vpn[i]);
	}
	p->graceful_restart = c->graceful_restart;
	p->ebgp = c->asn != c->my_asn;
	p->max_prefixes = c->max_prefixes;
	p->bfd_cfg = c->bfd;
}

static bool
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Does the session need a reset to take this config? */
bool
bgp_peer_cfg_same(const struct bgp_peer *p, const struct cfg_peer *c)
{
	if (!addr_eq(&p->address, &c->address) ||
	    p->port != (c->port ? c->port : BGP_PORT) || p->asn != c->asn ||
	    p->my_asn != c->my_asn || p->hold_time_ms != c->hold_time_ms ||
	    p->keepalive_ms != c->keepalive_ms || p->passive != c->passive ||
	    !streq(p->password, c->password) ||
	    p->ebgp_multihop != c->ebgp_multihop ||
	    !addr_eq(&p->source_address, &c->source_address) ||
	    !addr_eq(&p->router_id, &c->router_id) || !streq(p->vrf, c->vrf) ||
	    p->graceful_restart != c->graceful_restart || p->nvpn != c->nvpn ||
	    p->bfd_cfg.enabled != c->bfd.enabled ||
	    p->bfd_cfg.min_rx_ms != c->bfd.min_rx_ms ||
	    p->bfd_cfg.min_tx_ms != c->bfd.min_tx_ms ||
	    p->bfd_cfg.multiplier != c->bfd.multiplier ||
	    p->bfd_cfg.passive != c->bfd.passive)
		return false;
	for (size_t i = 0; i < p->nvpn; i++)
		if (!streq(p->vpn[i], c->vpn[i]))
			return false;
	return true;
}

static void
free_cfg_strings(struct bgp_peer *p)
{
	free(p->name);
	free(p->password);
	free(p->vrf);
	for (size_t i = 0; i < p->nvpn; i++)
		free(p->vpn[i]);
	free(p->vpn);
	p->name = p->password = p->vrf = NULL;
	p->vpn = NULL;
	p->nvpn = 0;
}

/*
 * max-prefixes changes without a reset: a higher limit simply applies; a
 * limit the peer already exceeds ends the session now, as the next UPDATE
 * would.
 */
void
bgp_peer_update_cfg(struct bgp_peer *p, const struct cfg_peer *c)
{
	enum bgp_fam f = BGP_FAM_IPV4;

	if (p->max_prefixes == c->max_prefixes)
		return;
	log_info("bgp", "peer %s: max-prefixes %u -> %u", p->name,
	    p->max_prefixes, c->max_prefixes);
	p->max_prefixes = c->max_prefixes;
	if (p->conn == NULL || p->max_prefixes == 0 ||
	    hmap_count(p->adj_in) <= p->max_prefixes)
		return;
	for (int i = 0; i < BGP_FAM_COUNT; i++)
		if (p->fam_on[i]) {
			f = (enum bgp_fam)i;
			break;
		}
	max_prefix_exceeded(p->conn, f);
}

void
bgp_peer_reconfigure(struct bgp_peer *p, const struct cfg_peer *c)
{
	bgp_peer_stop(p, BGP_ERR_CEASE_CONFIG_CHANGE, "configuration changed",
	    false);
	if (p->bfd != NULL)
		bfd_session_free(p->bfd);	/* restarted with the peer */
	p->bfd = NULL;
	free_cfg_strings(p);
	copy_cfg(p, c);
	p->idle_hold_cur_ms = IDLE_HOLD_BASE_MS;
	p->connect_retry_cur_ms = p->connect_time_ms;
	/* The Adj-RIB-Out stays: it is what the new session must carry. */
	bgp_out_reset(p);
}

struct bgp_peer *
bgp_peer_new(struct bgp_speaker *sp, const struct cfg_peer *c)
{
	struct bgp_peer *p = calloc(1, sizeof(*p));

	if (p == NULL)
		fatalx("out of memory");
	p->sp = sp;
	copy_cfg(p, c);
	p->state = BGP_ST_IDLE;
	p->state_since = time(NULL);
	p->idle_hold_cur_ms = IDLE_HOLD_BASE_MS;
	p->connect_retry_cur_ms = p->connect_time_ms;
	p->t_connect_retry = evtimer_new(sp->base, on_connect_retry, p);
	p->t_idle_hold = evtimer_new(sp->base, on_idle_hold, p);
	if (p->t_connect_retry == NULL || p->t_idle_hold == NULL)
		fatalx("cannot create peer timers");
	p->emit = peer_emit;
	p->emit_arg = p;
	p->adj_out = hmap_new(sizeof(struct bgp_rkey));
	p->adj_in = hmap_new(sizeof(struct bgp_rkey));
	reset_negotiated(p);
	return p;
}

void
bgp_peer_free(struct bgp_peer *p)
{
	if (p == NULL)
		return;
	p->deleting = true;
	if (p->bfd != NULL)
		bfd_session_free(p->bfd);
	p->bfd = NULL;
	conn_free(p->out);
	conn_free(p->in);
	event_free(p->t_connect_retry);
	event_free(p->t_idle_hold);
	bgp_out_free(p);
	hmap_free(p->adj_in);
	free_cfg_strings(p);
	free(p);
}

/*
 * bgp_session.c - the I/O side of BGP sessions: sockets, timers, the
 * listener, and the peers' lifetime.
 *
 * The FSM (bgp_fsm.c) decides; this file is its struct bgp_io on the
 * speaker's event base.  Input is framed here (header checked, at most
 * MAX_MSGS_PER_READ messages per turn for fairness between peers) and each
 * message, socket event and expired timer is posted to the FSM as an event:
 * no callback here changes a state itself.
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
#include "bgplb/sockaddr.h"
#include "bgplb/util.h"
#include "bgp.h"

#define MAX_MSGS_PER_READ	256	/* fairness between peers */

/* ---- sockets ------------------------------------------------------------- */

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


/* ---- connections --------------------------------------------------------- */

/*
 * What a connection queued and the socket has not taken yet: one entry a
 * message (its bytes still to go, its type), a ring in queue order.  As the
 * output buffer drains into the socket, each message whose last byte went
 * is counted (bgp_conn_sent); a close drops the rest uncounted.
 */
struct bgp_outq {
	struct evbuffer_cb_entry *cb;
	struct outq_ent {
		uint32_t	 left;
		uint8_t		 type;
	}		*e;
	size_t		 head, n, cap;
};

static void
outq_push(struct bgp_outq *q, uint32_t len, uint8_t type)
{
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 16;
		struct outq_ent *ne = xreallocarray(NULL, ncap, sizeof(*ne));

		for (size_t i = 0; i < q->n; i++)
			ne[i] = q->e[(q->head + i) % q->cap];
		free(q->e);
		q->e = ne;
		q->cap = ncap;
		q->head = 0;
	}
	q->e[(q->head + q->n) % q->cap] = (struct outq_ent){ len, type };
	q->n++;
}

static void
on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct bgp_conn *c = arg;
	struct bgp_outq *q = c->outq;
	size_t gone = info->n_deleted;

	(void)buf;
	while (gone > 0 && q->n > 0) {
		struct outq_ent *e = &q->e[q->head];
		uint8_t type = e->type;

		if (gone < e->left) {
			e->left -= (uint32_t)gone;
			break;
		}
		gone -= e->left;
		q->head = (q->head + 1) % q->cap;
		q->n--;
		bgp_conn_sent(c, type);
	}
}

/* Output dropped from here on (a close) is not counted as sent. */
static void
outq_stop(struct bgp_conn *c)
{
	if (c->outq == NULL || c->outq->cb == NULL)
		return;
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->outq->cb);
	c->outq->cb = NULL;
}

static void
conn_free(struct bgp_conn *c)
{
	if (c == NULL)
		return;
	outq_stop(c);
	if (c->outq != NULL)
		free(c->outq->e);
	free(c->outq);
	bgp_conn_detach(c);
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

static int
io_send(struct bgp_conn *c, const uint8_t *msg, size_t len)
{
	if (c->bev == NULL || len < BGP_HEADER_LEN)
		return -1;
	outq_push(c->outq, (uint32_t)len, msg[18]);
	if (bufferevent_write(c->bev, msg, len) == -1) {
		c->outq->n--;
		return -1;
	}
	return 0;
}

/*
 * Queued output is dropped before a NOTIFICATION: the session is over, and
 * the NOTIFICATION must not wait behind a megabyte of UPDATEs.
 */
static bool
io_close(struct bgp_conn *c, const struct bgp_wbuf *notif, bool drain)
{
	bool sent = false;

	outq_stop(c);
	if (notif != NULL && c->fd >= 0) {
		struct evbuffer *out = bufferevent_get_output(c->bev);

		evbuffer_drain(out, evbuffer_get_length(out));
		sent = send(c->fd, notif->p, notif->len,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)notif->len;
	}
	if (drain && c->fd >= 0) {
		uint8_t junk[4096];

		/* Closing with unread input sends a RST, and a RST can make the
		 * peer's kernel drop our NOTIFICATION unread: read it first. */
		for (int i = 0; i < 64 && recv(c->fd, junk, sizeof(junk),
		    MSG_DONTWAIT) > 0; i++)
			;
	}
	conn_free(c);
	return sent;
}

static void
io_flush(struct bgp_conn *c)
{
	if (c->bev != NULL && c->fd >= 0)
		evbuffer_write(bufferevent_get_output(c->bev), c->fd);
}

static struct event *
timer_ev(struct bgp_peer *p, struct bgp_conn *c, enum bgp_timer t)
{
	switch (t) {
	case BGP_TIMER_CONNECT_RETRY:
		return p->t_connect_retry;
	case BGP_TIMER_IDLE_HOLD:
		return p->t_idle_hold;
	case BGP_TIMER_HOLD:
		return c->t_hold;
	case BGP_TIMER_KEEPALIVE:
		return c->t_keepalive;
	}
	return NULL;
}

static void
io_timer_start(struct bgp_peer *p, struct bgp_conn *c, enum bgp_timer t,
    uint32_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(timer_ev(p, c, t), &tv);
}

static void
io_timer_stop(struct bgp_peer *p, struct bgp_conn *c, enum bgp_timer t)
{
	evtimer_del(timer_ev(p, c, t));
}

static void
on_hold(evutil_socket_t fd, short what, void *arg)
{
	struct bgp_conn *c = arg;

	bgp_fsm(c->peer, c, BGP_EV_HOLD_EXPIRES, NULL);
}

static void
on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct bgp_conn *c = arg;

	bgp_fsm(c->peer, c, BGP_EV_KEEPALIVE_EXPIRES, NULL);
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
			struct bgp_fsm_in ev = { .err = &err };

			bgp_fsm(c->peer, c, BGP_EV_HEADER_ERR, &ev);
			return;
		}
		if (rc == 1 || have < msglen)
			return;
		msg = evbuffer_pullup(in, msglen);
		if (bgp_fsm_msg(c, type, msg, msglen) == -1)
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
	struct bgp_fsm_in in;
	char why[200];

	if (what & BEV_EVENT_CONNECTED) {
		conn_addresses(c);
		bgp_fsm(c->peer, c, BGP_EV_TCP_CONNECTED, NULL);
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed by peer");
	else
		snprintf(why, sizeof(why), "%s: %s",
		    c->state == BGP_ST_CONNECT ? "connect failed" : "socket error",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	memset(&in, 0, sizeof(in));
	in.why = why;
	bgp_fsm(c->peer, c, BGP_EV_TCP_FAILS, &in);
}

static struct bgp_conn *
conn_new(struct bgp_peer *p, int fd, bool outgoing)
{
	struct bgp_conn *c = xcalloc(1, sizeof(*c));

	c->peer = p;
	c->fd = fd;
	c->outgoing = outgoing;
	c->state = BGP_ST_CONNECT;
	c->bev = bufferevent_socket_new(p->sp->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->t_hold = evtimer_new(p->sp->base, on_hold, c);
	c->t_keepalive = evtimer_new(p->sp->base, on_keepalive, c);
	if (c->bev == NULL || c->t_hold == NULL || c->t_keepalive == NULL)
		fatalx("cannot create connection events");
	c->outq = xcalloc(1, sizeof(*c->outq));
	c->outq->cb = evbuffer_add_cb(bufferevent_get_output(c->bev), on_output, c);
	if (c->outq->cb == NULL)
		fatalx("cannot watch a connection's output");
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
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


static int
io_connect(struct bgp_peer *p)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;
	char a[ADDR_STRLEN];

	fd = socket(p->address.af == ADDR_AF_INET ? AF_INET : AF_INET6,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(p->last_error, sizeof(p->last_error), "socket: %s",
		    strerror(errno));
		return 0;
	}
	if (vrf_bind(p, fd) == -1) {
		close(fd);
		return 0;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_ttl(p, fd, p->address.af);
	if (p->password != NULL && set_md5(fd, &p->address, p->password) == -1) {
		snprintf(p->last_error, sizeof(p->last_error),
		    "TCP MD5 (password) not supported here: %s", strerror(errno));
		log_error("bgp", "peer %s: %s", p->name, p->last_error);
		close(fd);
		return 0;
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
			return 0;
		}
	}
	p->out = conn_new(p, fd, true);
	sl = addr_to_sockaddr(&p->address, p->port, &ss);
	if (bufferevent_socket_connect(p->out->bev, (struct sockaddr *)&ss,
	    (int)sl) == -1) {
		snprintf(p->last_error, sizeof(p->last_error), "connect: %s",
		    strerror(errno));
		conn_free(p->out);
		return -1;
	}
	return 1;
}

static void
on_connect_retry(evutil_socket_t fd, short what, void *arg)
{
	bgp_fsm(arg, NULL, BGP_EV_CONNECT_RETRY_EXPIRES, NULL);
}

static void
on_idle_hold(evutil_socket_t fd, short what, void *arg)
{
	bgp_fsm(arg, NULL, BGP_EV_IDLE_HOLD_EXPIRES, NULL);
}

static void
on_bfd(void *arg, bool up, const char *why)
{
	struct bgp_fsm_in in = { .why = why };

	bgp_fsm(arg, NULL, up ? BGP_EV_BFD_UP : BGP_EV_BFD_DOWN, &in);
}

static void
io_bfd_start(struct bgp_peer *p)
{
	const struct addr *local;

	if (!p->bfd_cfg.enabled || p->bfd != NULL)
		return;
	local = p->source_address.af ? &p->source_address : NULL;
	if (p->sp->bfd == NULL)
		p->sp->bfd = bfd_ctx_new(p->sp->base);
	p->bfd = bfd_session_new(p->sp->bfd, local, &p->address,
	    p->ebgp_multihop > 1, &p->bfd_cfg, on_bfd, p);
	if (p->bfd == NULL)
		snprintf(p->last_error, sizeof(p->last_error),
		    "cannot start BFD (see the log); BGP runs without it");
}

static bool
io_bfd_up(const struct bgp_peer *p)
{
	return p->bfd == NULL || bfd_session_state(p->bfd) == BFD_ST_UP;
}

static time_t
io_now(void)
{
	return time(NULL);
}

const struct bgp_io bgp_session_io = {
	.send = io_send,
	.close = io_close,
	.flush = io_flush,
	.connect = io_connect,
	.timer_start = io_timer_start,
	.timer_stop = io_timer_stop,
	.bfd_start = io_bfd_start,
	.bfd_up = io_bfd_up,
	.now = io_now,
};

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
	c = conn_new(p, fd, false);
	conn_addresses(c);
	bgp_fsm(p, c, BGP_EV_TCP_CONFIRMED, NULL);
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
		p->vpn = xcalloc(c->nvpn, sizeof(char *));
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
	if (p->max_prefixes == c->max_prefixes)
		return;
	log_info("bgp", "peer %s: max-prefixes %u -> %u", p->name,
	    p->max_prefixes, c->max_prefixes);
	p->max_prefixes = c->max_prefixes;
	if (p->conn != NULL)
		bgp_fsm(p, p->conn, BGP_EV_PREFIX_LIMIT, NULL);
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
	p->idle_hold_cur_ms = BGP_IDLE_HOLD_BASE_MS;
	p->connect_retry_cur_ms = p->connect_time_ms;
	/* The Adj-RIB-Out stays: it is what the new session must carry. */
	bgp_out_reset(p);
}

struct bgp_peer *
bgp_peer_new(struct bgp_speaker *sp, const struct cfg_peer *c)
{
	struct bgp_peer *p = xcalloc(1, sizeof(*p));

	p->sp = sp;
	copy_cfg(p, c);
	p->t_connect_retry = evtimer_new(sp->base, on_connect_retry, p);
	p->t_idle_hold = evtimer_new(sp->base, on_idle_hold, p);
	if (p->t_connect_retry == NULL || p->t_idle_hold == NULL)
		fatalx("cannot create peer timers");
	p->emit = bgp_peer_emit;
	p->emit_arg = p;
	p->adj_out = hmap_new(sizeof(struct bgp_rkey));
	p->adj_in = hmap_new(sizeof(struct bgp_rkey));
	bgp_fsm_peer_init(p);
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


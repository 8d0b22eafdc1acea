/*
 * bgp_bfd.c - BFD (RFC 5880 asynchronous mode, RFC 5881 single hop,
 * RFC 5883 multihop) for the BGP speaker's peers.
 *
 * The file has three parts that only talk downwards:
 *   codec   - the 24-byte control packet and the reception checks that need
 *             no session (6.8.6, first half);
 *   fsm     - the per-session state machine as a pure function of packets
 *             and the clock: it says which state it entered, whether to send
 *             now and when it next wants the clock (periodic transmission,
 *             detection timeout).  Everything the RFC puts in bfd.* variables
 *             lives in struct bfd_fsm;
 *   session - sockets and timers on the speaker's event base.  One receive
 *             socket per (family, single/multihop) per context, bound to the
 *             wildcard, GTSM checked from IP_RECVTTL / IPV6_RECVHOPLIMIT; one
 *             send socket per session from a port in 49152..65535 with TTL 255.
 *
 * Nothing a remote sends is trusted beyond the checks: a bad packet is
 * counted by reason and dropped, never logged per packet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "bgplb/hmap.h"
#include "bgplb/log.h"
#include "bgp_bfd.h"

#define MOD	"bfd"

/* ------------------------------------------------------------------ names */

const char *
bfd_state_name(enum bfd_state s)
{
	switch (s) {
	case BFD_ST_ADMIN_DOWN:	return "AdminDown";
	case BFD_ST_DOWN:	return "Down";
	case BFD_ST_INIT:	return "Init";
	case BFD_ST_UP:		return "Up";
	}
	return "?";
}

const char *
bfd_diag_name(unsigned diag)
{
	static const char *const n[] = {
		"none", "control detection time expired", "echo function failed",
		"neighbor signaled session down", "forwarding plane reset",
		"path down", "concatenated path down", "administratively down",
		"reverse concatenated path down",
	};

	return diag < sizeof(n) / sizeof(n[0]) ? n[diag] : "unknown";
}

const char *
bfd_drop_name(enum bfd_drop d)
{
	static const char *const n[BFD_DROP__N] = {
		"none", "short", "version", "length", "detect_mult", "multipoint",
		"my_discriminator", "your_discriminator", "authentication", "ttl",
		"no_session", "address",
	};

	return (unsigned)d < BFD_DROP__N ? n[d] : "?";
}

/* ------------------------------------------------------------------ codec */

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
bfd_pkt_encode(const struct bfd_pkt *p, uint8_t out[BFD_PKT_LEN])
{
	out[0] = (uint8_t)((p->version & 0x7) << 5 | (p->diag & 0x1f));
	out[1] = (uint8_t)((p->state & 0x3) << 6 | (p->flags & 0x3f));
	out[2] = p->detect_mult;
	out[3] = p->length;
	put32(out + 4, p->my_disc);
	put32(out + 8, p->your_disc);
	put32(out + 12, p->desired_min_tx);
	put32(out + 16, p->required_min_rx);
	put32(out + 20, p->required_min_echo_rx);
}

enum bfd_drop
bfd_pkt_decode(const uint8_t *b, size_t len, struct bfd_pkt *p)
{
	memset(p, 0, sizeof(*p));
	if (len < BFD_PKT_LEN)
		return BFD_DROP_SHORT;
	p->version = b[0] >> 5;
	p->diag = b[0] & 0x1f;
	p->state = b[1] >> 6;
	p->flags = b[1] & 0x3f;
	p->detect_mult = b[2];
	p->length = b[3];
	p->my_disc = get32(b + 4);
	p->your_disc = get32(b + 8);
	p->desired_min_tx = get32(b + 12);
	p->required_min_rx = get32(b + 16);
	p->required_min_echo_rx = get32(b + 20);

	/* In the order of RFC 5880 6.8.6. */
	if (p->version != BFD_VERSION)
		return BFD_DROP_VERSION;
	if (p->length < ((p->flags & BFD_FLAG_A) ? BFD_PKT_LEN + 2 : BFD_PKT_LEN) ||
	    p->length > len)
		return BFD_DROP_LENGTH;
	if (p->detect_mult == 0)
		return BFD_DROP_DETECT_MULT;
	if (p->flags & BFD_FLAG_M)
		return BFD_DROP_MULTIPOINT;
	if (p->my_disc == 0)
		return BFD_DROP_MY_DISC;
	if (p->your_disc == 0 &&
	    p->state != BFD_ST_DOWN && p->state != BFD_ST_ADMIN_DOWN)
		return BFD_DROP_YOUR_DISC;
	/* We configure no authentication, so a packet that carries it must be
	 * discarded (6.8.6: A bit set and bfd.AuthType zero). */
	if (p->flags & BFD_FLAG_A)
		return BFD_DROP_AUTH;
	return BFD_DROP_NONE;
}

/* ------------------------------------------------------------------ fsm */

static uint32_t
fsm_rand(struct bfd_fsm *f)
{
	uint32_t x = f->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return f->rng = x;
}

static uint32_t
ms_to_us(uint32_t ms)
{
	return ms > UINT32_MAX / 1000 ? UINT32_MAX : ms * 1000;
}

static uint32_t
max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

uint32_t
bfd_fsm_tx_interval(const struct bfd_fsm *f)
{
	return max32(f->tx_interval_base, f->remote_min_rx);
}

uint64_t
bfd_fsm_detect_time(const struct bfd_fsm *f)
{
	if (f->remote_detect_mult == 0)
		return 0;
	return (uint64_t)f->remote_detect_mult *
	    max32(f->required_min_rx, f->remote_min_tx);
}

/* 6.8.7: no periodic packets while the peer asks for none, or while we are
 * passive and the peer hasn't spoken. */
static bool
fsm_may_send(const struct bfd_fsm *f)
{
	return f->remote_min_rx != 0 && !(f->passive && f->remote_disc == 0);
}

/* 6.8.7: jitter the interval down by 0..25 %, or 10..25 % when the detect
 * multiplier is 1 so a packet is never late at the peer. */
static void
fsm_schedule_tx(struct bfd_fsm *f, uint64_t now)
{
	uint64_t iv;
	unsigned pct;

	if (!fsm_may_send(f)) {
		f->next_tx = 0;
		return;
	}
	iv = bfd_fsm_tx_interval(f);
	if (f->detect_mult == 1)
		pct = 75 + fsm_rand(f) % 16;		/* 75..90 */
	else
		pct = 75 + fsm_rand(f) % 26;		/* 75..100 */
	f->next_tx = now + iv * pct / 100;
	if (f->next_tx == 0)
		f->next_tx = 1;
}

/* The one place a state is entered: rates and diag follow the state. */
static void
fsm_enter(struct bfd_fsm *f, enum bfd_state to, uint8_t diag, uint64_t now,
    struct bfd_action *act)
{
	if (!act->changed) {
		act->changed = true;
		act->from = f->state;
	}
	act->to = to;
	f->state = to;
	f->diag = diag;
	if (to == BFD_ST_UP) {
		/* Leave the slow rate (6.8.3).  A faster Tx takes effect at
		 * once; a slower one only after the Poll sequence. */
		if (f->desired_min_tx != f->cfg_min_tx) {
			f->desired_min_tx = f->cfg_min_tx;
			f->poll = true;
			if (f->cfg_min_tx < f->tx_interval_base)
				f->tx_interval_base = f->cfg_min_tx;
		}
	} else {
		/* Not Up: at most one packet a second, changed at once since
		 * the 6.8.3 restriction is for Up only. */
		f->desired_min_tx = max32(f->cfg_min_tx, BFD_SLOW_TX_US);
		f->tx_interval_base = f->desired_min_tx;
		f->poll = false;
	}
	if (to == BFD_ST_ADMIN_DOWN)
		f->detect_at = 0;
	/* Tell the peer at once rather than up to a second later. */
	act->send = fsm_may_send(f);
	fsm_schedule_tx(f, now);
}

void
bfd_fsm_init(struct bfd_fsm *f, const struct cfg_bfd *c, uint32_t my_disc,
    uint32_t seed, uint64_t now)
{
	memset(f, 0, sizeof(*f));
	f->state = BFD_ST_DOWN;
	f->my_disc = my_disc;
	f->remote_state = BFD_ST_DOWN;
	f->detect_mult = c->multiplier ? c->multiplier : 3;
	f->passive = c->passive;
	f->cfg_min_tx = ms_to_us(c->min_tx_ms ? c->min_tx_ms : 300);
	f->required_min_rx = ms_to_us(c->min_rx_ms ? c->min_rx_ms : 300);
	f->desired_min_tx = max32(f->cfg_min_tx, BFD_SLOW_TX_US);
	f->tx_interval_base = f->desired_min_tx;
	f->remote_min_rx = 1;			/* 6.8.1 initial value */
	f->rng = seed ? seed : 0x9e3779b9u;
	/* An active session speaks first; the first packet goes out now. */
	f->next_tx = fsm_may_send(f) ? (now ? now : 1) : 0;
}

void
bfd_fsm_rx(struct bfd_fsm *f, const struct bfd_pkt *p, uint64_t now,
    struct bfd_action *act)
{
	bool was_silent = f->next_tx == 0;
	uint32_t old_iv = bfd_fsm_tx_interval(f);

	memset(act, 0, sizeof(*act));
	f->remote_disc = p->my_disc;
	f->remote_state = p->state;
	f->remote_diag = p->diag;
	f->remote_detect_mult = p->detect_mult;
	f->remote_min_rx = p->required_min_rx;
	f->remote_min_tx = p->desired_min_tx;
	if ((p->flags & BFD_FLAG_F) && f->poll) {
		/* Poll done: the peer has seen our new parameters. */
		f->poll = false;
		f->tx_interval_base = f->desired_min_tx;
	}
	if (f->state == BFD_ST_ADMIN_DOWN)
		return;
	f->detect_at = now + bfd_fsm_detect_time(f);

	if (p->state == BFD_ST_ADMIN_DOWN) {
		if (f->state != BFD_ST_DOWN)
			fsm_enter(f, BFD_ST_DOWN, BFD_DIAG_NEIGHBOR_DOWN, now, act);
	} else {
		switch (f->state) {
		case BFD_ST_DOWN:
			if (p->state == BFD_ST_DOWN)
				fsm_enter(f, BFD_ST_INIT, f->diag, now, act);
			else if (p->state == BFD_ST_INIT)
				fsm_enter(f, BFD_ST_UP, BFD_DIAG_NONE, now, act);
			break;
		case BFD_ST_INIT:
			if (p->state == BFD_ST_INIT || p->state == BFD_ST_UP)
				fsm_enter(f, BFD_ST_UP, BFD_DIAG_NONE, now, act);
			break;
		case BFD_ST_UP:
			if (p->state == BFD_ST_DOWN)
				fsm_enter(f, BFD_ST_DOWN, BFD_DIAG_NEIGHBOR_DOWN, now, act);
			break;
		case BFD_ST_ADMIN_DOWN:
			break;
		}
	}

	if (p->flags & BFD_FLAG_P) {
		/* 6.8.7: answer a Poll with a Final as soon as practicable. */
		f->send_final = true;
		act->send = true;
	}
	if (!act->changed && fsm_may_send(f)) {
		/* A passive session starts speaking, or the peer asked for a
		 * faster rate than the packet we scheduled. */
		if (was_silent) {
			act->send = true;
			fsm_schedule_tx(f, now);
		} else if (bfd_fsm_tx_interval(f) < old_iv &&
		    f->next_tx > now + bfd_fsm_tx_interval(f)) {
			fsm_schedule_tx(f, now);
		}
	} else if (!fsm_may_send(f)) {
		f->next_tx = 0;
	}
}

void
bfd_fsm_timer(struct bfd_fsm *f, uint64_t now, struct bfd_action *act)
{
	memset(act, 0, sizeof(*act));
	if (f->detect_at != 0 && now >= f->detect_at) {
		f->detect_at = 0;
		/* 6.8.1: a silent peer is forgotten (and a passive session
		 * goes quiet again). */
		f->remote_disc = 0;
		f->remote_state = BFD_ST_DOWN;
		if (f->state == BFD_ST_INIT || f->state == BFD_ST_UP)
			fsm_enter(f, BFD_ST_DOWN, BFD_DIAG_TIME_EXPIRED, now, act);
		else if (!fsm_may_send(f))
			f->next_tx = 0;
	}
	if (f->next_tx != 0 && now >= f->next_tx) {
		act->send = true;
		fsm_schedule_tx(f, now);
	}
}

void
bfd_fsm_admin(struct bfd_fsm *f, bool down, uint64_t now, struct bfd_action *act)
{
	memset(act, 0, sizeof(*act));
	if (down && f->state != BFD_ST_ADMIN_DOWN)
		fsm_enter(f, BFD_ST_ADMIN_DOWN, BFD_DIAG_ADMIN_DOWN, now, act);
	else if (!down && f->state == BFD_ST_ADMIN_DOWN)
		fsm_enter(f, BFD_ST_DOWN, BFD_DIAG_NONE, now, act);
}

void
bfd_fsm_build(struct bfd_fsm *f, struct bfd_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->version = BFD_VERSION;
	p->diag = f->diag;
	p->state = f->state;
	/* P and F never together (6.5): the Final goes first, the Poll
	 * continues with the next periodic packet. */
	if (f->send_final)
		p->flags = BFD_FLAG_F;
	else if (f->poll)
		p->flags = BFD_FLAG_P;
	p->detect_mult = f->detect_mult;
	p->length = BFD_PKT_LEN;
	p->my_disc = f->my_disc;
	p->your_disc = f->remote_disc;
	p->desired_min_tx = f->desired_min_tx;
	p->required_min_rx = f->required_min_rx;
	p->required_min_echo_rx = 0;		/* no echo function */
	f->send_final = false;
}

uint64_t
bfd_fsm_next(const struct bfd_fsm *f)
{
	if (f->next_tx == 0)
		return f->detect_at;
	if (f->detect_at == 0)
		return f->next_tx;
	return f->next_tx < f->detect_at ? f->next_tx : f->detect_at;
}

/* ------------------------------------------------------------------ sessions */

struct bfd_ctx {
	struct event_base *base;
	uint16_t	 port[2];		/* [multihop] */
	int		 fd[2][2];		/* [multihop][v6] */
	struct event	*ev[2][2];
	struct hmap	*by_disc;		/* uint32_t my_disc -> session */
	struct bfd_session **sess;
	size_t		 nsess, cap;
	uint64_t	 dropped[BFD_DROP__N];
};

struct bfd_session {
	struct bfd_ctx	*ctx;
	struct addr	 local, remote;
	bool		 multihop;
	int		 fd;
	uint16_t	 src_port;
	struct event	*timer;
	struct bfd_fsm	 fsm;
	void		(*cb)(void *, bool, const char *);
	void		*arg;
	struct bfd_counters cnt;
	int		 last_errno;		/* last send error, logged once */
	time_t		 state_since;
	char		 last_down[96];
	time_t		 last_down_at;
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint32_t
rand32(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)now_us() ^ ((uint32_t)getpid() << 16);
	return v;
}

static socklen_t
to_sockaddr(const struct addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == ADDR_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		addr_to_bytes(a, s6->sin6_addr.s6_addr);
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (a->af == ADDR_AF_INET)
			addr_to_bytes(a, (uint8_t *)&s4->sin_addr.s_addr);
		return sizeof(*s4);
	}
}

static struct bfd_session *
ctx_find_by_addr(struct bfd_ctx *c, bool multihop, const struct addr *src,
    const struct addr *dst)
{
	for (size_t i = 0; i < c->nsess; i++) {
		struct bfd_session *s = c->sess[i];

		if (s->multihop != multihop || !addr_eq(&s->remote, src))
			continue;
		if (s->local.af != 0 && dst->af != 0 && !addr_eq(&s->local, dst))
			continue;
		return s;
	}
	return NULL;
}

static void session_apply(struct bfd_session *, const struct bfd_action *, uint64_t);

static void
session_send(struct bfd_session *s)
{
	struct sockaddr_storage ss;
	struct bfd_pkt p;
	uint8_t buf[BFD_PKT_LEN];
	socklen_t sl;

	bfd_fsm_build(&s->fsm, &p);
	bfd_pkt_encode(&p, buf);
	sl = to_sockaddr(&s->remote, s->ctx->port[s->multihop], &ss);
	if (sendto(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, sl) == -1) {
		/* A cut link makes every packet fail: say it once. */
		if (errno != s->last_errno) {
			char a[ADDR_STRLEN];

			log_warn(MOD, "%s: send: %s",
			    addr_ntop(&s->remote, a, sizeof(a)), strerror(errno));
			s->last_errno = errno;
		}
		return;
	}
	s->last_errno = 0;
	s->cnt.tx++;
}

static void
session_arm(struct bfd_session *s, uint64_t now)
{
	uint64_t next = bfd_fsm_next(&s->fsm), d;
	struct timeval tv;

	if (next == 0) {
		evtimer_del(s->timer);
		return;
	}
	d = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(d / 1000000);
	tv.tv_usec = (suseconds_t)(d % 1000000);
	evtimer_add(s->timer, &tv);
}

/* Send, re-arm, and last of all report: the callback may free s. */
static void
session_apply(struct bfd_session *s, const struct bfd_action *act, uint64_t now)
{
	char a[ADDR_STRLEN], why[96];
	bool report = false, up = false;

	if (act->send)
		session_send(s);
	session_arm(s, now);
	if (!act->changed || act->from == act->to)
		return;
	addr_ntop(&s->remote, a, sizeof(a));
	s->state_since = time(NULL);
	log_info(MOD, "%s: %s -> %s (%s)", a, bfd_state_name(act->from),
	    bfd_state_name(act->to), bfd_diag_name(s->fsm.diag));
	if (act->to == BFD_ST_UP) {
		s->cnt.up_events++;
		report = up = true;
		snprintf(why, sizeof(why), "BFD up");
	} else if (act->from == BFD_ST_UP) {
		s->cnt.down_events++;
		report = true;
		snprintf(why, sizeof(why), "BFD down: %s", bfd_diag_name(s->fsm.diag));
		snprintf(s->last_down, sizeof(s->last_down), "%s",
		    bfd_diag_name(s->fsm.diag));
		s->last_down_at = s->state_since;
	}
	if (report && s->cb != NULL)
		s->cb(s->arg, up, why);
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bfd_session *s = arg;
	struct bfd_action act;
	uint64_t now = now_us();

	bfd_fsm_timer(&s->fsm, now, &act);
	session_apply(s, &act, now);
}

static void
ctx_drop(struct bfd_ctx *c, struct bfd_session *s, enum bfd_drop why)
{
	c->dropped[why]++;
	if (s != NULL)
		s->cnt.rx_dropped++;
}

/* One datagram from a receive socket: GTSM, decode, demultiplex, fsm. */
static void
ctx_input(struct bfd_ctx *c, bool multihop, const uint8_t *buf, size_t len,
    const struct addr *src, const struct addr *dst, int ttl)
{
	struct bfd_session *s;
	struct bfd_action act;
	struct bfd_pkt p;
	enum bfd_drop d;
	uint64_t now;

	/* RFC 5881 5: single hop packets must arrive with TTL 255, so that
	 * nobody off-link can reach the session.  RFC 5883 relaxes it. */
	if (!multihop && ttl != 255) {
		ctx_drop(c, NULL, BFD_DROP_TTL);
		return;
	}
	if ((d = bfd_pkt_decode(buf, len, &p)) != BFD_DROP_NONE) {
		ctx_drop(c, NULL, d);
		return;
	}
	if (p.your_disc != 0) {
		s = hmap_get(c->by_disc, &p.your_disc);
		if (s == NULL || s->multihop != multihop) {
			ctx_drop(c, NULL, BFD_DROP_NO_SESSION);
			return;
		}
		/* A discriminator is easy to guess: the source must match. */
		if (!addr_eq(&s->remote, src)) {
			ctx_drop(c, s, BFD_DROP_ADDRESS);
			return;
		}
	} else if ((s = ctx_find_by_addr(c, multihop, src, dst)) == NULL) {
		ctx_drop(c, NULL, BFD_DROP_NO_SESSION);
		return;
	}
	s->cnt.rx++;
	now = now_us();
	bfd_fsm_rx(&s->fsm, &p, now, &act);
	session_apply(s, &act, now);
}

static void
ctx_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bfd_ctx *c = arg;
	bool multihop = fd == c->fd[1][0] || fd == c->fd[1][1];

	/* Bounded per wakeup so one flooding source can't starve BGP. */
	for (int n = 0; n < 64; n++) {
		union {
			struct cmsghdr	 align;
			uint8_t		 buf[256];
		} cbuf;
		struct sockaddr_storage ss;
		struct addr src = { 0 }, dst = { 0 };
		struct msghdr mh;
		struct iovec iov;
		struct cmsghdr *cm;
		uint8_t buf[512];
		ssize_t r;
		int ttl = -1;

		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &ss;
		mh.msg_namelen = sizeof(ss);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		if ((r = recvmsg(fd, &mh, 0)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn(MOD, "recvmsg: %s", strerror(errno));
			return;
		}
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

			addr_from_bytes(&src, ADDR_AF_INET,
			    (const uint8_t *)&s4->sin_addr.s_addr);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

			addr_from_bytes(&src, ADDR_AF_INET6, s6->sin6_addr.s6_addr);
		} else
			continue;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(int)))
				memcpy(&ttl, CMSG_DATA(cm), sizeof(int));
			else if (cm->cmsg_level == IPPROTO_IPV6 &&
			    cm->cmsg_type == IPV6_HOPLIMIT &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(int)))
				memcpy(&ttl, CMSG_DATA(cm), sizeof(int));
			else if (cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_PKTINFO &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				addr_from_bytes(&dst, ADDR_AF_INET,
				    (const uint8_t *)&pi.ipi_addr.s_addr);
			} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			    cm->cmsg_type == IPV6_PKTINFO &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				addr_from_bytes(&dst, ADDR_AF_INET6, pi.ipi6_addr.s6_addr);
			}
		}
		ctx_input(c, multihop, buf, (size_t)r, &src, &dst, ttl);
	}
}

/* The receive socket for (multihop, family), made when first needed so a
 * speaker without BFD peers never binds 3784. */
static int
ctx_listen(struct bfd_ctx *c, bool multihop, uint8_t af)
{
	int v6 = af == ADDR_AF_INET6, one = 1, fd;
	struct sockaddr_storage ss;
	struct addr any = { .af = af };
	socklen_t sl;

	if (c->fd[multihop][v6] != -1)
		return 0;
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) == -1 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == -1)
			goto fail;
	} else {
		if (setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) == -1 ||
		    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == -1)
			goto fail;
	}
	sl = to_sockaddr(&any, c->port[multihop], &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1)
		goto fail;
	c->ev[multihop][v6] = event_new(c->base, fd, EV_READ | EV_PERSIST, ctx_read_cb, c);
	if (c->ev[multihop][v6] == NULL || event_add(c->ev[multihop][v6], NULL) == -1)
		goto fail;
	c->fd[multihop][v6] = fd;
	return 0;
fail:
	log_error(MOD, "cannot listen on UDP %s port %u: %s", v6 ? "IPv6" : "IPv4",
	    c->port[multihop], strerror(errno));
	if (c->ev[multihop][v6] != NULL) {
		event_free(c->ev[multihop][v6]);
		c->ev[multihop][v6] = NULL;
	}
	if (fd != -1)
		close(fd);
	return -1;
}

struct bfd_ctx *
bfd_ctx_new(struct event_base *base)
{
	struct bfd_ctx *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->port[0] = BFD_PORT_SINGLE;
	c->port[1] = BFD_PORT_MULTI;
	for (int m = 0; m < 2; m++)
		for (int v = 0; v < 2; v++)
			c->fd[m][v] = -1;
	c->by_disc = hmap_new(sizeof(uint32_t));
	return c;
}

void
bfd_ctx_set_ports(struct bfd_ctx *c, uint16_t single, uint16_t multi)
{
	c->port[0] = single;
	c->port[1] = multi;
}

uint64_t
bfd_ctx_dropped(const struct bfd_ctx *c, enum bfd_drop d)
{
	return (unsigned)d < BFD_DROP__N ? c->dropped[d] : 0;
}

void
bfd_ctx_free(struct bfd_ctx *c)
{
	if (c == NULL)
		return;
	while (c->nsess > 0)
		bfd_session_free(c->sess[c->nsess - 1]);
	for (int m = 0; m < 2; m++)
		for (int v = 0; v < 2; v++) {
			if (c->ev[m][v] != NULL)
				event_free(c->ev[m][v]);
			if (c->fd[m][v] != -1)
				close(c->fd[m][v]);
		}
	hmap_free(c->by_disc);
	free(c->sess);
	free(c);
}

/* RFC 5881 4: the source port must be in 49152..65535, and distinct per
 * session; start at a random one and walk the range. */
static int
session_socket(struct bfd_session *s)
{
	uint8_t af = s->remote.af;
	int fd, ttl = 255, tos = 0xc0;		/* CS6, as for routing protocols */
	uint32_t span = BFD_SRC_PORT_MAX - BFD_SRC_PORT_MIN + 1, start = rand32() % span;
	struct sockaddr_storage ss;
	struct addr local = s->local.af == af ? s->local : (struct addr){ .af = af };
	socklen_t sl;

	fd = socket(af == ADDR_AF_INET6 ? AF_INET6 : AF_INET,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (af == ADDR_AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl)) == -1)
			goto fail;
		setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	} else {
		if (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) == -1)
			goto fail;
		setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	}
	for (uint32_t i = 0; i < span; i++) {
		uint16_t port = (uint16_t)(BFD_SRC_PORT_MIN + (start + i) % span);

		sl = to_sockaddr(&local, port, &ss);
		if (bind(fd, (struct sockaddr *)&ss, sl) == 0) {
			s->src_port = port;
			s->fd = fd;
			return 0;
		}
		if (errno != EADDRINUSE)
			goto fail;
	}
	errno = EADDRINUSE;
fail:
	close(fd);
	return -1;
}

struct bfd_session *
bfd_session_new(struct bfd_ctx *c, const struct addr *local,
    const struct addr *remote, bool multihop, const struct cfg_bfd *cfg,
    void (*cb)(void *, bool, const char *), void *arg)
{
	struct bfd_session *s;
	char a[ADDR_STRLEN];
	uint32_t disc;

	if (remote->af != ADDR_AF_INET && remote->af != ADDR_AF_INET6)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->ctx = c;
	s->fd = -1;
	s->remote = *remote;
	if (local != NULL && local->af == remote->af)
		s->local = *local;
	s->multihop = multihop;
	s->cb = cb;
	s->arg = arg;
	s->state_since = time(NULL);
	addr_ntop(remote, a, sizeof(a));
	if (session_socket(s) == -1) {
		log_error(MOD, "%s: cannot open send socket: %s", a, strerror(errno));
		free(s);
		return NULL;
	}
	/* Not fatal: the session stays Down and says so in its status. */
	(void)ctx_listen(c, multihop, remote->af);
	if ((s->timer = evtimer_new(c->base, session_timer_cb, s)) == NULL)
		goto fail;
	if (c->nsess == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 8;
		struct bfd_session **n = realloc(c->sess, ncap * sizeof(*n));

		if (n == NULL)
			goto fail;
		c->sess = n;
		c->cap = ncap;
	}
	do
		disc = rand32();
	while (disc == 0 || hmap_get(c->by_disc, &disc) != NULL);
	c->sess[c->nsess++] = s;
	hmap_put(c->by_disc, &disc, s);
	bfd_fsm_init(&s->fsm, cfg, disc, rand32(), now_us());
	log_info(MOD, "%s: session started (%s, local discriminator %u, "
	    "tx %u ms rx %u ms x%u%s)", a, multihop ? "multihop" : "single hop",
	    disc, cfg->min_tx_ms, cfg->min_rx_ms, s->fsm.detect_mult,
	    s->fsm.passive ? ", passive" : "");
	session_arm(s, now_us());
	return s;
fail:
	if (s->timer != NULL)
		event_free(s->timer);
	close(s->fd);
	free(s);
	return NULL;
}

void
bfd_session_free(struct bfd_session *s)
{
	struct bfd_ctx *c;

	if (s == NULL)
		return;
	c = s->ctx;
	hmap_del(c->by_disc, &s->fsm.my_disc);
	for (size_t i = 0; i < c->nsess; i++)
		if (c->sess[i] == s) {
			c->sess[i] = c->sess[--c->nsess];
			break;
		}
	event_free(s->timer);
	close(s->fd);
	free(s);
}

void
bfd_session_set_admin_down(struct bfd_session *s, bool down)
{
	struct bfd_action act;
	uint64_t now = now_us();

	bfd_fsm_admin(&s->fsm, down, now, &act);
	session_apply(s, &act, now);
}

enum bfd_state
bfd_session_state(const struct bfd_session *s)
{
	return s->fsm.state;
}

const struct bfd_counters *
bfd_session_counters(const struct bfd_session *s)
{
	return &s->cnt;
}

static void
jadd_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void
jadd_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

void
bfd_session_status(const struct bfd_session *s, struct json_object *o)
{
	const struct bfd_fsm *f = &s->fsm;
	struct json_object *cn = json_object_new_object();
	char a[ADDR_STRLEN];
	time_t now = time(NULL);

	jadd_str(o, "state", bfd_state_name(f->state));
	jadd_str(o, "diag", bfd_diag_name(f->diag));
	jadd_str(o, "remote_state", bfd_state_name(f->remote_state));
	jadd_str(o, "remote_diag", bfd_diag_name(f->remote_diag));
	jadd_str(o, "remote_address", addr_ntop(&s->remote, a, sizeof(a)));
	if (s->local.af != 0)
		jadd_str(o, "local_address", addr_ntop(&s->local, a, sizeof(a)));
	jadd_int(o, "source_port", s->src_port);
	json_object_object_add(o, "multihop", json_object_new_boolean(s->multihop));
	json_object_object_add(o, "passive", json_object_new_boolean(f->passive));
	jadd_int(o, "local_discriminator", f->my_disc);
	jadd_int(o, "remote_discriminator", f->remote_disc);
	jadd_int(o, "detect_multiplier", f->detect_mult);
	jadd_int(o, "remote_detect_multiplier", f->remote_detect_mult);
	jadd_int(o, "desired_min_tx_ms", f->cfg_min_tx / 1000);
	jadd_int(o, "required_min_rx_ms", f->required_min_rx / 1000);
	jadd_int(o, "remote_min_tx_ms", f->remote_min_tx / 1000);
	jadd_int(o, "remote_min_rx_ms", f->remote_min_rx / 1000);
	/* Negotiated: what we send at and how long we wait, in use now. */
	jadd_int(o, "tx_interval_ms", bfd_fsm_tx_interval(f) / 1000);
	jadd_int(o, "detection_time_ms", (int64_t)(bfd_fsm_detect_time(f) / 1000));
	json_object_object_add(o, "poll", json_object_new_boolean(f->poll));
	jadd_int(o, "state_for_s", now >= s->state_since ? now - s->state_since : 0);
	if (s->last_down_at != 0) {
		jadd_str(o, "last_down_reason", s->last_down);
		jadd_int(o, "last_down_ago_s",
		    now >= s->last_down_at ? now - s->last_down_at : 0);
	}
	jadd_int(cn, "tx", (int64_t)s->cnt.tx);
	jadd_int(cn, "rx", (int64_t)s->cnt.rx);
	jadd_int(cn, "rx_dropped", (int64_t)s->cnt.rx_dropped);
	jadd_int(cn, "up_events", (int64_t)s->cnt.up_events);
	jadd_int(cn, "down_events", (int64_t)s->cnt.down_events);
	json_object_object_add(o, "counters", cn);
}

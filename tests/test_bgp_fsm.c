/*
 * test_bgp_fsm.c - the BGP FSM as scripts of events, without sockets.
 *
 * bgp_fsm.c, bgp_adj_in.c and bgp_rib.c are linked with the real codec;
 * the speaker's struct bgp_io is a fake that writes down what the FSM does:
 * each message it sends ("o+OPEN": on our connection, "i+KA": on the one
 * the peer opened, "o+N4/0": a NOTIFICATION with code/subcode), each close
 * ("o!6/7": with a NOTIFICATION, "o!": without, "o~": dropped without
 * reading first), each connect and each timer started ("+cr" connect
 * retry, "+ih" idle hold, "o+hold90", "o+ka30").  A script row posts one
 * event and checks the peer's state, both connections' states and that
 * list of actions, so each RFC 4271 section 8 transition the speaker uses
 * is a table row.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/log.h"
#include "bgp.h"

/* ---- the fake I/O ------------------------------------------------------- */

static char	acts[1024];
static bool	armed_cr, armed_ih;
static uint32_t	ih_ms;
static int	connect_rc = 1;
static bool	bfd_is_up = true;
static time_t	clock_now = 1000000;

static void
act(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
act(const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(acts);

	if (n > 0 && n < sizeof(acts) - 1)
		acts[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(acts + n, sizeof(acts) - n, fmt, ap);
	va_end(ap);
}

static char
who(const struct bgp_conn *c)
{
	return c->outgoing ? 'o' : 'i';
}

static const char *
msg_name(const uint8_t *msg, size_t len, char *buf, size_t buflen)
{
	static const char *const names[] = { "?", "OPEN", "UPD", "N", "KA", "RR" };
	uint8_t type = len > 18 ? msg[18] : 0;

	if (type == BGP_MSG_NOTIFICATION && len >= 21)
		snprintf(buf, buflen, "N%u/%u", msg[19], msg[20]);
	else
		snprintf(buf, buflen, "%s", type < 6 ? names[type] : "?");
	return buf;
}

static uint8_t	last_open[4096];
static size_t	last_open_len;

static int
fake_send(struct bgp_conn *c, const uint8_t *msg, size_t len)
{
	char n[16];

	if (len > 18 && msg[18] == BGP_MSG_OPEN && len <= sizeof(last_open)) {
		memcpy(last_open, msg, len);
		last_open_len = len;
	}
	act("%c+%s", who(c), msg_name(msg, len, n, sizeof(n)));
	bgp_conn_sent(c, msg[18]);	/* written at once */
	return 0;
}

static bool
fake_close(struct bgp_conn *c, const struct bgp_wbuf *notif, bool drain)
{
	char n[16];

	if (notif != NULL)
		act("%c!%s", who(c), msg_name(notif->p, notif->len, n,
		    sizeof(n)) + 1);
	else
		act("%c%c", who(c), drain ? '!' : '~');
	bgp_conn_detach(c);
	free(c);
	return true;
}

static void
fake_flush(struct bgp_conn *c)
{
	(void)c;		/* fake_send wrote everything at once */
}

static struct bgp_conn *
fake_conn(struct bgp_peer *p, bool outgoing)
{
	struct bgp_conn *c = calloc(1, sizeof(*c));

	c->peer = p;
	c->fd = -1;
	c->outgoing = outgoing;
	c->state = BGP_ST_CONNECT;
	addr_parse("10.0.0.1", &c->local);
	c->remote = p->address;
	c->remote_port = 40000;
	return c;
}

static int
fake_connect(struct bgp_peer *p)
{
	act("connect");
	if (connect_rc == 1)
		p->out = fake_conn(p, true);
	else
		snprintf(p->last_error, sizeof(p->last_error), "connect: refused");
	return connect_rc;
}

static void
fake_timer_start(struct bgp_peer *p, struct bgp_conn *c, enum bgp_timer t,
    uint32_t ms)
{
	(void)p;
	switch (t) {
	case BGP_TIMER_CONNECT_RETRY:
		act("+cr");
		armed_cr = true;
		break;
	case BGP_TIMER_IDLE_HOLD:
		act("+ih");
		armed_ih = true;
		ih_ms = ms;
		break;
	case BGP_TIMER_HOLD:
		act("%c+hold%u", who(c), ms / 1000);
		break;
	case BGP_TIMER_KEEPALIVE:
		act("%c+ka%u", who(c), ms / 1000);
		break;
	}
}

static void
fake_timer_stop(struct bgp_peer *p, struct bgp_conn *c, enum bgp_timer t)
{
	(void)p;
	(void)c;
	if (t == BGP_TIMER_CONNECT_RETRY)
		armed_cr = false;
	else if (t == BGP_TIMER_IDLE_HOLD)
		armed_ih = false;
}

static void
fake_bfd_start(struct bgp_peer *p)
{
	(void)p;
}

static bool
fake_bfd_up(const struct bgp_peer *p)
{
	(void)p;
	return bfd_is_up;
}

static time_t
fake_now(void)
{
	return clock_now;
}

static const struct bgp_io fake_io = {
	.send = fake_send,
	.close = fake_close,
	.flush = fake_flush,
	.connect = fake_connect,
	.timer_start = fake_timer_start,
	.timer_stop = fake_timer_stop,
	.bfd_start = fake_bfd_start,
	.bfd_up = fake_bfd_up,
	.now = fake_now,
};

/* ---- fixtures ------------------------------------------------------------ */

#define OUR_ID		0x0a000001u	/* 10.0.0.1 */
#define HIGH_ID		0x0a000009u	/* beats ours */
#define LOW_ID		0x01010101u	/* loses to ours */

static struct bgp_speaker sp;
static struct bgp_peer peer;

static void
setup(bool passive, bool ibgp)
{
	memset(&sp, 0, sizeof(sp));
	memset(&peer, 0, sizeof(peer));
	sp.io = &fake_io;
	addr_parse("10.0.0.1", &sp.router_id);
	peer.sp = &sp;
	peer.name = "tor";
	addr_parse("10.0.0.2", &peer.address);
	peer.port = 179;
	peer.my_asn = 64512;
	peer.asn = ibgp ? 64512 : 64500;
	peer.ebgp = !ibgp;
	peer.passive = passive;
	peer.hold_time_ms = 90000;
	peer.keepalive_ms = 30000;
	peer.connect_time_ms = 5000;
	peer.emit = bgp_peer_emit;
	peer.emit_arg = &peer;
	peer.adj_out = hmap_new(sizeof(struct bgp_rkey));
	peer.adj_in = hmap_new(sizeof(struct bgp_rkey));
	bgp_fsm_peer_init(&peer);
	acts[0] = '\0';
	armed_cr = armed_ih = false;
	connect_rc = 1;
	bfd_is_up = true;
	clock_now = 1000000;
}

static void
teardown(void)
{
	peer.deleting = true;
	if (peer.out != NULL)
		fake_close(peer.out, NULL, false);
	if (peer.in != NULL)
		fake_close(peer.in, NULL, false);
	bgp_out_free(&peer);
	hmap_free(peer.adj_in);
}

/* ---- messages ------------------------------------------------------------ */

enum open_kind { OPEN_OK = 0, OPEN_BAD_AS, OPEN_BAD_HOLD, OPEN_BAD_VERSION };

static size_t
open_msg(uint8_t *buf, size_t len, uint32_t id, enum open_kind kind)
{
	struct bgp_open o;
	struct bgp_wbuf wb;
	size_t n;

	memset(&o, 0, sizeof(o));
	o.version = BGP_VERSION;
	o.my_as = kind == OPEN_BAD_AS ? 64999 : (uint16_t)peer.asn;
	o.hold_time = kind == OPEN_BAD_HOLD ? 2 : 90;
	o.bgp_id = id;
	o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ BGP_AFI_IPV4, BGP_SAFI_UNICAST };
	o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ BGP_AFI_IPV6, BGP_SAFI_UNICAST };
	o.caps.as4 = true;
	o.caps.as4_asn = kind == OPEN_BAD_AS ? 64999 : peer.asn;
	o.caps.route_refresh = true;
	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	ck_assert_int_eq(bgp_open_encode(&o, &wb), 0);
	if (kind == OPEN_BAD_VERSION)
		wb.p[BGP_HEADER_LEN] = 3;
	n = wb.len;
	ck_assert_uint_le(n, len);
	memcpy(buf, wb.p, n);
	bgp_wbuf_free(&wb);
	return n;
}

static size_t
frame(uint8_t type, const uint8_t *payload, size_t plen, uint8_t *buf,
    size_t len)
{
	size_t n = BGP_HEADER_LEN + plen;

	ck_assert_uint_le(n, len);
	memset(buf, 0xff, 16);
	buf[16] = (uint8_t)(n >> 8);
	buf[17] = (uint8_t)n;
	buf[18] = type;
	if (plen)
		memcpy(buf + BGP_HEADER_LEN, payload, plen);
	return n;
}

static uint8_t	upd_buf[4096];
static size_t	upd_len;

static int
upd_capture(const uint8_t *msg, size_t len, void *arg)
{
	(void)arg;
	memcpy(upd_buf, msg, len);
	upd_len = len;
	return 0;
}

/* One UPDATE announcing n IPv4 /32s (n 0: a malformed one). */
static size_t
update_msg(uint8_t *buf, size_t len, int n)
{
	struct bgp_nlri nl[4];
	struct bgp_attrs a;
	uint32_t asp[1] = { peer.asn };

	if (n == 0) {
		/* Withdrawn routes length past the end: 3/1. */
		static const uint8_t bad[] = { 0x00, 0x50, 0x00, 0x00 };

		return frame(BGP_MSG_UPDATE, bad, sizeof(bad), buf, len);
	}
	memset(&a, 0, sizeof(a));
	a.origin = BGP_ORIGIN_IGP;
	a.as_path = asp;
	a.as_path_n = 1;
	a.as4 = true;
	addr_parse("10.0.0.2", &a.nexthop4);
	memset(nl, 0, sizeof(nl));
	for (int i = 0; i < n; i++) {
		nl[i].afi = BGP_AFI_IPV4;
		nl[i].safi = BGP_SAFI_UNICAST;
		prefix_parse(i == 0 ? "192.0.2.1/32" : i == 1 ? "192.0.2.2/32" :
		    "192.0.2.3/32", &nl[i].pfx, false);
	}
	ck_assert_int_eq(bgp_update_pack(&a, BGP_AFI_IPV4, BGP_SAFI_UNICAST, nl,
	    (size_t)n, BGP_MAX_MSG_LEN, upd_capture, NULL), 0);
	ck_assert_uint_le(upd_len, len);
	memcpy(buf, upd_buf, upd_len);
	return upd_len;
}

/* ---- scripts ------------------------------------------------------------- */

enum op {
	OP_END = 0,
	OP_START, OP_STOP, OP_STOP_RESTART, OP_CONNECT_RETRY, OP_IDLE_HOLD,
	OP_BFD_UP, OP_BFD_DOWN,
	OP_CONNECTED, OP_ACCEPT, OP_TCP_FAILS, OP_HOLD, OP_KA_TIMER,
	OP_OPEN, OP_KEEPALIVE, OP_UPDATE, OP_NOTIF, OP_RR, OP_HEADER_ERR,
	OP_CLOCK,		/* a: seconds forward */
	OP_CONNECT_RC,		/* a: what the next connect() returns */
	OP_BFD_STATE,		/* a: BFD up (1) or not */
	OP_MAX_PREFIXES,	/* a: the new limit */
};

#define NONE	(-1)		/* no such connection */
#define ANY	(-2)

struct step {
	enum op		 op;
	char		 on;		/* 'o' or 'i': which connection */
	uint32_t	 a;		/* OPEN: BGP identifier; NOTIF: code */
	int		 b;		/* OPEN: enum open_kind; NOTIF: subcode;
					 * UPDATE: prefixes (0: malformed) */
	int		 peer;		/* expected peer state */
	int		 out, in;	/* expected connection states, or NONE */
	const char	*acts;		/* expected actions, in order */
};

struct script {
	const char	*name;
	bool		 passive, ibgp;
	struct step	 steps[14];
};

#define ST(x)		BGP_ST_##x
#define S(op, on, a, b, p, o, i, acts) \
	{ OP_##op, on, a, b, ST(p), o, i, acts }
/* Peer events and connection events without arguments. */
#define P(op, p, o, i, acts)		S(op, 0, 0, 0, p, o, i, acts)
#define C(op, on, p, o, i, acts)	S(op, on, 0, 0, p, o, i, acts)
#define OPEN(on, id, kind, p, o, i, acts) \
	{ OP_OPEN, on, id, kind, ST(p), o, i, acts }
#define NOTIF(on, code, sub, p, o, i, acts) \
	{ OP_NOTIF, on, code, sub, ST(p), o, i, acts }
#define SET(op, a)	{ OP_##op, 0, a, 0, ANY, ANY, ANY, NULL }

/* Our connection up and its OPEN sent. */
#define OURS_OPENSENT \
	P(START, CONNECT, ST(CONNECT), NONE, "+cr connect"), \
	C(CONNECTED, 'o', OPENSENT, ST(OPENSENT), NONE, "o+OPEN o+hold240")

/* Both connections up, our OPEN sent on each: a collision. */
#define BOTH_OPENSENT \
	OURS_OPENSENT, \
	C(ACCEPT, 'i', OPENSENT, ST(OPENSENT), ST(OPENSENT), "i+OPEN i+hold240")

/* The open sequence on our connection, ending Established. */
#define ACTIVE_UP \
	OURS_OPENSENT, \
	OPEN('o', HIGH_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE, \
	    "o+KA o+hold90 o+ka30"), \
	C(KEEPALIVE, 'o', ESTABLISHED, ST(ESTABLISHED), NONE, \
	    "o+hold90 o+UPD o+UPD")

static const struct script scripts[] = {
	{ "active open, keepalives, hold timer expires", false, false, {
		ACTIVE_UP,
		C(KEEPALIVE, 'o', ESTABLISHED, ST(ESTABLISHED), NONE, "o+hold90"),
		C(KA_TIMER, 'o', ESTABLISHED, ST(ESTABLISHED), NONE, "o+KA o+ka30"),
		C(HOLD, 'o', IDLE, NONE, NONE, "o!4/0 +ih"),
		P(IDLE_HOLD, CONNECT, ST(CONNECT), NONE, "+cr connect"),
	} },
	{ "passive open", true, false, {
		P(START, ACTIVE, NONE, NONE, ""),
		C(ACCEPT, 'i', OPENSENT, NONE, ST(OPENSENT), "i+OPEN i+hold240"),
		OPEN('i', LOW_ID, OPEN_OK, OPENCONFIRM, NONE, ST(OPENCONFIRM),
		    "i+KA i+hold90 i+ka30"),
		C(KEEPALIVE, 'i', ESTABLISHED, NONE, ST(ESTABLISHED),
		    "i+hold90 i+UPD i+UPD"),
		C(TCP_FAILS, 'i', IDLE, NONE, NONE, "i! +ih"),
		P(IDLE_HOLD, ACTIVE, NONE, NONE, ""),
	} },
	{ "OpenSent: the 240 s hold timer; OpenConfirm: keepalives, TCP fails", false, false, {
		OURS_OPENSENT,
		C(HOLD, 'o', IDLE, NONE, NONE, "o!4/0 +ih"),
		P(IDLE_HOLD, CONNECT, ST(CONNECT), NONE, "+cr connect"),
		C(CONNECTED, 'o', OPENSENT, ST(OPENSENT), NONE, "o+OPEN o+hold240"),
		OPEN('o', HIGH_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "o+KA o+hold90 o+ka30"),
		C(KA_TIMER, 'o', OPENCONFIRM, ST(OPENCONFIRM), NONE, "o+KA o+ka30"),
		C(TCP_FAILS, 'o', IDLE, NONE, NONE, "o! +ih"),
	} },
	{ "OPEN with the wrong AS: 2/2", false, false, {
		OURS_OPENSENT,
		OPEN('o', HIGH_ID, OPEN_BAD_AS, IDLE, NONE, NONE, "o!2/2 +ih"),
	} },
	{ "OPEN with hold time 2: 2/6", false, false, {
		OURS_OPENSENT,
		OPEN('o', HIGH_ID, OPEN_BAD_HOLD, IDLE, NONE, NONE, "o!2/6 +ih"),
	} },
	{ "OPEN version 3: 2/1", false, false, {
		OURS_OPENSENT,
		OPEN('o', HIGH_ID, OPEN_BAD_VERSION, IDLE, NONE, NONE, "o!2/1 +ih"),
	} },
	{ "iBGP peer with our identifier: 2/3", false, true, {
		OURS_OPENSENT,
		OPEN('o', OUR_ID, OPEN_OK, IDLE, NONE, NONE, "o!2/3 +ih"),
	} },
	{ "NOTIFICATION in OpenSent", false, false, {
		OURS_OPENSENT,
		NOTIF('o', 6, 2, IDLE, NONE, NONE, "o~ +ih"),
	} },
	{ "NOTIFICATION in OpenConfirm", false, false, {
		OURS_OPENSENT,
		OPEN('o', HIGH_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "o+KA o+hold90 o+ka30"),
		NOTIF('o', 2, 4, IDLE, NONE, NONE, "o~ +ih"),
	} },
	{ "NOTIFICATION in Established", false, false, {
		ACTIVE_UP,
		NOTIF('o', 6, 4, IDLE, NONE, NONE, "o~ +ih"),
	} },
	{ "KEEPALIVE in OpenSent: 5/1", false, false, {
		OURS_OPENSENT,
		C(KEEPALIVE, 'o', IDLE, NONE, NONE, "o!5/1 +ih"),
	} },
	{ "UPDATE in OpenConfirm: 5/2", false, false, {
		OURS_OPENSENT,
		OPEN('o', HIGH_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "o+KA o+hold90 o+ka30"),
		S(UPDATE, 'o', 0, 1, IDLE, NONE, NONE, "o!5/2 +ih"),
	} },
	{ "OPEN in Established: 5/3", false, false, {
		ACTIVE_UP,
		OPEN('o', HIGH_ID, OPEN_OK, IDLE, NONE, NONE, "o!5/3 +ih"),
	} },
	{ "malformed UPDATE: 3/1; bad header: 1/2", false, false, {
		ACTIVE_UP,
		S(UPDATE, 'o', 0, 1, ESTABLISHED, ST(ESTABLISHED), NONE, "o+hold90"),
		S(UPDATE, 'o', 0, 0, IDLE, NONE, NONE, "o+hold90 o!3/1 +ih"),
		P(IDLE_HOLD, CONNECT, ST(CONNECT), NONE, "+cr connect"),
		C(CONNECTED, 'o', OPENSENT, ST(OPENSENT), NONE, "o+OPEN o+hold240"),
		C(HEADER_ERR, 'o', IDLE, NONE, NONE, "o!1/2 +ih"),
	} },
	{ "max-prefixes: 6/1 on the UPDATE over it, and when lowered", false, false, {
		SET(MAX_PREFIXES, 2),
		ACTIVE_UP,
		S(UPDATE, 'o', 0, 2, ESTABLISHED, ST(ESTABLISHED), NONE, "o+hold90"),
		SET(MAX_PREFIXES, 1),
		C(MAX_PREFIXES, 'o', IDLE, NONE, NONE, "o!6/1 +ih"),
		P(IDLE_HOLD, CONNECT, ST(CONNECT), NONE, "+cr connect"),
		C(CONNECTED, 'o', OPENSENT, ST(OPENSENT), NONE, "o+OPEN o+hold240"),
		OPEN('o', HIGH_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "o+KA o+hold90 o+ka30"),
		C(KEEPALIVE, 'o', ESTABLISHED, ST(ESTABLISHED), NONE,
		    "o+hold90 o+UPD o+UPD"),
		S(UPDATE, 'o', 0, 3, IDLE, NONE, NONE, "o+hold90 o!6/1 +ih"),
	} },
	{ "ROUTE-REFRESH in Established: nothing held, nothing sent", false, false, {
		ACTIVE_UP,
		C(RR, 'o', ESTABLISHED, ST(ESTABLISHED), NONE, ""),
	} },
	{ "connect retry: a slow attempt is replaced, a refused one waits", false, false, {
		P(START, CONNECT, ST(CONNECT), NONE, "+cr connect"),
		P(CONNECT_RETRY, CONNECT, ST(CONNECT), NONE, "o~ +cr connect"),
		C(TCP_FAILS, 'o', ACTIVE, NONE, NONE, "o~"),
		SET(CONNECT_RC, -1),
		P(CONNECT_RETRY, ACTIVE, NONE, NONE, "+cr connect"),
		SET(CONNECT_RC, 0),
		P(CONNECT_RETRY, ACTIVE, NONE, NONE, "+cr connect"),
		SET(CONNECT_RC, 1),
		P(CONNECT_RETRY, CONNECT, ST(CONNECT), NONE, "+cr connect"),
	} },
	{ "collision: the peer's identifier is higher, ours closes", false, false, {
		BOTH_OPENSENT,
		OPEN('i', HIGH_ID, OPEN_OK, OPENCONFIRM, NONE, ST(OPENCONFIRM),
		    "o!6/7 i+KA i+hold90 i+ka30"),
		C(KEEPALIVE, 'i', ESTABLISHED, NONE, ST(ESTABLISHED),
		    "i+hold90 i+UPD i+UPD"),
	} },
	{ "collision: our identifier is higher, theirs closes", false, false, {
		BOTH_OPENSENT,
		OPEN('i', LOW_ID, OPEN_OK, OPENSENT, ST(OPENSENT), NONE, "i!6/7"),
		OPEN('o', LOW_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "o+KA o+hold90 o+ka30"),
	} },
	/*
	 * RFC 4271 6.8, the rest of the matrix: whichever connection's OPEN
	 * comes first, whether the other one is in OpenSent or OpenConfirm,
	 * the connection opened by the higher identifier stays.
	 */
	{ "collision: ours in OpenConfirm, the peer's higher: ours closes", false, false, {
		OURS_OPENSENT,
		OPEN('o', HIGH_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "o+KA o+hold90 o+ka30"),
		C(ACCEPT, 'i', OPENCONFIRM, ST(OPENCONFIRM), ST(OPENSENT),
		    "i+OPEN i+hold240"),
		OPEN('i', HIGH_ID, OPEN_OK, OPENCONFIRM, NONE, ST(OPENCONFIRM),
		    "o!6/7 i+KA i+hold90 i+ka30"),
		C(KEEPALIVE, 'i', ESTABLISHED, NONE, ST(ESTABLISHED),
		    "i+hold90 i+UPD i+UPD"),
	} },
	/* The large start of issue 15: our connection is in OpenConfirm when
	 * the router's (queued while we loaded) is accepted; ours stays and
	 * nothing else is closed once it is Established. */
	{ "collision: ours in OpenConfirm, our identifier higher: theirs closes", false, false, {
		OURS_OPENSENT,
		OPEN('o', LOW_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "o+KA o+hold90 o+ka30"),
		C(ACCEPT, 'i', OPENCONFIRM, ST(OPENCONFIRM), ST(OPENSENT),
		    "i+OPEN i+hold240"),
		OPEN('i', LOW_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "i!6/7"),
		C(KEEPALIVE, 'o', ESTABLISHED, ST(ESTABLISHED), NONE,
		    "o+hold90 o+UPD o+UPD"),
	} },
	{ "collision: ours gets the OPEN first, the peer's higher: ours closes", false, false, {
		BOTH_OPENSENT,
		OPEN('o', HIGH_ID, OPEN_OK, OPENSENT, NONE, ST(OPENSENT), "o!6/7"),
		OPEN('i', HIGH_ID, OPEN_OK, OPENCONFIRM, NONE, ST(OPENCONFIRM),
		    "i+KA i+hold90 i+ka30"),
		C(KEEPALIVE, 'i', ESTABLISHED, NONE, ST(ESTABLISHED),
		    "i+hold90 i+UPD i+UPD"),
	} },
	{ "collision: ours gets the OPEN first, our identifier higher: theirs closes", false, false, {
		BOTH_OPENSENT,
		OPEN('o', LOW_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "i!6/7 o+KA o+hold90 o+ka30"),
		C(KEEPALIVE, 'o', ESTABLISHED, ST(ESTABLISHED), NONE,
		    "o+hold90 o+UPD o+UPD"),
	} },
	/* Theirs reached OpenConfirm while ours was still connecting (dropped);
	 * the connect-retry timer opens ours again. */
	{ "collision: theirs in OpenConfirm, the peer's higher: ours closes", false, false, {
		P(START, CONNECT, ST(CONNECT), NONE, "+cr connect"),
		C(ACCEPT, 'i', OPENSENT, ST(CONNECT), ST(OPENSENT),
		    "i+OPEN i+hold240"),
		OPEN('i', HIGH_ID, OPEN_OK, OPENCONFIRM, NONE, ST(OPENCONFIRM),
		    "o~ i+KA i+hold90 i+ka30"),
		P(CONNECT_RETRY, OPENCONFIRM, ST(CONNECT), ST(OPENCONFIRM),
		    "+cr connect"),
		C(CONNECTED, 'o', OPENCONFIRM, ST(OPENSENT), ST(OPENCONFIRM),
		    "o+OPEN o+hold240"),
		OPEN('o', HIGH_ID, OPEN_OK, OPENCONFIRM, NONE, ST(OPENCONFIRM),
		    "o!6/7"),
		C(KEEPALIVE, 'i', ESTABLISHED, NONE, ST(ESTABLISHED),
		    "i+hold90 i+UPD i+UPD"),
	} },
	{ "collision: theirs in OpenConfirm, our identifier higher: theirs closes", false, false, {
		P(START, CONNECT, ST(CONNECT), NONE, "+cr connect"),
		C(ACCEPT, 'i', OPENSENT, ST(CONNECT), ST(OPENSENT),
		    "i+OPEN i+hold240"),
		OPEN('i', LOW_ID, OPEN_OK, OPENCONFIRM, NONE, ST(OPENCONFIRM),
		    "o~ i+KA i+hold90 i+ka30"),
		P(CONNECT_RETRY, OPENCONFIRM, ST(CONNECT), ST(OPENCONFIRM),
		    "+cr connect"),
		C(CONNECTED, 'o', OPENCONFIRM, ST(OPENSENT), ST(OPENCONFIRM),
		    "o+OPEN o+hold240"),
		OPEN('o', LOW_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "i!6/7 o+KA o+hold90 o+ka30"),
		C(KEEPALIVE, 'o', ESTABLISHED, ST(ESTABLISHED), NONE,
		    "o+hold90 o+UPD o+UPD"),
	} },
	{ "collision: an attempt still connecting is dropped", false, false, {
		P(START, CONNECT, ST(CONNECT), NONE, "+cr connect"),
		C(ACCEPT, 'i', OPENSENT, ST(CONNECT), ST(OPENSENT),
		    "i+OPEN i+hold240"),
		OPEN('i', HIGH_ID, OPEN_OK, OPENCONFIRM, NONE, ST(OPENCONFIRM),
		    "o~ i+KA i+hold90 i+ka30"),
	} },
	{ "collision: an Established session wins, the other gets 6/7", false, false, {
		ACTIVE_UP,
		C(ACCEPT, 'i', ESTABLISHED, ST(ESTABLISHED), ST(OPENSENT),
		    "i+OPEN i+hold240"),
		OPEN('i', HIGH_ID, OPEN_OK, ESTABLISHED, ST(ESTABLISHED), NONE,
		    "i!6/7"),
	} },
	{ "OpenConfirm: the first KEEPALIVE closes the other connection", false, false, {
		OURS_OPENSENT,
		OPEN('o', HIGH_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE,
		    "o+KA o+hold90 o+ka30"),
		C(ACCEPT, 'i', OPENCONFIRM, ST(OPENCONFIRM), ST(OPENSENT),
		    "i+OPEN i+hold240"),
		C(KEEPALIVE, 'o', ESTABLISHED, ST(ESTABLISHED), NONE,
		    "o+hold90 i!6/7 o+UPD o+UPD"),
		OPEN('o', HIGH_ID, OPEN_OK, IDLE, NONE, NONE, "o!5/3 +ih"),
	} },
	{ "BFD down: Cease 6/10, wait in Active; BFD up connects", false, false, {
		ACTIVE_UP,
		SET(BFD_STATE, 0),
		P(BFD_DOWN, ACTIVE, NONE, NONE, "o!6/10"),
		P(START, ACTIVE, NONE, NONE, ""),
		P(CONNECT_RETRY, ACTIVE, NONE, NONE, ""),
		SET(BFD_STATE, 1),
		P(BFD_UP, CONNECT, ST(CONNECT), NONE, "+cr connect"),
		P(BFD_UP, CONNECT, ST(CONNECT), NONE, ""),
	} },
	{ "manual stop: Cease to both connections; with restart, at once", false, false, {
		BOTH_OPENSENT,
		P(STOP, IDLE, NONE, NONE, "o!6/2 i!6/2"),
		P(START, CONNECT, ST(CONNECT), NONE, "+cr connect"),
		P(STOP_RESTART, IDLE, NONE, NONE, "o! +ih"),
		P(IDLE_HOLD, CONNECT, ST(CONNECT), NONE, "+cr connect"),
	} },
};

static void
post(const struct step *st)
{
	struct bgp_conn *c = st->on == 'o' ? peer.out : st->on == 'i' ?
	    peer.in : NULL;
	struct bgp_fsm_in in;
	struct bgp_error err;
	uint8_t msg[4096];
	size_t n;

	memset(&in, 0, sizeof(in));
	memset(&err, 0, sizeof(err));
	if (st->on == 'i' && st->op == OP_ACCEPT) {
		c = fake_conn(&peer, false);
		bgp_fsm(&peer, c, BGP_EV_TCP_CONFIRMED, NULL);
		return;
	}
	if (st->on != 0)
		ck_assert_msg(c != NULL, "no '%c' connection", st->on);
	switch (st->op) {
	case OP_START:
		bgp_peer_start(&peer);
		break;
	case OP_STOP:
	case OP_STOP_RESTART:
		bgp_peer_stop(&peer, BGP_ERR_CEASE_ADMIN_SHUTDOWN, NULL,
		    st->op == OP_STOP_RESTART);
		break;
	case OP_CONNECT_RETRY:
		bgp_fsm(&peer, NULL, BGP_EV_CONNECT_RETRY_EXPIRES, NULL);
		break;
	case OP_IDLE_HOLD:
		bgp_fsm(&peer, NULL, BGP_EV_IDLE_HOLD_EXPIRES, NULL);
		break;
	case OP_BFD_UP:
	case OP_BFD_DOWN:
		in.why = "detection time expired";
		bgp_fsm(&peer, NULL, st->op == OP_BFD_UP ? BGP_EV_BFD_UP :
		    BGP_EV_BFD_DOWN, &in);
		break;
	case OP_CONNECTED:
		bgp_fsm(&peer, c, BGP_EV_TCP_CONNECTED, NULL);
		break;
	case OP_TCP_FAILS:
		in.why = "connection closed by peer";
		bgp_fsm(&peer, c, BGP_EV_TCP_FAILS, &in);
		break;
	case OP_HOLD:
		bgp_fsm(&peer, c, BGP_EV_HOLD_EXPIRES, NULL);
		break;
	case OP_KA_TIMER:
		bgp_fsm(&peer, c, BGP_EV_KEEPALIVE_EXPIRES, NULL);
		break;
	case OP_HEADER_ERR:
		err.code = BGP_ERR_HEADER;
		err.subcode = BGP_ERR_HEADER_BAD_LENGTH;
		in.err = &err;
		bgp_fsm(&peer, c, BGP_EV_HEADER_ERR, &in);
		break;
	case OP_OPEN:
		n = open_msg(msg, sizeof(msg), st->a, (enum open_kind)st->b);
		bgp_fsm_msg(c, BGP_MSG_OPEN, msg, n);
		break;
	case OP_KEEPALIVE:
		n = frame(BGP_MSG_KEEPALIVE, NULL, 0, msg, sizeof(msg));
		bgp_fsm_msg(c, BGP_MSG_KEEPALIVE, msg, n);
		break;
	case OP_UPDATE:
		n = update_msg(msg, sizeof(msg), st->b);
		bgp_fsm_msg(c, BGP_MSG_UPDATE, msg, n);
		break;
	case OP_NOTIF: {
		uint8_t pl[2] = { (uint8_t)st->a, (uint8_t)st->b };

		n = frame(BGP_MSG_NOTIFICATION, pl, 2, msg, sizeof(msg));
		ck_assert_int_eq(bgp_fsm_msg(c, BGP_MSG_NOTIFICATION, msg, n), -1);
		break;
	}
	case OP_RR: {
		uint8_t pl[4] = { 0, 1, 0, 1 };		/* IPv4 unicast */

		n = frame(BGP_MSG_ROUTE_REFRESH, pl, 4, msg, sizeof(msg));
		bgp_fsm_msg(c, BGP_MSG_ROUTE_REFRESH, msg, n);
		break;
	}
	case OP_MAX_PREFIXES:
		if (st->on != 0) {
			bgp_fsm(&peer, c, BGP_EV_PREFIX_LIMIT, NULL);
			break;
		}
		peer.max_prefixes = st->a;
		break;
	case OP_CLOCK:
		clock_now += st->a;
		break;
	case OP_CONNECT_RC:
		connect_rc = (int)st->a;
		break;
	case OP_BFD_STATE:
		bfd_is_up = st->a != 0;
		break;
	case OP_ACCEPT:
	case OP_END:
		break;
	}
}

static int
conn_state(const struct bgp_conn *c)
{
	return c != NULL ? (int)c->state : NONE;
}

START_TEST(test_fsm_scripts)
{
	const struct script *sc = &scripts[_i];

	setup(sc->passive, sc->ibgp);
	for (size_t i = 0; sc->steps[i].op != OP_END; i++) {
		const struct step *st = &sc->steps[i];

		acts[0] = '\0';
		post(st);
		if (st->peer != ANY)
			ck_assert_msg((int)peer.state == st->peer,
			    "%s step %zu: peer %s, want %s", sc->name, i,
			    bgp_state_name(peer.state),
			    bgp_state_name((enum bgp_state)st->peer));
		if (st->out != ANY)
			ck_assert_msg(conn_state(peer.out) == st->out,
			    "%s step %zu: out %d, want %d", sc->name, i,
			    conn_state(peer.out), st->out);
		if (st->in != ANY)
			ck_assert_msg(conn_state(peer.in) == st->in,
			    "%s step %zu: in %d, want %d", sc->name, i,
			    conn_state(peer.in), st->in);
		if (st->acts != NULL)
			ck_assert_msg(strcmp(acts, st->acts) == 0,
			    "%s step %zu: did \"%s\", want \"%s\"", sc->name, i,
			    acts, st->acts);
	}
	teardown();
}
END_TEST

/* Idle hold: 1 s, doubling on each failure up to 2 min; an Established
 * session that lasted a minute starts again from 1 s.  The connect-retry
 * time doubles per attempt and is back to the configured one once up. */
static void
want_ih(uint32_t base)
{
	ck_assert(armed_ih);
	ck_assert_msg(ih_ms >= base - base / 8 && ih_ms <= base + base / 8,
	    "idle hold %u ms, want %u +-12.5%%", ih_ms, base);
}

static void
up(void)
{
	const struct step s[] = { ACTIVE_UP, { OP_END, 0, 0, 0, 0, 0, 0, NULL } };

	for (size_t i = 0; s[i].op != OP_END; i++)
		post(&s[i]);
	ck_assert_int_eq(peer.state, BGP_ST_ESTABLISHED);
}

START_TEST(test_backoff)
{
	const struct step notif = NOTIF('o', 6, 4, IDLE, NONE, NONE, NULL);
	const struct step start = P(IDLE_HOLD, CONNECT, 0, NONE, NULL);
	const struct step connected = C(CONNECTED, 'o', OPENSENT, 0, NONE, NULL);

	setup(false, false);
	post(&start);
	ck_assert_uint_eq(peer.connect_retry_cur_ms, 10000);
	post(&connected);
	post(&notif);
	want_ih(1000);
	ck_assert_uint_eq(peer.idle_hold_cur_ms, 2000);
	for (uint32_t want = 2000; want < 120000; want *= 2) {
		post(&start);
		post(&connected);
		post(&notif);
		want_ih(want);
	}
	ck_assert_uint_eq(peer.idle_hold_cur_ms, 120000);
	post(&start);
	post(&connected);
	post(&notif);
	want_ih(120000);
	ck_assert_uint_eq(peer.connect_retry_cur_ms, 120000);

	/* A flap after a short Established period keeps doubling (capped). */
	peer.idle_hold_cur_ms = 4000;
	up();
	ck_assert_uint_eq(peer.connect_retry_cur_ms, 5000);
	ck_assert(!armed_cr);
	post(&notif);
	want_ih(8000);
	ck_assert_uint_eq(peer.idle_hold_cur_ms, 8000);
	ck_assert_uint_eq(peer.flaps, 1);
	/* One that lasted a minute starts over. */
	up();
	clock_now += 60;
	post(&notif);
	want_ih(1000);
	ck_assert_uint_eq(peer.idle_hold_cur_ms, 1000);
	ck_assert_uint_eq(peer.flaps, 2);
	ck_assert_uint_eq(peer.established_total, 2);
	teardown();
}
END_TEST

/* What the status endpoint shows: the last error in words, the history. */
START_TEST(test_status)
{
	const struct step steps[] = {
		P(START, CONNECT, ST(CONNECT), NONE, NULL),
		C(CONNECTED, 'o', OPENSENT, ST(OPENSENT), NONE, NULL),
		OPEN('o', HIGH_ID, OPEN_BAD_AS, IDLE, NONE, NONE, NULL),
	};

	setup(false, false);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		post(&steps[i]);
	ck_assert_str_eq(peer.last_error, "sent NOTIFICATION: OPEN Message "
	    "Error / Bad Peer AS (peer says AS 64999, configured 64500)");
	ck_assert_uint_eq(peer.nhistory, 4);
	ck_assert_int_eq(peer.history[0].from, BGP_ST_IDLE);
	ck_assert_int_eq(peer.history[0].to, BGP_ST_ACTIVE);
	ck_assert_str_eq(peer.history[2].why, "connected");
	ck_assert_int_eq(peer.history[3].to, BGP_ST_IDLE);
	ck_assert_str_eq(peer.history[3].why, "peer AS mismatch");
	ck_assert_uint_eq(peer.sent.msgs[BGP_MSG_OPEN], 1);
	ck_assert_uint_eq(peer.sent.msgs[BGP_MSG_NOTIFICATION], 1);
	ck_assert_uint_eq(peer.rcvd.msgs[BGP_MSG_OPEN], 1);
	up();
	ck_assert_str_eq(peer.last_error, "");
	teardown();
}
END_TEST

/*
 * Issue 15: `messages` adds up every connection of the process;
 * `session_messages` counts the session's connection from its OPEN on, so
 * a collision's loser and an earlier session are not in it, and it stays
 * after the session ends until the next one is Established.
 */
START_TEST(test_counters_per_session)
{
	const struct step steps[] = {
		P(START, CONNECT, ST(CONNECT), NONE, NULL),
		C(CONNECTED, 'o', OPENSENT, ST(OPENSENT), NONE, NULL),
		C(ACCEPT, 'i', OPENSENT, ST(OPENSENT), ST(OPENSENT), NULL),
		OPEN('i', LOW_ID, OPEN_OK, OPENSENT, ST(OPENSENT), NONE, NULL),
		OPEN('o', LOW_ID, OPEN_OK, OPENCONFIRM, ST(OPENCONFIRM), NONE, NULL),
		C(KEEPALIVE, 'o', ESTABLISHED, ST(ESTABLISHED), NONE, NULL),
		NOTIF('o', 6, 4, IDLE, NONE, NONE, NULL),
	};

	setup(false, false);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		post(&steps[i]);
	/* Both connections: 2 OPENs, the loser's 6/7, the winner's KEEPALIVE
	 * and 2 End-of-RIBs; the session: its OPEN, KEEPALIVE, End-of-RIBs. */
	ck_assert_uint_eq(peer.sent.msgs[BGP_MSG_OPEN], 2);
	ck_assert_uint_eq(peer.sent.msgs[BGP_MSG_NOTIFICATION], 1);
	ck_assert_uint_eq(peer.sent.msgs[BGP_MSG_UPDATE], 2);
	ck_assert_uint_eq(peer.rcvd.msgs[BGP_MSG_OPEN], 2);
	ck_assert_uint_eq(peer.sess_sent.msgs[BGP_MSG_OPEN], 1);
	ck_assert_uint_eq(peer.sess_sent.msgs[BGP_MSG_NOTIFICATION], 0);
	ck_assert_uint_eq(peer.sess_sent.msgs[BGP_MSG_KEEPALIVE], 1);
	ck_assert_uint_eq(peer.sess_sent.msgs[BGP_MSG_UPDATE], 2);
	ck_assert_uint_eq(peer.sess_sent.msgs[0], 4);
	ck_assert_uint_eq(peer.sess_rcvd.msgs[BGP_MSG_OPEN], 1);
	ck_assert_uint_eq(peer.sess_rcvd.msgs[BGP_MSG_KEEPALIVE], 1);
	ck_assert_uint_eq(peer.sess_rcvd.msgs[BGP_MSG_NOTIFICATION], 1);
	/* The next session starts from its own OPEN. */
	clock_now += 10;
	up();
	ck_assert_uint_eq(peer.sent.msgs[BGP_MSG_UPDATE], 4);
	ck_assert_uint_eq(peer.sess_sent.msgs[BGP_MSG_UPDATE], 2);
	ck_assert_uint_eq(peer.sess_sent.msgs[BGP_MSG_OPEN], 1);
	ck_assert_uint_eq(peer.sess_rcvd.msgs[BGP_MSG_NOTIFICATION], 0);
	teardown();
}
END_TEST

/* The graceful restart R bit: on the first session of a restarted process
 * only. */
static bool
sent_restart_bit(void)
{
	struct bgp_open o;
	struct bgp_error err;

	ck_assert_uint_gt(last_open_len, BGP_HEADER_LEN);
	ck_assert_int_eq(bgp_open_decode(last_open + BGP_HEADER_LEN,
	    last_open_len - BGP_HEADER_LEN, &o, &err), 0);
	ck_assert(o.caps.gr.present);
	ck_assert_uint_eq(o.bgp_id, OUR_ID);
	return (o.caps.gr.flags & BGP_GR_FLAG_RESTART) != 0;
}

START_TEST(test_restart_bit)
{
	const struct step notif = NOTIF('o', 6, 4, IDLE, NONE, NONE, NULL);

	setup(false, false);
	peer.graceful_restart = true;
	sp.restarted = true;
	up();
	ck_assert(sent_restart_bit());
	post(&notif);
	up();
	ck_assert(!sent_restart_bit());
	teardown();
}
END_TEST

static Suite *
fsm_suite(void)
{
	Suite *s = suite_create("bgp_fsm");
	TCase *tc = tcase_create("fsm");

	tcase_add_loop_test(tc, test_fsm_scripts, 0,
	    sizeof(scripts) / sizeof(scripts[0]));
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_counters_per_session);
	tcase_add_test(tc, test_restart_bit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fsm_suite());
	int failed;

	log_init(LOG_LVL_WARN, LOG_FMT_TEXT);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * bgp_fsm.c - the BGP finite state machine (RFC 4271 section 8).
 *
 * One entry point, bgp_fsm(peer, conn, event, in), written as
 * switch (state) { switch (event) }.  Each peer has up to two TCP
 * connections (ours and the one the peer opens); each runs the connection
 * part of the FSM (Connect, OpenSent, OpenConfirm, Established) and the
 * RFC 4271 6.8 collision rule keeps one of them.  The peer's own state is
 * Idle (idle-hold damping after an error, or stopped), Active (waiting for
 * the connect-retry timer or for the peer to connect), or the most advanced
 * of its connections.
 *
 * Every change of state goes through change_state(), which logs
 * "old -> new (why)" and holds the side effects of leaving and entering a
 * state (timers, counters, RIB reset and initial dump, status).  What is
 * particular to one event (the NOTIFICATION to send, the hold-down before
 * the next attempt) stays in that event's branch.
 *
 * Nothing here touches a socket, a libevent timer or the clock: all of that
 * goes through the speaker's struct bgp_io (bgp_session.c in the daemon, a
 * script in tests/test_bgp_fsm.c).  Errors a peer causes end in conn_fail():
 * log with the peer's name, remember the error (in words) for the status
 * endpoint, send the NOTIFICATION and close.  Nothing a peer sends reaches
 * fatalx().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/log.h"
#include "bgp.h"

#define OPENSENT_HOLD_S		240	/* RFC 4271 8.2.2: a large value */
#define IDLE_HOLD_MAX_MS	120000
#define CONNECT_RETRY_MAX_MS	120000
#define STABLE_S		60	/* an Established period this long resets damping */

static const char *const state_names[] = {
	"Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established",
};

const char *
bgp_state_name(enum bgp_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ?
	    state_names[s] : "?";
}

#define IO(p)	((p)->sp->io)

/* +-12.5% so that two speakers that failed together don't retry together. */
static uint32_t
jitter(uint32_t ms)
{
	uint32_t span = ms / 4;

	if (span == 0)
		return ms;
	return ms - span / 2 + (uint32_t)(random() % (span + 1));
}

static uint32_t
doubled(uint32_t ms, uint32_t max)
{
	if (ms >= max)
		return ms;
	return ms * 2 > max ? max : ms * 2;
}

/* ---- state -------------------------------------------------------------- */

static void
record(struct bgp_peer *p, enum bgp_state from, enum bgp_state to,
    const char *why, time_t now)
{
	struct bgp_state_change *h;

	if (p->nhistory == BGP_HISTORY) {
		memmove(p->history, p->history + 1,
		    sizeof(p->history[0]) * (BGP_HISTORY - 1));
		p->nhistory--;
	}
	h = &p->history[p->nhistory++];
	h->when = now;
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

void
bgp_fsm_peer_init(struct bgp_peer *p)
{
	p->state = BGP_ST_IDLE;
	p->state_since = IO(p)->now();
	p->idle_hold_cur_ms = BGP_IDLE_HOLD_BASE_MS;
	p->connect_retry_cur_ms = p->connect_time_ms;
	reset_negotiated(p);
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

/*
 * Message counters.  Each connection counts what it received and what went
 * out whole to its socket (the I/O says when: output a close throws away
 * was never on the wire).  The peer adds up every connection of this
 * process (`messages` in /v1/peers, the metrics), and keeps the counts of
 * its session's connection from its OPEN on (`session_messages`: the last
 * session's until the next one is Established).
 */
static void
count_type(struct bgp_counters *ctr, uint8_t type)
{
	ctr->msgs[0]++;
	if (type >= 1 && type < BGP_MSG_TYPES)
		ctr->msgs[type]++;
}

void
bgp_conn_sent(struct bgp_conn *c, uint8_t type)
{
	struct bgp_peer *p = c->peer;

	count_type(&c->sent, type);
	if (p == NULL)
		return;
	count_type(&p->sent, type);
	if (p->conn == c)
		count_type(&p->sess_sent, type);
}

static void
conn_received(struct bgp_conn *c, uint8_t type)
{
	struct bgp_peer *p = c->peer;

	count_type(&c->rcvd, type);
	count_type(&p->rcvd, type);
	if (p->conn == c)
		count_type(&p->sess_rcvd, type);
}

static int
conn_send(struct bgp_conn *c, const uint8_t *msg, size_t len)
{
	return IO(c->peer)->send(c, msg, len);
}

int
bgp_peer_emit(void *arg, const uint8_t *msg, size_t len)
{
	struct bgp_peer *p = arg;

	if (p->conn == NULL)
		return -1;
	return conn_send(p->conn, msg, len);
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
restart_hold(struct bgp_conn *c, uint16_t secs)
{
	if (secs == 0)
		IO(c->peer)->timer_stop(c->peer, c, BGP_TIMER_HOLD);
	else
		IO(c->peer)->timer_start(c->peer, c, BGP_TIMER_HOLD,
		    (uint32_t)secs * 1000);
}

static void
log_session_up(struct bgp_peer *p)
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
	    p->name, p->conn->hold_time, fams);
}

/* The peer state follows its most advanced connection. */
static enum bgp_state
peer_target(const struct bgp_peer *p)
{
	enum bgp_state s = BGP_ST_ACTIVE;

	if (p->out && p->out->state > s)
		s = p->out->state;
	if (p->in && p->in->state > s)
		s = p->in->state;
	if (p->out && p->out->state == BGP_ST_CONNECT && s == BGP_ST_ACTIVE)
		s = BGP_ST_CONNECT;
	return s;
}

/*
 * Move c (when not NULL) to `to`, then the peer to its new state: `to` for
 * a peer-level change, the most advanced of its connections otherwise.
 * The side effects of each state live here and nowhere else.
 */
static void
change_state(struct bgp_peer *p, struct bgp_conn *c, enum bgp_state to,
    const char *why)
{
	enum bgp_state from = p->state;
	time_t now;

	if (c != NULL) {
		c->state = to;
		switch (to) {
		case BGP_ST_OPENSENT:
			restart_hold(c, OPENSENT_HOLD_S);
			break;
		case BGP_ST_OPENCONFIRM:
			send_keepalive(c);
			restart_hold(c, c->hold_time);
			if (c->keepalive_time)
				IO(p)->timer_start(p, c, BGP_TIMER_KEEPALIVE,
				    (uint32_t)c->keepalive_time * 1000);
			break;
		case BGP_ST_ESTABLISHED:
			p->conn = c;
			p->sess_sent = c->sent;
			p->sess_rcvd = c->rcvd;
			negotiate(p, c);
			break;
		default:
			break;
		}
		to = peer_target(p);
	}
	if (from == to)
		return;
	now = IO(p)->now();
	log_info("bgp", "peer %s: %s -> %s%s%s%s", p->name, bgp_state_name(from),
	    bgp_state_name(to), why ? " (" : "", why ? why : "", why ? ")" : "");
	record(p, from, to, why, now);
	p->state = to;
	p->state_since = now;

	if (from == BGP_ST_ESTABLISHED) {
		/* Flap damping: a session that did not stay up long doubles the
		 * time we wait before the next attempt. */
		if (now - p->established_at >= STABLE_S)
			p->idle_hold_cur_ms = BGP_IDLE_HOLD_BASE_MS;
		else
			p->idle_hold_cur_ms = doubled(p->idle_hold_cur_ms,
			    IDLE_HOLD_MAX_MS);
		p->flaps++;
		p->last_flap = now;
		p->conn = NULL;
		bgp_out_reset(p);
		bgp_in_clear(p);
		reset_negotiated(p);
	}
	if (to == BGP_ST_ESTABLISHED) {
		p->established_at = now;
		p->established_total++;
		p->connect_retry_cur_ms = p->connect_time_ms;
		IO(p)->timer_stop(p, NULL, BGP_TIMER_CONNECT_RETRY);
		p->last_error[0] = '\0';
		log_session_up(p);
		/* Our KEEPALIVE first: the router is Established (and stops
		 * connecting to us) before we spend time building the dump. */
		IO(p)->flush(p->conn);
		bgp_out_dump(p);
	}
}

static void
peer_update_state(struct bgp_peer *p, const char *why)
{
	change_state(p, NULL, peer_target(p), why);
}

/* ---- closing ------------------------------------------------------------- */

void
bgp_conn_detach(struct bgp_conn *c)
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

/* Close c; a NOTIFICATION goes out only once an OPEN went out on it. */
static void
conn_close(struct bgp_conn *c, const struct bgp_wbuf *notif, bool drain)
{
	struct bgp_peer *p = c->peer;
	bool session = p->conn == c;

	if (c->state < BGP_ST_OPENSENT)
		notif = NULL;
	if (IO(p)->close(c, notif, drain) && notif != NULL) {
		count_type(&p->sent, BGP_MSG_NOTIFICATION);
		if (session)
			count_type(&p->sess_sent, BGP_MSG_NOTIFICATION);
	}
}

/* Drop a connection without a word (a failed or superseded attempt). */
static void
conn_drop(struct bgp_conn *c)
{
	IO(c->peer)->close(c, NULL, false);
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
 * session fails before it became stable (change_state does it for a flap
 * of an Established session).
 */
static void
peer_conn_gone(struct bgp_peer *p, const char *why)
{
	enum bgp_state was = p->state;

	if (p->deleting)
		return;
	if (p->out != NULL || p->in != NULL) {
		peer_update_state(p, why);
		return;
	}
	change_state(p, NULL, BGP_ST_IDLE, why);
	IO(p)->timer_start(p, NULL, BGP_TIMER_IDLE_HOLD,
	    jitter(p->idle_hold_cur_ms));
	if (was != BGP_ST_ESTABLISHED)
		p->idle_hold_cur_ms = doubled(p->idle_hold_cur_ms,
		    IDLE_HOLD_MAX_MS);
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
	conn_close(c, err ? &wb : NULL, true);
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

static void
cease(struct bgp_conn *c, uint8_t subcode, const char *why)
{
	struct bgp_wbuf wb;

	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	bgp_notification_build(BGP_ERR_CEASE, subcode, NULL, 0, &wb);
	log_info("bgp", "peer %s: closing %s connection: %s",
	    c->peer ? c->peer->name : "?", c->outgoing ? "outgoing" : "incoming",
	    why);
	conn_close(c, &wb, true);
	bgp_wbuf_free(&wb);
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

/* ---- OPEN ---------------------------------------------------------------- */

/* Our BGP identifier on c: the peer's router-id, the global one, or the
 * connection's own IPv4 address; 0 when there is none. */
static uint32_t
local_id(const struct bgp_peer *p, const struct bgp_conn *c)
{
	if (p->router_id.af == ADDR_AF_INET)
		return (uint32_t)p->router_id.v;
	if (p->sp->router_id.af == ADDR_AF_INET)
		return (uint32_t)p->sp->router_id.v;
	return c->local.af == ADDR_AF_INET ? (uint32_t)c->local.v : 0;
}

/* Send our OPEN and enter OpenSent.  Returns -1 when c had to be closed. */
static int
send_open(struct bgp_conn *c, const char *why)
{
	struct bgp_peer *p = c->peer;
	struct bgp_open o;
	struct bgp_wbuf wb;
	uint32_t id = local_id(p, c);

	if (id == 0) {
		conn_fail(c, NULL, "no BGP identifier: set router-id (no IPv4 "
		    "address on this node)");
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.version = BGP_VERSION;
	o.my_as = p->my_asn > 0xffff ? BGP_AS_TRANS : (uint16_t)p->my_asn;
	o.hold_time = (uint16_t)(p->hold_time_ms / 1000);
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
	if (bgp_open_encode(&o, &wb) == 0)
		conn_send(c, wb.p, wb.len);
	bgp_wbuf_free(&wb);
	change_state(p, c, BGP_ST_OPENSENT, why);
	return 0;
}

/* RFC 4271 6.8: of two connections, keep the one opened by the speaker
 * with the higher BGP identifier.  Returns the connection to close. */
static struct bgp_conn *
collision_loser(struct bgp_peer *p, uint32_t lid, uint32_t remote_id)
{
	return lid < remote_id ? p->out : p->in;
}

/* OpenSent, BGPOpen: check it (BGPOpenMsgErr), resolve a collision,
 * agree on the timers, go OpenConfirm. */
static void
recv_open(struct bgp_conn *c, const uint8_t *payload, size_t len)
{
	struct bgp_peer *p = c->peer;
	struct bgp_error err;
	struct bgp_conn *other;
	uint32_t as;
	uint16_t hold, ka;

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
		conn_drop(other);
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
	change_state(p, c, BGP_ST_OPENCONFIRM, "OPEN received");
}

/* ---- the peer ------------------------------------------------------------ */

static void
arm_connect_retry(struct bgp_peer *p)
{
	IO(p)->timer_start(p, NULL, BGP_TIMER_CONNECT_RETRY,
	    jitter(p->connect_retry_cur_ms));
	p->connect_retry_cur_ms = doubled(p->connect_retry_cur_ms,
	    CONNECT_RETRY_MAX_MS);
}

static void
peer_connect(struct bgp_peer *p)
{
	char a[ADDR_STRLEN];

	if (p->passive || p->out != NULL || p->conn != NULL)
		return;
	/* With BFD the session waits for the path to be proven up. */
	if (!IO(p)->bfd_up(p))
		return;
	arm_connect_retry(p);
	switch (IO(p)->connect(p)) {
	case 0:
		return;
	case -1:
		log_info("bgp", "peer %s: %s; retry in %.1fs", p->name,
		    p->last_error, p->connect_retry_cur_ms / 1000.0);
		peer_update_state(p, p->last_error);
		return;
	default:
		log_debug("bgp", "peer %s: connecting to %s port %u", p->name,
		    addr_ntop(&p->address, a, sizeof(a)), p->port);
		peer_update_state(p, "connecting");
	}
}

/* ManualStart, and the idle-hold timer's automatic start. */
static void
peer_start(struct bgp_peer *p)
{
	if (p->deleting || p->sp->shutting_down)
		return;
	IO(p)->bfd_start(p);
	IO(p)->timer_stop(p, NULL, BGP_TIMER_IDLE_HOLD);
	if (p->state == BGP_ST_IDLE)
		change_state(p, NULL, BGP_ST_ACTIVE, p->passive ?
		    "start (passive)" : "start");
	if (!p->passive)
		peer_connect(p);
}

/* ManualStop: a Cease (RFC 8203 message) on every connection, then Idle. */
static void
peer_stop(struct bgp_peer *p, uint8_t subcode, const char *msg, bool restart)
{
	struct bgp_wbuf wb;
	struct bgp_conn *cs[2] = { p->out, p->in };

	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	bgp_notification_build_shutdown(subcode, msg, &wb);
	for (int i = 0; i < 2; i++)
		if (cs[i] != NULL)
			conn_close(cs[i], &wb, true);
	bgp_wbuf_free(&wb);
	IO(p)->timer_stop(p, NULL, BGP_TIMER_CONNECT_RETRY);
	IO(p)->timer_stop(p, NULL, BGP_TIMER_IDLE_HOLD);
	change_state(p, NULL, BGP_ST_IDLE, msg ? msg : "stopped");
	if (restart) {
		p->idle_hold_cur_ms = BGP_IDLE_HOLD_BASE_MS;
		p->connect_retry_cur_ms = p->connect_time_ms;
		IO(p)->timer_start(p, NULL, BGP_TIMER_IDLE_HOLD, 0);
	}
}

/*
 * Peer events.  BFD Down tears the session down at once (Cease / BFD Down)
 * so the router withdraws our routes without waiting for the hold timer,
 * and waits in Active for BFD to come back; BFD Up connects now.
 */
static void
peer_fsm(struct bgp_peer *p, enum bgp_event ev, const struct bgp_fsm_in *in)
{
	const char *why = in != NULL ? in->why : NULL;
	char msg[128];

	switch (p->state) {
	case BGP_ST_IDLE:
	case BGP_ST_ACTIVE:
		if (ev == BGP_EV_BFD_UP) {
			log_info("bgp", "peer %s: BFD up", p->name);
			p->connect_retry_cur_ms = p->connect_time_ms;
			IO(p)->timer_stop(p, NULL, BGP_TIMER_IDLE_HOLD);
			peer_start(p);
			return;
		}
		break;
	default:
		break;
	}
	switch (ev) {
	case BGP_EV_START:
	case BGP_EV_IDLE_HOLD_EXPIRES:
		peer_start(p);
		break;
	case BGP_EV_STOP:
		peer_stop(p, in->subcode, in->why, in->restart);
		break;
	case BGP_EV_CONNECT_RETRY_EXPIRES:
		/* The attempt is taking too long: start a new one. */
		if (p->out != NULL && p->out->state == BGP_ST_CONNECT)
			conn_drop(p->out);
		peer_connect(p);
		break;
	case BGP_EV_BFD_UP:
		log_info("bgp", "peer %s: BFD up", p->name);
		p->connect_retry_cur_ms = p->connect_time_ms;
		break;
	case BGP_EV_BFD_DOWN:
		snprintf(msg, sizeof(msg), "BFD down: %s", why ? why : "");
		log_warn("bgp", "peer %s: %s", p->name, msg);
		if (p->state != BGP_ST_IDLE || p->out != NULL || p->in != NULL)
			peer_stop(p, BGP_ERR_CEASE_BFD_DOWN, NULL, false);
		snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
		/* Wait in Active for BFD to come back (BFD up restarts us). */
		change_state(p, NULL, BGP_ST_ACTIVE, msg);
		break;
	default:
		log_debug("bgp", "peer %s: event %d without a connection ignored",
		    p->name, (int)ev);
		break;
	}
}

void
bgp_peer_start(struct bgp_peer *p)
{
	bgp_fsm(p, NULL, BGP_EV_START, NULL);
}

void
bgp_peer_stop(struct bgp_peer *p, uint8_t subcode, const char *msg, bool restart)
{
	struct bgp_fsm_in in = { .subcode = subcode, .why = msg,
	    .restart = restart };

	bgp_fsm(p, NULL, BGP_EV_STOP, &in);
}

/* ---- the FSM ------------------------------------------------------------- */

/* An FSM error (RFC 6608 subcode: the state it arrived in). */
static void
unexpected(struct bgp_conn *c, const char *why)
{
	static const uint8_t sub[] = {
		[BGP_ST_OPENSENT] = BGP_ERR_FSM_OPENSENT,
		[BGP_ST_OPENCONFIRM] = BGP_ERR_FSM_OPENCONFIRM,
		[BGP_ST_ESTABLISHED] = BGP_ERR_FSM_ESTABLISHED,
	};

	conn_error(c, BGP_ERR_FSM, c->state < sizeof(sub) ? sub[c->state] :
	    BGP_ERR_FSM_UNSPECIFIC, why);
}

static void
recv_notification(struct bgp_conn *c, const uint8_t *payload, size_t len)
{
	struct bgp_peer *p = c->peer;
	struct bgp_notification n;
	char why[300];

	memset(&n, 0, sizeof(n));
	if (bgp_notification_decode(payload, len, &n) == -1)
		snprintf(p->last_error, sizeof(p->last_error),
		    "received a malformed NOTIFICATION");
	else
		notif_words(p, false, n.code, n.subcode, n.data, n.datalen);
	snprintf(why, sizeof(why), "%s", p->last_error);
	log_warn("bgp", "peer %s: %s", p->name, why);
	conn_drop(c);
	peer_conn_gone(p, why);
}

static void
recv_update(struct bgp_conn *c, const uint8_t *payload, size_t len)
{
	struct bgp_error err;
	enum bgp_fam over;

	restart_hold(c, c->hold_time);
	memset(&err, 0, sizeof(err));
	if (bgp_in_update(c->peer, payload, len, &err, &over) == -1)
		conn_fail(c, &err, "malformed UPDATE");
	else if (over != BGP_FAM_COUNT)
		max_prefix_exceeded(c, over);
}

/* max-prefixes was lowered below what the peer holds: end the session now,
 * as the next UPDATE would. */
static void
prefix_limit(struct bgp_conn *c)
{
	struct bgp_peer *p = c->peer;
	enum bgp_fam f = BGP_FAM_IPV4;

	if (p->max_prefixes == 0 || hmap_count(p->adj_in) <= p->max_prefixes)
		return;
	for (int i = 0; i < BGP_FAM_COUNT; i++)
		if (p->fam_on[i]) {
			f = (enum bgp_fam)i;
			break;
		}
	max_prefix_exceeded(c, f);
}

/* Connection events that do the same in every state. */
static void
conn_any(struct bgp_conn *c, enum bgp_event ev, const struct bgp_fsm_in *in)
{
	struct bgp_peer *p = c->peer;

	switch (ev) {
	case BGP_EV_TCP_FAILS:
		conn_fail(c, NULL, in->why);
		break;
	case BGP_EV_HEADER_ERR:
		conn_fail(c, in->err, "bad message header");
		break;
	case BGP_EV_HOLD_EXPIRES:
		conn_error(c, BGP_ERR_HOLD_TIMER, 0, "hold timer expired");
		break;
	case BGP_EV_KEEPALIVE_EXPIRES:
		send_keepalive(c);
		if (c->keepalive_time)
			IO(p)->timer_start(p, c, BGP_TIMER_KEEPALIVE,
			    (uint32_t)c->keepalive_time * 1000);
		break;
	case BGP_EV_NOTIFICATION:
		recv_notification(c, in->payload, in->len);
		break;
	case BGP_EV_OPEN:
		unexpected(c, "unexpected OPEN");
		break;
	case BGP_EV_KEEPALIVE:
		unexpected(c, "KEEPALIVE in OpenSent");
		break;
	case BGP_EV_UPDATE:
		unexpected(c, "UPDATE before Established");
		break;
	case BGP_EV_ROUTE_REFRESH:
		unexpected(c, "ROUTE-REFRESH before Established");
		break;
	default:
		log_debug("bgp", "peer %s: event %d in %s ignored", p->name,
		    (int)ev, bgp_state_name(c->state));
		break;
	}
}

void
bgp_fsm(struct bgp_peer *p, struct bgp_conn *c, enum bgp_event ev,
    const struct bgp_fsm_in *in)
{
	struct bgp_error err;
	struct bgp_conn *other;
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (c == NULL) {
		peer_fsm(p, ev, in);
		return;
	}
	switch (c->state) {
	case BGP_ST_CONNECT:
		switch (ev) {
		case BGP_EV_TCP_CONNECTED:
			log_info("bgp", "peer %s: connected to %s port %u from %s",
			    p->name, addr_ntop(&p->address, a, sizeof(a)), p->port,
			    addr_ntop(&c->local, b, sizeof(b)));
			IO(p)->timer_stop(p, NULL, BGP_TIMER_CONNECT_RETRY);
			send_open(c, "connected");
			return;
		case BGP_EV_TCP_CONFIRMED:
			if (p->in != NULL && p->in != c)
				conn_drop(p->in);	/* a stale half-open one */
			p->in = c;
			log_info("bgp", "peer %s: accepted connection from %s port %u",
			    p->name, addr_ntop(&c->remote, a, sizeof(a)),
			    c->remote_port);
			send_open(c, "incoming connection");
			return;
		case BGP_EV_TCP_FAILS:
			/* A failed attempt: back off; the peer may still
			 * connect to us. */
			snprintf(p->last_error, sizeof(p->last_error), "%s",
			    in->why);
			log_info("bgp", "peer %s: %s; retry in %.1fs", p->name,
			    in->why, p->connect_retry_cur_ms / 1000.0);
			conn_drop(c);
			peer_update_state(p, in->why);
			return;
		default:
			break;
		}
		break;
	case BGP_ST_OPENSENT:
		switch (ev) {
		case BGP_EV_OPEN:
			recv_open(c, in->payload, in->len);
			return;
		default:
			break;
		}
		break;
	case BGP_ST_OPENCONFIRM:
		switch (ev) {
		case BGP_EV_KEEPALIVE:
			/* The other connection, if any, loses. */
			restart_hold(c, c->hold_time);
			other = c->outgoing ? p->in : p->out;
			if (other != NULL)
				cease(other, BGP_ERR_CEASE_COLLISION, "the other "
				    "connection reached Established");
			change_state(p, c, BGP_ST_ESTABLISHED,
			    "KEEPALIVE received");
			return;
		default:
			break;
		}
		break;
	case BGP_ST_ESTABLISHED:
		switch (ev) {
		case BGP_EV_KEEPALIVE:
			restart_hold(c, c->hold_time);
			return;
		case BGP_EV_UPDATE:
			recv_update(c, in->payload, in->len);
			return;
		case BGP_EV_ROUTE_REFRESH:
			memset(&err, 0, sizeof(err));
			if (bgp_in_route_refresh(p, in->payload, in->len,
			    &err) == -1)
				conn_fail(c, &err, "malformed ROUTE-REFRESH");
			return;
		case BGP_EV_PREFIX_LIMIT:
			prefix_limit(c);
			return;
		default:
			break;
		}
		break;
	default:
		break;
	}
	conn_any(c, ev, in);
}

int
bgp_fsm_msg(struct bgp_conn *c, uint8_t type, const uint8_t *msg, size_t len)
{
	static const enum bgp_event events[] = {
		[BGP_MSG_OPEN] = BGP_EV_OPEN,
		[BGP_MSG_UPDATE] = BGP_EV_UPDATE,
		[BGP_MSG_NOTIFICATION] = BGP_EV_NOTIFICATION,
		[BGP_MSG_KEEPALIVE] = BGP_EV_KEEPALIVE,
		[BGP_MSG_ROUTE_REFRESH] = BGP_EV_ROUTE_REFRESH,
	};
	struct bgp_peer *p = c->peer;
	struct bgp_conn *before_out = p->out, *before_in = p->in;
	struct bgp_fsm_in in = { .payload = msg + BGP_HEADER_LEN,
	    .len = len - BGP_HEADER_LEN };

	conn_received(c, type);
	if (type >= sizeof(events) / sizeof(events[0]) || events[type] == 0)
		return 0;
	bgp_fsm(p, c, events[type], &in);
	/* Was c closed? */
	if ((c == before_out && p->out != c) || (c == before_in && p->in != c))
		return -1;
	return 0;
}

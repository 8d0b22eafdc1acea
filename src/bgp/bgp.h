/*
 * bgp.h - the BGP speaker's private header: speaker, peers, connections,
 * Adj-RIB-Out.  Only src/bgp includes it; the rest of the daemon sees the
 * speaker through the announcer interface (bgp_speaker_new()).
 *
 * Ownership: the speaker owns its peers; a peer owns its connections, its
 * timers and its Adj-RIB-Out.  One free of the peer releases all of it.
 */
#ifndef BGPLB_BGP_H
#define BGPLB_BGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bgplb/addr.h"
#include "bgplb/announce.h"
#include "bgplb/config.h"
#include "bgplb/hmap.h"
#include "bgp_bfd.h"
#include "bgp_msg.h"

struct event_base;
struct event;
struct bufferevent;
struct evbuffer;

enum bgp_state {
	BGP_ST_IDLE = 0,
	BGP_ST_CONNECT,
	BGP_ST_ACTIVE,
	BGP_ST_OPENSENT,
	BGP_ST_OPENCONFIRM,
	BGP_ST_ESTABLISHED,
};

#define BGP_IDLE_HOLD_BASE_MS	1000	/* first wait after a failure */

/* Families we carry, as a small index (Adj-RIB-Out key, counters). */
enum bgp_fam {
	BGP_FAM_IPV4 = 0,
	BGP_FAM_IPV6,
	BGP_FAM_VPNV4,
	BGP_FAM_VPNV6,
	BGP_FAM_COUNT,
};

struct bgp_speaker;
struct bgp_peer;
struct bgp_conn;

/*
 * FSM events (RFC 4271 section 8.1, the ones this speaker reacts to).  A
 * connection event names the connection; a peer event (start, stop, the
 * peer's timers, BFD) has none.
 */
enum bgp_event {
	BGP_EV_START = 1,		/* ManualStart / AutomaticStart */
	BGP_EV_STOP,			/* ManualStop: Cease with a subcode */
	BGP_EV_CONNECT_RETRY_EXPIRES,	/* ConnectRetryTimer_Expires */
	BGP_EV_IDLE_HOLD_EXPIRES,	/* IdleHoldTimer_Expires */
	BGP_EV_BFD_UP,
	BGP_EV_BFD_DOWN,		/* BfdDown (RFC 9384: Cease / BFD Down) */
	/* Connection events. */
	BGP_EV_TCP_CONNECTED,		/* Tcp_CR_Acked: our connect() finished */
	BGP_EV_TCP_CONFIRMED,		/* TcpConnectionConfirmed: accepted */
	BGP_EV_TCP_FAILS,		/* TcpConnectionFails */
	BGP_EV_HOLD_EXPIRES,		/* HoldTimer_Expires */
	BGP_EV_KEEPALIVE_EXPIRES,	/* KeepaliveTimer_Expires */
	BGP_EV_HEADER_ERR,		/* BGPHeaderErr */
	BGP_EV_OPEN,			/* BGPOpen (checked by the FSM: BGPOpenMsgErr) */
	BGP_EV_KEEPALIVE,		/* KeepAliveMsg */
	BGP_EV_UPDATE,			/* UpdateMsg (checked: UpdateMsgErr) */
	BGP_EV_NOTIFICATION,		/* NotifMsg (malformed or not) */
	BGP_EV_ROUTE_REFRESH,		/* RFC 2918 */
	BGP_EV_PREFIX_LIMIT,		/* max-prefixes lowered below what we hold */
};

/* What comes with an event; NULL when nothing does. */
struct bgp_fsm_in {
	const uint8_t	*payload;		/* message events: after the header */
	size_t		 len;
	const struct bgp_error *err;		/* BGP_EV_HEADER_ERR */
	const char	*why;			/* TCP_FAILS, BFD_DOWN, STOP's message */
	uint8_t		 subcode;		/* STOP: Cease subcode */
	bool		 restart;		/* STOP: start again at once */
};

/* Timers are data: the FSM starts and stops them by name through the I/O
 * layer, and an expired timer comes back as an event. */
enum bgp_timer {
	BGP_TIMER_CONNECT_RETRY,		/* peer */
	BGP_TIMER_IDLE_HOLD,			/* peer */
	BGP_TIMER_HOLD,				/* connection */
	BGP_TIMER_KEEPALIVE,			/* connection */
};

/*
 * Everything the FSM does to the outside world.  The daemon's is
 * bgp_session_io (sockets and libevent); tests script their own.
 */
struct bgp_io {
	/* Queue a message on the connection; -1: not written.  The I/O calls
	 * bgp_conn_sent() once the whole message went to the socket (not
	 * for output a close throws away). */
	int	(*send)(struct bgp_conn *, const uint8_t *, size_t);
	/* Close and free the connection (bgp_conn_detach() first).  notif,
	 * when not NULL, is written first and alone (queued output dropped);
	 * drain: read what the peer sent first, so that closing is a FIN and
	 * not a RST that could make its kernel drop the NOTIFICATION.
	 * Returns true when notif went out whole. */
	bool	(*close)(struct bgp_conn *, const struct bgp_wbuf *notif, bool drain);
	/* Write what is queued to the socket now, as far as it takes it
	 * (before a long piece of work: the initial dump). */
	void	(*flush)(struct bgp_conn *);
	/* Open our connection as p->out (state Connect).  1: connecting;
	 * 0: no socket (p->last_error says why); -1: connect() failed at once
	 * (p->last_error says why, no connection left). */
	int	(*connect)(struct bgp_peer *);
	void	(*timer_start)(struct bgp_peer *, struct bgp_conn *, enum bgp_timer,
		    uint32_t ms);
	void	(*timer_stop)(struct bgp_peer *, struct bgp_conn *, enum bgp_timer);
	/* Start the peer's BFD session when it is configured and not running. */
	void	(*bfd_start)(struct bgp_peer *);
	/* May the session come up (no BFD, or BFD Up)? */
	bool	(*bfd_up)(const struct bgp_peer *);
	time_t	(*now)(void);
};

/* Messages by type, as on the wire: [0] the total. */
#define BGP_MSG_TYPES	6			/* index by message type 1..5 */
struct bgp_counters {
	uint64_t	 msgs[BGP_MSG_TYPES];	/* [0] = total */
};

/*
 * One TCP connection.  A peer may have two at once (ours and theirs) until
 * RFC 4271 6.8 collision detection picks one, so each connection runs its
 * own part of the FSM (Connect .. Established) and the peer's state is the
 * most advanced of its connections.
 */
struct bgp_conn {
	struct bgp_peer	*peer;
	enum bgp_state	 state;			/* CONNECT, OPENSENT, OPENCONFIRM, ESTABLISHED */
	int		 fd;
	struct bufferevent *bev;
	bool		 outgoing;
	struct event	*t_hold, *t_keepalive;
	struct bgp_open	 open;			/* the peer's OPEN, once received */
	struct addr	 local;			/* our address on this connection */
	struct addr	 remote;
	uint16_t	 local_port, remote_port;
	bool		 has_ll;		/* IPv6 link-local of the local interface */
	struct addr	 ll;
	bool		 has_if4;		/* an IPv4 address of the local interface */
	struct addr	 if4;
	bool		 has_if6;		/* a global IPv6 address of it */
	struct addr	 if6;
	uint16_t	 hold_time;		/* negotiated, seconds */
	uint16_t	 keepalive_time;
	struct bgp_counters sent, rcvd;		/* on this connection */
	struct bgp_outq	*outq;			/* bgp_session.c: queued, not yet written */
};

/* Interned announcement attributes (shared by all routes that use them). */
struct bgp_rattrs {
	struct bgp_rattrs *next;
	unsigned	 refcnt;
	bool		 has_local_pref;
	uint32_t	 local_pref;
	uint32_t	*communities;
	size_t		 ncommunities;
	struct bgp_large_community *large;
	size_t		 nlarge;
	uint64_t	*ext;
	size_t		 n_ext;
};

/* Adj-RIB-Out key: family, prefix and (VPN) route distinguisher. */
struct bgp_rkey {
	uint8_t		 fam;
	uint8_t		 len;
	uint8_t		 rd[8];
	uint8_t		 addr[16];
};

struct bgp_out {
	struct bgp_rkey	 key;
	struct bgp_rattrs *attrs;		/* what the peer should hold; NULL: nothing */
	uint32_t	 label;			/* VPN */
	struct bgp_rattrs *held;		/* what the peer holds (sent); NULL: nothing */
	uint32_t	 held_label;
	bool		 queued;
};



struct bgp_state_change {
	time_t		 when;
	enum bgp_state	 from, to;
	char		 why[96];
};

#define BGP_HISTORY	10

struct bgp_peer {
	struct bgp_speaker *sp;
	/* Configuration (copied: the cfg is freed on reload). */
	char		*name;
	struct addr	 address;
	uint16_t	 port;
	uint32_t	 asn, my_asn;
	uint32_t	 hold_time_ms, keepalive_ms, connect_time_ms;
	bool		 passive;
	char		*password;
	uint8_t		 ebgp_multihop;
	struct addr	 source_address;
	struct addr	 router_id;		/* resolved at start */
	char		*vrf;
	char		**vpn;
	size_t		 nvpn;
	bool		 graceful_restart;
	bool		 ebgp;
	uint32_t	 max_prefixes;		/* received; 0: no limit */
	struct cfg_bfd	 bfd_cfg;
	struct bfd_session *bfd;		/* NULL: BFD off (or not started) */

	enum bgp_state	 state;			/* most advanced of the connections */
	struct bgp_conn	*out;			/* the connection we opened */
	struct bgp_conn	*in;			/* the connection the peer opened */
	struct bgp_conn	*conn;			/* the Established one, or NULL */

	struct event	*t_connect_retry, *t_idle_hold;
	uint32_t	 connect_retry_cur_ms;	/* grows with each failure */
	uint32_t	 idle_hold_cur_ms;	/* grows with each flap */
	time_t		 last_flap;

	/* Negotiated (valid while Established). */
	bool		 as4, route_refresh, extended_message, gr;
	bool		 enhanced_rr;		/* RFC 7313, both sides */
	bool		 fam_on[BGP_FAM_COUNT];
	uint32_t	 remote_id;
	size_t		 max_msg_len;

	/* Routes.  The Adj-RIB-Out sends through emit (set by the session):
	 * it never calls the session itself. */
	int		(*emit)(void *arg, const uint8_t *msg, size_t len);
	void		*emit_arg;
	struct hmap	*adj_out;		/* bgp_rkey -> struct bgp_out */
	struct bgp_out	**queue;		/* changes not yet sent */
	size_t		 nqueue, queue_cap;
	struct hmap	*adj_in;		/* bgp_rkey -> refresh generation, for counting */
	uintptr_t	 in_gen[BGP_FAM_COUNT];	/* bumped by a BoRR (RFC 7313) */
	bool		 in_refresh[BGP_FAM_COUNT];	/* between BoRR and EoRR */
	size_t		 adv_count[BGP_FAM_COUNT];
	bool		 eor_received[BGP_FAM_COUNT];

	/* Status. */
	time_t		 established_at;
	time_t		 state_since;
	unsigned long	 flaps;
	unsigned long	 established_total;
	char		 last_error[256];
	struct bgp_counters sent, rcvd;		/* this process, every connection */
	struct bgp_counters sess_sent, sess_rcvd; /* the (last) session's connection */
	uint64_t	 updates_treat_as_withdraw;
	struct bgp_state_change history[BGP_HISTORY];
	size_t		 nhistory;

	bool		 deleting;
	bool		 vrf_warned;		/* logged that the VRF device is missing */
};

struct bgp_speaker {
	struct event_base *base;
	char		*node;
	const struct cfg *cfg;			/* the running config (not owned) */
	struct cfg_kv	*node_labels;		/* copy, from cfg->nodes */
	size_t		 nnode_labels;
	struct bgp_peer	**peers;
	size_t		 npeers;
	uint16_t	 listen_port;
	int		 listen_fd[2];		/* v4, v6 */
	struct event	*listen_ev[2];
	bool		 listen_pending;	/* listen when ev_start runs */
	struct event	*ev_start;		/* listen, start peers: next loop turn */
	struct bgp_rattrs *attrs;		/* interned list */
	struct bfd_ctx	*bfd;			/* BFD sockets, made on first use */
	struct hmap	*routes;		/* route key -> struct bgp_route */
	struct addr	 router_id;		/* global: config or first IPv4 */
	bool		 shutting_down;
	bool		 restarted;		/* this process found a state file */
	const struct bgp_io *io;		/* &bgp_session_io but in tests */
	char		 listen_error[160];
};

/* bgp_fsm.c */
const char *bgp_state_name(enum bgp_state);
/* Post an event (c NULL: a peer event). */
void	bgp_fsm(struct bgp_peer *, struct bgp_conn *, enum bgp_event,
	    const struct bgp_fsm_in *);
/* A whole message arrived on c (header checked): count it, post its event.
 * Returns -1 when c is gone. */
int	bgp_fsm_msg(struct bgp_conn *, uint8_t type, const uint8_t *msg, size_t len);
/* The FSM fields of a new peer (Idle, damping and negotiation reset). */
void	bgp_fsm_peer_init(struct bgp_peer *);
void	bgp_conn_detach(struct bgp_conn *);
/* A message of this type went out whole on c (called by the I/O). */
void	bgp_conn_sent(struct bgp_conn *, uint8_t type);
/* The Adj-RIB-Out's emit callback: send on the Established connection. */
int	bgp_peer_emit(void *peer, const uint8_t *msg, size_t len);
void	bgp_peer_start(struct bgp_peer *);
/* Send a Cease (subcode, optional shutdown message) and go Idle. */
void	bgp_peer_stop(struct bgp_peer *, uint8_t subcode, const char *msg,
	    bool restart);

/* bgp_adj_in.c: what an Established peer sends us. */
/* Take an UPDATE: -1 malformed (err says what to send); *over: the family
 * that went over max-prefixes, BGP_FAM_COUNT if none. */
int	bgp_in_update(struct bgp_peer *, const uint8_t *payload, size_t len,
	    struct bgp_error *err, enum bgp_fam *over);
/* Take a ROUTE-REFRESH (re-send, or a peer's BoRR/EoRR): -1 malformed. */
int	bgp_in_route_refresh(struct bgp_peer *, const uint8_t *payload, size_t len,
	    struct bgp_error *err);
void	bgp_in_clear(struct bgp_peer *);

/* bgp_session.c: sockets, timers, the listener. */
extern const struct bgp_io bgp_session_io;
struct bgp_peer *bgp_peer_new(struct bgp_speaker *, const struct cfg_peer *);
void	bgp_peer_free(struct bgp_peer *);
bool	bgp_peer_cfg_same(const struct bgp_peer *, const struct cfg_peer *);
/* Settings that apply without a session reset (max-prefixes). */
void	bgp_peer_update_cfg(struct bgp_peer *, const struct cfg_peer *);
/* Take a changed configuration: reset the session, keep the routes. */
void	bgp_peer_reconfigure(struct bgp_peer *, const struct cfg_peer *);
int	bgp_listen(struct bgp_speaker *);
void	bgp_listen_close(struct bgp_speaker *);
void	bgp_listen_md5(struct bgp_speaker *, const struct bgp_peer *, bool add);

/* bgp_rib.c */
uint64_t bgp_rd_from_bytes(const uint8_t b[8]);
void	bgp_rd_to_bytes(uint64_t, uint8_t b[8]);
void	bgp_rkey_make(struct bgp_rkey *, enum bgp_fam, const struct prefix *,
	    const uint8_t rd[8]);
enum bgp_fam bgp_fam_of(uint16_t afi, uint8_t safi);
void	bgp_fam_afisafi(enum bgp_fam, uint16_t *afi, uint8_t *safi);
struct bgp_rattrs *bgp_rattrs_intern(struct bgp_speaker *, const struct plan_route *,
	    const struct cfg_vrf *vpn_vrf, uint32_t my_asn);
void	bgp_rattrs_unref(struct bgp_speaker *, struct bgp_rattrs *);
void	bgp_out_set(struct bgp_peer *, const struct bgp_rkey *, struct bgp_rattrs *,
	    uint32_t label);
void	bgp_out_unset(struct bgp_peer *, const struct bgp_rkey *);
/* Send what is queued (Established only). */
void	bgp_out_flush(struct bgp_peer *);
/* Established: send everything, then End-of-RIB per family. */
void	bgp_out_dump(struct bgp_peer *);
/* ROUTE-REFRESH: send every route of one family again (between BoRR and
 * EoRR when the peer has enhanced route refresh). */
void	bgp_out_refresh(struct bgp_peer *, enum bgp_fam);
/* Session down: the peer holds nothing any more. */
void	bgp_out_reset(struct bgp_peer *);
void	bgp_out_free(struct bgp_peer *);

#endif

/*
 * bgp_bfd.h - Bidirectional Forwarding Detection for the BGP speaker.
 *
 * RFC 5880 asynchronous mode over UDP: single hop (RFC 5881, port 3784,
 * TTL 255 both ways) and multihop (RFC 5883, port 4784).  No echo, no demand
 * mode, no authentication (a packet with the A bit is discarded).
 *
 * Three layers, each usable alone:
 *   - the codec: bfd_pkt_encode()/bfd_pkt_decode(), pure, with the RFC 5880
 *     6.8.6 reception checks that don't need a session;
 *   - the state machine: struct bfd_fsm fed with packets and the clock
 *     (microseconds, any monotonic origin) by bfd_fsm_rx()/bfd_fsm_timer(),
 *     returning what to do (state change, send now) and when to be called
 *     next (bfd_fsm_next()); no sockets, no libevent, no clock reads;
 *   - sessions: struct bfd_ctx owns the receive sockets of one speaker on
 *     its event base and demultiplexes to struct bfd_session, which owns its
 *     send socket and timer and reports Up/Down through a callback.
 */
#ifndef BGPLB_BGP_BFD_H
#define BGPLB_BGP_BFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bgplb/addr.h"
#include "bgplb/config.h"

struct event_base;
struct json_object;

#define BFD_VERSION		1
#define BFD_PKT_LEN		24		/* mandatory section, no auth */
#define BFD_PORT_SINGLE		3784		/* RFC 5881 */
#define BFD_PORT_MULTI		4784		/* RFC 5883 */
#define BFD_SRC_PORT_MIN	49152		/* RFC 5881 4 */
#define BFD_SRC_PORT_MAX	65535
#define BFD_SLOW_TX_US		1000000		/* RFC 5880 6.8.3: >= 1 s while not Up */

#define BFD_FLAG_P		0x20		/* Poll */
#define BFD_FLAG_F		0x10		/* Final */
#define BFD_FLAG_C		0x08		/* Control plane independent */
#define BFD_FLAG_A		0x04		/* Authentication present */
#define BFD_FLAG_D		0x02		/* Demand */
#define BFD_FLAG_M		0x01		/* Multipoint */

enum bfd_state {
	BFD_ST_ADMIN_DOWN = 0,
	BFD_ST_DOWN = 1,
	BFD_ST_INIT = 2,
	BFD_ST_UP = 3,
};

enum bfd_diag {
	BFD_DIAG_NONE = 0,
	BFD_DIAG_TIME_EXPIRED = 1,
	BFD_DIAG_ECHO_FAILED = 2,
	BFD_DIAG_NEIGHBOR_DOWN = 3,
	BFD_DIAG_FWD_RESET = 4,
	BFD_DIAG_PATH_DOWN = 5,
	BFD_DIAG_CONCAT_PATH_DOWN = 6,
	BFD_DIAG_ADMIN_DOWN = 7,
	BFD_DIAG_REV_CONCAT_PATH_DOWN = 8,
};

/* A control packet, decoded; intervals in microseconds as on the wire. */
struct bfd_pkt {
	uint8_t		 version;
	uint8_t		 diag;
	uint8_t		 state;			/* enum bfd_state */
	uint8_t		 flags;			/* BFD_FLAG_* */
	uint8_t		 detect_mult;
	uint8_t		 length;
	uint32_t	 my_disc;
	uint32_t	 your_disc;
	uint32_t	 desired_min_tx;
	uint32_t	 required_min_rx;
	uint32_t	 required_min_echo_rx;
};

/* Reasons a received packet is discarded (RFC 5880 6.8.6 and ours). */
enum bfd_drop {
	BFD_DROP_NONE = 0,
	BFD_DROP_SHORT,			/* fewer bytes than the mandatory section */
	BFD_DROP_VERSION,
	BFD_DROP_LENGTH,		/* Length below minimum or beyond payload */
	BFD_DROP_DETECT_MULT,		/* Detect Mult zero */
	BFD_DROP_MULTIPOINT,		/* M bit */
	BFD_DROP_MY_DISC,		/* My Discriminator zero */
	BFD_DROP_YOUR_DISC,		/* Your Discriminator zero outside Down/AdminDown */
	BFD_DROP_AUTH,			/* A bit: we run no authentication */
	BFD_DROP_TTL,			/* GTSM: TTL / hop limit not 255 */
	BFD_DROP_NO_SESSION,		/* demultiplexing found no session */
	BFD_DROP_ADDRESS,		/* source address not the session's peer */
	BFD_DROP__N,
};

const char *bfd_state_name(enum bfd_state);
const char *bfd_diag_name(unsigned diag);
const char *bfd_drop_name(enum bfd_drop);

/* bgp_bfd.c: codec */
void	bfd_pkt_encode(const struct bfd_pkt *, uint8_t out[BFD_PKT_LEN]);
/* Decode and run the session-independent 6.8.6 checks.  Returns
 * BFD_DROP_NONE and fills *out, or the reason to discard. */
enum bfd_drop bfd_pkt_decode(const uint8_t *buf, size_t len, struct bfd_pkt *out);

/*
 * The state machine of one session (RFC 5880 6.2, 6.8).  Plain data: the
 * session layer embeds it, the tests drive it directly.  Intervals in
 * microseconds, times in microseconds of a monotonic clock.
 */
struct bfd_fsm {
	enum bfd_state	 state;
	uint8_t		 diag;			/* bfd.LocalDiag */
	uint32_t	 my_disc;
	uint32_t	 remote_disc;
	enum bfd_state	 remote_state;
	uint8_t		 remote_diag;
	uint8_t		 detect_mult;
	uint8_t		 remote_detect_mult;
	bool		 passive;		/* don't speak before the peer does */
	uint32_t	 cfg_min_tx;		/* configured DesiredMinTxInterval */
	uint32_t	 desired_min_tx;	/* advertised now (slow while not Up) */
	uint32_t	 tx_interval_base;	/* desired Tx in use (RFC 6.8.3 poll rule) */
	uint32_t	 required_min_rx;
	uint32_t	 remote_min_rx;		/* bfd.RemoteMinRxInterval */
	uint32_t	 remote_min_tx;		/* peer's last Desired Min TX */
	bool		 poll;			/* our Poll sequence is running */
	bool		 send_final;		/* answer the peer's Poll next */
	uint64_t	 next_tx;		/* 0: periodic transmission stopped */
	uint64_t	 detect_at;		/* 0: detection timer not running */
	uint32_t	 rng;			/* xorshift state for the jitter */
};

/* What the caller must do after an input. */
struct bfd_action {
	bool		 changed;		/* state changed from -> to */
	enum bfd_state	 from, to;
	bool		 send;			/* transmit a packet now (bfd_fsm_build) */
};

void	bfd_fsm_init(struct bfd_fsm *, const struct cfg_bfd *, uint32_t my_disc,
	    uint32_t seed, uint64_t now);
/* A packet that passed bfd_pkt_decode() and demultiplexing. */
void	bfd_fsm_rx(struct bfd_fsm *, const struct bfd_pkt *, uint64_t now,
	    struct bfd_action *);
/* The clock reached bfd_fsm_next(): detection timeout and/or periodic send. */
void	bfd_fsm_timer(struct bfd_fsm *, uint64_t now, struct bfd_action *);
/* Administratively down (diag 7) or back to Down. */
void	bfd_fsm_admin(struct bfd_fsm *, bool down, uint64_t now, struct bfd_action *);
/* The packet to send now; clears the pending Final. */
void	bfd_fsm_build(struct bfd_fsm *, struct bfd_pkt *);
/* Earliest deadline, 0 when nothing is scheduled. */
uint64_t bfd_fsm_next(const struct bfd_fsm *);
/* Detection time in use (6.8.4), microseconds; 0 before the peer spoke. */
uint64_t bfd_fsm_detect_time(const struct bfd_fsm *);
/* Transmit interval in use before jitter (6.8.7), microseconds. */
uint32_t bfd_fsm_tx_interval(const struct bfd_fsm *);

/* Sessions. */
struct bfd_ctx;
struct bfd_session;

struct bfd_counters {
	uint64_t	 tx;			/* control packets sent */
	uint64_t	 rx;			/* control packets accepted */
	uint64_t	 rx_dropped;		/* demultiplexed to us but discarded */
	uint64_t	 up_events;
	uint64_t	 down_events;
};

struct bfd_ctx *bfd_ctx_new(struct event_base *);
void	bfd_ctx_free(struct bfd_ctx *);
/* Test hook: listen on other ports than 3784/4784 (before any session). */
void	bfd_ctx_set_ports(struct bfd_ctx *, uint16_t single, uint16_t multi);
/* Packets the context discarded before finding a session, by reason. */
uint64_t bfd_ctx_dropped(const struct bfd_ctx *, enum bfd_drop);

/* local may be NULL or unset (af 0): the kernel picks the source address.
 * cb is called when the session comes Up (up = true) or leaves Up (up =
 * false; why names the diagnostic); it may free the session.  Returns NULL
 * (logged) when the send socket can't be made. */
struct bfd_session *bfd_session_new(struct bfd_ctx *, const struct addr *local,
	    const struct addr *remote, bool multihop, const struct cfg_bfd *,
	    void (*cb)(void *arg, bool up, const char *why), void *arg);
void	bfd_session_free(struct bfd_session *);
void	bfd_session_set_admin_down(struct bfd_session *, bool down);
enum bfd_state bfd_session_state(const struct bfd_session *);
const struct bfd_counters *bfd_session_counters(const struct bfd_session *);
/* Adds the session's status to the JSON object out (see doc/bfd.md). */
void	bfd_session_status(const struct bfd_session *, struct json_object *out);

#endif

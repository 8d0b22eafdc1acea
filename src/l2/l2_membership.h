/*
 * l2_membership.h - private to l2_member.c and l2_member_io.c: the state of
 * the membership runtime (struct l2_membership, one struct l2_member per
 * configured peer) and the functions the two files call in each other.
 * The public API is in bgplb/l2.h, the pure wire codec in l2_member.h.
 */
#ifndef BGPLB_L2_MEMBERSHIP_H
#define BGPLB_L2_MEMBERSHIP_H

#include <sys/socket.h>
#include <sys/time.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "bgplb/addr.h"
#include "bgplb/l2.h"
#include "l2_member.h"

#define MOD			"membership"
#define LOG_EVERY_MS		10000	/* per-reason warning rate limit */

struct l2_member {
	struct l2_membership	*ms;
	char			*name;
	struct addr		 addr;
	uint16_t		 port;
	struct sockaddr_storage	 sa;		/* where heartbeats go */
	socklen_t		 salen;
	bool			 alive;
	bool			 seen;		/* ever a valid heartbeat */
	uint64_t		 last_seen;	/* monotonic ms */
	uint64_t		 changed;	/* monotonic ms of last alive/dead */
	struct sockaddr_storage	 last_src;
	uint64_t		 received;
	struct l2_member_replay	 replay;
	struct event		*dead_ev;
};

struct l2_membership {
	struct event_base	*base;
	char			*node;
	l2_membership_cb	 cb;
	void			*cbarg;

	bool			 enabled;
	uint8_t			 key[L2_MEMBER_KEY_LEN];
	char			*key_file;
	struct addr		 listen;	/* af 0: wildcard */
	uint16_t		 port;
	int			 fd;
	int			 fd_af;		/* AF_INET or AF_INET6 */
	struct event		*read_ev;
	struct event		*hb_ev;
	uint32_t		 interval_ms;
	uint32_t		 dead_after_ms;

	struct l2_member	**members;	/* sorted by name; self excluded */
	size_t			 nmembers;

	uint64_t		 boot_id;
	uint64_t		 seq;		/* last sent */

	/* The published live set (what l2_membership_alive returns) and the
	 * deferred callback that republishes it. */
	const char		**alive;
	size_t			 nalive;
	struct event		*notify_ev;
	bool			 cb_pending;

	uint64_t		 rejected[L2_REJ__N];
	uint64_t		 last_log[L2_REJ__N];
	uint64_t		 sent, received, send_errors, last_send_log;
};

static inline uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline struct timeval
ms_tv(uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	return tv;
}

/* l2_member.c: the member table and liveness */
struct l2_member *l2_member_find(const struct l2_membership *, const char *name);
void	l2_member_set_alive(struct l2_member *, bool alive, const char *why);
/* (Re)start the member's dead timer: ms_left until it is declared dead. */
void	l2_member_arm_dead(struct l2_member *, uint64_t ms_left);

/* l2_member_io.c: the socket */
const char *l2_member_sa_fmt(const struct sockaddr_storage *, char *buf,
	    size_t len);
int	l2_member_make_sa(const struct addr *, uint16_t port, int fam,
	    struct sockaddr_storage *, socklen_t *);
int	l2_membership_open_socket(const struct addr *listen, uint16_t port,
	    int *afp, char *err, size_t errlen);
void	l2_membership_close_socket(struct l2_membership *);
void	l2_membership_read_cb(evutil_socket_t, short, void *);
void	l2_membership_send_heartbeats(struct l2_membership *);
void	l2_membership_hb_cb(evutil_socket_t, short, void *);

#endif

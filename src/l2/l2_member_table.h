/*
 * l2_member_table.h - private to src/l2's membership: the runtime's state
 * (struct l2_membership, one struct l2_member per configured peer) and the
 * member table and liveness functions (l2_member_table.c) that the socket
 * side (l2_member_io.c) and the API (l2_membership.c) call.  The public
 * API is in bgplb/l2.h, the pure wire codec in l2_member.h.
 */
#ifndef BGPLB_L2_MEMBER_TABLE_H
#define BGPLB_L2_MEMBER_TABLE_H

#include <sys/socket.h>
#include <sys/time.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "bgplb/addr.h"
#include "bgplb/l2.h"
#include "l2_member.h"

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
	uint64_t		 down[L2_MEMBER_DOWN_MAX];	/* it can't serve */
	size_t			 ndown;
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
	uint64_t		 down[L2_MEMBER_DOWN_MAX];	/* sent: we can't serve */
	size_t			 ndown;

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

struct l2_member *l2_member_find(const struct l2_membership *, const char *name);
void	l2_member_free(struct l2_member *);
void	l2_member_free_all(struct l2_member **, size_t n);
void	l2_member_set_alive(struct l2_member *, bool alive, const char *why);
/* The dead timer's callback (arg: the member) and (re)starting it: ms_left
 * until the member is declared dead. */
void	l2_member_dead_cb(evutil_socket_t, short, void *);
void	l2_member_arm_dead(struct l2_member *, uint64_t ms_left);

/*
 * Rebuild the published live set from the members' states.  Returns true
 * when it differs from the one published before.
 */
bool	l2_membership_publish(struct l2_membership *);
/* The deferred notification: its event's callback, and triggering it. */
void	l2_membership_notify_cb(evutil_socket_t, short, void *);
void	l2_membership_schedule_notify(struct l2_membership *);

#endif

/*
 * l2_member_io.h - private to src/l2's membership: the UDP socket side
 * (l2_member_io.c), called by the API (l2_membership.c).
 */
#ifndef BGPLB_L2_MEMBER_IO_H
#define BGPLB_L2_MEMBER_IO_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "bgplb/addr.h"
#include "l2_member_table.h"

/* "a.b.c.d:port" / "[v6]:port" of a socket address, v4-mapped shown as v4. */
const char *l2_member_sa_fmt(const struct sockaddr_storage *, char *buf,
	    size_t len);
/* A socket address for addr:port usable on a socket of family fam. */
int	l2_member_make_sa(const struct addr *, uint16_t port, int fam,
	    struct sockaddr_storage *, socklen_t *);
/* A bound, non-blocking UDP socket for listen:port (af 0: the wildcard);
 * *afp gets its family.  -1 with err set. */
int	l2_membership_open_socket(const struct addr *listen, uint16_t port,
	    int *afp, char *err, size_t errlen);
void	l2_membership_close_socket(struct l2_membership *);
/* Event callbacks (arg: the membership): the socket is readable; the
 * heartbeat interval passed. */
void	l2_membership_read_cb(evutil_socket_t, short, void *);
void	l2_membership_hb_cb(evutil_socket_t, short, void *);
/* One heartbeat to every member, now. */
void	l2_membership_send_heartbeats(struct l2_membership *);

#endif

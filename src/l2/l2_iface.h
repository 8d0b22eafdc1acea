/*
 * l2_iface.h - private to the layer 2 responder: the state its two files
 * share (the responder, one struct l2_addr per owned address, one struct
 * l2_iface per link), the address table lookup, and the link layer's
 * functions (l2_iface.c) that the policy (l2_responder.c) calls.  The
 * public API is in bgplb/l2.h.
 */
#ifndef BGPLB_L2_IFACE_H
#define BGPLB_L2_IFACE_H

#include <net/if.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "bgplb/addr.h"
#include "l2_packet.h"

enum { SK_ARP, SK_ND, SK_N };

struct l2_responder;

struct l2_iface {
	struct l2_responder *rs;
	char		 name[IF_NAMESIZE];
	int		 ifindex;
	unsigned	 flags;
	unsigned short	 hatype;
	uint8_t		 mac[L2_ETH_ALEN];
	bool		 has_ll;
	uint8_t		 ll[16];		/* first link-local address */
	bool		 seen;			/* in the last scan */
	int		 fd[SK_N];
	struct event	*ev[SK_N];
	uint8_t		(*groups)[L2_ETH_ALEN];	/* solicited-node MACs joined */
	size_t		 ngroups;
	char		 last_error[128];
	uint64_t	 rx[SK_N];
};

struct l2_addr {
	struct l2_responder *rs;
	struct addr	 addr;
	uint8_t		 bytes[16];		/* network order; 4 for IPv4 */
	char		*pool;
	char		**services;
	size_t		 nservices;
	char		**ifpat;		/* the route's list; empty: global */
	size_t		 nifpat;
	struct l2_iface	**on;			/* interfaces answering for it */
	size_t		 non;
	bool		 garp_pending;
	unsigned	 garp_step;
	struct event	*garp;
	uint64_t	 requests;
	uint64_t	 responses;
	uint64_t	 gratuitous;
};

struct l2_responder {
	struct event_base *base;
	char		*node;
	char		**ifpat;		/* layer2.interfaces */
	size_t		 nifpat;
	struct l2_iface	**ifaces;
	size_t		 nifaces;
	struct l2_addr	**addrs;		/* sorted by addr_cmp */
	size_t		 naddrs;
	struct event	*rescan;
	bool		 dirty;
	bool		 stopped;
	uint64_t	 ign_not_owned;
	uint64_t	 ign_malformed;
	uint64_t	 ign_other;		/* someone's gratuitous ARP, our own frames */
	uint64_t	 send_errors;
	int		 mld_fd;		/* AF_INET6 socket for MLD joins; -1 */
};

static inline bool
iface_on(const struct l2_addr *a, const struct l2_iface *ifc)
{
	for (size_t i = 0; i < a->non; i++)
		if (a->on[i] == ifc)
			return true;
	return false;
}

/* The owned address x (*found), or where it would go in the sorted table. */
static inline size_t
l2_addr_find(const struct l2_responder *rs, const struct addr *x, bool *found)
{
	size_t lo = 0, hi = rs->naddrs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = addr_cmp(&rs->addrs[mid]->addr, x);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* l2_iface.c: links, their sockets and multicast groups, receiving */
int	l2_iface_scan(struct l2_responder *);
bool	l2_iface_usable(const struct l2_iface *);
bool	l2_iface_is_open(const struct l2_iface *);
int	l2_iface_ensure_open(struct l2_iface *);
void	l2_iface_close(struct l2_iface *);
void	l2_iface_free(struct l2_iface *);
void	l2_iface_sync_groups(struct l2_responder *, struct l2_iface *);
int	l2_iface_send(struct l2_responder *, struct l2_iface *, int which,
	    const uint8_t *frame, size_t len);

#endif

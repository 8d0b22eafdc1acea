/*
 * l2_responder.c - the layer 2 announcer: answers ARP and IPv6 Neighbor
 * Solicitations for the service addresses this node owns.
 *
 * The core hands us plan routes of backend layer2; a route with `local` set
 * is an address we own.  We keep one entry per owned address (sorted, so a
 * received request is a binary search away) and, per network interface,
 * two AF_PACKET sockets (ARP and IPv6; CLOEXEC|NONBLOCK, a BPF filter that
 * lets only ARP requests and ICMPv6 Neighbor Solicitations through).  A
 * socket exists only while some owned address is answered on its
 * interface, so a node without layer 2 pools opens nothing.  For each IPv6
 * address we join its solicited-node group (33:33:ff:xx:xx:xx) with
 * PACKET_ADD_MEMBERSHIP on the IPv6 packet socket, which opens the NIC's
 * filter and needs IPv6 neither on the link nor in the kernel.  Switches
 * that snoop MLD forward the group only to ports that reported it, and a
 * packet membership sends no report; so we also join the IPv6 group
 * (ff02::1:ffxx:xxxx) on one AF_INET6 datagram socket, best effort, which
 * makes the kernel send MLD reports where IPv6 is enabled.
 *
 * Stopping is immediate: withdraw() removes the entry, and a request for an
 * address without an entry is never answered.  Starting is loud: a new
 * entry (or a new interface for it) gets gratuitous ARP (request and reply)
 * or unsolicited NAs on the schedule in garp_ms[] (0, 0.5, 1 and 2 s after
 * taking over; then silence, as the neighbours' caches are now right and
 * requests keep them so).  Unsolicited NAs leave from the interface's
 * link-local address (the service address when the link has none);
 * solicited NAs from the service address, the target.  Never from the
 * interface's first global address: MetalLB did that, which broke NDP
 * when that address was not the expected one.
 *
 * Interfaces: the route's own list (the pool's `interfaces`), else
 * layer2.interfaces, else every interface but the default exclusions
 * (l2_iface_default_excluded).  Names may be shell globs.  Only up,
 * Ethernet, non-loopback interfaces are used.  They are re-read every
 * RESCAN_MS, so a link that appears, comes up or changes its MAC is picked
 * up (and announced on) without a config change.
 *
 * Packet building and parsing are in l2_packet.c; this file is policy and
 * plumbing.  Nothing a remote sends can do more than bump a counter.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fnmatch.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "l2_packet.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING	23
#endif

#define MOD		"layer2"
#define RESCAN_MS	2000
#define RX_BURST	64		/* frames per socket per loop turn */
#define RX_BUFLEN	2048

/* Gratuitous ARP / unsolicited NA, in ms after taking over. */
static const unsigned garp_ms[] = { 0, 500, 1000, 2000 };
#define GARP_STEPS	(sizeof(garp_ms) / sizeof(garp_ms[0]))

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

/* ---- small helpers ------------------------------------------------------- */

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
strv_dup(char *const *in, size_t n, char ***out)
{
	char **v;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((v[i] = strdup(in[i])) == NULL) {
			strv_free(v, i);
			return -1;
		}
	*out = v;
	return 0;
}

static bool
strv_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static const char *
mac_str(const uint8_t m[L2_ETH_ALEN], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x",
	    m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static bool
iface_on(const struct l2_addr *a, const struct l2_iface *ifc)
{
	for (size_t i = 0; i < a->non; i++)
		if (a->on[i] == ifc)
			return true;
	return false;
}

/* ---- the address table --------------------------------------------------- */

static size_t
addr_find(const struct l2_responder *rs, const struct addr *x, bool *found)
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

static struct l2_addr *
addr_lookup(const struct l2_responder *rs, uint8_t af, const uint8_t *bytes)
{
	struct addr x;
	bool found;
	size_t at;

	addr_from_bytes(&x, af, bytes);
	at = addr_find(rs, &x, &found);
	return found ? rs->addrs[at] : NULL;
}

static void
addr_free(struct l2_addr *a)
{
	if (a == NULL)
		return;
	if (a->garp != NULL)
		event_free(a->garp);
	free(a->pool);
	strv_free(a->services, a->nservices);
	strv_free(a->ifpat, a->nifpat);
	free(a->on);
	free(a);
}

/* ---- sockets ------------------------------------------------------------- */

/* ARP requests for Ethernet/IPv4 only: htype 1, ptype 0x0800, 6/4, op 1. */
static struct sock_filter arp_filter[] = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 0, 9),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 14),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, L2_ARP_HTYPE_ETHER, 0, 7),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 16),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 5),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 18),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0604, 0, 3),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, L2_ARP_OP_REQUEST, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

/* IPv6 whose next header is ICMPv6 and whose ICMPv6 type is NS.  An NS
 * behind extension headers is not let through: l2_ns_parse refuses it too. */
static struct sock_filter nd_filter[] = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 5),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, L2_ETH_HLEN + 6),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, L2_IPPROTO_ICMPV6, 0, 3),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, L2_ETH_HLEN + L2_IP6_HLEN),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, L2_ICMP6_NS, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

static void on_rx(evutil_socket_t, short, void *);
static void mld_op(struct l2_iface *, const uint8_t [L2_ETH_ALEN], bool);

static void
iface_error(struct l2_iface *ifc, const char *what)
{
	char msg[sizeof(ifc->last_error)];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errno));
	/* Said once per new error, not once per rescan. */
	if (strcmp(msg, ifc->last_error) != 0)
		log_warn(MOD, "%s: %s", ifc->name, msg);
	snprintf(ifc->last_error, sizeof(ifc->last_error), "%s", msg);
}

static int
sock_open(struct l2_iface *ifc, int which)
{
	struct sock_fprog prog;
	struct sockaddr_ll sll;
	uint16_t proto = which == SK_ARP ? ETH_P_ARP : ETH_P_IPV6;
	int fd, one = 1;

	if (which == SK_ARP) {
		prog.len = sizeof(arp_filter) / sizeof(arp_filter[0]);
		prog.filter = arp_filter;
	} else {
		prog.len = sizeof(nd_filter) / sizeof(nd_filter[0]);
		prog.filter = nd_filter;
	}
	/* Protocol 0 receives nothing: the filter is in place before bind()
	 * lets the first frame in. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		iface_error(ifc, "socket(AF_PACKET)");
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == -1) {
		iface_error(ifc, "SO_ATTACH_FILTER");
		goto fail;
	}
	/* Our own gratuitous ARP requests would come back otherwise; older
	 * kernels lack it, and on_rx drops PACKET_OUTGOING anyway. */
	(void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(proto);
	sll.sll_ifindex = ifc->ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
		iface_error(ifc, "bind(AF_PACKET)");
		goto fail;
	}
	if ((ifc->ev[which] = event_new(ifc->rs->base, fd, EV_READ | EV_PERSIST,
	    on_rx, ifc)) == NULL || event_add(ifc->ev[which], NULL) == -1) {
		errno = ENOMEM;
		iface_error(ifc, "event_new");
		if (ifc->ev[which] != NULL)
			event_free(ifc->ev[which]);
		ifc->ev[which] = NULL;
		goto fail;
	}
	ifc->fd[which] = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

static void
iface_close(struct l2_iface *ifc)
{
	for (int i = 0; i < SK_N; i++) {
		if (ifc->ev[i] != NULL)
			event_free(ifc->ev[i]);
		ifc->ev[i] = NULL;
		if (ifc->fd[i] != -1)
			close(ifc->fd[i]);
		ifc->fd[i] = -1;
	}
	/* Closing the packet socket left its groups; the MLD ones are ours
	 * to leave (failing harmlessly when the link is gone). */
	for (size_t k = 0; k < ifc->ngroups; k++)
		mld_op(ifc, ifc->groups[k], false);
	free(ifc->groups);
	ifc->groups = NULL;
	ifc->ngroups = 0;
}

static bool
iface_open(const struct l2_iface *ifc)
{
	return ifc->fd[SK_ARP] != -1 && ifc->fd[SK_ND] != -1;
}

static int
iface_ensure_open(struct l2_iface *ifc)
{
	for (int i = 0; i < SK_N; i++)
		if (ifc->fd[i] == -1 && sock_open(ifc, i) == -1) {
			iface_close(ifc);
			return -1;
		}
	if (ifc->last_error[0] != '\0')
		log_info(MOD, "%s: sockets open again", ifc->name);
	ifc->last_error[0] = '\0';
	return 0;
}

static void
iface_free(struct l2_iface *ifc)
{
	if (ifc == NULL)
		return;
	iface_close(ifc);
	free(ifc);
}

static int
send_frame(struct l2_responder *rs, struct l2_iface *ifc, int which,
    const uint8_t *frame, size_t len)
{
	ssize_t n;

	if (len == 0 || ifc->fd[which] == -1) {
		rs->send_errors++;
		return -1;
	}
	/* The socket is bound to the interface and ethertype: plain send. */
	n = send(ifc->fd[which], frame, len, 0);
	if (n != (ssize_t)len) {
		rs->send_errors++;
		if (n == -1)
			log_debug(MOD, "%s: send: %s", ifc->name, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- multicast groups ---------------------------------------------------- */

/* The IPv6 side of a group (MLD), best effort: see the top of the file. */
static void
mld_op(struct l2_iface *ifc, const uint8_t mac[L2_ETH_ALEN], bool join)
{
	struct l2_responder *rs = ifc->rs;
	struct ipv6_mreq mr;

	if (rs->mld_fd == -1 && join)
		rs->mld_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
	if (rs->mld_fd == -1)
		return;
	memset(&mr, 0, sizeof(mr));
	/* ff02::1:ff + the three bytes the MAC carries. */
	mr.ipv6mr_multiaddr.s6_addr[0] = 0xff;
	mr.ipv6mr_multiaddr.s6_addr[1] = 0x02;
	mr.ipv6mr_multiaddr.s6_addr[11] = 0x01;
	mr.ipv6mr_multiaddr.s6_addr[12] = 0xff;
	memcpy(&mr.ipv6mr_multiaddr.s6_addr[13], mac + 3, 3);
	mr.ipv6mr_interface = (unsigned)ifc->ifindex;
	if (setsockopt(rs->mld_fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP :
	    IPV6_LEAVE_GROUP, &mr, sizeof(mr)) == -1 && join)
		log_debug(MOD, "%s: IPV6_JOIN_GROUP: %s (no MLD report)",
		    ifc->name, strerror(errno));
}

static int
group_op(struct l2_iface *ifc, const uint8_t mac[L2_ETH_ALEN], int op)
{
	struct packet_mreq mr;

	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = ifc->ifindex;
	mr.mr_type = PACKET_MR_MULTICAST;
	mr.mr_alen = L2_ETH_ALEN;
	memcpy(mr.mr_address, mac, L2_ETH_ALEN);
	return setsockopt(ifc->fd[SK_ND], SOL_PACKET, op, &mr, sizeof(mr));
}

/* Join the groups the interface's IPv6 addresses need, leave the rest. */
static void
iface_sync_groups(struct l2_responder *rs, struct l2_iface *ifc)
{
	uint8_t (*want)[L2_ETH_ALEN] = NULL;
	size_t nwant = 0;

	if (ifc->fd[SK_ND] == -1)
		return;
	for (size_t i = 0; i < rs->naddrs; i++) {
		struct l2_addr *a = rs->addrs[i];
		uint8_t m[L2_ETH_ALEN];
		bool dup = false;

		if (a->addr.af != ADDR_AF_INET6 || !iface_on(a, ifc))
			continue;
		l2_solicited_node(a->bytes, NULL, m);
		for (size_t k = 0; k < nwant && !dup; k++)
			dup = memcmp(want[k], m, L2_ETH_ALEN) == 0;
		if (dup)
			continue;
		if ((want = reallocarray(want, nwant + 1, sizeof(*want))) == NULL)
			fatalx("out of memory");
		memcpy(want[nwant++], m, L2_ETH_ALEN);
	}
	for (size_t k = 0; k < ifc->ngroups; k++) {
		bool keep = false;

		for (size_t j = 0; j < nwant && !keep; j++)
			keep = memcmp(ifc->groups[k], want[j], L2_ETH_ALEN) == 0;
		if (!keep) {
			(void)group_op(ifc, ifc->groups[k], PACKET_DROP_MEMBERSHIP);
			mld_op(ifc, ifc->groups[k], false);
		}
	}
	for (size_t j = 0; j < nwant; j++) {
		bool have = false;

		for (size_t k = 0; k < ifc->ngroups && !have; k++)
			have = memcmp(ifc->groups[k], want[j], L2_ETH_ALEN) == 0;
		if (have)
			continue;
		if (group_op(ifc, want[j], PACKET_ADD_MEMBERSHIP) == -1)
			iface_error(ifc, "PACKET_ADD_MEMBERSHIP");
		mld_op(ifc, want[j], true);
	}
	free(ifc->groups);
	ifc->groups = want;
	ifc->ngroups = nwant;
}

/* ---- gratuitous ARP / unsolicited NA ------------------------------------- */

static void
garp_send(struct l2_responder *rs, struct l2_addr *a)
{
	uint8_t frame[L2_FRAME_MAX];
	size_t len;

	for (size_t i = 0; i < a->non; i++) {
		struct l2_iface *ifc = a->on[i];

		if (a->addr.af == ADDR_AF_INET) {
			/* Both forms: some hosts only update their cache
			 * from one of them (keepalived sends both too). */
			len = l2_garp_build(frame, sizeof(frame), ifc->mac,
			    a->bytes, L2_ARP_OP_REQUEST);
			if (send_frame(rs, ifc, SK_ARP, frame, len) == 0)
				a->gratuitous++;
			len = l2_garp_build(frame, sizeof(frame), ifc->mac,
			    a->bytes, L2_ARP_OP_REPLY);
			if (send_frame(rs, ifc, SK_ARP, frame, len) == 0)
				a->gratuitous++;
		} else {
			len = l2_na_build_unsolicited(frame, sizeof(frame),
			    ifc->mac, ifc->has_ll ? ifc->ll : a->bytes,
			    a->bytes);
			if (send_frame(rs, ifc, SK_ND, frame, len) == 0)
				a->gratuitous++;
		}
	}
}

static void
garp_arm(struct l2_addr *a)
{
	unsigned ms = garp_ms[a->garp_step] - garp_ms[a->garp_step - 1];
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(a->garp, &tv);
}

static void
on_garp(evutil_socket_t fd, short what, void *arg)
{
	struct l2_addr *a = arg;

	garp_send(a->rs, a);
	if (++a->garp_step < GARP_STEPS)
		garp_arm(a);
}

/* Step 0 now, the rest on the timer.  Restarting is fine: the schedule is
 * short and neighbours take the same answer twice. */
static void
garp_start(struct l2_responder *rs, struct l2_addr *a)
{
	a->garp_pending = false;
	if (a->non == 0)
		return;
	if (a->garp == NULL && (a->garp = evtimer_new(rs->base, on_garp, a)) == NULL) {
		log_warn(MOD, "cannot create a timer: no gratuitous announcements");
		return;
	}
	evtimer_del(a->garp);
	a->garp_step = 0;
	garp_send(rs, a);
	if (++a->garp_step < GARP_STEPS)
		garp_arm(a);
}

/* ---- interface scan and reconciliation ----------------------------------- */

static struct l2_iface *
iface_by_name(struct l2_responder *rs, const char *name)
{
	for (size_t i = 0; i < rs->nifaces; i++)
		if (strcmp(rs->ifaces[i]->name, name) == 0)
			return rs->ifaces[i];
	return NULL;
}

static struct l2_iface *
iface_get(struct l2_responder *rs, const char *name)
{
	struct l2_iface *ifc, **v;

	if ((ifc = iface_by_name(rs, name)) != NULL)
		return ifc;
	if ((ifc = calloc(1, sizeof(*ifc))) == NULL)
		return NULL;
	v = reallocarray(rs->ifaces, rs->nifaces + 1, sizeof(*v));
	if (v == NULL) {
		free(ifc);
		return NULL;
	}
	rs->ifaces = v;
	ifc->rs = rs;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	for (int i = 0; i < SK_N; i++)
		ifc->fd[i] = -1;
	rs->ifaces[rs->nifaces++] = ifc;
	return ifc;
}

/* Re-read links and link-local addresses.  -1: keep what we had. */
static int
iface_scan(struct l2_responder *rs)
{
	struct ifaddrs *ifa0, *ifa;

	if (getifaddrs(&ifa0) == -1) {
		log_warn(MOD, "getifaddrs: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < rs->nifaces; i++) {
		rs->ifaces[i]->seen = false;
		rs->ifaces[i]->has_ll = false;
	}
	for (ifa = ifa0; ifa != NULL; ifa = ifa->ifa_next) {
		struct sockaddr_ll *sll;
		struct l2_iface *ifc;

		if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_PACKET)
			continue;
		sll = (struct sockaddr_ll *)(void *)ifa->ifa_addr;
		if ((ifc = iface_get(rs, ifa->ifa_name)) == NULL)
			continue;
		ifc->seen = true;
		/* A link re-created under the same name has a new index: the
		 * old sockets are bound to a link that is gone. */
		if (ifc->ifindex != sll->sll_ifindex) {
			iface_close(ifc);
			ifc->ifindex = sll->sll_ifindex;
		}
		ifc->flags = ifa->ifa_flags;
		ifc->hatype = sll->sll_hatype;
		if (sll->sll_halen == L2_ETH_ALEN)
			memcpy(ifc->mac, sll->sll_addr, L2_ETH_ALEN);
		else
			memset(ifc->mac, 0, L2_ETH_ALEN);
	}
	for (ifa = ifa0; ifa != NULL; ifa = ifa->ifa_next) {
		const struct sockaddr_in6 *s6;
		struct l2_iface *ifc;

		if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET6)
			continue;
		s6 = (const struct sockaddr_in6 *)(const void *)ifa->ifa_addr;
		if (s6->sin6_addr.s6_addr[0] != 0xfe ||
		    (s6->sin6_addr.s6_addr[1] & 0xc0) != 0x80)
			continue;
		if ((ifc = iface_by_name(rs, ifa->ifa_name)) == NULL ||
		    ifc->has_ll)
			continue;
		memcpy(ifc->ll, s6->sin6_addr.s6_addr, 16);
		ifc->has_ll = true;
	}
	freeifaddrs(ifa0);
	return 0;
}

static bool
iface_usable(const struct l2_iface *ifc)
{
	static const uint8_t zero[L2_ETH_ALEN];

	/* IFF_RUNNING: with the carrier gone nobody hears us, and when it
	 * comes back the link counts as new, which re-sends gratuitous ARP. */
	return ifc->seen && (ifc->flags & IFF_UP) && (ifc->flags & IFF_RUNNING) &&
	    !(ifc->flags & IFF_LOOPBACK) &&
	    ifc->hatype == ARPHRD_ETHER && memcmp(ifc->mac, zero, L2_ETH_ALEN) != 0;
}

static bool
match_any(char *const *pat, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pat[i], name, 0) == 0)
			return true;
	return false;
}

static bool
iface_selected(const struct l2_responder *rs, const struct l2_addr *a,
    const struct l2_iface *ifc)
{
	if (a->nifpat > 0)
		return match_any(a->ifpat, a->nifpat, ifc->name);
	if (rs->nifpat > 0)
		return match_any(rs->ifpat, rs->nifpat, ifc->name);
	return !l2_iface_default_excluded(ifc->name);
}

static void
log_on(const struct l2_addr *a, const char *verb)
{
	char abuf[ADDR_STRLEN], list[256];
	size_t off = 0;

	list[0] = '\0';
	for (size_t i = 0; i < a->non && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i ? "," : "", a->on[i]->name);
	log_info(MOD, "%s %s for %s (pool %s) on %s", verb,
	    a->addr.af == ADDR_AF_INET ? "ARP" : "NDP",
	    addr_ntop(&a->addr, abuf, sizeof(abuf)), a->pool,
	    a->non ? list : "no interface");
}

/*
 * Bring sockets, per-address interface lists and multicast groups in line
 * with the owned addresses and the links that exist now.  An address that
 * gains an interface is announced there (its schedule restarts).
 */
static void
reconcile(struct l2_responder *rs)
{
	size_t k;

	rs->dirty = false;
	if (rs->naddrs > 0 || rs->nifaces > 0)
		(void)iface_scan(rs);

	/* Which interfaces does any address want?  Open those. */
	for (size_t i = 0; i < rs->nifaces; i++) {
		struct l2_iface *ifc = rs->ifaces[i];
		bool want = false;

		if (iface_usable(ifc))
			for (size_t j = 0; j < rs->naddrs && !want; j++)
				want = iface_selected(rs, rs->addrs[j], ifc);
		if (want)
			(void)iface_ensure_open(ifc);
		else if (ifc->fd[SK_ARP] != -1 || ifc->fd[SK_ND] != -1)
			iface_close(ifc);
	}

	/* Each address answers where it is selected and sockets are open. */
	for (size_t j = 0; j < rs->naddrs; j++) {
		struct l2_addr *a = rs->addrs[j];
		struct l2_iface **on;
		size_t non = 0;
		bool gained = false, changed;

		if ((on = calloc(rs->nifaces ? rs->nifaces : 1, sizeof(*on))) == NULL)
			fatalx("out of memory");
		for (size_t i = 0; i < rs->nifaces; i++) {
			struct l2_iface *ifc = rs->ifaces[i];

			if (!iface_usable(ifc) || !iface_open(ifc) ||
			    !iface_selected(rs, a, ifc))
				continue;
			if (!iface_on(a, ifc))
				gained = true;
			on[non++] = ifc;
		}
		changed = gained || non != a->non;
		free(a->on);
		a->on = on;
		a->non = non;
		if (gained)
			a->garp_pending = true;
		if (changed)
			log_on(a, "answering");
	}

	for (size_t i = 0; i < rs->nifaces; i++)
		iface_sync_groups(rs, rs->ifaces[i]);

	/* Forget links that are gone; no address points at them now. */
	for (size_t i = k = 0; i < rs->nifaces; i++) {
		if (!rs->ifaces[i]->seen)
			iface_free(rs->ifaces[i]);
		else
			rs->ifaces[k++] = rs->ifaces[i];
	}
	rs->nifaces = k;
}

static void
start_pending(struct l2_responder *rs)
{
	for (size_t j = 0; j < rs->naddrs; j++)
		if (rs->addrs[j]->garp_pending)
			garp_start(rs, rs->addrs[j]);
}

static void
on_rescan(evutil_socket_t fd, short what, void *arg)
{
	struct l2_responder *rs = arg;

	if (rs->stopped || (rs->naddrs == 0 && rs->nifaces == 0))
		return;
	reconcile(rs);
	start_pending(rs);
}

/* ---- receiving ----------------------------------------------------------- */

static void
handle_arp(struct l2_responder *rs, struct l2_iface *ifc, const uint8_t *p,
    size_t len)
{
	uint8_t frame[L2_FRAME_MAX];
	struct l2_arp req;
	struct l2_addr *a;

	if (l2_arp_parse(p, len, &req) == -1 || req.op != L2_ARP_OP_REQUEST) {
		rs->ign_malformed++;
		return;
	}
	a = addr_lookup(rs, ADDR_AF_INET, req.tpa);
	if (a == NULL || !iface_on(a, ifc)) {
		rs->ign_not_owned++;
		return;
	}
	a->requests++;
	/* Someone's gratuitous ARP for our address, or our own frame: an
	 * answer would only add noise. */
	if (memcmp(req.spa, req.tpa, 4) == 0 ||
	    memcmp(req.sha, ifc->mac, L2_ETH_ALEN) == 0) {
		rs->ign_other++;
		return;
	}
	if (send_frame(rs, ifc, SK_ARP, frame,
	    l2_arp_build_reply(frame, sizeof(frame), ifc->mac, &req)) == 0)
		a->responses++;
}

static void
handle_ns(struct l2_responder *rs, struct l2_iface *ifc, const uint8_t *p,
    size_t len)
{
	uint8_t frame[L2_FRAME_MAX];
	struct l2_ns ns;
	struct l2_addr *a;

	if (l2_ns_parse(p, len, &ns) == -1) {
		rs->ign_malformed++;
		return;
	}
	a = addr_lookup(rs, ADDR_AF_INET6, ns.target);
	if (a == NULL || !iface_on(a, ifc)) {
		rs->ign_not_owned++;
		return;
	}
	a->requests++;
	if (memcmp(ns.eth_src, ifc->mac, L2_ETH_ALEN) == 0) {
		rs->ign_other++;
		return;
	}
	/* From the service address itself, as the kernel answers for its
	 * own addresses: never from whatever global address the interface
	 * lists first.  Not from the link-local either: a solicitor that
	 * matches the answer's scope to its query's (ndisc6 does) drops a
	 * link-local answer to a global query. */
	if (send_frame(rs, ifc, SK_ND, frame, l2_na_build_solicited(frame,
	    sizeof(frame), ifc->mac, a->bytes, &ns)) == 0)
		a->responses++;
}

static void
on_rx(evutil_socket_t fd, short what, void *arg)
{
	struct l2_iface *ifc = arg;
	struct l2_responder *rs = ifc->rs;
	int which = fd == ifc->fd[SK_ARP] ? SK_ARP : SK_ND;
	uint8_t buf[RX_BUFLEN];

	for (int i = 0; i < RX_BURST; i++) {
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		ssize_t n;

		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
		    &fromlen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_debug(MOD, "%s: recv: %s", ifc->name,
				    strerror(errno));
			return;
		}
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		ifc->rx[which]++;
		if (which == SK_ARP)
			handle_arp(rs, ifc, buf, (size_t)n);
		else
			handle_ns(rs, ifc, buf, (size_t)n);
	}
}

/* ---- announcer ops ------------------------------------------------------- */

static void
l2r_announce(void *ctx, const struct plan_route *r)
{
	struct l2_responder *rs = ctx;
	struct l2_addr *a, **v;
	char **services = NULL, **ifpat = NULL, *pool = NULL;
	bool found;
	size_t at;

	if (rs->stopped || r->backend != CFG_PROTO_LAYER2)
		return;
	/* Not ours (any more): stop answering this very moment. */
	if (!r->local) {
		at = addr_find(rs, &r->prefix.addr, &found);
		if (found) {
			char abuf[ADDR_STRLEN];

			log_info(MOD, "%s: owner is now %s, stopped answering",
			    addr_ntop(&r->prefix.addr, abuf, sizeof(abuf)),
			    r->owner != NULL ? r->owner : "(none)");
			addr_free(rs->addrs[at]);
			memmove(&rs->addrs[at], &rs->addrs[at + 1],
			    (rs->naddrs - at - 1) * sizeof(*rs->addrs));
			rs->naddrs--;
			rs->dirty = true;
		}
		return;
	}
	if (strv_dup(r->services, r->nservices, &services) == -1 ||
	    strv_dup(r->interfaces, r->ninterfaces, &ifpat) == -1 ||
	    (pool = strdup(r->pool != NULL ? r->pool : "-")) == NULL)
		fatalx("out of memory");
	at = addr_find(rs, &r->prefix.addr, &found);
	if (found) {
		a = rs->addrs[at];
		if (!strv_eq(a->ifpat, a->nifpat, ifpat, r->ninterfaces))
			rs->dirty = true;
		free(a->pool);
		strv_free(a->services, a->nservices);
		strv_free(a->ifpat, a->nifpat);
	} else {
		if ((a = calloc(1, sizeof(*a))) == NULL ||
		    (v = reallocarray(rs->addrs, rs->naddrs + 1, sizeof(*v))) == NULL)
			fatalx("out of memory");
		rs->addrs = v;
		memmove(&rs->addrs[at + 1], &rs->addrs[at],
		    (rs->naddrs - at) * sizeof(*rs->addrs));
		rs->addrs[at] = a;
		rs->naddrs++;
		a->rs = rs;
		a->addr = r->prefix.addr;
		addr_to_bytes(&a->addr, a->bytes);
		a->garp_pending = true;
		rs->dirty = true;
	}
	a->pool = pool;
	a->services = services;
	a->nservices = r->nservices;
	a->ifpat = ifpat;
	a->nifpat = r->ninterfaces;
}

static void
l2r_withdraw(void *ctx, const struct plan_route *r)
{
	struct l2_responder *rs = ctx;
	char abuf[ADDR_STRLEN];
	bool found;
	size_t at;

	if (r->backend != CFG_PROTO_LAYER2)
		return;
	at = addr_find(rs, &r->prefix.addr, &found);
	if (!found)
		return;
	log_info(MOD, "stopped answering for %s",
	    addr_ntop(&r->prefix.addr, abuf, sizeof(abuf)));
	addr_free(rs->addrs[at]);
	memmove(&rs->addrs[at], &rs->addrs[at + 1],
	    (rs->naddrs - at - 1) * sizeof(*rs->addrs));
	rs->naddrs--;
	rs->dirty = true;
}

static void
l2r_flush(void *ctx)
{
	struct l2_responder *rs = ctx;

	if (rs->stopped)
		return;
	if (rs->dirty)
		reconcile(rs);
	start_pending(rs);
}

static void
l2r_reconfigure(void *ctx, const struct cfg *old, const struct cfg *new)
{
	struct l2_responder *rs = ctx;
	char **v;

	if (new == NULL)
		return;
	if (strv_eq(rs->ifpat, rs->nifpat, new->layer2.interfaces,
	    new->layer2.ninterfaces))
		return;
	if (strv_dup(new->layer2.interfaces, new->layer2.ninterfaces, &v) == -1)
		fatalx("out of memory");
	strv_free(rs->ifpat, rs->nifpat);
	rs->ifpat = v;
	rs->nifpat = new->layer2.ninterfaces;
	rs->dirty = true;
}

static struct json_object *
strv_json(char *const *v, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

static void
l2r_status(void *ctx, struct json_object *out)
{
	struct l2_responder *rs = ctx;
	struct json_object *addrs, *ifaces, *ign, *sched;
	char buf[ADDR_STRLEN];

	if (out == NULL)
		return;
	addrs = json_object_new_array();
	ifaces = json_object_new_array();
	ign = json_object_new_object();
	sched = json_object_new_array();
	json_object_object_add(out, "node", json_object_new_string(rs->node));
	json_object_object_add(out, "interfaces_configured",
	    strv_json(rs->ifpat, rs->nifpat));
	for (size_t i = 0; i < GARP_STEPS; i++)
		json_object_array_add(sched, json_object_new_int(garp_ms[i]));
	json_object_object_add(out, "gratuitous_schedule_ms", sched);
	for (size_t j = 0; j < rs->naddrs; j++) {
		const struct l2_addr *a = rs->addrs[j];
		struct json_object *o = json_object_new_object(),
		    *on = json_object_new_array();

		for (size_t i = 0; i < a->non; i++)
			json_object_array_add(on,
			    json_object_new_string(a->on[i]->name));
		json_object_object_add(o, "address", json_object_new_string(
		    addr_ntop(&a->addr, buf, sizeof(buf))));
		json_object_object_add(o, "protocol", json_object_new_string(
		    a->addr.af == ADDR_AF_INET ? "arp" : "ndp"));
		json_object_object_add(o, "pool", json_object_new_string(a->pool));
		json_object_object_add(o, "services",
		    strv_json(a->services, a->nservices));
		json_object_object_add(o, "interfaces", on);
		json_object_object_add(o, "requests_received",
		    json_object_new_uint64(a->requests));
		json_object_object_add(o, "responses_sent",
		    json_object_new_uint64(a->responses));
		json_object_object_add(o, "gratuitous_sent",
		    json_object_new_uint64(a->gratuitous));
		json_object_object_add(o, "gratuitous_in_progress",
		    json_object_new_boolean(a->garp != NULL &&
		    evtimer_pending(a->garp, NULL)));
		json_object_array_add(addrs, o);
	}
	json_object_object_add(out, "addresses", addrs);
	for (size_t i = 0; i < rs->nifaces; i++) {
		const struct l2_iface *ifc = rs->ifaces[i];
		struct json_object *o;
		char mbuf[24];
		size_t n = 0;

		if (!iface_open(ifc) && ifc->last_error[0] == '\0')
			continue;	/* not wanted: not interesting */
		o = json_object_new_object();
		for (size_t j = 0; j < rs->naddrs; j++)
			n += iface_on(rs->addrs[j], ifc);
		json_object_object_add(o, "name", json_object_new_string(ifc->name));
		json_object_object_add(o, "ifindex", json_object_new_int(ifc->ifindex));
		json_object_object_add(o, "mac", json_object_new_string(
		    mac_str(ifc->mac, mbuf, sizeof(mbuf))));
		if (ifc->has_ll) {
			struct addr ll;

			addr_from_bytes(&ll, ADDR_AF_INET6, ifc->ll);
			json_object_object_add(o, "link_local", json_object_new_string(
			    addr_ntop(&ll, buf, sizeof(buf))));
		} else {
			json_object_object_add(o, "link_local", NULL);
		}
		json_object_object_add(o, "answering", json_object_new_boolean(
		    iface_open(ifc)));
		json_object_object_add(o, "addresses", json_object_new_uint64(n));
		json_object_object_add(o, "multicast_groups",
		    json_object_new_uint64(ifc->ngroups));
		json_object_object_add(o, "arp_frames_received",
		    json_object_new_uint64(ifc->rx[SK_ARP]));
		json_object_object_add(o, "ns_frames_received",
		    json_object_new_uint64(ifc->rx[SK_ND]));
		json_object_object_add(o, "last_error", ifc->last_error[0] ?
		    json_object_new_string(ifc->last_error) : NULL);
		json_object_array_add(ifaces, o);
	}
	json_object_object_add(out, "interfaces", ifaces);
	json_object_object_add(ign, "not_owned", json_object_new_uint64(rs->ign_not_owned));
	json_object_object_add(ign, "malformed", json_object_new_uint64(rs->ign_malformed));
	json_object_object_add(ign, "other", json_object_new_uint64(rs->ign_other));
	json_object_object_add(out, "ignored", ign);
	json_object_object_add(out, "send_errors", json_object_new_uint64(rs->send_errors));
}

static uint64_t m_req(const struct l2_addr *a) { return a->requests; }
static uint64_t m_resp(const struct l2_addr *a) { return a->responses; }
static uint64_t m_garp(const struct l2_addr *a) { return a->gratuitous; }

static void
l2r_metrics(void *ctx, struct evbuffer *b)
{
	struct l2_responder *rs = ctx;
	static const struct {
		const char *name, *help;
		uint64_t (*get)(const struct l2_addr *);
	} m[] = {
		{ "metallb_layer2_requests_received", "Number of layer2 requests received for owned IPs", m_req },
		{ "metallb_layer2_responses_sent", "Number of layer2 responses sent for owned IPs", m_resp },
		{ "metallb_layer2_gratuitous_sent", "Number of gratuitous layer2 packets sent for owned IPs as a result of failovers", m_garp },
	};
	char buf[ADDR_STRLEN];
	size_t open = 0;

	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n",
		    m[k].name, m[k].help, m[k].name);
		for (size_t j = 0; j < rs->naddrs; j++)
			evbuffer_add_printf(b, "%s{ip=\"%s\"} %llu\n", m[k].name,
			    addr_ntop(&rs->addrs[j]->addr, buf, sizeof(buf)),
			    (unsigned long long)m[k].get(rs->addrs[j]));
	}
	for (size_t i = 0; i < rs->nifaces; i++)
		open += iface_open(rs->ifaces[i]);
	evbuffer_add_printf(b,
	    "# HELP bgplb_layer2_addresses Addresses this node answers for\n"
	    "# TYPE bgplb_layer2_addresses gauge\n"
	    "bgplb_layer2_addresses %zu\n"
	    "# HELP bgplb_layer2_interfaces Interfaces with open ARP/NDP sockets\n"
	    "# TYPE bgplb_layer2_interfaces gauge\n"
	    "bgplb_layer2_interfaces %zu\n"
	    "# HELP bgplb_layer2_requests_ignored_total Requests not answered, by reason\n"
	    "# TYPE bgplb_layer2_requests_ignored_total counter\n"
	    "bgplb_layer2_requests_ignored_total{reason=\"not_owned\"} %llu\n"
	    "bgplb_layer2_requests_ignored_total{reason=\"malformed\"} %llu\n"
	    "bgplb_layer2_requests_ignored_total{reason=\"other\"} %llu\n"
	    "# HELP bgplb_layer2_send_errors_total Frames that could not be sent\n"
	    "# TYPE bgplb_layer2_send_errors_total counter\n"
	    "bgplb_layer2_send_errors_total %llu\n",
	    rs->naddrs, open, (unsigned long long)rs->ign_not_owned,
	    (unsigned long long)rs->ign_malformed,
	    (unsigned long long)rs->ign_other,
	    (unsigned long long)rs->send_errors);
}

static bool
l2r_announced(void *ctx, const struct plan_route *r)
{
	struct l2_responder *rs = ctx;
	bool found;
	size_t at;

	at = addr_find(rs, &r->prefix.addr, &found);
	return found && rs->addrs[at]->non > 0;
}

static void
forget_all(struct l2_responder *rs)
{
	for (size_t j = 0; j < rs->naddrs; j++)
		addr_free(rs->addrs[j]);
	free(rs->addrs);
	rs->addrs = NULL;
	rs->naddrs = 0;
	for (size_t i = 0; i < rs->nifaces; i++)
		iface_free(rs->ifaces[i]);
	free(rs->ifaces);
	rs->ifaces = NULL;
	rs->nifaces = 0;
}

static void
l2r_shutdown(void *ctx)
{
	struct l2_responder *rs = ctx;

	/* Nothing to say on the wire: the next owner's gratuitous
	 * announcements move the neighbours. */
	rs->stopped = true;
	if (rs->rescan != NULL)
		evtimer_del(rs->rescan);
	log_info(MOD, "shutting down: no longer answering for %zu address(es)",
	    rs->naddrs);
	forget_all(rs);
}

static void
l2r_destroy(void *ctx)
{
	struct l2_responder *rs = ctx;

	if (rs == NULL)
		return;
	forget_all(rs);
	if (rs->mld_fd != -1)
		close(rs->mld_fd);
	if (rs->rescan != NULL)
		event_free(rs->rescan);
	strv_free(rs->ifpat, rs->nifpat);
	free(rs->node);
	free(rs);
}

static const struct announcer_ops l2_ops = {
	.name = "layer2",
	.backend = CFG_PROTO_LAYER2,
	.announce = l2r_announce,
	.withdraw = l2r_withdraw,
	.flush = l2r_flush,
	.reconfigure = l2r_reconfigure,
	.status = l2r_status,
	.metrics = l2r_metrics,
	.announced = l2r_announced,
	.shutdown = l2r_shutdown,
	.destroy = l2r_destroy,
};

/*
 * Send gratuitous ARP / unsolicited NA again for every address we own.  The
 * core calls it when membership changes: after a false death (heartbeats
 * lost for a moment) the others took our addresses and announced them; when
 * we are seen again they stop answering, but our own plan never changed,
 * so without this the clients would keep the other node's MAC until their
 * neighbour entries expire.
 */
void
l2_responder_reannounce(struct announcer *an)
{
	struct l2_responder *rs = an->ctx;

	if (rs->stopped)
		return;
	for (size_t i = 0; i < rs->naddrs; i++)
		garp_start(rs, rs->addrs[i]);
}

struct announcer *
l2_responder_new(struct event_base *base, const char *node)
{
	struct timeval tv = { RESCAN_MS / 1000, (RESCAN_MS % 1000) * 1000 };
	struct announcer *a = NULL;
	struct l2_responder *rs = NULL;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (rs = calloc(1, sizeof(*rs))) == NULL ||
	    (rs->node = strdup(node != NULL ? node : "")) == NULL)
		goto fail;
	rs->base = base;
	rs->mld_fd = -1;
	if ((rs->rescan = event_new(base, -1, EV_PERSIST, on_rescan, rs)) == NULL ||
	    event_add(rs->rescan, &tv) == -1)
		goto fail;
	a->ops = &l2_ops;
	a->ctx = rs;
	return a;
fail:
	if (rs != NULL) {
		if (rs->rescan != NULL)
			event_free(rs->rescan);
		free(rs->node);
		free(rs);
	}
	free(a);
	return NULL;
}

/*
 * l2_iface.c - the layer 2 responder's links: finding them, their packet
 * sockets and multicast groups, and answering what arrives on them.
 *
 * Per interface, two AF_PACKET sockets (ARP and IPv6; CLOEXEC|NONBLOCK, a
 * BPF filter that lets only ARP requests and ICMPv6 Neighbor Solicitations
 * through), opened only while some owned address is answered there.  For
 * each IPv6 address we join its solicited-node group (33:33:ff:xx:xx:xx)
 * with PACKET_ADD_MEMBERSHIP on the IPv6 packet socket, which opens the
 * NIC's filter and needs IPv6 neither on the link nor in the kernel.
 * Switches that snoop MLD forward the group only to ports that reported
 * it, and a packet membership sends no report; so we also join the IPv6
 * group (ff02::1:ffxx:xxxx) on one AF_INET6 datagram socket, best effort,
 * which makes the kernel send MLD reports where IPv6 is enabled.
 *
 * A request is answered only for an address in the table on the interface
 * it arrived on; solicited NAs leave from the service address, the target.
 * Nothing a remote sends can do more than bump a counter.  Which addresses
 * answer where, and the gratuitous announcements, are l2_responder.c.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "bgplb/log.h"
#include "bgplb/util.h"
#include "l2_packet.h"
#include "l2_iface.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING	23
#endif

#define MOD		"layer2"
#define RX_BURST	64		/* frames per socket per loop turn */
#define RX_BUFLEN	2048

/* The table entry for a request's target address, or NULL. */
static struct l2_addr *
addr_lookup(const struct l2_responder *rs, uint8_t af, const uint8_t *bytes)
{
	struct addr x;
	bool found;
	size_t at;

	addr_from_bytes(&x, af, bytes);
	at = l2_addr_find(rs, &x, &found);
	return found ? rs->addrs[at] : NULL;
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

void
l2_iface_close(struct l2_iface *ifc)
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

bool
l2_iface_is_open(const struct l2_iface *ifc)
{
	return ifc->fd[SK_ARP] != -1 && ifc->fd[SK_ND] != -1;
}

int
l2_iface_ensure_open(struct l2_iface *ifc)
{
	for (int i = 0; i < SK_N; i++)
		if (ifc->fd[i] == -1 && sock_open(ifc, i) == -1) {
			l2_iface_close(ifc);
			return -1;
		}
	if (ifc->last_error[0] != '\0')
		log_info(MOD, "%s: sockets open again", ifc->name);
	ifc->last_error[0] = '\0';
	return 0;
}

void
l2_iface_free(struct l2_iface *ifc)
{
	if (ifc == NULL)
		return;
	l2_iface_close(ifc);
	free(ifc);
}

int
l2_iface_send(struct l2_responder *rs, struct l2_iface *ifc, int which,
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
void
l2_iface_sync_groups(struct l2_responder *rs, struct l2_iface *ifc)
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
		want = xreallocarray(want, nwant + 1, sizeof(*want));
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

/* ---- interface scan ------------------------------------------------------ */

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
	struct l2_iface *ifc;

	if ((ifc = iface_by_name(rs, name)) != NULL)
		return ifc;
	ifc = xcalloc(1, sizeof(*ifc));
	rs->ifaces = xreallocarray(rs->ifaces, rs->nifaces + 1,
	    sizeof(*rs->ifaces));
	ifc->rs = rs;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	for (int i = 0; i < SK_N; i++)
		ifc->fd[i] = -1;
	rs->ifaces[rs->nifaces++] = ifc;
	return ifc;
}

/* Re-read links and link-local addresses.  -1: keep what we had. */
int
l2_iface_scan(struct l2_responder *rs)
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
			l2_iface_close(ifc);
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

bool
l2_iface_usable(const struct l2_iface *ifc)
{
	static const uint8_t zero[L2_ETH_ALEN];

	/* IFF_RUNNING: with the carrier gone nobody hears us, and when it
	 * comes back the link counts as new, which re-sends gratuitous ARP. */
	return ifc->seen && (ifc->flags & IFF_UP) && (ifc->flags & IFF_RUNNING) &&
	    !(ifc->flags & IFF_LOOPBACK) &&
	    ifc->hatype == ARPHRD_ETHER && memcmp(ifc->mac, zero, L2_ETH_ALEN) != 0;
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
	if (l2_iface_send(rs, ifc, SK_ARP, frame,
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
	if (l2_iface_send(rs, ifc, SK_ND, frame, l2_na_build_solicited(frame,
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

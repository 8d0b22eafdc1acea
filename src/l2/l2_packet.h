/*
 * l2_packet.h - ARP (RFC 826) and NDP (RFC 4861) frames, built and parsed.
 *
 * Pure functions over caller-supplied buffers, as keepalived's vrrp_arp.c
 * and vrrp_ndisc.c do it: nothing here opens a socket, reads a clock or
 * allocates, so every frame is tested byte for byte.  Frames are whole
 * Ethernet II frames (destination, source, ethertype first), because the
 * responder sends and receives on SOCK_RAW packet sockets.
 *
 * Builders return the frame length, or 0 when the buffer is too small.
 * Parsers return 0 and fill the struct, or -1 for anything that is not a
 * well-formed frame of their kind; they read through a bounded reader and
 * never look past `len`.
 */
#ifndef BGPLB_L2_PACKET_H
#define BGPLB_L2_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define L2_ETH_ALEN		6
#define L2_ETH_HLEN		14
#define L2_ETHERTYPE_ARP	0x0806
#define L2_ETHERTYPE_IPV4	0x0800
#define L2_ETHERTYPE_IPV6	0x86dd

#define L2_ARP_HTYPE_ETHER	1
#define L2_ARP_OP_REQUEST	1
#define L2_ARP_OP_REPLY		2
#define L2_ARP_LEN		28
#define L2_ARP_FRAME_LEN	(L2_ETH_HLEN + L2_ARP_LEN)		/* 42 */

#define L2_IP6_HLEN		40
#define L2_IPPROTO_ICMPV6	58
#define L2_ND_HOPLIMIT		255
#define L2_ICMP6_NS		135
#define L2_ICMP6_NA		136
#define L2_ND_OPT_SLLA		1
#define L2_ND_OPT_TLLA		2
#define L2_NA_FLAG_ROUTER	0x80
#define L2_NA_FLAG_SOLICITED	0x40
#define L2_NA_FLAG_OVERRIDE	0x20
#define L2_NS_MINLEN		24		/* type..target */
#define L2_NA_LEN		(24 + 8)	/* NA + target link-layer option */
#define L2_NA_FRAME_LEN		(L2_ETH_HLEN + L2_IP6_HLEN + L2_NA_LEN)	/* 86 */

/* Large enough for any frame this module builds. */
#define L2_FRAME_MAX		128

/* A parsed ARP packet (Ethernet/IPv4 only), with its Ethernet addresses. */
struct l2_arp {
	uint8_t		eth_dst[L2_ETH_ALEN];
	uint8_t		eth_src[L2_ETH_ALEN];
	uint16_t	op;
	uint8_t		sha[L2_ETH_ALEN];
	uint8_t		spa[4];
	uint8_t		tha[L2_ETH_ALEN];
	uint8_t		tpa[4];
};

/* A parsed, validated Neighbor Solicitation (RFC 4861 section 7.1.1). */
struct l2_ns {
	uint8_t		eth_dst[L2_ETH_ALEN];
	uint8_t		eth_src[L2_ETH_ALEN];
	uint8_t		src[16];
	uint8_t		dst[16];
	uint8_t		target[16];
	bool		has_slla;
	uint8_t		slla[L2_ETH_ALEN];	/* source link-layer address option */
};

/* ---- parsing ----------------------------------------------------------- */

int	l2_arp_parse(const uint8_t *frame, size_t len, struct l2_arp *out);
/* Checks version, next header (no extension headers), hop limit 255,
 * lengths, code, checksum, target not multicast, option lengths, and the
 * unspecified-source rules (solicited-node destination, no SLLA). */
int	l2_ns_parse(const uint8_t *frame, size_t len, struct l2_ns *out);

/* ---- building ---------------------------------------------------------- */

size_t	l2_arp_build(uint8_t *buf, size_t buflen,
	    const uint8_t eth_dst[L2_ETH_ALEN], uint16_t op,
	    const uint8_t sha[L2_ETH_ALEN], const uint8_t spa[4],
	    const uint8_t tha[L2_ETH_ALEN], const uint8_t tpa[4]);
/* The answer to `req` from `mac`: sender = (mac, req->tpa), target = the
 * requester's (sha, spa), sent to the requester's sha. */
size_t	l2_arp_build_reply(uint8_t *buf, size_t buflen,
	    const uint8_t mac[L2_ETH_ALEN], const struct l2_arp *req);
/* Gratuitous ARP, broadcast, spa = tpa = ip.  A request carries a zero
 * target hardware address (RFC 5227 section 2.1.1); a reply carries the
 * broadcast address, as MetalLB and most switches expect. */
size_t	l2_garp_build(uint8_t *buf, size_t buflen,
	    const uint8_t mac[L2_ETH_ALEN], const uint8_t ip[4], uint16_t op);

/* A Neighbor Advertisement with the target link-layer option = eth_src. */
size_t	l2_na_build(uint8_t *buf, size_t buflen,
	    const uint8_t eth_dst[L2_ETH_ALEN], const uint8_t eth_src[L2_ETH_ALEN],
	    const uint8_t src[16], const uint8_t dst[16], const uint8_t target[16],
	    uint8_t flags);
/* Unsolicited: to 33:33:00:00:00:01 / ff02::1, override flag only. */
size_t	l2_na_build_unsolicited(uint8_t *buf, size_t buflen,
	    const uint8_t mac[L2_ETH_ALEN], const uint8_t src[16],
	    const uint8_t target[16]);
/*
 * The answer to `ns` (RFC 4861 section 7.2.4): solicited + override, to the
 * solicitor's address and link-layer address (SLLA option, else the frame's
 * source); an NS from the unspecified address (DAD) is answered to
 * ff02::1 without the solicited flag.
 */
size_t	l2_na_build_solicited(uint8_t *buf, size_t buflen,
	    const uint8_t mac[L2_ETH_ALEN], const uint8_t src[16],
	    const struct l2_ns *ns);

/* ---- helpers ----------------------------------------------------------- */

/* ICMPv6 checksum (RFC 4443 section 2.3) over the pseudo-header and a
 * contiguous message whose checksum field holds what it holds: 0 to
 * compute one, the received value to verify (a correct message sums to 0). */
uint16_t l2_icmp6_cksum(const uint8_t src[16], const uint8_t dst[16],
	    const uint8_t *msg, size_t len);
/* ff02::1:ffXX:XXXX and its Ethernet group 33:33:ff:XX:XX:XX (RFC 2464). */
void	l2_solicited_node(const uint8_t addr[16], uint8_t group[16],
	    uint8_t mac[L2_ETH_ALEN]);
/*
 * Is this interface name one the responder skips when no `interfaces` list
 * is configured?  lo and the virtual links of container runtimes and CNIs
 * (MetalLB's exclusions and then some): answering there would leak service
 * addresses into pods and overlays.  Pure, so it lives here and is tested.
 */
bool	l2_iface_default_excluded(const char *name);

#endif

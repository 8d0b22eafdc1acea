/*
 * l2_packet.c - ARP and NDP frames as pure functions (see l2_packet.h).
 *
 * Input goes through one bounded reader (struct rd): every get returns -1
 * on a short read, so a truncated or garbage frame is a parse error, never
 * an out-of-bounds read.  Output goes through one bounded writer (struct
 * wr) whose errors accumulate and are checked once, OpenBGPD style.
 */
#include <string.h>

#include "l2_packet.h"

static const uint8_t eth_broadcast[L2_ETH_ALEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};
static const uint8_t eth_allnodes[L2_ETH_ALEN] = {
	0x33, 0x33, 0x00, 0x00, 0x00, 0x01
};
static const uint8_t ip6_allnodes[16] = {
	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
};
static const uint8_t zero6[L2_ETH_ALEN];
static const uint8_t zero16[16];

/* ---- bounded reader ------------------------------------------------------ */

struct rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

static int
rd_skip(struct rd *r, size_t n)
{
	if (r->len - r->off < n)
		return -1;
	r->off += n;
	return 0;
}

static int
rd_n(struct rd *r, void *out, size_t n)
{
	if (r->len - r->off < n)
		return -1;
	memcpy(out, r->p + r->off, n);
	r->off += n;
	return 0;
}

static int
rd_u8(struct rd *r, uint8_t *v)
{
	return rd_n(r, v, 1);
}

static int
rd_u16(struct rd *r, uint16_t *v)
{
	uint8_t b[2];

	if (rd_n(r, b, 2) == -1)
		return -1;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return 0;
}

/* ---- bounded writer ------------------------------------------------------ */

struct wr {
	uint8_t		*p;
	size_t		 len;
	size_t		 off;
};

static int
wr_n(struct wr *w, const void *in, size_t n)
{
	if (w->len - w->off < n)
		return 1;
	memcpy(w->p + w->off, in, n);
	w->off += n;
	return 0;
}

static int
wr_u8(struct wr *w, uint8_t v)
{
	return wr_n(w, &v, 1);
}

static int
wr_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return wr_n(w, b, 2);
}

static int
wr_eth(struct wr *w, const uint8_t dst[L2_ETH_ALEN],
    const uint8_t src[L2_ETH_ALEN], uint16_t type)
{
	int errs = 0;

	errs += wr_n(w, dst, L2_ETH_ALEN);
	errs += wr_n(w, src, L2_ETH_ALEN);
	errs += wr_u16(w, type);
	return errs;
}

/* ---- checksum ------------------------------------------------------------ */

static uint32_t
sum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len == 1)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t
l2_icmp6_cksum(const uint8_t src[16], const uint8_t dst[16],
    const uint8_t *msg, size_t len)
{
	uint8_t ph[8];
	uint32_t sum = 0;

	/* Pseudo-header: src, dst, 32-bit length, 3 zero bytes, next header. */
	ph[0] = (uint8_t)(len >> 24);
	ph[1] = (uint8_t)(len >> 16);
	ph[2] = (uint8_t)(len >> 8);
	ph[3] = (uint8_t)len;
	ph[4] = ph[5] = ph[6] = 0;
	ph[7] = L2_IPPROTO_ICMPV6;
	sum = sum_bytes(sum, src, 16);
	sum = sum_bytes(sum, dst, 16);
	sum = sum_bytes(sum, ph, sizeof(ph));
	/* Fold per chunk: a frame is far below 2^16 words, so no overflow. */
	sum = sum_bytes(sum, msg, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void
l2_solicited_node(const uint8_t addr[16], uint8_t group[16],
    uint8_t mac[L2_ETH_ALEN])
{
	static const uint8_t prefix[13] = {
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff
	};

	if (group != NULL) {
		memcpy(group, prefix, sizeof(prefix));
		memcpy(group + 13, addr + 13, 3);
	}
	if (mac != NULL) {
		mac[0] = 0x33;
		mac[1] = 0x33;
		mac[2] = 0xff;
		memcpy(mac + 3, addr + 13, 3);
	}
}

/* ---- ARP ----------------------------------------------------------------- */

int
l2_arp_parse(const uint8_t *frame, size_t len, struct l2_arp *out)
{
	struct rd r = { frame, len, 0 };
	uint16_t type, htype, ptype;
	uint8_t hlen, plen;

	if (frame == NULL || out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (rd_n(&r, out->eth_dst, L2_ETH_ALEN) == -1 ||
	    rd_n(&r, out->eth_src, L2_ETH_ALEN) == -1 ||
	    rd_u16(&r, &type) == -1 || type != L2_ETHERTYPE_ARP)
		return -1;
	if (rd_u16(&r, &htype) == -1 || rd_u16(&r, &ptype) == -1 ||
	    rd_u8(&r, &hlen) == -1 || rd_u8(&r, &plen) == -1 ||
	    rd_u16(&r, &out->op) == -1)
		return -1;
	/* Only Ethernet/IPv4 ARP carries addresses we could own. */
	if (htype != L2_ARP_HTYPE_ETHER || ptype != L2_ETHERTYPE_IPV4 ||
	    hlen != L2_ETH_ALEN || plen != 4)
		return -1;
	if (out->op != L2_ARP_OP_REQUEST && out->op != L2_ARP_OP_REPLY)
		return -1;
	if (rd_n(&r, out->sha, L2_ETH_ALEN) == -1 ||
	    rd_n(&r, out->spa, 4) == -1 ||
	    rd_n(&r, out->tha, L2_ETH_ALEN) == -1 ||
	    rd_n(&r, out->tpa, 4) == -1)
		return -1;
	/* Trailing bytes are Ethernet padding to 60 bytes: ignored. */
	return 0;
}

size_t
l2_arp_build(uint8_t *buf, size_t buflen, const uint8_t eth_dst[L2_ETH_ALEN],
    uint16_t op, const uint8_t sha[L2_ETH_ALEN], const uint8_t spa[4],
    const uint8_t tha[L2_ETH_ALEN], const uint8_t tpa[4])
{
	struct wr w = { buf, buf != NULL ? buflen : 0, 0 };
	int errs = 0;

	errs += wr_eth(&w, eth_dst, sha, L2_ETHERTYPE_ARP);
	errs += wr_u16(&w, L2_ARP_HTYPE_ETHER);
	errs += wr_u16(&w, L2_ETHERTYPE_IPV4);
	errs += wr_u8(&w, L2_ETH_ALEN);
	errs += wr_u8(&w, 4);
	errs += wr_u16(&w, op);
	errs += wr_n(&w, sha, L2_ETH_ALEN);
	errs += wr_n(&w, spa, 4);
	errs += wr_n(&w, tha, L2_ETH_ALEN);
	errs += wr_n(&w, tpa, 4);
	return errs ? 0 : w.off;
}

size_t
l2_arp_build_reply(uint8_t *buf, size_t buflen, const uint8_t mac[L2_ETH_ALEN],
    const struct l2_arp *req)
{
	return l2_arp_build(buf, buflen, req->sha, L2_ARP_OP_REPLY, mac,
	    req->tpa, req->sha, req->spa);
}

size_t
l2_garp_build(uint8_t *buf, size_t buflen, const uint8_t mac[L2_ETH_ALEN],
    const uint8_t ip[4], uint16_t op)
{
	return l2_arp_build(buf, buflen, eth_broadcast, op, mac, ip,
	    op == L2_ARP_OP_REQUEST ? zero6 : eth_broadcast, ip);
}

/* ---- NDP ----------------------------------------------------------------- */

static bool
is_solicited_node(const uint8_t a[16])
{
	uint8_t g[16];

	l2_solicited_node(a, g, NULL);
	return memcmp(a, g, 13) == 0;
}

int
l2_ns_parse(const uint8_t *frame, size_t len, struct l2_ns *out)
{
	struct rd r = { frame, len, 0 }, icmp;
	uint16_t type, plen;
	uint8_t vtc, nh, hlim, itype, code, pad[4];
	bool unspec;

	if (frame == NULL || out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (rd_n(&r, out->eth_dst, L2_ETH_ALEN) == -1 ||
	    rd_n(&r, out->eth_src, L2_ETH_ALEN) == -1 ||
	    rd_u16(&r, &type) == -1 || type != L2_ETHERTYPE_IPV6)
		return -1;
	if (rd_u8(&r, &vtc) == -1 || (vtc >> 4) != 6 || rd_skip(&r, 3) == -1 ||
	    rd_u16(&r, &plen) == -1 || rd_u8(&r, &nh) == -1 ||
	    rd_u8(&r, &hlim) == -1 || rd_n(&r, out->src, 16) == -1 ||
	    rd_n(&r, out->dst, 16) == -1)
		return -1;
	/* RFC 4861 7.1.1: hop limit 255 proves the sender is on-link. */
	if (nh != L2_IPPROTO_ICMPV6 || hlim != L2_ND_HOPLIMIT)
		return -1;
	/* The payload; anything after it is Ethernet padding. */
	if (plen < L2_NS_MINLEN || r.len - r.off < plen)
		return -1;
	icmp.p = r.p + r.off;
	icmp.len = plen;
	icmp.off = 0;
	if (l2_icmp6_cksum(out->src, out->dst, icmp.p, icmp.len) != 0)
		return -1;
	if (rd_u8(&icmp, &itype) == -1 || itype != L2_ICMP6_NS ||
	    rd_u8(&icmp, &code) == -1 || code != 0 ||
	    rd_skip(&icmp, 2) == -1 || rd_n(&icmp, pad, 4) == -1 ||
	    rd_n(&icmp, out->target, 16) == -1)
		return -1;
	if (out->target[0] == 0xff)
		return -1;
	while (icmp.off < icmp.len) {
		struct rd opt;
		uint8_t otype, olen;

		if (rd_u8(&icmp, &otype) == -1 || rd_u8(&icmp, &olen) == -1)
			return -1;
		/* A zero length would loop forever: RFC 4861 says discard. */
		if (olen == 0)
			return -1;
		opt.p = icmp.p + icmp.off;
		opt.len = (size_t)olen * 8 - 2;
		opt.off = 0;
		if (rd_skip(&icmp, opt.len) == -1)
			return -1;
		if (otype == L2_ND_OPT_SLLA) {
			/* Ethernet's option is exactly 8 bytes (RFC 2464). */
			if (olen != 1 || rd_n(&opt, out->slla, L2_ETH_ALEN) == -1)
				return -1;
			out->has_slla = true;
		}
	}
	unspec = memcmp(out->src, zero16, 16) == 0;
	if (unspec && (!is_solicited_node(out->dst) || out->has_slla))
		return -1;
	if (out->src[0] == 0xff)
		return -1;
	return 0;
}

size_t
l2_na_build(uint8_t *buf, size_t buflen, const uint8_t eth_dst[L2_ETH_ALEN],
    const uint8_t eth_src[L2_ETH_ALEN], const uint8_t src[16],
    const uint8_t dst[16], const uint8_t target[16], uint8_t flags)
{
	static const uint8_t reserved[3];
	struct wr w = { buf, buf != NULL ? buflen : 0, 0 };
	size_t icmp_at;
	uint16_t ck;
	int errs = 0;

	errs += wr_eth(&w, eth_dst, eth_src, L2_ETHERTYPE_IPV6);
	errs += wr_u8(&w, 0x60);		/* version 6, class 0 */
	errs += wr_n(&w, reserved, 3);		/* class, flow label 0 */
	errs += wr_u16(&w, L2_NA_LEN);
	errs += wr_u8(&w, L2_IPPROTO_ICMPV6);
	errs += wr_u8(&w, L2_ND_HOPLIMIT);
	errs += wr_n(&w, src, 16);
	errs += wr_n(&w, dst, 16);
	icmp_at = w.off;
	errs += wr_u8(&w, L2_ICMP6_NA);
	errs += wr_u8(&w, 0);
	errs += wr_u16(&w, 0);			/* checksum, filled below */
	errs += wr_u8(&w, flags);
	errs += wr_n(&w, reserved, 3);
	errs += wr_n(&w, target, 16);
	errs += wr_u8(&w, L2_ND_OPT_TLLA);
	errs += wr_u8(&w, 1);			/* 8 bytes */
	errs += wr_n(&w, eth_src, L2_ETH_ALEN);
	if (errs)
		return 0;
	ck = l2_icmp6_cksum(src, dst, buf + icmp_at, L2_NA_LEN);
	buf[icmp_at + 2] = (uint8_t)(ck >> 8);
	buf[icmp_at + 3] = (uint8_t)ck;
	return w.off;
}

size_t
l2_na_build_unsolicited(uint8_t *buf, size_t buflen,
    const uint8_t mac[L2_ETH_ALEN], const uint8_t src[16],
    const uint8_t target[16])
{
	return l2_na_build(buf, buflen, eth_allnodes, mac, src, ip6_allnodes,
	    target, L2_NA_FLAG_OVERRIDE);
}

size_t
l2_na_build_solicited(uint8_t *buf, size_t buflen,
    const uint8_t mac[L2_ETH_ALEN], const uint8_t src[16],
    const struct l2_ns *ns)
{
	if (memcmp(ns->src, zero16, 16) == 0)
		return l2_na_build(buf, buflen, eth_allnodes, mac, src,
		    ip6_allnodes, ns->target, L2_NA_FLAG_OVERRIDE);
	return l2_na_build(buf, buflen, ns->has_slla ? ns->slla : ns->eth_src,
	    mac, src, ns->src, ns->target,
	    L2_NA_FLAG_SOLICITED | L2_NA_FLAG_OVERRIDE);
}

bool
l2_iface_default_excluded(const char *name)
{
	static const char *const prefixes[] = {
		"docker", "veth", "cali", "flannel", "cni", "cbr", "kube-ipvs",
		"kube-bridge", "nodelocaldns", "vxlan", "tunl", "cilium", "lxc",
		"weave", "genev", "virbr",
	};

	if (name == NULL || strcmp(name, "lo") == 0)
		return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

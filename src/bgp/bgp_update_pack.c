/*
 * bgp_update_pack.c - UPDATE packing: the sending side of bgp_update.c.
 *
 * Packing builds the attributes before and after MP_REACH_NLRI once, then
 * fills each message with as many prefixes as fit, so attribute order is
 * ascending type code and every message stays within max_msg_len.  The
 * End-of-RIB marker (an empty UPDATE) is built here too.
 */
#include <stdlib.h>
#include <string.h>

#include "bgp_msg.h"

/* Attribute header with the extended length bit only when needed. */
static void
attr_hdr(struct bgp_wbuf *wb, uint8_t flags, uint8_t type, size_t len)
{
	if (len > 255) {
		bgp_wbuf_add_u8(wb, flags | BGP_ATTRF_EXTLEN);
		bgp_wbuf_add_u8(wb, type);
		bgp_wbuf_add_u16(wb, (uint16_t)len);
	} else {
		bgp_wbuf_add_u8(wb, flags);
		bgp_wbuf_add_u8(wb, type);
		bgp_wbuf_add_u8(wb, (uint8_t)len);
	}
	if (len > 65535)
		wb->err = 1;
}

/* AS_SEQUENCE segments of at most 255 ASes, in w-byte form. */
static void
as_path_put(struct bgp_wbuf *wb, uint8_t flags, uint8_t type,
    const uint32_t *as, size_t n, unsigned w)
{
	size_t segs = (n + 254) / 255, i, k;

	attr_hdr(wb, flags, type, segs * 2 + n * w);
	for (i = 0; i < n; i += k) {
		k = n - i > 255 ? 255 : n - i;
		bgp_wbuf_add_u8(wb, BGP_AS_SEQUENCE);
		bgp_wbuf_add_u8(wb, (uint8_t)k);
		for (size_t j = 0; j < k; j++) {
			if (w == 4)
				bgp_wbuf_add_u32(wb, as[i + j]);
			else
				bgp_wbuf_add_u16(wb, as[i + j] > 65535 ?
				    BGP_AS_TRANS : (uint16_t)as[i + j]);
		}
	}
}

static void
addr_put(struct bgp_wbuf *wb, const struct addr *a)
{
	uint8_t b[16];

	addr_to_bytes(a, b);
	bgp_wbuf_add(wb, b, a->af == ADDR_AF_INET ? 4 : 16);
}

/* Attributes with type codes below MP_REACH_NLRI (14). */
static void
attrs_pre(const struct bgp_attrs *a, bool classic, struct bgp_wbuf *wb)
{
	size_t i;

	bgp_wbuf_add_u8(wb, BGP_ATTRF_TRANSITIVE);
	bgp_wbuf_add_u8(wb, BGP_ATTR_ORIGIN);
	bgp_wbuf_add_u8(wb, 1);
	bgp_wbuf_add_u8(wb, a->origin);

	as_path_put(wb, BGP_ATTRF_TRANSITIVE, BGP_ATTR_AS_PATH, a->as_path,
	    a->as_path_n, a->as4 ? 4 : 2);

	if (classic) {
		attr_hdr(wb, BGP_ATTRF_TRANSITIVE, BGP_ATTR_NEXT_HOP, 4);
		addr_put(wb, &a->nexthop4);
	}
	if (a->has_med) {
		attr_hdr(wb, BGP_ATTRF_OPTIONAL, BGP_ATTR_MED, 4);
		bgp_wbuf_add_u32(wb, a->med);
	}
	if (a->has_local_pref) {
		attr_hdr(wb, BGP_ATTRF_TRANSITIVE, BGP_ATTR_LOCAL_PREF, 4);
		bgp_wbuf_add_u32(wb, a->local_pref);
	}
	if (a->n_communities > 0) {
		attr_hdr(wb, BGP_ATTRF_OPTIONAL | BGP_ATTRF_TRANSITIVE,
		    BGP_ATTR_COMMUNITIES, a->n_communities * 4);
		for (i = 0; i < a->n_communities; i++)
			bgp_wbuf_add_u32(wb, a->communities[i]);
	}
}

/* Attributes with type codes above MP_UNREACH_NLRI (15). */
static void
attrs_post(const struct bgp_attrs *a, struct bgp_wbuf *wb)
{
	size_t i;
	bool need4 = false;

	if (a->n_ext_communities > 0) {
		attr_hdr(wb, BGP_ATTRF_OPTIONAL | BGP_ATTRF_TRANSITIVE,
		    BGP_ATTR_EXT_COMMUNITIES, a->n_ext_communities * 8);
		for (i = 0; i < a->n_ext_communities; i++) {
			bgp_wbuf_add_u32(wb,
			    (uint32_t)(a->ext_communities[i] >> 32));
			bgp_wbuf_add_u32(wb, (uint32_t)a->ext_communities[i]);
		}
	}
	/* RFC 6793 4.2.2: an OLD peer gets AS_TRANS in AS_PATH and the
	 * real path in AS4_PATH, only when some AS needs four bytes. */
	for (i = 0; i < a->as_path_n; i++)
		if (a->as_path[i] > 65535)
			need4 = true;
	if (!a->as4 && need4)
		as_path_put(wb, BGP_ATTRF_OPTIONAL | BGP_ATTRF_TRANSITIVE,
		    BGP_ATTR_AS4_PATH, a->as_path, a->as_path_n, 4);
	if (a->n_large_communities > 0) {
		attr_hdr(wb, BGP_ATTRF_OPTIONAL | BGP_ATTRF_TRANSITIVE,
		    BGP_ATTR_LARGE_COMMUNITY, a->n_large_communities * 12);
		for (i = 0; i < a->n_large_communities; i++) {
			bgp_wbuf_add_u32(wb, a->large_communities[i].global);
			bgp_wbuf_add_u32(wb, a->large_communities[i].local1);
			bgp_wbuf_add_u32(wb, a->large_communities[i].local2);
		}
	}
}

/* Wire size of one NLRI entry. */
static size_t
nlri_size(const struct bgp_nlri *n, bool vpn)
{
	return 1 + (vpn ? 11 : 0) + ((size_t)n->pfx.len + 7) / 8;
}

static void
nlri_put(struct bgp_wbuf *wb, const struct bgp_nlri *n, bool vpn,
    bool withdraw)
{
	uint8_t b[16];
	uint32_t lab;
	int i;

	bgp_wbuf_add_u8(wb, (uint8_t)(n->pfx.len + (vpn ? 88 : 0)));
	if (vpn) {
		/* One label with bottom-of-stack set; 0x800000 on withdraw. */
		lab = withdraw ? BGP_LABEL_WITHDRAW :
		    ((n->label & 0xfffff) << 4 | 1);
		bgp_wbuf_add_u8(wb, (uint8_t)(lab >> 16));
		bgp_wbuf_add_u8(wb, (uint8_t)(lab >> 8));
		bgp_wbuf_add_u8(wb, (uint8_t)lab);
		for (i = 7; i >= 0; i--)
			bgp_wbuf_add_u8(wb, (uint8_t)(n->rd >> (i * 8)));
	}
	addr_to_bytes(&n->pfx.addr, b);
	bgp_wbuf_add(wb, b, ((size_t)n->pfx.len + 7) / 8);
}

/* Check the family and every prefix before building anything. */
static int
pack_check(uint16_t afi, uint8_t safi, const struct bgp_nlri *nlri,
    size_t count, size_t max_msg_len)
{
	uint8_t af = afi == BGP_AFI_IPV4 ? ADDR_AF_INET : ADDR_AF_INET6;
	size_t i;

	if (!bgp_family_supported(afi, safi) || max_msg_len < BGP_MAX_MSG_LEN ||
	    max_msg_len > BGP_MAX_EXT_MSG_LEN)
		return -1;
	for (i = 0; i < count; i++)
		if (nlri[i].pfx.addr.af != af ||
		    nlri[i].pfx.len > addr_bits(af))
			return -1;
	return 0;
}

/* MP_REACH next hop: RD of zeros for VPN, link-local appended for IPv6. */
static int
mp_nexthop(const struct bgp_attrs *a, uint16_t afi, uint8_t safi,
    struct bgp_wbuf *nh)
{
	bool vpn = safi == BGP_SAFI_MPLS_VPN;

	if (afi == BGP_AFI_IPV4) {
		if (a->nexthop4.af != ADDR_AF_INET)
			return -1;
		if (vpn)
			bgp_wbuf_add_zero(nh, 8);
		addr_put(nh, &a->nexthop4);
	} else {
		if (a->nexthop6.af != ADDR_AF_INET6)
			return -1;
		if (vpn)
			bgp_wbuf_add_zero(nh, 8);
		addr_put(nh, &a->nexthop6);
		if (a->has_nexthop6_ll) {
			if (a->nexthop6_ll.af != ADDR_AF_INET6)
				return -1;
			if (vpn)
				bgp_wbuf_add_zero(nh, 8);
			addr_put(nh, &a->nexthop6_ll);
		}
	}
	return bgp_wbuf_error(nh);
}

int
bgp_update_pack(const struct bgp_attrs *a, uint16_t afi, uint8_t safi,
    const struct bgp_nlri *nlri, size_t count, size_t max_msg_len,
    bgp_emit_fn emit, void *arg)
{
	struct bgp_wbuf pre, post, nh, msg;
	bool classic = afi == BGP_AFI_IPV4 && safi == BGP_SAFI_UNICAST;
	bool vpn = safi == BGP_SAFI_MPLS_VPN;
	size_t i = 0, j, fixed, avail, used, start, alen_off, mplen;
	int rc = -1;

	if (pack_check(afi, safi, nlri, count, max_msg_len) == -1)
		return -1;
	if (classic && a->nexthop4.af != ADDR_AF_INET)
		return -1;
	bgp_wbuf_init(&pre, 0);
	bgp_wbuf_init(&post, 0);
	bgp_wbuf_init(&nh, 0);
	bgp_wbuf_init(&msg, max_msg_len);
	attrs_pre(a, classic, &pre);
	attrs_post(a, &post);
	if (!classic && mp_nexthop(a, afi, safi, &nh) == -1)
		goto out;
	if (bgp_wbuf_error(&pre) == -1 || bgp_wbuf_error(&post) == -1)
		goto out;

	/* header + withdrawn length + attribute length + fixed attributes,
	 * and for MP: a 4-byte (extended) attribute header + AFI, SAFI,
	 * next hop length, next hop, reserved. */
	fixed = BGP_HEADER_LEN + 2 + 2 + pre.len + post.len;
	if (!classic)
		fixed += 4 + 5 + nh.len;
	if (fixed >= max_msg_len)
		goto out;
	avail = max_msg_len - fixed;

	while (i < count) {
		used = 0;
		for (j = i; j < count; j++) {
			size_t s = nlri_size(&nlri[j], vpn);

			if (used + s > avail)
				break;
			used += s;
		}
		if (j == i)
			goto out;		/* cannot happen: avail >= 1+27 */
		bgp_wbuf_reset(&msg);
		start = bgp_msg_begin(&msg, BGP_MSG_UPDATE);
		bgp_wbuf_add_u16(&msg, 0);
		alen_off = msg.len;
		bgp_wbuf_add_u16(&msg, 0);
		bgp_wbuf_add(&msg, pre.p, pre.len);
		if (!classic) {
			mplen = 5 + nh.len + used;
			attr_hdr(&msg, BGP_ATTRF_OPTIONAL,
			    BGP_ATTR_MP_REACH_NLRI, mplen);
			bgp_wbuf_add_u16(&msg, afi);
			bgp_wbuf_add_u8(&msg, safi);
			bgp_wbuf_add_u8(&msg, (uint8_t)nh.len);
			bgp_wbuf_add(&msg, nh.p, nh.len);
			bgp_wbuf_add_u8(&msg, 0);
			for (; i < j; i++)
				nlri_put(&msg, &nlri[i], vpn, false);
		}
		bgp_wbuf_add(&msg, post.p, post.len);
		bgp_wbuf_put_u16(&msg, alen_off,
		    (uint16_t)(msg.len - alen_off - 2));
		for (; i < j; i++)
			nlri_put(&msg, &nlri[i], false, false);
		if (bgp_msg_end(&msg, start) == -1)
			goto out;
		if (emit(msg.p, msg.len, arg) == -1)
			goto out;
	}
	rc = 0;
out:
	bgp_wbuf_free(&pre);
	bgp_wbuf_free(&post);
	bgp_wbuf_free(&nh);
	bgp_wbuf_free(&msg);
	return rc;
}

int
bgp_withdraw_pack(uint16_t afi, uint8_t safi, const struct bgp_nlri *nlri,
    size_t count, size_t max_msg_len, bgp_emit_fn emit, void *arg)
{
	struct bgp_wbuf msg;
	bool classic = afi == BGP_AFI_IPV4 && safi == BGP_SAFI_UNICAST;
	bool vpn = safi == BGP_SAFI_MPLS_VPN;
	size_t i = 0, j, avail, used, start;
	int rc = -1;

	if (pack_check(afi, safi, nlri, count, max_msg_len) == -1)
		return -1;
	bgp_wbuf_init(&msg, max_msg_len);
	avail = max_msg_len - BGP_HEADER_LEN - 4 - (classic ? 0 : 4 + 3);
	while (i < count) {
		used = 0;
		for (j = i; j < count; j++) {
			size_t s = nlri_size(&nlri[j], vpn);

			if (used + s > avail)
				break;
			used += s;
		}
		bgp_wbuf_reset(&msg);
		start = bgp_msg_begin(&msg, BGP_MSG_UPDATE);
		if (classic) {
			bgp_wbuf_add_u16(&msg, (uint16_t)used);
			for (; i < j; i++)
				nlri_put(&msg, &nlri[i], false, true);
			bgp_wbuf_add_u16(&msg, 0);
		} else {
			size_t mplen = 3 + used;

			bgp_wbuf_add_u16(&msg, 0);
			bgp_wbuf_add_u16(&msg,
			    (uint16_t)(mplen + (mplen > 255 ? 4 : 3)));
			attr_hdr(&msg, BGP_ATTRF_OPTIONAL,
			    BGP_ATTR_MP_UNREACH_NLRI, mplen);
			bgp_wbuf_add_u16(&msg, afi);
			bgp_wbuf_add_u8(&msg, safi);
			for (; i < j; i++)
				nlri_put(&msg, &nlri[i], vpn, true);
		}
		if (bgp_msg_end(&msg, start) == -1)
			goto out;
		if (emit(msg.p, msg.len, arg) == -1)
			goto out;
	}
	rc = 0;
out:
	bgp_wbuf_free(&msg);
	return rc;
}

int
bgp_eor_build(uint16_t afi, uint8_t safi, struct bgp_wbuf *wb)
{
	size_t start = bgp_msg_begin(wb, BGP_MSG_UPDATE);

	bgp_wbuf_add_u16(wb, 0);
	if (afi == BGP_AFI_IPV4 && safi == BGP_SAFI_UNICAST) {
		bgp_wbuf_add_u16(wb, 0);
	} else {
		bgp_wbuf_add_u16(wb, 6);
		attr_hdr(wb, BGP_ATTRF_OPTIONAL, BGP_ATTR_MP_UNREACH_NLRI, 3);
		bgp_wbuf_add_u16(wb, afi);
		bgp_wbuf_add_u8(wb, safi);
	}
	return bgp_msg_end(wb, start);
}

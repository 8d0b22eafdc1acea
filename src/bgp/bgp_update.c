/*
 * bgp_update.c - UPDATE decoding (RFC 4271, 4760, 6793, 7606).
 *
 * Decoding is table-driven as in BIRD: each known path attribute has a row
 * giving its expected flags, its legal lengths, a decode function and the
 * RFC 7606 action to take when it is malformed (attribute discard,
 * treat-as-withdraw or session reset).  The decoder keeps going after a
 * discard or withdraw-class error so that a more severe error later in the
 * message still resets the session, then reports the worst action seen.
 * Every attribute is consumed from the attribute section (a sub-view)
 * before it is interpreted, and a seen-bitmap catches duplicates.
 *
 * Arrays in struct bgp_update are allocated, each bounded by the length of
 * the section it comes from, so no peer can make us allocate more than a
 * small multiple of one message.  Packing (the sending side) lives in
 * bgp_update_pack.c.
 */
#include <stdlib.h>
#include <string.h>

#include "bgp_msg.h"

enum attr_action {
	ACT_NONE = 0,
	ACT_DISCARD = 1,
	ACT_WITHDRAW = 2,
	ACT_RESET = 3,
};

struct nvec {
	struct bgp_nlri	*v;
	size_t		 n;
	size_t		 cap;
};

struct dstate {
	const struct bgp_update_ctx *ctx;
	struct bgp_update *u;
	struct bgp_error *err;
	enum attr_action worst;
	uint8_t		 seen[32];
	size_t		 n_attrs;		/* attributes present at all */
	struct nvec	 ann;
	struct nvec	 wd;
	size_t		 mp_reach_nlri;		/* prefixes from MP_REACH */
	bool		 mp_unreach;
	size_t		 mp_unreach_nlri;
	struct bgp_afisafi mp_unreach_fam;
	bool		 oom;
	/* AS4 attributes, merged at the end when the peer is 2-byte. */
	uint32_t	*as4_path;
	size_t		 as4_path_n;
	bool		 has_as4_path;
	bool		 has_as4_aggr;
	uint32_t	 as4_aggr_as;
	uint32_t	 as4_aggr_id;
	/* The raw attribute being decoded, for NOTIFICATION data. */
	const uint8_t	*raw;
	size_t		 rawlen;
};

/* Decode functions return 0, -1 (malformed: take the table's action) or a
 * specific enum attr_action. */
typedef int (*attr_decode_fn)(struct dstate *, struct bgp_rbuf *);

struct attr_desc {
	const char	*name;
	uint8_t		 flags;		/* expected OPTIONAL|TRANSITIVE bits */
	uint16_t	 min;
	uint16_t	 max;
	uint8_t		 unit;		/* length must be a multiple (0: any) */
	attr_decode_fn	 decode;
	enum attr_action action;	/* when malformed (RFC 7606 7.x) */
	uint8_t		 subcode;	/* reported with the error */
	bool		 ebgp_discard;	/* RFC 7606 7.5: LOCAL_PREF from eBGP */
};

#define SEEN(b, t)	((b)[(t) >> 3] & (1u << ((t) & 7)))
#define SET_SEEN(b, t)	((b)[(t) >> 3] |= (uint8_t)(1u << ((t) & 7)))
#define CLR_SEEN(b, t)	((b)[(t) >> 3] &= (uint8_t)~(1u << ((t) & 7)))

static void
set_err(struct bgp_error *err, uint8_t code, uint8_t subcode,
    const void *data, size_t datalen)
{
	err->code = code;
	err->subcode = subcode;
	if (datalen > sizeof(err->data))
		datalen = sizeof(err->data);
	if (datalen > 0)
		memcpy(err->data, data, datalen);
	err->datalen = datalen;
}

/* Record an error of the given action; the most severe one wins. */
static void
note(struct dstate *st, enum attr_action act, uint8_t subcode,
    const void *data, size_t datalen)
{
	if (act == ACT_DISCARD) {
		st->u->n_discarded++;
	} else if (act == ACT_WITHDRAW) {
		if (st->worst < ACT_WITHDRAW)
			set_err(&st->u->reason, BGP_ERR_UPDATE, subcode, data,
			    datalen);
	} else if (act == ACT_RESET) {
		if (st->worst < ACT_RESET)
			set_err(st->err, BGP_ERR_UPDATE, subcode, data,
			    datalen);
	}
	if (act > st->worst)
		st->worst = act;
}

static int
nvec_push(struct dstate *st, struct nvec *v, const struct bgp_nlri *n)
{
	struct bgp_nlri *nv;
	size_t ncap;

	if (v->n == v->cap) {
		ncap = v->cap ? v->cap * 2 : 16;
		if ((nv = realloc(v->v, ncap * sizeof(*nv))) == NULL) {
			st->oom = true;
			return -1;
		}
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->n++] = *n;
	return 0;
}

bool
bgp_family_supported(uint16_t afi, uint8_t safi)
{
	return (afi == BGP_AFI_IPV4 || afi == BGP_AFI_IPV6) &&
	    (safi == BGP_SAFI_UNICAST || safi == BGP_SAFI_MPLS_VPN);
}

static bool
family_negotiated(const struct bgp_update_ctx *ctx, uint16_t afi,
    uint8_t safi)
{
	size_t i;

	if (!bgp_family_supported(afi, safi))
		return false;
	if (ctx->n_families == 0 || ctx->families == NULL)
		return afi == BGP_AFI_IPV4 && safi == BGP_SAFI_UNICAST;
	for (i = 0; i < ctx->n_families; i++)
		if (ctx->families[i].afi == afi &&
		    ctx->families[i].safi == safi)
			return true;
	return false;
}

/* Could an attribute section we failed to parse hide NLRI of a family
 * other than classic IPv4 unicast? */
static bool
mp_possible(const struct bgp_update_ctx *ctx)
{
	size_t i;

	for (i = 0; ctx->families != NULL && i < ctx->n_families; i++)
		if (ctx->families[i].afi != BGP_AFI_IPV4 ||
		    ctx->families[i].safi != BGP_SAFI_UNICAST)
			return true;
	return false;
}

/*
 * Parse a run of prefixes of one family until the reader is empty.
 * Trailing host bits are cleared (RFC 4271: they are irrelevant).
 * Returns -1 on a bad length or truncation.
 */
static int
nlri_parse(struct dstate *st, struct bgp_rbuf *rb, uint16_t afi,
    uint8_t safi, struct nvec *out)
{
	uint8_t af = afi == BGP_AFI_IPV4 ? ADDR_AF_INET : ADDR_AF_INET6;
	unsigned maxbits = afi == BGP_AFI_IPV4 ? 32 : 128;
	uint8_t plen, lab[3], bytes[16];
	uint64_t rd;
	struct bgp_nlri n;
	struct addr a;
	unsigned bits;
	int i;

	while (bgp_rbuf_left(rb) > 0) {
		memset(&n, 0, sizeof(n));
		memset(bytes, 0, sizeof(bytes));
		n.afi = afi;
		n.safi = safi;
		if (bgp_rbuf_get_u8(rb, &plen) == -1)
			return -1;
		bits = plen;
		if (safi == BGP_SAFI_MPLS_VPN) {
			/* label (24 bits) + RD (64 bits) precede the prefix */
			if (bits < 88)
				return -1;
			bits -= 88;
			if (bgp_rbuf_get_n(rb, lab, 3) == -1)
				return -1;
			rd = 0;
			for (i = 0; i < 8; i++) {
				uint8_t b;

				if (bgp_rbuf_get_u8(rb, &b) == -1)
					return -1;
				rd = rd << 8 | b;
			}
			n.label = (uint32_t)lab[0] << 12 |
			    (uint32_t)lab[1] << 4 | lab[2] >> 4;
			n.rd = rd;
		}
		if (bits > maxbits)
			return -1;
		if (bgp_rbuf_get_n(rb, bytes, (bits + 7) / 8) == -1)
			return -1;
		addr_from_bytes(&a, af, bytes);
		n.pfx = prefix_of(&a, bits);
		if (nvec_push(st, out, &n) == -1)
			return -1;
	}
	return 0;
}

/* ---- attribute decoders ------------------------------------------------ */

static int
dec_origin(struct dstate *st, struct bgp_rbuf *v)
{
	uint8_t o;

	bgp_rbuf_get_u8(v, &o);
	if (o > BGP_ORIGIN_INCOMPLETE)
		return -1;
	st->u->origin = o;
	return 0;
}

/*
 * Validate an AS_PATH / AS4_PATH of the given AS width and return the
 * number of ASNs, or -1.  Empty segments, unknown segment types and AS 0
 * (RFC 7607) are malformed; confederation segments are refused where the
 * caller says so (AS4_PATH, RFC 6793 6).
 */
static long
as_path_check(const struct bgp_rbuf *val, unsigned w, bool confed_ok,
    size_t *segs, size_t *pathlen)
{
	struct bgp_rbuf rb = *val;
	uint8_t type, cnt;
	uint32_t as;
	uint16_t as16;
	size_t n = 0, i;

	*segs = 0;
	*pathlen = 0;
	while (bgp_rbuf_left(&rb) > 0) {
		if (bgp_rbuf_get_u8(&rb, &type) == -1 ||
		    bgp_rbuf_get_u8(&rb, &cnt) == -1 || cnt == 0)
			return -1;
		if (type != BGP_AS_SET && type != BGP_AS_SEQUENCE &&
		    (!confed_ok || (type != BGP_AS_CONFED_SEQUENCE &&
		    type != BGP_AS_CONFED_SET)))
			return -1;
		for (i = 0; i < cnt; i++) {
			if (w == 4) {
				if (bgp_rbuf_get_u32(&rb, &as) == -1)
					return -1;
			} else {
				if (bgp_rbuf_get_u16(&rb, &as16) == -1)
					return -1;
				as = as16;
			}
			if (as == 0)
				return -1;
		}
		n += cnt;
		(*segs)++;
		if (type == BGP_AS_SEQUENCE)
			*pathlen += cnt;
		else if (type == BGP_AS_SET)
			*pathlen += 1;
	}
	return (long)n;
}

/* Flatten a validated path into a freshly allocated array. */
static uint32_t *
as_path_flatten(const struct bgp_rbuf *val, unsigned w, size_t n)
{
	struct bgp_rbuf rb = *val;
	uint32_t *out, as;
	uint16_t as16;
	uint8_t type, cnt;
	size_t k = 0, i;

	if ((out = calloc(n ? n : 1, sizeof(*out))) == NULL)
		return NULL;
	while (bgp_rbuf_get_u8(&rb, &type) == 0 &&
	    bgp_rbuf_get_u8(&rb, &cnt) == 0) {
		for (i = 0; i < cnt && k < n; i++) {
			if (w == 4)
				bgp_rbuf_get_u32(&rb, &as);
			else {
				bgp_rbuf_get_u16(&rb, &as16);
				as = as16;
			}
			out[k++] = as;
		}
	}
	return out;
}

static int
dec_as_path(struct dstate *st, struct bgp_rbuf *v)
{
	unsigned w = st->ctx->as4 ? 4 : 2;
	size_t segs, plen;
	long n;
	uint32_t *p;

	if ((n = as_path_check(v, w, true, &segs, &plen)) < 0)
		return -1;
	if ((p = as_path_flatten(v, w, (size_t)n)) == NULL) {
		st->oom = true;
		return ACT_DISCARD;
	}
	st->u->as_path = p;
	st->u->as_path_n = (size_t)n;
	st->u->as_path_segments = segs;
	st->u->as_path_len = plen;
	return 0;
}

static int
dec_as4_path(struct dstate *st, struct bgp_rbuf *v)
{
	size_t segs, plen;
	long n;
	uint32_t *p;

	/* RFC 6793 4.1: between two NEW speakers it is simply dropped. */
	if (st->ctx->as4)
		return ACT_DISCARD;
	if ((n = as_path_check(v, 4, false, &segs, &plen)) < 0)
		return -1;
	if ((p = as_path_flatten(v, 4, (size_t)n)) == NULL) {
		st->oom = true;
		return ACT_DISCARD;
	}
	st->as4_path = p;
	st->as4_path_n = (size_t)n;
	st->has_as4_path = true;
	return 0;
}

static int
dec_nexthop(struct dstate *st, struct bgp_rbuf *v)
{
	uint8_t b[4];

	bgp_rbuf_get_n(v, b, 4);
	addr_from_bytes(&st->u->nexthop, ADDR_AF_INET, b);
	st->u->has_nexthop = true;
	return 0;
}

static int
dec_med(struct dstate *st, struct bgp_rbuf *v)
{
	bgp_rbuf_get_u32(v, &st->u->med);
	st->u->has_med = true;
	return 0;
}

static int
dec_local_pref(struct dstate *st, struct bgp_rbuf *v)
{
	bgp_rbuf_get_u32(v, &st->u->local_pref);
	st->u->has_local_pref = true;
	return 0;
}

static int
dec_atomic(struct dstate *st, struct bgp_rbuf *v)
{
	(void)v;
	st->u->atomic_aggregate = true;
	return 0;
}

static int
dec_aggregator(struct dstate *st, struct bgp_rbuf *v)
{
	uint32_t as, id;
	uint16_t as16;

	/* RFC 7606 7.7: the length depends on the negotiated AS width. */
	if (st->ctx->as4) {
		if (bgp_rbuf_left(v) != 8)
			return -1;
		bgp_rbuf_get_u32(v, &as);
	} else {
		if (bgp_rbuf_left(v) != 6)
			return -1;
		bgp_rbuf_get_u16(v, &as16);
		as = as16;
	}
	bgp_rbuf_get_u32(v, &id);
	if (as == 0)			/* RFC 7607 */
		return -1;
	st->u->aggregator_as = as;
	st->u->aggregator_id = id;
	st->u->has_aggregator = true;
	return 0;
}

static int
dec_as4_aggregator(struct dstate *st, struct bgp_rbuf *v)
{
	if (st->ctx->as4)
		return ACT_DISCARD;
	bgp_rbuf_get_u32(v, &st->as4_aggr_as);
	bgp_rbuf_get_u32(v, &st->as4_aggr_id);
	if (st->as4_aggr_as == 0)
		return -1;
	st->has_as4_aggr = true;
	return 0;
}

static int
dec_communities(struct dstate *st, struct bgp_rbuf *v)
{
	size_t i, n = bgp_rbuf_left(v) / 4;
	uint32_t *c;

	if ((c = calloc(n, sizeof(*c))) == NULL) {
		st->oom = true;
		return ACT_DISCARD;
	}
	for (i = 0; i < n; i++)
		bgp_rbuf_get_u32(v, &c[i]);
	st->u->communities = c;
	st->u->n_communities = n;
	return 0;
}

static int
dec_originator(struct dstate *st, struct bgp_rbuf *v)
{
	bgp_rbuf_get_u32(v, &st->u->originator_id);
	st->u->has_originator_id = true;
	return 0;
}

static int
dec_cluster_list(struct dstate *st, struct bgp_rbuf *v)
{
	st->u->n_cluster_list = bgp_rbuf_left(v) / 4;
	return 0;
}

static int
dec_ext_communities(struct dstate *st, struct bgp_rbuf *v)
{
	size_t i, n = bgp_rbuf_left(v) / 8;
	uint64_t *c;
	uint32_t hi, lo;

	if ((c = calloc(n, sizeof(*c))) == NULL) {
		st->oom = true;
		return ACT_DISCARD;
	}
	for (i = 0; i < n; i++) {
		bgp_rbuf_get_u32(v, &hi);
		bgp_rbuf_get_u32(v, &lo);
		c[i] = (uint64_t)hi << 32 | lo;
	}
	st->u->ext_communities = c;
	st->u->n_ext_communities = n;
	return 0;
}

static int
dec_large_communities(struct dstate *st, struct bgp_rbuf *v)
{
	size_t i, n = bgp_rbuf_left(v) / 12;
	struct bgp_large_community *c;

	if ((c = calloc(n, sizeof(*c))) == NULL) {
		st->oom = true;
		return ACT_DISCARD;
	}
	for (i = 0; i < n; i++) {
		bgp_rbuf_get_u32(v, &c[i].global);
		bgp_rbuf_get_u32(v, &c[i].local1);
		bgp_rbuf_get_u32(v, &c[i].local2);
	}
	st->u->large_communities = c;
	st->u->n_large_communities = n;
	return 0;
}

/*
 * MP_REACH_NLRI.  RFC 7606 7.11: a next hop length that does not fit the
 * family makes the NLRI impossible to locate reliably, so every error here
 * resets the session (RFC 4760 7: Optional Attribute Error).  A family the
 * session did not negotiate is ignored (attribute discard).
 */
static int
dec_mp_reach(struct dstate *st, struct bgp_rbuf *v)
{
	struct bgp_rbuf nh;
	uint16_t afi;
	uint8_t safi, nhlen, res, b[16];
	size_t glen, before;
	bool vpn;

	if (bgp_rbuf_get_u16(v, &afi) == -1 ||
	    bgp_rbuf_get_u8(v, &safi) == -1 ||
	    bgp_rbuf_get_u8(v, &nhlen) == -1 ||
	    bgp_rbuf_sub(v, nhlen, &nh) == -1 ||
	    bgp_rbuf_get_u8(v, &res) == -1)
		return -1;
	if (!family_negotiated(st->ctx, afi, safi))
		return ACT_DISCARD;
	vpn = safi == BGP_SAFI_MPLS_VPN;
	glen = afi == BGP_AFI_IPV4 ? 4 : 16;
	if (vpn)
		glen += 8;
	if (nhlen != glen && !(afi == BGP_AFI_IPV6 && nhlen == 2 * glen))
		return -1;
	if (vpn)
		bgp_rbuf_skip(&nh, 8);		/* RD of the next hop: zero */
	bgp_rbuf_get_n(&nh, b, glen - (vpn ? 8 : 0));
	addr_from_bytes(&st->u->mp_nexthop,
	    afi == BGP_AFI_IPV4 ? ADDR_AF_INET : ADDR_AF_INET6, b);
	st->u->has_mp_nexthop = true;
	if (bgp_rbuf_left(&nh) > 0) {
		if (vpn)
			bgp_rbuf_skip(&nh, 8);
		bgp_rbuf_get_n(&nh, b, 16);
		addr_from_bytes(&st->u->mp_nexthop_ll, ADDR_AF_INET6, b);
		st->u->has_mp_nexthop_ll = true;
	}
	before = st->ann.n;
	if (nlri_parse(st, v, afi, safi, &st->ann) == -1)
		return st->oom ? ACT_RESET : -1;
	st->mp_reach_nlri = st->ann.n - before;
	return 0;
}

static int
dec_mp_unreach(struct dstate *st, struct bgp_rbuf *v)
{
	uint16_t afi;
	uint8_t safi;
	size_t before;

	if (bgp_rbuf_get_u16(v, &afi) == -1 ||
	    bgp_rbuf_get_u8(v, &safi) == -1)
		return -1;
	if (!family_negotiated(st->ctx, afi, safi))
		return ACT_DISCARD;
	before = st->wd.n;
	if (nlri_parse(st, v, afi, safi, &st->wd) == -1)
		return st->oom ? ACT_RESET : -1;
	st->mp_unreach = true;
	st->mp_unreach_nlri = st->wd.n - before;
	st->mp_unreach_fam.afi = afi;
	st->mp_unreach_fam.safi = safi;
	return 0;
}

#define WK	BGP_ATTRF_TRANSITIVE			/* well-known */
#define OPT	BGP_ATTRF_OPTIONAL
#define OPTT	(BGP_ATTRF_OPTIONAL | BGP_ATTRF_TRANSITIVE)

/* The RFC 7606 section 7 table. */
static const struct attr_desc attr_table[256] = {
	[BGP_ATTR_ORIGIN] = { "ORIGIN", WK, 1, 1, 0, dec_origin,
	    ACT_WITHDRAW, BGP_ERR_UPDATE_ORIGIN, false },
	[BGP_ATTR_AS_PATH] = { "AS_PATH", WK, 0, 65535, 0, dec_as_path,
	    ACT_WITHDRAW, BGP_ERR_UPDATE_AS_PATH, false },
	[BGP_ATTR_NEXT_HOP] = { "NEXT_HOP", WK, 4, 4, 0, dec_nexthop,
	    ACT_WITHDRAW, BGP_ERR_UPDATE_NEXTHOP, false },
	[BGP_ATTR_MED] = { "MULTI_EXIT_DISC", OPT, 4, 4, 0, dec_med,
	    ACT_WITHDRAW, BGP_ERR_UPDATE_OPT_ATTR, false },
	[BGP_ATTR_LOCAL_PREF] = { "LOCAL_PREF", WK, 4, 4, 0, dec_local_pref,
	    ACT_WITHDRAW, BGP_ERR_UPDATE_ATTR_LENGTH, true },
	[BGP_ATTR_ATOMIC_AGGREGATE] = { "ATOMIC_AGGREGATE", WK, 0, 0, 0,
	    dec_atomic, ACT_DISCARD, BGP_ERR_UPDATE_ATTR_LENGTH, false },
	[BGP_ATTR_AGGREGATOR] = { "AGGREGATOR", OPTT, 6, 8, 0, dec_aggregator,
	    ACT_DISCARD, BGP_ERR_UPDATE_OPT_ATTR, false },
	[BGP_ATTR_COMMUNITIES] = { "COMMUNITIES", OPTT, 4, 65535, 4,
	    dec_communities, ACT_WITHDRAW, BGP_ERR_UPDATE_OPT_ATTR, false },
	[BGP_ATTR_ORIGINATOR_ID] = { "ORIGINATOR_ID", OPT, 4, 4, 0,
	    dec_originator, ACT_WITHDRAW, BGP_ERR_UPDATE_OPT_ATTR, false },
	[BGP_ATTR_CLUSTER_LIST] = { "CLUSTER_LIST", OPT, 4, 65535, 4,
	    dec_cluster_list, ACT_WITHDRAW, BGP_ERR_UPDATE_OPT_ATTR, false },
	[BGP_ATTR_MP_REACH_NLRI] = { "MP_REACH_NLRI", OPT, 5, 65535, 0,
	    dec_mp_reach, ACT_RESET, BGP_ERR_UPDATE_OPT_ATTR, false },
	[BGP_ATTR_MP_UNREACH_NLRI] = { "MP_UNREACH_NLRI", OPT, 3, 65535, 0,
	    dec_mp_unreach, ACT_RESET, BGP_ERR_UPDATE_OPT_ATTR, false },
	[BGP_ATTR_EXT_COMMUNITIES] = { "EXTENDED_COMMUNITIES", OPTT, 8, 65535,
	    8, dec_ext_communities, ACT_WITHDRAW, BGP_ERR_UPDATE_OPT_ATTR,
	    false },
	[BGP_ATTR_AS4_PATH] = { "AS4_PATH", OPTT, 0, 65535, 0, dec_as4_path,
	    ACT_DISCARD, BGP_ERR_UPDATE_OPT_ATTR, false },
	[BGP_ATTR_AS4_AGGREGATOR] = { "AS4_AGGREGATOR", OPTT, 8, 8, 0,
	    dec_as4_aggregator, ACT_DISCARD, BGP_ERR_UPDATE_OPT_ATTR, false },
	[BGP_ATTR_LARGE_COMMUNITY] = { "LARGE_COMMUNITY", OPTT, 12, 65535, 12,
	    dec_large_communities, ACT_WITHDRAW, BGP_ERR_UPDATE_OPT_ATTR,
	    false },
};

const char *
bgp_attr_name(uint8_t type)
{
	return attr_table[type].name ? attr_table[type].name : "unknown";
}

/* Undo what a failed decode function may have stored. */
static void
attr_drop(struct dstate *st, uint8_t type)
{
	struct bgp_update *u = st->u;

	CLR_SEEN(u->seen, type);
	switch (type) {
	case BGP_ATTR_AS_PATH:
		free(u->as_path);
		u->as_path = NULL;
		u->as_path_n = u->as_path_segments = u->as_path_len = 0;
		break;
	case BGP_ATTR_AS4_PATH:
		free(st->as4_path);
		st->as4_path = NULL;
		st->as4_path_n = 0;
		st->has_as4_path = false;
		break;
	case BGP_ATTR_AS4_AGGREGATOR:
		st->has_as4_aggr = false;
		break;
	default:
		break;
	}
}

/* One attribute, already cut out of the section. */
static void
attr_decode(struct dstate *st, uint8_t flags, uint8_t type,
    struct bgp_rbuf *val)
{
	const struct attr_desc *d = &attr_table[type];
	size_t len = bgp_rbuf_left(val);
	uint8_t subcode = d->subcode;
	int r;

	if (d->decode == NULL) {
		/* RFC 4271 6.3: an unknown well-known attribute is fatal. */
		if (!(flags & BGP_ATTRF_OPTIONAL)) {
			note(st, ACT_RESET, BGP_ERR_UPDATE_UNKNOWN_WELLKNOWN,
			    st->raw, st->rawlen);
			return;
		}
		/* Unknown optional: transitive ones would be passed on with
		 * the partial bit; we originate only, so we just count. */
		st->u->n_unknown++;
		return;
	}
	if (SEEN(st->seen, type)) {
		/* RFC 7606 3(g). */
		if (type == BGP_ATTR_MP_REACH_NLRI ||
		    type == BGP_ATTR_MP_UNREACH_NLRI)
			note(st, ACT_RESET, BGP_ERR_UPDATE_ATTR_LIST, NULL, 0);
		else
			note(st, ACT_DISCARD, 0, NULL, 0);
		return;
	}
	SET_SEEN(st->seen, type);
	if (d->ebgp_discard && st->ctx->ebgp) {
		note(st, ACT_DISCARD, 0, NULL, 0);
		return;
	}
	if ((flags & (BGP_ATTRF_OPTIONAL | BGP_ATTRF_TRANSITIVE)) != d->flags) {
		/* RFC 7606 3(c): the attribute's own action applies. */
		note(st, d->action, BGP_ERR_UPDATE_ATTR_FLAGS, st->raw,
		    st->rawlen);
		return;
	}
	if (len < d->min || len > d->max || (d->unit && len % d->unit)) {
		note(st, d->action, subcode, st->raw, st->rawlen);
		return;
	}
	SET_SEEN(st->u->seen, type);
	r = d->decode(st, val);
	if (r == 0)
		return;
	attr_drop(st, type);
	note(st, r < 0 ? d->action : (enum attr_action)r, subcode, st->raw,
	    st->rawlen);
}

/*
 * RFC 6793 4.2.3: rebuild the real path from AS_PATH and AS4_PATH sent by
 * a 2-byte (OLD) peer.  Done on the flattened lists: the leading ASes of
 * AS_PATH that AS4_PATH does not cover, then AS4_PATH.  Exact for the usual
 * all-AS_SEQUENCE paths; segment boundaries are not tracked.
 */
static void
as4_merge(struct dstate *st)
{
	struct bgp_update *u = st->u;
	size_t keep, i;

	if (u->has_aggregator && u->aggregator_as != BGP_AS_TRANS) {
		/* The aggregator was an OLD speaker: both AS4 attrs stale. */
		return;
	}
	if (st->has_as4_aggr && u->has_aggregator) {
		u->aggregator_as = st->as4_aggr_as;
		u->aggregator_id = st->as4_aggr_id;
	}
	if (!st->has_as4_path || u->as_path == NULL ||
	    u->as_path_n < st->as4_path_n)
		return;
	keep = u->as_path_n - st->as4_path_n;
	for (i = 0; i < st->as4_path_n; i++)
		u->as_path[keep + i] = st->as4_path[i];
}

enum bgp_update_result
bgp_update_decode(const uint8_t *payload, size_t len,
    const struct bgp_update_ctx *ctx, struct bgp_update *u,
    struct bgp_error *err)
{
	static const struct bgp_update_ctx defctx;
	struct bgp_rbuf rb, wd, attrs, val;
	struct dstate st;
	uint16_t wdlen, attrlen, alen;
	uint8_t flags, type, alen8;
	const uint8_t *astart;
	enum bgp_update_result res;
	size_t i;

	memset(u, 0, sizeof(*u));
	memset(&st, 0, sizeof(st));
	st.ctx = ctx ? ctx : &defctx;
	st.u = u;
	st.err = err;
	u->origin = BGP_ORIGIN_INCOMPLETE;

	bgp_rbuf_init(&rb, payload, len);
	if (bgp_rbuf_get_u16(&rb, &wdlen) == -1 ||
	    bgp_rbuf_sub(&rb, wdlen, &wd) == -1 ||
	    bgp_rbuf_get_u16(&rb, &attrlen) == -1 ||
	    bgp_rbuf_sub(&rb, attrlen, &attrs) == -1) {
		note(&st, ACT_RESET, BGP_ERR_UPDATE_ATTR_LIST, NULL, 0);
		goto out;
	}
	if (nlri_parse(&st, &wd, BGP_AFI_IPV4, BGP_SAFI_UNICAST, &st.wd) == -1) {
		note(&st, ACT_RESET, BGP_ERR_UPDATE_NETWORK, NULL, 0);
		goto out;
	}

	while (bgp_rbuf_left(&attrs) > 0 && st.worst < ACT_RESET) {
		astart = bgp_rbuf_cur(&attrs);
		if (bgp_rbuf_get_u8(&attrs, &flags) == -1 ||
		    bgp_rbuf_get_u8(&attrs, &type) == -1)
			goto framing;
		if (flags & BGP_ATTRF_EXTLEN) {
			if (bgp_rbuf_get_u16(&attrs, &alen) == -1)
				goto framing;
		} else {
			if (bgp_rbuf_get_u8(&attrs, &alen8) == -1)
				goto framing;
			alen = alen8;
		}
		if (bgp_rbuf_sub(&attrs, alen, &val) == -1)
			goto framing;
		st.n_attrs++;
		st.raw = astart;
		st.rawlen = (size_t)(bgp_rbuf_cur(&attrs) - astart);
		attr_decode(&st, flags, type, &val);
	}
	goto attrs_done;
framing:
	/*
	 * RFC 7606 4: an attribute overrunning the section is treat-as-
	 * withdraw, with the Total Attribute Length locating the NLRI.  That
	 * only withdraws everything when everything can be found: once the
	 * session carries any family besides IPv4 unicast, an MP_REACH or
	 * MP_UNREACH may sit in the unparsed tail, and the "more severe
	 * error" clause applies: session reset, Malformed Attribute List.
	 */
	if (mp_possible(st.ctx))
		note(&st, ACT_RESET, BGP_ERR_UPDATE_ATTR_LIST, NULL, 0);
	else
		note(&st, ACT_WITHDRAW, BGP_ERR_UPDATE_ATTR_LIST, NULL, 0);
attrs_done:
	if (st.worst == ACT_RESET)
		goto out;

	{
		size_t before = st.ann.n;

		if (nlri_parse(&st, &rb, BGP_AFI_IPV4, BGP_SAFI_UNICAST,
		    &st.ann) == -1) {
			note(&st, ACT_RESET, BGP_ERR_UPDATE_NETWORK, NULL, 0);
			goto out;
		}
		/* RFC 7606 3(d): missing mandatory attributes only matter
		 * when something is announced, and then withdraw it. */
		if (st.ann.n > 0) {
			static const uint8_t mand[] = { BGP_ATTR_ORIGIN,
			    BGP_ATTR_AS_PATH, BGP_ATTR_NEXT_HOP };

			for (i = 0; i < sizeof(mand); i++) {
				if (mand[i] == BGP_ATTR_NEXT_HOP &&
				    st.ann.n == before)
					continue;	/* MP only */
				if (SEEN(st.seen, mand[i]))
					continue;
				note(&st, ACT_WITHDRAW,
				    BGP_ERR_UPDATE_MISSING_WELLKNOWN,
				    &mand[i], 1);
			}
		}
	}

	if (!st.ctx->as4)
		as4_merge(&st);

	/* RFC 4724 2: End-of-RIB markers. */
	if (wdlen == 0 && attrlen == 0 && bgp_rbuf_left(&rb) == 0) {
		u->eor = true;
		u->eor_family.afi = BGP_AFI_IPV4;
		u->eor_family.safi = BGP_SAFI_UNICAST;
	} else if (wdlen == 0 && st.n_attrs == 1 && st.mp_unreach &&
	    st.mp_unreach_nlri == 0 && st.ann.n == 0) {
		u->eor = true;
		u->eor_family = st.mp_unreach_fam;
	}

out:
	if (st.oom) {
		/* Not the peer's fault, but we cannot hold its routes. */
		set_err(err, BGP_ERR_CEASE, BGP_ERR_CEASE_RESOURCES, NULL, 0);
		st.worst = ACT_RESET;
	}
	free(st.as4_path);
	if (st.worst == ACT_WITHDRAW) {
		for (i = 0; i < st.ann.n && !st.oom; i++)
			nvec_push(&st, &st.wd, &st.ann.v[i]);
		st.ann.n = 0;
		if (st.oom) {
			set_err(err, BGP_ERR_CEASE, BGP_ERR_CEASE_RESOURCES,
			    NULL, 0);
			st.worst = ACT_RESET;
		}
	}
	u->announced = st.ann.v;
	u->n_announced = st.ann.n;
	u->withdrawn = st.wd.v;
	u->n_withdrawn = st.wd.n;
	switch (st.worst) {
	case ACT_RESET:
		res = BGP_UPDATE_ERROR;
		break;
	case ACT_WITHDRAW:
		res = BGP_UPDATE_TREAT_AS_WITHDRAW;
		break;
	default:
		res = BGP_UPDATE_OK;
		break;
	}
	return res;
}

void
bgp_update_free(struct bgp_update *u)
{
	free(u->withdrawn);
	free(u->announced);
	free(u->as_path);
	free(u->communities);
	free(u->large_communities);
	free(u->ext_communities);
	u->withdrawn = u->announced = NULL;
	u->as_path = NULL;
	u->communities = NULL;
	u->large_communities = NULL;
	u->ext_communities = NULL;
	u->n_withdrawn = u->n_announced = u->as_path_n = 0;
	u->n_communities = u->n_large_communities = u->n_ext_communities = 0;
}

bool
bgp_update_has_attr(const struct bgp_update *u, uint8_t type)
{
	return SEEN(u->seen, type) != 0;
}

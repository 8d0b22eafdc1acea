/*
 * bgp_rib.c - per-peer Adj-RIB-Out: what the peer holds, what to send.
 *
 * Each peer keeps a table of the routes it should hold and a queue of the
 * entries that changed since the last flush.  A flush sends withdrawals
 * first, then announcements grouped by identical attributes so that as many
 * prefixes as fit share one UPDATE; nothing that did not change is ever
 * sent again.  Attribute sets are interned (few distinct sets, many routes),
 * so grouping is a pointer comparison.
 *
 * The queue is flushed when the core ends a batch (the announcer's flush).
 * Messages leave through the peer's emit callback, which the session sets:
 * this file knows nothing of connections.
 */
#include <stdlib.h>
#include <string.h>

#include "bgplb/log.h"
#include "bgplb/util.h"
#include "bgp.h"

enum bgp_fam
bgp_fam_of(uint16_t afi, uint8_t safi)
{
	if (safi == BGP_SAFI_UNICAST)
		return afi == BGP_AFI_IPV4 ? BGP_FAM_IPV4 :
		    afi == BGP_AFI_IPV6 ? BGP_FAM_IPV6 : BGP_FAM_COUNT;
	if (safi == BGP_SAFI_MPLS_VPN)
		return afi == BGP_AFI_IPV4 ? BGP_FAM_VPNV4 :
		    afi == BGP_AFI_IPV6 ? BGP_FAM_VPNV6 : BGP_FAM_COUNT;
	return BGP_FAM_COUNT;
}

void
bgp_fam_afisafi(enum bgp_fam f, uint16_t *afi, uint8_t *safi)
{
	*afi = (f == BGP_FAM_IPV4 || f == BGP_FAM_VPNV4) ? BGP_AFI_IPV4 :
	    BGP_AFI_IPV6;
	*safi = (f == BGP_FAM_VPNV4 || f == BGP_FAM_VPNV6) ? BGP_SAFI_MPLS_VPN :
	    BGP_SAFI_UNICAST;
}

void
bgp_rkey_make(struct bgp_rkey *k, enum bgp_fam fam, const struct prefix *p,
    const uint8_t rd[8])
{
	memset(k, 0, sizeof(*k));
	k->fam = (uint8_t)fam;
	k->len = p->len;
	if (rd != NULL)
		memcpy(k->rd, rd, 8);
	addr_to_bytes(&p->addr, k->addr);
}

/* The codec carries an RD as the integer whose big-endian bytes are the
 * 8 wire bytes; the config and our keys keep the bytes. */
uint64_t
bgp_rd_from_bytes(const uint8_t b[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

void
bgp_rd_to_bytes(uint64_t v, uint8_t b[8])
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static void
rkey_prefix(const struct bgp_rkey *k, struct prefix *p)
{
	uint8_t af = (k->fam == BGP_FAM_IPV4 || k->fam == BGP_FAM_VPNV4) ?
	    ADDR_AF_INET : ADDR_AF_INET6;

	addr_from_bytes(&p->addr, af, k->addr);
	p->len = k->len;
}

static bool
u32s_eq(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

/*
 * Link bandwidth (draft-ietf-idr-link-bandwidth): non-transitive two-octet
 * AS specific (0x40), subtype 0x04, our AS, then the bandwidth in bytes per
 * second as an IEEE 754 float.  1 Mbit/s per ready endpoint: only the ratio
 * between nodes matters to the router.
 */
static uint64_t
link_bandwidth(uint32_t my_asn, uint32_t endpoints)
{
	float bw = (float)endpoints * 125000.0f;
	uint32_t bits;
	uint16_t as = my_asn > 0xffff ? BGP_AS_TRANS : (uint16_t)my_asn;

	memcpy(&bits, &bw, sizeof(bits));
	return (uint64_t)0x40 << 56 | (uint64_t)0x04 << 48 |
	    (uint64_t)as << 32 | bits;
}

struct bgp_rattrs *
bgp_rattrs_intern(struct bgp_speaker *sp, const struct plan_route *r,
    const struct cfg_vrf *vpn_vrf, uint32_t my_asn)
{
	struct bgp_rattrs *a;
	uint64_t ext[64];
	size_t next = 0;

	/* A node without endpoints sends no weight rather than weight 0. */
	if (r->weighted && r->endpoints > 0)
		ext[next++] = link_bandwidth(my_asn, r->endpoints);
	if (vpn_vrf != NULL) {
		for (size_t i = 0; i < vpn_vrf->nroute_targets && next < 64; i++) {
			uint64_t v = 0;

			for (int b = 0; b < 8; b++)
				v = (v << 8) | vpn_vrf->rt[i][b];
			ext[next++] = v;
		}
	}
	for (a = sp->attrs; a != NULL; a = a->next) {
		if (a->has_local_pref != r->has_local_pref ||
		    (r->has_local_pref && a->local_pref != r->local_pref))
			continue;
		if (!u32s_eq(a->communities, a->ncommunities, r->communities,
		    r->ncommunities))
			continue;
		if (a->nlarge != r->nlarge_communities || (a->nlarge &&
		    memcmp(a->large, r->large_communities,
		    a->nlarge * sizeof(*a->large)) != 0))
			continue;
		if (a->n_ext != next || (next &&
		    memcmp(a->ext, ext, next * sizeof(*ext)) != 0))
			continue;
		a->refcnt++;
		return a;
	}
	a = xcalloc(1, sizeof(*a));
	a->refcnt = 1;
	a->has_local_pref = r->has_local_pref;
	a->local_pref = r->local_pref;
	if (r->ncommunities) {
		a->communities = xmalloc(r->ncommunities * sizeof(uint32_t));
		memcpy(a->communities, r->communities,
		    r->ncommunities * sizeof(uint32_t));
		a->ncommunities = r->ncommunities;
	}
	if (r->nlarge_communities) {
		a->large = xmalloc(r->nlarge_communities * sizeof(*a->large));
		for (size_t i = 0; i < r->nlarge_communities; i++) {
			a->large[i].global = r->large_communities[i].global;
			a->large[i].local1 = r->large_communities[i].local1;
			a->large[i].local2 = r->large_communities[i].local2;
		}
		a->nlarge = r->nlarge_communities;
	}
	if (next) {
		a->ext = xmalloc(next * sizeof(*ext));
		memcpy(a->ext, ext, next * sizeof(*ext));
		a->n_ext = next;
	}
	a->next = sp->attrs;
	sp->attrs = a;
	return a;
}

void
bgp_rattrs_unref(struct bgp_speaker *sp, struct bgp_rattrs *a)
{
	struct bgp_rattrs **pp;

	if (a == NULL || --a->refcnt > 0)
		return;
	for (pp = &sp->attrs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	free(a->communities);
	free(a->large);
	free(a->ext);
	free(a);
}

static void
queue_entry(struct bgp_peer *p, struct bgp_out *e)
{
	if (e->queued)
		return;
	if (p->nqueue == p->queue_cap) {
		size_t ncap = p->queue_cap ? p->queue_cap * 2 : 64;

		p->queue = xreallocarray(p->queue, ncap, sizeof(*p->queue));
		p->queue_cap = ncap;
	}
	p->queue[p->nqueue++] = e;
	e->queued = true;
}

void
bgp_out_set(struct bgp_peer *p, const struct bgp_rkey *k, struct bgp_rattrs *a,
    uint32_t label)
{
	struct bgp_out *e = hmap_get(p->adj_out, k);

	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->key = *k;
		hmap_put(p->adj_out, k, e);
	} else if (e->attrs == a && e->label == label) {
		return;		/* the peer holds (or will get) exactly this */
	}
	a->refcnt++;
	bgp_rattrs_unref(p->sp, e->attrs);
	e->attrs = a;
	e->label = label;
	queue_entry(p, e);
}

static void
delete_entry(struct bgp_peer *p, struct bgp_out *e)
{
	hmap_del(p->adj_out, &e->key);
	bgp_rattrs_unref(p->sp, e->attrs);
	bgp_rattrs_unref(p->sp, e->held);
	free(e);
}

/* The peer now holds what the entry says (after sending it). */
static void
mark_held(struct bgp_peer *p, struct bgp_out *e)
{
	if (e->held == NULL && e->attrs != NULL)
		p->adv_count[e->key.fam]++;
	else if (e->held != NULL && e->attrs == NULL)
		p->adv_count[e->key.fam]--;
	if (e->attrs != NULL)
		e->attrs->refcnt++;
	bgp_rattrs_unref(p->sp, e->held);
	e->held = e->attrs;
	e->held_label = e->label;
}

void
bgp_out_unset(struct bgp_peer *p, const struct bgp_rkey *k)
{
	struct bgp_out *e = hmap_get(p->adj_out, k);

	if (e == NULL || e->attrs == NULL)
		return;
	bgp_rattrs_unref(p->sp, e->attrs);
	e->attrs = NULL;
	if (e->held == NULL && !e->queued) {
		delete_entry(p, e);
		return;
	}
	queue_entry(p, e);
}

/* Withdrawals first, then by family, attributes and prefix. */
static int
out_cmp(const void *a, const void *b)
{
	const struct bgp_out *x = *(const struct bgp_out *const *)a;
	const struct bgp_out *y = *(const struct bgp_out *const *)b;

	if ((x->attrs == NULL) != (y->attrs == NULL))
		return x->attrs == NULL ? -1 : 1;
	if (x->key.fam != y->key.fam)
		return x->key.fam < y->key.fam ? -1 : 1;
	if (x->attrs != y->attrs)
		return (uintptr_t)x->attrs < (uintptr_t)y->attrs ? -1 : 1;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

static int
emit_cb(const uint8_t *msg, size_t len, void *arg)
{
	struct bgp_peer *p = arg;

	return p->emit(p->emit_arg, msg, len);
}

/* The attributes as this peer must see them (eBGP vs iBGP, next hop). */
static void
peer_attrs(struct bgp_peer *p, const struct bgp_rattrs *ra, struct bgp_attrs *a,
    uint32_t *asp)
{
	memset(a, 0, sizeof(*a));
	a->origin = BGP_ORIGIN_IGP;
	if (p->ebgp) {
		asp[0] = p->my_asn;
		a->as_path = asp;
		a->as_path_n = 1;
	} else {
		a->has_local_pref = true;
		a->local_pref = ra->has_local_pref ? ra->local_pref : 100;
	}
	a->as4 = p->as4;
	if (p->conn != NULL) {
		const struct bgp_conn *c = p->conn;

		if (c->local.af == ADDR_AF_INET) {
			a->nexthop4 = c->local;
			/* IPv6 routes over an IPv4 session: our global IPv6
			 * address on the same interface, else IPv4-mapped. */
			if (c->has_if6) {
				a->nexthop6 = c->if6;
			} else {
				a->nexthop6.af = ADDR_AF_INET6;
				a->nexthop6.v = ((addr_u128)0xffff << 32) | c->local.v;
			}
		} else {
			a->nexthop6 = c->local;
			/* IPv4-mapped IPv6 session address: the IPv4 inside it. */
			if ((c->local.v >> 32) == 0xffff) {
				a->nexthop4.af = ADDR_AF_INET;
				a->nexthop4.v = c->local.v & 0xffffffffu;
			} else if (c->has_if4) {
				a->nexthop4 = c->if4;
			} else {
				a->nexthop4 = p->sp->router_id;
			}
		}
		/* Same link: add our link-local so the router can use it. */
		if (c->has_ll && !p->ebgp_multihop) {
			a->has_nexthop6_ll = true;
			a->nexthop6_ll = c->ll;
		}
	}
	a->communities = ra->communities;
	a->n_communities = ra->ncommunities;
	a->large_communities = ra->large;
	a->n_large_communities = ra->nlarge;
	a->ext_communities = ra->ext;
	a->n_ext_communities = ra->n_ext;
}

static void
to_nlri(const struct bgp_out *e, struct bgp_nlri *n)
{
	uint16_t afi;
	uint8_t safi;

	bgp_fam_afisafi((enum bgp_fam)e->key.fam, &afi, &safi);
	memset(n, 0, sizeof(*n));
	n->afi = afi;
	n->safi = safi;
	n->label = e->label;
	n->rd = bgp_rd_from_bytes(e->key.rd);
	rkey_prefix(&e->key, &n->pfx);
}

/* Send items[0..n) (already sorted); withdraw those without attributes. */
static void
send_items(struct bgp_peer *p, struct bgp_out **items, size_t n)
{
	struct bgp_nlri *nl = xmalloc((n ? n : 1) * sizeof(*nl));
	size_t i = 0;

	while (i < n) {
		size_t j = i, k = 0;
		uint16_t afi;
		uint8_t safi;

		while (j < n && items[j]->key.fam == items[i]->key.fam &&
		    items[j]->attrs == items[i]->attrs &&
		    (items[i]->attrs == NULL || items[j]->label == items[i]->label)) {
			to_nlri(items[j], &nl[k++]);
			j++;
		}
		bgp_fam_afisafi((enum bgp_fam)items[i]->key.fam, &afi, &safi);
		if (items[i]->attrs == NULL) {
			if (bgp_withdraw_pack(afi, safi, nl, k, p->max_msg_len,
			    emit_cb, p) == -1)
				log_error("bgp", "peer %s: cannot build withdraw",
				    p->name);
		} else {
			struct bgp_attrs a;
			uint32_t asp[1];

			peer_attrs(p, items[i]->attrs, &a, asp);
			if (bgp_update_pack(&a, afi, safi, nl, k, p->max_msg_len,
			    emit_cb, p) == -1)
				log_error("bgp", "peer %s: cannot build update for "
				    "%zu %s prefixes", p->name, k,
				    bgp_afi_safi_name(afi, safi));
		}
		i = j;
	}
	free(nl);
}

void
bgp_out_flush(struct bgp_peer *p)
{
	struct bgp_out **items;
	size_t n = 0;

	if (p->state != BGP_ST_ESTABLISHED || p->nqueue == 0)
		return;
	items = xmalloc(p->nqueue * sizeof(*items));
	for (size_t i = 0; i < p->nqueue; i++) {
		struct bgp_out *e = p->queue[i];

		e->queued = false;
		if (!p->fam_on[e->key.fam]) {
			/* Not negotiated: the peer can't hold it. */
			if (e->attrs == NULL)
				delete_entry(p, e);
			continue;
		}
		if (e->attrs == NULL && e->held == NULL) {
			delete_entry(p, e);
			continue;
		}
		/* Changed and changed back before this flush: the peer already
		 * holds exactly this. */
		if (e->attrs == e->held && e->label == e->held_label)
			continue;
		items[n++] = e;
	}
	p->nqueue = 0;
	qsort(items, n, sizeof(*items), out_cmp);
	send_items(p, items, n);
	for (size_t i = 0; i < n; i++) {
		struct bgp_out *e = items[i];

		mark_held(p, e);
		if (e->attrs == NULL)
			delete_entry(p, e);
	}
	free(items);
}

static struct bgp_out **
collect(struct bgp_peer *p, int fam, size_t *n)
{
	struct bgp_out **items = xmalloc((hmap_count(p->adj_out) + 1) *
	    sizeof(*items));
	size_t it = 0;
	void *v;

	*n = 0;
	while (hmap_next(p->adj_out, &it, NULL, &v)) {
		struct bgp_out *e = v;

		if (e->attrs == NULL || !p->fam_on[e->key.fam])
			continue;
		if (fam >= 0 && e->key.fam != fam)
			continue;
		items[(*n)++] = e;
	}
	qsort(items, *n, sizeof(*items), out_cmp);
	return items;
}

void
bgp_out_dump(struct bgp_peer *p)
{
	struct bgp_out **items;
	size_t n;

	/* Entries queued for withdrawal were never sent on this session. */
	for (size_t i = 0; i < p->nqueue; i++) {
		p->queue[i]->queued = false;
		if (p->queue[i]->attrs == NULL)
			delete_entry(p, p->queue[i]);
	}
	p->nqueue = 0;
	items = collect(p, -1, &n);
	send_items(p, items, n);
	for (size_t i = 0; i < n; i++)
		mark_held(p, items[i]);
	free(items);
	for (int f = 0; f < BGP_FAM_COUNT; f++) {
		struct bgp_wbuf wb;
		uint16_t afi;
		uint8_t safi;

		if (!p->fam_on[f])
			continue;
		bgp_fam_afisafi((enum bgp_fam)f, &afi, &safi);
		bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
		if (bgp_eor_build(afi, safi, &wb) == 0)
			p->emit(p->emit_arg, wb.p, wb.len);
		bgp_wbuf_free(&wb);
	}
	log_info("bgp", "peer %s: sent %zu routes and End-of-RIB", p->name, n);
}

/* RFC 7313: a refresh is framed by BoRR and EoRR, so that the peer can
 * drop whatever of ours it held before and we did not re-send. */
static void
send_rr_marker(struct bgp_peer *p, enum bgp_fam fam, uint8_t subtype)
{
	struct bgp_wbuf wb;
	uint16_t afi;
	uint8_t safi;

	bgp_fam_afisafi(fam, &afi, &safi);
	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	if (bgp_route_refresh_build(afi, safi, subtype, &wb) == 0)
		p->emit(p->emit_arg, wb.p, wb.len);
	bgp_wbuf_free(&wb);
}

void
bgp_out_refresh(struct bgp_peer *p, enum bgp_fam fam)
{
	struct bgp_out **items;
	size_t n;

	if (p->state != BGP_ST_ESTABLISHED)
		return;
	/* Send pending changes first so the refresh reflects the latest. */
	bgp_out_flush(p);
	items = collect(p, (int)fam, &n);
	if (p->enhanced_rr)
		send_rr_marker(p, fam, BGP_RR_BORR);
	send_items(p, items, n);
	if (p->enhanced_rr)
		send_rr_marker(p, fam, BGP_RR_EORR);
	free(items);
	log_info("bgp", "peer %s: route refresh for %s: re-sent %zu routes%s",
	    p->name, bgp_afi_safi_name(fam == BGP_FAM_IPV6 ||
	    fam == BGP_FAM_VPNV6 ? BGP_AFI_IPV6 : BGP_AFI_IPV4,
	    fam >= BGP_FAM_VPNV4 ? BGP_SAFI_MPLS_VPN : BGP_SAFI_UNICAST), n,
	    p->enhanced_rr ? " between BoRR and EoRR" : "");
}

void
bgp_out_reset(struct bgp_peer *p)
{
	struct bgp_out **dead;
	size_t it = 0, ndead = 0;
	void *v;

	for (size_t i = 0; i < p->nqueue; i++)
		p->queue[i]->queued = false;
	p->nqueue = 0;
	dead = xmalloc((hmap_count(p->adj_out) + 1) * sizeof(*dead));
	while (hmap_next(p->adj_out, &it, NULL, &v)) {
		struct bgp_out *e = v;

		bgp_rattrs_unref(p->sp, e->held);
		e->held = NULL;
		if (e->attrs == NULL)
			dead[ndead++] = e;
	}
	for (size_t i = 0; i < ndead; i++)
		delete_entry(p, dead[i]);
	free(dead);
	memset(p->adv_count, 0, sizeof(p->adv_count));
}

void
bgp_out_free(struct bgp_peer *p)
{
	size_t it = 0;
	void *v;

	if (p->adj_out == NULL)
		return;
	while (hmap_next(p->adj_out, &it, NULL, &v)) {
		struct bgp_out *e = v;

		bgp_rattrs_unref(p->sp, e->attrs);
		bgp_rattrs_unref(p->sp, e->held);
		free(e);
	}
	hmap_free(p->adj_out);
	p->adj_out = NULL;
	free(p->queue);
	p->queue = NULL;
	p->nqueue = p->queue_cap = 0;
}

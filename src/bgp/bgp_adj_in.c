/*
 * bgp_adj_in.c - what an Established peer sends us: UPDATEs and
 * ROUTE-REFRESH.
 *
 * bgplbd installs no routes, so the Adj-RIB-In is only the set of prefix
 * keys the peer holds towards us, for the max-prefixes limit, End-of-RIB
 * bookkeeping and the enhanced route refresh sweep (RFC 7313).  Each key
 * maps to the refresh generation it was last seen in.  These functions
 * decide; the FSM (bgp_fsm.c) turns an error into a NOTIFICATION.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/log.h"
#include "bgplb/util.h"
#include "bgp.h"

void
bgp_in_clear(struct bgp_peer *p)
{
	hmap_free(p->adj_in);
	p->adj_in = hmap_new(sizeof(struct bgp_rkey));
}

static bool
as_path_has(const struct bgp_update *u, uint32_t as)
{
	for (size_t i = 0; i < u->as_path_n; i++)
		if (u->as_path[i] == as)
			return true;
	return false;
}

/* RFC 7313 on the receiving side: after the EoRR, what the peer did not
 * re-send during its refresh is gone. */
static void
adj_in_sweep(struct bgp_peer *p, enum bgp_fam f)
{
	struct bgp_rkey *dead;
	size_t it = 0, n = 0;
	const void *k;
	void *v;

	dead = xmalloc((hmap_count(p->adj_in) + 1) * sizeof(*dead));
	while (hmap_next(p->adj_in, &it, &k, &v)) {
		const struct bgp_rkey *key = k;

		if (key->fam == f && (uintptr_t)v != p->in_gen[f] + 1)
			dead[n++] = *key;
	}
	for (size_t i = 0; i < n; i++)
		hmap_del(p->adj_in, &dead[i]);
	free(dead);
	if (n > 0)
		log_info("bgp", "peer %s: %zu routes not re-sent in the route "
		    "refresh are gone", p->name, n);
}

int
bgp_in_update(struct bgp_peer *p, const uint8_t *payload, size_t len,
    struct bgp_error *err, enum bgp_fam *over)
{
	struct bgp_afisafi fams[BGP_FAM_COUNT];
	struct bgp_update_ctx ctx;
	struct bgp_update u;
	enum bgp_update_result r;
	bool loop;

	*over = BGP_FAM_COUNT;
	memset(&ctx, 0, sizeof(ctx));
	ctx.as4 = p->as4;
	ctx.ebgp = p->ebgp;
	for (int f = 0; f < BGP_FAM_COUNT; f++) {
		if (!p->fam_on[f])
			continue;
		bgp_fam_afisafi((enum bgp_fam)f, &fams[ctx.n_families].afi,
		    &fams[ctx.n_families].safi);
		ctx.n_families++;
	}
	ctx.families = fams;
	memset(&u, 0, sizeof(u));
	r = bgp_update_decode(payload, len, &ctx, &u, err);
	if (r == BGP_UPDATE_ERROR) {
		bgp_update_free(&u);
		return -1;
	}
	if (r == BGP_UPDATE_TREAT_AS_WITHDRAW) {
		char words[200];

		p->updates_treat_as_withdraw++;
		bgp_notification_str(u.reason.code, u.reason.subcode,
		    u.reason.data, u.reason.datalen, words, sizeof(words));
		snprintf(p->last_error, sizeof(p->last_error),
		    "UPDATE treated as withdraw (RFC 7606): %s", words);
		if (p->updates_treat_as_withdraw <= 10 ||
		    p->updates_treat_as_withdraw % 1000 == 0)
			log_warn("bgp", "peer %s: %s (%lu so far)", p->name,
			    p->last_error, (unsigned long)p->updates_treat_as_withdraw);
	}
	for (size_t i = 0; i < u.n_withdrawn; i++) {
		struct bgp_rkey k;
		uint8_t rd[8];

		bgp_rd_to_bytes(u.withdrawn[i].rd, rd);
		bgp_rkey_make(&k, bgp_fam_of(u.withdrawn[i].afi,
		    u.withdrawn[i].safi), &u.withdrawn[i].pfx, rd);
		hmap_del(p->adj_in, &k);
	}
	/* AS-path loop detection: our own routes reflected back are ignored. */
	loop = as_path_has(&u, p->my_asn);
	for (size_t i = 0; i < u.n_announced; i++) {
		struct bgp_rkey k;
		uint8_t rd[8];

		enum bgp_fam f = bgp_fam_of(u.announced[i].afi,
		    u.announced[i].safi);

		bgp_rd_to_bytes(u.announced[i].rd, rd);
		bgp_rkey_make(&k, f, &u.announced[i].pfx, rd);
		if (loop) {
			hmap_del(p->adj_in, &k);
			continue;
		}
		/* The value is the refresh generation (+1: never NULL). */
		hmap_put(p->adj_in, &k, (void *)(p->in_gen[f] + 1));
		if (p->max_prefixes != 0 && *over == BGP_FAM_COUNT &&
		    hmap_count(p->adj_in) > p->max_prefixes)
			*over = f;
	}
	if (u.eor) {
		enum bgp_fam f = bgp_fam_of(u.eor_family.afi, u.eor_family.safi);

		if (f != BGP_FAM_COUNT && !p->eor_received[f]) {
			p->eor_received[f] = true;
			log_info("bgp", "peer %s: End-of-RIB received for %s",
			    p->name, bgp_afi_safi_name(u.eor_family.afi,
			    u.eor_family.safi));
		}
	}
	bgp_update_free(&u);
	return 0;
}

int
bgp_in_route_refresh(struct bgp_peer *p, const uint8_t *payload, size_t len,
    struct bgp_error *err)
{
	struct bgp_route_refresh rr;
	enum bgp_fam f;

	if (bgp_route_refresh_decode(payload, len, &rr, err) == -1)
		return -1;
	f = bgp_fam_of(rr.afi, rr.safi);
	if (rr.subtype == BGP_RR_BORR || rr.subtype == BGP_RR_EORR) {
		/* The peer re-sends its routes (RFC 7313 4): routes it held
		 * before the BoRR and did not re-send by the EoRR are gone. */
		if (f == BGP_FAM_COUNT || !p->fam_on[f] || !p->enhanced_rr)
			return 0;
		if (rr.subtype == BGP_RR_BORR) {
			p->in_gen[f]++;
			p->in_refresh[f] = true;
		} else if (p->in_refresh[f]) {
			p->in_refresh[f] = false;
			adj_in_sweep(p, f);
		}
		return 0;
	}
	if (rr.subtype != BGP_RR_NORMAL)
		return 0;	/* RFC 7313: other subtypes are ignored */
	if (f == BGP_FAM_COUNT || !p->fam_on[f]) {
		log_info("bgp", "peer %s: ROUTE-REFRESH for a family not "
		    "negotiated (afi %u safi %u): ignored", p->name, rr.afi,
		    rr.safi);
		return 0;
	}
	bgp_out_refresh(p, f);
	return 0;
}

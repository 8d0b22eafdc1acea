/*
 * config_peers.c - the peers: section: one BGP session per entry, with its
 * timers (hold-time, keepalive-time, connect-time), TCP MD5 password,
 * multihop, VRF / VPN scoping, BFD and node selectors.  A peer without a
 * name is known by its address.
 */
#include <stdio.h>
#include <string.h>

#include "config_priv.h"

static const char *const peer_keys[PE__N] = {
	"name", "address", "asn", "my-asn", "port", "hold-time",
	"keepalive-time", "connect-time", "passive", "password",
	"ebgp-multihop", "source-address", "router-id", "vrf", "vpn",
	"graceful-restart", "bfd", "node-selector", "node-selectors",
	"max-prefixes",
};

enum { BF_MIN_RX, BF_MIN_TX, BF_MULT, BF_PASSIVE, BF__N };
static const char *const bfd_keys[BF__N] = { "min-rx", "min-tx",
    "multiplier", "passive" };

static void
walk_bfd(struct lctx *c, const struct ynode *n, struct cfg_bfd *bfd)
{
	const struct ynode *v[BF__N];
	uint64_t mult;
	size_t old = cfg_path_key(c, "bfd");

	/* `bfd: true` turns it on with the defaults. */
	if (n->type == YN_SCALAR && !n->is_null) {
		cfg_path_pop(c, old);
		cfg_get_bool(c, "bfd", n, &bfd->enabled);
		return;
	}
	bfd->enabled = true;
	if (cfg_map_keys(c, n, bfd_keys, BF__N, v) == -1)
		goto out;
	cfg_get_dur(c, "min-rx", v[BF_MIN_RX], &bfd->min_rx_ms);
	cfg_get_dur(c, "min-tx", v[BF_MIN_TX], &bfd->min_tx_ms);
	if (cfg_get_uint(c, "multiplier", v[BF_MULT], 1, 255, &mult) == 0 &&
	    v[BF_MULT] != NULL)
		bfd->multiplier = (uint8_t)mult;
	cfg_get_bool(c, "passive", v[BF_PASSIVE], &bfd->passive);
	if (v[BF_MIN_RX] != NULL && bfd->min_rx_ms == 0) {
		size_t o = cfg_path_key(c, "min-rx");

		cfg_err(c, v[BF_MIN_RX], "must be more than 0");
		cfg_path_pop(c, o);
	}
	if (v[BF_MIN_TX] != NULL && bfd->min_tx_ms == 0) {
		size_t o = cfg_path_key(c, "min-tx");

		cfg_err(c, v[BF_MIN_TX], "must be more than 0");
		cfg_path_pop(c, o);
	}
out:
	cfg_path_pop(c, old);
}

static void
walk_peer(struct lctx *c, const struct ynode *it, size_t idx,
    const char *const *keys)
{
	struct cfg *cfg = c->cfg;
	struct cfg_peer *p = &cfg->peers[idx];
	const struct ynode *v[PE__N];
	char buf[ADDR_STRLEN], d1[32], d2[32];
	size_t o;

	p->port = CFG_DEF_PORT;
	p->hold_time_ms = CFG_DEF_HOLD_MS;
	p->connect_time_ms = CFG_DEF_CONNECT_MS;
	p->graceful_restart = true;
	p->bfd.min_rx_ms = p->bfd.min_tx_ms = CFG_DEF_BFD_MS;
	p->bfd.multiplier = CFG_DEF_BFD_MULT;
	p->loc = cfg_loc_of(it);
	if (cfg_map_keys(c, it, keys, PE__N, v) == -1)
		return;

	for (size_t k = PE_ADDRESS; k <= PE_MY_ASN; k++)
		if (v[k] == NULL)
			cfg_err(c, it, "missing required key \"%s\"", keys[k]);
	cfg_get_addr(c, keys[PE_ADDRESS], v[PE_ADDRESS], 0, &p->address);
	cfg_get_asn(c, keys[PE_ASN], v[PE_ASN], &p->asn);
	cfg_get_asn(c, keys[PE_MY_ASN], v[PE_MY_ASN], &p->my_asn);
	cfg_get_port(c, keys[PE_PORT], v[PE_PORT], &p->port);

	if (cfg_get_dur(c, keys[PE_HOLD], v[PE_HOLD], &p->hold_time_ms) == 0 &&
	    p->hold_time_ms != 0 && p->hold_time_ms < 3000) {
		o = cfg_path_key(c, keys[PE_HOLD]);
		cfg_err(c, v[PE_HOLD], "hold-time %s must be 0 or at least 3s",
		    cfg_duration_fmt(p->hold_time_ms, d1, sizeof(d1)));
		cfg_path_pop(c, o);
	}
	/* RFC 4271 suggests a keepalive of a third of the hold time. */
	p->keepalive_ms = p->hold_time_ms / 3;
	if (cfg_get_dur(c, keys[PE_KEEPALIVE], v[PE_KEEPALIVE],
	    &p->keepalive_ms) == 0 && v[PE_KEEPALIVE] != NULL) {
		o = cfg_path_key(c, keys[PE_KEEPALIVE]);
		if (p->keepalive_ms > p->hold_time_ms)
			cfg_err(c, v[PE_KEEPALIVE], "keepalive-time %s is "
			    "longer than hold-time %s",
			    cfg_duration_fmt(p->keepalive_ms, d1, sizeof(d1)),
			    cfg_duration_fmt(p->hold_time_ms, d2, sizeof(d2)));
		else if (p->keepalive_ms == 0 && p->hold_time_ms != 0)
			cfg_err(c, v[PE_KEEPALIVE], "keepalive-time must be "
			    "more than 0 when hold-time is not 0");
		cfg_path_pop(c, o);
	}
	if (keys[PE_CONNECT] != NULL &&
	    cfg_get_dur(c, keys[PE_CONNECT], v[PE_CONNECT], &p->connect_time_ms)
	    == 0 && p->connect_time_ms == 0) {
		o = cfg_path_key(c, keys[PE_CONNECT]);
		cfg_err(c, v[PE_CONNECT], "connect-time must be more than 0");
		cfg_path_pop(c, o);
	}
	cfg_get_bool(c, "passive", v[PE_PASSIVE], &p->passive);
	if (cfg_get_str(c, "password", v[PE_PASSWORD], &p->password) == 0 &&
	    p->password != NULL && strlen(p->password) > CFG_MD5_KEY_MAX) {
		o = cfg_path_key(c, "password");
		/* The length only: the value is a secret. */
		cfg_err(c, v[PE_PASSWORD], "longer than %d bytes (%zu), the "
		    "limit of a TCP MD5 key", CFG_MD5_KEY_MAX,
		    strlen(p->password));
		cfg_path_pop(c, o);
	}

	if (v[PE_MULTIHOP] != NULL) {
		const struct ynode *m = v[PE_MULTIHOP];
		bool b;
		uint64_t ttl;

		o = cfg_path_key(c, "ebgp-multihop");
		if (m->type == YN_SCALAR && !m->is_null &&
		    cfg_parse_bool(m->str, &b) == 0)
			p->ebgp_multihop = b ? 255 : 0;
		else if (m->type == YN_SCALAR && !m->is_null &&
		    cfg_parse_u64(m->str, &ttl) == 0 && ttl >= 1 && ttl <= 255)
			p->ebgp_multihop = (uint8_t)ttl;
		else if (cfg_scalar(c, m) != NULL)
			cfg_err(c, m, "expected true, false or a TTL 1..255, "
			    "got \"%s\"", m->str);
		cfg_path_pop(c, o);
	}
	if (cfg_get_addr(c, keys[PE_SOURCE], v[PE_SOURCE], 0,
	    &p->source_address) == 0 && v[PE_SOURCE] != NULL &&
	    p->address.af != 0 && p->source_address.af != p->address.af) {
		o = cfg_path_key(c, keys[PE_SOURCE]);
		cfg_err(c, v[PE_SOURCE], "source-address %s is not of the peer "
		    "address's family", addr_ntop(&p->source_address, buf,
		    sizeof(buf)));
		cfg_path_pop(c, o);
	}
	cfg_get_addr(c, "router-id", v[PE_ROUTER_ID], ADDR_AF_INET,
	    &p->router_id);
	cfg_get_str(c, "vrf", v[PE_VRF], &p->vrf);
	if (cfg_get_strlist(c, "vpn", v[PE_VPN], &p->vpn, &p->nvpn) == 0) {
		o = cfg_path_key(c, "vpn");
		for (size_t j = 0; j < p->nvpn; j++) {
			const struct cfg_vrf *vrf;
			size_t o2 = cfg_path_idx(c, j);

			vrf = cfg_vrf_find(cfg, p->vpn[j]);
			if (vrf == NULL)
				cfg_err(c, v[PE_VPN]->kids[j], "unknown vrf "
				    "\"%s\" (VPN routes need a vrfs: entry "
				    "with a route-distinguisher)", p->vpn[j]);
			else if (vrf->route_distinguisher == NULL)
				cfg_err(c, v[PE_VPN]->kids[j], "vrf \"%s\" has "
				    "no route-distinguisher, which VPN routes "
				    "need", p->vpn[j]);
			cfg_path_pop(c, o2);
		}
		cfg_path_pop(c, o);
	}
	cfg_get_bool(c, "graceful-restart", v[PE_GR], &p->graceful_restart);
	{
		uint64_t mp;

		if (cfg_get_uint(c, "max-prefixes", v[PE_MAX_PREFIXES], 1,
		    UINT32_MAX, &mp) == 0 && v[PE_MAX_PREFIXES] != NULL)
			p->max_prefixes = (uint32_t)mp;
	}
	if (v[PE_BFD] != NULL)
		walk_bfd(c, v[PE_BFD], &p->bfd);
	cfg_parse_selector(c, "node-selector", v[PE_SEL], keys[PE_SELS],
	    v[PE_SELS], &p->node_selector);

	if (v[PE_NAME] != NULL)
		cfg_get_str(c, "name", v[PE_NAME], &p->name);
}

void
cfg_walk_peers(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	const char *const *keys = c->legacy ? cfg_peer_keys_legacy : peer_keys;
	char buf[ADDR_STRLEN + 16];
	size_t old, old2;

	if (n == NULL)
		return;
	old = cfg_path_key(c, "peers");
	if (cfg_want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->kids[i];
		struct cfg_peer *p;

		GROW(cfg->peers, cfg->npeers);
		p = &cfg->peers[i];
		old2 = cfg_path_idx(c, i);
		walk_peer(c, it, i, keys);
		if (p->name == NULL && p->address.af != 0) {
			/*
			 * A peer without a name is known by its address.
			 * MetalLB allowed the same router twice (e.g. with
			 * different node selectors), so a legacy repeat
			 * gets a suffix rather than an error.
			 */
			addr_ntop(&p->address, buf, sizeof(buf));
			for (unsigned k = 2; c->legacy &&
			    cfg_peer_find(cfg, buf) != NULL; k++) {
				char a[ADDR_STRLEN];

				snprintf(buf, sizeof(buf), "%s-%u",
				    addr_ntop(&p->address, a, sizeof(a)), k);
			}
			p->name = xstrdup(buf);
		}
		if (p->name == NULL)
			p->name = xstrdup("");
		else if (*p->name != '\0') {
			const struct ynode *nn = cfg_map_get(it, "name");
			size_t o = cfg_path_key(c, nn != NULL ? "name" :
			    (c->legacy ? "peer-address" : "address"));

			if (nn == NULL)
				nn = cfg_map_get(it, c->legacy ?
				    "peer-address" : "address");
			for (size_t j = 0; j < i; j++)
				cfg_check_dup(c, nn, "peer", p->name,
				    cfg->peers[j].name, &cfg->peers[j].loc);
			cfg_path_pop(c, o);
		}
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
}

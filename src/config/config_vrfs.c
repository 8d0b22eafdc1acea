/*
 * config_vrfs.c - the vrfs: section: a route distinguisher, route targets
 * and an MPLS label per VRF, for peers that carry pools as VPN routes.
 */
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

enum { VR_NAME, VR_RD, VR_RTS, VR_LABEL, VR__N };
static const char *const vrf_keys[VR__N] = { "name", "route-distinguisher",
    "route-targets", "label" };

void
cfg_walk_vrfs(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old, old2, o;
	char buf[64];

	if (n == NULL)
		return;
	old = cfg_path_key(c, "vrfs");
	if (cfg_want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *v[VR__N], *it = n->kids[i];
		struct cfg_vrf *vrf = GROW(cfg->vrfs, cfg->nvrfs);
		char *rd = NULL;
		uint64_t label;

		old2 = cfg_path_idx(c, i);
		vrf->loc = cfg_loc_of(it);
		if (cfg_map_keys(c, it, vrf_keys, VR__N, v) == -1)
			goto next;
		if (v[VR_NAME] == NULL)
			cfg_err(c, it, "missing required key \"name\"");
		else if (cfg_get_str(c, "name", v[VR_NAME], &vrf->name) == 0) {
			o = cfg_path_key(c, "name");
			for (size_t j = 0; j < i; j++)
				cfg_check_dup(c, v[VR_NAME], "vrf", vrf->name,
				    cfg->vrfs[j].name, &cfg->vrfs[j].loc);
			cfg_path_pop(c, o);
		}
		if (cfg_get_str(c, "route-distinguisher", v[VR_RD], &rd) == 0 &&
		    rd != NULL) {
			o = cfg_path_key(c, "route-distinguisher");
			if (cfg_parse_rd(rd, vrf->rd) == -1)
				cfg_err(c, v[VR_RD], "invalid route "
				    "distinguisher \"%s\" (expected ASN:NN or "
				    "IPv4:NN)", rd);
			else
				vrf->route_distinguisher = xstrdup(
				    cfg_rdrt_fmt(vrf->rd[1], vrf->rd + 2, buf,
				    sizeof(buf)));
			cfg_path_pop(c, o);
		}
		free(rd);
		if (v[VR_RTS] != NULL) {
			char **rts = NULL;
			size_t nrts = 0;

			cfg_get_strlist(c, "route-targets", v[VR_RTS], &rts,
			    &nrts);
			o = cfg_path_key(c, "route-targets");
			for (size_t j = 0; j < nrts; j++) {
				uint8_t rt[8];
				size_t o2 = cfg_path_idx(c, j);

				if (cfg_parse_rt(rts[j], rt) == -1)
					cfg_err(c, v[VR_RTS]->kids[j],
					    "invalid route target \"%s\" "
					    "(expected ASN:NN or IPv4:NN)",
					    rts[j]);
				else {
					vrf->rt = xrealloc(vrf->rt,
					    (vrf->nroute_targets + 1) * 8);
					memcpy(vrf->rt[vrf->nroute_targets], rt,
					    8);
					vrf->route_targets = xrealloc(
					    vrf->route_targets,
					    (vrf->nroute_targets + 1) *
					    sizeof(char *));
					vrf->route_targets[vrf->nroute_targets++]
					    = xstrdup(cfg_rdrt_fmt(rt[0],
					    rt + 2, buf, sizeof(buf)));
				}
				cfg_path_pop(c, o2);
				free(rts[j]);
			}
			free(rts);
			cfg_path_pop(c, o);
		}
		if (cfg_get_uint(c, "label", v[VR_LABEL], 0, CFG_MAX_LABEL,
		    &label) == 0 && v[VR_LABEL] != NULL)
			vrf->label = (uint32_t)label;
next:
		if (vrf->name == NULL)
			vrf->name = xstrdup("");
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
}

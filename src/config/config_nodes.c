/*
 * config_nodes.c - the nodes: section: names and labels of the nodes
 * without Kubernetes, which node selectors of pools and peers match.
 */
#include "config_priv.h"

enum { ND_NAME, ND_LABELS, ND__N };
static const char *const node_keys[ND__N] = { "name", "labels" };

void
cfg_walk_nodes(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old, old2;

	if (n == NULL)
		return;
	old = cfg_path_key(c, "nodes");
	if (cfg_want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *v[ND__N], *it = n->kids[i];
		struct cfg_node *nd = GROW(cfg->nodes, cfg->nnodes);

		old2 = cfg_path_idx(c, i);
		nd->loc = cfg_loc_of(it);
		if (cfg_map_keys(c, it, node_keys, ND__N, v) == 0) {
			if (v[ND_NAME] == NULL)
				cfg_err(c, it, "missing required key \"name\"");
			else if (cfg_get_str(c, "name", v[ND_NAME], &nd->name)
			    == 0) {
				size_t o = cfg_path_key(c, "name");

				for (size_t j = 0; j < i; j++)
					cfg_check_dup(c, v[ND_NAME], "node",
					    nd->name, cfg->nodes[j].name,
					    &cfg->nodes[j].loc);
				cfg_path_pop(c, o);
			}
			cfg_get_kvmap(c, "labels", v[ND_LABELS], &nd->labels,
			    &nd->nlabels);
		}
		if (nd->name == NULL)
			nd->name = xstrdup("");
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
}

/*
 * config_layer2.c - the layer2: section: the interfaces ARP and NDP answer
 * on, and the membership protocol (listen address, key file, timers and,
 * without Kubernetes, the member list) that elects which node answers.
 */
#include "config_priv.h"

enum { L2_IFACES, L2_MEMBERSHIP, L2__N };
static const char *const l2_keys[L2__N] = { "interfaces", "membership" };
enum { MS_LISTEN, MS_KEY, MS_INTERVAL, MS_DEAD, MS_MEMBERS, MS__N };
static const char *const ms_keys[MS__N] = { "listen", "key-file", "interval",
    "dead-after", "members" };
enum { MB_NAME, MB_ADDRESS, MB__N };
static const char *const member_keys[MB__N] = { "name", "address" };

static void
walk_members(struct lctx *c, const struct ynode *n, struct cfg_layer2 *l2)
{
	size_t old = cfg_path_key(c, "members"), old2, o;

	if (cfg_want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *v[MB__N], *it = n->kids[i];
		struct cfg_member *m = GROW(l2->members, l2->nmembers);

		old2 = cfg_path_idx(c, i);
		m->loc = cfg_loc_of(it);
		m->port = CFG_DEF_MEMBER_PORT;
		if (cfg_map_keys(c, it, member_keys, MB__N, v) == 0) {
			for (size_t k = 0; k < MB__N; k++)
				if (v[k] == NULL)
					cfg_err(c, it, "missing required key "
					    "\"%s\"", member_keys[k]);
			if (cfg_get_str(c, "name", v[MB_NAME], &m->name) == 0 &&
			    m->name != NULL) {
				o = cfg_path_key(c, "name");
				for (size_t j = 0; j < i; j++)
					cfg_check_dup(c, v[MB_NAME], "member",
					    m->name, l2->members[j].name,
					    &l2->members[j].loc);
				cfg_path_pop(c, o);
			}
			cfg_get_hostport(c, "address", v[MB_ADDRESS],
			    &m->address, &m->port);
		}
		if (m->name == NULL)
			m->name = xstrdup("");
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
}

void
cfg_walk_layer2(struct lctx *c, const struct ynode *n)
{
	struct cfg_layer2 *l2 = &c->cfg->layer2;
	const struct ynode *v[L2__N], *mv[MS__N];
	char d1[32], d2[32];
	size_t old, o;

	if (n == NULL)
		return;
	old = cfg_path_key(c, "layer2");
	if (cfg_map_keys(c, n, l2_keys, L2__N, v) == -1)
		goto out;
	cfg_get_strlist(c, "interfaces", v[L2_IFACES], &l2->interfaces,
	    &l2->ninterfaces);
	if (v[L2_MEMBERSHIP] == NULL)
		goto out;
	l2->has_membership = true;
	o = cfg_path_key(c, "membership");
	if (cfg_map_keys(c, v[L2_MEMBERSHIP], ms_keys, MS__N, mv) == 0) {
		cfg_get_hostport(c, "listen", mv[MS_LISTEN], &l2->listen,
		    &l2->listen_port);
		cfg_get_str(c, "key-file", mv[MS_KEY], &l2->key_file);
		if (cfg_get_dur(c, "interval", mv[MS_INTERVAL],
		    &l2->interval_ms) == 0 && l2->interval_ms == 0) {
			size_t o2 = cfg_path_key(c, "interval");

			cfg_err(c, mv[MS_INTERVAL], "interval must be more "
			    "than 0");
			cfg_path_pop(c, o2);
		}
		if (cfg_get_dur(c, "dead-after", mv[MS_DEAD],
		    &l2->dead_after_ms) == 0 &&
		    l2->dead_after_ms <= l2->interval_ms) {
			size_t o2 = cfg_path_key(c, "dead-after");

			cfg_err(c, mv[MS_DEAD] != NULL ? mv[MS_DEAD] :
			    v[L2_MEMBERSHIP], "dead-after %s must be longer "
			    "than interval %s",
			    cfg_duration_fmt(l2->dead_after_ms, d1, sizeof(d1)),
			    cfg_duration_fmt(l2->interval_ms, d2, sizeof(d2)));
			cfg_path_pop(c, o2);
		}
		if (mv[MS_MEMBERS] != NULL && c->k8s_local &&
		    !(mv[MS_MEMBERS]->type == YN_SEQ &&
		    mv[MS_MEMBERS]->n == 0)) {
			size_t o2 = cfg_path_key(c, "members");

			cfg_warn(c, mv[MS_MEMBERS], "not used in Kubernetes "
			    "mode: the members are the cluster's Nodes, at "
			    "their InternalIP");
			cfg_path_pop(c, o2);
		}
		if (mv[MS_MEMBERS] != NULL)
			walk_members(c, mv[MS_MEMBERS], l2);
	}
	cfg_path_pop(c, o);
out:
	cfg_path_pop(c, old);
}

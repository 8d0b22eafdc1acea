/*
 * config_free.c - releasing a struct cfg and its parts.  A struct cfg owns
 * every string and list hanging off it; cfg_free() releases all of it, and
 * the per-section functions let Kubernetes mode drop the cluster's part of
 * a daemon file's config (config_cluster.c).  A peer's password is wiped
 * before it is freed.
 */
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
kv_free(struct cfg_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void
selector_free(struct cfg_selector *s)
{
	for (size_t i = 0; i < s->nterms; i++) {
		struct cfg_sel_term *t = &s->terms[i];

		kv_free(t->labels, t->nlabels);
		for (size_t j = 0; j < t->nexprs; j++) {
			free(t->exprs[j].key);
			strv_free(t->exprs[j].values, t->exprs[j].nvalues);
		}
		free(t->exprs);
	}
	free(s->terms);
}

void
cfg_free_pools(struct cfg *c)
{
	for (size_t i = 0; i < c->npools; i++) {
		struct cfg_pool *p = &c->pools[i];

		free(p->name);
		free(p->ranges);
		free(p->vrf);
		for (size_t j = 0; j < p->nadverts; j++) {
			struct cfg_advert *a = &p->adverts[j];

			free(a->communities);
			free(a->large_communities);
			strv_free(a->peers, a->npeers);
			selector_free(&a->node_selector);
		}
		free(p->adverts);
		strv_free(p->interfaces, p->ninterfaces);
		selector_free(&p->node_selector);
	}
	free(c->pools);
	c->pools = NULL;
	c->npools = 0;
}

void
cfg_free_peers(struct cfg *c)
{
	for (size_t i = 0; i < c->npeers; i++) {
		struct cfg_peer *p = &c->peers[i];

		free(p->name);
		if (p->password != NULL) {
			/* Do not leave the MD5 secret behind in freed memory. */
			explicit_bzero(p->password, strlen(p->password));
			free(p->password);
		}
		free(p->vrf);
		strv_free(p->vpn, p->nvpn);
		selector_free(&p->node_selector);
	}
	free(c->peers);
	c->peers = NULL;
	c->npeers = 0;
}

void
cfg_free_vrfs(struct cfg *c)
{
	for (size_t i = 0; i < c->nvrfs; i++) {
		free(c->vrfs[i].name);
		free(c->vrfs[i].route_distinguisher);
		strv_free(c->vrfs[i].route_targets, c->vrfs[i].nroute_targets);
		free(c->vrfs[i].rt);
	}
	free(c->vrfs);
	c->vrfs = NULL;
	c->nvrfs = 0;
}

void
cfg_free_services(struct cfg *c)
{
	for (size_t i = 0; i < c->nservices; i++)
		cfg_service_clear(&c->services[i]);
	free(c->services);
	c->services = NULL;
	c->nservices = 0;
}

void
cfg_free_nodes(struct cfg *c)
{
	for (size_t i = 0; i < c->nnodes; i++) {
		free(c->nodes[i].name);
		kv_free(c->nodes[i].labels, c->nodes[i].nlabels);
	}
	free(c->nodes);
	c->nodes = NULL;
	c->nnodes = 0;
}

void
cfg_free_aliases(struct cfg *c)
{
	for (size_t i = 0; i < c->ncommunity_aliases; i++)
		free(c->community_aliases[i].name);
	free(c->community_aliases);
	c->community_aliases = NULL;
	c->ncommunity_aliases = 0;
}

void
cfg_members_free(struct cfg_layer2 *l2)
{
	for (size_t i = 0; i < l2->nmembers; i++)
		free(l2->members[i].name);
	free(l2->members);
	l2->members = NULL;
	l2->nmembers = 0;
}

void
cfg_service_clear(struct cfg_service *s)
{
	free(s->name);
	free(s->pool);
	free(s->addresses);
	free(s->sharing_key);
	free(s->ports);
	for (size_t j = 0; j < s->nendpoints; j++)
		free(s->endpoints[j].node);
	free(s->endpoints);
	free(s->health.url);
	free(s->health.ca_file);
	for (size_t j = 0; j < s->health.nargv; j++)
		free(s->health.argv[j]);
	free(s->health.argv);
	memset(s, 0, sizeof(*s));
}

void
cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free(c->node);
	free(c->status_listen);
	free(c->status_token_file);
	free(c->state_file);
	cfg_free_pools(c);
	cfg_free_peers(c);
	cfg_free_vrfs(c);
	cfg_free_services(c);
	cfg_free_nodes(c);
	cfg_free_aliases(c);
	strv_free(c->layer2.interfaces, c->layer2.ninterfaces);
	free(c->layer2.key_file);
	cfg_members_free(&c->layer2);
	free(c->kubernetes.kubeconfig);
	free(c->kubernetes.config_map);
	free(c->kubernetes.lease);
	free(c->kubernetes.load_balancer_class);
	free(c->kubernetes.last_good_config);
	for (size_t i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	free(c);
}

void
cfg_errors_free(struct cfg_errors *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->lines[i]);
	free(e->lines);
	e->lines = NULL;
	e->n = 0;
}

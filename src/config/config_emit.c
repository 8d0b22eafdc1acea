/*
 * config_emit.c - print a struct cfg as normalized native YAML.
 *
 * This is what `bgplbd --check-config` prints, and how a MetalLB legacy
 * file is converted: the output is always our native schema, in a fixed
 * key order, with every default written out, so two configs that mean the
 * same thing print the same and a diff of the output shows real changes.
 * The output loads again and prints identically, with one exception: a
 * peer's password is never printed (a secret must not end up in logs or
 * CI output), only a comment saying that one is set.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bgplb/config.h"
#include "config_priv.h"

/*
 * Plain scalars only when unambiguous: otherwise double-quote, so that
 * names like "yes", "" or "[x]" survive any YAML reader.
 */
static bool
needs_quotes(const char *s)
{
	static const char *const special[] = { "true", "false", "yes", "no",
	    "on", "off", "null", "~", "y", "n" };

	if (*s == '\0')
		return true;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strcasecmp(s, special[i]) == 0)
			return true;
	if (!(s[0] >= 'a' && s[0] <= 'z') && !(s[0] >= 'A' && s[0] <= 'Z') &&
	    !(s[0] >= '0' && s[0] <= '9') && s[0] != '/' && s[0] != '.' &&
	    s[0] != '_')
		return true;
	for (const char *p = s; *p != '\0'; p++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._/:@+-", *p) == NULL)
			return true;
	return s[strlen(s) - 1] == ':';
}

static void
put_str(FILE *f, const char *s)
{
	if (!needs_quotes(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void
key_str(FILE *f, int ind, const char *key, const char *val)
{
	fprintf(f, "%*s%s: ", ind, "", key);
	put_str(f, val);
	fputc('\n', f);
}

static void
key_bool(FILE *f, int ind, const char *key, bool v)
{
	fprintf(f, "%*s%s: %s\n", ind, "", key, v ? "true" : "false");
}

static void
key_uint(FILE *f, int ind, const char *key, unsigned long v)
{
	fprintf(f, "%*s%s: %lu\n", ind, "", key, v);
}

static void
key_dur(FILE *f, int ind, const char *key, uint32_t ms)
{
	char buf[32];

	fprintf(f, "%*s%s: %s\n", ind, "", key,
	    cfg_duration_fmt(ms, buf, sizeof(buf)));
}

static void
key_addr(FILE *f, int ind, const char *key, const struct addr *a)
{
	char buf[ADDR_STRLEN];

	key_str(f, ind, key, addr_ntop(a, buf, sizeof(buf)));
}

static void
key_hostport(FILE *f, int ind, const char *key, const struct addr *a,
    uint16_t port)
{
	char buf[ADDR_STRLEN], hp[ADDR_STRLEN + 16];

	addr_ntop(a, buf, sizeof(buf));
	if (a->af == ADDR_AF_INET6)
		snprintf(hp, sizeof(hp), "[%s]:%u", buf, port);
	else
		snprintf(hp, sizeof(hp), "%s:%u", buf, port);
	key_str(f, ind, key, hp);
}

static void
key_strlist(FILE *f, int ind, const char *key, char *const *v, size_t n)
{
	if (n == 0) {
		fprintf(f, "%*s%s: []\n", ind, "", key);
		return;
	}
	fprintf(f, "%*s%s:\n", ind, "", key);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%*s- ", ind + 2, "");
		put_str(f, v[i]);
		fputc('\n', f);
	}
}

static void
emit_health(FILE *f, const struct cfg_health *h)
{
	if (h->kind == CFG_CHECK_NONE)
		return;
	fputs("    health-check:\n", f);
	if (h->kind == CFG_CHECK_HTTP) {
		key_str(f, 6, "http", h->url);
		if (h->ca_file != NULL)
			key_str(f, 6, "ca-file", h->ca_file);
	} else if (h->kind == CFG_CHECK_TCP)
		key_hostport(f, 6, "tcp", &h->addr, h->port);
	else
		key_strlist(f, 6, "exec", h->argv, h->nargv);
	key_dur(f, 6, "interval", h->interval_ms);
	key_dur(f, 6, "timeout", h->timeout_ms);
	key_uint(f, 6, "rise", h->rise);
	key_uint(f, 6, "fall", h->fall);
}

static void
key_kvmap(FILE *f, int ind, const char *key, const struct cfg_kv *kv, size_t n)
{
	if (n == 0) {
		fprintf(f, "%*s%s: {}\n", ind, "", key);
		return;
	}
	fprintf(f, "%*s%s:\n", ind, "", key);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%*s", ind + 2, "");
		put_str(f, kv[i].key);
		fputs(": ", f);
		put_str(f, kv[i].value);
		fputc('\n', f);
	}
}

/* Item of a block list: "- " then the first key at ind + 2. */
static void
item(FILE *f, int ind)
{
	fprintf(f, "%*s- ", ind, "");
}

/* The short node-selector form when it says everything. */
static void
emit_selector(FILE *f, int ind, const struct cfg_selector *s)
{
	static const char *const ops[] = { "In", "NotIn", "Exists",
	    "DoesNotExist" };

	if (s->nterms == 0)
		return;
	if (s->nterms == 1 && s->terms[0].nexprs == 0 &&
	    s->terms[0].nlabels > 0) {
		key_kvmap(f, ind, "node-selector", s->terms[0].labels,
		    s->terms[0].nlabels);
		return;
	}
	fprintf(f, "%*snode-selectors:\n", ind, "");
	for (size_t i = 0; i < s->nterms; i++) {
		const struct cfg_sel_term *t = &s->terms[i];
		bool first = true;

		item(f, ind + 2);
		if (t->nlabels == 0 && t->nexprs == 0) {
			fputs("{}\n", f);
			continue;
		}
		if (t->nlabels > 0) {
			fputs("match-labels:\n", f);
			for (size_t j = 0; j < t->nlabels; j++) {
				fprintf(f, "%*s", ind + 6, "");
				put_str(f, t->labels[j].key);
				fputs(": ", f);
				put_str(f, t->labels[j].value);
				fputc('\n', f);
			}
			first = false;
		}
		if (t->nexprs == 0)
			continue;
		if (!first)
			fprintf(f, "%*s", ind + 4, "");
		fputs("match-expressions:\n", f);
		for (size_t j = 0; j < t->nexprs; j++) {
			const struct cfg_sel_expr *e = &t->exprs[j];

			item(f, ind + 6);
			fputs("key: ", f);
			put_str(f, e->key);
			fputc('\n', f);
			key_str(f, ind + 8, "operator", ops[e->op]);
			if (e->nvalues > 0)
				key_strlist(f, ind + 8, "values", e->values,
				    e->nvalues);
		}
	}
}

static void
emit_advert(FILE *f, int ind, const struct cfg_advert *a)
{
	char buf[64];

	item(f, ind);
	fprintf(f, "aggregation-length: %d\n", a->aggregation_length);
	key_uint(f, ind + 2, "aggregation-length-v6",
	    (unsigned long)a->aggregation_length_v6);
	if (a->has_local_pref)
		key_uint(f, ind + 2, "local-pref", a->local_pref);
	if (a->ncommunities > 0) {
		fprintf(f, "%*scommunities:\n", ind + 2, "");
		for (size_t i = 0; i < a->ncommunities; i++) {
			fprintf(f, "%*s- ", ind + 4, "");
			put_str(f, cfg_community_fmt(a->communities[i], buf,
			    sizeof(buf)));
			fputc('\n', f);
		}
	}
	if (a->nlarge_communities > 0) {
		fprintf(f, "%*slarge-communities:\n", ind + 2, "");
		for (size_t i = 0; i < a->nlarge_communities; i++)
			fprintf(f, "%*s- %u:%u:%u\n", ind + 4, "",
			    a->large_communities[i].global,
			    a->large_communities[i].local1,
			    a->large_communities[i].local2);
	}
	if (a->npeers > 0)
		key_strlist(f, ind + 2, "peers", a->peers, a->npeers);
	emit_selector(f, ind + 2, &a->node_selector);
}

static void
emit_pools(FILE *f, const struct cfg *c)
{
	char buf[2 * ADDR_STRLEN + 2], a1[ADDR_STRLEN], a2[ADDR_STRLEN];

	if (c->npools == 0) {
		fputs("pools: []\n", f);
		return;
	}
	fputs("pools:\n", f);
	for (size_t i = 0; i < c->npools; i++) {
		const struct cfg_pool *p = &c->pools[i];

		item(f, 2);
		key_str(f, 0, "name", p->name);
		key_str(f, 4, "protocol", cfg_proto_name(p->protocol));
		fputs("    addresses:\n", f);
		for (size_t j = 0; j < p->nranges; j++) {
			const struct cfg_range *r = &p->ranges[j];

			if (r->is_cidr)
				prefix_ntop(&r->cidr, buf, sizeof(buf));
			else
				snprintf(buf, sizeof(buf), "%s-%s",
				    addr_ntop(&r->range.first, a1, sizeof(a1)),
				    addr_ntop(&r->range.last, a2, sizeof(a2)));
			fprintf(f, "      - ");
			put_str(f, buf);
			fputc('\n', f);
		}
		key_bool(f, 4, "auto-assign", p->auto_assign);
		key_bool(f, 4, "avoid-buggy-ips", p->avoid_buggy_ips);
		if (p->vrf != NULL)
			key_str(f, 4, "vrf", p->vrf);
		emit_selector(f, 4, &p->node_selector);
		if (p->protocol == CFG_PROTO_LAYER2) {
			if (p->ninterfaces > 0)
				key_strlist(f, 4, "interfaces", p->interfaces,
				    p->ninterfaces);
			continue;
		}
		key_bool(f, 4, "weighted-ecmp", p->weighted_ecmp);
		fputs("    advertisements:\n", f);
		for (size_t j = 0; j < p->nadverts; j++)
			emit_advert(f, 6, &p->adverts[j]);
	}
}

static void
emit_peers(FILE *f, const struct cfg *c)
{
	if (c->npeers == 0) {
		fputs("peers: []\n", f);
		return;
	}
	fputs("peers:\n", f);
	for (size_t i = 0; i < c->npeers; i++) {
		const struct cfg_peer *p = &c->peers[i];
		const struct cfg_bfd *b = &p->bfd;

		item(f, 2);
		key_str(f, 0, "name", p->name);
		key_addr(f, 4, "address", &p->address);
		key_uint(f, 4, "asn", p->asn);
		key_uint(f, 4, "my-asn", p->my_asn);
		key_uint(f, 4, "port", p->port);
		key_dur(f, 4, "hold-time", p->hold_time_ms);
		key_dur(f, 4, "keepalive-time", p->keepalive_ms);
		key_dur(f, 4, "connect-time", p->connect_time_ms);
		key_bool(f, 4, "passive", p->passive);
		if (p->password != NULL)
			fputs("    # password: set (not shown)\n", f);
		if (p->ebgp_multihop == 0)
			key_bool(f, 4, "ebgp-multihop", false);
		else
			key_uint(f, 4, "ebgp-multihop", p->ebgp_multihop);
		if (p->source_address.af != 0)
			key_addr(f, 4, "source-address", &p->source_address);
		if (p->router_id.af != 0)
			key_addr(f, 4, "router-id", &p->router_id);
		if (p->vrf != NULL)
			key_str(f, 4, "vrf", p->vrf);
		if (p->nvpn > 0)
			key_strlist(f, 4, "vpn", p->vpn, p->nvpn);
		key_bool(f, 4, "graceful-restart", p->graceful_restart);
		if (p->max_prefixes != 0)
			key_uint(f, 4, "max-prefixes", p->max_prefixes);
		if (!b->enabled)
			key_bool(f, 4, "bfd", false);
		else {
			fputs("    bfd:\n", f);
			key_dur(f, 6, "min-rx", b->min_rx_ms);
			key_dur(f, 6, "min-tx", b->min_tx_ms);
			key_uint(f, 6, "multiplier", b->multiplier);
			key_bool(f, 6, "passive", b->passive);
		}
		emit_selector(f, 4, &p->node_selector);
	}
}

static void
emit_vrfs(FILE *f, const struct cfg *c)
{
	if (c->nvrfs == 0) {
		fputs("vrfs: []\n", f);
		return;
	}
	fputs("vrfs:\n", f);
	for (size_t i = 0; i < c->nvrfs; i++) {
		const struct cfg_vrf *v = &c->vrfs[i];

		item(f, 2);
		key_str(f, 0, "name", v->name);
		if (v->route_distinguisher != NULL)
			key_str(f, 4, "route-distinguisher",
			    v->route_distinguisher);
		if (v->nroute_targets > 0)
			key_strlist(f, 4, "route-targets", v->route_targets,
			    v->nroute_targets);
		key_uint(f, 4, "label", v->label);
	}
}

static void
emit_services(FILE *f, const struct cfg *c)
{
	static const char *const l4[] = { "tcp", "udp", "sctp" };

	if (c->nservices == 0) {
		fputs("services: []\n", f);
		return;
	}
	fputs("services:\n", f);
	for (size_t i = 0; i < c->nservices; i++) {
		const struct cfg_service *s = &c->services[i];

		item(f, 2);
		key_str(f, 0, "name", s->name);
		if (s->pool != NULL)
			key_str(f, 4, "pool", s->pool);
		if (s->naddresses > 0) {
			fputs("    addresses:\n", f);
			for (size_t j = 0; j < s->naddresses; j++) {
				char buf[ADDR_STRLEN];

				fputs("      - ", f);
				put_str(f, addr_ntop(&s->addresses[j], buf,
				    sizeof(buf)));
				fputc('\n', f);
			}
		}
		if (s->sharing_key != NULL)
			key_str(f, 4, "sharing-key", s->sharing_key);
		if (s->nports > 0) {
			fputs("    ports:\n", f);
			for (size_t j = 0; j < s->nports; j++)
				fprintf(f, "      - %u/%s\n", s->ports[j].port,
				    l4[s->ports[j].proto]);
		}
		if (s->families != 0) {
			fputs("    ip-families:\n", f);
			if (s->families & CFG_FAMILY_IPV4)
				fputs("      - IPv4\n", f);
			if (s->families & CFG_FAMILY_IPV6)
				fputs("      - IPv6\n", f);
			key_str(f, 4, "ip-family-policy",
			    s->dual_stack_required ? "RequireDualStack" :
			    s->families == (CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6) ?
			    "PreferDualStack" : "SingleStack");
		}
		key_str(f, 4, "external-traffic-policy",
		    s->traffic_policy == CFG_TRAFFIC_LOCAL ? "Local" :
		    "Cluster");
		if (s->nendpoints > 0) {
			fputs("    endpoints:\n", f);
			for (size_t j = 0; j < s->nendpoints; j++) {
				fputs("      ", f);
				put_str(f, s->endpoints[j].node);
				fprintf(f, ": %u\n", s->endpoints[j].count);
			}
		}
		emit_health(f, &s->health);
	}
}

static void
emit_layer2(FILE *f, const struct cfg *c)
{
	const struct cfg_layer2 *l = &c->layer2;

	fputs("layer2:\n", f);
	key_strlist(f, 2, "interfaces", l->interfaces, l->ninterfaces);
	if (!l->has_membership)
		return;
	fputs("  membership:\n", f);
	if (l->listen.af != 0)
		key_hostport(f, 4, "listen", &l->listen, l->listen_port);
	if (l->key_file != NULL)
		key_str(f, 4, "key-file", l->key_file);
	key_dur(f, 4, "interval", l->interval_ms);
	key_dur(f, 4, "dead-after", l->dead_after_ms);
	if (l->nmembers == 0 && c->kubernetes.enabled)
		return;		/* the cluster's Nodes */
	if (l->nmembers == 0) {
		fputs("    members: []\n", f);
		return;
	}
	fputs("    members:\n", f);
	for (size_t i = 0; i < l->nmembers; i++) {
		item(f, 6);
		key_str(f, 0, "name", l->members[i].name);
		key_hostport(f, 8, "address", &l->members[i].address,
		    l->members[i].port);
	}
}

void
cfg_emit(const struct cfg *c, FILE *f)
{
	char buf[64];
	/* The daemon's own file in Kubernetes mode: the cluster's keys are
	 * not allowed there, not even empty. */
	bool k8s_local = c->kubernetes.enabled && c->npools == 0 &&
	    c->npeers == 0 && c->nvrfs == 0 && c->ncommunity_aliases == 0 &&
	    c->nservices == 0 && c->nnodes == 0;

	if (c->node != NULL)
		key_str(f, 0, "node", c->node);
	if (c->router_id.af != 0)
		key_addr(f, 0, "router-id", &c->router_id);
	key_str(f, 0, "status-listen", c->status_listen != NULL ?
	    c->status_listen : CFG_DEF_STATUS_LISTEN);
	/* The token's path, never its content. */
	if (c->status_token_file != NULL)
		key_str(f, 0, "status-token-file", c->status_token_file);
	if (c->status_insecure)
		key_bool(f, 0, "status-insecure", true);
	if (c->state_file != NULL)
		key_str(f, 0, "state-file", c->state_file);
	fprintf(f, "bgp-listen-port: %u\n", c->bgp_listen_port);
	if (k8s_local)
		;
	else if (c->ncommunity_aliases == 0)
		fputs("bgp-communities: {}\n", f);
	else {
		fputs("bgp-communities:\n", f);
		for (size_t i = 0; i < c->ncommunity_aliases; i++) {
			fputs("  ", f);
			put_str(f, c->community_aliases[i].name);
			fputs(": ", f);
			/* The number, never a name: an alias of an alias
			 * would not load. */
			snprintf(buf, sizeof(buf), "%u:%u",
			    c->community_aliases[i].value >> 16,
			    c->community_aliases[i].value & 0xFFFF);
			put_str(f, buf);
			fputc('\n', f);
		}
	}
	if (k8s_local)
		;
	else if (c->nnodes == 0)
		fputs("nodes: []\n", f);
	else {
		fputs("nodes:\n", f);
		for (size_t i = 0; i < c->nnodes; i++) {
			item(f, 2);
			key_str(f, 0, "name", c->nodes[i].name);
			key_kvmap(f, 4, "labels", c->nodes[i].labels,
			    c->nodes[i].nlabels);
		}
	}
	if (!k8s_local) {
		emit_pools(f, c);
		emit_peers(f, c);
		emit_vrfs(f, c);
		emit_services(f, c);
	}
	emit_layer2(f, c);
	if (c->kubernetes.enabled) {
		const struct cfg_kubernetes *k = &c->kubernetes;

		fputs("kubernetes:\n", f);
		if (k->kubeconfig != NULL)
			key_str(f, 2, "kubeconfig", k->kubeconfig);
		key_str(f, 2, "config-map", k->config_map);
		key_str(f, 2, "lease", k->lease);
		key_str(f, 2, "load-balancer-class", k->load_balancer_class);
		/* Leader election timing: only what was set (0: default). */
		if (k->lease_duration_s != 0)
			key_dur(f, 2, "lease-duration",
			    (uint32_t)k->lease_duration_s * 1000);
		if (k->renew_deadline_ms != 0)
			key_dur(f, 2, "renew-deadline", k->renew_deadline_ms);
		if (k->retry_period_ms != 0)
			key_dur(f, 2, "retry-period", k->retry_period_ms);
		if (k->last_good_config != NULL)
			key_str(f, 2, "last-good-config", k->last_good_config);
	}
}

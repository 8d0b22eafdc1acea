/*
 * config_values.c - the small value grammars of the configuration
 * (durations, BGP communities, route distinguishers and targets), node
 * selector matching and lookups by name.
 *
 * These are pure functions over strings and plain data so that the loader,
 * the emitter and other modules (the planner matches selectors, the BGP
 * speaker encodes route targets) share one definition of each grammar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bgplb/config.h"
#include "config_priv.h"

static const struct {
	const char	*name;
	uint32_t	 value;
} cfg_well_known[] = {
	{ "no-export",			0xFFFFFF01 },
	{ "no-advertise",		0xFFFFFF02 },
	{ "no-export-subconfed",	0xFFFFFF03 },
	{ "no-peer",			0xFFFFFF04 },
	{ "blackhole",			0xFFFF029A },
	{ "graceful-shutdown",		0xFFFF0000 },
	{ "accept-own",			0xFFFF0001 },
	{ "llgr-stale",			0xFFFF0006 },
	{ "no-llgr",			0xFFFF0007 },
};

/*
 * Strict unsigned decimal: digits only (no sign, no spaces, no "0x"), so
 * that "-1" or " 5" in a config is an error rather than a surprise.
 */
static int
parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
cfg_parse_duration(const char *s, uint32_t *ms)
{
	uint64_t total = 0, v;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	/* MetalLB's hold-time may be a bare number of seconds. */
	if (strspn(s, "0123456789") == strlen(s)) {
		if (parse_uint(s, strlen(s), UINT32_MAX / 1000, &v) == -1)
			return -1;
		*ms = (uint32_t)(v * 1000);
		return 0;
	}
	/* Go's time.ParseDuration allows "1m30s"; so do we (integers only). */
	while (*p != '\0') {
		size_t nd = strspn(p, "0123456789");
		uint64_t unit;

		if (parse_uint(p, nd, UINT32_MAX, &v) == -1)
			return -1;
		p += nd;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60000;
			p++;
		} else if (*p == 'h') {
			unit = 3600000;
			p++;
		} else
			return -1;
		total += v * unit;
		if (total > UINT32_MAX)
			return -1;
	}
	*ms = (uint32_t)total;
	return 0;
}

const char *
cfg_duration_fmt(uint32_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0s");
	else if (ms % 3600000 == 0)
		snprintf(buf, len, "%uh", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%um", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%us", ms / 1000);
	else
		snprintf(buf, len, "%ums", ms);
	return buf;
}

int
cfg_parse_community(const char *s, uint32_t *out)
{
	const char *colon;
	uint64_t hi, lo;

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(cfg_well_known) / sizeof(cfg_well_known[0]); i++) {
		if (strcasecmp(s, cfg_well_known[i].name) == 0) {
			*out = cfg_well_known[i].value;
			return 0;
		}
	}
	if ((colon = strchr(s, ':')) == NULL) {
		if (parse_uint(s, strlen(s), UINT32_MAX, &lo) == -1)
			return -1;
		*out = (uint32_t)lo;
		return 0;
	}
	if (parse_uint(s, (size_t)(colon - s), 0xFFFF, &hi) == -1 ||
	    parse_uint(colon + 1, strlen(colon + 1), 0xFFFF, &lo) == -1)
		return -1;
	*out = (uint32_t)(hi << 16 | lo);
	return 0;
}

const char *
cfg_community_name(uint32_t value)
{
	for (size_t i = 0; i < sizeof(cfg_well_known) / sizeof(cfg_well_known[0]); i++)
		if (cfg_well_known[i].value == value)
			return cfg_well_known[i].name;
	return NULL;
}

const char *
cfg_community_fmt(uint32_t value, char *buf, size_t len)
{
	const char *name = cfg_community_name(value);

	if (name != NULL)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%u:%u", value >> 16, value & 0xFFFF);
	return buf;
}

int
cfg_parse_large_community(const char *s, struct cfg_large_community *lc)
{
	const char *c1, *c2;
	uint64_t a, b, c;

	if (s == NULL || (c1 = strchr(s, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL)
		return -1;
	if (parse_uint(s, (size_t)(c1 - s), UINT32_MAX, &a) == -1 ||
	    parse_uint(c1 + 1, (size_t)(c2 - c1 - 1), UINT32_MAX, &b) == -1 ||
	    parse_uint(c2 + 1, strlen(c2 + 1), UINT32_MAX, &c) == -1)
		return -1;
	lc->global = (uint32_t)a;
	lc->local1 = (uint32_t)b;
	lc->local2 = (uint32_t)c;
	return 0;
}

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * RFC 4364 section 4.2: the administrator field decides the type.  An ASN
 * that fits 16 bits is type 0 (with a 32-bit assigned number), a dotted
 * quad type 1, a larger ASN type 2; types 1 and 2 leave 16 bits for the
 * assigned number.  Returns the type, or -1.
 */
static int
parse_rdrt(const char *s, uint8_t value[6])
{
	const char *colon;
	char admin[16];
	size_t n;
	uint64_t asn, nn;
	struct addr a;

	if (s == NULL || (colon = strchr(s, ':')) == NULL ||
	    strchr(colon + 1, ':') != NULL)
		return -1;
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(admin))
		return -1;
	memcpy(admin, s, n);
	admin[n] = '\0';
	if (strchr(admin, '.') != NULL) {
		if (addr_parse(admin, &a) == -1 || a.af != ADDR_AF_INET ||
		    parse_uint(colon + 1, strlen(colon + 1), 0xFFFF, &nn) == -1)
			return -1;
		put32(value, (uint32_t)a.v);
		put16(value + 4, (uint32_t)nn);
		return 1;
	}
	if (parse_uint(admin, n, UINT32_MAX, &asn) == -1)
		return -1;
	if (asn <= 0xFFFF) {
		if (parse_uint(colon + 1, strlen(colon + 1), UINT32_MAX, &nn) == -1)
			return -1;
		put16(value, (uint32_t)asn);
		put32(value + 2, (uint32_t)nn);
		return 0;
	}
	if (parse_uint(colon + 1, strlen(colon + 1), 0xFFFF, &nn) == -1)
		return -1;
	put32(value, (uint32_t)asn);
	put16(value + 4, (uint32_t)nn);
	return 2;
}

int
cfg_parse_rd(const char *s, uint8_t out[8])
{
	int type = parse_rdrt(s, out + 2);

	if (type == -1)
		return -1;
	out[0] = 0;
	out[1] = (uint8_t)type;
	return 0;
}

int
cfg_parse_rt(const char *s, uint8_t out[8])
{
	int type = parse_rdrt(s, out + 2);

	if (type == -1)
		return -1;
	out[0] = (uint8_t)type;
	out[1] = 0x02;		/* route target subtype */
	return 0;
}

const char *
cfg_rdrt_fmt(uint8_t type, const uint8_t v[6], char *buf, size_t len)
{
	uint32_t a32 = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
	    (uint32_t)v[2] << 8 | v[3];

	switch (type) {
	case 0:
		snprintf(buf, len, "%u:%u", (unsigned)(v[0] << 8 | v[1]),
		    (uint32_t)v[2] << 24 | (uint32_t)v[3] << 16 |
		    (uint32_t)v[4] << 8 | v[5]);
		break;
	case 1:
		snprintf(buf, len, "%u.%u.%u.%u:%u", v[0], v[1], v[2], v[3],
		    (unsigned)(v[4] << 8 | v[5]));
		break;
	default:
		snprintf(buf, len, "%u:%u", a32, (unsigned)(v[4] << 8 | v[5]));
		break;
	}
	return buf;
}

const char *
cfg_proto_name(enum cfg_proto p)
{
	switch (p) {
	case CFG_PROTO_BGP:
		return "bgp";
	case CFG_PROTO_LAYER2:
		return "layer2";
	}
	return "unknown";
}

static const char *
label_value(const struct cfg_kv *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i].key, key) == 0)
			return labels[i].value;
	return NULL;
}

static bool
term_match(const struct cfg_sel_term *t, const struct cfg_kv *labels,
    size_t nlabels)
{
	for (size_t i = 0; i < t->nlabels; i++) {
		const char *v = label_value(labels, nlabels, t->labels[i].key);

		if (v == NULL || strcmp(v, t->labels[i].value) != 0)
			return false;
	}
	for (size_t i = 0; i < t->nexprs; i++) {
		const struct cfg_sel_expr *e = &t->exprs[i];
		const char *v = label_value(labels, nlabels, e->key);
		bool in = false;

		for (size_t j = 0; v != NULL && j < e->nvalues; j++)
			if (strcmp(v, e->values[j]) == 0)
				in = true;
		switch (e->op) {
		case CFG_SEL_IN:
			if (!in)
				return false;
			break;
		case CFG_SEL_NOT_IN:
			/* As in Kubernetes: a node without the label is "not in". */
			if (in)
				return false;
			break;
		case CFG_SEL_EXISTS:
			if (v == NULL)
				return false;
			break;
		case CFG_SEL_DOES_NOT_EXIST:
			if (v != NULL)
				return false;
			break;
		}
	}
	return true;
}

bool
cfg_selector_match(const struct cfg_selector *sel, const struct cfg_kv *labels,
    size_t nlabels)
{
	if (sel == NULL || sel->nterms == 0)
		return true;
	for (size_t i = 0; i < sel->nterms; i++)
		if (term_match(&sel->terms[i], labels, nlabels))
			return true;
	return false;
}

const struct cfg_pool *
cfg_pool_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; c != NULL && name != NULL && i < c->npools; i++)
		if (c->pools[i].name != NULL &&
		    strcmp(c->pools[i].name, name) == 0)
			return &c->pools[i];
	return NULL;
}

const struct cfg_peer *
cfg_peer_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; c != NULL && name != NULL && i < c->npeers; i++)
		if (c->peers[i].name != NULL &&
		    strcmp(c->peers[i].name, name) == 0)
			return &c->peers[i];
	return NULL;
}

const struct cfg_vrf *
cfg_vrf_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; c != NULL && name != NULL && i < c->nvrfs; i++)
		if (c->vrfs[i].name != NULL &&
		    strcmp(c->vrfs[i].name, name) == 0)
			return &c->vrfs[i];
	return NULL;
}

const struct cfg_node *
cfg_node_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; c != NULL && name != NULL && i < c->nnodes; i++)
		if (c->nodes[i].name != NULL &&
		    strcmp(c->nodes[i].name, name) == 0)
			return &c->nodes[i];
	return NULL;
}

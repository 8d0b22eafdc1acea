/*
 * config.h - the daemon's configuration as plain data.
 *
 * cfg_load() turns a YAML file (our native schema, MetalLB's legacy schema,
 * or a ConfigMap manifest wrapping either in data.config) into one
 * struct cfg.  It is a pure function of the file's bytes: no sockets, no
 * global state.  Every problem found is appended to a struct cfg_errors as
 * "FILE:LINE:COL: path.to.key: message"; loading continues after an error so
 * that the operator sees them all at once.  A config with errors is never
 * used: the caller keeps the previous one.
 *
 * Durations are stored in milliseconds.  Every list is an array + count.
 * Strings are owned by the struct cfg and freed by cfg_free().
 */
#ifndef BGPLB_CONFIG_H
#define BGPLB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bgplb/addr.h"

/* Where a value came from, for errors found after parsing. */
struct cfg_loc {
	int		line;	/* 1-based, in the outer file */
	int		col;	/* 1-based */
};

enum cfg_proto {
	CFG_PROTO_BGP = 0,
	CFG_PROTO_LAYER2,
};

enum cfg_source {
	CFG_SOURCE_NATIVE = 0,
	CFG_SOURCE_METALLB,		/* bare MetalLB legacy document */
	CFG_SOURCE_CONFIGMAP_NATIVE,	/* ConfigMap, data.config in our form */
	CFG_SOURCE_CONFIGMAP_METALLB,	/* ConfigMap, data.config in MetalLB's */
};

struct cfg_kv {
	char		*key;
	char		*value;
};

enum cfg_sel_op {
	CFG_SEL_IN = 0,
	CFG_SEL_NOT_IN,
	CFG_SEL_EXISTS,
	CFG_SEL_DOES_NOT_EXIST,
};

struct cfg_sel_expr {
	char		*key;
	enum cfg_sel_op	 op;
	char		**values;
	size_t		 nvalues;
};

/* One term: all match-labels and all match-expressions must hold. */
struct cfg_sel_term {
	struct cfg_kv	*labels;
	size_t		 nlabels;
	struct cfg_sel_expr *exprs;
	size_t		 nexprs;
};

/* A node selector: any term may match; no term at all matches every node. */
struct cfg_selector {
	struct cfg_sel_term *terms;
	size_t		 nterms;
};

/* An address range of a pool, as written ("a-b" or "p/len"). */
struct cfg_range {
	struct addr_range range;
	bool		 is_cidr;
	struct prefix	 cidr;		/* when is_cidr */
	struct cfg_loc	 loc;
};

struct cfg_large_community {
	uint32_t	global;
	uint32_t	local1;
	uint32_t	local2;
};

/*
 * One BGP advertisement of a pool's addresses (MetalLB's bgp-advertisements).
 * A native pool's own keys (communities, local-pref, aggregation-length, ...)
 * form its single advertisement unless it lists `advertisements:`.
 */
struct cfg_advert {
	int		 aggregation_length;	/* IPv4, default 32 */
	int		 aggregation_length_v6;	/* default 128 */
	bool		 has_local_pref;
	uint32_t	 local_pref;
	uint32_t	*communities;		/* RFC 1997 values, aliases resolved */
	size_t		 ncommunities;
	struct cfg_large_community *large_communities;
	size_t		 nlarge_communities;
	char		**peers;		/* empty: every peer */
	size_t		 npeers;
	struct cfg_selector node_selector;	/* empty: every node */
	struct cfg_loc	 loc;
};

struct cfg_pool {
	char		*name;
	enum cfg_proto	 protocol;
	struct cfg_range *ranges;
	size_t		 nranges;
	bool		 auto_assign;		/* default true */
	bool		 avoid_buggy_ips;	/* default false */
	char		*vrf;			/* NULL: default VRF */
	struct cfg_advert *adverts;		/* bgp: at least one */
	size_t		 nadverts;
	char		**interfaces;		/* layer2: empty = layer2.interfaces */
	size_t		 ninterfaces;
	bool		 weighted_ecmp;		/* bgp: link-bandwidth = local endpoints */
	struct cfg_selector node_selector;	/* which nodes announce this pool */
	struct cfg_loc	 loc;
};

struct cfg_bfd {
	bool		 enabled;
	uint32_t	 min_rx_ms;		/* default 300ms */
	uint32_t	 min_tx_ms;		/* default 300ms */
	uint8_t		 multiplier;		/* default 3 */
	bool		 passive;
};

struct cfg_peer {
	char		*name;			/* legacy: the peer address */
	struct addr	 address;
	uint32_t	 asn;
	uint32_t	 my_asn;
	uint16_t	 port;			/* default 179 */
	uint32_t	 hold_time_ms;		/* default 90s; 0 or >= 3s */
	uint32_t	 keepalive_ms;		/* default hold/3 */
	uint32_t	 connect_time_ms;	/* default 5s: connect-retry base */
	bool		 passive;
	char		*password;		/* TCP MD5; never printed */
	uint8_t		 ebgp_multihop;		/* 0: off (TTL 1 for eBGP), else TTL */
	struct addr	 source_address;	/* af 0: unset */
	struct addr	 router_id;		/* af 0: unset (global router-id) */
	char		*vrf;
	char		**vpn;			/* VRFs carried as VPNv4/VPNv6 */
	size_t		 nvpn;
	bool		 graceful_restart;	/* default true */
	uint32_t	 max_prefixes;		/* received routes; 0: no limit */
	struct cfg_bfd	 bfd;
	struct cfg_selector node_selector;	/* which nodes peer with it */
	struct cfg_loc	 loc;
};

struct cfg_vrf {
	char		*name;
	char		*route_distinguisher;	/* canonical text, e.g. 64512:13 */
	uint8_t		 rd[8];			/* RFC 4364 encoding */
	char		**route_targets;	/* canonical text */
	size_t		 nroute_targets;
	uint8_t		(*rt)[8];		/* extended community encodings */
	uint32_t	 label;			/* MPLS label for VPN routes, default 0 = auto */
	struct cfg_loc	 loc;
};

enum cfg_family {
	CFG_FAMILY_IPV4 = 1 << 0,
	CFG_FAMILY_IPV6 = 1 << 1,
};

enum cfg_proto_l4 {
	CFG_L4_TCP = 0,
	CFG_L4_UDP,
	CFG_L4_SCTP,
};

struct cfg_port {
	uint16_t	 port;
	enum cfg_proto_l4 proto;
};

enum cfg_traffic_policy {
	CFG_TRAFFIC_CLUSTER = 0,
	CFG_TRAFFIC_LOCAL,
};

/* A ready-endpoint count of a service on one node (embedded mode). */
struct cfg_endpoint {
	char		*node;
	uint32_t	 count;
};

/* Embedded mode: how a service's local health is checked (health-check:). */
enum cfg_check_kind {
	CFG_CHECK_NONE = 0,		/* no check: always announced */
	CFG_CHECK_HTTP,			/* GET url; 2xx = up */
	CFG_CHECK_TCP,			/* connect to addr:port = up */
	CFG_CHECK_EXEC,			/* argv, no shell; exit 0 = up */
};

struct cfg_health {
	enum cfg_check_kind kind;
	char		*url;			/* http */
	char		*ca_file;		/* http: CA bundle; NULL: system's */
	struct addr	 addr;			/* tcp */
	uint16_t	 port;
	char		**argv;			/* exec: argv[0] an absolute path */
	size_t		 nargv;
	uint32_t	 interval_ms;		/* default 2s */
	uint32_t	 timeout_ms;		/* default 1s; <= interval */
	uint32_t	 rise;			/* successes before up; default 2 */
	uint32_t	 fall;			/* failures before down; default 3 */
	struct cfg_loc	 loc;
};

/* Embedded mode: a service that Kubernetes would otherwise supply. */
struct cfg_service {
	char		*name;			/* "namespace/name" or "name" */
	char		*pool;			/* NULL: any auto-assign pool */
	struct addr	*addresses;		/* static requests */
	size_t		 naddresses;
	char		*sharing_key;
	struct cfg_port	*ports;			/* for sharing: "80/tcp" */
	size_t		 nports;
	unsigned	 families;		/* CFG_FAMILY_*; 0 = derive */
	bool		 dual_stack_required;	/* RequireDualStack */
	enum cfg_traffic_policy traffic_policy;
	struct cfg_endpoint *endpoints;		/* used with traffic_policy Local */
	size_t		 nendpoints;
	/* Kubernetes mode: no endpoint anywhere can serve (ready or serving),
	 * so it is announced nowhere, whatever its policy.  Never set in
	 * embedded mode (its endpoints list only serves Local policy). */
	bool		 no_endpoints;
	struct cfg_health health;		/* kind NONE: not checked */
	struct cfg_loc	 loc;
};

/* Embedded mode: labels of the nodes sharing this file. */
struct cfg_node {
	char		*name;
	struct cfg_kv	*labels;
	size_t		 nlabels;
	struct cfg_loc	 loc;
};

struct cfg_member {
	char		*name;
	struct addr	 address;
	uint16_t	 port;			/* default 7946 */
	struct cfg_loc	 loc;
};

struct cfg_layer2 {
	char		**interfaces;		/* empty: all but the usual exclusions */
	size_t		 ninterfaces;
	bool		 has_membership;
	struct addr	 listen;		/* af 0: unset */
	uint16_t	 listen_port;		/* default 7946 */
	char		*key_file;
	uint32_t	 interval_ms;		/* default 100ms */
	uint32_t	 dead_after_ms;		/* default 500ms */
	struct cfg_member *members;
	size_t		 nmembers;
};

struct cfg_kubernetes {
	bool		 enabled;
	char		*kubeconfig;		/* NULL: in-cluster */
	char		*config_map;		/* "ns/name", default bgplb-system/bgplb */
	char		*lease;			/* default bgplb-system/bgplb-leader */
	char		*load_balancer_class;	/* default bgplb.io/lb */
	/* Leader election on the Lease (client-go's names and defaults: 15 s,
	 * 10 s, 2 s); 0 means the default.  lease-duration is whole seconds
	 * (a Lease holds leaseDurationSeconds). */
	unsigned	 lease_duration_s;
	unsigned	 renew_deadline_ms;
	unsigned	 retry_period_ms;
	/* Where this node keeps the last valid data.config (a restart while
	 * the ConfigMap is broken starts from it); NULL: the default,
	 * bgplb-cluster.NODE.json next to the config file. */
	char		*last_good_config;
};

/* A named community alias (MetalLB's bgp-communities). */
struct cfg_community_alias {
	char		*name;
	uint32_t	 value;
};

struct cfg {
	char		*file;			/* path it was loaded from */
	enum cfg_source	 source;
	char		*node;			/* NULL: --node or hostname */
	struct addr	 router_id;		/* af 0: first IPv4 of the node */
	char		*status_listen;		/* default 127.0.0.1:7473 */
	char		*status_token_file;	/* bearer token for the endpoint; NULL: none */
	bool		 status_insecure;	/* non-loopback without a token, knowingly */
	char		*state_file;		/* default: next to the config */
	uint16_t	 bgp_listen_port;	/* default 179; 0: don't listen */
	struct cfg_pool	*pools;
	size_t		 npools;
	struct cfg_peer	*peers;
	size_t		 npeers;
	struct cfg_vrf	*vrfs;
	size_t		 nvrfs;
	struct cfg_service *services;
	size_t		 nservices;
	struct cfg_node	*nodes;
	size_t		 nnodes;
	struct cfg_community_alias *community_aliases;
	size_t		 ncommunity_aliases;
	struct cfg_layer2 layer2;
	struct cfg_kubernetes kubernetes;
	/* "FILE:LINE:COL: warning: path: message": loaded, but worth saying */
	char		**warnings;
	size_t		 nwarnings;
};

struct cfg_errors {
	char		**lines;	/* "FILE:LINE:COL: path: message" */
	size_t		 n;
};

/*
 * Parse and validate.  Returns a config when there were no errors, NULL
 * otherwise; errors are appended to errs (which the caller frees with
 * cfg_errors_free).  `name` is the file name used in error lines.
 */
struct cfg *cfg_load_file(const char *path, struct cfg_errors *errs);
struct cfg *cfg_load_buf(const char *name, const char *buf, size_t len,
	    struct cfg_errors *errs);
/*
 * Kubernetes mode.  The cluster's part of the configuration (pools, peers,
 * VRFs, community names) comes from the cluster ConfigMap's data.config (our
 * form or MetalLB's), read with cfg_load_cluster(); the node's own part from
 * the daemon's file (the one with a `kubernetes:` section).  A key of one
 * part in the other place is checked but not used: it gets a warning
 * (cfg->warnings), not an error.
 * cfg_k8s_local_only() drops the cluster's part (and services, nodes,
 * layer2 members) from a daemon file's config; cfg_k8s_merge() does that,
 * then moves the cluster's part and warnings into `local`, frees `cluster`
 * and returns `local`.
 */
struct cfg *cfg_load_cluster(const char *name, const char *buf, size_t len,
	    struct cfg_errors *errs);
void	cfg_k8s_local_only(struct cfg *local);
struct cfg *cfg_k8s_merge(struct cfg *local, struct cfg *cluster);
void	cfg_free(struct cfg *);
void	cfg_errors_free(struct cfg_errors *);
/* Free one service's strings and lists (and zero it); the members list. */
void	cfg_service_clear(struct cfg_service *);
void	cfg_members_free(struct cfg_layer2 *);

/* Normalized native YAML (what --check-config prints); secrets masked. */
void	cfg_emit(const struct cfg *, FILE *);

/* Lookups. */
const struct cfg_pool *cfg_pool_find(const struct cfg *, const char *name);
const struct cfg_peer *cfg_peer_find(const struct cfg *, const char *name);
const struct cfg_vrf *cfg_vrf_find(const struct cfg *, const char *name);
const struct cfg_node *cfg_node_find(const struct cfg *, const char *name);

/* Does a node with these labels match the selector?  Empty selector: yes. */
bool	cfg_selector_match(const struct cfg_selector *,
	    const struct cfg_kv *labels, size_t nlabels);

/* "90s" "300ms" "2m" "1h" or a bare integer of seconds (MetalLB). */
int	cfg_parse_duration(const char *s, uint32_t *ms);
/* "64512:100", a well-known name (no-export, no-advertise, no-export-subconfed,
 * no-peer, blackhole, graceful-shutdown, ...) or a 32-bit integer. */
int	cfg_parse_community(const char *s, uint32_t *out);
int	cfg_parse_large_community(const char *s, struct cfg_large_community *);
/* "ASN:nn", "IPv4:nn" or "4-octet-ASN:nn"; 8 wire bytes (RFC 4364). */
int	cfg_parse_rd(const char *s, uint8_t out[8]);
/* Route target as an extended community (type 0x00/0x01/0x02, subtype 0x02). */
int	cfg_parse_rt(const char *s, uint8_t out[8]);
const char *cfg_proto_name(enum cfg_proto);

#endif

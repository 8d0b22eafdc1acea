/*
 * config_priv.h - what the configuration module's own files share, and
 * nothing outside src/config/ includes.
 *
 * The loader works in two passes (config_yaml.c builds a node tree that
 * keeps every node's place in the outer file; the walkers visit it) over
 * one context, struct lctx, which collects errors and warnings with their
 * FILE:LINE:COL and tracks the dotted path of the key being walked.  The
 * helpers every walker uses (errors, paths, key tables, typed getters) are
 * in config_walk.c; each top-level section has a walker file of its own.
 *
 * The key tables of the sections MetalLB's legacy schema also has are
 * indexed by the enums below, so the native tables (in the walkers) and
 * the legacy ones (config_legacy.c) name the same slots.
 *
 * Prototypes are grouped under the file that defines them.
 */
#ifndef BGPLB_CONFIG_PRIV_H
#define BGPLB_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <yaml.h>

#include "bgplb/config.h"
#include "bgplb/hmap.h"
#include "bgplb/util.h"

/* Defaults, in one place so the loader, the emitter and the docs agree. */
#define CFG_DEF_STATUS_LISTEN	"127.0.0.1:7473"
#define CFG_MD5_KEY_MAX		80	/* TCP_MD5SIG_MAXKEYLEN */
#define CFG_DEF_PORT		179
#define CFG_DEF_HOLD_MS		90000u
#define CFG_DEF_CONNECT_MS	5000u
#define CFG_DEF_BFD_MS		300u
#define CFG_DEF_BFD_MULT	3
#define CFG_DEF_MEMBER_PORT	7946
#define CFG_DEF_INTERVAL_MS	100u
#define CFG_DEF_DEAD_AFTER_MS	500u
#define CFG_DEF_CONFIG_MAP	"bgplb-system/bgplb"
#define CFG_DEF_LEASE		"bgplb-system/bgplb-leader"
#define CFG_DEF_LB_CLASS	"bgplb.io/lb"
/* Leader election on the Lease: client-go's defaults. */
#define CFG_DEF_LEASE_DURATION_MS	15000u
#define CFG_DEF_RENEW_DEADLINE_MS	10000u
#define CFG_DEF_RETRY_PERIOD_MS		2000u
/* services[].health-check */
#define CFG_DEF_CHECK_INTERVAL_MS	2000u
#define CFG_DEF_CHECK_TIMEOUT_MS	1000u
#define CFG_DEF_CHECK_RISE		2u
#define CFG_DEF_CHECK_FALL		3u
#define CFG_MAX_LABEL		1048575u	/* 20-bit MPLS label */

enum yn_type {
	YN_SCALAR,
	YN_SEQ,
	YN_MAP,
};

struct ynode {
	enum yn_type	 type;
	char		*str;		/* scalar text */
	bool		 is_null;	/* plain "", "~" or "null" */
	yaml_scalar_style_t style;
	int		 line;		/* outer file, 1-based */
	int		 col;
	size_t		 raw_line;	/* 0-based line in the parsed buffer */
	struct ynode	**kids;		/* seq: items; map: key, value, key, ... */
	size_t		 n;		/* number of kids */
};

/*
 * How a mark of the buffer being parsed maps to the outer file: either
 * shifted (line0 + mark.line, col0 + mark.column) or, for scalar styles
 * whose content does not keep the file's layout, pinned to one place.
 */
struct locmap {
	int		 line0;
	int		 col0;
	bool		 fixed;
};

struct lerr {
	int		 line;
	int		 col;
	size_t		 seq;
	char		*text;
};

struct lctx {
	const char	*name;
	struct lerr	*errs;
	size_t		 nerrs;
	char		 path[512];
	size_t		 plen;
	struct cfg	*cfg;
	bool		 legacy;
	const char	*pools_key;
	struct hmap	*svc_names;	/* name hash -> index + 1: linear dup check */
	struct lerr	*warns;		/* moved to cfg->warnings, sorted, at the end */
	size_t		 nwarns;
	bool		 cluster;	/* data.config of the cluster's ConfigMap */
	bool		 k8s_local;	/* the daemon's own file in Kubernetes mode */
};

/* Append a zeroed element to an array + count pair; yields its address. */
#define GROW(arr, n) \
	((arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))), \
	 memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

/* Keys of the top level, of a peer, of a pool and of an advertisement. */
enum {
	TOP_NODE, TOP_ROUTER_ID, TOP_STATUS, TOP_STATE, TOP_BGP_PORT, TOP_COMMS,
	TOP_NODES, TOP_POOLS, TOP_PEERS, TOP_VRFS, TOP_SERVICES, TOP_LAYER2,
	TOP_K8S, TOP_STATUS_TOKEN, TOP_STATUS_INSECURE, TOP__N
};
enum {
	PE_NAME, PE_ADDRESS, PE_ASN, PE_MY_ASN, PE_PORT, PE_HOLD, PE_KEEPALIVE,
	PE_CONNECT, PE_PASSIVE, PE_PASSWORD, PE_MULTIHOP, PE_SOURCE,
	PE_ROUTER_ID, PE_VRF, PE_VPN, PE_GR, PE_BFD, PE_SEL, PE_SELS,
	PE_MAX_PREFIXES, PE__N
};
enum {
	PO_NAME, PO_PROTOCOL, PO_ADDRESSES, PO_AUTO, PO_AVOID, PO_VRF,
	PO_COMMS, PO_LCOMMS, PO_LP, PO_AGG, PO_AGG6, PO_PEERS, PO_SEL, PO_SELS,
	PO_ADVERTS, PO_IFACES, PO_WECMP, PO__N
};
enum {
	AD_AGG, AD_AGG6, AD_LP, AD_COMMS, AD_LCOMMS, AD_PEERS, AD_SEL, AD_SELS,
	AD__N
};

/* config_yaml.c */
int	cfg_yn_parse(struct lctx *, const char *buf, size_t len,
	    struct locmap, struct ynode ***docs, size_t *ndocs);
void	cfg_yn_free(struct ynode *);
const struct ynode *cfg_map_get(const struct ynode *, const char *key);

/* config_walk.c */
void	cfg_err(struct lctx *, const struct ynode *, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	cfg_err_loc(struct lctx *, const struct cfg_loc *, const char *path,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	cfg_warn(struct lctx *, const struct ynode *, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
size_t	cfg_path_key(struct lctx *, const char *key);
size_t	cfg_path_idx(struct lctx *, size_t i);
void	cfg_path_pop(struct lctx *, size_t old);
const char *cfg_kind_name(const struct ynode *);
struct cfg_loc cfg_loc_of(const struct ynode *);
const char *cfg_nearest(const char *word, const char *const *cands, size_t n);
int	cfg_map_keys(struct lctx *, const struct ynode *,
	    const char *const *names, size_t nnames, const struct ynode **vals);
const char *cfg_scalar(struct lctx *, const struct ynode *);
int	cfg_parse_bool(const char *s, bool *out);
int	cfg_parse_u64(const char *s, uint64_t *out);
int	cfg_parse_hostport(const char *s, bool need_port, struct addr *,
	    uint16_t *port);
int	cfg_want_seq(struct lctx *, const struct ynode *);
int	cfg_get_str(struct lctx *, const char *key, const struct ynode *,
	    char **out);
int	cfg_get_bool(struct lctx *, const char *key, const struct ynode *,
	    bool *out);
int	cfg_get_uint(struct lctx *, const char *key, const struct ynode *,
	    uint64_t min, uint64_t max, uint64_t *out);
int	cfg_get_asn(struct lctx *, const char *key, const struct ynode *,
	    uint32_t *out);
int	cfg_get_port(struct lctx *, const char *key, const struct ynode *,
	    uint16_t *out);
int	cfg_get_dur(struct lctx *, const char *key, const struct ynode *,
	    uint32_t *out);
int	cfg_get_addr(struct lctx *, const char *key, const struct ynode *,
	    uint8_t af, struct addr *out);
int	cfg_get_strlist(struct lctx *, const char *key, const struct ynode *,
	    char ***out, size_t *nout);
int	cfg_get_kvmap(struct lctx *, const char *key, const struct ynode *,
	    struct cfg_kv **out, size_t *nout);
int	cfg_get_hostport(struct lctx *, const char *key, const struct ynode *,
	    struct addr *, uint16_t *port);
void	cfg_check_dup(struct lctx *, const struct ynode *, const char *what,
	    const char *name, const char *prev_name, const struct cfg_loc *prev);

/* config_health.c */
void	cfg_walk_health(struct lctx *, const struct ynode *,
	    struct cfg_health *);

/* config_selector.c */
int	cfg_parse_selector(struct lctx *, const char *mapkey,
	    const struct ynode *map, const char *listkey,
	    const struct ynode *list, struct cfg_selector *);

/* config_top.c */
extern const char *const cfg_top_keys[TOP__N];
void	cfg_walk_config(struct lctx *, const struct ynode *root);

/* config_legacy.c */
extern const char *const cfg_top_keys_legacy[TOP__N];
extern const char *const cfg_peer_keys_legacy[PE__N];
extern const char *const cfg_pool_keys_legacy[PO__N];
extern const char *const cfg_advert_keys_legacy[AD__N];
bool	cfg_is_legacy(const struct ynode *root);
void	cfg_walk_aliases(struct lctx *, const char *key, const struct ynode *);

/* config_nodes.c, config_vrfs.c, config_peers.c, config_pools.c,
 * config_services.c, config_layer2.c, config_kubernetes.c */
void	cfg_walk_nodes(struct lctx *, const struct ynode *);
void	cfg_walk_vrfs(struct lctx *, const struct ynode *);
void	cfg_walk_peers(struct lctx *, const struct ynode *);
void	cfg_walk_pools(struct lctx *, const struct ynode *);
void	cfg_walk_services(struct lctx *, const struct ynode *);
void	cfg_walk_layer2(struct lctx *, const struct ynode *);
void	cfg_walk_kubernetes(struct lctx *, const struct ynode *);

/* config_cluster.c */
void	cfg_check_k8s_split(struct lctx *, const struct ynode **v,
	    const char *cm);
const char *cfg_k8s_config_map_name(const struct ynode *k8s);

/* config_free.c: release one part of a struct cfg (and empty it). */
void	cfg_free_pools(struct cfg *);
void	cfg_free_peers(struct cfg *);
void	cfg_free_vrfs(struct cfg *);
void	cfg_free_services(struct cfg *);
void	cfg_free_nodes(struct cfg *);
void	cfg_free_aliases(struct cfg *);

/* config_values.c */
/* "90s", "300ms", "2m", "1h": the largest unit that divides exactly. */
const char *cfg_duration_fmt(uint32_t ms, char *buf, size_t len);
/* A well-known community name, or NULL. */
const char *cfg_community_name(uint32_t value);
/* "a:b" or the well-known name. */
const char *cfg_community_fmt(uint32_t value, char *buf, size_t len);
/* Canonical text of the 6 value bytes of an RD / RT of the given type. */
const char *cfg_rdrt_fmt(uint8_t type, const uint8_t value[6], char *buf,
	    size_t len);

#endif

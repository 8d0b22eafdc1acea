/*
 * k8s_objects.h - Kubernetes JSON <-> plain structs (pure, json-c).
 *
 * The API server is a peer we do not trust blindly: every parser checks the
 * types of the fields it reads, returns -1 with an error naming the field
 * path ("spec.ports[2].port: expected a number") and never crashes, whatever
 * the bytes.  Fields we do not use are ignored.  Parsed structs own their
 * strings; free them with the matching *_free(), also after a failure (a
 * failed parse leaves what it had read, so that the caller can still name the
 * object, e.g. for an Event about a bad annotation).
 *
 * The builders produce the request bodies the client writes: the status
 * merge patch, core/v1 Events and coordination.k8s.io/v1 Leases.  They
 * return malloc'd JSON text (NULL only on allocation failure).
 */
#ifndef BGPLB_K8S_OBJECTS_H
#define BGPLB_K8S_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bgplb/addr.h"
#include "bgplb/alloc.h"
#include "bgplb/config.h"

struct json_object;

/* Our loadBalancerClass (cfg kubernetes.load-balancer-class default). */
#define K8S_LB_CLASS		"bgplb.io/lb"
/* Nodes with this label never announce (as with kube-proxy and MetalLB). */
#define K8S_LABEL_EXCLUDE_LB	"node.kubernetes.io/exclude-from-external-load-balancers"
#define K8S_LABEL_SERVICE_NAME	"kubernetes.io/service-name"
/* The pool a Service's status addresses come from: written by the leader
 * with every status write, in MetalLB's key (dashboards and scripts read
 * it) and in ours. */
#define K8S_ANN_ALLOCATED_FROM	"bgplb.io/ip-allocated-from-pool"
#define K8S_ANN_ALLOCATED_FROM_METALLB "metallb.io/ip-allocated-from-pool"

enum k8s_family_policy {
	K8S_POLICY_UNSET = 0,		/* absent: the API server's default, single stack */
	K8S_POLICY_SINGLE,
	K8S_POLICY_PREFER_DUAL,
	K8S_POLICY_REQUIRE_DUAL,
};

struct k8s_service {
	char		*namespace, *name;
	char		*uid, *resource_version;
	struct timespec	 created;		/* metadata.creationTimestamp; 0 if absent */
	/*
	 * Parsed in this order; after a failed parse these say how far it
	 * got: the status (ingress), then the type and class, then the rest.
	 */
	bool		 ingress_valid;
	bool		 kind_valid;
	bool		 is_load_balancer;	/* spec.type == LoadBalancer */
	char		*lb_class;		/* spec.loadBalancerClass, or NULL */
	/* From the annotations, bgplb.io > metallb.io > metallb.universe.tf. */
	char		*pool;			/* NULL: any auto-assign pool */
	char		*sharing_key;		/* NULL: no sharing */
	/* K8S_ANN_ALLOCATED_FROM and _METALLB as they are; NULL: absent. */
	char		*allocated_from, *allocated_from_metallb;
	/* loadBalancerIPs annotation, else spec.loadBalancerIP; parsed (both
	 * set: the spec's address must be one of the annotation's). */
	struct addr	*addresses;
	size_t		 naddresses;
	unsigned	 families;		/* spec.ipFamilies as CFG_FAMILY_* */
	unsigned	 primary_family;	/* spec.ipFamilies[0], or 0 */
	enum k8s_family_policy family_policy;
	enum cfg_traffic_policy traffic_policy;	/* spec.externalTrafficPolicy */
	char		*backend_key;		/* Local: "Local app=x,..." (spec.selector,
						   sorted); Cluster: NULL */
	struct cfg_port	*ports;
	size_t		 nports;
	struct addr	*ingress;		/* status.loadBalancer.ingress[].ip */
	size_t		 ningress;
};

struct k8s_endpoint {
	char		*node;			/* nodeName, or NULL */
	bool		 ready;			/* conditions.ready (absent: true) */
	bool		 serving;		/* conditions.serving (absent: = ready) */
	bool		 terminating;		/* conditions.terminating (absent: false) */
};

struct k8s_endpointslice {
	char		*namespace, *name;
	char		*service;		/* label kubernetes.io/service-name, or NULL */
	char		*resource_version;
	struct k8s_endpoint *endpoints;
	size_t		 nendpoints;
};

struct k8s_node {
	char		*name;
	char		*resource_version;
	struct cfg_kv	*labels;
	size_t		 nlabels;
	bool		 excluded;		/* K8S_LABEL_EXCLUDE_LB present */
	bool		 network_unavailable;	/* condition NetworkUnavailable True */
	bool		 has_ready;		/* a Ready condition is present */
	bool		 ready;			/* condition Ready True */
	/* status.addresses of type InternalIP that parse (others skipped):
	 * where layer 2 membership reaches the node. */
	struct addr	*internal_ips;
	size_t		 ninternal_ips;
};

struct k8s_configmap {
	char		*namespace, *name;
	char		*resource_version;
	char		*config;		/* data.config, or NULL */
};

enum k8s_event_type {
	K8S_EV_ADDED = 0,
	K8S_EV_MODIFIED,
	K8S_EV_DELETED,
	K8S_EV_BOOKMARK,
	K8S_EV_ERROR,
};

/* One line of a watch stream. */
struct k8s_watch_event {
	enum k8s_event_type type;
	struct json_object *object;	/* owned reference */
	/* ERROR only: the Status. */
	int		 code;		/* 0 if absent */
	char		*reason;	/* e.g. "Expired", or NULL */
	char		*message;
	bool		 expired;	/* code 410: the caller must relist */
};

#define K8S_WUR	__attribute__((warn_unused_result))

/* All parsers: 0, or -1 with err set ("path: what"). */
K8S_WUR int k8s_service_from_json(struct json_object *, struct k8s_service *,
	    char *err, size_t errlen);
void	k8s_service_free(struct k8s_service *);
K8S_WUR int k8s_endpointslice_from_json(struct json_object *,
	    struct k8s_endpointslice *, char *err, size_t errlen);
void	k8s_endpointslice_free(struct k8s_endpointslice *);
K8S_WUR int k8s_node_from_json(struct json_object *, struct k8s_node *,
	    char *err, size_t errlen);
void	k8s_node_free(struct k8s_node *);
K8S_WUR int k8s_configmap_from_json(struct json_object *, struct k8s_configmap *,
	    char *err, size_t errlen);
void	k8s_configmap_free(struct k8s_configmap *);
/* A line of a watch stream (not NUL-terminated; len bytes). */
K8S_WUR int k8s_watch_event_parse(const char *line, size_t len,
	    struct k8s_watch_event *, char *err, size_t errlen);
void	k8s_watch_event_free(struct k8s_watch_event *);
const char *k8s_event_type_name(enum k8s_event_type);
/* metadata.{namespace,name,resourceVersion} of any object; NULL if absent
 * or not a string.  The pointers live as long as the object. */
const char *k8s_meta_str(struct json_object *, const char *field);

/*
 * True when bgplb should handle the Service: type LoadBalancer and no
 * loadBalancerClass or ours (`our_class`; NULL means K8S_LB_CLASS).
 */
bool	k8s_service_handled(const struct k8s_service *, const char *our_class);

/*
 * The allocator's request for a Service.  The request points into `svc` (and
 * `key`, which receives "ns/name"): both must outlive it.
 */
void	k8s_service_to_request(const struct k8s_service *svc, char *key,
	    size_t keylen, struct alloc_request *out);

/*
 * {"metadata":{"resourceVersion":RV},"status":{"loadBalancer":{"ingress":
 * [{"ip":..},..]}}} for PATCH .../services/NAME/status with
 * application/merge-patch+json.  RV NULL: no precondition.  n == 0 writes
 * "loadBalancer":{} (ingress removed).
 */
char	*k8s_ingress_patch(const char *resource_version, const struct addr *,
	    size_t n);
/*
 * The same, and metadata.annotations K8S_ANN_ALLOCATED_FROM and
 * K8S_ANN_ALLOCATED_FROM_METALLB set to pool (NULL: removed).  A Service's
 * status subresource keeps metadata changes (its status strategy resets
 * only the spec): this is how MetalLB writes its annotation too, with no
 * grant on the Service itself.
 */
char	*k8s_status_patch(const char *resource_version, const struct addr *,
	    size_t n, const char *pool);

struct k8s_event_spec {
	const char	*kind;		/* involvedObject: "Service" */
	const char	*api_version;	/* NULL: "v1" */
	const char	*namespace;	/* of the object, and of the Event */
	const char	*name;
	const char	*uid;		/* NULL: left out */
	const char	*resource_version; /* NULL: left out */
	const char	*reason;	/* "IPAllocated", "AllocationFailed" */
	const char	*message;
	bool		 warning;	/* type Warning, else Normal */
	const char	*host;		/* source.host (the node), or NULL */
	int		 count;		/* >= 1 */
	struct timespec	 first, last;	/* firstTimestamp / lastTimestamp */
};
/* metadata.name is "<name>.<hex nanoseconds of first>" as client-go does. */
char	*k8s_event_json(const struct k8s_event_spec *);

struct k8s_lease_spec {
	const char	*namespace, *name;
	const char	*resource_version;	/* NULL: create (no precondition) */
	const char	*holder;
	int		 duration_s;
	struct timespec	 acquire, renew;
	int		 transitions;
};
char	*k8s_lease_json(const struct k8s_lease_spec *);

/* A Lease as read back (leader election). */
struct k8s_lease {
	char		*namespace, *name;
	char		*resource_version;
	char		*holder;		/* NULL: nobody */
	int		 duration_s;		/* 0 if absent */
	bool		 has_acquire, has_renew;
	struct timespec	 acquire, renew;
	int		 transitions;
};
K8S_WUR int k8s_lease_from_json(struct json_object *, struct k8s_lease *,
	    char *err, size_t errlen);
void	k8s_lease_free(struct k8s_lease *);
/* "2006-01-02T15:04:05[.frac]Z" (MicroTime or Time); 0 or -1. */
int	k8s_parse_time(const char *, struct timespec *);

/* "2006-01-02T15:04:05.000000Z" into buf (>= 28 bytes). */
void	k8s_format_microtime(const struct timespec *, char *buf, size_t len);
/* "2006-01-02T15:04:05Z" into buf (>= 21 bytes). */
void	k8s_format_time(time_t, char *buf, size_t len);

#endif

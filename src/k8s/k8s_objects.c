/*
 * k8s_objects.c - Kubernetes JSON -> plain structs (k8s_build.c writes the
 * JSON that goes the other way).
 *
 * Everything here is a pure function of its input.  The parsers read only the
 * fields bgplb uses and check each one's type before use, because a watch
 * stream can carry anything (a newer API version, a proxy's error page, a
 * truncated line) and nothing the API server sends may crash the daemon.
 * Errors name the field path the way kubectl's validation does, so that an
 * operator can find the culprit in `kubectl get -o yaml`.
 *
 * Annotation precedence (our own first, then MetalLB's current and legacy
 * prefixes) follows what a MetalLB user expects when migrating: a Service
 * annotated for MetalLB keeps working, and a bgplb.io annotation added later
 * wins.  An empty annotation counts as absent.  The loadBalancerIPs
 * annotation and spec.loadBalancerIP may both be set only if they agree.
 */

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bgplb/log.h"
#include "bgplb/util.h"
#include "k8s_json.h"
#include "k8s_objects.h"

static const char *const ann_pool[] = {
	"bgplb.io/address-pool", "metallb.io/address-pool",
	"metallb.universe.tf/address-pool",
};
static const char *const ann_ips[] = {
	"bgplb.io/loadBalancerIPs", "metallb.io/loadBalancerIPs",
	"metallb.universe.tf/loadBalancerIPs",
};
static const char *const ann_share[] = {
	"bgplb.io/allow-shared-ip", "metallb.io/allow-shared-ip",
	"metallb.universe.tf/allow-shared-ip",
};
#define NANN	3

/*
 * Typed field access.  Absent and JSON null both mean "not set" (the API
 * server omits empty fields, but other writers send null); any other type
 * mismatch is an error naming `path`.
 */
static int
get_typed(struct json_object *parent, const char *key, json_type want,
    const char *what, const char *path, struct json_object **out,
    char *err, size_t errlen)
{
	struct json_object *v = NULL;

	*out = NULL;
	if (parent == NULL || !json_object_object_get_ex(parent, key, &v) ||
	    v == NULL)
		return 0;
	if (!json_object_is_type(v, want)) {
		return errf(err, errlen, "%s: expected %s", path, what);
	}
	*out = v;
	return 0;
}

static int
get_obj(struct json_object *parent, const char *key, const char *path,
    struct json_object **out, char *err, size_t errlen)
{
	return get_typed(parent, key, json_type_object, "an object", path, out,
	    err, errlen);
}

static int
get_arr(struct json_object *parent, const char *key, const char *path,
    struct json_object **out, char *err, size_t errlen)
{
	return get_typed(parent, key, json_type_array, "a list", path, out,
	    err, errlen);
}

static int
get_str(struct json_object *parent, const char *key, const char *path,
    const char **out, char *err, size_t errlen)
{
	struct json_object *v;

	*out = NULL;
	if (get_typed(parent, key, json_type_string, "a string", path, &v,
	    err, errlen) == -1)
		return -1;
	if (v != NULL)
		*out = json_object_get_string(v);
	return 0;
}

static int
get_bool(struct json_object *parent, const char *key, const char *path,
    bool *out, bool dflt, char *err, size_t errlen)
{
	struct json_object *v;

	*out = dflt;
	if (get_typed(parent, key, json_type_boolean, "a boolean", path, &v,
	    err, errlen) == -1)
		return -1;
	if (v != NULL)
		*out = json_object_get_boolean(v);
	return 0;
}

static int
get_int(struct json_object *parent, const char *key, const char *path,
    bool *present, int64_t *out, char *err, size_t errlen)
{
	struct json_object *v = NULL;

	*present = false;
	*out = 0;
	if (parent == NULL || !json_object_object_get_ex(parent, key, &v) ||
	    v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_double)) {
		return errf(err, errlen, "%s: expected an integer", path);
	}
	if (!json_object_is_type(v, json_type_int)) {
		return errf(err, errlen, "%s: expected a number", path);
	}
	*present = true;
	*out = json_object_get_int64(v);
	return 0;
}

/* metadata.namespace/name/resourceVersion/uid: the object must be an object
 * with a metadata object and a non-empty name. */
static int
get_meta(struct json_object *obj, struct json_object **meta, char **ns,
    char **name, char **rv, char **uid, char *err, size_t errlen)
{
	const char *s;

	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		return errf(err, errlen, "expected an object");
	}
	if (get_obj(obj, "metadata", "metadata", meta, err, errlen) == -1)
		return -1;
	if (*meta == NULL) {
		return errf(err, errlen, "metadata: missing");
	}
	if (get_str(*meta, "name", "metadata.name", &s, err, errlen) == -1)
		return -1;
	if (s == NULL || *s == '\0') {
		return errf(err, errlen, "metadata.name: missing");
	}
	*name = xstrdup(s);
	if (ns != NULL) {
		if (get_str(*meta, "namespace", "metadata.namespace", &s, err,
		    errlen) == -1)
			return -1;
		*ns = xstrdup(s);
	}
	if (get_str(*meta, "resourceVersion", "metadata.resourceVersion", &s,
	    err, errlen) == -1)
		return -1;
	*rv = xstrdup(s);
	if (uid != NULL) {
		if (get_str(*meta, "uid", "metadata.uid", &s, err, errlen) == -1)
			return -1;
		*uid = xstrdup(s);
	}
	return 0;
}

/* The first non-empty annotation of `keys`, or NULL; *which = its key. */
static int
get_annotation(struct json_object *ann, const char *const *keys,
    const char **out, const char **which, char *err, size_t errlen)
{
	char path[192];
	const char *s;
	size_t i;

	*out = NULL;
	*which = NULL;
	for (i = 0; i < NANN; i++) {
		snprintf(path, sizeof(path), "metadata.annotations[\"%s\"]",
		    keys[i]);
		if (get_str(ann, keys[i], path, &s, err, errlen) == -1)
			return -1;
		if (s != NULL && *s != '\0') {
			*out = s;
			*which = keys[i];
			return 0;
		}
	}
	return 0;
}

static bool
addr_in(const struct addr *a, const struct addr *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (addr_eq(a, &set[i]))
			return true;
	return false;
}

static unsigned
family_of(const struct addr *a)
{
	return a->af == ADDR_AF_INET ? CFG_FAMILY_IPV4 : CFG_FAMILY_IPV6;
}

/*
 * "10.0.0.1, 2001:db8::1": at most one address per family, as MetalLB
 * accepts.  Rejected here so that the Event names the annotation.
 */
static int
parse_ip_list(const char *list, const char *path, struct k8s_service *svc,
    char *err, size_t errlen)
{
	char tok[64];
	const char *p = list, *e;
	unsigned seen = 0;
	size_t n;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0)
			return errf(err, errlen,
			    "%s: empty address in \"%s\"", path,
			    list);
		if (n >= sizeof(tok))
			return errf(err, errlen,
			    "%s: \"%.*s...\" is not an IP address",
			    path, 40, p);
		memcpy(tok, p, n);
		tok[n] = '\0';
		if (svc->naddresses == 2)
			return errf(err, errlen,
			    "%s: at most two addresses (one per family)",
			    path);
		if (addr_parse(tok, &svc->addresses[svc->naddresses]) == -1)
			return errf(err, errlen,
			    "%s: \"%s\" is not an IP address",
			    path, tok);
		if (seen & family_of(&svc->addresses[svc->naddresses]))
			return errf(err, errlen, "%s: two %s addresses", path,
			    svc->addresses[svc->naddresses].af == ADDR_AF_INET ?
			    "IPv4" : "IPv6");
		seen |= family_of(&svc->addresses[svc->naddresses]);
		svc->naddresses++;
		if (e == NULL)
			break;
		p = e + 1;
		if (*p == '\0')
			return errf(err, errlen,
			    "%s: empty address in \"%s\"", path,
			    list);
	}
	return 0;
}

static int
parse_family(const char *s, unsigned *out)
{
	if (strcmp(s, "IPv4") == 0)
		*out = CFG_FAMILY_IPV4;
	else if (strcmp(s, "IPv6") == 0)
		*out = CFG_FAMILY_IPV6;
	else
		return -1;
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The backend key (bgplb/alloc.h) under externalTrafficPolicy Local: only
 * the nodes of the Service's own endpoints may announce it, so Services
 * sharing an address need the same selector (MetalLB's BackendKey).
 * "Local" and the selector as key=value,... sorted by key; Cluster: NULL.
 */
static int
parse_backend(struct json_object *spec, struct k8s_service *svc,
    char *err, size_t errlen)
{
	struct json_object *sel;
	const char **keys;
	size_t n = 0;

	if (get_obj(spec, "selector", "spec.selector", &sel, err, errlen) == -1)
		return -1;
	if (svc->traffic_policy != CFG_TRAFFIC_LOCAL)
		return 0;
	svc->backend_key = xstrdup("Local");
	if (sel == NULL)
		return 0;
	keys = xcalloc((size_t)json_object_object_length(sel) + 1, sizeof(*keys));
	json_object_object_foreach(sel, k, v) {
		if (!json_object_is_type(v, json_type_string)) {
			free(keys);
			return errf(err, errlen, "spec.selector[\"%.200s\"]: "
			    "expected a string", k);
		}
		keys[n++] = k;
	}
	qsort(keys, n, sizeof(*keys), str_cmp);
	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%s%s=%s", svc->backend_key, i ? "," : " ",
		    keys[i], json_object_get_string(json_object_object_get(sel,
		    keys[i])));

		free(svc->backend_key);
		svc->backend_key = t;
	}
	free(keys);
	return 0;
}

static int
parse_service_spec(struct json_object *spec, struct k8s_service *svc,
    char *err, size_t errlen)
{
	struct json_object *arr, *el;
	const char *s;
	char path[64];
	size_t i, n;

	if (get_arr(spec, "ipFamilies", "spec.ipFamilies", &arr, err,
	    errlen) == -1)
		return -1;
	n = arr ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		unsigned f;

		el = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "spec.ipFamilies[%zu]", i);
		if (el == NULL || !json_object_is_type(el, json_type_string))
			return errf(err, errlen, "%s: expected a string", path);
		if (parse_family(json_object_get_string(el), &f) == -1)
			return errf(err, errlen,
			    "%s: unknown family \"%s\" (IPv4 or IPv6)",
			    path, json_object_get_string(el));
		if (i == 0)
			svc->primary_family = f;
		svc->families |= f;
	}

	if (get_str(spec, "ipFamilyPolicy", "spec.ipFamilyPolicy", &s, err,
	    errlen) == -1)
		return -1;
	if (s == NULL)
		svc->family_policy = K8S_POLICY_UNSET;
	else if (strcmp(s, "SingleStack") == 0)
		svc->family_policy = K8S_POLICY_SINGLE;
	else if (strcmp(s, "PreferDualStack") == 0)
		svc->family_policy = K8S_POLICY_PREFER_DUAL;
	else if (strcmp(s, "RequireDualStack") == 0)
		svc->family_policy = K8S_POLICY_REQUIRE_DUAL;
	else {
		return errf(err, errlen,
		    "spec.ipFamilyPolicy: unknown policy \"%s\" "
		    "(SingleStack, PreferDualStack or RequireDualStack)", s);
	}

	if (get_str(spec, "externalTrafficPolicy", "spec.externalTrafficPolicy",
	    &s, err, errlen) == -1)
		return -1;
	/* "Cluster" and the pre-1.22 spelling "Global" alike. */
	if (s == NULL || strcmp(s, "Cluster") == 0 || strcmp(s, "Global") == 0)
		svc->traffic_policy = CFG_TRAFFIC_CLUSTER;
	else if (strcmp(s, "Local") == 0)
		svc->traffic_policy = CFG_TRAFFIC_LOCAL;
	else {
		return errf(err, errlen,
		    "spec.externalTrafficPolicy: unknown policy \"%s\" "
		    "(Cluster or Local)", s);
	}
	if (parse_backend(spec, svc, err, errlen) == -1)
		return -1;

	if (get_arr(spec, "ports", "spec.ports", &arr, err, errlen) == -1)
		return -1;
	n = arr ? json_object_array_length(arr) : 0;
	svc->ports = xcalloc(n, sizeof(*svc->ports));
	for (i = 0; i < n; i++) {
		struct cfg_port *p = &svc->ports[i];
		bool present;
		int64_t v;

		el = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "spec.ports[%zu]", i);
		if (el == NULL || !json_object_is_type(el, json_type_object))
			return errf(err, errlen,
			    "%s: expected an object", path);
		snprintf(path, sizeof(path), "spec.ports[%zu].port", i);
		if (get_int(el, "port", path, &present, &v, err, errlen) == -1)
			return -1;
		if (!present)
			return errf(err, errlen, "%s: missing", path);
		if (v < 1 || v > 65535)
			return errf(err, errlen,
			    "%s: %" PRId64 " is out of range (1-65535)",
			    path, v);
		p->port = (uint16_t)v;
		snprintf(path, sizeof(path), "spec.ports[%zu].protocol", i);
		if (get_str(el, "protocol", path, &s, err, errlen) == -1)
			return -1;
		if (s == NULL || strcmp(s, "TCP") == 0)
			p->proto = CFG_L4_TCP;
		else if (strcmp(s, "UDP") == 0)
			p->proto = CFG_L4_UDP;
		else if (strcmp(s, "SCTP") == 0)
			p->proto = CFG_L4_SCTP;
		else {
			return errf(err, errlen,
			    "%s: unknown protocol \"%s\" (TCP, UDP or SCTP)",
			    path, s);
		}
		svc->nports++;
	}
	return 0;
}

static int
parse_ingress(struct json_object *obj, struct k8s_service *svc, char *err,
    size_t errlen)
{
	struct json_object *status, *lb, *arr, *el;
	const char *s;
	char path[80];
	size_t i, n;

	if (get_obj(obj, "status", "status", &status, err, errlen) == -1 ||
	    get_obj(status, "loadBalancer", "status.loadBalancer", &lb, err,
	    errlen) == -1 ||
	    get_arr(lb, "ingress", "status.loadBalancer.ingress", &arr, err,
	    errlen) == -1)
		return -1;
	n = arr ? json_object_array_length(arr) : 0;
	svc->ingress = xcalloc(n, sizeof(*svc->ingress));
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "status.loadBalancer.ingress[%zu]", i);
		if (el == NULL || !json_object_is_type(el, json_type_object))
			return errf(err, errlen,
			    "%s: expected an object", path);
		snprintf(path, sizeof(path), "status.loadBalancer.ingress[%zu].ip", i);
		if (get_str(el, "ip", path, &s, err, errlen) == -1)
			return -1;
		if (s == NULL)
			continue;	/* hostname-only entries: not ours */
		if (addr_parse(s, &svc->ingress[svc->ningress]) == -1)
			return errf(err, errlen,
			    "%s: \"%s\" is not an IP address", path, s);
		svc->ningress++;
	}
	return 0;
}

int
k8s_service_from_json(struct json_object *obj, struct k8s_service *svc,
    char *err, size_t errlen)
{
	struct json_object *meta, *ann, *spec;
	const char *s, *which, *lbip;
	struct addr spec_ip;
	char path[192];

	memset(svc, 0, sizeof(*svc));
	svc->addresses = xcalloc(2, sizeof(*svc->addresses));
	if (get_meta(obj, &meta, &svc->namespace, &svc->name,
	    &svc->resource_version, &svc->uid, err, errlen) == -1)
		return -1;
	if (get_str(meta, "creationTimestamp", "metadata.creationTimestamp",
	    &s, err, errlen) == -1)
		return -1;
	if (s != NULL && k8s_parse_time(s, &svc->created) == -1)
		return errf(err, errlen,
		    "metadata.creationTimestamp: \"%s\" is not "
		    "a time", s);
	/*
	 * What the Service is and what its status says come first: when an
	 * annotation or the rest of the spec can't be read, the caller still
	 * knows whether it is ours and which addresses it holds, and keeps
	 * announcing them instead of dropping the route over a typo.
	 */
	if (parse_ingress(obj, svc, err, errlen) == -1)
		return -1;
	svc->ingress_valid = true;
	if (get_obj(obj, "spec", "spec", &spec, err, errlen) == -1)
		return -1;
	if (get_str(spec, "type", "spec.type", &s, err, errlen) == -1)
		return -1;
	svc->is_load_balancer = s != NULL && strcmp(s, "LoadBalancer") == 0;
	if (get_str(spec, "loadBalancerClass", "spec.loadBalancerClass", &s,
	    err, errlen) == -1)
		return -1;
	svc->lb_class = s && *s ? xstrdup(s) : NULL;
	svc->kind_valid = true;
	if (get_obj(meta, "annotations", "metadata.annotations", &ann, err,
	    errlen) == -1)
		return -1;
	if (get_str(ann, K8S_ANN_ALLOCATED_FROM, "metadata.annotations[\""
	    K8S_ANN_ALLOCATED_FROM "\"]", &s, err, errlen) == -1)
		return -1;
	svc->allocated_from = xstrdup(s);
	if (get_str(ann, K8S_ANN_ALLOCATED_FROM_METALLB, "metadata.annotations"
	    "[\"" K8S_ANN_ALLOCATED_FROM_METALLB "\"]", &s, err, errlen) == -1)
		return -1;
	svc->allocated_from_metallb = xstrdup(s);
	if (get_annotation(ann, ann_pool, &s, &which, err, errlen) == -1)
		return -1;
	svc->pool = xstrdup(s);
	if (get_annotation(ann, ann_share, &s, &which, err, errlen) == -1)
		return -1;
	svc->sharing_key = xstrdup(s);
	if (get_annotation(ann, ann_ips, &s, &which, err, errlen) == -1 ||
	    get_str(spec, "loadBalancerIP", "spec.loadBalancerIP", &lbip,
	    err, errlen) == -1)
		return -1;
	if (lbip != NULL && *lbip != '\0' && addr_parse(lbip, &spec_ip) == -1)
		return errf(err, errlen, "spec.loadBalancerIP: \"%s\" is not "
		    "an IP address", lbip);
	if (s != NULL) {
		snprintf(path, sizeof(path), "metadata.annotations[\"%s\"]", which);
		if (parse_ip_list(s, path, svc, err, errlen) == -1)
			return -1;
		/* Both set: they must agree (the spec's address among the
		 * annotation's), or nobody knows which one was meant. */
		if (lbip != NULL && *lbip != '\0' &&
		    !addr_in(&spec_ip, svc->addresses, svc->naddresses))
			return errf(err, errlen, "%s \"%s\" and "
			    "spec.loadBalancerIP \"%s\" disagree: set one of "
			    "them", path, s, lbip);
	} else if (lbip != NULL && *lbip != '\0') {
		svc->addresses[0] = spec_ip;
		svc->naddresses = 1;
	}
	return parse_service_spec(spec, svc, err, errlen);
}

void
k8s_service_free(struct k8s_service *svc)
{
	if (svc == NULL)
		return;
	free(svc->namespace);
	free(svc->name);
	free(svc->uid);
	free(svc->resource_version);
	free(svc->lb_class);
	free(svc->pool);
	free(svc->sharing_key);
	free(svc->backend_key);
	free(svc->allocated_from);
	free(svc->allocated_from_metallb);
	free(svc->addresses);
	free(svc->ports);
	free(svc->ingress);
	memset(svc, 0, sizeof(*svc));
}

bool
k8s_service_handled(const struct k8s_service *svc, const char *our_class)
{
	if (!svc->is_load_balancer)
		return false;
	if (svc->lb_class == NULL)
		return true;
	return strcmp(svc->lb_class, our_class ? our_class : K8S_LB_CLASS) == 0;
}

/*
 * Families: a RequireDualStack or PreferDualStack Service asks for both (the
 * API server lists both in ipFamilies on a dual-stack cluster; on a
 * single-stack one PreferDualStack lists one and we follow it).  A single
 * stack Service asks for its primary family.
 */
void
k8s_service_to_request(const struct k8s_service *svc, char *key,
    size_t keylen, struct alloc_request *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(key, keylen, "%s/%s", svc->namespace ? svc->namespace : "",
	    svc->name ? svc->name : "");
	r->service = key;
	r->pool = svc->pool;
	r->addresses = svc->addresses;
	r->naddresses = svc->naddresses;
	r->sharing_key = svc->sharing_key;
	r->backend_key = svc->backend_key;
	r->ports = svc->ports;
	r->nports = svc->nports;
	switch (svc->family_policy) {
	case K8S_POLICY_REQUIRE_DUAL:
		r->families = CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6;
		r->dual_stack_required = true;
		break;
	case K8S_POLICY_PREFER_DUAL:
		r->families = svc->families ? svc->families :
		    CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6;
		break;
	case K8S_POLICY_SINGLE:
	case K8S_POLICY_UNSET:
		r->families = svc->primary_family;
		break;
	}
}

int
k8s_endpointslice_from_json(struct json_object *obj,
    struct k8s_endpointslice *es, char *err, size_t errlen)
{
	struct json_object *meta, *labels, *arr, *el, *cond;
	const char *s;
	char path[80];
	size_t i, n;

	memset(es, 0, sizeof(*es));
	if (get_meta(obj, &meta, &es->namespace, &es->name,
	    &es->resource_version, NULL, err, errlen) == -1)
		return -1;
	if (get_obj(meta, "labels", "metadata.labels", &labels, err,
	    errlen) == -1 ||
	    get_str(labels, K8S_LABEL_SERVICE_NAME,
	    "metadata.labels[\"" K8S_LABEL_SERVICE_NAME "\"]", &s, err,
	    errlen) == -1)
		return -1;
	es->service = xstrdup(s);
	if (get_arr(obj, "endpoints", "endpoints", &arr, err, errlen) == -1)
		return -1;
	n = arr ? json_object_array_length(arr) : 0;
	es->endpoints = xcalloc(n, sizeof(*es->endpoints));
	for (i = 0; i < n; i++) {
		struct k8s_endpoint *ep = &es->endpoints[i];

		el = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "endpoints[%zu]", i);
		if (el == NULL || !json_object_is_type(el, json_type_object)) {
			return errf(err, errlen,
			    "%s: expected an object", path);
		}
		es->nendpoints++;
		snprintf(path, sizeof(path), "endpoints[%zu].nodeName", i);
		if (get_str(el, "nodeName", path, &s, err, errlen) == -1)
			return -1;
		ep->node = xstrdup(s);
		snprintf(path, sizeof(path), "endpoints[%zu].conditions", i);
		if (get_obj(el, "conditions", path, &cond, err, errlen) == -1)
			return -1;
		/* Unset ready means ready, unset serving means "as ready". */
		snprintf(path, sizeof(path), "endpoints[%zu].conditions.ready", i);
		if (get_bool(cond, "ready", path, &ep->ready, true, err,
		    errlen) == -1)
			return -1;
		snprintf(path, sizeof(path), "endpoints[%zu].conditions.serving", i);
		if (get_bool(cond, "serving", path, &ep->serving, ep->ready, err,
		    errlen) == -1)
			return -1;
		snprintf(path, sizeof(path), "endpoints[%zu].conditions.terminating", i);
		if (get_bool(cond, "terminating", path, &ep->terminating, false,
		    err, errlen) == -1)
			return -1;
	}
	return 0;
}

void
k8s_endpointslice_free(struct k8s_endpointslice *es)
{
	size_t i;

	if (es == NULL)
		return;
	for (i = 0; i < es->nendpoints; i++)
		free(es->endpoints[i].node);
	free(es->endpoints);
	free(es->namespace);
	free(es->name);
	free(es->service);
	free(es->resource_version);
	memset(es, 0, sizeof(*es));
}

int
k8s_node_from_json(struct json_object *obj, struct k8s_node *node, char *err,
    size_t errlen)
{
	struct json_object *meta, *labels, *status, *arr, *el;
	const char *s, *st;
	char path[300];
	size_t i, n;

	memset(node, 0, sizeof(*node));
	if (get_meta(obj, &meta, NULL, &node->name, &node->resource_version,
	    NULL, err, errlen) == -1)
		return -1;
	if (get_obj(meta, "labels", "metadata.labels", &labels, err,
	    errlen) == -1)
		return -1;
	if (labels != NULL) {
		node->labels = xcalloc((size_t)json_object_object_length(labels),
		    sizeof(*node->labels));
		json_object_object_foreach(labels, k, v) {
			if (v == NULL || !json_object_is_type(v, json_type_string)) {
				snprintf(path, sizeof(path),
				    "metadata.labels[\"%.200s\"]", k);
				return errf(err, errlen,
				    "%s: expected a string", path);
			}
			node->labels[node->nlabels].key = xstrdup(k);
			node->labels[node->nlabels].value =
			    xstrdup(json_object_get_string(v));
			node->nlabels++;
			if (strcmp(k, K8S_LABEL_EXCLUDE_LB) == 0)
				node->excluded = true;
		}
	}
	if (get_obj(obj, "status", "status", &status, err, errlen) == -1 ||
	    get_arr(status, "conditions", "status.conditions", &arr, err,
	    errlen) == -1)
		return -1;
	n = arr ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "status.conditions[%zu]", i);
		if (el == NULL || !json_object_is_type(el, json_type_object)) {
			return errf(err, errlen,
			    "%s: expected an object", path);
		}
		snprintf(path, sizeof(path), "status.conditions[%zu].type", i);
		if (get_str(el, "type", path, &s, err, errlen) == -1)
			return -1;
		snprintf(path, sizeof(path), "status.conditions[%zu].status", i);
		if (get_str(el, "status", path, &st, err, errlen) == -1)
			return -1;
		if (s != NULL && st != NULL &&
		    strcmp(s, "NetworkUnavailable") == 0 && strcmp(st, "True") == 0)
			node->network_unavailable = true;
		if (s != NULL && st != NULL && strcmp(s, "Ready") == 0) {
			node->has_ready = true;
			node->ready = strcmp(st, "True") == 0;
		}
	}
	if (get_arr(status, "addresses", "status.addresses", &arr, err,
	    errlen) == -1)
		return -1;
	n = arr ? json_object_array_length(arr) : 0;
	if (n > 0)
		node->internal_ips = xcalloc(n, sizeof(*node->internal_ips));
	for (i = 0; i < n; i++) {
		struct addr a;

		el = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "status.addresses[%zu]", i);
		if (el == NULL || !json_object_is_type(el, json_type_object)) {
			return errf(err, errlen,
			    "%s: expected an object", path);
		}
		snprintf(path, sizeof(path), "status.addresses[%zu].type", i);
		if (get_str(el, "type", path, &s, err, errlen) == -1)
			return -1;
		snprintf(path, sizeof(path), "status.addresses[%zu].address", i);
		if (get_str(el, "address", path, &st, err, errlen) == -1)
			return -1;
		/* A Hostname entry or an unparsable address is not ours to
		 * judge: skip it rather than refuse the node. */
		if (s == NULL || st == NULL || strcmp(s, "InternalIP") != 0 ||
		    addr_parse(st, &a) == -1)
			continue;
		node->internal_ips[node->ninternal_ips++] = a;
	}
	return 0;
}

void
k8s_node_free(struct k8s_node *node)
{
	size_t i;

	if (node == NULL)
		return;
	for (i = 0; i < node->nlabels; i++) {
		free(node->labels[i].key);
		free(node->labels[i].value);
	}
	free(node->labels);
	free(node->internal_ips);
	free(node->name);
	free(node->resource_version);
	memset(node, 0, sizeof(*node));
}

int
k8s_configmap_from_json(struct json_object *obj, struct k8s_configmap *cm,
    char *err, size_t errlen)
{
	struct json_object *meta, *data;
	const char *s;

	memset(cm, 0, sizeof(*cm));
	if (get_meta(obj, &meta, &cm->namespace, &cm->name,
	    &cm->resource_version, NULL, err, errlen) == -1)
		return -1;
	if (get_obj(obj, "data", "data", &data, err, errlen) == -1 ||
	    get_str(data, "config", "data.config", &s, err, errlen) == -1)
		return -1;
	cm->config = xstrdup(s);
	return 0;
}

void
k8s_configmap_free(struct k8s_configmap *cm)
{
	if (cm == NULL)
		return;
	free(cm->namespace);
	free(cm->name);
	free(cm->resource_version);
	free(cm->config);
	memset(cm, 0, sizeof(*cm));
}

static const char *const ev_names[] = {
	[K8S_EV_ADDED] = "ADDED",
	[K8S_EV_MODIFIED] = "MODIFIED",
	[K8S_EV_DELETED] = "DELETED",
	[K8S_EV_BOOKMARK] = "BOOKMARK",
	[K8S_EV_ERROR] = "ERROR",
};

const char *
k8s_event_type_name(enum k8s_event_type t)
{
	if ((unsigned)t < sizeof(ev_names) / sizeof(ev_names[0]))
		return ev_names[t];
	return "?";
}

int
k8s_watch_event_parse(const char *line, size_t len,
    struct k8s_watch_event *ev, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root, *obj;
	const char *type, *s;
	enum json_tokener_error jerr;
	size_t i, used;
	bool present;
	int64_t code;

	memset(ev, 0, sizeof(*ev));
	if (len > INT32_MAX) {
		return errf(err, errlen, "event: line too long");
	}
	if ((tok = json_tokener_new()) == NULL)
		fatalx("out of memory");
	root = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (root == NULL) {
		return errf(err, errlen, "event: not JSON (%s)",
		    jerr == json_tokener_continue ? "truncated" :
		    json_tokener_error_desc(jerr));
	}
	for (i = used; i < len; i++) {
		if (!isspace((unsigned char)line[i])) {
			json_object_put(root);
			return errf(err, errlen,
			    "event: trailing data after the JSON value");
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return errf(err, errlen, "event: expected an object");
	}
	if (get_str(root, "type", "type", &type, err, errlen) == -1)
		goto fail;
	if (type == NULL) {
		errf(err, errlen, "type: missing");
		goto fail;
	}
	for (i = 0; i < sizeof(ev_names) / sizeof(ev_names[0]); i++)
		if (strcmp(type, ev_names[i]) == 0)
			break;
	if (i == sizeof(ev_names) / sizeof(ev_names[0])) {
		errf(err, errlen, "type: unknown event type \"%.64s\"", type);
		goto fail;
	}
	ev->type = (enum k8s_event_type)i;
	if (get_obj(root, "object", "object", &obj, err, errlen) == -1)
		goto fail;
	if (obj == NULL) {
		errf(err, errlen, "object: missing");
		goto fail;
	}
	ev->object = json_object_get(obj);
	if (ev->type == K8S_EV_ERROR) {
		if (get_int(obj, "code", "object.code", &present, &code, err,
		    errlen) == -1)
			goto fail;
		ev->code = present && code >= 0 && code < 1000 ? (int)code : 0;
		if (get_str(obj, "reason", "object.reason", &s, err, errlen) == -1)
			goto fail;
		ev->reason = xstrdup(s);
		if (get_str(obj, "message", "object.message", &s, err, errlen) == -1)
			goto fail;
		ev->message = xstrdup(s);
		ev->expired = ev->code == 410;
		if (ev->reason != NULL && (strcmp(ev->reason, "Expired") == 0 ||
		    strcmp(ev->reason, "Gone") == 0))
			ev->expired = true;
	} else if (ev->type != K8S_EV_BOOKMARK) {
		/* Every real object has metadata.name; a bookmark has none. */
		s = k8s_meta_str(obj, "name");
		if (s == NULL) {
			errf(err, errlen, "object.metadata.name: missing");
			goto fail;
		}
	}
	json_object_put(root);
	return 0;
fail:
	json_object_put(root);
	k8s_watch_event_free(ev);
	return -1;
}

void
k8s_watch_event_free(struct k8s_watch_event *ev)
{
	if (ev == NULL)
		return;
	if (ev->object != NULL)
		json_object_put(ev->object);
	free(ev->reason);
	free(ev->message);
	memset(ev, 0, sizeof(*ev));
}

const char *
k8s_meta_str(struct json_object *obj, const char *field)
{
	return k8s_json_str(k8s_json_get(obj, "metadata", json_type_object),
	    field);
}

int
k8s_parse_time(const char *s, struct timespec *ts)
{
	struct tm tm;
	const char *p;
	long frac = 0, scale = 100000000;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z") != 0)
		return -1;	/* the API server always writes UTC */
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	ts->tv_sec = t;
	ts->tv_nsec = frac;
	return 0;
}

static int
get_time(struct json_object *spec, const char *key, const char *path,
    bool *has, struct timespec *ts, char *err, size_t errlen)
{
	const char *s;

	*has = false;
	if (get_str(spec, key, path, &s, err, errlen) == -1)
		return -1;
	if (s == NULL)
		return 0;
	if (k8s_parse_time(s, ts) == -1) {
		return errf(err, errlen,
		    "%s: \"%.64s\" is not a time", path, s);
	}
	*has = true;
	return 0;
}

int
k8s_lease_from_json(struct json_object *obj, struct k8s_lease *l, char *err,
    size_t errlen)
{
	struct json_object *meta, *spec;
	const char *s;
	bool present;
	int64_t v;

	memset(l, 0, sizeof(*l));
	if (get_meta(obj, &meta, &l->namespace, &l->name, &l->resource_version,
	    NULL, err, errlen) == -1)
		return -1;
	if (get_obj(obj, "spec", "spec", &spec, err, errlen) == -1 ||
	    get_str(spec, "holderIdentity", "spec.holderIdentity", &s, err,
	    errlen) == -1)
		return -1;
	l->holder = s && *s ? xstrdup(s) : NULL;
	if (get_int(spec, "leaseDurationSeconds", "spec.leaseDurationSeconds",
	    &present, &v, err, errlen) == -1)
		return -1;
	if (v < 0 || v > INT32_MAX) {
		return errf(err, errlen, "spec.leaseDurationSeconds: %" PRId64
		    " is out of range", v);
	}
	l->duration_s = (int)v;
	if (get_int(spec, "leaseTransitions", "spec.leaseTransitions", &present,
	    &v, err, errlen) == -1)
		return -1;
	if (v < 0 || v > INT32_MAX) {
		return errf(err, errlen, "spec.leaseTransitions: %" PRId64
		    " is out of range", v);
	}
	l->transitions = (int)v;
	if (get_time(spec, "acquireTime", "spec.acquireTime", &l->has_acquire,
	    &l->acquire, err, errlen) == -1 ||
	    get_time(spec, "renewTime", "spec.renewTime", &l->has_renew,
	    &l->renew, err, errlen) == -1)
		return -1;
	return 0;
}

void
k8s_lease_free(struct k8s_lease *l)
{
	if (l == NULL)
		return;
	free(l->namespace);
	free(l->name);
	free(l->resource_version);
	free(l->holder);
	memset(l, 0, sizeof(*l));
}

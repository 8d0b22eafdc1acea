/*
 * k8s_build.c - the JSON bgplb writes to the API server: the Service status
 * merge patch (with its resourceVersion precondition and the
 * ip-allocated-from-pool annotations), Events and Leases, and the
 * timestamps they carry.  Pure functions of their input, like the parsers
 * in k8s_objects.c; each returns a string the caller frees.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "bgplb/util.h"
#include "k8s_objects.h"

static void
add_str(struct json_object *o, const char *key, const char *val)
{
	if (val != NULL)
		json_object_object_add(o, key, json_object_new_string(val));
}

static char *
finish(struct json_object *root)
{
	char *s = xstrdup(json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(root);
	return s;
}

static char *
status_patch(const char *rv, const struct addr *addrs, size_t n,
    bool annotate, const char *pool)
{
	struct json_object *root, *meta = NULL, *status, *lb, *arr, *el, *ann;
	char buf[64];
	size_t i;

	root = json_object_new_object();
	if (rv != NULL || annotate)
		meta = json_object_new_object();
	if (rv != NULL)
		add_str(meta, "resourceVersion", rv);
	if (annotate) {
		/* Merge patch: null removes the annotation. */
		ann = json_object_new_object();
		json_object_object_add(ann, K8S_ANN_ALLOCATED_FROM,
		    pool != NULL ? json_object_new_string(pool) : NULL);
		json_object_object_add(ann, K8S_ANN_ALLOCATED_FROM_METALLB,
		    pool != NULL ? json_object_new_string(pool) : NULL);
		json_object_object_add(meta, "annotations", ann);
	}
	if (meta != NULL)
		json_object_object_add(root, "metadata", meta);
	status = json_object_new_object();
	lb = json_object_new_object();
	/* Merge patch: null removes the key, an empty list would be stored. */
	if (n == 0) {
		json_object_object_add(lb, "ingress", NULL);
	} else {
		arr = json_object_new_array();
		for (i = 0; i < n; i++) {
			el = json_object_new_object();
			add_str(el, "ip", addr_ntop(&addrs[i], buf, sizeof(buf)));
			json_object_array_add(arr, el);
		}
		json_object_object_add(lb, "ingress", arr);
	}
	json_object_object_add(status, "loadBalancer", lb);
	json_object_object_add(root, "status", status);
	return finish(root);
}

char *
k8s_ingress_patch(const char *rv, const struct addr *addrs, size_t n)
{
	return status_patch(rv, addrs, n, false, NULL);
}

char *
k8s_status_patch(const char *rv, const struct addr *addrs, size_t n,
    const char *pool)
{
	return status_patch(rv, addrs, n, true, pool);
}

void
k8s_format_microtime(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char base[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.19s.%06ldZ", base,
	    (long)(ts->tv_nsec / 1000 % 1000000));
}

void
k8s_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *
k8s_event_json(const struct k8s_event_spec *e)
{
	struct json_object *root, *meta, *inv, *src;
	char name[320], t[32];
	unsigned long long ns;

	ns = (unsigned long long)e->first.tv_sec * 1000000000ull +
	    (unsigned long long)e->first.tv_nsec;
	snprintf(name, sizeof(name), "%.250s.%llx", e->name ? e->name : "",
	    ns);
	root = json_object_new_object();
	add_str(root, "apiVersion", "v1");
	add_str(root, "kind", "Event");
	meta = json_object_new_object();
	add_str(meta, "name", name);
	add_str(meta, "namespace", e->namespace ? e->namespace : "default");
	json_object_object_add(root, "metadata", meta);
	inv = json_object_new_object();
	add_str(inv, "apiVersion", e->api_version ? e->api_version : "v1");
	add_str(inv, "kind", e->kind);
	add_str(inv, "namespace", e->namespace);
	add_str(inv, "name", e->name);
	add_str(inv, "uid", e->uid);
	add_str(inv, "resourceVersion", e->resource_version);
	json_object_object_add(root, "involvedObject", inv);
	add_str(root, "reason", e->reason);
	add_str(root, "message", e->message);
	add_str(root, "type", e->warning ? "Warning" : "Normal");
	src = json_object_new_object();
	add_str(src, "component", "bgplb");
	add_str(src, "host", e->host);
	json_object_object_add(root, "source", src);
	add_str(root, "reportingComponent", "bgplb");
	add_str(root, "reportingInstance", e->host);
	json_object_object_add(root, "count",
	    json_object_new_int(e->count > 0 ? e->count : 1));
	k8s_format_time(e->first.tv_sec, t, sizeof(t));
	add_str(root, "firstTimestamp", t);
	k8s_format_time(e->last.tv_sec, t, sizeof(t));
	add_str(root, "lastTimestamp", t);
	return finish(root);
}

char *
k8s_lease_json(const struct k8s_lease_spec *l)
{
	struct json_object *root, *meta, *spec;
	char t[40];

	root = json_object_new_object();
	add_str(root, "apiVersion", "coordination.k8s.io/v1");
	add_str(root, "kind", "Lease");
	meta = json_object_new_object();
	add_str(meta, "name", l->name);
	add_str(meta, "namespace", l->namespace);
	add_str(meta, "resourceVersion", l->resource_version);
	json_object_object_add(root, "metadata", meta);
	spec = json_object_new_object();
	add_str(spec, "holderIdentity", l->holder);
	json_object_object_add(spec, "leaseDurationSeconds",
	    json_object_new_int(l->duration_s));
	k8s_format_microtime(&l->acquire, t, sizeof(t));
	add_str(spec, "acquireTime", t);
	k8s_format_microtime(&l->renew, t, sizeof(t));
	add_str(spec, "renewTime", t);
	json_object_object_add(spec, "leaseTransitions",
	    json_object_new_int(l->transitions));
	json_object_object_add(root, "spec", spec);
	return finish(root);
}


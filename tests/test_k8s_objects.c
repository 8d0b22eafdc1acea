/*
 * test_k8s_objects.c - Kubernetes JSON -> structs, and the body builders.
 *
 * Table-driven: each annotation variant and its precedence, the dual-stack
 * policies as the allocator sees them, every malformed-input error with its
 * exact text, the builders compared after parsing back, and a garbage loop
 * (mutated and random input) that must never crash or leak.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bgplb/addr.h"
#include "k8s_objects.h"

static struct json_object *
parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	ck_assert_msg(o != NULL, "fixture is not JSON: %s", s);
	return o;
}

static struct json_object *
svc_json(const char *annotations, const char *spec)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
	    "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"web\",\"uid\":\"u-1\","
	    "\"resourceVersion\":\"42\",\"annotations\":%s},"
	    "\"spec\":%s}", annotations, spec);
	return parse(buf);
}

static void
addrs_text(const struct addr *a, size_t n, char *out, size_t len)
{
	char b[64];
	size_t i;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strncat(out, ",", len - strlen(out) - 1);
		strncat(out, addr_ntop(&a[i], b, sizeof(b)), len - strlen(out) - 1);
	}
}

/* Annotations: variants and precedence. */
static const struct ann_case {
	const char *ann, *spec;
	const char *pool, *key, *ips;	/* NULL / "" = none */
} ann_cases[] = {
	{ "{}", "{\"type\":\"LoadBalancer\"}", NULL, NULL, "" },
	{ "null", "{}", NULL, NULL, "" },
	{ "{\"bgplb.io/address-pool\":\"a\"}", "{}", "a", NULL, "" },
	{ "{\"metallb.io/address-pool\":\"b\"}", "{}", "b", NULL, "" },
	{ "{\"metallb.universe.tf/address-pool\":\"c\"}", "{}", "c", NULL, "" },
	{ "{\"metallb.universe.tf/address-pool\":\"c\",\"metallb.io/address-pool\":\"b\"}",
	  "{}", "b", NULL, "" },
	{ "{\"metallb.universe.tf/address-pool\":\"c\",\"metallb.io/address-pool\":\"b\","
	  "\"bgplb.io/address-pool\":\"a\"}", "{}", "a", NULL, "" },
	/* Empty counts as absent. */
	{ "{\"bgplb.io/address-pool\":\"\",\"metallb.io/address-pool\":\"b\"}",
	  "{}", "b", NULL, "" },
	{ "{\"bgplb.io/allow-shared-ip\":\"k1\"}", "{}", NULL, "k1", "" },
	{ "{\"metallb.io/allow-shared-ip\":\"k2\"}", "{}", NULL, "k2", "" },
	{ "{\"metallb.universe.tf/allow-shared-ip\":\"k3\"}", "{}", NULL, "k3", "" },
	{ "{\"metallb.universe.tf/allow-shared-ip\":\"k3\",\"bgplb.io/allow-shared-ip\":\"k1\"}",
	  "{}", NULL, "k1", "" },
	{ "{\"metallb.universe.tf/allow-shared-ip\":\"k3\",\"metallb.io/allow-shared-ip\":\"k2\"}",
	  "{}", NULL, "k2", "" },
	{ "{\"bgplb.io/loadBalancerIPs\":\"10.0.0.1\"}", "{}", NULL, NULL, "10.0.0.1" },
	{ "{\"metallb.io/loadBalancerIPs\":\"10.0.0.2, 2001:db8::2\"}", "{}", NULL, NULL,
	  "10.0.0.2,2001:db8::2" },
	{ "{\"metallb.universe.tf/loadBalancerIPs\":\"2001:db8::3,10.0.0.3\"}", "{}",
	  NULL, NULL, "2001:db8::3,10.0.0.3" },
	{ "{\"metallb.universe.tf/loadBalancerIPs\":\"10.0.0.3\","
	  "\"metallb.io/loadBalancerIPs\":\"10.0.0.2\"}", "{}", NULL, NULL, "10.0.0.2" },
	{ "{\"metallb.io/loadBalancerIPs\":\"10.0.0.2\","
	  "\"bgplb.io/loadBalancerIPs\":\"10.0.0.1\"}", "{}", NULL, NULL, "10.0.0.1" },
	/* spec.loadBalancerIP: used only without an annotation. */
	{ "{}", "{\"loadBalancerIP\":\"10.0.0.9\"}", NULL, NULL, "10.0.0.9" },
	{ "{}", "{\"loadBalancerIP\":\"\"}", NULL, NULL, "" },
	/* Both set: only when they agree (a disagreement is a bad case). */
	{ "{\"metallb.universe.tf/loadBalancerIPs\":\"10.0.0.3\"}",
	  "{\"loadBalancerIP\":\"10.0.0.3\"}", NULL, NULL, "10.0.0.3" },
	{ "{\"metallb.io/loadBalancerIPs\":\"10.0.0.3,2001:db8::3\"}",
	  "{\"loadBalancerIP\":\"2001:db8::3\"}", NULL, NULL,
	  "10.0.0.3,2001:db8::3" },
	{ "{\"bgplb.io/address-pool\":\"p\",\"bgplb.io/allow-shared-ip\":\"s\","
	  "\"bgplb.io/loadBalancerIPs\":\"2001:db8::1\",\"other/x\":\"y\"}",
	  "{\"loadBalancerIP\":\"2001:db8::1\"}", "p", "s", "2001:db8::1" },
};

START_TEST(test_annotations)
{
	const struct ann_case *c = &ann_cases[_i];
	struct json_object *o = svc_json(c->ann, c->spec);
	struct k8s_service s;
	char err[256] = "", ips[128];

	ck_assert_msg(k8s_service_from_json(o, &s, err, sizeof(err)) == 0,
	    "case %d: %s", _i, err);
	ck_assert_str_eq(s.namespace, "ns");
	ck_assert_str_eq(s.name, "web");
	ck_assert_str_eq(s.uid, "u-1");
	ck_assert_str_eq(s.resource_version, "42");
	if (c->pool)
		ck_assert_str_eq(s.pool, c->pool);
	else
		ck_assert_ptr_null(s.pool);
	if (c->key)
		ck_assert_str_eq(s.sharing_key, c->key);
	else
		ck_assert_ptr_null(s.sharing_key);
	addrs_text(s.addresses, s.naddresses, ips, sizeof(ips));
	ck_assert_msg(strcmp(ips, c->ips) == 0, "case %d: ips %s, want %s",
	    _i, ips, c->ips);
	k8s_service_free(&s);
	json_object_put(o);
}
END_TEST

/* Families and policies -> the allocator's request. */
static const struct fam_case {
	const char *spec;
	unsigned families;
	bool required;
	unsigned svc_families;
} fam_cases[] = {
	{ "{}", 0, false, 0 },
	{ "{\"ipFamilies\":[\"IPv4\"]}", CFG_FAMILY_IPV4, false, CFG_FAMILY_IPV4 },
	{ "{\"ipFamilies\":[\"IPv6\"],\"ipFamilyPolicy\":\"SingleStack\"}",
	  CFG_FAMILY_IPV6, false, CFG_FAMILY_IPV6 },
	/* Single stack takes the primary family even if both are listed. */
	{ "{\"ipFamilies\":[\"IPv6\",\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\"}",
	  CFG_FAMILY_IPV6, false, CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6 },
	{ "{\"ipFamilies\":[\"IPv4\",\"IPv6\"],\"ipFamilyPolicy\":\"PreferDualStack\"}",
	  CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6, false, CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6 },
	/* PreferDualStack on a single-stack cluster: one family listed. */
	{ "{\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"PreferDualStack\"}",
	  CFG_FAMILY_IPV4, false, CFG_FAMILY_IPV4 },
	{ "{\"ipFamilyPolicy\":\"PreferDualStack\"}",
	  CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6, false, 0 },
	{ "{\"ipFamilies\":[\"IPv4\",\"IPv6\"],\"ipFamilyPolicy\":\"RequireDualStack\"}",
	  CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6, true, CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6 },
	{ "{\"ipFamilies\":[\"IPv6\"],\"ipFamilyPolicy\":\"RequireDualStack\"}",
	  CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6, true, CFG_FAMILY_IPV6 },
};

START_TEST(test_families)
{
	const struct fam_case *c = &fam_cases[_i];
	struct json_object *o = svc_json("{}", c->spec);
	struct k8s_service s;
	struct alloc_request r;
	char err[256] = "", key[64];

	ck_assert_msg(k8s_service_from_json(o, &s, err, sizeof(err)) == 0,
	    "case %d: %s", _i, err);
	ck_assert_uint_eq(s.families, c->svc_families);
	k8s_service_to_request(&s, key, sizeof(key), &r);
	ck_assert_str_eq(r.service, "ns/web");
	ck_assert_msg(r.families == c->families, "case %d: families %u want %u",
	    _i, r.families, c->families);
	ck_assert_int_eq(r.dual_stack_required, c->required);
	k8s_service_free(&s);
	json_object_put(o);
}
END_TEST

/* The backend key: the selector under Local, nothing under Cluster. */
static const struct backend_case {
	const char *spec, *key;		/* NULL: none */
} backend_cases[] = {
	{ "{\"selector\":{\"app\":\"a\"}}", NULL },
	{ "{\"externalTrafficPolicy\":\"Cluster\",\"selector\":{\"app\":\"a\"}}",
	  NULL },
	{ "{\"externalTrafficPolicy\":\"Local\",\"selector\":{\"app\":\"a\"}}",
	  "Local app=a" },
	{ "{\"externalTrafficPolicy\":\"Local\",\"selector\":{\"tier\":\"web\","
	  "\"app\":\"a\",\"b\":\"\"}}", "Local app=a,b=,tier=web" },
	{ "{\"externalTrafficPolicy\":\"Local\"}", "Local" },
	{ "{\"externalTrafficPolicy\":\"Local\",\"selector\":{}}", "Local" },
};

START_TEST(test_backend_key)
{
	const struct backend_case *c = &backend_cases[_i];
	struct json_object *o = svc_json("{}", c->spec);
	struct k8s_service s;
	struct alloc_request r;
	char err[256] = "", key[64];

	ck_assert_msg(k8s_service_from_json(o, &s, err, sizeof(err)) == 0,
	    "case %d: %s", _i, err);
	k8s_service_to_request(&s, key, sizeof(key), &r);
	if (c->key == NULL) {
		ck_assert_ptr_null(s.backend_key);
		ck_assert_ptr_null(r.backend_key);
	} else {
		ck_assert_str_eq(s.backend_key, c->key);
		ck_assert_str_eq(r.backend_key, c->key);
	}
	k8s_service_free(&s);
	json_object_put(o);
}
END_TEST

START_TEST(test_service_full)
{
	struct json_object *o = parse(
	    "{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"prod\",\"name\":\"db\","
	    "\"uid\":\"x\",\"resourceVersion\":\"9\",\"annotations\":{"
	    "\"metallb.universe.tf/address-pool\":\"poc\","
	    "\"metallb.universe.tf/allow-shared-ip\":\"shared\","
	    "\"metallb.universe.tf/loadBalancerIPs\":\"172.16.13.254\"}},"
	    "\"spec\":{\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":\"Local\","
	    "\"ports\":[{\"port\":80},{\"port\":53,\"protocol\":\"UDP\"},"
	    "{\"port\":9,\"protocol\":\"SCTP\",\"name\":\"x\"}]},"
	    "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"172.16.13.254\"},"
	    "{\"hostname\":\"lb.example\"},{\"ip\":\"2001:db8::5\"}]}}}");
	struct k8s_service s;
	struct alloc_request r;
	char err[256] = "", key[64], ips[128];

	ck_assert_msg(k8s_service_from_json(o, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert(s.is_load_balancer);
	ck_assert_ptr_null(s.lb_class);
	ck_assert(k8s_service_handled(&s, NULL));
	ck_assert_int_eq(s.traffic_policy, CFG_TRAFFIC_LOCAL);
	ck_assert_uint_eq(s.nports, 3);
	ck_assert_uint_eq(s.ports[0].port, 80);
	ck_assert_int_eq(s.ports[0].proto, CFG_L4_TCP);
	ck_assert_uint_eq(s.ports[1].port, 53);
	ck_assert_int_eq(s.ports[1].proto, CFG_L4_UDP);
	ck_assert_int_eq(s.ports[2].proto, CFG_L4_SCTP);
	addrs_text(s.ingress, s.ningress, ips, sizeof(ips));
	ck_assert_str_eq(ips, "172.16.13.254,2001:db8::5");
	k8s_service_to_request(&s, key, sizeof(key), &r);
	ck_assert_str_eq(r.service, "prod/db");
	ck_assert_str_eq(r.pool, "poc");
	ck_assert_str_eq(r.sharing_key, "shared");
	ck_assert_uint_eq(r.naddresses, 1);
	ck_assert_uint_eq(r.nports, 3);
	ck_assert_ptr_eq(r.ports, s.ports);
	k8s_service_free(&s);
	json_object_put(o);
}
END_TEST

/* Which Services are ours. */
static const struct class_case {
	const char *spec;
	const char *ours;
	bool handled;
} class_cases[] = {
	{ "{\"type\":\"LoadBalancer\"}", NULL, true },
	{ "{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"bgplb.io/lb\"}", NULL, true },
	{ "{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"other.io/lb\"}", NULL, false },
	{ "{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"mine\"}", "mine", true },
	{ "{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"bgplb.io/lb\"}", "mine", false },
	{ "{\"type\":\"ClusterIP\"}", NULL, false },
	{ "{\"type\":\"NodePort\"}", NULL, false },
	{ "{}", NULL, false },
};

START_TEST(test_class)
{
	const struct class_case *c = &class_cases[_i];
	struct json_object *o = svc_json("{}", c->spec);
	struct k8s_service s;
	char err[256] = "";

	ck_assert_msg(k8s_service_from_json(o, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(k8s_service_handled(&s, c->ours) == c->handled, "case %d", _i);
	k8s_service_free(&s);
	json_object_put(o);
}
END_TEST

/* Malformed Services: exact errors. */
static const struct bad_case {
	const char *json;
	const char *err;
} bad_cases[] = {
	{ "[]", "expected an object" },
	{ "{}", "metadata: missing" },
	{ "{\"metadata\":[]}", "metadata: expected an object" },
	{ "{\"metadata\":{}}", "metadata.name: missing" },
	{ "{\"metadata\":{\"name\":7}}", "metadata.name: expected a string" },
	{ "{\"metadata\":{\"name\":\"a\",\"namespace\":false}}",
	  "metadata.namespace: expected a string" },
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":\"x\"}}",
	  "metadata.annotations: expected an object" },
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"metallb.io/address-pool\":1}}}",
	  "metadata.annotations[\"metallb.io/address-pool\"]: expected a string" },
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":"
	  "{\"bgplb.io/loadBalancerIPs\":\"10.0.0.1,bogus\"}}}",
	  "metadata.annotations[\"bgplb.io/loadBalancerIPs\"]: \"bogus\" is not an IP address" },
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":"
	  "{\"metallb.universe.tf/loadBalancerIPs\":\"10.0.0.1,10.0.0.2\"}}}",
	  "metadata.annotations[\"metallb.universe.tf/loadBalancerIPs\"]: two IPv4 addresses" },
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":"
	  "{\"metallb.io/loadBalancerIPs\":\"10.0.0.1,2001:db8::1,10.0.0.2\"}}}",
	  "metadata.annotations[\"metallb.io/loadBalancerIPs\"]: at most two addresses (one per family)" },
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":"
	  "{\"bgplb.io/loadBalancerIPs\":\"10.0.0.1,\"}}}",
	  "metadata.annotations[\"bgplb.io/loadBalancerIPs\"]: empty address in \"10.0.0.1,\"" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"loadBalancerIP\":\"1.2.3\"}}",
	  "spec.loadBalancerIP: \"1.2.3\" is not an IP address" },
	/* The annotation and the spec disagree: refused, naming both. */
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":"
	  "{\"metallb.universe.tf/loadBalancerIPs\":\"10.0.0.3\"}},"
	  "\"spec\":{\"loadBalancerIP\":\"10.0.0.9\"}}",
	  "metadata.annotations[\"metallb.universe.tf/loadBalancerIPs\"] "
	  "\"10.0.0.3\" and spec.loadBalancerIP \"10.0.0.9\" disagree: set one "
	  "of them" },
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":"
	  "{\"bgplb.io/loadBalancerIPs\":\"2001:db8::1\"}},"
	  "\"spec\":{\"loadBalancerIP\":\"10.0.0.9\"}}",
	  "metadata.annotations[\"bgplb.io/loadBalancerIPs\"] \"2001:db8::1\" "
	  "and spec.loadBalancerIP \"10.0.0.9\" disagree: set one of them" },
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":"
	  "{\"bgplb.io/loadBalancerIPs\":\"10.0.0.1\"}},"
	  "\"spec\":{\"loadBalancerIP\":\"10.0.0.1x\"}}",
	  "spec.loadBalancerIP: \"10.0.0.1x\" is not an IP address" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"externalTrafficPolicy\":"
	  "\"Local\",\"selector\":{\"app\":1}}}",
	  "spec.selector[\"app\"]: expected a string" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"selector\":[]}}",
	  "spec.selector: expected an object" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":7}", "spec: expected an object" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"type\":[]}}",
	  "spec.type: expected a string" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ipFamilies\":\"IPv4\"}}",
	  "spec.ipFamilies: expected a list" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ipFamilies\":[\"IPv4\",4]}}",
	  "spec.ipFamilies[1]: expected a string" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ipFamilies\":[\"IPv5\"]}}",
	  "spec.ipFamilies[0]: unknown family \"IPv5\" (IPv4 or IPv6)" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ipFamilyPolicy\":\"Dual\"}}",
	  "spec.ipFamilyPolicy: unknown policy \"Dual\" (SingleStack, PreferDualStack or RequireDualStack)" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"externalTrafficPolicy\":\"Node\"}}",
	  "spec.externalTrafficPolicy: unknown policy \"Node\" (Cluster or Local)" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":{}}}",
	  "spec.ports: expected a list" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":1},{\"port\":2},"
	  "{\"port\":\"80\"}]}}", "spec.ports[2].port: expected a number" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":8.5}]}}",
	  "spec.ports[0].port: expected an integer" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":70000}]}}",
	  "spec.ports[0].port: 70000 is out of range (1-65535)" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":0}]}}",
	  "spec.ports[0].port: 0 is out of range (1-65535)" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"name\":\"x\"}]}}",
	  "spec.ports[0].port: missing" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[5]}}",
	  "spec.ports[0]: expected an object" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":1,\"protocol\":\"ICMP\"}]}}",
	  "spec.ports[0].protocol: unknown protocol \"ICMP\" (TCP, UDP or SCTP)" },
	{ "{\"metadata\":{\"name\":\"a\"},\"status\":{\"loadBalancer\":{\"ingress\":"
	  "[{\"ip\":\"x\"}]}}}", "status.loadBalancer.ingress[0].ip: \"x\" is not an IP address" },
	{ "{\"metadata\":{\"name\":\"a\"},\"status\":{\"loadBalancer\":{\"ingress\":{}}}}",
	  "status.loadBalancer.ingress: expected a list" },
	{ "{\"metadata\":{\"name\":\"a\"},\"status\":[]}", "status: expected an object" },
};

START_TEST(test_bad_service)
{
	const struct bad_case *c = &bad_cases[_i];
	struct json_object *o = parse(c->json);
	struct k8s_service s;
	char err[256] = "";

	ck_assert_int_eq(k8s_service_from_json(o, &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, c->err);
	k8s_service_free(&s);
	json_object_put(o);
}
END_TEST

START_TEST(test_bad_service_keeps_name)
{
	struct json_object *o = svc_json("{\"bgplb.io/loadBalancerIPs\":\"nope\"}", "{}");
	struct k8s_service s;
	char err[256];

	ck_assert_int_eq(k8s_service_from_json(o, &s, err, sizeof(err)), -1);
	/* The owner can still raise an Event on ns/web. */
	ck_assert_str_eq(s.namespace, "ns");
	ck_assert_str_eq(s.name, "web");
	ck_assert_str_eq(s.uid, "u-1");
	k8s_service_free(&s);
	json_object_put(o);
}
END_TEST

/*
 * A typo in an annotation must not hide what the Service is and which
 * addresses its status holds: the daemon keeps announcing them.
 */
static const struct partial_case {
	const char *json;
	bool ingress_valid, kind_valid, lb;
	const char *ingress, *err;
} partial_cases[] = {
	{ "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"metallb.universe.tf/"
	  "loadBalancerIPs\":\"1.2.3\"}},\"spec\":{\"type\":\"LoadBalancer\"},"
	  "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"10.1.1.1\"}]}}}",
	  true, true, true, "10.1.1.1",
	  "metadata.annotations[\"metallb.universe.tf/loadBalancerIPs\"]: \"1.2.3\" is "
	  "not an IP address" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"type\":\"LoadBalancer\","
	  "\"ports\":[{\"port\":0}]},\"status\":{\"loadBalancer\":{\"ingress\":"
	  "[{\"ip\":\"fd00::5\"}]}}}", true, true, true, "fd00::5",
	  "spec.ports[0].port: 0 is out of range (1-65535)" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"type\":7},\"status\":"
	  "{\"loadBalancer\":{\"ingress\":[{\"ip\":\"10.1.1.1\"}]}}}",
	  true, false, false, "10.1.1.1", "spec.type: expected a string" },
	{ "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"type\":\"LoadBalancer\"},"
	  "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"nope\"}]}}}",
	  false, false, false, "",
	  "status.loadBalancer.ingress[0].ip: \"nope\" is not an IP address" },
	{ "{\"metadata\":{\"name\":\"a\",\"creationTimestamp\":\"yesterday\"}}",
	  false, false, false, "",
	  "metadata.creationTimestamp: \"yesterday\" is not a time" },
};

START_TEST(test_partial_service)
{
	const struct partial_case *c = &partial_cases[_i];
	struct json_object *o = parse(c->json);
	struct k8s_service s;
	char err[256] = "", got[256];

	ck_assert_int_eq(k8s_service_from_json(o, &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, c->err);
	ck_assert_int_eq(s.ingress_valid, c->ingress_valid);
	ck_assert_int_eq(s.kind_valid, c->kind_valid);
	ck_assert_int_eq(s.is_load_balancer, c->lb);
	addrs_text(s.ingress, s.ningress, got, sizeof(got));
	if (c->ingress_valid)
		ck_assert_str_eq(got, c->ingress);
	k8s_service_free(&s);
	json_object_put(o);
}
END_TEST

START_TEST(test_service_created)
{
	struct json_object *o = parse("{\"metadata\":{\"name\":\"a\","
	    "\"creationTimestamp\":\"2026-12-06T10:11:12Z\"},\"spec\":"
	    "{\"type\":\"LoadBalancer\"}}");
	struct json_object *o2 = parse("{\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{}}");
	struct k8s_service s;
	char err[256];

	ck_assert_int_eq(k8s_service_from_json(o, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(s.created.tv_sec, 1796551872);	/* date -d ... +%s */
	ck_assert(s.ingress_valid && s.kind_valid);
	k8s_service_free(&s);
	ck_assert_int_eq(k8s_service_from_json(o2, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(s.created.tv_sec, 0);
	ck_assert(!s.is_load_balancer);
	k8s_service_free(&s);
	json_object_put(o);
	json_object_put(o2);
}
END_TEST

START_TEST(test_endpointslice)
{
	struct json_object *o = parse(
	    "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"web-abc\",\"resourceVersion\":\"5\","
	    "\"labels\":{\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\","
	    "\"endpoints\":[{\"addresses\":[\"10.1.0.1\"],\"nodeName\":\"n1\"},"
	    "{\"nodeName\":\"n2\",\"conditions\":{\"ready\":false}},"
	    "{\"nodeName\":\"n3\",\"conditions\":{\"ready\":false,\"serving\":true,"
	    "\"terminating\":true}},"
	    "{\"conditions\":{\"ready\":null}}]}");
	struct k8s_endpointslice es;
	char err[256] = "";

	ck_assert_msg(k8s_endpointslice_from_json(o, &es, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(es.namespace, "ns");
	ck_assert_str_eq(es.service, "web");
	ck_assert_uint_eq(es.nendpoints, 4);
	ck_assert_str_eq(es.endpoints[0].node, "n1");
	ck_assert(es.endpoints[0].ready && es.endpoints[0].serving);
	ck_assert(!es.endpoints[1].ready && !es.endpoints[1].serving);
	ck_assert(!es.endpoints[2].ready && es.endpoints[2].serving &&
	    es.endpoints[2].terminating);
	ck_assert_ptr_null(es.endpoints[3].node);
	ck_assert(es.endpoints[3].ready);
	k8s_endpointslice_free(&es);
	json_object_put(o);

	o = parse("{\"metadata\":{\"name\":\"x\"},\"endpoints\":[{\"conditions\":"
	    "{\"ready\":\"yes\"}}]}");
	ck_assert_int_eq(k8s_endpointslice_from_json(o, &es, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "endpoints[0].conditions.ready: expected a boolean");
	k8s_endpointslice_free(&es);
	json_object_put(o);

	o = parse("{\"metadata\":{\"name\":\"x\",\"labels\":"
	    "{\"kubernetes.io/service-name\":1}}}");
	ck_assert_int_eq(k8s_endpointslice_from_json(o, &es, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "metadata.labels[\"kubernetes.io/service-name\"]: expected a string");
	k8s_endpointslice_free(&es);
	json_object_put(o);
}
END_TEST

static const struct node_case {
	const char *json;
	int ret;
	bool excluded, unavailable;
	size_t nlabels;
	const char *err;
	const char *ips;	/* InternalIPs, comma separated */
	int ready;		/* 0: no Ready condition, 1: True, 2: not True */
} node_cases[] = {
	{ "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"a\":\"b\"}}}", 0, false, false, 1, NULL },
	{ "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"a\":\"b\","
	  "\"node.kubernetes.io/exclude-from-external-load-balancers\":\"\"}}}",
	  0, true, false, 2, NULL },
	{ "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"conditions\":["
	  "{\"type\":\"Ready\",\"status\":\"True\"},"
	  "{\"type\":\"NetworkUnavailable\",\"status\":\"True\"}]}}", 0, false, true, 0, NULL,
	  NULL, 1 },
	{ "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"conditions\":["
	  "{\"type\":\"Ready\",\"status\":\"Unknown\"}]}}", 0, false, false, 0, NULL, NULL, 2 },
	{ "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"conditions\":["
	  "{\"type\":\"NetworkUnavailable\",\"status\":\"False\"}]}}", 0, false, false, 0, NULL },
	{ "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"a\":1}}}", -1, false, false, 0,
	  "metadata.labels[\"a\"]: expected a string" },
	{ "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"conditions\":[1]}}", -1, false,
	  false, 0, "status.conditions[0]: expected an object" },
	{ "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"conditions\":[{\"type\":true}]}}",
	  -1, false, false, 0, "status.conditions[0].type: expected a string" },
	/* InternalIPs only; hostnames and garbage skipped, not fatal. */
	{ "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"addresses\":["
	  "{\"type\":\"Hostname\",\"address\":\"n1\"},"
	  "{\"type\":\"InternalIP\",\"address\":\"10.0.0.2\"},"
	  "{\"type\":\"ExternalIP\",\"address\":\"192.0.2.1\"},"
	  "{\"type\":\"InternalIP\",\"address\":\"not-an-ip\"},"
	  "{\"type\":\"InternalIP\",\"address\":\"fd00::2\"}]}}",
	  0, false, false, 0, NULL, "10.0.0.2,fd00::2" },
	{ "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"addresses\":[{\"type\":"
	  "\"InternalIP\",\"address\":7}]}}", -1, false, false, 0,
	  "status.addresses[0].address: expected a string" },
	{ "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"addresses\":{}}}", -1, false,
	  false, 0, "status.addresses: expected a list" },
};

START_TEST(test_node)
{
	const struct node_case *c = &node_cases[_i];
	struct json_object *o = parse(c->json);
	struct k8s_node n;
	char err[256] = "";

	ck_assert_int_eq(k8s_node_from_json(o, &n, err, sizeof(err)), c->ret);
	if (c->ret == 0) {
		ck_assert_str_eq(n.name, "n1");
		ck_assert_int_eq(n.excluded, c->excluded);
		ck_assert_int_eq(n.network_unavailable, c->unavailable);
		ck_assert_uint_eq(n.nlabels, c->nlabels);
		ck_assert_int_eq(n.has_ready, c->ready != 0);
		ck_assert_int_eq(n.ready, c->ready == 1);
		{
			char got[256] = "", b[ADDR_STRLEN];

			for (size_t i = 0; i < n.ninternal_ips; i++)
				snprintf(got + strlen(got), sizeof(got) - strlen(got),
				    "%s%s", i ? "," : "",
				    addr_ntop(&n.internal_ips[i], b, sizeof(b)));
			ck_assert_str_eq(got, c->ips ? c->ips : "");
		}
	} else {
		ck_assert_str_eq(err, c->err);
	}
	k8s_node_free(&n);
	json_object_put(o);
}
END_TEST

START_TEST(test_configmap)
{
	struct json_object *o = parse("{\"metadata\":{\"namespace\":\"bgplb-system\","
	    "\"name\":\"bgplb\",\"resourceVersion\":\"3\"},\"data\":{\"config\":\"pools: []\\n\"}}");
	struct k8s_configmap cm;
	char err[256] = "";

	ck_assert_int_eq(k8s_configmap_from_json(o, &cm, err, sizeof(err)), 0);
	ck_assert_str_eq(cm.namespace, "bgplb-system");
	ck_assert_str_eq(cm.name, "bgplb");
	ck_assert_str_eq(cm.resource_version, "3");
	ck_assert_str_eq(cm.config, "pools: []\n");
	k8s_configmap_free(&cm);
	json_object_put(o);

	o = parse("{\"metadata\":{\"name\":\"bgplb\"}}");
	ck_assert_int_eq(k8s_configmap_from_json(o, &cm, err, sizeof(err)), 0);
	ck_assert_ptr_null(cm.config);
	k8s_configmap_free(&cm);
	json_object_put(o);

	o = parse("{\"metadata\":{\"name\":\"bgplb\"},\"data\":{\"config\":{}}}");
	ck_assert_int_eq(k8s_configmap_from_json(o, &cm, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "data.config: expected a string");
	k8s_configmap_free(&cm);
	json_object_put(o);
}
END_TEST

/* Watch event lines. */
static const struct ev_case {
	const char *line;
	int ret;
	enum k8s_event_type type;
	int code;
	bool expired;
	const char *err;
} ev_cases[] = {
	{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"3\"}}}",
	  0, K8S_EV_ADDED, 0, false, NULL },
	{ "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\r\n",
	  0, K8S_EV_MODIFIED, 0, false, NULL },
	{ "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}",
	  0, K8S_EV_DELETED, 0, false, NULL },
	{ "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"metadata\":{\"resourceVersion\":\"12\"}}}",
	  0, K8S_EV_BOOKMARK, 0, false, NULL },
	{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\","
	  "\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}}",
	  0, K8S_EV_ERROR, 410, true, NULL },
	{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"reason\":\"Gone\"}}",
	  0, K8S_EV_ERROR, 0, true, NULL },
	{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"message\":\"boom\","
	  "\"reason\":\"InternalError\",\"code\":500}}", 0, K8S_EV_ERROR, 500, false, NULL },
	{ "", -1, 0, 0, false, "event: not JSON (truncated)" },
	{ "{\"type\":\"ADDED\"", -1, 0, 0, false, "event: not JSON (truncated)" },
	{ "{} x", -1, 0, 0, false, "event: trailing data after the JSON value" },
	{ "[1]", -1, 0, 0, false, "event: expected an object" },
	{ "{\"object\":{}}", -1, 0, 0, false, "type: missing" },
	{ "{\"type\":1,\"object\":{}}", -1, 0, 0, false, "type: expected a string" },
	{ "{\"type\":\"RENAMED\",\"object\":{}}", -1, 0, 0, false,
	  "type: unknown event type \"RENAMED\"" },
	{ "{\"type\":\"ADDED\"}", -1, 0, 0, false, "object: missing" },
	{ "{\"type\":\"ADDED\",\"object\":\"x\"}", -1, 0, 0, false,
	  "object: expected an object" },
	{ "{\"type\":\"ADDED\",\"object\":{}}", -1, 0, 0, false,
	  "object.metadata.name: missing" },
	{ "{\"type\":\"ERROR\",\"object\":{\"code\":\"410\"}}", -1, 0, 0, false,
	  "object.code: expected a number" },
};

START_TEST(test_watch_event)
{
	const struct ev_case *c = &ev_cases[_i];
	struct k8s_watch_event ev;
	char err[256] = "";

	ck_assert_int_eq(k8s_watch_event_parse(c->line, strlen(c->line), &ev, err,
	    sizeof(err)), c->ret);
	if (c->ret == 0) {
		ck_assert_int_eq(ev.type, c->type);
		ck_assert_ptr_nonnull(ev.object);
		ck_assert_int_eq(ev.code, c->code);
		ck_assert_int_eq(ev.expired, c->expired);
	} else {
		ck_assert_str_eq(err, c->err);
		ck_assert_ptr_null(ev.object);
	}
	k8s_watch_event_free(&ev);
}
END_TEST

static void
assert_json_eq(const char *got, const char *want)
{
	struct json_object *g = parse(got), *w = parse(want);

	ck_assert_msg(json_object_equal(g, w), "got  %s\nwant %s", got, want);
	json_object_put(g);
	json_object_put(w);
}

START_TEST(test_ingress_patch)
{
	struct addr a[2];
	char *s;

	ck_assert_int_eq(addr_parse("172.16.13.254", &a[0]), 0);
	ck_assert_int_eq(addr_parse("2001:db8::1", &a[1]), 0);
	s = k8s_ingress_patch("42", a, 2);
	assert_json_eq(s, "{\"metadata\":{\"resourceVersion\":\"42\"},\"status\":"
	    "{\"loadBalancer\":{\"ingress\":[{\"ip\":\"172.16.13.254\"},"
	    "{\"ip\":\"2001:db8::1\"}]}}}");
	free(s);
	s = k8s_ingress_patch(NULL, a, 1);
	assert_json_eq(s, "{\"status\":{\"loadBalancer\":{\"ingress\":"
	    "[{\"ip\":\"172.16.13.254\"}]}}}");
	free(s);
	s = k8s_ingress_patch("7", NULL, 0);
	assert_json_eq(s, "{\"metadata\":{\"resourceVersion\":\"7\"},"
	    "\"status\":{\"loadBalancer\":{\"ingress\":null}}}");
	free(s);
}
END_TEST

/* The pool annotations: written with the status, read back as they are. */
START_TEST(test_status_patch)
{
	struct json_object *o;
	struct k8s_service sv;
	struct addr a[1];
	char err[256] = "", *s;

	ck_assert_int_eq(addr_parse("172.16.13.254", &a[0]), 0);
	s = k8s_status_patch("42", a, 1, "poc");
	assert_json_eq(s, "{\"metadata\":{\"resourceVersion\":\"42\","
	    "\"annotations\":{\"bgplb.io/ip-allocated-from-pool\":\"poc\","
	    "\"metallb.io/ip-allocated-from-pool\":\"poc\"}},\"status\":"
	    "{\"loadBalancer\":{\"ingress\":[{\"ip\":\"172.16.13.254\"}]}}}");
	free(s);
	/* Cleared: the annotations go too (merge patch null). */
	s = k8s_status_patch(NULL, NULL, 0, NULL);
	assert_json_eq(s, "{\"metadata\":{\"annotations\":{"
	    "\"bgplb.io/ip-allocated-from-pool\":null,"
	    "\"metallb.io/ip-allocated-from-pool\":null}},"
	    "\"status\":{\"loadBalancer\":{\"ingress\":null}}}");
	free(s);

	o = svc_json("{\"metallb.io/ip-allocated-from-pool\":\"poc\","
	    "\"bgplb.io/ip-allocated-from-pool\":\"default\"}",
	    "{\"type\":\"LoadBalancer\"}");
	ck_assert_msg(k8s_service_from_json(o, &sv, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(sv.allocated_from_metallb, "poc");
	ck_assert_str_eq(sv.allocated_from, "default");
	/* Not a pool request: the pool annotation is another key. */
	ck_assert_ptr_null(sv.pool);
	k8s_service_free(&sv);
	json_object_put(o);
	o = svc_json("{}", "{\"type\":\"LoadBalancer\"}");
	ck_assert_msg(k8s_service_from_json(o, &sv, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_null(sv.allocated_from);
	ck_assert_ptr_null(sv.allocated_from_metallb);
	k8s_service_free(&sv);
	json_object_put(o);
}
END_TEST

START_TEST(test_event_json)
{
	struct k8s_event_spec e = {
		.kind = "Service", .namespace = "prod", .name = "db", .uid = "u-9",
		.resource_version = "77", .reason = "IPAllocated",
		.message = "Assigned IP [\"172.16.13.254\"]", .host = "worker-1",
		.count = 3, .first = { 1700000000, 5 }, .last = { 1700000100, 0 },
	};
	char *s;

	s = k8s_event_json(&e);
	assert_json_eq(s, "{\"apiVersion\":\"v1\",\"kind\":\"Event\","
	    "\"metadata\":{\"name\":\"db.17979cfe362a0005\",\"namespace\":\"prod\"},"
	    "\"involvedObject\":{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"namespace\":\"prod\","
	    "\"name\":\"db\",\"uid\":\"u-9\",\"resourceVersion\":\"77\"},"
	    "\"reason\":\"IPAllocated\",\"message\":\"Assigned IP [\\\"172.16.13.254\\\"]\","
	    "\"type\":\"Normal\",\"source\":{\"component\":\"bgplb\",\"host\":\"worker-1\"},"
	    "\"reportingComponent\":\"bgplb\",\"reportingInstance\":\"worker-1\","
	    "\"count\":3,\"firstTimestamp\":\"2023-11-14T22:13:20Z\","
	    "\"lastTimestamp\":\"2023-11-14T22:15:00Z\"}");
	free(s);
	e.warning = true;
	e.uid = NULL;
	e.resource_version = NULL;
	e.host = NULL;
	e.count = 0;
	e.reason = "AllocationFailed";
	s = k8s_event_json(&e);
	assert_json_eq(s, "{\"apiVersion\":\"v1\",\"kind\":\"Event\","
	    "\"metadata\":{\"name\":\"db.17979cfe362a0005\",\"namespace\":\"prod\"},"
	    "\"involvedObject\":{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"namespace\":\"prod\","
	    "\"name\":\"db\"},"
	    "\"reason\":\"AllocationFailed\",\"message\":\"Assigned IP [\\\"172.16.13.254\\\"]\","
	    "\"type\":\"Warning\",\"source\":{\"component\":\"bgplb\"},"
	    "\"reportingComponent\":\"bgplb\","
	    "\"count\":1,\"firstTimestamp\":\"2023-11-14T22:13:20Z\","
	    "\"lastTimestamp\":\"2023-11-14T22:15:00Z\"}");
	free(s);
}
END_TEST

START_TEST(test_lease_json)
{
	struct k8s_lease_spec l = {
		.namespace = "bgplb-system", .name = "bgplb-leader",
		.resource_version = "12", .holder = "worker-1", .duration_s = 15,
		.acquire = { 1700000000, 123456789 }, .renew = { 1700000010, 999 },
		.transitions = 2,
	};
	char *s, t[40];

	s = k8s_lease_json(&l);
	assert_json_eq(s, "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
	    "\"metadata\":{\"name\":\"bgplb-leader\",\"namespace\":\"bgplb-system\","
	    "\"resourceVersion\":\"12\"},\"spec\":{\"holderIdentity\":\"worker-1\","
	    "\"leaseDurationSeconds\":15,\"acquireTime\":\"2023-11-14T22:13:20.123456Z\","
	    "\"renewTime\":\"2023-11-14T22:13:30.000000Z\",\"leaseTransitions\":2}}");
	free(s);
	l.resource_version = NULL;
	s = k8s_lease_json(&l);
	assert_json_eq(s, "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
	    "\"metadata\":{\"name\":\"bgplb-leader\",\"namespace\":\"bgplb-system\"},"
	    "\"spec\":{\"holderIdentity\":\"worker-1\","
	    "\"leaseDurationSeconds\":15,\"acquireTime\":\"2023-11-14T22:13:20.123456Z\","
	    "\"renewTime\":\"2023-11-14T22:13:30.000000Z\",\"leaseTransitions\":2}}");
	free(s);
	k8s_format_microtime(&(struct timespec){ 0, 0 }, t, sizeof(t));
	ck_assert_str_eq(t, "1970-01-01T00:00:00.000000Z");
}
END_TEST

/*
 * Garbage: truncations and byte flips of valid objects, and random bytes,
 * through every parser.  Passing means no crash, no leak (ASan/valgrind) and
 * a set error on failure.
 */
static const char *const seeds[] = {
	"{\"metadata\":{\"namespace\":\"ns\",\"name\":\"web\",\"uid\":\"u\",\"resourceVersion\":\"1\","
	"\"annotations\":{\"metallb.universe.tf/loadBalancerIPs\":\"10.0.0.1,2001:db8::1\","
	"\"bgplb.io/address-pool\":\"p\"}},\"spec\":{\"type\":\"LoadBalancer\","
	"\"ipFamilies\":[\"IPv4\",\"IPv6\"],\"ipFamilyPolicy\":\"RequireDualStack\","
	"\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}],\"loadBalancerIP\":\"10.0.0.1\"},"
	"\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"10.0.0.1\"}]}}}",
	"{\"metadata\":{\"name\":\"n\",\"labels\":{\"a\":\"b\"}},\"endpoints\":[{\"nodeName\":\"x\","
	"\"conditions\":{\"ready\":true}}],\"status\":{\"conditions\":[{\"type\":"
	"\"NetworkUnavailable\",\"status\":\"True\"}]},\"data\":{\"config\":\"x\"}}",
	"{\"type\":\"ERROR\",\"object\":{\"metadata\":{\"name\":\"a\"},\"code\":410,"
	"\"reason\":\"Expired\",\"message\":\"m\"}}",
	"{\"metadata\":{\"name\":\"l\"},\"spec\":{\"holderIdentity\":\"a\",\"leaseDurationSeconds\":15,"
	"\"acquireTime\":\"2023-11-14T22:13:20.123456Z\",\"renewTime\":\"2023-11-14T22:13:20Z\","
	"\"leaseTransitions\":3}}",
};

static void
feed_all(const char *buf, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
	struct k8s_service s;
	struct k8s_endpointslice es;
	struct k8s_node n;
	struct k8s_configmap cm;
	struct k8s_watch_event ev;
	struct k8s_lease lease;
	struct alloc_request r;
	char err[256], key[600];

	json_tokener_free(tok);
	err[0] = '\0';
	if (k8s_service_from_json(o, &s, err, sizeof(err)) == 0)
		k8s_service_to_request(&s, key, sizeof(key), &r);
	else
		ck_assert(err[0] != '\0');
	k8s_service_free(&s);
	err[0] = '\0';
	if (k8s_endpointslice_from_json(o, &es, err, sizeof(err)) == -1)
		ck_assert(err[0] != '\0');
	k8s_endpointslice_free(&es);
	if (k8s_node_from_json(o, &n, err, sizeof(err)) == -1)
		ck_assert(err[0] != '\0');
	k8s_node_free(&n);
	if (k8s_configmap_from_json(o, &cm, err, sizeof(err)) == -1)
		ck_assert(err[0] != '\0');
	k8s_configmap_free(&cm);
	if (k8s_lease_from_json(o, &lease, err, sizeof(err)) == -1)
		ck_assert(err[0] != '\0');
	k8s_lease_free(&lease);
	err[0] = '\0';
	if (k8s_watch_event_parse(buf, len, &ev, err, sizeof(err)) == -1)
		ck_assert(err[0] != '\0');
	k8s_watch_event_free(&ev);
	json_object_put(o);
}

START_TEST(test_garbage)
{
	static const char alphabet[] = "{}[]\":,0123456789.-eE truefalsnl\\abcIPv46:";
	unsigned seed = 12345;
	char buf[1024];
	size_t i, j, len;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		len = strlen(seeds[i]);
		for (j = 0; j <= len; j++)
			feed_all(seeds[i], j);		/* every truncation */
		for (j = 0; j < 3000; j++) {
			memcpy(buf, seeds[i], len);
			buf[(size_t)rand_r(&seed) % len] =
			    alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
			buf[(size_t)rand_r(&seed) % len] = (char)rand_r(&seed);
			feed_all(buf, len);
		}
	}
	for (j = 0; j < 3000; j++) {
		len = (size_t)rand_r(&seed) % sizeof(buf);
		for (i = 0; i < len; i++)
			buf[i] = alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
		feed_all(buf, len);
	}
	feed_all("null", 4);
	feed_all("{\"metadata\":{\"name\":\"\"}}", 24);
}
END_TEST

/* A Lease built by us reads back the same; other writers' forms too. */
START_TEST(test_lease_roundtrip)
{
	struct k8s_lease_spec in = {
		.namespace = "bgplb-system", .name = "bgplb-leader",
		.resource_version = "12", .holder = "worker-1", .duration_s = 15,
		.acquire = { 1700000000, 123456000 }, .renew = { 1700000010, 0 },
		.transitions = 2,
	};
	struct k8s_lease l;
	struct json_object *o;
	char *s, err[256] = "";

	s = k8s_lease_json(&in);
	o = parse(s);
	free(s);
	ck_assert_msg(k8s_lease_from_json(o, &l, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(l.namespace, "bgplb-system");
	ck_assert_str_eq(l.name, "bgplb-leader");
	ck_assert_str_eq(l.resource_version, "12");
	ck_assert_str_eq(l.holder, "worker-1");
	ck_assert_int_eq(l.duration_s, 15);
	ck_assert_int_eq(l.transitions, 2);
	ck_assert(l.has_acquire && l.has_renew);
	ck_assert_int_eq(l.acquire.tv_sec, 1700000000);
	ck_assert_int_eq(l.acquire.tv_nsec, 123456000);
	ck_assert_int_eq(l.renew.tv_sec, 1700000010);
	k8s_lease_free(&l);
	json_object_put(o);

	/* A fresh lease: no holder, no times. */
	o = parse("{\"metadata\":{\"name\":\"x\",\"namespace\":\"n\"},\"spec\":{}}");
	ck_assert_int_eq(k8s_lease_from_json(o, &l, err, sizeof(err)), 0);
	ck_assert_ptr_null(l.holder);
	ck_assert(!l.has_acquire && !l.has_renew);
	k8s_lease_free(&l);
	json_object_put(o);

	o = parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"renewTime\":\"yesterday\"}}");
	ck_assert_int_eq(k8s_lease_from_json(o, &l, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "spec.renewTime: \"yesterday\" is not a time");
	k8s_lease_free(&l);
	json_object_put(o);

	o = parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"leaseDurationSeconds\":\"15\"}}");
	ck_assert_int_eq(k8s_lease_from_json(o, &l, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "spec.leaseDurationSeconds: expected a number");
	k8s_lease_free(&l);
	json_object_put(o);
}
END_TEST

static const struct time_case {
	const char *s;
	int ret;
	long long sec;
	long nsec;
} time_cases[] = {
	{ "2023-11-14T22:13:20Z", 0, 1700000000, 0 },
	{ "2023-11-14T22:13:20.5Z", 0, 1700000000, 500000000 },
	{ "2023-11-14T22:13:20.123456Z", 0, 1700000000, 123456000 },
	{ "2023-11-14T22:13:20.123456789Z", 0, 1700000000, 123456789 },
	{ "1970-01-01T00:00:00.000000Z", 0, 0, 0 },
	{ "2023-11-14T22:13:20", -1, 0, 0 },
	{ "2023-11-14T22:13:20+01:00", -1, 0, 0 },
	{ "2023-11-14T22:13:20.Z", -1, 0, 0 },
	{ "2023-11-14 22:13:20Z", -1, 0, 0 },
	{ "", -1, 0, 0 },
};

START_TEST(test_parse_time)
{
	const struct time_case *c = &time_cases[_i];
	struct timespec ts = { 0, 0 };

	ck_assert_int_eq(k8s_parse_time(c->s, &ts), c->ret);
	if (c->ret == 0) {
		ck_assert_int_eq(ts.tv_sec, c->sec);
		ck_assert_int_eq(ts.tv_nsec, c->nsec);
	}
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
k8s_objects_suite(void)
{
	Suite *s = suite_create("k8s_objects");
	TCase *tc = tcase_create("objects");

	tcase_add_loop_test(tc, test_annotations, 0, N(ann_cases));
	tcase_add_loop_test(tc, test_families, 0, N(fam_cases));
	tcase_add_loop_test(tc, test_backend_key, 0, N(backend_cases));
	tcase_add_test(tc, test_service_full);
	tcase_add_loop_test(tc, test_class, 0, N(class_cases));
	tcase_add_loop_test(tc, test_bad_service, 0, N(bad_cases));
	tcase_add_test(tc, test_bad_service_keeps_name);
	tcase_add_loop_test(tc, test_partial_service, 0, N(partial_cases));
	tcase_add_test(tc, test_service_created);
	tcase_add_test(tc, test_endpointslice);
	tcase_add_loop_test(tc, test_node, 0, N(node_cases));
	tcase_add_test(tc, test_configmap);
	tcase_add_loop_test(tc, test_watch_event, 0, N(ev_cases));
	tcase_add_test(tc, test_ingress_patch);
	tcase_add_test(tc, test_status_patch);
	tcase_add_test(tc, test_event_json);
	tcase_add_test(tc, test_lease_json);
	tcase_add_test(tc, test_lease_roundtrip);
	tcase_add_loop_test(tc, test_parse_time, 0, N(time_cases));
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(k8s_objects_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * fuzz_k8s_objects - what the API server sends, through every parser: the
 * bytes as a watch stream (framed into lines with a small cap, each line a
 * watch event) and as one JSON object for the Service, EndpointSlice, Node,
 * ConfigMap and Lease parsers.  Nothing may crash, leak, or fail without an
 * error text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "k8s_objects.h"
#include "k8s_watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
line_cb(void *arg, const char *line, size_t len)
{
	struct k8s_watch_event ev;
	char err[256] = "";

	if (k8s_watch_event_parse(line, len, &ev, err, sizeof(err)) == -1 &&
	    err[0] == '\0')
		abort();
	k8s_watch_event_free(&ev);
	return 0;
}

static void
objects(struct json_object *o)
{
	struct k8s_service s;
	struct k8s_endpointslice es;
	struct k8s_node n;
	struct k8s_configmap cm;
	struct k8s_lease l;
	struct alloc_request r;
	char err[256], key[512], *p;

	err[0] = '\0';
	if (k8s_service_from_json(o, &s, err, sizeof(err)) == 0) {
		k8s_service_to_request(&s, key, sizeof(key), &r);
		(void)k8s_service_handled(&s, NULL);
		p = k8s_ingress_patch(s.resource_version, s.ingress, s.ningress);
		free(p);
	} else if (err[0] == '\0')
		abort();
	k8s_service_free(&s);
	if (k8s_endpointslice_from_json(o, &es, err, sizeof(err)) == 0 ||
	    err[0] != '\0')
		k8s_endpointslice_free(&es);
	if (k8s_node_from_json(o, &n, err, sizeof(err)) == 0 || err[0] != '\0')
		k8s_node_free(&n);
	if (k8s_configmap_from_json(o, &cm, err, sizeof(err)) == 0 ||
	    err[0] != '\0')
		k8s_configmap_free(&cm);
	if (k8s_lease_from_json(o, &l, err, sizeof(err)) == 0 || err[0] != '\0')
		k8s_lease_free(&l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_lines lines = { .max = 4096 };
	struct json_tokener *tok;
	struct json_object *o;
	char *buf;
	size_t half;

	/* Exactly-sized copy: a read past the end is caught. */
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	if (size)
		memcpy(buf, data, size);
	/* The stream in two chunks split at a data-chosen point. */
	half = size ? (size_t)data[0] % (size + 1) : 0;
	if (k8s_lines_feed(&lines, buf, half, line_cb, NULL) == 0)
		(void)k8s_lines_feed(&lines, buf + half, size - half, line_cb, NULL);
	k8s_lines_reset(&lines);
	tok = json_tokener_new();
	if (tok == NULL)
		abort();
	o = json_tokener_parse_ex(tok, buf, size > INT32_MAX ? INT32_MAX : (int)size);
	json_tokener_free(tok);
	objects(o);
	json_object_put(o);
	free(buf);
	return 0;
}

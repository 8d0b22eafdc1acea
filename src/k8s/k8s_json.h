/*
 * k8s_json.h - the small json-c helpers the Kubernetes client shares: a
 * typed member lookup that treats "absent", JSON null and "another type"
 * alike (for the places that only care whether a usable value is there),
 * and a string constructor that maps NULL to JSON null.
 *
 * Parsers that must report a wrongly typed field (k8s_objects.c) check the
 * type themselves; these are for the lenient reads.
 */
#ifndef BGPLB_K8S_JSON_H
#define BGPLB_K8S_JSON_H

#include <json-c/json.h>

/* Member `key` of o when o is an object and the member has type t; else
 * NULL.  o may be NULL. */
struct json_object *k8s_json_get(struct json_object *o, const char *key,
	    json_type t);
/* The string member `key` of o, or NULL. */
const char *k8s_json_str(struct json_object *o, const char *key);
/* A new JSON string holding s; NULL (JSON null) when s is NULL. */
struct json_object *k8s_json_new_str(const char *s);

#endif

/*
 * k8s_json.c - the Kubernetes client's shared json-c helpers (see
 * k8s_json.h): lenient typed lookups and the NULL-safe string constructor.
 */
#include <stddef.h>

#include "k8s_json.h"

struct json_object *
k8s_json_get(struct json_object *o, const char *key, json_type t)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

const char *
k8s_json_str(struct json_object *o, const char *key)
{
	struct json_object *v = k8s_json_get(o, key, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
}

struct json_object *
k8s_json_new_str(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

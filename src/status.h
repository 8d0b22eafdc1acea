/*
 * status.h - the status endpoint (status.c): /v1/status, /v1/peers,
 * /v1/services, /v1/pools, /metrics and /healthz over evhttp, built from
 * struct core on every request.
 */
#ifndef BGPLB_STATUS_H
#define BGPLB_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"

struct json_object;
struct status_server;

struct status_server *status_start(struct core *, const char *listen,
	    char *err, size_t errlen);
void	status_stop(struct status_server *);
/* Require "Authorization: Bearer <the file's content>"; path NULL: don't. */
int	status_set_token(struct status_server *, const char *path, char *err,
	    size_t errlen);
bool	status_listen_loopback(const char *listen);
/* The JSON documents the endpoint serves (also used by tests). */
struct json_object *status_json_status(const struct core *);
struct json_object *status_json_pools(const struct core *);
struct json_object *status_json_services(const struct core *);
struct json_object *status_json_peers(const struct core *);
/* Prometheus text; caller frees. */
char	*status_metrics(const struct core *);

#endif

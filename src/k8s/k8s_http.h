/*
 * k8s_http.h - the Kubernetes client's HTTP layer: libcurl's multi interface
 * driven by the daemon's libevent loop (no threads, no blocking calls).
 *
 * Contract between the transport (k8s_http.c) and its users (the watch
 * engine k8s_watch.c, leader election, status writes):
 *   - k8s_http_request() starts a request and returns at once;
 *   - on_data is called with body bytes as they arrive (a watch stream is
 *     never buffered whole); return -1 from it to abort the request;
 *   - on_done is called exactly once at the end, with the HTTP status (0
 *     when no response: connection refused, TLS failure, timeout) and a
 *     human error text; a request cancelled with k8s_http_cancel() gets no
 *     callback at all.
 * Authentication (bearer token re-read from its file every minute and after a
 * 401, or a client certificate), the CA and the server URL come from a
 * struct k8s_conn (k8s_conn.h), which k8s_http_new() copies.
 */
#ifndef BGPLB_K8S_HTTP_H
#define BGPLB_K8S_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_conn.h"

struct event_base;

struct k8s_http;
struct k8s_req;

enum k8s_method {
	K8S_GET = 0,
	K8S_POST,
	K8S_PUT,
	K8S_PATCH,
	K8S_DELETE,
};

struct k8s_req_opts {
	enum k8s_method	 method;
	const char	*path;		/* "/api/v1/services?watch=1&..." (already escaped) */
	const char	*body;		/* NULL: none */
	const char	*content_type;	/* e.g. application/merge-patch+json */
	long		 timeout_ms;	/* 0: none (watches); else whole request */
	/* Body bytes as they arrive; return -1 to abort (on_done then gets
	 * status 0 and "aborted"). */
	int	(*on_data)(void *arg, const char *data, size_t len);
	/* Exactly once.  retry_after_s: the Retry-After header (429/503), or -1. */
	void	(*on_done)(void *arg, long status, const char *error,
		    long retry_after_s);
	void	*arg;
};

struct k8s_http *k8s_http_new(struct event_base *, const struct k8s_conn *,
	    char *err, size_t errlen);
void	k8s_http_free(struct k8s_http *);	/* cancels everything */
struct k8s_req *k8s_http_request(struct k8s_http *, const struct k8s_req_opts *);
/* Stop a request; no callback follows.  Safe from inside its own callbacks. */
void	k8s_http_cancel(struct k8s_req *);

#endif

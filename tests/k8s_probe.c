/*
 * k8s_probe.c - one request through the Kubernetes HTTP layer, for
 * tests/k8s/test_client.py and for debugging against a real cluster.
 *
 *   k8s_probe --kubeconfig F [--context C] [--timeout MS] [--data BODY]
 *             [--content-type T] [--again-on-401] METHOD PATH
 *   k8s_probe --kubeconfig F --watch PATH [--cancel-after N]
 *
 * Prints "chunk LEN" for each on_data call (with --watch), then "status S",
 * "error E" (if any), "retry-after N" (if any) and "body:" followed by the
 * body bytes.  --again-on-401: after a 401, wait for a line on stdin (the
 * test rewrites the token file meanwhile) and send the same request again
 * on the same client.  --cancel-after N: cancel the request from inside
 * on_data once N bytes have arrived, print "cancelled", and wait a little to
 * show that no on_done follows.  --abort-after N: return -1 from on_data
 * once N bytes have arrived (on_done then reports "aborted").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "k8s_http.h"

struct probe {
	struct event_base	*base;
	struct k8s_req		*req;
	char			*body;
	size_t			 len;
	bool			 watch;
	long			 cancel_after;
	long			 abort_after;
	bool			 done;
	long			 status;
};

static int
probe_data(void *arg, const char *data, size_t len)
{
	struct probe *p = arg;
	char *nb;

	if (p->watch)
		printf("chunk %zu\n", len);
	if ((nb = realloc(p->body, p->len + len + 1)) == NULL)
		return -1;
	p->body = nb;
	memcpy(p->body + p->len, data, len);
	p->len += len;
	if (p->abort_after > 0 && (long)p->len >= p->abort_after)
		return -1;
	if (p->cancel_after > 0 && (long)p->len >= p->cancel_after) {
		struct timeval tv = { 0, 500000 };

		k8s_http_cancel(p->req);
		/* Twice: must be harmless. */
		k8s_http_cancel(p->req);
		printf("cancelled\n");
		fflush(stdout);
		event_base_loopexit(p->base, &tv);
	}
	return 0;
}

static void
probe_done(void *arg, long status, const char *error, long retry_after)
{
	struct probe *p = arg;

	p->done = true;
	p->status = status;
	printf("status %ld\n", status);
	if (error != NULL)
		printf("error %s\n", error);
	if (retry_after >= 0)
		printf("retry-after %ld\n", retry_after);
	printf("body:\n");
	if (p->len > 0)
		fwrite(p->body, 1, p->len, stdout);
	fflush(stdout);
}

static void
usage(void)
{
	fprintf(stderr, "usage: k8s_probe --kubeconfig F [--context C] [--timeout MS] "
	    "[--data BODY] [--content-type T] [--again-on-401] "
	    "[--cancel-after N] [--abort-after N] (METHOD PATH | --watch PATH)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *kubeconfig = NULL, *context = NULL, *method = NULL, *path = NULL;
	struct k8s_req_opts o = { 0 };
	struct probe p = { 0 };
	struct k8s_conn conn;
	struct k8s_http *h;
	bool again = false;
	char err[512], line[64];
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
			kubeconfig = argv[++i];
		else if (strcmp(argv[i], "--context") == 0 && i + 1 < argc)
			context = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			o.timeout_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			o.body = argv[++i];
		else if (strcmp(argv[i], "--content-type") == 0 && i + 1 < argc)
			o.content_type = argv[++i];
		else if (strcmp(argv[i], "--cancel-after") == 0 && i + 1 < argc)
			p.cancel_after = atol(argv[++i]);
		else if (strcmp(argv[i], "--abort-after") == 0 && i + 1 < argc)
			p.abort_after = atol(argv[++i]);
		else if (strcmp(argv[i], "--again-on-401") == 0)
			again = true;
		else if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc) {
			method = "GET";
			path = argv[++i];
			p.watch = true;
		} else if (method == NULL && argv[i][0] != '-')
			method = argv[i];
		else if (path == NULL && argv[i][0] != '-')
			path = argv[i];
		else
			usage();
	}
	if (kubeconfig == NULL || method == NULL || path == NULL)
		usage();
	if (strcmp(method, "GET") == 0)
		o.method = K8S_GET;
	else if (strcmp(method, "POST") == 0)
		o.method = K8S_POST;
	else if (strcmp(method, "PUT") == 0)
		o.method = K8S_PUT;
	else if (strcmp(method, "PATCH") == 0)
		o.method = K8S_PATCH;
	else if (strcmp(method, "DELETE") == 0)
		o.method = K8S_DELETE;
	else
		usage();
	if (o.body != NULL && o.content_type == NULL)
		o.content_type = "application/json";

	if (k8s_conn_from_kubeconfig(kubeconfig, context, &conn, err, sizeof(err)) == -1) {
		fprintf(stderr, "k8s_probe: %s\n", err);
		return 1;
	}
	p.base = event_base_new();
	if ((h = k8s_http_new(p.base, &conn, err, sizeof(err))) == NULL) {
		fprintf(stderr, "k8s_probe: %s\n", err);
		return 1;
	}
	k8s_conn_free(&conn);
	o.path = path;
	o.on_data = probe_data;
	o.on_done = probe_done;
	o.arg = &p;
	for (;;) {
		p.done = false;
		p.len = 0;
		if ((p.req = k8s_http_request(h, &o)) == NULL) {
			fprintf(stderr, "k8s_probe: request failed\n");
			return 1;
		}
		event_base_dispatch(p.base);
		if (!(again && p.done && p.status == 401))
			break;
		again = false;
		if (fgets(line, sizeof(line), stdin) == NULL)
			break;
	}
	k8s_http_free(h);
	event_base_free(p.base);
	free(p.body);
	return p.done || p.cancel_after > 0 ? 0 : 1;
}

/*
 * k8s_watchprobe.c - the list+watch engine on one resource, printing what
 * the owner would see, for tests/k8s/test_watch.py and for debugging.
 *
 *   k8s_watchprobe --kubeconfig F [--context C] [--timeout-seconds S]
 *                  [--backoff-ms MS] [--limit N] [--max-line BYTES] [--items]
 *                  [--pages] [--label-selector SEL] [--field-selector SEL] PATH
 * (selectors already URL-escaped)
 *
 * Output, one line each, flushed at once:
 *   SYNC n                     after each complete (re)list
 *   ITEM ns/name rv            (with --items) each listed object, after SYNC
 *                              (the probe keeps the names of a list's pages
 *                              until it completes, as the lines were always
 *                              printed)
 *   with --pages instead, as the engine hands them over:
 *   PAGE n first|more          each page of a list (first: a list starts)
 *   ITEM ns/name rv            (with --items) each object of that page
 *   SYNC n                     the list is complete
 *   ADDED|MODIFIED|DELETED ns/name rv
 *   RELIST reason              a relist starts (expired, gone, ...)
 *   ERROR text                 on_error (the engine recovers by itself)
 * Runs until killed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "bgplb/util.h"
#include "k8s_http.h"
#include "k8s_watch.h"

static bool print_items, print_pages;
/* Without --pages: the ITEM lines of the list in progress. */
static char **pending;
static size_t npending, pending_cap;

static void obj_line(const char *, struct json_object *, char *, size_t);

static void
print_obj(const char *what, struct json_object *o)
{
	char line[1024];

	obj_line(what, o, line, sizeof(line));
	printf("%s\n", line);
}

static void
obj_line(const char *what, struct json_object *o, char *buf, size_t len)
{
	const char *ns = k8s_meta_str(o, "namespace");
	const char *name = k8s_meta_str(o, "name");
	const char *rv = k8s_meta_str(o, "resourceVersion");

	snprintf(buf, len, "%s %s%s%s %s", what, ns ? ns : "", ns ? "/" : "",
	    name ? name : "?", rv ? rv : "?");
}

static void
drop_pending(void)
{
	for (size_t i = 0; i < npending; i++)
		free(pending[i]);
	npending = 0;
}

static void
on_page(void *arg, struct json_object **items, size_t n, bool first)
{
	char line[1024];
	size_t i;

	if (print_pages) {
		printf("PAGE %zu %s\n", n, first ? "first" : "more");
		for (i = 0; print_items && i < n; i++)
			print_obj("ITEM", items[i]);
		fflush(stdout);
		return;
	}
	if (first)
		drop_pending();
	for (i = 0; print_items && i < n; i++) {
		if (npending == pending_cap) {
			pending_cap = pending_cap ? pending_cap * 2 : 256;
			pending = xreallocarray(pending, pending_cap,
			    sizeof(*pending));
		}
		obj_line("ITEM", items[i], line, sizeof(line));
		pending[npending++] = xstrdup(line);
	}
}

static void
on_synced(void *arg, size_t n)
{
	printf("SYNC %zu\n", n);
	for (size_t i = 0; i < npending; i++)
		printf("%s\n", pending[i]);
	drop_pending();
	fflush(stdout);
}

static void
on_event(void *arg, enum k8s_event_type t, struct json_object *o)
{
	print_obj(k8s_event_type_name(t), o);
	fflush(stdout);
}

static void
on_error(void *arg, const char *text)
{
	printf("ERROR %s\n", text);
	fflush(stdout);
}

static void
on_relist(void *arg, const char *reason)
{
	printf("RELIST %s\n", reason);
	fflush(stdout);
}

static void
usage(void)
{
	fprintf(stderr, "usage: k8s_watchprobe --kubeconfig F [--context C] "
	    "[--timeout-seconds S] [--backoff-ms MS] [--limit N] [--max-line BYTES] "
	    "[--items] [--pages] [--label-selector SEL] [--field-selector SEL] PATH\n");
	exit(2);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	const char *kubeconfig = NULL, *context = NULL;
	struct k8s_watch_opts o = { 0 };
	struct event_base *base;
	struct event *sig_term, *sig_int;
	struct k8s_conn conn;
	struct k8s_http *h;
	struct k8s_watch *w;
	char err[512];
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
			kubeconfig = argv[++i];
		else if (strcmp(argv[i], "--context") == 0 && i + 1 < argc)
			context = argv[++i];
		else if (strcmp(argv[i], "--timeout-seconds") == 0 && i + 1 < argc)
			o.timeout_s = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--backoff-ms") == 0 && i + 1 < argc)
			o.backoff_base_ms = (uint32_t)atoi(argv[++i]);
		else if (strcmp(argv[i], "--label-selector") == 0 && i + 1 < argc)
			o.label_selector = argv[++i];
		else if (strcmp(argv[i], "--field-selector") == 0 && i + 1 < argc)
			o.field_selector = argv[++i];
		else if (strcmp(argv[i], "--max-line") == 0 && i + 1 < argc)
			o.max_line = (size_t)atol(argv[++i]);
		else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
			o.page_limit = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--items") == 0)
			print_items = true;
		else if (strcmp(argv[i], "--pages") == 0)
			print_pages = true;
		else if (o.path == NULL && argv[i][0] == '/')
			o.path = argv[i];
		else
			usage();
	}
	if (kubeconfig == NULL || o.path == NULL)
		usage();
	if (k8s_conn_from_kubeconfig(kubeconfig, context, &conn, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "k8s_watchprobe: %s\n", err);
		return 1;
	}
	base = event_base_new();
	if (base == NULL)
		return 1;
	h = k8s_http_new(base, &conn, err, sizeof(err));
	if (h == NULL) {
		fprintf(stderr, "k8s_watchprobe: %s\n", err);
		return 1;
	}
	o.on_page = on_page;
	o.on_synced = on_synced;
	o.on_event = on_event;
	o.on_error = on_error;
	o.on_relist = on_relist;
	w = k8s_watch_new(base, h, &o);
	if (w == NULL) {
		fprintf(stderr, "k8s_watchprobe: cannot start the watch\n");
		return 1;
	}
	/* SIGTERM ends the loop so that ASan's leak check runs. */
	sig_term = evsignal_new(base, SIGTERM, on_signal, base);
	sig_int = evsignal_new(base, SIGINT, on_signal, base);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	event_base_dispatch(base);
	k8s_watch_free(w);
	k8s_http_free(h);
	event_free(sig_term);
	event_free(sig_int);
	event_base_free(base);
	k8s_conn_free(&conn);
	drop_pending();
	free(pending);
	return 0;
}

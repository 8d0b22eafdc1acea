/*
 * k8s_leaderprobe.c - one leader elector on a Lease, printing its callbacks,
 * for tests/k8s/test_leader.py and for debugging.
 *
 *   k8s_leaderprobe --kubeconfig F [--context C] --lease NS/NAME --identity ID
 *                   [--lease-ms L] [--renew-ms R] [--retry-ms T]
 *                   [--release-after-ms N]
 * (the Lease's duration is whole seconds: --lease-ms is rounded up)
 *
 * Output, one line each, flushed at once:
 *   STARTED            on_started: we lead
 *   STOPPED            on_stopped
 *   LEADER holder      on_new_leader ("(none)" when the Lease is free)
 *   ERROR text         on_error (the elector recovers by itself)
 *   RELEASED           after SIGTERM/SIGINT or --release-after-ms, the
 *                      release finished (or failed: see ERROR); exit 0
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "k8s_http.h"
#include "k8s_leader.h"

#define RELEASE_GIVE_UP_MS	10000

static struct event_base *base;
static struct k8s_leader *le;
static struct event *give_up;
static bool releasing;
static int exit_code;

static void
line(const char *word, const char *text)
{
	if (text != NULL)
		printf("%s %s\n", word, text);
	else
		printf("%s\n", word);
	fflush(stdout);
}

static void
on_started(void *arg)
{
	line("STARTED", NULL);
}

static void
on_stopped(void *arg)
{
	line("STOPPED", NULL);
}

static void
on_new_leader(void *arg, const char *holder)
{
	line("LEADER", holder != NULL && *holder != '\0' ? holder : "(none)");
}

static void
on_error(void *arg, const char *text)
{
	line("ERROR", text);
}

static void
on_released(void *arg)
{
	line("RELEASED", NULL);
	event_base_loopbreak(base);
}

static void
on_give_up(evutil_socket_t fd, short what, void *arg)
{
	line("ERROR", "release did not finish in time");
	exit_code = 1;
	event_base_loopbreak(base);
}

static void
release(void)
{
	struct timeval tv = { RELEASE_GIVE_UP_MS / 1000, 0 };

	if (releasing) {
		event_base_loopbreak(base);	/* a second signal: now */
		return;
	}
	releasing = true;
	evtimer_add(give_up, &tv);
	k8s_leader_release(le, on_released, NULL);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	release();
}

static void
on_release_timer(evutil_socket_t fd, short what, void *arg)
{
	release();
}

static unsigned
num(const char *s, const char *opt)
{
	char *end;
	unsigned long v;

	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > 86400000ul) {
		fprintf(stderr, "k8s_leaderprobe: %s: bad number \"%s\"\n", opt, s);
		exit(2);
	}
	return (unsigned)v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: k8s_leaderprobe --kubeconfig F [--context C] "
	    "--lease NS/NAME --identity ID [--lease-ms L] [--renew-ms R] "
	    "[--retry-ms T] [--release-after-ms N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *kubeconfig = NULL, *context = NULL, *lease = NULL;
	struct k8s_leader_opts o = { 0 };
	struct event *sig_term, *sig_int, *rel_timer = NULL;
	unsigned release_after = 0;
	bool have_release_after = false;
	struct k8s_conn conn;
	struct k8s_http *h;
	char err[512], *ns = NULL, *slash;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
			kubeconfig = argv[++i];
		else if (strcmp(argv[i], "--context") == 0 && i + 1 < argc)
			context = argv[++i];
		else if (strcmp(argv[i], "--lease") == 0 && i + 1 < argc)
			lease = argv[++i];
		else if (strcmp(argv[i], "--identity") == 0 && i + 1 < argc)
			o.identity = argv[++i];
		else if (strcmp(argv[i], "--lease-ms") == 0 && i + 1 < argc)
			o.lease_s = (num(argv[++i], "--lease-ms") + 999) / 1000;
		else if (strcmp(argv[i], "--renew-ms") == 0 && i + 1 < argc)
			o.renew_deadline_ms = num(argv[++i], "--renew-ms");
		else if (strcmp(argv[i], "--retry-ms") == 0 && i + 1 < argc)
			o.retry_ms = num(argv[++i], "--retry-ms");
		else if (strcmp(argv[i], "--release-after-ms") == 0 && i + 1 < argc) {
			release_after = num(argv[++i], "--release-after-ms");
			have_release_after = true;
		} else
			usage();
	}
	if (kubeconfig == NULL || lease == NULL || o.identity == NULL)
		usage();
	if ((ns = strdup(lease)) == NULL)
		return 1;
	if ((slash = strchr(ns, '/')) == NULL) {
		fprintf(stderr, "k8s_leaderprobe: --lease: expected NS/NAME\n");
		return 2;
	}
	*slash = '\0';
	o.namespace = ns;
	o.name = slash + 1;
	if (k8s_conn_from_kubeconfig(kubeconfig, context, &conn, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "k8s_leaderprobe: %s\n", err);
		return 1;
	}
	if ((base = event_base_new()) == NULL)
		return 1;
	if ((h = k8s_http_new(base, &conn, err, sizeof(err))) == NULL) {
		fprintf(stderr, "k8s_leaderprobe: %s\n", err);
		return 1;
	}
	o.on_started = on_started;
	o.on_stopped = on_stopped;
	o.on_new_leader = on_new_leader;
	o.on_error = on_error;
	if ((give_up = evtimer_new(base, on_give_up, NULL)) == NULL)
		return 1;
	/* Signals before the elector: a SIGTERM right after start releases. */
	sig_term = evsignal_new(base, SIGTERM, on_signal, NULL);
	sig_int = evsignal_new(base, SIGINT, on_signal, NULL);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	if ((le = k8s_leader_new(base, h, &o)) == NULL) {
		fprintf(stderr, "k8s_leaderprobe: cannot start the elector (lease %s, "
		    "identity, or timings: lease > renew > retry * %.1f)\n", lease,
		    K8S_LE_JITTER);
		return 2;
	}
	if (have_release_after) {
		struct timeval tv = { release_after / 1000,
		    (release_after % 1000) * 1000 };

		rel_timer = evtimer_new(base, on_release_timer, NULL);
		evtimer_add(rel_timer, &tv);
	}
	event_base_dispatch(base);
	k8s_leader_free(le);
	k8s_http_free(h);
	if (rel_timer != NULL)
		event_free(rel_timer);
	event_free(give_up);
	event_free(sig_term);
	event_free(sig_int);
	event_base_free(base);
	k8s_conn_free(&conn);
	free(ns);
	return exit_code;
}

/*
 * k8s_eventprobe.c - the Event recorder driven from stdin, for
 * tests/k8s/test_events.py and for debugging.
 *
 *   k8s_eventprobe --kubeconfig F --host NODE [--max-inflight N]
 *                  [--max-queue N] [--aggregate-s S]
 *
 * Commands, one per line:
 *   record KIND NS NAME Normal|Warning REASON MESSAGE...
 *   burst N KIND NS NAME Normal|Warning REASON PREFIX   N records, messages "PREFIX i"
 *   stats       -> STATS posted=.. patched=.. aggregated=.. dropped=.. failed=.. queued=..
 *   wait        -> IDLE once nothing is queued or in flight
 *   quit
 * on_error prints "ERROR text".  Every line of output is flushed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "k8s_events.h"
#include "k8s_http.h"

static struct k8s_recorder *rec;
static struct event_base *base;
static struct event *idle_ev;
static char inbuf[8192];
static size_t inlen;

static void
on_error(void *arg, const char *text)
{
	(void)arg;
	printf("ERROR %s\n", text);
	fflush(stdout);
}

static void
print_stats(void)
{
	struct k8s_recorder_stats st;

	k8s_recorder_get_stats(rec, &st);
	printf("STATS posted=%llu patched=%llu aggregated=%llu dropped=%llu "
	    "failed=%llu queued=%zu\n", (unsigned long long)st.posted,
	    (unsigned long long)st.patched, (unsigned long long)st.aggregated,
	    (unsigned long long)st.dropped, (unsigned long long)st.failed,
	    st.queued);
	fflush(stdout);
}

static void
idle_check(evutil_socket_t fd, short what, void *arg)
{
	struct k8s_recorder_stats st;
	struct timeval tv = { 0, 20000 };

	(void)fd;
	(void)what;
	(void)arg;
	k8s_recorder_get_stats(rec, &st);
	if (st.queued == 0) {
		printf("IDLE\n");
		fflush(stdout);
		return;
	}
	evtimer_add(idle_ev, &tv);
}

/* Split off up to `max` words; *rest is what follows (or NULL). */
static int
words(char *line, char **argv, int max, char **rest)
{
	char *p = line;
	int n = 0;

	while (n < max && p != NULL) {
		char *w = strsep(&p, " ");

		if (*w != '\0')
			argv[n++] = w;
	}
	*rest = p;
	return n;
}

static void
command(char *line)
{
	char *argv[8], *rest;
	int n;

	if (strncmp(line, "record ", 7) == 0) {
		n = words(line, argv, 6, &rest);
		if (n == 6) {
			struct k8s_object_ref ref = { .kind = argv[1],
			    .namespace = argv[2], .name = argv[3] };

			k8s_record(rec, &ref, strcmp(argv[4], "Warning") == 0,
			    argv[5], "%s", rest ? rest : "");
			return;
		}
	} else if (strncmp(line, "burst ", 6) == 0) {
		n = words(line, argv, 7, &rest);
		if (n == 7) {
			struct k8s_object_ref ref = { .kind = argv[2],
			    .namespace = argv[3], .name = argv[4] };
			long cnt = atol(argv[1]);

			for (long i = 0; i < cnt; i++)
				k8s_record(rec, &ref, strcmp(argv[5],
				    "Warning") == 0, argv[6], "%s %ld",
				    rest ? rest : "", i);
			return;
		}
	} else if (strcmp(line, "stats") == 0) {
		print_stats();
		return;
	} else if (strcmp(line, "wait") == 0) {
		idle_check(-1, 0, NULL);
		return;
	} else if (strcmp(line, "quit") == 0) {
		event_base_loopbreak(base);
		return;
	} else if (*line == '\0')
		return;
	printf("ERROR bad command: %s\n", line);
	fflush(stdout);
}

static void
on_stdin(evutil_socket_t fd, short what, void *arg)
{
	ssize_t r;
	char *nl, *start;

	(void)what;
	(void)arg;
	r = read(fd, inbuf + inlen, sizeof(inbuf) - 1 - inlen);
	if (r <= 0) {
		event_base_loopbreak(base);
		return;
	}
	inlen += (size_t)r;
	inbuf[inlen] = '\0';
	start = inbuf;
	while ((nl = strchr(start, '\n')) != NULL) {
		*nl = '\0';
		command(start);
		start = nl + 1;
	}
	inlen -= (size_t)(start - inbuf);
	memmove(inbuf, start, inlen + 1);
	if (inlen >= sizeof(inbuf) - 1)
		inlen = 0;	/* a line too long: dropped */
}

static void
usage(void)
{
	fprintf(stderr, "usage: k8s_eventprobe --kubeconfig F --host NODE "
	    "[--max-inflight N] [--max-queue N] [--aggregate-s S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct k8s_recorder_opts o = { 0 };
	const char *kubeconfig = NULL;
	struct k8s_conn conn;
	struct k8s_http *h;
	struct event *in;
	char err[512];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
			kubeconfig = argv[++i];
		else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
			o.host = argv[++i];
		else if (strcmp(argv[i], "--max-inflight") == 0 && i + 1 < argc)
			o.max_inflight = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--max-queue") == 0 && i + 1 < argc)
			o.max_queue = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--aggregate-s") == 0 && i + 1 < argc)
			o.aggregate_s = (unsigned)atoi(argv[++i]);
		else
			usage();
	}
	if (kubeconfig == NULL || o.host == NULL)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (k8s_conn_from_kubeconfig(kubeconfig, NULL, &conn, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "k8s_eventprobe: %s\n", err);
		return 1;
	}
	base = event_base_new();
	if ((h = k8s_http_new(base, &conn, err, sizeof(err))) == NULL) {
		fprintf(stderr, "k8s_eventprobe: %s\n", err);
		return 1;
	}
	o.on_error = on_error;
	if ((rec = k8s_recorder_new(base, h, &o)) == NULL) {
		fprintf(stderr, "k8s_eventprobe: bad options\n");
		return 1;
	}
	idle_ev = evtimer_new(base, idle_check, NULL);
	in = event_new(base, 0, EV_READ | EV_PERSIST, on_stdin, NULL);
	event_add(in, NULL);
	printf("READY\n");
	fflush(stdout);
	event_base_dispatch(base);
	event_free(in);
	event_free(idle_ev);
	k8s_recorder_free(rec);
	k8s_http_free(h);
	event_base_free(base);
	k8s_conn_free(&conn);
	return 0;
}

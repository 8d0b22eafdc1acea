/*
 * bfd_probe.c - one BFD session from the command line, for trying the BFD
 * module against a real bfdd (FRR) before the speaker runs it.
 *
 *   bfd_probe LOCAL REMOTE [-r MIN_RX_MS] [-t MIN_TX_MS] [-m MULT] [-p] [-M]
 *             [-s STATUS_EVERY_MS]
 *
 * Prints one line per Up/Down report stamped with the wall clock in ms
 * ("<ms> up|down <why>", comparable with `date +%s%3N` and FRR's log
 * timestamps), flushed at once so a test can time it, and with
 * -s the session's JSON status periodically.  SIGINT/SIGTERM end it.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "bgplb/log.h"
#include "../src/bgp/bgp_bfd.h"

static struct bfd_session *probe_s;

static unsigned long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

static void
probe_cb(void *arg, bool up, const char *why)
{
	printf("%llu %s %s\n", wall_ms(), up ? "up" : "down", why);
	fflush(stdout);
}

static void
probe_status(evutil_socket_t fd, short what, void *arg)
{
	struct json_object *o = json_object_new_object();

	bfd_session_status(probe_s, o);
	printf("%llu status %s\n", wall_ms(),
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static void
probe_stop(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bfd_probe LOCAL REMOTE [-r MIN_RX_MS] [-t MIN_TX_MS] "
	    "[-m MULT] [-p] [-M] [-s STATUS_EVERY_MS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct cfg_bfd cfg = { true, 300, 300, 3, false };
	struct event *sigs[2], *st = NULL;
	struct event_base *base;
	struct bfd_ctx *ctx;
	struct addr local, remote;
	bool multihop = false;
	long every = 0;
	int ch;

	while ((ch = getopt(argc, argv, "r:t:m:pMs:")) != -1) {
		switch (ch) {
		case 'r': cfg.min_rx_ms = (uint32_t)atoi(optarg); break;
		case 't': cfg.min_tx_ms = (uint32_t)atoi(optarg); break;
		case 'm': cfg.multiplier = (uint8_t)atoi(optarg); break;
		case 'p': cfg.passive = true; break;
		case 'M': multihop = true; break;
		case 's': every = atol(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || addr_parse(argv[optind], &local) == -1 ||
	    addr_parse(argv[optind + 1], &remote) == -1)
		usage();
	log_init(LOG_LVL_INFO, LOG_FMT_TEXT);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	ctx = bfd_ctx_new(base);
	if ((probe_s = bfd_session_new(ctx, &local, &remote, multihop, &cfg, probe_cb,
	    NULL)) == NULL)
		return 1;
	sigs[0] = evsignal_new(base, SIGINT, probe_stop, base);
	sigs[1] = evsignal_new(base, SIGTERM, probe_stop, base);
	event_add(sigs[0], NULL);
	event_add(sigs[1], NULL);
	if (every > 0) {
		struct timeval tv = { every / 1000, (every % 1000) * 1000 };

		st = event_new(base, -1, EV_PERSIST, probe_status, NULL);
		event_add(st, &tv);
	}
	printf("%llu start\n", wall_ms());
	fflush(stdout);
	event_base_dispatch(base);
	if (st != NULL)
		event_free(st);
	event_free(sigs[0]);
	event_free(sigs[1]);
	bfd_ctx_free(ctx);
	event_base_free(base);
	return 0;
}

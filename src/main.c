/*
 * main.c - bgplbd: command line, logging set-up, and the event loop.
 *
 *   bgplbd --config FILE [--node NAME] [--status-listen ADDR:PORT]
 *          [--role allocator|speaker]
 *          [--log-format text|json] [--log-level debug|info|warn|error]
 *   bgplbd --check-config FILE
 *   bgplbd --version
 */
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/config.h"
#include "bgplb/log.h"
#include "bgplb_version.h"
#include "bgplb/announce.h"
#include "bgplb/l2.h"
#include "bgplb/source.h"
#include "caps.h"
#include "daemon.h"
#include "notify.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: bgplbd --config FILE [--node NAME] [--status-listen ADDR:PORT]\n"
	    "              [--role allocator|speaker]\n"
	    "              [--log-format text|json] [--log-level debug|info|warn|error]\n"
	    "       bgplbd --check-config FILE\n"
	    "       bgplbd --version\n");
}

/* Print the normalized config, or every error; exit status says which. */
static int
check_config(const char *path)
{
	struct cfg_errors errs = { 0 };
	struct cfg *cfg = cfg_load_file(path, &errs);

	if (cfg == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		if (errs.n == 0)
			fprintf(stderr, "%s: cannot load\n", path);
		cfg_errors_free(&errs);
		return 1;
	}
	for (size_t i = 0; i < cfg->nwarnings; i++)
		fprintf(stderr, "%s\n", cfg->warnings[i]);
	cfg_emit(cfg, stdout);
	cfg_free(cfg);
	cfg_errors_free(&errs);
	return 0;
}

/* Route libevent's own warnings into our log. */
static void
log_event_cb(int severity, const char *msg)
{
	log_msg(severity >= EVENT_LOG_ERR ? LOG_LVL_ERROR :
	    severity == EVENT_LOG_WARN ? LOG_LVL_WARN : LOG_LVL_DEBUG,
	    "libevent", "%s", msg);
}

/* The sources, asked in this order which one serves the config: the
 * cluster when the config has a kubernetes: section, else the file. */
static const struct source_ops *const sources[] = {
	&k8s_source_ops, &file_source_ops, NULL,
};

/* The backends, created once the first config names the node. */
static const announcer_new_fn backends[] = {
	bgp_speaker_new, l2_responder_new, NULL,
};

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "node", required_argument, NULL, 'n' },
		{ "status-listen", required_argument, NULL, 's' },
		{ "role", required_argument, NULL, 'r' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts opts = { 0 };
	enum log_level lvl = LOG_LVL_INFO;
	enum log_format fmt = LOG_FMT_TEXT;
	struct event_base *base;
	struct core d;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:n:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'C':
			return check_config(optarg);
		case 'n':
			opts.node = optarg;
			break;
		case 's':
			opts.status_listen = optarg;
			break;
		case 'r':
			/* Kubernetes mode only; "both" is the default. */
			if (core_role_parse(optarg, &opts.role) == -1) {
				fprintf(stderr, "bgplbd: --role: \"%s\" is not "
				    "allocator, speaker or both\n", optarg);
				return 2;
			}
			break;
		case 'f':
			if (log_format_parse(optarg, &fmt) == -1) {
				fprintf(stderr, "bgplbd: --log-format: \"%s\" is "
				    "not text or json\n", optarg);
				return 2;
			}
			break;
		case 'l':
			if (log_level_parse(optarg, &lvl) == -1) {
				fprintf(stderr, "bgplbd: --log-level: \"%s\" is "
				    "not debug, info, warn or error\n", optarg);
				return 2;
			}
			break;
		case 'V':
			printf("bgplbd %s\n", BGPLB_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bgplbd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (opts.config_path == NULL) {
		fprintf(stderr, "bgplbd: --config FILE is required\n");
		usage(stderr);
		return 2;
	}
	log_init(lvl, fmt);
	event_set_log_callback(log_event_cb);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	log_info("main", "bgplbd %s starting (libevent %s, backend %s)",
	    BGPLB_VERSION, event_get_version(), event_base_get_method(base));
	{
		char err[256];

		/* Before any socket or file of the config is opened.  An
		 * allocator opens no socket of its own: it keeps none. */
		if (caps_restrict_to(opts.role == CORE_ROLE_ALLOCATOR ? 0 :
		    caps_wanted(), err, sizeof(err)) == -1)
			log_warn("main", "cannot restrict capabilities: %s", err);
	}
	opts.sources = sources;
	opts.backends = backends;
	if (daemon_init(&d, base, &opts) == -1) {
		daemon_free(&d);
		event_base_free(base);
		return 1;
	}
	notify_ready("running");	/* Type=notify: the first config is running */
	rc = event_base_dispatch(base);
	log_info("main", "stopped");
	daemon_free(&d);
	event_base_free(base);
	return rc == -1 ? 1 : 0;
}

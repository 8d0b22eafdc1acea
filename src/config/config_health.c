/*
 * config_health.c - services[].health-check: (embedded mode): exactly one
 * kind of check (http URL with an optional CA file, tcp IP:PORT, or exec
 * argv without a shell), its interval and timeout, and the rise/fall counts of the state machine
 * (src/health.c).  Defaults live in config_priv.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_priv.h"

enum {
	HC_HTTP, HC_TCP, HC_EXEC, HC_INTERVAL, HC_TIMEOUT, HC_RISE, HC_FALL,
	HC_CA, HC__N
};
static const char *const hc_keys[HC__N] = {
	"http", "tcp", "exec", "interval", "timeout", "rise", "fall",
	"ca-file",
};

static void
walk_http(struct lctx *c, const struct ynode *n, struct cfg_health *h)
{
	size_t o;

	if (cfg_get_str(c, "http", n, &h->url) == -1 || h->url == NULL)
		return;
	o = cfg_path_key(c, "http");
	if (strncasecmp(h->url, "http://", 7) != 0 &&
	    strncasecmp(h->url, "https://", 8) != 0)
		cfg_err(c, n, "invalid URL \"%s\" (expected http://... or "
		    "https://...)", h->url);
	cfg_path_pop(c, o);
}

static void
walk_tcp(struct lctx *c, const struct ynode *n, struct cfg_health *h)
{
	size_t o = cfg_path_key(c, "tcp");
	const char *s = cfg_scalar(c, n);

	if (s != NULL && (cfg_parse_hostport(s, true, &h->addr, &h->port) == -1 ||
	    h->port == 0))
		cfg_err(c, n, "invalid address \"%s\" (expected IP:PORT or "
		    "[IPv6]:PORT)", s);
	cfg_path_pop(c, o);
}

static void
walk_exec(struct lctx *c, const struct ynode *n, struct cfg_health *h)
{
	size_t o;

	if (cfg_get_strlist(c, "exec", n, &h->argv, &h->nargv) == -1)
		return;
	o = cfg_path_key(c, "exec");
	if (h->nargv == 0)
		cfg_err(c, n, "expected a command and its arguments, e.g. "
		    "[/usr/local/bin/check, --quick]");
	else if (h->argv[0][0] != '/')
		cfg_err(c, n, "the command must be an absolute path (no shell, "
		    "no PATH search), got \"%s\"", h->argv[0]);
	cfg_path_pop(c, o);
}

void
cfg_walk_health(struct lctx *c, const struct ynode *n, struct cfg_health *h)
{
	const struct ynode *v[HC__N];
	uint64_t u;
	size_t o, nkinds = 0;

	if (n == NULL)
		return;
	o = cfg_path_key(c, "health-check");
	h->loc = cfg_loc_of(n);
	h->interval_ms = CFG_DEF_CHECK_INTERVAL_MS;
	h->timeout_ms = CFG_DEF_CHECK_TIMEOUT_MS;
	h->rise = CFG_DEF_CHECK_RISE;
	h->fall = CFG_DEF_CHECK_FALL;
	if (cfg_map_keys(c, n, hc_keys, HC__N, v) == -1)
		goto out;
	nkinds = (v[HC_HTTP] != NULL) + (v[HC_TCP] != NULL) +
	    (v[HC_EXEC] != NULL);
	if (nkinds != 1) {
		cfg_err(c, n, "expected exactly one of http, tcp and exec, "
		    "got %zu", nkinds);
		goto out;
	}
	if (v[HC_HTTP] != NULL) {
		h->kind = CFG_CHECK_HTTP;
		walk_http(c, v[HC_HTTP], h);
	} else if (v[HC_TCP] != NULL) {
		h->kind = CFG_CHECK_TCP;
		walk_tcp(c, v[HC_TCP], h);
	} else {
		h->kind = CFG_CHECK_EXEC;
		walk_exec(c, v[HC_EXEC], h);
	}
	if (cfg_get_str(c, "ca-file", v[HC_CA], &h->ca_file) == 0 &&
	    h->ca_file != NULL && h->kind != CFG_CHECK_HTTP) {
		size_t o2 = cfg_path_key(c, "ca-file");

		cfg_err(c, v[HC_CA], "only an http check takes a CA file");
		cfg_path_pop(c, o2);
	}
	if (cfg_get_dur(c, "interval", v[HC_INTERVAL], &h->interval_ms) == 0 &&
	    h->interval_ms < 100) {
		size_t o2 = cfg_path_key(c, "interval");

		cfg_err(c, v[HC_INTERVAL], "must be at least 100ms");
		cfg_path_pop(c, o2);
	}
	/* One check at a time per service: a check still running at the
	 * next interval would have to be skipped or stacked.  Without a
	 * timeout, the default is cut to the interval. */
	if (v[HC_TIMEOUT] == NULL && h->timeout_ms > h->interval_ms)
		h->timeout_ms = h->interval_ms;
	if (cfg_get_dur(c, "timeout", v[HC_TIMEOUT], &h->timeout_ms) == 0 &&
	    v[HC_TIMEOUT] != NULL) {
		size_t o2 = cfg_path_key(c, "timeout");

		if (h->timeout_ms < 10)
			cfg_err(c, v[HC_TIMEOUT], "must be at least 10ms");
		else if (h->timeout_ms > h->interval_ms)
			cfg_err(c, v[HC_TIMEOUT], "timeout (%ums) must not "
			    "exceed interval (%ums)", h->timeout_ms,
			    h->interval_ms);
		cfg_path_pop(c, o2);
	}
	if (cfg_get_uint(c, "rise", v[HC_RISE], 1, 100, &u) == 0 &&
	    v[HC_RISE] != NULL)
		h->rise = (uint32_t)u;
	if (cfg_get_uint(c, "fall", v[HC_FALL], 1, 100, &u) == 0 &&
	    v[HC_FALL] != NULL)
		h->fall = (uint32_t)u;
out:
	cfg_path_pop(c, o);
}

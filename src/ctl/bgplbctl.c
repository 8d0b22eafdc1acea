/*
 * bgplbctl - read bgplbd's status endpoint and print it for people.
 *
 *   bgplbctl [--server URL] [--token-file PATH] status|peers|services|pools [--json]
 *
 * With --token-file (or $BGPLB_TOKEN_FILE) every request carries
 * "Authorization: Bearer <the file's content>", for an endpoint that
 * bgplbd exposes beyond loopback with status-token-file.
 *
 * The tables follow the spirit of `show bgp summary`: one line per object,
 * the columns an operator scans first on the left.  --json prints the
 * endpoint's document unchanged, for scripts.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_SERVER	"http://127.0.0.1:7473"

struct buf {
	char	*data;
	size_t	 len;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *p = realloc(b->data, b->len + n + 1);

	if (p == NULL)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

static char *token;		/* bearer token; NULL: none */

/* The token file's content without trailing white space; NULL on error. */
static char *
read_token(const char *path)
{
	char buf[4097];
	size_t len;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		fprintf(stderr, "bgplbctl: token file %s: %m\n", path);
		return NULL;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	buf[len] = '\0';
	if (len == 0) {
		fprintf(stderr, "bgplbctl: token file %s is empty\n", path);
		return NULL;
	}
	return strdup(buf);
}

static struct json_object *
fetch(const char *server, const char *path, char **raw)
{
	struct curl_slist *hdrs = NULL;
	CURL *c = curl_easy_init();
	struct buf b = { NULL, 0 };
	char url[1024], errbuf[CURL_ERROR_SIZE] = "";
	struct json_object *o;
	long code = 0;
	CURLcode rc;

	if (c == NULL) {
		fprintf(stderr, "bgplbctl: curl init failed\n");
		return NULL;
	}
	snprintf(url, sizeof(url), "%s%s", server, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (token != NULL) {
		char *h = NULL;

		if (asprintf(&h, "Authorization: Bearer %s", token) == -1) {
			curl_easy_cleanup(c);
			return NULL;
		}
		hdrs = curl_slist_append(NULL, h);
		free(h);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		fprintf(stderr, "bgplbctl: cannot reach bgplbd at %s: %s\n"
		    "  is bgplbd running, and is --server (or BGPLB_SERVER) its "
		    "status-listen address?\n", server,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		free(b.data);
		return NULL;
	}
	if (code == 401) {
		fprintf(stderr, "bgplbctl: %s: HTTP 401: %s\n", url, token ?
		    "the token was refused" : "bgplbd wants a bearer token: "
		    "--token-file PATH (or BGPLB_TOKEN_FILE)");
		free(b.data);
		return NULL;
	}
	if (code != 200) {
		fprintf(stderr, "bgplbctl: %s: HTTP %ld\n", url, code);
		free(b.data);
		return NULL;
	}
	o = json_tokener_parse(b.data ? b.data : "");
	if (o == NULL)
		fprintf(stderr, "bgplbctl: %s: the answer is not JSON\n", url);
	if (raw != NULL)
		*raw = b.data;
	else
		free(b.data);
	return o;
}

static const char *
gs(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return "-";
	return json_object_get_string(v);
}

static int64_t
gi(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	return json_object_get_int64(v);
}

static bool
gb(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v != NULL &&
	    json_object_get_boolean(v);
}

/* Join a JSON array of strings with commas into buf. */
static const char *
join(struct json_object *o, const char *key, char *buf, size_t len)
{
	struct json_object *arr;
	size_t n;

	buf[0] = '\0';
	if (!json_object_object_get_ex(o, key, &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return "-";
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(buf);

		snprintf(buf + used, len - used, "%s%s", i ? "," : "",
		    json_object_get_string(json_object_array_get_idx(arr, i)));
	}
	return buf[0] ? buf : "-";
}

static void
fmt_duration(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 3600)
		snprintf(buf, len, "%02lld:%02lld", (long long)s / 60,
		    (long long)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%02lld:%02lld:%02lld", (long long)s / 3600,
		    (long long)(s % 3600) / 60, (long long)s % 60);
	else
		snprintf(buf, len, "%lldd%02lldh", (long long)s / 86400,
		    (long long)(s % 86400) / 3600);
}

static void
print_pools(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	printf("%-16s %-8s %-8s %22s %10s %22s %8s\n", "POOL", "PROTOCOL", "VRF",
	    "TOTAL", "IN-USE", "AVAILABLE", "SERVICES");
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(arr, i);

		printf("%-16s %-8s %-8s %22s %10s %22s %8lld\n", gs(p, "name"),
		    gs(p, "protocol"), gs(p, "vrf"), gs(p, "total"),
		    gs(p, "in_use"), gs(p, "available"),
		    (long long)gi(p, "services"));
	}
	if (n == 0)
		printf("(no pools)\n");
}

static void
print_services(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	printf("%-28s %-32s %-12s %-8s %-9s %s\n", "SERVICE", "ADDRESSES",
	    "POOL", "PROTOCOL", "ANNOUNCED", "VIA");
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(arr, i), *e;
		char addrs[256], via[256];
		const char *proto = gs(s, "protocol");

		join(s, "addresses", addrs, sizeof(addrs));
		if (strcmp(proto, "layer2") == 0)
			snprintf(via, sizeof(via), "node %s",
			    gs(s, "announcing_node"));
		else {
			char peers[200];

			snprintf(via, sizeof(via), "peers %s",
			    join(s, "peers", peers, sizeof(peers)));
		}
		printf("%-28s %-32s %-12s %-8s %-9s %s\n", gs(s, "name"),
		    addrs[0] ? addrs : "<pending>", gs(s, "pool"), proto,
		    gb(s, "announced") ? "yes" : "no", via);
		if (json_object_object_get_ex(s, "error", &e) && e != NULL)
			printf("  ! %s\n", json_object_get_string(e));
		if (json_object_object_get_ex(s, "health", &e) && e != NULL) {
			struct json_object *lf;

			printf("  health: %s since %s (%s %s)", gs(e, "state"),
			    gs(e, "since"), gs(e, "kind"), gs(e, "target"));
			if (json_object_object_get_ex(e, "last_failure", &lf) &&
			    lf != NULL)
				printf("; last failure %s: %s",
				    gs(e, "last_failure_at"),
				    json_object_get_string(lf));
			printf("\n");
		}
	}
	if (n == 0)
		printf("(no services)\n");
}

static void
print_peers(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	printf("%-16s %-26s %10s %10s %-12s %8s %8s %8s\n", "PEER", "ADDRESS",
	    "AS", "LOCAL-AS", "STATE", "UP/DOWN", "PFX-SENT", "PFX-RCVD");
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(arr, i), *e;
		char up[32], addr[80];

		fmt_duration(json_object_object_get_ex(p, "uptime_s", NULL) ?
		    gi(p, "uptime_s") : -1, up, sizeof(up));
		snprintf(addr, sizeof(addr), "%s:%lld", gs(p, "address"),
		    (long long)gi(p, "port"));
		printf("%-16s %-26s %10lld %10lld %-12s %8s %8lld %8lld\n",
		    gs(p, "name"), addr, (long long)gi(p, "asn"),
		    (long long)gi(p, "local_asn"), gs(p, "state"), up,
		    (long long)gi(p, "prefixes_advertised"),
		    (long long)gi(p, "prefixes_received"));
		if (json_object_object_get_ex(p, "last_error", &e) && e != NULL)
			printf("  last error: %s\n", json_object_get_string(e));
	}
	if (n == 0)
		printf("(no peers)\n");
}

static void
print_counters(const char *label, struct json_object *m)
{
	printf("  %-10s open %lld, update %lld, notification %lld, keepalive %lld, "
	    "route-refresh %lld, total %lld\n", label, (long long)gi(m, "open"),
	    (long long)gi(m, "update"), (long long)gi(m, "notification"),
	    (long long)gi(m, "keepalive"), (long long)gi(m, "route_refresh"),
	    (long long)gi(m, "total"));
}

/* `bgplbctl peers NAME`: everything /v1/peers knows about one peer. */
static int
print_peer_detail(struct json_object *arr, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *p = json_object_array_get_idx(arr, i), *x, *y;
		char up[32], buf[256];

		if (strcmp(gs(p, "name"), name) != 0 && strcmp(gs(p, "address"), name) != 0)
			continue;
		printf("peer %s, %s:%lld, AS %lld (%s), local AS %lld\n", gs(p, "name"),
		    gs(p, "address"), (long long)gi(p, "port"), (long long)gi(p, "asn"),
		    gs(p, "type"), (long long)gi(p, "local_asn"));
		fmt_duration(gi(p, "state_since_s"), up, sizeof(up));
		printf("  state      %s for %s\n", gs(p, "state"), up);
		printf("  local      %s, remote id %s, vrf %s\n", gs(p, "local_address"),
		    gs(p, "remote_id"), gs(p, "vrf"));
		printf("  timers     hold %s s (configured %lld s), keepalive %s s\n",
		    gs(p, "hold_time"), (long long)gi(p, "configured_hold_time"),
		    gs(p, "keepalive_time"));
		if (json_object_object_get_ex(p, "capabilities", &x)) {
			printf("  families   %s\n", join(x, "families", buf, sizeof(buf)));
			printf("  caps       as4 %s, route-refresh %s (enhanced %s), "
			    "graceful-restart %s, extended-message %s\n",
			    gb(x, "as4") ? "yes" : "no",
			    gb(x, "route_refresh") ? "yes" : "no",
			    gb(x, "enhanced_route_refresh") ? "yes" : "no",
			    gb(x, "graceful_restart") ? "yes" : "no",
			    gb(x, "extended_message") ? "yes" : "no");
		}
		if (json_object_object_get_ex(p, "bfd", &x))
			printf("  bfd        %s\n", gs(x, "state"));
		printf("  prefixes   %lld advertised, %lld received",
		    (long long)gi(p, "prefixes_advertised"),
		    (long long)gi(p, "prefixes_received"));
		if (gi(p, "max_prefixes") > 0)
			printf(" (max-prefixes %lld)", (long long)gi(p, "max_prefixes"));
		printf("\n");
		if (json_object_object_get_ex(p, "messages", &x)) {
			if (json_object_object_get_ex(x, "sent", &y))
				print_counters("sent", y);
			if (json_object_object_get_ex(x, "received", &y))
				print_counters("received", y);
		}
		printf("  flaps      %lld\n", (long long)gi(p, "flaps"));
		printf("  last error %s\n", gs(p, "last_error"));
		if (json_object_object_get_ex(p, "history", &x)) {
			printf("  last state changes:\n");
			for (size_t h = 0; h < json_object_array_length(x); h++) {
				struct json_object *e = json_object_array_get_idx(x, h);
				time_t t = (time_t)gi(e, "at");
				char when[32];

				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
				    gmtime(&t));
				printf("    %s  %-11s -> %-11s %s\n", when, gs(e, "from"),
				    gs(e, "to"), gs(e, "why"));
			}
		}
		return 0;
	}
	fprintf(stderr, "bgplbctl: no peer named \"%s\"\n", name);
	return 1;
}

static void
print_status(struct json_object *o)
{
	struct json_object *cfg, *errs, *arr;
	char up[32];
	time_t t;

	fmt_duration(gi(o, "uptime_s"), up, sizeof(up));
	printf("node:      %s\n", gs(o, "node"));
	printf("version:   %s\n", gs(o, "version"));
	printf("uptime:    %s\n", up);
	if (json_object_object_get_ex(o, "config", &cfg)) {
		char when[64] = "-";

		t = (time_t)gi(cfg, "loaded_at");
		if (t > 0)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
			    gmtime(&t));
		printf("config:    %s (loaded %s)%s\n", gs(cfg, "file"), when,
		    gb(cfg, "stale") ? "  STALE: the newest config did not load, "
		    "the previous one runs (errors below)" : "");
		if (json_object_object_get_ex(cfg, "errors", &errs) && errs) {
			size_t n = json_object_array_length(errs);

			printf("           last reload errors (%zu):\n", n);
			for (size_t i = 0; i < n; i++)
				printf("             %s\n", json_object_get_string(
				    json_object_array_get_idx(errs, i)));
		}
	}
	if (json_object_object_get_ex(o, "kubernetes", &cfg) && cfg != NULL) {
		struct json_object *cm, *node;

		printf("mode:      Kubernetes, API server %s\n", gs(cfg, "server"));
		printf("role:      %s\n", gs(cfg, "role"));
		if (strcmp(gs(cfg, "role"), "speaker") == 0)
			printf("leader:    not watched (a speaker neither reads "
			    "nor campaigns for lease %s)\n", gs(cfg, "lease"));
		else
			printf("leader:    %s%s (lease %s)\n", gs(cfg, "leader"),
			    gb(cfg, "leading") ? " (this node)" : "",
			    gs(cfg, "lease"));
		if (json_object_object_get_ex(cfg, "config_map", &cm) && cm) {
			printf("configmap: %s: %s", gs(cm, "name"), gs(cm, "state"));
			if (json_object_object_get_ex(cm, "errors", &errs) &&
			    errs && json_object_array_length(errs) > 0)
				printf(": %s", json_object_get_string(
				    json_object_array_get_idx(errs, 0)));
			printf("\n");
		}
		if (json_object_object_get_ex(cfg, "node", &node) && node &&
		    !gb(node, "eligible"))
			printf("announce:  nothing: %s\n", gs(node, "why"));
		printf("services:  %lld LoadBalancer services handled\n",
		    (long long)gi(cfg, "services"));
	} else
		printf("state:     %s\n", gs(o, "state_file"));
	printf("routes:    %lld planned\n", (long long)gi(o, "routes_planned"));
	printf("failures:  %lld allocation failures\n",
	    (long long)gi(o, "allocation_failures_total"));
	if (json_object_object_get_ex(o, "pools", &arr)) {
		printf("\n");
		print_pools(arr);
	}
	if (json_object_object_get_ex(o, "services", &arr)) {
		printf("\n");
		print_services(arr);
	}
	if (json_object_object_get_ex(o, "peers", &arr) &&
	    json_object_array_length(arr) > 0) {
		printf("\n");
		print_peers(arr);
	}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: bgplbctl [--server URL] [--token-file PATH] "
	    "status|peers|services|pools [--json]\n"
	    "       bgplbctl [--server URL] [--token-file PATH] peers NAME|ADDRESS\n"
	    "  default server: $BGPLB_SERVER or " DEFAULT_SERVER "\n"
	    "  token file: $BGPLB_TOKEN_FILE (sent as Authorization: Bearer)\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *cmd, *path;
		void (*print)(struct json_object *);
	} cmds[] = {
		{ "status", "/v1/status", print_status },
		{ "peers", "/v1/peers", print_peers },
		{ "services", "/v1/services", print_services },
		{ "pools", "/v1/pools", print_pools },
	};
	const char *server = getenv("BGPLB_SERVER");
	const char *token_file = getenv("BGPLB_TOKEN_FILE");
	const char *cmd = NULL;
	bool json = false;
	struct json_object *o;
	char *raw = NULL;
	int ch;

	if (server == NULL || *server == '\0')
		server = DEFAULT_SERVER;
	/* Options may come before or after the command (`pools --json`). */
	while ((ch = getopt_long(argc, argv, "s:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			server = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (token_file != NULL && *token_file != '\0' &&
	    (token = read_token(token_file)) == NULL)
		return 1;
	if (optind == argc - 2 && strcmp(argv[optind], "peers") == 0) {
		int rc;

		curl_global_init(CURL_GLOBAL_DEFAULT);
		o = fetch(server, "/v1/peers", &raw);
		curl_global_cleanup();
		if (o == NULL) {
			free(raw);
			return 1;
		}
		rc = print_peer_detail(o, argv[optind + 1]);
		json_object_put(o);
		free(raw);
		return rc;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i].cmd) != 0)
			continue;
		curl_global_init(CURL_GLOBAL_DEFAULT);
		o = fetch(server, cmds[i].path, &raw);
		curl_global_cleanup();
		if (o == NULL) {
			free(raw);
			return 1;
		}
		if (json)
			fputs(raw, stdout);
		else
			cmds[i].print(o);
		json_object_put(o);
		free(raw);
		return 0;
	}
	fprintf(stderr, "bgplbctl: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 2;
}

/*
 * health_http.c - HTTP checks: a GET through libcurl's multi interface on
 * the daemon's libevent loop, one multi handle per runner shared by all
 * its checks (hundreds of checks are hundreds of idle timers and, for a
 * moment each interval, one socket each).
 *
 * The glue is the one src/k8s/k8s_http.c uses (curl says which sockets to
 * watch and when to kick it; finished transfers are collected after each
 * kick, outside curl's callbacks), without what the Kubernetes client
 * needs on top (tokens, streaming bodies, cancellation from callbacks).
 * A 2xx status is up; the body is read and thrown away; no redirects, no
 * proxy from the environment, http and https only.
 */
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "bgplb/log.h"
#include "bgplb/util.h"
#include "bgplb_version.h"
#include "health_priv.h"

struct hsock {
	struct health_runner *run;
	struct event	*ev;
};

static void collect(struct health_runner *);

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct hsock *s = arg;
	struct health_runner *r = s->run;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* s may be freed by the socket callback during this call. */
	curl_multi_socket_action(r->multi, fd, flags, &running);
	collect(r);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct health_runner *r = arg;
	int running;

	curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(r);
}

static int
curl_sock(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct health_runner *r = userp;
	struct hsock *s = sockp;
	short ev = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			free(s);
			curl_multi_assign(r->multi, fd, NULL);
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= EV_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= EV_WRITE;
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->run = r;
		curl_multi_assign(r->multi, fd, s);
	} else
		event_free(s->ev);
	if ((s->ev = event_new(r->base, fd, ev, on_sock, s)) == NULL ||
	    event_add(s->ev, NULL) == -1)
		return -1;
	return 0;
}

static int
curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct health_runner *r = userp;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	if (timeout_ms < 0) {
		evtimer_del(r->curl_timer);
		return 0;
	}
	/* 0 is "now", but curl must not be re-entered from here. */
	return evtimer_add(r->curl_timer, &tv);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* Finished transfers; the check's done() removes each handle. */
static void
collect(struct health_runner *r)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(r->multi, &left)) != NULL) {
		struct health_check *hc = NULL;
		char why[HEALTH_REASON_MAX];
		long code = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&hc);
		if (hc == NULL)
			continue;
		if (m->data.result == CURLE_OPERATION_TIMEDOUT) {
			/* curl's own clock ran out first (connect or read):
			 * the same words as the scheduler's timeout. */
			snprintf(why, sizeof(why), "timeout after %ums (%s)",
			    hc->cfg.timeout_ms, hc->curl_err[0] != '\0' ?
			    hc->curl_err : curl_easy_strerror(m->data.result));
			hc->done(hc, false, why);
			continue;
		}
		if (m->data.result != CURLE_OK) {
			snprintf(why, sizeof(why), "%s", hc->curl_err[0] != '\0' ?
			    hc->curl_err : curl_easy_strerror(m->data.result));
			hc->done(hc, false, why);
			continue;
		}
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		snprintf(why, sizeof(why), "HTTP status %ld", code);
		hc->done(hc, code >= 200 && code <= 299, why);
	}
}

static int
runner_init(struct health_runner *r, char *err, size_t errlen)
{
	if (r->multi != NULL)
		return 0;
	if ((r->multi = curl_multi_init()) == NULL)
		return errf(err, errlen, "curl_multi_init failed");
	r->curl_timer = evtimer_new(r->base, on_timer, r);
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, curl_sock);
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, curl_timer);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
	return 0;
}

int
health_http_start(struct health_check *hc, char *err, size_t errlen)
{
	struct health_runner *r = hc->run;
	CURL *e;

	if (runner_init(r, err, errlen) == -1)
		return -1;
	if ((e = curl_easy_init()) == NULL)
		return errf(err, errlen, "curl_easy_init failed");
	hc->curl_err[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, hc->cfg.url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, hc);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, hc->curl_err);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)hc->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	if (hc->cfg.ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, hc->cfg.ca_file);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "bgplbd-health/" BGPLB_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	if (curl_multi_add_handle(r->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return errf(err, errlen, "curl_multi_add_handle failed");
	}
	hc->easy = e;
	return 0;
}

void
health_http_stop(struct health_check *hc)
{
	if (hc->easy == NULL)
		return;
	curl_multi_remove_handle(hc->run->multi, hc->easy);
	curl_easy_cleanup(hc->easy);
	hc->easy = NULL;
}

void
health_http_runner_free(struct health_runner *r)
{
	if (r->multi == NULL)
		return;
	curl_multi_cleanup(r->multi);
	event_free(r->curl_timer);
	r->multi = NULL;
}

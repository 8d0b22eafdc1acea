/*
 * k8s_http.c - libcurl's multi interface on the daemon's libevent loop.
 *
 * curl tells us which sockets it wants watched (CURLMOPT_SOCKETFUNCTION)
 * and when it next needs a kick (CURLMOPT_TIMERFUNCTION); we keep one
 * persistent event per socket and one timer, and hand every wakeup back
 * to curl_multi_socket_action().  Finished transfers are collected with
 * curl_multi_info_read() after each action, outside curl's own callbacks,
 * which is the only place where on_done may run: the user may start or
 * cancel requests from there.
 *
 * Cancelling from inside on_data (a curl write callback) cannot remove the
 * easy handle there, so cancel only marks the request (the write callback
 * then stops the transfer) and a deferred event does the cleanup on the
 * next loop turn.  k8s_http_free() is the one call not allowed from inside
 * a callback: it frees the state the callback's caller is still using.
 *
 * The bearer token is re-read from its file when a request starts if the
 * last read is a minute old, or after the server answered 401 (the
 * service-account token was rotated): the 401 itself is reported, the
 * caller retries, and the retry carries the new token.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "bgplb/log.h"
#include "bgplb/util.h"
#include "bgplb_version.h"
#include "k8s_http.h"

#define K8S_TOKEN_REREAD_S	60
#define K8S_CONNECT_TIMEOUT_MS	10000L

struct k8s_sock {
	struct k8s_http		*http;
	curl_socket_t		 fd;
	struct event		*ev;
	LIST_ENTRY(k8s_sock)	 entry;
};

struct k8s_req {
	struct k8s_http		*http;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	struct k8s_req_opts	 opts;
	long			 retry_after;
	bool			 cancelled;	/* no more callbacks */
	bool			 aborted;	/* on_data returned -1 */
	bool			 in_done;	/* on_done is running: its caller frees */
	char			 errbuf[CURL_ERROR_SIZE];
	TAILQ_ENTRY(k8s_req)	 entry;
};
TAILQ_HEAD(k8s_req_list, k8s_req);

struct k8s_http {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct event		*reaper;	/* frees cancelled requests */
	struct k8s_conn		 conn;		/* our own copy */
	char			*token;
	time_t			 token_read;
	bool			 token_stale;	/* a 401 came back */
	struct k8s_req_list	 reqs;
	struct k8s_req_list	 dead;
	LIST_HEAD(, k8s_sock)	 socks;
};

static void	k8s_http_check_done(struct k8s_http *);

/* ---------------------------------------------------------------- token */

static void
k8s_token_refresh(struct k8s_http *h, bool force)
{
	time_t now = time(NULL);
	char *t;
	int e;

	if (h->conn.token_file == NULL)
		return;
	if (!force && !h->token_stale && h->token_read != 0 &&
	    now - h->token_read < K8S_TOKEN_REREAD_S)
		return;
	h->token_read = now;
	if ((t = k8s_read_token_file(h->conn.token_file, &e)) == NULL) {
		/* Keep the old token: a rotation in progress may have left
		 * the file briefly missing. */
		log_warn("k8s", "token file %s: %s", h->conn.token_file, strerror(e));
		return;
	}
	h->token_stale = false;
	free(h->token);
	h->token = t;
}

/* ---------------------------------------------------------------- libevent glue */

static void
k8s_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct k8s_sock *s = arg;
	struct k8s_http *h = s->http;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* s may be freed by curl's socket callback during this call. */
	curl_multi_socket_action(h->multi, fd, flags, &running);
	k8s_http_check_done(h);
}

static void
k8s_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct k8s_http *h = arg;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	k8s_http_check_done(h);
}

static int
k8s_curl_sock(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct k8s_http *h = userp;
	struct k8s_sock *s = sockp;
	short ev;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			if (s->ev != NULL)
				event_free(s->ev);
			LIST_REMOVE(s, entry);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	ev = EV_PERSIST;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= EV_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= EV_WRITE;
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->http = h;
		s->fd = fd;
		LIST_INSERT_HEAD(&h->socks, s, entry);
		curl_multi_assign(h->multi, fd, s);
	} else if (s->ev != NULL) {
		event_free(s->ev);
	}
	/* event_assign on a pending event is not allowed; a new one is simplest. */
	if ((s->ev = event_new(h->base, fd, ev, k8s_sock_cb, s)) == NULL ||
	    event_add(s->ev, NULL) == -1)
		return -1;
	return 0;
}

static int
k8s_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct k8s_http *h = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	/* 0 means "now", but curl must not be re-entered from here: the
	 * timer fires on the next loop turn. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(h->timer, &tv);
}

/* ---------------------------------------------------------------- requests */

static void
k8s_req_free(struct k8s_req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->http->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r);
}

static void
k8s_reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	struct k8s_http *h = arg;
	struct k8s_req *r;

	while ((r = TAILQ_FIRST(&h->dead)) != NULL) {
		TAILQ_REMOVE(&h->dead, r, entry);
		k8s_req_free(r);
	}
}

static size_t
k8s_write_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct k8s_req *r = userp;
	size_t len = size * nmemb;

	if (r->cancelled)
		return 0;	/* stop the transfer; the reaper frees it */
	if (r->opts.on_data != NULL && len > 0 &&
	    r->opts.on_data(r->opts.arg, ptr, len) == -1) {
		r->aborted = true;
		return 0;
	}
	/* on_data may have cancelled us; the transfer stops next time. */
	return len;
}

static size_t
k8s_header_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct k8s_req *r = userp;
	size_t len = size * nmemb;
	static const char name[] = "retry-after:";
	char buf[32], *end;
	size_t n;
	long v;

	/* A new status line (after a 100 Continue, a redirect) starts over. */
	if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		r->retry_after = -1;
	if (len > sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
		n = len - (sizeof(name) - 1);
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, ptr + sizeof(name) - 1, n);
		buf[n] = '\0';
		/* Only delta-seconds: the API server never sends an HTTP date. */
		errno = 0;
		v = strtol(buf, &end, 10);
		while (*end != '\0' && isspace((unsigned char)*end))
			end++;
		if (errno == 0 && end != buf && *end == '\0' && v >= 0)
			r->retry_after = v;
	}
	return len;
}

static void
k8s_http_check_done(struct k8s_http *h)
{
	struct k8s_req *r;
	CURLMsg *msg;
	CURLcode rc;
	const char *error;
	char ebuf[CURL_ERROR_SIZE + 32];
	long status;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		rc = msg->data.result;
		if (r == NULL || r->cancelled)
			continue;	/* the reaper has it */
		TAILQ_REMOVE(&h->reqs, r, entry);
		curl_multi_remove_handle(h->multi, r->easy);

		status = 0;
		error = NULL;
		if (r->aborted)
			error = "aborted";
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			error = "timeout";
		else if (rc != CURLE_OK) {
			snprintf(ebuf, sizeof(ebuf), "%s", r->errbuf[0] ?
			    r->errbuf : curl_easy_strerror(rc));
			error = ebuf;
		} else
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status == 401)
			h->token_stale = true;

		r->in_done = true;
		if (r->opts.on_done != NULL)
			r->opts.on_done(r->opts.arg, status, error, r->retry_after);
		k8s_req_free(r);
	}
}

struct k8s_req *
k8s_http_request(struct k8s_http *h, const struct k8s_req_opts *o)
{
	struct k8s_req *r;
	char *url = NULL, *hdr = NULL;
	struct curl_slist *l;
	CURL *e;
	int bad = 0;

	r = xcalloc(1, sizeof(*r));
	r->http = h;
	r->opts = *o;
	r->retry_after = -1;
	r->body = xstrdup(o->body);
	if ((r->easy = e = curl_easy_init()) == NULL)
		goto fail;
	url = xasprintf("%s%s", h->conn.server, o->path);
	k8s_token_refresh(h, false);

	/* Headers: Expect is turned off because curl would wait a second for
	 * a 100 Continue before sending a large body. */
#define ADDH(s) do {							\
		if ((l = curl_slist_append(r->headers, (s))) == NULL)	\
			goto fail;					\
		r->headers = l;						\
	} while (0)
	ADDH("Accept: application/json");
	ADDH("Expect:");
	if (o->content_type != NULL) {
		hdr = xasprintf("Content-Type: %s", o->content_type);
		ADDH(hdr);
		free(hdr);
		hdr = NULL;
	}
	if (h->token != NULL) {
		hdr = xasprintf("Authorization: Bearer %s", h->token);
		ADDH(hdr);
		free(hdr);
		hdr = NULL;
	}
#undef ADDH

	bad |= curl_easy_setopt(e, CURLOPT_URL, url);
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "bgplb/" BGPLB_VERSION);
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, k8s_write_cb);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, k8s_header_cb);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	/* Watches are long-lived and mostly idle: keepalive finds a dead
	 * peer; the low-speed limit (off by default) must stay off. */
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, K8S_CONNECT_TIMEOUT_MS);
	if (o->timeout_ms > 0)
		bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);

	switch (o->method) {
	case K8S_GET:
		break;
	case K8S_POST:
		bad |= curl_easy_setopt(e, CURLOPT_POST, 1L);
		break;
	case K8S_PUT:
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
		break;
	case K8S_PATCH:
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PATCH");
		break;
	case K8S_DELETE:
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
		break;
	}
	if (r->body != NULL || o->method == K8S_POST) {
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
		    (long)(r->body ? strlen(r->body) : 0));
	}

	/* TLS: verification stays on unless the kubeconfig says otherwise. */
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->conn.insecure ? 0L : 1L);
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->conn.insecure ? 0L : 2L);
	if (h->conn.ca_data != NULL) {
		struct curl_blob b = { h->conn.ca_data, strlen(h->conn.ca_data),
		    CURL_BLOB_COPY };

		bad |= curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	} else if (h->conn.ca_file != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, h->conn.ca_file);
	if (h->conn.client_cert_data != NULL) {
		struct curl_blob b = { h->conn.client_cert_data,
		    strlen(h->conn.client_cert_data), CURL_BLOB_COPY };

		bad |= curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
		bad |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (h->conn.client_cert_file != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_SSLCERT, h->conn.client_cert_file);
	if (h->conn.client_key_data != NULL) {
		struct curl_blob b = { h->conn.client_key_data,
		    strlen(h->conn.client_key_data), CURL_BLOB_COPY };

		bad |= curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
		bad |= curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (h->conn.client_key_file != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_SSLKEY, h->conn.client_key_file);
	free(url);
	url = NULL;
	if (bad) {
		log_warn("k8s", "curl_easy_setopt failed for %s", o->path);
		goto fail;
	}
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
		goto fail;
	TAILQ_INSERT_TAIL(&h->reqs, r, entry);
	return r;
fail:
	free(url);
	free(hdr);
	if (r->easy != NULL) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r);
	return NULL;
}

void
k8s_http_cancel(struct k8s_req *r)
{
	struct k8s_http *h;

	if (r == NULL || r->cancelled)
		return;
	r->cancelled = true;
	if (r->in_done)
		return;		/* check_done frees it when on_done returns */
	h = r->http;
	TAILQ_REMOVE(&h->reqs, r, entry);
	TAILQ_INSERT_TAIL(&h->dead, r, entry);
	event_active(h->reaper, EV_TIMEOUT, 1);
}

/* ---------------------------------------------------------------- setup */

struct k8s_http *
k8s_http_new(struct event_base *base, const struct k8s_conn *c, char *err,
    size_t errlen)
{
	static bool curl_ready;
	struct k8s_http *h;
	int bad = 0;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			errf(err, errlen, "curl_global_init failed");
			return NULL;
		}
		curl_ready = true;
	}
	if (c->server == NULL) {
		errf(err, errlen, "no API server URL");
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->base = base;
	TAILQ_INIT(&h->reqs);
	TAILQ_INIT(&h->dead);
	LIST_INIT(&h->socks);
	k8s_conn_copy(&h->conn, c);
	h->token = xstrdup(c->token);
	if (h->conn.token_file != NULL) {
		char *t;
		int e;

		if ((t = k8s_read_token_file(h->conn.token_file, &e)) == NULL) {
			errf(err, errlen, "token file %s: %s", h->conn.token_file,
			    strerror(e));
			goto fail;
		}
		free(h->token);
		h->token = t;
		h->token_read = time(NULL);
	}
	if ((h->multi = curl_multi_init()) == NULL ||
	    (h->timer = evtimer_new(base, k8s_timer_cb, h)) == NULL ||
	    (h->reaper = event_new(base, -1, 0, k8s_reaper_cb, h)) == NULL) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	bad |= curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, k8s_curl_sock);
	bad |= curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	bad |= curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, k8s_curl_timer);
	bad |= curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	if (bad) {
		errf(err, errlen, "curl_multi_setopt failed");
		goto fail;
	}
	return h;
fail:
	k8s_http_free(h);
	return NULL;
}

void
k8s_http_free(struct k8s_http *h)
{
	struct k8s_req *r;
	struct k8s_sock *s;

	if (h == NULL)
		return;
	while ((r = TAILQ_FIRST(&h->reqs)) != NULL) {
		TAILQ_REMOVE(&h->reqs, r, entry);
		k8s_req_free(r);
	}
	while ((r = TAILQ_FIRST(&h->dead)) != NULL) {
		TAILQ_REMOVE(&h->dead, r, entry);
		k8s_req_free(r);
	}
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	/* Sockets of cached connections curl did not report as removed. */
	while ((s = LIST_FIRST(&h->socks)) != NULL) {
		LIST_REMOVE(s, entry);
		if (s->ev != NULL)
			event_free(s->ev);
		free(s);
	}
	if (h->timer != NULL)
		event_free(h->timer);
	if (h->reaper != NULL)
		event_free(h->reaper);
	k8s_conn_free(&h->conn);
	free(h->token);
	free(h);
}

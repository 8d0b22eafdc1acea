/*
 * l2_membership.c - node membership for layer 2 failover: who is alive.
 *
 * Every node sends a small heartbeat over UDP to every configured member
 * each `interval`, and declares a member dead when no valid heartbeat came
 * from it for `dead-after`.  The live set (this node always included) goes
 * to the core through one callback; every node computes the same owner for
 * each layer 2 address from it, so when the owner dies the survivors take
 * its addresses over after dead-after plus one re-plan.
 *
 * Heartbeats are sealed with AES-256-GCM under a shared key read from a
 * file (a Kubernetes Secret).  A member is known by the name inside the
 * authenticated datagram, never by the source address: UDP sources are
 * trivial to forge, and multi-homed nodes legitimately send from another
 * address than the one configured.  Replays are refused by a per-sender
 * (boot id, sequence) rule (l2_member_replay_check).
 *
 * This file owns the API of bgplb/l2.h: creating the runtime,
 * (re)configuration (the key, the socket, the member list, whose state
 * moves over by name), status, metrics and freeing.  The codec, the key
 * parser and the replay rule are pure functions (l2_member.c, l2_member.h);
 * the member table and liveness are l2_member_table.c; the socket,
 * receiving and sending are l2_member_io.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "bgplb/util.h"
#include "l2_member.h"
#include "l2_member_io.h"
#include "l2_member_table.h"

#define MOD			"membership"

static int
member_cmp(const void *a, const void *b)
{
	const struct l2_member *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

struct l2_membership *
l2_membership_new(struct event_base *base, const char *node,
    l2_membership_cb cb, void *arg)
{
	struct l2_membership *ms;

	if (node == NULL || l2_member_name_len(node) == 0)
		return NULL;
	ms = xcalloc(1, sizeof(*ms));
	ms->base = base;
	ms->cb = cb;
	ms->cbarg = arg;
	ms->fd = -1;
	ms->node = xstrdup(node);
	if (l2_member_new_boot_id(&ms->boot_id) == -1 ||
	    (ms->notify_ev = event_new(base, -1, 0, l2_membership_notify_cb, ms)) == NULL ||
	    (ms->hb_ev = event_new(base, -1, EV_PERSIST, l2_membership_hb_cb,
	    ms)) == NULL)
		goto fail;
	l2_membership_publish(ms);
	return ms;
fail:
	l2_membership_free(ms);
	return NULL;
}

/* Stop everything; the members are handed back to the caller because the
 * published live set may still point at their names. */
static void
stop(struct l2_membership *ms, struct l2_member ***mbs, size_t *n)
{
	l2_membership_close_socket(ms);
	if (ms->hb_ev != NULL)
		evtimer_del(ms->hb_ev);
	*mbs = ms->members;
	*n = ms->nmembers;
	ms->members = NULL;
	ms->nmembers = 0;
	free(ms->key_file);
	ms->key_file = NULL;
	OPENSSL_cleanse(ms->key, sizeof(ms->key));
	ms->enabled = false;
	memset(&ms->listen, 0, sizeof(ms->listen));
	ms->port = 0;
}


int
l2_membership_configure(struct l2_membership *ms, const struct cfg *cfg,
    char *err, size_t errlen)
{
	const struct cfg_layer2 *l2 = &cfg->layer2;
	uint8_t key[L2_MEMBER_KEY_LEN];
	struct l2_member **nm = NULL, **old = ms->members;
	size_t nn = 0, nold = ms->nmembers;
	int fd = -1, fam = ms->fd_af;
	bool rebind, closed_old = false;

	if (!l2->has_membership) {
		if (ms->enabled)
			log_info(MOD, "membership stopped");
		stop(ms, &old, &nold);
		if (l2_membership_publish(ms)) {
			ms->cb_pending = true;
			l2_membership_schedule_notify(ms);
		}
		l2_member_free_all(old, nold);
		return 0;
	}
	if (l2->key_file == NULL || *l2->key_file == '\0') {
		snprintf(err, errlen, "layer2.membership: key-file is required "
		    "(heartbeats are always authenticated)");
		return -1;
	}
	if (l2->interval_ms == 0 || l2->dead_after_ms <= l2->interval_ms) {
		snprintf(err, errlen, "layer2.membership: dead-after (%ums) must "
		    "be longer than interval (%ums), and interval more than 0",
		    l2->dead_after_ms, l2->interval_ms);
		return -1;
	}
	if (l2_member_key_read(l2->key_file, key, err, errlen) == -1)
		return -1;

	rebind = ms->fd == -1 || ms->port != l2->listen_port ||
	    !(ms->listen.af == l2->listen.af && (ms->listen.af == 0 ||
	    addr_eq(&ms->listen, &l2->listen)));
	if (rebind) {
		fd = l2_membership_open_socket(&l2->listen, l2->listen_port, &fam, err, errlen);
		if (fd == -1 && errno == EADDRINUSE && ms->fd != -1) {
			/* Moving between the wildcard and a specific address
			 * on the same port collides with our own old socket:
			 * release it; the fail path takes it back. */
			l2_membership_close_socket(ms);
			closed_old = true;
			fd = l2_membership_open_socket(&l2->listen, l2->listen_port, &fam,
			    err, errlen);
		}
		if (fd == -1)
			goto fail;
	}

	/* The new member list; state moves over by name. */
	nm = xcalloc(l2->nmembers + 1, sizeof(*nm));
	for (size_t i = 0; i < l2->nmembers; i++) {
		const struct cfg_member *c = &l2->members[i];
		struct l2_member *mb;

		if (strcmp(c->name, ms->node) == 0)
			continue;	/* self: listed so every node shares one list */
		if (l2_member_name_len(c->name) == 0) {
			snprintf(err, errlen, "layer2.membership.members[%zu]: "
			    "name must be 1..%d characters", i,
			    L2_MEMBER_NAME_MAX);
			goto fail;
		}
		mb = xcalloc(1, sizeof(*mb));
		mb->name = xstrdup(c->name);
		nm[nn++] = mb;
		mb->ms = ms;
		mb->addr = c->address;
		mb->port = c->port;
		if (l2_member_make_sa(&c->address, c->port, fam, &mb->sa, &mb->salen) ==
		    -1) {
			snprintf(err, errlen, "layer2.membership.members[%zu] "
			    "%s: an IPv6 address, but listen is IPv4", i,
			    c->name);
			goto fail;
		}
		if ((mb->dead_ev = evtimer_new(ms->base, l2_member_dead_cb, mb)) == NULL) {
			snprintf(err, errlen, "layer2.membership: out of memory");
			goto fail;
		}
	}
	qsort(nm, nn, sizeof(*nm), member_cmp);

	/* Commit: nothing below fails. */
	if (rebind) {
		l2_membership_close_socket(ms);
		ms->fd = fd;
		ms->fd_af = fam;
		fd = -1;
		if ((ms->read_ev = event_new(ms->base, ms->fd,
		    EV_READ | EV_PERSIST, l2_membership_read_cb, ms)) == NULL)
			fatalx("membership: out of memory");
		event_add(ms->read_ev, NULL);
	}
	memcpy(ms->key, key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	free(ms->key_file);
	ms->key_file = xstrdup(l2->key_file);
	ms->listen = l2->listen;
	ms->port = l2->listen_port;
	ms->members = nm;
	ms->nmembers = nn;
	for (size_t i = 0; i < nn; i++) {
		struct l2_member *mb = nm[i], *o = NULL;
		uint64_t now = mono_ms(), age;

		for (size_t j = 0; j < nold && o == NULL; j++)
			if (old[j] != NULL && strcmp(old[j]->name, mb->name) == 0)
				o = old[j];
		if (o == NULL || !o->seen)
			continue;
		mb->alive = o->alive;
		mb->seen = true;
		mb->last_seen = o->last_seen;
		mb->changed = o->changed;
		mb->last_src = o->last_src;
		mb->received = o->received;
		mb->replay = o->replay;
		/* The dead timer restarts from the last heartbeat, under the
		 * new dead-after. */
		age = now - o->last_seen;
		if (mb->alive) {
			if (age >= l2->dead_after_ms)
				mb->alive = false;
			else
				l2_member_arm_dead(mb, l2->dead_after_ms - age);
		}
	}
	if (!ms->enabled || ms->interval_ms != l2->interval_ms) {
		struct timeval tv = ms_tv(l2->interval_ms);

		evtimer_add(ms->hb_ev, &tv);
	}
	ms->interval_ms = l2->interval_ms;
	ms->dead_after_ms = l2->dead_after_ms;
	if (!ms->enabled) {
		char lb[ADDR_STRLEN];

		log_info(MOD, "membership on %s%s%s:%u, %zu member(s), heartbeat "
		    "every %ums, dead after %ums, boot id %016llx",
		    ms->fd_af == AF_INET6 && ms->listen.af != 0 ? "[" : "",
		    ms->listen.af != 0 ? addr_ntop(&ms->listen, lb, sizeof(lb)) :
		    "*", ms->fd_af == AF_INET6 && ms->listen.af != 0 ? "]" : "",
		    ms->port, nn, ms->interval_ms, ms->dead_after_ms,
		    (unsigned long long)ms->boot_id);
	}
	ms->enabled = true;
	/* Publish before the old members go: the set published so far points
	 * at their names. */
	if (l2_membership_publish(ms)) {
		ms->cb_pending = true;
		l2_membership_schedule_notify(ms);
	}
	l2_member_free_all(old, nold);
	/* Tell the others at once rather than one interval from now. */
	l2_membership_send_heartbeats(ms);
	return 0;

fail:
	OPENSSL_cleanse(key, sizeof(key));
	if (fd != -1)
		close(fd);
	for (size_t i = 0; nm != NULL && i < nn; i++)
		l2_member_free(nm[i]);
	free(nm);
	if (closed_old) {
		char err2[256];
		int oldfam;

		ms->fd = l2_membership_open_socket(&ms->listen, ms->port, &oldfam, err2,
		    sizeof(err2));
		if (ms->fd == -1)
			log_error(MOD, "cannot take the old socket back, "
			    "heartbeats stopped: %s", err2);
		else if ((ms->read_ev = event_new(ms->base, ms->fd,
		    EV_READ | EV_PERSIST, l2_membership_read_cb, ms)) == NULL)
			fatalx("membership: out of memory");
		else
			event_add(ms->read_ev, NULL);
	}
	return -1;
}

bool
l2_membership_enabled(const struct l2_membership *ms)
{
	return ms->enabled;
}

size_t
l2_membership_alive(const struct l2_membership *ms, const char *const **names)
{
	*names = ms->alive;
	return ms->nalive;
}

void
l2_membership_set_down(struct l2_membership *ms, const uint64_t *hashes,
    size_t n)
{
	if (n > L2_MEMBER_DOWN_MAX) {
		log_warn(MOD, "%zu services can't be placed on this node; the "
		    "heartbeat carries the first %d only", n, L2_MEMBER_DOWN_MAX);
		n = L2_MEMBER_DOWN_MAX;
	}
	if (n == ms->ndown && (n == 0 || memcmp(hashes, ms->down,
	    n * sizeof(*hashes)) == 0))
		return;
	memset(ms->down, 0, sizeof(ms->down));
	if (n > 0)
		memcpy(ms->down, hashes, n * sizeof(*hashes));
	ms->ndown = n;
	/* Tell the others now, not an interval later: failover time. */
	if (ms->enabled)
		l2_membership_send_heartbeats(ms);
}

bool
l2_membership_member_down(const struct l2_membership *ms, const char *node,
    uint64_t hash)
{
	const struct l2_member *mb = l2_member_find(ms, node);

	if (mb == NULL || !mb->alive)
		return false;
	for (size_t i = 0; i < mb->ndown; i++)
		if (mb->down[i] == hash)
			return true;
	return false;
}

size_t
l2_membership_reported_down(const struct l2_membership *ms)
{
	size_t n = 0;

	for (size_t i = 0; ms->enabled && i < ms->nmembers; i++)
		if (ms->members[i]->alive)
			n += ms->members[i]->ndown;
	return n;
}

static struct json_object *
member_json(const struct l2_membership *ms, const struct l2_member *mb,
    uint64_t now)
{
	struct json_object *o = json_object_new_object();
	char buf[ADDR_STRLEN + 8];

	json_object_object_add(o, "name", json_object_new_string(mb->name));
	json_object_object_add(o, "address", json_object_new_string(
	    addr_ntop(&mb->addr, buf, sizeof(buf))));
	json_object_object_add(o, "port", json_object_new_int(mb->port));
	json_object_object_add(o, "state",
	    json_object_new_string(mb->alive ? "alive" : "dead"));
	json_object_object_add(o, "last_seen_ms_ago", mb->seen ?
	    json_object_new_int64((int64_t)(now - mb->last_seen)) : NULL);
	json_object_object_add(o, "last_source", mb->seen ?
	    json_object_new_string(l2_member_sa_fmt(&mb->last_src, buf, sizeof(buf))) :
	    NULL);
	json_object_object_add(o, "changed_ms_ago", mb->changed != 0 ?
	    json_object_new_int64((int64_t)(now - mb->changed)) : NULL);
	json_object_object_add(o, "heartbeats_received",
	    json_object_new_int64((int64_t)mb->received));
	json_object_object_add(o, "services_down",
	    json_object_new_int64((int64_t)mb->ndown));
	if (mb->replay.valid) {
		snprintf(buf, sizeof(buf), "%016llx",
		    (unsigned long long)mb->replay.boot_id);
		json_object_object_add(o, "boot_id", json_object_new_string(buf));
	}
	return o;
}

void
l2_membership_status(const struct l2_membership *ms, struct json_object *out)
{
	struct json_object *arr = json_object_new_array(), *rej, *self, *al;
	uint64_t now = mono_ms();
	char buf[ADDR_STRLEN + 8];
	bool self_done = false;

	json_object_object_add(out, "enabled",
	    json_object_new_boolean(ms->enabled));
	json_object_object_add(out, "node", json_object_new_string(ms->node));
	if (ms->enabled) {
		json_object_object_add(out, "listen", json_object_new_string(
		    ms->listen.af != 0 ? addr_ntop(&ms->listen, buf,
		    sizeof(buf)) : (ms->fd_af == AF_INET ? "0.0.0.0" : "::")));
		json_object_object_add(out, "port",
		    json_object_new_int(ms->port));
		json_object_object_add(out, "interval_ms",
		    json_object_new_int64(ms->interval_ms));
		json_object_object_add(out, "dead_after_ms",
		    json_object_new_int64(ms->dead_after_ms));
		json_object_object_add(out, "key_file",
		    json_object_new_string(ms->key_file));
		snprintf(buf, sizeof(buf), "%016llx",
		    (unsigned long long)ms->boot_id);
		json_object_object_add(out, "boot_id", json_object_new_string(buf));
	}
	/* Members sorted by name, self at its place. */
	self = json_object_new_object();
	json_object_object_add(self, "name", json_object_new_string(ms->node));
	json_object_object_add(self, "state", json_object_new_string("self"));
	for (size_t i = 0; i < ms->nmembers; i++) {
		if (!self_done && strcmp(ms->node, ms->members[i]->name) < 0) {
			json_object_array_add(arr, self);
			self_done = true;
		}
		json_object_array_add(arr, member_json(ms, ms->members[i], now));
	}
	if (!self_done)
		json_object_array_add(arr, self);
	json_object_object_add(out, "members", arr);
	al = json_object_new_array();
	for (size_t i = 0; i < ms->nalive; i++)
		json_object_array_add(al, json_object_new_string(ms->alive[i]));
	json_object_object_add(out, "alive", al);
	json_object_object_add(out, "heartbeats_sent",
	    json_object_new_int64((int64_t)ms->sent));
	json_object_object_add(out, "heartbeats_received",
	    json_object_new_int64((int64_t)ms->received));
	json_object_object_add(out, "send_errors",
	    json_object_new_int64((int64_t)ms->send_errors));
	rej = json_object_new_object();
	for (int r = L2_REJ_NONE + 1; r < L2_REJ__N; r++)
		json_object_object_add(rej, l2_member_reject_name(r),
		    json_object_new_int64((int64_t)ms->rejected[r]));
	json_object_object_add(out, "rejected", rej);
}

void
l2_membership_metrics(const struct l2_membership *ms, struct evbuffer *b)
{
	size_t alive = 1, dead = 0;

	for (size_t i = 0; i < ms->nmembers; i++) {
		if (ms->members[i]->alive)
			alive++;
		else
			dead++;
	}
	evbuffer_add_printf(b,
	    "# HELP bgplb_membership_enabled Whether layer 2 membership runs\n"
	    "# TYPE bgplb_membership_enabled gauge\n"
	    "bgplb_membership_enabled %d\n"
	    "# HELP bgplb_membership_members Members by state (this node counts as alive)\n"
	    "# TYPE bgplb_membership_members gauge\n"
	    "bgplb_membership_members{state=\"alive\"} %zu\n"
	    "bgplb_membership_members{state=\"dead\"} %zu\n",
	    ms->enabled, alive, dead);
	evbuffer_add_printf(b,
	    "# HELP bgplb_membership_rejected_total Heartbeats refused, by reason\n"
	    "# TYPE bgplb_membership_rejected_total counter\n");
	for (int r = L2_REJ_NONE + 1; r < L2_REJ__N; r++)
		evbuffer_add_printf(b, "bgplb_membership_rejected_total"
		    "{reason=\"%s\"} %llu\n", l2_member_reject_name(r),
		    (unsigned long long)ms->rejected[r]);
	evbuffer_add_printf(b,
	    "# HELP bgplb_membership_heartbeats_sent_total Heartbeats sent\n"
	    "# TYPE bgplb_membership_heartbeats_sent_total counter\n"
	    "bgplb_membership_heartbeats_sent_total %llu\n"
	    "# HELP bgplb_membership_heartbeats_received_total Valid heartbeats received\n"
	    "# TYPE bgplb_membership_heartbeats_received_total counter\n"
	    "bgplb_membership_heartbeats_received_total %llu\n"
	    "# HELP bgplb_membership_send_errors_total Heartbeats that could not be sent\n"
	    "# TYPE bgplb_membership_send_errors_total counter\n"
	    "bgplb_membership_send_errors_total %llu\n",
	    (unsigned long long)ms->sent, (unsigned long long)ms->received,
	    (unsigned long long)ms->send_errors);
}

void
l2_membership_free(struct l2_membership *ms)
{
	struct l2_member **mbs;
	size_t n;

	if (ms == NULL)
		return;
	stop(ms, &mbs, &n);
	l2_member_free_all(mbs, n);
	if (ms->hb_ev != NULL)
		event_free(ms->hb_ev);
	if (ms->notify_ev != NULL)
		event_free(ms->notify_ev);
	free(ms->alive);
	free(ms->node);
	OPENSSL_cleanse(ms, sizeof(*ms));
	free(ms);
}

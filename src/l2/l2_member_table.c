/*
 * l2_member_table.c - the membership's member table and liveness.
 *
 * The members (every configured node but this one) sit in an array sorted
 * by name.  Each is alive or dead; a valid heartbeat (l2_member_io.c)
 * makes it alive and re-arms its dead timer, which declares it dead after
 * dead-after without one.  The live set (this node always included,
 * sorted) is published for the API to hand out, and the core's callback
 * runs from one deferred event, never from inside configure or a read
 * handler, so the core may reconfigure us from it, and several changes in
 * one loop turn give one callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bgplb/log.h"
#include "bgplb/util.h"
#include "l2_member.h"
#include "l2_member_table.h"

#define MOD			"membership"

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct l2_member *
l2_member_find(const struct l2_membership *ms, const char *name)
{
	size_t lo = 0, hi = ms->nmembers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, ms->members[mid]->name);

		if (c == 0)
			return ms->members[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void
l2_member_free(struct l2_member *mb)
{
	if (mb == NULL)
		return;
	if (mb->dead_ev != NULL)
		event_free(mb->dead_ev);
	free(mb->name);
	free(mb);
}

void
l2_member_free_all(struct l2_member **mbs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		l2_member_free(mbs[i]);
	free(mbs);
}

/*
 * Rebuild the published live set from the members' states.  Returns true
 * when it differs from the one published before.
 */
bool
l2_membership_publish(struct l2_membership *ms)
{
	size_t n = 1;
	const char **a;
	bool changed;

	for (size_t i = 0; i < ms->nmembers; i++)
		n += ms->members[i]->alive;
	a = xcalloc(n, sizeof(*a));
	n = 0;
	a[n++] = ms->node;
	for (size_t i = 0; i < ms->nmembers; i++)
		if (ms->members[i]->alive)
			a[n++] = ms->members[i]->name;
	qsort(a, n, sizeof(*a), name_cmp);
	changed = n != ms->nalive;
	for (size_t i = 0; !changed && i < n; i++)
		changed = strcmp(a[i], ms->alive[i]) != 0;
	free(ms->alive);
	ms->alive = a;
	ms->nalive = n;
	return changed;
}

/* The callback runs from its own event, never from inside configure or a
 * read handler, so the core may reconfigure us from it, and several changes
 * in one loop turn give one callback. */
void
l2_membership_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct l2_membership *ms = arg;
	bool changed = l2_membership_publish(ms) || ms->cb_pending;

	ms->cb_pending = false;
	if (changed && ms->cb != NULL)
		ms->cb(ms->cbarg);
}

void
l2_membership_schedule_notify(struct l2_membership *ms)
{
	event_active(ms->notify_ev, EV_TIMEOUT, 0);
}

void
l2_member_set_alive(struct l2_member *mb, bool alive, const char *why)
{
	if (mb->alive == alive)
		return;
	mb->alive = alive;
	mb->changed = mono_ms();
	if (alive)
		log_info(MOD, "member %s is alive (%s)", mb->name, why);
	else
		log_warn(MOD, "member %s is dead (%s)", mb->name, why);
	l2_membership_schedule_notify(mb->ms);
}

void
l2_member_dead_cb(evutil_socket_t fd, short what, void *arg)
{
	struct l2_member *mb = arg;
	char why[64];

	snprintf(why, sizeof(why), "no valid heartbeat for %ums",
	    mb->ms->dead_after_ms);
	l2_member_set_alive(mb, false, why);
}

void
l2_member_arm_dead(struct l2_member *mb, uint64_t ms_left)
{
	struct timeval tv = ms_tv(ms_left);

	evtimer_add(mb->dead_ev, &tv);
}

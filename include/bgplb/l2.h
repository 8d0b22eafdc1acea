/*
 * l2.h - layer 2 announcements: the ARP/NDP responder (an announcer backend)
 * and node membership (who is alive, so every node computes the same owner).
 *
 * The core (src/daemon.c) creates both.  Membership tells the core when the
 * set of live nodes changes; the core re-plans with the live nodes, and the
 * plan's layer 2 routes (owner, local) reach the responder through the
 * announcer interface like any other backend.
 */
#ifndef BGPLB_L2_H
#define BGPLB_L2_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "bgplb/announce.h"
#include "bgplb/config.h"

struct event_base;
struct evbuffer;

/* ---- the responder (src/l2/l2_responder.c, l2_iface.c) ------------------- */

/* The layer 2 announcer: answers ARP and NDP for the addresses whose plan
 * route says local, on the selected interfaces. */
struct announcer *l2_responder_new(struct event_base *, const char *node);

/* ---- membership (src/l2/l2_member*.c) ------------------------------------ */

struct l2_membership;

/* Called (from the event loop) whenever the set of live members changes. */
typedef void (*l2_membership_cb)(void *arg);

struct l2_membership *l2_membership_new(struct event_base *, const char *node,
	    l2_membership_cb, void *arg);
/*
 * Apply cfg->layer2.membership: (re)bind the UDP socket, (re)read the key
 * file, update the member list and timers.  Returns -1 with err set when it
 * cannot (key file unreadable or of the wrong size, bind failed); the old
 * settings then stay in force.  A config without membership stops it.
 */
int	l2_membership_configure(struct l2_membership *, const struct cfg *,
	    char *err, size_t errlen);
/* Is membership running (configured)? */
bool	l2_membership_enabled(const struct l2_membership *);
/*
 * The live members, this node included, sorted by name.  The array and
 * names stay valid until the next callback or configure.
 */
size_t	l2_membership_alive(const struct l2_membership *, const char *const **names);
/*
 * This node's services that may not be placed on it now (failing health
 * checks), as hmap_hash() of their names: they go with every heartbeat
 * (at most 64; more are cut, with a warning), and a change is sent at
 * once.  The other members' lists change their live set's meaning only
 * per service: l2_membership_member_down().
 */
void	l2_membership_set_down(struct l2_membership *, const uint64_t *hashes,
	    size_t n);
/* Does live member `node` say it can't serve the service of this hash?
 * A change of any member's list calls the callback, like a change of the
 * live set. */
bool	l2_membership_member_down(const struct l2_membership *,
	    const char *node, uint64_t hash);
/* How many services the live members report down, all together (0: no
 * need to ask l2_membership_member_down). */
size_t	l2_membership_reported_down(const struct l2_membership *);
/* {"enabled":..,"members":[{"name","address","state":"alive|dead|self",
 *  "last_seen_ms_ago",...}], "rejected": {"bad_auth":N,"replay":N,...}} */
void	l2_membership_status(const struct l2_membership *, struct json_object *out);
void	l2_membership_metrics(const struct l2_membership *, struct evbuffer *out);
void	l2_membership_free(struct l2_membership *);

#endif

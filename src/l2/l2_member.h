/*
 * l2_member.h - private to src/l2: the membership wire codec, key parsing
 * and replay rule (l2_member.c), kept pure (no sockets, no clock, no
 * event loop) so the tests drive them byte for byte.  The public API is
 * in bgplb/l2.h.
 *
 * Wire format (version 1), all integers big-endian; doc/layer2.md has the
 * same table for operators:
 *
 *   clear header (authenticated as AAD, not encrypted)
 *     0   3  magic "BLM" (0x42 0x4c 0x4d)
 *     3   1  version = 1
 *     4   1  type = 1 (heartbeat)
 *     5   1  flags = 0 (reserved; must be zero)
 *     6   8  boot id: random, chosen when the process starts (incarnation)
 *    14   8  sequence number: per sender, starts at 1, +1 per datagram
 *    22   1  sender name length n (1..253)
 *    23   n  sender node name (no NUL)
 *   sealed body (AES-256-GCM ciphertext of)
 *     0   8  sender's wall clock, ms since the Unix epoch
 *     8   1  destination name length m (1..253)
 *     9   m  destination node name
 *   9+m   *  extensions, optional, each: type (1), length L (2), value (L);
 *            a receiver skips types it does not know.  Type 1: the
 *            services the sender can't serve now (failing health checks):
 *            L/8 (at most 64) 64-bit hashes (hmap_hash) of their names.
 *            Sent only while the set is not empty: receivers older than
 *            the extensions refuse such a heartbeat as malformed.
 *   tag: 16 bytes
 *
 * Nonce (12 bytes, not sent): boot id (8) || low 32 bits of the sequence
 * (4).  Boot ids are random 64-bit values and a sender moves to a new boot
 * id before the low 32 bits of its sequence wrap, so under one key no two
 * datagrams share a nonce, which is what GCM needs.
 */
#ifndef BGPLB_L2_MEMBER_H
#define BGPLB_L2_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define L2_MEMBER_VERSION	1
#define L2_MEMBER_TYPE_HEARTBEAT 1
#define L2_MEMBER_KEY_LEN	32
#define L2_MEMBER_NONCE_LEN	12
#define L2_MEMBER_TAG_LEN	16
#define L2_MEMBER_NAME_MAX	253	/* a Kubernetes node name (DNS subdomain) */
#define L2_MEMBER_HDR_FIXED	23	/* clear header without the name */
#define L2_MEMBER_BODY_FIXED	9	/* sealed body without the name */
#define L2_MEMBER_MSG_MIN	(L2_MEMBER_HDR_FIXED + 1 + L2_MEMBER_BODY_FIXED + 1 + \
				    L2_MEMBER_TAG_LEN)
#define L2_MEMBER_EXT_DOWN	1	/* extension: services down on the sender */
#define L2_MEMBER_DOWN_MAX	64	/* hashes in one heartbeat */
#define L2_MEMBER_EXT_MAX	(3 + 8 * L2_MEMBER_DOWN_MAX)
#define L2_MEMBER_BODY_MAX	(L2_MEMBER_BODY_FIXED + L2_MEMBER_NAME_MAX + \
				    L2_MEMBER_EXT_MAX)
#define L2_MEMBER_MSG_MAX	(L2_MEMBER_HDR_FIXED + L2_MEMBER_NAME_MAX + \
				    L2_MEMBER_BODY_MAX + L2_MEMBER_TAG_LEN)
/* A new boot id is accepted only when its timestamp is this close to ours. */
#define L2_MEMBER_CLOCK_WINDOW_MS 30000
/* Boot ids of a member that were replaced by a newer one and stay refused. */
#define L2_MEMBER_RETIRED	8

/* Why a datagram was refused; also the index of the per-reason counters. */
enum l2_member_reject {
	L2_REJ_NONE = 0,
	L2_REJ_MALFORMED,	/* framing, version, lengths */
	L2_REJ_BAD_AUTH,	/* GCM tag did not verify: wrong key or tampered */
	L2_REJ_UNKNOWN_MEMBER,	/* authentic, but the sender is not configured */
	L2_REJ_WRONG_DEST,	/* authentic, but addressed to another node */
	L2_REJ_REPLAY,		/* seen before, or from a retired boot id */
	L2_REJ_STALE,		/* new boot id with a timestamp outside the window */
	L2_REJ__N,
};

/* One heartbeat, decoded. */
struct l2_member_msg {
	uint64_t	boot_id;
	uint64_t	seq;
	uint64_t	ts_ms;
	char		from[L2_MEMBER_NAME_MAX + 1];
	char		to[L2_MEMBER_NAME_MAX + 1];
	uint64_t	down[L2_MEMBER_DOWN_MAX];	/* extension 1 */
	size_t		ndown;
};

/* What the receiver remembers about one sender, for the replay rule. */
struct l2_member_replay {
	bool		valid;		/* anything accepted yet? */
	uint64_t	boot_id;	/* current boot id */
	uint64_t	seq;		/* highest sequence accepted for it */
	uint64_t	retired[L2_MEMBER_RETIRED];
	size_t		nretired;
	size_t		retired_next;	/* ring position */
};

const char *l2_member_reject_name(enum l2_member_reject);

/*
 * Seal msg into buf.  Returns the datagram length, or -1 when a name is
 * empty, too long or holds a NUL, or buf is too small, or OpenSSL fails.
 */
ssize_t	l2_member_encode(const struct l2_member_msg *,
	    const uint8_t key[L2_MEMBER_KEY_LEN], uint8_t *buf, size_t len)
	    __attribute__((warn_unused_result));
/*
 * Open a datagram.  Returns L2_REJ_NONE with *out filled, L2_REJ_MALFORMED
 * or L2_REJ_BAD_AUTH.  Never reads outside buf[0..len).
 */
enum l2_member_reject l2_member_decode(const uint8_t *buf, size_t len,
	    const uint8_t key[L2_MEMBER_KEY_LEN], struct l2_member_msg *out)
	    __attribute__((warn_unused_result));

/*
 * The replay rule (doc/layer2.md): L2_REJ_NONE when msg may be accepted
 * given what was accepted before from this sender, else L2_REJ_REPLAY or
 * L2_REJ_STALE.  Does not change the state: l2_member_replay_accept does,
 * once every other check has passed too.
 */
enum l2_member_reject l2_member_replay_check(const struct l2_member_replay *,
	    const struct l2_member_msg *, uint64_t now_ms);
void	l2_member_replay_accept(struct l2_member_replay *,
	    const struct l2_member_msg *);

/*
 * Key file contents: exactly 32 raw bytes; or 64 hex digits; or base64 of
 * 32 bytes (44 characters with padding, 43 without); text forms may end in
 * white space (a newline).  0 and key filled, or -1.
 */
int	l2_member_key_parse(const uint8_t *buf, size_t len,
	    uint8_t key[L2_MEMBER_KEY_LEN]);
/* Read and parse the key file; -1 with err set (never the content). */
int	l2_member_key_read(const char *path, uint8_t key[L2_MEMBER_KEY_LEN],
	    char *err, size_t errlen);

/* Length of a node name when it is 1..L2_MEMBER_NAME_MAX characters, else 0. */
size_t	l2_member_name_len(const char *);
/* A random, non-zero boot id; -1 when the RNG fails. */
int	l2_member_new_boot_id(uint64_t *);

#endif

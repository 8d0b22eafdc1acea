/*
 * l2_member_io.c - the membership's UDP socket: binding it, receiving
 * heartbeats and sending ours.
 *
 * A datagram is opened with the shared key (l2_member.c), then must
 * come from a configured member, be addressed to this node and pass the
 * replay rule before it counts as a sign of life (l2_member_set_alive).
 * A member is known by the name inside the authenticated datagram, never
 * by the source address: UDP sources are trivial to forge, and multi-homed
 * nodes legitimately send from another address than the one configured.
 * Anyone can send us datagrams, so refusals are counted per reason and
 * logged at most once per reason per LOG_EVERY_MS.  Sending moves to a new
 * boot id before the nonce's 32-bit sequence wraps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "bgplb/log.h"
#include "l2_member.h"
#include "l2_member_io.h"
#include "l2_member_table.h"

#define MOD			"membership"
#define RECV_BATCH		64	/* datagrams per read event: fairness */

/* "a.b.c.d:port" / "[v6]:port" of a socket address, v4-mapped shown as v4. */
const char *
l2_member_sa_fmt(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, a, sizeof(a));
			snprintf(buf, len, "%s:%u", a, ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
			snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
		}
	} else
		snprintf(buf, len, "-");
	return buf;
}

/* A socket address for addr:port usable on a socket of family fam. */
int
l2_member_make_sa(const struct addr *a, uint16_t port, int fam,
    struct sockaddr_storage *ss, socklen_t *sl)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (a->af == ADDR_AF_INET6)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (a->af == ADDR_AF_INET)
			addr_to_bytes(a, (uint8_t *)&s4->sin_addr);
		*sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (a->af == ADDR_AF_INET6)
			addr_to_bytes(a, s6->sin6_addr.s6_addr);
		else if (a->af == ADDR_AF_INET) {
			s6->sin6_addr.s6_addr[10] = 0xff;
			s6->sin6_addr.s6_addr[11] = 0xff;
			addr_to_bytes(a, s6->sin6_addr.s6_addr + 12);
		}
		*sl = sizeof(*s6);
	}
	return 0;
}

/* Printable, bounded copy of a name a remote chose, for logs. */
static const char *
safe_name(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x21 && c < 0x7f && c != '\\' && c != '"')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

static void
count_reject(struct l2_membership *ms, enum l2_member_reject why,
    const struct sockaddr_storage *src, const char *claimed)
{
	uint64_t now = mono_ms();
	char s[64], n[L2_MEMBER_NAME_MAX * 4 + 8];

	ms->rejected[why]++;
	/* Anyone can send us datagrams: at most one line per reason per
	 * period, the count says how many more there were. */
	if (ms->last_log[why] != 0 && now - ms->last_log[why] < LOG_EVERY_MS)
		return;
	ms->last_log[why] = now;
	log_warn(MOD, "heartbeat from %s%s%s%s refused: %s (%llu refused for "
	    "this reason so far)", l2_member_sa_fmt(src, s, sizeof(s)),
	    claimed != NULL && *claimed != '\0' ? " claiming to be \"" : "",
	    claimed != NULL && *claimed != '\0' ? safe_name(claimed, n,
	    sizeof(n)) : "",
	    claimed != NULL && *claimed != '\0' ? "\"" : "",
	    l2_member_reject_name(why), (unsigned long long)ms->rejected[why]);
}

/* The sender name sits in the clear header; for a log line about a datagram
 * that failed authentication it is only what the sender claims. */
static void
claimed_name(const uint8_t *buf, size_t len, char out[L2_MEMBER_NAME_MAX + 1])
{
	size_t n;

	out[0] = '\0';
	if (len < L2_MEMBER_HDR_FIXED)
		return;
	n = buf[22];
	if (n > len - L2_MEMBER_HDR_FIXED)
		n = len - L2_MEMBER_HDR_FIXED;
	memcpy(out, buf + L2_MEMBER_HDR_FIXED, n);
	out[n] = '\0';
}

static void
handle_datagram(struct l2_membership *ms, const uint8_t *buf, size_t len,
    const struct sockaddr_storage *src)
{
	struct l2_member_msg m;
	struct l2_member *mb;
	enum l2_member_reject r;
	char claimed[L2_MEMBER_NAME_MAX + 1], sb[64];

	r = l2_member_decode(buf, len, ms->key, &m);
	if (r != L2_REJ_NONE) {
		claimed_name(buf, len, claimed);
		count_reject(ms, r, src, claimed);
		return;
	}
	/* A datagram "from" ourselves is a duplicate node name or a reflection:
	 * either way not a member. */
	if ((mb = l2_member_find(ms, m.from)) == NULL) {
		count_reject(ms, L2_REJ_UNKNOWN_MEMBER, src, m.from);
		return;
	}
	if (strcmp(m.to, ms->node) != 0) {
		count_reject(ms, L2_REJ_WRONG_DEST, src, m.from);
		return;
	}
	if ((r = l2_member_replay_check(&mb->replay, &m, wall_ms())) !=
	    L2_REJ_NONE) {
		count_reject(ms, r, src, m.from);
		return;
	}
	if (mb->replay.valid && mb->replay.boot_id != m.boot_id)
		log_info(MOD, "member %s restarted (boot id %016llx -> %016llx)",
		    mb->name, (unsigned long long)mb->replay.boot_id,
		    (unsigned long long)m.boot_id);
	l2_member_replay_accept(&mb->replay, &m);
	if (m.ndown != mb->ndown || memcmp(m.down, mb->down,
	    m.ndown * sizeof(m.down[0])) != 0) {
		log_info(MOD, "member %s: %zu of its services can't be placed "
		    "on it now (was %zu)", mb->name, m.ndown, mb->ndown);
		memcpy(mb->down, m.down, sizeof(mb->down));
		mb->ndown = m.ndown;
		/* Owners change as if the live set had. */
		ms->cb_pending = true;
		l2_membership_schedule_notify(ms);
	}
	ms->received++;
	mb->received++;
	mb->seen = true;
	mb->last_seen = mono_ms();
	mb->last_src = *src;
	l2_member_arm_dead(mb, ms->dead_after_ms);
	if (!mb->alive) {
		char why[96];

		snprintf(why, sizeof(why), "heartbeat from %s",
		    l2_member_sa_fmt(src, sb, sizeof(sb)));
		l2_member_set_alive(mb, true, why);
	}
}

void
l2_membership_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct l2_membership *ms = arg;
	uint8_t buf[2048];

	for (int i = 0; i < RECV_BATCH; i++) {
		struct sockaddr_storage src;
		socklen_t sl = sizeof(src);
		ssize_t n;

		memset(&src, 0, sizeof(src));
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
		    (struct sockaddr *)&src, &sl);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug(MOD, "recvfrom: %s", strerror(errno));
			return;
		}
		/* MSG_TRUNC reports the real length: an oversized datagram is
		 * malformed, not a truncated one to decode. */
		if ((size_t)n > sizeof(buf))
			count_reject(ms, L2_REJ_MALFORMED, &src, NULL);
		else
			handle_datagram(ms, buf, (size_t)n, &src);
	}
}

static uint64_t
next_seq(struct l2_membership *ms)
{
	/* The nonce holds the low 32 bits of the sequence: move to a new boot
	 * id before they wrap (receivers take it like a restart). */
	if (((ms->seq + 1) & 0xffffffffu) == 0) {
		uint64_t id;

		if (l2_member_new_boot_id(&id) == 0) {
			ms->boot_id = id;
			ms->seq = 0;
		}
	}
	return ++ms->seq;
}

void
l2_membership_send_heartbeats(struct l2_membership *ms)
{
	struct l2_member_msg m;
	uint8_t buf[L2_MEMBER_MSG_MAX];
	char sb[64];

	if (ms->fd == -1)
		return;
	memset(&m, 0, sizeof(m));
	snprintf(m.from, sizeof(m.from), "%s", ms->node);
	memcpy(m.down, ms->down, sizeof(m.down));
	m.ndown = ms->ndown;
	for (size_t i = 0; i < ms->nmembers; i++) {
		struct l2_member *mb = ms->members[i];
		ssize_t n;

		m.boot_id = ms->boot_id;
		m.seq = next_seq(ms);
		m.boot_id = ms->boot_id;	/* next_seq may have rolled it */
		m.ts_ms = wall_ms();
		snprintf(m.to, sizeof(m.to), "%s", mb->name);
		if ((n = l2_member_encode(&m, ms->key, buf, sizeof(buf))) == -1) {
			ms->send_errors++;
			continue;
		}
		if (sendto(ms->fd, buf, (size_t)n, 0,
		    (const struct sockaddr *)&mb->sa, mb->salen) == -1) {
			uint64_t now = mono_ms();

			ms->send_errors++;
			if (ms->last_send_log == 0 ||
			    now - ms->last_send_log >= LOG_EVERY_MS) {
				ms->last_send_log = now;
				log_warn(MOD, "heartbeat to %s at %s: %s "
				    "(%llu send errors so far)", mb->name,
				    l2_member_sa_fmt(&mb->sa, sb, sizeof(sb)),
				    strerror(errno),
				    (unsigned long long)ms->send_errors);
			}
			continue;
		}
		ms->sent++;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

void
l2_membership_hb_cb(evutil_socket_t fd, short what, void *arg)
{
	l2_membership_send_heartbeats(arg);
}
void
l2_membership_close_socket(struct l2_membership *ms)
{
	if (ms->read_ev != NULL) {
		event_free(ms->read_ev);
		ms->read_ev = NULL;
	}
	if (ms->fd != -1) {
		close(ms->fd);
		ms->fd = -1;
	}
}

/* A bound, non-blocking UDP socket for listen:port; the wildcard is the
 * dual-stack [::] where IPv6 exists, else 0.0.0.0. */
int
l2_membership_open_socket(const struct addr *listen, uint16_t port, int *afp, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fam = listen->af == ADDR_AF_INET ? AF_INET : AF_INET6, fd, zero = 0;
	char sb[64];

	fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 && listen->af == 0 && errno == EAFNOSUPPORT) {
		fam = AF_INET;
		fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd == -1) {
		snprintf(err, errlen, "layer2.membership: socket: %s",
		    strerror(errno));
		return -1;
	}
	if (fam == AF_INET6 && listen->af == 0)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
		    sizeof(zero));
	l2_member_make_sa(listen, port, fam, &ss, &sl);
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		int e = errno;

		snprintf(err, errlen, "layer2.membership.listen %s: bind: %s",
		    l2_member_sa_fmt(&ss, sb, sizeof(sb)), strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	*afp = fam;
	return fd;
}

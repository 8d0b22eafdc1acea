/*
 * l2_member.c - node membership for layer 2 failover: who is alive.
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
 * (boot id, sequence) rule (l2_member_replay_check).  The codec, the key
 * parser and the replay rule are pure functions (l2_member.h); the rest of
 * this file is the libevent runtime around them: one socket, one heartbeat
 * timer, one dead timer per member, one deferred notification event.
 *
 * Nothing a remote sends is trusted before the tag verifies; after it does,
 * lengths are still checked, since a node with the key may run other code.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "l2_member.h"

#define MOD			"membership"
#define KEY_FILE_MAX		4096	/* more than any accepted form */
#define RECV_BATCH		64	/* datagrams per read event: fairness */
#define LOG_EVERY_MS		10000	/* per-reason warning rate limit */

static const uint8_t l2_magic[3] = { 0x42, 0x4c, 0x4d };	/* "BLM" */

static const char *const reject_names[L2_REJ__N] = {
	[L2_REJ_NONE] = "none",
	[L2_REJ_MALFORMED] = "malformed",
	[L2_REJ_BAD_AUTH] = "bad_auth",
	[L2_REJ_UNKNOWN_MEMBER] = "unknown_member",
	[L2_REJ_WRONG_DEST] = "wrong_destination",
	[L2_REJ_REPLAY] = "replay",
	[L2_REJ_STALE] = "stale",
};

const char *
l2_member_reject_name(enum l2_member_reject r)
{
	if ((unsigned)r >= L2_REJ__N)
		return "unknown";
	return reject_names[r];
}

/* ---- codec ------------------------------------------------------------- */

/* Bounded reader: every get fails (-1) rather than read past the end. */
struct rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

static int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->len - r->off < 1)
		return -1;
	*v = r->p[r->off++];
	return 0;
}

static int
rd_u64(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;

	if (r->len - r->off < 8)
		return -1;
	for (int i = 0; i < 8; i++)
		x = (x << 8) | r->p[r->off + i];
	r->off += 8;
	*v = x;
	return 0;
}

static int
rd_name(struct rd *r, char out[L2_MEMBER_NAME_MAX + 1])
{
	uint8_t n;

	if (rd_u8(r, &n) == -1 || n == 0 || r->len - r->off < n)
		return -1;
	if (memchr(r->p + r->off, '\0', n) != NULL)
		return -1;
	memcpy(out, r->p + r->off, n);
	out[n] = '\0';
	r->off += n;
	return 0;
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void
make_nonce(uint8_t nonce[L2_MEMBER_NONCE_LEN], uint64_t boot_id, uint64_t seq)
{
	put_u64(nonce, boot_id);
	nonce[8] = (uint8_t)(seq >> 24);
	nonce[9] = (uint8_t)(seq >> 16);
	nonce[10] = (uint8_t)(seq >> 8);
	nonce[11] = (uint8_t)seq;
}

static size_t
name_len(const char *s)
{
	size_t n = strnlen(s, L2_MEMBER_NAME_MAX + 1);

	return n >= 1 && n <= L2_MEMBER_NAME_MAX ? n : 0;
}

ssize_t
l2_member_encode(const struct l2_member_msg *m,
    const uint8_t key[L2_MEMBER_KEY_LEN], uint8_t *buf, size_t len)
{
	size_t nf = name_len(m->from), nt = name_len(m->to), hlen, blen;
	uint8_t nonce[L2_MEMBER_NONCE_LEN], body[L2_MEMBER_BODY_FIXED +
	    L2_MEMBER_NAME_MAX];
	EVP_CIPHER_CTX *ctx = NULL;
	int outl, fin;
	ssize_t ret = -1;

	if (nf == 0 || nt == 0)
		return -1;
	hlen = L2_MEMBER_HDR_FIXED + nf;
	blen = L2_MEMBER_BODY_FIXED + nt;
	if (len < hlen + blen + L2_MEMBER_TAG_LEN)
		return -1;

	memcpy(buf, l2_magic, 3);
	buf[3] = L2_MEMBER_VERSION;
	buf[4] = L2_MEMBER_TYPE_HEARTBEAT;
	buf[5] = 0;
	put_u64(buf + 6, m->boot_id);
	put_u64(buf + 14, m->seq);
	buf[22] = (uint8_t)nf;
	memcpy(buf + 23, m->from, nf);

	put_u64(body, m->ts_ms);
	body[8] = (uint8_t)nt;
	memcpy(body + 9, m->to, nt);

	make_nonce(nonce, m->boot_id, m->seq);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &outl, buf, (int)hlen) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + hlen, &outl, body, (int)blen) != 1 ||
	    (size_t)outl != blen ||
	    EVP_EncryptFinal_ex(ctx, buf + hlen + blen, &fin) != 1 || fin != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, L2_MEMBER_TAG_LEN,
	    buf + hlen + blen) != 1)
		goto out;
	ret = (ssize_t)(hlen + blen + L2_MEMBER_TAG_LEN);
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(body, sizeof(body));
	return ret;
}

enum l2_member_reject
l2_member_decode(const uint8_t *buf, size_t len,
    const uint8_t key[L2_MEMBER_KEY_LEN], struct l2_member_msg *out)
{
	struct rd r = { buf, len, 0 }, b;
	uint8_t ver, type, flags, nonce[L2_MEMBER_NONCE_LEN],
	    tag[L2_MEMBER_TAG_LEN], body[L2_MEMBER_BODY_FIXED +
	    L2_MEMBER_NAME_MAX];
	size_t hlen, blen;
	EVP_CIPHER_CTX *ctx = NULL;
	enum l2_member_reject ret = L2_REJ_MALFORMED;
	int outl, fin;

	memset(out, 0, sizeof(*out));
	if (len < L2_MEMBER_MSG_MIN || len > L2_MEMBER_MSG_MAX ||
	    memcmp(buf, l2_magic, 3) != 0)
		return L2_REJ_MALFORMED;
	r.off = 3;
	if (rd_u8(&r, &ver) == -1 || ver != L2_MEMBER_VERSION ||
	    rd_u8(&r, &type) == -1 || type != L2_MEMBER_TYPE_HEARTBEAT ||
	    rd_u8(&r, &flags) == -1 || flags != 0 ||
	    rd_u64(&r, &out->boot_id) == -1 || rd_u64(&r, &out->seq) == -1 ||
	    rd_name(&r, out->from) == -1)
		goto fail;
	hlen = r.off;
	/* What is left is the sealed body and the tag; the body's size range
	 * is known before decrypting, so a short or oversized one is
	 * malformed without spending a decryption on it. */
	if (len - hlen < L2_MEMBER_TAG_LEN)
		goto fail;
	blen = len - hlen - L2_MEMBER_TAG_LEN;
	if (blen < L2_MEMBER_BODY_FIXED + 1 || blen > sizeof(body))
		goto fail;
	memcpy(tag, buf + hlen + blen, L2_MEMBER_TAG_LEN);
	make_nonce(nonce, out->boot_id, out->seq);

	ret = L2_REJ_BAD_AUTH;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto fail;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &outl, buf, (int)hlen) != 1 ||
	    EVP_DecryptUpdate(ctx, body, &outl, buf + hlen, (int)blen) != 1 ||
	    (size_t)outl != blen ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, L2_MEMBER_TAG_LEN,
	    tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, body + blen, &fin) != 1)
		goto fail;

	/* Authentic; still parse the body with the bounded reader. */
	ret = L2_REJ_MALFORMED;
	b = (struct rd){ body, blen, 0 };
	if (rd_u64(&b, &out->ts_ms) == -1 || rd_name(&b, out->to) == -1 ||
	    b.off != blen)
		goto fail;
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(body, sizeof(body));
	return L2_REJ_NONE;
fail:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(body, sizeof(body));
	memset(out, 0, sizeof(*out));
	return ret;
}

/* ---- replay rule --------------------------------------------------------- */

/*
 * Per sender we keep its current boot id with the highest sequence
 * accepted for it, and the last few boot ids it had before (retired).
 *  - same boot id as current: accept only a strictly higher sequence;
 *  - a retired boot id: refuse (replay), whatever its sequence;
 *  - any other boot id (a restart, the first datagram we see from this
 *    sender, or a sender that rolled its boot id before its nonce counter
 *    wraps): accept only if its timestamp is within +-30 s of our clock,
 *    else refuse (stale).  This bounds what a recording can do when we have
 *    no state to compare with (we restarted, or the boot is older than the
 *    retired ring): a datagram older than 30 s is never accepted again.
 * Timestamps are not compared within one boot: the sequence already proves
 * the datagram is new, and a sender's clock may step.
 */
enum l2_member_reject
l2_member_replay_check(const struct l2_member_replay *st,
    const struct l2_member_msg *m, uint64_t now_ms)
{
	uint64_t d;

	if (st->valid && m->boot_id == st->boot_id)
		return m->seq > st->seq ? L2_REJ_NONE : L2_REJ_REPLAY;
	for (size_t i = 0; i < st->nretired; i++)
		if (st->retired[i] == m->boot_id)
			return L2_REJ_REPLAY;
	d = m->ts_ms > now_ms ? m->ts_ms - now_ms : now_ms - m->ts_ms;
	return d <= L2_MEMBER_CLOCK_WINDOW_MS ? L2_REJ_NONE : L2_REJ_STALE;
}

void
l2_member_replay_accept(struct l2_member_replay *st,
    const struct l2_member_msg *m)
{
	if (st->valid && m->boot_id != st->boot_id) {
		st->retired[st->retired_next] = st->boot_id;
		st->retired_next = (st->retired_next + 1) % L2_MEMBER_RETIRED;
		if (st->nretired < L2_MEMBER_RETIRED)
			st->nretired++;
	}
	st->valid = true;
	st->boot_id = m->boot_id;
	st->seq = m->seq;
}

/* ---- key ----------------------------------------------------------------- */

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
b64val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')	/* standard and URL-safe alphabets */
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Strict: 43 symbols (44 with one '='), and the unused low bits zero, so
 * exactly one text maps to each key. */
static int
b64_key(const uint8_t *s, size_t n, uint8_t key[L2_MEMBER_KEY_LEN])
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (n == 44 && s[43] == '=')
		n = 43;
	if (n != 43)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			key[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return o == L2_MEMBER_KEY_LEN && acc == 0 ? 0 : -1;
}

int
l2_member_key_parse(const uint8_t *buf, size_t len,
    uint8_t key[L2_MEMBER_KEY_LEN])
{
	size_t n = len;

	/* Raw first: a raw key may well end in a byte that looks like white
	 * space, so it is taken whole, only at exactly 32 bytes. */
	if (len == L2_MEMBER_KEY_LEN) {
		memcpy(key, buf, L2_MEMBER_KEY_LEN);
		return 0;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n == 2 * L2_MEMBER_KEY_LEN) {
		for (size_t i = 0; i < L2_MEMBER_KEY_LEN; i++) {
			int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);

			if (hi < 0 || lo < 0)
				goto fail;
			key[i] = (uint8_t)(hi << 4 | lo);
		}
		return 0;
	}
	if (b64_key(buf, n, key) == 0)
		return 0;
fail:
	OPENSSL_cleanse(key, L2_MEMBER_KEY_LEN);
	return -1;
}

static int
key_read(const char *path, uint8_t key[L2_MEMBER_KEY_LEN], char *err,
    size_t errlen)
{
	uint8_t buf[KEY_FILE_MAX + 1];
	size_t len = 0;
	ssize_t r;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "layer2.membership.key-file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "layer2.membership.key-file %s: "
			    "%s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	/* Never echo the content: only its size says what went wrong. */
	if (len > KEY_FILE_MAX || l2_member_key_parse(buf, len, key) == -1) {
		snprintf(err, errlen, "layer2.membership.key-file %s: %s%zu "
		    "bytes is not a key: want exactly 32 raw bytes, 64 hex "
		    "digits, or base64 of 32 bytes", path,
		    len > KEY_FILE_MAX ? "more than " : "",
		    len > KEY_FILE_MAX ? (size_t)KEY_FILE_MAX : len);
		goto out;
	}
	ret = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return ret;
}

/* ---- runtime ------------------------------------------------------------- */

struct l2_member {
	struct l2_membership	*ms;
	char			*name;
	struct addr		 addr;
	uint16_t		 port;
	struct sockaddr_storage	 sa;		/* where heartbeats go */
	socklen_t		 salen;
	bool			 alive;
	bool			 seen;		/* ever a valid heartbeat */
	uint64_t		 last_seen;	/* monotonic ms */
	uint64_t		 changed;	/* monotonic ms of last alive/dead */
	struct sockaddr_storage	 last_src;
	uint64_t		 received;
	struct l2_member_replay	 replay;
	struct event		*dead_ev;
};

struct l2_membership {
	struct event_base	*base;
	char			*node;
	l2_membership_cb	 cb;
	void			*cbarg;

	bool			 enabled;
	uint8_t			 key[L2_MEMBER_KEY_LEN];
	char			*key_file;
	struct addr		 listen;	/* af 0: wildcard */
	uint16_t		 port;
	int			 fd;
	int			 fd_af;		/* AF_INET or AF_INET6 */
	struct event		*read_ev;
	struct event		*hb_ev;
	uint32_t		 interval_ms;
	uint32_t		 dead_after_ms;

	struct l2_member	**members;	/* sorted by name; self excluded */
	size_t			 nmembers;

	uint64_t		 boot_id;
	uint64_t		 seq;		/* last sent */

	/* The published live set (what l2_membership_alive returns) and the
	 * deferred callback that republishes it. */
	const char		**alive;
	size_t			 nalive;
	struct event		*notify_ev;
	bool			 cb_pending;

	uint64_t		 rejected[L2_REJ__N];
	uint64_t		 last_log[L2_REJ__N];
	uint64_t		 sent, received, send_errors, last_send_log;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct timeval
ms_tv(uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	return tv;
}

static int
new_boot_id(uint64_t *id)
{
	uint8_t b[8];

	do {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return -1;
		*id = 0;
		for (int i = 0; i < 8; i++)
			*id = (*id << 8) | b[i];
	} while (*id == 0);
	return 0;
}

/* "a.b.c.d:port" / "[v6]:port" of a socket address, v4-mapped shown as v4. */
static const char *
sa_fmt(const struct sockaddr_storage *ss, char *buf, size_t len)
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
static int
make_sa(const struct addr *a, uint16_t port, int fam,
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

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
member_cmp(const void *a, const void *b)
{
	const struct l2_member *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static struct l2_member *
member_find(const struct l2_membership *ms, const char *name)
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

static void
member_free(struct l2_member *mb)
{
	if (mb == NULL)
		return;
	if (mb->dead_ev != NULL)
		event_free(mb->dead_ev);
	free(mb->name);
	free(mb);
}

/*
 * Rebuild the published live set from the members' states.  Returns true
 * when it differs from the one published before.
 */
static bool
publish(struct l2_membership *ms)
{
	size_t n = 1;
	const char **a;
	bool changed;

	for (size_t i = 0; i < ms->nmembers; i++)
		n += ms->members[i]->alive;
	if ((a = calloc(n, sizeof(*a))) == NULL)
		fatalx("membership: out of memory");
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
static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct l2_membership *ms = arg;
	bool changed = publish(ms) || ms->cb_pending;

	ms->cb_pending = false;
	if (changed && ms->cb != NULL)
		ms->cb(ms->cbarg);
}

static void
schedule_notify(struct l2_membership *ms)
{
	event_active(ms->notify_ev, EV_TIMEOUT, 0);
}

static void
set_alive(struct l2_member *mb, bool alive, const char *why)
{
	if (mb->alive == alive)
		return;
	mb->alive = alive;
	mb->changed = mono_ms();
	if (alive)
		log_info(MOD, "member %s is alive (%s)", mb->name, why);
	else
		log_warn(MOD, "member %s is dead (%s)", mb->name, why);
	schedule_notify(mb->ms);
}

static void
dead_cb(evutil_socket_t fd, short what, void *arg)
{
	struct l2_member *mb = arg;
	char why[64];

	snprintf(why, sizeof(why), "no valid heartbeat for %ums",
	    mb->ms->dead_after_ms);
	set_alive(mb, false, why);
}

static void
arm_dead(struct l2_member *mb, uint64_t ms_left)
{
	struct timeval tv = ms_tv(ms_left);

	evtimer_add(mb->dead_ev, &tv);
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
	    "this reason so far)", sa_fmt(src, s, sizeof(s)),
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
	if ((mb = member_find(ms, m.from)) == NULL) {
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
	ms->received++;
	mb->received++;
	mb->seen = true;
	mb->last_seen = mono_ms();
	mb->last_src = *src;
	arm_dead(mb, ms->dead_after_ms);
	if (!mb->alive) {
		char why[96];

		snprintf(why, sizeof(why), "heartbeat from %s",
		    sa_fmt(src, sb, sizeof(sb)));
		set_alive(mb, true, why);
	}
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
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

		if (new_boot_id(&id) == 0) {
			ms->boot_id = id;
			ms->seq = 0;
		}
	}
	return ++ms->seq;
}

static void
send_heartbeats(struct l2_membership *ms)
{
	struct l2_member_msg m;
	uint8_t buf[L2_MEMBER_MSG_MAX];
	char sb[64];

	if (ms->fd == -1)
		return;
	memset(&m, 0, sizeof(m));
	snprintf(m.from, sizeof(m.from), "%s", ms->node);
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
				    sa_fmt(&mb->sa, sb, sizeof(sb)),
				    strerror(errno),
				    (unsigned long long)ms->send_errors);
			}
			continue;
		}
		ms->sent++;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

static void
hb_cb(evutil_socket_t fd, short what, void *arg)
{
	send_heartbeats(arg);
}

struct l2_membership *
l2_membership_new(struct event_base *base, const char *node,
    l2_membership_cb cb, void *arg)
{
	struct l2_membership *ms;

	if (node == NULL || name_len(node) == 0 ||
	    (ms = calloc(1, sizeof(*ms))) == NULL)
		return NULL;
	ms->base = base;
	ms->cb = cb;
	ms->cbarg = arg;
	ms->fd = -1;
	if ((ms->node = strdup(node)) == NULL ||
	    new_boot_id(&ms->boot_id) == -1 ||
	    (ms->notify_ev = event_new(base, -1, 0, notify_cb, ms)) == NULL ||
	    (ms->hb_ev = event_new(base, -1, EV_PERSIST, hb_cb, ms)) == NULL)
		goto fail;
	publish(ms);
	return ms;
fail:
	l2_membership_free(ms);
	return NULL;
}

static void
close_socket(struct l2_membership *ms)
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

static void
free_members(struct l2_member **mbs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		member_free(mbs[i]);
	free(mbs);
}

/* Stop everything; the members are handed back to the caller because the
 * published live set may still point at their names. */
static void
stop(struct l2_membership *ms, struct l2_member ***mbs, size_t *n)
{
	close_socket(ms);
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

/* A bound, non-blocking UDP socket for listen:port; the wildcard is the
 * dual-stack [::] where IPv6 exists, else 0.0.0.0. */
static int
open_socket(const struct addr *listen, uint16_t port, int *afp, char *err,
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
	make_sa(listen, port, fam, &ss, &sl);
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		int e = errno;

		snprintf(err, errlen, "layer2.membership.listen %s: bind: %s",
		    sa_fmt(&ss, sb, sizeof(sb)), strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	*afp = fam;
	return fd;
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
		if (publish(ms)) {
			ms->cb_pending = true;
			schedule_notify(ms);
		}
		free_members(old, nold);
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
	if (key_read(l2->key_file, key, err, errlen) == -1)
		return -1;

	rebind = ms->fd == -1 || ms->port != l2->listen_port ||
	    !(ms->listen.af == l2->listen.af && (ms->listen.af == 0 ||
	    addr_eq(&ms->listen, &l2->listen)));
	if (rebind) {
		fd = open_socket(&l2->listen, l2->listen_port, &fam, err, errlen);
		if (fd == -1 && errno == EADDRINUSE && ms->fd != -1) {
			/* Moving between the wildcard and a specific address
			 * on the same port collides with our own old socket:
			 * release it; the fail path takes it back. */
			close_socket(ms);
			closed_old = true;
			fd = open_socket(&l2->listen, l2->listen_port, &fam,
			    err, errlen);
		}
		if (fd == -1)
			goto fail;
	}

	/* The new member list; state moves over by name. */
	if ((nm = calloc(l2->nmembers + 1, sizeof(*nm))) == NULL) {
		snprintf(err, errlen, "layer2.membership: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < l2->nmembers; i++) {
		const struct cfg_member *c = &l2->members[i];
		struct l2_member *mb;

		if (strcmp(c->name, ms->node) == 0)
			continue;	/* self: listed so every node shares one list */
		if (name_len(c->name) == 0) {
			snprintf(err, errlen, "layer2.membership.members[%zu]: "
			    "name must be 1..%d characters", i,
			    L2_MEMBER_NAME_MAX);
			goto fail;
		}
		if ((mb = calloc(1, sizeof(*mb))) == NULL ||
		    (mb->name = strdup(c->name)) == NULL) {
			member_free(mb);
			snprintf(err, errlen, "layer2.membership: out of memory");
			goto fail;
		}
		nm[nn++] = mb;
		mb->ms = ms;
		mb->addr = c->address;
		mb->port = c->port;
		if (make_sa(&c->address, c->port, fam, &mb->sa, &mb->salen) ==
		    -1) {
			snprintf(err, errlen, "layer2.membership.members[%zu] "
			    "%s: an IPv6 address, but listen is IPv4", i,
			    c->name);
			goto fail;
		}
		if ((mb->dead_ev = evtimer_new(ms->base, dead_cb, mb)) == NULL) {
			snprintf(err, errlen, "layer2.membership: out of memory");
			goto fail;
		}
	}
	qsort(nm, nn, sizeof(*nm), member_cmp);

	/* Commit: nothing below fails. */
	if (rebind) {
		close_socket(ms);
		ms->fd = fd;
		ms->fd_af = fam;
		fd = -1;
		if ((ms->read_ev = event_new(ms->base, ms->fd,
		    EV_READ | EV_PERSIST, read_cb, ms)) == NULL)
			fatalx("membership: out of memory");
		event_add(ms->read_ev, NULL);
	}
	memcpy(ms->key, key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	free(ms->key_file);
	if ((ms->key_file = strdup(l2->key_file)) == NULL)
		fatalx("membership: out of memory");
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
				arm_dead(mb, l2->dead_after_ms - age);
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
	if (publish(ms)) {
		ms->cb_pending = true;
		schedule_notify(ms);
	}
	free_members(old, nold);
	/* Tell the others at once rather than one interval from now. */
	send_heartbeats(ms);
	return 0;

fail:
	OPENSSL_cleanse(key, sizeof(key));
	if (fd != -1)
		close(fd);
	for (size_t i = 0; nm != NULL && i < nn; i++)
		member_free(nm[i]);
	free(nm);
	if (closed_old) {
		char err2[256];
		int oldfam;

		ms->fd = open_socket(&ms->listen, ms->port, &oldfam, err2,
		    sizeof(err2));
		if (ms->fd == -1)
			log_error(MOD, "cannot take the old socket back, "
			    "heartbeats stopped: %s", err2);
		else if ((ms->read_ev = event_new(ms->base, ms->fd,
		    EV_READ | EV_PERSIST, read_cb, ms)) == NULL)
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
	    json_object_new_string(sa_fmt(&mb->last_src, buf, sizeof(buf))) :
	    NULL);
	json_object_object_add(o, "changed_ms_ago", mb->changed != 0 ?
	    json_object_new_int64((int64_t)(now - mb->changed)) : NULL);
	json_object_object_add(o, "heartbeats_received",
	    json_object_new_int64((int64_t)mb->received));
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
		json_object_object_add(rej, reject_names[r],
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
		    "{reason=\"%s\"} %llu\n", reject_names[r],
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
	free_members(mbs, n);
	if (ms->hb_ev != NULL)
		event_free(ms->hb_ev);
	if (ms->notify_ev != NULL)
		event_free(ms->notify_ev);
	free(ms->alive);
	free(ms->node);
	OPENSSL_cleanse(ms, sizeof(*ms));
	free(ms);
}

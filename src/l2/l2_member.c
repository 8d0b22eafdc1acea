/*
 * l2_member.c - the membership heartbeat on the wire: the codec
 * (AES-256-GCM sealed datagrams, l2_member.h has the format), the replay
 * rule, the shared key (parsing and reading the key file) and boot ids.
 *
 * All of it is pure but for reading the key file and drawing a random
 * boot id: no sockets, no clock, no event loop, so the tests and the
 * fuzzer drive it byte for byte.  The runtime around it is
 * l2_membership.c (the API), l2_member_table.c (the member table and
 * liveness) and l2_member_io.c (the socket).
 *
 * Nothing a remote sends is trusted before the tag verifies; after it does,
 * lengths are still checked, since a node with the key may run other code.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "l2_member.h"

#define KEY_FILE_MAX		4096	/* more than any accepted form */

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
rd_u16(struct rd *r, uint16_t *v)
{
	if (r->len - r->off < 2)
		return -1;
	*v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
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

size_t
l2_member_name_len(const char *s)
{
	size_t n = strnlen(s, L2_MEMBER_NAME_MAX + 1);

	return n >= 1 && n <= L2_MEMBER_NAME_MAX ? n : 0;
}

ssize_t
l2_member_encode(const struct l2_member_msg *m,
    const uint8_t key[L2_MEMBER_KEY_LEN], uint8_t *buf, size_t len)
{
	size_t nf = l2_member_name_len(m->from), nt = l2_member_name_len(m->to), hlen, blen;
	uint8_t nonce[L2_MEMBER_NONCE_LEN], body[L2_MEMBER_BODY_MAX];
	EVP_CIPHER_CTX *ctx = NULL;
	int outl, fin;
	ssize_t ret = -1;

	if (nf == 0 || nt == 0 || m->ndown > L2_MEMBER_DOWN_MAX)
		return -1;
	hlen = L2_MEMBER_HDR_FIXED + nf;
	blen = L2_MEMBER_BODY_FIXED + nt;
	if (m->ndown > 0)
		blen += 3 + 8 * m->ndown;
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
	if (m->ndown > 0) {
		uint8_t *e = body + 9 + nt;

		e[0] = L2_MEMBER_EXT_DOWN;
		e[1] = (uint8_t)((8 * m->ndown) >> 8);
		e[2] = (uint8_t)(8 * m->ndown);
		for (size_t i = 0; i < m->ndown; i++)
			put_u64(e + 3 + 8 * i, m->down[i]);
	}

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

/* Extensions up to the end of the body: known ones once each, others
 * skipped. */
static int
decode_exts(struct rd *b, struct l2_member_msg *out)
{
	bool seen_down = false;

	while (b->off < b->len) {
		uint8_t t;
		uint16_t l;

		if (rd_u8(b, &t) == -1 || rd_u16(b, &l) == -1 ||
		    b->len - b->off < l)
			return -1;
		if (t != L2_MEMBER_EXT_DOWN) {
			b->off += l;
			continue;
		}
		if (seen_down || l % 8 != 0 || l / 8 > L2_MEMBER_DOWN_MAX)
			return -1;
		seen_down = true;
		for (size_t i = 0; i < (size_t)l / 8; i++)
			(void)rd_u64(b, &out->down[out->ndown++]);
	}
	return 0;
}

enum l2_member_reject
l2_member_decode(const uint8_t *buf, size_t len,
    const uint8_t key[L2_MEMBER_KEY_LEN], struct l2_member_msg *out)
{
	struct rd r = { buf, len, 0 }, b;
	uint8_t ver, type, flags, nonce[L2_MEMBER_NONCE_LEN],
	    tag[L2_MEMBER_TAG_LEN], body[L2_MEMBER_BODY_MAX];
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
	    decode_exts(&b, out) == -1)
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

int
l2_member_key_read(const char *path, uint8_t key[L2_MEMBER_KEY_LEN], char *err,
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

/* ---- boot id ------------------------------------------------------------- */

/* A random boot id (the first 8 bytes of every nonce), never 0. */
int
l2_member_new_boot_id(uint64_t *id)
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


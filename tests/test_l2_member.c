/*
 * test_l2_member.c - layer 2 membership: the heartbeat codec, the key file
 * forms and the replay rule as pure functions, then a few membership
 * instances on one event base talking over 127.0.0.1 only.
 *
 * The pure tests are tables; the loopback test runs the loop in short
 * slices until a condition holds or a deadline passes, so it is as fast as
 * the protocol and still fails (rather than hangs) when something is wrong.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "l2_member.h"

#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))

static const uint8_t key1[L2_MEMBER_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const uint8_t key2[L2_MEMBER_KEY_LEN] = { 0xff, 0x01 };

static uint64_t
now_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct l2_member_msg
mkmsg(const char *from, const char *to, uint64_t boot, uint64_t seq,
    uint64_t ts)
{
	struct l2_member_msg m;

	memset(&m, 0, sizeof(m));
	snprintf(m.from, sizeof(m.from), "%s", from);
	snprintf(m.to, sizeof(m.to), "%s", to);
	m.boot_id = boot;
	m.seq = seq;
	m.ts_ms = ts;
	return m;
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* ---- codec --------------------------------------------------------------- */

static char name253[254], name254[255];

static void
setup_names(void)
{
	memset(name253, 'n', 253);
	name253[253] = '\0';
	memset(name254, 'x', 254);
	name254[254] = '\0';
}

static const struct {
	const char	*from, *to;
	uint64_t	 boot, seq, ts;
} rt_cases[] = {
	{ "worker-1", "worker-2", 0x0102030405060708ull, 1, 1700000000000ull },
	{ "a", "b", 1, 0xffffffffffffffffull, 0 },
	{ "node.example.com", "x", 0xdeadbeefcafef00dull, 0x100000000ull, 42 },
	{ NULL /* name253 */, NULL /* name253 */, 7, 9, 11 },
};

START_TEST(test_round_trip)
{
	struct l2_member_msg m, got;
	uint8_t buf[L2_MEMBER_MSG_MAX], buf2[L2_MEMBER_MSG_MAX];
	ssize_t n, n2;
	size_t nf, nt;

	setup_names();
	m = mkmsg(rt_cases[_i].from ? rt_cases[_i].from : name253,
	    rt_cases[_i].to ? rt_cases[_i].to : name253, rt_cases[_i].boot,
	    rt_cases[_i].seq, rt_cases[_i].ts);
	nf = strlen(m.from);
	nt = strlen(m.to);
	n = l2_member_encode(&m, key1, buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)(23 + nf + 9 + nt + 16));
	/* The clear header, byte for byte. */
	ck_assert_int_eq(buf[0], 0x42);
	ck_assert_int_eq(buf[1], 0x4c);
	ck_assert_int_eq(buf[2], 0x4d);
	ck_assert_int_eq(buf[3], 1);
	ck_assert_int_eq(buf[4], 1);
	ck_assert_int_eq(buf[5], 0);
	ck_assert_uint_eq(get_u64(buf + 6), m.boot_id);
	ck_assert_uint_eq(get_u64(buf + 14), m.seq);
	ck_assert_uint_eq(buf[22], nf);
	ck_assert_int_eq(memcmp(buf + 23, m.from, nf), 0);
	/* The destination is sealed, not in clear (names of 1 char could
	 * match by chance, so only check the longer ones). */
	if (nt > 4)
		ck_assert_ptr_null(memmem(buf + 23 + nf, (size_t)n - 23 - nf,
		    m.to, nt));
	/* Deterministic: the nonce comes from boot id and sequence. */
	n2 = l2_member_encode(&m, key1, buf2, sizeof(buf2));
	ck_assert_int_eq(n2, n);
	ck_assert_int_eq(memcmp(buf, buf2, (size_t)n), 0);

	ck_assert_int_eq(l2_member_decode(buf, (size_t)n, key1, &got),
	    L2_REJ_NONE);
	ck_assert_str_eq(got.from, m.from);
	ck_assert_str_eq(got.to, m.to);
	ck_assert_uint_eq(got.boot_id, m.boot_id);
	ck_assert_uint_eq(got.seq, m.seq);
	ck_assert_uint_eq(got.ts_ms, m.ts_ms);

	/* Too small a buffer, by one byte. */
	ck_assert_int_eq(l2_member_encode(&m, key1, buf2, (size_t)n - 1), -1);
}
END_TEST

START_TEST(test_encode_bad_names)
{
	struct l2_member_msg m;
	uint8_t buf[L2_MEMBER_MSG_MAX + 16];

	setup_names();
	m = mkmsg("", "b", 1, 1, 1);
	ck_assert_int_eq(l2_member_encode(&m, key1, buf, sizeof(buf)), -1);
	m = mkmsg("a", "", 1, 1, 1);
	ck_assert_int_eq(l2_member_encode(&m, key1, buf, sizeof(buf)), -1);
	/* 254 characters do not fit the name field (the struct holds 253 + NUL,
	 * so build the overlong name by filling the array without a NUL). */
	m = mkmsg("a", "b", 1, 1, 1);
	memset(m.from, 'x', sizeof(m.from));
	ck_assert_int_eq(l2_member_encode(&m, key1, buf, sizeof(buf)), -1);
	m = mkmsg("a", "b", 1, 1, 1);
	memset(m.to, 'x', sizeof(m.to));
	ck_assert_int_eq(l2_member_encode(&m, key1, buf, sizeof(buf)), -1);
}
END_TEST

/* Flipping any bit pattern of any byte is refused: framing bytes as
 * malformed, the name length either way, everything else as bad_auth. */
START_TEST(test_tamper_every_byte)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff, 0x5a };
	struct l2_member_msg m = mkmsg("worker-1", "worker-2", 0x1122334455667788ull,
	    99, 1700000000000ull), got;
	uint8_t buf[L2_MEMBER_MSG_MAX];
	ssize_t n = l2_member_encode(&m, key1, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	for (ssize_t off = 0; off < n; off++) {
		for (size_t k = 0; k < NELEM(masks); k++) {
			enum l2_member_reject r;

			buf[off] ^= masks[k];
			r = l2_member_decode(buf, (size_t)n, key1, &got);
			buf[off] ^= masks[k];
			if (off <= 5)
				ck_assert_msg(r == L2_REJ_MALFORMED,
				    "offset %zd mask %02x: %s", off, masks[k],
				    l2_member_reject_name(r));
			else if (off == 22)
				ck_assert_msg(r == L2_REJ_MALFORMED ||
				    r == L2_REJ_BAD_AUTH, "offset %zd mask %02x: "
				    "%s", off, masks[k], l2_member_reject_name(r));
			else
				ck_assert_msg(r == L2_REJ_BAD_AUTH,
				    "offset %zd mask %02x: %s", off, masks[k],
				    l2_member_reject_name(r));
			/* Nothing of a refused datagram leaks out. */
			ck_assert_str_eq(got.from, "");
		}
	}
	/* Untouched, it still opens. */
	ck_assert_int_eq(l2_member_decode(buf, (size_t)n, key1, &got),
	    L2_REJ_NONE);
}
END_TEST

START_TEST(test_wrong_key)
{
	struct l2_member_msg m = mkmsg("a", "b", 5, 6, 7), got;
	uint8_t buf[L2_MEMBER_MSG_MAX], k[L2_MEMBER_KEY_LEN];
	ssize_t n = l2_member_encode(&m, key1, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(l2_member_decode(buf, (size_t)n, key2, &got),
	    L2_REJ_BAD_AUTH);
	/* One bit off in the key is as wrong as any other key. */
	memcpy(k, key1, sizeof(k));
	k[31] ^= 1;
	ck_assert_int_eq(l2_member_decode(buf, (size_t)n, k, &got),
	    L2_REJ_BAD_AUTH);
}
END_TEST

START_TEST(test_truncated)
{
	struct l2_member_msg m = mkmsg("worker-1", "worker-2", 1, 2, 3), got;
	uint8_t buf[L2_MEMBER_MSG_MAX + 1];
	ssize_t n = l2_member_encode(&m, key1, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	for (ssize_t len = 0; len < n; len++) {
		enum l2_member_reject r = l2_member_decode(buf, (size_t)len,
		    key1, &got);

		/* Short of the header and a minimal body: malformed before any
		 * decryption; longer: the tag no longer matches. */
		if (len < (ssize_t)(23 + 8 + 9 + 1 + 16))
			ck_assert_msg(r == L2_REJ_MALFORMED, "len %zd: %s", len,
			    l2_member_reject_name(r));
		else
			ck_assert_msg(r == L2_REJ_BAD_AUTH, "len %zd: %s", len,
			    l2_member_reject_name(r));
	}
	/* One byte appended: still refused. */
	buf[n] = 0;
	ck_assert_int_eq(l2_member_decode(buf, (size_t)n + 1, key1, &got),
	    L2_REJ_BAD_AUTH);
}
END_TEST

static const struct {
	const char	*what;
	const char	*hex;		/* datagram, hex */
	size_t		 repeat;	/* >0: that many copies of the one byte */
} garbage_cases[] = {
	{ "empty", "", 0 },
	{ "text", "68656c6c6f0a", 0 },
	{ "zeros", "00", 200 },
	{ "ff", "ff", 600 },
	{ "oversized", "42", L2_MEMBER_MSG_MAX + 1 },
	{ "magic only", "424c4d", 0 },
	{ "version 2", "424c4d02010000000000000000010000000000000001016100"
	    "000000000000000101620000000000000000000000000000000000", 0 },
	{ "type 2", "424c4d01020000000000000000010000000000000001016100"
	    "000000000000000101620000000000000000000000000000000000", 0 },
	{ "flags", "424c4d01010100000000000000010000000000000001016100"
	    "000000000000000101620000000000000000000000000000000000", 0 },
	{ "name len 0", "424c4d01010000000000000000010000000000000001000000"
	    "000000000000000101620000000000000000000000000000000000", 0 },
	{ "name past end", "424c4d01010000000000000000010000000000000001ff6100"
	    "000000000000000101620000000000000000000000000000000000", 0 },
	{ "NUL in name", "424c4d01010000000000000000010000000000000001020061"
	    "000000000000000101620000000000000000000000000000000000", 0 },
};

static size_t
unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		unsigned v;

		ck_assert_msg(sscanf(s, "%2x", &v) == 1, "bad hex at %s", s);
		ck_assert(n < max);
		out[n++] = (uint8_t)v;
	}
	return n;
}

START_TEST(test_garbage)
{
	uint8_t buf[2048];
	struct l2_member_msg got;
	size_t n;

	if (garbage_cases[_i].repeat > 0) {
		ck_assert(unhex(garbage_cases[_i].hex, buf, 1) == 1);
		n = garbage_cases[_i].repeat;
		ck_assert(n <= sizeof(buf));
		memset(buf, buf[0], n);
	} else
		n = unhex(garbage_cases[_i].hex, buf, sizeof(buf));
	ck_assert_msg(l2_member_decode(buf, n, key1, &got) == L2_REJ_MALFORMED,
	    "%s", garbage_cases[_i].what);
}
END_TEST

/* Seal a hand-made body, to reach the checks behind the tag. */
static size_t
seal(const uint8_t *hdr, size_t hlen, const uint8_t *body, size_t blen,
    uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t nonce[12];
	int l;

	memcpy(nonce, hdr + 6, 8);
	memcpy(nonce + 8, hdr + 18, 4);
	memcpy(out, hdr, hlen);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key1,
	    nonce), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(ctx, NULL, &l, hdr, (int)hlen), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(ctx, out + hlen, &l, body,
	    (int)blen), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, out + hlen + blen, &l), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
	    out + hlen + blen), 1);
	EVP_CIPHER_CTX_free(ctx);
	return hlen + blen + 16;
}

static const struct {
	const char	*what;
	const char	*body;		/* hex */
	enum l2_member_reject want;
} body_cases[] = {
	{ "valid", "0000000000000001" "0162", L2_REJ_NONE },
	{ "dest len 0", "0000000000000001" "0062", L2_REJ_MALFORMED },
	{ "dest past end", "0000000000000001" "0262", L2_REJ_MALFORMED },
	{ "trailing byte", "0000000000000001" "016263", L2_REJ_MALFORMED },
	{ "NUL in dest", "0000000000000001" "020062", L2_REJ_MALFORMED },
	{ "body too short", "00000000000001" "0162", L2_REJ_MALFORMED },
};

START_TEST(test_sealed_body)
{
	static const char *hdrhex = "424c4d0101000000000000000007"
	    "0000000000000009" "0161";
	uint8_t hdr[64], body[64], dg[256];
	struct l2_member_msg got;
	size_t hl = unhex(hdrhex, hdr, sizeof(hdr));
	size_t bl = unhex(body_cases[_i].body, body, sizeof(body));
	size_t n = seal(hdr, hl, body, bl, dg);

	ck_assert_uint_eq(hl, 24);
	ck_assert_msg(l2_member_decode(dg, n, key1, &got) == body_cases[_i].want,
	    "%s", body_cases[_i].what);
	if (body_cases[_i].want == L2_REJ_NONE) {
		/* Our own encoder makes the same bytes: the format as documented. */
		struct l2_member_msg m = mkmsg("a", "b", 7, 9, 1);
		uint8_t enc[L2_MEMBER_MSG_MAX];
		ssize_t en = l2_member_encode(&m, key1, enc, sizeof(enc));

		ck_assert_str_eq(got.from, "a");
		ck_assert_str_eq(got.to, "b");
		ck_assert_uint_eq(got.boot_id, 7);
		ck_assert_uint_eq(got.seq, 9);
		ck_assert_uint_eq(got.ts_ms, 1);
		ck_assert_int_eq(en, (ssize_t)n);
		ck_assert_int_eq(memcmp(enc, dg, n), 0);
	}
}
END_TEST

/* Extensions after the destination (type, 16-bit length, value): the
 * services down on the sender; unknown types skipped. */
#define H8(x)	x x x x x x x x
static const struct {
	const char	*what;
	const char	*ext;		/* hex, after body "...0162" */
	enum l2_member_reject want;
	size_t		 ndown;
} ext_cases[] = {
	{ "none: as before", "", L2_REJ_NONE, 0 },
	{ "two services down", "01" "0010" "0000000000000001" "ffffffffffffffff",
	  L2_REJ_NONE, 2 },
	{ "empty down list", "01" "0000", L2_REJ_NONE, 0 },
	{ "unknown type skipped", "07" "0002" "abcd", L2_REJ_NONE, 0 },
	{ "unknown, then down", "07" "0001" "ab" "01" "0008" "0000000000000005",
	  L2_REJ_NONE, 1 },
	{ "length not a multiple of 8", "01" "0003" "aabbcc", L2_REJ_MALFORMED, 0 },
	{ "length past the end", "01" "0010" "0000000000000001",
	  L2_REJ_MALFORMED, 0 },
	{ "down twice", "01" "0008" "0000000000000001" "01" "0008"
	  "0000000000000002", L2_REJ_MALFORMED, 0 },
	{ "short extension header", "01" "00", L2_REJ_MALFORMED, 0 },
	{ "65 hashes: more than allowed", "01" "0208"
	  H8(H8(H8("00"))) "0000000000000001", L2_REJ_MALFORMED, 0 },
	{ "64 hashes: the most allowed", "01" "0200" H8(H8(H8("00"))),
	  L2_REJ_NONE, 64 },
};

START_TEST(test_extensions)
{
	static const char *hdrhex = "424c4d0101000000000000000007"
	    "0000000000000009" "0161";
	uint8_t hdr[64], body[1024], dg[1200];
	struct l2_member_msg got;
	size_t hl = unhex(hdrhex, hdr, sizeof(hdr)), bl, n;

	bl = unhex("0000000000000001" "0162", body, sizeof(body));
	bl += unhex(ext_cases[_i].ext, body + bl, sizeof(body) - bl);
	n = seal(hdr, hl, body, bl, dg);
	ck_assert_msg(l2_member_decode(dg, n, key1, &got) == ext_cases[_i].want,
	    "%s", ext_cases[_i].what);
	if (ext_cases[_i].want == L2_REJ_NONE) {
		ck_assert_uint_eq(got.ndown, ext_cases[_i].ndown);
		ck_assert_str_eq(got.to, "b");
	}
}
END_TEST

START_TEST(test_down_round_trip)
{
	struct l2_member_msg m = mkmsg("node-a", "node-b", 3, 4, 5), got;
	uint8_t buf[L2_MEMBER_MSG_MAX];
	ssize_t n;

	/* Without a list: the version 1 datagram, as long as before. */
	n = l2_member_encode(&m, key1, buf, sizeof(buf));
	ck_assert_int_eq(n, 23 + 6 + 9 + 6 + 16);
	for (size_t i = 0; i < L2_MEMBER_DOWN_MAX; i++)
		m.down[i] = 0x1000 + i;
	m.ndown = L2_MEMBER_DOWN_MAX;
	n = l2_member_encode(&m, key1, buf, sizeof(buf));
	ck_assert_int_eq(n, 23 + 6 + 9 + 6 + 3 + 8 * L2_MEMBER_DOWN_MAX + 16);
	ck_assert_int_eq(l2_member_decode(buf, (size_t)n, key1, &got),
	    L2_REJ_NONE);
	ck_assert_uint_eq(got.ndown, L2_MEMBER_DOWN_MAX);
	ck_assert_int_eq(memcmp(got.down, m.down, sizeof(m.down)), 0);
	m.ndown = L2_MEMBER_DOWN_MAX + 1;
	ck_assert_int_eq(l2_member_encode(&m, key1, buf, sizeof(buf)), -1);
}
END_TEST

/* ---- replay rule ----------------------------------------------------------- */

#define NOW	1700000000000ull

struct rp_step {
	uint64_t		boot, seq;
	int64_t			skew;	/* message ts - our clock, ms */
	enum l2_member_reject	want;
};

static const struct {
	const char	*what;
	struct rp_step	 steps[16];
} replay_cases[] = {
	{ "increasing sequence", {
		{ 1, 1, 0, L2_REJ_NONE }, { 1, 2, 0, L2_REJ_NONE },
		{ 1, 10, 0, L2_REJ_NONE }, { 1, 11, -100000, L2_REJ_NONE },
		{ 0 } } },
	{ "same packet twice", {
		{ 1, 5, 0, L2_REJ_NONE }, { 1, 5, 0, L2_REJ_REPLAY }, { 0 } } },
	{ "older sequence", {
		{ 1, 5, 0, L2_REJ_NONE }, { 1, 4, 0, L2_REJ_REPLAY },
		{ 1, 0, 0, L2_REJ_REPLAY }, { 1, 6, 0, L2_REJ_NONE }, { 0 } } },
	{ "restart: new boot accepted, old boot refused for good", {
		{ 1, 100, 0, L2_REJ_NONE }, { 2, 1, 0, L2_REJ_NONE },
		{ 1, 101, 0, L2_REJ_REPLAY }, { 1, 1000, 0, L2_REJ_REPLAY },
		{ 2, 2, 0, L2_REJ_NONE }, { 0 } } },
	{ "new boot may start at any sequence", {
		{ 1, 100, 0, L2_REJ_NONE }, { 2, 50, 0, L2_REJ_NONE },
		{ 2, 50, 0, L2_REJ_REPLAY }, { 0 } } },
	{ "first contact: timestamp window", {
		{ 1, 1, -30001, L2_REJ_STALE }, { 1, 1, 30001, L2_REJ_STALE },
		{ 1, 1, -30000, L2_REJ_NONE }, { 2, 1, 30000, L2_REJ_NONE },
		{ 0 } } },
	{ "stale new boot does not displace the current one", {
		{ 1, 1, 0, L2_REJ_NONE }, { 2, 1, -60000, L2_REJ_STALE },
		{ 1, 2, 0, L2_REJ_NONE }, { 0 } } },
	{ "several restarts: every older boot refused", {
		{ 1, 1, 0, L2_REJ_NONE }, { 2, 1, 0, L2_REJ_NONE },
		{ 3, 1, 0, L2_REJ_NONE }, { 4, 1, 0, L2_REJ_NONE },
		{ 1, 9, 0, L2_REJ_REPLAY }, { 2, 9, 0, L2_REJ_REPLAY },
		{ 3, 9, 0, L2_REJ_REPLAY }, { 4, 2, 0, L2_REJ_NONE }, { 0 } } },
};

static void
run_replay_steps(struct l2_member_replay *st, const struct rp_step *s,
    const char *what)
{
	for (size_t i = 0; s[i].boot != 0; i++) {
		struct l2_member_msg m = mkmsg("a", "b", s[i].boot, s[i].seq,
		    (uint64_t)((int64_t)NOW + s[i].skew));
		enum l2_member_reject r = l2_member_replay_check(st, &m, NOW);

		ck_assert_msg(r == s[i].want, "%s: step %zu: got %s want %s",
		    what, i, l2_member_reject_name(r),
		    l2_member_reject_name(s[i].want));
		if (r == L2_REJ_NONE)
			l2_member_replay_accept(st, &m);
	}
}

START_TEST(test_replay)
{
	struct l2_member_replay st;

	memset(&st, 0, sizeof(st));
	run_replay_steps(&st, replay_cases[_i].steps, replay_cases[_i].what);
}
END_TEST

/* The retired ring is bounded; beyond it, the timestamp window is what
 * refuses an old boot. */
START_TEST(test_replay_ring)
{
	struct l2_member_replay st;
	struct l2_member_msg m;

	memset(&st, 0, sizeof(st));
	for (uint64_t b = 1; b <= L2_MEMBER_RETIRED + 2; b++) {
		m = mkmsg("a", "b", b, 1, NOW);
		ck_assert_int_eq(l2_member_replay_check(&st, &m, NOW), L2_REJ_NONE);
		l2_member_replay_accept(&st, &m);
	}
	ck_assert_uint_eq(st.nretired, L2_MEMBER_RETIRED);
	/* Boot 10 is current; 2..9 are the retired ring. */
	for (uint64_t b = 2; b <= L2_MEMBER_RETIRED + 1; b++) {
		m = mkmsg("a", "b", b, 2, NOW);
		ck_assert_msg(l2_member_replay_check(&st, &m, NOW) ==
		    L2_REJ_REPLAY, "boot %llu", (unsigned long long)b);
	}
	/* Boot 1 fell out of the ring: a recording of it is refused only
	 * because it is old. */
	m = mkmsg("a", "b", 1, 2, NOW - 31000);
	ck_assert_int_eq(l2_member_replay_check(&st, &m, NOW), L2_REJ_STALE);
}
END_TEST

/* ---- key forms --------------------------------------------------------- */

static const struct {
	const char	*what;
	const char	*text;	/* NULL: raw */
	size_t		 rawlen;
	bool		 ok;
} key_cases[] = {
	{ "raw 32", NULL, 32, true },
	{ "raw 31", NULL, 31, false },
	{ "raw 33", NULL, 33, false },
	{ "hex", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0, true },
	{ "hex upper + newline", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n", 0, true },
	{ "hex + crlf", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n", 0, true },
	{ "hex 62", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e", 0, false },
	{ "hex 66", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", 0, false },
	{ "hex bad digit", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", 0, false },
	{ "base64", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0, true },
	{ "base64 + newline", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0, true },
	{ "base64 unpadded", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 0, true },
	{ "base64 stray bits", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", 0, false },
	{ "base64 of 31", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", 0, false },
	{ "base64 bad char", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH!8=", 0, false },
	{ "empty", "", 0, false },
	{ "newline", "\n", 0, false },
};

START_TEST(test_key_parse)
{
	uint8_t buf[128], key[L2_MEMBER_KEY_LEN];
	size_t n;
	int r;

	if (key_cases[_i].text == NULL) {
		n = key_cases[_i].rawlen;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)i;
		buf[n - 1] = '\n';	/* raw keys may end in any byte */
	} else {
		n = strlen(key_cases[_i].text);
		memcpy(buf, key_cases[_i].text, n);
	}
	r = l2_member_key_parse(buf, n, key);
	ck_assert_msg(r == (key_cases[_i].ok ? 0 : -1), "%s",
	    key_cases[_i].what);
	if (key_cases[_i].ok && key_cases[_i].text != NULL)
		ck_assert_msg(memcmp(key, key1, sizeof(key)) == 0, "%s",
		    key_cases[_i].what);
	if (key_cases[_i].ok && key_cases[_i].text == NULL)
		ck_assert(memcmp(key, buf, sizeof(key)) == 0);
}
END_TEST

/* ---- loopback ---------------------------------------------------------- */

static char tmpdir[64];

static void
write_file(const char *name, const void *data, size_t len, char *path,
    size_t plen)
{
	FILE *f;

	snprintf(path, plen, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static uint16_t
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t p;

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

struct node {
	const char		*name;
	uint16_t		 port;
	struct l2_membership	*ms;
	struct cfg		 cfg;
	struct cfg_member	 mem[5];
	int			 callbacks;
};

static void
node_cb(void *arg)
{
	struct node *n = arg;

	n->callbacks++;
}

static struct addr
loopback(void)
{
	struct addr a;

	ck_assert_int_eq(addr_parse("127.0.0.1", &a), 0);
	return a;
}

/* A config for node n listing the given nodes (by index) as members. */
static void
node_cfg(struct node *n, struct node *all, const int *idx, size_t nidx,
    char *key_path)
{
	memset(&n->cfg, 0, sizeof(n->cfg));
	n->cfg.layer2.has_membership = true;
	n->cfg.layer2.listen = loopback();
	n->cfg.layer2.listen_port = n->port;
	n->cfg.layer2.key_file = key_path;
	n->cfg.layer2.interval_ms = 20;
	n->cfg.layer2.dead_after_ms = 100;
	ck_assert(nidx <= NELEM(n->mem));
	for (size_t i = 0; i < nidx; i++) {
		n->mem[i].name = (char *)(uintptr_t)all[idx[i]].name;
		n->mem[i].address = loopback();
		n->mem[i].port = all[idx[i]].port;
	}
	n->cfg.layer2.members = n->mem;
	n->cfg.layer2.nmembers = nidx;
}

static bool
alive_is(const struct l2_membership *ms, const char *want)
{
	const char *const *names;
	size_t n = l2_membership_alive(ms, &names);
	char buf[256] = "";

	for (size_t i = 0; i < n; i++) {
		strcat(buf, i ? "," : "");
		strcat(buf, names[i]);
	}
	return strcmp(buf, want) == 0;
}

static const char *
alive_str(const struct l2_membership *ms)
{
	static char buf[256];
	const char *const *names;
	size_t n = l2_membership_alive(ms, &names);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(buf, i ? "," : "");
		strcat(buf, names[i]);
	}
	return buf;
}

static int64_t
status_count(const struct l2_membership *ms, const char *section,
    const char *key)
{
	struct json_object *o = json_object_new_object(), *sec, *v;
	int64_t r = -1;

	l2_membership_status(ms, o);
	if (section == NULL)
		sec = o;
	else
		ck_assert(json_object_object_get_ex(o, section, &sec));
	if (json_object_object_get_ex(sec, key, &v))
		r = json_object_get_int64(v);
	json_object_put(o);
	return r;
}

/* Run the loop until alive_is(ms, want) or timeout; returns the elapsed ms,
 * or -1 on timeout. */
static int64_t
run_until_alive(struct event_base *base, const struct l2_membership *ms,
    const char *want, uint64_t timeout_ms)
{
	uint64_t start = now_mono_ms();
	struct timeval slice = { 0, 2000 };

	while (!alive_is(ms, want)) {
		if (now_mono_ms() - start > timeout_ms)
			return -1;
		event_base_loopexit(base, &slice);
		event_base_loop(base, 0);
	}
	return (int64_t)(now_mono_ms() - start);
}

static void
run_for(struct event_base *base, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_loop(base, 0);
}

static void
send_raw(uint16_t port, const struct l2_member_msg *m, const uint8_t *key)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint8_t buf[L2_MEMBER_MSG_MAX];
	ssize_t n = l2_member_encode(m, key, buf, sizeof(buf));
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_gt(n, 0);
	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	ck_assert_int_eq(sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&sa,
	    sizeof(sa)), n);
	close(fd);
}

START_TEST(test_loopback)
{
	struct event_base *base = event_base_new();
	struct node nd[4] = {
		{ .name = "alpha" }, { .name = "bravo" }, { .name = "charlie" },
		{ .name = "delta" },
	};
	static const int a_mem[] = { 0, 1, 2 }, b_mem[] = { 0, 1 },
	    c_mem[] = { 0, 2 }, d_mem[] = { 0, 3 };
	char k1[128], k2[128], kbad[128], kmissing[128], err[512];
	char hex1[65];
	int cb_before;
	int64_t t;
	uint64_t t0;
	struct evbuffer *mb;
	size_t mlen;
	char *metrics;

	ck_assert_ptr_nonnull(base);
	for (int i = 0; i < 32; i++)
		snprintf(hex1 + 2 * i, 3, "%02x", key1[i]);
	write_file("key1", hex1, 64, k1, sizeof(k1));
	write_file("key2", key2, sizeof(key2), k2, sizeof(k2));
	write_file("keybad", "0123456789\n", 11, kbad, sizeof(kbad));
	for (int i = 0; i < 4; i++) {
		nd[i].port = free_port();
		nd[i].ms = l2_membership_new(base, nd[i].name, node_cb, &nd[i]);
		ck_assert_ptr_nonnull(nd[i].ms);
		ck_assert(!l2_membership_enabled(nd[i].ms));
		ck_assert(alive_is(nd[i].ms, nd[i].name));
	}
	node_cfg(&nd[0], nd, a_mem, NELEM(a_mem), k1);
	node_cfg(&nd[1], nd, b_mem, NELEM(b_mem), k1);
	node_cfg(&nd[2], nd, c_mem, NELEM(c_mem), k2);
	node_cfg(&nd[3], nd, d_mem, NELEM(d_mem), k1);
	for (int i = 0; i < 4; i++) {
		ck_assert_msg(l2_membership_configure(nd[i].ms, &nd[i].cfg, err,
		    sizeof(err)) == 0, "%s: %s", nd[i].name, err);
		ck_assert(l2_membership_enabled(nd[i].ms));
	}

	/* alpha and bravo see each other within a few intervals. */
	t = run_until_alive(base, nd[0].ms, "alpha,bravo", 1000);
	ck_assert_msg(t >= 0 && t < 200, "alpha: %s after %lld ms",
	    alive_str(nd[0].ms), (long long)t);
	t = run_until_alive(base, nd[1].ms, "alpha,bravo", 1000);
	ck_assert_msg(t >= 0 && t < 200, "bravo: %s", alive_str(nd[1].ms));
	/* Let everyone exchange a few more rounds. */
	run_for(base, 150);
	ck_assert_int_ge(nd[0].callbacks, 1);
	ck_assert_int_ge(nd[1].callbacks, 1);
	/* charlie (wrong key) is never alive for alpha, nor alpha for
	 * charlie, and both count bad_auth. */
	ck_assert_str_eq(alive_str(nd[0].ms), "alpha,bravo");
	ck_assert_str_eq(alive_str(nd[2].ms), "charlie");
	ck_assert_int_gt(status_count(nd[0].ms, "rejected", "bad_auth"), 3);
	ck_assert_int_gt(status_count(nd[2].ms, "rejected", "bad_auth"), 3);
	/* delta has the key but is not an alpha member. */
	ck_assert_int_gt(status_count(nd[0].ms, "rejected", "unknown_member"), 3);
	/* ...and alpha does not send to delta: membership lists must agree. */
	ck_assert_str_eq(alive_str(nd[3].ms), "delta");
	ck_assert_int_eq(status_count(nd[0].ms, "rejected", "replay"), 0);
	ck_assert_int_eq(status_count(nd[0].ms, "rejected", "malformed"), 0);
	ck_assert_int_gt(status_count(nd[0].ms, NULL, "heartbeats_sent"), 10);
	ck_assert_int_gt(status_count(nd[0].ms, NULL, "heartbeats_received"), 5);

	/* Metrics. */
	mb = evbuffer_new();
	l2_membership_metrics(nd[0].ms, mb);
	mlen = evbuffer_get_length(mb);
	metrics = calloc(1, mlen + 1);
	evbuffer_remove(mb, metrics, mlen);
	evbuffer_free(mb);
	ck_assert_ptr_nonnull(strstr(metrics,
	    "bgplb_membership_members{state=\"alive\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(metrics,
	    "bgplb_membership_members{state=\"dead\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(metrics,
	    "bgplb_membership_rejected_total{reason=\"bad_auth\"} "));
	ck_assert_ptr_null(strstr(metrics,
	    "bgplb_membership_rejected_total{reason=\"bad_auth\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(metrics,
	    "bgplb_membership_heartbeats_sent_total "));
	ck_assert_ptr_nonnull(strstr(metrics,
	    "bgplb_membership_heartbeats_received_total "));
	free(metrics);

	/* Crafted datagrams to alpha: a replay, a wrong destination, garbage. */
	{
		uint64_t now = now_wall_ms();
		struct l2_member_msg m = mkmsg("charlie", "alpha", 77, 5, now);
		int64_t rp = status_count(nd[0].ms, "rejected", "replay");
		int64_t wd = status_count(nd[0].ms, "rejected",
		    "wrong_destination");
		int64_t mf = status_count(nd[0].ms, "rejected", "malformed");
		int64_t st = status_count(nd[0].ms, "rejected", "stale");
		struct sockaddr_in sa = { .sin_family = AF_INET };
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		char *big;

		/* As charlie but with alpha's key: charlie becomes alive... */
		send_raw(nd[0].port, &m, key1);
		t = run_until_alive(base, nd[0].ms, "alpha,bravo,charlie", 500);
		ck_assert_msg(t >= 0, "%s", alive_str(nd[0].ms));
		/* ...the same datagram again is a replay... */
		send_raw(nd[0].port, &m, key1);
		/* ...an older one too; one for someone else; an old recording
		 * of a boot never seen. */
		m.seq = 4;
		send_raw(nd[0].port, &m, key1);
		m = mkmsg("charlie", "bravo", 77, 6, now);
		send_raw(nd[0].port, &m, key1);
		m = mkmsg("charlie", "alpha", 78, 1, now - 60000);
		send_raw(nd[0].port, &m, key1);
		ck_assert_int_ge(fd, 0);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons(nd[0].port);
		ck_assert_int_eq(sendto(fd, "BLM\x01", 4, 0,
		    (struct sockaddr *)&sa, sizeof(sa)), 4);
		/* Bigger than the receive buffer: malformed, not truncated. */
		big = calloc(1, 3000);
		ck_assert_ptr_nonnull(big);
		ck_assert_int_eq(sendto(fd, big, 3000, 0,
		    (struct sockaddr *)&sa, sizeof(sa)), 3000);
		free(big);
		close(fd);
		run_for(base, 30);
		ck_assert_int_eq(status_count(nd[0].ms, "rejected", "replay"),
		    rp + 2);
		ck_assert_int_eq(status_count(nd[0].ms, "rejected",
		    "wrong_destination"), wd + 1);
		ck_assert_int_eq(status_count(nd[0].ms, "rejected", "stale"),
		    st + 1);
		ck_assert_int_eq(status_count(nd[0].ms, "rejected", "malformed"),
		    mf + 2);
		/* Nothing more from "charlie" with the right key: dead again. */
		t = run_until_alive(base, nd[0].ms, "alpha,bravo", 500);
		ck_assert_msg(t >= 0 && t <= 150, "%s after %lld",
		    alive_str(nd[0].ms), (long long)t);
	}

	/* A reconfigure keeps bravo alive (no loop turn in between). */
	nd[0].cfg.layer2.dead_after_ms = 120;
	ck_assert_int_eq(l2_membership_configure(nd[0].ms, &nd[0].cfg, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(alive_str(nd[0].ms), "alpha,bravo");
	ck_assert_int_eq(status_count(nd[0].ms, NULL, "dead_after_ms"), 120);

	/* A bad key file or a port in use: -1, a clear error, old settings
	 * stay in force. */
	nd[0].cfg.layer2.key_file = kbad;
	ck_assert_int_eq(l2_membership_configure(nd[0].ms, &nd[0].cfg, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, kbad) != NULL, "%s", err);
	ck_assert_msg(strstr(err, "11 bytes") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "0123456789") == NULL, "key echoed: %s", err);
	snprintf(kmissing, sizeof(kmissing), "%s/no-such-key", tmpdir);
	nd[0].cfg.layer2.key_file = kmissing;
	ck_assert_int_eq(l2_membership_configure(nd[0].ms, &nd[0].cfg, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, kmissing) != NULL &&
	    strstr(err, "No such file") != NULL, "%s", err);
	nd[0].cfg.layer2.key_file = NULL;
	ck_assert_int_eq(l2_membership_configure(nd[0].ms, &nd[0].cfg, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "key-file") != NULL, "%s", err);
	nd[0].cfg.layer2.key_file = k1;
	nd[0].cfg.layer2.listen_port = nd[1].port;	/* bravo's */
	nd[0].cfg.layer2.dead_after_ms = 300;
	ck_assert_int_eq(l2_membership_configure(nd[0].ms, &nd[0].cfg, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "bind") != NULL, "%s", err);
	nd[0].cfg.layer2.listen_port = nd[0].port;
	ck_assert_int_eq(status_count(nd[0].ms, NULL, "dead_after_ms"), 120);
	ck_assert(l2_membership_enabled(nd[0].ms));
	/* Still receiving on the old socket under the old key. */
	run_for(base, 200);
	ck_assert_str_eq(alive_str(nd[0].ms), "alpha,bravo");
	nd[0].cfg.layer2.dead_after_ms = 100;
	ck_assert_int_eq(l2_membership_configure(nd[0].ms, &nd[0].cfg, err,
	    sizeof(err)), 0);

	/* bravo stops: alpha declares it dead after dead-after. */
	cb_before = nd[0].callbacks;
	l2_membership_free(nd[1].ms);
	nd[1].ms = NULL;
	t0 = now_mono_ms();
	t = run_until_alive(base, nd[0].ms, "alpha", 1000);
	ck_assert_msg(t >= 0, "%s", alive_str(nd[0].ms));
	t = (int64_t)(now_mono_ms() - t0);
	/* The last heartbeat left at most one interval before the stop. */
	ck_assert_msg(t >= 100 - 20 - 5 && t <= 100 + 60, "dead after %lld ms",
	    (long long)t);
	ck_assert_int_eq(nd[0].callbacks, cb_before + 1);
	ck_assert_int_eq(status_count(nd[0].ms, NULL, "enabled"), 1);

	/* Membership removed from the config: stopped, alive = self. */
	nd[3].cfg.layer2.has_membership = false;
	ck_assert_int_eq(l2_membership_configure(nd[3].ms, &nd[3].cfg, err,
	    sizeof(err)), 0);
	ck_assert(!l2_membership_enabled(nd[3].ms));
	ck_assert_str_eq(alive_str(nd[3].ms), "delta");

	for (int i = 0; i < 4; i++)
		l2_membership_free(nd[i].ms);
	event_base_free(base);
}
END_TEST

/* Status JSON shape for a stopped instance, and members ordered with self. */
START_TEST(test_status_shape)
{
	struct event_base *base = event_base_new();
	struct l2_membership *ms = l2_membership_new(base, "m", NULL, NULL);
	struct json_object *o = json_object_new_object(), *v, *e, *n;

	ck_assert_ptr_nonnull(ms);
	l2_membership_status(ms, o);
	ck_assert(json_object_object_get_ex(o, "enabled", &v));
	ck_assert(!json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(o, "members", &v));
	ck_assert_uint_eq(json_object_array_length(v), 1);
	e = json_object_array_get_idx(v, 0);
	ck_assert(json_object_object_get_ex(e, "state", &n));
	ck_assert_str_eq(json_object_get_string(n), "self");
	ck_assert(json_object_object_get_ex(o, "rejected", &v));
	ck_assert_int_eq(json_object_object_length(v), L2_REJ__N - 1);
	json_object_put(o);
	l2_membership_free(ms);
	event_base_free(base);
}
END_TEST

static void
mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_l2_member.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static Suite *
l2_member_suite(void)
{
	Suite *s = suite_create("l2_member");
	TCase *tc = tcase_create("codec");
	TCase *tl = tcase_create("loopback");

	tcase_add_loop_test(tc, test_round_trip, 0, NELEM(rt_cases));
	tcase_add_test(tc, test_encode_bad_names);
	tcase_add_test(tc, test_tamper_every_byte);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_truncated);
	tcase_add_loop_test(tc, test_garbage, 0, NELEM(garbage_cases));
	tcase_add_loop_test(tc, test_sealed_body, 0, NELEM(body_cases));
	tcase_add_loop_test(tc, test_extensions, 0, NELEM(ext_cases));
	tcase_add_test(tc, test_down_round_trip);
	tcase_add_loop_test(tc, test_replay, 0, NELEM(replay_cases));
	tcase_add_test(tc, test_replay_ring);
	tcase_add_loop_test(tc, test_key_parse, 0, NELEM(key_cases));
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tl, mk_tmpdir, rm_tmpdir);
	tcase_add_test(tl, test_loopback);
	tcase_add_test(tl, test_status_shape);
	tcase_set_timeout(tl, 30);
	suite_add_tcase(s, tl);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(l2_member_suite());
	int failed;

	log_init(LOG_LVL_WARN, LOG_FMT_TEXT);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * test_l2_packet.c - ARP and NDP frames, byte for byte.
 *
 * Every expected frame below is written out field by field from the
 * layouts of RFC 826 (ARP), RFC 8200 (IPv6 header) and RFC 4861 (NS, NA,
 * link-layer options); the ICMPv6 checksums in them were computed apart
 * from this code (a few lines of Python over the RFC 4443 pseudo-header),
 * so a builder bug cannot hide behind the checksum function it shares.
 * The parsers get the valid frames, every truncation of them, and one
 * mutation per rule they enforce.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l2_packet.h"

#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))

static const uint8_t me[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xaa };
static const uint8_t client[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t svc4[4] = { 10, 0, 0, 100 };
static const uint8_t client4[4] = { 10, 0, 0, 1 };
/* fe80::aa */
static const uint8_t ll[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa };
/* 2001:db8::100 */
static const uint8_t svc6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00 };
/* 2001:db8::1 */
static const uint8_t client6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };

/* ---- frames, by hand ----------------------------------------------------- */

/* 10.0.0.1 (02:..:01) asks who-has 10.0.0.100, padded to 60 bytes. */
static const uint8_t arp_request[60] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff,		/* eth dst: broadcast */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,		/* eth src */
	0x08, 0x06,					/* ethertype ARP */
	0x00, 0x01,					/* htype Ethernet */
	0x08, 0x00,					/* ptype IPv4 */
	0x06, 0x04,					/* hlen, plen */
	0x00, 0x01,					/* op request */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,		/* sha */
	10, 0, 0, 1,					/* spa */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,		/* tha */
	10, 0, 0, 100,					/* tpa */
	/* 18 bytes of Ethernet padding (zero) */
};

static const uint8_t arp_reply[42] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,		/* eth dst: the requester */
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,		/* eth src: us */
	0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
	0x00, 0x02,					/* op reply */
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,		/* sha: us */
	10, 0, 0, 100,					/* spa: the service */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,		/* tha: the requester */
	10, 0, 0, 1,					/* tpa */
};

static const uint8_t garp_request[42] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
	0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
	0x00, 0x01,					/* op request */
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
	10, 0, 0, 100,					/* spa = tpa */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,		/* tha zero (RFC 5227) */
	10, 0, 0, 100,
};

static const uint8_t garp_reply[42] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
	0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
	0x00, 0x02,					/* op reply */
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
	10, 0, 0, 100,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff,		/* tha broadcast */
	10, 0, 0, 100,
};

#define IP6_FE80_AA	0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa
#define IP6_FF02_1	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define IP6_SVC		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00
#define IP6_CLIENT	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
#define IP6_SNM_SVC	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x01, 0x00
#define IP6_UNSPEC	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

/* Unsolicited NA for 2001:db8::100 from fe80::aa; also the answer to DAD. */
static const uint8_t na_unsolicited[86] = {
	0x33, 0x33, 0x00, 0x00, 0x00, 0x01,		/* eth dst: all-nodes */
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
	0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00,				/* v6, class 0, flow 0 */
	0x00, 0x20,					/* payload 32 */
	0x3a, 0xff,					/* ICMPv6, hop limit 255 */
	IP6_FE80_AA,					/* src: link-local */
	IP6_FF02_1,					/* dst: ff02::1 */
	0x88, 0x00,					/* NA, code 0 */
	0x26, 0x12,					/* checksum */
	0x20, 0x00, 0x00, 0x00,				/* O flag */
	IP6_SVC,					/* target */
	0x02, 0x01,					/* TLLA option, 8 bytes */
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
};

static const uint8_t na_solicited[86] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,		/* eth dst: the SLLA */
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
	0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff,
	IP6_FE80_AA,
	IP6_CLIENT,					/* dst: the solicitor */
	0x88, 0x00,
	0xb7, 0x5b,					/* checksum */
	0x60, 0x00, 0x00, 0x00,				/* S and O flags */
	IP6_SVC,
	0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
};

/* 2001:db8::1 asks for 2001:db8::100 (multicast, with SLLA). */
static const uint8_t ns_multicast[86] = {
	0x33, 0x33, 0xff, 0x00, 0x01, 0x00,		/* eth dst: solicited-node */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff,
	IP6_CLIENT,
	IP6_SNM_SVC,
	0x87, 0x00,					/* NS, code 0 */
	0x1a, 0x2b,					/* checksum */
	0x00, 0x00, 0x00, 0x00,				/* reserved */
	IP6_SVC,					/* target */
	0x01, 0x01,					/* SLLA option */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
};

/* A unicast NUD probe without SLLA from 02:..:02: answered to eth src. */
static const uint8_t ns_unicast[78] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0xaa,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x3a, 0xff,
	IP6_CLIENT,
	IP6_SVC,
	0x87, 0x00,
	0xed, 0x80,
	0x00, 0x00, 0x00, 0x00,
	IP6_SVC,
};

/* Duplicate address detection: from ::, no SLLA. */
static const uint8_t ns_dad[78] = {
	0x33, 0x33, 0xff, 0x00, 0x01, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x3a, 0xff,
	IP6_UNSPEC,
	IP6_SNM_SVC,
	0x87, 0x00,
	0x4a, 0xef,
	0x00, 0x00, 0x00, 0x00,
	IP6_SVC,
};

static void
expect_bytes(const uint8_t *got, size_t gotlen, const uint8_t *want,
    size_t wantlen, const char *what)
{
	ck_assert_msg(gotlen == wantlen, "%s: length %zu, want %zu", what,
	    gotlen, wantlen);
	for (size_t i = 0; i < wantlen; i++)
		ck_assert_msg(got[i] == want[i],
		    "%s: byte %zu is 0x%02x, want 0x%02x", what, i, got[i], want[i]);
}

/* ---- ARP building -------------------------------------------------------- */

START_TEST(test_arp_reply_built)
{
	uint8_t buf[L2_FRAME_MAX];
	struct l2_arp req;
	size_t n;

	ck_assert_int_eq(l2_arp_parse(arp_request, sizeof(arp_request), &req), 0);
	n = l2_arp_build_reply(buf, sizeof(buf), me, &req);
	expect_bytes(buf, n, arp_reply, sizeof(arp_reply), "ARP reply");
	/* One byte short: nothing, not a partial frame. */
	ck_assert_uint_eq(l2_arp_build_reply(buf, L2_ARP_FRAME_LEN - 1, me, &req), 0);
}
END_TEST

static const struct garp_case {
	uint16_t	 op;
	const uint8_t	*want;
	const char	*what;
} garp_cases[] = {
	{ L2_ARP_OP_REQUEST, garp_request, "gratuitous request" },
	{ L2_ARP_OP_REPLY, garp_reply, "gratuitous reply" },
};

START_TEST(test_garp_built)
{
	const struct garp_case *t = &garp_cases[_i];
	uint8_t buf[L2_FRAME_MAX];
	size_t n;

	n = l2_garp_build(buf, sizeof(buf), me, svc4, t->op);
	expect_bytes(buf, n, t->want, L2_ARP_FRAME_LEN, t->what);
	ck_assert_uint_eq(l2_garp_build(buf, 41, me, svc4, t->op), 0);
	ck_assert_uint_eq(l2_garp_build(NULL, 100, me, svc4, t->op), 0);
}
END_TEST

/* ---- ARP parsing --------------------------------------------------------- */

START_TEST(test_arp_parse_fields)
{
	struct l2_arp a;

	ck_assert_int_eq(l2_arp_parse(arp_request, sizeof(arp_request), &a), 0);
	ck_assert_uint_eq(a.op, L2_ARP_OP_REQUEST);
	ck_assert_mem_eq(a.sha, client, 6);
	ck_assert_mem_eq(a.spa, client4, 4);
	ck_assert_mem_eq(a.tpa, svc4, 4);
	ck_assert_mem_eq(a.eth_src, client, 6);
	/* Without the padding too (veth does not pad). */
	ck_assert_int_eq(l2_arp_parse(arp_request, L2_ARP_FRAME_LEN, &a), 0);
	/* A reply parses (op 2) and is told apart. */
	ck_assert_int_eq(l2_arp_parse(arp_reply, sizeof(arp_reply), &a), 0);
	ck_assert_uint_eq(a.op, L2_ARP_OP_REPLY);
	ck_assert_mem_eq(a.spa, svc4, 4);
}
END_TEST

START_TEST(test_arp_parse_truncated)
{
	struct l2_arp a;

	for (size_t len = 0; len < L2_ARP_FRAME_LEN; len++)
		ck_assert_msg(l2_arp_parse(arp_request, len, &a) == -1,
		    "ARP truncated to %zu bytes parsed", len);
	ck_assert_int_eq(l2_arp_parse(NULL, 60, &a), -1);
}
END_TEST

static const struct arp_bad {
	size_t		 off;
	uint8_t		 val;
	const char	*what;
} arp_bad[] = {
	{ 12, 0x08, "ethertype 0x0800 (byte 13 = 0x00)" },	/* see below */
	{ 15, 0x06, "htype IEEE 802 (6)" },
	{ 16, 0x86, "ptype 0x86dd" },
	{ 18, 0x08, "hlen 8" },
	{ 19, 0x10, "plen 16" },
	{ 21, 0x03, "op 3 (RARP request)" },
	{ 20, 0x01, "op 0x0101" },
};

START_TEST(test_arp_parse_bad)
{
	const struct arp_bad *t = &arp_bad[_i];
	uint8_t f[sizeof(arp_request)];
	struct l2_arp a;

	memcpy(f, arp_request, sizeof(f));
	f[t->off] = t->val;
	if (t->off == 12)
		f[13] = 0x00;		/* 0x0800: an IPv4 frame */
	ck_assert_msg(l2_arp_parse(f, sizeof(f), &a) == -1, "%s parsed", t->what);
}
END_TEST

/* ---- NDP building -------------------------------------------------------- */

START_TEST(test_na_unsolicited_built)
{
	uint8_t buf[L2_FRAME_MAX];
	size_t n;

	n = l2_na_build_unsolicited(buf, sizeof(buf), me, ll, svc6);
	expect_bytes(buf, n, na_unsolicited, sizeof(na_unsolicited), "unsolicited NA");
	ck_assert_uint_eq(l2_na_build_unsolicited(buf, L2_NA_FRAME_LEN - 1, me,
	    ll, svc6), 0);
}
END_TEST

static const struct na_case {
	const uint8_t	*ns;
	size_t		 nslen;
	const uint8_t	*want_eth_dst;
	const uint8_t	*want_dst;	/* NULL: the NS source */
	uint8_t		 want_flags;
	const uint8_t	*want;		/* full frame, or NULL */
	const char	*what;
} na_cases[] = {
	{ ns_multicast, sizeof(ns_multicast), client, client6,
	  L2_NA_FLAG_SOLICITED | L2_NA_FLAG_OVERRIDE, na_solicited,
	  "NS with SLLA" },
	{ ns_unicast, sizeof(ns_unicast),
	  (const uint8_t[]){ 0x02, 0, 0, 0, 0, 0x02 }, client6,
	  L2_NA_FLAG_SOLICITED | L2_NA_FLAG_OVERRIDE, NULL,
	  "unicast NS without SLLA: to the frame's source" },
	{ ns_dad, sizeof(ns_dad),
	  (const uint8_t[]){ 0x33, 0x33, 0, 0, 0, 1 },
	  (const uint8_t[]){ IP6_FF02_1 }, L2_NA_FLAG_OVERRIDE,
	  na_unsolicited, "DAD NS: to all-nodes, not solicited" },
};

START_TEST(test_na_solicited_built)
{
	const struct na_case *t = &na_cases[_i];
	uint8_t buf[L2_FRAME_MAX];
	struct l2_ns ns;
	size_t n;

	ck_assert_msg(l2_ns_parse(t->ns, t->nslen, &ns) == 0, "%s: parse", t->what);
	n = l2_na_build_solicited(buf, sizeof(buf), me, ll, &ns);
	ck_assert_uint_eq(n, L2_NA_FRAME_LEN);
	ck_assert_mem_eq(buf, t->want_eth_dst, 6);
	ck_assert_mem_eq(buf + 6, me, 6);
	ck_assert_mem_eq(buf + 22, ll, 16);
	ck_assert_mem_eq(buf + 38, t->want_dst, 16);
	ck_assert_uint_eq(buf[54], L2_ICMP6_NA);
	ck_assert_uint_eq(buf[58], t->want_flags);
	ck_assert_mem_eq(buf + 62, svc6, 16);
	ck_assert_uint_eq(l2_icmp6_cksum(buf + 22, buf + 38, buf + 54, 32), 0);
	if (t->want != NULL)
		expect_bytes(buf, n, t->want, L2_NA_FRAME_LEN, t->what);
}
END_TEST

/* ---- NS parsing ---------------------------------------------------------- */

START_TEST(test_ns_parse_fields)
{
	struct l2_ns ns;

	ck_assert_int_eq(l2_ns_parse(ns_multicast, sizeof(ns_multicast), &ns), 0);
	ck_assert_mem_eq(ns.src, client6, 16);
	ck_assert_mem_eq(ns.target, svc6, 16);
	ck_assert(ns.has_slla);
	ck_assert_mem_eq(ns.slla, client, 6);
	ck_assert_mem_eq(ns.eth_src, client, 6);

	ck_assert_int_eq(l2_ns_parse(ns_unicast, sizeof(ns_unicast), &ns), 0);
	ck_assert(!ns.has_slla);
	ck_assert_mem_eq(ns.dst, svc6, 16);
}
END_TEST

START_TEST(test_ns_parse_truncated)
{
	struct l2_ns ns;

	for (size_t len = 0; len < sizeof(ns_multicast); len++)
		ck_assert_msg(l2_ns_parse(ns_multicast, len, &ns) == -1,
		    "NS truncated to %zu bytes parsed", len);
	ck_assert_int_eq(l2_ns_parse(NULL, 86, &ns), -1);
}
END_TEST

START_TEST(test_ns_parse_padding)
{
	uint8_t f[120];
	struct l2_ns ns;

	/* Bytes past the IPv6 payload length are link padding. */
	memset(f, 0xee, sizeof(f));
	memcpy(f, ns_unicast, sizeof(ns_unicast));
	ck_assert_int_eq(l2_ns_parse(f, sizeof(f), &ns), 0);
	ck_assert_mem_eq(ns.target, svc6, 16);
}
END_TEST

/*
 * One rule broken per case.  Mutations inside the ICMPv6 message get a
 * fresh checksum (fix_ck) so the rule under test, not the checksum, is
 * what refuses them.
 */
static const struct ns_bad {
	const uint8_t	*base;
	size_t		 baselen;
	size_t		 off;
	uint8_t		 val;
	bool		 fix_ck;
	const char	*what;
} ns_bad[] = {
	{ ns_multicast, 86, 12, 0x08, false, "ethertype 0x08dd" },
	{ ns_multicast, 86, 14, 0x40, false, "IP version 4" },
	{ ns_multicast, 86, 20, 0x00, false, "hop-by-hop header first" },
	{ ns_multicast, 86, 21, 64, false, "hop limit 64 (off-link)" },
	{ ns_multicast, 86, 19, 0x40, false, "payload length past the frame" },
	{ ns_multicast, 86, 19, 0x10, false, "payload length 16 (< 24)" },
	{ ns_multicast, 86, 56, 0x1b, false, "bad checksum" },
	{ ns_multicast, 86, 62, 0x21, false, "target changed, checksum not" },
	{ ns_multicast, 86, 54, 136, true, "type NA" },
	{ ns_multicast, 86, 55, 1, true, "code 1" },
	{ ns_multicast, 86, 62, 0xff, true, "multicast target" },
	{ ns_multicast, 86, 79, 0, true, "option length 0" },
	{ ns_multicast, 86, 79, 2, true, "option overruns the message" },
	{ ns_multicast, 86, 22, 0xff, true, "multicast source" },
	{ ns_dad, 78, 38, 0x20, true, "DAD to a unicast destination" },
};

START_TEST(test_ns_parse_bad)
{
	const struct ns_bad *t = &ns_bad[_i];
	uint8_t f[128];
	struct l2_ns ns;

	memcpy(f, t->base, t->baselen);
	ck_assert_int_eq(l2_ns_parse(f, t->baselen, &ns), 0);
	f[t->off] = t->val;
	if (t->fix_ck) {
		uint16_t ck;

		f[56] = f[57] = 0;
		ck = l2_icmp6_cksum(f + 22, f + 38, f + 54, t->baselen - 54);
		f[56] = (uint8_t)(ck >> 8);
		f[57] = (uint8_t)ck;
	}
	ck_assert_msg(l2_ns_parse(f, t->baselen, &ns) == -1, "%s parsed", t->what);
}
END_TEST

START_TEST(test_ns_parse_options)
{
	uint8_t f[128];
	struct l2_ns ns;
	uint16_t ck;

	/* An unknown option (type 14, nonce, 8 bytes) is skipped; an SLLA of
	 * 16 bytes is not Ethernet's and is refused; DAD with an SLLA too. */
	static const struct {
		const uint8_t *base;
		uint8_t type, len;
		int want;
	} c[] = {
		{ ns_unicast, 14, 1, 0 },
		{ ns_unicast, 1, 2, -1 },
		{ ns_dad, 1, 1, -1 },
	};

	for (size_t i = 0; i < NELEM(c); i++) {
		size_t optlen = (size_t)c[i].len * 8, total = 78 + optlen;

		memcpy(f, c[i].base, 78);
		memset(f + 78, 0x11, optlen);
		f[78] = c[i].type;
		f[79] = c[i].len;
		f[18] = 0;
		f[19] = (uint8_t)(24 + optlen);
		f[56] = f[57] = 0;
		ck = l2_icmp6_cksum(f + 22, f + 38, f + 54, 24 + optlen);
		f[56] = (uint8_t)(ck >> 8);
		f[57] = (uint8_t)ck;
		ck_assert_msg(l2_ns_parse(f, total, &ns) == c[i].want,
		    "option case %zu", i);
	}
}
END_TEST

START_TEST(test_garbage_never_parses_past_len)
{
	/* Random bytes in a buffer exactly as long as claimed: the parsers
	 * must refuse or accept without reading further (ASan checks the
	 * reads; the heap copy makes any overrun visible). */
	unsigned seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand_r(&seed) % 100);
		uint8_t *f = malloc(len ? len : 1);
		struct l2_arp a;
		struct l2_ns ns;

		ck_assert_ptr_nonnull(f);
		for (size_t i = 0; i < len; i++)
			f[i] = (uint8_t)rand_r(&seed);
		/* Bias half the rounds toward the right ethertypes. */
		if (len >= 14 && (round & 1)) {
			f[12] = (round & 2) ? 0x86 : 0x08;
			f[13] = (round & 2) ? 0xdd : 0x06;
		}
		(void)l2_arp_parse(f, len, &a);
		(void)l2_ns_parse(f, len, &ns);
		free(f);
	}
	ck_assert_int_eq(l2_ns_parse(ns_multicast, sizeof(ns_multicast), &(struct l2_ns){0}), 0);
}
END_TEST

/* ---- checksum and helpers ------------------------------------------------ */

static const struct ck_case {
	uint8_t		 src[16];
	uint8_t		 dst[16];
	uint8_t		 msg[8];
	size_t		 len;
	uint16_t	 want;
} ck_cases[] = {
	{ { IP6_CLIENT }, { IP6_SVC },
	  { 0x80, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x01 }, 8, 0x1115 },
	{ { IP6_FE80_AA }, { IP6_FF02_1 }, { 0x01, 0x02, 0x03 }, 3, 0xfd91 },
	{ { IP6_UNSPEC }, { IP6_UNSPEC }, { 0 }, 0, 0xffc5 },
};

START_TEST(test_cksum_vectors)
{
	const struct ck_case *t = &ck_cases[_i];

	ck_assert_uint_eq(l2_icmp6_cksum(t->src, t->dst, t->msg, t->len), t->want);
}
END_TEST

START_TEST(test_cksum_verifies)
{
	/* A frame's own checksum makes the sum come out 0. */
	ck_assert_uint_eq(l2_icmp6_cksum(na_solicited + 22, na_solicited + 38,
	    na_solicited + 54, 32), 0);
	ck_assert_uint_eq(l2_icmp6_cksum(ns_dad + 22, ns_dad + 38, ns_dad + 54,
	    24), 0);
}
END_TEST

START_TEST(test_solicited_node)
{
	/* 2001:db8::1:2345:6789 -> ff02::1:ff45:6789, 33:33:ff:45:67:89 */
	static const uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0x01, 0x23, 0x45, 0x67, 0x89 };
	static const uint8_t g[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0x01, 0xff, 0x45, 0x67, 0x89 };
	static const uint8_t m[6] = { 0x33, 0x33, 0xff, 0x45, 0x67, 0x89 };
	uint8_t og[16], om[6];

	l2_solicited_node(a, og, om);
	ck_assert_mem_eq(og, g, 16);
	ck_assert_mem_eq(om, m, 6);
}
END_TEST

static const struct excl_case {
	const char	*name;
	bool		 excluded;
} excl_cases[] = {
	{ "lo", true }, { "docker0", true }, { "veth1234", true },
	{ "cali5a3f", true }, { "flannel.1", true }, { "cni0", true },
	{ "kube-ipvs0", true }, { "vxlan.calico", true }, { "cilium_host", true },
	{ "eth0", false }, { "ens3", false }, { "bond0", false },
	{ "br0", false }, { "eno1.100", false }, { "local0", false },
};

START_TEST(test_default_exclusions)
{
	const struct excl_case *t = &excl_cases[_i];

	ck_assert_msg(l2_iface_default_excluded(t->name) == t->excluded,
	    "%s: excluded=%d", t->name, !t->excluded);
}
END_TEST

static Suite *
l2_packet_suite(void)
{
	Suite *s = suite_create("l2_packet");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_arp_reply_built);
	tcase_add_loop_test(tc, test_garp_built, 0, NELEM(garp_cases));
	tcase_add_test(tc, test_arp_parse_fields);
	tcase_add_test(tc, test_arp_parse_truncated);
	tcase_add_loop_test(tc, test_arp_parse_bad, 0, NELEM(arp_bad));
	tcase_add_test(tc, test_na_unsolicited_built);
	tcase_add_loop_test(tc, test_na_solicited_built, 0, NELEM(na_cases));
	tcase_add_test(tc, test_ns_parse_fields);
	tcase_add_test(tc, test_ns_parse_truncated);
	tcase_add_test(tc, test_ns_parse_padding);
	tcase_add_loop_test(tc, test_ns_parse_bad, 0, NELEM(ns_bad));
	tcase_add_test(tc, test_ns_parse_options);
	tcase_add_test(tc, test_garbage_never_parses_past_len);
	tcase_add_loop_test(tc, test_cksum_vectors, 0, NELEM(ck_cases));
	tcase_add_test(tc, test_cksum_verifies);
	tcase_add_test(tc, test_solicited_node);
	tcase_add_loop_test(tc, test_default_exclusions, 0, NELEM(excl_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(l2_packet_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

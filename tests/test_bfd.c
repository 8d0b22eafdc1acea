/*
 * test_bfd.c - BFD: the control packet codec byte for byte, the state
 * machine as scripts of packets and clock ticks, and two real sessions
 * talking over 127.0.0.1 on one event base.
 *
 * Expected packets are hex written from the RFC 5880 4.1 layout, not from
 * our encoder.  The state machine scripts feed bfd_fsm_rx()/bfd_fsm_timer()
 * at given milliseconds and check state, diagnostic, "send now" and the
 * flags of the packet that would go out, so every RFC 5880 6.8.6 transition
 * is a table row.  The loopback test needs no privileges: 127.0.0.1/8 is
 * all local and loopback keeps TTL 255, so the GTSM check stays on.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "bgplb/log.h"
#include "../src/bgp/bgp_bfd.h"

static size_t
hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		ck_assert_msg(n < max, "hex too long");
		ck_assert_int_eq(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

/* ------------------------------------------------------------------ codec */

static const struct enc_case {
	const char	*name;
	struct bfd_pkt	 p;
	const char	*want;
} enc_cases[] = {
	{ "down, slow, no peer yet",
	  { 1, 0, BFD_ST_DOWN, 0, 3, 24, 1, 0, 1000000, 300000, 0 },
	  "20 40 03 18 00000001 00000000 000f4240 000493e0 00000000" },
	{ "init",
	  { 1, 0, BFD_ST_INIT, 0, 3, 24, 0xdeadbeef, 0x01020304, 1000000, 50000, 0 },
	  "20 80 03 18 deadbeef 01020304 000f4240 0000c350 00000000" },
	{ "up with poll",
	  { 1, 0, BFD_ST_UP, BFD_FLAG_P, 3, 24, 7, 9, 50000, 50000, 0 },
	  "20 e0 03 18 00000007 00000009 0000c350 0000c350 00000000" },
	{ "up with final",
	  { 1, 0, BFD_ST_UP, BFD_FLAG_F, 5, 24, 7, 9, 300000, 300000, 0 },
	  "20 d0 05 18 00000007 00000009 000493e0 000493e0 00000000" },
	{ "down, detection time expired",
	  { 1, BFD_DIAG_TIME_EXPIRED, BFD_ST_DOWN, 0, 3, 24, 7, 0, 1000000, 50000, 0 },
	  "21 40 03 18 00000007 00000000 000f4240 0000c350 00000000" },
	{ "admin down",
	  { 1, BFD_DIAG_ADMIN_DOWN, BFD_ST_ADMIN_DOWN, 0, 3, 24, 7, 9, 1000000, 50000, 0 },
	  "27 00 03 18 00000007 00000009 000f4240 0000c350 00000000" },
	{ "all flags but A and M, echo, max values",
	  { 1, 31, BFD_ST_UP, BFD_FLAG_C | BFD_FLAG_D | BFD_FLAG_P, 255, 24,
	    0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff },
	  "3f ea ff 18 ffffffff ffffffff ffffffff ffffffff ffffffff" },
};

START_TEST(test_encode_table)
{
	const struct enc_case *c = &enc_cases[_i];
	uint8_t got[BFD_PKT_LEN], want[64];
	struct bfd_pkt back;

	ck_assert_uint_eq(hex(c->want, want, sizeof(want)), BFD_PKT_LEN);
	bfd_pkt_encode(&c->p, got);
	ck_assert_msg(memcmp(got, want, BFD_PKT_LEN) == 0, "%s: bytes differ", c->name);
	ck_assert_int_eq(bfd_pkt_decode(got, sizeof(got), &back), BFD_DROP_NONE);
	ck_assert_msg(memcmp(&back, &c->p, sizeof(back)) == 0, "%s: round trip", c->name);
}
END_TEST

static const struct dec_case {
	const char	*name;
	const char	*in;
	enum bfd_drop	 want;
} dec_cases[] = {
	{ "down, your disc 0",
	  "20 40 03 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_NONE },
	{ "admin down, your disc 0",
	  "27 00 03 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_NONE },
	{ "up",
	  "20 c0 03 18 00000001 00000002 0000c350 0000c350 00000000", BFD_DROP_NONE },
	{ "payload longer than Length (padding is allowed)",
	  "20 c0 03 18 00000001 00000002 0000c350 0000c350 00000000 0000", BFD_DROP_NONE },
	{ "23 bytes",
	  "20 40 03 18 00000001 00000000 000f4240 000493e0 000000", BFD_DROP_SHORT },
	{ "empty", "", BFD_DROP_SHORT },
	{ "version 0",
	  "00 40 03 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_VERSION },
	{ "version 2",
	  "40 40 03 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_VERSION },
	{ "version 7",
	  "e0 40 03 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_VERSION },
	{ "Length 23",
	  "20 40 03 17 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_LENGTH },
	{ "Length 0",
	  "20 40 03 00 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_LENGTH },
	{ "Length beyond payload",
	  "20 40 03 19 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_LENGTH },
	{ "A bit with Length 24",
	  "20 44 03 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_LENGTH },
	{ "A bit with an auth section",
	  "20 44 03 1a 00000001 00000000 000f4240 000493e0 00000000 0102", BFD_DROP_AUTH },
	{ "detect mult 0",
	  "20 40 00 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_DETECT_MULT },
	{ "multipoint",
	  "20 41 03 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_MULTIPOINT },
	{ "my disc 0",
	  "20 40 03 18 00000000 00000000 000f4240 000493e0 00000000", BFD_DROP_MY_DISC },
	{ "init with your disc 0",
	  "20 80 03 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_YOUR_DISC },
	{ "up with your disc 0",
	  "20 c0 03 18 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_YOUR_DISC },
	{ "version checked before length",
	  "40 40 03 00 00000001 00000000 000f4240 000493e0 00000000", BFD_DROP_VERSION },
};

START_TEST(test_decode_table)
{
	const struct dec_case *c = &dec_cases[_i];
	uint8_t in[64];
	size_t n = hex(c->in, in, sizeof(in));
	struct bfd_pkt p;
	enum bfd_drop d = bfd_pkt_decode(in, n, &p);

	ck_assert_msg(d == c->want, "%s: got %s, want %s", c->name, bfd_drop_name(d),
	    bfd_drop_name(c->want));
}
END_TEST

START_TEST(test_decode_fields)
{
	uint8_t in[64];
	size_t n = hex("3f ea ff 18 01020304 05060708 0a0b0c0d 11121314 21222324", in,
	    sizeof(in));
	struct bfd_pkt p;

	ck_assert_int_eq(bfd_pkt_decode(in, n, &p), BFD_DROP_NONE);
	ck_assert_uint_eq(p.version, 1);
	ck_assert_uint_eq(p.diag, 31);
	ck_assert_uint_eq(p.state, BFD_ST_UP);
	ck_assert_uint_eq(p.flags, BFD_FLAG_P | BFD_FLAG_C | BFD_FLAG_D);
	ck_assert_uint_eq(p.detect_mult, 255);
	ck_assert_uint_eq(p.length, 24);
	ck_assert_uint_eq(p.my_disc, 0x01020304);
	ck_assert_uint_eq(p.your_disc, 0x05060708);
	ck_assert_uint_eq(p.desired_min_tx, 0x0a0b0c0d);
	ck_assert_uint_eq(p.required_min_rx, 0x11121314);
	ck_assert_uint_eq(p.required_min_echo_rx, 0x21222324);
}
END_TEST

/* Garbage of every length: never a crash (ASan/UBSan), and whatever is
 * accepted re-encodes to the same 24 bytes. */
START_TEST(test_decode_fuzz)
{
	uint32_t x = 12345;
	uint8_t buf[64], out[BFD_PKT_LEN];
	struct bfd_pkt p;
	unsigned ok = 0;

	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)(i % 40);

		for (size_t j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[j] = (uint8_t)x;
		}
		/* Bias towards the interesting part: a valid header. */
		if (len >= 4 && (i & 1)) {
			buf[0] = (uint8_t)(0x20 | (buf[0] & 0x1f));
			buf[1] &= 0xfa;
			buf[3] = 24;
		}
		if (bfd_pkt_decode(buf, len, &p) == BFD_DROP_NONE) {
			ok++;
			bfd_pkt_encode(&p, out);
			ck_assert(memcmp(out, buf, BFD_PKT_LEN) == 0);
		}
	}
	ck_assert_uint_gt(ok, 1000);
}
END_TEST

/* ------------------------------------------------------------------ fsm */

enum op { OP_END = 0, OP_RX, OP_TIMER, OP_ADMIN_DOWN, OP_ADMIN_UP };

#define ANY	(-1)
#define YOURS	1			/* the packet carries our discriminator */

struct step {
	enum op		 op;
	unsigned	 t;		/* ms since the start */
	int		 rstate;	/* OP_RX: the peer's state */
	int		 rflags;	/* OP_RX: the peer's flags */
	int		 your;		/* OP_RX: YOURS or 0 */
	int		 state;		/* expected after the step */
	int		 diag;
	int		 send;		/* "send now" */
	int		 changed;
	int		 flags;		/* flags of the packet that goes out */
};

struct script {
	const char	*name;
	bool		 passive;
	struct step	 steps[12];
};

#define RX(t, st, fl, y, want, dg, sd, ch, f) \
	{ OP_RX, t, BFD_ST_##st, fl, y, BFD_ST_##want, dg, sd, ch, f }
#define TM(t, want, dg, sd, ch, f) \
	{ OP_TIMER, t, 0, 0, 0, BFD_ST_##want, dg, sd, ch, f }

#define P	BFD_FLAG_P
#define F	BFD_FLAG_F

static const struct script scripts[] = {
	{ "three-way handshake, poll, detection timeout", false, {
		TM(0, DOWN, 0, 1, 0, 0),
		RX(10, DOWN, 0, 0, INIT, 0, 1, 1, 0),
		RX(20, UP, 0, YOURS, UP, 0, 1, 1, P),	/* leaves the slow rate */
		RX(30, UP, F, YOURS, UP, 0, 0, 0, ANY),	/* poll done */
		TM(179, UP, 0, ANY, 0, 0),		/* 3 x 50 ms after the last rx */
		TM(180, DOWN, 1, 1, 1, 0),
	} },
	{ "down straight to up on init", false, {
		RX(5, INIT, 0, YOURS, UP, 0, 1, 1, P),
	} },
	{ "init stays on down, up on up", false, {
		RX(5, DOWN, 0, 0, INIT, 0, 1, 1, 0),
		RX(6, DOWN, 0, 0, INIT, 0, 0, 0, ANY),
		RX(7, UP, 0, YOURS, UP, 0, 1, 1, P),
	} },
	{ "init times out", false, {
		RX(5, DOWN, 0, 0, INIT, 0, 1, 1, 0),
		TM(154, INIT, 0, ANY, 0, ANY),
		TM(155, DOWN, 1, 1, 1, 0),
	} },
	{ "down ignores up", false, {
		RX(5, UP, 0, YOURS, DOWN, 0, 0, 0, ANY),
	} },
	{ "up then remote admin down: diag 3", false, {
		RX(5, DOWN, 0, 0, INIT, 0, 1, 1, 0),
		RX(6, UP, 0, YOURS, UP, 0, 1, 1, P),
		RX(7, ADMIN_DOWN, 0, YOURS, DOWN, 3, 1, 1, 0),
		RX(8, ADMIN_DOWN, 0, 0, DOWN, 3, 0, 0, ANY),	/* no second change */
	} },
	{ "up then remote down: diag 3", false, {
		RX(5, INIT, 0, YOURS, UP, 0, 1, 1, P),
		RX(6, DOWN, 0, 0, DOWN, 3, 1, 1, 0),
		RX(7, DOWN, 0, 0, INIT, 3, 1, 1, 0),	/* and around again */
		RX(8, UP, 0, YOURS, UP, 0, 1, 1, P),
	} },
	{ "init then remote admin down", false, {
		RX(5, DOWN, 0, 0, INIT, 0, 1, 1, 0),
		RX(6, ADMIN_DOWN, 0, 0, DOWN, 3, 1, 1, 0),
	} },
	{ "remote poll answered with final, ours continues after", false, {
		RX(5, DOWN, P, 0, INIT, 0, 1, 1, F),
		RX(6, UP, P, YOURS, UP, 0, 1, 1, F),	/* the Final first */
		TM(60, UP, 0, 1, 0, P),			/* then our Poll */
		RX(61, UP, F, YOURS, UP, 0, 0, 0, ANY),
		TM(120, UP, 0, 1, 0, 0),		/* done: no flags */
		RX(121, UP, P, YOURS, UP, 0, 1, 0, F),
	} },
	{ "passive: silent until the peer speaks, silent again after", true, {
		TM(0, DOWN, 0, 0, 0, ANY),
		TM(5000, DOWN, 0, 0, 0, ANY),
		RX(6000, DOWN, 0, 0, INIT, 0, 1, 1, 0),
		RX(6010, UP, 0, YOURS, UP, 0, 1, 1, P),
		TM(6160, DOWN, 1, 0, 1, ANY),		/* peer gone: quiet */
		TM(9000, DOWN, 1, 0, 0, ANY),		/* and we stop */
		TM(20000, DOWN, 1, 0, 0, ANY),
	} },
	{ "passive: the first packet from the peer is answered", true, {
		RX(100, UP, 0, YOURS, DOWN, 0, 1, 0, 0),	/* ignored, but answered */
	} },
	{ "admin down", false, {
		RX(5, INIT, 0, YOURS, UP, 0, 1, 1, P),
		{ OP_ADMIN_DOWN, 6, 0, 0, 0, BFD_ST_ADMIN_DOWN, 7, 1, 1, 0 },
		RX(7, UP, 0, YOURS, ADMIN_DOWN, 7, 0, 0, ANY),	/* discarded */
		TM(5000, ADMIN_DOWN, 7, 1, 0, 0),	/* no detection in AdminDown */
		{ OP_ADMIN_UP, 5001, 0, 0, 0, BFD_ST_DOWN, 0, 1, 1, 0 },
		RX(5002, DOWN, 0, 0, INIT, 0, 1, 1, 0),
	} },
};

static const struct cfg_bfd cfg50 = { true, 50, 50, 3, false };

static void
mkpkt(struct bfd_pkt *p, int state, int flags, uint32_t your)
{
	memset(p, 0, sizeof(*p));
	p->version = 1;
	p->state = (uint8_t)state;
	p->flags = (uint8_t)flags;
	p->detect_mult = 3;
	p->length = 24;
	p->my_disc = 0x11111111;
	p->your_disc = your;
	p->desired_min_tx = 50000;
	p->required_min_rx = 50000;
	if (state == BFD_ST_ADMIN_DOWN)
		p->diag = BFD_DIAG_ADMIN_DOWN;
}

START_TEST(test_fsm_scripts)
{
	const struct script *sc = &scripts[_i];
	struct cfg_bfd cfg = cfg50;
	struct bfd_fsm f;

	cfg.passive = sc->passive;
	/* Times are offset by 1 ms: 0 means "not scheduled" in the fsm. */
	bfd_fsm_init(&f, &cfg, 0x2222, 1, 1000);
	for (size_t i = 0; sc->steps[i].op != OP_END; i++) {
		const struct step *st = &sc->steps[i];
		uint64_t now = (uint64_t)st->t * 1000 + 1000;
		struct bfd_action act;
		struct bfd_pkt p, out;
		enum bfd_state before = f.state;

		switch (st->op) {
		case OP_RX:
			mkpkt(&p, st->rstate, st->rflags, st->your ? f.my_disc : 0);
			bfd_fsm_rx(&f, &p, now, &act);
			break;
		case OP_TIMER:
			bfd_fsm_timer(&f, now, &act);
			break;
		case OP_ADMIN_DOWN:
		case OP_ADMIN_UP:
			bfd_fsm_admin(&f, st->op == OP_ADMIN_DOWN, now, &act);
			break;
		case OP_END:
			break;
		}
		ck_assert_msg((int)f.state == st->state, "%s step %zu: state %s, want %s",
		    sc->name, i, bfd_state_name(f.state), bfd_state_name(st->state));
		if (st->diag != ANY)
			ck_assert_msg(f.diag == st->diag, "%s step %zu: diag %u, want %d",
			    sc->name, i, f.diag, st->diag);
		if (st->changed != ANY) {
			ck_assert_msg(act.changed == (st->changed == 1),
			    "%s step %zu: changed %d", sc->name, i, act.changed);
			if (act.changed) {
				ck_assert(act.from == before);
				ck_assert(act.to == f.state);
			}
		}
		if (st->send != ANY)
			ck_assert_msg(act.send == (st->send == 1), "%s step %zu: send %d",
			    sc->name, i, act.send);
		if (act.send) {
			bfd_fsm_build(&f, &out);
			ck_assert(out.state == f.state);
			ck_assert(out.diag == f.diag);
			ck_assert_uint_eq(out.my_disc, 0x2222);
			/* Never both (RFC 5880 6.5). */
			ck_assert((out.flags & (P | F)) != (P | F));
			if (st->flags != ANY)
				ck_assert_msg(out.flags == st->flags,
				    "%s step %zu: flags %#x, want %#x", sc->name, i,
				    out.flags, st->flags);
		}
	}
}
END_TEST

/* RFC 5880 6.8.3: one packet a second while not Up, the configured rate
 * once Up, and the advertised values follow. */
START_TEST(test_fsm_rates)
{
	struct bfd_fsm f;
	struct bfd_action act;
	struct bfd_pkt p, out;

	bfd_fsm_init(&f, &cfg50, 7, 1, 1000);
	ck_assert_uint_eq(bfd_fsm_next(&f), 1000);	/* first packet at once */
	bfd_fsm_build(&f, &out);
	ck_assert_uint_eq(out.desired_min_tx, 1000000);
	ck_assert_uint_eq(out.required_min_rx, 50000);
	ck_assert_uint_eq(out.detect_mult, 3);
	ck_assert_uint_eq(out.your_disc, 0);
	ck_assert_uint_eq(out.required_min_echo_rx, 0);
	ck_assert_uint_eq(bfd_fsm_tx_interval(&f), 1000000);
	ck_assert_uint_eq(bfd_fsm_detect_time(&f), 0);

	mkpkt(&p, BFD_ST_INIT, 0, 7);
	p.required_min_rx = 300000;		/* the peer can't take 50 ms */
	bfd_fsm_rx(&f, &p, 2000, &act);
	ck_assert(f.state == BFD_ST_UP);
	bfd_fsm_build(&f, &out);
	ck_assert_uint_eq(out.desired_min_tx, 50000);
	ck_assert_uint_eq(out.your_disc, 0x11111111);
	ck_assert_uint_eq(bfd_fsm_tx_interval(&f), 300000);
	ck_assert_uint_eq(bfd_fsm_detect_time(&f), 150000);

	/* Detection time: remote mult x max(our rx, their tx) (6.8.4). */
	mkpkt(&p, BFD_ST_UP, 0, 7);
	p.detect_mult = 5;
	p.desired_min_tx = 200000;
	bfd_fsm_rx(&f, &p, 3000, &act);
	ck_assert_uint_eq(bfd_fsm_detect_time(&f), 1000000);
	ck_assert_uint_eq(f.detect_at, 1003000);
	ck_assert_uint_eq(bfd_fsm_tx_interval(&f), 50000);

	/* Going down: back to the slow rate at once. */
	mkpkt(&p, BFD_ST_DOWN, 0, 0);
	bfd_fsm_rx(&f, &p, 4000, &act);
	ck_assert(f.state == BFD_ST_DOWN);
	bfd_fsm_build(&f, &out);
	ck_assert_uint_eq(out.desired_min_tx, 1000000);
	ck_assert_uint_eq(out.flags, 0);
}
END_TEST

/* A configured Tx slower than the slow rate: the interval in use changes
 * only when the Poll sequence completes (6.8.3). */
START_TEST(test_fsm_poll_slower)
{
	struct cfg_bfd cfg = { true, 2000, 2000, 3, false };
	struct bfd_fsm f;
	struct bfd_action act;
	struct bfd_pkt p, out;

	bfd_fsm_init(&f, &cfg, 7, 1, 0);
	mkpkt(&p, BFD_ST_INIT, 0, 7);
	bfd_fsm_rx(&f, &p, 10, &act);
	ck_assert(f.state == BFD_ST_UP);
	/* cfg 2 s > slow 1 s: nothing to change, no poll. */
	bfd_fsm_build(&f, &out);
	ck_assert_uint_eq(out.flags, 0);
	ck_assert_uint_eq(out.desired_min_tx, 2000000);
	ck_assert_uint_eq(bfd_fsm_tx_interval(&f), 2000000);

	cfg.min_tx_ms = 500;			/* 500 ms: Up must poll */
	bfd_fsm_init(&f, &cfg, 7, 1, 0);
	f.desired_min_tx = f.tx_interval_base = 1000000;
	bfd_fsm_rx(&f, &p, 10, &act);
	ck_assert(f.poll);
	ck_assert_uint_eq(bfd_fsm_tx_interval(&f), 500000);	/* faster: at once */
	mkpkt(&p, BFD_ST_UP, F, 7);
	bfd_fsm_rx(&f, &p, 20, &act);
	ck_assert(!f.poll);

	/* Slower than in use: wait for the Final. */
	cfg.min_tx_ms = 3000;
	bfd_fsm_init(&f, &cfg, 7, 1, 0);
	f.desired_min_tx = f.tx_interval_base = 1000000;
	f.cfg_min_tx = 3000000;
	mkpkt(&p, BFD_ST_INIT, 0, 7);
	bfd_fsm_rx(&f, &p, 10, &act);
	ck_assert(f.poll);
	ck_assert_uint_eq(bfd_fsm_tx_interval(&f), 1000000);
	bfd_fsm_build(&f, &out);
	ck_assert_uint_eq(out.flags, P);
	ck_assert_uint_eq(out.desired_min_tx, 3000000);
	mkpkt(&p, BFD_ST_UP, F, 7);
	bfd_fsm_rx(&f, &p, 20, &act);
	ck_assert(!f.poll);
	ck_assert_uint_eq(bfd_fsm_tx_interval(&f), 3000000);
}
END_TEST

/* 6.8.7: intervals are reduced by 0..25 %, 10..25 % with multiplier 1,
 * and no periodic packet when the peer's Required Min RX is zero. */
START_TEST(test_fsm_jitter)
{
	for (int mult = 1; mult <= 3; mult += 2) {
		struct cfg_bfd cfg = { true, 50, 50, (uint8_t)mult, false };
		struct bfd_fsm f;
		struct bfd_action act;
		struct bfd_pkt p;
		uint64_t now = 0, lo = UINT64_MAX, hi = 0;

		bfd_fsm_init(&f, &cfg, 7, 42, 0);
		mkpkt(&p, BFD_ST_INIT, 0, 7);
		bfd_fsm_rx(&f, &p, 0, &act);
		for (int i = 0; i < 5000; i++) {
			uint64_t d;

			now = f.next_tx;
			bfd_fsm_timer(&f, now, &act);
			ck_assert(act.send);
			d = f.next_tx - now;
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
			f.detect_at = now + 150000;	/* keep the peer alive */
		}
		ck_assert_uint_ge(lo, 37500);
		ck_assert_uint_le(lo, 38500);
		if (mult == 1) {
			ck_assert_uint_le(hi, 45000);
			ck_assert_uint_ge(hi, 44000);
		} else {
			ck_assert_uint_le(hi, 50000);
			ck_assert_uint_ge(hi, 49000);
		}
	}
}
END_TEST

START_TEST(test_fsm_remote_min_rx_zero)
{
	struct bfd_fsm f;
	struct bfd_action act;
	struct bfd_pkt p;

	bfd_fsm_init(&f, &cfg50, 7, 1, 0);
	mkpkt(&p, BFD_ST_DOWN, 0, 0);
	p.required_min_rx = 0;
	bfd_fsm_rx(&f, &p, 10, &act);
	ck_assert(f.state == BFD_ST_INIT);
	ck_assert(!act.send);
	ck_assert_uint_eq(f.next_tx, 0);
	bfd_fsm_timer(&f, 100000, &act);
	ck_assert(!act.send);
	/* A Poll is still answered. */
	p.flags = P;
	bfd_fsm_rx(&f, &p, 20, &act);
	ck_assert(act.send);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(bfd_state_name(BFD_ST_UP), "Up");
	ck_assert_str_eq(bfd_state_name(BFD_ST_ADMIN_DOWN), "AdminDown");
	ck_assert_str_eq(bfd_diag_name(1), "control detection time expired");
	ck_assert_str_eq(bfd_diag_name(99), "unknown");
	ck_assert_str_eq(bfd_drop_name(BFD_DROP_TTL), "ttl");
	for (int d = 0; d < BFD_DROP__N; d++)
		ck_assert_ptr_nonnull(bfd_drop_name((enum bfd_drop)d));
}
END_TEST

/* ------------------------------------------------------------------ loopback */

struct lb {
	int		 ups, downs;
	uint64_t	 down_at;
	char		 why[96];
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
lb_cb(void *arg, bool up, const char *why)
{
	struct lb *l = arg;

	if (up)
		l->ups++;
	else {
		l->downs++;
		l->down_at = mono_ms();
	}
	snprintf(l->why, sizeof(l->why), "%s", why);
}

static uint16_t
free_udp_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void
run_until(struct event_base *b, bool (*done)(void *), void *arg, unsigned ms)
{
	uint64_t end = mono_ms() + ms;

	while (!done(arg) && mono_ms() < end)
		event_base_loop(b, EVLOOP_ONCE);
}

static struct bfd_session *lb_a, *lb_b;

static bool
both_up(void *arg)
{
	return bfd_session_state(lb_a) == BFD_ST_UP && bfd_session_state(lb_b) == BFD_ST_UP;
}

static bool
b_down(void *arg)
{
	return bfd_session_state(lb_b) != BFD_ST_UP;
}

static bool
never(void *arg)
{
	return false;
}

static void
send_raw(const char *from, uint16_t port, int ttl, const uint8_t *buf, size_t len)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	inet_pton(AF_INET, from, &src.sin_addr);
	inet_pton(AF_INET, "127.0.0.2", &dst.sin_addr);
	dst.sin_port = htons(port);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
	ck_assert_int_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)),
	    (ssize_t)len);
	close(fd);
}

static int64_t
jint(struct json_object *o, const char *k)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, k, &v), "no %s", k);
	return json_object_get_int64(v);
}

START_TEST(test_loopback)
{
	struct event_base *base = event_base_new();
	struct bfd_ctx *ctx = bfd_ctx_new(base);
	struct addr a1, a2;
	struct lb la = { 0 }, lbb = { 0 };
	struct json_object *st, *cn, *v;
	const struct bfd_counters *c;
	uint16_t port = free_udp_port();
	uint64_t freed_at, t0;
	struct bfd_pkt p;
	uint8_t buf[BFD_PKT_LEN];

	ck_assert_ptr_nonnull(base);
	bfd_ctx_set_ports(ctx, port, free_udp_port());
	ck_assert_int_eq(addr_parse("127.0.0.1", &a1), 0);
	ck_assert_int_eq(addr_parse("127.0.0.2", &a2), 0);
	lb_a = bfd_session_new(ctx, &a1, &a2, false, &cfg50, lb_cb, &la);
	lb_b = bfd_session_new(ctx, &a2, &a1, false, &cfg50, lb_cb, &lbb);
	ck_assert_ptr_nonnull(lb_a);
	ck_assert_ptr_nonnull(lb_b);

	t0 = mono_ms();
	run_until(base, both_up, NULL, 5000);
	ck_assert_msg(both_up(NULL), "not up: a %s b %s",
	    bfd_state_name(bfd_session_state(lb_a)), bfd_state_name(bfd_session_state(lb_b)));
	ck_assert_uint_lt(mono_ms() - t0, 1000);
	ck_assert_int_eq(la.ups, 1);
	ck_assert_int_eq(lbb.ups, 1);

	/* Let the poll sequences finish and run at 50 ms for a while. */
	run_until(base, never, NULL, 500);
	ck_assert(both_up(NULL));
	c = bfd_session_counters(lb_b);
	ck_assert_uint_ge(c->tx, 6);
	ck_assert_uint_ge(c->rx, 6);
	ck_assert_uint_eq(bfd_ctx_dropped(ctx, BFD_DROP_TTL), 0);

	st = json_object_new_object();
	bfd_session_status(lb_b, st);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(st, "state")), "Up");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(st, "remote_state")),
	    "Up");
	ck_assert_int_eq(jint(st, "tx_interval_ms"), 50);
	ck_assert_int_eq(jint(st, "detection_time_ms"), 150);
	ck_assert_int_eq(jint(st, "poll"), 0);
	ck_assert_int_ge(jint(st, "source_port"), BFD_SRC_PORT_MIN);
	ck_assert(json_object_object_get_ex(st, "counters", &cn));
	ck_assert_int_eq(jint(cn, "up_events"), 1);

	/* GTSM: a good packet with TTL 64 is dropped before the session. */
	mkpkt(&p, BFD_ST_DOWN, 0, 0);
	bfd_pkt_encode(&p, buf);
	send_raw("127.0.0.1", port, 64, buf, sizeof(buf));
	/* Our discriminator from the wrong address: dropped by the session. */
	mkpkt(&p, BFD_ST_DOWN, 0, (uint32_t)jint(st, "local_discriminator"));
	bfd_pkt_encode(&p, buf);
	send_raw("127.0.0.3", port, 255, buf, sizeof(buf));
	/* Garbage. */
	send_raw("127.0.0.1", port, 255, (const uint8_t *)"hello", 5);
	run_until(base, never, NULL, 200);
	ck_assert_uint_eq(bfd_ctx_dropped(ctx, BFD_DROP_TTL), 1);
	ck_assert_uint_eq(bfd_ctx_dropped(ctx, BFD_DROP_ADDRESS), 1);
	ck_assert_uint_eq(bfd_ctx_dropped(ctx, BFD_DROP_SHORT), 1);
	ck_assert_uint_eq(bfd_session_counters(lb_b)->rx_dropped, 1);
	ck_assert(both_up(NULL));
	json_object_put(st);

	/* A goes away silently: B must notice within its detection time. */
	bfd_session_free(lb_a);
	lb_a = NULL;
	freed_at = mono_ms();
	run_until(base, b_down, NULL, 3000);
	ck_assert(bfd_session_state(lb_b) == BFD_ST_DOWN);
	ck_assert_int_eq(lbb.downs, 1);
	ck_assert_str_eq(lbb.why, "BFD down: control detection time expired");
	/* Last packet from A at most ~50 ms before the free; 150 ms detection. */
	ck_assert_msg(lbb.down_at - freed_at >= 90 && lbb.down_at - freed_at <= 250,
	    "detected after %llu ms", (unsigned long long)(lbb.down_at - freed_at));
	fprintf(stderr, "loopback: down detected %llu ms after the peer went silent\n",
	    (unsigned long long)(lbb.down_at - freed_at));

	st = json_object_new_object();
	bfd_session_status(lb_b, st);
	ck_assert(json_object_object_get_ex(st, "last_down_reason", &v));
	ck_assert_str_eq(json_object_get_string(v), "control detection time expired");
	ck_assert_int_eq(jint(st, "remote_discriminator"), 0);
	json_object_put(st);

	bfd_ctx_free(ctx);			/* frees B too */
	event_base_free(base);
}
END_TEST

/* Admin down on one side: the other goes Down at once with diag 3, and
 * both come back when it is lifted. */
START_TEST(test_loopback_admin)
{
	struct event_base *base = event_base_new();
	struct bfd_ctx *ctx = bfd_ctx_new(base);
	struct addr a1, a2;
	struct lb la = { 0 }, lbb = { 0 };
	struct cfg_bfd passive = cfg50;
	uint64_t t;

	passive.passive = true;
	bfd_ctx_set_ports(ctx, free_udp_port(), free_udp_port());
	addr_parse("127.0.0.1", &a1);
	addr_parse("127.0.0.2", &a2);
	lb_a = bfd_session_new(ctx, &a1, &a2, false, &cfg50, lb_cb, &la);
	lb_b = bfd_session_new(ctx, &a2, &a1, false, &passive, lb_cb, &lbb);
	run_until(base, both_up, NULL, 5000);
	ck_assert(both_up(NULL));

	t = mono_ms();
	bfd_session_set_admin_down(lb_a, true);
	ck_assert(bfd_session_state(lb_a) == BFD_ST_ADMIN_DOWN);
	ck_assert_int_eq(la.downs, 1);
	run_until(base, b_down, NULL, 3000);
	ck_assert(bfd_session_state(lb_b) == BFD_ST_DOWN);
	ck_assert_uint_lt(lbb.down_at - t, 50);		/* told, not timed out */
	ck_assert_str_eq(lbb.why, "BFD down: neighbor signaled session down");

	bfd_session_set_admin_down(lb_a, false);
	run_until(base, both_up, NULL, 5000);
	ck_assert(both_up(NULL));
	bfd_session_free(lb_b);
	bfd_session_free(lb_a);
	bfd_ctx_free(ctx);
	event_base_free(base);
}
END_TEST

static Suite *
bfd_suite(void)
{
	Suite *s = suite_create("bfd");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_encode_table, 0,
	    sizeof(enc_cases) / sizeof(enc_cases[0]));
	tcase_add_loop_test(tc, test_decode_table, 0,
	    sizeof(dec_cases) / sizeof(dec_cases[0]));
	tcase_add_test(tc, test_decode_fields);
	tcase_add_test(tc, test_decode_fuzz);
	tcase_add_loop_test(tc, test_fsm_scripts, 0, sizeof(scripts) / sizeof(scripts[0]));
	tcase_add_test(tc, test_fsm_rates);
	tcase_add_test(tc, test_fsm_poll_slower);
	tcase_add_test(tc, test_fsm_jitter);
	tcase_add_test(tc, test_fsm_remote_min_rx_zero);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_loopback);
	tcase_add_test(tc, test_loopback_admin);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(bfd_suite());
	int failed;

	log_init(LOG_LVL_WARN, LOG_FMT_TEXT);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

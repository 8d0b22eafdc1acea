/*
 * test_bgp_rib.c - the per-peer Adj-RIB-Out, without a session.
 *
 * bgp_rib.c is linked alone; the peer's emit callback (which the session
 * sets in the daemon) captures every message it would send, and each is
 * decoded with the real codec, so the tests check what goes on the wire:
 * only changes, withdrawals before announcements, packing (4096 bytes, or 65535
 * with extended messages), End-of-RIB after the initial dump, a full re-send
 * on ROUTE-REFRESH (framed by BoRR/EoRR with enhanced route refresh),
 * nothing while down.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bgp.h"
#include "bgplb/log.h"

/* ---- capture --------------------------------------------------------------- */

struct captured {
	uint8_t		*msg;
	size_t		 len;
};

static struct captured	cap[8192];
static size_t		ncap;

static int
capture(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	ck_assert_uint_lt(ncap, sizeof(cap) / sizeof(cap[0]));
	cap[ncap].msg = malloc(len);
	memcpy(cap[ncap].msg, msg, len);
	cap[ncap].len = len;
	ncap++;
	return 0;
}

static void
cap_clear(void)
{
	for (size_t i = 0; i < ncap; i++)
		free(cap[i].msg);
	ncap = 0;
}

/* ---- fixtures ------------------------------------------------------------- */

static struct bgp_speaker sp;
static struct bgp_peer peer;
static struct bgp_conn conn;

static void
setup(bool ebgp)
{
	memset(&sp, 0, sizeof(sp));
	memset(&peer, 0, sizeof(peer));
	memset(&conn, 0, sizeof(conn));
	peer.sp = &sp;
	peer.emit = capture;
	peer.name = "tor";
	peer.asn = ebgp ? 64500 : 64512;
	peer.my_asn = 64512;
	peer.ebgp = ebgp;
	peer.as4 = true;
	peer.max_msg_len = BGP_MAX_MSG_LEN;
	peer.adj_out = hmap_new(sizeof(struct bgp_rkey));
	peer.fam_on[BGP_FAM_IPV4] = peer.fam_on[BGP_FAM_IPV6] = true;
	addr_parse("10.0.0.2", &conn.local);
	conn.has_if6 = true;
	addr_parse("fd00::2", &conn.if6);
	cap_clear();
}

static void
teardown(void)
{
	bgp_out_free(&peer);
	cap_clear();
	ck_assert_ptr_null(sp.attrs);	/* every attribute set released */
}

static void
establish(void)
{
	peer.state = BGP_ST_ESTABLISHED;
	peer.conn = &conn;
}

static struct bgp_rattrs *
attrs(uint32_t community, bool lp)
{
	struct plan_route r;
	uint32_t c[1] = { community };

	memset(&r, 0, sizeof(r));
	r.communities = c;
	r.ncommunities = community ? 1 : 0;
	r.has_local_pref = lp;
	r.local_pref = 200;
	return bgp_rattrs_intern(&sp, &r, NULL, 64512);
}

static void
key(struct bgp_rkey *k, const char *pfx)
{
	struct prefix p;

	ck_assert_int_eq(prefix_parse(pfx, &p, false), 0);
	bgp_rkey_make(k, p.addr.af == ADDR_AF_INET ? BGP_FAM_IPV4 : BGP_FAM_IPV6,
	    &p, NULL);
}

static void
set(const char *pfx, struct bgp_rattrs *a)
{
	struct bgp_rkey k;

	key(&k, pfx);
	bgp_out_set(&peer, &k, a, 0);
}

static void
unset(const char *pfx)
{
	struct bgp_rkey k;

	key(&k, pfx);
	bgp_out_unset(&peer, &k);
}

/* What the captured messages did: counts of announced / withdrawn prefixes,
 * UPDATEs, End-of-RIB markers, and a text log "+p -p +p" in wire order
 * (ROUTE-REFRESH markers show as "BoRR" / "EoRR"). */
struct wire {
	size_t	updates, announced, withdrawn, eor;
	char	log[4096];
	bool	saw_local_pref, saw_as_path_own, saw_community;
	struct addr nh4, nh6;
};

static void
decode_all(struct wire *w)
{
	struct bgp_afisafi fams[2] = { { BGP_AFI_IPV4, BGP_SAFI_UNICAST },
	    { BGP_AFI_IPV6, BGP_SAFI_UNICAST } };
	struct bgp_update_ctx ctx = { .as4 = true, .ebgp = false,
	    .n_families = 2, .families = fams };

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < ncap; i++) {
		struct bgp_update u;
		struct bgp_error err;
		uint8_t type;
		uint16_t len;
		char buf[ADDR_STRLEN];

		ck_assert_int_eq(bgp_msg_header_check(cap[i].msg, cap[i].len,
		    peer.max_msg_len, &type, &len, &err), 0);
		ck_assert_uint_eq(len, cap[i].len);
		ck_assert_uint_le(len, peer.max_msg_len);
		if (type == BGP_MSG_ROUTE_REFRESH) {
			struct bgp_route_refresh rr;

			ck_assert_int_eq(bgp_route_refresh_decode(cap[i].msg +
			    BGP_HEADER_LEN, len - BGP_HEADER_LEN, &rr, &err), 0);
			ck_assert(rr.subtype == BGP_RR_BORR ||
			    rr.subtype == BGP_RR_EORR);
			snprintf(w->log + strlen(w->log), sizeof(w->log) -
			    strlen(w->log), "%s%s", w->log[0] ? " " : "",
			    rr.subtype == BGP_RR_BORR ? "BoRR" : "EoRR");
			continue;
		}
		ck_assert_uint_eq(type, BGP_MSG_UPDATE);
		memset(&u, 0, sizeof(u));
		ck_assert_int_eq(bgp_update_decode(cap[i].msg + BGP_HEADER_LEN,
		    len - BGP_HEADER_LEN, &ctx, &u, &err), BGP_UPDATE_OK);
		w->updates++;
		if (u.eor)
			w->eor++;
		for (size_t j = 0; j < u.n_withdrawn; j++) {
			w->withdrawn++;
			snprintf(w->log + strlen(w->log), sizeof(w->log) -
			    strlen(w->log), "%s-%s", w->log[0] ? " " : "",
			    prefix_ntop(&u.withdrawn[j].pfx, buf, sizeof(buf)));
		}
		for (size_t j = 0; j < u.n_announced; j++) {
			w->announced++;
			snprintf(w->log + strlen(w->log), sizeof(w->log) -
			    strlen(w->log), "%s+%s", w->log[0] ? " " : "",
			    prefix_ntop(&u.announced[j].pfx, buf, sizeof(buf)));
		}
		if (u.n_announced) {
			w->saw_local_pref |= u.has_local_pref;
			w->saw_as_path_own |= u.as_path_n == 1 &&
			    u.as_path[0] == 64512;
			w->saw_community |= u.n_communities > 0;
			if (u.has_nexthop)
				w->nh4 = u.nexthop;
			if (u.has_mp_nexthop)
				w->nh6 = u.mp_nexthop;
		}
		bgp_update_free(&u);
	}
	cap_clear();
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_dump_then_eor)
{
	struct bgp_rattrs *a = attrs(0xfc000064, false);
	struct wire w;
	char buf[ADDR_STRLEN];

	setup(true);
	set("192.0.2.1/32", a);
	set("192.0.2.2/32", a);
	set("2001:db8::1/128", a);
	/* Not Established: nothing goes out, but the routes are kept. */
	bgp_out_flush(&peer);
	ck_assert_uint_eq(ncap, 0);
	establish();
	bgp_out_dump(&peer);
	decode_all(&w);
	/* One UPDATE per family (same attributes), then two End-of-RIB. */
	ck_assert_uint_eq(w.updates, 4);
	ck_assert_uint_eq(w.eor, 2);
	ck_assert_uint_eq(w.announced, 3);
	ck_assert_str_eq(w.log, "+192.0.2.1/32 +192.0.2.2/32 +2001:db8::1/128");
	ck_assert(w.saw_as_path_own);		/* eBGP: our AS prepended */
	ck_assert(!w.saw_local_pref);		/* eBGP: no LOCAL_PREF */
	ck_assert(w.saw_community);
	ck_assert_str_eq(addr_ntop(&w.nh4, buf, sizeof(buf)), "10.0.0.2");
	ck_assert_str_eq(addr_ntop(&w.nh6, buf, sizeof(buf)), "fd00::2");
	ck_assert_uint_eq(peer.adv_count[BGP_FAM_IPV4], 2);
	ck_assert_uint_eq(peer.adv_count[BGP_FAM_IPV6], 1);
	bgp_rattrs_unref(&sp, a);
	teardown();
}
END_TEST

/* After the dump only differences are sent. */
static void ch_none(struct bgp_rattrs *a, struct bgp_rattrs *b)
{ (void)b; set("192.0.2.1/32", a); }
static void ch_add(struct bgp_rattrs *a, struct bgp_rattrs *b)
{ (void)b; set("192.0.2.3/32", a); }
static void ch_del(struct bgp_rattrs *a, struct bgp_rattrs *b)
{ (void)a; (void)b; unset("192.0.2.2/32"); }
static void ch_attr(struct bgp_rattrs *a, struct bgp_rattrs *b)
{ (void)a; set("192.0.2.2/32", b); }
static void ch_mixed(struct bgp_rattrs *a, struct bgp_rattrs *b)
{ (void)a; set("192.0.2.9/32", b); unset("192.0.2.1/32"); set("192.0.2.2/32", b);
  unset("2001:db8::1/128"); }
static void ch_add_del(struct bgp_rattrs *a, struct bgp_rattrs *b)
{ (void)b; set("192.0.2.7/32", a); unset("192.0.2.7/32"); }
static void ch_del_add(struct bgp_rattrs *a, struct bgp_rattrs *b)
{ (void)b; unset("192.0.2.1/32"); set("192.0.2.1/32", a); }
static void ch_unknown(struct bgp_rattrs *a, struct bgp_rattrs *b)
{ (void)a; (void)b; unset("198.51.100.1/32"); }

static const struct {
	const char *name;
	void (*change)(struct bgp_rattrs *a, struct bgp_rattrs *b);
	const char *log;
	size_t updates;
} delta_cases[] = {
	{ "same route again", ch_none, "", 0 },
	{ "one more route", ch_add, "+192.0.2.3/32", 1 },
	{ "one route less", ch_del, "-192.0.2.2/32", 1 },
	{ "attributes changed", ch_attr, "+192.0.2.2/32", 1 },
	/* withdrawals first (v4 classic and v6 MP_UNREACH), then by family */
	{ "mixed", ch_mixed, "-192.0.2.1/32 -2001:db8::1/128 +192.0.2.2/32 +192.0.2.9/32", 3 },
	{ "added and removed before a flush", ch_add_del, "", 0 },
	{ "removed and re-added unchanged", ch_del_add, "", 0 },
	{ "withdraw of a route never set", ch_unknown, "", 0 },
};

START_TEST(test_deltas)
{
	struct bgp_rattrs *a, *b;
	struct wire w;

	setup(true);
	a = attrs(0xfc000064, false);
	b = attrs(0xfc000065, false);
	set("192.0.2.1/32", a);
	set("192.0.2.2/32", a);
	set("2001:db8::1/128", a);
	establish();
	bgp_out_dump(&peer);
	cap_clear();
	delta_cases[_i].change(a, b);
	bgp_out_flush(&peer);
	decode_all(&w);
	ck_assert_msg(strcmp(w.log, delta_cases[_i].log) == 0, "%s: got \"%s\"",
	    delta_cases[_i].name, w.log);
	ck_assert_uint_eq(w.updates, delta_cases[_i].updates);
	bgp_rattrs_unref(&sp, a);
	bgp_rattrs_unref(&sp, b);
	teardown();
}
END_TEST

/* Many routes: as few UPDATEs as the 4096-byte limit allows. */
START_TEST(test_packing)
{
	struct bgp_rattrs *a;
	struct wire w;
	char p[32];
	size_t n = 5000, per_msg;

	setup(true);
	a = attrs(0xfc000064, false);
	establish();
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "10.%zu.%zu.%zu/32", i >> 16,
		    (i >> 8) & 255, i & 255);
		set(p, a);
	}
	bgp_out_flush(&peer);
	decode_all(&w);
	ck_assert_uint_eq(w.announced, n);
	/* 4096 - 19 header - 4 lengths - attributes (ORIGIN 4, AS_PATH 9,
	 * NEXT_HOP 7, COMMUNITIES 7 = 27 bytes) leaves 4046 bytes: 809 /32s
	 * of 5 bytes each per UPDATE. */
	per_msg = (4096 - 19 - 4 - 27) / 5;
	ck_assert_uint_eq(w.updates, (n + per_msg - 1) / per_msg);
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "10.%zu.%zu.%zu/32", i >> 16,
		    (i >> 8) & 255, i & 255);
		unset(p);
	}
	bgp_out_flush(&peer);
	decode_all(&w);
	ck_assert_uint_eq(w.withdrawn, n);
	ck_assert_uint_eq(w.updates, (n * 5 + 4096 - 23 - 1) / (4096 - 23));
	ck_assert_uint_eq(hmap_count(peer.adj_out), 0);
	bgp_rattrs_unref(&sp, a);
	teardown();
}
END_TEST

/* Extended messages (RFC 8654): the same routes in 65535-byte UPDATEs. */
START_TEST(test_packing_extended)
{
	struct bgp_rattrs *a;
	struct wire w;
	char p[32];
	size_t n = 30000, per_msg;

	setup(true);
	peer.extended_message = true;
	peer.max_msg_len = BGP_MAX_EXT_MSG_LEN;
	a = attrs(0xfc000064, false);
	establish();
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "10.%zu.%zu.%zu/32", i >> 16,
		    (i >> 8) & 255, i & 255);
		set(p, a);
	}
	bgp_out_flush(&peer);
	decode_all(&w);
	ck_assert_uint_eq(w.announced, n);
	/* 65535 - 19 - 4 - 27 bytes of attributes: 13097 /32s per UPDATE. */
	per_msg = (65535 - 19 - 4 - 27) / 5;
	ck_assert_uint_eq(per_msg, 13097);
	ck_assert_uint_eq(w.updates, (n + per_msg - 1) / per_msg);
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "10.%zu.%zu.%zu/32", i >> 16,
		    (i >> 8) & 255, i & 255);
		unset(p);
	}
	bgp_out_flush(&peer);
	decode_all(&w);
	ck_assert_uint_eq(w.withdrawn, n);
	ck_assert_uint_eq(w.updates, (n * 5 + 65535 - 23 - 1) / (65535 - 23));
	bgp_rattrs_unref(&sp, a);
	teardown();
}
END_TEST

/* Enhanced route refresh (RFC 7313): the re-sent routes come between a
 * BoRR and an EoRR of the family asked for. */
START_TEST(test_enhanced_refresh)
{
	struct bgp_rattrs *a;
	struct wire w;

	setup(true);
	peer.enhanced_rr = true;
	a = attrs(0, false);
	set("192.0.2.1/32", a);
	set("192.0.2.2/32", a);
	set("2001:db8::1/128", a);
	establish();
	bgp_out_dump(&peer);
	cap_clear();
	bgp_out_refresh(&peer, BGP_FAM_IPV6);
	decode_all(&w);
	ck_assert_str_eq(w.log, "BoRR +2001:db8::1/128 EoRR");
	ck_assert_uint_eq(w.eor, 0);
	/* Nothing to send: the markers still frame the (empty) refresh. */
	unset("192.0.2.1/32");
	unset("192.0.2.2/32");
	bgp_out_refresh(&peer, BGP_FAM_IPV4);
	decode_all(&w);
	ck_assert_str_eq(w.log, "-192.0.2.1/32 -192.0.2.2/32 BoRR EoRR");
	bgp_rattrs_unref(&sp, a);
	teardown();
}
END_TEST

START_TEST(test_ibgp_local_pref)
{
	struct bgp_rattrs *a;
	struct wire w;

	setup(false);
	a = attrs(0, true);
	set("192.0.2.1/32", a);
	establish();
	bgp_out_dump(&peer);
	decode_all(&w);
	ck_assert(w.saw_local_pref);
	ck_assert(!w.saw_as_path_own);		/* iBGP: empty AS_PATH */
	bgp_rattrs_unref(&sp, a);
	teardown();
}
END_TEST

/* Session down: the peer holds nothing; the next dump sends all again and
 * nothing that was withdrawn meanwhile. */
START_TEST(test_reset_and_refresh)
{
	struct bgp_rattrs *a;
	struct wire w;

	setup(true);
	a = attrs(0, false);
	set("192.0.2.1/32", a);
	set("192.0.2.2/32", a);
	set("2001:db8::1/128", a);
	establish();
	bgp_out_dump(&peer);
	cap_clear();
	/* ROUTE-REFRESH for IPv4: both IPv4 routes again, no EoR. */
	bgp_out_refresh(&peer, BGP_FAM_IPV4);
	decode_all(&w);
	ck_assert_str_eq(w.log, "+192.0.2.1/32 +192.0.2.2/32");
	/* Down. */
	peer.state = BGP_ST_IDLE;
	peer.conn = NULL;
	bgp_out_reset(&peer);
	ck_assert_uint_eq(peer.adv_count[BGP_FAM_IPV4], 0);
	unset("192.0.2.2/32");		/* while down: nothing to send */
	set("192.0.2.5/32", a);
	bgp_out_flush(&peer);
	ck_assert_uint_eq(ncap, 0);
	establish();
	bgp_out_dump(&peer);
	decode_all(&w);
	ck_assert_str_eq(w.log, "+192.0.2.1/32 +192.0.2.5/32 +2001:db8::1/128");
	ck_assert_uint_eq(w.eor, 2);
	ck_assert_uint_eq(w.withdrawn, 0);
	bgp_rattrs_unref(&sp, a);
	teardown();
}
END_TEST

/* A family the peer did not negotiate is never sent. */
START_TEST(test_family_not_negotiated)
{
	struct bgp_rattrs *a;
	struct wire w;

	setup(true);
	peer.fam_on[BGP_FAM_IPV6] = false;
	a = attrs(0, false);
	set("192.0.2.1/32", a);
	set("2001:db8::1/128", a);
	establish();
	bgp_out_dump(&peer);
	decode_all(&w);
	ck_assert_str_eq(w.log, "+192.0.2.1/32");
	ck_assert_uint_eq(w.eor, 1);
	unset("2001:db8::1/128");
	bgp_out_flush(&peer);
	ck_assert_uint_eq(ncap, 0);
	bgp_rattrs_unref(&sp, a);
	teardown();
}
END_TEST

/* Weighted ECMP: the link-bandwidth extended community carries this node's
 * endpoints at 1 Mbit/s each; no endpoints, no community. */
START_TEST(test_link_bandwidth)
{
	struct plan_route r;
	struct bgp_rattrs *a, *none;
	struct bgp_afisafi fams[1] = { { BGP_AFI_IPV4, BGP_SAFI_UNICAST } };
	struct bgp_update_ctx ctx = { .as4 = true, .n_families = 1, .families = fams };
	struct bgp_update u;
	struct bgp_error err;
	float bw;
	uint32_t bits;

	setup(true);
	memset(&r, 0, sizeof(r));
	r.weighted = true;
	r.endpoints = 3;
	a = bgp_rattrs_intern(&sp, &r, NULL, 64512);
	ck_assert_uint_eq(a->n_ext, 1);
	r.endpoints = 0;
	none = bgp_rattrs_intern(&sp, &r, NULL, 64512);
	ck_assert_uint_eq(none->n_ext, 0);
	set("192.0.2.1/32", a);
	establish();
	bgp_out_flush(&peer);
	ck_assert_uint_eq(ncap, 1);
	memset(&u, 0, sizeof(u));
	ck_assert_int_eq(bgp_update_decode(cap[0].msg + BGP_HEADER_LEN,
	    cap[0].len - BGP_HEADER_LEN, &ctx, &u, &err), BGP_UPDATE_OK);
	ck_assert_uint_eq(u.n_ext_communities, 1);
	/* type 0x40, subtype 0x04, AS 64512 (0xfc00), float bytes/s */
	ck_assert_uint_eq(u.ext_communities[0] >> 32, 0x4004fc00u);
	bits = (uint32_t)u.ext_communities[0];
	memcpy(&bw, &bits, sizeof(bw));
	ck_assert(bw == 375000.0f);
	bgp_update_free(&u);
	cap_clear();
	bgp_rattrs_unref(&sp, a);
	bgp_rattrs_unref(&sp, none);
	teardown();
}
END_TEST

/* Interning: equal attribute sets are one object; unref frees it. */
START_TEST(test_intern)
{
	struct bgp_rattrs *a, *b, *c;

	setup(true);
	a = attrs(1, false);
	b = attrs(1, false);
	c = attrs(2, false);
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_ne(a, c);
	ck_assert_uint_eq(a->refcnt, 2);
	bgp_rattrs_unref(&sp, a);
	bgp_rattrs_unref(&sp, b);
	bgp_rattrs_unref(&sp, c);
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("bgp_rib");

	log_init(LOG_LVL_WARN, LOG_FMT_TEXT);
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_dump_then_eor);
	tcase_add_loop_test(tc, test_deltas, 0,
	    sizeof(delta_cases) / sizeof(delta_cases[0]));
	tcase_add_test(tc, test_packing);
	tcase_add_test(tc, test_packing_extended);
	tcase_add_test(tc, test_enhanced_refresh);
	tcase_add_test(tc, test_ibgp_local_pref);
	tcase_add_test(tc, test_reset_and_refresh);
	tcase_add_test(tc, test_family_not_negotiated);
	tcase_add_test(tc, test_intern);
	tcase_add_test(tc, test_link_bandwidth);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

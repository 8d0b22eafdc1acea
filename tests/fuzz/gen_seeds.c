/*
 * gen_seeds - write the BGP seed corpora with the codec's own builders.
 *
 *   fuzz_gen_seeds OUTDIR    creates OUTDIR/fuzz_bgp_{msg,open,update}/
 *
 * Seeds: the OPENs bgplbd sends (with and without VPN families, 2- and
 * 4-octet AS, graceful restart, extended messages), UPDATEs of every family
 * bgplbd announces (with communities, large and extended communities,
 * LOCAL_PREF, MED, link-local next hop), withdrawals, End-of-RIB markers,
 * ROUTE-REFRESH, NOTIFICATIONs, and the malformed messages of
 * tests/integration/test_hostile.py.  fuzz_bgp_msg gets whole streams
 * (OPEN, KEEPALIVE, UPDATEs, ...) as a peer would send them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bgp_msg.h"

static const char *outdir;
static int nseed;

static void
put(const char *target, const char *name, const uint8_t *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	nseed++;
}

/* The whole stream for fuzz_bgp_msg, built up as we go. */
static struct bgp_wbuf stream;

/* A complete message: its payload to the per-type target, the message to
 * fuzz_bgp_msg (alone, and appended to the stream). */
static void
seed_open(const char *name, const uint8_t *msg, size_t len)
{
	char n[128];

	put("fuzz_bgp_open", name, msg + BGP_HEADER_LEN, len - BGP_HEADER_LEN);
	snprintf(n, sizeof(n), "open-%s", name);
	put("fuzz_bgp_msg", n, msg, len);
}

static void
seed_update(const char *name, uint8_t ctxbyte, const uint8_t *msg, size_t len)
{
	uint8_t buf[BGP_MAX_EXT_MSG_LEN + 1];
	char n[128];

	buf[0] = ctxbyte;
	memcpy(buf + 1, msg + BGP_HEADER_LEN, len - BGP_HEADER_LEN);
	put("fuzz_bgp_update", name, buf, len - BGP_HEADER_LEN + 1);
	snprintf(n, sizeof(n), "update-%s", name);
	put("fuzz_bgp_msg", n, msg, len);
	bgp_wbuf_add(&stream, msg, len);
}

struct emit_arg {
	const char	*name;
	uint8_t		 ctxbyte;
	int		 n;
};

static int
emit(const uint8_t *msg, size_t len, void *arg)
{
	struct emit_arg *a = arg;
	char n[128];

	snprintf(n, sizeof(n), "%s-%d", a->name, a->n++);
	seed_update(n, a->ctxbyte, msg, len);
	return 0;
}

static struct addr
A(const char *s)
{
	struct addr a;

	if (addr_parse(s, &a) == -1)
		abort();
	return a;
}

static struct bgp_nlri
N(const char *s)
{
	struct bgp_nlri n;

	memset(&n, 0, sizeof(n));
	if (prefix_parse(s, &n.pfx, false) == -1)
		abort();
	return n;
}

/* ctx bytes of fuzz_bgp_update */
#define CTX_AS4		0x01
#define CTX_EBGP	0x02
#define CTX_V4		0x04
#define CTX_V6		0x08
#define CTX_VPN4	0x10
#define CTX_VPN6	0x20
#define CTX_ALL		(CTX_AS4 | CTX_EBGP | CTX_V4 | CTX_V6 | CTX_VPN4 | CTX_VPN6)

static void
opens(void)
{
	struct bgp_open o;
	struct bgp_wbuf wb;

	/* bgplbd's own OPEN */
	memset(&o, 0, sizeof(o));
	o.version = 4;
	o.my_as = 64512;
	o.hold_time = 90;
	o.bgp_id = 0x0a000002;
	o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ 1, 1 };
	o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ 2, 1 };
	o.caps.as4 = true;
	o.caps.as4_asn = 64512;
	o.caps.route_refresh = true;
	bgp_wbuf_init(&wb, 0);
	bgp_open_encode(&o, &wb);
	seed_open("bgplbd", wb.p, wb.len);
	bgp_wbuf_add(&stream, wb.p, wb.len);

	/* VPN families, graceful restart, 4-octet AS, extended messages */
	bgp_wbuf_reset(&wb);
	o.my_as = BGP_AS_TRANS;
	o.caps.as4_asn = 4200000001u;
	o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ 1, 128 };
	o.caps.mp[o.caps.n_mp++] = (struct bgp_afisafi){ 2, 128 };
	o.caps.gr.present = true;
	o.caps.gr.flags = BGP_GR_FLAG_RESTART | BGP_GR_FLAG_NOTIFICATION;
	o.caps.gr.restart_time = 120;
	o.caps.gr.fam[o.caps.gr.n++] = (struct bgp_gr_family){ 1, 1, 0x80 };
	o.caps.gr.fam[o.caps.gr.n++] = (struct bgp_gr_family){ 2, 1, 0 };
	o.caps.enhanced_route_refresh = true;
	o.caps.extended_message = true;
	bgp_open_encode(&o, &wb);
	seed_open("vpn-gr-as4-ext", wb.p, wb.len);

	/* a plain old BGP-4 speaker: no capabilities at all */
	bgp_wbuf_reset(&wb);
	memset(&o, 0, sizeof(o));
	o.version = 4;
	o.my_as = 64501;
	o.hold_time = 3;
	o.bgp_id = 0x0a000001;
	bgp_open_encode(&o, &wb);
	seed_open("nocaps", wb.p, wb.len);

	/* hold time 0 (no keepalives) */
	bgp_wbuf_reset(&wb);
	o.hold_time = 0;
	o.caps.as4 = true;
	o.caps.as4_asn = 64501;
	bgp_open_encode(&o, &wb);
	seed_open("hold0", wb.p, wb.len);

	/* the hostile OPENs: bad version, hold 1, BGP id 0, AS 0 */
	bgp_wbuf_reset(&wb);
	o.hold_time = 90;
	o.version = 3;
	bgp_open_encode(&o, &wb);
	seed_open("bad-version", wb.p, wb.len);
	bgp_wbuf_reset(&wb);
	o.version = 4;
	o.hold_time = 1;
	bgp_open_encode(&o, &wb);
	seed_open("bad-hold", wb.p, wb.len);
	bgp_wbuf_reset(&wb);
	o.hold_time = 90;
	o.bgp_id = 0;
	bgp_open_encode(&o, &wb);
	seed_open("bad-id", wb.p, wb.len);
	bgp_wbuf_reset(&wb);
	o.bgp_id = 0x0a000001;
	o.my_as = 0;
	o.caps.as4_asn = 0;
	bgp_open_encode(&o, &wb);
	seed_open("as0", wb.p, wb.len);
	bgp_wbuf_free(&wb);

	{
		/* unsupported optional parameter type 1 (authentication) and
		 * an extended optional parameters length (RFC 9072) */
		static const uint8_t badparam[] = {
			4, 0xfb, 0xf5, 0, 90, 10, 0, 0, 1,
			4, 1, 2, 0xaa, 0xbb,
		};
		static const uint8_t ext_params[] = {
			4, 0xfb, 0xf5, 0, 90, 10, 0, 0, 1,
			255, 255, 0, 8, 2, 0, 6, 65, 4, 0, 0, 0xfb, 0xf5,
		};
		static const uint8_t caplen_overrun[] = {
			4, 0xfb, 0xf5, 0, 90, 10, 0, 0, 1,
			8, 2, 6, 1, 20, 0, 1, 0, 1,
		};

		put("fuzz_bgp_open", "bad-optparam", badparam, sizeof(badparam));
		put("fuzz_bgp_open", "ext-optparams", ext_params, sizeof(ext_params));
		put("fuzz_bgp_open", "caplen-overrun", caplen_overrun,
		    sizeof(caplen_overrun));
	}
}

static void
updates(void)
{
	uint32_t path[] = { 64512, 65000, 4200000001u };
	uint32_t comm[] = { 0xfc000064, BGP_COMMUNITY_NO_EXPORT };
	struct bgp_large_community lc[] = { { 64512, 1, 1 } };
	uint64_t ext[] = { 0x0002fc000000000dull };
	struct bgp_attrs a;
	struct bgp_nlri v4[3] = { N("172.16.13.1/32"), N("172.16.13.0/24"),
	    N("10.0.0.0/8") };
	struct bgp_nlri v6[2] = { N("2001:db8:13::/120"), N("2001:db8::1/128") };
	struct bgp_nlri def4 = N("0.0.0.0/0");
	struct emit_arg ea;
	struct bgp_wbuf wb;

	memset(&a, 0, sizeof(a));
	a.as_path = path;
	a.as_path_n = 3;
	a.as4 = true;
	a.nexthop4 = A("10.0.0.2");
	a.nexthop6 = A("2001:db8::2");
	a.communities = comm;
	a.n_communities = 2;
	a.large_communities = lc;
	a.n_large_communities = 1;
	a.has_med = true;
	a.med = 10;
	ea = (struct emit_arg){ "v4-as4", CTX_ALL, 0 };
	bgp_update_pack(&a, 1, 1, v4, 3, BGP_MAX_MSG_LEN, emit, &ea);
	ea = (struct emit_arg){ "v4-default", CTX_AS4 | CTX_EBGP, 0 };
	bgp_update_pack(&a, 1, 1, &def4, 1, BGP_MAX_MSG_LEN, emit, &ea);

	a.as4 = false;
	ea = (struct emit_arg){ "v4-as2", CTX_EBGP, 0 };
	bgp_update_pack(&a, 1, 1, v4, 1, BGP_MAX_MSG_LEN, emit, &ea);

	a.as4 = true;
	a.has_local_pref = true;
	a.local_pref = 200;
	a.has_nexthop6_ll = true;
	a.nexthop6_ll = A("fe80::2");
	ea = (struct emit_arg){ "v6-ibgp-ll", CTX_AS4 | CTX_V4 | CTX_V6, 0 };
	bgp_update_pack(&a, 2, 1, v6, 2, BGP_MAX_MSG_LEN, emit, &ea);

	a.has_nexthop6_ll = false;
	a.ext_communities = ext;
	a.n_ext_communities = 1;
	v4[0].label = 100;
	v4[0].rd = 0x0000fc000000000dull;
	v6[0].label = 101;
	v6[0].rd = 0x0001c0a800010001ull;
	ea = (struct emit_arg){ "vpnv4", CTX_ALL, 0 };
	bgp_update_pack(&a, 1, 128, v4, 1, BGP_MAX_MSG_LEN, emit, &ea);
	ea = (struct emit_arg){ "vpnv6", CTX_ALL, 0 };
	bgp_update_pack(&a, 2, 128, v6, 1, BGP_MAX_MSG_LEN, emit, &ea);

	ea = (struct emit_arg){ "withdraw-v4", CTX_ALL, 0 };
	bgp_withdraw_pack(1, 1, v4, 3, BGP_MAX_MSG_LEN, emit, &ea);
	ea = (struct emit_arg){ "withdraw-v6", CTX_ALL, 0 };
	bgp_withdraw_pack(2, 1, v6, 2, BGP_MAX_MSG_LEN, emit, &ea);
	ea = (struct emit_arg){ "withdraw-vpnv4", CTX_ALL, 0 };
	bgp_withdraw_pack(1, 128, v4, 1, BGP_MAX_MSG_LEN, emit, &ea);

	bgp_wbuf_init(&wb, 0);
	bgp_eor_build(1, 1, &wb);
	seed_update("eor-v4", CTX_ALL, wb.p, wb.len);
	bgp_wbuf_reset(&wb);
	bgp_eor_build(2, 1, &wb);
	seed_update("eor-v6", CTX_ALL, wb.p, wb.len);
	bgp_wbuf_reset(&wb);
	bgp_eor_build(1, 128, &wb);
	seed_update("eor-vpnv4", CTX_ALL, wb.p, wb.len);
	bgp_wbuf_free(&wb);
}

/* The malformed UPDATEs of test_hostile.py (payloads, ctx byte first). */
static void
bad_updates(void)
{
	static const struct { const char *name; uint8_t len; uint8_t p[64]; } b[] = {
		/* ORIGIN claims 200 bytes */
		{ "attr-overrun", 12, { 0, 0, 0, 8, 0x40, 1, 200, 0,
		    0x40, 2, 0, 0 } },
		/* two MP_REACH_NLRI */
		{ "dup-mpreach", 42, { 0, 0, 0, 39,
		    0x40, 1, 1, 0,  0x40, 2, 0,
		    0x80, 14, 12, 0, 1, 1, 4, 10, 0, 0, 1, 0, 24, 10, 1, 2,
		    0x80, 14, 12, 0, 1, 1, 4, 10, 0, 0, 1, 0, 24, 10, 1, 3 } },
		/* NLRI /33 */
		{ "nlri-33", 33, { 0, 0, 0, 25,
		    0x40, 1, 1, 0,  0x40, 2, 6, 2, 1, 0, 0, 0xfb, 0xf5,
		    0x40, 3, 4, 10, 0, 0, 1,  0x80, 4, 4, 0, 0, 0, 0,
		    33, 10, 1, 2, 3, 4 } },
		/* no NEXT_HOP with IPv4 NLRI */
		{ "missing-nexthop", 22, { 0, 0, 0, 14,
		    0x40, 1, 1, 0,  0x40, 2, 6, 2, 1, 0, 0, 0xfb, 0xf5,
		    24, 10, 1, 2 } },
		/* ORIGIN 7 */
		{ "origin-7", 29, { 0, 0, 0, 21,
		    0x40, 1, 1, 7,  0x40, 2, 6, 2, 1, 0, 0, 0xfb, 0xf5,
		    0x40, 3, 4, 10, 0, 0, 1,
		    24, 10, 1, 2 } },
		/* well-known (not optional) attribute type 99 */
		{ "unknown-wellknown", 35, { 0, 0, 0, 27,
		    0x40, 1, 1, 0,  0x40, 2, 6, 2, 1, 0, 0, 0xfb, 0xf5,
		    0x40, 3, 4, 10, 0, 0, 1,  0x40, 99, 2, 0xde, 0xad,
		    24, 10, 1, 2 } },
		/* 2-octet AS_PATH with AS4_PATH, AGGREGATOR, ATOMIC_AGGREGATE */
		{ "as4-path", 59, { 0, 0, 0, 51,
		    0x40, 1, 1, 0,  0x40, 2, 6, 2, 2, 0x5b, 0xa0, 0xfb, 0xf5,
		    0x40, 3, 4, 10, 0, 0, 1,  0x40, 6, 0,
		    0xc0, 7, 6, 0x5b, 0xa0, 10, 0, 0, 1,
		    0xc0, 17, 10, 2, 2, 0xfa, 0x56, 0xea, 0x01, 0, 0, 0xfb, 0xf5,
		    0xc0, 18, 8, 0xfa, 0x56, 0xea, 0x01, 10, 0, 0, 1,
		    24, 10, 1, 2 } },
	};
	uint8_t msg[BGP_HEADER_LEN + 64];
	size_t keep = stream.len;	/* the session stream stays valid */

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		memset(msg, 0xff, 16);
		msg[16] = 0;
		msg[17] = (uint8_t)(BGP_HEADER_LEN + b[i].len);
		msg[18] = BGP_MSG_UPDATE;
		memcpy(msg + BGP_HEADER_LEN, b[i].p, b[i].len);
		seed_update(b[i].name, CTX_EBGP | CTX_V4, msg, BGP_HEADER_LEN +
		    b[i].len);
	}
	bgp_wbuf_truncate(&stream, keep);
}

static void
others(void)
{
	struct bgp_wbuf wb;
	static const uint8_t bad_marker[19] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	    0, 19, 4 };
	static const uint8_t bad_len[19] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0, 18, 4 };
	static const uint8_t bad_type[19] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0, 19, 9 };

	bgp_wbuf_init(&wb, 0);
	bgp_keepalive_build(&wb);
	put("fuzz_bgp_msg", "keepalive", wb.p, wb.len);
	bgp_wbuf_add(&stream, wb.p, wb.len);
	bgp_wbuf_reset(&wb);
	bgp_route_refresh_build(1, 1, BGP_RR_NORMAL, &wb);
	bgp_route_refresh_build(2, 1, BGP_RR_BORR, &wb);
	bgp_route_refresh_build(2, 1, BGP_RR_EORR, &wb);
	put("fuzz_bgp_msg", "route-refresh", wb.p, wb.len);
	bgp_wbuf_add(&stream, wb.p, wb.len);
	bgp_wbuf_reset(&wb);
	bgp_notification_build_shutdown(BGP_ERR_CEASE_ADMIN_SHUTDOWN,
	    "maintenance \xe2\x9c\x93", &wb);
	put("fuzz_bgp_msg", "notification-shutdown", wb.p, wb.len);
	bgp_wbuf_reset(&wb);
	bgp_notification_build(BGP_ERR_OPEN, BGP_ERR_OPEN_BAD_AS,
	    (const uint8_t *)"\xfb\xf5", 2, &wb);
	put("fuzz_bgp_msg", "notification-bad-as", wb.p, wb.len);
	bgp_wbuf_add(&stream, wb.p, wb.len);
	bgp_wbuf_free(&wb);
	put("fuzz_bgp_msg", "bad-marker", bad_marker, sizeof(bad_marker));
	put("fuzz_bgp_msg", "bad-length", bad_len, sizeof(bad_len));
	put("fuzz_bgp_msg", "bad-type", bad_type, sizeof(bad_type));
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	bgp_wbuf_init(&stream, 0);
	opens();		/* the stream starts with bgplbd's OPEN */
	{
		struct bgp_wbuf wb;

		bgp_wbuf_init(&wb, 0);
		bgp_keepalive_build(&wb);
		bgp_wbuf_add(&stream, wb.p, wb.len);
		bgp_wbuf_free(&wb);
	}
	updates();
	bad_updates();
	others();		/* ends with a NOTIFICATION */
	put("fuzz_bgp_msg", "stream-session", stream.p, stream.len);
	bgp_wbuf_free(&stream);
	printf("%d seeds written to %s\n", nseed, outdir);
	return 0;
}

/*
 * fuzz_bgp_msg - a byte stream as a peer would send it on the socket.
 *
 * Splits the input into messages with bgp_msg_header_check() exactly as
 * on_read() in bgp_session.c does (max length 4096 until an OPEN that
 * offers extended messages was decoded, then 65535) and hands each payload
 * to the decoder of its type.  The stream is replayed under four session
 * contexts: 4-octet AS on/off x families {IPv4 unicast} / {IPv4, IPv6,
 * VPNv4, VPNv6}; eBGP on the first two, iBGP on the others.
 */
#include <stdbool.h>

#include "fuzz_common.h"

static const struct bgp_afisafi fam_v4[] = {
	{ BGP_AFI_IPV4, BGP_SAFI_UNICAST },
};
static const struct bgp_afisafi fam_all[] = {
	{ BGP_AFI_IPV4, BGP_SAFI_UNICAST },
	{ BGP_AFI_IPV6, BGP_SAFI_UNICAST },
	{ BGP_AFI_IPV4, BGP_SAFI_MPLS_VPN },
	{ BGP_AFI_IPV6, BGP_SAFI_MPLS_VPN },
};

static void
replay(const uint8_t *data, size_t size, const struct bgp_update_ctx *ctx)
{
	size_t off = 0, max_len = BGP_MAX_MSG_LEN;

	while (off < size) {
		struct bgp_error err;
		uint8_t type, *payload;
		uint16_t msglen;
		size_t plen;
		int rc;

		memset(&err, 0, sizeof(err));
		rc = bgp_msg_header_check(data + off, size - off, max_len,
		    &type, &msglen, &err);
		if (rc == -1) {
			fuzz_use_error(&err);
			return;		/* the session closes here */
		}
		if (rc == 1 || size - off < msglen)
			return;		/* waits for more bytes */
		if (msglen < BGP_HEADER_LEN || msglen > max_len)
			abort();	/* header_check let a bad length through */
		plen = (size_t)msglen - BGP_HEADER_LEN;
		payload = fuzz_dup(data + off + BGP_HEADER_LEN, plen);
		switch (type) {
		case BGP_MSG_OPEN: {
			struct bgp_open o;

			memset(&o, 0, sizeof(o));
			memset(&err, 0, sizeof(err));
			if (bgp_open_decode(payload, plen, &o, &err) == -1) {
				fuzz_use_error(&err);
				free(payload);
				return;
			}
			(void)bgp_open_peer_as(&o);
			(void)bgp_open_has_family(&o, BGP_AFI_IPV6,
			    BGP_SAFI_UNICAST);
			if (o.caps.extended_message)
				max_len = BGP_MAX_EXT_MSG_LEN;
			break;
		}
		case BGP_MSG_UPDATE: {
			struct bgp_update u;
			enum bgp_update_result r;

			memset(&u, 0, sizeof(u));
			memset(&err, 0, sizeof(err));
			r = bgp_update_decode(payload, plen, ctx, &u, &err);
			if (r == BGP_UPDATE_ERROR) {
				bgp_update_free(&u);
				fuzz_use_error(&err);
				free(payload);
				return;
			}
			fuzz_use_update(&u, r);
			bgp_update_free(&u);
			break;
		}
		case BGP_MSG_NOTIFICATION: {
			struct bgp_notification n;
			char words[200];

			memset(&n, 0, sizeof(n));
			if (bgp_notification_decode(payload, plen, &n) == 0)
				bgp_notification_str(n.code, n.subcode, n.data,
				    n.datalen, words, sizeof(words));
			free(payload);
			return;		/* the session ends on a NOTIFICATION */
		}
		case BGP_MSG_KEEPALIVE:
			break;
		case BGP_MSG_ROUTE_REFRESH: {
			struct bgp_route_refresh rr;

			memset(&err, 0, sizeof(err));
			if (bgp_route_refresh_decode(payload, plen, &rr,
			    &err) == -1) {
				fuzz_use_error(&err);
				free(payload);
				return;
			}
			break;
		}
		default:
			abort();	/* header_check must reject other types */
		}
		(void)bgp_msg_type_name(type);
		free(payload);
		off += msglen;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int v = 0; v < 4; v++) {
		struct bgp_update_ctx ctx;

		memset(&ctx, 0, sizeof(ctx));
		ctx.as4 = (v & 1) != 0;
		ctx.ebgp = v < 2;
		if (v & 2) {
			ctx.families = fam_all;
			ctx.n_families = sizeof(fam_all) / sizeof(fam_all[0]);
		} else {
			ctx.families = fam_v4;
			ctx.n_families = 1;
		}
		replay(data, size, &ctx);
	}
	return 0;
}

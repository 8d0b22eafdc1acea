/*
 * fuzz_bgp_open - one OPEN payload (the bytes after the 19-byte header).
 *
 * A payload that decodes is re-encoded with bgp_open_encode() and decoded
 * again; the fields the session uses must survive the round trip.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bgp_open o, o2;
	struct bgp_error err;
	struct bgp_wbuf wb;
	uint8_t *payload = fuzz_dup(data, size);

	memset(&o, 0, sizeof(o));
	memset(&err, 0, sizeof(err));
	if (bgp_open_decode(payload, size, &o, &err) == -1) {
		fuzz_use_error(&err);
		free(payload);
		return 0;
	}
	free(payload);
	(void)bgp_open_peer_as(&o);
	(void)bgp_open_has_family(&o, BGP_AFI_IPV4, BGP_SAFI_MPLS_VPN);

	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	if (bgp_open_encode(&o, &wb) == 0) {
		memset(&o2, 0, sizeof(o2));
		memset(&err, 0, sizeof(err));
		if (bgp_open_decode(wb.p + BGP_HEADER_LEN,
		    wb.len - BGP_HEADER_LEN, &o2, &err) == -1)
			abort();	/* we cannot read back our own OPEN */
		if (o2.version != o.version || o2.my_as != o.my_as ||
		    o2.hold_time != o.hold_time || o2.bgp_id != o.bgp_id ||
		    o2.caps.as4 != o.caps.as4 ||
		    (o.caps.as4 && o2.caps.as4_asn != o.caps.as4_asn) ||
		    o2.caps.n_mp != o.caps.n_mp ||
		    o2.caps.route_refresh != o.caps.route_refresh ||
		    o2.caps.gr.present != o.caps.gr.present ||
		    bgp_open_peer_as(&o2) != bgp_open_peer_as(&o))
			abort();
		for (size_t i = 0; i < o.caps.n_mp; i++)
			if (o2.caps.mp[i].afi != o.caps.mp[i].afi ||
			    o2.caps.mp[i].safi != o.caps.mp[i].safi)
				abort();
	}
	bgp_wbuf_free(&wb);
	return 0;
}

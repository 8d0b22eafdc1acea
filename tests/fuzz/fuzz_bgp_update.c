/*
 * fuzz_bgp_update - one UPDATE payload (the bytes after the header),
 * preceded by one byte choosing the session context:
 *   bit 0  4-octet AS negotiated
 *   bit 1  eBGP
 *   bits 2-5  families negotiated: IPv4 unicast, IPv6 unicast, VPNv4,
 *             VPNv6 (none set: IPv4 unicast only, as with no MP capability)
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct bgp_afisafi all[] = {
		{ BGP_AFI_IPV4, BGP_SAFI_UNICAST },
		{ BGP_AFI_IPV6, BGP_SAFI_UNICAST },
		{ BGP_AFI_IPV4, BGP_SAFI_MPLS_VPN },
		{ BGP_AFI_IPV6, BGP_SAFI_MPLS_VPN },
	};
	struct bgp_afisafi fams[4];
	struct bgp_update_ctx ctx;
	struct bgp_update u;
	struct bgp_error err;
	enum bgp_update_result r;
	uint8_t *payload;

	if (size < 1)
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.as4 = (data[0] & 1) != 0;
	ctx.ebgp = (data[0] & 2) != 0;
	for (int i = 0; i < 4; i++)
		if (data[0] & (4 << i))
			fams[ctx.n_families++] = all[i];
	ctx.families = fams;
	payload = fuzz_dup(data + 1, size - 1);
	memset(&u, 0, sizeof(u));
	memset(&err, 0, sizeof(err));
	r = bgp_update_decode(payload, size - 1, &ctx, &u, &err);
	if (r == BGP_UPDATE_ERROR)
		fuzz_use_error(&err);
	else
		fuzz_use_update(&u, r);
	bgp_update_free(&u);
	free(payload);
	return 0;
}

/*
 * bgp_msg.h - BGP-4 message codec: pure functions, no sockets.
 *
 * The session code frames a message with bgp_msg_header_check(), hands the
 * payload (the bytes after the 19-byte header) to the decoder of its type,
 * and builds its own messages with the *_build/_encode/_pack functions,
 * which append complete messages (header included) to a struct bgp_wbuf or
 * pass them to an emit callback.
 *
 * Errors a peer causes come back as a struct bgp_error holding the exact
 * NOTIFICATION (code, subcode, data) to send.  UPDATE errors follow RFC 7606:
 * the result says whether to reset the session or treat the routes as
 * withdrawn; attributes that only need discarding are dropped silently.
 *
 * RFCs: 4271, 4760, 5492, 6793, 2918, 7313, 4724, 1997, 8092, 4360, 7606,
 * 8203/9003, 8654, 4364/4659 (VPN NLRI, SAFI 128), 7607 (AS 0).
 */
#ifndef BGPLB_BGP_MSG_H
#define BGPLB_BGP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bgplb/addr.h"
#include "bgp_buf.h"

#define BGP_HEADER_LEN		19
#define BGP_MAX_MSG_LEN		4096
#define BGP_MAX_EXT_MSG_LEN	65535		/* RFC 8654 */
#define BGP_VERSION		4
#define BGP_AS_TRANS		23456		/* RFC 6793 */
#define BGP_PORT		179

enum bgp_msg_type {
	BGP_MSG_OPEN = 1,
	BGP_MSG_UPDATE = 2,
	BGP_MSG_NOTIFICATION = 3,
	BGP_MSG_KEEPALIVE = 4,
	BGP_MSG_ROUTE_REFRESH = 5,
};

/* NOTIFICATION error codes (RFC 4271 4.5) and subcodes. */
enum bgp_err_code {
	BGP_ERR_HEADER = 1,
	BGP_ERR_OPEN = 2,
	BGP_ERR_UPDATE = 3,
	BGP_ERR_HOLD_TIMER = 4,
	BGP_ERR_FSM = 5,
	BGP_ERR_CEASE = 6,
	BGP_ERR_ROUTE_REFRESH = 7,		/* RFC 7313 */
};

enum bgp_err_header_sub {
	BGP_ERR_HEADER_NOT_SYNC = 1,
	BGP_ERR_HEADER_BAD_LENGTH = 2,
	BGP_ERR_HEADER_BAD_TYPE = 3,
};

enum bgp_err_open_sub {
	BGP_ERR_OPEN_UNSPECIFIC = 0,
	BGP_ERR_OPEN_VERSION = 1,
	BGP_ERR_OPEN_BAD_AS = 2,
	BGP_ERR_OPEN_BAD_ID = 3,
	BGP_ERR_OPEN_OPT_PARAM = 4,
	BGP_ERR_OPEN_AUTH = 5,			/* deprecated */
	BGP_ERR_OPEN_HOLD_TIME = 6,
	BGP_ERR_OPEN_UNSUPPORTED_CAP = 7,	/* RFC 5492 */
	BGP_ERR_OPEN_ROLE_MISMATCH = 11,	/* RFC 9234 */
};

enum bgp_err_update_sub {
	BGP_ERR_UPDATE_UNSPECIFIC = 0,
	BGP_ERR_UPDATE_ATTR_LIST = 1,
	BGP_ERR_UPDATE_UNKNOWN_WELLKNOWN = 2,
	BGP_ERR_UPDATE_MISSING_WELLKNOWN = 3,
	BGP_ERR_UPDATE_ATTR_FLAGS = 4,
	BGP_ERR_UPDATE_ATTR_LENGTH = 5,
	BGP_ERR_UPDATE_ORIGIN = 6,
	BGP_ERR_UPDATE_LOOP = 7,		/* deprecated */
	BGP_ERR_UPDATE_NEXTHOP = 8,
	BGP_ERR_UPDATE_OPT_ATTR = 9,
	BGP_ERR_UPDATE_NETWORK = 10,
	BGP_ERR_UPDATE_AS_PATH = 11,
};

enum bgp_err_fsm_sub {					/* RFC 6608 */
	BGP_ERR_FSM_UNSPECIFIC = 0,
	BGP_ERR_FSM_OPENSENT = 1,
	BGP_ERR_FSM_OPENCONFIRM = 2,
	BGP_ERR_FSM_ESTABLISHED = 3,
};

enum bgp_err_cease_sub {				/* RFC 4486, 8538, 9384 */
	BGP_ERR_CEASE_MAX_PREFIX = 1,
	BGP_ERR_CEASE_ADMIN_SHUTDOWN = 2,
	BGP_ERR_CEASE_PEER_UNCONFIGURED = 3,
	BGP_ERR_CEASE_ADMIN_RESET = 4,
	BGP_ERR_CEASE_CONN_REJECTED = 5,
	BGP_ERR_CEASE_CONFIG_CHANGE = 6,
	BGP_ERR_CEASE_COLLISION = 7,
	BGP_ERR_CEASE_RESOURCES = 8,
	BGP_ERR_CEASE_HARD_RESET = 9,
	BGP_ERR_CEASE_BFD_DOWN = 10,
};

enum bgp_err_rr_sub {
	BGP_ERR_RR_BAD_LENGTH = 1,			/* RFC 7313 */
};

/* Path attribute type codes. */
enum bgp_attr_type {
	BGP_ATTR_ORIGIN = 1,
	BGP_ATTR_AS_PATH = 2,
	BGP_ATTR_NEXT_HOP = 3,
	BGP_ATTR_MED = 4,
	BGP_ATTR_LOCAL_PREF = 5,
	BGP_ATTR_ATOMIC_AGGREGATE = 6,
	BGP_ATTR_AGGREGATOR = 7,
	BGP_ATTR_COMMUNITIES = 8,
	BGP_ATTR_ORIGINATOR_ID = 9,
	BGP_ATTR_CLUSTER_LIST = 10,
	BGP_ATTR_MP_REACH_NLRI = 14,
	BGP_ATTR_MP_UNREACH_NLRI = 15,
	BGP_ATTR_EXT_COMMUNITIES = 16,
	BGP_ATTR_AS4_PATH = 17,
	BGP_ATTR_AS4_AGGREGATOR = 18,
	BGP_ATTR_LARGE_COMMUNITY = 32,
};

/* Attribute flag bits. */
#define BGP_ATTRF_OPTIONAL	0x80
#define BGP_ATTRF_TRANSITIVE	0x40
#define BGP_ATTRF_PARTIAL	0x20
#define BGP_ATTRF_EXTLEN	0x10

enum bgp_origin {
	BGP_ORIGIN_IGP = 0,
	BGP_ORIGIN_EGP = 1,
	BGP_ORIGIN_INCOMPLETE = 2,
};

enum bgp_as_seg {
	BGP_AS_SET = 1,
	BGP_AS_SEQUENCE = 2,
	BGP_AS_CONFED_SEQUENCE = 3,
	BGP_AS_CONFED_SET = 4,
};

#define BGP_AFI_IPV4		1
#define BGP_AFI_IPV6		2
#define BGP_SAFI_UNICAST	1
#define BGP_SAFI_MPLS_VPN	128

/* Capability codes (RFC 5492 registry). */
enum bgp_cap_code {
	BGP_CAP_MP = 1,
	BGP_CAP_ROUTE_REFRESH = 2,
	BGP_CAP_EXT_MESSAGE = 6,		/* RFC 8654 */
	BGP_CAP_GRACEFUL_RESTART = 64,		/* RFC 4724 */
	BGP_CAP_AS4 = 65,			/* RFC 6793 */
	BGP_CAP_ADD_PATH = 69,
	BGP_CAP_ENHANCED_RR = 70,		/* RFC 7313 */
};

#define BGP_OPT_PARAM_CAPABILITIES	2

/* Well-known communities (RFC 1997). */
#define BGP_COMMUNITY_NO_EXPORT		0xFFFFFF01u
#define BGP_COMMUNITY_NO_ADVERTISE	0xFFFFFF02u
#define BGP_COMMUNITY_NO_EXPORT_SUBCONFED 0xFFFFFF03u

/* ROUTE-REFRESH subtypes (RFC 7313). */
#define BGP_RR_NORMAL	0
#define BGP_RR_BORR	1
#define BGP_RR_EORR	2

/* Labels: the bottom-of-stack bit is the low bit of the 3-byte field. */
#define BGP_LABEL_WITHDRAW	0x800000	/* whole 3-byte field, RFC 8277 */

/* The NOTIFICATION a decoder wants sent.  data is truncated at 64 bytes. */
struct bgp_error {
	uint8_t		code;
	uint8_t		subcode;
	uint8_t		data[64];
	size_t		datalen;
};

struct bgp_afisafi {
	uint16_t	afi;
	uint8_t		safi;
};

/* ---- framing ----------------------------------------------------------- */

/*
 * Check the 19-byte header at buf.  Returns 1 when fewer than 19 bytes are
 * available yet, 0 when the header is good (*type, *msglen set; the caller
 * waits for msglen bytes), -1 with *err filled otherwise.  max_len is 4096,
 * or 65535 once extended messages are negotiated (OPEN stays at 4096).
 */
int	bgp_msg_header_check(const uint8_t *buf, size_t len, size_t max_len,
	    uint8_t *type, uint16_t *msglen, struct bgp_error *err);
/* Start a message of this type in wb; returns the offset to pass to end. */
size_t	bgp_msg_begin(struct bgp_wbuf *, uint8_t type);
/* Fill in the length of the message begun at start; 0 or -1 on any error. */
int	bgp_msg_end(struct bgp_wbuf *, size_t start);

/* ---- OPEN -------------------------------------------------------------- */

#define BGP_MAX_CAP_FAMILIES	16

struct bgp_gr_family {
	uint16_t	afi;
	uint8_t		safi;
	uint8_t		flags;		/* 0x80: forwarding state preserved */
};

#define BGP_GR_FLAG_RESTART	0x8	/* R bit, top nibble of the 16 bits */
#define BGP_GR_FLAG_NOTIFICATION 0x4	/* N bit, RFC 8538 */
#define BGP_GR_AF_FORWARDING	0x80

struct bgp_caps {
	size_t		n_mp;
	struct bgp_afisafi mp[BGP_MAX_CAP_FAMILIES];
	bool		as4;
	uint32_t	as4_asn;
	bool		route_refresh;
	bool		enhanced_route_refresh;
	bool		extended_message;
	struct {
		bool		present;
		uint8_t		flags;		/* BGP_GR_FLAG_* */
		uint16_t	restart_time;	/* seconds, 12 bits */
		size_t		n;
		struct bgp_gr_family fam[BGP_MAX_CAP_FAMILIES];
	} gr;
	size_t		n_unknown;		/* capabilities we do not know */
};

struct bgp_open {
	uint8_t		version;
	uint16_t	my_as;			/* the 2-byte field (AS_TRANS if big) */
	uint16_t	hold_time;
	uint32_t	bgp_id;			/* host order */
	struct bgp_caps	caps;
};

/* Append an OPEN (header included).  Families beyond BGP_MAX_CAP_FAMILIES
 * and GR families are taken from open->caps. */
int	bgp_open_encode(const struct bgp_open *, struct bgp_wbuf *);
/* Decode an OPEN payload and apply the RFC 4271 6.2 checks. */
int	bgp_open_decode(const uint8_t *payload, size_t len, struct bgp_open *,
	    struct bgp_error *err);
/* The peer's real AS: the 4-octet capability's AS, else the 2-byte field. */
uint32_t bgp_open_peer_as(const struct bgp_open *);
bool	bgp_open_has_family(const struct bgp_open *, uint16_t afi, uint8_t safi);
/*
 * RFC 5492: a speaker that requires a capability the peer lacks MAY close
 * with 2/7 Unsupported Capability, the data being the capability TLV(s).
 * These fill err for that; sending it is the session's call.
 */
void	bgp_error_unsupported_cap(struct bgp_error *, uint8_t code,
	    const uint8_t *value, uint8_t len);
void	bgp_error_unsupported_family(struct bgp_error *, uint16_t afi,
	    uint8_t safi);

/* ---- UPDATE ------------------------------------------------------------ */

/* One prefix of one family; rd/label only for SAFI 128. */
struct bgp_nlri {
	uint16_t	afi;
	uint8_t		safi;
	uint32_t	label;		/* 20-bit label value */
	uint64_t	rd;		/* route distinguisher, as 8 wire bytes */
	struct prefix	pfx;
};

struct bgp_large_community {
	uint32_t	global;
	uint32_t	local1;
	uint32_t	local2;
};

/* What the session negotiated; decoding depends on it. */
struct bgp_update_ctx {
	bool		as4;		/* both sides sent the 4-octet AS cap */
	bool		ebgp;		/* LOCAL_PREF from eBGP is discarded */
	/* Negotiated MP families; none means IPv4 unicast only (RFC 4760). */
	size_t		n_families;
	const struct bgp_afisafi *families;
};

enum bgp_update_result {
	BGP_UPDATE_OK = 0,
	/* RFC 7606 treat-as-withdraw: every NLRI of the message has been moved
	 * to withdrawn[] (announced is empty); reason says why, for the log. */
	BGP_UPDATE_TREAT_AS_WITHDRAW = 1,
	/* Session reset: send err as NOTIFICATION. */
	BGP_UPDATE_ERROR = 2,
};

struct bgp_update {
	struct bgp_nlri	*withdrawn;
	size_t		 n_withdrawn;
	struct bgp_nlri	*announced;
	size_t		 n_announced;

	uint8_t		 seen[32];	/* bitmap of attribute types kept */
	uint8_t		 origin;
	uint32_t	*as_path;	/* flattened, all segments in order */
	size_t		 as_path_n;
	size_t		 as_path_segments;
	size_t		 as_path_len;	/* RFC 4271 9.1.2.2: a set counts 1 */
	bool		 has_nexthop;	/* classic NEXT_HOP */
	struct addr	 nexthop;
	bool		 has_mp_nexthop; /* from MP_REACH (RD stripped for VPN) */
	struct addr	 mp_nexthop;
	bool		 has_mp_nexthop_ll;
	struct addr	 mp_nexthop_ll;	/* IPv6 link-local, 32-byte form */
	bool		 has_med;
	uint32_t	 med;
	bool		 has_local_pref;
	uint32_t	 local_pref;
	bool		 atomic_aggregate;
	bool		 has_aggregator;
	uint32_t	 aggregator_as;
	uint32_t	 aggregator_id;
	bool		 has_originator_id;
	uint32_t	 originator_id;
	size_t		 n_cluster_list;
	uint32_t	*communities;
	size_t		 n_communities;
	struct bgp_large_community *large_communities;
	size_t		 n_large_communities;
	uint64_t	*ext_communities;	/* the 8 wire bytes, big-endian */
	size_t		 n_ext_communities;
	size_t		 n_unknown;		/* unknown optional attributes */
	size_t		 n_discarded;		/* RFC 7606 attribute discard */

	bool		 eor;			/* End-of-RIB (RFC 4724) */
	struct bgp_afisafi eor_family;

	struct bgp_error reason;	/* set on TREAT_AS_WITHDRAW */
};

/*
 * Decode an UPDATE payload.  Always call bgp_update_free() afterwards,
 * whatever the result (it is safe on a failed decode).  Allocation is
 * bounded by the payload length.
 */
enum bgp_update_result bgp_update_decode(const uint8_t *payload, size_t len,
	    const struct bgp_update_ctx *, struct bgp_update *, struct bgp_error *);
void	bgp_update_free(struct bgp_update *);
bool	bgp_update_has_attr(const struct bgp_update *, uint8_t type);
/* IPv4/IPv6 unicast or MPLS VPN: the families the codec knows. */
bool	bgp_family_supported(uint16_t afi, uint8_t safi);

/* Attributes the speaker announces with. */
struct bgp_attrs {
	uint8_t		 origin;		/* BGP_ORIGIN_IGP by default (0) */
	const uint32_t	*as_path;		/* one AS_SEQUENCE, may be empty */
	size_t		 as_path_n;
	bool		 as4;			/* peer has the 4-octet AS cap */
	struct addr	 nexthop4;		/* IPv4 unicast / VPNv4 */
	struct addr	 nexthop6;		/* IPv6 unicast / VPNv6 global */
	bool		 has_nexthop6_ll;
	struct addr	 nexthop6_ll;
	bool		 has_local_pref;
	uint32_t	 local_pref;
	bool		 has_med;
	uint32_t	 med;
	const uint32_t	*communities;
	size_t		 n_communities;
	const struct bgp_large_community *large_communities;
	size_t		 n_large_communities;
	const uint64_t	*ext_communities;
	size_t		 n_ext_communities;
};

/* Called once per message built; return -1 to stop packing. */
typedef int (*bgp_emit_fn)(const uint8_t *msg, size_t len, void *arg);

/*
 * Pack nlri[0..count) of family (afi, safi) into as few UPDATEs as fit in
 * max_msg_len (header included) and emit each.  IPv4 unicast uses the
 * classic NLRI field and NEXT_HOP; IPv6 unicast, VPNv4 and VPNv6 use
 * MP_REACH_NLRI.  The afi/safi inside each nlri are ignored; rd/label are
 * used for SAFI 128 (one label, bottom-of-stack set).  Returns 0, or -1
 * when the family is unsupported, a prefix is of the wrong address family,
 * the attributes alone do not fit, or emit failed.
 */
int	bgp_update_pack(const struct bgp_attrs *, uint16_t afi, uint8_t safi,
	    const struct bgp_nlri *nlri, size_t count, size_t max_msg_len,
	    bgp_emit_fn emit, void *arg);
/*
 * Withdraw likewise: classic withdrawn routes for IPv4 unicast, an
 * MP_UNREACH_NLRI otherwise.  For VPN routes the label field is sent as
 * 0x800000 (RFC 8277 2.4 / RFC 3107 compatibility value); receivers ignore it.
 */
int	bgp_withdraw_pack(uint16_t afi, uint8_t safi, const struct bgp_nlri *,
	    size_t count, size_t max_msg_len, bgp_emit_fn emit, void *arg);
/* End-of-RIB: an empty UPDATE for IPv4 unicast, else an empty MP_UNREACH. */
int	bgp_eor_build(uint16_t afi, uint8_t safi, struct bgp_wbuf *);

/* ---- KEEPALIVE, NOTIFICATION, ROUTE-REFRESH ----------------------------- */

int	bgp_keepalive_build(struct bgp_wbuf *);
int	bgp_notification_build(uint8_t code, uint8_t subcode,
	    const uint8_t *data, size_t datalen, struct bgp_wbuf *);
/* Cease with an RFC 8203/9003 shutdown communication (subcode 2 or 4);
 * msg is UTF-8, cut to 255 bytes at a character boundary; NULL = none. */
int	bgp_notification_build_shutdown(uint8_t subcode, const char *msg,
	    struct bgp_wbuf *);

#define BGP_SHUTDOWN_MSG_MAX	255

struct bgp_notification {
	uint8_t		 code;
	uint8_t		 subcode;
	const uint8_t	*data;		/* points into the payload */
	size_t		 datalen;
	bool		 has_shutdown_msg;	/* valid RFC 8203 message */
	char		 shutdown_msg[BGP_SHUTDOWN_MSG_MAX + 1];
};

int	bgp_notification_decode(const uint8_t *payload, size_t len,
	    struct bgp_notification *);
/*
 * Words for status / logs: "OPEN Message Error / Bad Peer AS",
 * "Cease / Administrative Shutdown: \"maintenance\"".  Always NUL-terminates
 * (when buflen > 0) and returns buf.
 */
const char *bgp_notification_str(uint8_t code, uint8_t subcode,
	    const uint8_t *data, size_t datalen, char *buf, size_t buflen);

struct bgp_route_refresh {
	uint16_t	afi;
	uint8_t		subtype;	/* BGP_RR_*; others must be ignored */
	uint8_t		safi;
};

int	bgp_route_refresh_build(uint16_t afi, uint8_t safi, uint8_t subtype,
	    struct bgp_wbuf *);
int	bgp_route_refresh_decode(const uint8_t *payload, size_t len,
	    struct bgp_route_refresh *, struct bgp_error *err);

/* ---- names --------------------------------------------------------------- */

const char *bgp_msg_type_name(uint8_t type);
/* "ipv4-unicast", "ipv6-unicast", "vpnv4", "vpnv6"; anything else "unknown". */
const char *bgp_afi_safi_name(uint16_t afi, uint8_t safi);
const char *bgp_attr_name(uint8_t type);

#endif

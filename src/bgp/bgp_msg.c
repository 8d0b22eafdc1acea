/*
 * bgp_msg.c - framing, OPEN, KEEPALIVE, NOTIFICATION and ROUTE-REFRESH.
 *
 * Framing is checked (marker, length range, per-type minimum) before any
 * payload is looked at, so the decoders below may assume nothing except
 * that they were handed len readable bytes: they still go through the
 * bounded reader for every field.  UPDATE lives in bgp_update.c.
 */
#include <stdio.h>
#include <string.h>

#include "bgp_msg.h"

static void
err_set(struct bgp_error *err, uint8_t code, uint8_t subcode,
    const void *data, size_t datalen)
{
	if (err == NULL)
		return;
	err->code = code;
	err->subcode = subcode;
	if (datalen > sizeof(err->data))
		datalen = sizeof(err->data);
	if (datalen > 0)
		memcpy(err->data, data, datalen);
	err->datalen = datalen;
}

/* ---- framing ----------------------------------------------------------- */

int
bgp_msg_header_check(const uint8_t *buf, size_t len, size_t max_len,
    uint8_t *type, uint16_t *msglen, struct bgp_error *err)
{
	static const uint16_t minlen[] = {
		[BGP_MSG_OPEN] = 29,
		[BGP_MSG_UPDATE] = 23,
		[BGP_MSG_NOTIFICATION] = 21,
		[BGP_MSG_KEEPALIVE] = 19,
		[BGP_MSG_ROUTE_REFRESH] = 23,
	};
	uint16_t mlen;
	uint8_t t;
	size_t i, lim;

	if (len < BGP_HEADER_LEN)
		return 1;
	for (i = 0; i < 16; i++)
		if (buf[i] != 0xff) {
			err_set(err, BGP_ERR_HEADER, BGP_ERR_HEADER_NOT_SYNC,
			    NULL, 0);
			return -1;
		}
	mlen = (uint16_t)(buf[16] << 8 | buf[17]);
	t = buf[18];
	if (max_len < BGP_MAX_MSG_LEN)
		max_len = BGP_MAX_MSG_LEN;
	if (max_len > BGP_MAX_EXT_MSG_LEN)
		max_len = BGP_MAX_EXT_MSG_LEN;
	if (mlen < BGP_HEADER_LEN || mlen > max_len)
		goto badlen;
	if (t < BGP_MSG_OPEN || t > BGP_MSG_ROUTE_REFRESH) {
		err_set(err, BGP_ERR_HEADER, BGP_ERR_HEADER_BAD_TYPE, &t, 1);
		return -1;
	}
	/* RFC 8654: OPEN and KEEPALIVE never grow past 4096. */
	lim = t == BGP_MSG_OPEN ? BGP_MAX_MSG_LEN : max_len;
	if (mlen < minlen[t] || mlen > lim)
		goto badlen;
	if (t == BGP_MSG_KEEPALIVE && mlen != BGP_HEADER_LEN)
		goto badlen;
	*type = t;
	*msglen = mlen;
	return 0;
badlen:
	err_set(err, BGP_ERR_HEADER, BGP_ERR_HEADER_BAD_LENGTH, buf + 16, 2);
	return -1;
}

size_t
bgp_msg_begin(struct bgp_wbuf *wb, uint8_t type)
{
	static const uint8_t marker[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	size_t start = wb->len;

	bgp_wbuf_add(wb, marker, sizeof(marker));
	bgp_wbuf_add_u16(wb, 0);
	bgp_wbuf_add_u8(wb, type);
	return start;
}

int
bgp_msg_end(struct bgp_wbuf *wb, size_t start)
{
	size_t n;

	if (bgp_wbuf_error(wb) == -1)
		return -1;
	n = wb->len - start;
	if (n > BGP_MAX_EXT_MSG_LEN) {
		wb->err = 1;
		return -1;
	}
	return bgp_wbuf_put_u16(wb, start + 16, (uint16_t)n);
}

/* ---- OPEN -------------------------------------------------------------- */

/* Append one capability TLV. */
static void
cap_add(struct bgp_wbuf *wb, uint8_t code, const uint8_t *val, uint8_t len)
{
	bgp_wbuf_add_u8(wb, code);
	bgp_wbuf_add_u8(wb, len);
	bgp_wbuf_add(wb, val, len);
}

/* All capabilities, in ascending code order, as a flat TLV list. */
static void
caps_encode(const struct bgp_caps *c, struct bgp_wbuf *wb)
{
	uint8_t v[2 + 4 * BGP_MAX_CAP_FAMILIES];
	size_t i, n;

	for (i = 0; i < c->n_mp && i < BGP_MAX_CAP_FAMILIES; i++) {
		v[0] = (uint8_t)(c->mp[i].afi >> 8);
		v[1] = (uint8_t)c->mp[i].afi;
		v[2] = 0;
		v[3] = c->mp[i].safi;
		cap_add(wb, BGP_CAP_MP, v, 4);
	}
	if (c->route_refresh)
		cap_add(wb, BGP_CAP_ROUTE_REFRESH, NULL, 0);
	if (c->extended_message)
		cap_add(wb, BGP_CAP_EXT_MESSAGE, NULL, 0);
	if (c->gr.present) {
		uint16_t rt = c->gr.restart_time & 0x0fff;

		v[0] = (uint8_t)((c->gr.flags & 0xf) << 4 | rt >> 8);
		v[1] = (uint8_t)rt;
		n = 2;
		for (i = 0; i < c->gr.n && i < BGP_MAX_CAP_FAMILIES; i++) {
			v[n++] = (uint8_t)(c->gr.fam[i].afi >> 8);
			v[n++] = (uint8_t)c->gr.fam[i].afi;
			v[n++] = c->gr.fam[i].safi;
			v[n++] = c->gr.fam[i].flags;
		}
		cap_add(wb, BGP_CAP_GRACEFUL_RESTART, v, (uint8_t)n);
	}
	if (c->as4) {
		v[0] = (uint8_t)(c->as4_asn >> 24);
		v[1] = (uint8_t)(c->as4_asn >> 16);
		v[2] = (uint8_t)(c->as4_asn >> 8);
		v[3] = (uint8_t)c->as4_asn;
		cap_add(wb, BGP_CAP_AS4, v, 4);
	}
	if (c->enhanced_route_refresh)
		cap_add(wb, BGP_CAP_ENHANCED_RR, NULL, 0);
}

int
bgp_open_encode(const struct bgp_open *o, struct bgp_wbuf *wb)
{
	struct bgp_wbuf caps;
	struct bgp_rbuf rb;
	size_t start, plen_off, param_off = 0, used = 0;
	uint8_t code, clen;
	int rc = -1;

	/* Build the TLVs first, then wrap them in as few type-2 optional
	 * parameters as the one-byte parameter length allows. */
	bgp_wbuf_init(&caps, BGP_MAX_MSG_LEN);
	caps_encode(&o->caps, &caps);
	if (bgp_wbuf_error(&caps) == -1)
		goto out;

	start = bgp_msg_begin(wb, BGP_MSG_OPEN);
	bgp_wbuf_add_u8(wb, o->version ? o->version : BGP_VERSION);
	bgp_wbuf_add_u16(wb, o->my_as);
	bgp_wbuf_add_u16(wb, o->hold_time);
	bgp_wbuf_add_u32(wb, o->bgp_id);
	plen_off = wb->len;
	bgp_wbuf_add_u8(wb, 0);
	bgp_rbuf_init(&rb, caps.p, caps.len);
	while (bgp_rbuf_left(&rb) > 0) {
		bgp_rbuf_get_u8(&rb, &code);
		bgp_rbuf_get_u8(&rb, &clen);
		if (param_off == 0 || used + 2 + clen > 255) {
			if (param_off != 0)
				bgp_wbuf_put_u8(wb, param_off, (uint8_t)used);
			bgp_wbuf_add_u8(wb, BGP_OPT_PARAM_CAPABILITIES);
			param_off = wb->len;
			bgp_wbuf_add_u8(wb, 0);
			used = 0;
		}
		bgp_wbuf_add_u8(wb, code);
		bgp_wbuf_add_u8(wb, clen);
		bgp_wbuf_add(wb, bgp_rbuf_cur(&rb), clen);
		bgp_rbuf_skip(&rb, clen);
		used += 2 + (size_t)clen;
	}
	if (param_off != 0)
		bgp_wbuf_put_u8(wb, param_off, (uint8_t)used);
	if (bgp_wbuf_error(wb) == -1 || wb->len - plen_off - 1 > 255) {
		wb->err = 1;
		goto out;
	}
	bgp_wbuf_put_u8(wb, plen_off, (uint8_t)(wb->len - plen_off - 1));
	rc = bgp_msg_end(wb, start);
out:
	bgp_wbuf_free(&caps);
	return rc;
}

/* Interpret one capability; -1 when it is malformed. */
static int
cap_decode(uint8_t code, struct bgp_rbuf *v, struct bgp_caps *c)
{
	uint16_t afi, w;
	uint8_t res, safi, fl;

	switch (code) {
	case BGP_CAP_MP:
		if (bgp_rbuf_left(v) != 4)
			return -1;
		bgp_rbuf_get_u16(v, &afi);
		bgp_rbuf_get_u8(v, &res);
		bgp_rbuf_get_u8(v, &safi);
		/* Extra families beyond our table cannot be ones we use. */
		if (c->n_mp < BGP_MAX_CAP_FAMILIES) {
			c->mp[c->n_mp].afi = afi;
			c->mp[c->n_mp].safi = safi;
			c->n_mp++;
		}
		return 0;
	case BGP_CAP_ROUTE_REFRESH:
		c->route_refresh = true;
		return 0;
	case BGP_CAP_ENHANCED_RR:
		c->enhanced_route_refresh = true;
		return 0;
	case BGP_CAP_EXT_MESSAGE:
		c->extended_message = true;
		return 0;
	case BGP_CAP_AS4:
		if (bgp_rbuf_left(v) != 4)
			return -1;
		c->as4 = true;
		bgp_rbuf_get_u32(v, &c->as4_asn);
		return 0;
	case BGP_CAP_GRACEFUL_RESTART:
		if (bgp_rbuf_get_u16(v, &w) == -1 || bgp_rbuf_left(v) % 4 != 0)
			return -1;
		c->gr.present = true;
		c->gr.flags = (uint8_t)(w >> 12);
		c->gr.restart_time = w & 0x0fff;
		c->gr.n = 0;
		while (bgp_rbuf_left(v) >= 4) {
			bgp_rbuf_get_u16(v, &afi);
			bgp_rbuf_get_u8(v, &safi);
			bgp_rbuf_get_u8(v, &fl);
			if (c->gr.n < BGP_MAX_CAP_FAMILIES) {
				c->gr.fam[c->gr.n].afi = afi;
				c->gr.fam[c->gr.n].safi = safi;
				c->gr.fam[c->gr.n].flags = fl;
				c->gr.n++;
			}
		}
		return 0;
	default:
		c->n_unknown++;
		return 0;
	}
}

/*
 * RFC 4271 6.2.  A malformed Optional Parameters field (lengths that do not
 * add up, a truncated capability TLV, a capability whose fixed length is
 * wrong) gets 2/0 Unspecific: RFC 4271 says "If one of the Optional
 * Parameters in the OPEN message is recognized, but is malformed, then the
 * Error Subcode MUST be set to 0 (Unspecific)", and RFC 5492 defines no
 * subcode of its own for a malformed capability.
 */
int
bgp_open_decode(const uint8_t *payload, size_t len, struct bgp_open *o,
    struct bgp_error *err)
{
	struct bgp_rbuf rb, params, param, val;
	uint8_t optlen, ptype, plen, code, clen;
	static const uint8_t ver[2] = { 0, BGP_VERSION };

	memset(o, 0, sizeof(*o));
	bgp_rbuf_init(&rb, payload, len);
	if (bgp_rbuf_get_u8(&rb, &o->version) == -1 ||
	    bgp_rbuf_get_u16(&rb, &o->my_as) == -1 ||
	    bgp_rbuf_get_u16(&rb, &o->hold_time) == -1 ||
	    bgp_rbuf_get_u32(&rb, &o->bgp_id) == -1 ||
	    bgp_rbuf_get_u8(&rb, &optlen) == -1) {
		uint8_t l[2] = { (uint8_t)((len + 19) >> 8),
		    (uint8_t)(len + 19) };

		err_set(err, BGP_ERR_HEADER, BGP_ERR_HEADER_BAD_LENGTH, l, 2);
		return -1;
	}
	if (o->version != BGP_VERSION) {
		/* Data: the largest version we support, as two bytes. */
		err_set(err, BGP_ERR_OPEN, BGP_ERR_OPEN_VERSION, ver, 2);
		return -1;
	}
	if (bgp_rbuf_left(&rb) != optlen)
		goto malformed;
	bgp_rbuf_sub(&rb, optlen, &params);
	while (bgp_rbuf_left(&params) > 0) {
		if (bgp_rbuf_get_u8(&params, &ptype) == -1 ||
		    bgp_rbuf_get_u8(&params, &plen) == -1 ||
		    bgp_rbuf_sub(&params, plen, &param) == -1)
			goto malformed;
		if (ptype != BGP_OPT_PARAM_CAPABILITIES) {
			err_set(err, BGP_ERR_OPEN, BGP_ERR_OPEN_OPT_PARAM,
			    NULL, 0);
			return -1;
		}
		while (bgp_rbuf_left(&param) > 0) {
			if (bgp_rbuf_get_u8(&param, &code) == -1 ||
			    bgp_rbuf_get_u8(&param, &clen) == -1 ||
			    bgp_rbuf_sub(&param, clen, &val) == -1 ||
			    cap_decode(code, &val, &o->caps) == -1)
				goto malformed;
		}
	}
	/* RFC 7607: AS 0 is never a valid peer AS. */
	if (o->my_as == 0 || (o->caps.as4 && o->caps.as4_asn == 0)) {
		uint8_t as[2] = { (uint8_t)(o->my_as >> 8), (uint8_t)o->my_as };

		err_set(err, BGP_ERR_OPEN, BGP_ERR_OPEN_BAD_AS, as, 2);
		return -1;
	}
	if (o->hold_time == 1 || o->hold_time == 2) {
		err_set(err, BGP_ERR_OPEN, BGP_ERR_OPEN_HOLD_TIME, NULL, 0);
		return -1;
	}
	if (o->bgp_id == 0 || o->bgp_id == 0xffffffffu) {
		err_set(err, BGP_ERR_OPEN, BGP_ERR_OPEN_BAD_ID, NULL, 0);
		return -1;
	}
	return 0;
malformed:
	err_set(err, BGP_ERR_OPEN, BGP_ERR_OPEN_UNSPECIFIC, NULL, 0);
	return -1;
}

uint32_t
bgp_open_peer_as(const struct bgp_open *o)
{
	return o->caps.as4 ? o->caps.as4_asn : o->my_as;
}

bool
bgp_open_has_family(const struct bgp_open *o, uint16_t afi, uint8_t safi)
{
	size_t i;

	/* RFC 4760 8: no MP capability at all means IPv4 unicast. */
	if (o->caps.n_mp == 0)
		return afi == BGP_AFI_IPV4 && safi == BGP_SAFI_UNICAST;
	for (i = 0; i < o->caps.n_mp; i++)
		if (o->caps.mp[i].afi == afi && o->caps.mp[i].safi == safi)
			return true;
	return false;
}

void
bgp_error_unsupported_cap(struct bgp_error *err, uint8_t code,
    const uint8_t *value, uint8_t len)
{
	err->code = BGP_ERR_OPEN;
	err->subcode = BGP_ERR_OPEN_UNSUPPORTED_CAP;
	err->data[0] = code;
	err->data[1] = len;
	if (len > sizeof(err->data) - 2)
		len = sizeof(err->data) - 2;
	if (len > 0)
		memcpy(err->data + 2, value, len);
	err->datalen = 2 + (size_t)len;
}

void
bgp_error_unsupported_family(struct bgp_error *err, uint16_t afi,
    uint8_t safi)
{
	uint8_t v[4] = { (uint8_t)(afi >> 8), (uint8_t)afi, 0, safi };

	bgp_error_unsupported_cap(err, BGP_CAP_MP, v, sizeof(v));
}

/* ---- KEEPALIVE, NOTIFICATION, ROUTE-REFRESH ----------------------------- */

int
bgp_keepalive_build(struct bgp_wbuf *wb)
{
	return bgp_msg_end(wb, bgp_msg_begin(wb, BGP_MSG_KEEPALIVE));
}

int
bgp_notification_build(uint8_t code, uint8_t subcode, const uint8_t *data,
    size_t datalen, struct bgp_wbuf *wb)
{
	size_t start = bgp_msg_begin(wb, BGP_MSG_NOTIFICATION);

	bgp_wbuf_add_u8(wb, code);
	bgp_wbuf_add_u8(wb, subcode);
	bgp_wbuf_add(wb, data, datalen);
	return bgp_msg_end(wb, start);
}

/* Length of the longest prefix of s (at most max bytes) that ends on a
 * UTF-8 character boundary. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	const uint8_t *u = (const uint8_t *)s;

	if (len <= max)
		return len;
	len = max;
	while (len > 0 && (u[len] & 0xc0) == 0x80)
		len--;
	return len;
}

static bool
utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		uint8_t c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else
			return false;
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and out-of-range values. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

int
bgp_notification_build_shutdown(uint8_t subcode, const char *msg,
    struct bgp_wbuf *wb)
{
	uint8_t data[1 + BGP_SHUTDOWN_MSG_MAX];
	size_t n = 0;

	if (msg != NULL) {
		n = utf8_cut(msg, strlen(msg), BGP_SHUTDOWN_MSG_MAX);
		data[0] = (uint8_t)n;
		memcpy(data + 1, msg, n);
		n++;
	}
	return bgp_notification_build(BGP_ERR_CEASE, subcode, data, n, wb);
}

int
bgp_notification_decode(const uint8_t *payload, size_t len,
    struct bgp_notification *n)
{
	struct bgp_rbuf rb;
	uint8_t mlen;

	memset(n, 0, sizeof(*n));
	bgp_rbuf_init(&rb, payload, len);
	if (bgp_rbuf_get_u8(&rb, &n->code) == -1 ||
	    bgp_rbuf_get_u8(&rb, &n->subcode) == -1)
		return -1;
	n->data = bgp_rbuf_cur(&rb);
	n->datalen = bgp_rbuf_left(&rb);
	/* RFC 8203/9003: the message is advisory; a malformed one is only
	 * not shown, never an error. */
	if (n->code == BGP_ERR_CEASE &&
	    (n->subcode == BGP_ERR_CEASE_ADMIN_SHUTDOWN ||
	    n->subcode == BGP_ERR_CEASE_ADMIN_RESET) &&
	    bgp_rbuf_get_u8(&rb, &mlen) == 0 && mlen > 0 &&
	    bgp_rbuf_left(&rb) >= mlen &&
	    utf8_valid(bgp_rbuf_cur(&rb), mlen)) {
		memcpy(n->shutdown_msg, bgp_rbuf_cur(&rb), mlen);
		n->shutdown_msg[mlen] = '\0';
		n->has_shutdown_msg = true;
	}
	return 0;
}

static const char *const err_code_names[] = {
	[BGP_ERR_HEADER] = "Message Header Error",
	[BGP_ERR_OPEN] = "OPEN Message Error",
	[BGP_ERR_UPDATE] = "UPDATE Message Error",
	[BGP_ERR_HOLD_TIMER] = "Hold Timer Expired",
	[BGP_ERR_FSM] = "Finite State Machine Error",
	[BGP_ERR_CEASE] = "Cease",
	[BGP_ERR_ROUTE_REFRESH] = "ROUTE-REFRESH Message Error",
};

static const char *const header_sub_names[] = {
	[1] = "Connection Not Synchronized",
	[2] = "Bad Message Length",
	[3] = "Bad Message Type",
};

static const char *const open_sub_names[] = {
	[0] = "Unspecific",
	[1] = "Unsupported Version Number",
	[2] = "Bad Peer AS",
	[3] = "Bad BGP Identifier",
	[4] = "Unsupported Optional Parameter",
	[5] = "Authentication Failure",
	[6] = "Unacceptable Hold Time",
	[7] = "Unsupported Capability",
	[11] = "Role Mismatch",
};

static const char *const update_sub_names[] = {
	[0] = "Unspecific",
	[1] = "Malformed Attribute List",
	[2] = "Unrecognized Well-known Attribute",
	[3] = "Missing Well-known Attribute",
	[4] = "Attribute Flags Error",
	[5] = "Attribute Length Error",
	[6] = "Invalid ORIGIN Attribute",
	[7] = "AS Routing Loop",
	[8] = "Invalid NEXT_HOP Attribute",
	[9] = "Optional Attribute Error",
	[10] = "Invalid Network Field",
	[11] = "Malformed AS_PATH",
};

static const char *const fsm_sub_names[] = {
	[1] = "Unexpected Message in OpenSent",
	[2] = "Unexpected Message in OpenConfirm",
	[3] = "Unexpected Message in Established",
};

static const char *const cease_sub_names[] = {
	[1] = "Maximum Number of Prefixes Reached",
	[2] = "Administrative Shutdown",
	[3] = "Peer De-configured",
	[4] = "Administrative Reset",
	[5] = "Connection Rejected",
	[6] = "Other Configuration Change",
	[7] = "Connection Collision Resolution",
	[8] = "Out of Resources",
	[9] = "Hard Reset",
	[10] = "BFD Down",
};

static const char *const rr_sub_names[] = {
	[1] = "Invalid Message Length",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *
sub_name(uint8_t code, uint8_t sub)
{
	const char *const *t;
	size_t n;

	switch (code) {
	case BGP_ERR_HEADER: t = header_sub_names; n = NELEM(header_sub_names); break;
	case BGP_ERR_OPEN: t = open_sub_names; n = NELEM(open_sub_names); break;
	case BGP_ERR_UPDATE: t = update_sub_names; n = NELEM(update_sub_names); break;
	case BGP_ERR_FSM: t = fsm_sub_names; n = NELEM(fsm_sub_names); break;
	case BGP_ERR_CEASE: t = cease_sub_names; n = NELEM(cease_sub_names); break;
	case BGP_ERR_ROUTE_REFRESH: t = rr_sub_names; n = NELEM(rr_sub_names); break;
	default: return NULL;
	}
	return sub < n ? t[sub] : NULL;
}

/* Copy a peer's text for display: printable ASCII and UTF-8 pass, quotes,
 * backslashes and control bytes are escaped so a log line stays one line. */
static void
append_escaped(char *buf, size_t buflen, const char *s)
{
	size_t o = strlen(buf);

	for (; *s != '\0' && o + 5 < buflen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, buflen - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
}

const char *
bgp_notification_str(uint8_t code, uint8_t subcode, const uint8_t *data,
    size_t datalen, char *buf, size_t buflen)
{
	const char *cn, *sn;
	size_t o;

	if (buflen == 0)
		return buf;
	cn = code < NELEM(err_code_names) ? err_code_names[code] : NULL;
	sn = sub_name(code, subcode);
	if (cn == NULL)
		snprintf(buf, buflen, "error code %u / subcode %u", code,
		    subcode);
	else if (sn != NULL)
		snprintf(buf, buflen, "%s / %s", cn, sn);
	else if (subcode == 0)
		snprintf(buf, buflen, "%s", cn);
	else
		snprintf(buf, buflen, "%s / subcode %u", cn, subcode);

	o = strlen(buf);
	if (code == BGP_ERR_CEASE &&
	    (subcode == BGP_ERR_CEASE_ADMIN_SHUTDOWN ||
	    subcode == BGP_ERR_CEASE_ADMIN_RESET) && datalen > 1 &&
	    data[0] > 0 && (size_t)data[0] <= datalen - 1 &&
	    utf8_valid(data + 1, data[0])) {
		char msg[BGP_SHUTDOWN_MSG_MAX + 1];

		memcpy(msg, data + 1, data[0]);
		msg[data[0]] = '\0';
		snprintf(buf + o, buflen - o, ": \"");
		append_escaped(buf, buflen, msg);
		o = strlen(buf);
		snprintf(buf + o, buflen - o, "\"");
	} else if (code == BGP_ERR_HEADER &&
	    subcode == BGP_ERR_HEADER_BAD_LENGTH && datalen == 2) {
		snprintf(buf + o, buflen - o, " (%u)", data[0] << 8 | data[1]);
	} else if (code == BGP_ERR_HEADER &&
	    subcode == BGP_ERR_HEADER_BAD_TYPE && datalen == 1) {
		snprintf(buf + o, buflen - o, " (%u)", data[0]);
	}
	return buf;
}

int
bgp_route_refresh_build(uint16_t afi, uint8_t safi, uint8_t subtype,
    struct bgp_wbuf *wb)
{
	size_t start = bgp_msg_begin(wb, BGP_MSG_ROUTE_REFRESH);

	bgp_wbuf_add_u16(wb, afi);
	bgp_wbuf_add_u8(wb, subtype);
	bgp_wbuf_add_u8(wb, safi);
	return bgp_msg_end(wb, start);
}

/*
 * RFC 7313: a BoRR/EoRR whose body is not 4 bytes gets 7/1 with the whole
 * message as data (truncated to our 64-byte error data); a plain refresh
 * of the wrong length is a header length error (RFC 2918 fixes its size).
 */
int
bgp_route_refresh_decode(const uint8_t *payload, size_t len,
    struct bgp_route_refresh *rr, struct bgp_error *err)
{
	struct bgp_rbuf rb;
	uint8_t msg[64];
	size_t n, mlen = len + BGP_HEADER_LEN;

	memset(rr, 0, sizeof(*rr));
	bgp_rbuf_init(&rb, payload, len);
	if (bgp_rbuf_get_u16(&rb, &rr->afi) == -1 ||
	    bgp_rbuf_get_u8(&rb, &rr->subtype) == -1 ||
	    bgp_rbuf_get_u8(&rb, &rr->safi) == -1)
		goto badlen;
	if (len == 4)
		return 0;
	if (rr->subtype == BGP_RR_BORR || rr->subtype == BGP_RR_EORR) {
		memset(msg, 0xff, 16);
		msg[16] = (uint8_t)(mlen >> 8);
		msg[17] = (uint8_t)mlen;
		msg[18] = BGP_MSG_ROUTE_REFRESH;
		n = len < sizeof(msg) - BGP_HEADER_LEN ? len :
		    sizeof(msg) - BGP_HEADER_LEN;
		memcpy(msg + BGP_HEADER_LEN, payload, n);
		err_set(err, BGP_ERR_ROUTE_REFRESH, BGP_ERR_RR_BAD_LENGTH,
		    msg, BGP_HEADER_LEN + n);
		return -1;
	}
badlen:
	{
		uint8_t l[2] = { (uint8_t)(mlen >> 8), (uint8_t)mlen };

		err_set(err, BGP_ERR_HEADER, BGP_ERR_HEADER_BAD_LENGTH, l, 2);
	}
	return -1;
}

/* ---- names --------------------------------------------------------------- */

const char *
bgp_msg_type_name(uint8_t type)
{
	switch (type) {
	case BGP_MSG_OPEN: return "OPEN";
	case BGP_MSG_UPDATE: return "UPDATE";
	case BGP_MSG_NOTIFICATION: return "NOTIFICATION";
	case BGP_MSG_KEEPALIVE: return "KEEPALIVE";
	case BGP_MSG_ROUTE_REFRESH: return "ROUTE-REFRESH";
	default: return "unknown";
	}
}

const char *
bgp_afi_safi_name(uint16_t afi, uint8_t safi)
{
	if (afi == BGP_AFI_IPV4 && safi == BGP_SAFI_UNICAST)
		return "ipv4-unicast";
	if (afi == BGP_AFI_IPV6 && safi == BGP_SAFI_UNICAST)
		return "ipv6-unicast";
	if (afi == BGP_AFI_IPV4 && safi == BGP_SAFI_MPLS_VPN)
		return "vpnv4";
	if (afi == BGP_AFI_IPV6 && safi == BGP_SAFI_MPLS_VPN)
		return "vpnv6";
	return "unknown";
}

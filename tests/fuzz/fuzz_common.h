/*
 * fuzz_common.h - helpers shared by the libFuzzer targets.
 *
 * Every decoder gets its input in a heap buffer of exactly the input's
 * size, so AddressSanitizer reports a read one byte past the message (the
 * session hands the decoder a pointer into a larger evbuffer, where such a
 * read would go unnoticed).
 */
#ifndef BGPLB_FUZZ_COMMON_H
#define BGPLB_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bgp_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline uint8_t *
fuzz_dup(const uint8_t *p, size_t len)
{
	/* malloc(0) may return NULL: keep a valid pointer for empty input. */
	uint8_t *q = malloc(len ? len : 1);

	if (q == NULL)
		abort();
	if (len)
		memcpy(q, p, len);
	return q;
}

/* What conn_fail() does with a decoder's error: build the NOTIFICATION and
 * decode it into words for last_error. */
static inline void
fuzz_use_error(const struct bgp_error *err)
{
	struct bgp_wbuf wb;
	char words[200];

	if (err->datalen > sizeof(err->data))
		abort();	/* the codec promised to truncate at 64 */
	bgp_wbuf_init(&wb, BGP_MAX_MSG_LEN);
	if (bgp_notification_build(err->code, err->subcode, err->data,
	    err->datalen, &wb) == 0) {
		struct bgp_notification n;

		memset(&n, 0, sizeof(n));
		if (bgp_notification_decode(wb.p + BGP_HEADER_LEN,
		    wb.len - BGP_HEADER_LEN, &n) == -1 ||
		    n.code != err->code || n.subcode != err->subcode)
			abort();	/* our own NOTIFICATION must round-trip */
	}
	bgp_wbuf_free(&wb);
	bgp_notification_str(err->code, err->subcode, err->data, err->datalen,
	    words, sizeof(words));
	if (strlen(words) >= sizeof(words))
		abort();
}

/* Walk a decoded UPDATE the way handle_update() does. */
static inline void
fuzz_use_update(const struct bgp_update *u, enum bgp_update_result r)
{
	volatile size_t sink = 0;

	if (r == BGP_UPDATE_TREAT_AS_WITHDRAW) {
		char words[200];

		if (u->n_announced != 0)
			abort();	/* RFC 7606: everything moved to withdrawn */
		bgp_notification_str(u->reason.code, u->reason.subcode,
		    u->reason.data, u->reason.datalen, words, sizeof(words));
	}
	for (size_t i = 0; i < u->n_withdrawn; i++)
		sink += u->withdrawn[i].pfx.len + u->withdrawn[i].afi;
	for (size_t i = 0; i < u->n_announced; i++)
		sink += u->announced[i].pfx.len + u->announced[i].afi +
		    (size_t)u->announced[i].rd;
	for (size_t i = 0; i < u->as_path_n; i++)
		sink += u->as_path[i];
	for (size_t i = 0; i < u->n_communities; i++)
		sink += u->communities[i];
	for (size_t i = 0; i < u->n_large_communities; i++)
		sink += u->large_communities[i].local2;
	for (size_t i = 0; i < u->n_ext_communities; i++)
		sink += (size_t)u->ext_communities[i];
	for (unsigned t = 0; t < 256; t++)
		sink += bgp_update_has_attr(u, (uint8_t)t);
	(void)bgp_afi_safi_name(u->eor_family.afi, u->eor_family.safi);
	(void)sink;
}

#endif

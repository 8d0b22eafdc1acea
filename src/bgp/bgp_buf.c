/*
 * bgp_buf.c - bounded reader and growable writer for BGP wire data.
 *
 * The reader never moves on failure, so a caller that gets -1 can report
 * exactly where the message ran short.  The writer's limit exists so that
 * no input, however crafted, makes a builder allocate more than one
 * maximum-size message.
 */
#include <stdlib.h>
#include <string.h>

#include "bgp_buf.h"

#define BGP_WBUF_MAX_DEFAULT	65535

void
bgp_rbuf_init(struct bgp_rbuf *rb, const void *p, size_t len)
{
	rb->p = p;
	rb->len = p != NULL ? len : 0;
	rb->off = 0;
}

size_t
bgp_rbuf_left(const struct bgp_rbuf *rb)
{
	return rb->len - rb->off;
}

const uint8_t *
bgp_rbuf_cur(const struct bgp_rbuf *rb)
{
	return rb->p + rb->off;
}

int
bgp_rbuf_get_u8(struct bgp_rbuf *rb, uint8_t *v)
{
	if (bgp_rbuf_left(rb) < 1)
		return -1;
	*v = rb->p[rb->off++];
	return 0;
}

int
bgp_rbuf_get_u16(struct bgp_rbuf *rb, uint16_t *v)
{
	if (bgp_rbuf_left(rb) < 2)
		return -1;
	*v = (uint16_t)(rb->p[rb->off] << 8 | rb->p[rb->off + 1]);
	rb->off += 2;
	return 0;
}

int
bgp_rbuf_get_u32(struct bgp_rbuf *rb, uint32_t *v)
{
	const uint8_t *q;

	if (bgp_rbuf_left(rb) < 4)
		return -1;
	q = rb->p + rb->off;
	*v = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
	    (uint32_t)q[2] << 8 | q[3];
	rb->off += 4;
	return 0;
}

int
bgp_rbuf_get_n(struct bgp_rbuf *rb, void *out, size_t n)
{
	if (bgp_rbuf_left(rb) < n)
		return -1;
	if (n > 0)
		memcpy(out, rb->p + rb->off, n);
	rb->off += n;
	return 0;
}

int
bgp_rbuf_skip(struct bgp_rbuf *rb, size_t n)
{
	if (bgp_rbuf_left(rb) < n)
		return -1;
	rb->off += n;
	return 0;
}

int
bgp_rbuf_sub(struct bgp_rbuf *rb, size_t n, struct bgp_rbuf *sub)
{
	if (bgp_rbuf_left(rb) < n)
		return -1;
	sub->p = rb->p + rb->off;
	sub->len = n;
	sub->off = 0;
	rb->off += n;
	return 0;
}

void
bgp_wbuf_init(struct bgp_wbuf *wb, size_t max)
{
	memset(wb, 0, sizeof(*wb));
	wb->max = max ? max : BGP_WBUF_MAX_DEFAULT;
}

void
bgp_wbuf_free(struct bgp_wbuf *wb)
{
	free(wb->p);
	wb->p = NULL;
	wb->len = wb->cap = 0;
}

void
bgp_wbuf_reset(struct bgp_wbuf *wb)
{
	wb->len = 0;
	wb->err = 0;
}

void
bgp_wbuf_truncate(struct bgp_wbuf *wb, size_t len)
{
	if (len < wb->len)
		wb->len = len;
}

/* Make room for n more bytes; sets the error flag when over the limit. */
static int
wbuf_reserve(struct bgp_wbuf *wb, size_t n)
{
	size_t ncap;
	uint8_t *np;

	if (wb->err)
		return -1;
	if (n > wb->max || wb->len > wb->max - n) {
		wb->err = 1;
		return -1;
	}
	if (wb->len + n <= wb->cap)
		return 0;
	ncap = wb->cap ? wb->cap : 256;
	while (ncap < wb->len + n)
		ncap *= 2;
	if (ncap > wb->max)
		ncap = wb->max;
	if ((np = realloc(wb->p, ncap)) == NULL) {
		wb->err = 1;
		return -1;
	}
	wb->p = np;
	wb->cap = ncap;
	return 0;
}

int
bgp_wbuf_add(struct bgp_wbuf *wb, const void *data, size_t n)
{
	if (wbuf_reserve(wb, n) == -1)
		return -1;
	if (n > 0)
		memcpy(wb->p + wb->len, data, n);
	wb->len += n;
	return 0;
}

int
bgp_wbuf_add_zero(struct bgp_wbuf *wb, size_t n)
{
	if (wbuf_reserve(wb, n) == -1)
		return -1;
	if (n > 0)
		memset(wb->p + wb->len, 0, n);
	wb->len += n;
	return 0;
}

int
bgp_wbuf_add_u8(struct bgp_wbuf *wb, uint8_t v)
{
	return bgp_wbuf_add(wb, &v, 1);
}

int
bgp_wbuf_add_u16(struct bgp_wbuf *wb, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return bgp_wbuf_add(wb, b, sizeof(b));
}

int
bgp_wbuf_add_u32(struct bgp_wbuf *wb, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	return bgp_wbuf_add(wb, b, sizeof(b));
}

int
bgp_wbuf_put_u16(struct bgp_wbuf *wb, size_t off, uint16_t v)
{
	if (off > wb->len || wb->len - off < 2) {
		wb->err = 1;
		return -1;
	}
	wb->p[off] = (uint8_t)(v >> 8);
	wb->p[off + 1] = (uint8_t)v;
	return 0;
}

int
bgp_wbuf_put_u8(struct bgp_wbuf *wb, size_t off, uint8_t v)
{
	if (off >= wb->len) {
		wb->err = 1;
		return -1;
	}
	wb->p[off] = v;
	return 0;
}

int
bgp_wbuf_error(const struct bgp_wbuf *wb)
{
	return wb->err ? -1 : 0;
}

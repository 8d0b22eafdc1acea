/*
 * bgp_buf.h - bounded reader and growable writer for BGP wire data.
 *
 * Every byte a peer sends is read through struct bgp_rbuf: each getter
 * checks the remaining length first and, on a short read, returns -1
 * without moving, so a decoder can never run past the end of a message
 * (the OpenBGPD ibuf model).  A nested TLV is handled by taking a sub-view
 * (bgp_rbuf_sub) which is consumed from the outer reader before the inner
 * one is interpreted.
 *
 * The writer grows up to a hard limit chosen at init (no message can exceed
 * 65535 bytes, so builders never allocate without bound).  Any failure sets
 * a sticky error flag: a builder appends everything and checks the flag once
 * at the end.
 */
#ifndef BGPLB_BGP_BUF_H
#define BGPLB_BGP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct bgp_rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

void	bgp_rbuf_init(struct bgp_rbuf *, const void *p, size_t len);
size_t	bgp_rbuf_left(const struct bgp_rbuf *);
/* Pointer to the next unread byte (valid for bgp_rbuf_left() bytes). */
const uint8_t *bgp_rbuf_cur(const struct bgp_rbuf *);
int	bgp_rbuf_get_u8(struct bgp_rbuf *, uint8_t *);
int	bgp_rbuf_get_u16(struct bgp_rbuf *, uint16_t *);	/* network order */
int	bgp_rbuf_get_u32(struct bgp_rbuf *, uint32_t *);
int	bgp_rbuf_get_n(struct bgp_rbuf *, void *out, size_t n);
int	bgp_rbuf_skip(struct bgp_rbuf *, size_t n);
/* Take the next n bytes as a reader of their own and advance past them. */
int	bgp_rbuf_sub(struct bgp_rbuf *, size_t n, struct bgp_rbuf *sub);

struct bgp_wbuf {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
	size_t		 max;	/* hard limit on len */
	int		 err;	/* sticky: set by any failed append */
};

/* max = 0 means 65535, the largest any BGP message can be. */
void	bgp_wbuf_init(struct bgp_wbuf *, size_t max);
void	bgp_wbuf_free(struct bgp_wbuf *);
/* Empty the buffer (keeps the memory) and clear the error flag. */
void	bgp_wbuf_reset(struct bgp_wbuf *);
/* Drop everything after len (used to roll back a partial append). */
void	bgp_wbuf_truncate(struct bgp_wbuf *, size_t len);
int	bgp_wbuf_add(struct bgp_wbuf *, const void *, size_t);
int	bgp_wbuf_add_u8(struct bgp_wbuf *, uint8_t);
int	bgp_wbuf_add_u16(struct bgp_wbuf *, uint16_t);
int	bgp_wbuf_add_u32(struct bgp_wbuf *, uint32_t);
int	bgp_wbuf_add_zero(struct bgp_wbuf *, size_t);
/* Overwrite two bytes at off (a length filled in once the body is known). */
int	bgp_wbuf_put_u16(struct bgp_wbuf *, size_t off, uint16_t);
int	bgp_wbuf_put_u8(struct bgp_wbuf *, size_t off, uint8_t);
/* 0, or -1 when any append since init/reset failed. */
int	bgp_wbuf_error(const struct bgp_wbuf *);

#endif

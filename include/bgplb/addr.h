/*
 * addr.h - IPv4/IPv6 addresses, prefixes and ranges as plain values.
 *
 * Every module (config, allocator, planner, BGP, layer 2) speaks in these
 * types.  An address is kept as a 128-bit unsigned integer so that range
 * arithmetic (sizes, next/previous, distance) is exact for IPv6 too; IPv4
 * addresses use the low 32 bits.  Counts of addresses can exceed 2^64 for
 * an IPv6 pool, so sizes are also 128-bit and printed as decimal strings.
 */
#ifndef BGPLB_ADDR_H
#define BGPLB_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 addr_u128;

#define ADDR_AF_INET	4
#define ADDR_AF_INET6	6

struct addr {
	uint8_t		af;	/* ADDR_AF_INET or ADDR_AF_INET6; 0 = unset */
	addr_u128	v;	/* host order value; IPv4 in the low 32 bits */
};

struct prefix {
	struct addr	addr;	/* host bits are zero */
	uint8_t		len;
};

/* An inclusive range [first, last] of one family. */
struct addr_range {
	struct addr	first;
	struct addr	last;
};

/* Longest text form of an address ("ffff:...:ffff") plus "/128" and NUL. */
#define ADDR_STRLEN	48
/* Longest decimal form of a 128-bit count plus NUL. */
#define ADDR_COUNT_STRLEN 40

int	addr_parse(const char *s, struct addr *out);
/* "a/len"; host bits must be zero unless allow_host_bits. */
int	prefix_parse(const char *s, struct prefix *out, bool allow_host_bits);
const char *addr_ntop(const struct addr *a, char *buf, size_t len);
const char *prefix_ntop(const struct prefix *p, char *buf, size_t len);
int	addr_cmp(const struct addr *a, const struct addr *b);
bool	addr_eq(const struct addr *a, const struct addr *b);
bool	addr_is_loopback(const struct addr *a);
unsigned addr_bits(uint8_t af);			/* 32 or 128 */
addr_u128 addr_mask(uint8_t af, unsigned len);	/* network mask */
struct prefix prefix_of(const struct addr *a, unsigned len);
bool	prefix_contains(const struct prefix *p, const struct addr *a);
struct addr_range prefix_range(const struct prefix *p);
bool	range_contains(const struct addr_range *r, const struct addr *a);
bool	range_overlaps(const struct addr_range *a, const struct addr_range *b);
/* Number of addresses in the range (2^128 for ::/0 saturates to all ones). */
addr_u128 range_size(const struct addr_range *r);
/* Split the range into its minimal list of CIDR prefixes and return the longest
 * (most specific) prefix length among them.  MetalLB's rule: an advertisement's
 * aggregation-length may not be shorter than this, or the aggregate would cover
 * addresses outside the pool. */
unsigned range_longest_cidr(const struct addr_range *r);
/* Minimal CIDR cover of a range: calls fn for each prefix in order. */
void	range_cidrs(const struct addr_range *r,
	    void (*fn)(const struct prefix *, void *), void *arg);

/* Convert to/from the 4 or 16 network-order bytes of the wire. */
void	addr_to_bytes(const struct addr *a, uint8_t *out);
void	addr_from_bytes(struct addr *a, uint8_t af, const uint8_t *in);

/* Decimal text of a 128-bit unsigned value. */
const char *u128_to_dec(addr_u128 v, char *buf, size_t len);

#endif

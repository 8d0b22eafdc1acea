/*
 * addr.c - IPv4/IPv6 addresses, prefixes and ranges as 128-bit integers.
 *
 * Parsing and printing go through inet_pton/inet_ntop so that the text
 * forms are exactly what operators see elsewhere (RFC 5952 for IPv6).  All
 * arithmetic is done on the integer value, which makes range sizes, CIDR
 * decomposition and containment exact for IPv6 pools of any size.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/addr.h"

unsigned
addr_bits(uint8_t af)
{
	return af == ADDR_AF_INET ? 32 : 128;
}

addr_u128
addr_mask(uint8_t af, unsigned len)
{
	unsigned bits = addr_bits(af);
	addr_u128 all = (af == ADDR_AF_INET) ? (addr_u128)0xffffffffu : ~(addr_u128)0;

	if (len == 0)
		return 0;
	if (len >= bits)
		return all;
	return all & ~((((addr_u128)1) << (bits - len)) - 1);
}

void
addr_to_bytes(const struct addr *a, uint8_t *out)
{
	int n = a->af == ADDR_AF_INET ? 4 : 16;
	addr_u128 v = a->v;

	for (int i = n - 1; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

void
addr_from_bytes(struct addr *a, uint8_t af, const uint8_t *in)
{
	int n = af == ADDR_AF_INET ? 4 : 16;

	a->af = af;
	a->v = 0;
	for (int i = 0; i < n; i++)
		a->v = (a->v << 8) | in[i];
}

int
addr_parse(const char *s, struct addr *out)
{
	uint8_t buf[16];

	if (s == NULL)
		return -1;
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, buf) != 1)
			return -1;
		addr_from_bytes(out, ADDR_AF_INET6, buf);
		return 0;
	}
	/* inet_pton(AF_INET) accepts only dotted quads: no "10.1", no octal. */
	if (inet_pton(AF_INET, s, buf) != 1)
		return -1;
	addr_from_bytes(out, ADDR_AF_INET, buf);
	return 0;
}

int
prefix_parse(const char *s, struct prefix *out, bool allow_host_bits)
{
	char tmp[ADDR_STRLEN];
	const char *slash;
	char *end;
	unsigned long len;
	size_t n;

	if (s == NULL || (slash = strchr(s, '/')) == NULL)
		return -1;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (addr_parse(tmp, &out->addr) == -1)
		return -1;
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || len > addr_bits(out->addr.af))
		return -1;
	out->len = (uint8_t)len;
	if (!allow_host_bits &&
	    (out->addr.v & ~addr_mask(out->addr.af, out->len) &
	    addr_mask(out->addr.af, addr_bits(out->addr.af))) != 0)
		return -1;
	return 0;
}

const char *
addr_ntop(const struct addr *a, char *buf, size_t len)
{
	uint8_t b[16];

	if (a->af != ADDR_AF_INET && a->af != ADDR_AF_INET6) {
		snprintf(buf, len, "(unset)");
		return buf;
	}
	addr_to_bytes(a, b);
	if (inet_ntop(a->af == ADDR_AF_INET ? AF_INET : AF_INET6, b, buf,
	    (socklen_t)len) == NULL)
		snprintf(buf, len, "(invalid)");
	return buf;
}

const char *
prefix_ntop(const struct prefix *p, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	snprintf(buf, len, "%s/%u", addr_ntop(&p->addr, a, sizeof(a)), p->len);
	return buf;
}

int
addr_cmp(const struct addr *a, const struct addr *b)
{
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return 0;
}

bool
addr_eq(const struct addr *a, const struct addr *b)
{
	return a->af == b->af && a->v == b->v;
}

/* 127.0.0.0/8, ::1, and ::ffff:127.0.0.0/104 (a v4-mapped loopback). */
bool
addr_is_loopback(const struct addr *a)
{
	if (a->af == ADDR_AF_INET)
		return (a->v >> 24) == 127;
	if (a->af == ADDR_AF_INET6)
		return a->v == 1 || (a->v >> 24) == (((addr_u128)0xffff << 8) | 127);
	return false;
}

struct prefix
prefix_of(const struct addr *a, unsigned len)
{
	struct prefix p;

	if (len > addr_bits(a->af))
		len = addr_bits(a->af);
	p.addr.af = a->af;
	p.addr.v = a->v & addr_mask(a->af, len);
	p.len = (uint8_t)len;
	return p;
}

bool
prefix_contains(const struct prefix *p, const struct addr *a)
{
	return a->af == p->addr.af &&
	    (a->v & addr_mask(a->af, p->len)) == p->addr.v;
}

struct addr_range
prefix_range(const struct prefix *p)
{
	struct addr_range r;
	addr_u128 host = addr_mask(p->addr.af, addr_bits(p->addr.af)) &
	    ~addr_mask(p->addr.af, p->len);

	r.first = p->addr;
	r.last.af = p->addr.af;
	r.last.v = p->addr.v | host;
	return r;
}

bool
range_contains(const struct addr_range *r, const struct addr *a)
{
	return a->af == r->first.af && a->v >= r->first.v && a->v <= r->last.v;
}

bool
range_overlaps(const struct addr_range *a, const struct addr_range *b)
{
	return a->first.af == b->first.af &&
	    a->first.v <= b->last.v && b->first.v <= a->last.v;
}

addr_u128
range_size(const struct addr_range *r)
{
	addr_u128 d;

	if (r->last.v < r->first.v)
		return 0;
	d = r->last.v - r->first.v;
	if (d == ~(addr_u128)0)
		return d;	/* ::/0 holds 2^128 addresses: saturate */
	return d + 1;
}

/* Number of trailing zero bits of v, limited to `bits`. */
static unsigned
tz(addr_u128 v, unsigned bits)
{
	unsigned n = 0;

	if (v == 0)
		return bits;
	while (n < bits && (v & 1) == 0) {
		v >>= 1;
		n++;
	}
	return n;
}

void
range_cidrs(const struct addr_range *r,
    void (*fn)(const struct prefix *, void *), void *arg)
{
	unsigned bits = addr_bits(r->first.af);
	addr_u128 cur = r->first.v, last = r->last.v;

	if (r->last.v < r->first.v)
		return;
	for (;;) {
		/* Largest aligned block starting at cur that stays within last. */
		unsigned host = tz(cur, bits);
		struct prefix p;

		while (host > 0) {
			addr_u128 span = (host >= 128) ? ~(addr_u128)0 :
			    ((((addr_u128)1) << host) - 1);
			if (span <= last - cur)
				break;
			host--;
		}
		p.addr.af = r->first.af;
		p.addr.v = cur;
		p.len = (uint8_t)(bits - host);
		fn(&p, arg);
		if (host >= 128)
			return;
		{
			addr_u128 span = (((addr_u128)1) << host) - 1;
			if (last - cur <= span)	/* this block ends at last */
				return;
			cur += span + 1;
		}
	}
}

static void
longest_cb(const struct prefix *p, void *arg)
{
	unsigned *max = arg;

	if (p->len > *max)
		*max = p->len;
}

unsigned
range_longest_cidr(const struct addr_range *r)
{
	unsigned max = 0;

	range_cidrs(r, longest_cb, &max);
	return max;
}

const char *
u128_to_dec(addr_u128 v, char *buf, size_t len)
{
	char tmp[ADDR_COUNT_STRLEN];
	size_t i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v != 0 && i > 0);
	snprintf(buf, len, "%s", tmp + i);
	return buf;
}

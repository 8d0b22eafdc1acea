/*
 * bench_alloc.c - how fast the allocator hands out addresses at scale.
 *
 * Two pools, each a /16 of IPv4 and a /64 of IPv6 (one with
 * avoid-buggy-ips), and N services (default 100000) spread over them:
 * named and unnamed pools, IPv4, IPv6 and some dual stack, a few sharing a
 * key.  While allocating, every 10th step releases an earlier service and
 * queues it to be allocated again, so the pools get holes that later
 * allocations must find.  A second phase fragments one pool on purpose
 * (every other address released) and refills it, the worst case for a
 * lowest-free search.  Prints plain text lines; no network, no files.
 *
 * usage: bench_alloc [N]
 */

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bgplb/addr.h"
#include "bgplb/alloc.h"
#include "bgplb/config.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
peak_rss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;	/* Linux: kilobytes */
}

static void
add_range(struct cfg_pool *p, const char *cidr)
{
	struct cfg_range *r = &p->ranges[p->nranges++];

	memset(r, 0, sizeof(*r));
	if (prefix_parse(cidr, &r->cidr, false) < 0) {
		fprintf(stderr, "bench: bad prefix %s\n", cidr);
		exit(1);
	}
	r->is_cidr = true;
	r->range = prefix_range(&r->cidr);
}

static struct cfg *
bench_cfg(void)
{
	struct cfg *cfg = calloc(1, sizeof(*cfg));

	cfg->npools = 2;
	cfg->pools = calloc(2, sizeof(*cfg->pools));
	for (size_t i = 0; i < 2; i++) {
		cfg->pools[i].name = strdup(i == 0 ? "a" : "b");
		cfg->pools[i].auto_assign = true;
		cfg->pools[i].avoid_buggy_ips = i == 1;
		cfg->pools[i].ranges = calloc(2, sizeof(struct cfg_range));
	}
	add_range(&cfg->pools[0], "10.0.0.0/16");
	add_range(&cfg->pools[0], "2001:db8:a::/64");
	add_range(&cfg->pools[1], "10.1.0.0/16");
	add_range(&cfg->pools[1], "2001:db8:b::/64");
	return cfg;
}

static void
bench_cfg_free(struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		free(cfg->pools[i].name);
		free(cfg->pools[i].ranges);
	}
	free(cfg->pools);
	free(cfg);
}

/* Service i's request: a fixed mix, so runs are comparable. */
static void
make_request(size_t i, const char *name, struct cfg_port *port,
    struct alloc_request *r)
{
	memset(r, 0, sizeof(*r));
	r->service = name;
	port->port = (uint16_t)(1000 + i % 50000);
	port->proto = CFG_L4_TCP;
	r->ports = port;
	r->nports = 1;
	switch (i % 8) {
	case 0: r->pool = "a"; r->families = CFG_FAMILY_IPV4; break;
	case 1: r->pool = "b"; r->families = CFG_FAMILY_IPV4; break;
	case 2: r->families = CFG_FAMILY_IPV6; break;	/* first auto pool */
	case 3: r->pool = "b"; r->families = CFG_FAMILY_IPV6; break;
	case 4: r->pool = "a"; break;			/* IPv4 preferred */
	case 5: r->pool = "b";				/* dual stack */
		r->families = CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6; break;
	case 6: r->pool = "a"; r->families = CFG_FAMILY_IPV6; break;
	case 7: r->pool = "b"; r->families = CFG_FAMILY_IPV6;
		if (i % 64 == 7)
			r->sharing_key = "web";		/* a few share */
		break;
	}
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	struct cfg *cfg = bench_cfg();
	struct alloc *a = alloc_new(cfg);
	size_t *requeue = calloc(n, sizeof(*requeue)), nrequeue = 0;
	size_t allocs = 0, releases = 0, failures = 0, dual = 0;
	double t0, t_alloc = 0, t_rel = 0, t;
	char name[32];
	uint32_t seed = 42;

	if (a == NULL || requeue == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n || nrequeue > 0; ) {
		struct alloc_request r;
		struct cfg_port port;
		struct alloc_assignment out;
		size_t svc;

		/* Re-allocate released services in between new ones. */
		if (nrequeue > 0 && (i >= n || i % 10 == 5))
			svc = requeue[--nrequeue];
		else
			svc = i++;
		snprintf(name, sizeof(name), "ns/svc-%zu", svc);
		make_request(svc, name, &port, &r);
		t0 = now();
		if (alloc_assign(a, &r, &out, NULL, 0) != ALLOC_OK)
			failures++;
		t_alloc += now() - t0;
		allocs++;
		dual += out.naddrs == 2;
		alloc_assignment_clear(&out);
		if (i % 10 == 0 && i > 0 && svc + 1 == i) {
			/* Release a pseudo-random earlier service: holes. */
			seed = seed * 1103515245u + 12345u;
			svc = (seed >> 8) % i;
			snprintf(name, sizeof(name), "ns/svc-%zu", svc);
			t0 = now();
			if (alloc_release(a, name) == 0) {
				releases++;
				requeue[nrequeue++] = svc;
			}
			t_rel += now() - t0;
		}
	}
	printf("alloc: %zu allocations in %.3f s, %.0f ns/alloc, peak RSS %.1f MB\n",
	    allocs, t_alloc, t_alloc * 1e9 / (double)allocs, peak_rss_mb());
	printf("alloc: %zu services, %zu dual-stack, %zu releases in %.3f s "
	    "(%.0f ns/release), %zu failures\n", n, dual, releases, t_rel,
	    releases ? t_rel * 1e9 / (double)releases : 0.0, failures);
	for (size_t p = 0; p < alloc_npools(a); p++) {
		struct alloc_pool_stats st;
		char tot[ADDR_COUNT_STRLEN], use[ADDR_COUNT_STRLEN];

		alloc_pool_stats(a, p, &st);
		printf("alloc: pool %s: %s addresses, %s in use, %zu services\n",
		    st.name, u128_to_dec(st.total, tot, sizeof(tot)),
		    u128_to_dec(st.in_use, use, sizeof(use)), st.services);
	}

	/*
	 * Worst case: release every other service of pool "a" IPv4 (case 0),
	 * leaving one-address holes everywhere, then fill them again.
	 */
	{
		size_t freed = 0, refilled = 0;

		for (size_t s = 0; s < n; s += 16) {
			snprintf(name, sizeof(name), "ns/svc-%zu", s);
			freed += alloc_release(a, name) == 0;
		}
		t = now();
		for (size_t s = 0; s < n; s += 16) {
			struct alloc_request r;
			struct cfg_port port;

			snprintf(name, sizeof(name), "ns/svc-%zu", s);
			make_request(s, name, &port, &r);
			refilled += alloc_assign(a, &r, NULL, NULL, 0) == ALLOC_OK;
		}
		t = now() - t;
		printf("alloc: fragmented refill: %zu holes, %zu allocations in "
		    "%.3f s, %.0f ns/alloc\n", freed, refilled, t,
		    refilled ? t * 1e9 / (double)refilled : 0.0);
	}

	t = now();
	alloc_free(a);
	printf("alloc: free of the allocator in %.3f s, peak RSS %.1f MB\n",
	    now() - t, peak_rss_mb());
	bench_cfg_free(cfg);
	free(requeue);
	return failures == 0 ? 0 : 1;
}

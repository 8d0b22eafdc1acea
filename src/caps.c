/*
 * caps.c - keep only the capabilities bgplbd needs, for good.
 *
 * bgplbd opens sockets for its whole life (a reload may add a peer or an
 * interface), so it can't open everything and then drop every privilege.
 * What it can do is keep exactly the capabilities those sockets need:
 *
 *   CAP_NET_BIND_SERVICE  listen on port 179 (BGP)
 *   CAP_NET_RAW           AF_PACKET sockets (ARP/NDP); SO_BINDTODEVICE
 *                         for VRF peers on kernels before 5.7
 *
 * TCP_MD5SIG, IP_TTL/IP_TOS, multicast membership and BPF socket filters
 * need none, so CAP_NET_ADMIN is not kept.  Everything else is removed from
 * the effective, permitted, inheritable and ambient sets and, when we may
 * (CAP_SETPCAP), from the bounding set, so no exec can get it back.
 * Raw syscalls instead of libcap: two calls are not worth a dependency.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bgplb/log.h"
#include "caps.h"

static const int keep[] = { CAP_NET_BIND_SERVICE, CAP_NET_RAW };

static int
capget_(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return (int)syscall(SYS_capget, &h, d);
}

static int
capset_(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return (int)syscall(SYS_capset, &h, d);
}

static int
last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f != NULL) {
		if (fscanf(f, "%d", &n) != 1 || n < 0 || n > 63)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

uint64_t
caps_wanted(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		m |= (uint64_t)1 << keep[i];
	return m;
}

int
caps_restrict(char *err, size_t errlen)
{
	return caps_restrict_to(caps_wanted(), err, errlen);
}

/* Keep only the capabilities in want (a subset of caps_wanted(); 0: none,
 * for a process that opens no socket of its own: --role allocator). */
int
caps_restrict_to(uint64_t want, char *err, size_t errlen)
{
	struct __user_cap_data_struct d[2];
	uint64_t perm, missing;
	int last = last_cap(), dropped = 0;

	if (capget_(d) == -1) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -1;
	}
	perm = (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
	/* Bounding set first: that needs CAP_SETPCAP, which goes next. */
	if (perm & ((uint64_t)1 << CAP_SETPCAP)) {
		for (int c = 0; c <= last; c++) {
			if (want & ((uint64_t)1 << c))
				continue;
			if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
			    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == -1) {
				snprintf(err, errlen, "PR_CAPBSET_DROP %d: %s",
				    c, strerror(errno));
				return -1;
			}
			dropped++;
		}
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	perm &= want;
	d[0].permitted = d[0].effective = (uint32_t)perm;
	d[1].permitted = d[1].effective = (uint32_t)(perm >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	if (capset_(d) == -1) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	missing = want & ~perm;
	if (missing & ((uint64_t)1 << CAP_NET_BIND_SERVICE))
		log_warn("main", "no CAP_NET_BIND_SERVICE: listening on port 179 "
		    "will fail (bgp-listen-port above 1023 or 0 works)");
	if (missing & ((uint64_t)1 << CAP_NET_RAW))
		log_warn("main", "no CAP_NET_RAW: layer 2 (ARP/NDP) can't open "
		    "its packet sockets");
	log_info("main", "capabilities: kept %s%s%s%s",
	    perm & ((uint64_t)1 << CAP_NET_BIND_SERVICE) ?
	    "cap_net_bind_service " : "",
	    perm & ((uint64_t)1 << CAP_NET_RAW) ? "cap_net_raw " : "",
	    perm == 0 ? "none " : "",
	    dropped ? "(bounding set restricted too)" : "");
	return 0;
}

/*
 * sockaddr.h - struct addr <-> the socket API's addresses (util layer).
 * The BGP sessions and the health checks' TCP probes share these.
 */
#ifndef BGPLB_SOCKADDR_H
#define BGPLB_SOCKADDR_H

#include <stdint.h>
#include <sys/socket.h>

#include "bgplb/addr.h"

/* Fill ss for a and port; returns the length to pass to connect/bind. */
socklen_t addr_to_sockaddr(const struct addr *a, uint16_t port,
	    struct sockaddr_storage *ss);
/* The address and port of sa (AF_INET or AF_INET6); a v4-mapped IPv6
 * address becomes the plain IPv4 address. */
void	sockaddr_to_addr(const struct sockaddr *sa, struct addr *a,
	    uint16_t *port);

#endif

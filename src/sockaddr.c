/*
 * sockaddr.c - struct addr <-> struct sockaddr (see sockaddr.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "bgplb/sockaddr.h"

socklen_t
addr_to_sockaddr(const struct addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == ADDR_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		addr_to_bytes(a, (uint8_t *)&sin->sin_addr);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		addr_to_bytes(a, sin6->sin6_addr.s6_addr);
		return sizeof(*sin6);
	}
}

void
sockaddr_to_addr(const struct sockaddr *sa, struct addr *a, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		addr_from_bytes(a, ADDR_AF_INET, (const uint8_t *)&sin->sin_addr);
		*port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			addr_from_bytes(a, ADDR_AF_INET, sin6->sin6_addr.s6_addr + 12);
		else
			addr_from_bytes(a, ADDR_AF_INET6, sin6->sin6_addr.s6_addr);
		*port = ntohs(sin6->sin6_port);
	}
}

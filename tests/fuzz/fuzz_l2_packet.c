/*
 * fuzz_l2_packet - one received Ethernet frame, as the layer 2 responder's
 * AF_PACKET sockets hand it over: parsed as ARP and as an IPv6 Neighbor
 * Solicitation.  A frame that parses must carry what the parser promised.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l2_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy: one byte of over-read is an ASan report. */
	uint8_t *frame = malloc(size ? size : 1);
	struct l2_arp arp;
	struct l2_ns ns;

	if (frame == NULL)
		return 0;
	memcpy(frame, data, size);
	memset(&arp, 0, sizeof(arp));
	(void)l2_arp_parse(frame, size, &arp);
	memset(&ns, 0, sizeof(ns));
	(void)l2_ns_parse(frame, size, &ns);
	free(frame);
	return 0;
}

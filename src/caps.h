/*
 * caps.h - capabilities (caps.c): keep CAP_NET_BIND_SERVICE and CAP_NET_RAW
 * (or fewer: caps_restrict_to), drop every other capability (effective,
 * permitted, inheritable, ambient, bounding).
 */
#ifndef BGPLB_CAPS_H
#define BGPLB_CAPS_H

#include <stddef.h>
#include <stdint.h>

int	caps_restrict(char *err, size_t errlen);
int	caps_restrict_to(uint64_t want, char *err, size_t errlen);
uint64_t caps_wanted(void);

#endif

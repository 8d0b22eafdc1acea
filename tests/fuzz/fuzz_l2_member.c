/*
 * fuzz_l2_member - membership heartbeats.
 *
 * The first byte picks a mode.  0: the rest is a received datagram, opened
 * with a fixed key (almost always refused: this checks the refusal paths and
 * the bounded reader).  1: the rest builds a message (ids, names), which is
 * sealed, opened again (must round-trip exactly) and then opened once more
 * with one byte changed where the input says (must be refused).  2: the
 * rest is a key file's content.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l2_member.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[L2_MEMBER_KEY_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

static uint64_t
take64(const uint8_t **p, size_t *n)
{
	uint64_t v = 0;

	for (int i = 0; i < 8 && *n > 0; i++, (*p)++, (*n)--)
		v = v << 8 | **p;
	return v;
}

static void
take_name(const uint8_t **p, size_t *n, char *out, size_t max)
{
	size_t len = *n > 0 ? (size_t)(**p % 40) : 0;

	if (*n > 0) {
		(*p)++;
		(*n)--;
	}
	if (len > *n)
		len = *n;
	if (len > max)
		len = max;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p += len;
	*n -= len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct l2_member_msg m, back;
	uint8_t buf[1024], k[L2_MEMBER_KEY_LEN], *copy;
	const uint8_t *p = data + 1;
	size_t n = size ? size - 1 : 0;
	ssize_t len;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if ((copy = malloc(n ? n : 1)) == NULL)
			return 0;
		memcpy(copy, p, n);
		memset(&back, 0, sizeof(back));
		if (l2_member_decode(copy, n, key, &back) == L2_REJ_NONE &&
		    (strlen(back.from) == 0 || strlen(back.to) == 0))
			abort();	/* accepted without names */
		free(copy);
		break;
	case 1:
		memset(&m, 0, sizeof(m));
		m.boot_id = take64(&p, &n);
		m.seq = take64(&p, &n);
		m.ts_ms = take64(&p, &n);
		take_name(&p, &n, m.from, L2_MEMBER_NAME_MAX);
		take_name(&p, &n, m.to, L2_MEMBER_NAME_MAX);
		len = l2_member_encode(&m, key, buf, sizeof(buf));
		if (len < 0)
			break;		/* empty or odd names are refused */
		memset(&back, 0, sizeof(back));
		if (l2_member_decode(buf, (size_t)len, key, &back) != L2_REJ_NONE ||
		    back.boot_id != m.boot_id || back.seq != m.seq ||
		    back.ts_ms != m.ts_ms || strcmp(back.from, m.from) != 0 ||
		    strcmp(back.to, m.to) != 0)
			abort();	/* our own heartbeat must open */
		if (n > 0) {
			size_t at = (size_t)p[0] % (size_t)len;
			uint8_t flip = n > 1 ? (uint8_t)(p[1] | 1) : 0x80;

			buf[at] ^= flip;
			if (l2_member_decode(buf, (size_t)len, key, &back) ==
			    L2_REJ_NONE)
				abort();	/* a changed byte was accepted */
		}
		break;
	case 2:
		(void)l2_member_key_parse(p, n, k);
		break;
	}
	return 0;
}

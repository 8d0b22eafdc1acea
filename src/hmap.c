/*
 * hmap.c - fixed-size-key hash map (see hmap.h for the why).
 */
#include <stdlib.h>
#include <string.h>

#include "bgplb/hmap.h"
#include "bgplb/log.h"

struct hmap_slot {
	uint64_t	 hash;		/* 0 = empty (real hashes are forced non-zero) */
	void		*value;
};

struct hmap {
	size_t		 keylen;
	size_t		 cap;		/* power of two */
	size_t		 count;
	struct hmap_slot *slots;
	uint8_t		*keys;		/* cap * keylen */
};

uint64_t
hmap_hash(const void *data, size_t len)
{
	/* FNV-1a, then a final avalanche (splitmix64) so that keys differing
	 * only in their last bytes spread over the low bits we index with. */
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h ? h : 1;
}

struct hmap *
hmap_new(size_t keylen)
{
	struct hmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		fatalx("out of memory");
	m->keylen = keylen;
	m->cap = 16;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	m->keys = calloc(m->cap, keylen);
	if (m->slots == NULL || m->keys == NULL)
		fatalx("out of memory");
	return m;
}

void
hmap_free(struct hmap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m->keys);
	free(m);
}

size_t
hmap_count(const struct hmap *m)
{
	return m->count;
}

static size_t
find(const struct hmap *m, const void *key, uint64_t h, bool *found)
{
	size_t mask = m->cap - 1, i = (size_t)h & mask;

	for (;;) {
		if (m->slots[i].hash == 0) {
			*found = false;
			return i;
		}
		if (m->slots[i].hash == h &&
		    memcmp(m->keys + i * m->keylen, key, m->keylen) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static void
grow(struct hmap *m)
{
	struct hmap_slot *os = m->slots;
	uint8_t *ok = m->keys;
	size_t ocap = m->cap;

	m->cap *= 2;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	m->keys = calloc(m->cap, m->keylen);
	if (m->slots == NULL || m->keys == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < ocap; i++) {
		bool found;
		size_t j;

		if (os[i].hash == 0)
			continue;
		j = find(m, ok + i * m->keylen, os[i].hash, &found);
		m->slots[j] = os[i];
		memcpy(m->keys + j * m->keylen, ok + i * m->keylen, m->keylen);
	}
	free(os);
	free(ok);
}

void *
hmap_get(const struct hmap *m, const void *key)
{
	bool found;
	size_t i = find(m, key, hmap_hash(key, m->keylen), &found);

	return found ? m->slots[i].value : NULL;
}

void *
hmap_put(struct hmap *m, const void *key, void *value)
{
	uint64_t h = hmap_hash(key, m->keylen);
	bool found;
	size_t i;
	void *old;

	if ((m->count + 1) * 4 > m->cap * 3)	/* keep load under 3/4 */
		grow(m);
	i = find(m, key, h, &found);
	if (found) {
		old = m->slots[i].value;
		m->slots[i].value = value;
		return old;
	}
	m->slots[i].hash = h;
	m->slots[i].value = value;
	memcpy(m->keys + i * m->keylen, key, m->keylen);
	m->count++;
	return NULL;
}

void *
hmap_del(struct hmap *m, const void *key)
{
	size_t mask = m->cap - 1, i, j;
	bool found;
	void *old;

	i = find(m, key, hmap_hash(key, m->keylen), &found);
	if (!found)
		return NULL;
	old = m->slots[i].value;
	/* Backward-shift: pull later members of the probe run into the hole
	 * when their home slot is at or before it (cyclically). */
	j = i;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (m->slots[j].hash == 0)
			break;
		home = (size_t)m->slots[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			memcpy(m->keys + i * m->keylen, m->keys + j * m->keylen,
			    m->keylen);
			i = j;
		}
	}
	m->slots[i].hash = 0;
	m->slots[i].value = NULL;
	m->count--;
	return old;
}

bool
hmap_next(const struct hmap *m, size_t *it, const void **key, void **value)
{
	while (*it < m->cap) {
		size_t i = (*it)++;

		if (m->slots[i].hash != 0) {
			if (key)
				*key = m->keys + i * m->keylen;
			if (value)
				*value = m->slots[i].value;
			return true;
		}
	}
	return false;
}

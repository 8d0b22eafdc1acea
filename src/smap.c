/*
 * smap.c - string-keyed map on hmap (see smap.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/smap.h"
#include "bgplb/util.h"

static uint64_t
skey(const char *k)
{
	return hmap_hash(k, strlen(k));
}

void
smap_init(struct smap *m)
{
	m->h = hmap_new(sizeof(uint64_t));
	m->n = 0;
}

void
smap_fini(struct smap *m)
{
	hmap_free(m->h);
	m->h = NULL;
	m->n = 0;
}

size_t
smap_count(const struct smap *m)
{
	return m->n;
}

struct smap_ent *
smap_get(const struct smap *m, const char *key)
{
	uint64_t h = skey(key);
	struct smap_ent *e = hmap_get(m->h, &h);

	while (e != NULL && strcmp(e->key, key) != 0)
		e = e->next;
	return e;
}

void
smap_add(struct smap *m, struct smap_ent *e)
{
	uint64_t h = skey(e->key);

	e->next = hmap_get(m->h, &h);
	hmap_put(m->h, &h, e);
	m->n++;
}

void
smap_del(struct smap *m, struct smap_ent *e)
{
	uint64_t h = skey(e->key);
	struct smap_ent *p = hmap_get(m->h, &h), *prev = NULL;

	while (p != NULL && p != e) {
		prev = p;
		p = p->next;
	}
	if (p == NULL)
		return;
	if (prev != NULL)
		prev->next = e->next;
	else if (e->next != NULL)
		hmap_put(m->h, &h, e->next);
	else
		hmap_del(m->h, &h);
	e->next = NULL;
	m->n--;
}

size_t
smap_all(const struct smap *m, struct smap_ent ***out)
{
	size_t it = 0, n = 0;
	const void *k;
	void *v;

	*out = xcalloc(m->n + 1, sizeof(**out));
	while (hmap_next(m->h, &it, &k, &v))
		for (struct smap_ent *e = v; e != NULL; e = e->next)
			(*out)[n++] = e;
	return n;
}

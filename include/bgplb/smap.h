/*
 * smap.h - a string-keyed map built on hmap (util layer).
 *
 * Intrusive: the caller's struct begins with (or embeds) a struct smap_ent
 * whose key it sets; the map stores pointers to these entries, chained per
 * 64-bit hash of the key, so two keys with the same hash both live.  The
 * map never allocates or frees entries or keys.
 */
#ifndef BGPLB_SMAP_H
#define BGPLB_SMAP_H

#include <stddef.h>

#include "bgplb/hmap.h"

struct smap_ent {
	struct smap_ent	*next;		/* same hash: the chain */
	char		*key;
};

struct smap {
	struct hmap	*h;		/* 64-bit hash -> first entry of the chain */
	size_t		 n;		/* entries, chains included */
};

void	smap_init(struct smap *);
/* Frees the table only; the entries are the caller's. */
void	smap_fini(struct smap *);
size_t	smap_count(const struct smap *);
struct smap_ent *smap_get(const struct smap *, const char *key);
/* e->key must be set and not be in the map yet. */
void	smap_add(struct smap *, struct smap_ent *e);
/* Remove e (an entry of this map); a no-op when it is not in it. */
void	smap_del(struct smap *, struct smap_ent *e);
/* Every entry into a new array (caller frees), so the map may change after;
 * returns the count. */
size_t	smap_all(const struct smap *, struct smap_ent ***out);

#endif

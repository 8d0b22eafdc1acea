/*
 * hmap.h - a hash map from fixed-size byte keys to pointers.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), so a table that sees many adds and removes (a RIB under
 * service churn) never degrades.  Keys are copied into the table.
 */
#ifndef BGPLB_HMAP_H
#define BGPLB_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap;

struct hmap *hmap_new(size_t keylen);
void	hmap_free(struct hmap *);
size_t	hmap_count(const struct hmap *);
void	*hmap_get(const struct hmap *, const void *key);
/* Insert or replace; returns the previous value (or NULL). -1 on ENOMEM is
 * reported as abort: a RIB that can't grow is a broken invariant. */
void	*hmap_put(struct hmap *, const void *key, void *value);
/* Remove; returns the value that was stored (or NULL). */
void	*hmap_del(struct hmap *, const void *key);

/* Iterate: `for (it = 0; hmap_next(m, &it, &k, &v); )`.  Don't modify the
 * map while iterating. */
bool	hmap_next(const struct hmap *, size_t *it, const void **key, void **value);

uint64_t hmap_hash(const void *data, size_t len);

#endif

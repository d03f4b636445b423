/* Drawing distinct rows: an open-addressing set of row indices and Floyd's
 * algorithm, shared by the isolation forest's subsamples and the model's
 * calibration sample. */
#ifndef AN_CORE_SAMPLE_H
#define AN_CORE_SAMPLE_H

#include "core/rng.h"

#include <stddef.h>

/* A set of up to `slots / 2` row indices; slots is a power of two. */
typedef struct an_row_set {
    size_t *slots; /* SIZE_MAX = empty */
    size_t mask;   /* slots - 1 */
} an_row_set;

/* Slots a set needs for k rows: the least power of two >= 2k (>= 2). */
size_t an_row_set_slots(size_t k);
/* Make the set empty. */
void an_row_set_clear(an_row_set *s);
/* Insert row; 1 if it was not there yet. */
int an_row_set_insert(an_row_set *s, size_t row);

/* k distinct rows of [0, n) (k <= n), each k-subset equally likely, in
 * out[0..k) in draw order: Floyd's algorithm, O(k) time. The set must have
 * room for k rows; it is cleared first. */
void an_sample_distinct(an_rng *rng, size_t n, size_t k, an_row_set *set, size_t *out);

#endif

/* Sorting many keys in linear time: the model's calibration scores
 * (doubles) and gbt's feature values (float keys carrying their row). */
#ifndef AN_CORE_RADIX_SORT_H
#define AN_CORE_RADIX_SORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Stable ascending sort of items[0..n) by the unsigned key in their bits
 * [low, low + bits) (0 < bits, low + bits <= 64), the other bits carried
 * along: an LSD radix sort a byte at a time, a pass skipped when every key
 * has the same byte there, so no comparison branch to mispredict (4-6x
 * faster than a comparison sort from about 10^4 items). `tmp` holds n
 * items; returns where the result is, items or tmp. Allocates nothing. */
uint64_t *an_radix_sort_u64(uint64_t *items, uint64_t *tmp, size_t n, unsigned low,
                            unsigned bits);

/* A key whose unsigned order is the doubles' order (no NaN; -0 below +0):
 * positives get the sign bit set, negatives have every bit flipped (their
 * magnitudes run backwards). */
static inline uint64_t an_radix_key(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits >> 63 ? ~bits : bits | UINT64_C(1) << 63;
}

/* Ascending sort of v[0..n) (no NaN) with `scratch` of 2n items: the
 * doubles as keys whose unsigned order is theirs, sorted by
 * an_radix_sort_u64. The order of -0 against +0 is unspecified, as in a
 * comparison sort. Allocates nothing. */
void an_radix_sort_doubles(double *v, size_t n, uint64_t *scratch);

#endif

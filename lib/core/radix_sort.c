/* LSD radix sort of 64-bit items: see radix_sort.h. */
#include "core/radix_sort.h"

#include <assert.h>
#include <string.h>

#define DIGIT_BITS 8
#define BUCKETS (1u << DIGIT_BITS)
#define MAX_DIGITS (64 / DIGIT_BITS)

uint64_t *an_radix_sort_u64(uint64_t *items, uint64_t *tmp, size_t n, unsigned low,
                            unsigned bits)
{
    assert(bits > 0 && low + bits <= 64);
    if (n < 2)
        return items;
    unsigned digits = (bits + DIGIT_BITS - 1) / DIGIT_BITS;
    /* the top digit may reach past the key: its bits are masked off */
    uint64_t mask = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    /* every digit counted in one read (16 KB), then a pass per digit */
    size_t start[MAX_DIGITS][BUCKETS];
    memset(start, 0, digits * sizeof *start);
    for (size_t i = 0; i < n; i++) {
        uint64_t key = items[i] >> low & mask;
        for (unsigned d = 0; d < digits; d++)
            start[d][key >> (d * DIGIT_BITS) & (BUCKETS - 1)]++;
    }
    for (unsigned d = 0; d < digits; d++) {
        unsigned shift = low + d * DIGIT_BITS;
        uint64_t digit_mask = (mask >> (d * DIGIT_BITS)) & (BUCKETS - 1);
        size_t *offset = start[d];
        if (offset[items[0] >> shift & digit_mask] == n)
            continue; /* every key has this digit: the pass would move nothing */
        size_t sum = 0;
        for (unsigned b = 0; b < BUCKETS; b++) {
            size_t c = offset[b];
            offset[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[offset[items[i] >> shift & digit_mask]++] = items[i];
        uint64_t *t = items;
        items = tmp;
        tmp = t;
    }
    return items;
}

/* The inverse of an_radix_key. */
static double value_of(uint64_t key)
{
    uint64_t bits = key >> 63 ? key & ~(UINT64_C(1) << 63) : ~key;
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

void an_radix_sort_doubles(double *v, size_t n, uint64_t *scratch)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = an_radix_key(v[i]);
    const uint64_t *sorted = an_radix_sort_u64(scratch, scratch + n, n, 0, 64);
    for (size_t i = 0; i < n; i++)
        v[i] = value_of(sorted[i]);
}

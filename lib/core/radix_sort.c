/* LSD radix sort of doubles: see radix_sort.h. */
#include "core/radix_sort.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#define DIGIT_BITS 11
#define DIGITS 6 /* 6 x 11 >= 64 */
#define BUCKETS (1u << DIGIT_BITS)

/* A key whose unsigned order is the doubles' order: positives get the sign
 * bit set, negatives have every bit flipped (their magnitudes run backwards). */
static uint64_t key_of(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits >> 63 ? ~bits : bits | UINT64_C(1) << 63;
}

static unsigned digit(uint64_t key, int pass)
{
    return (unsigned)(key >> (pass * DIGIT_BITS)) & (BUCKETS - 1);
}

void an_radix_sort_doubles(double *v, size_t n, double *buffer)
{
    static_assert(DIGITS * DIGIT_BITS >= 64, "the digits cover the key");
    size_t start[BUCKETS]; /* 16 KB: one pass's counts, then its offsets */
    double *from = v, *to = buffer;
    for (int p = 0; p < DIGITS && n > 1; p++) {
        memset(start, 0, sizeof start);
        for (size_t i = 0; i < n; i++)
            start[digit(key_of(from[i]), p)]++;
        if (start[digit(key_of(from[0]), p)] == n)
            continue; /* every key has this digit: the pass would move nothing */
        size_t sum = 0;
        for (unsigned b = 0; b < BUCKETS; b++) {
            size_t c = start[b];
            start[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            to[start[digit(key_of(from[i]), p)]++] = from[i];
        double *t = from;
        from = to;
        to = t;
    }
    if (from != v)
        memcpy(v, from, n * sizeof *v);
}

#include "core/sample.h"

#include <stdint.h>

size_t an_row_set_slots(size_t k)
{
    size_t slots = 2;
    while (slots < 2 * k)
        slots *= 2;
    return slots;
}

void an_row_set_clear(an_row_set *s)
{
    for (size_t i = 0; i <= s->mask; i++)
        s->slots[i] = SIZE_MAX;
}

int an_row_set_insert(an_row_set *s, size_t row)
{
    size_t h = (size_t)(((uint64_t)row * 0x9E3779B97F4A7C15ULL) >> 17) & s->mask;
    while (s->slots[h] != SIZE_MAX) {
        if (s->slots[h] == row)
            return 0;
        h = (h + 1) & s->mask;
    }
    s->slots[h] = row;
    return 1;
}

void an_sample_distinct(an_rng *rng, size_t n, size_t k, an_row_set *set, size_t *out)
{
    an_row_set_clear(set);
    size_t count = 0;
    for (size_t j = n - k; j < n; j++) {
        size_t row = (size_t)an_rng_below(rng, (uint64_t)j + 1);
        if (!an_row_set_insert(set, row)) {
            row = j;
            an_row_set_insert(set, j);
        }
        out[count++] = row;
    }
}

/* Orders of double arrays: see order.h. */
#include "core/order.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/radix_sort.h"

#include <stdint.h>

size_t an_lower_bound(const double *sorted, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t an_upper_bound(const double *sorted, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct keyed_row {
    double value;
    size_t row;
} keyed_row;

static int row_before(keyed_row a, keyed_row b)
{
    return a.value < b.value || (a.value == b.value && a.row < b.row);
}

static void sift_down(keyed_row *v, size_t n, size_t i)
{
    keyed_row top = v[i];
    for (size_t c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && row_before(v[c], v[c + 1]))
            c++;
        if (!row_before(top, v[c]))
            break;
        v[i] = v[c];
    }
    v[i] = top;
}

/* The heapsort of (value, row) pairs: rows[0..n) reordered. */
static anoma_status heap_sort_rows(size_t *rows, size_t n, const double *x, size_t stride)
{
    keyed_row *v = AN_NEW_ARRAY(keyed_row, n ? n : 1);
    if (!v)
        return an_no_memory();
    for (size_t i = 0; i < n; i++)
        v[i] = (keyed_row){x[rows[i] * stride], rows[i]};
    for (size_t i = n / 2; i-- > 0;)
        sift_down(v, n, i);
    for (size_t end = n; end > 1; end--) {
        keyed_row top = v[0];
        v[0] = v[end - 1];
        v[end - 1] = top;
        sift_down(v, end - 1, 0);
    }
    for (size_t i = 0; i < n; i++)
        rows[i] = v[i].row;
    an_free(v);
    return ANOMA_OK;
}

/* From this many rows the radix sort (below) is the faster. */
enum { RADIX_MIN_ROWS = 256, SHORT_RUN = 24 };

/* A radix sort on the top 32 bits of each value's order-preserving key,
 * the row carried in the low 32 bits, then each run of equal top bits
 * (values within a relative 2^-20 of each other) ordered by (value, row):
 * by insertion when short, else by the heapsort. A one-column index of
 * 22695 rows (nab_machine_temperature) took 16 % of its LOF fit in the
 * heapsort, a mispredicted branch per comparison. -0 is keyed as +0, so
 * that the two tie, as < has them. */
static anoma_status radix_sort_rows(size_t *rows, size_t n, const double *x, size_t stride)
{
    uint64_t *items = an_malloc_array(n, 2 * sizeof(uint64_t));
    if (!items)
        return an_no_memory();
    for (size_t i = 0; i < n; i++) {
        double v = x[rows[i] * stride];
        items[i] = an_radix_key(v == 0 ? 0.0 : v) >> 32 << 32 | (uint64_t)rows[i];
    }
    const uint64_t *sorted = an_radix_sort_u64(items, items + n, n, 32, 32);
    for (size_t i = 0; i < n; i++)
        rows[i] = (size_t)(sorted[i] & UINT32_MAX);
    anoma_status st = ANOMA_OK;
    for (size_t i = 0, j; i < n && st == ANOMA_OK; i = j) {
        for (j = i + 1; j < n && sorted[j] >> 32 == sorted[i] >> 32; j++)
            ;
        if (j - i > SHORT_RUN) {
            st = heap_sort_rows(rows + i, j - i, x, stride);
            continue;
        }
        for (size_t t = i + 1; t < j; t++) {
            size_t row = rows[t], u = t;
            keyed_row key = {x[row * stride], row};
            for (; u > i && row_before(key, (keyed_row){x[rows[u - 1] * stride], rows[u - 1]}); u--)
                rows[u] = rows[u - 1];
            rows[u] = row;
        }
    }
    an_free(items);
    return st;
}

anoma_status an_sort_rows_by_value(size_t *rows, size_t n, const double *x, size_t stride,
                                   double *sorted_values)
{
    int narrow = 1; /* every row number fits the radix sort's 32 bits */
    for (size_t i = 0; i < n && narrow; i++)
        narrow = rows[i] <= UINT32_MAX;
    anoma_status st = n >= RADIX_MIN_ROWS && narrow ? radix_sort_rows(rows, n, x, stride)
                                                    : heap_sort_rows(rows, n, x, stride);
    if (st == ANOMA_OK && sorted_values)
        for (size_t i = 0; i < n; i++)
            sorted_values[i] = x[rows[i] * stride];
    return st;
}

/* Orders of double arrays: see order.h. */
#include "core/order.h"
#include "core/alloc.h"
#include "core/error.h"

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

anoma_status an_sort_rows_by_value(size_t *rows, size_t n, const double *x, size_t stride,
                                   double *sorted_values)
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
    for (size_t i = 0; i < n; i++) {
        rows[i] = v[i].row;
        if (sorted_values)
            sorted_values[i] = v[i].value;
    }
    an_free(v);
    return ANOMA_OK;
}

/* Orders of double arrays shared by the detectors and the neighbour
 * searches: rows sorted by a value, and where a value falls in a sorted
 * array. */
#ifndef AN_CORE_ORDER_H
#define AN_CORE_ORDER_H

#include "anoma/common.h"

#include <stddef.h>

/* The first slot of the ascending sorted[0..n) whose value is not below v
 * (n when every value is below it), by binary search. */
size_t an_lower_bound(const double *sorted, size_t n, double v);

/* The first slot of the ascending sorted[0..n) whose value is above v (n
 * when none is), by binary search. */
size_t an_upper_bound(const double *sorted, size_t n, double v);

/* Reorder the row numbers rows[0..n) (distinct) ascending by
 * (x[row * stride], row): values compared with <, so -0 and +0 tie and the
 * lower row comes first, the neighbour heap's (distance, index) order.
 * `sorted_values`, when not NULL, receives the n values in that order.
 * From 256 rows a radix sort on the values' top bits, each run of close
 * values then ordered exactly; below, a heapsort of (value, row) pairs,
 * contiguous so that it reads no value through a row number. One
 * allocation (glibc's qsort may allocate behind the host allocator). */
anoma_status an_sort_rows_by_value(size_t *rows, size_t n, const double *x, size_t stride,
                                   double *sorted_values);

#endif

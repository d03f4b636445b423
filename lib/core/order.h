/* Orders of double arrays shared by the detectors and the neighbour
 * searches: where a value falls in a sorted array. */
#ifndef AN_CORE_ORDER_H
#define AN_CORE_ORDER_H

#include <stddef.h>

/* The first slot of the ascending sorted[0..n) whose value is not below v
 * (n when every value is below it), by binary search. */
size_t an_lower_bound(const double *sorted, size_t n, double v);

#endif

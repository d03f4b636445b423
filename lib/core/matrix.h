/* Checking and reading caller matrix views. */
#ifndef AN_CORE_MATRIX_H
#define AN_CORE_MATRIX_H

#include "anoma/data.h"

/* Shape and pointer checks: x non-NULL, known dtype, row_stride >= cols,
 * data non-NULL when there are elements. `what` names the argument. */
anoma_status an_matrix_check(const anoma_matrix *x, const char *what);

/* An error naming the first +-Inf element (NaN is allowed: missing). */
anoma_status an_matrix_check_finite(const anoma_matrix *x, const char *what);

static inline double an_matrix_get(const anoma_matrix *x, size_t i, size_t j)
{
    size_t k = i * x->row_stride + j;
    return x->dtype == ANOMA_F64 ? ((const double *)x->data)[k] : (double)((const float *)x->data)[k];
}

/* The index of the first value of v (n doubles) that is not finite, or n:
 * what a loader checks before using values read from a file. */
size_t an_first_not_finite(const double *v, size_t n);

/* Row i as doubles. */
void an_matrix_copy_row(const anoma_matrix *x, size_t i, double *out);

/* A contiguous double copy of x (rows * cols), owned by the caller (an_free). */
anoma_status an_matrix_to_f64(const anoma_matrix *x, double **out);

#endif

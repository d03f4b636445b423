#include "core/matrix.h"
#include "core/stats.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

anoma_status an_matrix_check(const anoma_matrix *x, const char *what)
{
    if (!x)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL matrix", what);
    if (x->dtype != ANOMA_F64 && x->dtype != ANOMA_F32)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: unknown element type %d", what,
                        (int)x->dtype);
    if (x->row_stride < x->cols)
        return an_error(ANOMA_ERR_SHAPE, "%s: row_stride %zu is smaller than cols %zu", what,
                        x->row_stride, x->cols);
    if (x->rows && x->row_stride && x->rows > SIZE_MAX / 8 / x->row_stride)
        return an_error(ANOMA_ERR_SHAPE, "%s: %zu rows of stride %zu overflow memory", what,
                        x->rows, x->row_stride);
    if (x->rows && x->cols && !x->data)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL data for a %zu x %zu matrix",
                        what, x->rows, x->cols);
    return ANOMA_OK;
}

/* Whether n doubles hold an infinity, from four running maxima of |v|
 * (a NaN fails the comparison and is passed over): no early exit and no
 * chain from one value to the next, so loads overlap. A fit reads the whole
 * matrix here, and on a large one this is most of what the fit costs for
 * its size: measured on 10^8 values, ~2x faster than testing each one. */
static int any_infinite(const double *v, size_t n)
{
    double m[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (size_t k = 0; k < 4; k++) {
            double a = fabs(v[i + k]);
            m[k] = a > m[k] ? a : m[k];
        }
    for (; i < n; i++) {
        double a = fabs(v[i]);
        m[0] = a > m[0] ? a : m[0];
    }
    return m[0] == INFINITY || m[1] == INFINITY || m[2] == INFINITY || m[3] == INFINITY;
}

/* Rows [begin, end) cell by cell, for the first infinity's row and column. */
static anoma_status check_cells(const anoma_matrix *x, size_t begin, size_t end, const char *what)
{
    for (size_t i = begin; i < end; i++)
        for (size_t j = 0; j < x->cols; j++)
            if (isinf(an_matrix_get(x, i, j)))
                return an_error(ANOMA_ERR_NONFINITE,
                                "%s: infinite value at row %zu, column %zu (use NaN for missing)",
                                what, i, j);
    return ANOMA_OK;
}

/* Values per quick scan of a double matrix; a chunk that holds an infinity
 * (or whose padding between rows does) is checked again cell by cell. */
enum { FINITE_CHUNK = 4096 };

anoma_status an_matrix_check_finite(const anoma_matrix *x, const char *what)
{
    if (x->dtype != ANOMA_F64 || !x->cols)
        return check_cells(x, 0, x->rows, what);
    size_t step = FINITE_CHUNK / x->row_stride ? FINITE_CHUNK / x->row_stride : 1;
    for (size_t first = 0; first < x->rows; first += step) {
        size_t n = x->rows - first < step ? x->rows - first : step;
        const double *v = (const double *)x->data + first * x->row_stride;
        if (any_infinite(v, (n - 1) * x->row_stride + x->cols))
            AN_TRY(check_cells(x, first, first + n, what));
    }
    return ANOMA_OK;
}

void an_matrix_copy_row(const anoma_matrix *x, size_t i, double *out)
{
    if (x->dtype == ANOMA_F64) {
        memcpy(out, (const double *)x->data + i * x->row_stride, x->cols * sizeof(double));
        return;
    }
    const float *row = (const float *)x->data + i * x->row_stride;
    for (size_t j = 0; j < x->cols; j++)
        out[j] = row[j];
}

anoma_status an_matrix_to_f64(const anoma_matrix *x, double **out)
{
    double *copy = an_malloc_array(x->rows, x->cols * sizeof(double));
    if (!copy)
        return an_no_memory();
    for (size_t i = 0; i < x->rows; i++)
        an_matrix_copy_row(x, i, copy + i * x->cols);
    *out = copy;
    return ANOMA_OK;
}

/* Values per quick scan (an_any_nonfinite, vectorised); only a block that
 * holds a value that is not finite is searched value by value. */
enum { FINITE_BLOCK = 4096 };

size_t an_first_not_finite(const double *v, size_t n)
{
    for (size_t first = 0; first < n; first += FINITE_BLOCK) {
        size_t end = n - first < FINITE_BLOCK ? n : first + FINITE_BLOCK;
        if (!an_any_nonfinite(v + first, end - first))
            continue;
        for (size_t i = first; i < end; i++)
            if (!isfinite(v[i]))
                return i;
    }
    return n;
}

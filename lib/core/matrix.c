#include "core/matrix.h"
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

anoma_status an_matrix_check_finite(const anoma_matrix *x, const char *what)
{
    for (size_t i = 0; i < x->rows; i++)
        for (size_t j = 0; j < x->cols; j++)
            if (isinf(an_matrix_get(x, i, j)))
                return an_error(ANOMA_ERR_NONFINITE,
                                "%s: infinite value at row %zu, column %zu (use NaN for missing)",
                                what, i, j);
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

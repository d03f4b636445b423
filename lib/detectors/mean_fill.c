/* Missing values filled with the training mean: see mean_fill.h. */
#include "detectors/mean_fill.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/stats.h"

anoma_status an_mean_fill_fit(const char *detector, const an_fit_data *data, double *fill)
{
    double *v = AN_NEW_ARRAY(double, data->rows);
    if (!v)
        return an_no_memory();
    for (size_t j = 0; j < data->cols; j++) {
        size_t n = 0;
        for (size_t i = 0; i < data->rows; i++) {
            double x = data->x[i * data->cols + j];
            if (x == x)
                v[n++] = x;
        }
        if (n == 0) {
            an_free(v);
            return an_error(ANOMA_ERR_EMPTY, "%s: feature %zu has no value (all missing)",
                            detector, j);
        }
        fill[j] = an_mean(v, n);
    }
    an_free(v);
    return ANOMA_OK;
}

void an_mean_fill_rows(const double *fill, const double *x, size_t rows, size_t cols,
                       double *out)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            double v = x[i * cols + j];
            out[i * cols + j] = v == v ? v : fill[j];
        }
}

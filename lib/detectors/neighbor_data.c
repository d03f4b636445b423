/* The training matrix of the neighbour detectors: see neighbor_data.h. */
#include "detectors/neighbor_data.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

anoma_status an_nb_check_complete(const char *what, const double *x, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            if (isnan(x[i * cols + j]))
                return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                                "%s: feature %zu of row %zu is missing (NaN): distances need "
                                "complete rows; fill missing values first, with the pipeline's "
                                "\"imputer\" step", what, j, i);
    return ANOMA_OK;
}

void an_nb_data_free(an_nb_data *s)
{
    an_knn_free(&s->index);
    an_free(s->x);
    memset(s, 0, sizeof *s);
}

size_t an_nb_data_memory(const an_nb_data *s)
{
    return s->n * s->d * sizeof(double) + an_knn_memory(&s->index);
}

anoma_status an_nb_data_fit(an_nb_data *s, const char *detector, const an_fit_data *data,
                            size_t min_rows, an_knn_algorithm algorithm)
{
    if (data->rows < min_rows)
        return an_error(ANOMA_ERR_EMPTY, "%s: fit needs at least %zu rows, got n_samples = %zu", detector,
                        min_rows, data->rows);
    char what[64];
    snprintf(what, sizeof what, "%s: fit", detector);
    AN_TRY(an_nb_check_complete(what, data->x, data->rows, data->cols));
    an_nb_data_free(s);
    s->x = an_malloc_array(data->rows, data->cols * sizeof(double));
    if (!s->x)
        return an_no_memory();
    memcpy(s->x, data->x, data->rows * data->cols * sizeof(double));
    s->n = data->rows;
    s->d = data->cols;
    anoma_status st = an_knn_build(&s->index, s->x, s->n, s->d, algorithm);
    if (st != ANOMA_OK)
        an_nb_data_free(s);
    return st;
}

void an_nb_data_save(const an_nb_data *s, an_writer *w)
{
    an_put_u64(w, s->n);
    an_put_u64(w, s->d);
    an_put_f64_array(w, s->x, s->n * s->d);
}

anoma_status an_nb_data_load(an_nb_data *s, an_reader *r, size_t n_features, size_t min_rows,
                             an_knn_algorithm algorithm)
{
    an_nb_data_free(s);
    uint64_t n = an_get_u64(r), d = an_get_u64(r);
    if (r->failed || d != n_features || n < min_rows || !d ||
        !an_reader_can_hold(r, n, d * sizeof(double))) {
        an_reader_fail(r);
        return an_reader_status(r);
    }
    s->x = an_malloc_array((size_t)n, (size_t)d * sizeof(double));
    if (!s->x)
        return an_no_memory();
    s->n = (size_t)n;
    s->d = (size_t)d;
    an_get_f64_array(r, s->x, s->n * s->d);
    for (size_t i = 0; !r->failed && i < s->n * s->d; i++)
        if (!isfinite(s->x[i]))
            an_reader_fail(r);
    anoma_status st = an_reader_status(r);
    if (st == ANOMA_OK)
        st = an_knn_build(&s->index, s->x, s->n, s->d, algorithm);
    if (st != ANOMA_OK)
        an_nb_data_free(s);
    return st;
}

/* The one interface every detector implements.
 *
 * A detector is a vtable plus an opaque state. The model (lib/model) does
 * all argument checking, data conversion, threading and file framing: a
 * detector receives validated, contiguous double data (NaN = missing, no
 * Inf) and only does its own work. To add a detector: write its file with a
 * vtable, list it in registry.c, add its tests and docs. */
#ifndef AN_DETECTORS_DETECTOR_H
#define AN_DETECTORS_DETECTOR_H

#include "core/params.h"
#include "core/strbuf.h"
#include "io/bytes.h"

enum {
    AN_DETECTOR_SUPERVISED = 1u << 0,     /* fit needs labels */
    AN_DETECTOR_FEATURE_SCORES = 1u << 1, /* feature_scores_row is set */
};

/* Training data as the detector sees it. */
typedef struct an_fit_data {
    const double *x;       /* rows * cols, row-major, contiguous */
    size_t rows, cols;
    const int *labels;     /* NULL or rows values 0/1 */
    const double *weights; /* NULL or rows values >= 0 */
    size_t n_threads;      /* 0 = all cores */
} an_fit_data;

typedef struct an_detector_vtable {
    const char *name;    /* registry key, such as "zscore" */
    const char *summary; /* one line for help text */
    const anoma_param_info *params;
    size_t n_params;
    unsigned flags;

    /* New unfitted state for these (validated) parameters. */
    anoma_status (*create)(const an_params *params, void **state);
    void (*destroy)(void *state);

    /* Learn from data; on error the state may be freed and re-created. */
    anoma_status (*fit)(void *state, const an_fit_data *data);

    /* Doubles of scratch memory score_row needs (0 for none). */
    size_t (*scratch_size)(const void *state);
    /* Score one row of the fitted width; allocates nothing, cannot fail. */
    void (*score_row)(const void *state, const double *row, double *scratch, double *score);
    /* Optional faster batch scoring of contiguous rows; NULL = row by row. */
    anoma_status (*score_batch)(const void *state, const double *x, size_t rows,
                                size_t n_threads, double *scores);
    /* Optional (AN_DETECTOR_FEATURE_SCORES): one value per feature. */
    void (*feature_scores_row)(const void *state, const double *row, double *scratch,
                               double *out);

    /* Fitted state to and from a payload; load gets the fitted width and
     * must check every count and index it reads. */
    anoma_status (*save)(const void *state, an_writer *w);
    anoma_status (*load)(void *state, an_reader *r, size_t n_features);

    /* Bytes the fitted state holds. */
    size_t (*memory_bytes)(const void *state);
    /* Human-readable summary of the fitted state (for anoma inspect). */
    void (*describe)(const void *state, an_strbuf *out);
} an_detector_vtable;

/* The registry: NULL when unknown. */
const an_detector_vtable *an_detector_find(const char *name);
/* The index-th registered detector, NULL past the end. */
const an_detector_vtable *an_detector_at(size_t index);

#endif

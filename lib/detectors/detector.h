/* The one interface every detector implements.
 *
 * A detector is a vtable plus an opaque state. The model (lib/model) does
 * all argument checking, data conversion, threading and file framing: a
 * detector receives validated, contiguous double data (NaN = missing, no
 * Inf) and only does its own work. To add a detector: write its file with a
 * vtable, list it in registry.c, add its tests and docs. docs/architecture.md
 * ("Detectors") explains each entry and the decisions behind them.
 *
 * The table has three parts:
 *   - always: create, destroy, fit, score_row, save, load;
 *   - optional: score_batch, feature_scores_row, scratch, training_scores,
 *     cannot_score, share_rows, memory, describe;
 *   - stateful (ANOMA_FLAG_STATEFUL): per-entity state for streams, read
 *     and updated by each observation of one entity (a window, a recurrent
 *     network's hidden state, an online estimate). The model refuses
 *     stateful detectors in its batch and row paths; a stream
 *     (lib/stream) runs them, keeping each entity's block. */
#ifndef AN_DETECTORS_DETECTOR_H
#define AN_DETECTORS_DETECTOR_H

#include "anoma/params.h"
#include "core/params.h"
#include "core/progress.h"
#include "core/strbuf.h"
#include "io/bytes.h"

#include <stdint.h>

struct an_nb_table; /* neighbor_data.h */

/* Largest scratch or entity-state alignment a detector may ask for: a
 * cache line, enough for any vector type the library uses. */
#define AN_MAX_ALIGN 64

/* Training data as the detector sees it. */
typedef struct an_fit_data {
    const double *x;       /* rows * cols, row-major, contiguous */
    size_t rows, cols;
    /* 1: x is the caller's own matrix (a model without steps fitted on a
     * contiguous float64 matrix), which a detector may keep referencing
     * when the caller asks it to (lof's rows=borrow); 0: a copy the model
     * frees after fit (pipeline output, a converted matrix). */
    int x_outlives_fit;
    const int *labels;     /* NULL or rows values 0/1 */
    const double *weights; /* NULL or rows values >= 0 */
    size_t n_threads;      /* 0 = all cores */
    /* the host's callback (NULL or fn NULL: none); report from the
     * calling thread only (an_parallel_for_reported) */
    const an_progress *progress;
    /* Evaluation sets (anoma_model_add_eval_set), in the order given,
     * not trained on: gbt records its metrics on each and early-stops on
     * the last. 0 sets: none. */
    const struct an_eval_rows *eval_sets;
    size_t n_eval_sets;
} an_fit_data;

/* One evaluation set as a detector sees it: rows * cols (the detectors'
 * width), row-major; labels 0/1; weights NULL or >= 0. */
typedef struct an_eval_rows {
    const double *x;
    size_t rows;
    const int *labels;
    const double *weights;
} an_eval_rows;

typedef struct an_detector_vtable {
    const char *name;    /* registry key, such as "zscore" */
    const char *summary; /* one line for help text */
    const anoma_param_info *params;
    size_t n_params;
    unsigned flags; /* ANOMA_FLAG_* (public, anoma/params.h) */
    /* The payload layout save() writes, from 1; raised when the layout
     * changes, so that load() can still read every earlier one. */
    uint32_t payload_version;

    /* New unfitted state for these (validated) parameters. */
    anoma_status (*create)(const an_params *params, void **state);
    void (*destroy)(void *state);

    /* Learn from data; on error the state may be freed and re-created.
     * Fit may allocate freely: only the row paths below may not. */
    anoma_status (*fit)(void *state, const an_fit_data *data);

    /* Scratch memory the row functions need, in bytes (NULL = none), and
     * its alignment (a power of two up to AN_MAX_ALIGN; 0 = that of a
     * double). The caller gives each call a block of at least this size
     * and alignment, which it owns and may reuse between calls: k-NN needs
     * index arrays, networks float32 buffers. */
    size_t (*scratch_bytes)(const void *state);
    size_t scratch_align;
    /* Score one row of the fitted width; allocates nothing, cannot fail. */
    void (*score_row)(const void *state, const double *row, void *scratch, double *score);
    /* Optional faster batch scoring of contiguous rows; NULL = row by row.
     * It must give the same values as score_row, whatever n_threads. */
    anoma_status (*score_batch)(const void *state, const double *x, size_t rows,
                                size_t n_threads, double *scores);
    /* Optional (ANOMA_FLAG_FEATURE_SCORES): one value per feature. */
    void (*feature_scores_row)(const void *state, const double *row, void *scratch,
                               double *out);
    /* Optional, for feature scores that are additive contributions (gbt's
     * TreeSHAP): the value they add up from, the same for every row;
     * NULL = none. */
    double (*feature_scores_base)(const void *state);
    /* Optional: each feature's importance of this kind (gbt: XGBoost's
     * importance types), one value per feature into out; an unknown kind
     * is ANOMA_ERR_INVALID_ARGUMENT naming the kinds. NULL = none. */
    anoma_status (*feature_importance)(const void *state, const char *kind, double *out);
    /* Optional: the values of a metric on evaluation set `set` after each
     * training round (pointing into the state), *n of them; an error
     * naming what was recorded when the set or metric was not. */
    anoma_status (*eval_history)(const void *state, size_t set, const char *metric,
                                 const double **values, size_t *n);

    /* Optional: the scores of the training rows themselves as the detector
     * defines them when they differ from scoring those rows afresh (lof's
     * outlier mode: each row's neighbours leave the row out), rows values
     * in training order; NULL (or *rows 0) = none. The model takes its
     * threshold and normalisation from them instead of scoring the rows. */
    const double *(*training_scores)(const void *state, size_t *rows);

    /* Optional: NULL when the fitted state scores rows, else why it cannot
     * (lof fitted with keep_rows=false holds no training rows to search).
     * score_row cannot fail, so the row scorer and streams refuse such a
     * model when they are created; score_batch refuses with the same
     * reason. NULL entry = the detector always scores. */
    const char *(*cannot_score)(const void *state);

    /* Fitted state to and from a payload. save writes the layout
     * `payload_version`; load gets the version the payload was written
     * with (1 <= version <= payload_version: the model refuses newer ones)
     * and the fitted width, and must check every count and index it reads. */
    anoma_status (*save)(const void *state, an_writer *w);
    anoma_status (*load)(void *state, an_reader *r, size_t n_features, uint32_t version);

    /* Optional: a detector that keeps its training rows (lof, knn) takes
     * them from the model's table of shared matrices (neighbor_data.h)
     * instead of holding a copy of its own, so that rows several detectors
     * were fitted on are held, saved and loaded once. The model calls it
     * right after create, before fit or load; the table outlives the
     * state. NULL = the detector keeps no rows. */
    void (*share_rows)(void *state, struct an_nb_table *table);

    /* Bytes the fitted state holds (rows in the model's table not
     * included: the model counts them once). */
    size_t (*memory_bytes)(const void *state);
    /* Human-readable summary of the fitted state (for anoma inspect). */
    void (*describe)(const void *state, an_strbuf *out);

    /* Optional: the detector's own threshold on its score for these
     * parameters (iforest 0.5, zscore 3, ...), which the model parameter
     * contamination=auto uses. ANOMA_OK, or ANOMA_ERR_PARAM_VALUE with a
     * message saying why these parameters have none; NULL = no rule. */
    anoma_status (*auto_threshold)(const an_params *params, double *threshold);

    /* Optional: make `state` (created from `params`, unfitted) the one
     * detector holding what the fitted states parts[0..n) of this kind and
     * width hold together (an isolation forest of all their trees), and
     * set in `params` what describes it (n_trees). Parts that cannot merge
     * are ANOMA_ERR_INVALID_ARGUMENT naming the first as models[k] (the
     * parts are numbered as anoma_model_merge's models). NULL = the
     * detector does not merge. */
    anoma_status (*merge)(void *state, an_params *params, const void *const *parts, size_t n);

    /* ---- stateful part: all set with ANOMA_FLAG_STATEFUL, else all NULL ----
     * An entity (a user, a sensor) owns one block of entity_bytes at
     * entity_align, which the stream allocates and keeps; the fitted state
     * stays immutable and shared by all entities. A block holds what the
     * entity's rows were (a window of them, counts, sums), never a value
     * learned at fit: a saved block moves to a retrained model with the same
     * name, entity_bytes and input columns (lib/stream/fingerprint.c). */
    size_t (*entity_bytes)(const void *state);
    size_t entity_align; /* as scratch_align */
    /* Make a block the state of an entity never seen (empty history). */
    void (*entity_init)(const void *state, void *entity);
    /* Score one observation of the entity and fold it into its state;
     * allocates nothing, cannot fail (a missing value is the detector's
     * to handle, as in score_row). */
    void (*entity_update_score)(const void *state, void *entity, const double *row,
                                void *scratch, double *score);
    /* The entity's state as portable bytes (little-endian, no pointers) and
     * back; restore checks every value as load does and leaves the block
     * initialised on error. */
    anoma_status (*entity_save)(const void *state, const void *entity, an_writer *w);
    anoma_status (*entity_restore)(const void *state, void *entity, an_reader *r);
} an_detector_vtable;

/* The registry: NULL when unknown. */
const an_detector_vtable *an_detector_find(const char *name);
/* The index-th registered detector, NULL past the end. */
const an_detector_vtable *an_detector_at(size_t index);

/* Bytes of scratch vt needs for its fitted state, and their alignment
 * (never 0): what every caller of the row functions must provide. */
size_t an_detector_scratch_bytes(const an_detector_vtable *vt, const void *state);
size_t an_detector_scratch_align(const an_detector_vtable *vt);

#endif

/* The model bundle's inside, shared by the files of lib/model. */
#ifndef AN_MODEL_MODEL_H
#define AN_MODEL_MODEL_H

#include "anoma/model.h"

#include <stdint.h>

#include "core/params.h"
#include "detectors/detector.h"
#include "detectors/neighbor_data.h"
#include "features/pipeline.h"
#include "model/ensemble.h"
#include "model/probability.h"

/* What one model holds at most (docs/reliability.md, "Limits"). Fit,
 * add_detector and set_feature_names refuse more, so every model saved can
 * be loaded; the loader refuses more before allocating for them. The
 * feature bound also bounds the work a hostile file can ask of a load. */
enum { AN_MODEL_MAX_DETECTORS = 4096, AN_MODEL_MAX_FEATURES = 1 << 20 };
/* Rows one fit takes at most: detectors index their training rows with 32
 * bits (tree leaf counts, boosting's row partitions, SGD's shuffled order). */
#define AN_MODEL_MAX_FIT_ROWS ((size_t)UINT32_MAX)

typedef struct an_model_detector {
    const an_detector_vtable *vt;
    an_params params;
    void *state;
    /* the detector as a member of the ensemble (ensemble.c), learned on the
     * calibration scores: normalised = (raw - shift) / scale, or the rank
     * among `ranks`; its weight; its own threshold when members vote (NaN
     * otherwise) */
    double shift, scale;
    an_distribution ranks;
    double weight;
    double vote_threshold;
    /* fitted elsewhere (anoma_model_import_detector) for this many columns;
     * 0 = fitted by the model */
    size_t imported_width;
} an_model_detector;

/* Labelled rows for the next fit to watch, not train on (eval_set.c). */
typedef struct an_model_eval_set {
    double *x;          /* rows x cols, or NULL for a frame */
    anoma_frame *frame; /* the rows as a frame (a copy), or NULL */
    int *labels;
    double *weights; /* NULL: none */
    size_t rows, cols;
    /* at fit: the rows through the fitted pipeline (rows x its width), or
     * NULL when the detectors read x as it is */
    double *features;
} an_model_eval_set;

/* The evaluation sets, in the order given; most AN_MODEL_MAX_EVAL_SETS. */
typedef struct an_model_eval {
    an_model_eval_set *sets;
    size_t n;
} an_model_eval;

enum { AN_MODEL_MAX_EVAL_SETS = 1024 };

void an_model_eval_free(an_model_eval *e);
/* The sets as the detectors see them (an_fit_data.eval_sets), in a new
 * array (*out, to an_free; NULL without sets). */
anoma_status an_model_eval_rows(const anoma_model *m, struct an_eval_rows **out);
/* Make the evaluation sets (if any) the detectors' input, of `width`
 * columns: through the pipeline, fitted on the training rows only, when
 * `through_pipeline` (the model is fitted through its steps or a frame);
 * else as given, when they are matrices of that width. */
anoma_status an_model_eval_prepare(anoma_model *m, int through_pipeline, size_t width);
/* Labels 0/1 and weights finite and >= 0 (either NULL: not checked), the
 * first bad one named by row; `what` names the call. */
anoma_status an_model_check_labels(const char *what, const int *labels, const double *weights,
                                   size_t rows);
/* The frame's column for each input column of p, matched by name
 * (*columns to an_free); `what` names the call in the errors. */
anoma_status an_model_frame_columns(const an_pipeline *p, const anoma_frame *f, const char *what,
                                    an_input_column **columns);

struct anoma_model {
    an_params params; /* the model's own parameters (schema in components.c) */
    an_model_detector *detectors;
    size_t n_detectors;
    /* training matrices of neighbour detectors, each held once however
     * many detectors use it (neighbor_data.h); saved as SHARED_ROWS */
    an_nb_table shared_rows;
    int fitted;
    an_pipeline pipeline; /* input schema and steps; its plan is set once fitted */
    size_t n_features;  /* input width at fit time */
    size_t width;       /* the detectors' width: the pipeline's output */
    size_t train_rows;  /* rows seen at fit time */
    char **feature_names; /* n_features names or NULL */
    double threshold;
    /* scratch a row needs: the largest block any detector asks for, at the
     * strictest alignment (detector.h); set at fit and load */
    size_t scratch_bytes, scratch_align;
    /* run-time option, not saved: threads for fit and batch scoring (0 =
     * all cores), from the n_threads parameter or anoma_model_set_n_threads */
    size_t n_threads;
    /* run-time option, not saved: the host's progress callback */
    an_progress progress;
    /* parameters resolved once at fit or load, so scoring reads no text */
    an_normalize normalize;
    an_combine combine;
    /* how a score becomes a probability (probability.c) */
    an_probability probability;
    /* not saved: the evaluation sets of the next fit (eval_set.c) */
    an_model_eval eval;
};

extern const anoma_param_info an_model_schema[];
extern const size_t an_model_schema_size;

/* Make the detector's unfitted state from its parameters, sharing
 * training rows through m's table. */
anoma_status an_model_detector_reset(anoma_model *m, an_model_detector *d);

/* The input schema of a matrix of cols columns: the names set, or x0, x1,
 * ...; every column a number. */
anoma_status an_model_set_matrix_schema(anoma_model *m, size_t cols);

/* Fit the pipeline (its input schema set), the detectors and the threshold
 * on these rows; on failure the model is left unfitted and fittable. */
anoma_status an_model_fit_input(anoma_model *m, const an_input *in, const int *labels,
                                const double *weights);

/* The detectors' input for a checked input: rows x width doubles, the
 * caller's matrix itself when it already is that (*owned = NULL) or a new
 * array in *owned. */
anoma_status an_model_features(const anoma_model *m, const an_input *in, const double **dense,
                               double **owned);

/* Scores of rows of the detectors' input (rows x width). */
anoma_status an_model_score_rows(const anoma_model *m, const double *x, size_t rows,
                                 double *scores);
/* The same for rows [first, first + rows) of a call scoring `total` rows
 * (x and scores start at row first), so that progress counts the call. */
anoma_status an_model_score_part(const anoma_model *m, const double *x, size_t rows,
                                 double *scores, size_t first, size_t total);

/* The model's scores of rows given as a matrix x or, x NULL, a frame f,
 * in a new array (*scores, to an_free; *rows long), for a call that learns
 * from them; `fn` names that call in the errors (no rows: ANOMA_ERR_EMPTY). */
anoma_status an_model_scores_of(const anoma_model *m, const char *fn, const anoma_matrix *x,
                                const anoma_frame *f, double **scores, size_t *rows);

/* Scores of a checked input (matrix or frame): through the pipeline, a
 * part of the rows at a time when its steps are stateless. */
anoma_status an_model_score_input(const anoma_model *m, const an_input *in, double *scores);

/* A fitted model's checked input from a frame (`out`: the caller's output
 * array, refused when NULL for rows); `columns` to an_free. */
anoma_status an_model_frame_input(const anoma_model *m, const anoma_frame *f, const void *out,
                                  const char *what, an_input *in, an_input_column **columns);

/* What a call asks of one detector of a model (an_model_detector_at). */
typedef enum an_detector_use {
    AN_USE_ANY,                /* only that it exists */
    AN_USE_FEATURE_SCORES,     /* per-feature scores of a row */
    AN_USE_SCORES_BASE,        /* per-feature scores that add up to the score over a base */
    AN_USE_TRAINING_SCORES,    /* scores of its training rows, kept by the detector */
    AN_USE_EVAL_HISTORY,       /* metrics recorded on evaluation sets during fit */
    AN_USE_FEATURE_IMPORTANCE, /* per-feature importance of the fitted detector */
} an_detector_use;

/* Detector `index` of m when it can serve `use`; else the error
 * (ANOMA_ERR_INVALID_ARGUMENT for a bad index, ANOMA_ERR_UNSUPPORTED
 * naming the detector and what it lacks). */
anoma_status an_model_detector_at(const anoma_model *m, size_t index, an_detector_use use,
                                  const an_model_detector **d);

/* Detector d's per-feature scores of rows of the detectors' input:
 * rows x width values into out. */
anoma_status an_model_feature_scores_rows(const anoma_model *m, const an_model_detector *d,
                                          const double *x, size_t rows, double *out);

/* Take detector d's scratch needs into the model's (after fit or load). */
void an_model_note_scratch(anoma_model *m, const an_model_detector *d);

/* Gives detector k of m, just added, its fitted state for the model's
 * width (an_model_add_fitted); ctx is the caller's. */
typedef anoma_status (*an_model_fill_fn)(anoma_model *m, size_t k, void *ctx);
/* Add a detector fitted elsewhere, its state given by fill, as
 * anoma_model_import_detector() documents: into an empty model it is the
 * whole model, fitted now (threshold, schema, normalisation); else it
 * waits for fit. `what` names the call in errors. On error the model is
 * as it was. */
anoma_status an_model_add_fitted(anoma_model *m, const char *what, const char *detector,
                                 const char *params, size_t n_features, an_model_fill_fn fill,
                                 void *ctx);

/* ANOMA_ERR_UNSUPPORTED naming the first stateful detector, if any: their
 * scores depend on an entity's history, which only a stream has. */
anoma_status an_model_check_stateless(const anoma_model *m, const char *what);
/* ANOMA_ERR_UNSUPPORTED naming the first detector that cannot score rows
 * (its vtable's cannot_score), with its reason: for the row scorer and
 * streams, whose row paths cannot fail. */
anoma_status an_model_check_scores_rows(const anoma_model *m, const char *what);

/* Check an input matrix against the fitted model. */
anoma_status an_model_check_input(const anoma_model *m, const anoma_matrix *x, const char *what);

/* Raw scores of detector k for contiguous double rows. */
anoma_status an_model_raw_scores(const anoma_model *m, size_t k, const double *x, size_t rows,
                                 double *scores);

/* 1 when fitting must score training rows: for a contamination threshold,
 * a normalisation or members' vote thresholds (modes resolved). */
int an_model_needs_training_scores(const anoma_model *m);

/* How many training rows fit scores at most: calibration_rows when the
 * threshold or the normalisation learns from them (an_model_needs_training_scores),
 * else the smaller of probability_rows and calibration_rows, for the default
 * probability alone (0: none). Modes resolved. */
size_t an_model_calibration_limit(const anoma_model *m);

/* The training rows calibration uses: all (*picked = NULL, *n = rows) or
 * the indices of a seeded uniform sample of an_model_calibration_limit
 * rows (an_free). */
anoma_status an_model_calibration_rows(const anoma_model *m, size_t rows, size_t **picked,
                                       size_t *n);

/* The calibration rows of the training rows x (rows x cols): all of them
 * (picked NULL, n = rows) or the n rows picked. The sampled rows are
 * copied (copy, an_free) only when a detector has to score them: one with
 * training scores of its own reads them at the picked positions. */
typedef struct an_model_sample {
    const double *x;
    size_t rows, cols;
    size_t *picked;
    size_t n;
    double *copy;
} an_model_sample;

/* Detector k's scores of the calibration rows: its own training scores
 * (detector.h, training_scores) when it has them for these rows, else the
 * rows scored afresh. */
anoma_status an_model_training_raw(const anoma_model *m, size_t k, an_model_sample *cal,
                                   double *out);

/* The threshold contamination=auto gives (anoma_model_auto_threshold). */
anoma_status an_model_auto_threshold(const anoma_model *m, double *threshold);

/* Learn the ensemble (ensemble.c), the probability and the threshold from training scores
 * (raw: n_detectors arrays of rows; rows may be 0, and raw NULL arrays, when
 * an_model_needs_training_scores is 0). Reorders raw[0] when the model's
 * score is that member's own (an_ensemble_is_identity). */
anoma_status an_model_calibrate(anoma_model *m, double *const *raw, size_t rows);

size_t an_model_n_threads(const anoma_model *m);

/* The anomaly probability of a model score, in [0, 1] and non-decreasing in
 * the score (docs/model.md, "Probability"); NaN for a NaN score and when the
 * model learned no probability (anoma_model_probability says why). Reads
 * the fitted model only: safe from any thread, allocates nothing. */
double an_model_probability(const anoma_model *m, double score);

/* How sure the decision is, from the probability of its score: 0 at the
 * probability of the threshold, rising to 1 at probability 1 (for an
 * anomaly) or 0 (for a normal row), linearly on each side. */
double an_model_confidence(const anoma_model *m, double probability);

#endif

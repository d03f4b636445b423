/* The ensemble policy of a model: how each detector's (member's) raw score
 * is normalised, what each member decides on its own, and how the members'
 * scores become the model's one score (docs/model.md, "Ensembles"). What is
 * learned is learned on the calibration rows' raw scores. */
#ifndef AN_MODEL_ENSEMBLE_H
#define AN_MODEL_ENSEMBLE_H

#include "anoma/common.h"
#include "core/strbuf.h"
#include "io/bytes.h"

#include <stddef.h>

/* The order of the `normalize` and `ensemble` choices in the schema. */
typedef enum an_normalize {
    AN_NORM_AUTO,
    AN_NORM_NONE,
    AN_NORM_STANDARD, /* (s - mean) / std */
    AN_NORM_ROBUST,   /* (s - median) / IQR */
    AN_NORM_MINMAX,   /* (s - min) / (max - min) */
    AN_NORM_RANK,     /* rank among the member's calibration scores, in [0, 1] */
} an_normalize;
typedef enum an_combine {
    AN_COMBINE_MEAN,
    AN_COMBINE_MAX,
    AN_COMBINE_WMEAN, /* sum w z / sum w */
    AN_COMBINE_VOTE,  /* sum of the weights of members flagging / sum w */
} an_combine;

struct anoma_model;
struct an_model_detector;

/* Resolve normalize, ensemble and weights from the parameters (normalize
 * auto: none for one detector, standard for several), checking the weights
 * against the detectors: a count other than the detectors', a weight not
 * positive, weights with a combination that ignores them. */
anoma_status an_ensemble_resolve(struct anoma_model *m);

/* The same checks without changing the model: at fit, before any work. */
anoma_status an_ensemble_check(const struct anoma_model *m);

/* The weights text alone (its items positive numbers), for a parameter set
 * before the detectors are known. */
anoma_status an_ensemble_check_weights_text(const char *text);

/* Learn each member's normalisation and, for a vote, its own threshold, from
 * n_rows raw scores per member (raw[k]; n_rows may be 0 when nothing needs
 * them). A vote with a contamination rate needs rows; with
 * contamination=auto it takes each detector's own rule. */
anoma_status an_ensemble_learn(struct anoma_model *m, double *const *raw, size_t n_rows);

/* Member k's normalised score. */
double an_ensemble_normalized(const struct anoma_model *m, size_t k, double raw);

/* The model's score from one row's raw member scores. */
double an_ensemble_combine(const struct anoma_model *m, const double *raw);

/* 1 when the model's score is one member's raw score as it is (a single
 * detector, no normalisation, no vote): batch scoring then skips combining. */
int an_ensemble_is_identity(const struct anoma_model *m);

/* Lines of `anoma inspect` for member k. */
void an_ensemble_describe(const struct anoma_model *m, size_t k, an_strbuf *sb);

/* The ENSEMBLE section: written when it holds something the detector
 * sections do not (rank knots, vote thresholds). */
int an_ensemble_has_section(const struct anoma_model *m);
void an_ensemble_save(const struct anoma_model *m, an_writer *w);
/* Read it (data NULL: the file has none) after the detectors, and check it
 * against the parameters; modes are resolved first. */
anoma_status an_ensemble_load(struct anoma_model *m, const void *data, size_t size);

#endif

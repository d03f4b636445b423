/* The shape shared by the per-feature statistical detectors (zscore, mad,
 * iqr), written once.
 *
 * Each feature j is summarised at fit time by a "box" [lower_j, upper_j] and
 * a scale_j > 0. The feature score of a value x is
 *
 *     s_j(x) = max(lower_j - x, x - upper_j) / scale_j - fence
 *
 * (fence is 0 except for iqr, where it is Tukey's k.) For a point centre (zscore, mad) lower == upper == centre and this is
 * |x - centre| / scale exactly; for iqr the box is [Q1, Q3] and the score is
 * negative inside the fences. A row's score combines the feature scores of its
 * non-missing values ("combine": max, mean or l2, see docs/detectors/
 * statistical.md); a row with every value missing scores 0.
 *
 * A detector file supplies an an_fs_kind (how one feature is summarised) and
 * its parameter schema, and points the rest of its vtable at the an_fs_*
 * functions below. A detector with options of its own embeds an_fs_state as
 * the first member of its state and passes its size to an_fs_create. */
#ifndef AN_DETECTORS_FEATURE_STATS_H
#define AN_DETECTORS_FEATURE_STATS_H

#include "core/stats.h"
#include "detectors/detector.h"

/* How feature scores make the row score; the order of the "combine" choices. */
typedef enum an_fs_combine { AN_FS_MAX = 0, AN_FS_MEAN = 1, AN_FS_L2 = 2 } an_fs_combine;

/* The schema entry every statistical detector shares. */
#define AN_FS_COMBINE_PARAM                                                    \
    {"combine", ANOMA_PARAM_CHOICE, 0, 0, "max", "max|mean|l2",                \
     "row score from the feature scores: their max, mean, or l2 (Euclidean norm)"}

/* One feature's summary. */
typedef struct an_fs_stat {
    double lower, upper, scale;
} an_fs_stat;

typedef struct an_fs_state an_fs_state;

typedef struct an_fs_kind {
    const char *name; /* the detector's registry name, for messages */
    int box;          /* 1: lower <= upper are two statistics; 0: lower == upper */
    /* Describe labels: of lower (and upper), and a line saying what scale is. */
    const char *lower_label, *upper_label, *scale_doc;
    /* Summary of one feature from its n >= 1 non-missing values, which it
     * may reorder and overwrite. A zero scale is replaced by 1 afterwards,
     * and a non-finite result is reported as an overflow. */
    an_fs_stat (*fit_feature)(const an_fs_state *s, double *values, size_t n);
    /* Optional extra describe line(s) for the kind's own parameters. */
    void (*describe_extra)(const an_fs_state *s, an_strbuf *out);
} an_fs_kind;

struct an_fs_state {
    const an_fs_kind *kind;
    size_t state_size;    /* bytes of the whole (possibly derived) state */
    an_fs_combine combine;
    double fence;         /* subtracted from every feature score; set by create */
    size_t n_features;    /* 0 until fitted or loaded */
    /* One allocation of (box ? 3 : 2) * n_features doubles; for a point
     * centre upper == lower (the same array). */
    double *lower, *upper, *scale;
};

/* New unfitted state of state_size >= sizeof(an_fs_state) zeroed bytes,
 * reading "combine" from params. */
/* contamination=auto for a statistical detector: `value`, its rule on a
 * feature score (such as three sigma), holds for a row score combined by
 * max, and by l2 too when l2_keeps_sign (iqr: l2 is positive exactly when
 * max is); any other combine is ANOMA_ERR_PARAM_VALUE saying so. */
anoma_status an_fs_auto_threshold(const an_params *params, const char *detector, double value,
                                  const char *rule, int l2_keeps_sign, double *threshold);

anoma_status an_fs_create(const an_fs_kind *kind, size_t state_size, const an_params *params,
                          void **state);

/* The vtable entries the statistical detectors share; each detector's
 * vtable lists its name, summary, parameters and create, then these. */
#define AN_FS_SHARED_ENTRIES                                                   \
    .flags = ANOMA_FLAG_FEATURE_SCORES, .payload_version = 1, .destroy = an_fs_destroy,    \
    .fit = an_fs_fit, .score_row = an_fs_score_row,                                       \
    .feature_scores_row = an_fs_feature_scores_row, .save = an_fs_save, .load = an_fs_load, \
    .memory_bytes = an_fs_memory_bytes, .describe = an_fs_describe

void an_fs_destroy(void *state);
anoma_status an_fs_fit(void *state, const an_fit_data *data);
void an_fs_score_row(const void *state, const double *row, void *scratch, double *score);
void an_fs_feature_scores_row(const void *state, const double *row, void *scratch,
                              double *out);
anoma_status an_fs_save(const void *state, an_writer *w);
anoma_status an_fs_load(void *state, an_reader *r, size_t n_features, uint32_t version);
size_t an_fs_memory_bytes(const void *state);
void an_fs_describe(const void *state, an_strbuf *out);

#endif

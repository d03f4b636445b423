/* iqr: Tukey's box, as a score.
 *
 * Per feature j, over its non-missing (non-NaN) training values:
 *   Q1_j, Q3_j = the 25th and 75th percentiles (numpy.percentile, default
 *                'linear' interpolation),
 *   scale_j    = IQR_j = Q3_j - Q1_j, replaced by 1 when zero.
 * Feature score max(Q1_j - x_j, x_j - Q3_j) / scale_j: the distance outside
 * the box in IQRs, negative inside it (down to -1/2 at the box's middle), so
 * rows inside still rank by how deep inside they are. A value lies outside
 * Tukey's fences [Q1 - k IQR, Q3 + k IQR] exactly when its score is > k; the
 * parameter "k" is reported by describe and does not change the scores. The
 * row score combines them ("combine", see feature_stats.h). Shape, fit, save
 * and load: feature_stats.c.
 *
 * A feature with no non-missing value is a fit error (ANOMA_ERR_EMPTY,
 * naming the column). Labels and sample weights are ignored. Row score:
 * "combine" = max | mean | l2 of the non-missing feature scores; 0 when
 * every value is missing. Definitions: docs/detectors/statistical.md. */
#include "detectors/feature_stats.h"
#include "core/error.h"

typedef struct iqr_state {
    an_fs_state base; /* first: the shared functions see this */
    double k;
} iqr_state;

static an_fs_stat iqr_feature(const an_fs_state *s, double *v, size_t n)
{
    (void)s;
    double q1 = an_quantile(v, n, 0.25), q3 = an_quantile(v, n, 0.75);
    return (an_fs_stat){q1, q3, q3 - q1};
}

static void iqr_describe(const an_fs_state *s, an_strbuf *out)
{
    double k = ((const iqr_state *)s)->k;
    an_strbuf_printf(out, "  feature score: max(Q1 - x, x - Q3) / scale; outside the fences "
                          "Q1 - %g IQR, Q3 + %g IQR exactly when > %g\n", k, k, k);
}

static const an_fs_kind iqr_kind = {
    .name = "iqr",
    .box = 1,
    .lower_label = "Q1",
    .upper_label = "Q3",
    .scale_doc = "interquartile range Q3 - Q1 (1 where it is zero)",
    .fit_feature = iqr_feature,
    .describe_extra = iqr_describe,
};

static const anoma_param_info iqr_params[] = {
    {"k", ANOMA_PARAM_DOUBLE, 0, 100, "1.5", "",
     "Tukey fence multiplier, for describe: a value is outside the fences when its score > k"},
    AN_FS_COMBINE_PARAM,
};

static anoma_status iqr_create(const an_params *params, void **state)
{
    AN_TRY(an_fs_create(&iqr_kind, sizeof(iqr_state), params, state));
    ((iqr_state *)*state)->k = an_params_double(params, "k");
    return ANOMA_OK;
}

const an_detector_vtable an_iqr_detector = {
    .name = "iqr",
    .summary = "distance outside each feature's interquartile box in IQRs (Tukey's fences, "
               "unsupervised)",
    .params = iqr_params,
    .n_params = sizeof iqr_params / sizeof *iqr_params,
    .create = iqr_create,
    AN_FS_SHARED_ENTRIES,
};

/* iqr: Tukey's fences, as a score.
 *
 * Per feature j, over its non-missing (non-NaN) training values:
 *   Q1_j, Q3_j = the 25th and 75th percentiles (numpy.percentile, default
 *                'linear' interpolation),
 *   scale_j    = IQR_j = Q3_j - Q1_j, replaced by 1 when zero.
 * Feature score max(Q1_j - x_j, x_j - Q3_j) / scale_j - k: the distance
 * outside Tukey's fences [Q1 - k scale, Q3 + k scale] in scales (IQRs where
 * the IQR is not zero), so a value lies
 * outside the fences exactly when its score is > 0, and "k" (the fence
 * factor) moves where that happens. Inside the fences the score is negative
 * (down to -(k + 1/2) at the box's middle), so rows inside still rank by how
 * deep inside they are. The row score combines them ("combine", see
 * feature_stats.h). Shape, fit, save and load: feature_stats.c.
 *
 * A feature with no non-missing value is a fit error (ANOMA_ERR_EMPTY,
 * naming the column). Labels and sample weights are ignored. Row score:
 * "combine" = max | mean | l2 of the non-missing feature scores; 0 when
 * every value is missing. Definitions: docs/detectors/statistical.md. */
#include "detectors/feature_stats.h"
#include "core/error.h"

static an_fs_stat iqr_feature(const an_fs_state *s, double *v, size_t n)
{
    (void)s;
    double q1 = an_quantile(v, n, 0.25), q3 = an_quantile(v, n, 0.75);
    return (an_fs_stat){q1, q3, q3 - q1};
}

static void iqr_describe(const an_fs_state *s, an_strbuf *out)
{
    double k = s->fence;
    an_strbuf_printf(out, "  feature score: max(Q1 - x, x - Q3) / scale - %g; outside the fences "
                          "Q1 - %g IQR, Q3 + %g IQR exactly when > 0\n", k, k, k);
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
     "Tukey's fence factor: feature scores are measured from the fences Q1 - k IQR and "
     "Q3 + k IQR, positive outside them"},
    AN_FS_COMBINE_PARAM,
};

static anoma_status iqr_create(const an_params *params, void **state)
{
    AN_TRY(an_fs_create(&iqr_kind, sizeof(an_fs_state), params, state));
    ((an_fs_state *)*state)->fence = an_params_double(params, "k");
    return ANOMA_OK;
}

/* Tukey's rule: a value outside the fences, where the score crosses 0
 * whatever k is (k moves the fences, not the threshold). */
static anoma_status iqr_auto_threshold(const an_params *params, double *threshold)
{
    return an_fs_auto_threshold(params, "iqr", 0, "Tukey's fences", 1, threshold);
}

const an_detector_vtable an_iqr_detector = {
    .name = "iqr",
    .summary = "distance outside each feature's interquartile box in IQRs (Tukey's fences, "
               "unsupervised)",
    .params = iqr_params,
    .n_params = sizeof iqr_params / sizeof *iqr_params,
    .create = iqr_create,
    .auto_threshold = iqr_auto_threshold,
    AN_FS_SHARED_ENTRIES,
};

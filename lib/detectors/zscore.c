/* zscore: distance from the mean in standard deviations.
 *
 * Per feature j, over its non-missing (non-NaN) training values:
 *   centre_j = mean (numpy.mean),
 *   scale_j  = standard deviation with "ddof" (numpy.std(x, ddof=ddof)); a
 *              zero scale is replaced by 1, as scikit-learn's StandardScaler
 *              does. A constant feature has centre = its value exactly and
 *              scale 1 (numpy would give a spurious ~1e-17 deviation from
 *              rounding the mean), and so does a feature with n <= ddof values.
 * Feature score |x_j - centre_j| / scale_j; the row score combines them
 * ("combine", see feature_stats.h). Shape, fit, save and load: feature_stats.c.
 *
 * A feature with no non-missing value is a fit error (ANOMA_ERR_EMPTY,
 * naming the column). Labels and sample weights are ignored. Row score:
 * "combine" = max | mean | l2 of the non-missing feature scores; 0 when
 * every value is missing. Definitions: docs/detectors/statistical.md. */
#include "detectors/feature_stats.h"
#include "core/error.h"

#include <math.h>

typedef struct zscore_state {
    an_fs_state base; /* first: the shared functions see this */
    int ddof;
} zscore_state;

static an_fs_stat zscore_feature(const an_fs_state *s, double *v, size_t n)
{
    int ddof = ((const zscore_state *)s)->ddof;
    double lo = v[0], hi = v[0];
    for (size_t i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    if (lo == hi || n <= (size_t)ddof)
        return (an_fs_stat){lo, lo, 0};
    /* numpy.std: mean, squared deviations, pairwise sums, divide, sqrt. */
    double mean = an_mean(v, n);
    for (size_t i = 0; i < n; i++) {
        double d = v[i] - mean;
        v[i] = d * d;
    }
    double var = an_sum(v, n) / (double)(n - (size_t)ddof);
    return (an_fs_stat){mean, mean, sqrt(var)};
}

static void zscore_describe(const an_fs_state *s, an_strbuf *out)
{
    (void)s;
    an_strbuf_printf(out, "  feature score: |x - mean| / scale\n");
}

static const an_fs_kind zscore_kind = {
    .name = "zscore",
    .box = 0,
    .lower_label = "mean",
    .scale_doc = "standard deviation (1 where it is zero)",
    .fit_feature = zscore_feature,
    .describe_extra = zscore_describe,
};

static const anoma_param_info zscore_params[] = {
    {"ddof", ANOMA_PARAM_INT, 0, 1, "0", "",
     "delta degrees of freedom of the standard deviation: 0 as numpy.std, 1 for the sample one"},
    AN_FS_COMBINE_PARAM,
};

static anoma_status zscore_create(const an_params *params, void **state)
{
    AN_TRY(an_fs_create(&zscore_kind, sizeof(zscore_state), params, state));
    ((zscore_state *)*state)->ddof = (int)an_params_int(params, "ddof");
    return ANOMA_OK;
}

/* The three-sigma rule. */
static anoma_status zscore_auto_threshold(const an_params *params, double *threshold)
{
    return an_fs_auto_threshold(params, "zscore", 3, "three sigma", 0, threshold);
}

const an_detector_vtable an_zscore_detector = {
    .name = "zscore",
    .summary = "distance from each feature's mean in standard deviations (unsupervised)",
    .params = zscore_params,
    .n_params = sizeof zscore_params / sizeof *zscore_params,
    .create = zscore_create,
    .auto_threshold = zscore_auto_threshold,
    AN_FS_SHARED_ENTRIES,
};

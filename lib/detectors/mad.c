/* mad: distance from the median in robust standard deviations.
 *
 * Per feature j, over its non-missing (non-NaN) training values:
 *   centre_j = median (numpy.median),
 *   scale_j  = MAD / 0.6744897501960817 = 1.482602218505602 * MAD, where
 *              MAD = median(|x_j - centre_j|): the median absolute deviation
 *              scaled to estimate the standard deviation of normal data, as
 *              scipy.stats.median_abs_deviation(x, scale='normal');
 *              if that is zero (more than half the values equal the median),
 *              1.2533141373155001 * mean(|x_j - centre_j|), the mean absolute
 *              deviation scaled the same way (sqrt(pi / 2)); if that is also
 *              zero (a constant feature), 1.
 * Feature score |x_j - centre_j| / scale_j; the row score combines them
 * ("combine", see feature_stats.h). Shape, fit, save and load: feature_stats.c.
 *
 * A feature with no non-missing value is a fit error (ANOMA_ERR_EMPTY,
 * naming the column). Labels and sample weights are ignored. Row score:
 * "combine" = max | mean | l2 of the non-missing feature scores; 0 when
 * every value is missing. Definitions: docs/detectors/statistical.md. */
#include "detectors/feature_stats.h"

#include <math.h>

/* scipy's constant: the 0.75 quantile of the standard normal, ndtri(0.75). */
#define AN_NORMAL_Q3 0.6744897501960817
/* E|Z| = sqrt(2 / pi) for a standard normal Z: its inverse. */
#define AN_MEAN_ABS_DEV_SCALE 1.2533141373155001

static an_fs_stat mad_feature(const an_fs_state *s, double *v, size_t n)
{
    (void)s;
    double median = an_median(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = fabs(v[i] - median);
    double scale = an_median(v, n) / AN_NORMAL_Q3; /* scipy divides */
    if (scale == 0)
        scale = AN_MEAN_ABS_DEV_SCALE * an_mean(v, n);
    return (an_fs_stat){median, median, scale};
}

static void mad_describe(const an_fs_state *s, an_strbuf *out)
{
    (void)s;
    an_strbuf_printf(out, "  feature score: |x - median| / scale\n");
}

static const an_fs_kind mad_kind = {
    .name = "mad",
    .box = 0,
    .lower_label = "median",
    .scale_doc = "1.4826 * median absolute deviation; where zero, 1.2533 * mean absolute "
                 "deviation; where that is zero, 1",
    .fit_feature = mad_feature,
    .describe_extra = mad_describe,
};

static const anoma_param_info mad_params[] = {
    AN_FS_COMBINE_PARAM,
};

static anoma_status mad_create(const an_params *params, void **state)
{
    return an_fs_create(&mad_kind, sizeof(an_fs_state), params, state);
}

/* Iglewicz and Hoaglin's cut-off for the modified z-score, which is this
 * feature score: 0.6745 |x - median| / MAD. */
static anoma_status mad_auto_threshold(const an_params *params, double *threshold)
{
    return an_fs_auto_threshold(params, "mad", 3.5, "Iglewicz and Hoaglin's modified z-score",
                                0, threshold);
}

const an_detector_vtable an_mad_detector = {
    .name = "mad",
    .summary = "distance from each feature's median in scaled median absolute deviations "
               "(robust z-score, unsupervised)",
    .params = mad_params,
    .n_params = sizeof mad_params / sizeof *mad_params,
    .create = mad_create,
    .auto_threshold = mad_auto_threshold,
    AN_FS_SHARED_ENTRIES,
};

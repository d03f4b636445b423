/* Feature importance as XGBoost's `Booster.get_score(importance_type=...)`
 * defines it, over every split of every tree:
 *
 *   weight       the number of splits on the feature
 *   total_gain   the sum of their loss changes
 *   total_cover  the sum of their covers (hessian sums)
 *   gain, cover  total_gain and total_cover divided by weight
 *
 * A feature never split on has 0 for every kind (get_score leaves it out).
 * XGBoost sums in float32; we sum in double, so the values agree to
 * float32 rounding (~1e-6 relative). */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

const char *const an_gbt_importance_names[AN_GBT_N_IMPORTANCE] = {
    "weight", "gain", "cover", "total_gain", "total_cover"};

anoma_status an_gbt_importance_kind(const char *name, an_gbt_importance *kind)
{
    for (int k = 0; name && k < AN_GBT_N_IMPORTANCE; k++)
        if (!strcmp(name, an_gbt_importance_names[k])) {
            *kind = (an_gbt_importance)k;
            return ANOMA_OK;
        }
    return an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: importance kind '%s': expected weight, "
                    "gain, cover, total_gain or total_cover", name ? name : "(null)");
}

anoma_status an_gbt_importance_of(const an_gbt_forest *f, an_gbt_importance kind, double *out)
{
    size_t d = f->n_features;
    int average = kind == AN_GBT_GAIN || kind == AN_GBT_COVER;
    double *count = average ? AN_NEW_ZEROED(double, d) : NULL;
    if (average && !count)
        return an_no_memory();
    const double *stat = kind == AN_GBT_WEIGHT                           ? NULL
                         : kind == AN_GBT_GAIN || kind == AN_GBT_TOTAL_GAIN ? f->gain
                                                                            : f->cover;
    memset(out, 0, d * sizeof *out);
    for (size_t i = 0; i < f->n_nodes; i++) {
        uint32_t info = f->nodes[i].info;
        if (info & AN_GBT_LEAF)
            continue;
        size_t j = info & AN_GBT_FEATURE_MASK;
        out[j] += stat ? stat[i] : 1;
        if (count)
            count[j]++;
    }
    for (size_t j = 0; count && j < d; j++)
        out[j] = count[j] > 0 ? out[j] / count[j] : 0;
    an_free(count);
    return ANOMA_OK;
}

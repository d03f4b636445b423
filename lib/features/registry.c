/* The table of pipeline steps. Adding a step adds one line here. */
#include "features/step.h"

#include <string.h>

extern const an_step_vtable an_select_step;
extern const an_step_vtable an_standard_scaler_step;
extern const an_step_vtable an_one_hot_step;
extern const an_step_vtable an_minmax_scaler_step;
extern const an_step_vtable an_robust_scaler_step;
extern const an_step_vtable an_maxabs_scaler_step;
extern const an_step_vtable an_normalizer_step;
extern const an_step_vtable an_imputer_step;
extern const an_step_vtable an_missing_indicator_step;
extern const an_step_vtable an_ordinal_step;
extern const an_step_vtable an_frequency_step;
extern const an_step_vtable an_ratio_step;
extern const an_step_vtable an_window_step;
extern const an_step_vtable an_time_features_step;
extern const an_step_vtable an_pca_step;

static const an_step_vtable *const steps[] = {
    &an_select_step,
    &an_standard_scaler_step,
    &an_one_hot_step,
    &an_minmax_scaler_step,
    &an_robust_scaler_step,
    &an_maxabs_scaler_step,
    &an_normalizer_step,
    &an_imputer_step,
    &an_missing_indicator_step,
    &an_ordinal_step,
    &an_frequency_step,
    &an_ratio_step,
    &an_window_step,
    &an_time_features_step,
    &an_pca_step,
};

const an_step_vtable *an_step_at(size_t index)
{
    return index < sizeof steps / sizeof *steps ? steps[index] : NULL;
}

const an_step_vtable *an_step_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; an_step_at(i); i++)
        if (!strcmp(steps[i]->name, name))
            return steps[i];
    return NULL;
}

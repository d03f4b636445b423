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

static const an_step_vtable *const steps[] = {
    &an_select_step,
    &an_standard_scaler_step,
    &an_one_hot_step,
    &an_minmax_scaler_step,
    &an_robust_scaler_step,
    &an_maxabs_scaler_step,
    &an_normalizer_step,
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

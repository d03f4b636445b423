/* The model's parameter schema and the component listing of params.h. */
#include "anoma/params.h"
#include "core/error.h"
#include "detectors/detector.h"
#include "features/step.h"
#include "model/model.h"

#include <float.h>
#include <string.h>

const anoma_param_info an_model_schema[] = {
    {"contamination", ANOMA_PARAM_DOUBLE, 0, 0.5, "0.1", "auto",
     "expected fraction of anomalies: the threshold is the (1 - contamination) quantile of the "
     "training scores; auto = the detectors' own rule (iforest 0.5, zscore 3, mad 3.5, iqr 0); "
     "not with threshold"},
    {"threshold", ANOMA_PARAM_DOUBLE, -DBL_MAX, DBL_MAX, "auto", "auto",
     "fixed decision threshold (a row is an anomaly when its score is above it); auto = from "
     "contamination; not with a contamination other than its default"},
    {"ensemble", ANOMA_PARAM_CHOICE, 0, 0, "mean", "mean|max|wmean|vote",
     "how the detectors' normalised scores become one: their mean, max, weighted mean (weights), "
     "or vote: the weighted share of detectors whose raw score is above their own threshold "
     "(learned from contamination), an anomaly above 0.5 with threshold=auto"},
    {"normalize", ANOMA_PARAM_CHOICE, 0, 0, "auto", "auto|none|standard|robust|minmax|rank",
     "how each detector's scores are scaled before combining, learned on the calibration rows: "
     "standard (mean, std), robust (median, interquartile range), minmax, rank (share of "
     "training scores below, in [0, 1]); auto: none for one detector, standard for several"},
    {"weights", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "one positive weight per detector, comma-separated in the order they were added (2,1), "
     "for ensemble=wmean or vote; default: 1 each"},
    {"calibration_rows", ANOMA_PARAM_INT, 1, 9007199254740992.0, "100000", "",
     "the contamination threshold and the normalisation are learned on at most this many "
     "training rows, a seeded uniform sample (all rows when there are fewer)"},
    {"probability_rows", ANOMA_PARAM_INT, 0, 9007199254740992.0, "10000", "",
     "when nothing else learns from training scores (a fixed threshold or contamination=auto, "
     "one detector), the default probability is learned on at most this many training rows "
     "(and at most calibration_rows), a seeded uniform sample; 0 = learn no probability then"},
    {"calibration_seed", ANOMA_PARAM_INT, 0, 9223372036854775807.0, "0", "",
     "seed of the calibration sample: one seed, one sample, whatever the thread count"},
    {"n_threads", ANOMA_PARAM_INT, 0, 1024, "0", "",
     "run-time option, not saved: threads for fitting and batch scoring (0 = all cores); "
     "results do not depend on it"},
};
const size_t an_model_schema_size = sizeof an_model_schema / sizeof *an_model_schema;

const char *anoma_component_name(anoma_component_kind kind, size_t index)
{
    switch (kind) {
    case ANOMA_KIND_MODEL:
        return index == 0 ? "model" : NULL;
    case ANOMA_KIND_DETECTOR: {
        const an_detector_vtable *vt = an_detector_at(index);
        return vt ? vt->name : NULL;
    }
    case ANOMA_KIND_STEP: {
        const an_step_vtable *vt = an_step_at(index);
        return vt ? vt->name : NULL;
    }
    }
    return NULL;
}

const char *anoma_component_summary(anoma_component_kind kind, const char *name)
{
    if (!name)
        return NULL;
    if (kind == ANOMA_KIND_MODEL && !strcmp(name, "model"))
        return "a feature pipeline, detectors, score combination and threshold";
    if (kind == ANOMA_KIND_DETECTOR) {
        const an_detector_vtable *vt = an_detector_find(name);
        return vt ? vt->summary : NULL;
    }
    if (kind == ANOMA_KIND_STEP) {
        const an_step_vtable *vt = an_step_find(name);
        return vt ? vt->summary : NULL;
    }
    return NULL;
}

anoma_status anoma_component_flags(anoma_component_kind kind, const char *name, unsigned *flags)
{
    if (!name || !flags)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_component_flags: NULL argument");
    const an_detector_vtable *vt = kind == ANOMA_KIND_DETECTOR ? an_detector_find(name) : NULL;
    const an_step_vtable *step = kind == ANOMA_KIND_STEP ? an_step_find(name) : NULL;
    if (vt)
        *flags = vt->flags;
    else if (step) /* of the public flags, a step can only be stateful */
        *flags = step->flags & ANOMA_FLAG_STATEFUL;
    else if (kind == ANOMA_KIND_MODEL && !strcmp(name, "model"))
        *flags = 0;
    else
        return an_error(ANOMA_ERR_UNKNOWN_NAME, "no component '%s' of this kind", name);
    return ANOMA_OK;
}

anoma_status anoma_component_param(anoma_component_kind kind, const char *name, size_t index,
                                   anoma_param_info *out)
{
    const anoma_param_info *schema = NULL;
    size_t n = 0;
    if (!name || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_component_param: NULL argument");
    if (kind == ANOMA_KIND_MODEL && !strcmp(name, "model")) {
        schema = an_model_schema;
        n = an_model_schema_size;
    } else if (kind == ANOMA_KIND_DETECTOR && an_detector_find(name)) {
        schema = an_detector_find(name)->params;
        n = an_detector_find(name)->n_params;
    } else if (kind == ANOMA_KIND_STEP && an_step_find(name)) {
        schema = an_step_find(name)->params;
        n = an_step_find(name)->n_params;
    } else {
        return an_error(ANOMA_ERR_UNKNOWN_NAME, "no component '%s' of this kind", name);
    }
    if (index >= n)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s has %zu parameters", name, n);
    *out = schema[index];
    return ANOMA_OK;
}

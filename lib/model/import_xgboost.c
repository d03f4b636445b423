/* anoma_model_import_xgboost: an XGBoost JSON model as a "gbt" detector.
 *
 * The JSON becomes a forest (lib/detectors/gbt/xgboost_json.c), the forest
 * its payload, and the payload goes through anoma_model_import_detector:
 * one way into a model for every imported detector, with its checks and
 * its rules for empty and non-empty models. */
#include "anoma/model.h"
#include "core/error.h"
#include "detectors/gbt/gbt.h"

anoma_status anoma_model_import_xgboost(anoma_model *model, const char *json, size_t size)
{
    if (!model || !json)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "import_xgboost: NULL argument");
    an_gbt_forest f;
    AN_TRY(an_gbt_from_xgboost_json(json, size, &f));
    an_writer w = {0};
    anoma_status st = an_gbt_save(&f, &w);
    if (st == ANOMA_OK)
        st = anoma_model_import_detector(model, "gbt", NULL, w.data, w.len, f.n_features);
    an_writer_free(&w);
    an_gbt_forest_free(&f);
    return st;
}

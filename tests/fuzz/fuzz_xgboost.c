/* libFuzzer target: the XGBoost JSON import must reject or accept any bytes
 * without crashing, leaking or reading out of bounds; a model it accepts
 * must score a row (with a missing value) and save. */
#include "anoma/anoma.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    anoma_model *m = NULL;
    if (anoma_model_create("contamination=auto", &m) != ANOMA_OK)
        return 0;
    if (anoma_model_import_xgboost(m, (const char *)data, size) == ANOMA_OK) {
        size_t cols = anoma_model_n_features(m);
        if (cols > 0 && cols <= 4096) {
            double *row = calloc(cols, sizeof(double));
            if (row) {
                row[0] = NAN;
                anoma_matrix x = anoma_matrix_f64(row, 1, cols);
                double score;
                anoma_model_score(m, &x, &score);
                free(row);
            }
        }
        size_t saved = 0;
        anoma_model_save_memory(m, NULL, 0, &saved);
    }
    anoma_model_free(m);
    return 0;
}

/* libFuzzer target: the model reader must reject or accept any bytes
 * without crashing, leaking or reading out of bounds; a model it accepts
 * must score (members and probability too) and save. */
#include "anoma/anoma.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    anoma_model *m = NULL;
    if (anoma_model_load_memory(data, size, &m) != ANOMA_OK)
        return 0;
    size_t cols = anoma_model_n_features(m);
    if (cols > 0 && cols <= 4096) {
        double *rows = calloc(cols * 2, sizeof(double));
        double scores[2];
        if (rows) {
            rows[0] = 1e300;
            anoma_matrix x = anoma_matrix_f64(rows, 2, cols);
            anoma_model_score(m, &x, scores);
            double p[2], c[2];
            anoma_model_probability(m, &x, p, c);
            size_t members = anoma_model_n_detectors(m);
            double *raw = calloc(members * 4, sizeof(double));
            if (raw)
                anoma_model_member_scores(m, &x, raw, raw + 2 * members);
            free(raw);
            /* a sequence detector runs its network on the rows as a series */
            for (size_t k = 0; k < members; k++)
                anoma_model_series_scores(m, k, &x, scores);
            anoma_row_scorer *s = NULL;
            if (anoma_row_scorer_create(m, &s) == ANOMA_OK) {
                double score;
                anoma_row_scorer_score(s, rows, cols, &score, NULL);
                anoma_row_scorer_free(s);
            }
            free(rows);
        }
    }
    size_t saved = 0;
    anoma_model_save_memory(m, NULL, 0, &saved);
    anoma_model_free(m);
    return 0;
}

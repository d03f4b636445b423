#include "exercise_model.h"

#include <stdlib.h>
#include <string.h>

static void score_rows(const anoma_model *m)
{
    size_t cols = anoma_model_n_features(m);
    if (cols == 0 || cols > 4096)
        return;
    double *rows = calloc(cols * 2, sizeof(double));
    size_t members = anoma_model_n_detectors(m);
    double *member = calloc(members * 4 + cols * 2, sizeof(double));
    if (rows && member) {
        rows[0] = 1e300; /* one extreme value, one row of zeros */
        anoma_matrix x = anoma_matrix_f64(rows, 2, cols);
        double scores[2], p[2], c[2];
        anoma_model_score(m, &x, scores);
        anoma_model_probability(m, &x, p, c);
        anoma_model_member_scores(m, &x, member, member + 2 * members);
        for (size_t d = 0; d < members && d < 4; d++)
            anoma_model_feature_scores(m, d, &x, member + 4 * members);
        /* a sequence detector runs its network on the rows as a series */
        for (size_t d = 0; d < members && d < 4; d++)
            anoma_model_series_scores(m, d, &x, scores);
        anoma_row_scorer *s = NULL;
        if (anoma_row_scorer_create(m, &s) == ANOMA_OK) {
            double score;
            anoma_row_scorer_score(s, rows, cols, &score, NULL);
            anoma_row_scorer_free(s);
        }
    }
    free(member);
    free(rows);
}

/* The saved bytes of m in a malloc'd buffer (NULL when saving fails). */
static unsigned char *save(const anoma_model *m, size_t *size)
{
    *size = 0;
    if (anoma_model_save_memory(m, NULL, 0, size) != ANOMA_OK || *size == 0)
        return NULL;
    unsigned char *buf = malloc(*size);
    if (buf && anoma_model_save_memory(m, buf, *size, size) != ANOMA_OK) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

void fuzz_exercise_model(const anoma_model *m)
{
    char text[256];
    size_t needed;
    anoma_model_describe(m, text, sizeof text, &needed);
    score_rows(m);

    size_t first_size, second_size;
    unsigned char *first = save(m, &first_size);
    if (!first)
        return;
    anoma_model *again = NULL;
    if (anoma_model_load_memory(first, first_size, &again) != ANOMA_OK)
        abort(); /* the library refused a file it wrote itself */
    unsigned char *second = save(again, &second_size);
    if (!second || second_size != first_size || memcmp(first, second, first_size) != 0)
        abort(); /* a reload did not keep the model */
    free(second);
    anoma_model_free(again);
    free(first);
}

/* The smallest complete use of libanoma: fit, score, save, load, score again. */
#include <anoma/anoma.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "basic.anoma";
    double x[] = {1.0, 2.0, 1.1, 2.1, 0.9, 1.9, 1.0, 2.2, 9.0, -4.0}; /* 5 rows, 2 features */
    anoma_matrix view = anoma_matrix_f64(x, 5, 2);
    double before[5], after[5];
    anoma_model *model = NULL, *loaded = NULL;

    if (anoma_model_create("contamination=0.2", &model) != ANOMA_OK ||
        anoma_model_add_detector(model, "zscore", NULL, NULL) != ANOMA_OK ||
        anoma_model_fit(model, &view, NULL, NULL) != ANOMA_OK ||
        anoma_model_score(model, &view, before) != ANOMA_OK ||
        anoma_model_save(model, path) != ANOMA_OK ||
        anoma_model_load(path, &loaded) != ANOMA_OK ||
        anoma_model_score(loaded, &view, after) != ANOMA_OK) {
        fprintf(stderr, "basic: %s\n", anoma_last_error());
        anoma_model_free(model);
        anoma_model_free(loaded);
        return 1;
    }
    int same = 1;
    for (int i = 0; i < 5; i++) {
        printf("row %d: score %.4f\n", i, after[i]); /* higher = more anomalous */
        same &= before[i] == after[i];
    }
    anoma_model_free(model);
    anoma_model_free(loaded);
    return same ? 0 : 1; /* a loaded model scores exactly as the one saved */
}

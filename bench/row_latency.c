/* row_latency: the single-row latency of a saved model, measured in C so
 * that no interpreter overhead is counted. Built and run by bench/run.
 *
 * usage: row_latency MODEL DATA.f64 ROWS COLS CALLS REPEATS [SCORES.f64]
 *
 * DATA.f64 holds ROWS x COLS doubles, row-major, native byte order (numpy's
 * tofile()). Each repeat scores CALLS rows one at a time with
 * anoma_row_scorer_score, cycling through the data; the best repeat is
 * printed as "NS_PER_ROW CHECKSUM". SCORES.f64, when given, receives each
 * row's score once (for the agreement check). */
#include "latency.h"

#include <stdlib.h>

static anoma_status score_row(anoma_row_scorer *scorer, const void *row, size_t n,
                              double *score)
{
    int flag;
    anoma_status st = anoma_row_scorer_score(scorer, row, n, score, &flag);
    *score += flag;
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fputs("usage: row_latency MODEL DATA.f64 ROWS COLS CALLS REPEATS [SCORES.f64]\n", stderr);
        return 2;
    }
    size_t rows = strtoull(argv[3], NULL, 10), cols = strtoull(argv[4], NULL, 10);
    long calls = atol(argv[5]), repeats = atol(argv[6]);
    double *x = malloc(rows * cols * sizeof *x), *scores = malloc(rows * sizeof *scores);
    FILE *f = fopen(argv[2], "rb");
    if (!x || !scores || !f || rows == 0 || calls <= 0 || repeats <= 0 ||
        fread(x, sizeof *x, rows * cols, f) != rows * cols) {
        fprintf(stderr, "row_latency: cannot read %zu x %zu doubles from %s\n", rows, cols, argv[2]);
        return 1;
    }
    fclose(f);

    anoma_model *model;
    anoma_row_scorer *scorer;
    if (anoma_model_load(argv[1], &model) != ANOMA_OK)
        return latency_fail("row_latency", argv[1]);
    if (anoma_row_scorer_create(model, &scorer) != ANOMA_OK)
        return latency_fail("row_latency", "row scorer");
    int flag;
    for (size_t i = 0; i < rows; i++) /* one pass: scores for the check, and a warm-up */
        if (anoma_row_scorer_score(scorer, x + i * cols, cols, &scores[i], &flag) != ANOMA_OK)
            return latency_fail("row_latency", "score");

    if (latency_report("row_latency", scorer, x, rows, cols, sizeof *x, calls, repeats, score_row))
        return 1;

    if (argc > 7) {
        FILE *out = fopen(argv[7], "wb");
        if (!out || fwrite(scores, sizeof *scores, rows, out) != rows || fclose(out) != 0) {
            fprintf(stderr, "row_latency: cannot write %s\n", argv[7]);
            return 1;
        }
    }
    anoma_row_scorer_free(scorer);
    anoma_model_free(model);
    free(x);
    free(scores);
    return 0;
}

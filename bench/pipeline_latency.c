/* pipeline_latency: the single-row latency of a saved model with typed
 * inputs, through anoma_row_scorer_score_values, in C so that no
 * interpreter overhead is counted. Run by bench/pipeline.py.
 *
 * usage: pipeline_latency MODEL DATA.csv CSV_OPTIONS CALLS REPEATS
 *
 * DATA.csv is read with anoma_csv_read (CSV_OPTIONS such as
 * "types=ts:timestamp"); its columns are matched to the model's inputs by
 * name. Each repeat scores CALLS rows one at a time, cycling through the
 * data; the best repeat is printed as "NS_PER_ROW CHECKSUM". */
#define _POSIX_C_SOURCE 199309L
#include <anoma/anoma.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what)
{
    fprintf(stderr, "pipeline_latency: %s: %s\n", what, anoma_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fputs("usage: pipeline_latency MODEL DATA.csv CSV_OPTIONS CALLS REPEATS\n", stderr);
        return 2;
    }
    long calls = atol(argv[4]), repeats = atol(argv[5]);
    anoma_model *model;
    anoma_frame *frame;
    if (anoma_model_load(argv[1], &model) != ANOMA_OK)
        return fail(argv[1]);
    if (anoma_csv_read(argv[2], argv[3], &frame) != ANOMA_OK)
        return fail(argv[2]);
    size_t n = anoma_model_n_features(model), rows = anoma_frame_rows(frame);
    anoma_value *values = malloc(rows * n * sizeof *values);
    if (!values || rows == 0 || calls <= 0 || repeats <= 0)
        return 2;
    /* the rows as typed values, in the model's input order */
    for (size_t j = 0; j < n; j++) {
        size_t index;
        anoma_column_type type;
        const void *column;
        if (anoma_frame_find_column(frame, anoma_model_input_name(model, j), &index) != ANOMA_OK ||
            anoma_frame_column(frame, index, &type, &column) != ANOMA_OK)
            return fail(anoma_model_input_name(model, j));
        for (size_t i = 0; i < rows; i++) {
            anoma_value *v = &values[i * n + j];
            if (type == ANOMA_COL_STRING)
                v->text = ((const char *const *)column)[i];
            else if (type == ANOMA_COL_TIMESTAMP)
                v->timestamp = ((const int64_t *)column)[i];
            else if (type == ANOMA_COL_INT64)
                v->number = (double)((const int64_t *)column)[i];
            else
                v->number = ((const double *)column)[i];
        }
    }
    anoma_row_scorer *scorer;
    if (anoma_row_scorer_create(model, &scorer) != ANOMA_OK)
        return fail("row scorer");
    double best = 1e300, checksum = 0;
    for (long r = 0; r < repeats; r++) {
        double sum = 0, t = now();
        for (long c = 0; c < calls; c++) {
            double score;
            if (anoma_row_scorer_score_values(scorer, values + ((size_t)c % rows) * n, n, &score,
                                              NULL) != ANOMA_OK)
                return fail("score");
            sum += score;
        }
        t = now() - t;
        if (t < best)
            best = t;
        checksum = sum;
    }
    printf("%.1f %.17g\n", 1e9 * best / (double)calls, checksum);
    anoma_row_scorer_free(scorer);
    anoma_frame_free(frame);
    anoma_model_free(model);
    free(values);
    return 0;
}

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
#include "latency.h"

#include <stdlib.h>

static anoma_status score_row(anoma_row_scorer *scorer, const void *row, size_t n,
                              double *score)
{
    return anoma_row_scorer_score_values(scorer, row, n, score, NULL);
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
        return latency_fail("pipeline_latency", argv[1]);
    if (anoma_csv_read(argv[2], argv[3], &frame) != ANOMA_OK)
        return latency_fail("pipeline_latency", argv[2]);
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
            return latency_fail("pipeline_latency", anoma_model_input_name(model, j));
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
        return latency_fail("pipeline_latency", "row scorer");
    if (latency_report("pipeline_latency", scorer, values, rows, n, sizeof *values, calls, repeats, score_row))
        return 1;
    anoma_row_scorer_free(scorer);
    anoma_frame_free(frame);
    anoma_model_free(model);
    free(values);
    return 0;
}

/* End-to-end example: user behaviour (docs/behaviour.md).
 *
 *     behaviour sessions.csv [model.anoma]
 *
 * Reads a CSV file of web-shop sessions (examples/behaviour_data.py writes
 * one: user_id, device, timestamp, clicks, amount, items, session_seconds,
 * label), builds a model whose pipeline turns the raw columns into
 * behaviour features — time of day, clicks per second, amount per item, the
 * amount against the user's own last ten sessions, the device one-hot
 * encoded — into an isolation forest, fits it, scores every session,
 * measures the ROC AUC on the planted labels and explains the five highest
 * scores by the derived features the forest saw. With a second argument the
 * model is saved there (then `anoma score` and `anoma stream` use it). */
#include <anoma/anoma.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pipeline: the same text as `anoma train --step`. */
static const char *const steps[][2] = {
    {"time_features", "column=timestamp features=hour,night,since_previous entity=user_id"},
    {"ratio", "numerator=clicks denominator=session_seconds"},
    {"ratio", "numerator=amount denominator=items"},
    {"window", "columns=amount entity=user_id rolling=10 deviation=true min_periods=3"},
    {"one_hot", "columns=device"},
    {"select", "drop=user_id"}, /* the user is a key for the steps, not a feature */
    {"standard_scaler", ""},
};
static const char *const inputs[] = {"user_id", "device",  "timestamp",      "clicks",
                                     "amount",  "items",   "session_seconds"};
enum { N_INPUTS = sizeof inputs / sizeof *inputs, N_STEPS = sizeof steps / sizeof *steps,
       TOP = 5, REASONS = 3 };

static int fail(const char *what)
{
    fprintf(stderr, "behaviour: %s: %s\n", what, anoma_last_error());
    return 1;
}

/* The label column (0/1) as ints; NULL when it is missing or not numbers. */
static int *read_labels(const anoma_frame *f, size_t *anomalies)
{
    size_t at, rows = anoma_frame_rows(f);
    anoma_column_type type;
    const void *values;
    if (anoma_frame_find_column(f, "label", &at) != ANOMA_OK ||
        anoma_frame_column(f, at, &type, &values) != ANOMA_OK || type != ANOMA_COL_INT64)
        return NULL;
    int *labels = malloc(rows * sizeof *labels + 1);
    for (size_t i = 0; labels && i < rows; i++) {
        labels[i] = ((const int64_t *)values)[i] != 0;
        *anomalies += (size_t)labels[i];
    }
    return labels;
}

static anoma_status build(anoma_model **m)
{
    anoma_status st = anoma_model_create("contamination=0.03", m);
    for (size_t k = 0; k < N_STEPS && st == ANOMA_OK; k++)
        st = anoma_model_add_step(*m, steps[k][0], steps[k][1], NULL);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(*m, "iforest", "seed=1", NULL);
    if (st == ANOMA_OK) /* the input columns, taken from the frame by name: not the label */
        st = anoma_model_set_feature_names(*m, inputs, N_INPUTS);
    return st;
}

/* The row's REASONS largest contributions, "name (value)", largest first. */
static void print_reasons(const anoma_model *m, const double *contrib, size_t width)
{
    unsigned char used[256] = {0};
    for (size_t r = 0; r < REASONS && r < width && width <= sizeof used; r++) {
        size_t best = width;
        for (size_t j = 0; j < width; j++)
            if (!used[j] && (best == width || contrib[j] > contrib[best]))
                best = j;
        used[best] = 1;
        printf("%s%s (%.3f)", r ? ", " : "", anoma_model_output_name(m, best), contrib[best]);
    }
}

/* The TOP highest-scored sessions, with who, what device and why. */
static int print_top(const anoma_model *m, const anoma_frame *f, const double *scores,
                     const int *labels)
{
    size_t rows = anoma_frame_rows(f), width = anoma_model_n_outputs(m), user_at, device_at;
    double *contrib = malloc(rows * width * sizeof *contrib + 1);
    if (!contrib)
        return fail("explaining");
    if (anoma_model_feature_scores_frame(m, 0, f, contrib) != ANOMA_OK) {
        free(contrib);
        return fail("explaining");
    }
    const void *users, *devices;
    anoma_frame_find_column(f, "user_id", &user_at);
    anoma_frame_find_column(f, "device", &device_at);
    anoma_frame_column(f, user_at, NULL, &users);
    anoma_frame_column(f, device_at, NULL, &devices);
    unsigned char *shown = calloc(rows + 1, 1);
    printf("the %d highest scores (planted: 1), with the features that isolated them:\n", TOP);
    for (int t = 0; shown && t < TOP && (size_t)t < rows; t++) {
        size_t best = rows;
        for (size_t i = 0; i < rows; i++)
            if (!shown[i] && (best == rows || scores[i] > scores[best]))
                best = i;
        shown[best] = 1;
        printf("  %s on %-8s score %.4f  planted %d  ", ((const char *const *)users)[best],
               ((const char *const *)devices)[best], scores[best], labels[best]);
        print_reasons(m, contrib + best * width, width);
        putchar('\n');
    }
    free(shown);
    free(contrib);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: behaviour sessions.csv [model.anoma]\n");
        return 2;
    }
    anoma_frame *f = NULL;
    anoma_model *m = NULL;
    if (anoma_csv_read(argv[1], NULL, &f) != ANOMA_OK)
        return fail("reading the sessions"); /* the message names the file */
    size_t rows = anoma_frame_rows(f), anomalies = 0;
    int *labels = read_labels(f, &anomalies);
    double *scores = malloc(rows * sizeof *scores + 1), auc = 0;
    int rc = !labels || !scores ? (fprintf(stderr, "behaviour: no 0/1 label column\n"), 1)
             : build(&m) != ANOMA_OK                                 ? fail("building the model")
             : anoma_model_fit_frame(m, f, NULL, NULL) != ANOMA_OK   ? fail("fitting")
             : anoma_model_score_frame(m, f, scores) != ANOMA_OK     ? fail("scoring")
             : anoma_roc_auc(scores, labels, rows, &auc) != ANOMA_OK ? fail("ROC AUC")
                                                                     : 0;
    if (rc == 0) {
        size_t flagged = 0, caught = 0;
        double threshold;
        anoma_model_threshold(m, &threshold);
        for (size_t i = 0; i < rows; i++) {
            flagged += scores[i] > threshold;
            caught += scores[i] > threshold && labels[i];
        }
        printf("%zu sessions, %zu planted anomalies; %zu input columns -> %zu features\n", rows,
               anomalies, anoma_model_n_features(m), anoma_model_n_outputs(m));
        printf("ROC AUC on the planted labels: %.4f\n", auc);
        printf("flagged at contamination 0.03: %zu sessions, %zu of them planted\n", flagged,
               caught);
        rc = print_top(m, f, scores, labels);
    }
    if (rc == 0 && argc == 3 && anoma_model_save(m, argv[2]) != ANOMA_OK)
        rc = fail(argv[2]);
    free(scores);
    free(labels);
    anoma_model_free(m);
    anoma_frame_free(f);
    return rc;
}

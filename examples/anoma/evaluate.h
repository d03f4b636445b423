/* anoma evaluate: the shared types of evaluate.c (the run), split.c (the
 * rows used) and report.c (the output). */
#ifndef ANOMA_CLI_EVALUATE_H
#define ANOMA_CLI_EVALUATE_H

#include "cli.h"

#include <stdint.h>

/* Metrics of one detector on the scored rows; NaN where undefined (ROC AUC
 * when the scored rows hold one class only, for example). */
typedef struct eval_result {
    const char *detector;
    double roc_auc, pr_auc;        /* threshold-free */
    double precision, recall, f1;  /* at the model's threshold (anoma_model_predict) */
    double best_f1;                /* at the best threshold */
    double threshold;              /* the model's threshold */
    double fit_ms, score_ms;
} eval_result;

/* What the header line of the table tells. */
typedef struct eval_summary {
    const char *path;
    size_t rows, cols, anomalies;  /* the whole file */
    double contamination; /* NaN: auto, each detector's own rule */
    const char *split;             /* "fit on ..., scored on ..." */
} eval_summary;

/* The rows a model is fitted on and the rows it scores: matrices, or with
 * pipeline steps (cli_data.features) frames of the typed columns. */
typedef struct eval_split {
    anoma_matrix train, test;
    const anoma_frame *train_frame, *test_frame; /* with steps, else NULL */
    anoma_frame *frames[2]; /* frames made for the split (train, test) */
    uint64_t *cells;        /* their columns: every frame cell is 8 bytes */
    const int *train_labels, *test_labels;
    size_t test_anomalies;
    double *x;   /* copied rows (train rows, then test rows), or NULL */
    int *labels; /* their labels */
    char text[200]; /* for the header line: "fit on ..., scored on ..." */
} eval_split;

/* All rows for both (train_rows 0 and train_fraction 0), the first
 * train_rows, or a random train_fraction drawn from `seed`; the test rows are
 * the others, each part in file order. s must be zeroed; call
 * eval_split_free() afterwards. Prints the error and returns CLI_BAD_INPUT
 * when nothing would be left to fit or to score. */
int eval_make_split(const cli_data *d, size_t train_rows, double train_fraction, uint64_t seed,
                    eval_split *s);
void eval_split_free(eval_split *s);

typedef enum { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON } eval_format;

/* Print the results in the chosen format on stdout. */
void eval_report(eval_format format, const eval_summary *s, const eval_result *r, size_t n);

#endif /* ANOMA_CLI_EVALUATE_H */

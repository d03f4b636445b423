/* anoma evaluate: the shared types of evaluate.c (the run) and report.c
 * (the output). */
#ifndef ANOMA_CLI_EVALUATE_H
#define ANOMA_CLI_EVALUATE_H

#include "cli.h"

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
    double contamination;
    const char *split;             /* "fit on ..., scored on ..." */
} eval_summary;

typedef enum { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON } eval_format;

/* Print the results in the chosen format on stdout. */
void eval_report(eval_format format, const eval_summary *s, const eval_result *r, size_t n);

#endif /* ANOMA_CLI_EVALUATE_H */

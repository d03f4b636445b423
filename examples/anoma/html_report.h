/* The self-contained HTML report of `anoma evaluate --report` and `anoma
 * report`: one file, charts as inline SVG (svg.h), no script, nothing
 * fetched. What it shows and how large inputs are summarised:
 * docs/cli.md, "anoma report". */
#ifndef ANOMA_CLI_HTML_REPORT_H
#define ANOMA_CLI_HTML_REPORT_H

#include "cli.h"

#include <stdint.h>

/* One detector's scores of the report's rows. */
typedef struct html_detector {
    const char *name;
    const anoma_model *model; /* its description, and its feature scores */
    const double *scores;     /* one per row, higher = more anomalous */
    double threshold;         /* rows scoring above it are flagged */
} html_detector;

typedef struct html_report {
    const char *title;
    const char *summary;      /* a sentence about the data and the rows scored */
    size_t rows;
    const int *labels;        /* rows 0/1 labels */
    const anoma_matrix *x;    /* the rows' features (their values and per-row
                                 explanations), or NULL (pipeline steps) */
    const char *const *names; /* x's column names, or NULL: f0, f1, ... */
    const int64_t *time;      /* rows epoch seconds, or NULL: no series charts */
    const char *time_name;
    const html_detector *detectors;
    size_t n_detectors;
} html_report;

/* The first timestamp column of the file d read (its values for rows
 * first .. first + rows - 1 in *time, its name in *name), or 0 when it has
 * none. */
int html_report_time_column(const cli_data *d, size_t first, const int64_t **time,
                            const char **name);

/* Write the report to path (atomically). Prints the error and returns
 * CLI_BAD_INPUT on failure, else CLI_OK. */
int html_report_write(const char *path, const html_report *r);

#endif /* ANOMA_CLI_HTML_REPORT_H */

/* anoma evaluate: the results as an aligned table, CSV or JSON. */
#include "evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The numeric fields of a result, in output order. */
#define N_FIELDS 9
static const char *const field_names[N_FIELDS] = {
    "roc_auc", "pr_auc", "precision", "recall", "f1", "best_f1", "threshold", "fit_ms", "score_ms",
};
static const char *const table_titles[N_FIELDS] = {
    "ROC AUC", "PR AUC", "precision", "recall", "F1", "best F1", "threshold", "fit ms", "score ms",
};

static void fields(const eval_result *r, double out[N_FIELDS])
{
    const double v[N_FIELDS] = {r->roc_auc, r->pr_auc, r->precision, r->recall, r->f1,
                                r->best_f1, r->threshold, r->fit_ms, r->score_ms};
    memcpy(out, v, sizeof v);
}

static void report_table(const eval_summary *s, const eval_result *r, size_t n)
{
    char rate[32] = "auto"; /* NaN: each detector's own rule */
    if (!isnan(s->contamination))
        snprintf(rate, sizeof rate, "%g", s->contamination);
    printf("%s: %zu rows, %zu columns, %zu %s (%.2f%%); contamination %s\n", s->path, s->rows,
           s->cols, s->anomalies, s->anomalies == 1 ? "anomaly" : "anomalies",
           100.0 * (double)s->anomalies / (double)s->rows, rate);
    printf("%s\n\n", s->split);
    cli_table t;
    cli_table_init(&t, N_FIELDS + 1);
    cli_table_add(&t, "detector");
    for (size_t j = 0; j < N_FIELDS; j++)
        cli_table_add(&t, "%s", table_titles[j]);
    for (size_t i = 0; i < n; i++) {
        double v[N_FIELDS];
        fields(&r[i], v);
        cli_table_add(&t, "%s", r[i].detector);
        for (size_t j = 0; j < N_FIELDS; j++) {
            if (isnan(v[j]))
                cli_table_add(&t, "n/a");
            else if (j == 6) /* the threshold is on the detector's own scale */
                cli_table_add(&t, "%.4g", v[j]);
            else
                cli_table_add(&t, j < 6 ? "%.4f" : "%.2f", v[j]);
        }
    }
    cli_table_print(&t, stdout, "", "lrrrrrrrrr");
    cli_table_free(&t);
}

/* Detector names are plain words, but never write broken CSV or JSON. */
static void put_string(const char *text, int json)
{
    if (!json && !text[strcspn(text, ",\"\r\n")]) {
        fputs(text, stdout); /* nothing to quote */
        return;
    }
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"')
            fputs(json ? "\\\"" : "\"\"", stdout);
        else if (json && *p == '\\')
            fputs("\\\\", stdout);
        else if (json && *p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double:
 * exact for machines, and 0.1 stays 0.1 for people. */
static void put_number(double v)
{
    char buf[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, stdout);
}

/* A number, or what stands for "undefined": null in JSON, empty in CSV. */
static void put_value(double v, int json)
{
    if (isfinite(v))
        put_number(v);
    else if (json)
        fputs("null", stdout); /* JSON has no NaN */
}

static void report_csv(const eval_summary *s, const eval_result *r, size_t n)
{
    fputs("detector", stdout);
    for (size_t j = 0; j < N_FIELDS; j++)
        printf(",%s", field_names[j]);
    puts(",contamination");
    for (size_t i = 0; i < n; i++) {
        double v[N_FIELDS];
        fields(&r[i], v);
        put_string(r[i].detector, 0);
        for (size_t j = 0; j < N_FIELDS; j++) {
            putchar(',');
            put_value(v[j], 0);
        }
        putchar(',');
        put_value(s->contamination, 0);
        putchar('\n');
    }
}

static void report_json(const eval_summary *s, const eval_result *r, size_t n)
{
    puts("[");
    for (size_t i = 0; i < n; i++) {
        double v[N_FIELDS];
        fields(&r[i], v);
        fputs("  {\"detector\": ", stdout);
        put_string(r[i].detector, 1);
        for (size_t j = 0; j < N_FIELDS; j++) {
            printf(", \"%s\": ", field_names[j]);
            put_value(v[j], 1);
        }
        fputs(", \"contamination\": ", stdout);
        put_value(s->contamination, 1);
        puts(i + 1 < n ? "}," : "}");
    }
    puts("]");
}

void eval_report(eval_format format, const eval_summary *s, const eval_result *r, size_t n)
{
    switch (format) {
    case FORMAT_TABLE: report_table(s, r, n); break;
    case FORMAT_CSV: report_csv(s, r, n); break;
    case FORMAT_JSON: report_json(s, r, n); break;
    }
}

/* The self-contained HTML report (html_report.h): the page layout, the
 * metrics and the summaries behind each chart. Charts are drawn by svg.c.
 *
 * Large inputs are summarised so the file stays small whatever the number
 * of rows (docs/cli.md, "anoma report"):
 * - curves keep a point only when the true-positive rate, false-positive
 *   rate or precision moved by more than CURVE_TOLERANCE since the last
 *   point kept (anoma_curve_points), so every point of the full curve is
 *   within that distance of a drawn one: under half a pixel here;
 * - series are drawn as each pixel column's lowest and highest value, so
 *   no value is left out, and a column holding a flagged row is shaded;
 * - histograms have HISTOGRAM_BINS bins; explanations cover the TOP_ROWS
 *   highest-scored rows. */
#include "html_report.h"
#include "svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CURVE_TOLERANCE 0.001 /* a curve chart's plot area is under 500 pixels wide */
#define HISTOGRAM_BINS 40
#define SERIES_COLUMNS 800 /* the series charts' plot area, in pixels */
#define TOP_ROWS 10
#define TOP_FEATURES 5

static const char style[] =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:8px 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f3f3f3}td.name,th.name{text-align:left}"
    ".charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}"
    "svg{background:#fff;font-size:11px}svg text{fill:#333}svg .title{font-size:13px}"
    "svg .frame{fill:none;stroke:#888}svg .grid{stroke:#eee}svg .tick{stroke:#888}"
    "pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}"
    ".note{color:#666}";

static void put(FILE *out, const char *text)
{
    svg_escape(out, text);
}

/* A number for a table cell: n/a when undefined. */
static void put_number(FILE *out, double v, const char *format)
{
    if (isnan(v))
        fputs("n/a", out);
    else
        fprintf(out, format, v);
}

static void feature_name(const html_report *r, size_t j, char *buf, size_t cap)
{
    if (r->names && r->names[j])
        snprintf(buf, cap, "%s", r->names[j]);
    else
        snprintf(buf, cap, "f%zu", j);
}

static size_t anomalies(const html_report *r)
{
    size_t pos = 0;
    for (size_t i = 0; i < r->rows; i++)
        pos += (size_t)r->labels[i];
    return pos;
}

/* ---- metrics ------------------------------------------------------------ */

typedef struct detector_metrics {
    double roc_auc, pr_auc, best_f1;
    anoma_confusion at; /* at the detector's threshold */
} detector_metrics;

static anoma_status measure(const html_report *r, const html_detector *d, detector_metrics *m)
{
    size_t pos = anomalies(r);
    double cut;
    m->roc_auc = m->pr_auc = m->best_f1 = NAN;
    anoma_status st = anoma_confusion_at(d->scores, r->labels, r->rows, d->threshold, &m->at);
    if (st == ANOMA_OK && pos > 0 && pos < r->rows)
        st = anoma_roc_auc(d->scores, r->labels, r->rows, &m->roc_auc);
    if (st == ANOMA_OK && pos > 0)
        st = anoma_average_precision(d->scores, r->labels, r->rows, &m->pr_auc);
    if (st == ANOMA_OK && pos > 0)
        st = anoma_best_f1(d->scores, r->labels, r->rows, &cut, &m->best_f1);
    return st;
}

static void metrics_table(FILE *out, const html_report *r, const detector_metrics *m)
{
    fputs("<table id=\"metrics\"><tr><th class=\"name\">detector</th><th>ROC AUC</th>"
          "<th>PR AUC</th><th>precision</th><th>recall</th><th>F1</th><th>best F1</th>"
          "<th>threshold</th><th>flagged</th></tr>\n", out);
    for (size_t k = 0; k < r->n_detectors; k++) {
        const anoma_confusion *c = &m[k].at;
        fputs("<tr><td class=\"name\">", out);
        put(out, r->detectors[k].name);
        fputs("</td><td>", out);
        put_number(out, m[k].roc_auc, "%.4f");
        fputs("</td><td>", out);
        put_number(out, m[k].pr_auc, "%.4f");
        fprintf(out, "</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>", c->precision,
                c->recall, c->f1);
        put_number(out, m[k].best_f1, "%.4f");
        fprintf(out, "</td><td>%.6g</td><td>%zu</td></tr>\n", r->detectors[k].threshold,
                c->tp + c->fp);
    }
    fputs("</table>\n", out);
}

/* ---- curves ------------------------------------------------------------- */

/* The thinned curve of a detector's scores, to free(); NULL on error
 * (printed). */
static anoma_curve_point *curve(const html_report *r, const html_detector *d, size_t *n)
{
    anoma_status st = anoma_curve_points(d->scores, r->labels, r->rows, CURVE_TOLERANCE, NULL, 0,
                                         n);
    anoma_curve_point *p = st == ANOMA_OK ? malloc(*n * sizeof *p + 1) : NULL;
    if (st == ANOMA_OK && !p)
        st = ANOMA_ERR_NO_MEMORY;
    if (st == ANOMA_OK)
        st = anoma_curve_points(d->scores, r->labels, r->rows, CURVE_TOLERANCE, p, *n, n);
    if (st != ANOMA_OK) {
        cli_fail(st, "the curves of %s", d->name);
        free(p);
        return NULL;
    }
    return p;
}

static int curve_charts(FILE *out, const html_report *r, const detector_metrics *m)
{
    size_t pos = anomalies(r), neg = r->rows - pos;
    if (pos == 0 || neg == 0) {
        fprintf(out, "<p class=\"note\">No curves: the rows scored hold only %s rows.</p>\n",
                pos ? "anomalous" : "normal");
        return CLI_OK;
    }
    svg_chart roc, pr;
    char label[160];
    for (int which = 0; which < 2; which++) {
        svg_chart *c = which == 0 ? &roc : &pr;
        if (which == 0)
            svg_begin(c, out, 480, 420, 0, 1, 0, 1, "ROC curve", "false positive rate",
                      "true positive rate (recall)", 0);
        else
            svg_begin(c, out, 480, 420, 0, 1, 0, 1, "Precision-recall curve", "recall",
                      "precision", 0);
        for (size_t k = 0; k < r->n_detectors; k++) {
            size_t n;
            anoma_curve_point *p = curve(r, &r->detectors[k], &n);
            if (!p)
                return CLI_BAD_INPUT;
            svg_line_begin(c, svg_color(k), 1.5, NULL);
            double recall = 0;
            if (which == 0)
                svg_line_to(c, 0, 0);
            for (size_t i = 0; i < n; i++) {
                double tpr = (double)p[i].tp / (double)pos, fpr = (double)p[i].fp / (double)neg;
                if (which == 0) {
                    svg_line_to(c, fpr, tpr);
                } else { /* a step at each point, as average precision sums it */
                    double precision = (double)p[i].tp / (double)(p[i].tp + p[i].fp);
                    svg_line_to(c, recall, precision);
                    svg_line_to(c, tpr, precision);
                    recall = tpr;
                }
            }
            svg_line_end(c);
            free(p);
            snprintf(label, sizeof label, "%s (%s %.3f)", r->detectors[k].name,
                     which == 0 ? "AUC" : "AP", which == 0 ? m[k].roc_auc : m[k].pr_auc);
            svg_legend(c, svg_color(k), label);
        }
        svg_line_begin(c, "#999", 1, "3,3"); /* chance, or the anomaly rate */
        svg_line_to(c, 0, which == 0 ? 0 : (double)pos / (double)r->rows);
        svg_line_to(c, 1, which == 0 ? 1 : (double)pos / (double)r->rows);
        svg_line_end(c);
        svg_end(c);
    }
    return CLI_OK;
}

/* ---- one detector ------------------------------------------------------- */

static void histogram(FILE *out, const html_report *r, const html_detector *d)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < r->rows; i++) {
        lo = fmin(lo, d->scores[i]);
        hi = fmax(hi, d->scores[i]);
    }
    if (!(hi > lo))
        hi = lo + 1;
    double width = (hi - lo) / HISTOGRAM_BINS;
    size_t counts[2][HISTOGRAM_BINS] = {{0}}, total[2] = {0, 0};
    for (size_t i = 0; i < r->rows; i++) {
        size_t b = (size_t)((d->scores[i] - lo) / width);
        counts[r->labels[i]][b < HISTOGRAM_BINS ? b : HISTOGRAM_BINS - 1]++;
        total[r->labels[i]]++;
    }
    /* each class as a density, so a class of few rows stays visible */
    double top = 0, density[2][HISTOGRAM_BINS];
    for (int c = 0; c < 2; c++)
        for (size_t b = 0; b < HISTOGRAM_BINS; b++) {
            density[c][b] = total[c] ? (double)counts[c][b] / ((double)total[c] * width) : 0;
            top = fmax(top, density[c][b]);
        }
    svg_chart h;
    double x0 = fmin(lo, d->threshold), x1 = fmax(hi, d->threshold);
    if (!isfinite(x0) || !isfinite(x1) || x1 - x0 > 4 * (hi - lo)) /* a far threshold: off the chart */
        x0 = lo, x1 = hi;
    svg_begin(&h, out, 480, 320, x0, x1, 0, top * 1.08, "Scores by label", "anomaly score",
              "density", 0);
    static const char *const colors[2] = {"#1f77b4", "#d62728"};
    static const char *const names[2] = {"normal", "anomaly"};
    char label[64];
    for (int c = 0; c < 2; c++) {
        for (size_t b = 0; b < HISTOGRAM_BINS; b++)
            if (counts[c][b])
                svg_box(&h, lo + (double)b * width, 0, lo + (double)(b + 1) * width,
                        density[c][b], colors[c], 0.5);
        snprintf(label, sizeof label, "%s (%zu)", names[c], total[c]);
        svg_legend(&h, colors[c], label);
    }
    if (isfinite(d->threshold) && d->threshold >= x0 && d->threshold <= x1) {
        svg_line_begin(&h, "#000", 1, "4,3");
        svg_line_to(&h, d->threshold, 0);
        svg_line_to(&h, d->threshold, top * 1.08);
        svg_line_end(&h);
        snprintf(label, sizeof label, "threshold %.4g", d->threshold);
        svg_legend(&h, "#000", label);
    }
    svg_end(&h);
}

static void confusion_table(FILE *out, const html_detector *d, const anoma_confusion *c)
{
    fputs("<table class=\"confusion\"><tr><th class=\"name\">threshold ", out);
    fprintf(out, "%.6g", d->threshold);
    fprintf(out, "</th><th>not flagged</th><th>flagged</th></tr>\n"
                 "<tr><th class=\"name\">normal</th><td>%zu</td><td>%zu</td></tr>\n"
                 "<tr><th class=\"name\">anomaly</th><td>%zu</td><td>%zu</td></tr>\n</table>\n",
            c->tn, c->fp, c->fn, c->tp);
    fprintf(out, "<p>precision %.4f, recall %.4f, F1 %.4f, accuracy %.4f</p>\n", c->precision,
            c->recall, c->f1, c->accuracy);
}

/* The first detector of the model that scores feature by feature, or
 * SIZE_MAX. */
static size_t explained_detector(const anoma_model *m)
{
    for (size_t k = 0; k < anoma_model_n_detectors(m); k++) {
        unsigned flags = 0;
        const char *name = anoma_model_detector_name(m, k);
        if (name && anoma_component_flags(ANOMA_KIND_DETECTOR, name, &flags) == ANOMA_OK &&
            (flags & ANOMA_FLAG_FEATURE_SCORES))
            return k;
    }
    return SIZE_MAX;
}

/* The top rows by score, highest first (ties: earlier row first). */
static size_t top_rows(const html_detector *d, size_t rows, size_t *top)
{
    size_t n = 0;
    for (size_t i = 0; i < rows; i++) {
        size_t at = n < TOP_ROWS ? n++ : TOP_ROWS;
        if (at == TOP_ROWS && !(d->scores[i] > d->scores[top[TOP_ROWS - 1]]))
            continue;
        if (at == TOP_ROWS)
            at = TOP_ROWS - 1;
        while (at > 0 && d->scores[i] > d->scores[top[at - 1]]) {
            top[at] = top[at - 1];
            at--;
        }
        top[at] = i;
    }
    return n;
}

/* The top features of the highest-scored rows, by the detector's
 * per-feature scores. */
static int explanations(FILE *out, const html_report *r, const html_detector *d)
{
    size_t k = explained_detector(d->model);
    if (k == SIZE_MAX || !r->x || r->x->dtype != ANOMA_F64 || anoma_model_n_steps(d->model) > 0)
        return CLI_OK; /* nothing to explain by, or features derived by steps */
    size_t top[TOP_ROWS], n = top_rows(d, r->rows, top), cols = r->x->cols;
    double *rows = malloc(n * cols * sizeof *rows + 1);
    double *contrib = malloc(n * cols * sizeof *contrib + 1);
    if (!rows || !contrib) {
        free(rows);
        free(contrib);
        return cli_error("out of memory");
    }
    const double *x = r->x->data;
    for (size_t i = 0; i < n; i++)
        memcpy(rows + i * cols, x + top[i] * r->x->row_stride, cols * sizeof *rows);
    anoma_matrix m = anoma_matrix_f64(rows, n, cols);
    anoma_status st = anoma_model_feature_scores(d->model, k, &m, contrib);
    if (st != ANOMA_OK) {
        free(rows);
        free(contrib);
        return cli_fail(st, "the feature scores of %s", d->name);
    }
    fputs("<h3>Top contributing features of the highest-scored rows</h3>\n"
          "<table class=\"explanations\"><tr><th>row</th><th>score</th><th>label</th>", out);
    for (size_t f = 0; f < TOP_FEATURES && f < cols; f++)
        fprintf(out, "<th class=\"name\">feature %zu (value: contribution)</th>", f + 1);
    fputs("</tr>\n", out);
    unsigned char *used = calloc(cols, 1);
    cli_explanation e = {contrib, cols, cols < TOP_FEATURES ? cols : TOP_FEATURES, NULL, used};
    for (size_t i = 0; i < n && used; i++) {
        fprintf(out, "<tr><td>%zu</td><td>%.6g</td><td>%d</td>", top[i] + 1, d->scores[top[i]],
                r->labels[top[i]]);
        for (size_t f = 0; f < e.k; f++) {
            size_t j = cli_rank_features(&e, contrib + i * cols, f);
            char name[256];
            feature_name(r, j, name, sizeof name);
            fputs("<td class=\"name\">", out);
            put(out, name);
            fprintf(out, " = %.6g: %.4g</td>", rows[i * cols + j], contrib[i * cols + j]);
        }
        fputs("</tr>\n", out);
    }
    fputs("</table>\n<p class=\"note\">Rows are numbered from 1 among the rows scored; "
          "contributions are the detector's per-feature scores, largest first.</p>\n", out);
    free(used);
    free(rows);
    free(contrib);
    return used ? CLI_OK : cli_error("out of memory");
}

static void description(FILE *out, const html_detector *d)
{
    size_t needed = 0;
    if (anoma_model_describe(d->model, NULL, 0, &needed) != ANOMA_OK)
        return;
    char *text = malloc(needed + 1);
    if (text && anoma_model_describe(d->model, text, needed + 1, NULL) == ANOMA_OK) {
        fputs("<details><summary>Model description</summary><pre>", out);
        put(out, text);
        fputs("</pre></details>\n", out);
    }
    free(text);
}

/* ---- series ------------------------------------------------------------- */

/* Each pixel column of the time axis: the lowest and highest value of its
 * rows, and whether one of them is flagged. */
typedef struct column_summary {
    double lo[SERIES_COLUMNS], hi[SERIES_COLUMNS];
    unsigned char flagged[SERIES_COLUMNS];
    double t0, t1;
} column_summary;

static int time_range(const html_report *r, double *t0, double *t1)
{
    *t0 = INFINITY, *t1 = -INFINITY;
    for (size_t i = 0; i < r->rows; i++)
        if (r->time[i] != ANOMA_TIMESTAMP_MISSING) {
            *t0 = fmin(*t0, (double)r->time[i]);
            *t1 = fmax(*t1, (double)r->time[i]);
        }
    return *t0 <= *t1;
}

static size_t column_of(const column_summary *s, int64_t t)
{
    double f = s->t1 > s->t0 ? ((double)t - s->t0) / (s->t1 - s->t0) : 0.5;
    size_t b = (size_t)(f * SERIES_COLUMNS);
    return b < SERIES_COLUMNS ? b : SERIES_COLUMNS - 1;
}

/* Summarise value(i) per column; flags from d (NULL: none). */
static void summarise(column_summary *s, const html_report *r, const double *values,
                      size_t stride, const html_detector *d)
{
    for (size_t b = 0; b < SERIES_COLUMNS; b++) {
        s->lo[b] = INFINITY;
        s->hi[b] = -INFINITY;
        s->flagged[b] = 0;
    }
    for (size_t i = 0; i < r->rows; i++) {
        if (r->time[i] == ANOMA_TIMESTAMP_MISSING)
            continue;
        size_t b = column_of(s, r->time[i]);
        double v = values[i * stride];
        if (!isnan(v)) {
            s->lo[b] = fmin(s->lo[b], v);
            s->hi[b] = fmax(s->hi[b], v);
        }
        if (d && d->scores[i] > d->threshold)
            s->flagged[b] = 1;
    }
}

static void series_chart(FILE *out, const column_summary *s, const char *title,
                         const char *y_label, const html_detector *d)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t b = 0; b < SERIES_COLUMNS; b++)
        if (s->lo[b] <= s->hi[b]) {
            lo = fmin(lo, s->lo[b]);
            hi = fmax(hi, s->hi[b]);
        }
    if (d && isfinite(d->threshold)) {
        lo = fmin(lo, d->threshold);
        hi = fmax(hi, d->threshold);
    }
    double pad = (hi - lo) * 0.05, step = (s->t1 - s->t0) / SERIES_COLUMNS;
    svg_chart c;
    svg_begin(&c, out, SERIES_COLUMNS + 76, 260, s->t0, s->t1 > s->t0 ? s->t1 : s->t0 + 1,
              lo - pad, hi + pad, title, "time (UTC)", y_label, 1);
    for (size_t b = 0; b < SERIES_COLUMNS; b++) { /* runs of flagged columns */
        size_t e = b;
        while (e < SERIES_COLUMNS && s->flagged[e])
            e++;
        if (e > b)
            svg_box(&c, s->t0 + (double)b * step, lo - pad, s->t0 + (double)e * step, hi + pad,
                    "#d62728", 0.2);
        b = e;
    }
    svg_line_begin(&c, d ? "#222" : svg_color(0), 1, NULL);
    for (size_t b = 0; b < SERIES_COLUMNS; b++)
        if (s->lo[b] <= s->hi[b]) {
            double t = s->t0 + ((double)b + 0.5) * step;
            svg_line_to(&c, t, s->lo[b]);
            if (s->hi[b] > s->lo[b])
                svg_line_to(&c, t, s->hi[b]);
        }
    svg_line_end(&c);
    if (d) {
        char label[64];
        svg_line_begin(&c, "#000", 1, "4,3");
        svg_line_to(&c, s->t0, d->threshold);
        svg_line_to(&c, s->t1, d->threshold);
        svg_line_end(&c);
        snprintf(label, sizeof label, "threshold %.4g", d->threshold);
        svg_legend(&c, "#000", label);
        svg_legend(&c, "#d62728", "flagged");
    }
    svg_end(&c);
}

/* The values of the first feature over time, flagged spans of the first
 * detector. */
static void values_chart(FILE *out, const html_report *r, column_summary *s)
{
    if (!r->x || r->x->dtype != ANOMA_F64 || r->x->cols == 0)
        return;
    char name[256], title[300];
    feature_name(r, 0, name, sizeof name);
    snprintf(title, sizeof title, "%s over time (flagged by %s)", name, r->detectors[0].name);
    summarise(s, r, r->x->data, r->x->row_stride, &r->detectors[0]);
    series_chart(out, s, title, name, NULL);
}

/* ---- the page ----------------------------------------------------------- */

static int write_page(FILE *out, const html_report *r, const detector_metrics *m)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>",
          out);
    put(out, r->title);
    fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", style);
    put(out, r->title);
    fputs("</h1>\n<p>", out);
    put(out, r->summary);
    fputs("</p>\n<h2>Metrics</h2>\n", out);
    metrics_table(out, r, m);
    fputs("<p class=\"note\">Precision, recall and F1 flag the rows scoring above each "
          "detector's threshold; best F1 is the best over all thresholds; n/a: undefined "
          "for the labels present.</p>\n<h2>Curves</h2>\n<div class=\"charts\">\n", out);
    int rc = curve_charts(out, r, m);
    fputs("</div>\n", out);
    column_summary *s = NULL;
    double t0, t1;
    if (rc == CLI_OK && r->time && time_range(r, &t0, &t1)) {
        if (!(s = malloc(sizeof *s)))
            return cli_error("out of memory");
        s->t0 = t0, s->t1 = t1;
        fputs("<h2>Series</h2>\n<p>Time from column <code>", out);
        put(out, r->time_name);
        fputs("</code>; each pixel column shows the lowest and highest value of its rows, "
              "shaded where one of them is flagged.</p>\n", out);
        values_chart(out, r, s);
    }
    for (size_t k = 0; k < r->n_detectors && rc == CLI_OK; k++) {
        const html_detector *d = &r->detectors[k];
        fputs("<h2>", out);
        put(out, d->name);
        fputs("</h2>\n<div class=\"charts\">\n", out);
        histogram(out, r, d);
        fputs("<div>\n", out);
        confusion_table(out, d, &m[k].at);
        fputs("</div>\n</div>\n", out);
        if (s) {
            summarise(s, r, d->scores, 1, d);
            series_chart(out, s, "Scores over time", "anomaly score", d);
        }
        rc = explanations(out, r, d);
        description(out, d);
    }
    free(s);
    fputs("</body>\n</html>\n", out);
    return rc;
}

int html_report_time_column(const cli_data *d, size_t first, const int64_t **time,
                            const char **name)
{
    for (size_t j = 0; j < anoma_frame_cols(d->frame); j++) {
        anoma_column_type type;
        const void *values;
        if (anoma_frame_column(d->frame, j, &type, &values) == ANOMA_OK &&
            type == ANOMA_COL_TIMESTAMP) {
            *time = (const int64_t *)values + first;
            *name = anoma_frame_column_name(d->frame, j);
            return 1;
        }
    }
    return 0;
}

int html_report_write(const char *path, const html_report *r)
{
    detector_metrics *m = calloc(r->n_detectors + 1, sizeof *m);
    if (!m)
        return cli_error("out of memory");
    int rc = CLI_OK;
    for (size_t k = 0; k < r->n_detectors && rc == CLI_OK; k++) {
        anoma_status st = measure(r, &r->detectors[k], &m[k]);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "measuring %s", r->detectors[k].name);
    }
    char *text = NULL;
    size_t size = 0;
    FILE *out = rc == CLI_OK ? open_memstream(&text, &size) : NULL;
    if (rc == CLI_OK && !out)
        rc = cli_error("out of memory");
    if (rc == CLI_OK)
        rc = write_page(out, r, m);
    if (out && fclose(out) != 0 && rc == CLI_OK)
        rc = cli_error("out of memory");
    if (rc == CLI_OK) {
        anoma_status st = anoma_file_write_atomic(path, text, size);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "writing the report");
    }
    free(text);
    free(m);
    return rc;
}

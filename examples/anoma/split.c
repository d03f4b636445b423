/* anoma evaluate: which rows fit the models and which rows they score. */
#include "evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: a small, well-mixed generator, so a seed gives the same draw
 * on every machine and library version. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Mark n_train rows of `in_train` at random (a partial Fisher-Yates shuffle). */
static int draw_rows(unsigned char *in_train, size_t rows, size_t n_train, uint64_t seed)
{
    size_t *order = malloc(rows * sizeof *order);
    if (!order)
        return -1;
    for (size_t i = 0; i < rows; i++)
        order[i] = i;
    for (size_t i = 0; i < n_train; i++) {
        size_t j = i + (size_t)(next_random(&seed) % (rows - i)); /* bias negligible */
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
        in_train[order[i]] = 1;
    }
    free(order);
    return 0;
}

/* The typed columns' cells, reordered as `where` says, as two frames: the
 * train rows, then the test rows. Text cells are pointers into d->frame. */
static int split_frames(const cli_data *d, const size_t *where, size_t n_train, eval_split *s)
{
    s->cells = malloc(d->rows * d->cols * sizeof *s->cells);
    if (!s->cells)
        return cli_error("out of memory");
    anoma_status st = anoma_frame_create(n_train, &s->frames[0]);
    if (st == ANOMA_OK)
        st = anoma_frame_create(d->rows - n_train, &s->frames[1]);
    for (size_t j = 0; j < d->cols && st == ANOMA_OK; j++) {
        anoma_column_type type;
        const void *values;
        anoma_frame_column(d->features, j, &type, &values);
        uint64_t *column = s->cells + j * d->rows;
        for (size_t i = 0; i < d->rows; i++) /* double, int64, pointer: 8 bytes each */
            memcpy(&column[where[i]], (const char *)values + 8 * i, 8);
        st = anoma_frame_add_column(s->frames[0], d->names[j], type, column);
        if (st == ANOMA_OK)
            st = anoma_frame_add_column(s->frames[1], d->names[j], type, column + n_train);
    }
    if (st != ANOMA_OK)
        return cli_fail(st, "splitting the rows");
    s->train_frame = s->frames[0];
    s->test_frame = s->frames[1];
    return CLI_OK;
}

/* Copy the train rows, then the test rows, each in file order. */
static int copy_split(const cli_data *d, const unsigned char *in_train, size_t n_train,
                      eval_split *s)
{
    size_t *where = malloc(d->rows * sizeof *where);
    s->labels = malloc(d->rows * sizeof *s->labels);
    if (!d->features)
        s->x = malloc(d->rows * d->cols * sizeof *s->x);
    int rc = where && s->labels && (d->features || s->x) ? CLI_OK : cli_error("out of memory");
    size_t next[2] = {n_train, 0}; /* next test row, next train row */
    for (size_t i = 0; i < d->rows && rc == CLI_OK; i++) {
        size_t at = where[i] = next[in_train[i]]++;
        if (s->x)
            memcpy(s->x + at * d->cols, d->x + i * d->cols, d->cols * sizeof *s->x);
        s->labels[at] = d->labels[i];
        s->test_anomalies += !in_train[i] && d->labels[i];
    }
    if (rc == CLI_OK && d->features)
        rc = split_frames(d, where, n_train, s);
    free(where);
    if (rc != CLI_OK)
        return rc;
    if (s->x) {
        s->train = anoma_matrix_f64(s->x, n_train, d->cols);
        s->test = anoma_matrix_f64(s->x + n_train * d->cols, d->rows - n_train, d->cols);
    }
    s->train_labels = s->labels;
    s->test_labels = s->labels + n_train;
    return CLI_OK;
}

int eval_make_split(const cli_data *d, size_t train_rows, double train_fraction, uint64_t seed,
                    eval_split *s)
{
    if (!train_rows && !(train_fraction > 0)) {
        s->train = s->test = anoma_matrix_f64(d->x, d->rows, d->cols);
        s->train_frame = s->test_frame = d->features;
        s->train_labels = s->test_labels = d->labels;
        s->test_anomalies = d->n_anomalies;
        snprintf(s->text, sizeof s->text, "fit on all rows, scored on all rows");
        return CLI_OK;
    }
    size_t n_train = train_rows;
    if (train_fraction > 0)
        n_train = (size_t)llround(train_fraction * (double)d->rows);
    if (n_train == 0 || n_train >= d->rows)
        return cli_error("%zu training rows of %zu leave nothing to fit or to score", n_train,
                         d->rows);
    unsigned char *in_train = calloc(d->rows, 1);
    if (!in_train)
        return cli_error("out of memory");
    int rc = CLI_OK;
    if (train_rows)
        memset(in_train, 1, n_train);
    else if (draw_rows(in_train, d->rows, n_train, seed) != 0)
        rc = cli_error("out of memory");
    if (rc == CLI_OK)
        rc = copy_split(d, in_train, n_train, s);
    free(in_train);
    if (train_rows)
        snprintf(s->text, sizeof s->text, "fit on the first %zu rows, scored on the other %zu",
                 n_train, d->rows - n_train);
    else
        snprintf(s->text, sizeof s->text,
                 "fit on a random %g of the rows (%zu, seed %llu), scored on the other %zu",
                 train_fraction, n_train, (unsigned long long)seed, d->rows - n_train);
    size_t used = strlen(s->text);
    snprintf(s->text + used, sizeof s->text - used, " (%zu %s)", s->test_anomalies,
             s->test_anomalies == 1 ? "anomaly" : "anomalies");
    return rc;
}

void eval_split_free(eval_split *s)
{
    anoma_frame_free(s->frames[0]);
    anoma_frame_free(s->frames[1]);
    free(s->cells);
    free(s->x);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

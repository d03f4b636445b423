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

/* Copy the train rows, then the test rows, each in file order. */
static int copy_split(const cli_data *d, const unsigned char *in_train, size_t n_train,
                      eval_split *s)
{
    s->x = malloc(d->rows * d->cols * sizeof *s->x);
    s->labels = malloc(d->rows * sizeof *s->labels);
    if (!s->x || !s->labels)
        return cli_error("out of memory");
    size_t next[2] = {n_train, 0}; /* next test row, next train row */
    for (size_t i = 0; i < d->rows; i++) {
        size_t at = next[in_train[i]]++;
        memcpy(s->x + at * d->cols, d->x + i * d->cols, d->cols * sizeof *s->x);
        s->labels[at] = d->labels[i];
        s->test_anomalies += !in_train[i] && d->labels[i];
    }
    s->train = anoma_matrix_f64(s->x, n_train, d->cols);
    s->test = anoma_matrix_f64(s->x + n_train * d->cols, d->rows - n_train, d->cols);
    s->train_labels = s->labels;
    s->test_labels = s->labels + n_train;
    return CLI_OK;
}

int eval_make_split(const cli_data *d, size_t train_rows, double train_fraction, uint64_t seed,
                    eval_split *s)
{
    if (!train_rows && !(train_fraction > 0)) {
        s->train = s->test = anoma_matrix_f64(d->x, d->rows, d->cols);
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

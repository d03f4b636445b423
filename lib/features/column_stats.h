/* The part every per-column step shares: the scalers (minmax, robust,
 * maxabs) and the normalizer learn a fixed count of numbers for each
 * consumed number column and keep the column's name. This file holds their
 * `columns=` parameter, the fit loop over each column's non-missing values,
 * the payload (count, then each statistic as an array), its checks and the
 * memory count, so each step file holds only its arithmetic.
 *
 * Also the one place for scikit-learn's rule for a scale that is zero
 * (_handle_zeros_in_scale). */
#ifndef AN_FEATURES_COLUMN_STATS_H
#define AN_FEATURES_COLUMN_STATS_H

#include "features/step.h"

typedef struct an_column_stats {
    const char *step; /* the step's name, for messages (static) */
    char *columns;    /* the columns= parameter */
    size_t n_stats;   /* numbers learnt per column */
    size_t n;         /* columns */
    double *stat;     /* n_stats arrays of n: an_column_stat(cs, s)[k] */
} an_column_stats;

/* Learn the statistics of one column from its n non-missing values (n may
 * be 0; values may be reordered) into stats[0 .. n_stats). */
typedef void (*an_fit_column_fn)(const void *config, double *values, size_t n, double *stats);

/* Read columns= from params; n_stats numbers per column. */
anoma_status an_column_stats_init(an_column_stats *cs, const char *step, const an_params *params,
                                  size_t n_stats);
void an_column_stats_free(an_column_stats *cs);

/* Resolve columns= (number columns; default all of them), then fit every
 * column with fit (NULL when n_stats is 0) and declare an output of the same
 * name in its place. */
anoma_status an_column_stats_fit(an_column_stats *cs, const void *config, an_fit_column_fn fit,
                                 const an_step_fit_data *data, an_step_io *io);

/* Statistic s of every column. */
static inline double *an_column_stat(const an_column_stats *cs, size_t s)
{
    return cs->stat + s * cs->n;
}

/* The start of a per-column payload at load: check the payload version (1
 * is the only one), read the u64 column count (each column taking at least
 * min_bytes) and check it against the io, check that every input is
 * consumed and of the given type and, with one_to_one, that every input has
 * one number output. */
anoma_status an_load_column_count(const char *step, an_reader *r, uint32_t version,
                                  const an_schema *schema, const an_step_io *io,
                                  an_cell_type type, int one_to_one, size_t min_bytes);

/* Payload version 1: u64 column count, then each statistic as n doubles. */
void an_column_stats_save(const an_column_stats *cs, an_writer *w);
/* Reads what save wrote and checks it against the io: as many consumed
 * number inputs as number outputs, every statistic finite. */
anoma_status an_column_stats_load(an_column_stats *cs, an_reader *r, uint32_t version,
                                  const an_schema *schema, const an_step_io *io);
size_t an_column_stats_memory(const an_column_stats *cs);

/* scikit-learn's _handle_zeros_in_scale: a scale below 10 * DBL_EPSILON is
 * a constant column (or an all-zero row) and becomes 1, so dividing by it
 * leaves values as they are instead of blowing them up. */
double an_scale_or_one(double scale);

/* Copy the non-missing (non-NaN) values of a number column into v; returns
 * their count. */
size_t an_present_values(const an_cell *col, size_t rows, double *v);



/* Parse a `key=lo,hi` parameter (two finite numbers, lo < hi, or lo <= hi
 * when equal_ok); the error names the step, the key and the value. */
anoma_status an_parse_range(const char *step, const char *key, const char *text, int equal_ok,
                            double *lo, double *hi);
#endif

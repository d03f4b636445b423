/* The training rows of the neighbour detectors and the model's table of
 * them: see neighbor_data.h. */
#include "detectors/neighbor_data.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"
#include "core/stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Fewest training rows a neighbour detector takes: a row's neighbours
 * leave the row out, so it needs one other. */
enum { MIN_ROWS = 2 };

int an_nb_row_complete(const double *row, size_t cols)
{
    for (size_t j = 0; j < cols; j++)
        if (isnan(row[j]))
            return 0;
    return 1;
}

/* Rows per quick scan for a value that is not finite; only a block that
 * holds one is searched again for the first NaN. */
enum { COMPLETE_BLOCK_ROWS = 512 };

anoma_status an_nb_check_complete(const char *what, const double *x, size_t rows, size_t cols)
{
    for (size_t first = 0; first < rows; first += COMPLETE_BLOCK_ROWS) {
        size_t end = rows - first < COMPLETE_BLOCK_ROWS ? rows : first + COMPLETE_BLOCK_ROWS;
        if (!an_any_nonfinite(x + first * cols, (end - first) * cols))
            continue;
        for (size_t i = first; i < end; i++)
            for (size_t j = 0; j < cols; j++)
                if (isnan(x[i * cols + j]))
                    return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                                    "%s: feature %zu of row %zu is missing (NaN): distances "
                                    "need complete rows; fill missing values first, with the "
                                    "pipeline's \"imputer\" step", what, j, i);
    }
    return ANOMA_OK;
}

/* ---- one matrix ---- */

static void rows_free(an_nb_rows *rows)
{
    if (!rows)
        return;
    for (size_t a = 0; a < sizeof rows->index / sizeof *rows->index; a++)
        an_knn_free(&rows->index[a]);
    if (!rows->borrowed)
        an_free(rows->x);
    an_free(rows);
}

static size_t rows_memory(const an_nb_rows *rows)
{
    size_t bytes = sizeof *rows + (rows->borrowed ? 0 : rows->n * rows->d * sizeof(double));
    for (size_t a = 0; a < sizeof rows->index / sizeof *rows->index; a++)
        bytes += an_knn_memory(&rows->index[a]);
    return bytes;
}

/* The index for `choice`, built on first use. */
static anoma_status rows_index(an_nb_rows *rows, an_knn_algorithm choice, const an_knn_index **out)
{
    an_knn_algorithm a = an_knn_resolve(choice, rows->n, rows->d);
    if (!rows->index[a].x)
        AN_TRY(an_knn_build(&rows->index[a], rows->x, rows->n, rows->d, a));
    *out = &rows->index[a];
    return ANOMA_OK;
}

/* ---- the table ---- */

static size_t table_position(const an_nb_table *t, const an_nb_rows *rows)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i] == rows)
            return i;
    return SIZE_MAX;
}

static anoma_status table_append(an_nb_table *t, an_nb_rows *rows)
{
    an_nb_rows **grown = an_realloc_array(t->items, t->n + 1, sizeof *grown);
    if (!grown)
        return an_no_memory();
    t->items = grown;
    t->items[t->n++] = rows;
    return ANOMA_OK;
}

void an_nb_table_free(an_nb_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        rows_free(t->items[i]);
    an_free(t->items);
    memset(t, 0, sizeof *t);
}

size_t an_nb_table_memory(const an_nb_table *t)
{
    size_t bytes = t->n * sizeof *t->items;
    for (size_t i = 0; i < t->n; i++)
        bytes += rows_memory(t->items[i]);
    return bytes;
}

void an_nb_table_describe(const an_nb_table *t, an_strbuf *out)
{
    for (size_t i = 0; i < t->n; i++)
        an_strbuf_printf(out, "shared training rows %zu: %zu x %zu%s, used by %zu detector%s\n", i,
                         t->items[i]->n, t->items[i]->d,
                         t->items[i]->borrowed ? " (borrowed: the caller's matrix)" : "",
                         t->items[i]->users, t->items[i]->users == 1 ? "" : "s");
}

static void put_matrix(const an_nb_rows *rows, an_writer *w)
{
    an_put_u64(w, rows->n);
    an_put_u64(w, rows->d);
    an_put_f64_array(w, rows->x, rows->n * rows->d);
}

void an_nb_table_save(const an_nb_table *t, size_t i, an_writer *w) { put_matrix(t->items[i], w); }

/* A matrix as put_matrix writes it, checked, into a new an_nb_rows. */
static anoma_status get_matrix(an_reader *r, size_t width, an_nb_rows **out)
{
    uint64_t n = an_get_u64(r), d = an_get_u64(r);
    if (r->failed || d != width || n < MIN_ROWS || !d ||
        !an_reader_can_hold(r, n, (size_t)d * sizeof(double))) {
        an_reader_fail(r);
        return an_reader_status(r);
    }
    an_nb_rows *rows = AN_NEW_ZEROED(an_nb_rows, 1);
    if (!rows || !(rows->x = an_malloc_array((size_t)n, (size_t)d * sizeof(double)))) {
        an_free(rows);
        return an_no_memory();
    }
    rows->n = (size_t)n;
    rows->d = (size_t)d;
    an_get_f64_array(r, rows->x, rows->n * rows->d);
    if (!r->failed && an_first_not_finite(rows->x, rows->n * rows->d) < rows->n * rows->d)
        an_reader_fail(r);
    anoma_status st = an_reader_status(r);
    if (st != ANOMA_OK) {
        rows_free(rows);
        return st;
    }
    *out = rows;
    return ANOMA_OK;
}

anoma_status an_nb_table_load(an_nb_table *t, an_reader *r, size_t width)
{
    an_nb_rows *rows = NULL;
    AN_TRY(get_matrix(r, width, &rows));
    anoma_status st = r->pos == r->len
                          ? table_append(t, rows)
                          : an_error(ANOMA_ERR_FORMAT, "model file: shared rows section has "
                                     "trailing bytes");
    if (st != ANOMA_OK)
        rows_free(rows);
    return st;
}

anoma_status an_nb_table_check_used(const an_nb_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (!t->items[i]->users)
            return an_error(ANOMA_ERR_FORMAT, "model file: shared rows section %zu is used by "
                            "no detector", i);
    return ANOMA_OK;
}

/* ---- a detector's reference ---- */

void an_nb_init(an_nb_detector *s, const char *name, const an_params *params)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->n_neighbors = (size_t)an_params_int(params, "n_neighbors");
    s->keep_rows = 1;
    s->algorithm = (an_knn_algorithm)an_params_choice(params, "algorithm");
    s->borrow_rows = an_params_is(params, "rows", "borrow"); /* both callers' schemas have it */
}

void an_nb_release(an_nb_detector *s)
{
    an_nb_rows *rows = s->rows;
    s->rows = NULL;
    s->index = NULL;
    s->k = 0;
    s->n = 0;
    s->copy_pending = 0;
    if (!rows || --rows->users)
        return;
    size_t at = s->table ? table_position(s->table, rows) : SIZE_MAX;
    if (at != SIZE_MAX) { /* keep the others in order: their positions are their names */
        memmove(s->table->items + at, s->table->items + at + 1,
                (s->table->n - at - 1) * sizeof *s->table->items);
        s->table->n--;
    }
    rows_free(rows);
}

/* The table's matrix equal to x bit for bit, or NULL. A borrowed one only
 * for a detector that borrows too: one that copies did not take the
 * caller's promise. */
static an_nb_rows *find_equal(const an_nb_table *t, const double *x, size_t n, size_t d,
                              int borrowing)
{
    for (size_t i = 0; t && i < t->n; i++) {
        const an_nb_rows *rows = t->items[i];
        if ((borrowing || !rows->borrowed) && rows->n == n && rows->d == d &&
            !memcmp(rows->x, x, n * d * sizeof *x))
            return t->items[i];
    }
    return NULL;
}

/* Reference `rows` (in the table, or the detector's alone) and its index. */
static anoma_status use_rows(an_nb_detector *s, an_nb_rows *rows)
{
    rows->users++;
    s->rows = rows;
    anoma_status st = rows_index(rows, s->algorithm, &s->index);
    if (st != ANOMA_OK)
        an_nb_release(s);
    return st;
}

/* Give `built` (an index over a matrix equal bit for bit to rows->x, or
 * none: x NULL) to rows when rows has none of its kind, else free it;
 * *built is empty afterwards. An index refers to its matrix through x
 * alone: its means, norms, order, reordered values and boxes derive from
 * the values (lib/neighbors/knn.h), so it serves an equal matrix once x
 * points there, with the same answers. */
static void give_index(an_nb_rows *rows, an_knn_index *built)
{
    if (built->x && !rows->index[built->algorithm].x) {
        rows->index[built->algorithm] = *built;
        rows->index[built->algorithm].x = rows->x;
    } else {
        an_knn_free(built);
    }
    memset(built, 0, sizeof *built);
}

/* Take `fresh` (new, owned from here on): the table's equal matrix instead
 * when it has one, else fresh itself, put in the table; `built` (or NULL)
 * an index over rows equal to fresh's, given to whichever is taken. */
static anoma_status adopt(an_nb_detector *s, an_nb_rows *fresh, an_knn_index *built)
{
    an_knn_index none = {0};
    if (!built)
        built = &none;
    an_nb_rows *equal = find_equal(s->table, fresh->x, fresh->n, fresh->d, s->borrow_rows);
    if (equal) {
        rows_free(fresh);
        give_index(equal, built);
        return use_rows(s, equal);
    }
    anoma_status st = s->table ? table_append(s->table, fresh) : ANOMA_OK;
    if (st != ANOMA_OK) {
        rows_free(fresh);
        an_knn_free(built);
        return st;
    }
    give_index(fresh, built);
    return use_rows(s, fresh);
}

/* What every fit refuses: fewer than 2 rows, a missing value. */
static anoma_status check_fit_rows(const an_nb_detector *s, const an_fit_data *data)
{
    if (data->rows < MIN_ROWS)
        return an_error(ANOMA_ERR_EMPTY, "%s: fit needs at least %d rows, got n_samples = %zu",
                        s->name, MIN_ROWS, data->rows);
    char what[64];
    snprintf(what, sizeof what, "%s: fit", s->name);
    return an_nb_check_complete(what, data->x, data->rows, data->cols);
}

static void set_k(an_nb_detector *s)
{
    s->n = s->rows->n;
    s->k = s->n_neighbors < s->n - 1 ? s->n_neighbors : s->n - 1;
}

/* The caller's rows as an an_nb_rows that never frees nor writes them. */
static an_nb_rows *borrow(const an_fit_data *data)
{
    an_nb_rows *rows = AN_NEW_ZEROED(an_nb_rows, 1);
    if (!rows)
        return NULL;
    rows->x = (double *)data->x; /* only read: borrowed rows are never freed nor written */
    rows->borrowed = 1;
    rows->n = data->rows;
    rows->d = data->cols;
    return rows;
}

/* The caller's rows, searched in place: out of the table, valid during
 * the fit only. */
static anoma_status use_in_place(an_nb_detector *s, const an_fit_data *data)
{
    an_nb_rows *rows = borrow(data);
    if (!rows)
        return an_no_memory();
    return use_rows(s, rows); /* on failure use_rows frees it: it is in no table */
}

/* rows=borrow: the caller's matrix, kept, in the table; only when the
 * detector reads the caller's own memory, not a copy the model frees. */
static anoma_status use_borrowed(an_nb_detector *s, const an_fit_data *data)
{
    if (!data->x_outlives_fit)
        return an_error(ANOMA_ERR_UNSUPPORTED,
                        "%s: rows=borrow needs the caller's own matrix, but this fit gives the "
                        "detector a copy the model frees afterwards (the model has pipeline "
                        "steps, the input is a frame or float32, or its row stride is not its "
                        "column count); use rows=copy, or fit a model without steps on a "
                        "contiguous float64 matrix", s->name);
    an_nb_rows *rows = borrow(data);
    if (!rows)
        return an_no_memory();
    return adopt(s, rows, NULL); /* frees it on failure; never frees the caller's x */
}

anoma_status an_nb_fit(an_nb_detector *s, const an_fit_data *data)
{
    an_nb_release(s);
    AN_TRY(check_fit_rows(s, data));
    an_nb_rows *equal = NULL;
    if (!s->keep_rows) {
        AN_TRY(use_in_place(s, data));
    } else if ((equal = find_equal(s->table, data->x, data->rows, data->cols, s->borrow_rows))) {
        AN_TRY(use_rows(s, equal));
    } else if (s->borrow_rows) {
        AN_TRY(use_borrowed(s, data));
    } else {
        /* searched in place, copied by an_nb_fit_done once the detector
         * has freed its neighbour lists: the copy and the lists are never
         * held together */
        AN_TRY(use_in_place(s, data));
        s->copy_pending = 1;
    }
    set_k(s);
    return ANOMA_OK;
}

/* The copy of in-place rows, into the table (or its equal matrix there),
 * with `built`, the index the fit searched them with (freed on failure). */
static anoma_status copy_rows(an_nb_detector *s, const an_fit_data *data, an_knn_index *built)
{
    an_nb_rows *fresh = AN_NEW_ZEROED(an_nb_rows, 1);
    if (!fresh || !(fresh->x = an_malloc_array(data->rows, data->cols * sizeof(double)))) {
        an_free(fresh);
        an_knn_free(built);
        return an_no_memory();
    }
    memcpy(fresh->x, data->x, data->rows * data->cols * sizeof(double));
    fresh->n = data->rows;
    fresh->d = data->cols;
    return adopt(s, fresh, built);
}

anoma_status an_nb_fit_done(an_nb_detector *s, const an_fit_data *data)
{
    if (!s->rows || (s->keep_rows && !s->copy_pending))
        return ANOMA_OK;
    size_t k = s->k, n = s->n;
    int copy = s->keep_rows;
    /* the index moves to the copy rather than being built again on it */
    an_knn_index built = {0};
    if (copy) {
        an_knn_index *searched = &s->rows->index[s->index->algorithm];
        built = *searched;
        memset(searched, 0, sizeof *searched);
    }
    an_nb_release(s); /* the in-place rows first: not held with the copy */
    if (copy) {
        anoma_status st = copy_rows(s, data, &built);
        if (st != ANOMA_OK)
            return st;
    }
    s->k = k;
    s->n = n;
    return ANOMA_OK;
}

size_t an_nb_rows_count(const an_nb_detector *s) { return s->n; }

void an_nb_save(const an_nb_detector *s, an_writer *w)
{
    an_put_u64(w, s->k);
    size_t at = s->table && s->rows ? table_position(s->table, s->rows) : SIZE_MAX;
    if (!s->rows) {
        an_put_u32(w, AN_NB_NO_ROWS);
        an_put_u64(w, s->n);
    } else if (at != SIZE_MAX) {
        an_put_u32(w, (uint32_t)(at + 1));
    } else {
        an_put_u32(w, 0);
        put_matrix(s->rows, w);
    }
}

anoma_status an_nb_load(an_nb_detector *s, an_reader *r, size_t n_features, uint32_t version)
{
    an_nb_release(s);
    uint64_t k = an_get_u64(r);
    uint32_t ref = version >= 2 ? an_get_u32(r) : 0;
    AN_TRY(an_reader_status(r));
    if ((ref == AN_NB_NO_ROWS) == s->keep_rows) { /* rows where none are kept, or none */
        an_reader_fail(r);
        return an_reader_status(r);
    }
    if (ref == AN_NB_NO_ROWS) {
        uint64_t n = an_get_u64(r);
        if (r->failed || n < MIN_ROWS || n > SIZE_MAX / sizeof(double) || k < 1 || k > n - 1) {
            an_reader_fail(r);
            return an_reader_status(r);
        }
        s->n = (size_t)n;
        s->k = (size_t)k;
        return ANOMA_OK;
    }
    if (ref) {
        if (!s->table || ref > s->table->n || s->table->items[ref - 1]->d != n_features) {
            an_reader_fail(r);
            return an_reader_status(r);
        }
        AN_TRY(use_rows(s, s->table->items[ref - 1]));
    } else {
        an_nb_rows *fresh = NULL;
        AN_TRY(get_matrix(r, n_features, &fresh));
        AN_TRY(adopt(s, fresh, NULL));
    }
    if (k < 1 || k > s->rows->n - 1) {
        an_nb_release(s);
        an_reader_fail(r);
        return an_reader_status(r);
    }
    s->n = s->rows->n;
    s->k = (size_t)k;
    return ANOMA_OK;
}

anoma_status an_nb_load_values(an_nb_detector *s, an_reader *r, size_t n_features,
                               uint32_t version, size_t per_row, double **values)
{
    *values = NULL;
    AN_TRY(an_nb_load(s, r, n_features, version));
    size_t n = an_nb_rows_count(s);
    anoma_status st = ANOMA_OK;
    if (!an_reader_can_hold(r, n, per_row * sizeof(double))) {
        an_reader_fail(r);
        st = an_reader_status(r);
    } else if (!(*values = an_malloc_array(n, per_row * sizeof(double)))) {
        st = an_no_memory();
    } else {
        an_get_f64_array(r, *values, n * per_row);
        st = an_reader_status(r);
    }
    if (st != ANOMA_OK) {
        an_free(*values);
        *values = NULL;
        an_nb_release(s);
    }
    return st;
}

size_t an_nb_memory(const an_nb_detector *s)
{
    return s->rows && !s->table ? rows_memory(s->rows) : 0;
}

void an_nb_describe(const an_nb_detector *s, const char *extra, an_strbuf *out)
{
    if (!s->rows) {
        an_strbuf_printf(out, "  training rows: none kept (keep_rows=false: %zu rows searched in "
                         "place at fit; scores no new rows), k = %zu neighbours%s\n", s->n, s->k,
                         extra);
        return;
    }
    size_t at = s->table ? table_position(s->table, s->rows) : SIZE_MAX;
    an_strbuf_printf(out, "  training rows: %zu x %zu", s->rows->n, s->rows->d);
    if (at != SIZE_MAX)
        an_strbuf_printf(out, " (shared rows %zu)", at);
    if (s->rows->borrowed)
        an_strbuf_printf(out, " (borrowed: the caller's matrix)");
    an_strbuf_printf(out, ", k = %zu neighbours%s, search: %s\n", s->k, extra,
                     s->index->algorithm == AN_KNN_KD_TREE  ? "kd_tree"
                     : an_knn_is_small(s->index)            ? "small-set scan"
                     : s->index->algorithm == AN_KNN_SORTED ? "sorted column"
                                                            : "brute");
}

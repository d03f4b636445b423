/* The training rows of the detectors that search neighbours (lof, knn):
 * the part of their state they share, and the model's table that holds
 * each training matrix once.
 *
 * an_nb_rows is one training matrix (n x d, owned, or the caller's with
 * rows=borrow: docs/detectors/lof.md) with its k-NN indexes,
 * one per search algorithm, each built the first time a detector asks for
 * it; an index borrows the matrix (lib/neighbors/knn.h). A model keeps
 * every matrix in one an_nb_table: a detector fitted (or loaded) on rows
 * equal bit for bit to a matrix already in the table takes a reference to
 * it instead of a copy, so a model with lof and knn (or two knn) fitted on
 * the same pipeline output holds one matrix and one index per algorithm,
 * saves the matrix once (a SHARED_ROWS section, docs/model-format.md) and
 * loads it once. A matrix leaves the table with its last user. The table
 * changes only while its model is fitted, loaded or freed, which one
 * owner does; scoring only reads it, from any thread.
 *
 * an_nb_detector is what lof and knn keep of it: the parameters
 * n_neighbors and algorithm, the effective k, and the reference to the
 * rows, with fit, save, load and describe written once here. Missing
 * values are refused (docs/neighbors.md): a distance with a hole in it has
 * no one meaning, and the pipeline's "imputer" step fills them first. */
#ifndef AN_DETECTORS_NEIGHBOR_DATA_H
#define AN_DETECTORS_NEIGHBOR_DATA_H

#include "detectors/detector.h"
#include "neighbors/knn.h"

typedef struct an_nb_rows {
    double *x; /* n x d, owned, or the caller's (borrowed): a fit in place, or rows=borrow */
    int borrowed;
    size_t n, d;
    size_t users; /* detectors holding a reference */
    /* by resolved algorithm (AN_KNN_BRUTE, AN_KNN_KD_TREE, AN_KNN_SORTED, AN_KNN_SMALL, AN_KNN_SMALL_WIDE); x NULL = not built */
    an_knn_index index[AN_KNN_ALGORITHMS];
} an_nb_rows;

typedef struct an_nb_table {
    an_nb_rows **items;
    size_t n;
} an_nb_table;

/* Frees every matrix left (each user has released its own by then). */
void an_nb_table_free(an_nb_table *t);
/* Bytes of the matrices and their indexes. */
size_t an_nb_table_memory(const an_nb_table *t);
/* One line per matrix, for anoma inspect. */
void an_nb_table_describe(const an_nb_table *t, an_strbuf *out);
/* The SHARED_ROWS payload of matrix i: u64 n, u64 d, then n x d f64. */
void an_nb_table_save(const an_nb_table *t, size_t i, an_writer *w);
/* Append the matrix of a SHARED_ROWS payload, with no user yet: n >= 2,
 * d == width, every value finite, the payload used whole. */
anoma_status an_nb_table_load(an_nb_table *t, an_reader *r, size_t width);
/* ANOMA_ERR_FORMAT naming the first matrix no detector references (a
 * file's sections must all be used). */
anoma_status an_nb_table_check_used(const an_nb_table *t);

typedef struct an_nb_detector {
    const char *name; /* the detector's, for messages */
    size_t n_neighbors;
    an_knn_algorithm algorithm;
    size_t k;           /* effective: min(n_neighbors, n - 1) */
    size_t n;           /* training rows, kept or not */
    /* 1 (knn, lof's default): fit copies the rows and keeps them. 0 (lof
     * keep_rows=false): fit searches the caller's rows in place and
     * an_nb_fit_done forgets them; the detector then keeps k and n only,
     * and cannot search. A copy of n x d doubles was most of such a fit's
     * peak memory, for rows it never searches again. */
    int keep_rows;
    /* rows=borrow (with keep_rows): the kept rows are the caller's matrix
     * itself, which the caller promises outlives the model unchanged; in
     * the table like a copy, so saved the same way, and owned once loaded.
     * Only where the fit reads the caller's own memory
     * (an_fit_data.x_outlives_fit), else fit refuses it. */
    int borrow_rows;
    /* Set by an_nb_fit when the rows are to be copied but are searched in
     * place first: an_nb_fit_done makes the copy, after the detector has
     * freed its neighbour lists, so the two are never held at once. */
    int copy_pending;
    an_nb_table *table; /* the model's; NULL: the rows are this detector's alone */
    an_nb_rows *rows;   /* NULL until fitted or loaded */
    const an_knn_index *index; /* over rows, for `algorithm` */
} an_nb_detector;

/* Whether the row (cols values) has no missing value: the row paths,
 * which cannot fail, score a row with one NaN. */
int an_nb_row_complete(const double *row, size_t cols);
/* ANOMA_ERR_INVALID_ARGUMENT naming the first missing value's column and
 * row, with the advice to impute; `what` names the detector and the call. */
anoma_status an_nb_check_complete(const char *what, const double *x, size_t rows, size_t cols);

/* The schema entry of the detectors that keep rows ("rows"). */
#define AN_NB_ROWS_PARAM                                                                   \
    {"rows", ANOMA_PARAM_CHOICE, 0, 0, "copy", "copy|borrow",                                \
     "copy: the model keeps its own copy of the training rows; borrow: it references the "   \
     "caller's matrix, which must outlive the model unchanged (a contiguous float64 matrix " \
     "given to a model without pipeline steps; refused otherwise); saving writes the rows"}

/* Unfitted, from the parameters n_neighbors, algorithm and rows (every
 * schema has it); keep_rows 1. */
void an_nb_init(an_nb_detector *s, const char *name, const an_params *params);
/* Drop the reference to the rows: unfitted again. */
void an_nb_release(an_nb_detector *s);
/* The training rows (at least 2 complete ones, else an error naming the
 * detector), their index, and k. The table's equal matrix when it has one;
 * else with borrow_rows the caller's matrix, put in the table (refused with
 * ANOMA_ERR_UNSUPPORTED unless data->x_outlives_fit); else data->x itself,
 * out of the table, valid during the fit only: an_nb_fit_done then copies
 * it into the table (keep_rows) or forgets it. */
anoma_status an_nb_fit(an_nb_detector *s, const an_fit_data *data);
/* The detector's fit has searched what it needs and freed its lists:
 * with keep_rows, rows still searched in place are copied into the table
 * with the index the fit searched, not built again (an index depends on
 * its matrix's values alone: the same answers); without, the caller's
 * rows and their index are dropped, keeping k and n. On failure (no
 * memory) the rows are released: the detector clears itself. */
anoma_status an_nb_fit_done(an_nb_detector *s, const an_fit_data *data);
/* Training rows, kept or not (0 unfitted). */
size_t an_nb_rows_count(const an_nb_detector *s);

/* Payload, version 2: u64 k, then u32 rows: r >= 1 is the table's matrix
 * r - 1 (the model's r-th SHARED_ROWS section), 0 the matrix inline as
 * SHARED_ROWS holds it, AN_NB_NO_ROWS none kept (keep_rows 0), u64 n
 * following. Saved with a table the reference, else inline. Version 1
 * (libanoma before 0.2.0 shared rows): u64 k, the matrix inline. A
 * detector that keeps rows refuses AN_NB_NO_ROWS, and one that does not
 * refuses rows: the payload matches the parameter. */
#define AN_NB_NO_ROWS UINT32_MAX
void an_nb_save(const an_nb_detector *s, an_writer *w);
/* Either version back, every count checked: the reference in range, or
 * the inline matrix as an_nb_table_load checks it, taken into the table
 * (shared when an equal one is there); 1 <= k <= n - 1; the index built. */
anoma_status an_nb_load(an_nb_detector *s, an_reader *r, size_t n_features, uint32_t version);
/* an_nb_load, then the n x per_row doubles a detector keeps per training
 * row, into *values (new, the caller's to an_free; its own checks of them
 * follow). On failure nothing is held: *values NULL, the rows released. */
anoma_status an_nb_load_values(an_nb_detector *s, an_reader *r, size_t n_features,
                               uint32_t version, size_t per_row, double **values);

/* Bytes the detector holds of the rows: none when they are in the model's
 * table (the model counts them once), the matrix and index otherwise. */
size_t an_nb_memory(const an_nb_detector *s);
/* "  training rows: n x d (shared matrix i), k = K neighbours<extra>, search: S\n" */
void an_nb_describe(const an_nb_detector *s, const char *extra, an_strbuf *out);

#endif

/* The training matrix and k-NN index of a detector that searches neighbours
 * (lof, knn), written once.
 *
 * The matrix is the detector's whole memory of the data: the index only
 * borrows it (lib/neighbors/knn.h). Today each such detector owns a copy
 * and saves it in its payload; the index is rebuilt on load, never saved.
 * The model's shared-resource section (DESIGN.md, "Shared resources") will
 * hold one matrix for every detector of a model fitted on the same rows;
 * this struct is the unit it will store and hand to each detector, which is
 * why nothing here depends on the detector's own parameters. Missing values
 * are refused (docs/neighbors.md): a distance with a hole in it has no one
 * meaning, and the pipeline's "imputer" step fills them first. */
#ifndef AN_DETECTORS_NEIGHBOR_DATA_H
#define AN_DETECTORS_NEIGHBOR_DATA_H

#include "detectors/detector.h"
#include "neighbors/knn.h"

typedef struct an_nb_data {
    double *x; /* n x d, owned */
    size_t n, d;
    an_knn_index index;
} an_nb_data;

/* ANOMA_ERR_INVALID_ARGUMENT naming the first missing value's column and
 * row, with the advice to impute; `what` names the detector and the call. */
anoma_status an_nb_check_complete(const char *what, const double *x, size_t rows, size_t cols);

/* Copy the training rows (at least min_rows of them, else
 * ANOMA_ERR_EMPTY naming the detector) and build the index. */
anoma_status an_nb_data_fit(an_nb_data *s, const char *detector, const an_fit_data *data,
                            size_t min_rows, an_knn_algorithm algorithm);
void an_nb_data_free(an_nb_data *s);
size_t an_nb_data_memory(const an_nb_data *s);

/* u64 n, u64 d, then n x d f64. */
void an_nb_data_save(const an_nb_data *s, an_writer *w);
/* The same back, d == n_features and n >= min_rows, every value finite,
 * and the index rebuilt. */
anoma_status an_nb_data_load(an_nb_data *s, an_reader *r, size_t n_features, size_t min_rows,
                             an_knn_algorithm algorithm);

#endif

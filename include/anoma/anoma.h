/**
 * @file anoma.h
 * @brief libanoma: embeddable anomaly detection. Include this one header.
 *
 * @code
 * anoma_model *m;
 * anoma_model_create("contamination=0.05", &m);
 * anoma_model_add_detector(m, "zscore", NULL, NULL);
 * anoma_matrix x = anoma_matrix_f64(data, rows, cols);
 * if (anoma_model_fit(m, &x, NULL, NULL) != ANOMA_OK)
 *     fprintf(stderr, "%s\n", anoma_last_error());
 * anoma_model_score(m, &x, scores);   // higher = more anomalous
 * anoma_model_save(m, "model.anoma");
 * anoma_model_free(m);
 * @endcode
 *
 * - common.h  status codes, errors, versions, allocator
 * - data.h    matrix views and frames
 * - params.h  parameter schemas of every component
 * - model.h   the model bundle: fit, score, predict, save, load, row scoring
 * - pipeline.h the model's feature pipeline: steps, frames in, typed rows
 * - metrics.h ROC AUC, average precision, confusion, best F1
 * - csv.h     CSV reader
 * - file.h    saving bytes to a file atomically, as the library saves models
 * - stream.h  real-time scoring of many entities
 * - sequence.h batch scoring of series with a sequence detector
 */
#ifndef ANOMA_ANOMA_H
#define ANOMA_ANOMA_H

#include "common.h"
#include "data.h"
#include "params.h"
#include "model.h"
#include "pipeline.h"
#include "metrics.h"
#include "csv.h"
#include "progress.h"
#include "file.h"
#include "stream.h"
#include "sequence.h"

#endif /* ANOMA_ANOMA_H */

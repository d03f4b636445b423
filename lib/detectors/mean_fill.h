/* Missing values replaced by their feature's training mean, for the
 * detectors that need complete rows (ocsvm, ocsvm_sgd), written once.
 *
 * The fill values are learnt at fit time and kept in the detector's
 * payload, so that training and scoring replace a missing value alike; data
 * without missing values is used as it is. */
#ifndef AN_DETECTORS_MEAN_FILL_H
#define AN_DETECTORS_MEAN_FILL_H

#include "detectors/detector.h"

/* fill[j] = the mean of feature j over the training rows where it is
 * present (numpy's nanmean); ANOMA_ERR_EMPTY naming `detector` and the
 * feature when it has no value at all. */
anoma_status an_mean_fill_fit(const char *detector, const an_fit_data *data, double *fill);

/* out = the rows x cols values of x, each NaN replaced by its feature's
 * fill value (out may be x). */
void an_mean_fill_rows(const double *fill, const double *x, size_t rows, size_t cols,
                       double *out);

#endif

/* The table of detectors. Adding a detector adds one line here. */
#include "detectors/detector.h"

#include <string.h>

extern const an_detector_vtable an_zscore_detector;
extern const an_detector_vtable an_mad_detector;
extern const an_detector_vtable an_iqr_detector;
extern const an_detector_vtable an_iforest_detector;
extern const an_detector_vtable an_lof_detector;
extern const an_detector_vtable an_knn_detector;
extern const an_detector_vtable an_ocsvm_detector;
extern const an_detector_vtable an_seq_autoencoder_detector;
extern const an_detector_vtable an_ocsvm_sgd_detector;
extern const an_detector_vtable an_mahalanobis_detector;
extern const an_detector_vtable an_pca_detector;
extern const an_detector_vtable an_kmeans_detector;
extern const an_detector_vtable an_gbt_detector;
extern const an_detector_vtable an_autoencoder_detector;

static const an_detector_vtable *const detectors[] = {
    &an_zscore_detector,
    &an_mad_detector,
    &an_iqr_detector,
    &an_iforest_detector,
    &an_lof_detector,
    &an_knn_detector,
    &an_ocsvm_detector,
    &an_seq_autoencoder_detector,
    &an_ocsvm_sgd_detector,
    &an_mahalanobis_detector,
    &an_pca_detector,
    &an_kmeans_detector,
    &an_gbt_detector,
    &an_autoencoder_detector,
};

const an_detector_vtable *an_detector_at(size_t index)
{
    return index < sizeof detectors / sizeof *detectors ? detectors[index] : NULL;
}

const an_detector_vtable *an_detector_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; an_detector_at(i); i++)
        if (!strcmp(detectors[i]->name, name))
            return detectors[i];
    return NULL;
}

size_t an_detector_scratch_bytes(const an_detector_vtable *vt, const void *state)
{
    return vt->scratch_bytes ? vt->scratch_bytes(state) : 0;
}

size_t an_detector_scratch_align(const an_detector_vtable *vt)
{
    return vt->scratch_align ? vt->scratch_align : _Alignof(double);
}

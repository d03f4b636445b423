/* The members' scores beside the combined one: each detector's raw score
 * and its normalised score (what the combination reads; for a vote, the
 * normalisation's value, the decision being raw > the member's threshold). */
#include "model/model.h"
#include "anoma/pipeline.h"
#include "core/alloc.h"
#include "core/error.h"

/* Rows of the detectors' input x into rows x n_detectors raw and
 * normalised values (either may be NULL). */
static anoma_status member_rows(const anoma_model *m, const double *x, size_t rows, double *raw,
                                double *normalized)
{
    size_t n = m->n_detectors;
    double *block = AN_NEW_ARRAY(double, rows ? rows : 1);
    if (!block)
        return an_no_memory();
    anoma_status st = ANOMA_OK;
    for (size_t k = 0; k < n && st == ANOMA_OK; k++) {
        st = an_model_raw_scores(m, k, x, rows, block);
        for (size_t i = 0; st == ANOMA_OK && i < rows; i++) {
            if (raw)
                raw[i * n + k] = block[i];
            if (normalized)
                normalized[i * n + k] = an_ensemble_normalized(m, k, block[i]);
        }
    }
    an_free(block);
    return st;
}

static anoma_status member_input(const anoma_model *m, const an_input *in, double *raw,
                                 double *normalized)
{
    const double *dense;
    double *owned;
    AN_TRY(an_model_features(m, in, &dense, &owned));
    anoma_status st = member_rows(m, dense, in->rows, raw, normalized);
    an_free(owned);
    return st;
}

anoma_status anoma_model_member_scores(const anoma_model *m, const anoma_matrix *x, double *raw,
                                       double *normalized)
{
    static const char fn[] = "anoma_model_member_scores";
    AN_TRY(an_model_check_input(m, x, fn));
    if (!raw && !normalized && x->rows)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: no output array (raw and normalized "
                        "are both NULL)", fn);
    an_input in = {x, NULL, x->rows};
    return member_input(m, &in, raw, normalized);
}

anoma_status anoma_model_member_scores_frame(const anoma_model *m, const anoma_frame *f,
                                             double *raw, double *normalized)
{
    an_input in;
    an_input_column *columns;
    AN_TRY(an_model_frame_input(m, f, raw ? raw : normalized, "anoma_model_member_scores_frame",
                                &in, &columns));
    anoma_status st = member_input(m, &in, raw, normalized);
    an_free(columns);
    return st;
}

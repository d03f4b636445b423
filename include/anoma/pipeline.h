/**
 * @file pipeline.h
 * @brief A model's feature pipeline: steps that turn typed columns (numbers,
 * text, timestamps) into the number columns the detectors read.
 *
 * Steps are added to an unfitted model by name with `key=value` parameters,
 * in order, and fitted with the model: each step on the full training output
 * of the step before it, then the detectors on the last step's output.
 * @code
 * anoma_model_add_step(m, "one_hot", "columns=device", NULL);
 * anoma_model_add_step(m, "standard_scaler", "columns=amount,clicks", NULL);
 * anoma_model_add_detector(m, "iforest", NULL, NULL);
 * anoma_model_fit_frame(m, frame, NULL, NULL);
 * anoma_model_score_frame(m, frame, scores);
 * @endcode
 *
 * Two widths: the *input* width (anoma_model_n_features(): the columns a
 * caller passes, with anoma_model_feature_name() and
 * anoma_model_input_type()) and the *output* width (anoma_model_n_outputs():
 * the columns the detectors see, with anoma_model_output_name(), such as
 * "device=web"). Without steps they are the same columns.
 *
 * Frames are matched to the input schema by column name: extra frame columns
 * are ignored, a missing one is an error naming it, and a column of the wrong
 * type is an error naming the column and the type expected (a number column
 * takes a double or int64 frame column). Matrices are accepted whenever every
 * input column is a number; without names set (anoma_model_set_feature_names())
 * the columns of a matrix are called x0, x1, ...
 *
 * The steps, their parameters and exact formulas: docs/features.md; the
 * component listing of params.h (::ANOMA_KIND_STEP) names them.
 */
#ifndef ANOMA_PIPELINE_H
#define ANOMA_PIPELINE_H

#include "common.h"
#include "data.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief One value of a typed row, for anoma_row_scorer_score_values().
 * Frozen layout: 8 bytes.
 *
 * Which member is read follows the model's input type of that column
 * (anoma_model_input_type()): ::ANOMA_COL_DOUBLE reads `number` (NaN =
 * missing), ::ANOMA_COL_STRING reads `text` (NULL = missing; not copied, read
 * only during the call), ::ANOMA_COL_TIMESTAMP reads `timestamp` (seconds
 * since 1970-01-01 UTC).
 * @since 0.2.0
 */
typedef union anoma_value {
    double number;     /**< a number column's value */
    int64_t timestamp; /**< a timestamp column's value */
    const char *text;  /**< a text column's value */
} anoma_value;

/**
 * @brief Append a pipeline step to an unfitted model.
 * @param model an unfitted model.
 * @param step the step's name, such as "standard_scaler" (see
 *        anoma_component_name() with ::ANOMA_KIND_STEP).
 * @param params `key=value` text (NULL or "" for the defaults), such as
 *        "columns=amount,clicks".
 * @param index receives the step's position (may be NULL).
 * @return ::ANOMA_OK; ::ANOMA_ERR_UNKNOWN_NAME (the message lists the known
 *         steps); ::ANOMA_ERR_UNKNOWN_PARAM, ::ANOMA_ERR_PARAM_VALUE (naming
 *         the key); ::ANOMA_ERR_UNSUPPORTED on a fitted model;
 *         ::ANOMA_ERR_INVALID_ARGUMENT, ::ANOMA_ERR_NO_MEMORY. On error the
 *         model is unchanged.
 * @note Not thread-safe: single-owner, like every change to a model.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_add_step(anoma_model *model, const char *step,
                                            const char *params, size_t *index);

/** @brief Number of pipeline steps. @since 0.2.0 */
ANOMA_API size_t anoma_model_n_steps(const anoma_model *model);

/**
 * @brief Name of step @p index ("one_hot", ...), or NULL for a bad index.
 * The string is static. @since 0.2.0
 */
ANOMA_API const char *anoma_model_step_name(const anoma_model *model, size_t index);

/**
 * @brief Step @p index's parameters as `key=value` text, every key included.
 * @param model the model.
 * @param index step position.
 * @param buf receives the text, cut to @p cap bytes with a NUL (may be NULL
 *        when @p cap is 0).
 * @param cap size of @p buf.
 * @param needed receives the full length without the NUL (may be NULL).
 * @return ::ANOMA_OK, ::ANOMA_ERR_INVALID_ARGUMENT (NULL model or bad index),
 *         ::ANOMA_ERR_NO_MEMORY.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_step_params(const anoma_model *model, size_t index,
                                               char *buf, size_t cap, size_t *needed);

/**
 * @brief Fit the pipeline, the detectors and the threshold on a frame.
 *
 * The input schema is the frame's columns in order, or, when names were set
 * with anoma_model_set_feature_names(), those columns taken from the frame
 * by name. Column types: double and int64 columns are numbers, string
 * columns text, timestamp columns timestamps.
 * @param model an unfitted model with at least one detector.
 * @param frame the training data.
 * @param labels NULL or one 0/1 value per row (supervised detectors).
 * @param weights NULL or one non-negative weight per row.
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT for a missing column, a
 *         step's bad `columns=` or a text or timestamp column left after the
 *         last step (naming it); ::ANOMA_ERR_NONFINITE for an infinite
 *         number (naming column and row); ::ANOMA_ERR_EMPTY; the errors of
 *         anoma_model_fit(). On error the model stays unfitted.
 * @note Not thread-safe: single-owner.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_fit_frame(anoma_model *model, const anoma_frame *frame,
                                             const int *labels, const double *weights);

/**
 * @brief Anomaly scores of each row of a frame (higher = more anomalous).
 * @param model a fitted model.
 * @param frame rows to score; columns matched by name (see the file comment).
 * @param scores receives anoma_frame_rows() values.
 * @return ::ANOMA_OK; ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_INVALID_ARGUMENT
 *         for a missing column, a column of the wrong type, or a step's
 *         run-time error such as an unseen category with `unseen=error`
 *         (naming column and row); ::ANOMA_ERR_NONFINITE;
 *         ::ANOMA_ERR_NO_MEMORY.
 * @note Thread-safe on a fitted model.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_score_frame(const anoma_model *model,
                                               const anoma_frame *frame, double *scores);

/**
 * @brief 0/1 decisions for each row of a frame: 1 when the score is strictly
 * above the threshold. Errors as anoma_model_score_frame().
 * @param model a fitted model.
 * @param frame rows to decide.
 * @param out receives anoma_frame_rows() values.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_predict_frame(const anoma_model *model,
                                                 const anoma_frame *frame, int *out);

/**
 * @brief Per-feature scores of each row of a frame for one detector, one
 * value per output column: the explanation of a model with steps, in terms
 * of the derived features the detector saw ("device=Mobile", "hour_sin").
 *
 * Column j of a row's values belongs to anoma_model_output_name(model, j);
 * what a value means is the detector's own (for z-score |x - mean| / std,
 * for the isolation forest the feature's share of the row's isolation;
 * see docs/detectors). The frame goes through the steps as in
 * anoma_model_score_frame(), so window features start each entity empty.
 * @param model a fitted model.
 * @param index detector position (anoma_model_detector_name()).
 * @param frame rows to explain; columns matched by name.
 * @param out receives anoma_frame_rows() x anoma_model_n_outputs() values,
 *        row-major, caller-owned.
 * @return ::ANOMA_OK; ::ANOMA_ERR_UNSUPPORTED when the detector has no
 *         per-feature scores (::ANOMA_FLAG_FEATURE_SCORES);
 *         ::ANOMA_ERR_INVALID_ARGUMENT for a bad index; the errors of
 *         anoma_model_score_frame().
 * @note Thread-safe on a fitted model.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_feature_scores_frame(const anoma_model *model, size_t index,
                                                        const anoma_frame *frame, double *out);

/**
 * @brief The pipeline's output for each row of a frame: what the detectors see.
 * @param model a fitted model.
 * @param frame rows to transform.
 * @param out receives anoma_frame_rows() x anoma_model_n_outputs() values,
 *        row-major.
 * @return as anoma_model_score_frame().
 * @note Thread-safe on a fitted model.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_transform_frame(const anoma_model *model,
                                                   const anoma_frame *frame, double *out);

/**
 * @brief The pipeline's output for each row of a matrix (every input a number).
 * @param model a fitted model.
 * @param x rows x anoma_model_n_features() values.
 * @param out receives rows x anoma_model_n_outputs() values, row-major.
 * @return as anoma_model_score().
 * @note Thread-safe on a fitted model.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_transform(const anoma_model *model, const anoma_matrix *x,
                                             double *out);

/**
 * @brief Type of input column @p index of a fitted model.
 * @param model a fitted model.
 * @param index input column, below anoma_model_n_features().
 * @param type receives ::ANOMA_COL_DOUBLE (a number), ::ANOMA_COL_STRING
 *        (text) or ::ANOMA_COL_TIMESTAMP.
 * @return ::ANOMA_OK, ::ANOMA_ERR_NOT_FITTED, ::ANOMA_ERR_INVALID_ARGUMENT.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_input_type(const anoma_model *model, size_t index,
                                              anoma_column_type *type);

/**
 * @brief Name of input column @p index of a fitted model ("x0", ... for a
 * matrix fitted without names), or NULL for a bad index. Owned by the model.
 * @since 0.2.0
 */
ANOMA_API const char *anoma_model_input_name(const anoma_model *model, size_t index);

/**
 * @brief Number of columns the detectors see (the pipeline's output), 0
 * before fitting. Equals anoma_model_n_features() without steps.
 * @since 0.2.0
 */
ANOMA_API size_t anoma_model_n_outputs(const anoma_model *model);

/**
 * @brief Name of output column @p index ("device=web", "amount", ...), or
 * NULL for a bad index. Owned by the model.
 * @since 0.2.0
 */
ANOMA_API const char *anoma_model_output_name(const anoma_model *model, size_t index);

/**
 * @brief Score one typed row: the single-row form of
 * anoma_model_score_frame(). Allocates nothing.
 * @param scorer a scorer from anoma_row_scorer_create().
 * @param row @p n values in input order, each read as the column's input
 *        type says (see ::anoma_value).
 * @param n must equal anoma_model_n_features().
 * @param score receives the score (higher = more anomalous).
 * @param is_anomaly receives 1 when above the threshold, else 0 (may be NULL).
 * @return ::ANOMA_OK, ::ANOMA_ERR_SHAPE, ::ANOMA_ERR_NONFINITE,
 *         ::ANOMA_ERR_INVALID_ARGUMENT (a NULL argument, or a step's
 *         run-time error such as an unseen category with `unseen=error`).
 * @note A scorer is single-owner; create one per thread.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_row_scorer_score_values(anoma_row_scorer *scorer,
                                                     const anoma_value *row, size_t n,
                                                     double *score, int *is_anomaly);

/**
 * @brief Score one typed row and explain it: the score as
 * anoma_row_scorer_score_values() gives it and detector @p index's
 * per-feature scores of the same row, from one pass through the steps.
 *
 * One pass matters for a model with stateful steps (window features, time
 * since an entity's previous row): a scorer continues each entity's history
 * row by row, so scoring a row and then explaining it in a second call would
 * fold the row into the history twice. Allocates nothing.
 * @param scorer a scorer from anoma_row_scorer_create().
 * @param index detector position in the model.
 * @param row @p n values in input order (see ::anoma_value).
 * @param n must equal anoma_model_n_features().
 * @param score receives the model's score (higher = more anomalous).
 * @param is_anomaly receives 1 when above the threshold, else 0 (may be NULL).
 * @param feature_scores receives anoma_model_n_outputs() values, one per
 *        output column (anoma_model_output_name()), caller-owned.
 * @return ::ANOMA_OK; ::ANOMA_ERR_UNSUPPORTED when the detector has no
 *         per-feature scores; ::ANOMA_ERR_INVALID_ARGUMENT (a NULL argument,
 *         a bad index, or a step's run-time error); ::ANOMA_ERR_SHAPE;
 *         ::ANOMA_ERR_NONFINITE. On error the row is not scored.
 * @note A scorer is single-owner; create one per thread.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_row_scorer_explain_values(anoma_row_scorer *scorer, size_t index,
                                                       const anoma_value *row, size_t n,
                                                       double *score, int *is_anomaly,
                                                       double *feature_scores);

/**
 * @brief Every detector's raw and normalised score of one typed row: the
 * single-row form of anoma_model_member_scores() on a frame. Allocates nothing.
 *
 * With stateful steps the row is folded into its entity's history, as
 * scoring it would: call this instead of anoma_row_scorer_score_values(),
 * not after it.
 * @param scorer a scorer from anoma_row_scorer_create().
 * @param row @p n values in input order (see ::anoma_value).
 * @param n must equal anoma_model_n_features().
 * @param raw receives anoma_model_n_detectors() raw scores, or NULL.
 * @param normalized receives anoma_model_n_detectors() normalised scores,
 *        or NULL (not both NULL).
 * @return ::ANOMA_OK, ::ANOMA_ERR_SHAPE, ::ANOMA_ERR_NONFINITE,
 *         ::ANOMA_ERR_INVALID_ARGUMENT (a NULL argument, or a step's
 *         run-time error).
 * @note A scorer is single-owner; create one per thread.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_row_scorer_member_scores_values(anoma_row_scorer *scorer,
                                                             const anoma_value *row, size_t n,
                                                             double *raw, double *normalized);

/**
 * @brief Score one typed row with its anomaly probability and confidence:
 * the single-row form of anoma_model_probability_frame(). Allocates nothing.
 * @param scorer a scorer from anoma_row_scorer_create().
 * @param row @p n values in input order (see ::anoma_value).
 * @param n must equal anoma_model_n_features().
 * @param score receives the score, as anoma_row_scorer_score_values().
 * @param is_anomaly receives 1 when above the threshold, else 0 (may be NULL).
 * @param probability receives the probability (may be NULL).
 * @param confidence receives the confidence (may be NULL).
 * @return as anoma_row_scorer_score_values(), and ::ANOMA_ERR_UNSUPPORTED
 *         when the model learned no probability (checked before the row is
 *         scored, so a stateful step does not see it).
 * @note A scorer is single-owner; create one per thread.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_row_scorer_score_probability_values(anoma_row_scorer *scorer,
                                                                 const anoma_value *row, size_t n,
                                                                 double *score, int *is_anomaly,
                                                                 double *probability,
                                                                 double *confidence);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_PIPELINE_H */

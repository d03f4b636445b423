/**
 * @file model.h
 * @brief The model bundle: feature pipeline, detectors, score combination and
 * threshold, in one handle that fits, scores, saves and loads.
 *
 * A model is built empty with anoma_model_create(), given one or more
 * detectors with anoma_model_add_detector(), then fitted. Scores follow one
 * convention for every detector: **higher = more anomalous**. With several
 * detectors, each detector's scores are normalised on the training data and
 * combined (the `normalize`, `ensemble` and `weights` parameters;
 * anoma_model_member_scores() gives the members' scores). The threshold comes
 * from the `contamination` rate at fit time or is set explicitly; a row is an
 * anomaly when its score is strictly greater than the threshold.
 *
 * Thread safety: a fitted model is immutable and may be scored from many
 * threads at once. Creation, configuration, fitting and freeing are
 * single-owner. A row scorer (anoma_row_scorer) is single-owner.
 */
#ifndef ANOMA_MODEL_H
#define ANOMA_MODEL_H

#include "common.h"
#include "data.h"
#include "progress.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A model bundle. @since 0.1.0 */
typedef struct anoma_model anoma_model;

/**
 * @brief Create an empty, unfitted model.
 * @param params model parameters as `key=value` text (NULL or "" for the
 *        defaults); see anoma_component_param(ANOMA_KIND_MODEL, "model", ...).
 * @param out receives the model; free it with anoma_model_free().
 * @return ::ANOMA_OK, ::ANOMA_ERR_UNKNOWN_PARAM, ::ANOMA_ERR_PARAM_VALUE
 *         (also for both `contamination` and `threshold` given, see
 *         anoma_model_set_param()), ::ANOMA_ERR_NO_MEMORY,
 *         ::ANOMA_ERR_INVALID_ARGUMENT.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_create(const char *params, anoma_model **out);

/** @brief Free a model; accepts NULL. @since 0.1.0 */
ANOMA_API void anoma_model_free(anoma_model *model);

/**
 * @brief Add a detector to an unfitted model.
 * @param model the model (not fitted yet).
 * @param detector detector name, such as "zscore"; list them with
 *        anoma_component_name(ANOMA_KIND_DETECTOR, i).
 * @param params detector parameters as `key=value` text, or NULL.
 * @param index receives the detector's position in the model (may be NULL).
 * @return ::ANOMA_OK, ::ANOMA_ERR_UNKNOWN_NAME, ::ANOMA_ERR_UNKNOWN_PARAM,
 *         ::ANOMA_ERR_PARAM_VALUE, ::ANOMA_ERR_UNSUPPORTED (model already
 *         fitted), ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_add_detector(anoma_model *model, const char *detector,
                                                const char *params, size_t *index);

/**
 * @brief Add a detector that is already fitted, from its saved state.
 *
 * The way exporters bring models trained elsewhere (such as scikit-learn
 * isolation forests) into libanoma: @p state is the detector's payload, laid
 * out as its page in docs/detectors/ describes, and is checked as strictly as
 * a model file. Into an empty model (no steps, no other detector) the import
 * is the whole model: the model is fitted at once, with this one detector,
 * no normalisation and @p n_features input columns, and it needs a fixed
 * `threshold` parameter or `contamination=auto` (there is no training data
 * to take a quantile of). Into a model with steps or other detectors the
 * imported detector waits for anoma_model_fit() (or _fit_frame()), which
 * fits the steps and the other detectors, refuses with ::ANOMA_ERR_SHAPE a
 * pipeline whose output width is not @p n_features, and learns the
 * normalisation and threshold with all detectors (docs/model.md,
 * "Importing a fitted detector").
 * @param model an unfitted model.
 * @param detector detector name, such as "iforest".
 * @param params detector parameters as `key=value` text, or NULL.
 * @param state the payload bytes (copied as needed; the caller keeps them).
 * @param size number of bytes at @p state.
 * @param n_features input width the detector was fitted on.
 * @return ::ANOMA_OK; ::ANOMA_ERR_UNSUPPORTED (threshold=auto with a
 *         contamination rate into an empty model; the model is fitted);
 *         ::ANOMA_ERR_UNKNOWN_NAME; ::ANOMA_ERR_UNKNOWN_PARAM;
 *         ::ANOMA_ERR_PARAM_VALUE; ::ANOMA_ERR_FORMAT (bad payload);
 *         ::ANOMA_ERR_VERSION; ::ANOMA_ERR_INVALID_ARGUMENT; ::ANOMA_ERR_NO_MEMORY.
 *         On error the model is unchanged.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_import_detector(anoma_model *model, const char *detector,
                                                   const char *params, const void *state,
                                                   size_t size, size_t n_features);

/**
 * @brief Copy a fitted detector's payload: the inverse of
 *        anoma_model_import_detector().
 *
 * The bytes are the detector's saved state in the current version of its
 * layout (docs/detectors/), the ones anoma_model_import_detector() takes
 * back, so a host can combine detectors fitted apart — an isolation
 * forest's trees grown on several partitions into one forest (the
 * Python package's anoma.merge; docs/scale-out.md). Sized as snprintf:
 * call with @p buf NULL to learn the size.
 * @param model a fitted model.
 * @param index the detector, 0 to anoma_model_n_detectors() - 1.
 * @param buf caller buffer, or NULL to ask for the size.
 * @param cap size of @p buf.
 * @param size receives the payload's length in bytes.
 * @return ::ANOMA_OK; ::ANOMA_ERR_BUFFER_TOO_SMALL when @p cap < *size
 *         (nothing written, *size set); ::ANOMA_ERR_NOT_FITTED;
 *         ::ANOMA_ERR_INVALID_ARGUMENT (NULL @p model or @p size, @p index
 *         out of range); ::ANOMA_ERR_UNSUPPORTED (a detector that keeps its
 *         training rows in the model's shared table, as lof and knn: its
 *         payload alone is not its state); ::ANOMA_ERR_NO_MEMORY.
 * @note Thread safety: reads the fitted model only; safe from many threads.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_detector_payload(const anoma_model *model, size_t index,
                                                    void *buf, size_t cap, size_t *size);

/**
 * @brief The layout version of a detector's payload: that of the bytes
 *        anoma_model_detector_payload() gives and
 *        anoma_model_import_detector() takes.
 *
 * Payload layouts (docs/detectors/) grow new versions when a detector
 * keeps more; a program that reads the bytes itself (the Python package's
 * estimators read fitted attributes from them) checks the version first.
 * It is the current version of the detector's layout, whatever version
 * the model's file was written with.
 * @param model a model.
 * @param index the detector, 0 to anoma_model_n_detectors() - 1.
 * @param version receives the version (1 and up).
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT (NULL argument,
 *         @p index out of range).
 * @note Thread safety: reads the model only; safe from many threads.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_detector_payload_version(const anoma_model *model,
                                                            size_t index, uint32_t *version);

/**
 * @brief Merge models fitted apart, on partitions of the rows, into one new
 *        fitted model.
 *
 * Each of @p models holds one detector of a kind that merges and no
 * pipeline steps; all have the same detector kind, feature count and
 * feature names. Isolation forests ("iforest", the one kind that merges
 * today) must also share `max_samples` and the float32 flag of forests
 * imported from scikit-learn: the result holds every tree of every
 * forest, in order, and scores as a forest of all of them
 * (docs/scale-out.md, "Training per partition"). The new model is made as
 * anoma_model_import_detector() makes an empty model fitted: @p params
 * must set a fixed `threshold` or `contamination=auto`; it takes the
 * feature names of `models[0]`.
 * @param models the fitted models (read only; the caller keeps them).
 * @param n how many, at least 1.
 * @param params the new model's parameters as `key=value` text, as
 *        anoma_model_create() takes them.
 * @param out receives the new model, to free with anoma_model_free();
 *        NULL on error.
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT (NULL argument, or
 *         models that do not merge: the message names the first
 *         `models[k]` and what differs); ::ANOMA_ERR_EMPTY (@p n is 0);
 *         ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_PARAM_VALUE (the merged
 *         forest would have more trees than `n_trees` allows, or bad
 *         @p params); ::ANOMA_ERR_UNKNOWN_PARAM; ::ANOMA_ERR_UNSUPPORTED
 *         (@p params without a threshold rule); ::ANOMA_ERR_NO_MEMORY.
 * @note Thread safety: reads the fitted @p models only; safe while other
 *       threads score them.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_merge(const anoma_model *const *models, size_t n,
                                         const char *params, anoma_model **out);

/**
 * @brief Add a gradient-boosted-tree detector ("gbt") from an XGBoost model
 *        saved as JSON (XGBoost 1.7's `booster.save_model("m.json")`).
 *
 * The trees, their default directions for missing values, the objective
 * and base_score are read from the text; the detector then scores as
 * XGBoost predicts (docs/detectors/gbt.md, "Importing XGBoost models"):
 * the probability of label 1 for binary:logistic, the prediction for
 * reg:squarederror. All the trees are imported, as `Booster.predict` uses
 * them. The import is anoma_model_import_detector() of the "gbt" payload
 * made from the file, so an empty model becomes fitted at once (it needs a
 * fixed `threshold` or `contamination=auto`, whose rule for gbt is 0.5),
 * and a model with steps or other detectors waits for its fit.
 * @param model an unfitted model.
 * @param json the text of the JSON file (need not end with a NUL).
 * @param size its length in bytes.
 * @return ::ANOMA_OK; ::ANOMA_ERR_FORMAT (not JSON, a missing or mistyped
 *         field, a bad tree: the message names the field, tree and node);
 *         ::ANOMA_ERR_UNSUPPORTED (a booster other than gbtree, an
 *         objective other than binary:logistic and reg:squarederror,
 *         several classes or targets, categorical splits, vector leaves,
 *         deleted nodes: named in the message; or as
 *         anoma_model_import_detector()); ::ANOMA_ERR_INVALID_ARGUMENT;
 *         ::ANOMA_ERR_NO_MEMORY. On error the model is unchanged.
 * @note Thread safety: as anoma_model_import_detector() (the model is not
 *       shared while it is being built).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_import_xgboost(anoma_model *model, const char *json,
                                                  size_t size);

/**
 * @brief Give the next fit one set of labelled evaluation rows, watched
 *        but not trained on (XGBoost's `eval_set`), replacing any sets
 *        given before.
 *
 * As anoma_model_add_eval_set() after forgetting the sets given before:
 * the model then watches this set alone.
 * @param model an unfitted model.
 * @param x the rows (NaN = missing; ±Inf is an error), or NULL to forget
 *        rows given before.
 * @param labels x->rows labels, 0 or 1.
 * @param weights x->rows weights >= 0, or NULL (all 1).
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT (NULL model or labels, a
 *         label other than 0/1, a bad weight, a bad matrix: named by row);
 *         ::ANOMA_ERR_NONFINITE; ::ANOMA_ERR_EMPTY;
 *         ::ANOMA_ERR_UNSUPPORTED (the model is fitted);
 *         ::ANOMA_ERR_NO_MEMORY. On error the model is unchanged.
 * @note Thread safety: the model must not be used by other threads during
 *       the call (it is being built).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_set_eval_set(anoma_model *model, const anoma_matrix *x,
                                                const int *labels, const double *weights);

/**
 * @brief Add a set of labelled evaluation rows for the next fit to watch,
 *        not train on (one of XGBoost's `eval_set` pairs).
 *
 * The "gbt" detector scores every set after every boosting round and
 * records each metric of `eval_metric` on it (anoma_model_eval_history(),
 * XGBoost's `evals_result()`); early stopping (`early_stopping_rounds`)
 * watches the last metric on the last set added, as XGBoost does, and
 * keeps the trees up to its best round (docs/detectors/gbt.md, "Early
 * stopping"). The rows are copied: the caller's arrays need not outlive
 * the call. The next successful fit releases them. They have the columns
 * of the training input: a model with pipeline steps runs them through
 * its steps, fitted on the training rows only (never on these), before
 * the detectors see them; a model without steps hands them over as they
 * are. A set the fit cannot use (another width, a missing column) is an
 * error of the fit naming the set.
 * @param model an unfitted model.
 * @param x the rows (NaN = missing; ±Inf is an error).
 * @param labels x->rows labels, 0 or 1.
 * @param weights x->rows weights >= 0, or NULL (all 1).
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT (NULL model, matrix or
 *         labels, a label other than 0/1, a bad weight, a bad matrix: named
 *         by row; more than 1024 sets); ::ANOMA_ERR_NONFINITE;
 *         ::ANOMA_ERR_EMPTY; ::ANOMA_ERR_UNSUPPORTED (the model is fitted);
 *         ::ANOMA_ERR_NO_MEMORY. On error the model is unchanged.
 * @note Thread safety: the model must not be used by other threads during
 *       the call (it is being built).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_add_eval_set(anoma_model *model, const anoma_matrix *x,
                                                const int *labels, const double *weights);

/**
 * @brief Add a set of labelled evaluation rows given as a frame, as
 *        anoma_model_add_eval_set() does a matrix.
 *
 * For a model fitted with anoma_model_fit_frame() (or any model with
 * steps): the frame has the training frame's input columns (found by
 * name; others are ignored), and the fit runs it through the steps fitted
 * on the training rows. The frame's columns are copied, text included: the
 * caller's arrays need not outlive the call. A model fitted on a matrix
 * without steps refuses frame sets at fit.
 * @param model an unfitted model.
 * @param frame the rows.
 * @param labels anoma_frame_rows(frame) labels, 0 or 1.
 * @param weights as many weights >= 0, or NULL (all 1).
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT (NULL model, frame or
 *         labels, a label other than 0/1, a bad weight: named by row; more
 *         than 1024 sets); ::ANOMA_ERR_EMPTY; ::ANOMA_ERR_UNSUPPORTED (the
 *         model is fitted); ::ANOMA_ERR_NO_MEMORY. On error the model is
 *         unchanged.
 * @note Thread safety: the model must not be used by other threads during
 *       the call (it is being built).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_add_eval_set_frame(anoma_model *model,
                                                      const anoma_frame *frame,
                                                      const int *labels, const double *weights);

/**
 * @brief The values of one metric on one evaluation set after each
 *        training round (XGBoost's `evals_result()`).
 *
 * For "gbt": one value per boosting round grown (early stopping may have
 * grown more rounds than the model keeps), for each metric named in
 * `eval_metric` ("logloss", "auc", "aucpr", "rmse"; `auto` is recorded
 * under the objective's own, logloss or rmse) and each set in the order
 * anoma_model_add_eval_set() added them. The history is saved with the
 * model. Sized as snprintf: the count is written to *n whatever cap is,
 * and at most cap values to out, so a call with cap 0 asks the size.
 * @param model a fitted model.
 * @param index detector position.
 * @param set evaluation set, from 0.
 * @param metric the metric's name.
 * @param out caller-owned array of cap doubles (NULL when cap is 0).
 * @param cap the size of out.
 * @param n receives the number of rounds recorded.
 * @return ::ANOMA_OK; ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_INVALID_ARGUMENT
 *         (NULL argument, bad index, a set or metric not recorded: the
 *         message says which were; a model fitted without evaluation set);
 *         ::ANOMA_ERR_UNSUPPORTED when the detector records no history.
 * @par Thread safety
 * Safe on a model shared by threads (it reads only).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_eval_history(const anoma_model *model, size_t index,
                                                size_t set, const char *metric, double *out,
                                                size_t cap, size_t *n);

/**
 * @brief Set one model parameter (such as "contamination") before fitting.
 *
 * "contamination" and "threshold" both decide the threshold, so a model
 * takes one of them: setting one while the other is given (a threshold
 * other than `auto`, a contamination other than its default 0.1) is
 * ::ANOMA_ERR_PARAM_VALUE naming both, whichever is set first, and leaves
 * the parameters as they were; set the other back first (threshold=auto,
 * contamination=0.1) to switch.
 *
 * "threshold" may also be set to a number on a fitted model: it replaces
 * the threshold used by anoma_model_predict(), and contamination goes back
 * to its default, since it no longer says how the threshold was made.
 * "n_threads" is a run-time option and may be set at any time (see
 * anoma_model_set_n_threads()). Do not set either while other threads
 * score the model.
 * @return ::ANOMA_OK, ::ANOMA_ERR_UNKNOWN_PARAM, ::ANOMA_ERR_PARAM_VALUE,
 *         ::ANOMA_ERR_UNSUPPORTED (model fitted and key neither "threshold"
 *         nor "n_threads", or threshold=auto on a fitted model).
 * @since 0.1.0 (the contamination/threshold rule since 0.2.0: before, a
 *        threshold silently overrode a contamination)
 */
ANOMA_API anoma_status anoma_model_set_param(anoma_model *model, const char *key,
                                             const char *value);

/**
 * @brief Set how many threads the model uses for fitting and batch scoring.
 *
 * A run-time option, not part of the model: it may be set on a fitted or
 * loaded model, is never saved (a model saves to the same bytes whatever it
 * is), and never changes a result: scores, thresholds and fitted state are
 * the same bits for every thread count. The `n_threads=` model parameter
 * sets the same option when the model is created. Threads come from the
 * library's persistent pool (see anoma_shutdown()); a batch too small to
 * pay for sharing out runs on the calling thread. A host thread can give
 * its own calls another count without changing the model:
 * anoma_thread_set_n_threads(). The row scorer is single-threaded: it
 * scores one row on the caller's thread; to score rows in parallel, give
 * each host thread its own scorer.
 * @param model the model.
 * @param n_threads 0 = as many as the machine has cores; at most 1024.
 * @return ::ANOMA_OK; ::ANOMA_ERR_PARAM_VALUE above 1024;
 *         ::ANOMA_ERR_INVALID_ARGUMENT for a NULL model. Not while other
 *         threads use the model (as for the threshold).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_set_n_threads(anoma_model *model, size_t n_threads);

/**
 * @brief The threshold that `contamination=auto` gives this model: its
 * detectors' own rule on their score.
 *
 * Each detector's classic rule: iforest 0.5 (Liu et al.; scikit-learn's
 * `offset_ = -0.5`), zscore 3 (three sigma) and mad 3.5 (Iglewicz and
 * Hoaglin) with `combine=max`, iqr 0 (a value outside Tukey's fences,
 * whatever `k`) with `combine=max` or `l2`. A model's score keeps the rule
 * only when it is not rescaled: one detector with `normalize` none or auto,
 * or several with `normalize=none ensemble=max` that share one rule (a row
 * is then flagged when one of them flags it). Programs (the `anoma` tool,
 * the Python estimators) ask here instead of keeping their own table.
 * @param model the model, fitted or not, with its detectors added.
 * @param threshold receives the threshold.
 * @return ::ANOMA_OK; ::ANOMA_ERR_PARAM_VALUE when the model has no such
 *         rule, with a message saying why; ::ANOMA_ERR_EMPTY (no detector);
 *         ::ANOMA_ERR_INVALID_ARGUMENT (NULL argument). Thread-safe on a
 *         model no other thread changes.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_auto_threshold(const anoma_model *model, double *threshold);

/**
 * @brief Report the progress of fitting and batch scoring to a callback,
 * which may stop them.
 *
 * A run-time option, as the thread count: not saved, settable on a fitted
 * or loaded model, and no result depends on it. Reported: the trees an
 * isolation forest builds in anoma_model_fit() (::ANOMA_STAGE_FIT) and the
 * rows anoma_model_score() scores (::ANOMA_STAGE_SCORE; also through
 * anoma_model_predict() and the frame calls); other detectors fit too fast
 * to need it. The callback runs on the thread that made the call, never on
 * a worker, about a hundred times per stage at most (a stage of less work
 * reports less often), and once with `done == total` at the end. When it
 * returns nonzero the call returns ::ANOMA_ERR_CANCELLED: a fit leaves the
 * model unfitted and fittable, a scoring call leaves its output
 * unspecified. Without a callback the work is not cut into pieces at all.
 * A model scored from several threads at once calls the callback from each
 * of them.
 * @param model the model.
 * @param fn the callback, or NULL to stop reporting.
 * @param user passed back to @p fn.
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT for a NULL model. Not
 *         while other threads use the model.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_set_progress(anoma_model *model, anoma_progress_fn fn,
                                                void *user);

/**
 * @brief Set one parameter of detector @p index before fitting.
 * @return as anoma_model_set_param(); ::ANOMA_ERR_INVALID_ARGUMENT for a bad index.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_set_detector_param(anoma_model *model, size_t index,
                                                      const char *key, const char *value);

/**
 * @brief The model's parameters as `key=value` text, every key included.
 * @param model the model.
 * @param buf caller buffer (may be NULL when @p cap is 0); NUL-terminated, cut to fit.
 * @param cap size of @p buf.
 * @param needed receives the full length without the NUL (may be NULL).
 * @return ::ANOMA_OK, ::ANOMA_ERR_INVALID_ARGUMENT, ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_params(const anoma_model *model, char *buf, size_t cap,
                                          size_t *needed);

/**
 * @brief Detector @p index's parameters as `key=value` text, every key included.
 * @param model the model.
 * @param index detector position.
 * @param buf caller buffer (may be NULL when @p cap is 0); NUL-terminated, cut to fit.
 * @param cap size of @p buf.
 * @param needed receives the full length without the NUL (may be NULL).
 * @return ::ANOMA_OK, ::ANOMA_ERR_INVALID_ARGUMENT (also for a bad index),
 *         ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_detector_params(const anoma_model *model, size_t index,
                                                   char *buf, size_t cap, size_t *needed);

/**
 * @brief Fit the pipeline, the detectors, the normalisation and the threshold.
 *
 * @param model an unfitted model with at least one detector.
 * @param x training data, one row per observation. NaN is missing (each
 *        detector documents how it treats it); +-Inf is an error.
 * @param labels NULL, or x->rows labels 0/1 (1 = anomaly), only for a
 *        model with a detector that learns from them
 *        (::ANOMA_FLAG_SUPERVISED); otherwise ::ANOMA_ERR_INVALID_ARGUMENT
 *        naming the detectors, rather than labels silently ignored.
 * @param weights NULL, or x->rows non-negative sample weights, only for a
 *        model with a detector that uses them (::ANOMA_FLAG_SAMPLE_WEIGHTS;
 *        none in this version); otherwise ::ANOMA_ERR_INVALID_ARGUMENT.
 * @return ::ANOMA_OK; ::ANOMA_ERR_EMPTY (no rows, no columns, no detector);
 *         ::ANOMA_ERR_NONFINITE; ::ANOMA_ERR_SHAPE; ::ANOMA_ERR_UNSUPPORTED
 *         (already fitted); ::ANOMA_ERR_INVALID_ARGUMENT (labels or weights
 *         no detector uses, a label not 0/1, a negative weight);
 *         ::ANOMA_ERR_PARAM_VALUE (contamination=auto for detectors without
 *         one rule, see anoma_model_auto_threshold()); ::ANOMA_ERR_NO_MEMORY.
 *         ::ANOMA_ERR_UNSUPPORTED also when a detector has rows=borrow but
 *         the model cannot lend it x (below).
 *         On error the model stays unfitted and may be fitted again.
 * @par Ownership
 * The model copies what it keeps of @p x, except for a neighbour detector
 * (lof, knn) given `rows=borrow`: its fitted state then references
 * @p x->data itself, as scikit-learn's LocalOutlierFactor keeps `_fit_X`.
 * The caller promises that the matrix outlives the model (and every row
 * scorer and stream made from it) and is not written to meanwhile. The
 * risks of breaking the promise: freed memory read by every later score
 * (undefined behaviour, a crash or garbage), and changed values giving
 * scores that match neither the old rows nor the new (the densities were
 * computed at fit). Borrowing needs the caller's own rows: a model without
 * pipeline steps and @p x of ::ANOMA_F64 with row_stride == cols; any
 * other fit hands the detectors a copy that is freed when the call
 * returns, so it is refused with ::ANOMA_ERR_UNSUPPORTED. A saved model
 * holds the rows, so a loaded one owns them (docs/detectors/lof.md).
 * @since 0.1.0 (labels and weights no detector uses refused since 0.2.0;
 *        rows=borrow since 0.2.0)
 */
ANOMA_API anoma_status anoma_model_fit(anoma_model *model, const anoma_matrix *x,
                                       const int *labels, const double *weights);

/**
 * @brief Anomaly scores of each row (higher = more anomalous).
 * @param model a fitted model.
 * @param x rows to score, with the training column count.
 * @param scores caller-owned array of x->rows doubles.
 * @return ::ANOMA_OK; ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_SHAPE (column count
 *         differs from training); ::ANOMA_ERR_NONFINITE; ::ANOMA_ERR_NO_MEMORY.
 *         Thread-safe on a fitted model.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_score(const anoma_model *model, const anoma_matrix *x,
                                         double *scores);

/**
 * @brief Raw scores of one detector of the model, before normalisation.
 * @param model a fitted model.
 * @param x rows to score.
 * @param index detector position.
 * @param scores caller-owned array of x->rows doubles.
 * @return as anoma_model_score(); ::ANOMA_ERR_INVALID_ARGUMENT for a bad index.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_score_detector(const anoma_model *model, size_t index,
                                                  const anoma_matrix *x, double *scores);

/**
 * @brief A detector's own scores of its training rows, where it defines
 *        them apart from scoring those rows afresh.
 *
 * The local outlier factor ("lof") scores each training row against the
 * other training rows, leaving the row itself out of its neighbours
 * (scikit-learn's negative_outlier_factor_, negated), while
 * anoma_model_score() of the same rows counts each row as its own nearest
 * neighbour (scikit-learn's novelty mode). These scores are computed at fit,
 * saved with the model, and are what a contamination rate's threshold is
 * taken from. Raw detector scores, in training-row order.
 * @param model a fitted model.
 * @param index detector position.
 * @param scores caller-owned array of @p cap doubles (NULL when @p cap is 0).
 * @param cap its length.
 * @param needed if not NULL, receives the number of training rows.
 * @return ::ANOMA_OK (written when @p cap >= the count, as snprintf);
 *         ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_INVALID_ARGUMENT for a bad
 *         index or NULL model; ::ANOMA_ERR_UNSUPPORTED when the detector has
 *         no such scores (every detector whose training scores are its
 *         ordinary scores, and a detector imported from elsewhere without
 *         them). Thread-safe on a fitted model.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_training_scores(const anoma_model *model, size_t index,
                                                   double *scores, size_t cap, size_t *needed);

/**
 * @brief Every detector's raw and normalised score of each row: the
 * ensemble's members beside the combined score.
 *
 * Raw scores are each detector's own (as anoma_model_score_detector());
 * normalised ones are what the combination reads: `(raw - shift) / scale`
 * for normalize standard, robust and minmax, the rank in [0, 1] for rank,
 * the raw score for none (docs/model.md, "Ensembles"). For ensemble=vote
 * they are the normalisation's values too; a member votes when its raw
 * score is above its own threshold.
 * @param model a fitted model.
 * @param x rows, as for anoma_model_score().
 * @param raw caller-owned array of x->rows * anoma_model_n_detectors()
 *        doubles, row-major (row i, detector k at i * n_detectors + k), or NULL.
 * @param normalized the same shape, or NULL (not both NULL).
 * @return as anoma_model_score(); ::ANOMA_ERR_INVALID_ARGUMENT when both
 *         outputs are NULL.
 * @par Thread safety
 * Reads the model only: safe from many threads at once.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_member_scores(const anoma_model *model, const anoma_matrix *x,
                                                 double *raw, double *normalized);

/**
 * @brief anoma_model_member_scores() of a frame's rows.
 * @param model a fitted model.
 * @param frame rows, as for anoma_model_score_frame().
 * @param raw caller-owned array of anoma_frame_rows() * anoma_model_n_detectors() doubles, or NULL.
 * @param normalized the same shape, or NULL (not both NULL).
 * @return as anoma_model_member_scores(), with the errors of anoma_model_score_frame().
 * @par Thread safety
 * As anoma_model_member_scores().
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_member_scores_frame(const anoma_model *model,
                                                       const anoma_frame *frame, double *raw,
                                                       double *normalized);

/**
 * @brief Per-feature scores (or contributions) of each row for one detector.
 *
 * For the statistical detectors this is each feature's own score (for
 * z-score, |x - mean| / std); the detector's documentation defines it.
 * @param model a fitted model.
 * @param index detector position.
 * @param x rows to explain.
 * @param out caller-owned array of x->rows * anoma_model_n_outputs()
 *        doubles, row-major: one per column the detector sees, which is
 *        x->cols for a model without pipeline steps (see pipeline.h).
 * @return as anoma_model_score(); ::ANOMA_ERR_UNSUPPORTED when the detector
 *         has no per-feature scores.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_feature_scores(const anoma_model *model, size_t index,
                                                  const anoma_matrix *x, double *out);

/**
 * @brief The value a detector's per-feature scores add up from, when they
 *        are additive contributions.
 *
 * For "gbt" the feature scores are TreeSHAP contributions to the row's
 * margin (the log-odds for binary:logistic), and this is their bias: the
 * margin averaged over the training rows as the trees' covers weigh them,
 * XGBoost's last `pred_contribs` column. For every row,
 * margin = base + the sum of its feature scores.
 * @param model a fitted model.
 * @param index detector position.
 * @param base receives the value.
 * @return ::ANOMA_OK; ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_INVALID_ARGUMENT
 *         (NULL argument or bad index); ::ANOMA_ERR_UNSUPPORTED when the
 *         detector's feature scores are not contributions with a base.
 * @par Thread safety
 * Safe on a model shared by threads (it reads only).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_feature_scores_base(const anoma_model *model, size_t index,
                                                       double *base);

/**
 * @brief Each feature's importance to a detector, of one kind.
 *
 * For "gbt" the kinds are XGBoost's `Booster.get_score` importance types,
 * over every split of every tree: `weight` (the number of splits on the
 * feature), `total_gain` and `total_cover` (the sums of those splits' loss
 * changes and covers), `gain` and `cover` (those sums divided by weight).
 * A feature no split uses has 0 (get_score leaves it out).
 * @param model a fitted model.
 * @param index detector position.
 * @param kind the kind's name, as above.
 * @param out caller-owned array of anoma_model_n_outputs() doubles: one per
 *        column the detector sees (x->cols for a model without steps).
 * @return ::ANOMA_OK; ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_INVALID_ARGUMENT
 *         (NULL argument, bad index, or an unknown kind: the message lists
 *         the kinds); ::ANOMA_ERR_UNSUPPORTED when the detector has no
 *         feature importance; ::ANOMA_ERR_NO_MEMORY.
 * @par Thread safety
 * Safe on a model shared by threads (it reads only).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_feature_importance(const anoma_model *model, size_t index,
                                                      const char *kind, double *out);

/**
 * @brief 0/1 decisions: 1 when the score is strictly above the threshold.
 * @param model a fitted model.
 * @param x rows to decide on.
 * @param out caller-owned array of x->rows ints.
 * @return as anoma_model_score().
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_predict(const anoma_model *model, const anoma_matrix *x,
                                           int *out);

/**
 * @brief The decision threshold of a fitted model.
 * @return ::ANOMA_OK or ::ANOMA_ERR_NOT_FITTED.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_threshold(const anoma_model *model, double *threshold);

/**
 * @brief Set a fitted model's threshold from labelled validation rows.
 *
 * The model scores @p x, and @p rule picks a cut on those scores; the
 * threshold becomes the value such that anoma_model_predict() ("score >
 * threshold") flags exactly the rows the rule counted: the largest
 * validation score left unflagged, or a value just below the smallest
 * score when every row is flagged. Rules:
 * - `best_f1`: the cut with the highest F1; among equal F1 the highest
 *   cut (fewest rows flagged), as anoma_best_f1().
 * - `precision=P`, P in (0, 1]: the lowest cut whose precision is at least
 *   P, so the highest recall reaching P.
 * - `recall=R`, R in (0, 1]: the highest cut whose recall is at least R.
 * Rows with equal scores are flagged together. As with
 * anoma_model_set_param() "threshold", the parameter `threshold` becomes
 * the number and `contamination` goes back to its default.
 * @param model a fitted model.
 * @param x validation rows, as for anoma_model_score().
 * @param labels x->rows labels, 1 = anomaly, 0 = normal (caller-owned).
 * @param rule `best_f1`, `precision=P` or `recall=R`.
 * @return ::ANOMA_OK; ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_EMPTY (no rows);
 *         ::ANOMA_ERR_PARAM_VALUE (unknown rule or a target outside (0, 1]);
 *         ::ANOMA_ERR_INVALID_ARGUMENT (NULL argument, a label not 0/1,
 *         no anomaly among the labels, or a precision no cut reaches: the
 *         message gives the best reachable one); ::ANOMA_ERR_NONFINITE (a
 *         row scores NaN); the errors of anoma_model_score(). On error the
 *         threshold is unchanged.
 * @par Thread safety
 * Changes the model: no other thread may use it during the call (as for
 * anoma_model_set_param()).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_set_threshold_from_labels(anoma_model *model,
                                                             const anoma_matrix *x,
                                                             const int *labels, const char *rule);

/**
 * @brief anoma_model_set_threshold_from_labels() on a frame's rows.
 * @param model a fitted model.
 * @param frame validation rows, as for anoma_model_score_frame().
 * @param labels anoma_frame_rows() labels, 1 = anomaly, 0 = normal.
 * @param rule `best_f1`, `precision=P` or `recall=R`.
 * @return as anoma_model_set_threshold_from_labels(), with the errors of
 *         anoma_model_score_frame().
 * @par Thread safety
 * As anoma_model_set_threshold_from_labels().
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_set_threshold_from_labels_frame(anoma_model *model,
                                                                   const anoma_frame *frame,
                                                                   const int *labels,
                                                                   const char *rule);

/**
 * @brief Anomaly probability and confidence of each row.
 *
 * The probability is in [0, 1] and never falls as the score rises. By
 * default it is the rank of the row's score among the model's own scores
 * on its calibration rows (the training rows, or at most
 * `calibration_rows` of them): 0 at or below the lowest, 1 at or above the
 * highest, linear between the sorted scores (kept as at most 1025
 * quantiles, so within 1/1024 of the exact rank). It is then not 0.5 at
 * the threshold: with contamination c it is about 1 - c there. After
 * anoma_model_fit_probability() it is the logistic curve fitted on
 * labelled rows. The confidence says how far the row is from the decision:
 * with q the probability of the threshold, (p - q) / (1 - q) when p > q,
 * (q - p) / q when p < q, and 0 when p = q; so 0 on the threshold and 1 at
 * probability 1 (surely an anomaly) or 0 (surely normal). docs/model.md,
 * "Probability", has the exact rules.
 * @param model a fitted model.
 * @param x rows, as for anoma_model_score().
 * @param probability caller-owned array of x->rows doubles, or NULL.
 * @param confidence caller-owned array of x->rows doubles, or NULL (not
 *        both NULL). A row scoring NaN gets NaN in both.
 * @return ::ANOMA_OK; ::ANOMA_ERR_UNSUPPORTED when the model learned no
 *         probability (its fit scored no training row: one detector with a
 *         fixed threshold, a detector imported alone, or a file from before
 *         0.2.0), until anoma_model_fit_probability() gives it one; the
 *         errors of anoma_model_score().
 * @par Thread safety
 * Reads the model only: safe from many threads at once.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_probability(const anoma_model *model, const anoma_matrix *x,
                                               double *probability, double *confidence);

/**
 * @brief anoma_model_probability() of a frame's rows.
 * @param model a fitted model.
 * @param frame rows, as for anoma_model_score_frame().
 * @param probability caller-owned array of anoma_frame_rows() doubles, or NULL.
 * @param confidence caller-owned array of anoma_frame_rows() doubles, or NULL.
 * @return as anoma_model_probability(), with the errors of anoma_model_score_frame().
 * @par Thread safety
 * As anoma_model_probability().
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_probability_frame(const anoma_model *model,
                                                     const anoma_frame *frame,
                                                     double *probability, double *confidence);

/**
 * @brief Probability and confidence of scores the model gave already.
 *
 * The same values as anoma_model_probability() for the rows those scores
 * came from, without scoring them again.
 * @param model a fitted model.
 * @param scores @p n scores of this model.
 * @param n number of scores.
 * @param probability caller-owned array of @p n doubles, or NULL.
 * @param confidence caller-owned array of @p n doubles, or NULL (not both).
 * @return ::ANOMA_OK; ::ANOMA_ERR_UNSUPPORTED as anoma_model_probability();
 *         ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_INVALID_ARGUMENT.
 * @par Thread safety
 * As anoma_model_probability().
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_probability_of_scores(const anoma_model *model,
                                                         const double *scores, size_t n,
                                                         double *probability,
                                                         double *confidence);

/**
 * @brief Fit the anomaly probability on labelled rows: Platt's logistic curve.
 *
 * The model scores @p x, and a logistic regression of the labels on the
 * scores, P(anomaly | s) = 1 / (1 + exp(-(a s + b))), is fitted by Platt's
 * method: his smoothed targets (N+ + 1) / (N+ + 2) for anomalies and
 * 1 / (N- + 2) for normal rows, Newton's method with a backtracking line
 * search. It then replaces the default probability (the rank among the
 * training scores); the threshold and the decisions do not change. Give
 * rows the detectors were not fitted on (validation rows): on their own
 * training rows detectors score anomalies more confidently than on new
 * ones. Saved with the model.
 * @param model a fitted model.
 * @param x labelled rows, as for anoma_model_score().
 * @param labels x->rows labels, 1 = anomaly, 0 = normal.
 * @return ::ANOMA_OK; ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_EMPTY;
 *         ::ANOMA_ERR_INVALID_ARGUMENT (NULL argument, a label not 0/1,
 *         labels of one kind only, or a fitted slope below 0: anomalies
 *         scoring lower than normal rows); ::ANOMA_ERR_NONFINITE (a row
 *         scores NaN); the errors of anoma_model_score(). On error the
 *         model is unchanged.
 * @par Thread safety
 * Changes the model: no other thread may use it during the call.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_fit_probability(anoma_model *model, const anoma_matrix *x,
                                                   const int *labels);

/**
 * @brief anoma_model_fit_probability() on a frame's rows.
 * @param model a fitted model.
 * @param frame labelled rows, as for anoma_model_score_frame().
 * @param labels anoma_frame_rows() labels, 1 = anomaly, 0 = normal.
 * @return as anoma_model_fit_probability(), with the errors of
 *         anoma_model_score_frame().
 * @par Thread safety
 * As anoma_model_fit_probability().
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_fit_probability_frame(anoma_model *model,
                                                         const anoma_frame *frame,
                                                         const int *labels);

/** @brief 1 when fitted (or loaded), else 0. @since 0.1.0 */
ANOMA_API int anoma_model_is_fitted(const anoma_model *model);

/** @brief Number of input columns the model was fitted on (0 before). @since 0.1.0 */
ANOMA_API size_t anoma_model_n_features(const anoma_model *model);

/** @brief Number of detectors. @since 0.1.0 */
ANOMA_API size_t anoma_model_n_detectors(const anoma_model *model);

/**
 * @brief Name of detector @p index ("zscore", ...), or NULL for a bad index.
 * Owned by the model. @since 0.1.0
 */
ANOMA_API const char *anoma_model_detector_name(const anoma_model *model, size_t index);

/**
 * @brief Set the names of the input features (kept in the model file).
 * @param model the model.
 * @param count number of names: the feature count.
 * @param names @p count NUL-terminated names, copied.
 * @return ::ANOMA_OK; ::ANOMA_ERR_SHAPE when the model is fitted and @p count
 *         differs from its feature count; ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_set_feature_names(anoma_model *model,
                                                     const char *const *names, size_t count);

/**
 * @brief Name of input feature @p index, or NULL if none was set.
 * @since 0.1.0
 */
ANOMA_API const char *anoma_model_feature_name(const anoma_model *model, size_t index);

/**
 * @brief Bytes of memory the model holds (its own allocations).
 * @since 0.1.0
 */
ANOMA_API size_t anoma_model_memory_bytes(const anoma_model *model);

/**
 * @brief Human-readable description: parameters, detectors and their fitted
 * state, sizes. Used by `anoma inspect`.
 * @param model the model.
 * @param buf caller buffer (may be NULL when @p cap is 0).
 * @param cap size of @p buf; the text is NUL-terminated and cut to fit.
 * @param needed receives the full length without the NUL (may be NULL),
 *        as snprintf does, so a caller can size a second call.
 * @return ::ANOMA_OK or ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_describe(const anoma_model *model, char *buf, size_t cap,
                                            size_t *needed);

/**
 * @brief Save a fitted model to a file, atomically.
 *
 * Writes a temporary file beside @p path, flushes it to disk and renames it
 * over @p path, so a crash never leaves a partial model at @p path. The
 * saving rule of anoma_file_write_atomic() applies: the old file's mode is
 * kept, a symbolic link is followed, and a directory, device, FIFO or socket
 * is refused.
 * @return ::ANOMA_OK, ::ANOMA_ERR_NOT_FITTED, ::ANOMA_ERR_IO, ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_save(const anoma_model *model, const char *path);

/**
 * @brief Save a fitted model to memory.
 * @param model a fitted model.
 * @param buf caller buffer, or NULL to ask for the size.
 * @param cap size of @p buf.
 * @param size receives the number of bytes the model takes.
 * @return ::ANOMA_OK; ::ANOMA_ERR_BUFFER_TOO_SMALL when @p cap < *size
 *         (nothing written, *size set); ::ANOMA_ERR_NOT_FITTED;
 *         ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_save_memory(const anoma_model *model, void *buf,
                                               size_t cap, size_t *size);

/**
 * @brief Load a model from a file written by anoma_model_save().
 *
 * Every length, count and index in the file is checked before use: a
 * corrupt, truncated or hostile file gives an error, never a crash. The
 * load options take their defaults (see anoma_model_load_with()): files
 * and models larger than 4 GiB are refused.
 * @return ::ANOMA_OK; ::ANOMA_ERR_IO; ::ANOMA_ERR_FORMAT (corrupt);
 *         ::ANOMA_ERR_VERSION (newer major version, or unknown required
 *         section); ::ANOMA_ERR_UNKNOWN_NAME (unknown detector);
 *         ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_load(const char *path, anoma_model **out);

/**
 * @brief Load a model from @p size bytes at @p data (copied; the caller may
 * free them afterwards). Errors as anoma_model_load().
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_model_load_memory(const void *data, size_t size,
                                               anoma_model **out);

/**
 * @brief Load a model from a file, with load options.
 *
 * The section table is checked whole before anything is inflated: the
 * required sections must be present, and the sizes the sections declare
 * must add up to at most `max_bytes`, so a small hostile file cannot make
 * the library allocate or inflate gigabytes.
 * @param path the file.
 * @param options `key=value` text, or NULL for the defaults:
 *   - `max_bytes=N` the largest model accepted, in bytes: both the file's
 *     size and the total size of its sections once inflated. Default
 *     4294967296 (4 GiB, the largest section the format holds); range
 *     [24, 2^53]. A host that loads files from untrusted sources should set
 *     it to the largest model it expects.
 * @param out receives the model; free it with anoma_model_free().
 * @return as anoma_model_load(); a file or model over `max_bytes` is
 *         ::ANOMA_ERR_FORMAT; an unknown option is ::ANOMA_ERR_UNKNOWN_PARAM
 *         and a bad value ::ANOMA_ERR_PARAM_VALUE.
 *
 * Thread safety: safe to call from several threads.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_load_with(const char *path, const char *options,
                                             anoma_model **out);

/**
 * @brief As anoma_model_load_with(), from @p size bytes at @p data (copied;
 * the caller may free them afterwards).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_load_memory_with(const void *data, size_t size,
                                                    const char *options, anoma_model **out);

/**
 * @brief Prepared single-row scoring: no parsing, allocation or locking per row.
 *
 * Create one per thread from a fitted model; it holds the scratch memory a
 * row needs. The model must outlive it.
 * @since 0.1.0
 */
typedef struct anoma_row_scorer anoma_row_scorer;

/**
 * @brief Prepare single-row scoring of a fitted model.
 * @return ::ANOMA_OK, ::ANOMA_ERR_NOT_FITTED, ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_row_scorer_create(const anoma_model *model,
                                               anoma_row_scorer **out);

/** @brief Free a row scorer; accepts NULL. @since 0.1.0 */
ANOMA_API void anoma_row_scorer_free(anoma_row_scorer *scorer);

/**
 * @brief Score one row. Allocates nothing.
 * @param scorer a scorer from anoma_row_scorer_create().
 * @param row @p n_features doubles (NaN = missing).
 * @param n_features must equal anoma_model_n_features().
 * @param score receives the score (higher = more anomalous).
 * @param is_anomaly receives 1 when above the threshold, else 0 (may be NULL).
 * @return ::ANOMA_OK, ::ANOMA_ERR_SHAPE, ::ANOMA_ERR_NONFINITE,
 *         ::ANOMA_ERR_INVALID_ARGUMENT.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_row_scorer_score(anoma_row_scorer *scorer, const double *row,
                                              size_t n_features, double *score,
                                              int *is_anomaly);

/**
 * @brief Per-feature scores of one row for one detector. Allocates nothing.
 *
 * The single-row form of anoma_model_feature_scores(): the same values, for
 * explaining decisions in real time.
 * @param scorer a scorer from anoma_row_scorer_create().
 * @param index detector position in the model.
 * @param row @p n_features doubles (NaN = missing).
 * @param n_features must equal anoma_model_n_features().
 * @param out receives anoma_model_n_outputs() values: one per column the
 *        detector sees, which is @p n_features without pipeline steps.
 *        With stateful steps this call, like scoring, folds the row into
 *        its entity's history: to score and explain a row, use
 *        anoma_row_scorer_explain_values() (pipeline.h) instead.
 * @return ::ANOMA_OK, ::ANOMA_ERR_SHAPE, ::ANOMA_ERR_NONFINITE,
 *         ::ANOMA_ERR_INVALID_ARGUMENT (NULL argument or bad index),
 *         ::ANOMA_ERR_UNSUPPORTED (the detector has no per-feature scores).
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_row_scorer_feature_scores(anoma_row_scorer *scorer, size_t index,
                                                       const double *row, size_t n_features,
                                                       double *out);

/**
 * @brief Every detector's raw and normalised score of one row. Allocates nothing.
 *
 * The single-row form of anoma_model_member_scores(): the same values.
 * @param scorer a scorer from anoma_row_scorer_create().
 * @param row @p n_features doubles (NaN = missing).
 * @param n_features must equal anoma_model_n_features().
 * @param raw receives anoma_model_n_detectors() raw scores, or NULL.
 * @param normalized receives anoma_model_n_detectors() normalised scores,
 *        or NULL (not both NULL).
 * @return ::ANOMA_OK, ::ANOMA_ERR_SHAPE, ::ANOMA_ERR_NONFINITE,
 *         ::ANOMA_ERR_INVALID_ARGUMENT.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_row_scorer_member_scores(anoma_row_scorer *scorer, const double *row,
                                                      size_t n_features, double *raw,
                                                      double *normalized);

/**
 * @brief Score one row with its anomaly probability and confidence.
 * Allocates nothing.
 *
 * The single-row form of anoma_model_probability(): the same score and
 * decision as anoma_row_scorer_score(), and the same probability and
 * confidence as the batch call.
 * @param scorer a scorer from anoma_row_scorer_create().
 * @param row @p n_features doubles (NaN = missing).
 * @param n_features must equal anoma_model_n_features().
 * @param score receives the score.
 * @param is_anomaly receives 1 when above the threshold, else 0 (may be NULL).
 * @param probability receives the probability (may be NULL).
 * @param confidence receives the confidence (may be NULL).
 * @return ::ANOMA_OK, ::ANOMA_ERR_SHAPE, ::ANOMA_ERR_NONFINITE,
 *         ::ANOMA_ERR_INVALID_ARGUMENT, ::ANOMA_ERR_UNSUPPORTED (the model
 *         learned no probability, as for anoma_model_probability()).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_row_scorer_score_probability(anoma_row_scorer *scorer,
                                                          const double *row, size_t n_features,
                                                          double *score, int *is_anomaly,
                                                          double *probability,
                                                          double *confidence);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_MODEL_H */

/**
 * @file progress.h
 * @brief Progress reports from long calls, and asking them to stop.
 *
 * A host that wants to show progress (or offer a cancel button) gives a
 * callback to the model (anoma_model_set_progress()) or to the CSV reader
 * (anoma_csv_read_progress()). The library calls it from the thread that
 * made the call, never from a worker thread, between pieces of work, with
 * how much of the stage is done: at most about a hundred times per stage,
 * always once with `done == total` when a stage completes. Without a
 * callback nothing is counted and work is not cut into pieces.
 */
#ifndef ANOMA_PROGRESS_H
#define ANOMA_PROGRESS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a progress report counts. @since 0.2.0 */
typedef enum anoma_stage {
    ANOMA_STAGE_READ = 0,  /**< CSV bytes parsed (a file's bytes count twice when column
                                types are inferred: one pass to infer, one to read) */
    ANOMA_STAGE_FIT = 1,   /**< trees built by an isolation forest's fit */
    ANOMA_STAGE_SCORE = 2  /**< rows scored by anoma_model_score() and the calls built on it */
} anoma_stage;

/**
 * @brief A progress callback.
 * @param user the pointer given with the callback.
 * @param stage what is counted.
 * @param done how much is done, never less than in the previous report of
 *        the same stage and call.
 * @param total how much there is in all (`done <= total`).
 * @return 0 to go on; nonzero to stop: the call then returns
 *         ::ANOMA_ERR_CANCELLED and leaves things as a failed call does (a
 *         model fit cancelled stays unfitted and fittable; scores written
 *         so far are unspecified; no frame is made).
 * The callback must not call into the same model or reader.
 * @since 0.2.0
 */
typedef int (*anoma_progress_fn)(void *user, anoma_stage stage, uint64_t done, uint64_t total);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_PROGRESS_H */

/**
 * @file stream.h
 * @brief Real-time scoring of many entities (users, sensors) with one model:
 * per-entity history, a bounded entity count, alerts, and a state that saves
 * and restores.
 *
 * A stream is made from a fitted model. Each observation is pushed with an
 * entity key and a time and gets the model's score, anomaly probability and
 * 0/1 decision. The
 * stream keeps, per entity, the history every stateful part of the model
 * reads (the `window` step's buffers, `time_features`' previous time, a
 * stateful detector's state), the entity's alert state and the time it was
 * last seen, so the scores of an entity's observations are those
 * anoma_model_score() gives for that entity's rows in order, whatever
 * other entities are pushed in between.
 *
 * @code
 * anoma_stream *s;
 * anoma_stream_create(model, "max_entities=100000 alert_min=3", &s);
 * double score, probability; int flag;
 * anoma_stream_push(s, "sensor-7", 1700000000.0, row, n, &score, &probability, &flag);
 * anoma_stream_event ev;
 * while (anoma_stream_next_event(s, &ev))
 *     handle(&ev);
 * anoma_stream_save_file(s, "stream.state");   // a restart resumes from here
 * anoma_stream_free(s);
 * @endcode
 *
 * The model must outlive the stream. docs/stream.md describes the options,
 * the memory an entity takes, eviction, alerts and the state format.
 *
 * Thread safety: a stream is single-owner: one thread at a time may use it.
 * Several streams may share one model across threads.
 */
#ifndef ANOMA_STREAM_H
#define ANOMA_STREAM_H

#include "common.h"
#include "model.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A stream: one model, many entities. @since 0.2.0 */
typedef struct anoma_stream anoma_stream;

/** Longest entity key, in bytes (without the NUL). @since 0.2.0 */
#define ANOMA_STREAM_MAX_KEY 255
/** Most features an alert event names (the `alert_top` option). @since 0.2.0 */
#define ANOMA_STREAM_MAX_TOP 8

/** What an alert event says. @since 0.2.0 */
typedef enum anoma_alert_kind {
    ANOMA_ALERT_OPEN = 1, /**< an alert opened at this observation */
    ANOMA_ALERT_CLOSE = 2 /**< an alert closed: its quiet period ended, or its entity was evicted */
} anoma_alert_kind;

/**
 * @brief An alert event: a small, frozen view filled by the stream into
 * caller memory. Times are the pushes' times.
 * @since 0.2.0
 */
typedef struct anoma_stream_event {
    anoma_alert_kind kind;                 /**< open or close */
    char entity[ANOMA_STREAM_MAX_KEY + 1]; /**< the entity's key, NUL-terminated */
    double start_time;  /**< first observation of the run of anomalous ones that opened it */
    double end_time;    /**< the last anomalous observation so far (open: the opening one) */
    double peak_time;   /**< the observation with the highest score so far */
    double peak_score;  /**< that score */
    uint64_t n_anomalous; /**< anomalous observations while open, the opening one included */
    int evicted;          /**< close only: 1 when the entity was evicted with the alert open */
    uint64_t dropped;     /**< events lost just before this one because the queue was full */
    size_t n_top;         /**< features named below (0 when no detector explains) */
    /** output columns (anoma_model_output_name()) contributing most at the
     *  peak, highest first */
    size_t top_feature[ANOMA_STREAM_MAX_TOP];
    double top_value[ANOMA_STREAM_MAX_TOP]; /**< their per-feature scores */
} anoma_stream_event;

/**
 * @brief Called with each event as it happens, in place of the queue
 * (see anoma_stream_set_callback()).
 * @param user the pointer given to anoma_stream_set_callback().
 * @param event valid during the call only.
 * @since 0.2.0
 */
typedef void (*anoma_stream_callback)(void *user, const anoma_stream_event *event);

/**
 * @brief Create a stream over a fitted model.
 * @param model a fitted model; it must outlive the stream, which reads it
 *        and never changes it.
 * @param options `key=value` text, or NULL for the defaults:
 *   - `max_entities=N` entities held at once, in [1, 4294967295], default
 *     1000000; a new entity beyond it evicts one (`evict`).
 *   - `evict=lru|idle` which entity goes: `lru` (default) the least
 *     recently pushed one when a new entity needs room; `idle` the same,
 *     and also, at every push, the least recently pushed entities last seen
 *     more than `idle_seconds` before the push's time.
 *   - `idle_seconds=S` (> 0, default 86400), for `evict=idle`.
 *   - `alert_min=M` in [1, 64], default 3, and `alert_window=N` in
 *     [0, 64], default 0 (= M): an alert opens when M of the entity's last
 *     N observations are anomalous (M consecutive ones with the default).
 *   - `alert_quiet=Q` (default 3) and `alert_quiet_seconds=S` (default 0):
 *     an open alert closes at a normal observation that is the Q-th normal
 *     one in a row (Q > 0), or that comes S seconds or more after the
 *     alert's last anomalous one (S > 0); at least one must be set.
 *   - `alert_top=K` in [0, 8], default 3: features named in events.
 *   - `alert_detector=auto|I`: the detector whose per-feature scores name
 *     them; auto (default) = the first that has them.
 *   - `max_events=N` in [1, 1000000], default 1024: events queued until
 *     polled; when full the oldest is dropped (counted in the next one).
 * @param out receives the stream; free it with anoma_stream_free().
 * @return ::ANOMA_OK; ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_UNKNOWN_PARAM and
 *         ::ANOMA_ERR_PARAM_VALUE naming the option (also M > N, or neither
 *         quiet rule set, or a detector without per-feature scores);
 *         ::ANOMA_ERR_INVALID_ARGUMENT (NULL argument); ::ANOMA_ERR_NO_MEMORY.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_stream_create(const anoma_model *model, const char *options,
                                           anoma_stream **out);

/** @brief Free a stream; accepts NULL. The model is not freed. @since 0.2.0 */
ANOMA_API void anoma_stream_free(anoma_stream *stream);

/**
 * @brief Score one observation of an entity and fold it into its history.
 *
 * An entity seen for the first time starts with an empty history (as does
 * one that was evicted). Pushing to a known entity allocates nothing.
 * @param stream the stream.
 * @param entity the entity's key: NUL-terminated text of at most
 *        ::ANOMA_STREAM_MAX_KEY bytes, compared byte for byte (a host with
 *        numeric ids formats them one way: "7" and "7.0" are two entities);
 *        copied.
 * @param time the observation's time in seconds (any epoch; finite), for
 *        alert times, `idle_seconds` and `alert_quiet_seconds`; it does not
 *        feed the model (a timestamp column of the row does).
 * @param row @p n doubles, the model's input columns (NaN = missing).
 * @param n must equal anoma_model_n_features().
 * @param score receives the score (higher = more anomalous).
 * @param probability receives the anomaly probability of the score, as
 *        anoma_model_probability() gives it (may be NULL); NaN when the
 *        model learned no probability (see there).
 * @param is_anomaly receives 1 when the score is above the threshold, else
 *        0 (may be NULL).
 * @return ::ANOMA_OK; ::ANOMA_ERR_SHAPE; ::ANOMA_ERR_NONFINITE (an infinite
 *         value, or a time that is not finite); ::ANOMA_ERR_INVALID_ARGUMENT
 *         (NULL argument, a key too long, a model input that is not a
 *         number: use anoma_stream_push_values(), or a step's run-time
 *         error); ::ANOMA_ERR_NO_MEMORY (a new entity only). On error the
 *         stream is as it was: no entity made, no history changed.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_stream_push(anoma_stream *stream, const char *entity, double time,
                                         const double *row, size_t n, double *score,
                                         double *probability, int *is_anomaly);

/**
 * @brief anoma_stream_push() for a typed row: numbers, text and timestamps
 * as the model's input columns hold them (anoma_model_input_type()).
 * @param stream the stream.
 * @param entity the entity's key, as for anoma_stream_push().
 * @param time the observation's time in seconds.
 * @param row @p n values in input order (see ::anoma_value); text is read
 *        during the call only.
 * @param n must equal anoma_model_n_features().
 * @param score receives the score.
 * @param probability receives the probability (may be NULL).
 * @param is_anomaly receives the decision (may be NULL).
 * @return as anoma_stream_push().
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_stream_push_values(anoma_stream *stream, const char *entity,
                                                double time, const anoma_value *row, size_t n,
                                                double *score, double *probability,
                                                int *is_anomaly);

/**
 * @brief Per-feature scores of the last pushed observation for one
 * detector: the values anoma_model_feature_scores() gives for that row,
 * without pushing it again (which would fold it into the history twice).
 * Allocates nothing.
 * @param stream the stream.
 * @param index detector position in the model.
 * @param out receives anoma_model_n_outputs() values, one per output column
 *        (anoma_model_output_name()), caller-owned.
 * @return ::ANOMA_OK; ::ANOMA_ERR_UNSUPPORTED (the detector has no
 *         per-feature scores); ::ANOMA_ERR_INVALID_ARGUMENT (NULL argument,
 *         a bad index, or no successful push before this call).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_stream_last_feature_scores(anoma_stream *stream, size_t index,
                                                        double *out);

/**
 * @brief Take the oldest queued alert event.
 * @param stream the stream.
 * @param event receives the event (caller-owned).
 * @return 1 when an event was written, 0 when the queue is empty (or a
 *         NULL argument).
 * @since 0.2.0
 */
ANOMA_API int anoma_stream_next_event(anoma_stream *stream, anoma_stream_event *event);

/**
 * @brief Deliver events to a function as they happen, instead of queueing
 * them; NULL goes back to the queue. The function is called from inside the
 * push that makes the event and must not use the stream.
 * @param stream the stream.
 * @param fn the function, or NULL.
 * @param user passed to @p fn.
 * @since 0.2.0
 */
ANOMA_API void anoma_stream_set_callback(anoma_stream *stream, anoma_stream_callback fn,
                                         void *user);

/** @brief Entities held now. @since 0.2.0 */
ANOMA_API size_t anoma_stream_n_entities(const anoma_stream *stream);

/**
 * @brief Bytes one entity takes, apart from its key: its record, its state
 * block (every stateful step's and detector's, and its alert state) and its
 * share of the hash table. A key adds its length + 1 bytes (and the
 * allocator's overhead of one block). Fixed for a stream.
 * @since 0.2.0
 */
ANOMA_API size_t anoma_stream_entity_bytes(const anoma_stream *stream);

/** @brief Bytes the stream holds now (entities, keys, buffers, queue). @since 0.2.0 */
ANOMA_API size_t anoma_stream_memory_bytes(const anoma_stream *stream);

/**
 * @brief The stream's whole entity state as bytes: every entity's history,
 * alert state and last-seen time, in recency order, bound by
 * anoma_stream_fingerprint() to the models whose entity state means the
 * same; versioned and checksummed. Events still queued are not part of it
 * (poll them first).
 * @param stream the stream.
 * @param buf caller buffer, or NULL to ask for the size.
 * @param cap size of @p buf.
 * @param size receives the number of bytes the state takes.
 * @return ::ANOMA_OK; ::ANOMA_ERR_BUFFER_TOO_SMALL when @p cap < *size
 *         (nothing written, *size set); ::ANOMA_ERR_INVALID_ARGUMENT;
 *         ::ANOMA_ERR_NO_MEMORY. The stream is unchanged whatever happens.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_stream_save(const anoma_stream *stream, void *buf, size_t cap,
                                         size_t *size);

/**
 * @brief Save the state to a file under the saving rule of
 * anoma_file_write_atomic(): a crash leaves the old file or the new one.
 * @return as anoma_stream_save(), and ::ANOMA_ERR_IO.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_stream_save_file(const anoma_stream *stream, const char *path);

/**
 * @brief Replace the stream's entities with a state from anoma_stream_save().
 *
 * The bytes are checked whole (format, version, checksum, the
 * fingerprint, every count and length, every step's and detector's
 * entity state) before the stream changes. A state saved with any model
 * of the same anoma_stream_fingerprint() is accepted: a model retrained on
 * the same input schema, with the same stateful steps and stateful
 * detectors, continues the entities of the one before. A state in format
 * 1.0 (libanoma before this fingerprint) is accepted only by the model
 * file that saved it. The stream's options are its own: only the entities
 * come from the state. Queued events are kept.
 * @param stream the stream.
 * @param data the bytes (read during the call only).
 * @param size their count.
 * @return ::ANOMA_OK; ::ANOMA_ERR_FORMAT (not a stream state, corrupt or
 *         truncated); ::ANOMA_ERR_VERSION (a newer state format);
 *         ::ANOMA_ERR_INVALID_ARGUMENT (a state of a model of another
 *         fingerprint, more entities than `max_entities`, a NULL argument);
 *         ::ANOMA_ERR_NO_MEMORY. On error the stream is unchanged.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_stream_restore(anoma_stream *stream, const void *data, size_t size);

/**
 * @brief The fingerprint of what a model's per-entity state means: the
 * value a stream state saved with this model carries, and that a state
 * must carry for anoma_stream_restore() to accept it.
 *
 * It covers the input schema (column names and types, in order), every
 * stateful pipeline step (name, parameters, columns) with every step that
 * computes a column it reads, and every stateful detector (name, the size
 * of its per-entity block, and the columns it reads with every step that
 * computes them). It leaves out what the entity state does not depend on:
 * the fitted state of detectors and of the steps no stateful part reads,
 * the threshold, the calibration and the stream's options. Two models with
 * the same fingerprint give an entity's next observation the scores a
 * stream on the receiving model would have given had it seen the entity's
 * history itself; docs/stream.md ("Saving and restoring") gives the rule
 * and its examples. A host compares fingerprints to tell, before moving
 * states, whether a new model continues them.
 * @param model a fitted model.
 * @param fingerprint receives the 64-bit fingerprint (fixed across
 *        platforms and library versions that read the same state format).
 * @return ::ANOMA_OK; ::ANOMA_ERR_NOT_FITTED; ::ANOMA_ERR_INVALID_ARGUMENT
 *         (NULL argument); ::ANOMA_ERR_NO_MEMORY.
 *
 * Thread safety: reads the model only; safe alongside any other reader.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_stream_fingerprint(const anoma_model *model, uint64_t *fingerprint);

/**
 * @brief anoma_stream_restore() from a file written by
 * anoma_stream_save_file().
 * @return as anoma_stream_restore(), and ::ANOMA_ERR_IO.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_stream_restore_file(anoma_stream *stream, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_STREAM_H */

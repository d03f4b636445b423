/* The stream's inside, shared by the files of lib/stream.
 *
 * An entity's state block holds, at fixed offsets: its alert state
 * (alerts.h), then the block of every stateful pipeline step, then that of
 * every stateful detector, each at its own alignment. The offsets come from
 * the vtables' stateful parts, so a new stateful step or detector needs
 * nothing here. */
#ifndef AN_STREAM_STREAM_H
#define AN_STREAM_STREAM_H

#include "anoma/stream.h"
#include "core/params.h"
#include "model/model.h"
#include "stream/alerts.h"
#include "stream/entity_table.h"

#define AN_NO_OFFSET ((size_t)-1)

typedef enum an_evict { AN_EVICT_LRU, AN_EVICT_IDLE } an_evict;

struct anoma_stream {
    const anoma_model *model;
    uint64_t fingerprint; /* what the blocks mean (fingerprint.c): binds a saved state */
    an_params options;
    an_evict evict;
    double idle_seconds;
    an_alert_rule rule;
    const an_model_detector *explainer; /* NULL: events name no features */

    /* the block layout */
    size_t *step_offset;     /* per pipeline step, AN_NO_OFFSET when stateless */
    size_t *detector_offset; /* per detector, the same */
    size_t block_bytes, block_align;
    an_entity_table table;

    /* per push, made once */
    void **step_states;     /* per step: the entity's block for it, or NULL */
    unsigned char *spare;   /* a block: a new entity's, or a known one's copy */
    size_t undo_bytes;      /* of a known entity's block, what spare keeps during a push */
    an_pipeline_work *work; /* the pipeline's one-row path */
    an_input_column *columns;
    double *features; /* the detectors' input, of the last push when has_last */
    int has_last;
    double *raw;      /* per detector */
    double *contrib;  /* the explainer's per-feature scores */
    void *scratch;
    an_event_queue events;
};

/* Every stateful step's and detector's block of entity i (or of the spare
 * block) to portable bytes and back; the alert state is the caller's. */
anoma_status an_stream_save_block(const anoma_stream *s, const void *block, an_writer *w);
anoma_status an_stream_restore_block(const anoma_stream *s, void *block, an_reader *r);
/* The fingerprint of what m's entity blocks mean (fingerprint.c). */
anoma_status an_stream_fingerprint_of(const anoma_model *m, uint64_t *out);
/* A block for an entity never seen: every part initialised. */
void an_stream_init_block(const anoma_stream *s, void *block);

#endif

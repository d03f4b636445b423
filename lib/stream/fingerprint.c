/* The fingerprint a stream state carries: what an entity's block means.
 *
 * A block holds the history of every stateful step and detector. The same
 * bytes mean the same under another model when
 *   - the input schema is the same (names and types, in order);
 *   - every stateful step is saved alike (name, parameters, columns,
 *     payload), and so is every step that computes a column one of them
 *     reads, and the steps before that: a lag of a scaled value changes
 *     with the scaler, a lag of an input column does not;
 *   - every stateful detector has the same name and block size and reads
 *     the same columns computed alike (all the steps that make the final
 *     columns are then covered): its block holds its input rows and counts,
 *     never a fitted value (lib/detectors/detector.h).
 * Nothing else is: not the fitted state of the detectors or of the steps no
 * stateful part depends on, not the threshold, the calibration or the
 * stream's options. So a model retrained on the same schema continues the
 * states of the one before, and gives the scores a stream on it from the
 * start would have given (docs/stream.md, "Saving and restoring"). */
#include "stream/stream.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"

static void put_text(an_writer *w, const char *text)
{
    an_put_str(w, text ? text : "");
}

/* Mark the steps the stateful parts depend on: each stateful step, every
 * step making a final column when a detector is stateful, and,
 * transitively, every step making a column a marked step reads. */
static void mark_dependencies(const anoma_model *m, int stateful_detector, unsigned char *need)
{
    const an_pipeline *p = &m->pipeline;
    for (size_t k = 0; k < p->n_steps; k++)
        need[k] = an_pipeline_step_state_bytes(p, k) > 0;
    if (stateful_detector && p->n_steps) {
        const size_t *final = p->stage_slots + p->stage_begin[p->n_steps];
        for (size_t j = 0; j < m->width; j++) {
            size_t s = an_pipeline_slot_step(p, p->n_steps, final[j]);
            if (s != AN_NO_STEP)
                need[s] = 1;
        }
    }
    for (size_t k = p->n_steps; k-- > 0;) { /* a step reads only earlier steps' columns */
        if (!need[k])
            continue;
        const an_step_io *io = &p->steps[k].io;
        const size_t *stage = p->stage_slots + p->stage_begin[k];
        for (size_t i = 0; i < io->n_inputs; i++) {
            size_t s = an_pipeline_slot_step(p, k, stage[io->inputs[i]]);
            if (s != AN_NO_STEP)
                need[s] = 1;
        }
    }
}

static anoma_status describe_blocks(const anoma_model *m, an_writer *w)
{
    const an_pipeline *p = &m->pipeline;
    put_text(w, "anoma stream state 2");
    an_put_u64(w, m->n_features);
    for (size_t j = 0; j < m->n_features; j++) {
        anoma_column_type type = ANOMA_COL_DOUBLE;
        anoma_model_input_type(m, j, &type);
        put_text(w, anoma_model_input_name(m, j));
        put_text(w, anoma_model_feature_name(m, j)); /* a matrix model's names, set apart */
        an_put_u8(w, (uint8_t)type);
    }
    int stateful_detector = 0;
    for (size_t k = 0; k < m->n_detectors; k++) {
        const an_model_detector *d = &m->detectors[k];
        if (!(d->vt->flags & ANOMA_FLAG_STATEFUL))
            continue;
        stateful_detector = 1;
        put_text(w, d->vt->name);
        an_put_u64(w, d->vt->entity_bytes(d->state));
    }
    if (stateful_detector) {
        an_put_u64(w, m->width);
        for (size_t j = 0; j < m->width; j++)
            put_text(w, anoma_model_output_name(m, j));
    }
    unsigned char *need = AN_NEW_ZEROED(unsigned char, p->n_steps + 1);
    if (!need)
        return an_no_memory();
    mark_dependencies(m, stateful_detector, need);
    for (size_t k = 0; k < p->n_steps; k++)
        if (need[k])
            an_pipeline_save_step(&p->steps[k], w);
    an_free(need);
    return an_writer_status(w);
}

anoma_status an_stream_fingerprint_of(const anoma_model *m, uint64_t *out)
{
    an_writer w = {0};
    anoma_status st = describe_blocks(m, &w);
    if (st == ANOMA_OK)
        *out = an_hash_bytes(w.data, w.len);
    an_writer_free(&w);
    return st;
}

anoma_status anoma_stream_fingerprint(const anoma_model *model, uint64_t *fingerprint)
{
    if (!model || !fingerprint)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_stream_fingerprint: NULL argument");
    if (!model->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "stream: the model is not fitted");
    return an_stream_fingerprint_of(model, fingerprint);
}

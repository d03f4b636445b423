/* Streams: creation, the block layout, and the push path.
 *
 * A push finds the entity (one hash probe), runs the row through the
 * pipeline with the entity's step blocks, scores it with every detector
 * (a stateful one reading and updating its block), combines, decides and
 * moves the alert state. A known entity's push allocates nothing: the
 * buffers are made here, once. */
#include "stream/stream.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"

#include <math.h>
#include <string.h>

static const anoma_param_info stream_schema[] = {
    {"max_entities", ANOMA_PARAM_INT, 1, 4294967295.0, "1000000", "",
     "entities held at once; a new one beyond it evicts one (evict)"},
    {"evict", ANOMA_PARAM_CHOICE, 0, 0, "lru", "lru|idle",
     "lru: the least recently pushed entity makes room; idle: also drop entities idle for "
     "idle_seconds"},
    {"idle_seconds", ANOMA_PARAM_DOUBLE, 1e-9, 1e18, "86400", "",
     "evict=idle: an entity last seen this long before a push's time is dropped"},
    {"alert_min", ANOMA_PARAM_INT, 1, 64, "3", "",
     "an alert opens when this many of the last alert_window observations are anomalous"},
    {"alert_window", ANOMA_PARAM_INT, 0, 64, "0", "",
     "observations the alert_min count looks at (0: alert_min, so consecutive ones)"},
    {"alert_quiet", ANOMA_PARAM_INT, 0, 4294967295.0, "3", "",
     "an alert closes at the alert_quiet-th normal observation in a row (0: off)"},
    {"alert_quiet_seconds", ANOMA_PARAM_DOUBLE, 0, 1e18, "0", "",
     "an alert closes at a normal observation this long after its last anomalous one (0: off)"},
    {"alert_top", ANOMA_PARAM_INT, 0, ANOMA_STREAM_MAX_TOP, "3", "",
     "features named in alert events, by their per-feature scores at the peak"},
    {"alert_detector", ANOMA_PARAM_INT, 0, 1e9, "auto", "auto",
     "detector whose per-feature scores name the features (auto: the first that has them)"},
    {"max_events", ANOMA_PARAM_INT, 1, 1000000, "1024", "",
     "events queued until polled; when full the oldest is dropped"},
};

void anoma_stream_free(anoma_stream *s)
{
    if (!s)
        return;
    an_params_free(&s->options);
    an_free(s->step_offset);
    an_free(s->detector_offset);
    an_entity_table_free(&s->table);
    an_free(s->step_states);
    an_free_aligned(s->spare);
    an_pipeline_work_free(s->work);
    an_free(s->columns);
    an_free(s->features);
    an_free(s->raw);
    an_free(s->contrib);
    an_free_aligned(s->scratch);
    an_event_queue_free(&s->events);
    an_free(s);
}

static anoma_status read_options(anoma_stream *s, const char *text)
{
    AN_TRY(an_params_init(&s->options, "stream", stream_schema,
                          sizeof stream_schema / sizeof *stream_schema));
    AN_TRY(an_params_parse(&s->options, text));
    const an_params *p = &s->options;
    s->evict = an_params_choice(p, "evict") == 1 ? AN_EVICT_IDLE : AN_EVICT_LRU;
    s->idle_seconds = an_params_double(p, "idle_seconds");
    an_alert_rule *r = &s->rule;
    r->min = (unsigned)an_params_int(p, "alert_min");
    r->window = (unsigned)an_params_int(p, "alert_window");
    r->window = r->window ? r->window : r->min;
    r->quiet = (uint64_t)an_params_int(p, "alert_quiet");
    r->quiet_seconds = an_params_double(p, "alert_quiet_seconds");
    r->top = (size_t)an_params_int(p, "alert_top");
    if (r->min > r->window)
        return an_error(ANOMA_ERR_PARAM_VALUE, "stream: alert_min=%u is more than alert_window=%u",
                        r->min, r->window);
    if (!r->quiet && r->quiet_seconds <= 0)
        return an_error(ANOMA_ERR_PARAM_VALUE, "stream: alert_quiet=0 and alert_quiet_seconds=0: "
                        "an alert could never close; set one of them");
    const anoma_model *m = s->model;
    if (an_params_is(p, "alert_detector", "auto")) {
        for (size_t k = 0; k < m->n_detectors && !s->explainer; k++)
            if (m->detectors[k].vt->flags & ANOMA_FLAG_FEATURE_SCORES)
                s->explainer = &m->detectors[k];
    } else {
        size_t k = (size_t)an_params_int(p, "alert_detector");
        const an_model_detector *d = NULL;
        if (an_model_detector_at(m, k, AN_USE_FEATURE_SCORES, &d) != ANOMA_OK)
            return an_error(ANOMA_ERR_PARAM_VALUE, "stream: alert_detector=%zu: %s", k,
                            anoma_last_error());
        s->explainer = d;
    }
    if (!s->explainer)
        r->top = 0;
    return ANOMA_OK;
}

/* Place a part of `bytes` at `align` after *end; its offset. */
static size_t place(size_t *end, size_t *align, size_t bytes, size_t part_align)
{
    part_align = part_align < 8 ? 8 : part_align;
    size_t at = an_align_up(*end, part_align);
    *end = at + bytes;
    *align = part_align > *align ? part_align : *align;
    return at;
}

static anoma_status lay_out_blocks(anoma_stream *s)
{
    const anoma_model *m = s->model;
    const an_pipeline *p = &m->pipeline;
    s->step_offset = AN_NEW_ARRAY(size_t, p->n_steps + 1);
    s->detector_offset = AN_NEW_ARRAY(size_t, m->n_detectors + 1);
    if (!s->step_offset || !s->detector_offset)
        return an_no_memory();
    size_t end = 0, align = 8;
    place(&end, &align, an_alert_bytes(&s->rule), 8); /* the alert state comes first */
    size_t undo_steps = an_pipeline_undo_steps(p);
    s->undo_bytes = 0;
    for (size_t k = 0; k < p->n_steps; k++) {
        size_t bytes = an_pipeline_step_state_bytes(p, k);
        s->step_offset[k] = bytes ? place(&end, &align, bytes, p->steps[k].vt->entity_align)
                                  : AN_NO_OFFSET;
        if (bytes && k < undo_steps)
            s->undo_bytes = end;
    }
    for (size_t k = 0; k < m->n_detectors; k++) {
        const an_model_detector *d = &m->detectors[k];
        size_t bytes = d->vt->flags & ANOMA_FLAG_STATEFUL ? d->vt->entity_bytes(d->state) : 0;
        s->detector_offset[k] = bytes ? place(&end, &align, bytes, d->vt->entity_align)
                                      : AN_NO_OFFSET;
    }
    s->block_align = align;
    s->block_bytes = an_align_up(end, align);
    return ANOMA_OK;
}

void an_stream_init_block(const anoma_stream *s, void *block)
{
    const anoma_model *m = s->model;
    const an_pipeline *p = &m->pipeline;
    unsigned char *b = block;
    memset(b, 0, s->block_bytes);
    an_alert_init(&s->rule, b);
    for (size_t k = 0; k < p->n_steps; k++)
        if (s->step_offset[k] != AN_NO_OFFSET)
            p->steps[k].vt->entity_init(p->steps[k].state, b + s->step_offset[k]);
    for (size_t k = 0; k < m->n_detectors; k++)
        if (s->detector_offset[k] != AN_NO_OFFSET)
            m->detectors[k].vt->entity_init(m->detectors[k].state, b + s->detector_offset[k]);
}

static anoma_status make_buffers(anoma_stream *s)
{
    const anoma_model *m = s->model;
    const an_pipeline *p = &m->pipeline;
    an_entity_table_init(&s->table, s->block_bytes, s->block_align,
                         (size_t)an_params_int(&s->options, "max_entities"));
    s->step_states = AN_NEW_ZEROED(void *, p->n_steps + 1);
    s->spare = an_malloc_aligned(s->table.block_bytes, s->block_align);
    s->columns = AN_NEW_ARRAY(an_input_column, p->n_inputs + 1);
    s->features = AN_NEW_ARRAY(double, m->width + 1);
    s->raw = AN_NEW_ARRAY(double, m->n_detectors + 1);
    s->contrib = AN_NEW_ARRAY(double, m->width + 1);
    if (m->scratch_bytes)
        s->scratch = an_malloc_aligned(m->scratch_bytes, m->scratch_align);
    if (!s->step_states || !s->spare || !s->columns || !s->features || !s->raw || !s->contrib ||
        (m->scratch_bytes && !s->scratch))
        return an_no_memory();
    for (size_t j = 0; j < p->n_inputs; j++) {
        an_cell_type t = p->input_types[j];
        s->columns[j].type = t == AN_CELL_TEXT        ? ANOMA_COL_STRING
                             : t == AN_CELL_TIMESTAMP ? ANOMA_COL_TIMESTAMP
                                                      : ANOMA_COL_DOUBLE;
    }
    AN_TRY(an_event_queue_init(&s->events,
                               (size_t)an_params_int(&s->options, "max_events")));
    return an_pipeline_work_create(p, 1, &s->work);
}

anoma_status anoma_stream_create(const anoma_model *m, const char *options, anoma_stream **out)
{
    if (!m || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_stream_create: NULL argument");
    *out = NULL;
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "stream: the model is not fitted");
    AN_TRY(an_model_check_scores_rows(m, "stream"));
    anoma_stream *s = AN_NEW_ZEROED(anoma_stream, 1);
    if (!s)
        return an_no_memory();
    s->model = m;
    anoma_status st = read_options(s, options);
    if (st == ANOMA_OK)
        st = lay_out_blocks(s);
    if (st == ANOMA_OK)
        st = make_buffers(s);
    if (st == ANOMA_OK)
        st = an_stream_fingerprint_of(m, &s->fingerprint);
    if (st != ANOMA_OK) {
        anoma_stream_free(s);
        return st;
    }
    *out = s;
    return ANOMA_OK;
}

/* ---- the push path ---- */

static void emit(anoma_stream *s, const void *alert, anoma_alert_kind kind, const char *key,
                 int evicted)
{
    anoma_stream_event ev;
    an_alert_event(&s->rule, alert, kind, key, evicted, &ev);
    an_event_queue_put(&s->events, &ev);
}

/* Entity i goes; an open alert closes with it. */
static void evict(anoma_stream *s, uint32_t i)
{
    void *alert = an_entity_block(&s->table, i);
    if (an_alert_close_now(&s->rule, alert))
        emit(s, alert, ANOMA_ALERT_CLOSE, an_entity_key(&s->table.entities[i]), 1);
    an_entity_table_remove(&s->table, i);
}

/* evict=idle: the least recently pushed entities idle too long go. */
static void evict_idle(anoma_stream *s, double now)
{
    an_entity_table *t = &s->table;
    while (t->oldest != AN_NO_ENTITY && t->oldest != t->newest &&
           now - t->entities[t->oldest].last_seen > s->idle_seconds)
        evict(s, t->oldest);
}

static anoma_status check_key(const char *key, double time)
{
    if (strlen(key) > ANOMA_STREAM_MAX_KEY)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "stream: entity key of %zu bytes: at most %d",
                        strlen(key), ANOMA_STREAM_MAX_KEY);
    if (!isfinite(time))
        return an_error(ANOMA_ERR_NONFINITE, "stream: time of entity '%s' is not finite", key);
    return ANOMA_OK;
}

/* The entity's block to work in: its own, or for a new entity the spare
 * one, initialised. When a step may refuse the row after an earlier one
 * changed the entity's state, the first undo_bytes of the block (those
 * earlier steps' states are there) are copied to spare first. */
static void *working_block(anoma_stream *s, uint32_t i)
{
    if (i == AN_NO_ENTITY) {
        an_stream_init_block(s, s->spare);
        return s->spare;
    }
    void *block = an_entity_block(&s->table, i);
    memcpy(s->spare, block, s->undo_bytes);
    return block;
}

static void point_steps(anoma_stream *s, unsigned char *block)
{
    const an_pipeline *p = &s->model->pipeline;
    for (size_t k = 0; k < p->n_steps; k++)
        s->step_states[k] = s->step_offset[k] == AN_NO_OFFSET ? NULL : block + s->step_offset[k];
}

/* The model's score of features x with the entity's detector blocks. */
static double score_features(anoma_stream *s, unsigned char *block, const double *x)
{
    const anoma_model *m = s->model;
    for (size_t k = 0; k < m->n_detectors; k++) {
        const an_model_detector *d = &m->detectors[k];
        if (s->detector_offset[k] == AN_NO_OFFSET)
            d->vt->score_row(d->state, x, s->scratch, &s->raw[k]);
        else
            d->vt->entity_update_score(d->state, block + s->detector_offset[k], x, s->scratch,
                                       &s->raw[k]);
    }
    return an_ensemble_combine(m, s->raw);
}

/* A new entity: made from the spare block, after room is made. The key is
 * copied first, so running out of memory changes nothing. */
static anoma_status add_entity(anoma_stream *s, const char *key, uint64_t hash, double time,
                               uint32_t *index)
{
    an_entity_table *t = &s->table;
    char *copy = an_strdup(key);
    if (!copy)
        return an_no_memory();
    if (t->count < t->max) {
        anoma_status st = an_entity_table_reserve(t);
        if (st != ANOMA_OK) {
            an_free(copy);
            return st;
        }
    } else {
        evict(s, t->oldest);
    }
    *index = an_entity_table_add(t, copy, hash, time, s->spare);
    return ANOMA_OK;
}

static void update_alert(anoma_stream *s, uint32_t i, const double *x, double score,
                         int anomalous, double time)
{
    void *alert = an_entity_block(&s->table, i);
    int new_peak;
    an_alert_change change = an_alert_step(&s->rule, alert, anomalous, score, time, &new_peak);
    if (new_peak && s->rule.top) {
        s->explainer->vt->feature_scores_row(s->explainer->state, x, s->scratch, s->contrib);
        an_alert_set_top(&s->rule, alert, s->contrib, s->model->width);
    }
    if (change != AN_ALERT_SAME)
        emit(s, alert,
             change == AN_ALERT_OPENED ? ANOMA_ALERT_OPEN : ANOMA_ALERT_CLOSE,
             an_entity_key(&s->table.entities[i]), 0);
}

/* The push after the row is in `in` (or, without steps, `plain`). */
static anoma_status push(anoma_stream *s, const char *key, double time, const an_input *in,
                         const double *plain, double *score, double *probability,
                         int *is_anomaly)
{
    const anoma_model *m = s->model;
    s->has_last = 0;
    AN_TRY(check_key(key, time));
    uint64_t hash = an_hash_text(key);
    uint32_t i = an_entity_table_find(&s->table, key, hash);
    if (i != AN_NO_ENTITY)
        an_entity_table_prefetch(&s->table, i);
    unsigned char *block = working_block(s, i);
    const double *x = plain;
    if (!plain) {
        point_steps(s, block);
        anoma_status st = an_pipeline_run_row_states(&m->pipeline, s->work, in, 0,
                                                     s->step_states, s->features);
        if (st != ANOMA_OK) {
            if (i != AN_NO_ENTITY) /* as it was */
                memcpy(block, s->spare, s->undo_bytes);
            return st;
        }
        x = s->features;
    }
    double value = score_features(s, block, x);
    if (i == AN_NO_ENTITY) {
        anoma_status st = add_entity(s, key, hash, time, &i);
        if (st != ANOMA_OK)
            return st;
    } else {
        s->table.entities[i].last_seen = time;
        an_entity_table_touch(&s->table, i);
    }
    int anomalous = value > m->threshold;
    update_alert(s, i, x, value, anomalous, time);
    if (s->evict == AN_EVICT_IDLE)
        evict_idle(s, time);
    if (plain) /* kept for anoma_stream_last_feature_scores */
        memcpy(s->features, plain, m->width * sizeof *plain);
    s->has_last = 1;
    *score = value;
    if (probability)
        *probability = an_model_probability(m, value);
    if (is_anomaly)
        *is_anomaly = anomalous;
    return ANOMA_OK;
}

/* The arguments every push takes. */
static anoma_status check_push(const anoma_stream *s, const char *key, const void *row, size_t n,
                               const double *score)
{
    if (!s || !key || !row || !score)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "stream: NULL argument");
    if (n != s->model->n_features)
        return an_error(ANOMA_ERR_SHAPE, "stream: row has %zu values, the model expects %zu", n,
                        s->model->n_features);
    return ANOMA_OK;
}

anoma_status anoma_stream_push(anoma_stream *s, const char *key, double time, const double *row,
                               size_t n, double *score, double *probability, int *is_anomaly)
{
    AN_TRY(check_push(s, key, row, n, score));
    const anoma_model *m = s->model;
    if (!m->pipeline.n_steps) { /* the detectors read the row itself */
        for (size_t j = 0; j < n; j++)
            if (isinf(row[j]))
                return an_error(ANOMA_ERR_NONFINITE, "stream: infinite value in column %zu", j);
        return push(s, key, time, NULL, row, score, probability, is_anomaly);
    }
    anoma_matrix view = anoma_matrix_f64(row, 1, n);
    an_input in = {&view, NULL, 1};
    AN_TRY(an_input_check(&m->pipeline, &in, "stream"));
    return push(s, key, time, &in, NULL, score, probability, is_anomaly);
}

anoma_status anoma_stream_push_values(anoma_stream *s, const char *key, double time,
                                      const anoma_value *row, size_t n, double *score,
                                      double *probability, int *is_anomaly)
{
    AN_TRY(check_push(s, key, row, n, score));
    for (size_t j = 0; j < n; j++)
        s->columns[j].values = &row[j]; /* a value is a cell: the same 8 bytes */
    an_input in = {NULL, s->columns, 1};
    return push(s, key, time, &in, NULL, score, probability, is_anomaly);
}

anoma_status anoma_stream_last_feature_scores(anoma_stream *s, size_t index, double *out)
{
    if (!s || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "stream: NULL argument");
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(s->model, index, AN_USE_FEATURE_SCORES, &d));
    if (!s->has_last)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "stream: no observation to explain: the "
                        "last push failed or none was made");
    d->vt->feature_scores_row(d->state, s->features, s->scratch, out);
    return ANOMA_OK;
}

/* ---- events and sizes ---- */

int anoma_stream_next_event(anoma_stream *s, anoma_stream_event *ev)
{
    return s && ev ? an_event_queue_take(&s->events, ev) : 0;
}

void anoma_stream_set_callback(anoma_stream *s, anoma_stream_callback fn, void *user)
{
    if (!s)
        return;
    s->events.fn = fn;
    s->events.user = user;
}

size_t anoma_stream_n_entities(const anoma_stream *s)
{
    return s ? s->table.count : 0;
}

size_t anoma_stream_entity_bytes(const anoma_stream *s)
{
    return s ? an_entity_table_bytes_per_entity(&s->table) : 0;
}

size_t anoma_stream_memory_bytes(const anoma_stream *s)
{
    if (!s)
        return 0;
    const an_entity_table *t = &s->table;
    size_t bytes = sizeof *s + t->capacity * (sizeof *t->entities + t->block_bytes) +
                   t->n_slots * sizeof *t->slots + s->events.capacity * sizeof *s->events.items +
                   s->table.block_bytes + s->model->scratch_bytes +
                   (2 * s->model->width + s->model->n_detectors) * sizeof(double);
    for (size_t i = 0; i < t->count; i++)
        if (t->entities[i].long_key)
            bytes += strlen(t->entities[i].long_key) + 1;
    return bytes;
}

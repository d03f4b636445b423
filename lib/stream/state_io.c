/* A stream's state as bytes (docs/stream.md, "State format"):
 *
 *   header, 32 bytes: magic "ANOMASTA", u16 major, u16 minor, u32 flags (0),
 *                     u64 fingerprint, u64 payload length
 *   payload:          u64 entities, u64 stateful steps, u64 stateful detectors,
 *                     then per entity, least recently pushed first:
 *                     str key, f64 last seen, alert state,
 *                     per stateful step and detector: u64 length, its bytes
 *   u32 CRC-32 of everything before it
 *
 * Format 2.0 holds the fingerprint of what the blocks mean (fingerprint.c),
 * so a model retrained on the same schema takes the state; 1.0 held a hash
 * of the model's saved bytes, and is still read for the very model that
 * wrote it (the payload is the same in both).
 *
 * Restoring builds a new entity table and swaps it in only when every byte
 * checked out, so a bad state changes nothing. */
#include "stream/stream.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "io/format.h"

#include <string.h>

#define STATE_MAGIC "ANOMASTA"
#define STATE_MAJOR 2
#define FIRST_MAJOR 1 /* 1.0: bound to the model's saved bytes */
#define STATE_MINOR 0
enum { HEADER_BYTES = 32, CRC_BYTES = 4 };

/* Largest state a file may hold: far beyond max_entities of any real
 * stream, and it bounds the read before anything is allocated. */
#define MAX_STATE_FILE ((size_t)1 << 40)

static size_t n_stateful_steps(const anoma_stream *s)
{
    size_t n = 0;
    for (size_t k = 0; k < s->model->pipeline.n_steps; k++)
        n += s->step_offset[k] != AN_NO_OFFSET;
    return n;
}

static size_t n_stateful_detectors(const anoma_stream *s)
{
    size_t n = 0;
    for (size_t k = 0; k < s->model->n_detectors; k++)
        n += s->detector_offset[k] != AN_NO_OFFSET;
    return n;
}

/* One part's bytes behind a u64 length, written by save(state, block, w). */
typedef anoma_status (*part_save_fn)(const void *state, const void *block, an_writer *w);
typedef anoma_status (*part_restore_fn)(const void *state, void *block, an_reader *r);

static anoma_status save_part(part_save_fn save, const void *state, const void *block,
                              an_writer *w)
{
    size_t at = w->len;
    an_put_u64(w, 0); /* the length, filled in below */
    AN_TRY(an_writer_status(w));
    AN_TRY(save(state, block, w));
    AN_TRY(an_writer_status(w));
    uint64_t len = (uint64_t)(w->len - at - 8);
    for (int b = 0; b < 8; b++)
        w->data[at + (size_t)b] = (unsigned char)(len >> (8 * b));
    return ANOMA_OK;
}

static anoma_status restore_part(part_restore_fn restore, const void *state, void *block,
                                 an_reader *r)
{
    uint64_t len = an_get_u64(r);
    if (r->failed || !an_reader_can_hold(r, len, 1))
        return an_reader_status(r);
    an_reader part = an_reader_make(r->data + r->pos, (size_t)len, "stream state");
    anoma_status st = restore(state, block, &part);
    r->pos += (size_t)len;
    if (st == ANOMA_ERR_NO_MEMORY)
        return st;
    if (st != ANOMA_OK || part.failed || part.pos != part.len) {
        an_reader_fail(r);
        return an_error(ANOMA_ERR_FORMAT, "stream state: an entity's state does not match the "
                        "model's");
    }
    return ANOMA_OK;
}

anoma_status an_stream_save_block(const anoma_stream *s, const void *block, an_writer *w)
{
    const anoma_model *m = s->model;
    const unsigned char *b = block;
    for (size_t k = 0; k < m->pipeline.n_steps; k++) {
        const an_pipeline_step *st = &m->pipeline.steps[k];
        if (s->step_offset[k] != AN_NO_OFFSET)
            AN_TRY(save_part(st->vt->entity_save, st->state, b + s->step_offset[k], w));
    }
    for (size_t k = 0; k < m->n_detectors; k++) {
        const an_model_detector *d = &m->detectors[k];
        if (s->detector_offset[k] != AN_NO_OFFSET)
            AN_TRY(save_part(d->vt->entity_save, d->state, b + s->detector_offset[k], w));
    }
    return ANOMA_OK;
}

anoma_status an_stream_restore_block(const anoma_stream *s, void *block, an_reader *r)
{
    const anoma_model *m = s->model;
    unsigned char *b = block;
    for (size_t k = 0; k < m->pipeline.n_steps; k++) {
        const an_pipeline_step *st = &m->pipeline.steps[k];
        if (s->step_offset[k] != AN_NO_OFFSET)
            AN_TRY(restore_part(st->vt->entity_restore, st->state, b + s->step_offset[k], r));
    }
    for (size_t k = 0; k < m->n_detectors; k++) {
        const an_model_detector *d = &m->detectors[k];
        if (s->detector_offset[k] != AN_NO_OFFSET)
            AN_TRY(restore_part(d->vt->entity_restore, d->state, b + s->detector_offset[k], r));
    }
    return ANOMA_OK;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int b = 0; b < bytes; b++)
        p[b] = (unsigned char)(v >> (8 * b));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int b = bytes - 1; b >= 0; b--)
        v = (v << 8) | p[b];
    return v;
}

static anoma_status encode(const anoma_stream *s, an_writer *w)
{
    unsigned char header[HEADER_BYTES] = {0};
    an_put_bytes(w, header, sizeof header); /* filled in at the end */
    const an_entity_table *t = &s->table;
    an_put_u64(w, t->count);
    an_put_u64(w, n_stateful_steps(s));
    an_put_u64(w, n_stateful_detectors(s));
    for (uint32_t i = t->oldest; i != AN_NO_ENTITY; i = t->entities[i].newer) {
        const void *block = an_entity_block(t, i);
        an_put_str(w, an_entity_key(&t->entities[i]));
        an_put_f64(w, t->entities[i].last_seen);
        an_alert_save(&s->rule, block, w);
        AN_TRY(an_stream_save_block(s, block, w));
    }
    AN_TRY(an_writer_status(w));
    memcpy(w->data, STATE_MAGIC, 8);
    put_le(w->data + 8, STATE_MAJOR, 2);
    put_le(w->data + 10, STATE_MINOR, 2);
    put_le(w->data + 16, s->fingerprint, 8);
    put_le(w->data + 24, w->len - HEADER_BYTES, 8);
    an_put_u32(w, an_crc32(w->data, w->len));
    return an_writer_status(w);
}

anoma_status anoma_stream_save(const anoma_stream *s, void *buf, size_t cap, size_t *size)
{
    if (!s || !size)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_stream_save: NULL argument");
    an_writer w = {0};
    anoma_status st = encode(s, &w);
    if (st == ANOMA_OK) {
        *size = w.len;
        if (buf && cap >= w.len)
            memcpy(buf, w.data, w.len);
        else if (buf)
            st = an_error(ANOMA_ERR_BUFFER_TOO_SMALL, "stream save: the state needs %zu bytes, "
                          "the buffer has %zu", w.len, cap);
    }
    an_writer_free(&w);
    return st;
}

anoma_status anoma_stream_save_file(const anoma_stream *s, const char *path)
{
    if (!s || !path)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_stream_save_file: NULL argument");
    an_writer w = {0};
    anoma_status st = encode(s, &w);
    if (st == ANOMA_OK)
        st = an_file_write_atomic(path, w.data, w.len);
    an_writer_free(&w);
    return st;
}

/* ---- restore ---- */

/* What format 1.0 bound a state to: a hash of the model's saved bytes. */
static anoma_status model_bytes_hash(const anoma_model *m, uint64_t *out)
{
    size_t size = 0;
    AN_TRY(anoma_model_save_memory(m, NULL, 0, &size));
    unsigned char *bytes = an_malloc(size + 1);
    if (!bytes)
        return an_no_memory();
    anoma_status st = anoma_model_save_memory(m, bytes, size, &size);
    if (st == ANOMA_OK)
        *out = an_hash_bytes(bytes, size);
    an_free(bytes);
    return st;
}

static anoma_status check_header(const anoma_stream *s, const unsigned char *p, size_t size)
{
    if (size < HEADER_BYTES + CRC_BYTES || memcmp(p, STATE_MAGIC, 8) != 0)
        return an_error(ANOMA_ERR_FORMAT, "stream state: not a stream state (%zu bytes, no "
                        "'" STATE_MAGIC "' header)", size);
    unsigned major = (unsigned)get_le(p + 8, 2), minor = (unsigned)get_le(p + 10, 2);
    if (major < FIRST_MAJOR || major > STATE_MAJOR)
        return an_error(ANOMA_ERR_VERSION, "stream state: format %u.%u; this library reads "
                        "%u.x to %u.x", major, minor, FIRST_MAJOR, STATE_MAJOR);
    uint64_t payload = get_le(p + 24, 8);
    if (payload != size - HEADER_BYTES - CRC_BYTES)
        return an_error(ANOMA_ERR_FORMAT, "stream state: %zu bytes where the header says %llu "
                        "(truncated or extended)", size,
                        (unsigned long long)(payload + HEADER_BYTES + CRC_BYTES));
    if (get_le(p + size - CRC_BYTES, 4) != an_crc32(p, size - CRC_BYTES))
        return an_error(ANOMA_ERR_FORMAT, "stream state: checksum mismatch (corrupt)");
    uint64_t expected = s->fingerprint;
    if (major == FIRST_MAJOR)
        AN_TRY(model_bytes_hash(s->model, &expected));
    if (get_le(p + 16, 8) != expected)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "stream state: saved from another model %s",
                        major == FIRST_MAJOR
                            ? "(a format 1.0 state continues only the model file that saved it)"
                            : "(its entity state means something else here: another input "
                              "schema, or other stateful steps or detectors; see "
                              "anoma_stream_fingerprint)");
    return ANOMA_OK;
}

/* Smallest bytes an entity takes in a state: an empty key, the time, the
 * alert state, a length per part. */
enum { MIN_ENTITY_BYTES = 4 + 8 + 66 };

static anoma_status read_entities(const anoma_stream *s, an_reader *r, an_entity_table *t)
{
    size_t n = an_get_count(r, SIZE_MAX, MIN_ENTITY_BYTES);
    uint64_t steps = an_get_u64(r), detectors = an_get_u64(r);
    AN_TRY(an_reader_status(r));
    if (steps != n_stateful_steps(s) || detectors != n_stateful_detectors(s))
        return an_error(ANOMA_ERR_FORMAT, "stream state: %llu stateful steps and %llu stateful "
                        "detectors; the model has %zu and %zu", (unsigned long long)steps,
                        (unsigned long long)detectors, n_stateful_steps(s),
                        n_stateful_detectors(s));
    if (n > t->max)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "stream state: %zu entities; this stream "
                        "holds at most max_entities=%zu", n, t->max);
    for (size_t e = 0; e < n; e++) {
        AN_TRY(an_entity_table_reserve(t));
        char *key = an_get_str(r);
        if (!key)
            return r->no_memory ? an_no_memory() : an_reader_status(r);
        uint64_t hash = an_hash_text(key);
        if (strlen(key) > ANOMA_STREAM_MAX_KEY || an_entity_table_find(t, key, hash) != AN_NO_ENTITY) {
            an_free(key);
            return an_error(ANOMA_ERR_FORMAT, "stream state: entity %zu: a key too long or "
                            "given twice", e);
        }
        double last_seen = an_get_f64(r);
        an_stream_init_block(s, s->spare);
        an_alert_restore(&s->rule, s->spare, r);
        anoma_status st = an_reader_status(r);
        if (st == ANOMA_OK)
            st = an_stream_restore_block(s, s->spare, r);
        if (st != ANOMA_OK) {
            an_free(key);
            return st;
        }
        an_entity_table_add(t, key, hash, last_seen, s->spare);
    }
    if (r->pos != r->len)
        return an_error(ANOMA_ERR_FORMAT, "stream state: %zu bytes after the last entity",
                        r->len - r->pos);
    return ANOMA_OK;
}

anoma_status anoma_stream_restore(anoma_stream *s, const void *data, size_t size)
{
    if (!s || (!data && size))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_stream_restore: NULL argument");
    const unsigned char *p = data;
    AN_TRY(check_header(s, p, size));
    an_reader r = an_reader_make(p + HEADER_BYTES, size - HEADER_BYTES - CRC_BYTES,
                                 "stream state");
    an_entity_table t;
    an_entity_table_init(&t, s->block_bytes, s->block_align, s->table.max);
    anoma_status st = read_entities(s, &r, &t);
    if (st != ANOMA_OK) {
        an_entity_table_free(&t);
        return st;
    }
    an_entity_table_free(&s->table);
    s->table = t;
    return ANOMA_OK;
}

anoma_status anoma_stream_restore_file(anoma_stream *s, const char *path)
{
    if (!s || !path)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_stream_restore_file: NULL argument");
    unsigned char *data = NULL;
    size_t size = 0;
    AN_TRY(an_file_read(path, MAX_STATE_FILE, &data, &size));
    anoma_status st = anoma_stream_restore(s, data, size);
    an_free(data);
    return st;
}

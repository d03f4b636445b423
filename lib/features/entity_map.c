/* The entity map: open addressing over entries, states in one array. */
#include "features/entity_map.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct entity {
    uint64_t hash;
    an_cell_type type;
    int missing;
    an_cell key; /* text keys are owned copies */
} entity;

struct an_entity_map {
    size_t state_bytes; /* rounded up to the alignment, so every block is aligned */
    size_t align;
    void (*init)(const void *step_state, void *entity_state);
    const void *step_state;
    entity *entities; /* count of them, in order of arrival */
    unsigned char *states;
    size_t count, capacity;
    size_t *slots; /* n_slots (a power of two, at most half full): entity index + 1, 0 = empty */
    size_t n_slots;
};

/* Missing values of each type, and timestamps' INT64_MIN. */
static int key_missing(an_cell_type type, an_cell key)
{
    switch (type) {
    case AN_CELL_NUMBER:
        return isnan(key.num);
    case AN_CELL_TEXT:
        return key.text == NULL;
    case AN_CELL_TIMESTAMP:
        return key.i64 == INT64_MIN;
    }
    return 1;
}

/* FNV-1a over the key's bytes, then a final mix (splitmix64's). */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

static uint64_t key_hash(an_cell_type type, an_cell key, int missing)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)type;
    if (missing)
        return mix(h + 1);
    if (type == AN_CELL_TEXT) {
        for (const unsigned char *c = (const unsigned char *)key.text; *c; c++)
            h = (h ^ *c) * 1099511628211ull;
        return mix(h);
    }
    uint64_t bits;
    if (type == AN_CELL_NUMBER) {
        double v = key.num == 0 ? 0.0 : key.num; /* -0.0 is 0.0 */
        memcpy(&bits, &v, sizeof bits);
    } else {
        bits = (uint64_t)key.i64;
    }
    return mix(h ^ bits);
}

static int key_equal(const entity *e, an_cell_type type, an_cell key, int missing)
{
    if (e->type != type || e->missing != missing)
        return 0;
    if (missing)
        return 1;
    switch (type) {
    case AN_CELL_NUMBER:
        return e->key.num == key.num;
    case AN_CELL_TEXT:
        return !strcmp(e->key.text, key.text);
    case AN_CELL_TIMESTAMP:
        return e->key.i64 == key.i64;
    }
    return 0;
}

anoma_status an_entity_map_create(size_t state_bytes, size_t align,
                                  void (*init)(const void *step_state, void *entity_state),
                                  const void *step_state, an_entity_map **out)
{
    *out = NULL;
    an_entity_map *m = AN_NEW_ZEROED(an_entity_map, 1);
    if (!m)
        return an_no_memory();
    m->align = align < 8 ? 8 : align;
    m->state_bytes = an_align_up(state_bytes, m->align);
    m->init = init;
    m->step_state = step_state;
    *out = m;
    return ANOMA_OK;
}

void an_entity_map_free(an_entity_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        if (m->entities[i].type == AN_CELL_TEXT && !m->entities[i].missing)
            an_free((char *)m->entities[i].key.text);
    an_free(m->entities);
    an_free_aligned(m->states);
    an_free(m->slots);
    an_free(m);
}

size_t an_entity_map_count(const an_entity_map *m)
{
    return m ? m->count : 0;
}

static size_t *probe(size_t *slots, size_t n_slots, uint64_t hash)
{
    size_t mask = n_slots - 1;
    size_t i = (size_t)hash & mask;
    while (slots[i])
        i = (i + 1) & mask;
    return &slots[i];
}

/* Room for one more entity: the arrays and, past half full, the slots. */
static anoma_status make_room(an_entity_map *m)
{
    if (m->count == m->capacity) {
        size_t cap = m->capacity ? 2 * m->capacity : 16;
        entity *e = an_realloc_array(m->entities, cap, sizeof *e);
        if (!e)
            return an_no_memory();
        m->entities = e;
        if (m->state_bytes && cap > SIZE_MAX / m->state_bytes)
            return an_no_memory();
        unsigned char *s = an_malloc_aligned(cap * m->state_bytes + 1, m->align);
        if (!s)
            return an_no_memory();
        if (m->count)
            memcpy(s, m->states, m->count * m->state_bytes);
        an_free_aligned(m->states);
        m->states = s;
        m->capacity = cap;
    }
    if (2 * (m->count + 1) > m->n_slots) {
        size_t n = m->n_slots ? 2 * m->n_slots : 32;
        size_t *slots = AN_NEW_ZEROED(size_t, n);
        if (!slots)
            return an_no_memory();
        for (size_t i = 0; i < m->count; i++)
            *probe(slots, n, m->entities[i].hash) = i + 1;
        an_free(m->slots);
        m->slots = slots;
        m->n_slots = n;
    }
    return ANOMA_OK;
}

anoma_status an_entity_map_state(an_entity_map *m, an_cell_type type, an_cell key, void **state)
{
    int missing = key_missing(type, key);
    uint64_t hash = key_hash(type, key, missing);
    if (m->n_slots) {
        size_t mask = m->n_slots - 1;
        for (size_t i = (size_t)hash & mask; m->slots[i]; i = (i + 1) & mask) {
            const entity *e = &m->entities[m->slots[i] - 1];
            if (e->hash == hash && key_equal(e, type, key, missing)) {
                *state = m->states + (m->slots[i] - 1) * m->state_bytes;
                return ANOMA_OK;
            }
        }
    }
    AN_TRY(make_room(m));
    entity e = {hash, type, missing, key};
    if (type == AN_CELL_TEXT && !missing && !(e.key.text = an_strdup(key.text)))
        return an_no_memory();
    m->entities[m->count] = e;
    *probe(m->slots, m->n_slots, hash) = m->count + 1;
    unsigned char *block = m->states + m->count * m->state_bytes;
    memset(block, 0, m->state_bytes);
    if (m->init)
        m->init(m->step_state, block);
    m->count++;
    *state = block;
    return ANOMA_OK;
}

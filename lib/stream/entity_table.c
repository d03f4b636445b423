/* The entity table: open addressing with linear probing, removal by
 * backward shift (no tombstones, so lookups stay short after many
 * evictions). */
#include "stream/entity_table.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

void an_entity_table_init(an_entity_table *t, size_t block_bytes, size_t align, size_t max)
{
    memset(t, 0, sizeof *t);
    t->align = align;
    t->block_bytes = an_align_up(block_bytes ? block_bytes : 1, align);
    t->max = max;
    t->newest = t->oldest = AN_NO_ENTITY;
}

void an_entity_table_free(an_entity_table *t)
{
    for (size_t i = 0; i < t->count; i++)
        an_free(t->entities[i].long_key);
    an_free(t->entities);
    an_free_aligned(t->blocks);
    an_free(t->slots);
    memset(t, 0, sizeof *t);
    t->newest = t->oldest = AN_NO_ENTITY;
}

uint32_t an_entity_table_find(const an_entity_table *t, const char *key, uint64_t hash)
{
    if (!t->n_slots)
        return AN_NO_ENTITY;
    size_t mask = t->n_slots - 1;
    for (size_t s = (size_t)hash & mask; t->slots[s]; s = (s + 1) & mask) {
        const an_stream_entity *e = &t->entities[t->slots[s] - 1];
        if (e->hash == hash && !strcmp(an_entity_key(e), key))
            return t->slots[s] - 1;
    }
    return AN_NO_ENTITY;
}

static size_t slot_of(const an_entity_table *t, uint32_t i)
{
    size_t mask = t->n_slots - 1;
    size_t s = (size_t)t->entities[i].hash & mask;
    while (t->slots[s] != i + 1)
        s = (s + 1) & mask;
    return s;
}

anoma_status an_entity_table_reserve(an_entity_table *t)
{
    if (t->count < t->capacity)
        return ANOMA_OK;
    size_t cap = t->capacity ? 2 * t->capacity : 64;
    cap = cap > t->max ? t->max : cap;
    size_t n_slots = t->n_slots ? t->n_slots : 128;
    while (n_slots < 2 * cap)
        n_slots *= 2;
    if (cap > SIZE_MAX / t->block_bytes)
        return an_no_memory();
    an_stream_entity *entities = an_realloc_array(t->entities, cap, sizeof *entities);
    if (!entities)
        return an_no_memory();
    t->entities = entities; /* same contents, larger: the table stays valid */
    unsigned char *blocks = an_malloc_aligned(cap * t->block_bytes, t->align);
    uint32_t *slots = n_slots != t->n_slots ? AN_NEW_ZEROED(uint32_t, n_slots) : t->slots;
    if (!blocks || !slots) {
        an_free_aligned(blocks);
        if (slots != t->slots)
            an_free(slots);
        return an_no_memory();
    }
    if (t->count)
        memcpy(blocks, t->blocks, t->count * t->block_bytes);
    an_free_aligned(t->blocks);
    t->blocks = blocks;
    if (slots != t->slots) {
        for (size_t i = 0; i < t->count; i++) {
            size_t s = (size_t)t->entities[i].hash & (n_slots - 1);
            while (slots[s])
                s = (s + 1) & (n_slots - 1);
            slots[s] = (uint32_t)i + 1;
        }
        an_free(t->slots);
        t->slots = slots;
        t->n_slots = n_slots;
    }
    t->capacity = cap;
    return ANOMA_OK;
}

static void unlink_entity(an_entity_table *t, uint32_t i)
{
    an_stream_entity *e = &t->entities[i];
    if (e->newer != AN_NO_ENTITY)
        t->entities[e->newer].older = e->older;
    else
        t->newest = e->older;
    if (e->older != AN_NO_ENTITY)
        t->entities[e->older].newer = e->newer;
    else
        t->oldest = e->newer;
}

static void link_newest(an_entity_table *t, uint32_t i)
{
    an_stream_entity *e = &t->entities[i];
    e->newer = AN_NO_ENTITY;
    e->older = t->newest;
    if (t->newest != AN_NO_ENTITY)
        t->entities[t->newest].newer = i;
    t->newest = i;
    if (t->oldest == AN_NO_ENTITY)
        t->oldest = i;
}

uint32_t an_entity_table_add(an_entity_table *t, char *key, uint64_t hash, double last_seen,
                             const void *block)
{
    uint32_t i = (uint32_t)t->count++;
    an_stream_entity *e = &t->entities[i];
    *e = (an_stream_entity){hash, last_seen, AN_NO_ENTITY, AN_NO_ENTITY, key, {0}};
    size_t n = strlen(key);
    if (n < sizeof e->short_key) {
        memcpy(e->short_key, key, n + 1);
        e->long_key = NULL;
        an_free(key);
    }
    memcpy(an_entity_block(t, i), block, t->block_bytes);
    size_t mask = t->n_slots - 1, s = (size_t)hash & mask;
    while (t->slots[s])
        s = (s + 1) & mask;
    t->slots[s] = i + 1;
    link_newest(t, i);
    return i;
}

void an_entity_table_touch(an_entity_table *t, uint32_t i)
{
    if (t->newest == i)
        return;
    unlink_entity(t, i);
    link_newest(t, i);
}

/* Empty slot s and shift later entries of its cluster back into place. */
static void delete_slot(an_entity_table *t, size_t s)
{
    size_t mask = t->n_slots - 1;
    for (size_t next = (s + 1) & mask; t->slots[next]; next = (next + 1) & mask) {
        size_t home = (size_t)t->entities[t->slots[next] - 1].hash & mask;
        /* next may move to s when its home is not in (s, next] cyclically */
        int stays = s <= next ? (home > s && home <= next) : (home > s || home <= next);
        if (!stays) {
            t->slots[s] = t->slots[next];
            s = next;
        }
    }
    t->slots[s] = 0;
}

void an_entity_table_remove(an_entity_table *t, uint32_t i)
{
    unlink_entity(t, i);
    delete_slot(t, slot_of(t, i));
    an_free(t->entities[i].long_key);
    uint32_t last = (uint32_t)t->count - 1;
    if (i != last) { /* the last entity moves into i */
        t->slots[slot_of(t, last)] = i + 1;
        t->entities[i] = t->entities[last];
        memcpy(an_entity_block(t, i), an_entity_block(t, last), t->block_bytes);
        an_stream_entity *e = &t->entities[i];
        if (e->newer != AN_NO_ENTITY)
            t->entities[e->newer].older = i;
        else
            t->newest = i;
        if (e->older != AN_NO_ENTITY)
            t->entities[e->older].newer = i;
        else
            t->oldest = i;
    }
    t->count--;
}

size_t an_entity_table_bytes_per_entity(const an_entity_table *t)
{
    /* the slots are at least two per entity, at most four before growth */
    return sizeof(an_stream_entity) + t->block_bytes + 4 * sizeof(uint32_t);
}

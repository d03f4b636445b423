/* The stream's entities: a key, a last-seen time and a fixed-size state
 * block each, found by hashing the key, kept in recency order for
 * eviction, at most `max` of them.
 *
 * Entities are dense (index 0 .. count-1, blocks in one array) so a block is
 * found in one probe and the memory per entity is fixed; removing one moves
 * the last into its place. Recency is a doubly-linked list by index: the
 * head is the entity pushed last, the tail the one pushed longest ago.
 * Growth doubles up to `max`, so a full table never allocates again except
 * for a new entity's key. */
#ifndef AN_STREAM_ENTITY_TABLE_H
#define AN_STREAM_ENTITY_TABLE_H

#include "anoma/common.h"

#include <stdint.h>

#define AN_NO_ENTITY UINT32_MAX

/* A key shorter than this lives in the record itself, so that finding an
 * entity reads one record and no key elsewhere (one cache miss fewer a
 * push); a longer one is allocated. The record is then 64 bytes. */
#define AN_ENTITY_SHORT_KEY 32

typedef struct an_stream_entity {
    uint64_t hash;
    double last_seen;
    uint32_t newer, older; /* recency list; AN_NO_ENTITY at the ends */
    char *long_key;        /* owned: a key of AN_ENTITY_SHORT_KEY bytes or more, else NULL */
    char short_key[AN_ENTITY_SHORT_KEY];
} an_stream_entity;

static inline const char *an_entity_key(const an_stream_entity *e)
{
    return e->long_key ? e->long_key : e->short_key;
}

typedef struct an_entity_table {
    size_t block_bytes, align; /* block_bytes a multiple of align */
    size_t max;
    an_stream_entity *entities;
    unsigned char *blocks;
    size_t count, capacity;
    uint32_t *slots; /* n_slots (a power of two, at least twice capacity): index + 1, 0 = empty */
    size_t n_slots;
    uint32_t newest, oldest;
} an_entity_table;

void an_entity_table_init(an_entity_table *t, size_t block_bytes, size_t align, size_t max);
void an_entity_table_free(an_entity_table *t);

/* The entity with this key (hash from an_hash_text), or AN_NO_ENTITY. */
uint32_t an_entity_table_find(const an_entity_table *t, const char *key, uint64_t hash);
/* Room for count + 1 entities (count < max): ANOMA_ERR_NO_MEMORY leaves the
 * table as it was. */
anoma_status an_entity_table_reserve(an_entity_table *t);
/* Add an entity (room reserved, key absent), newest; the key (an_malloc'd)
 * is taken over (kept, or copied into the record and freed), the block
 * copied in. Its index. */
uint32_t an_entity_table_add(an_entity_table *t, char *key, uint64_t hash, double last_seen,
                             const void *block);
/* Make entity i the newest. */
void an_entity_table_touch(an_entity_table *t, uint32_t i);
/* Remove entity i (its key freed); the last entity takes index i. */
void an_entity_table_remove(an_entity_table *t, uint32_t i);

static inline void *an_entity_block(const an_entity_table *t, uint32_t i)
{
    return t->blocks + (size_t)i * t->block_bytes;
}

/* Ask the memory for what a push to entity i touches next: its block and
 * the recency neighbours that touch relinks. Their cache misses then
 * overlap one another instead of coming one after the other. */
static inline void an_entity_table_prefetch(const an_entity_table *t, uint32_t i)
{
    const char *block = an_entity_block(t, i);
    for (size_t at = 0; at < t->block_bytes; at += 64)
        __builtin_prefetch(block + at, 1);
    const an_stream_entity *e = &t->entities[i];
    if (e->newer != AN_NO_ENTITY)
        __builtin_prefetch(&t->entities[e->newer], 1);
    if (e->older != AN_NO_ENTITY)
        __builtin_prefetch(&t->entities[e->older], 1);
}

/* Bytes a table of `count` entities holds beyond the keys, per entity. */
size_t an_entity_table_bytes_per_entity(const an_entity_table *t);

#endif

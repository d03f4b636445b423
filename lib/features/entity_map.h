/* Per-entity state of a stateful step: one fixed-size block of bytes per
 * entity key (a user id, a sensor number), found by hashing the key.
 *
 * The batch executor makes one map per stateful step for the length of a
 * call (and the row scorer one for its life), so rows of one entity see the
 * state the entity's earlier rows left. Keys are copied: a text key may
 * point into caller memory that is gone after the call. A missing key (NULL
 * text, NaN number, missing timestamp) is one entity of its own, as
 * pandas' groupby(dropna=False) treats it. Numbers are keyed by value, so
 * 0.0 and -0.0 are one entity. */
#ifndef AN_FEATURES_ENTITY_MAP_H
#define AN_FEATURES_ENTITY_MAP_H

#include "features/step.h"

typedef struct an_entity_map an_entity_map;

/* A map whose states are `state_bytes` bytes each at `align` (a power of
 * two, at most 4096), initialised by `init(step_state, block)` when an
 * entity is first seen. */
anoma_status an_entity_map_create(size_t state_bytes, size_t align,
                                  void (*init)(const void *step_state, void *entity_state),
                                  const void *step_state, an_entity_map **out);
void an_entity_map_free(an_entity_map *m);

/* The state block of the entity whose key is `key` (read as `type`), made
 * and initialised when new. The pointer is valid until the next call.
 * Allocates only for a new entity; ANOMA_ERR_NO_MEMORY leaves the map as
 * it was. */
anoma_status an_entity_map_state(an_entity_map *m, an_cell_type type, an_cell key, void **state);

/* Entities held. */
size_t an_entity_map_count(const an_entity_map *m);

#endif

/* A hash index of names to positions: O(1) average lookup for frame columns
 * and CSV headers, so that a file with 100,000 columns reads in linear time.
 * The names are kept by pointer; the owner keeps them alive and unchanged
 * while they are in the index. */
#ifndef AN_CORE_NAME_INDEX_H
#define AN_CORE_NAME_INDEX_H

#include "anoma/common.h"

#include <stddef.h>

typedef struct an_name_slot {
    const char *name; /* NULL: an empty slot */
    size_t index;
} an_name_slot;

typedef struct an_name_index {
    an_name_slot *slots; /* a power of two of them, at most half full */
    size_t n_slots, count;
} an_name_index;

/* Position of name, or -1 when absent. An empty index finds nothing. */
long an_name_index_find(const an_name_index *ix, const char *name);
/* Add name at position index (the caller has checked it is absent). On
 * failure (ANOMA_ERR_NO_MEMORY) the index is unchanged. */
anoma_status an_name_index_add(an_name_index *ix, const char *name, size_t index);
void an_name_index_free(an_name_index *ix);

#endif

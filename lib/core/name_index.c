/* Open addressing with linear probing over the library's string hash
 * (core/hash.h), kept at most half full so that probes stay short; the
 * table doubles as it fills. */
#include "core/name_index.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"

#include <string.h>

static void place(an_name_slot *slots, size_t n_slots, const char *name, size_t index)
{
    size_t h = (size_t)an_hash_text(name) & (n_slots - 1);
    while (slots[h].name)
        h = (h + 1) & (n_slots - 1);
    slots[h] = (an_name_slot){name, index};
}

/* strcmp(a, b) == 0 for the short names looked up here (categories, column
 * names), without a call into the C library per lookup. */
static int same_name(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

long an_name_index_find(const an_name_index *ix, const char *name)
{
    if (!ix->n_slots)
        return -1;
    for (size_t h = (size_t)an_hash_text(name) & (ix->n_slots - 1); ix->slots[h].name;
         h = (h + 1) & (ix->n_slots - 1))
        if (same_name(ix->slots[h].name, name))
            return (long)ix->slots[h].index;
    return -1;
}

anoma_status an_name_index_add(an_name_index *ix, const char *name, size_t index)
{
    if (2 * (ix->count + 1) > ix->n_slots) {
        size_t n_slots = ix->n_slots ? 2 * ix->n_slots : 16;
        an_name_slot *slots = AN_NEW_ZEROED(an_name_slot, n_slots);
        if (!slots)
            return an_no_memory();
        for (size_t i = 0; i < ix->n_slots; i++)
            if (ix->slots[i].name)
                place(slots, n_slots, ix->slots[i].name, ix->slots[i].index);
        an_free(ix->slots);
        ix->slots = slots;
        ix->n_slots = n_slots;
    }
    place(ix->slots, ix->n_slots, name, index);
    ix->count++;
    return ANOMA_OK;
}

void an_name_index_free(an_name_index *ix)
{
    an_free(ix->slots);
    ix->slots = NULL;
    ix->n_slots = ix->count = 0;
}

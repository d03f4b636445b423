/* Every allocation of the library goes through these, and so through the
 * host's allocator when one is set (anoma_set_allocator). */
#ifndef AN_CORE_ALLOC_H
#define AN_CORE_ALLOC_H

#include <stddef.h>

void *an_malloc(size_t size);
void *an_realloc(void *ptr, size_t size);
void an_free(void *ptr);
/* n * size bytes, zeroed; NULL on overflow or failure. */
void *an_calloc(size_t n, size_t size);
/* n * size bytes, uninitialised; NULL on overflow or failure. */
void *an_malloc_array(size_t n, size_t size);
/* Grow an array to n elements of size bytes; NULL (ptr kept) on failure. */
void *an_realloc_array(void *ptr, size_t n, size_t size);
/* Copy of a NUL-terminated string; NULL on failure. */
char *an_strdup(const char *text);
char *an_strndup(const char *text, size_t len);

/* size bytes at an address that is a multiple of align (a power of two,
 * at most 4096), through the same allocator; free with an_free_aligned.
 * NULL on overflow or failure. */
void *an_malloc_aligned(size_t size, size_t align);
void an_free_aligned(void *ptr);
/* n rounded up to a multiple of align (a power of two). */
static inline size_t an_align_up(size_t n, size_t align) { return (n + align - 1) & ~(align - 1); }

/* Typed shorthands. */
#define AN_NEW_ARRAY(type, n) ((type *)an_malloc_array((n), sizeof(type)))
#define AN_NEW_ZEROED(type, n) ((type *)an_calloc((n), sizeof(type)))

#endif

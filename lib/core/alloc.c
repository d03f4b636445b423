/* The one place where memory is obtained and returned. */
#include "core/alloc.h"
#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *default_malloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}
static void *default_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    return realloc(ptr, size);
}
static void default_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static anoma_allocator current = {default_malloc, default_realloc, default_free, NULL};

anoma_status anoma_set_allocator(const anoma_allocator *allocator)
{
    if (!allocator) {
        current = (anoma_allocator){default_malloc, default_realloc, default_free, NULL};
        return ANOMA_OK;
    }
    if (!allocator->malloc_fn || !allocator->realloc_fn || !allocator->free_fn)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_set_allocator: malloc_fn, realloc_fn and free_fn must all be set");
    current = *allocator;
    return ANOMA_OK;
}

/* Zero-size requests allocate one byte so NULL always means failure. */
void *an_malloc(size_t size) { return current.malloc_fn(current.user, size ? size : 1); }

void *an_realloc(void *ptr, size_t size)
{
    return current.realloc_fn(current.user, ptr, size ? size : 1);
}

void an_free(void *ptr)
{
    if (ptr)
        current.free_fn(current.user, ptr);
}

void *an_malloc_array(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return an_malloc(n * size);
}

void *an_realloc_array(void *ptr, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return an_realloc(ptr, n * size);
}

void *an_calloc(size_t n, size_t size)
{
    void *p = an_malloc_array(n, size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *an_strndup(const char *text, size_t len)
{
    char *copy = an_malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    return copy;
}

char *an_strdup(const char *text) { return an_strndup(text, strlen(text)); }

/* The allocator has no aligned call: over-allocate, and keep the block's
 * start just below the aligned address. */
void *an_malloc_aligned(size_t size, size_t align)
{
    if (!align || (align & (align - 1)) || align > 4096)
        return NULL;
    size_t extra = align - 1 + sizeof(void *);
    if (size > SIZE_MAX - extra)
        return NULL;
    unsigned char *base = an_malloc(size + extra);
    if (!base)
        return NULL;
    uintptr_t at = ((uintptr_t)(base + sizeof(void *)) + align - 1) & ~(uintptr_t)(align - 1);
    ((void **)at)[-1] = base;
    return (void *)at;
}

void an_free_aligned(void *ptr)
{
    if (ptr)
        an_free(((void **)ptr)[-1]);
}

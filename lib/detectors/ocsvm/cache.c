/* The kernel-column cache: at most cache_size bytes of slots of l float32
 * values (at least two slots, as libsvm), reused least recently used first.
 *
 * A slot holds the first `len` entries of one column; the solver asks for
 * the active rows only while shrinking, and the rest is computed when a
 * longer prefix is asked for. Whether a column comes from the cache or is
 * computed again changes nothing but time: its values are always the same.
 * Slots are allocated as the solver first needs them (two at the start),
 * a chunk of them at a time (below): memory follows the columns used, not
 * the bound. An allocation that fails only stops the cache growing. */
#include "detectors/ocsvm/ocsvm.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Slots come from chunks of at most CHUNK bytes, each asked to be backed by
 * huge pages (MADV_HUGEPAGE, on the 2 MB-aligned parts of the chunk; a
 * hint the kernel may ignore): the first write to a column then faults
 * once per 2 MB instead of once per 4 KB. Measured on a 10000 x 10 fit
 * (CPU time, one thread): nu = 0.1 0.49 -> 0.28-0.34 s, nu = 0.5 1.63 ->
 * 1.30-1.43 s. Chunks count against the bound as the slots did. */
#define CHUNK ((size_t)8 << 20)
#define PAGE ((size_t)4096)

#define NONE SIZE_MAX

struct an_ocsvm_cache {
    size_t l;
    size_t n_slots; /* most slots the bound allows; also the LRU ring's sentinel */
    size_t limit;   /* most slots to allocate (n_slots, less once the allocator refused) */
    size_t used;    /* slots allocated, all in the ring */
    float **data;   /* n_slots columns of l values; the first `used` allocated */
    void **chunks;  /* the allocations the slots live in (at most n_slots) */
    size_t n_chunks;
    float *spare;   /* the next unused slot of the last chunk, and how many */
    size_t n_spare;
    double bytes_left; /* of the bound, for chunks */
    size_t bytes;      /* allocated for columns */
    size_t *slot_of;     /* l: the slot holding row i's column, or NONE */
    size_t *index_of;    /* n_slots: the column a slot holds, or NONE */
    size_t *len;         /* n_slots: entries filled */
    size_t *prev, *next; /* n_slots + 1: the LRU ring, sentinel n_slots */
};

static void unlink_slot(an_ocsvm_cache *c, size_t s)
{
    c->next[c->prev[s]] = c->next[s];
    c->prev[c->next[s]] = c->prev[s];
}

/* Make s the most recently used. */
static void push_back(an_ocsvm_cache *c, size_t s)
{
    size_t head = c->n_slots;
    c->prev[s] = c->prev[head];
    c->next[s] = head;
    c->next[c->prev[head]] = s;
    c->prev[head] = s;
}

/* A new chunk for as many slots as CHUNK (and the bound) allow, at least
 * one; 0 when refused. */
static int add_chunk(an_ocsvm_cache *c)
{
    size_t column = c->l * sizeof(float);
    size_t n = CHUNK / column;
    if (n == 0)
        n = 1;
    if (n > c->limit - c->used)
        n = c->limit - c->used;
    while (n > 1 && (double)(n * column) > c->bytes_left)
        n--;
    float *chunk = AN_NEW_ARRAY(float, n * c->l);
    if (!chunk)
        return 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t from = an_align_up((uintptr_t)chunk, PAGE), to = (uintptr_t)(chunk + n * c->l);
    if (to > from + PAGE)
        (void)madvise((void *)from, (to - from) & ~(PAGE - 1), MADV_HUGEPAGE);
#endif
    c->chunks[c->n_chunks++] = chunk;
    c->spare = chunk;
    c->n_spare = n;
    c->bytes_left -= (double)(n * column);
    c->bytes += n * column;
    return 1;
}

/* Allocate one more slot (empty, least recently used); 0 when refused. */
static int add_slot(an_ocsvm_cache *c)
{
    if (c->used >= c->limit || (c->n_spare == 0 && !add_chunk(c)))
        return 0;
    c->data[c->used] = c->spare;
    c->spare += c->l;
    c->n_spare--;
    size_t s = c->used++, head = c->n_slots;
    c->index_of[s] = NONE;
    c->len[s] = 0;
    /* at the front of the ring: used first */
    c->next[s] = c->next[head];
    c->prev[s] = head;
    c->prev[c->next[head]] = s;
    c->next[head] = s;
    return 1;
}

void an_ocsvm_cache_free(an_ocsvm_cache *c)
{
    if (!c)
        return;
    for (size_t k = 0; c->chunks && k < c->n_chunks; k++)
        an_free(c->chunks[k]);
    an_free(c->chunks);
    an_free(c->data);
    an_free(c->slot_of);
    an_free(c->index_of);
    an_free(c->len);
    an_free(c->prev);
    an_free(c->next);
    an_free(c);
}

anoma_status an_ocsvm_cache_create(size_t l, double bytes, an_ocsvm_cache **out)
{
    double fit = bytes / ((double)l * sizeof(float));
    size_t n = fit >= (double)l ? l : (size_t)fit;
    if (n < 2)
        n = 2;
    an_ocsvm_cache *c = AN_NEW_ZEROED(an_ocsvm_cache, 1);
    if (!c)
        return an_no_memory();
    c->l = l;
    c->n_slots = c->limit = n;
    c->data = AN_NEW_ZEROED(float *, n);
    c->chunks = AN_NEW_ZEROED(void *, n);
    c->bytes_left = bytes;
    c->slot_of = AN_NEW_ARRAY(size_t, l);
    c->index_of = AN_NEW_ARRAY(size_t, n);
    c->len = AN_NEW_ZEROED(size_t, n);
    c->prev = AN_NEW_ARRAY(size_t, n + 1);
    c->next = AN_NEW_ARRAY(size_t, n + 1);
    if (!c->data || !c->chunks || !c->slot_of || !c->index_of || !c->len || !c->prev || !c->next) {
        an_ocsvm_cache_free(c);
        return an_no_memory();
    }
    c->prev[n] = c->next[n] = n;
    if (!add_slot(c) || !add_slot(c)) { /* the two the solver holds at once */
        an_ocsvm_cache_free(c);
        return an_no_memory();
    }
    for (size_t i = 0; i < l; i++)
        c->slot_of[i] = NONE;
    *out = c;
    return ANOMA_OK;
}

size_t an_ocsvm_cache_bytes(const an_ocsvm_cache *c)
{
    return c->bytes;
}

float *an_ocsvm_cache_get(an_ocsvm_cache *c, size_t index, size_t len, size_t *start)
{
    size_t s = c->slot_of[index];
    if (s != NONE) {
        unlink_slot(c, s);
    } else {
        /* an empty slot (at the front), else a new one, else the least
         * recently used; a refused allocation stops the growing */
        if (c->index_of[c->next[c->n_slots]] != NONE && !add_slot(c))
            c->limit = c->used;
        s = c->next[c->n_slots];
        unlink_slot(c, s);
        if (c->index_of[s] != NONE)
            c->slot_of[c->index_of[s]] = NONE;
        c->slot_of[index] = s;
        c->index_of[s] = index;
        c->len[s] = 0;
    }
    push_back(c, s);
    *start = c->len[s] < len ? c->len[s] : len;
    if (c->len[s] < len)
        c->len[s] = len;
    return c->data[s];
}

int an_ocsvm_cache_reserve(an_ocsvm_cache *c, size_t m, float **cols)
{
    if (m > c->limit)
        return 0;
    while (c->used < m)
        if (!add_slot(c)) {
            c->limit = c->used;
            return 0;
        }
    /* the cache is empty: each column takes an empty slot of its own */
    for (size_t j = 0; j < m; j++) {
        size_t start;
        cols[j] = an_ocsvm_cache_get(c, j, c->l, &start);
    }
    return 1;
}

void an_ocsvm_cache_swap(an_ocsvm_cache *c, const size_t *pairs, size_t n)
{
    for (size_t p = 0; p < n; p++) {
        size_t i = pairs[2 * p], j = pairs[2 * p + 1];
        size_t si = c->slot_of[i], sj = c->slot_of[j];
        c->slot_of[i] = sj;
        c->slot_of[j] = si;
        if (sj != NONE)
            c->index_of[sj] = i;
        if (si != NONE)
            c->index_of[si] = j;
    }
    /* each column takes the swaps in order, as if they were made one by
     * one across all columns: a column's entries depend only on its own */
    for (size_t s = 0; s < c->used; s++) {
        float *col = c->data[s];
        size_t len = c->len[s];
        for (size_t p = 0; p < n && len > 0; p++) {
            size_t i = pairs[2 * p], j = pairs[2 * p + 1];
            if (i > j) {
                size_t t = i;
                i = j;
                j = t;
            }
            if (len > j) {
                float t = col[i];
                col[i] = col[j];
                col[j] = t;
            } else if (len > i) {
                len = i; /* entries from i on are stale; [0, i) still hold */
            }
        }
        c->len[s] = len;
    }
}

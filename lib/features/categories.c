/* The categories of a text column: see categories.h. */
#include "features/categories.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

/* Stable merge sort of text pointers by strcmp; tmp has n entries. */
static void sort_texts(const char **v, const char **tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_texts(v, tmp, h);
    sort_texts(v + h, tmp, n - h);
    size_t a = 0, b = h, o = 0;
    while (a < h && b < n)
        tmp[o++] = strcmp(v[b], v[a]) < 0 ? v[b++] : v[a++];
    while (a < h)
        tmp[o++] = v[a++];
    while (b < n)
        tmp[o++] = v[b++];
    memcpy(v, tmp, n * sizeof *v);
}

anoma_status an_categories_fit(an_categories *c, const an_cell *col, size_t rows)
{
    const char **v = AN_NEW_ARRAY(const char *, 2 * rows + 1);
    if (!v)
        return an_no_memory();
    size_t n = 0;
    for (size_t i = 0; i < rows; i++) {
        if (col[i].text)
            v[n++] = col[i].text;
        else
            c->missing++;
    }
    sort_texts(v, v + rows, n);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += !i || strcmp(v[i], v[i - 1]);
    c->texts = AN_NEW_ZEROED(char *, distinct + 1);
    c->counts = AN_NEW_ZEROED(size_t, distinct + 1);
    anoma_status st = c->texts && c->counts ? ANOMA_OK : an_no_memory();
    for (size_t i = 0; i < n && st == ANOMA_OK; i++) {
        if (i && !strcmp(v[i], v[i - 1])) {
            c->counts[c->n - 1]++;
        } else if ((c->texts[c->n] = an_strdup(v[i]))) {
            c->counts[c->n++] = 1;
        } else {
            st = an_no_memory();
        }
    }
    an_free(v);
    return st == ANOMA_OK ? an_categories_index(c) : st;
}

anoma_status an_categories_index(an_categories *c)
{
    an_name_index_free(&c->index);
    for (size_t k = 0; k < c->n; k++)
        AN_TRY(an_name_index_add(&c->index, c->texts[k], k));
    return ANOMA_OK;
}

void an_categories_free(an_categories *c)
{
    for (size_t k = 0; k < c->n; k++)
        an_free(c->texts[k]);
    an_free(c->texts);
    an_free(c->counts);
    an_name_index_free(&c->index);
    *c = (an_categories){0};
}

long an_categories_find(const an_categories *c, const char *text)
{
    return an_name_index_find(&c->index, text);
}

size_t an_categories_mode(const an_categories *c)
{
    size_t best = 0;
    for (size_t k = 1; k < c->n; k++)
        if (c->counts[k] > c->counts[best])
            best = k;
    return best;
}

void an_categories_save(const an_categories *c, an_writer *w, int with_counts)
{
    an_put_u64(w, c->n);
    for (size_t k = 0; k < c->n; k++) {
        an_put_str(w, c->texts[k]);
        if (with_counts)
            an_put_u64(w, c->counts[k]);
    }
    if (with_counts)
        an_put_u64(w, c->missing);
}

anoma_status an_categories_load(an_categories *c, an_reader *r, int with_counts, const char *step,
                                const char *column)
{
    size_t n = an_get_count(r, (size_t)1 << 32, with_counts ? 12 : 4);
    AN_TRY(an_reader_status(r));
    c->texts = AN_NEW_ZEROED(char *, n + 1);
    c->counts = with_counts ? AN_NEW_ZEROED(size_t, n + 1) : NULL;
    if (!c->texts || (with_counts && !c->counts))
        return an_no_memory();
    for (size_t k = 0; k < n; k++) {
        c->texts[k] = an_get_str(r);
        if (with_counts)
            c->counts[k] = (size_t)an_get_u64(r);
        AN_TRY(an_reader_status(r));
        c->n++;
        if ((k && strcmp(c->texts[k - 1], c->texts[k]) >= 0) || (with_counts && !c->counts[k]))
            return an_error(ANOMA_ERR_FORMAT, "model file: %s column '%s': categories are not "
                            "sorted, distinct and counted", step, column);
    }
    if (with_counts)
        c->missing = (size_t)an_get_u64(r);
    AN_TRY(an_reader_status(r));
    return an_categories_index(c);
}

size_t an_categories_memory(const an_categories *c)
{
    size_t bytes = c->n * (sizeof(char *) + (c->counts ? sizeof(size_t) : 0)) +
                   c->index.n_slots * sizeof *c->index.slots;
    for (size_t k = 0; k < c->n; k++)
        bytes += strlen(c->texts[k]) + 1;
    return bytes;
}

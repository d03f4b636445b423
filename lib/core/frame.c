/* Frames: named, typed columns of equal length, kept by pointer. */
#include "core/frame.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/name_index.h"

#include <string.h>

typedef struct an_column {
    char *name;
    anoma_column_type type;
    const void *values;
} an_column;

struct anoma_frame {
    size_t rows;
    an_column *cols;
    size_t n_cols, cap_cols;
    an_name_index by_name; /* column names to positions */
    void **owned; /* buffers adopted from a reader, freed with the frame */
    size_t n_owned, cap_owned;
};

/* The array with room for element n (doubling), or NULL with items kept. */
static void *reserve_one(void *items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    size_t want = *cap ? 2 * *cap : 8;
    void *grown = an_realloc_array(items, want, size);
    if (grown)
        *cap = want;
    return grown;
}

anoma_status anoma_frame_create(size_t rows, anoma_frame **out)
{
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_frame_create: NULL out");
    *out = NULL;
    anoma_frame *f = AN_NEW_ZEROED(anoma_frame, 1);
    if (!f)
        return an_no_memory();
    f->rows = rows;
    *out = f;
    return ANOMA_OK;
}

void anoma_frame_free(anoma_frame *frame)
{
    if (!frame)
        return;
    for (size_t i = 0; i < frame->n_cols; i++)
        an_free(frame->cols[i].name);
    for (size_t i = 0; i < frame->n_owned; i++)
        an_free(frame->owned[i]);
    an_free(frame->cols);
    an_name_index_free(&frame->by_name);
    an_free(frame->owned);
    an_free(frame);
}

anoma_status an_frame_adopt(anoma_frame *frame, void *buffer)
{
    if (!buffer)
        return ANOMA_OK;
    if (!frame) {
        an_free(buffer);
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_frame_adopt: NULL frame");
    }
    void **owned = reserve_one(frame->owned, frame->n_owned, &frame->cap_owned, sizeof *owned);
    if (!owned) {
        an_free(buffer);
        return an_no_memory();
    }
    frame->owned = owned;
    owned[frame->n_owned++] = buffer;
    return ANOMA_OK;
}

anoma_status anoma_frame_add_column(anoma_frame *frame, const char *name,
                                    anoma_column_type type, const void *values)
{
    if (!frame)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_frame_add_column: NULL frame");
    if (!name || !*name)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_frame_add_column: a column name must be non-empty");
    if (!values)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_frame_add_column: column '%s': NULL values", name);
    if (type != ANOMA_COL_DOUBLE && type != ANOMA_COL_INT64 && type != ANOMA_COL_STRING &&
        type != ANOMA_COL_TIMESTAMP)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_frame_add_column: column '%s': unknown type %d", name, (int)type);
    if (an_name_index_find(&frame->by_name, name) >= 0)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_frame_add_column: the frame already has a column '%s'", name);
    an_column *cols = reserve_one(frame->cols, frame->n_cols, &frame->cap_cols, sizeof *cols);
    if (!cols)
        return an_no_memory();
    frame->cols = cols;
    char *copy = an_strdup(name);
    if (!copy)
        return an_no_memory();
    if (an_name_index_add(&frame->by_name, copy, frame->n_cols) != ANOMA_OK) {
        an_free(copy);
        return an_no_memory();
    }
    cols[frame->n_cols++] = (an_column){copy, type, values};
    return ANOMA_OK;
}

size_t anoma_frame_rows(const anoma_frame *frame) { return frame ? frame->rows : 0; }

size_t anoma_frame_cols(const anoma_frame *frame) { return frame ? frame->n_cols : 0; }

const char *anoma_frame_column_name(const anoma_frame *frame, size_t index)
{
    return frame && index < frame->n_cols ? frame->cols[index].name : NULL;
}

anoma_status anoma_frame_find_column(const anoma_frame *frame, const char *name, size_t *index)
{
    if (!frame || !name || !index)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_frame_find_column: NULL frame, name or index");
    long i = an_name_index_find(&frame->by_name, name);
    if (i < 0)
        return an_error(ANOMA_ERR_UNKNOWN_NAME, "anoma_frame_find_column: no column '%s'", name);
    *index = (size_t)i;
    return ANOMA_OK;
}

anoma_status anoma_frame_column(const anoma_frame *frame, size_t index,
                                anoma_column_type *type, const void **values)
{
    if (!frame)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_frame_column: NULL frame");
    if (index >= frame->n_cols)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_frame_column: index %zu is out of range (the frame has %zu columns)",
                        index, frame->n_cols);
    if (type)
        *type = frame->cols[index].type;
    if (values)
        *values = frame->cols[index].values;
    return ANOMA_OK;
}

/* A copy of a column's values in one new block (strings: the pointers,
 * then the text they point into; a NULL string stays NULL). */
static void *copy_values(const an_column *c, size_t rows)
{
    if (c->type != ANOMA_COL_STRING) {
        size_t size = c->type == ANOMA_COL_DOUBLE ? sizeof(double) : sizeof(int64_t);
        void *v = an_malloc_array(rows ? rows : 1, size);
        if (v && rows)
            memcpy(v, c->values, rows * size);
        return v;
    }
    const char *const *text = c->values;
    size_t bytes = 0;
    for (size_t i = 0; i < rows; i++)
        bytes += text[i] ? strlen(text[i]) + 1 : 0;
    char **v = an_malloc(rows * sizeof *v + bytes + 1);
    if (!v)
        return NULL;
    char *at = (char *)(v + rows);
    for (size_t i = 0; i < rows; i++) {
        v[i] = NULL;
        if (text[i]) {
            size_t n = strlen(text[i]) + 1;
            memcpy(at, text[i], n);
            v[i] = at;
            at += n;
        }
    }
    return v;
}

anoma_status an_frame_copy(const anoma_frame *f, anoma_frame **out)
{
    anoma_frame *copy;
    AN_TRY(anoma_frame_create(f->rows, &copy));
    anoma_status st = ANOMA_OK;
    for (size_t j = 0; j < f->n_cols && st == ANOMA_OK; j++) {
        void *values = copy_values(&f->cols[j], f->rows);
        st = values ? an_frame_adopt(copy, values) : an_no_memory();
        if (st == ANOMA_OK)
            st = anoma_frame_add_column(copy, f->cols[j].name, f->cols[j].type, values);
    }
    if (st != ANOMA_OK) {
        anoma_frame_free(copy);
        return st;
    }
    *out = copy;
    return ANOMA_OK;
}

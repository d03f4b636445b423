#include "io/bytes.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

static int reserve(an_writer *w, size_t n)
{
    if (w->failed)
        return 0;
    if (n <= w->cap - w->len)
        return 1;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) {
            w->failed = 1;
            return 0;
        }
        cap *= 2;
    }
    unsigned char *grown = an_realloc(w->data, cap);
    if (!grown) {
        w->failed = 1;
        return 0;
    }
    w->data = grown;
    w->cap = cap;
    return 1;
}

void an_put_bytes(an_writer *w, const void *bytes, size_t n)
{
    if (n && reserve(w, n)) {
        memcpy(w->data + w->len, bytes, n);
        w->len += n;
    }
}

static void put_le(an_writer *w, uint64_t v, int n)
{
    unsigned char b[8];
    for (int i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    an_put_bytes(w, b, (size_t)n);
}

void an_put_u8(an_writer *w, uint8_t v) { put_le(w, v, 1); }
void an_put_u32(an_writer *w, uint32_t v) { put_le(w, v, 4); }
void an_put_u64(an_writer *w, uint64_t v) { put_le(w, v, 8); }

void an_put_f64(an_writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_le(w, bits, 8);
}

void an_put_str(an_writer *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    an_put_u32(w, (uint32_t)n);
    an_put_bytes(w, s, n);
}

void an_put_f64_array(an_writer *w, const double *v, size_t n)
{
    if (!reserve(w, n * 8))
        return;
    for (size_t i = 0; i < n; i++)
        an_put_f64(w, v[i]);
}

void an_put_u32_array(an_writer *w, const uint32_t *v, size_t n)
{
    if (!reserve(w, n * 4))
        return;
    for (size_t i = 0; i < n; i++)
        an_put_u32(w, v[i]);
}

void an_put_f32_array(an_writer *w, const float *v, size_t n)
{
    if (!reserve(w, n * 4))
        return;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        an_put_u32(w, bits);
    }
}

void an_writer_free(an_writer *w)
{
    an_free(w->data);
    *w = (an_writer){0};
}

anoma_status an_writer_status(const an_writer *w)
{
    return w->failed ? an_no_memory() : ANOMA_OK;
}

an_reader an_reader_make(const void *data, size_t len, const char *what)
{
    return (an_reader){data, len, 0, 0, 0, what};
}

void an_reader_fail(an_reader *r) { r->failed = 1; }

int an_get_bytes(an_reader *r, void *out, size_t n)
{
    if (r->failed || n > r->len - r->pos) {
        r->failed = 1;
        memset(out, 0, n);
        return 0;
    }
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
    return 1;
}

static uint64_t get_le(an_reader *r, int n)
{
    unsigned char b[8];
    if (!an_get_bytes(r, b, (size_t)n))
        return 0;
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

uint8_t an_get_u8(an_reader *r) { return (uint8_t)get_le(r, 1); }
uint32_t an_get_u32(an_reader *r) { return (uint32_t)get_le(r, 4); }
uint64_t an_get_u64(an_reader *r) { return get_le(r, 8); }

double an_get_f64(an_reader *r)
{
    uint64_t bits = get_le(r, 8);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

int an_reader_can_hold(an_reader *r, uint64_t n, size_t elem_size)
{
    size_t left = r->len - r->pos;
    if (r->failed || (elem_size && n > left / elem_size)) {
        r->failed = 1;
        return 0;
    }
    return 1;
}

size_t an_get_count(an_reader *r, size_t max, size_t elem_size)
{
    uint64_t n = an_get_u64(r);
    if (n > max)
        r->failed = 1;
    return an_reader_can_hold(r, n, elem_size) ? (size_t)n : 0;
}

char *an_get_str(an_reader *r)
{
    uint32_t n = an_get_u32(r);
    if (r->failed || n > r->len - r->pos) {
        r->failed = 1;
        return NULL;
    }
    char *s = an_strndup((const char *)r->data + r->pos, n);
    if (!s) {
        r->failed = 1;
        r->no_memory = 1;
        return NULL;
    }
    if (memchr(s, '\0', n)) { /* embedded NUL: not text we wrote */
        an_free(s);
        r->failed = 1;
        return NULL;
    }
    r->pos += n;
    return s;
}

void an_get_f64_array(an_reader *r, double *out, size_t n)
{
    if (r->failed || n > (r->len - r->pos) / 8) {
        r->failed = 1;
        memset(out, 0, n * sizeof *out);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = an_get_f64(r);
}

void an_get_u32_array(an_reader *r, uint32_t *out, size_t n)
{
    if (r->failed || n > (r->len - r->pos) / 4) {
        r->failed = 1;
        memset(out, 0, n * sizeof *out);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = an_get_u32(r);
}

void an_get_f32_array(an_reader *r, float *out, size_t n)
{
    if (r->failed || n > (r->len - r->pos) / 4) {
        r->failed = 1;
        memset(out, 0, n * sizeof *out);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = an_get_u32(r);
        memcpy(&out[i], &bits, sizeof bits);
    }
}

anoma_status an_reader_status(const an_reader *r)
{
    if (!r->failed)
        return ANOMA_OK;
    if (r->no_memory)
        return an_no_memory();
    return an_error(ANOMA_ERR_FORMAT, "model file: %s section is truncated or inconsistent "
                    "(at byte %zu of %zu)", r->what ? r->what : "a", r->pos, r->len);
}

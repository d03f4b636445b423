#include "core/strbuf.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int reserve(an_strbuf *sb, size_t extra)
{
    if (sb->failed)
        return 0;
    if (sb->len + extra + 1 <= sb->cap)
        return 1;
    size_t cap = sb->cap ? sb->cap : 128;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *grown = an_realloc(sb->data, cap);
    if (!grown) {
        sb->failed = 1;
        return 0;
    }
    sb->data = grown;
    sb->cap = cap;
    return 1;
}

void an_strbuf_append(an_strbuf *sb, const char *text, size_t len)
{
    if (!reserve(sb, len))
        return;
    memcpy(sb->data + sb->len, text, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void an_strbuf_printf(an_strbuf *sb, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (n < 0 || !reserve(sb, (size_t)n))
        return;
    va_start(args, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, args);
    va_end(args);
    sb->len += (size_t)n;
}

void an_strbuf_free(an_strbuf *sb)
{
    an_free(sb->data);
    *sb = (an_strbuf){0};
}

anoma_status an_strbuf_export(const an_strbuf *sb, char *buf, size_t cap, size_t *needed)
{
    if (sb->failed)
        return an_no_memory();
    if (needed)
        *needed = sb->len;
    if (buf && cap) {
        size_t n = sb->len < cap - 1 ? sb->len : cap - 1;
        if (n)
            memcpy(buf, sb->data, n);
        buf[n] = '\0';
    }
    return ANOMA_OK;
}

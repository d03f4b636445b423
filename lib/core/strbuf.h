/* A growing text buffer for descriptions and parameter text. A failed
 * allocation is remembered and reported once, at the end. */
#ifndef AN_CORE_STRBUF_H
#define AN_CORE_STRBUF_H

#include "anoma/common.h"

typedef struct an_strbuf {
    char *data;  /* NUL-terminated when len > 0 */
    size_t len;  /* characters, without the NUL */
    size_t cap;  /* bytes allocated */
    int failed;  /* an allocation failed: the text is incomplete */
} an_strbuf;

void an_strbuf_printf(an_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void an_strbuf_append(an_strbuf *sb, const char *text, size_t len);
void an_strbuf_free(an_strbuf *sb);
/* Copy into a caller buffer the snprintf way; ANOMA_ERR_NO_MEMORY if the
 * buffer had failed. */
anoma_status an_strbuf_export(const an_strbuf *sb, char *buf, size_t cap, size_t *needed);

#endif

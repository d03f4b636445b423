/* Writing JSON by hand: the replies are small and flat, and every string
 * that reaches them (names, messages, keys) goes through json_put_string. */
#include "serve.h"

#include <math.h>

void json_put_string(FILE *out, const char *s)
{
    putc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                putc(*p, out);
        }
    }
    putc('"', out);
}

void json_put_number(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.17g", v); /* as `anoma score` writes scores: exact */
    else
        fputs("null", out);
}

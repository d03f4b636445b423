#include "core/quoting.h"
#include "core/alloc.h"
#include "core/error.h"
#include "anoma/params.h"

#include <ctype.h>
#include <string.h>

/* End of the item at p (at a comma, whitespace or the end when well formed);
 * with out given, the item's characters are appended to it. *problem is set
 * (and NULL returned) when the item breaks the rule. */
static const char *read_item(const char *p, an_strbuf *out, const char **problem)
{
    if (*p != '"') {
        const char *start = p;
        for (; *p && *p != ',' && !isspace((unsigned char)*p); p++) {
            if (*p == '"') {
                *problem = "a quote may only open an item: quote the whole item, as \"a b\"";
                return NULL;
            }
            if (*p == '\\') {
                *problem = "a backslash escapes only inside quotes (\\\" or \\\\)";
                return NULL;
            }
        }
        if (out)
            an_strbuf_append(out, start, (size_t)(p - start));
        return p;
    }
    for (p++; *p != '"'; p++) {
        if (!*p) {
            *problem = "unterminated quote";
            return NULL;
        }
        if (*p == '\\') {
            p++;
            if (*p != '"' && *p != '\\') {
                *problem = *p ? "stray backslash: inside quotes only \\\" and \\\\ are escapes"
                              : "unterminated quote";
                return NULL;
            }
        }
        if (out)
            an_strbuf_append(out, p, 1);
    }
    p++; /* the closing quote */
    if (*p && *p != ',' && !isspace((unsigned char)*p)) {
        *problem = "a closing quote must end the item (a comma or the end must follow it)";
        return NULL;
    }
    return p;
}

const char *an_quoting_problem(const char *value)
{
    const char *problem = NULL;
    for (const char *p = value; *p;) {
        p = read_item(p, NULL, &problem);
        if (!p)
            return problem;
        if (*p && *p != ',')
            return "whitespace outside quotes: quote the item, as \"a b\"";
        p += *p == ',';
    }
    return NULL;
}

size_t an_quoted_token_length(const char *text)
{
    int quoted = 0;
    const char *p = text;
    for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
        if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
            p++;
        else if (*p == '"')
            quoted = !quoted;
    }
    return (size_t)(p - text);
}

int an_list_next(const char **cursor, an_strbuf *item)
{
    const char *problem = NULL;
    item->len = 0;
    if (item->data)
        item->data[0] = '\0';
    if (!**cursor)
        return 0;
    const char *end = read_item(*cursor, item, &problem);
    if (!end) /* not a well-formed list: the rest is one item, as written */
        end = *cursor + strlen(*cursor);
    *cursor = end + (*end == ',');
    if (!item->data) /* an empty item: give the caller "" */
        an_strbuf_append(item, "", 0);
    return 1;
}

size_t an_list_length(const char *value)
{
    size_t n = 0;
    an_strbuf item = {0};
    while (an_list_next(&value, &item))
        n++;
    an_strbuf_free(&item);
    return n;
}

char *an_unquote(const char *value)
{
    an_strbuf out = {0};
    const char *problem = NULL;
    for (const char *p = value; *p;) {
        const char *end = read_item(p, &out, &problem);
        if (!end) { /* not well formed: as written */
            an_strbuf_free(&out);
            return an_strdup(value);
        }
        if (*end)
            an_strbuf_append(&out, end, 1); /* the comma */
        p = end + (*end != 0);
    }
    if (out.failed) {
        an_strbuf_free(&out);
        return NULL;
    }
    if (!out.data)
        return an_strdup("");
    return out.data;
}

void an_quote_item(an_strbuf *out, const char *name)
{
    size_t plain = strcspn(name, " \t\n\v\f\r,\"\\");
    if (*name && !name[plain]) {
        an_strbuf_append(out, name, plain);
        return;
    }
    an_strbuf_append(out, "\"", 1);
    for (const char *c = name; *c; c++) {
        if (*c == '"' || *c == '\\')
            an_strbuf_append(out, "\\", 1);
        an_strbuf_append(out, c, 1);
    }
    an_strbuf_append(out, "\"", 1);
}

anoma_status anoma_param_list_item(const char *list, size_t index, char *item, size_t cap,
                                   size_t *length)
{
    if (!list || (!item && cap))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_param_list_item: NULL argument");
    const char *problem = an_quoting_problem(list);
    if (problem)
        return an_error(ANOMA_ERR_PARAM_VALUE, "list '%s': %s", list, problem);
    an_strbuf text = {0};
    const char *cursor = list;
    size_t k = 0;
    int found;
    while ((found = an_list_next(&cursor, &text)) && k < index)
        k++;
    if (!found) {
        an_strbuf_free(&text);
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "list '%s' has %zu items, not %zu", list, k,
                        index + 1);
    }
    if (text.failed) {
        an_strbuf_free(&text);
        return an_no_memory();
    }
    if (length)
        *length = text.len;
    anoma_status st = ANOMA_OK;
    if (text.len < cap)
        memcpy(item, text.data, text.len + 1);
    else
        st = an_error(ANOMA_ERR_BUFFER_TOO_SMALL, "list item %zu needs %zu bytes", index,
                      text.len + 1);
    an_strbuf_free(&text);
    return st;
}

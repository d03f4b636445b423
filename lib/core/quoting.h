/* The quoting rule of parameter values (documented for users in
 * include/anoma/params.h and docs/features.md).
 *
 * A value is items separated by commas. An item is bare (any characters but
 * whitespace, '"' and '\\') or double-quoted: inside quotes \" stands for a
 * quote, \\ for a backslash, and every other character (space, comma, '=')
 * for itself. So a column named `device type` or `a,b` is written
 * columns="device type","a,b". Values are kept as written (so a model
 * prints and saves them as given); these functions read them. */
#ifndef AN_CORE_QUOTING_H
#define AN_CORE_QUOTING_H

#include "core/strbuf.h"

#include <stddef.h>

/* NULL when value follows the rule, else what is wrong with it (a phrase
 * for a message, such as "unterminated quote"). */
const char *an_quoting_problem(const char *value);

/* Length of the `key=value` token that starts at text: up to the first
 * whitespace outside quotes, or the end. */
size_t an_quoted_token_length(const char *text);

/* Read the next item of the well-formed list at *cursor into item (reset
 * first), and move *cursor past it and its comma. 0 when no item is left.
 * A trailing comma ends the list; an empty item between commas is "". */
int an_list_next(const char **cursor, an_strbuf *item);

/* Number of items of a well-formed list (0 for ""). */
size_t an_list_length(const char *value);

/* A single-valued parameter's text: the value with its quoting read
 * (quotes removed, escapes replaced, commas kept), newly allocated with
 * an_malloc; NULL when out of memory. */
char *an_unquote(const char *value);

#endif

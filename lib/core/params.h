/* key=value parameters checked against a component's schema.
 *
 * Values are kept as validated text in schema order; typed getters read
 * them. Every key has a value (its default until set), so a component can
 * print exactly how it was made with an_params_format(). */
#ifndef AN_CORE_PARAMS_H
#define AN_CORE_PARAMS_H

#include "anoma/params.h"
#include "core/strbuf.h"

typedef struct an_params {
    const char *component;          /* for messages: "zscore", "model" */
    const anoma_param_info *schema; /* the accepted keys */
    size_t n;                       /* number of keys */
    char **values;                  /* n values as text */
} an_params;

/* Fill with the defaults. */
anoma_status an_params_init(an_params *p, const char *component,
                            const anoma_param_info *schema, size_t n);
void an_params_free(an_params *p);
anoma_status an_params_copy(an_params *dst, const an_params *src);

/* Apply "k=v k=v ..." (NULL or blank: nothing). On error p is unchanged. */
anoma_status an_params_parse(an_params *p, const char *text);
/* Apply one key; the message names the key and the accepted range. */
anoma_status an_params_set(an_params *p, const char *key, const char *value);

/* Typed reads of a key that must be in the schema. */
double an_params_double(const an_params *p, const char *key);
long long an_params_int(const an_params *p, const char *key);
int an_params_bool(const an_params *p, const char *key);
const char *an_params_text(const an_params *p, const char *key);
/* Position of the value among the key's choices. */
int an_params_choice(const an_params *p, const char *key);
/* 1 when the key's value is the given word (for "auto"-style values). */
int an_params_is(const an_params *p, const char *key, const char *word);

/* "k=v k=v" for every key, in schema order. */
void an_params_format(const an_params *p, an_strbuf *out);
/* The same without one key (NULL: none), such as a run-time-only setting. */
void an_params_format_without(const an_params *p, const char *skip, an_strbuf *out);

/* Check one value against one entry of a schema. */
anoma_status an_param_check(const char *component, const anoma_param_info *info,
                            const char *value);

/* strtod in the C locale whatever the host's LC_NUMERIC, so "1.5" means
 * the same in every program that links the library. */
double an_strtod(const char *text, char **end);

/* Parse a finite double / an integer; 1 on success. */
int an_parse_double(const char *text, double *out);
int an_parse_int(const char *text, long long *out);

#endif

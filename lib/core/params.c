#include "core/params.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/quoting.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

double an_strtod(const char *text, char **end)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale ? strtod_l(text, end, c_locale) : strtod(text, end);
}

/* "0x..." after an optional sign: strtod and strtoll(…, 0) read it, but a
 * parameter, like a CSV field, is decimal, so one text means one number
 * everywhere in the library. */
static int is_hex(const char *text)
{
    text += *text == '+' || *text == '-';
    return text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
}

/* Why text is not a finite decimal double (a phrase for a message, "" when
 * it is simply not a number), or NULL when it is one (then in *out). */
static const char *double_problem(const char *text, double *out)
{
    if (!text || !*text || isspace((unsigned char)*text))
        return "";
    if (is_hex(text))
        return "hexadecimal numbers are not accepted";
    char *end;
    errno = 0;
    double v = an_strtod(text, &end);
    if (*end)
        return "";
    /* glibc's ERANGE: a magnitude beyond DBL_MAX (then v is infinite), or a
     * nonzero one below DBL_MIN, which rounds to a subnormal or to zero. */
    if (errno == ERANGE)
        return isinf(v) ? "the value is out of the range of a double"
                        : "the value underflows: its magnitude is below the smallest normal "
                          "double, 2.2250738585072014e-308";
    if (!isfinite(v)) /* the words inf and nan */
        return "";
    *out = v;
    return NULL;
}

int an_parse_double(const char *text, double *out)
{
    return double_problem(text, out) == NULL;
}

int an_parse_int(const char *text, long long *out)
{
    if (!text || !*text || isspace((unsigned char)*text))
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end || errno == ERANGE)
        return 0;
    *out = v;
    return 1;
}

static int parse_bool(const char *text, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(text, yes[i])) {
            *out = 1;
            return 1;
        }
        if (!strcmp(text, no[i])) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

/* Position of word in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *word)
{
    size_t len = strlen(word);
    int index = 0;
    for (const char *p = choices; *p; index++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, word, n))
            return index;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

anoma_status an_param_check(const char *component, const anoma_param_info *info,
                            const char *value)
{
    double d;
    long long i;
    int b;
    /* Numbers may also accept the words listed in choices, such as "auto". */
    if ((info->type == ANOMA_PARAM_INT || info->type == ANOMA_PARAM_DOUBLE) && info->choices &&
        *info->choices && choice_index(info->choices, value) >= 0)
        return ANOMA_OK;
    switch (info->type) {
    case ANOMA_PARAM_INT:
        if (an_parse_int(value, &i) && (double)i >= info->min && (double)i <= info->max)
            return ANOMA_OK;
        if (is_hex(value))
            return an_error(ANOMA_ERR_PARAM_VALUE, "%s: %s=%s: hexadecimal numbers are not "
                            "accepted; expected a decimal integer in [%.17g, %.17g]",
                            component, info->key, value, info->min, info->max);
        return an_error(ANOMA_ERR_PARAM_VALUE, "%s: %s=%s: expected an integer in [%.17g, %.17g]",
                        component, info->key, value, info->min, info->max);
    case ANOMA_PARAM_DOUBLE: {
        const char *problem = double_problem(value, &d);
        if (!problem && d >= info->min && d <= info->max)
            return ANOMA_OK;
        if (problem && *problem)
            return an_error(ANOMA_ERR_PARAM_VALUE, "%s: %s=%s: %s", component, info->key, value,
                            problem);
        return an_error(ANOMA_ERR_PARAM_VALUE, "%s: %s=%s: expected a number in [%.17g, %.17g]",
                        component, info->key, value, info->min, info->max);
    }
    case ANOMA_PARAM_BOOL:
        if (parse_bool(value, &b))
            return ANOMA_OK;
        return an_error(ANOMA_ERR_PARAM_VALUE, "%s: %s=%s: expected true or false", component,
                        info->key, value);
    case ANOMA_PARAM_CHOICE:
        if (choice_index(info->choices, value) >= 0)
            return ANOMA_OK;
        return an_error(ANOMA_ERR_PARAM_VALUE, "%s: %s=%s: expected one of %s", component,
                        info->key, value, info->choices);
    case ANOMA_PARAM_TEXT: {
        const char *problem = an_quoting_problem(value);
        if (!problem)
            return ANOMA_OK;
        return an_error(ANOMA_ERR_PARAM_VALUE, "%s: %s=%s: %s", component, info->key, value,
                        problem);
    }
    }
    return an_error(ANOMA_ERR_INTERNAL, "%s: %s: bad schema type", component, info->key);
}

static long find_key(const an_params *p, const char *key, size_t len)
{
    for (size_t i = 0; i < p->n; i++)
        if (strlen(p->schema[i].key) == len && !strncmp(p->schema[i].key, key, len))
            return (long)i;
    return -1;
}

static size_t index_of(const an_params *p, const char *key)
{
    long i = find_key(p, key, strlen(key));
    return i < 0 ? 0 : (size_t)i; /* keys read by code are always in the schema */
}

anoma_status an_params_init(an_params *p, const char *component,
                            const anoma_param_info *schema, size_t n)
{
    *p = (an_params){component, schema, n, NULL};
    p->values = AN_NEW_ZEROED(char *, n);
    if (!p->values)
        return an_no_memory();
    for (size_t i = 0; i < n; i++) {
        p->values[i] = an_strdup(schema[i].default_value);
        if (!p->values[i]) {
            an_params_free(p);
            return an_no_memory();
        }
    }
    return ANOMA_OK;
}

void an_params_free(an_params *p)
{
    if (p->values)
        for (size_t i = 0; i < p->n; i++)
            an_free(p->values[i]);
    an_free(p->values);
    p->values = NULL;
}

anoma_status an_params_copy(an_params *dst, const an_params *src)
{
    AN_TRY(an_params_init(dst, src->component, src->schema, src->n));
    for (size_t i = 0; i < src->n; i++) {
        char *v = an_strdup(src->values[i]);
        if (!v) {
            an_params_free(dst);
            return an_no_memory();
        }
        an_free(dst->values[i]);
        dst->values[i] = v;
    }
    return ANOMA_OK;
}

static anoma_status set_n(an_params *p, const char *key, size_t key_len, const char *value)
{
    long i = find_key(p, key, key_len);
    if (i < 0) {
        an_strbuf known = {0};
        for (size_t k = 0; k < p->n; k++)
            an_strbuf_printf(&known, "%s%s", k ? ", " : "", p->schema[k].key);
        anoma_status st = an_error(ANOMA_ERR_UNKNOWN_PARAM, "%s: unknown parameter '%.*s' (known: %s)",
                                   p->component, (int)key_len, key,
                                   known.data ? known.data : "none");
        an_strbuf_free(&known);
        return st;
    }
    AN_TRY(an_param_check(p->component, &p->schema[i], value));
    char *copy = an_strdup(value);
    if (!copy)
        return an_no_memory();
    an_free(p->values[i]);
    p->values[i] = copy;
    return ANOMA_OK;
}

anoma_status an_params_set(an_params *p, const char *key, const char *value)
{
    if (!key || !value)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL parameter key or value",
                        p->component);
    return set_n(p, key, strlen(key), value);
}

anoma_status an_params_parse(an_params *p, const char *text)
{
    if (!text)
        return ANOMA_OK;
    an_params work;
    AN_TRY(an_params_copy(&work, p)); /* all or nothing */
    anoma_status st = ANOMA_OK;
    const char *s = text;
    while (st == ANOMA_OK) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        const char *start = s;
        s += an_quoted_token_length(s); /* whitespace inside quotes is part of the value */
        size_t len = (size_t)(s - start);
        const char *eq = memchr(start, '=', len);
        if (!eq || eq == start) {
            st = an_error(ANOMA_ERR_PARAM_VALUE, "%s: '%.*s' is not of the form key=value",
                          p->component, (int)len, start);
            break;
        }
        char *value = an_strndup(eq + 1, (size_t)(s - eq - 1));
        if (!value) {
            st = an_no_memory();
            break;
        }
        st = set_n(&work, start, (size_t)(eq - start), value);
        an_free(value);
    }
    if (st == ANOMA_OK) {
        an_params_free(p);
        *p = work;
    } else {
        an_params_free(&work);
    }
    return st;
}

double an_params_double(const an_params *p, const char *key)
{
    double v = NAN;
    an_parse_double(p->values[index_of(p, key)], &v);
    return v;
}

long long an_params_int(const an_params *p, const char *key)
{
    long long v = 0;
    an_parse_int(p->values[index_of(p, key)], &v);
    return v;
}

int an_params_bool(const an_params *p, const char *key)
{
    int v = 0;
    parse_bool(p->values[index_of(p, key)], &v);
    return v;
}

const char *an_params_text(const an_params *p, const char *key)
{
    return p->values[index_of(p, key)];
}

int an_params_choice(const an_params *p, const char *key)
{
    size_t i = index_of(p, key);
    return choice_index(p->schema[i].choices, p->values[i]);
}

int an_params_is(const an_params *p, const char *key, const char *word)
{
    return !strcmp(an_params_text(p, key), word);
}

void an_params_format_without(const an_params *p, const char *skip, an_strbuf *out)
{
    const char *sep = "";
    for (size_t i = 0; i < p->n; i++) {
        if (skip && !strcmp(p->schema[i].key, skip))
            continue;
        an_strbuf_printf(out, "%s%s=%s", sep, p->schema[i].key, p->values[i]);
        sep = " ";
    }
}

void an_params_format(const an_params *p, an_strbuf *out) { an_params_format_without(p, NULL, out); }

/* The detectors and the model's parameters, listed from their schemas
 * (params.h), for `anoma help detectors` and the train and evaluate help. */
#include "cli.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Whole numbers in full (bounds such as 2^53 or INT64_MAX), others short. */
static void format_bound(double v, char *buf, size_t cap)
{
    if (v == floor(v) && fabs(v) < 1e19)
        snprintf(buf, cap, "%.0f", v);
    else
        snprintf(buf, cap, "%.10g", v);
}

static void describe_range(const anoma_param_info *p, char *buf, size_t cap)
{
    switch (p->type) {
    case ANOMA_PARAM_BOOL:
        snprintf(buf, cap, "true|false");
        return;
    case ANOMA_PARAM_CHOICE:
        snprintf(buf, cap, "%s", p->choices);
        return;
    case ANOMA_PARAM_TEXT:
        snprintf(buf, cap, "text");
        return;
    case ANOMA_PARAM_INT:
    case ANOMA_PARAM_DOUBLE:
        break;
    }
    char min[40], max[40];
    format_bound(p->min, min, sizeof min);
    format_bound(p->max, max, sizeof max);
    /* 2^63 as a double bounds an int whose true maximum is INT64_MAX */
    if (p->type == ANOMA_PARAM_INT && p->max >= 9223372036854775807.0)
        snprintf(max, sizeof max, "%lld", (long long)INT64_MAX);
    int lo = p->min > -DBL_MAX, hi = p->max < DBL_MAX;
    if (lo && hi)
        snprintf(buf, cap, "[%s, %s]", min, max);
    else if (lo)
        snprintf(buf, cap, ">= %s", min);
    else if (hi)
        snprintf(buf, cap, "<= %s", max);
    else
        snprintf(buf, cap, "any");
    if (*p->choices) { /* words a number also accepts, such as "auto" */
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, " or %s", p->choices);
    }
}

static const char *type_name(anoma_param_type type)
{
    switch (type) {
    case ANOMA_PARAM_INT: return "int";
    case ANOMA_PARAM_DOUBLE: return "real";
    case ANOMA_PARAM_BOOL: return "bool";
    case ANOMA_PARAM_CHOICE: return "choice";
    case ANOMA_PARAM_TEXT: return "text";
    }
    return "?";
}

static void print_component(FILE *out, anoma_component_kind kind, const char *name)
{
    const char *summary = anoma_component_summary(kind, name);
    fprintf(out, "  %s: %s\n", name, summary ? summary : "");
    cli_table t;
    cli_table_init(&t, 5);
    anoma_param_info p;
    for (size_t i = 0; anoma_component_param(kind, name, i, &p) == ANOMA_OK; i++) {
        char range[160];
        describe_range(&p, range, sizeof range);
        if (i == 0) {
            cli_table_add(&t, "key");
            cli_table_add(&t, "type");
            cli_table_add(&t, "range");
            cli_table_add(&t, "default");
            cli_table_add(&t, "description");
        }
        cli_table_add(&t, "%s", p.key);
        cli_table_add(&t, "%s", type_name(p.type));
        cli_table_add(&t, "%s", range);
        cli_table_add(&t, "%s", *p.default_value ? p.default_value : "-");
        cli_table_add(&t, "%s", p.doc);
    }
    if (t.n == 0)
        fprintf(out, "      (no parameters)\n");
    else
        cli_table_print(&t, out, "      ", NULL);
    fputc('\n', out);
    cli_table_free(&t);
}

void cli_print_components(FILE *out)
{
    fprintf(out, "Detectors (--detector NAME; parameters as KEY=VALUE):\n");
    if (!anoma_component_name(ANOMA_KIND_DETECTOR, 0))
        fprintf(out, "  (none registered in this build)\n");
    for (size_t i = 0; anoma_component_name(ANOMA_KIND_DETECTOR, i); i++)
        print_component(out, ANOMA_KIND_DETECTOR, anoma_component_name(ANOMA_KIND_DETECTOR, i));
    fprintf(out, "Pipeline steps (train: --step 'NAME KEY=VALUE ...'; docs/features.md):\n");
    for (size_t i = 0; anoma_component_name(ANOMA_KIND_STEP, i); i++)
        print_component(out, ANOMA_KIND_STEP, anoma_component_name(ANOMA_KIND_STEP, i));
    fprintf(out, "Model parameters (train: --model-param KEY=VALUE):\n");
    print_component(out, ANOMA_KIND_MODEL, "model");
}

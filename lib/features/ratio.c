/* ratio: a behaviour feature from two number columns -- their ratio,
 * product or difference (clicks per second, amount per item).
 *
 *   numerator=clicks denominator=seconds op=ratio name=clicks_per_second
 * The two columns are read and left in place; the new column goes at the
 * end. Rules, in order:
 *   - a missing value (NaN) in either column gives a missing result;
 *   - op=ratio with a zero denominator: 0 / 0 gives 0 (nothing per
 *     nothing), x / 0 gives zero_division (default nan: missing, for an
 *     imputer to fill, or a number such as 0 or a cap);
 *   - a result too large for a double (1e300 * 1e300) becomes +-DBL_MAX,
 *     so the output is always finite or missing.
 * op=product gives numerator * denominator and op=difference numerator -
 * denominator. Definitions: docs/features.md. */
#include "features/step.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/quoting.h"

#include <float.h>
#include <math.h>
#include <string.h>

enum { OP_RATIO = 0, OP_PRODUCT = 1, OP_DIFFERENCE = 2 };

static const anoma_param_info ratio_params[] = {
    {"numerator", ANOMA_PARAM_TEXT, 0, 0, "", "", "the first number column (required)"},
    {"denominator", ANOMA_PARAM_TEXT, 0, 0, "", "", "the second number column (required)"},
    {"op", ANOMA_PARAM_CHOICE, 0, 0, "ratio", "ratio|product|difference",
     "numerator / denominator, numerator * denominator, or numerator - denominator"},
    {"name", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "the new column's name (default NUM_per_DEN, NUM_times_DEN or NUM_minus_DEN)"},
    {"zero_division", ANOMA_PARAM_DOUBLE, -1e300, 1e300, "nan", "nan",
     "the ratio when the denominator is 0 and the numerator is not (0 / 0 gives 0)"},
};

typedef struct ratio_state {
    char *numerator, *denominator, *name;
    int op;
    double zero_division;
} ratio_state;

static void ratio_destroy(void *state)
{
    ratio_state *s = state;
    an_free(s->numerator);
    an_free(s->denominator);
    an_free(s->name);
    an_free(s);
}

static anoma_status ratio_create(const an_params *params, void **state)
{
    ratio_state *s = AN_NEW_ZEROED(ratio_state, 1);
    if (!s)
        return an_no_memory();
    s->op = an_params_choice(params, "op");
    s->zero_division = an_params_is(params, "zero_division", "nan")
                           ? NAN
                           : an_params_double(params, "zero_division");
    /* names as written, quotes read: numerator="amount (EUR)" */
    s->numerator = an_unquote(an_params_text(params, "numerator"));
    s->denominator = an_unquote(an_params_text(params, "denominator"));
    s->name = an_unquote(an_params_text(params, "name"));
    anoma_status st = s->numerator && s->denominator && s->name ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK && (!*s->numerator || !*s->denominator))
        st = an_error(ANOMA_ERR_PARAM_VALUE, "ratio: %s= is required (a number column)",
                      *s->numerator ? "denominator" : "numerator");
    if (st == ANOMA_OK && (an_list_length(an_params_text(params, "numerator")) != 1 ||
                           an_list_length(an_params_text(params, "denominator")) != 1))
        st = an_error(ANOMA_ERR_PARAM_VALUE, "ratio: numerator and denominator name one column "
                      "each (quote a name with a comma: \"a,b\")");
    if (st != ANOMA_OK) {
        ratio_destroy(s);
        return st;
    }
    *state = s;
    return ANOMA_OK;
}

static anoma_status ratio_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    static const char *const joins[] = {"per", "times", "minus"};
    ratio_state *s = state;
    if (!strcmp(s->numerator, s->denominator))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "ratio: numerator and denominator are both "
                        "'%s'", s->numerator);
    /* one column each, resolved as every step resolves columns=, kept in place */
    AN_TRY(an_step_resolve_column("ratio", s->numerator, data->schema, 1u << AN_CELL_NUMBER, io));
    AN_TRY(an_step_resolve_column("ratio", s->denominator, data->schema, 1u << AN_CELL_NUMBER, io));
    io->keep[0] = io->keep[1] = 1;
    if (*s->name)
        AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s", s->name));
    else
        AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_%s_%s", s->numerator, joins[s->op],
                                     s->denominator));
    return ANOMA_OK;
}

static double combine(const ratio_state *s, double a, double b)
{
    double y;
    if (s->op == OP_PRODUCT)
        y = a * b;
    else if (s->op == OP_DIFFERENCE)
        y = a - b;
    else if (b == 0 && !isnan(a))
        y = a == 0 ? 0 : s->zero_division;
    else
        y = a / b;
    if (isinf(y))
        y = y > 0 ? DBL_MAX : -DBL_MAX;
    return y;
}

static anoma_status ratio_transform(const void *state, const an_cell *const *in,
                                    an_cell *const *out, size_t rows, void *scratch,
                                    an_step_fault *fault)
{
    (void)scratch;
    (void)fault;
    const ratio_state *s = state;
    for (size_t i = 0; i < rows; i++)
        out[0][i].num = combine(s, in[0][i].num, in[1][i].num);
    return ANOMA_OK;
}

/* Payload 1: empty; everything is in the parameters and the io. */
static anoma_status ratio_save(const void *state, an_writer *w)
{
    (void)state;
    (void)w;
    return ANOMA_OK;
}

static anoma_status ratio_load(void *state, an_reader *r, uint32_t version,
                               const an_schema *schema, const an_step_io *io)
{
    (void)state;
    (void)r;
    if (version != 1)
        return an_error(ANOMA_ERR_VERSION, "ratio: payload version %u is not known", version);
    if (io->n_inputs != 2 || io->n_outputs != 1 || !io->keep[0] || !io->keep[1] ||
        schema->types[io->inputs[0]] != AN_CELL_NUMBER ||
        schema->types[io->inputs[1]] != AN_CELL_NUMBER || io->output_types[0] != AN_CELL_NUMBER)
        return an_error(ANOMA_ERR_FORMAT, "model file: ratio does not read two number columns "
                        "into one");
    return ANOMA_OK;
}

static size_t ratio_memory(const void *state)
{
    const ratio_state *s = state;
    return sizeof *s + strlen(s->numerator) + strlen(s->denominator) + strlen(s->name) + 3;
}

static void ratio_describe(const void *state, an_strbuf *out)
{
    static const char *const ops[] = {"/", "*", "-"};
    const ratio_state *s = state;
    an_strbuf_printf(out, "    %s %s %s\n", s->numerator, ops[s->op], s->denominator);
}

const an_step_vtable an_ratio_step = {
    .name = "ratio",
    .summary = "a new column from two number columns: their ratio, product or difference",
    .params = ratio_params,
    .n_params = sizeof ratio_params / sizeof *ratio_params,
    .payload_version = 1,
    .create = ratio_create,
    .destroy = ratio_destroy,
    .fit = ratio_fit,
    .transform = ratio_transform,
    .save = ratio_save,
    .load = ratio_load,
    .memory_bytes = ratio_memory,
    .describe = ratio_describe,
};

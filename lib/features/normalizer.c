/* normalizer: scale each row of the given number columns to unit norm, as
 * scikit-learn's Normalizer (l2, l1 or max norm).
 *
 * Nothing is learnt but the columns. Transform, per row, over the step's
 * columns: norm = sqrt(sum x^2) (l2), sum |x| (l1) or max |x| (max), 1 when
 * below 10 eps (an all-zero row stays zero); then x / norm. Missing values
 * are left out of the norm and stay missing (scikit-learn refuses them).
 * Definitions: docs/features.md. */
#include "features/column_stats.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>

enum { NORM_L2 = 0, NORM_L1 = 1, NORM_MAX = 2 };

static const anoma_param_info normalizer_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "number columns that make the row vector, comma-separated (default: every number column)"},
    {"norm", ANOMA_PARAM_CHOICE, 0, 0, "l2", "l2|l1|max", "the norm each row is divided by"},
};

typedef struct normalizer_state {
    an_column_stats cs; /* columns only */
    int norm;
} normalizer_state;

static void normalizer_destroy(void *state)
{
    normalizer_state *s = state;
    an_column_stats_free(&s->cs);
    an_free(s);
}

static anoma_status normalizer_create(const an_params *params, void **state)
{
    normalizer_state *s = AN_NEW_ZEROED(normalizer_state, 1);
    if (!s)
        return an_no_memory();
    s->norm = an_params_choice(params, "norm");
    anoma_status st = an_column_stats_init(&s->cs, "normalizer", params, 0);
    if (st != ANOMA_OK) {
        normalizer_destroy(s);
        return st;
    }
    *state = s;
    return ANOMA_OK;
}

static anoma_status normalizer_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    normalizer_state *s = state;
    return an_column_stats_fit(&s->cs, NULL, NULL, data, io);
}

static double row_norm(const normalizer_state *s, const an_cell *const *in, size_t i)
{
    double norm = 0;
    for (size_t k = 0; k < s->cs.n; k++) {
        double x = in[k][i].num;
        if (isnan(x))
            continue;
        if (s->norm == NORM_L2)
            norm += x * x;
        else if (s->norm == NORM_L1)
            norm += fabs(x);
        else
            norm = fabs(x) > norm ? fabs(x) : norm;
    }
    return an_scale_or_one(s->norm == NORM_L2 ? sqrt(norm) : norm);
}

static anoma_status normalizer_transform(const void *state, const an_cell *const *in,
                                         an_cell *const *out, size_t rows, void *scratch,
                                         an_step_fault *fault)
{
    (void)scratch;
    (void)fault;
    const normalizer_state *s = state;
    for (size_t i = 0; i < rows; i++) {
        double norm = row_norm(s, in, i);
        for (size_t k = 0; k < s->cs.n; k++)
            out[k][i].num = in[k][i].num / norm;
    }
    return ANOMA_OK;
}

static anoma_status normalizer_save(const void *state, an_writer *w)
{
    an_column_stats_save(&((const normalizer_state *)state)->cs, w);
    return ANOMA_OK;
}

static anoma_status normalizer_load(void *state, an_reader *r, uint32_t version,
                                    const an_schema *schema, const an_step_io *io)
{
    return an_column_stats_load(&((normalizer_state *)state)->cs, r, version, schema, io);
}

static size_t normalizer_memory(const void *state)
{
    const normalizer_state *s = state;
    return sizeof *s - sizeof s->cs + an_column_stats_memory(&s->cs);
}

static void normalizer_describe(const void *state, an_strbuf *out)
{
    static const char *const names[] = {"l2", "l1", "max"};
    const normalizer_state *s = state;
    an_strbuf_printf(out, "    rows of %zu columns divided by their %s norm\n", s->cs.n,
                     names[s->norm]);
}

const an_step_vtable an_normalizer_step = {
    .name = "normalizer",
    .summary = "divide each row of number columns by its l2, l1 or max norm",
    .params = normalizer_params,
    .n_params = sizeof normalizer_params / sizeof *normalizer_params,
    .payload_version = 1,
    .create = normalizer_create,
    .destroy = normalizer_destroy,
    .fit = normalizer_fit,
    .transform = normalizer_transform,
    .save = normalizer_save,
    .load = normalizer_load,
    .memory_bytes = normalizer_memory,
    .describe = normalizer_describe,
};

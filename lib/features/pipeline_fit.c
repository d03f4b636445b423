/* Fitting a pipeline: each step on the whole output of the one before. */
#include "features/pipeline.h"
#include "features/entity_map.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdint.h>
#include <string.h>

typedef struct fit_memory {
    const an_cell **cols; /* per slot: the full training column */
    an_cell **owned;      /* the buffers made: converted inputs, then one per step */
    size_t n_owned;
} fit_memory;

static anoma_status grow_cols(fit_memory *f, size_t n)
{
    const an_cell **cols = an_realloc_array(f->cols, n ? n : 1, sizeof *cols);
    if (!cols)
        return an_no_memory();
    f->cols = cols;
    return ANOMA_OK;
}

/* Fit step s on the current stage's full columns, then transform them. */
static anoma_status fit_step(an_pipeline *p, size_t s, size_t rows, size_t n_threads,
                             fit_memory *f)
{
    an_pipeline_step *step = &p->steps[s];
    size_t begin = p->stage_begin[s], width = p->stage_begin[s + 1] - begin;
    const char **names = AN_NEW_ARRAY(const char *, width + 1);
    an_cell_type *types = AN_NEW_ARRAY(an_cell_type, width + 1);
    const an_cell **columns = AN_NEW_ARRAY(const an_cell *, width + 1);
    anoma_status st = names && types && columns ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK) {
        an_schema schema = an_pipeline_stage(p, s, names, types);
        for (size_t j = 0; j < width; j++)
            columns[j] = f->cols[p->stage_slots[begin + j]];
        an_step_fit_data data = {&schema, columns, rows, n_threads};
        st = step->vt->fit(step->state, &data, &step->io);
    }
    an_free(names);
    an_free(types);
    an_free(columns);
    AN_TRY(st);
    AN_TRY(an_pipeline_plan_steps(p, s + 1));

    const an_step_io *io = &step->io;
    AN_TRY(grow_cols(f, p->n_slots));
    an_cell *made = an_malloc_array(io->n_outputs * rows + 1, sizeof(an_cell));
    if (!made)
        return an_no_memory();
    f->owned[f->n_owned++] = made;
    for (size_t k = 0; k < io->n_outputs; k++)
        f->cols[p->step_first_slot[s] + k] = made + k * rows;

    size_t scratch_bytes = step->vt->scratch_bytes ? step->vt->scratch_bytes(step->state, AN_BLOCK_ROWS) : 0;
    void *scratch = scratch_bytes ? an_malloc_aligned(scratch_bytes, AN_STEP_SCRATCH_ALIGN) : NULL;
    const an_cell **in = AN_NEW_ARRAY(const an_cell *, io->n_inputs + 1);
    an_cell **out = AN_NEW_ARRAY(an_cell *, io->n_outputs + 1);
    /* a stateful step's entity states, for this pass, and one row's cells */
    an_step_memory memory = {scratch, NULL, AN_NEW_ARRAY(const an_cell *, io->n_inputs + 1),
                             AN_NEW_ARRAY(an_cell *, io->n_outputs + 1), NULL};
    st = in && out && memory.row_in && memory.row_out && (!scratch_bytes || scratch)
             ? ANOMA_OK
             : an_no_memory();
    if (st == ANOMA_OK)
        st = an_pipeline_step_map(p, s, &memory.map);
    const size_t *stage = p->stage_slots + begin;
    for (size_t start = 0; start < rows && st == ANOMA_OK; start += AN_BLOCK_ROWS) {
        size_t n = rows - start < AN_BLOCK_ROWS ? rows - start : AN_BLOCK_ROWS;
        for (size_t k = 0; k < io->n_inputs; k++)
            in[k] = f->cols[stage[io->inputs[k]]] + start;
        for (size_t k = 0; k < io->n_outputs; k++)
            out[k] = made + k * rows + start;
        st = an_pipeline_run_step(p, s, in, out, n, start, &memory);
    }
    an_entity_map_free(memory.map);
    an_free(memory.row_in);
    an_free(memory.row_out);
    an_free(in);
    an_free(out);
    an_free_aligned(scratch);
    return st;
}

static anoma_status fit_all(an_pipeline *p, const an_input *in, size_t n_threads, double **dense,
                            fit_memory *f)
{
    size_t rows = in->rows;
    f->owned = AN_NEW_ZEROED(an_cell *, p->n_steps + 1);
    if (!f->owned)
        return an_no_memory();
    AN_TRY(an_pipeline_plan_steps(p, 0));
    AN_TRY(grow_cols(f, p->n_inputs));
    an_cell *converted = an_malloc_array(p->n_inputs * rows + 1, sizeof(an_cell));
    if (!converted)
        return an_no_memory();
    f->owned[f->n_owned++] = converted;
    AN_TRY(an_input_cells(p, in, 0, rows, f->cols, converted, rows));
    for (size_t s = 0; s < p->n_steps; s++)
        AN_TRY(fit_step(p, s, rows, n_threads, f));
    AN_TRY(an_pipeline_plan(p));
    size_t width = p->n_outputs;
    double *x = an_malloc_array(rows * width + 1, sizeof(double));
    if (!x)
        return an_no_memory();
    const an_cell **final = AN_NEW_ARRAY(const an_cell *, width);
    if (!final) {
        an_free(x);
        return an_no_memory();
    }
    for (size_t j = 0; j < width; j++)
        final[j] = f->cols[p->stage_slots[p->stage_begin[p->n_steps] + j]];
    an_cells_to_rows(final, width, rows, x);
    an_free(final);
    *dense = x;
    return ANOMA_OK;
}

anoma_status an_pipeline_fit(an_pipeline *p, const an_input *in, size_t n_threads,
                             double **dense)
{
    *dense = NULL;
    AN_TRY(an_input_check(p, in, "fit"));
    fit_memory f = {0};
    anoma_status st = fit_all(p, in, n_threads, dense, &f);
    for (size_t k = 0; k < f.n_owned; k++)
        an_free(f.owned[k]);
    an_free(f.owned);
    an_free(f.cols);
    if (st != ANOMA_OK)
        an_pipeline_unfit(p);
    else
        p->fitted = 1;
    return st;
}

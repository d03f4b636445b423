/* Running a fitted pipeline: input cells for a block, the steps, and the
 * dense row-major output the detectors read. Nothing here allocates except
 * an_pipeline_work_create and the per-thread works of an_pipeline_transform. */
#include "features/pipeline.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"
#include "core/threads.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

struct an_pipeline_work {
    size_t block_rows;
    const an_cell **slot; /* n_slots column pointers */
    const an_cell **in;   /* max_step_columns */
    an_cell **out;        /* max_step_columns */
    an_cell *outputs;     /* each step output slot: block_rows cells */
    an_cell *converted;   /* each input: block_rows cells, for inputs that need converting */
    void *scratch;        /* aligned to AN_STEP_SCRATCH_ALIGN */
};

void an_pipeline_work_free(an_pipeline_work *w)
{
    if (!w)
        return;
    an_free(w->slot);
    an_free(w->in);
    an_free(w->out);
    an_free(w->outputs);
    an_free(w->converted);
    an_free_aligned(w->scratch);
    an_free(w);
}

anoma_status an_pipeline_work_create(const an_pipeline *p, size_t block_rows,
                                     an_pipeline_work **out)
{
    *out = NULL;
    an_pipeline_work *w = AN_NEW_ZEROED(an_pipeline_work, 1);
    if (!w)
        return an_no_memory();
    w->block_rows = block_rows;
    size_t step_slots = p->n_slots - p->n_inputs;
    size_t scratch = 0;
    for (size_t s = 0; s < p->n_steps; s++) {
        const an_pipeline_step *st = &p->steps[s];
        size_t need = st->vt->scratch_bytes ? st->vt->scratch_bytes(st->state, block_rows) : 0;
        scratch = need > scratch ? need : scratch;
    }
    w->slot = AN_NEW_ZEROED(const an_cell *, p->n_slots + 1);
    w->in = AN_NEW_ZEROED(const an_cell *, p->max_step_columns + 1);
    w->out = AN_NEW_ZEROED(an_cell *, p->max_step_columns + 1);
    w->outputs = an_malloc_array(step_slots * block_rows + 1, sizeof(an_cell));
    w->converted = an_malloc_array(p->n_inputs * block_rows + 1, sizeof(an_cell));
    w->scratch = scratch ? an_malloc_aligned(scratch, AN_STEP_SCRATCH_ALIGN) : NULL;
    if (!w->slot || !w->in || !w->out || !w->outputs || !w->converted ||
        (scratch && !w->scratch)) {
        an_pipeline_work_free(w);
        return an_no_memory();
    }
    for (size_t k = 0; k < step_slots; k++)
        w->slot[p->n_inputs + k] = w->outputs + k * block_rows;
    *out = w;
    return ANOMA_OK;
}

static const char *frame_type_name(anoma_column_type t)
{
    switch (t) {
    case ANOMA_COL_DOUBLE:
        return "double";
    case ANOMA_COL_INT64:
        return "int64";
    case ANOMA_COL_STRING:
        return "string";
    case ANOMA_COL_TIMESTAMP:
        return "timestamp";
    }
    return "unknown";
}

static int accepts(an_cell_type want, anoma_column_type have)
{
    switch (want) {
    case AN_CELL_NUMBER:
        return have == ANOMA_COL_DOUBLE || have == ANOMA_COL_INT64;
    case AN_CELL_TEXT:
        return have == ANOMA_COL_STRING;
    case AN_CELL_TIMESTAMP:
        return have == ANOMA_COL_TIMESTAMP;
    }
    return 0;
}

anoma_status an_input_check(const an_pipeline *p, const an_input *in, const char *what)
{
    if (in->matrix) {
        for (size_t j = 0; j < p->n_inputs; j++)
            if (p->input_types[j] != AN_CELL_NUMBER)
                return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                                "%s: column '%s' is %s: a matrix holds only numbers; pass a frame",
                                what, p->input_names[j], an_cell_type_name(p->input_types[j]));
        if (in->matrix->cols != p->n_inputs)
            return an_error(ANOMA_ERR_SHAPE, "%s: data has %zu columns, the model was fitted on %zu",
                            what, in->matrix->cols, p->n_inputs);
        return ANOMA_OK;
    }
    for (size_t j = 0; j < p->n_inputs; j++)
        if (!accepts(p->input_types[j], in->columns[j].type))
            return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                            "%s: column '%s' is a %s column; the model expects %s", what,
                            p->input_names[j], frame_type_name(in->columns[j].type),
                            an_cell_type_name(p->input_types[j]));
    return ANOMA_OK;
}

anoma_status an_input_cells(const an_pipeline *p, const an_input *in, size_t start, size_t rows,
                            const an_cell **slot, an_cell *converted, size_t stride)
{
    for (size_t j = 0; j < p->n_inputs; j++) {
        an_cell *c = converted + j * stride;
        if (in->matrix) {
            for (size_t i = 0; i < rows; i++)
                c[i].num = an_matrix_get(in->matrix, start + i, j);
            slot[j] = c;
        } else if (in->columns[j].type == ANOMA_COL_INT64) {
            const int64_t *v = (const int64_t *)in->columns[j].values + start;
            for (size_t i = 0; i < rows; i++)
                c[i].num = (double)v[i];
            slot[j] = c;
        } else { /* double, text pointers and int64 seconds are cells already */
            slot[j] = (const an_cell *)in->columns[j].values + start;
        }
        if (p->input_types[j] == AN_CELL_NUMBER)
            for (size_t i = 0; i < rows; i++)
                if (isinf(slot[j][i].num))
                    return an_error(ANOMA_ERR_NONFINITE, "column '%s', row %zu: infinite value",
                                    p->input_names[j], start + i);
    }
    return ANOMA_OK;
}

/* Inputs and outputs of step s in the block's slots. */
static void wire_step(const an_pipeline *p, size_t s, const an_cell *const *slot,
                      const an_cell **in, an_cell **out, an_cell *outputs, size_t stride)
{
    const an_step_io *io = &p->steps[s].io;
    const size_t *stage = p->stage_slots + p->stage_begin[s];
    for (size_t k = 0; k < io->n_inputs; k++)
        in[k] = slot[stage[io->inputs[k]]];
    for (size_t k = 0; k < io->n_outputs; k++)
        out[k] = outputs + (p->step_first_slot[s] - p->n_inputs + k) * stride;
}

anoma_status an_pipeline_run_step(const an_pipeline *p, size_t s, const an_cell *const *in,
                             an_cell *const *out, size_t rows, void *scratch, size_t start)
{
    an_step_fault fault = {0};
    const an_pipeline_step *step = &p->steps[s];
    anoma_status st = step->vt->transform(step->state, in, out, rows, scratch, &fault);
    if (st != ANOMA_OK && st != ANOMA_ERR_NO_MEMORY)
        return an_error(st, "%s (row %zu)", anoma_last_error(), start + fault.row);
    return st;
}

anoma_status an_pipeline_run_block(const an_pipeline *p, an_pipeline_work *w, const an_input *in,
                                   size_t start, size_t rows, double *out)
{
    AN_TRY(an_input_cells(p, in, start, rows, w->slot, w->converted, w->block_rows));
    for (size_t s = 0; s < p->n_steps; s++) {
        wire_step(p, s, w->slot, w->in, w->out, w->outputs, w->block_rows);
        AN_TRY(an_pipeline_run_step(p, s, w->in, w->out, rows, w->scratch, start));
    }
    const size_t *final = p->stage_slots + p->stage_begin[p->n_steps];
    size_t width = p->n_outputs;
    for (size_t j = 0; j < width; j++) {
        const an_cell *c = w->slot[final[j]];
        for (size_t i = 0; i < rows; i++)
            out[i * width + j] = c[i].num;
    }
    return ANOMA_OK;
}

/* ---- batch, across threads ---- */

/* Blocks per worker below which a thread costs more than it saves. */
enum { MIN_BLOCKS_PER_THREAD = 16 };

typedef struct transform_job {
    const an_pipeline *p;
    const an_input *in;
    double *out;
    an_pipeline_work **works;
    /* per worker: first failure (its lowest row, as a worker goes in order) */
    anoma_status *status;
    size_t *fail_row;
    char (*message)[512];
} transform_job;

static void transform_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    transform_job *job = ctx;
    const an_pipeline *p = job->p;
    for (size_t b = begin; b < end; b++) {
        size_t start = b * AN_BLOCK_ROWS;
        size_t rows = job->in->rows - start < AN_BLOCK_ROWS ? job->in->rows - start : AN_BLOCK_ROWS;
        anoma_status st = an_pipeline_run_block(p, job->works[worker], job->in, start, rows,
                                                job->out + start * p->n_outputs);
        if (st != ANOMA_OK) {
            /* error messages are per thread: carry it back to the caller's */
            job->status[worker] = st;
            job->fail_row[worker] = start;
            strncpy(job->message[worker], anoma_last_error(), sizeof job->message[worker] - 1);
            return;
        }
    }
}

anoma_status an_pipeline_transform(const an_pipeline *p, const an_input *in, size_t n_threads,
                                   double *out)
{
    size_t blocks = (in->rows + AN_BLOCK_ROWS - 1) / AN_BLOCK_ROWS;
    size_t workers = an_parallel_workers(blocks, n_threads, MIN_BLOCKS_PER_THREAD);
    if (!workers)
        return ANOMA_OK;
    transform_job job = {p, in, out, NULL, NULL, NULL, NULL};
    job.works = AN_NEW_ZEROED(an_pipeline_work *, workers);
    job.status = AN_NEW_ZEROED(anoma_status, workers);
    job.fail_row = AN_NEW_ZEROED(size_t, workers);
    job.message = an_calloc(workers, sizeof *job.message);
    anoma_status st = job.works && job.status && job.fail_row && job.message ? ANOMA_OK
                                                                            : an_no_memory();
    for (size_t k = 0; k < workers && st == ANOMA_OK; k++)
        st = an_pipeline_work_create(p, AN_BLOCK_ROWS, &job.works[k]);
    if (st == ANOMA_OK) {
        an_parallel_for(blocks, workers, MIN_BLOCKS_PER_THREAD, transform_range, &job);
        size_t best = workers;
        for (size_t k = 0; k < workers; k++)
            if (job.status[k] != ANOMA_OK && (best == workers || job.fail_row[k] < job.fail_row[best]))
                best = k;
        if (best < workers)
            st = job.status[best] == ANOMA_ERR_NO_MEMORY
                     ? an_no_memory()
                     : an_error(job.status[best], "%s", job.message[best]);
    }
    for (size_t k = 0; job.works && k < workers; k++)
        an_pipeline_work_free(job.works[k]);
    an_free(job.works);
    an_free(job.status);
    an_free(job.fail_row);
    an_free(job.message);
    return st;
}

/* Running a fitted pipeline: input cells for a block, the steps, and the
 * dense row-major output the detectors read. Nothing here allocates except
 * an_pipeline_work_create and the per-thread works of an_pipeline_transform. */
#include "features/pipeline.h"
#include "features/entity_map.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"
#include "core/threads.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Where a block's input column goes: *where = the block's input column
 * `input` (a step's input or a final column that is an input, or a
 * passthrough of one). Everything else is wired once, at creation. */
typedef struct input_patch {
    const an_cell **where;
    size_t input;
} input_patch;

struct an_pipeline_work {
    size_t block_rows;
    size_t n_steps;
    const an_cell **inputs;   /* n_inputs: the block's input columns */
    const an_cell **step_in;  /* every step's input columns, step after step */
    an_cell **step_out;       /* every step's output columns, step after step */
    size_t *step_in_begin;    /* per step and the end: its first entry of step_in */
    size_t *step_out_begin;
    unsigned char *forwarded; /* per step: its outputs are its inputs (nothing to run) */
    const an_cell **final;    /* n_outputs: the columns the rows are made of */
    input_patch *patches;
    size_t n_patches;
    an_cell *outputs;   /* each computed step output: block_rows cells */
    an_cell *converted; /* each input: block_rows cells, for inputs that need converting */
    void *scratch;      /* aligned to AN_STEP_SCRATCH_ALIGN */
    an_entity_map **maps; /* per step: its entity states, NULL when stateless */
    const an_cell **row_in; /* max_step_columns: one row's cells, for stateful steps */
    an_cell **row_out;
};

void an_pipeline_work_free(an_pipeline_work *w)
{
    if (!w)
        return;
    an_free(w->inputs);
    an_free(w->step_in);
    an_free(w->step_out);
    an_free(w->step_in_begin);
    an_free(w->step_out_begin);
    an_free(w->forwarded);
    an_free(w->final);
    an_free(w->patches);
    an_free(w->outputs);
    an_free(w->converted);
    an_free_aligned(w->scratch);
    for (size_t s = 0; w->maps && s < w->n_steps; s++)
        an_entity_map_free(w->maps[s]);
    an_free(w->maps);
    an_free(w->row_in);
    an_free(w->row_out);
    an_free(w);
}

/* Point *where at the cells of slot `root`: a step's buffer now, or the
 * block's input column at every block (a patch). */
static void wire(an_pipeline_work *w, const an_pipeline *p, const an_cell *const *cells,
                 size_t root, const an_cell **where)
{
    if (root < p->n_inputs)
        w->patches[w->n_patches++] = (input_patch){where, root};
    else
        *where = cells[root];
}

/* Wire every step once: `root[slot]` is the slot whose cells it holds
 * (itself, or for a passthrough output the column it passes through), and
 * `cells[slot]` the buffer of a computed output. */
static anoma_status wire_steps(an_pipeline_work *w, const an_pipeline *p)
{
    size_t n_in = 0, n_out = 0, computed = 0;
    for (size_t s = 0; s < p->n_steps; s++) {
        const an_pipeline_step *st = &p->steps[s];
        w->forwarded[s] = st->vt->passthrough && st->vt->passthrough(st->state);
        w->step_in_begin[s] = n_in;
        w->step_out_begin[s] = n_out;
        n_in += st->io.n_inputs;
        n_out += st->io.n_outputs;
        computed += w->forwarded[s] ? 0 : st->io.n_outputs;
    }
    w->step_in_begin[p->n_steps] = n_in;
    w->step_out_begin[p->n_steps] = n_out;
    size_t *root = AN_NEW_ARRAY(size_t, p->n_slots + 1);
    const an_cell **cells = AN_NEW_ZEROED(const an_cell *, p->n_slots + 1);
    w->step_in = AN_NEW_ZEROED(const an_cell *, n_in + 1);
    w->step_out = AN_NEW_ZEROED(an_cell *, n_out + 1);
    w->patches = AN_NEW_ARRAY(input_patch, n_in + p->n_outputs + 1);
    w->outputs = an_malloc_array(computed * w->block_rows + 1, sizeof(an_cell));
    anoma_status st = root && cells && w->step_in && w->step_out && w->patches && w->outputs
                          ? ANOMA_OK
                          : an_no_memory();
    for (size_t j = 0; j < p->n_inputs && st == ANOMA_OK; j++)
        root[j] = j;
    an_cell *next = w->outputs;
    for (size_t s = 0; s < p->n_steps && st == ANOMA_OK; s++) {
        const an_step_io *io = &p->steps[s].io;
        const size_t *stage = p->stage_slots + p->stage_begin[s];
        const size_t *sources = w->forwarded[s] ? p->steps[s].vt->passthrough(p->steps[s].state)
                                                : NULL;
        for (size_t k = 0; k < io->n_outputs; k++) {
            size_t slot = p->step_first_slot[s] + k;
            if (sources) {
                root[slot] = root[stage[io->inputs[sources[k]]]];
                continue;
            }
            root[slot] = slot;
            cells[slot] = w->step_out[w->step_out_begin[s] + k] = next;
            next += w->block_rows;
        }
        for (size_t k = 0; !sources && k < io->n_inputs; k++)
            wire(w, p, cells, root[stage[io->inputs[k]]], &w->step_in[w->step_in_begin[s] + k]);
    }
    const size_t *final = p->stage_slots + p->stage_begin[p->n_steps];
    for (size_t j = 0; j < p->n_outputs && st == ANOMA_OK; j++)
        wire(w, p, cells, root[final[j]], &w->final[j]);
    an_free(root);
    an_free(cells);
    return st;
}

anoma_status an_pipeline_work_create(const an_pipeline *p, size_t block_rows,
                                     an_pipeline_work **out)
{
    *out = NULL;
    an_pipeline_work *w = AN_NEW_ZEROED(an_pipeline_work, 1);
    if (!w)
        return an_no_memory();
    w->block_rows = block_rows;
    w->n_steps = p->n_steps;
    size_t scratch = 0;
    for (size_t s = 0; s < p->n_steps; s++) {
        const an_pipeline_step *st = &p->steps[s];
        size_t need = st->vt->scratch_bytes ? st->vt->scratch_bytes(st->state, block_rows) : 0;
        scratch = need > scratch ? need : scratch;
    }
    w->inputs = AN_NEW_ZEROED(const an_cell *, p->n_inputs + 1);
    w->step_in_begin = AN_NEW_ZEROED(size_t, p->n_steps + 1);
    w->step_out_begin = AN_NEW_ZEROED(size_t, p->n_steps + 1);
    w->forwarded = AN_NEW_ZEROED(unsigned char, p->n_steps + 1);
    w->final = AN_NEW_ZEROED(const an_cell *, p->n_outputs + 1);
    w->converted = an_malloc_array(p->n_inputs * block_rows + 1, sizeof(an_cell));
    w->scratch = scratch ? an_malloc_aligned(scratch, AN_STEP_SCRATCH_ALIGN) : NULL;
    w->maps = AN_NEW_ZEROED(an_entity_map *, p->n_steps + 1);
    w->row_in = AN_NEW_ZEROED(const an_cell *, p->max_step_columns + 1);
    w->row_out = AN_NEW_ZEROED(an_cell *, p->max_step_columns + 1);
    anoma_status st = w->inputs && w->step_in_begin && w->step_out_begin && w->forwarded &&
                              w->final && w->converted && (!scratch || w->scratch) && w->maps &&
                              w->row_in && w->row_out
                          ? ANOMA_OK
                          : an_no_memory();
    if (st == ANOMA_OK)
        st = wire_steps(w, p);
    for (size_t s = 0; s < p->n_steps && st == ANOMA_OK; s++)
        st = an_pipeline_step_map(p, s, &w->maps[s]);
    if (st != ANOMA_OK) {
        an_pipeline_work_free(w);
        return st;
    }
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

size_t an_pipeline_step_state_bytes(const an_pipeline *p, size_t s)
{
    const an_pipeline_step *step = &p->steps[s];
    if (!(step->vt->flags & ANOMA_FLAG_STATEFUL))
        return 0;
    return step->vt->entity_bytes(step->state);
}

int an_pipeline_is_stateful(const an_pipeline *p)
{
    for (size_t s = 0; s < p->n_steps; s++)
        if (an_pipeline_step_state_bytes(p, s))
            return 1;
    return 0;
}

size_t an_pipeline_undo_steps(const an_pipeline *p)
{
    size_t n = 0;
    for (size_t s = 0; s < p->n_steps; s++)
        if (p->steps[s].vt->refuses_rows)
            n = s;
    return n;
}

anoma_status an_pipeline_step_map(const an_pipeline *p, size_t s, an_entity_map **map)
{
    *map = NULL;
    size_t bytes = an_pipeline_step_state_bytes(p, s);
    if (!bytes)
        return ANOMA_OK;
    const an_pipeline_step *step = &p->steps[s];
    return an_entity_map_create(bytes, step->vt->entity_align, step->vt->entity_init, step->state,
                                map);
}

/* A stateful step: each row in order, with its entity's state. */
static anoma_status run_stateful(const an_pipeline *p, size_t s, const an_cell *const *in,
                                 an_cell *const *out, size_t rows, const an_step_memory *memory,
                                 an_step_fault *fault)
{
    const an_pipeline_step *step = &p->steps[s];
    const an_step_io *io = &step->io;
    size_t e = step->vt->entity_input(step->state);
    an_cell_type key_type = AN_CELL_NUMBER;
    if (e != AN_STEP_NO_ENTITY)
        key_type = p->slot_types[p->stage_slots[p->stage_begin[s] + io->inputs[e]]];
    const an_cell **row_in = memory->row_in;
    an_cell **row_out = memory->row_out;
    an_cell whole = {0};
    for (size_t i = 0; i < rows; i++) {
        void *entity = memory->entity;
        fault->row = i;
        if (!entity)
            AN_TRY(an_entity_map_state(memory->map, key_type,
                                       e == AN_STEP_NO_ENTITY ? whole : in[e][i], &entity));
        for (size_t k = 0; k < io->n_inputs; k++)
            row_in[k] = in[k] + i;
        for (size_t k = 0; k < io->n_outputs; k++)
            row_out[k] = out[k] + i;
        an_step_fault row_fault = {0};
        AN_TRY(step->vt->entity_transform(step->state, entity, row_in, row_out,
                                          memory->scratch, &row_fault));
    }
    return ANOMA_OK;
}

anoma_status an_pipeline_run_step(const an_pipeline *p, size_t s, const an_cell *const *in,
                                  an_cell *const *out, size_t rows, size_t start,
                                  const an_step_memory *memory)
{
    an_step_fault fault = {0};
    const an_pipeline_step *step = &p->steps[s];
    anoma_status st = memory->map || memory->entity ? run_stateful(p, s, in, out, rows, memory, &fault)
                                  : step->vt->transform(step->state, in, out, rows,
                                                        memory->scratch, &fault);
    if (st != ANOMA_OK && st != ANOMA_ERR_NO_MEMORY)
        return an_error(st, "%s (row %zu)", anoma_last_error(), start + fault.row);
    return st;
}

void an_cells_to_rows(const an_cell *const *columns, size_t n_columns, size_t rows, double *out)
{
    for (size_t i = 0; i < rows; i++) {
        double *o = out + i * n_columns;
        for (size_t j = 0; j < n_columns; j++)
            o[j] = columns[j][i].num;
    }
}

/* Point the work at rows [start, start + rows) of in. */
static anoma_status set_block_inputs(const an_pipeline *p, an_pipeline_work *w,
                                     const an_input *in, size_t start, size_t rows)
{
    AN_TRY(an_input_cells(p, in, start, rows, w->inputs, w->converted, w->block_rows));
    for (size_t k = 0; k < w->n_patches; k++)
        *w->patches[k].where = w->inputs[w->patches[k].input];
    return ANOMA_OK;
}

/* Steps [from, to) on the block the work points at; stateful steps continue
 * the entity states in maps. */
static anoma_status run_steps(const an_pipeline *p, an_pipeline_work *w, an_entity_map *const *maps,
                              size_t from, size_t to, size_t start, size_t rows)
{
    for (size_t s = from; s < to; s++) {
        if (w->forwarded[s])
            continue;
        an_step_memory memory = {w->scratch, maps[s], w->row_in, w->row_out, NULL};
        AN_TRY(an_pipeline_run_step(p, s, w->step_in + w->step_in_begin[s],
                                    w->step_out + w->step_out_begin[s], rows, start, &memory));
    }
    return ANOMA_OK;
}

anoma_status an_pipeline_run_block(const an_pipeline *p, an_pipeline_work *w, const an_input *in,
                                   size_t start, size_t rows, double *out)
{
    AN_TRY(set_block_inputs(p, w, in, start, rows));
    AN_TRY(run_steps(p, w, w->maps, 0, p->n_steps, start, rows));
    an_cells_to_rows(w->final, p->n_outputs, rows, out);
    return ANOMA_OK;
}

anoma_status an_pipeline_run_row_states(const an_pipeline *p, an_pipeline_work *w,
                                        const an_input *in, size_t start, void *const *states,
                                        double *out)
{
    AN_TRY(set_block_inputs(p, w, in, start, 1));
    for (size_t s = 0; s < p->n_steps; s++) {
        if (w->forwarded[s])
            continue;
        an_step_memory memory = {w->scratch, NULL, w->row_in, w->row_out, states[s]};
        AN_TRY(an_pipeline_run_step(p, s, w->step_in + w->step_in_begin[s],
                                    w->step_out + w->step_out_begin[s], 1, start, &memory));
    }
    an_cells_to_rows(w->final, p->n_outputs, 1, out);
    return ANOMA_OK;
}

/* ---- batch, across threads ----
 *
 * A stateless pipeline: each worker runs its own range of blocks, all
 * steps, with its own work. A pipeline with stateful steps: the steps
 * before the first stateful one run in parallel over a chunk of blocks,
 * each block in a work of its own; then, on the calling thread and in input
 * order, each block's remaining steps, continuing one set of entity states
 * (the first work's), so every entity sees its rows in order. */

/* Blocks per worker below which a thread costs more than it saves. */
enum { MIN_BLOCKS_PER_THREAD = 16 };
/* Blocks per worker in one chunk of the stateful path: enough to pay for a
 * parallel loop, few enough that the chunk's works stay small. */
enum { CHUNK_BLOCKS_PER_WORKER = 8 };

typedef struct transform_job {
    const an_pipeline *p;
    const an_input *in;
    size_t first, end; /* the rows transformed: [first, end) of in */
    double *out;       /* row first's output */
    an_pipeline_work **works;
    size_t split;       /* stateful path: the steps run in parallel are [0, split) */
    size_t first_block; /* stateful path: the chunk's first block */
    /* per work: first failure (its lowest row, as a work goes in order) */
    anoma_status *status;
    size_t *fail_row;
    char (*message)[512];
} transform_job;

/* Block b's first row in the input, its row count, and its output. */
static size_t block_start(const transform_job *job, size_t block)
{
    return job->first + block * AN_BLOCK_ROWS;
}

static size_t block_rows(const transform_job *job, size_t block)
{
    size_t start = block_start(job, block);
    return job->end - start < AN_BLOCK_ROWS ? job->end - start : AN_BLOCK_ROWS;
}

static double *block_out(const transform_job *job, size_t block)
{
    return job->out + (block_start(job, block) - job->first) * job->p->n_outputs;
}

/* Error messages are per thread: carry one back to the caller's. */
static void keep_failure(transform_job *job, size_t k, anoma_status st, size_t row)
{
    job->status[k] = st;
    job->fail_row[k] = row;
    strncpy(job->message[k], anoma_last_error(), sizeof job->message[k] - 1);
}

static void transform_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    transform_job *job = ctx;
    const an_pipeline *p = job->p;
    for (size_t b = begin; b < end; b++) {
        size_t start = block_start(job, b);
        anoma_status st = an_pipeline_run_block(p, job->works[worker], job->in, start,
                                                block_rows(job, b), block_out(job, b));
        if (st != ANOMA_OK) {
            keep_failure(job, worker, st, start);
            return;
        }
    }
}

/* Stateful path, in parallel: the first steps of the chunk's blocks. */
static void prefix_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    transform_job *job = ctx;
    for (size_t b = begin; b < end; b++) {
        an_pipeline_work *w = job->works[b];
        size_t block = job->first_block + b;
        size_t start = block_start(job, block), rows = block_rows(job, block);
        anoma_status st = set_block_inputs(job->p, w, job->in, start, rows);
        if (st == ANOMA_OK)
            st = run_steps(job->p, w, w->maps, 0, job->split, start, rows);
        job->status[b] = ANOMA_OK;
        if (st != ANOMA_OK)
            keep_failure(job, b, st, start);
    }
}

static anoma_status job_failure(const transform_job *job, size_t k)
{
    return job->status[k] == ANOMA_ERR_NO_MEMORY ? an_no_memory()
                                                 : an_error(job->status[k], "%s", job->message[k]);
}

/* Stateful path: chunk after chunk, the first steps in parallel, then the
 * rest of each block in order. */
static anoma_status transform_in_chunks(transform_job *job, size_t blocks, size_t workers,
                                        size_t chunk)
{
    const an_pipeline *p = job->p;
    an_entity_map *const *maps = job->works[0]->maps;
    for (job->first_block = 0; job->first_block < blocks; job->first_block += chunk) {
        size_t n = blocks - job->first_block < chunk ? blocks - job->first_block : chunk;
        an_parallel_for(n, workers, 1, prefix_range, job);
        for (size_t b = 0; b < n; b++) {
            if (job->status[b] != ANOMA_OK)
                return job_failure(job, b);
            size_t block = job->first_block + b;
            AN_TRY(run_steps(p, job->works[b], maps, job->split, p->n_steps,
                             block_start(job, block), block_rows(job, block)));
            an_cells_to_rows(job->works[b]->final, p->n_outputs, block_rows(job, block),
                             block_out(job, block));
        }
    }
    return ANOMA_OK;
}

/* The first stateful step (n_steps when none). */
static size_t first_stateful(const an_pipeline *p)
{
    size_t s = 0;
    while (s < p->n_steps && !an_pipeline_step_state_bytes(p, s))
        s++;
    return s;
}

anoma_status an_pipeline_transform(const an_pipeline *p, const an_input *in, size_t n_threads,
                                   double *out)
{
    return an_pipeline_transform_rows(p, in, 0, in->rows, n_threads, out);
}

anoma_status an_pipeline_transform_rows(const an_pipeline *p, const an_input *in, size_t first,
                                        size_t rows, size_t n_threads, double *out)
{
    size_t blocks = (rows + AN_BLOCK_ROWS - 1) / AN_BLOCK_ROWS;
    size_t split = first_stateful(p);
    size_t workers = an_parallel_workers(blocks, n_threads, MIN_BLOCKS_PER_THREAD);
    /* entity states follow the rows in input order: with nothing to run
     * before the first stateful step, or one thread, one work does it all */
    int chunked = split < p->n_steps && split > 0 && workers > 1;
    if (split < p->n_steps && !chunked)
        workers = blocks > 0;
    if (!workers)
        return ANOMA_OK;
    size_t chunk = CHUNK_BLOCKS_PER_WORKER * workers;
    size_t n_works = chunked ? (blocks < chunk ? blocks : chunk) : workers;
    transform_job job = {p, in, first, first + rows, out, NULL, split, 0, NULL, NULL, NULL};
    job.works = AN_NEW_ZEROED(an_pipeline_work *, n_works);
    job.status = AN_NEW_ZEROED(anoma_status, n_works);
    job.fail_row = AN_NEW_ZEROED(size_t, n_works);
    job.message = an_calloc(n_works, sizeof *job.message);
    anoma_status st = job.works && job.status && job.fail_row && job.message ? ANOMA_OK
                                                                            : an_no_memory();
    for (size_t k = 0; k < n_works && st == ANOMA_OK; k++)
        st = an_pipeline_work_create(p, AN_BLOCK_ROWS, &job.works[k]);
    if (st == ANOMA_OK && chunked) {
        st = transform_in_chunks(&job, blocks, workers, chunk);
    } else if (st == ANOMA_OK) {
        an_parallel_for(blocks, workers, MIN_BLOCKS_PER_THREAD, transform_range, &job);
        size_t best = workers;
        for (size_t k = 0; k < workers; k++)
            if (job.status[k] != ANOMA_OK &&
                (best == workers || job.fail_row[k] < job.fail_row[best]))
                best = k;
        if (best < workers)
            st = job_failure(&job, best);
    }
    for (size_t k = 0; job.works && k < n_works; k++)
        an_pipeline_work_free(job.works[k]);
    an_free(job.works);
    an_free(job.status);
    an_free(job.fail_row);
    an_free(job.message);
    return st;
}

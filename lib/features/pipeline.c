/* The pipeline executor: steps, the plan that places their columns, fitting
 * and block transforms (see pipeline.h for the model of slots and stages). */
#include "features/pipeline.h"
#include "core/alloc.h"
#include "core/name_index.h"
#include "core/error.h"
#include "core/quoting.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void reset_plan(an_pipeline *p)
{
    an_free(p->slot_names);
    an_free(p->slot_types);
    an_free(p->step_first_slot);
    an_free(p->stage_begin);
    an_free(p->stage_slots);
    p->slot_names = NULL;
    p->slot_types = NULL;
    p->step_first_slot = p->stage_begin = p->stage_slots = NULL;
    p->n_slots = p->n_outputs = p->scratch_bytes = p->max_step_columns = 0;
}

static void free_input(an_pipeline *p)
{
    for (size_t j = 0; p->input_names && j < p->n_inputs; j++)
        an_free(p->input_names[j]);
    an_free(p->input_names);
    an_free(p->input_types);
    p->input_names = NULL;
    p->input_types = NULL;
    p->n_inputs = 0;
}

/* A fresh unfitted state and no io. */
static anoma_status unfit_step(an_pipeline_step *s)
{
    void *state = NULL;
    AN_TRY(s->vt->create(&s->params, &state));
    if (s->state)
        s->vt->destroy(s->state);
    s->state = state;
    an_step_io_free(&s->io);
    return ANOMA_OK;
}

void an_pipeline_free(an_pipeline *p)
{
    for (size_t s = 0; s < p->n_steps; s++) {
        if (p->steps[s].state)
            p->steps[s].vt->destroy(p->steps[s].state);
        an_step_io_free(&p->steps[s].io);
        an_params_free(&p->steps[s].params);
    }
    an_free(p->steps);
    free_input(p);
    reset_plan(p);
    *p = (an_pipeline){0};
}

anoma_status an_pipeline_add(an_pipeline *p, const char *name, const char *params)
{
    const an_step_vtable *vt = an_step_find(name);
    if (!vt) {
        an_strbuf known = {0};
        for (size_t i = 0; an_step_at(i); i++)
            an_strbuf_printf(&known, "%s%s", i ? ", " : "", an_step_at(i)->name);
        anoma_status st = an_error(ANOMA_ERR_UNKNOWN_NAME, "unknown step '%s' (known: %s)", name,
                                   known.data ? known.data : "none");
        an_strbuf_free(&known);
        return st;
    }
    an_pipeline_step step = {vt, {0}, NULL, {0}};
    AN_TRY(an_params_init(&step.params, vt->name, vt->params, vt->n_params));
    anoma_status st = an_params_parse(&step.params, params);
    if (st == ANOMA_OK)
        st = unfit_step(&step);
    an_pipeline_step *grown = NULL;
    if (st == ANOMA_OK && !(grown = an_realloc_array(p->steps, p->n_steps + 1, sizeof *grown)))
        st = an_no_memory();
    if (st != ANOMA_OK) {
        if (step.state)
            vt->destroy(step.state);
        an_params_free(&step.params);
        return st;
    }
    p->steps = grown;
    p->steps[p->n_steps++] = step;
    return ANOMA_OK;
}

anoma_status an_pipeline_set_input(an_pipeline *p, size_t n, const char *const *names,
                                   const an_cell_type *types)
{
    free_input(p);
    p->input_names = AN_NEW_ZEROED(char *, n ? n : 1);
    p->input_types = AN_NEW_ARRAY(an_cell_type, n ? n : 1);
    if (!p->input_names || !p->input_types) {
        free_input(p);
        return an_no_memory();
    }
    p->n_inputs = n;
    for (size_t j = 0; j < n; j++) {
        p->input_types[j] = types[j];
        if (!(p->input_names[j] = an_strdup(names[j]))) {
            free_input(p);
            return an_no_memory();
        }
    }
    return ANOMA_OK;
}

/* ---- the plan ---- */

static anoma_status final_type_error(const an_pipeline *p, size_t slot)
{
    const char *hint = p->slot_types[slot] == AN_CELL_TEXT
                           ? "encode it (one_hot, ordinal, frequency)"
                           : "derive numbers from it (time_features)";
    an_strbuf drop = {0}; /* the name as step text takes it: drop="user id" */
    an_quote_item(&drop, p->slot_names[slot]);
    anoma_status st = an_error(ANOMA_ERR_INVALID_ARGUMENT,
                               "column '%s' is %s after the last step; detectors take numbers: "
                               "%s, or drop it (select drop=%s)",
                               p->slot_names[slot], an_cell_type_name(p->slot_types[slot]), hint,
                               drop.failed || !drop.data ? p->slot_names[slot] : drop.data);
    an_strbuf_free(&drop);
    return st;
}

size_t an_pipeline_slot_step(const an_pipeline *p, size_t upto, size_t slot)
{
    for (size_t s = upto; s-- > 0;)
        if (slot >= p->step_first_slot[s])
            return s;
    return AN_NO_STEP;
}

/* Who makes slot: "the input" or "step N (name)", into buf. */
static const char *slot_owner(const an_pipeline *p, size_t upto, size_t slot, char *buf,
                              size_t cap)
{
    size_t s = an_pipeline_slot_step(p, upto, slot);
    if (s == AN_NO_STEP)
        return "the input";
    snprintf(buf, cap, "step %zu (%s)", s, p->steps[s].vt->name);
    return buf;
}

/* Every column of a stage has its own name, so that later steps, the
 * detectors' feature names and explanations mean one column each. Stage
 * s + 1 follows step s: a clash is step s's output against another. */
static anoma_status check_unique_names(const an_pipeline *p, size_t s, size_t upto)
{
    const size_t *stage = p->stage_slots + p->stage_begin[s + 1];
    size_t width = p->stage_begin[s + 2] - p->stage_begin[s + 1];
    an_name_index index = {0};
    anoma_status st = ANOMA_OK;
    for (size_t j = 0; j < width && st == ANOMA_OK; j++) {
        const char *name = p->slot_names[stage[j]];
        long other = an_name_index_find(&index, name);
        if (other < 0) {
            st = an_name_index_add(&index, name, j);
            continue;
        }
        char mine[64], theirs[64];
        /* the later slot is step s's output */
        size_t a = stage[other] < stage[j] ? stage[other] : stage[j];
        size_t b = stage[other] < stage[j] ? stage[j] : stage[other];
        st = an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s makes a column '%s' and %s makes one too: "
                      "column names must be unique (name it otherwise, or drop the other first "
                      "with select drop=%s)", slot_owner(p, upto, b, mine, sizeof mine), name,
                      slot_owner(p, upto, a, theirs, sizeof theirs), name);
    }
    an_name_index_free(&index);
    return st;
}

/* The final columns are checked to be numbers only for the whole pipeline. */
anoma_status an_pipeline_plan_steps(an_pipeline *p, size_t upto)
{
    reset_plan(p);
    size_t total = p->n_inputs, stage_total = p->n_inputs;
    for (size_t s = 0; s < upto; s++) {
        total += p->steps[s].io.n_outputs;
        stage_total += p->n_inputs + total; /* a stage is never wider than every slot so far */
    }
    p->n_slots = total;
    p->slot_names = AN_NEW_ARRAY(const char *, total ? total : 1);
    p->slot_types = AN_NEW_ARRAY(an_cell_type, total ? total : 1);
    p->step_first_slot = AN_NEW_ARRAY(size_t, p->n_steps + 1);
    p->stage_begin = AN_NEW_ARRAY(size_t, p->n_steps + 2);
    p->stage_slots = AN_NEW_ARRAY(size_t, stage_total ? stage_total : 1);
    if (!p->slot_names || !p->slot_types || !p->step_first_slot || !p->stage_begin ||
        !p->stage_slots) {
        reset_plan(p);
        return an_no_memory();
    }
    size_t slot = 0;
    for (size_t j = 0; j < p->n_inputs; j++, slot++) {
        p->slot_names[slot] = p->input_names[j];
        p->slot_types[slot] = p->input_types[j];
        p->stage_slots[j] = j;
    }
    for (size_t s = 0; s < upto; s++) {
        const an_step_io *io = &p->steps[s].io;
        p->step_first_slot[s] = slot;
        for (size_t k = 0; k < io->n_outputs; k++, slot++) {
            p->slot_names[slot] = io->output_names[k];
            p->slot_types[slot] = io->output_types[k];
        }
    }
    /* Stage s's columns are stage_slots[stage_begin[s] .. stage_begin[s + 1]). */
    size_t cursor = p->n_inputs;
    p->stage_begin[0] = 0;
    anoma_status st = ANOMA_OK;
    for (size_t s = 0; s < upto && st == ANOMA_OK; s++) {
        size_t begin = p->stage_begin[s];
        size_t width = cursor - begin;
        p->stage_begin[s + 1] = cursor;
        const an_step_io *io = &p->steps[s].io;
        size_t first = width; /* where the outputs go: the first consumed column, or the end */
        for (size_t k = 0; k < io->n_inputs && st == ANOMA_OK; k++) {
            if (io->inputs[k] >= width)
                st = an_error(ANOMA_ERR_FORMAT, "model file: step %zu (%s) reads column %zu of %zu",
                              s, p->steps[s].vt->name, io->inputs[k], width);
            else if (!io->keep[k] && io->inputs[k] < first)
                first = io->inputs[k];
        }
        for (size_t j = 0; j <= width && st == ANOMA_OK; j++) {
            if (j == first)
                for (size_t k = 0; k < io->n_outputs; k++)
                    p->stage_slots[cursor++] = p->step_first_slot[s] + k;
            if (j == width)
                break;
            int consumed = 0;
            for (size_t k = 0; k < io->n_inputs; k++)
                consumed |= io->inputs[k] == j && !io->keep[k];
            if (!consumed)
                p->stage_slots[cursor++] = p->stage_slots[begin + j];
        }
        p->stage_begin[s + 2] = cursor;
        if (st == ANOMA_OK)
            st = check_unique_names(p, s, upto);
        size_t columns = io->n_inputs > io->n_outputs ? io->n_inputs : io->n_outputs;
        if (columns > p->max_step_columns)
            p->max_step_columns = columns;
        size_t need = p->steps[s].vt->scratch_bytes
                          ? p->steps[s].vt->scratch_bytes(p->steps[s].state, AN_BLOCK_ROWS)
                          : 0;
        if (need > p->scratch_bytes)
            p->scratch_bytes = need;
    }
    if (st == ANOMA_OK) {
        p->stage_begin[upto + 1] = cursor;
        p->n_outputs = cursor - p->stage_begin[upto];
        if (upto < p->n_steps)
            return ANOMA_OK;
        if (!p->n_outputs)
            st = an_error(ANOMA_ERR_INVALID_ARGUMENT, "the pipeline leaves no column");
        for (size_t k = 0; k < p->n_outputs && st == ANOMA_OK; k++) {
            size_t slot_k = p->stage_slots[p->stage_begin[p->n_steps] + k];
            if (p->slot_types[slot_k] != AN_CELL_NUMBER)
                st = final_type_error(p, slot_k);
        }
    }
    if (st != ANOMA_OK)
        reset_plan(p);
    return st;
}

anoma_status an_pipeline_plan(an_pipeline *p) { return an_pipeline_plan_steps(p, p->n_steps); }

an_schema an_pipeline_stage(const an_pipeline *p, size_t s, const char **names,
                              an_cell_type *types)
{
    size_t begin = p->stage_begin[s], width = p->stage_begin[s + 1] - begin;
    for (size_t j = 0; j < width; j++) {
        names[j] = p->slot_names[p->stage_slots[begin + j]];
        types[j] = p->slot_types[p->stage_slots[begin + j]];
    }
    return (an_schema){width, names, types};
}

void an_pipeline_unfit(an_pipeline *p)
{
    for (size_t s = 0; s < p->n_steps; s++)
        if (unfit_step(&p->steps[s]) != ANOMA_OK)
            an_step_io_free(&p->steps[s].io); /* the old state stays; refit will replace it */
    reset_plan(p);
    p->fitted = 0;
}

size_t an_pipeline_memory_bytes(const an_pipeline *p)
{
    size_t bytes = p->n_steps * sizeof *p->steps + p->n_inputs * (sizeof(char *) + 1);
    for (size_t j = 0; j < p->n_inputs; j++)
        bytes += strlen(p->input_names[j]) + 1;
    for (size_t s = 0; s < p->n_steps; s++) {
        const an_pipeline_step *step = &p->steps[s];
        if (step->vt->memory_bytes && p->fitted)
            bytes += step->vt->memory_bytes(step->state);
        bytes += step->io.n_inputs * (sizeof(size_t) + 1) + step->io.n_outputs * (sizeof(char *) + 1);
        for (size_t k = 0; k < step->io.n_outputs; k++)
            bytes += strlen(step->io.output_names[k]) + 1;
    }
    bytes += p->n_slots * (sizeof(char *) + sizeof(an_cell_type) + sizeof(size_t));
    return bytes;
}

void an_pipeline_describe(const an_pipeline *p, an_strbuf *out)
{
    an_strbuf_printf(out, "pipeline: %zu step%s\n", p->n_steps, p->n_steps == 1 ? "" : "s");
    if (p->fitted && p->n_steps) {
        an_strbuf_printf(out, "  input:");
        for (size_t j = 0; j < p->n_inputs; j++)
            an_strbuf_printf(out, " %s:%s", p->input_names[j], an_cell_type_name(p->input_types[j]));
        an_strbuf_printf(out, "\n");
    }
    for (size_t s = 0; s < p->n_steps; s++) {
        const an_pipeline_step *step = &p->steps[s];
        an_strbuf_printf(out, "  step %zu: %s ", s, step->vt->name);
        an_params_format(&step->params, out);
        an_strbuf_printf(out, "\n");
        if (!p->fitted)
            continue;
        an_strbuf_printf(out, "    makes:");
        for (size_t k = 0; k < step->io.n_outputs; k++)
            an_strbuf_printf(out, " %s", step->io.output_names[k]);
        an_strbuf_printf(out, "\n");
        if (step->vt->describe)
            step->vt->describe(step->state, out);
    }
    if (p->fitted && p->n_steps) {
        const size_t *final = p->stage_slots + p->stage_begin[p->n_steps];
        an_strbuf_printf(out, "  output (%zu):", p->n_outputs);
        for (size_t k = 0; k < p->n_outputs; k++)
            an_strbuf_printf(out, " %s", p->slot_names[final[k]]);
        an_strbuf_printf(out, "\n");
    }
}

/* The pipeline in a model file: the PIPELINE section's payload (byte by
 * byte in docs/model-format.md). Every count is bounded by the bytes left
 * and every column position by the width of the stage it refers to. */
#include "features/pipeline.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

/* Far above any real pipeline. */
enum { MAX_STEPS = 4096, MAX_COLUMNS = 1 << 24 };
/* The fewest bytes a saved step takes: its name, parameters, column counts,
 * payload version and length (docs/model-format.md). */
enum { MIN_STEP_BYTES = 36 };

void an_pipeline_save(const an_pipeline *p, an_writer *w)
{
    an_put_u32(w, (uint32_t)p->n_steps);
    if (!p->n_steps)
        return; /* exactly what format 1.0 wrote: old readers still load it */
    an_put_u64(w, p->n_inputs);
    for (size_t j = 0; j < p->n_inputs; j++) {
        an_put_str(w, p->input_names[j]);
        an_put_u8(w, (uint8_t)p->input_types[j]);
    }
    for (size_t s = 0; s < p->n_steps; s++)
        an_pipeline_save_step(&p->steps[s], w);
}

void an_pipeline_save_step(const an_pipeline_step *step, an_writer *w)
{
    an_strbuf params = {0};
    an_params_format(&step->params, &params);
    if (params.failed)
        w->failed = 1;
    an_put_str(w, step->vt->name);
    an_put_str(w, params.data ? params.data : "");
    an_strbuf_free(&params);
    an_put_u32(w, step->vt->payload_version);
    an_put_u64(w, step->io.n_inputs);
    for (size_t k = 0; k < step->io.n_inputs; k++) {
        an_put_u64(w, step->io.inputs[k]);
        an_put_u8(w, step->io.keep[k]);
    }
    an_put_u64(w, step->io.n_outputs);
    for (size_t k = 0; k < step->io.n_outputs; k++) {
        an_put_str(w, step->io.output_names[k]);
        an_put_u8(w, (uint8_t)step->io.output_types[k]);
    }
    an_writer payload = {0};
    anoma_status st = step->vt->save(step->state, &payload);
    if (st != ANOMA_OK || payload.failed)
        w->failed = 1;
    an_put_u64(w, payload.len);
    an_put_bytes(w, payload.data, payload.len);
    an_writer_free(&payload);
}

static anoma_status bad(const char *what)
{
    return an_error(ANOMA_ERR_FORMAT, "model file: pipeline: %s", what);
}

static anoma_status read_type(an_reader *r, an_cell_type *type)
{
    uint8_t t = an_get_u8(r);
    AN_TRY(an_reader_status(r));
    if (t > AN_CELL_TIMESTAMP)
        return bad("unknown column type");
    *type = (an_cell_type)t;
    return ANOMA_OK;
}

static anoma_status read_inputs(an_pipeline *p, an_reader *r)
{
    size_t n = an_get_count(r, MAX_COLUMNS, 5);
    AN_TRY(an_reader_status(r));
    if (!n)
        return bad("no input column");
    p->input_names = AN_NEW_ZEROED(char *, n);
    p->input_types = AN_NEW_ZEROED(an_cell_type, n);
    if (!p->input_names || !p->input_types)
        return an_no_memory();
    p->n_inputs = n;
    for (size_t j = 0; j < n; j++) {
        p->input_names[j] = an_get_str(r);
        AN_TRY(read_type(r, &p->input_types[j]));
    }
    return ANOMA_OK;
}

/* One step's name, parameters, io and payload bounds (loaded later). */
static anoma_status read_step(an_pipeline *p, an_reader *r, uint32_t *version, size_t *payload_at,
                              size_t *payload_len)
{
    char *name = an_get_str(r);
    char *params = an_get_str(r);
    anoma_status st = an_reader_status(r);
    if (st == ANOMA_OK && !an_step_find(name))
        st = an_error(ANOMA_ERR_VERSION, "model file: pipeline step '%s' is not known to this "
                      "version of libanoma", name);
    if (st == ANOMA_OK) {
        st = an_pipeline_add(p, name, params);
        if (st == ANOMA_ERR_UNKNOWN_PARAM || st == ANOMA_ERR_PARAM_VALUE)
            st = an_error(ANOMA_ERR_FORMAT, "model file: %s", anoma_last_error());
    }
    an_free(name);
    an_free(params);
    AN_TRY(st);
    an_step_io *io = &p->steps[p->n_steps - 1].io;
    *version = an_get_u32(r);
    size_t n_in = an_get_count(r, MAX_COLUMNS, 9);
    AN_TRY(an_reader_status(r));
    for (size_t k = 0; k < n_in; k++) {
        uint64_t position = an_get_u64(r);
        uint8_t keep = an_get_u8(r);
        AN_TRY(an_reader_status(r));
        if (position >= MAX_COLUMNS || keep > 1)
            return bad("bad input column");
        AN_TRY(an_step_io_add_input(io, (size_t)position, keep));
    }
    size_t n_out = an_get_count(r, MAX_COLUMNS, 5);
    AN_TRY(an_reader_status(r));
    for (size_t k = 0; k < n_out; k++) {
        char *out_name = an_get_str(r);
        an_cell_type type = AN_CELL_NUMBER;
        st = an_reader_status(r);
        if (st == ANOMA_OK)
            st = read_type(r, &type);
        if (st == ANOMA_OK)
            st = an_step_io_add_output(io, type, "%s", out_name);
        an_free(out_name);
        AN_TRY(st);
    }
    *payload_len = an_get_count(r, SIZE_MAX, 1);
    AN_TRY(an_reader_status(r));
    *payload_at = r->pos;
    r->pos += *payload_len;
    return ANOMA_OK;
}

static anoma_status load_payloads(an_pipeline *p, const an_reader *r, const uint32_t *version,
                                  const size_t *at, const size_t *len)
{
    const char **names = AN_NEW_ARRAY(const char *, p->n_slots + 1);
    an_cell_type *types = AN_NEW_ARRAY(an_cell_type, p->n_slots + 1);
    anoma_status st = names && types ? ANOMA_OK : an_no_memory();
    for (size_t s = 0; s < p->n_steps && st == ANOMA_OK; s++) {
        an_pipeline_step *step = &p->steps[s];
        an_schema schema = an_pipeline_stage(p, s, names, types);
        an_reader sub = an_reader_make(r->data + at[s], len[s], "pipeline step");
        st = step->vt->load(step->state, &sub, version[s], &schema, &step->io);
        if (st == ANOMA_OK)
            st = an_reader_status(&sub);
        if (st == ANOMA_OK && sub.pos != sub.len)
            st = bad("a step's payload has trailing bytes");
    }
    an_free(names);
    an_free(types);
    return st;
}

anoma_status an_pipeline_load(an_pipeline *p, an_reader *r)
{
    uint32_t n = an_get_u32(r);
    AN_TRY(an_reader_status(r));
    if (n > MAX_STEPS || !an_reader_can_hold(r, n, MIN_STEP_BYTES))
        return bad("step count out of range");
    if (!n)
        return ANOMA_OK;
    AN_TRY(read_inputs(p, r));
    uint32_t *version = AN_NEW_ZEROED(uint32_t, n);
    size_t *at = AN_NEW_ZEROED(size_t, n);
    size_t *len = AN_NEW_ZEROED(size_t, n);
    anoma_status st = version && at && len ? ANOMA_OK : an_no_memory();
    for (uint32_t s = 0; s < n && st == ANOMA_OK; s++)
        st = read_step(p, r, &version[s], &at[s], &len[s]);
    if (st == ANOMA_OK)
        st = an_pipeline_plan(p);
    if (st == ANOMA_OK)
        st = load_payloads(p, r, version, at, len);
    an_free(version);
    an_free(at);
    an_free(len);
    if (st == ANOMA_OK)
        p->fitted = 1;
    return st;
}

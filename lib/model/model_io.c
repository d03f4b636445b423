/* The model in the file format: which sections hold what. The container
 * (framing, compression, checksums) is lib/io/format.c; this file maps a
 * model to sections and back, checking every value it reads. */
#include "model/model.h"
#include "core/alloc.h"
#include "core/error.h"
#include "io/format.h"

#include <math.h>
#include <string.h>

/* Bounds on counts read from a file, far above any real model. */

/* What a model file holds, checked before any section is inflated. */
static const an_section_rule model_sections[] = {
    {AN_SECTION_META, 1, 1, "metadata"},
    {AN_SECTION_MODEL, 1, 1, "model"},
    {AN_SECTION_PIPELINE, 0, 1, "pipeline"},
    {AN_SECTION_SHARED_ROWS, 0, AN_MODEL_MAX_DETECTORS, "shared rows"},
    {AN_SECTION_DETECTOR, 1, AN_MODEL_MAX_DETECTORS, "detector"},
    {AN_SECTION_PROBABILITY, 0, 1, "probability"},
    {AN_SECTION_ENSEMBLE, 0, 1, "ensemble"},
};

/* Options of a load: how the host reads a file, not what the model is. */
static const anoma_param_info load_options[] = {
    {"max_bytes", ANOMA_PARAM_INT, 24, 9007199254740992.0, "4294967296", "",
     "largest model accepted: the file's size and its sections' inflated size"},
};

/* n_threads (the model's) is how this process runs the model, and rows
 * (lof's, knn's: copy or borrow) how it holds the training rows, not what
 * the model is: they are left out of the file so that the same model saves
 * to the same bytes. A saved model holds its rows, so a loaded one owns
 * them (rows=copy, the default). */
static void put_params(an_writer *w, const an_params *p, const char *skip)
{
    an_strbuf sb = {0};
    an_params_format_without(p, skip, &sb);
    if (sb.failed)
        w->failed = 1;
    an_put_str(w, sb.data ? sb.data : "");
    an_strbuf_free(&sb);
}

static void write_meta(const anoma_model *m, an_writer *w)
{
    an_put_str(w, anoma_version());
    put_params(w, &m->params, "n_threads");
    an_put_u64(w, m->train_rows);
    an_put_u64(w, m->n_features);
    an_put_u8(w, m->feature_names != NULL);
    for (size_t j = 0; m->feature_names && j < m->n_features; j++)
        an_put_str(w, m->feature_names[j]);
}

static anoma_status write_detector(const an_model_detector *d, an_writer *w)
{
    an_put_str(w, d->vt->name);
    put_params(w, &d->params, "rows");
    an_put_f64(w, d->shift);
    an_put_f64(w, d->scale);
    an_put_u32(w, d->vt->payload_version); /* since format 1.1 */
    return d->vt->save(d->state, w);
}

/* The whole file image, in `out`: metadata, model, pipeline, the shared
 * training rows, detectors, then the ensemble (required: it changes
 * scores) and the probability (optional: a reader without it scores
 * alike) when the model has them. */
static anoma_status encode_model(const anoma_model *m, an_writer *out)
{
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "save: the model is not fitted");
    size_t n_sections = 3 + m->shared_rows.n + m->n_detectors + 2;
    an_writer *payloads = AN_NEW_ZEROED(an_writer, n_sections);
    an_section *sections = AN_NEW_ZEROED(an_section, n_sections);
    anoma_status st = payloads && sections ? ANOMA_OK : an_no_memory();
    size_t n = 0;
    if (st == ANOMA_OK) {
        write_meta(m, &payloads[0]);
        an_put_f64(&payloads[1], m->threshold);
        an_put_u32(&payloads[1], (uint32_t)m->n_detectors);
        an_pipeline_save(&m->pipeline, &payloads[2]);
        sections[0].type = AN_SECTION_META;
        sections[1].type = AN_SECTION_MODEL;
        sections[2].type = AN_SECTION_PIPELINE;
        n = 3;
        for (size_t i = 0; i < m->shared_rows.n; i++, n++) {
            an_nb_table_save(&m->shared_rows, i, &payloads[n]);
            sections[n].type = AN_SECTION_SHARED_ROWS;
        }
        for (size_t k = 0; k < m->n_detectors && st == ANOMA_OK; k++, n++) {
            st = write_detector(&m->detectors[k], &payloads[n]);
            sections[n].type = AN_SECTION_DETECTOR;
        }
        if (an_ensemble_has_section(m)) {
            an_ensemble_save(m, &payloads[n]);
            sections[n++].type = AN_SECTION_ENSEMBLE;
        }
        if (m->probability.method != AN_PROBABILITY_NONE) {
            an_probability_save(&m->probability, &payloads[n]);
            sections[n++].type = AN_SECTION_PROBABILITY;
        }
    }
    for (size_t i = 0; i < n && st == ANOMA_OK; i++) {
        st = an_writer_status(&payloads[i]);
        sections[i].flags = sections[i].type == AN_SECTION_PROBABILITY ? 0 : AN_SECTION_REQUIRED;
        sections[i].data = payloads[i].data;
        sections[i].size = payloads[i].len;
    }
    if (st == ANOMA_OK)
        st = an_format_encode(sections, n, out);
    for (size_t i = 0; payloads && i < n_sections; i++)
        an_writer_free(&payloads[i]);
    an_free(payloads);
    an_free(sections);
    return st;
}

anoma_status anoma_model_save_memory(const anoma_model *m, void *buf, size_t cap, size_t *size)
{
    if (!m || !size)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_save_memory: NULL argument");
    an_writer image = {0};
    anoma_status st = encode_model(m, &image);
    if (st == ANOMA_OK) {
        *size = image.len;
        if (buf && cap >= image.len)
            memcpy(buf, image.data, image.len);
        else if (buf)
            st = an_error(ANOMA_ERR_BUFFER_TOO_SMALL, "save: the model needs %zu bytes, the buffer has %zu",
                          image.len, cap);
    }
    an_writer_free(&image);
    return st;
}

anoma_status anoma_model_detector_payload(const anoma_model *m, size_t index, void *buf,
                                          size_t cap, size_t *size)
{
    if (!m || !size)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_detector_payload: NULL argument");
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "detector payload: the model is not fitted");
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_ANY, &d));
    /* Its rows live in the model's shared table: the payload only names them. */
    if (d->vt->share_rows)
        return an_error(ANOMA_ERR_UNSUPPORTED,
                        "detector payload: %s keeps its training rows in the model, not in its "
                        "payload; save the whole model instead", d->vt->name);
    an_writer w = {0};
    anoma_status st = d->vt->save(d->state, &w);
    if (st == ANOMA_OK)
        st = an_writer_status(&w);
    if (st == ANOMA_OK) {
        *size = w.len;
        if (buf && cap >= w.len)
            memcpy(buf, w.data, w.len);
        else if (buf)
            st = an_error(ANOMA_ERR_BUFFER_TOO_SMALL,
                          "detector payload: %zu bytes needed, the buffer has %zu", w.len, cap);
    }
    an_writer_free(&w);
    return st;
}

anoma_status anoma_model_detector_payload_version(const anoma_model *m, size_t index,
                                                  uint32_t *version)
{
    if (!m || !version)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_model_detector_payload_version: NULL argument");
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_ANY, &d));
    *version = d->vt->payload_version; /* what save writes (detector.h) */
    return ANOMA_OK;
}

anoma_status anoma_model_save(const anoma_model *m, const char *path)
{
    if (!m || !path)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_save: NULL argument");
    an_writer image = {0};
    anoma_status st = encode_model(m, &image);
    if (st == ANOMA_OK)
        st = an_file_write_atomic(path, image.data, image.len);
    an_writer_free(&image);
    return st;
}

/* ---- loading ---- */

static anoma_status format_error(const char *what)
{
    return an_error(ANOMA_ERR_FORMAT, "model file: %s", what);
}

static anoma_status read_meta(anoma_model *m, const an_section *s)
{
    an_reader r = an_reader_make(s->data, s->size, "metadata");
    char *version = an_get_str(&r);
    char *params = an_get_str(&r);
    m->train_rows = (size_t)an_get_u64(&r);
    uint64_t n_features = an_get_u64(&r);
    int has_names = an_get_u8(&r);
    anoma_status st = an_reader_status(&r);
    if (st == ANOMA_OK && (n_features == 0 || n_features > AN_MODEL_MAX_FEATURES))
        st = format_error("feature count out of range");
    if (st == ANOMA_OK) {
        st = an_params_parse(&m->params, params);
        if (st == ANOMA_ERR_UNKNOWN_PARAM || st == ANOMA_ERR_PARAM_VALUE)
            st = an_error(ANOMA_ERR_FORMAT, "model file: bad model parameters: %s", anoma_last_error());
    }
    /* Each name takes at least its 4-byte length: bound the count by the
     * bytes left before the array of names is allocated. */
    if (st == ANOMA_OK && has_names && !an_reader_can_hold(&r, n_features, 4))
        st = an_error(ANOMA_ERR_FORMAT, "model file: metadata declares %llu feature names but "
                      "only %zu bytes remain to hold them", (unsigned long long)n_features,
                      r.len - r.pos);
    if (st == ANOMA_OK && has_names) {
        m->feature_names = AN_NEW_ZEROED(char *, n_features);
        if (!m->feature_names)
            st = an_no_memory();
        for (size_t j = 0; st == ANOMA_OK && j < n_features; j++) {
            m->feature_names[j] = an_get_str(&r);
            st = an_reader_status(&r);
        }
    }
    m->n_features = (size_t)n_features;
    if (st == ANOMA_OK && r.pos != r.len)
        st = format_error("metadata section has trailing bytes");
    an_free(version);
    an_free(params);
    return st;
}

/* The input schema and the steps; a file without steps (or without the
 * section, or from format 1.0) has a numbers-only input of the metadata's
 * width and names. */
static anoma_status read_pipeline(anoma_model *m, const an_section *s)
{
    an_pipeline *p = &m->pipeline;
    if (s) {
        an_reader r = an_reader_make(s->data, s->size, "pipeline");
        AN_TRY(an_pipeline_load(p, &r));
        if (r.pos != r.len)
            return format_error("pipeline section has trailing bytes");
    }
    if (!p->n_steps) {
        AN_TRY(an_model_set_matrix_schema(m, m->n_features));
        AN_TRY(an_pipeline_plan(p));
        p->fitted = 1;
    } else if (p->n_inputs != m->n_features) {
        return format_error("the pipeline's input width differs from the metadata's");
    } else {
        for (size_t j = 0; m->feature_names && j < m->n_features; j++)
            if (strcmp(m->feature_names[j], p->input_names[j]))
                return format_error("the pipeline's input names differ from the metadata's");
    }
    m->width = p->n_outputs;
    return ANOMA_OK;
}

/* Load detector k's state, written with payload `version`, from r; the
 * payload must be used whole. */
static anoma_status load_state(anoma_model *m, size_t k, an_reader *r, uint32_t version)
{
    an_model_detector *d = &m->detectors[k];
    if (version == 0 || version > d->vt->payload_version)
        return an_error(version ? ANOMA_ERR_VERSION : ANOMA_ERR_FORMAT,
                        "model file: detector '%s' payload version %u; this library reads 1 to %u",
                        d->vt->name, (unsigned)version, (unsigned)d->vt->payload_version);
    AN_TRY(d->vt->load(d->state, r, m->width, version));
    AN_TRY(an_reader_status(r));
    if (r->pos != r->len)
        return format_error("detector section has trailing bytes");
    an_model_note_scratch(m, d);
    return ANOMA_OK;
}

/* Format 1.0 had no payload version: every payload was its detector's first. */
static anoma_status read_detector(anoma_model *m, const an_section *s, unsigned format_minor)
{
    an_reader r = an_reader_make(s->data, s->size, "detector");
    char *name = an_get_str(&r);
    char *params = an_get_str(&r);
    double shift = an_get_f64(&r), scale = an_get_f64(&r);
    uint32_t version = format_minor >= 1 ? an_get_u32(&r) : 1;
    anoma_status st = an_reader_status(&r);
    if (st == ANOMA_OK && (!isfinite(shift) || !isfinite(scale) || !(scale > 0)))
        st = format_error("detector normalisation is not finite and positive");
    if (st == ANOMA_OK) {
        st = anoma_model_add_detector(m, name, params, NULL);
        if (st == ANOMA_ERR_UNKNOWN_PARAM || st == ANOMA_ERR_PARAM_VALUE)
            st = an_error(ANOMA_ERR_FORMAT, "model file: %s", anoma_last_error());
    }
    if (st == ANOMA_OK) {
        an_model_detector *d = &m->detectors[m->n_detectors - 1];
        d->shift = shift;
        d->scale = scale;
        st = load_state(m, m->n_detectors - 1, &r, version);
    }
    an_free(name);
    an_free(params);
    return st;
}

/* Undo the last import: drop detector k. */
static void drop_detector(anoma_model *m, size_t k)
{
    an_model_detector *d = &m->detectors[k];
    d->vt->destroy(d->state);
    an_params_free(&d->params);
    m->n_detectors--;
}

anoma_status an_model_add_fitted(anoma_model *m, const char *what, const char *detector,
                                const char *params, size_t n_features, an_model_fill_fn fill,
                                void *ctx)
{
    if (m->fitted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "%s: the model is fitted, and so immutable: "
                        "import into a new model", what);
    /* Into a model with steps or other detectors, the import waits for fit,
     * which fits the rest and checks the width; into an empty model it is
     * the whole model, fitted now. */
    int alone = !m->n_detectors && !m->pipeline.n_steps;
    int by_rule = an_params_is(&m->params, "contamination", "auto");
    if (alone && an_params_is(&m->params, "threshold", "auto") && !by_rule)
        return an_error(ANOMA_ERR_UNSUPPORTED,
                        "%s: set the model's threshold, or contamination=auto, first (there "
                        "is no training data to take the contamination quantile of)", what);
    if (n_features == 0 || n_features > AN_MODEL_MAX_FEATURES)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: n_features %zu is out of range", what,
                        n_features);
    if (alone && m->feature_names && m->n_features != n_features)
        return an_error(ANOMA_ERR_SHAPE, "%s: %zu feature names were set for %zu features",
                        what, m->n_features, n_features);
    AN_TRY(anoma_model_add_detector(m, detector, params, NULL));
    size_t k = m->n_detectors - 1;
    size_t old_width = m->width, old_bytes = m->scratch_bytes, old_align = m->scratch_align;
    m->width = n_features;
    /* the layout documented today: the detector's current payload version */
    anoma_status st = fill(m, k, ctx);
    if (st == ANOMA_OK)
        an_model_note_scratch(m, &m->detectors[k]);
    if (st == ANOMA_OK && alone)
        st = an_model_set_matrix_schema(m, n_features);
    if (st == ANOMA_OK && alone)
        st = an_pipeline_plan(&m->pipeline);
    if (st == ANOMA_OK && alone) /* no training scores: a vote takes the detector's rule */
        st = an_ensemble_learn(m, NULL, 0);
    double threshold = 0;
    if (st == ANOMA_OK && alone)
        st = an_params_is(&m->params, "threshold", "auto")
                 ? an_model_auto_threshold(m, &threshold)
                 : (threshold = an_params_double(&m->params, "threshold"), ANOMA_OK);
    if (st != ANOMA_OK) { /* back to the model it was */
        drop_detector(m, k);
        m->width = old_width;
        m->scratch_bytes = old_bytes;
        m->scratch_align = old_align;
        return st;
    }
    m->detectors[k].imported_width = n_features;
    if (!alone) {
        m->width = old_width;
        return ANOMA_OK;
    }
    m->pipeline.fitted = 1;
    m->n_features = n_features;
    m->threshold = threshold;
    m->fitted = 1;
    return ANOMA_OK;
}

typedef struct payload {
    const void *data;
    size_t size;
} payload;

/* an_model_fill_fn of an import: the detector's state from its payload,
 * in the layout documented today (its current payload version). */
static anoma_status load_payload(anoma_model *m, size_t k, void *ctx)
{
    const payload *p = ctx;
    an_reader r = an_reader_make(p->data, p->size, "imported detector");
    return load_state(m, k, &r, m->detectors[k].vt->payload_version);
}

anoma_status anoma_model_import_detector(anoma_model *m, const char *detector, const char *params,
                                         const void *state, size_t size, size_t n_features)
{
    if (!m || !detector || (!state && size))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_import_detector: NULL argument");
    payload p = {state, size};
    return an_model_add_fitted(m, "import", detector, params, n_features, load_payload, &p);
}

/* The single section of a type, or NULL (counted in *count). */
static const an_section *find_section(const an_section_list *list, uint32_t type, size_t *count)
{
    const an_section *found = NULL;
    *count = 0;
    for (size_t i = 0; i < list->n; i++)
        if (list->items[i].type == type) {
            if (!found)
                found = &list->items[i];
            (*count)++;
        }
    return found;
}

static anoma_status build_model(const an_section_list *list, anoma_model *m)
{
    size_t n_meta, n_model, n_pipeline, n_detector_sections, n_probability, n_ensemble;
    const an_section *meta = find_section(list, AN_SECTION_META, &n_meta);
    const an_section *model = find_section(list, AN_SECTION_MODEL, &n_model);
    const an_section *pipeline = find_section(list, AN_SECTION_PIPELINE, &n_pipeline);
    find_section(list, AN_SECTION_DETECTOR, &n_detector_sections);
    const an_section *probability = find_section(list, AN_SECTION_PROBABILITY, &n_probability);
    const an_section *ensemble = find_section(list, AN_SECTION_ENSEMBLE, &n_ensemble);
    if (n_meta != 1 || n_model != 1 || n_pipeline > 1)
        return format_error("expected one metadata, one model and at most one pipeline section");
    AN_TRY(read_meta(m, meta));

    an_reader r = an_reader_make(model->data, model->size, "model");
    double threshold = an_get_f64(&r);
    uint32_t n_detectors = an_get_u32(&r);
    AN_TRY(an_reader_status(&r));
    if (r.pos != r.len || isnan(threshold))
        return format_error("model section is inconsistent");
    if (n_detectors == 0 || n_detectors > AN_MODEL_MAX_DETECTORS || n_detectors != n_detector_sections)
        return format_error("detector count does not match the detector sections");
    AN_TRY(read_pipeline(m, pipeline));
    for (size_t i = 0; i < list->n; i++)
        if (list->items[i].type == AN_SECTION_SHARED_ROWS) {
            an_reader sr = an_reader_make(list->items[i].data, list->items[i].size, "shared rows");
            AN_TRY(an_nb_table_load(&m->shared_rows, &sr, m->width));
        }
    for (size_t i = 0; i < list->n; i++)
        if (list->items[i].type == AN_SECTION_DETECTOR)
            AN_TRY(read_detector(m, &list->items[i], list->minor));
    AN_TRY(an_nb_table_check_used(&m->shared_rows));
    AN_TRY(an_ensemble_load(m, ensemble ? ensemble->data : NULL, ensemble ? ensemble->size : 0));
    if (probability) {
        an_reader pr = an_reader_make(probability->data, probability->size, "probability");
        AN_TRY(an_probability_load(&m->probability, &pr));
        if (pr.pos != pr.len)
            return format_error("probability section has trailing bytes");
    }
    m->threshold = threshold;
    m->fitted = 1;
    return ANOMA_OK;
}

/* The largest model a load accepts, from its options text. */
static anoma_status parse_load_options(const char *options, uint64_t *max_bytes)
{
    an_params p;
    AN_TRY(an_params_init(&p, "load", load_options, sizeof load_options / sizeof *load_options));
    anoma_status st = an_params_parse(&p, options);
    if (st == ANOMA_OK)
        *max_bytes = (uint64_t)an_params_int(&p, "max_bytes");
    an_params_free(&p);
    return st;
}

static anoma_status load_memory(const void *data, size_t size, uint64_t max_bytes,
                                anoma_model **out)
{
    an_section_list list = {0};
    AN_TRY(an_format_decode_checked(data, size, model_sections,
                                    sizeof model_sections / sizeof *model_sections, max_bytes,
                                    &list));
    anoma_model *m = NULL;
    anoma_status st = anoma_model_create(NULL, &m);
    if (st == ANOMA_OK)
        st = build_model(&list, m);
    an_section_list_free(&list);
    if (st != ANOMA_OK) {
        anoma_model_free(m);
        return st;
    }
    *out = m;
    return ANOMA_OK;
}

anoma_status anoma_model_load_memory_with(const void *data, size_t size, const char *options,
                                          anoma_model **out)
{
    if (!out || (!data && size))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_load_memory: NULL argument");
    *out = NULL;
    uint64_t max_bytes;
    AN_TRY(parse_load_options(options, &max_bytes));
    if (size > max_bytes)
        return an_error(ANOMA_ERR_FORMAT, "model file: %zu bytes, more than the %llu accepted "
                        "(load option max_bytes)", size, (unsigned long long)max_bytes);
    return load_memory(data, size, max_bytes, out);
}

anoma_status anoma_model_load_memory(const void *data, size_t size, anoma_model **out)
{
    return anoma_model_load_memory_with(data, size, NULL, out);
}

anoma_status anoma_model_load_with(const char *path, const char *options, anoma_model **out)
{
    if (!path || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_load: NULL argument");
    *out = NULL;
    uint64_t max_bytes;
    AN_TRY(parse_load_options(options, &max_bytes));
    unsigned char *data = NULL;
    size_t size = 0;
    AN_TRY(an_file_read(path, max_bytes > SIZE_MAX ? SIZE_MAX : (size_t)max_bytes, &data, &size));
    anoma_status st = load_memory(data, size, max_bytes, out);
    an_free(data);
    return st;
}

anoma_status anoma_model_load(const char *path, anoma_model **out)
{
    return anoma_model_load_with(path, NULL, out);
}

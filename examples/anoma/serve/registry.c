/* The served models. Each name holds a reference-counted handle to its
 * current model; a request takes a reference for its whole life, so a
 * reload that swaps the handle never pulls a model from under a request:
 * requests in flight finish on the model they started with, and the old
 * model is freed by the last of them. Only the main thread reloads. */
#include "serve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double file_mtime(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
}

static void served_free(served_model *m)
{
    if (!m)
        return;
    anoma_stream_free(m->stream);
    for (size_t k = 0; k < sizeof m->scorers / sizeof *m->scorers; k++)
        anoma_row_scorer_free(atomic_load(&m->scorers[k]));
    anoma_model_free(m->model);
    free(m->names);
    free(m->types);
    free(m->explained);
    pthread_mutex_destroy(&m->stream_lock);
    free(m);
}

/* 1 when no step and no detector of the model keeps per-entity state: a
 * row scorer then gives a record the score a batch of it gives. */
static int stateless(const anoma_model *model)
{
    unsigned flags = 0;
    for (size_t k = 0; k < anoma_model_n_steps(model); k++)
        if (anoma_component_flags(ANOMA_KIND_STEP, anoma_model_step_name(model, k), &flags) !=
                ANOMA_OK || (flags & ANOMA_FLAG_STATEFUL))
            return 0;
    for (size_t k = 0; k < anoma_model_n_detectors(model); k++)
        if (anoma_component_flags(ANOMA_KIND_DETECTOR, anoma_model_detector_name(model, k),
                                  &flags) != ANOMA_OK || (flags & ANOMA_FLAG_STATEFUL))
            return 0;
    return 1;
}

anoma_row_scorer *served_take_scorer(served_model *m)
{
    for (size_t k = 0; k < sizeof m->scorers / sizeof *m->scorers; k++) {
        anoma_row_scorer *s = atomic_exchange(&m->scorers[k], NULL);
        if (s)
            return s;
    }
    anoma_row_scorer *s = NULL;
    return anoma_row_scorer_create(m->model, &s) == ANOMA_OK ? s : NULL;
}

void served_give_scorer(served_model *m, anoma_row_scorer *scorer)
{
    for (size_t k = 0; scorer && k < sizeof m->scorers / sizeof *m->scorers; k++) {
        anoma_row_scorer *empty = NULL;
        if (atomic_compare_exchange_strong(&m->scorers[k], &empty, scorer))
            return;
    }
    anoma_row_scorer_free(scorer); /* more requests at once than slots */
}

/* Load a model file and everything a request needs of it, computed once. */
static served_model *served_load(const char *name, const char *path, const char *stream_options)
{
    served_model *m = calloc(1, sizeof *m);
    if (!m) {
        cli_error("out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->stream_lock, NULL);
    atomic_init(&m->refs, 1);
    double start = cli_now_ms();
    anoma_status st = anoma_model_load(path, &m->model);
    if (st != ANOMA_OK) {
        cli_fail_file(st, path);
        served_free(m);
        return NULL;
    }
    /* requests run on the server's threads: each scores on its own */
    anoma_model_set_n_threads(m->model, 1);
    m->n_features = anoma_model_n_features(m->model);
    size_t n_names;
    int rc = cli_model_feature_names(m->model, &m->names, &n_names);
    if (rc == CLI_OK && !(m->types = malloc((m->n_features + 1) * sizeof *m->types)))
        rc = cli_error("out of memory");
    for (size_t j = 0; rc == CLI_OK && j < m->n_features; j++)
        if (anoma_model_input_type(m->model, j, &m->types[j]) != ANOMA_OK)
            m->types[j] = ANOMA_COL_DOUBLE;
    const char *detector = anoma_model_detector_name(m->model, 0);
    unsigned flags = 0;
    if (rc == CLI_OK && detector &&
        anoma_component_flags(ANOMA_KIND_DETECTOR, detector, &flags) == ANOMA_OK &&
        (flags & ANOMA_FLAG_FEATURE_SCORES)) {
        m->explainable = 1;
        rc = cli_explained_columns(m->model, &m->explained, &m->width);
    }
    if (rc == CLI_OK && (st = anoma_model_threshold(m->model, &m->threshold)) != ANOMA_OK)
        rc = cli_fail(st, "%s: threshold", path);
    double p, c;
    m->has_probability =
        anoma_model_probability_of_scores(m->model, &m->threshold, 1, &p, &c) == ANOMA_OK;
    m->row_scoring = stateless(m->model);
    if (rc == CLI_OK && (st = anoma_stream_create(m->model, stream_options, &m->stream)) !=
                            ANOMA_OK)
        rc = cli_fail(st, "%s: %s", name, stream_options ? "--stream-params" : "stream");
    if (rc != CLI_OK) {
        served_free(m);
        return NULL;
    }
    m->load_seconds = (cli_now_ms() - start) / 1000;
    m->loaded_at = wall_clock();
    return m;
}

served_model *served_acquire(serve_entry *e)
{
    pthread_mutex_lock(&e->lock);
    served_model *m = e->current;
    atomic_fetch_add(&m->refs, 1);
    pthread_mutex_unlock(&e->lock);
    return m;
}

void served_release(served_model *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1)
        served_free(m);
}

/* A name is a URL path segment and a state file's stem: letters, digits,
 * '.', '_' and '-', not starting with '.'. */
static int valid_name(const char *name)
{
    if (!*name || *name == '.' || strlen(name) > 128)
        return 0;
    for (const char *c = name; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *c))
            return 0;
    return 1;
}

/* PATH -> (stem, PATH); NAME=PATH -> (NAME, PATH). */
static int split_operand(const char *operand, char **name, char **path)
{
    const char *eq = strchr(operand, '=');
    const char *slash = strrchr(operand, '/');
    if (eq && (!slash || eq < slash)) {
        *name = strndup(operand, (size_t)(eq - operand));
        *path = strdup(eq + 1);
    } else {
        const char *base = slash ? slash + 1 : operand;
        const char *dot = strrchr(base, '.');
        *name = strndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
        *path = strdup(operand);
    }
    if (!*name || !*path)
        return cli_error("out of memory");
    if (!valid_name(*name))
        return cli_usage("serve", "model name '%s' (from '%s'): use letters, digits, '.', '_' "
                         "and '-' (NAME=PATH names a model)", *name, operand);
    return CLI_OK;
}

static char *state_path(const serve_registry *r, const serve_entry *e)
{
    size_t n = strlen(r->state_dir) + strlen(e->name) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s.state", r->state_dir, e->name);
    return p;
}

/* Resume the entry's entities from the state dir, when a state is there. */
static int restore_state(serve_registry *r, serve_entry *e)
{
    char *path = state_path(r, e);
    if (!path)
        return cli_error("out of memory");
    int rc = CLI_OK;
    if (access(path, F_OK) == 0) {
        anoma_status st = anoma_stream_restore_file(e->current->stream, path);
        if (st != ANOMA_OK)
            rc = cli_fail_file(st, path);
        else
            fprintf(stderr, "anoma serve: %s: %zu entities restored from %s\n", e->name,
                    anoma_stream_n_entities(e->current->stream), path);
    }
    free(path);
    return rc;
}

int registry_open(serve_registry *r, char **operands, size_t n, const char *stream_options,
                  const char *state_dir)
{
    memset(r, 0, sizeof *r);
    r->stream_options = stream_options;
    r->state_dir = state_dir;
    if (!(r->entries = calloc(n + 1, sizeof *r->entries)))
        return cli_error("out of memory");
    for (size_t k = 0; k < n; k++) {
        serve_entry *e = &r->entries[k];
        int rc = split_operand(operands[k], &e->name, &e->path);
        pthread_mutex_init(&e->lock, NULL);
        r->n++;
        if (rc != CLI_OK)
            return rc;
        for (size_t i = 0; i < k; i++)
            if (!strcmp(r->entries[i].name, e->name))
                return cli_usage("serve", "two models named '%s' (NAME=PATH names one)",
                                 e->name);
        e->mtime = file_mtime(e->path);
        if (!(e->current = served_load(e->name, e->path, stream_options)))
            return CLI_BAD_INPUT;
        e->current->version = 1;
        if (state_dir && (rc = restore_state(r, e)) != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

int registry_close(serve_registry *r)
{
    int rc = CLI_OK;
    for (size_t k = 0; k < r->n; k++) {
        serve_entry *e = &r->entries[k];
        if (e->current && r->state_dir) {
            char *path = state_path(r, e);
            pthread_mutex_lock(&e->current->stream_lock);
            anoma_status st = path ? anoma_stream_save_file(e->current->stream, path)
                                   : ANOMA_ERR_NO_MEMORY;
            size_t held = anoma_stream_n_entities(e->current->stream);
            pthread_mutex_unlock(&e->current->stream_lock);
            if (st != ANOMA_OK)
                rc = cli_fail(st, "saving the stream state of %s", e->name);
            else
                fprintf(stderr, "anoma serve: %s: %zu entities saved to %s\n", e->name, held,
                        path);
            free(path);
        }
        served_release(e->current);
        pthread_mutex_destroy(&e->lock);
        free(e->name);
        free(e->path);
    }
    free(r->entries);
    memset(r, 0, sizeof *r);
    return rc;
}

serve_entry *registry_find(serve_registry *r, const char *name)
{
    for (size_t k = 0; k < r->n; k++)
        if (!strcmp(r->entries[k].name, name))
            return &r->entries[k];
    return NULL;
}

/* Move the old model's entities to the new one when their state means the
 * same there (the library's stream fingerprint: same input schema, stateful
 * steps and stateful detectors, docs/stream.md); otherwise, or when the
 * move fails, they start afresh on the new model, with a log line and a
 * count in anoma_stream_state_resets_total. */
static void move_entities(serve_entry *e, served_model *old, served_model *fresh)
{
    size_t held = anoma_stream_n_entities(old->stream);
    uint64_t was = 0, now = 1;
    anoma_status st = anoma_stream_fingerprint(old->model, &was);
    if (st == ANOMA_OK)
        st = anoma_stream_fingerprint(fresh->model, &now);
    if (st == ANOMA_OK && was != now) {
        atomic_fetch_add(&e->state_resets, 1);
        atomic_fetch_add(&e->entities_reset, held);
        fprintf(stderr, "anoma serve: %s: reload: %zu entities start afresh: the new model's "
                "entity state means something else (another input schema, or other stateful "
                "steps or detectors)\n", e->name, held);
        return;
    }
    size_t size = 0;
    if (st == ANOMA_OK)
        st = anoma_stream_save(old->stream, NULL, 0, &size);
    void *buf = st == ANOMA_OK ? malloc(size + 1) : NULL;
    if (buf)
        st = anoma_stream_save(old->stream, buf, size, &size);
    if (buf && st == ANOMA_OK)
        st = anoma_stream_restore(fresh->stream, buf, size);
    free(buf);
    if (st == ANOMA_OK && !buf)
        st = ANOMA_ERR_NO_MEMORY;
    if (st != ANOMA_OK) {
        atomic_fetch_add(&e->state_resets, 1);
        atomic_fetch_add(&e->entities_reset, held);
        fprintf(stderr, "anoma serve: %s: reload: %zu entities start afresh: %s\n", e->name,
                held, *anoma_last_error() ? anoma_last_error() : anoma_status_text(st));
    } else {
        fprintf(stderr, "anoma serve: %s: reload: %zu entities moved to the new model\n",
                e->name, held);
    }
}

int registry_reload(serve_registry *r, serve_entry *e)
{
    double mtime = file_mtime(e->path);
    served_model *fresh = served_load(e->name, e->path, r->stream_options);
    if (!fresh) {
        atomic_fetch_add(&e->reload_failures, 1);
        fprintf(stderr, "anoma serve: %s: reload failed; the model loaded before keeps serving\n",
                e->name);
        return -1;
    }
    served_model *old = e->current; /* only this thread changes it */
    fresh->version = old->version + 1;
    /* Pushes hold the stream lock; holding it across the swap means none is
     * lost: a push that waited finds its model retired and goes again. */
    pthread_mutex_lock(&old->stream_lock);
    if (anoma_stream_n_entities(old->stream))
        move_entities(e, old, fresh);
    old->stream_retired = 1;
    pthread_mutex_lock(&e->lock);
    e->current = fresh;
    e->mtime = mtime;
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_unlock(&old->stream_lock);
    served_release(old);
    atomic_fetch_add(&e->reloads, 1);
    fprintf(stderr, "anoma serve: %s: reloaded %s in %.3f s\n", e->name, e->path,
            fresh->load_seconds);
    return 0;
}

void registry_reload_changed(serve_registry *r)
{
    for (size_t k = 0; k < r->n; k++) {
        serve_entry *e = &r->entries[k];
        double mtime = file_mtime(e->path);
        if (mtime >= 0 && mtime != e->mtime) {
            e->mtime = mtime; /* a file that fails is tried again when it changes again */
            registry_reload(r, e);
        }
    }
}

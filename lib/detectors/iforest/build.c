/* Training: grow n_trees isolation trees, each on its own subsample.
 *
 * Tree t (Liu, Ting and Zhou 2008, Algorithms 1 and 2):
 *   - draws its random numbers from stream t of the seed, so the forest does
 *     not depend on the thread count or on which thread grew which tree;
 *   - uses m = max_features of the features, drawn without replacement (all
 *     of them by default), as scikit-learn's bagging does;
 *   - grows on psi = max_samples rows drawn without replacement, or with
 *     replacement under bootstrap. Under bootstrap a row drawn twice counts
 *     once, as in scikit-learn, which passes draw counts to its trees as
 *     sample weights that isolation trees ignore;
 *   - splits a node until it holds at most one row or reaches the depth limit
 *     ceil(log2(psi)). Features are drawn at random without replacement
 *     among the tree's m until one varies in the node (ignoring missing
 *     values); when none varies the node is a leaf.
 * An axis-parallel split (extension_level = 0) takes its threshold uniform
 * in [min, max) of the chosen feature's non-missing values in the node, as
 * scikit-learn's random splitter does: rows with x <= threshold go left.
 * Rows missing that feature go to the child that received more of the other
 * rows (ties: left), and the node remembers that side for scoring.
 * An extended split (Hariri et al. 2019) takes extension_level + 1 varying
 * features (fewer when fewer vary), a normal vector of N(0, 1) coordinates
 * on them and an intercept point uniform in the node's bounding box on them;
 * a row goes left when (x - p) . n <= 0, a missing coordinate contributing
 * 0. Extended children may be empty (a leaf with no sample), as in the
 * reference implementation.
 * Trees are grown into their own buffers in parallel, then concatenated in
 * tree order. */
#include "detectors/iforest/iforest.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/sample.h"
#include "core/threads.h"
#include "io/format.h"

#include <math.h>
#include <string.h>

/* Why a tree could not be grown (worker threads cannot raise messages: the
 * message is thread-local, so the caller raises it after the join). */
enum { GROW_OK = 0, GROW_NO_MEMORY, GROW_TOO_LARGE };

/* A tree as it grows: tree-local indices, and leaves in the form
 * {path value, AN_IF_LEAF, sample count} until concatenate() moves their
 * values to the forest's leaf arrays. */
typedef struct tree_out {
    an_if_node *nodes;
    size_t n_nodes, cap_nodes;
    an_if_comp *comps;
    size_t n_comps, cap_comps;
    size_t n_leaves, max_depth;
    double depth_sum;
    int failure;
} tree_out;

typedef struct train_job {
    const an_iforest_config *cfg;
    const double *x;
    size_t rows, cols;
    size_t psi;         /* rows per tree */
    size_t n_tree_features;
    unsigned depth_limit;
    size_t n_comp;      /* components per extended split; 0: axis-parallel */
    tree_out *trees;
} train_job;

/* One worker's scratch, reused for each of its trees. */
typedef struct worker {
    const train_job *job;
    an_rng rng;
    size_t *rows;      /* the tree's sample, partitioned in place as it grows */
    an_row_set drawn;  /* rows drawn so far (core/sample.h) */
    uint32_t *features; /* cols entries; the tree's own are the first m */
    uint32_t *chosen;   /* a split's features, with their ranges */
    double *lo, *hi;
    tree_out *out;
} worker;

/* ---- subsampling ---- */

/* Fill w->rows with the tree's distinct sample rows; their count. */
static size_t draw_rows(worker *w)
{
    const train_job *job = w->job;
    size_t n = job->rows, psi = job->psi, k = 0;
    if (!job->cfg->bootstrap && psi == n) {
        for (size_t i = 0; i < n; i++)
            w->rows[i] = i;
        return n;
    }
    if (job->cfg->bootstrap) {
        an_row_set_clear(&w->drawn);
        for (size_t i = 0; i < psi; i++) {
            size_t row = (size_t)an_rng_below(&w->rng, n);
            if (an_row_set_insert(&w->drawn, row))
                w->rows[k++] = row;
        }
        return k;
    }
    an_sample_distinct(&w->rng, n, psi, &w->drawn, w->rows);
    return psi;
}

static void draw_tree_features(worker *w)
{
    size_t p = w->job->cols, m = w->job->n_tree_features;
    for (size_t j = 0; j < p; j++)
        w->features[j] = (uint32_t)j;
    if (m == p)
        return;
    for (size_t i = 0; i < m; i++) { /* partial Fisher-Yates */
        size_t j = i + (size_t)an_rng_below(&w->rng, p - i);
        uint32_t t = w->features[i];
        w->features[i] = w->features[j];
        w->features[j] = t;
    }
}

/* ---- growing ---- */

/* Uniform in [a, b) for a < b; a draw that rounds up to b falls back to a,
 * as scikit-learn's splitter does. */
static double uniform_between(an_rng *rng, double a, double b)
{
    double u = an_rng_uniform(rng), range = b - a;
    double v = isfinite(range) ? a + u * range : a * (1 - u) + b * u; /* no overflow */
    return v < b && v >= a ? v : a;
}

/* Draw up to want features that vary (non-missing min < max) over the
 * node's rows, without replacement among the tree's features; how many. */
static size_t choose_features(worker *w, size_t lo, size_t hi, size_t want)
{
    const train_job *job = w->job;
    size_t m = job->n_tree_features, got = 0;
    for (size_t i = 0; i < m && got < want; i++) {
        size_t j = i + (size_t)an_rng_below(&w->rng, m - i);
        uint32_t f = w->features[j];
        w->features[j] = w->features[i];
        w->features[i] = f;
        double mn = INFINITY, mx = -INFINITY;
        for (size_t r = lo; r < hi; r++) {
            double v = job->x[w->rows[r] * job->cols + f];
            mn = v < mn ? v : mn; /* NaN compares false: skipped */
            mx = v > mx ? v : mx;
        }
        if (mn < mx) {
            w->chosen[got] = f;
            w->lo[got] = mn;
            w->hi[got] = mx;
            got++;
        }
    }
    return got;
}

/* Index of k new nodes (or components), or SIZE_MAX with out->failure set. */
static size_t grow_array(void **data, size_t *n, size_t *cap, size_t k, size_t size, int *failure)
{
    if (*n + k > AN_IF_MAX_NODES) {
        *failure = GROW_TOO_LARGE;
        return SIZE_MAX;
    }
    if (*n + k > *cap) {
        size_t want = *cap ? 2 * *cap : 64;
        while (want < *n + k)
            want *= 2;
        void *grown = an_realloc_array(*data, want, size);
        if (!grown) {
            *failure = GROW_NO_MEMORY;
            return SIZE_MAX;
        }
        *data = grown;
        *cap = want;
    }
    size_t first = *n;
    *n += k;
    return first;
}

static size_t new_nodes(tree_out *o, size_t k)
{
    return grow_array((void **)&o->nodes, &o->n_nodes, &o->cap_nodes, k, sizeof *o->nodes,
                      &o->failure);
}

static size_t new_comps(tree_out *o, size_t k)
{
    return grow_array((void **)&o->comps, &o->n_comps, &o->cap_comps, k, sizeof *o->comps,
                      &o->failure);
}

static void make_leaf(tree_out *o, size_t node, unsigned depth, size_t n)
{
    o->nodes[node] = (an_if_node){an_iforest_leaf_value(depth, n), AN_IF_LEAF, (uint32_t)n};
    o->n_leaves++;
    o->depth_sum += depth;
    if (depth > o->max_depth)
        o->max_depth = depth;
}

/* Axis split on chosen[0]: rows become [left | missing | right]; returns
 * where the right child's rows start. */
static size_t split_axis(worker *w, size_t node, size_t left, size_t lo, size_t hi)
{
    const train_job *job = w->job;
    uint32_t f = w->chosen[0];
    double t = uniform_between(&w->rng, w->lo[0], w->hi[0]);
    size_t a = lo, b = lo, c = hi; /* [lo,a) <= t, [a,b) missing, [c,hi) > t */
    while (b < c) {
        size_t row = w->rows[b];
        double v = job->x[row * job->cols + f];
        if (v <= t) {
            w->rows[b++] = w->rows[a];
            w->rows[a++] = row;
        } else if (v > t) {
            w->rows[b] = w->rows[--c];
            w->rows[c] = row;
        } else {
            b++;
        }
    }
    int miss_right = hi - c > a - lo;
    w->out->nodes[node] =
        (an_if_node){t, f | (miss_right ? AN_IF_MISS_RIGHT : 0), (uint32_t)left};
    return miss_right ? a : c;
}

/* Extended split on chosen[0..k): rows become [left | right]. */
static size_t split_extended(worker *w, size_t node, size_t left, size_t lo, size_t hi,
                             size_t k, size_t first)
{
    const train_job *job = w->job;
    an_if_comp *comps = w->out->comps + first;
    for (size_t i = 0; i < k; i++) {
        double normal = an_rng_normal(&w->rng);
        double point = uniform_between(&w->rng, w->lo[i], w->hi[i]);
        comps[i] = (an_if_comp){normal, point, w->chosen[i], i + 1 == k};
    }
    w->out->nodes[node] = (an_if_node){0.0, AN_IF_EXTENDED | (uint32_t)first, (uint32_t)left};
    /* The node and its components are in place: the scorer's own test
     * decides the sides, so training and scoring cannot disagree. */
    an_iforest probe = {.comps = w->out->comps};
    size_t a = lo, c = hi;
    while (a < c) {
        size_t row = w->rows[a];
        if (an_iforest_child(&probe, &w->out->nodes[node], job->x + row * job->cols) ==
            (uint32_t)left) {
            a++;
        } else {
            w->rows[a] = w->rows[--c];
            w->rows[c] = row;
        }
    }
    return a;
}

/* Grow node (already allocated) on rows[lo, hi); 0 on failure. */
static int grow(worker *w, size_t node, size_t lo, size_t hi, unsigned depth)
{
    const train_job *job = w->job;
    tree_out *o = w->out;
    size_t want = job->n_comp ? job->n_comp : 1, got = 0;
    if (hi - lo > 1 && depth < job->depth_limit)
        got = choose_features(w, lo, hi, want);
    if (got == 0) {
        make_leaf(o, node, depth, hi - lo);
        return 1;
    }
    size_t left = new_nodes(o, 2), mid;
    if (left == SIZE_MAX)
        return 0;
    if (job->n_comp) {
        size_t first = new_comps(o, got);
        if (first == SIZE_MAX)
            return 0;
        mid = split_extended(w, node, left, lo, hi, got, first);
    } else {
        mid = split_axis(w, node, left, lo, hi);
    }
    return grow(w, left, lo, mid, depth + 1) && grow(w, left + 1, mid, hi, depth + 1);
}

static void grow_tree(worker *w, size_t t)
{
    an_rng_init(&w->rng, w->job->cfg->seed, t);
    draw_tree_features(w);
    size_t n = draw_rows(w);
    if (new_nodes(w->out, 1) != SIZE_MAX)
        grow(w, 0, 0, n, 0);
}

static void train_range(void *ctx, size_t begin, size_t end, size_t worker_index)
{
    (void)worker_index;
    const train_job *job = ctx;
    worker w = {.job = job};
    size_t k = job->n_comp ? job->n_comp : 1;
    int need_table = job->cfg->bootstrap || job->psi < job->rows;
    size_t table_size = an_row_set_slots(job->psi);
    w.drawn.mask = table_size - 1;
    w.rows = AN_NEW_ARRAY(size_t, job->psi);
    w.drawn.slots = need_table ? AN_NEW_ARRAY(size_t, table_size) : NULL;
    w.features = AN_NEW_ARRAY(uint32_t, job->cols);
    w.chosen = AN_NEW_ARRAY(uint32_t, k);
    w.lo = AN_NEW_ARRAY(double, k);
    w.hi = AN_NEW_ARRAY(double, k);
    int ok = w.rows && (w.drawn.slots || !need_table) && w.features && w.chosen && w.lo && w.hi;
    for (size_t t = begin; t < end; t++) {
        w.out = &job->trees[t];
        if (ok)
            grow_tree(&w, t);
        else
            w.out->failure = GROW_NO_MEMORY;
    }
    an_free(w.rows);
    an_free(w.drawn.slots);
    an_free(w.features);
    an_free(w.chosen);
    an_free(w.lo);
    an_free(w.hi);
}

/* ---- parameters that depend on the data's shape ---- */

/* What a parameter set may grow, checked before any tree is: a tree on psi
 * rows has at most psi leaves (and 2 * psi - 1 nodes), fewer when the depth
 * limit binds, and each split has extension_level + 1 components. The
 * forest must fit the node indexes and its payload one model section. */
static anoma_status check_resources(const an_iforest_config *cfg, size_t psi)
{
    unsigned depth = an_iforest_depth_limit(psi);
    uint64_t leaves = depth < 63 && ((uint64_t)1 << depth) < psi ? (uint64_t)1 << depth : psi;
    uint64_t n_trees = cfg->n_trees; /* <= 100000 by the schema */
    uint64_t splits = n_trees * (leaves - 1);
    uint64_t nodes = splits + n_trees * leaves; /* < 2^50: no overflow */
    uint64_t comps = cfg->extension_level ? splits * (cfg->extension_level + 1) : 0;
    if (nodes > AN_IF_MAX_NODES || comps > AN_IF_MAX_NODES)
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "iforest: n_trees=%zu with max_samples giving %zu rows per tree%s may "
                        "grow %llu %s, more than the %zu a forest holds: lower n_trees or "
                        "max_samples%s",
                        cfg->n_trees, psi, comps > AN_IF_MAX_NODES ? " and extension_level" : "",
                        (unsigned long long)(comps > AN_IF_MAX_NODES ? comps : nodes),
                        comps > AN_IF_MAX_NODES ? "split components" : "nodes", AN_IF_MAX_NODES,
                        comps > AN_IF_MAX_NODES ? " or extension_level" : "");
    uint64_t bytes = an_iforest_payload_size(n_trees, nodes, comps);
    if (bytes > AN_FORMAT_MAX_PAYLOAD)
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "iforest: n_trees=%zu with max_samples giving %zu rows per tree may "
                        "grow a forest of %.3g GB (%llu nodes), more than the %.3g GB a model "
                        "file section holds: lower n_trees or max_samples",
                        cfg->n_trees, psi, (double)bytes / 1e9, (unsigned long long)nodes,
                        (double)AN_FORMAT_MAX_PAYLOAD / 1e9);
    return ANOMA_OK;
}

static anoma_status resolve(const an_iforest_config *cfg, size_t rows, size_t cols,
                            train_job *job)
{
    double ms = cfg->max_samples;
    size_t psi;
    if (ms == 0) {
        psi = rows < 256 ? rows : 256;
    } else if (ms <= 1) {
        psi = (size_t)(ms * (double)rows); /* scikit-learn: int(max_samples * n) */
        if (psi == 0)
            return an_error(ANOMA_ERR_PARAM_VALUE,
                            "iforest: max_samples=%g of %zu rows is less than one row", ms, rows);
    } else {
        /* more rows than there are: all of them, as scikit-learn (which warns) */
        psi = ms < (double)rows ? (size_t)ms : rows;
    }
    if (psi > UINT32_MAX)
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "iforest: max_samples gives %zu rows per tree; at most %u are supported",
                        psi, UINT32_MAX);
    double mf = cfg->max_features;
    size_t m;
    if (mf <= 1) {
        m = (size_t)(mf * (double)cols); /* scikit-learn: max(1, int(max_features * p)) */
        m = m ? m : 1;
    } else {
        if (mf > (double)cols)
            return an_error(ANOMA_ERR_PARAM_VALUE,
                            "iforest: max_features=%g is more than the %zu features of the data",
                            mf, cols);
        m = (size_t)mf;
    }
    if (cfg->extension_level > cols - 1)
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "iforest: extension_level=%zu is more than n_features - 1 = %zu "
                        "(the data has %zu features)", cfg->extension_level, cols - 1, cols);
    if (cfg->extension_level > m - 1)
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "iforest: extension_level=%zu needs %zu features per tree, but "
                        "max_features gives %zu", cfg->extension_level, cfg->extension_level + 1,
                        m);
    AN_TRY(check_resources(cfg, psi));
    job->psi = psi;
    job->n_tree_features = m;
    job->depth_limit = an_iforest_depth_limit(psi);
    job->n_comp = cfg->extension_level ? cfg->extension_level + 1 : 0;
    return ANOMA_OK;
}

/* ---- the forest ---- */

static anoma_status concatenate(const train_job *job, an_iforest *f)
{
    size_t n_trees = job->cfg->n_trees, total = 0, comps = 0, leaves = 0;
    double depth_sum = 0;
    for (size_t t = 0; t < n_trees; t++) {
        const tree_out *o = &job->trees[t];
        if (o->failure == GROW_NO_MEMORY)
            return an_no_memory();
        if (o->failure || o->n_nodes > AN_IF_MAX_NODES - total ||
            o->n_comps > AN_IF_MAX_NODES - comps)
            return an_error(ANOMA_ERR_PARAM_VALUE,
                            "iforest: the forest would have more than %zu nodes: lower "
                            "n_trees or max_samples", AN_IF_MAX_NODES);
        total += o->n_nodes;
        comps += o->n_comps;
    }
    AN_TRY(an_iforest_alloc(f, total, n_trees, comps));
    uint32_t base = 0, cbase = 0;
    for (size_t t = 0; t < n_trees; t++) {
        const tree_out *o = &job->trees[t];
        f->roots[t] = base;
        f->depths[t] = (uint32_t)o->max_depth;
        for (size_t i = 0; i < o->n_nodes; i++) {
            an_if_node n = o->nodes[i];
            if (n.info & AN_IF_LEAF) {
                an_iforest_set_leaf(f, base + i, n.value, n.left);
                continue;
            }
            n.left += base;
            if (n.info & AN_IF_EXTENDED)
                n.info += cbase; /* the index sits in the low bits */
            f->nodes[base + i] = n;
            f->leaf_value[base + i] = 0;
            f->leaf_count[base + i] = 0;
        }
        if (o->n_comps)
            memcpy(f->comps + cbase, o->comps, o->n_comps * sizeof *o->comps);
        base += (uint32_t)o->n_nodes;
        cbase += (uint32_t)o->n_comps;
        leaves += o->n_leaves;
        depth_sum += o->depth_sum;
        if (o->max_depth > f->max_depth)
            f->max_depth = o->max_depth;
    }
    f->n_leaves = leaves;
    f->mean_depth = depth_sum / (double)leaves;
    return ANOMA_OK;
}

anoma_status an_iforest_train(const an_iforest_config *cfg, const an_fit_data *data,
                              an_iforest *out)
{
    *out = (an_iforest){0};
    if (!data->rows || !data->cols)
        return an_error(ANOMA_ERR_EMPTY, "iforest: training data is %zu x %zu", data->rows,
                        data->cols);
    if (data->cols > (size_t)AN_IF_INDEX_MASK + 1)
        return an_error(ANOMA_ERR_SHAPE, "iforest: %zu features; at most %zu are supported",
                        data->cols, (size_t)AN_IF_INDEX_MASK + 1);
    train_job job = {cfg, data->x, data->rows, data->cols, 0, 0, 0, 0, NULL};
    AN_TRY(resolve(cfg, data->rows, data->cols, &job));
    job.trees = AN_NEW_ZEROED(tree_out, cfg->n_trees);
    if (!job.trees)
        return an_no_memory();
    anoma_status st = an_parallel_for_reported(cfg->n_trees, data->n_threads, 1, train_range,
                                               &job, data->progress, ANOMA_STAGE_FIT,
                                               "iforest fit (trees built)");
    an_iforest f = {0};
    f.n_features = data->cols;
    f.max_samples = job.psi;
    if (st == ANOMA_OK)
        st = concatenate(&job, &f);
    for (size_t t = 0; t < cfg->n_trees; t++) {
        an_free(job.trees[t].nodes);
        an_free(job.trees[t].comps);
    }
    an_free(job.trees);
    if (st == ANOMA_OK)
        st = an_iforest_finish(&f);
    if (st != ANOMA_OK) {
        an_iforest_free(&f);
        return st;
    }
    *out = f;
    return ANOMA_OK;
}

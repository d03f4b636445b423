/* Boosting: XGBoost 1.7's hist method, depthwise or leaf by leaf (lossguide).
 *
 * Each round computes every row's gradient and hessian of the loss at its
 * current margin (float32, as XGBoost's GradientPair), times its weight
 * (sample weight, times scale_pos_weight for a positive), and grows one
 * tree. A node's histogram holds, per bin of every sampled feature, the
 * sums of g and h of its rows (double). A split's children: the one with
 * fewer rows gets its histogram from its rows, the other by subtracting
 * that from the parent's. For each feature the bins are scanned upwards
 * with missing values sent right, then, if the node has missing values for
 * the feature, downwards with them sent left, and the gain of a split is
 *
 *   G_L'^2 / (H_L + lambda) + G_R'^2 / (H_R + lambda) - G'^2 / (H + lambda),
 *   G' = sign(G) max(|G| - alpha, 0)
 *
 * (XGBoost's CalcGain), kept as float32 as XGBoost keeps it. Both children
 * need a hessian sum of at least min_child_weight; the best split (ties:
 * the first feature, the first bin, upwards before downwards) is made when
 * its gain exceeds 1e-6 and is not below gamma and the node is above
 * max_depth. A leaf's value is -eta G' / (H + lambda).
 *
 * Random-forest mode (num_parallel_tree > 1), as XGBoost 1.7's gbtree:
 * a round grows num_parallel_tree trees from the same gradients, each
 * with its own row and feature samples, and their leaves are scaled by
 * eta / num_parallel_tree (XGBoost's updaters divide the learning rate by
 * the number of trees they grow at once), so a round adds their average.
 *
 * Determinism: a histogram bin is summed in row order by one thread
 * (threads split the features, never the rows), the random draws of a
 * tree come from its own stream of the seed and are made by the calling
 * thread, so a seed gives one forest whatever the thread count. */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Nodes with fewer (rows x features) than this build their histogram on
 * the calling thread: waking the pool costs more than the sums. */
#define PARALLEL_CELLS 65536

typedef struct hist_bin {
    double g, h;
} hist_bin;

/* A row's gradient and hessian, side by side: a histogram reads both. */
typedef struct gpair {
    float g, h;
} gpair;

/* One tree being grown, in the raw layout (preorder: children after parents). */
typedef struct tree_builder {
    size_t n, cap;
    uint32_t *left, *right, *feature;
    float *threshold;
    uint8_t *default_left;
    double *value, *gain, *cover;
} tree_builder;

static void builder_free(tree_builder *b)
{
    an_free(b->left);
    an_free(b->right);
    an_free(b->feature);
    an_free(b->threshold);
    an_free(b->default_left);
    an_free(b->value);
    an_free(b->gain);
    an_free(b->cover);
    *b = (tree_builder){0};
}

#define GROW(field)                                                                   \
    do {                                                                              \
        void *p = an_realloc_array(b->field, cap, sizeof *b->field);                  \
        if (!p)                                                                       \
            return an_no_memory();                                                    \
        b->field = p;                                                                 \
    } while (0)

static anoma_status builder_add(tree_builder *b, uint32_t *id)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        GROW(left);
        GROW(right);
        GROW(feature);
        GROW(threshold);
        GROW(default_left);
        GROW(value);
        GROW(gain);
        GROW(cover);
        b->cap = cap;
    }
    size_t i = b->n++;
    b->left[i] = b->right[i] = AN_GBT_RAW_NONE;
    b->feature[i] = 0;
    b->threshold[i] = 0;
    b->default_left[i] = 0;
    b->value[i] = b->gain[i] = b->cover[i] = 0;
    *id = (uint32_t)i;
    return ANOMA_OK;
}

/* ---- the loss ---- */

static double threshold_l1(double g, double alpha)
{
    return g > alpha ? g - alpha : g < -alpha ? g + alpha : 0.0;
}

double an_gbt_leaf_weight(const an_gbt_config *cfg, double g, double h)
{
    if (h < cfg->min_child_weight || h <= 0)
        return 0;
    return -threshold_l1(g, cfg->alpha) / (h + cfg->lambda);
}

double an_gbt_node_gain(const an_gbt_config *cfg, double g, double h)
{
    if (h < cfg->min_child_weight || h <= 0)
        return 0;
    double t = threshold_l1(g, cfg->alpha);
    return t * t / (h + cfg->lambda);
}

/* ---- the grower ---- */

typedef struct split {
    float loss_chg; /* 0: none */
    uint32_t feature;
    uint32_t bin_limit; /* a row goes left when its bin < bin_limit (missing: default_left) */
    float threshold;
    int default_left;
    double gl, hl; /* the left child's sums */
} split;

typedef struct grower {
    const an_gbt_config *cfg;
    const an_gbt_cuts *cuts;
    const an_gbt_bins *bins;
    size_t rows;
    const gpair *gh;
    an_gbt_colsampler *columns; /* histograms cover the tree's set, splits the node's */
    uint32_t *idx, *tmp; /* rows, partitioned by node */
    hist_bin **pool;     /* one histogram per depth level, made on first use */
    size_t n_pool;
    size_t n_threads;
    tree_builder *tree;
    double *margin;     /* rows: updated at the leaves */
    double leaf_scale;  /* eta / num_parallel_tree */
    /* lossguide: the nodes waiting to split, each node's rows, and the
     * histograms (every one made, and those free in this tree) */
    struct candidate *heap;
    size_t n_heap, heap_cap;
    struct candidate *batch; /* depthwise with max_leaves: a level's nodes that split */
    size_t *ranges; /* 2 per node: first row in idx, row count */
    size_t ranges_cap;
    hist_bin **hists, **spare;
    size_t n_hists, n_spare;
} grower;

typedef struct hist_job {
    const grower *gr;
    const uint32_t *idx;
    size_t n;
    hist_bin *hist;
} hist_job;

/* Rows ahead whose bins and gradients are fetched while a row is added:
 * a node's rows are scattered over the matrix. */
#define PREFETCH 16
#if defined(__GNUC__)
#define PREFETCH_ROW(p) __builtin_prefetch(p)
#else
#define PREFETCH_ROW(p) ((void)0)
#endif

/* Add the rows idx[0, n) to the histogram slots of features[0, nf) (T: the
 * matrix's bin type): a row's bins are read together, and each slot sums
 * its rows in row order whichever features share the loop. */
#define HIST_ROWS(T, matrix)                                                              \
    do {                                                                                  \
        const T *bins = (matrix);                                                         \
        for (size_t i = 0; i < n; i++) {                                                  \
            if (i + PREFETCH < n) {                                                       \
                PREFETCH_ROW(bins + (size_t)idx[i + PREFETCH] * cols);                    \
                PREFETCH_ROW(gh + idx[i + PREFETCH]);                                     \
            }                                                                             \
            uint32_t r = idx[i];                                                          \
            double g = gh[r].g, h = gh[r].h;                                              \
            const T *row = bins + (size_t)r * cols;                                       \
            for (size_t k = 0; k < nf; k++) {                                             \
                hist_bin *b = hist + slot[k] + row[features[k]];                          \
                b->g += g;                                                                \
                b->h += h;                                                                \
            }                                                                             \
        }                                                                                 \
    } while (0)

/* Features per batch of the row loop: their slot offsets stay on the stack. */
#define HIST_FEATURES 64

static void hist_features(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    const hist_job *job = ctx;
    const grower *gr = job->gr;
    const uint32_t *idx = job->idx;
    const gpair *gh = gr->gh;
    size_t n = job->n, cols = gr->bins->cols;
    for (size_t k0 = begin; k0 < end; k0 += HIST_FEATURES) {
        size_t nf = end - k0 < HIST_FEATURES ? end - k0 : HIST_FEATURES;
        const uint32_t *features = gr->columns->tree + k0;
        size_t slot[HIST_FEATURES];
        for (size_t k = 0; k < nf; k++) {
            size_t f = features[k];
            slot[k] = gr->cuts->slot[f];
            memset(job->hist + slot[k], 0, (gr->cuts->slot[f + 1] - slot[k]) * sizeof *job->hist);
        }
        hist_bin *hist = job->hist;
        if (gr->bins->u8)
            HIST_ROWS(uint8_t, gr->bins->u8);
        else
            HIST_ROWS(uint16_t, gr->bins->u16);
    }
}

static void build_hist(const grower *gr, const uint32_t *idx, size_t n, hist_bin *hist)
{
    hist_job job = {gr, idx, n, hist};
    size_t n_features = gr->columns->n_tree;
    size_t threads = n * n_features < PARALLEL_CELLS ? 1 : gr->n_threads;
    an_parallel_for(n_features, threads, 1, hist_features, &job);
}

static void subtract_hist(const grower *gr, hist_bin *parent, const hist_bin *child)
{
    for (size_t k = 0; k < gr->columns->n_tree; k++) {
        uint32_t f = gr->columns->tree[k];
        for (size_t b = gr->cuts->slot[f]; b < gr->cuts->slot[f + 1]; b++) {
            parent[b].g -= child[b].g;
            parent[b].h -= child[b].h;
        }
    }
}

static void consider(const an_gbt_config *cfg, split *best, double root_gain, uint32_t f,
                     uint32_t bin_limit, float threshold, int default_left, double gl, double hl,
                     double gr_, double hr)
{
    if (!(hl >= cfg->min_child_weight && hr >= cfg->min_child_weight))
        return;
    float chg = (float)(an_gbt_node_gain(cfg, gl, hl) + an_gbt_node_gain(cfg, gr_, hr) - root_gain);
    if (chg > best->loss_chg)
        *best = (split){chg, f, bin_limit, threshold, default_left, gl, hl};
}

/* The best split of a node on these features (ascending). */
static split best_split(const grower *gr, const hist_bin *hist, double G, double H,
                        const uint32_t *features, size_t n_features)
{
    const an_gbt_config *cfg = gr->cfg;
    double root_gain = an_gbt_node_gain(cfg, G, H);
    split best = {0};
    for (size_t k = 0; k < n_features; k++) {
        uint32_t f = features[k];
        size_t off = gr->cuts->offset[f], nb = gr->cuts->offset[f + 1] - off;
        const hist_bin *hb = hist + gr->cuts->slot[f];
        const float *cut = gr->cuts->values + off;
        /* an empty bin is skipped: its split has the sums, so the gain, of
         * the one before it, which a tie does not replace */
        double gl = 0, hl = 0;
        for (size_t b = 0; b < nb; b++) { /* upwards: missing values go right */
            if (hb[b].g == 0 && hb[b].h == 0)
                continue;
            gl += hb[b].g;
            hl += hb[b].h;
            consider(cfg, &best, root_gain, f, (uint32_t)b + 1, cut[b], 0, gl, hl, G - gl, H - hl);
        }
        if (gl == G && hl == H)
            continue; /* no missing value here (XGBoost's test, on the sums) */
        double grr = 0, hrr = 0;
        for (size_t b = nb; b-- > 0;) { /* downwards: missing values go left */
            if (hb[b].g == 0 && hb[b].h == 0)
                continue;
            grr += hb[b].g;
            hrr += hb[b].h;
            float t = b ? cut[b - 1] : gr->cuts->min_value[f];
            consider(cfg, &best, root_gain, f, (uint32_t)b, t, 1, G - grr, H - hrr, grr, hrr);
        }
    }
    return best;
}

/* Stable partition of idx[0, n) by the matrix's column (T its bin type):
 * each row is written to both sides and counted on its own, so that where
 * a row goes is data, not a branch the predictor loses half the time. */
#define PARTITION(T, matrix)                                                              \
    do {                                                                                  \
        const T *column = (const T *)(matrix) + s->feature;                               \
        for (size_t i = 0; i < n; i++) {                                                  \
            uint32_t r = idx[i];                                                          \
            T b = column[(size_t)r * cols];                                               \
            size_t left = b == missing ? (size_t)s->default_left : b < s->bin_limit;      \
            idx[nl] = r;                                                                  \
            tmp[nr] = r;                                                                  \
            nl += left;                                                                   \
            nr += 1 - left;                                                               \
        }                                                                                 \
    } while (0)

/* Stable partition of idx[0, n): left rows first; returns their count. A
 * missing value is the feature's missing slot, its bin count. */
static size_t partition(grower *gr, uint32_t *idx, size_t n, const split *s)
{
    size_t nl = 0, nr = 0, cols = gr->bins->cols;
    size_t missing = gr->cuts->offset[s->feature + 1] - gr->cuts->offset[s->feature];
    uint32_t *tmp = gr->tmp;
    if (gr->bins->u8)
        PARTITION(uint8_t, gr->bins->u8);
    else
        PARTITION(uint16_t, gr->bins->u16);
    memcpy(idx + nl, tmp, nr * sizeof *idx);
    return nl;
}

static anoma_status pool_hist(grower *gr, size_t level, hist_bin **out)
{
    if (level >= gr->n_pool) {
        size_t n = level + 8;
        hist_bin **p = an_realloc_array(gr->pool, n, sizeof *p);
        if (!p)
            return an_no_memory();
        for (size_t i = gr->n_pool; i < n; i++)
            p[i] = NULL;
        gr->pool = p;
        gr->n_pool = n;
    }
    if (!gr->pool[level]) {
        size_t total = gr->cuts->slot[gr->cuts->n_features];
        gr->pool[level] = AN_NEW_ARRAY(hist_bin, total ? total : 1);
        if (!gr->pool[level])
            return an_no_memory();
    }
    *out = gr->pool[level];
    return ANOMA_OK;
}

/* Grow the subtree of the rows idx[0, n), whose histogram is hist, at depth;
 * its root's raw index goes to *id. */
static anoma_status grow(grower *gr, uint32_t *idx, size_t n, hist_bin *hist, double G, double H,
                         size_t depth, uint32_t *id)
{
    const an_gbt_config *cfg = gr->cfg;
    tree_builder *t = gr->tree;
    AN_TRY(builder_add(t, id));
    uint32_t me = *id;
    t->cover[me] = H;
    split s = {0};
    if (depth < cfg->max_depth) {
        const uint32_t *features;
        size_t n_features;
        AN_TRY(an_gbt_colsampler_node(gr->columns, depth, &features, &n_features));
        s = best_split(gr, hist, G, H, features, n_features);
    }
    if (!(s.loss_chg > 1e-6f) || s.loss_chg < cfg->gamma || s.hl == 0 || H - s.hl == 0) {
        double value = gr->leaf_scale * an_gbt_leaf_weight(cfg, G, H);
        t->value[me] = value;
        for (size_t i = 0; i < n; i++)
            gr->margin[idx[i]] += value;
        return ANOMA_OK;
    }
    t->feature[me] = s.feature;
    t->threshold[me] = s.threshold;
    t->default_left[me] = (uint8_t)s.default_left;
    t->gain[me] = s.loss_chg;
    size_t nl = partition(gr, idx, n, &s);
    /* the smaller child from its rows, the larger by subtraction */
    hist_bin *small;
    AN_TRY(pool_hist(gr, depth + 1, &small));
    int left_small = nl <= n - nl;
    if (left_small)
        build_hist(gr, idx, nl, small);
    else
        build_hist(gr, idx + nl, n - nl, small);
    subtract_hist(gr, hist, small);
    hist_bin *lh = left_small ? small : hist, *rh = left_small ? hist : small;
    uint32_t l, r;
    AN_TRY(grow(gr, idx, nl, lh, s.gl, s.hl, depth + 1, &l));
    AN_TRY(grow(gr, idx + nl, n - nl, rh, G - s.gl, H - s.hl, depth + 1, &r));
    t->left[me] = l;
    t->right[me] = r;
    return ANOMA_OK;
}

/* ---- lossguide: the node of largest loss change first ---- */

/* A node that may split (XGBoost's CPUExpandEntry). */
typedef struct candidate {
    split s;
    uint32_t nid;
    size_t depth, begin, n; /* its rows: idx[begin, begin + n) */
    double G, H;
    hist_bin *hist;
} candidate;

/* XGBoost's Driver orders: LossGuide, the larger loss change, then the
 * older node (smaller id); DepthWise, the older node (ids grow level by
 * level, so the shallower first, then the order the level was made). */
static int before(const grower *gr, const candidate *a, const candidate *b)
{
    if (gr->cfg->grow_policy == AN_GBT_LOSSGUIDE && a->s.loss_chg != b->s.loss_chg)
        return a->s.loss_chg > b->s.loss_chg;
    return a->nid < b->nid;
}

static anoma_status heap_push(grower *gr, const candidate *c)
{
    if (gr->n_heap == gr->heap_cap) {
        size_t cap = gr->heap_cap ? 2 * gr->heap_cap : 64;
        candidate *h = an_realloc_array(gr->heap, cap, sizeof *h);
        if (!h)
            return an_no_memory();
        gr->heap = h;
        gr->heap_cap = cap;
    }
    size_t i = gr->n_heap++;
    for (; i > 0 && before(gr, c, &gr->heap[(i - 1) / 2]); i = (i - 1) / 2)
        gr->heap[i] = gr->heap[(i - 1) / 2];
    gr->heap[i] = *c;
    return ANOMA_OK;
}

static candidate heap_pop(grower *gr)
{
    candidate top = gr->heap[0], last = gr->heap[--gr->n_heap];
    size_t i = 0, n = gr->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(gr, &gr->heap[c + 1], &gr->heap[c]))
            c++;
        if (!before(gr, &gr->heap[c], &last))
            break;
        gr->heap[i] = gr->heap[c];
        i = c;
    }
    if (n)
        gr->heap[i] = last;
    return top;
}

/* A free histogram: a spare one, else a new one (the spare list always
 * has room for every histogram, so giving one back cannot fail). */
static anoma_status take_hist(grower *gr, hist_bin **out)
{
    if (gr->n_spare) {
        *out = gr->spare[--gr->n_spare];
        return ANOMA_OK;
    }
    size_t n = gr->n_hists + 1;
    hist_bin **hists = an_realloc_array(gr->hists, n, sizeof *hists);
    if (!hists)
        return an_no_memory();
    gr->hists = hists;
    hist_bin **spare = an_realloc_array(gr->spare, n, sizeof *spare);
    if (!spare)
        return an_no_memory();
    gr->spare = spare;
    size_t total = gr->cuts->slot[gr->cuts->n_features];
    *out = AN_NEW_ARRAY(hist_bin, total ? total : 1);
    if (!*out)
        return an_no_memory();
    gr->hists[gr->n_hists++] = *out;
    return ANOMA_OK;
}

static void give_hist(grower *gr, hist_bin *h)
{
    gr->spare[gr->n_spare++] = h;
}

/* A new node of the tree holding rows idx[begin, begin + n): a leaf
 * until it splits. */
static anoma_status add_node(grower *gr, size_t begin, size_t n, double G, double H, uint32_t *id)
{
    tree_builder *t = gr->tree;
    AN_TRY(builder_add(t, id));
    t->cover[*id] = H;
    t->value[*id] = gr->leaf_scale * an_gbt_leaf_weight(gr->cfg, G, H);
    if (2 * t->n > gr->ranges_cap) {
        size_t cap = 2 * t->cap;
        size_t *r = an_realloc_array(gr->ranges, cap, sizeof *r);
        if (!r)
            return an_no_memory();
        gr->ranges = r;
        gr->ranges_cap = cap;
    }
    gr->ranges[2 * *id] = begin;
    gr->ranges[2 * *id + 1] = n;
    return ANOMA_OK;
}

/* Find c's best split on its node's features and queue c when it gains
 * (XGBoost's Driver::Push); else its histogram is free again. */
static anoma_status enqueue(grower *gr, candidate *c)
{
    const uint32_t *features;
    size_t n_features;
    AN_TRY(an_gbt_colsampler_node(gr->columns, c->depth, &features, &n_features));
    c->s = best_split(gr, c->hist, c->G, c->H, features, n_features);
    if (c->s.loss_chg > 1e-6f)
        return heap_push(gr, c);
    give_hist(gr, c->hist);
    return ANOMA_OK;
}

/* Whether the children of a node at this depth may split, with this many
 * leaves (XGBoost's Driver::IsChildValid). */
static int children_may_split(const an_gbt_config *cfg, size_t depth, size_t leaves)
{
    return !(cfg->max_depth && depth + 1 >= cfg->max_depth) &&
           !(cfg->max_leaves && leaves >= cfg->max_leaves);
}

/* Whether a popped node may split with this many leaves (XGBoost's
 * CPUExpandEntry::IsValid; its loss change already exceeds 1e-6). */
static int may_split(const an_gbt_config *cfg, const candidate *c, size_t leaves)
{
    const split *s = &c->s;
    return !(s->loss_chg < cfg->gamma || s->hl == 0 || c->H - s->hl == 0 ||
             (cfg->max_depth && c->depth >= cfg->max_depth) ||
             (cfg->max_leaves && leaves >= cfg->max_leaves));
}

/* Split node c; its children wait in turn when children_ok (their
 * histograms made, the smaller from its rows, the larger by
 * subtraction, and their best splits found), else c's histogram is free. */
static anoma_status split_node(grower *gr, const candidate *c, int children_ok)
{
    tree_builder *t = gr->tree;
    const split *s = &c->s;
    t->feature[c->nid] = s->feature;
    t->threshold[c->nid] = s->threshold;
    t->default_left[c->nid] = (uint8_t)s->default_left;
    t->gain[c->nid] = s->loss_chg;
    t->value[c->nid] = 0;
    size_t nl = partition(gr, gr->idx + c->begin, c->n, s), nr = c->n - nl;
    uint32_t l, r;
    AN_TRY(add_node(gr, c->begin, nl, s->gl, s->hl, &l));
    AN_TRY(add_node(gr, c->begin + nl, nr, c->G - s->gl, c->H - s->hl, &r));
    t->left[c->nid] = l;
    t->right[c->nid] = r;
    if (!children_ok) {
        give_hist(gr, c->hist);
        return ANOMA_OK;
    }
    hist_bin *small;
    AN_TRY(take_hist(gr, &small));
    int left_small = nl <= nr;
    build_hist(gr, gr->idx + c->begin + (left_small ? 0 : nl), left_small ? nl : nr, small);
    subtract_hist(gr, c->hist, small);
    candidate lc = {.nid = l, .depth = c->depth + 1, .begin = c->begin, .n = nl, .G = s->gl,
                    .H = s->hl, .hist = left_small ? small : c->hist};
    candidate rc = {.nid = r, .depth = c->depth + 1, .begin = c->begin + nl, .n = nr,
                    .G = c->G - s->gl, .H = c->H - s->hl, .hist = left_small ? c->hist : small};
    AN_TRY(enqueue(gr, &lc));
    return enqueue(gr, &rc);
}

/* Nodes of one level XGBoost 1.7's depthwise Driver hands over at most at
 * once (its max_node_batch_size). */
#define LEVEL_BATCH 256

/* Depthwise growth with max_leaves, as XGBoost 1.7's hist updater: its
 * Driver pops the waiting nodes of the shallowest level in the order they
 * were made (at most LEVEL_BATCH that may split), skipping those that may
 * not and counting a leaf for each that may; these split, and a split's
 * children are evaluated only while the tree, counted after the whole
 * batch, is below max_leaves (and they above max_depth). A batch with no
 * node that may split ends the tree. */
static anoma_status expand_levels(grower *gr)
{
    const an_gbt_config *cfg = gr->cfg;
    if (!gr->batch && !(gr->batch = AN_NEW_ARRAY(candidate, LEVEL_BATCH)))
        return an_no_memory();
    size_t leaves = 1;
    while (gr->n_heap) {
        size_t n = 0, depth = gr->heap[0].depth;
        while (gr->n_heap && gr->heap[0].depth == depth && n < LEVEL_BATCH) {
            candidate c = heap_pop(gr);
            if (may_split(cfg, &c, leaves)) {
                leaves++;
                gr->batch[n++] = c;
            } else {
                give_hist(gr, c.hist);
            }
        }
        if (!n)
            break;
        for (size_t k = 0; k < n; k++)
            AN_TRY(split_node(gr, &gr->batch[k], children_may_split(cfg, depth, leaves)));
    }
    while (gr->n_heap) /* left waiting when growth ended */
        give_hist(gr, heap_pop(gr).hist);
    return ANOMA_OK;
}

/* Split the best queued node until none gains or a limit is reached, as
 * XGBoost's hist updater with grow_policy=lossguide: its Driver pops the
 * best candidate and stops at the first one that may not split. */
static anoma_status expand_best(grower *gr)
{
    const an_gbt_config *cfg = gr->cfg;
    size_t leaves = 1;
    while (gr->n_heap) {
        candidate c = heap_pop(gr);
        if (!may_split(cfg, &c, leaves)) {
            give_hist(gr, c.hist);
            break;
        }
        leaves++;
        AN_TRY(split_node(gr, &c, children_may_split(cfg, c.depth, leaves)));
    }
    return ANOMA_OK;
}

/* Grow the tree of all rows, whose histogram is hist, node by node from
 * the queue: lossguide, or depthwise with max_leaves. */
static anoma_status grow_lossguide(grower *gr, hist_bin *hist, double G, double H)
{
    gr->n_heap = 0;
    uint32_t root;
    AN_TRY(add_node(gr, 0, gr->rows, G, H, &root));
    candidate c = {.nid = root, .begin = 0, .n = gr->rows, .G = G, .H = H, .hist = hist};
    anoma_status st = enqueue(gr, &c);
    if (st == ANOMA_OK)
        st = gr->cfg->grow_policy == AN_GBT_LOSSGUIDE ? expand_best(gr) : expand_levels(gr);
    AN_TRY(st);
    const tree_builder *t = gr->tree;
    for (size_t i = 0; i < t->n; i++) /* the leaves' values into their rows' margins */
        if (t->left[i] == AN_GBT_RAW_NONE)
            for (size_t k = gr->ranges[2 * i]; k < gr->ranges[2 * i] + gr->ranges[2 * i + 1]; k++)
                gr->margin[gr->idx[k]] += t->value[i];
    return ANOMA_OK;
}

/* ---- boosting ---- */

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* XGBoost's hessian of the logistic loss, at least 1e-16 (a NaN too, as
 * fmaxf, which is not always inlined, gives). */
static float hessian(float p)
{
    float h = p * (1.0f - p);
    return h > 1e-16f ? h : 1e-16f;
}

static void gradients(const an_gbt_config *cfg, const an_fit_data *data, const double *margin,
                      gpair *gh)
{
    for (size_t r = 0; r < data->rows; r++) {
        float y = data->labels ? (float)data->labels[r] : 0.0f;
        float w = data->weights ? (float)data->weights[r] : 1.0f;
        if (cfg->objective == AN_GBT_LOGISTIC) {
            if (y == 1.0f)
                w *= (float)cfg->scale_pos_weight;
            float p = sigmoid((float)margin[r]);
            gh[r] = (gpair){(p - y) * w, hessian(p) * w};
        } else {
            gh[r] = (gpair){((float)margin[r] - y) * w, w};
        }
    }
}

/* Rows out of the subsample keep a zero gradient and hessian. */
static void subsample_rows(const an_gbt_config *cfg, an_rng *rng, size_t rows, gpair *gh)
{
    if (cfg->subsample >= 1)
        return;
    for (size_t r = 0; r < rows; r++)
        if (!(an_rng_uniform(rng) < cfg->subsample))
            gh[r] = (gpair){0, 0};
}

/* The value of a grown tree's leaf for a row (the raw layout's walk,
 * routing as scoring does). */
static double builder_value(const tree_builder *b, const double *row)
{
    uint32_t i = 0;
    while (b->left[i] != AN_GBT_RAW_NONE) {
        float v = (float)row[b->feature[i]];
        int left = v != v ? b->default_left[i] : v < b->threshold[i];
        i = left ? b->left[i] : b->right[i];
    }
    return b->value[i];
}

/* The evaluation sets: their margins, every metric of every round (the
 * history), and early stopping's best round so far. */
typedef struct watched {
    an_gbt_eval eval;
    const double *x;
    double *margin, *score;
} watched;

typedef struct stopper {
    watched *sets;
    size_t n_sets;
    an_gbt_ranked *order; /* scratch of the largest set's rows */
    double *history;      /* [set][metric][round], n_trees rounds each */
    int64_t best;         /* -1 before the first round, and without early stopping */
    double best_score;
} stopper;

static anoma_status stopper_init(stopper *s, const an_gbt_config *cfg, const an_fit_data *data,
                                 double base_margin)
{
    *s = (stopper){.best = -1};
    if (cfg->early_stopping_rounds && !data->n_eval_sets)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: early_stopping_rounds=%zu needs "
                        "evaluation rows (anoma_model_add_eval_set; Python: eval_set)",
                        cfg->early_stopping_rounds);
    if (!data->n_eval_sets)
        return ANOMA_OK;
    size_t n = data->n_eval_sets, most = 0, n_metrics = cfg->n_eval_metrics;
    for (size_t k = 0; k < n; k++) {
        const an_eval_rows *e = &data->eval_sets[k];
        double pos = 0, neg = 0;
        for (size_t i = 0; i < e->rows; i++)
            *(e->labels[i] ? &pos : &neg) += e->weights ? e->weights[i] : 1;
        for (size_t m = 0; m < n_metrics; m++)
            if ((cfg->eval_metrics[m] == AN_GBT_AUC || cfg->eval_metrics[m] == AN_GBT_AUCPR) &&
                !(pos > 0 && neg > 0))
                return an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: eval_metric %s needs both "
                                "labels (with weight) among the rows of evaluation set %zu",
                                an_gbt_metric_names[cfg->eval_metrics[m]], k);
        most = e->rows > most ? e->rows : most;
    }
    if (cfg->n_trees > SIZE_MAX / sizeof(double) / n / n_metrics)
        return an_no_memory();
    s->sets = AN_NEW_ZEROED(watched, n);
    s->order = AN_NEW_ARRAY(an_gbt_ranked, most);
    s->history = AN_NEW_ARRAY(double, n * n_metrics * cfg->n_trees);
    if (!s->sets || !s->order || !s->history)
        return an_no_memory();
    s->n_sets = n;
    for (size_t k = 0; k < n; k++) {
        const an_eval_rows *e = &data->eval_sets[k];
        watched *w = &s->sets[k];
        w->eval = (an_gbt_eval){e->rows, e->labels, e->weights};
        w->x = e->x;
        w->margin = AN_NEW_ARRAY(double, e->rows);
        w->score = AN_NEW_ARRAY(double, e->rows);
        if (!w->margin || !w->score)
            return an_no_memory();
        for (size_t i = 0; i < e->rows; i++)
            w->margin[i] = base_margin;
    }
    return ANOMA_OK;
}

static void stopper_free(stopper *s)
{
    for (size_t k = 0; s->sets && k < s->n_sets; k++) {
        an_free(s->sets[k].margin);
        an_free(s->sets[k].score);
    }
    an_free(s->sets);
    an_free(s->order);
    an_free(s->history);
}

/* Add the trees of round k to every set's margins and record each metric
 * of the round; 1 when early stopping's metric (the last, on the last
 * set) has not improved for early_stopping_rounds rounds. As XGBoost's
 * EarlyStopping callback: only a strictly better value is an improvement,
 * so the first of equal values stays the best. */
static int stopper_round(stopper *s, const an_gbt_config *cfg, const tree_builder *trees,
                         size_t cols, int64_t k)
{
    size_t n_metrics = cfg->n_eval_metrics;
    double v = 0;
    for (size_t set = 0; set < s->n_sets; set++) {
        watched *w = &s->sets[set];
        for (size_t i = 0; i < w->eval.rows; i++) {
            for (size_t j = 0; j < cfg->num_parallel_tree; j++)
                w->margin[i] += builder_value(&trees[j], w->x + i * cols);
            double m = w->margin[i];
            w->score[i] = cfg->objective == AN_GBT_LOGISTIC ? 1.0 / (1.0 + exp(-m)) : m;
        }
        for (size_t m = 0; m < n_metrics; m++) {
            v = an_gbt_metric_value(cfg->eval_metrics[m], &w->eval, w->score, s->order);
            s->history[(set * n_metrics + m) * cfg->n_trees + (size_t)k] = v;
        }
    }
    if (!cfg->early_stopping_rounds)
        return 0;
    int better = an_gbt_metric_maximized(cfg->eval_metrics[n_metrics - 1]) ? v > s->best_score
                                                                            : v < s->best_score;
    if (s->best < 0 || better) {
        s->best = k;
        s->best_score = v;
    }
    return (size_t)(k - s->best) >= cfg->early_stopping_rounds;
}

/* Move the history of the rounds grown into the forest. */
static anoma_status keep_history(const stopper *s, const an_gbt_config *cfg, size_t grown,
                                 an_gbt_forest *out)
{
    if (!s->n_sets)
        return ANOMA_OK;
    size_t n_series = s->n_sets * cfg->n_eval_metrics;
    out->history = AN_NEW_ARRAY(double, n_series * grown);
    if (!out->history)
        return an_no_memory();
    for (size_t k = 0; k < n_series; k++)
        memcpy(out->history + k * grown, s->history + k * cfg->n_trees, grown * sizeof(double));
    out->n_eval_sets = s->n_sets;
    out->n_metrics = cfg->n_eval_metrics;
    memcpy(out->metrics, cfg->eval_metrics, cfg->n_eval_metrics * sizeof *out->metrics);
    return ANOMA_OK;
}

typedef struct trainer {
    an_gbt_cuts cuts;
    an_gbt_bins bins;
    gpair *round_gh; /* the round's gradients, before each tree's subsample */
    gpair *gh;
    double *margin;
    uint32_t *idx, *tmp;
    an_gbt_colsampler columns;
    tree_builder *trees;
    an_gbt_raw_tree *raw;
    grower gr;
} trainer;

static void trainer_free(trainer *t, size_t n_trees)
{
    an_gbt_cuts_free(&t->cuts);
    an_gbt_bins_free(&t->bins);
    an_free(t->round_gh);
    an_free(t->gh);
    an_free(t->margin);
    an_free(t->idx);
    an_free(t->tmp);
    an_gbt_colsampler_free(&t->columns);
    for (size_t i = 0; t->trees && i < n_trees; i++)
        builder_free(&t->trees[i]);
    an_free(t->trees);
    an_free(t->raw);
    for (size_t i = 0; i < t->gr.n_pool; i++)
        an_free(t->gr.pool[i]);
    an_free(t->gr.pool);
    for (size_t i = 0; i < t->gr.n_hists; i++)
        an_free(t->gr.hists[i]);
    an_free(t->gr.hists);
    an_free(t->gr.spare);
    an_free(t->gr.heap);
    an_free(t->gr.batch);
    an_free(t->gr.ranges);
}

/* Tree k (forest-wide) from the round's gradients; its draws come from
 * stream k of the seed. */
static anoma_status grow_tree(const an_gbt_config *cfg, const an_fit_data *data, trainer *t,
                              size_t k)
{
    size_t rows = data->rows;
    memcpy(t->gh, t->round_gh, rows * sizeof *t->gh);
    an_rng rng;
    an_rng_init(&rng, cfg->seed, k);
    subsample_rows(cfg, &rng, rows, t->gh);
    an_gbt_colsampler_tree(&t->columns, &rng);
    t->gr.tree = &t->trees[k];
    double G = 0, H = 0;
    for (size_t r = 0; r < rows; r++) {
        t->idx[r] = (uint32_t)r;
        G += t->gh[r].g;
        H += t->gh[r].h;
    }
    hist_bin *hist;
    if (cfg->grow_policy == AN_GBT_LOSSGUIDE || cfg->max_leaves) {
        /* every histogram is free at a tree's start */
        for (size_t i = 0; i < t->gr.n_hists; i++) /* (none yet: spare and hists NULL) */
            t->gr.spare[i] = t->gr.hists[i];
        t->gr.n_spare = t->gr.n_hists;
        AN_TRY(take_hist(&t->gr, &hist));
        build_hist(&t->gr, t->idx, rows, hist);
        return grow_lossguide(&t->gr, hist, G, H);
    }
    AN_TRY(pool_hist(&t->gr, 0, &hist));
    build_hist(&t->gr, t->idx, rows, hist);
    uint32_t root;
    return grow(&t->gr, t->idx, rows, hist, G, H, 0, &root);
}

/* Round `round`: num_parallel_tree trees from the gradients at the margins
 * before it (the trees add to the margins as they grow). */
static anoma_status grow_round(const an_gbt_config *cfg, const an_fit_data *data, trainer *t,
                               size_t round)
{
    gradients(cfg, data, t->margin, t->round_gh);
    for (size_t j = 0; j < cfg->num_parallel_tree; j++)
        AN_TRY(grow_tree(cfg, data, t, round * cfg->num_parallel_tree + j));
    return ANOMA_OK;
}

anoma_status an_gbt_train(const an_gbt_config *cfg, const an_fit_data *data, an_gbt_forest *out)
{
    *out = (an_gbt_forest){0};
    size_t rows = data->rows, cols = data->cols;
    if (!data->labels)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: fit needs labels");
    if (rows == 0 || rows > UINT32_MAX)
        return an_error(ANOMA_ERR_SHAPE, "gbt: %zu rows (expected 1 to %u)", rows, UINT32_MAX);
    if (cols > AN_GBT_MAX_FEATURES)
        return an_error(ANOMA_ERR_SHAPE, "gbt: %zu features (at most %zu)", cols,
                        AN_GBT_MAX_FEATURES);
    double base_margin;
    AN_TRY(an_gbt_base_margin(cfg->objective, cfg->base_score, &base_margin));
    size_t per_round = cfg->num_parallel_tree, n_trees = cfg->n_trees * per_round;
    trainer t = {0};
    anoma_status st = an_gbt_cuts_make(data->x, rows, cols, data->weights, cfg->max_bin,
                                       data->n_threads, &t.cuts, &t.bins);
    if (st != ANOMA_OK)
        return st;
    t.round_gh = AN_NEW_ARRAY(gpair, rows);
    t.gh = AN_NEW_ARRAY(gpair, rows);
    t.margin = AN_NEW_ARRAY(double, rows);
    t.idx = AN_NEW_ARRAY(uint32_t, rows);
    t.tmp = AN_NEW_ARRAY(uint32_t, rows);
    st = an_gbt_colsampler_init(&t.columns, cfg, cols);
    t.trees = AN_NEW_ZEROED(tree_builder, n_trees);
    t.raw = AN_NEW_ZEROED(an_gbt_raw_tree, n_trees);
    if (!t.round_gh || !t.gh || !t.margin || !t.idx || !t.tmp ||
        st != ANOMA_OK || !t.trees || !t.raw) {
        trainer_free(&t, n_trees);
        return an_no_memory();
    }
    for (size_t r = 0; r < rows; r++)
        t.margin[r] = base_margin;
    t.gr = (grower){.cfg = cfg, .cuts = &t.cuts, .bins = &t.bins, .rows = rows, .gh = t.gh,
                    .columns = &t.columns, .idx = t.idx, .tmp = t.tmp,
                    .n_threads = data->n_threads, .margin = t.margin,
                    .leaf_scale = cfg->eta / (double)per_round};
    stopper stop;
    st = stopper_init(&stop, cfg, data, base_margin);
    size_t grown = 0;
    for (int done = 0; grown < cfg->n_trees && st == ANOMA_OK && !done;) {
        st = grow_round(cfg, data, &t, grown);
        if (st != ANOMA_OK)
            break;
        grown++;
        if (stop.n_sets)
            done = stopper_round(&stop, cfg, &t.trees[(grown - 1) * per_round], cols,
                                 (int64_t)grown - 1);
        st = an_progress_report(data->progress, ANOMA_STAGE_FIT, grown, cfg->n_trees,
                                "gbt: boosting rounds");
    }
    if (st == ANOMA_OK) {
        /* early stopping keeps the trees up to the best round, as
         * XGBClassifier.predict uses them */
        size_t kept = (stop.best >= 0 ? (size_t)stop.best + 1 : grown) * per_round;
        for (size_t k = 0; k < kept; k++) {
            tree_builder *b = &t.trees[k];
            t.raw[k] = (an_gbt_raw_tree){b->n, b->left, b->right, b->feature, b->threshold,
                                         b->default_left, b->value, b->gain, b->cover};
        }
        an_gbt_raw raw = {t.raw, kept, cols, cfg->objective, cfg->base_score, per_round};
        st = an_gbt_build(&raw, out);
        if (st == ANOMA_OK) {
            out->best_iteration = stop.best;
            out->rounds = grown;
            out->metric = stop.best >= 0 ? cfg->eval_metrics[cfg->n_eval_metrics - 1]
                                         : AN_GBT_METRIC_AUTO;
            out->best_score = stop.best_score;
            st = keep_history(&stop, cfg, grown, out);
            if (st != ANOMA_OK)
                an_gbt_forest_free(out);
        }
    }
    stopper_free(&stop);
    trainer_free(&t, n_trees);
    return st;
}

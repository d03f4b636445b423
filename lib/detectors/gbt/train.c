/* Boosting: XGBoost 1.7's hist method, depthwise.
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
    const uint16_t *bins; /* cols x rows */
    size_t rows;
    const float *g, *h;
    const uint32_t *features; /* the tree's sampled features, ascending */
    size_t n_features;
    uint32_t *idx, *tmp; /* rows, partitioned by node */
    hist_bin **pool;     /* one histogram per depth level, made on first use */
    size_t n_pool;
    size_t n_threads;
    tree_builder *tree;
    double *margin; /* rows: updated at the leaves */
} grower;

typedef struct hist_job {
    const grower *gr;
    const uint32_t *idx;
    size_t n;
    hist_bin *hist;
} hist_job;

static void hist_features(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    const hist_job *job = ctx;
    const grower *gr = job->gr;
    for (size_t k = begin; k < end; k++) {
        uint32_t f = gr->features[k];
        size_t off = gr->cuts->offset[f], nb = gr->cuts->offset[f + 1] - off;
        hist_bin *hist = job->hist + off;
        memset(hist, 0, nb * sizeof *hist);
        const uint16_t *bins = gr->bins + (size_t)f * gr->rows;
        for (size_t i = 0; i < job->n; i++) {
            uint32_t r = job->idx[i];
            uint16_t b = bins[r];
            if (b != AN_GBT_MISSING_BIN) {
                hist[b].g += gr->g[r];
                hist[b].h += gr->h[r];
            }
        }
    }
}

static void build_hist(const grower *gr, const uint32_t *idx, size_t n, hist_bin *hist)
{
    hist_job job = {gr, idx, n, hist};
    size_t threads = n * gr->n_features < PARALLEL_CELLS ? 1 : gr->n_threads;
    an_parallel_for(gr->n_features, threads, 1, hist_features, &job);
}

static void subtract_hist(const grower *gr, hist_bin *parent, const hist_bin *child)
{
    for (size_t k = 0; k < gr->n_features; k++) {
        uint32_t f = gr->features[k];
        for (size_t b = gr->cuts->offset[f]; b < gr->cuts->offset[f + 1]; b++) {
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

static split best_split(const grower *gr, const hist_bin *hist, double G, double H)
{
    const an_gbt_config *cfg = gr->cfg;
    double root_gain = an_gbt_node_gain(cfg, G, H);
    split best = {0};
    for (size_t k = 0; k < gr->n_features; k++) {
        uint32_t f = gr->features[k];
        size_t off = gr->cuts->offset[f], nb = gr->cuts->offset[f + 1] - off;
        const hist_bin *hb = hist + off;
        const float *cut = gr->cuts->values + off;
        double gl = 0, hl = 0;
        for (size_t b = 0; b < nb; b++) { /* upwards: missing values go right */
            gl += hb[b].g;
            hl += hb[b].h;
            consider(cfg, &best, root_gain, f, (uint32_t)b + 1, cut[b], 0, gl, hl, G - gl, H - hl);
        }
        if (gl == G && hl == H)
            continue; /* no missing value here (XGBoost's test, on the sums) */
        double grr = 0, hrr = 0;
        for (size_t b = nb; b-- > 0;) { /* downwards: missing values go left */
            grr += hb[b].g;
            hrr += hb[b].h;
            float t = b ? cut[b - 1] : gr->cuts->min_value[f];
            consider(cfg, &best, root_gain, f, (uint32_t)b, t, 1, G - grr, H - hrr, grr, hrr);
        }
    }
    return best;
}

static int goes_left(const grower *gr, const split *s, uint32_t r)
{
    uint16_t b = gr->bins[(size_t)s->feature * gr->rows + r];
    return b == AN_GBT_MISSING_BIN ? s->default_left : b < s->bin_limit;
}

/* Stable partition of idx[0, n): left rows first; returns their count. */
static size_t partition(grower *gr, uint32_t *idx, size_t n, const split *s)
{
    size_t nl = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t r = idx[i];
        if (goes_left(gr, s, r))
            idx[nl++] = r;
        else
            gr->tmp[nr++] = r;
    }
    memcpy(idx + nl, gr->tmp, nr * sizeof *idx);
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
        size_t total = gr->cuts->offset[gr->cuts->n_features];
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
    if (depth < cfg->max_depth)
        s = best_split(gr, hist, G, H);
    if (!(s.loss_chg > 1e-6f) || s.loss_chg < cfg->gamma || s.hl == 0 || H - s.hl == 0) {
        double value = cfg->eta * an_gbt_leaf_weight(cfg, G, H);
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

/* ---- boosting ---- */

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static void gradients(const an_gbt_config *cfg, const an_fit_data *data, const double *margin,
                      float *g, float *h)
{
    for (size_t r = 0; r < data->rows; r++) {
        float y = data->labels ? (float)data->labels[r] : 0.0f;
        float w = data->weights ? (float)data->weights[r] : 1.0f;
        if (cfg->objective == AN_GBT_LOGISTIC) {
            if (y == 1.0f)
                w *= (float)cfg->scale_pos_weight;
            float p = sigmoid((float)margin[r]);
            g[r] = (p - y) * w;
            h[r] = fmaxf(p * (1.0f - p), 1e-16f) * w;
        } else {
            g[r] = ((float)margin[r] - y) * w;
            h[r] = w;
        }
    }
}

/* Rows out of the subsample keep a zero gradient and hessian. */
static void subsample_rows(const an_gbt_config *cfg, an_rng *rng, size_t rows, float *g, float *h)
{
    if (cfg->subsample >= 1)
        return;
    for (size_t r = 0; r < rows; r++)
        if (!(an_rng_uniform(rng) < cfg->subsample))
            g[r] = h[r] = 0;
}

static int by_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* max(1, floor(colsample_bytree * cols)) features drawn without
 * replacement, ascending. */
static size_t sample_features(const an_gbt_config *cfg, an_rng *rng, size_t cols, uint32_t *out)
{
    for (size_t f = 0; f < cols; f++)
        out[f] = (uint32_t)f;
    size_t n = (size_t)(cfg->colsample_bytree * (double)cols);
    if (n < 1)
        n = 1;
    if (n >= cols)
        return cols;
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)an_rng_below(rng, cols - i);
        uint32_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
    qsort(out, n, sizeof *out, by_u32);
    return n;
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

/* Early stopping: the evaluation rows' margins, and the best round so far. */
typedef struct stopper {
    an_gbt_metric metric;
    an_gbt_eval eval;
    const double *x;
    double *margin, *score;
    an_gbt_ranked *order;
    int64_t best; /* -1 before the first round */
    double best_score;
} stopper;

static anoma_status stopper_init(stopper *s, const an_gbt_config *cfg, const an_fit_data *data,
                                 double base_margin)
{
    *s = (stopper){.best = -1};
    if (!cfg->early_stopping_rounds)
        return ANOMA_OK;
    if (!data->eval_rows)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: early_stopping_rounds=%zu needs "
                        "evaluation rows (anoma_model_set_eval_set; Python: eval_set)",
                        cfg->early_stopping_rounds);
    s->metric = cfg->eval_metric != AN_GBT_METRIC_AUTO ? cfg->eval_metric
                : cfg->objective == AN_GBT_LOGISTIC  ? AN_GBT_LOGLOSS
                                                      : AN_GBT_RMSE;
    s->eval = (an_gbt_eval){data->eval_rows, data->eval_labels, data->eval_weights};
    if (s->metric == AN_GBT_AUC || s->metric == AN_GBT_AUCPR) {
        double pos = 0, neg = 0;
        for (size_t i = 0; i < data->eval_rows; i++) {
            double w = data->eval_weights ? data->eval_weights[i] : 1;
            *(data->eval_labels[i] ? &pos : &neg) += w;
        }
        if (!(pos > 0 && neg > 0))
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: eval_metric=%s needs both labels "
                            "(with weight) among the evaluation rows",
                            an_gbt_metric_names[s->metric]);
    }
    s->x = data->eval_x;
    s->margin = AN_NEW_ARRAY(double, data->eval_rows);
    s->score = AN_NEW_ARRAY(double, data->eval_rows);
    s->order = AN_NEW_ARRAY(an_gbt_ranked, data->eval_rows);
    if (!s->margin || !s->score || !s->order)
        return an_no_memory();
    for (size_t i = 0; i < data->eval_rows; i++)
        s->margin[i] = base_margin;
    return ANOMA_OK;
}

static void stopper_free(stopper *s)
{
    an_free(s->margin);
    an_free(s->score);
    an_free(s->order);
}

/* Add tree k to the evaluation margins and score round k; 1 when the
 * metric has not improved for early_stopping_rounds rounds. As XGBoost's
 * EarlyStopping callback: only a strictly better value is an improvement,
 * so the first of equal values stays the best. */
static int stopper_round(stopper *s, const an_gbt_config *cfg, const tree_builder *tree,
                         size_t cols, int64_t k)
{
    for (size_t i = 0; i < s->eval.rows; i++) {
        s->margin[i] += builder_value(tree, s->x + i * cols);
        double m = s->margin[i];
        s->score[i] = cfg->objective == AN_GBT_LOGISTIC ? 1.0 / (1.0 + exp(-m)) : m;
    }
    double v = an_gbt_metric_value(s->metric, &s->eval, s->score, s->order);
    int better = an_gbt_metric_maximized(s->metric) ? v > s->best_score : v < s->best_score;
    if (s->best < 0 || better) {
        s->best = k;
        s->best_score = v;
    }
    return (size_t)(k - s->best) >= cfg->early_stopping_rounds;
}

typedef struct trainer {
    an_gbt_cuts cuts;
    uint16_t *bins;
    float *g, *h;
    double *margin;
    uint32_t *idx, *tmp, *features;
    tree_builder *trees;
    an_gbt_raw_tree *raw;
    grower gr;
} trainer;

static void trainer_free(trainer *t, size_t n_trees)
{
    an_gbt_cuts_free(&t->cuts);
    an_free(t->bins);
    an_free(t->g);
    an_free(t->h);
    an_free(t->margin);
    an_free(t->idx);
    an_free(t->tmp);
    an_free(t->features);
    for (size_t i = 0; t->trees && i < n_trees; i++)
        builder_free(&t->trees[i]);
    an_free(t->trees);
    an_free(t->raw);
    for (size_t i = 0; i < t->gr.n_pool; i++)
        an_free(t->gr.pool[i]);
    an_free(t->gr.pool);
}

static anoma_status grow_tree(const an_gbt_config *cfg, const an_fit_data *data, trainer *t,
                              size_t k)
{
    size_t rows = data->rows;
    gradients(cfg, data, t->margin, t->g, t->h);
    an_rng rng;
    an_rng_init(&rng, cfg->seed, k);
    subsample_rows(cfg, &rng, rows, t->g, t->h);
    t->gr.n_features = sample_features(cfg, &rng, data->cols, t->features);
    t->gr.tree = &t->trees[k];
    double G = 0, H = 0;
    for (size_t r = 0; r < rows; r++) {
        t->idx[r] = (uint32_t)r;
        G += t->g[r];
        H += t->h[r];
    }
    hist_bin *hist;
    AN_TRY(pool_hist(&t->gr, 0, &hist));
    build_hist(&t->gr, t->idx, rows, hist);
    uint32_t root;
    return grow(&t->gr, t->idx, rows, hist, G, H, 0, &root);
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
    trainer t = {0};
    anoma_status st = an_gbt_cuts_make(data->x, rows, cols, data->weights, cfg->max_bin,
                                       data->n_threads, &t.cuts, &t.bins);
    if (st != ANOMA_OK)
        return st;
    t.g = AN_NEW_ARRAY(float, rows);
    t.h = AN_NEW_ARRAY(float, rows);
    t.margin = AN_NEW_ARRAY(double, rows);
    t.idx = AN_NEW_ARRAY(uint32_t, rows);
    t.tmp = AN_NEW_ARRAY(uint32_t, rows);
    t.features = AN_NEW_ARRAY(uint32_t, cols);
    t.trees = AN_NEW_ZEROED(tree_builder, cfg->n_trees);
    t.raw = AN_NEW_ZEROED(an_gbt_raw_tree, cfg->n_trees);
    if (!t.g || !t.h || !t.margin || !t.idx || !t.tmp || !t.features || !t.trees || !t.raw) {
        trainer_free(&t, cfg->n_trees);
        return an_no_memory();
    }
    for (size_t r = 0; r < rows; r++)
        t.margin[r] = base_margin;
    t.gr = (grower){cfg, &t.cuts, t.bins, rows, t.g, t.h, t.features, cols, t.idx, t.tmp,
                    NULL, 0, data->n_threads, NULL, t.margin};
    stopper stop;
    st = stopper_init(&stop, cfg, data, base_margin);
    size_t grown = 0;
    for (int done = 0; grown < cfg->n_trees && st == ANOMA_OK && !done;) {
        st = grow_tree(cfg, data, &t, grown);
        if (st != ANOMA_OK)
            break;
        grown++;
        if (cfg->early_stopping_rounds)
            done = stopper_round(&stop, cfg, &t.trees[grown - 1], cols, (int64_t)grown - 1);
        st = an_progress_report(data->progress, ANOMA_STAGE_FIT, grown, cfg->n_trees,
                                "gbt: boosting rounds");
    }
    if (st == ANOMA_OK) {
        /* early stopping keeps the trees up to the best round, as
         * XGBClassifier.predict uses them */
        size_t kept = stop.best >= 0 ? (size_t)stop.best + 1 : grown;
        for (size_t k = 0; k < kept; k++) {
            tree_builder *b = &t.trees[k];
            t.raw[k] = (an_gbt_raw_tree){b->n, b->left, b->right, b->feature, b->threshold,
                                         b->default_left, b->value, b->gain, b->cover};
        }
        an_gbt_raw raw = {t.raw, kept, cols, cfg->objective, cfg->base_score};
        st = an_gbt_build(&raw, out);
        out->best_iteration = stop.best;
        out->rounds = grown;
        out->metric = stop.metric;
        out->best_score = stop.best_score;
    }
    stopper_free(&stop);
    trainer_free(&t, cfg->n_trees);
    return st;
}

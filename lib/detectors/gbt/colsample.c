/* Column sampling by tree, by level and by node, as XGBoost 1.7's
 * ColumnSampler: the samples nest. Each tree draws
 * max(1, floor(colsample_bytree x cols)) features; each depth of the tree
 * draws, the first time a node of that depth looks for a split,
 * max(1, floor(colsample_bylevel x n)) of the tree's n; each node draws
 * max(1, floor(colsample_bynode x m)) of its level's m. A share of 1
 * draws nothing and keeps the whole set. Draws are without replacement
 * and a set is kept ascending, so a split on a tie still prefers the
 * lower feature.
 *
 * The draws come from the tree's own generator, made by the calling
 * thread in the order the grower visits nodes: one seed gives one forest
 * whatever the thread count. They cannot be XGBoost's (another
 * generator), only distributed as its are. */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static int by_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A share of the n features of `from` into out, ascending; returns how
 * many. The count is floor(share x n) as XGBoost computes it (float32),
 * at least 1. */
static size_t draw(double share, an_rng *rng, const uint32_t *from, size_t n, uint32_t *out)
{
    memcpy(out, from, n * sizeof *out);
    if (share >= 1)
        return n;
    size_t k = (size_t)((float)share * (float)n);
    if (k < 1)
        k = 1;
    if (k >= n)
        return n;
    for (size_t i = 0; i < k; i++) { /* the first k of a Fisher-Yates shuffle */
        size_t j = i + (size_t)an_rng_below(rng, n - i);
        uint32_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
    qsort(out, k, sizeof *out, by_u32);
    return k;
}

anoma_status an_gbt_colsampler_init(an_gbt_colsampler *s, const an_gbt_config *cfg, size_t cols)
{
    *s = (an_gbt_colsampler){.bytree = cfg->colsample_bytree, .bylevel = cfg->colsample_bylevel,
                             .bynode = cfg->colsample_bynode, .cols = cols};
    s->all = AN_NEW_ARRAY(uint32_t, cols ? cols : 1);
    s->tree = AN_NEW_ARRAY(uint32_t, cols ? cols : 1);
    s->node = AN_NEW_ARRAY(uint32_t, cols ? cols : 1);
    if (!s->all || !s->tree || !s->node) {
        an_gbt_colsampler_free(s);
        return an_no_memory();
    }
    for (size_t f = 0; f < cols; f++)
        s->all[f] = (uint32_t)f;
    return ANOMA_OK;
}

void an_gbt_colsampler_free(an_gbt_colsampler *s)
{
    an_free(s->all);
    an_free(s->tree);
    an_free(s->node);
    an_free(s->levels);
    an_free(s->level_n);
    *s = (an_gbt_colsampler){0};
}

void an_gbt_colsampler_tree(an_gbt_colsampler *s, an_rng *rng)
{
    s->rng = rng;
    s->n_tree = draw(s->bytree, rng, s->all, s->cols, s->tree);
    for (size_t d = 0; d < s->n_levels; d++)
        s->level_n[d] = 0; /* not drawn yet in this tree */
}

/* Depth d's set, drawn on first use; NULL when out of memory. */
static const uint32_t *level(an_gbt_colsampler *s, size_t d, size_t *n)
{
    if (d >= s->n_levels) {
        size_t cap = d + 8;
        uint32_t *levels = an_realloc_array(s->levels, cap * (s->cols ? s->cols : 1),
                                            sizeof *levels);
        if (!levels)
            return NULL;
        s->levels = levels;
        size_t *level_n = an_realloc_array(s->level_n, cap, sizeof *level_n);
        if (!level_n)
            return NULL;
        s->level_n = level_n;
        for (size_t i = s->n_levels; i < cap; i++)
            level_n[i] = 0;
        s->n_levels = cap;
    }
    uint32_t *set = s->levels + d * s->cols;
    if (!s->level_n[d])
        s->level_n[d] = draw(s->bylevel, s->rng, s->tree, s->n_tree, set);
    *n = s->level_n[d];
    return set;
}

anoma_status an_gbt_colsampler_node(an_gbt_colsampler *s, size_t depth,
                                    const uint32_t **features, size_t *n)
{
    if (s->bylevel >= 1 && s->bynode >= 1) {
        *features = s->tree;
        *n = s->n_tree;
        return ANOMA_OK;
    }
    size_t m;
    const uint32_t *set = level(s, depth, &m);
    if (!set)
        return an_no_memory();
    if (s->bynode >= 1) {
        *features = set;
        *n = m;
        return ANOMA_OK;
    }
    *n = draw(s->bynode, s->rng, set, m, s->node);
    *features = s->node;
    return ANOMA_OK;
}

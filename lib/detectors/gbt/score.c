/* Scoring: margin = base margin + the sum of the row's leaf values over the
 * trees, in tree order; score = 1 / (1 + exp(-margin)) for binary:logistic,
 * the margin for reg:squarederror.
 *
 * Two layouts, the same answers. A forest at most AN_GBT_COMPLETE_DEPTH
 * deep is scored in the complete layout: the trees go in groups of LANES,
 * each tree padded to its group's depth D (the group's deepest leaf: a
 * group of stumps is walked in one step) as a complete binary tree of
 * 8-byte tests (node i's children at 2i + 1 and 2i + 2, so a step is index
 * arithmetic and no child is stored), then its 2^D leaf values. A leaf
 * above depth D becomes tests that always go right and its value sits in
 * the rightmost leaf below it. A walk is exactly D steps.
 *
 * A test compares integers: a float32 x maps to a key, its bits with the
 * sign bit flipped when x >= 0 and all bits flipped when x < 0 (after -0
 * becomes +0, which compares equal to it), so that x < y exactly when
 * key(x) < key(y) as unsigned integers. A row is first converted to keys
 * twice over: where a missing value is the largest key (below no
 * threshold: it goes right) and where it is 0 (below every threshold,
 * whose keys are at least key(-inf) > 0: it goes left). A test reads the
 * copy that sends a missing value its split's default way (feature j's
 * value, or value n_features + j for a default-left split), so a step is
 * one unsigned comparison, whose carry gives the child: 2i + 2 - (v <
 * key), with no branch (whether a value is below a threshold is a coin
 * toss the branch predictor loses half the time). A test that always goes
 * right has key 0. The keys of LANES rows are stored interleaved, value j
 * of row k at j LANES + k, and a test holds its value's index times LANES,
 * so that each of LANES rows walking a tree in lock step reads its value
 * at a constant offset from the first row's, whatever the row's width (a
 * single row is lane 0 of such a block).
 *
 * Shallow trees are not walked in a batch: every test of a tree at most
 * SHALLOW deep (FLAT_DEPTH with AVX-512) is compared for LANES rows at once
 * and the leaf chosen by masks (see shallow_block below). With AVX2 or
 * AVX-512 a deeper tree's top TOP levels are compared the same way, which
 * gives each row its node at depth TOP, and the row's walk starts there
 * (top_levels); with AVX-512 a batch's keys are made LANES rows at a time.
 *
 * Deeper forests are walked over their nodes (an_gbt_step) from the rows
 * as they are, a leaf a fixed point of the step.
 *
 * Independent walks go in lock step so that their chains of loads overlap
 * (the isolation forest's reasoning, lib/detectors/iforest/score.c): in
 * the complete layout a single row walks two groups of LANES trees side by
 * side, as far as the shallower goes, and a batch goes in blocks of rows,
 * two neighbouring trees at a time (whose tests are contiguous, so one
 * pointer reaches both), LANES rows walking each; over nodes, LANES trees
 * or rows. Blocks are split across threads. (16 walks is what fits in the registers; AVX2
 * gathers measured 2.5 times slower than these scalar steps.) With AVX-512
 * a single row instead steps two groups as the 16 lanes of a vector, its
 * keys in registers (row_margin_of). A row's leaf
 * values are added in tree order on every route, so batch and single-row
 * scores are the same bits. Scoring allocates only a batch's per-thread
 * blocks of converted rows. */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <string.h>

/* Walks in lock step, and rows per block. */
#define LANES AN_GBT_LANES
#define BLOCK 64

/* ---- the complete layout ---- */

/* x's key (x not NaN): x < y exactly when key(x) < key(y). */
static inline uint32_t key_of(float x)
{
    x += 0.0f; /* -0 as +0 */
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits & 0x80000000u ? ~bits : bits | 0x80000000u;
}

/* Tests and leaves in a group of depth D. */
static inline size_t inner_of(size_t depth)
{
    return ((size_t)1 << depth) - 1;
}

/* Place the subtree of node at position at (depth deep) of a tree of the
 * given full depth whose tests and leaves start there. */
static void place(const an_gbt_forest *f, size_t full, an_gbt_test *tests, double *leaves,
                  uint32_t node, size_t at, size_t depth)
{
    an_gbt_node n = f->nodes[node];
    if (n.info & AN_GBT_LEAF) { /* the tests below stay key 0: always right */
        for (; depth < full; depth++)
            at = 2 * at + 2;
        leaves[at - inner_of(full)] = f->leaf[node];
        return;
    }
    uint32_t feature = n.info & AN_GBT_FEATURE_MASK;
    if (n.info & AN_GBT_DEFAULT_LEFT)
        feature += (uint32_t)f->n_features;
    tests[at] = (an_gbt_test){key_of(n.threshold), feature * (uint32_t)LANES};
    place(f, full, tests, leaves, n.left, 2 * at + 1, depth + 1);
    place(f, full, tests, leaves, n.left + 1, 2 * at + 2, depth + 1);
}

anoma_status an_gbt_layout(an_gbt_forest *f)
{
    /* a test's value index is at most (2 n_features - 1) LANES */
    if (f->max_depth > AN_GBT_COMPLETE_DEPTH || f->n_features > UINT32_MAX / (2 * LANES))
        return ANOMA_OK;
    size_t n_groups = (f->n_trees + LANES - 1) / LANES, tests = 0, leaves = 0;
    f->groups = AN_NEW_ARRAY(an_gbt_group, n_groups + 1);
    if (!f->groups)
        return an_no_memory();
    for (size_t g = 0; g <= n_groups; g++) {
        size_t depth = 1; /* a walk takes a first step */
        for (size_t t = g * LANES; t < f->n_trees && t < (g + 1) * LANES; t++)
            depth = f->depths[t] > depth ? f->depths[t] : depth;
        f->groups[g] = (an_gbt_group){g < n_groups ? depth : 0, tests, leaves};
        tests += inner_of(depth) * LANES;
        leaves += (inner_of(depth) + 1) * LANES;
    }
    tests = f->groups[n_groups].tests;
    leaves = f->groups[n_groups].leaves;
    f->tests = AN_NEW_ZEROED(an_gbt_test, tests + 1);
    f->leaves = AN_NEW_ZEROED(double, leaves + 1);
    f->top = AN_NEW_ZEROED(uint32_t, (n_groups + 1) / 2 * AN_GBT_ROW_TOP_BLOCK + 1);
    if (!f->tests || !f->leaves || !f->top) {
        an_free(f->groups);
        an_free(f->tests);
        an_free(f->leaves);
        an_free(f->top);
        f->groups = NULL;
        f->tests = NULL;
        f->leaves = NULL;
        f->top = NULL;
        return an_no_memory();
    }
    for (size_t t = 0; t < f->n_trees; t++) {
        const an_gbt_group *g = &f->groups[t / LANES];
        size_t inner = inner_of(g->depth), l = t % LANES;
        place(f, g->depth, f->tests + g->tests + l * inner,
              f->leaves + g->leaves + l * (inner + 1), f->roots[t], 0, 0);
        /* the top tests (a group of fewer levels has no top: its pair
         * is walked) */
        uint32_t *top = f->top + t / (2 * LANES) * AN_GBT_ROW_TOP_BLOCK + t % (2 * LANES);
        for (size_t p = 0; p < AN_GBT_ROW_TOP_TESTS && p < inner; p++) {
            an_gbt_test n = f->tests[g->tests + l * inner + p];
            top[p * 2 * LANES] = n.key;
            top[(AN_GBT_ROW_TOP_TESTS + p) * 2 * LANES] = n.value / LANES; /* dense */
        }
    }
    return ANOMA_OK;
}

/* The row's n values as keys, twice over (see the top of the file), as
 * lane 0 of a block of LANES rows: value j at k[j LANES], value n + j at
 * k[(n + j) LANES]. */
static void two_copies(const double *row, size_t n, uint32_t *k)
{
    for (size_t j = 0; j < n; j++) {
        float x = (float)row[j];
        int missing = x != x;
        uint32_t key = missing ? 0 : key_of(x);
        k[j * LANES] = missing ? UINT32_MAX : key;
        k[(n + j) * LANES] = key;
    }
}

/* A step from node at on a test reading value v: node 2 at + 1 (left, v
 * below the test's key) or 2 at + 2. */
static inline size_t step(size_t at, an_gbt_test n, uint32_t v)
{
    return 2 * at + 2 - (v < n.key);
}

/* One row (its two copies v) `depth` steps through two groups of that
 * depth. Inlined once per depth: tree l's tests are then a constant offset
 * from its group's first, and the steps unrolled. */
static inline void walk_groups(const an_gbt_test *tests, const an_gbt_test *tests2, size_t depth,
                               const uint32_t *v, size_t *at, size_t *at2)
{
    size_t inner = inner_of(depth);
    for (size_t l = 0; l < LANES; l++)
        at[l] = at2[l] = 0;
    for (size_t d = 0; d < depth; d++)
        for (size_t l = 0; l < LANES; l++) {
            an_gbt_test n = tests[l * inner + at[l]], n2 = tests2[l * inner + at2[l]];
            at[l] = step(at[l], n, v[n.value]);
            at2[l] = step(at2[l], n2, v[n2.value]);
        }
}

/* One row (its two copies v) through every tree, two groups of LANES
 * trees side by side (a single row has no other independent walks) as far
 * as the shallower goes, then the deeper alone. */
static double complete_margin(const an_gbt_forest *f, const uint32_t *v)
{
    size_t n_groups = (f->n_trees + LANES - 1) / LANES;
    double sum = f->base_margin;
    for (size_t g = 0; g < n_groups; g += 2) {
        /* a last single group walks beside itself */
        const an_gbt_group *a = &f->groups[g], *b = g + 1 < n_groups ? a + 1 : a;
        size_t inner = inner_of(a->depth), inner2 = inner_of(b->depth);
        size_t common = a->depth < b->depth ? a->depth : b->depth;
        const an_gbt_test *tests = f->tests + a->tests, *tests2 = f->tests + b->tests;
        const an_gbt_test *tree[LANES], *tree2[LANES];
        size_t at[LANES], at2[LANES];
        for (size_t l = 0; l < LANES; l++) {
            tree[l] = tests + l * inner;
            tree2[l] = tests2 + l * inner2;
        }
        switch (a->depth == b->depth ? a->depth : 0) {
        case 1: walk_groups(tests, tests2, 1, v, at, at2); break;
        case 2: walk_groups(tests, tests2, 2, v, at, at2); break;
        case 3: walk_groups(tests, tests2, 3, v, at, at2); break;
        case 4: walk_groups(tests, tests2, 4, v, at, at2); break;
        case 5: walk_groups(tests, tests2, 5, v, at, at2); break;
        case 6: walk_groups(tests, tests2, 6, v, at, at2); break;
        case 7: walk_groups(tests, tests2, 7, v, at, at2); break;
        case 8: walk_groups(tests, tests2, 8, v, at, at2); break;
        default:
            for (size_t l = 0; l < LANES; l++)
                at[l] = at2[l] = 0;
            for (size_t d = 0; d < common; d++)
                for (size_t l = 0; l < LANES; l++) {
                    an_gbt_test n = tree[l][at[l]], n2 = tree2[l][at2[l]];
                    at[l] = step(at[l], n, v[n.value]);
                    at2[l] = step(at2[l], n2, v[n2.value]);
                }
        }
        for (size_t d = common; d < a->depth; d++)
            for (size_t l = 0; l < LANES; l++) {
                an_gbt_test n = tree[l][at[l]];
                at[l] = step(at[l], n, v[n.value]);
            }
        for (size_t d = common; d < b->depth; d++)
            for (size_t l = 0; l < LANES; l++) {
                an_gbt_test n2 = tree2[l][at2[l]];
                at2[l] = step(at2[l], n2, v[n2.value]);
            }
        /* a walk ends past its tree's tests, at inner + its leaf */
        const double *leaf = f->leaves + a->leaves, *leaf2 = f->leaves + b->leaves;
        size_t t = g * LANES, lanes = f->n_trees - t < 2 * LANES ? f->n_trees - t : 2 * LANES;
        for (size_t l = 0; l < lanes && l < LANES; l++)
            sum += leaf[l * (inner + 1) + at[l] - inner];
        for (size_t l = LANES; l < lanes; l++)
            sum += leaf2[(l - LANES) * (inner2 + 1) + at2[l - LANES] - inner2];
    }
    return sum;
}

/* ---- shallow trees: every test at once ---- */

/* A tree at most SHALLOW deep is not walked: each of its 2^d - 1 tests is
 * compared for LANES rows at once (a test reads the same value index for
 * every row, LANES keys side by side), and the leaf is chosen from the
 * comparisons by bit masks. Its tests' keys and leaves are read from the
 * complete layout: the tree's nodes down to its own depth d sit where a
 * tree of depth d has them, node p at depth d's leaf (p + 2) 2^(D - d) - 2
 * in a group of depth D. */
#define SHALLOW 2

typedef struct shallow_tree {
    size_t depth;        /* 1 or 2 */
    an_gbt_test test[3]; /* nodes 0 (and 1, 2) */
    double leaf[4];      /* the leaves, left to right: 2 for a stump */
} shallow_tree;

static shallow_tree shallow_of(const an_gbt_forest *f, size_t t)
{
    const an_gbt_group *g = &f->groups[t / LANES];
    size_t inner = inner_of(g->depth), l = t % LANES;
    const an_gbt_test *tests = f->tests + g->tests + l * inner;
    const double *leaf = f->leaves + g->leaves + l * (inner + 1);
    shallow_tree s = {f->depths[t] > 1 ? 2 : 1, {tests[0]}, {0}};
    size_t shift = g->depth - s.depth, first = inner_of(s.depth);
    for (size_t k = 0; k < first; k++)
        s.test[k] = tests[k];
    for (size_t p = first; p <= 2 * first; p++)
        s.leaf[p - first] = leaf[((p + 2) << shift) - 2 - inner];
    return s;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* 1 bits where the 4 keys at x are below the test's (a left turn): signed
 * comparison of the keys with their top bit flipped. */
static inline __m128i below(const uint32_t *x, __m128i key)
{
    __m128i flip = _mm_set1_epi32(INT32_MIN);
    return _mm_cmplt_epi32(_mm_xor_si128(_mm_loadu_si128((const __m128i *)x), flip), key);
}

static inline __m128i key_vector(an_gbt_test t)
{
    return _mm_set1_epi32((int32_t)(t.key ^ 0x80000000u));
}

/* mask ? a : b, bit for bit (a select, not arithmetic: the leaf values
 * keep their bits). */
static inline __m128d pick(__m128i mask, __m128d a, __m128d b)
{
    return _mm_xor_pd(b, _mm_and_pd(_mm_castsi128_pd(mask), _mm_xor_pd(a, b)));
}

/* The LANES rows' 32-bit masks m (4 rows each) as 64-bit masks of rows
 * 2h, 2h + 1. */
static inline __m128i half(__m128i m, int h)
{
    return h ? _mm_unpackhi_epi32(m, m) : _mm_unpacklo_epi32(m, m);
}

/* Add tree s's leaf to the sums of the LANES rows whose keys are rows. */
static inline void shallow_lanes(const shallow_tree *s, const uint32_t *rows, double *sum)
{
    __m128i m0[2], m1[2], m2[2];
    for (int q = 0; q < 2; q++)
        m0[q] = below(rows + s->test[0].value + 4 * q, key_vector(s->test[0]));
    if (s->depth == 1) {
        __m128d left = _mm_set1_pd(s->leaf[0]), right = _mm_set1_pd(s->leaf[1]);
        for (int q = 0; q < 4; q++) {
            __m128d leaf = pick(half(m0[q / 2], q % 2), left, right);
            _mm_storeu_pd(sum + 2 * q, _mm_add_pd(_mm_loadu_pd(sum + 2 * q), leaf));
        }
        return;
    }
    for (int q = 0; q < 2; q++) {
        m1[q] = below(rows + s->test[1].value + 4 * q, key_vector(s->test[1]));
        m2[q] = below(rows + s->test[2].value + 4 * q, key_vector(s->test[2]));
    }
    __m128d l0 = _mm_set1_pd(s->leaf[0]), l1 = _mm_set1_pd(s->leaf[1]);
    __m128d l2 = _mm_set1_pd(s->leaf[2]), l3 = _mm_set1_pd(s->leaf[3]);
    for (int q = 0; q < 4; q++) {
        __m128d a = pick(half(m1[q / 2], q % 2), l0, l1);
        __m128d b = pick(half(m2[q / 2], q % 2), l2, l3);
        __m128d leaf = pick(half(m0[q / 2], q % 2), a, b);
        _mm_storeu_pd(sum + 2 * q, _mm_add_pd(_mm_loadu_pd(sum + 2 * q), leaf));
    }
}
#else
static inline void shallow_lanes(const shallow_tree *s, const uint32_t *rows, double *sum)
{
    for (size_t k = 0; k < LANES; k++) {
        size_t at = step(0, s->test[0], rows[s->test[0].value + k]);
        if (s->depth == 2)
            at = step(at, s->test[at], rows[s->test[at].value + k]);
        sum[k] += s->leaf[at - inner_of(s->depth)];
    }
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FLAT_AVX512 1
/* With AVX-512 a comparison of LANES keys gives a mask register and a
 * select of LANES doubles is one instruction, so trees up to FLAT_DEPTH
 * deep take fewer instructions compared all at once than walked. */
#define FLAT_DEPTH 5

/* Trees [t, end), each at most FLAT_DEPTH deep: the row groups' masks of
 * every test, then the leaves chosen level by level from the bottom up
 * (node p's value: its left child's where the mask is set, else its right
 * child's). */
__attribute__((target("avx512f,avx512vl"))) static void
flat_block_avx512(const an_gbt_forest *f, size_t t, size_t end, const uint32_t *v, size_t width,
                  size_t n, double *sum)
{
    for (; t < end; t++) {
        const an_gbt_group *g = &f->groups[t / LANES];
        size_t inner = inner_of(g->depth), l = t % LANES;
        const an_gbt_test *tests = f->tests + g->tests + l * inner;
        const double *leaf = f->leaves + g->leaves + l * (inner + 1);
        size_t depth = f->depths[t] ? f->depths[t] : 1, shift = g->depth - depth;
        size_t bottom = inner_of(depth - 1); /* the first node of the last level of tests */
        for (size_t i = 0; i < n; i += LANES) {
            const uint32_t *rows = v + i / LANES * width;
            __m512d value[1 << (FLAT_DEPTH - 1)];
            for (size_t p = bottom; p < 2 * bottom + 1; p++) {
                __mmask8 left = _mm256_cmplt_epu32_mask(
                    _mm256_loadu_si256((const __m256i *)(rows + tests[p].value)),
                    _mm256_set1_epi32((int32_t)tests[p].key));
                value[p - bottom] =
                    _mm512_mask_blend_pd(left, _mm512_set1_pd(leaf[((2 * p + 4) << shift) - 2 - inner]),
                                         _mm512_set1_pd(leaf[((2 * p + 3) << shift) - 2 - inner]));
            }
            for (size_t first = bottom; first; ) {
                first = (first - 1) / 2; /* the level above */
                for (size_t p = first; p < 2 * first + 1; p++) {
                    __mmask8 left = _mm256_cmplt_epu32_mask(
                        _mm256_loadu_si256((const __m256i *)(rows + tests[p].value)),
                        _mm256_set1_epi32((int32_t)tests[p].key));
                    size_t j = p - first;
                    value[j] = _mm512_mask_blend_pd(left, value[2 * j + 1], value[2 * j]);
                }
            }
            _mm512_storeu_pd(sum + i, _mm512_add_pd(_mm512_loadu_pd(sum + i), value[0]));
        }
    }
}

int an_gbt_vector(void)
{
    __builtin_cpu_init(); /* a caller may be a constructor that runs before libgcc's */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
        return AN_GBT_AVX512;
    return __builtin_cpu_supports("avx2") ? AN_GBT_AVX2 : AN_GBT_SSE2;
}
#else
#define FLAT_AVX512 0
#define FLAT_DEPTH SHALLOW
int an_gbt_vector(void) { return AN_GBT_SSE2; }
#endif

#if FLAT_AVX512
/* The keys of LANES rows from x (cols values each) as two_copies makes
 * them, LANES rows' value j at once: the rows' doubles gathered, rounded
 * to float32 (as the scalar conversion rounds), then each key computed as
 * key_of does, and the missing values set in each copy. */
__attribute__((target("avx512f,avx512vl"))) static void
two_copies_avx512(const double *x, size_t cols, uint32_t *k)
{
    long long c = (long long)cols; /* row k's values at x + k cols */
    __m512i row = _mm512_set_epi64(7 * c, 6 * c, 5 * c, 4 * c, 3 * c, 2 * c, c, 0);
    __m256i top = _mm256_set1_epi32(INT32_MIN);
    for (size_t j = 0; j < cols; j++) {
        __m256 value = _mm256_add_ps(_mm512_cvtpd_ps(_mm512_i64gather_pd(row, x + j, 8)),
                                     _mm256_setzero_ps()); /* -0 as +0 */
        __mmask8 missing = _mm256_cmp_ps_mask(value, value, _CMP_UNORD_Q);
        __m256i bits = _mm256_castps_si256(value);
        /* negative: all bits flipped; else the sign bit set */
        __m256i key = _mm256_xor_si256(bits, _mm256_or_si256(_mm256_srai_epi32(bits, 31), top));
        _mm256_storeu_si256((__m256i *)(k + j * LANES),
                            _mm256_mask_mov_epi32(key, missing, _mm256_set1_epi32(-1)));
        _mm256_storeu_si256((__m256i *)(k + (cols + j) * LANES),
                            _mm256_maskz_mov_epi32((__mmask8)~missing, key));
    }
}
#endif

/* ---- a single row with AVX-512: 16 trees at once ---- */

#if FLAT_AVX512
#define ROW_TOP 3 /* levels of the top tests, AN_GBT_ROW_TOP_TESTS */

/* The row's values at the 16 indices of index (into the dense copies k,
 * whose first 16 r values are in the r registers at keys): with r 2, 4
 * or 8, from the registers (a permute picks from 32 values; bits 5 and 6
 * of the index choose among pairs of registers), else gathered. */
__attribute__((target("avx512f,avx512vl"), always_inline)) static inline __m512i
row_values(const __m512i *keys, size_t r, const uint32_t *k, __m512i index)
{
    if (r == 0)
        return _mm512_i32gather_epi32(index, k, 4);
    __m512i x = _mm512_permutex2var_epi32(keys[0], index, keys[1]);
    if (r == 2)
        return x;
    __mmask16 high = _mm512_test_epi32_mask(index, _mm512_set1_epi32(32));
    x = _mm512_mask_blend_epi32(high, x, _mm512_permutex2var_epi32(keys[2], index, keys[3]));
    if (r == 4)
        return x;
    __m512i y = _mm512_permutex2var_epi32(keys[4], index, keys[5]);
    y = _mm512_mask_blend_epi32(high, y, _mm512_permutex2var_epi32(keys[6], index, keys[7]));
    return _mm512_mask_blend_epi32(_mm512_test_epi32_mask(index, _mm512_set1_epi32(64)), x, y);
}

/* The 16 trees' nodes at depth ROW_TOP (lane l: tree l of a pair's first
 * group, LANES + l of its second), from the pair's top tests at top: each
 * of the AN_GBT_ROW_TOP_TESTS tests compared for the 16 trees at once
 * (their keys and value indices side by side), then the path read from
 * the comparisons: a lane's node at depth 3 is 7 + 4 r0 + 2 r1 + r2,
 * where r_d is 1 when its test at depth d goes right. No load waits for
 * another's: the chain of a walk's first ROW_TOP steps is gone. */
__attribute__((target("avx512f,avx512vl"), always_inline)) static inline __m512i
row_top_levels(const uint32_t *top, const __m512i *keys, size_t r, const uint32_t *k)
{
    __mmask16 left[AN_GBT_ROW_TOP_TESTS];
    for (size_t p = 0; p < AN_GBT_ROW_TOP_TESTS; p++) {
        __m512i key = _mm512_loadu_si512(top + p * 2 * LANES);
        __m512i index = _mm512_loadu_si512(top + (AN_GBT_ROW_TOP_TESTS + p) * 2 * LANES);
        left[p] = _mm512_cmplt_epu32_mask(row_values(keys, r, k, index), key);
    }
    __mmask16 turn0 = left[0];                                /* at node 0 */
    __mmask16 turn1 = (turn0 & left[1]) | (~turn0 & left[2]); /* at node 1 or 2 */
    __mmask16 turn2 = (turn0 & turn1 & left[3]) | (turn0 & ~turn1 & left[4]) |
                      (~turn0 & turn1 & left[5]) | (~turn0 & ~turn1 & left[6]);
    __m512i at = _mm512_set1_epi32(7);
    at = _mm512_mask_add_epi32(at, (__mmask16)~turn0, at, _mm512_set1_epi32(4));
    at = _mm512_mask_add_epi32(at, (__mmask16)~turn1, at, _mm512_set1_epi32(2));
    return _mm512_mask_add_epi32(at, (__mmask16)~turn2, at, _mm512_set1_epi32(1));
}

/* sum + the 8 values of x, one at a time in order (a double's sum
 * depends on the order: tree order keeps the bits). */
__attribute__((target("avx512f,avx512vl"), always_inline)) static inline __m128d
add_in_order(__m128d sum, __m512d x)
{
    __m128d q[4] = {_mm512_castpd512_pd128(x),
                    _mm_castps_pd(_mm512_extractf32x4_ps(_mm512_castpd_ps(x), 1)),
                    _mm_castps_pd(_mm512_extractf32x4_ps(_mm512_castpd_ps(x), 2)),
                    _mm_castps_pd(_mm512_extractf32x4_ps(_mm512_castpd_ps(x), 3))};
    for (int i = 0; i < 4; i++) {
        sum = _mm_add_sd(sum, q[i]);
        sum = _mm_add_sd(sum, _mm_unpackhi_pd(q[i], q[i]));
    }
    return sum;
}

/* Pairs of groups stepped level by level together (row_margin_of): a
 * step's gathers wait some 20 cycles, which another pair's step fills. */
#define ROW_PAIRS 4

/* One row through every tree, two groups of LANES trees as the 16 lanes
 * of a vector (lane l: tree l of the first group, LANES + l of the
 * second; a last single group beside itself): the top levels of a pair at
 * least ROW_TOP deep compared at once (row_top_levels), then a step for
 * every lane at a time, each lane's test at its node gathered, the row's
 * values it reads taken from the registers (row_values), one compare, the
 * lanes moved to their children; a lane of the shallower group stops at
 * its depth, where its leaf is. ROW_PAIRS pairs step side by side. The
 * leaves are gathered and added in tree order. k: the row's two copies,
 * dense (value j at k[j]), padded to r registers; inlined once per r. */
__attribute__((target("avx512f,avx512vl"), always_inline)) static inline double
row_margin_of(const an_gbt_forest *f, const uint32_t *k, size_t r)
{
    __m512i keys[8];
    for (size_t i = 0; i < r; i++)
        keys[i] = _mm512_loadu_si512(k + 16 * i);
    const __m512i lane = _mm512_set_epi32(7, 6, 5, 4, 3, 2, 1, 0, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2);
    size_t n_groups = (f->n_trees + LANES - 1) / LANES;
    __m128d sum = _mm_set_sd(f->base_margin);
    for (size_t first = 0; first < n_groups; first += 2 * ROW_PAIRS) {
        size_t pairs = (n_groups - first + 1) / 2, deepest = 0;
        pairs = pairs < ROW_PAIRS ? pairs : ROW_PAIRS;
        __m512i at[ROW_PAIRS], tree[ROW_PAIRS], leaf[ROW_PAIRS];
        const an_gbt_test *tests[ROW_PAIRS];
        const double *leaves[ROW_PAIRS];
        size_t from[ROW_PAIRS], depth[ROW_PAIRS], depth2[ROW_PAIRS];
        for (size_t c = 0; c < pairs; c++) {
            size_t g = first + 2 * c;
            const an_gbt_group *a = &f->groups[g], *b = g + 1 < n_groups ? a + 1 : a;
            int inner = (int)inner_of(a->depth), inner2 = (int)inner_of(b->depth);
            tests[c] = f->tests + a->tests;
            leaves[c] = f->leaves + a->leaves;
            /* lane l's tree: its tests from tests + tree[l], its leaf i
             * at leaves + leaf[l] + inner + i */
            tree[c] = _mm512_mask_blend_epi32(
                0xFF00, _mm512_mullo_epi32(lane, _mm512_set1_epi32(inner)),
                _mm512_add_epi32(_mm512_mullo_epi32(lane, _mm512_set1_epi32(inner2)),
                                 _mm512_set1_epi32((int)(b->tests - a->tests))));
            leaf[c] = _mm512_mask_blend_epi32(
                0xFF00, _mm512_sub_epi32(_mm512_mullo_epi32(lane, _mm512_set1_epi32(inner + 1)),
                                         _mm512_set1_epi32(inner)),
                _mm512_add_epi32(
                    _mm512_sub_epi32(_mm512_mullo_epi32(lane, _mm512_set1_epi32(inner2 + 1)),
                                     _mm512_set1_epi32(inner2)),
                    _mm512_set1_epi32((int)(b->leaves - a->leaves))));
            depth[c] = a->depth;
            depth2[c] = b->depth;
            deepest = a->depth > deepest ? a->depth : deepest;
            deepest = b->depth > deepest ? b->depth : deepest;
            from[c] = 0;
            at[c] = _mm512_setzero_si512();
            if (a->depth >= ROW_TOP && b->depth >= ROW_TOP) {
                at[c] = row_top_levels(f->top + g / 2 * AN_GBT_ROW_TOP_BLOCK, keys, r, k);
                from[c] = ROW_TOP;
            }
        }
        for (size_t d = 0; d < deepest; d++)
            for (size_t c = 0; c < pairs; c++) {
                /* a stopped lane is at its leaf, past its tree's tests:
                 * no test is read for it */
                __mmask16 active = (__mmask16)((d < depth[c] ? 0x00FF : 0) |
                                               (d < depth2[c] ? 0xFF00 : 0));
                if (d < from[c] || !active)
                    continue;
                __m512i node = _mm512_add_epi32(tree[c], at[c]), none = _mm512_setzero_si512();
                __m512i lo = _mm512_mask_i32gather_epi64(none, (__mmask8)active,
                                                         _mm512_castsi512_si256(node), tests[c], 8);
                __m512i hi = _mm512_mask_i32gather_epi64(
                    none, (__mmask8)(active >> 8), _mm512_extracti64x4_epi64(node, 1), tests[c], 8);
                __m512i key = _mm512_permutex2var_epi32(lo, even, hi);
                __m512i index = _mm512_srli_epi32(_mm512_permutex2var_epi32(lo, odd, hi), 3);
                __mmask16 left = _mm512_cmplt_epu32_mask(row_values(keys, r, k, index), key);
                __m512i next = _mm512_add_epi32(_mm512_add_epi32(at[c], at[c]), two);
                at[c] = _mm512_mask_mov_epi32(at[c], active,
                                              _mm512_mask_sub_epi32(next, left, next, one));
            }
        for (size_t c = 0; c < pairs; c++) {
            __m512i where = _mm512_add_epi32(leaf[c], at[c]);
            __m512d x = _mm512_i32gather_pd(_mm512_castsi512_si256(where), leaves[c], 8);
            __m512d y = _mm512_i32gather_pd(_mm512_extracti64x4_epi64(where, 1), leaves[c], 8);
            size_t lanes = f->n_trees - (first + 2 * c) * LANES;
            if (lanes >= 2 * LANES) {
                sum = add_in_order(add_in_order(sum, x), y);
            } else {
                double value[2 * LANES];
                _mm512_storeu_pd(value, x);
                _mm512_storeu_pd(value + LANES, y);
                for (size_t l = 0; l < lanes; l++)
                    sum = _mm_add_sd(sum, _mm_set_sd(value[l]));
            }
        }
    }
    return _mm_cvtsd_f64(sum);
}

/* The row's n values as keys, twice over as two_copies makes them, but
 * dense (value j at k[j], value n + j at k[n + j]), 8 values at a time,
 * then zeros to `length`. */
__attribute__((target("avx512f,avx512vl"))) static void
dense_copies_avx512(const double *row, size_t n, uint32_t *k, size_t length)
{
    for (size_t j = 0; j < length; j += 16)
        _mm512_storeu_si512(k + j, _mm512_setzero_si512());
    __m256i top = _mm256_set1_epi32(INT32_MIN);
    for (size_t j = 0; j < n; j += 8) {
        __mmask8 in = (__mmask8)(n - j >= 8 ? 0xFF : (1u << (n - j)) - 1);
        __m256 value = _mm256_add_ps(_mm512_cvtpd_ps(_mm512_maskz_loadu_pd(in, row + j)),
                                     _mm256_setzero_ps()); /* -0 as +0 */
        __mmask8 missing = _mm256_cmp_ps_mask(value, value, _CMP_UNORD_Q);
        __m256i bits = _mm256_castps_si256(value);
        /* negative: all bits flipped; else the sign bit set */
        __m256i key = _mm256_xor_si256(bits, _mm256_or_si256(_mm256_srai_epi32(bits, 31), top));
        _mm256_mask_storeu_epi32(k + j, in, _mm256_mask_mov_epi32(key, missing, _mm256_set1_epi32(-1)));
        _mm256_mask_storeu_epi32(k + n + j, in, _mm256_maskz_mov_epi32((__mmask8)~missing, key));
    }
}

/* The dense copies' values in registers (16 a register, padded): 2, 4, 8,
 * or 0 (gathered). */
static size_t row_registers(size_t n_values)
{
    return n_values <= 32 ? 2 : n_values <= 64 ? 4 : n_values <= 128 ? 8 : 0;
}

/* One row's margin with AVX-512 (row_margin_of); k as there. */
__attribute__((target("avx512f,avx512vl"))) static double
row_margin_avx512(const an_gbt_forest *f, const uint32_t *k)
{
    switch (row_registers(2 * f->n_features)) {
    case 2: return row_margin_of(f, k, 2);
    case 4: return row_margin_of(f, k, 4);
    case 8: return row_margin_of(f, k, 8);
    default: return row_margin_of(f, k, 0);
    }
}
#endif

/* ---- deeper trees: the top levels at once, then a walk ---- */

/* With AVX2 or AVX-512, a tree deeper than the all-at-once limit has its
 * top TOP levels (2^TOP - 1 tests) compared for LANES rows at once, as a
 * shallow tree's tests are: test p's comparison sets bit p of each row's
 * code, and the row's path through the top levels is read from its code,
 * a level at a time for all LANES rows (node p's left turn is bit p),
 * which gives each row its node at depth TOP; its walk goes on from
 * there. These few vector operations, shared by the rows, replace TOP
 * steps of each row's walk. */
#define TOP 3

#if FLAT_AVX512 /* x86-64 with GCC's target attributes: AVX2 as well */
/* code with bit set where the LANES keys at x are below key. */
__attribute__((target("avx512f,avx512vl"))) static inline __m256i
left_bit_avx512(__m256i code, const uint32_t *x, uint32_t key, __m256i bit)
{
    __mmask8 left = _mm256_cmplt_epu32_mask(_mm256_loadu_si256((const __m256i *)x),
                                            _mm256_set1_epi32((int32_t)key));
    return _mm256_mask_or_epi32(code, left, code, bit);
}

/* The same with AVX2, whose comparisons are signed: both sides' top bits
 * flipped. */
__attribute__((target("avx2"))) static inline __m256i
left_bit_avx2(__m256i code, const uint32_t *x, uint32_t key, __m256i bit)
{
    __m256i value = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)x),
                                     _mm256_set1_epi32(INT32_MIN));
    __m256i left = _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(key ^ 0x80000000u)), value);
    return _mm256_or_si256(code, _mm256_and_si256(left, bit));
}

/* The nodes at depth TOP of the block's rows (v as complete_block keeps
 * it), in groups of LANES, in a pair of trees whose tests start at tests
 * (the second's inner after the first's): at[2 g LANES + k] for row k of
 * group g in the first tree, at[(2 g + 1) LANES + k] in the second, as
 * indices into tests. Inlined into each instruction set's caller. */
__attribute__((target("avx2"), always_inline)) static inline void
top_levels(const an_gbt_test *tests, size_t inner, const uint32_t *v, size_t width, size_t n,
           uint32_t *at, __m256i (*left_bit)(__m256i, const uint32_t *, uint32_t, __m256i))
{
    __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2);
    for (size_t i = 0; i < n; i += LANES) {
        const uint32_t *rows = v + i / LANES * width;
        for (size_t tree = 0; tree < 2; tree++) {
            const an_gbt_test *test = tests + tree * inner;
            __m256i code = _mm256_setzero_si256(), node = _mm256_setzero_si256();
            for (size_t p = 0; p < inner_of(TOP); p++)
                code = left_bit(code, rows + test[p].value, test[p].key,
                                _mm256_slli_epi32(one, (int)p));
            for (size_t d = 0; d < TOP; d++) { /* node p to 2 p + 2 - (bit p of the code) */
                __m256i left = _mm256_and_si256(_mm256_srlv_epi32(code, node), one);
                node = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(node, node), two), left);
            }
            node = _mm256_add_epi32(node, _mm256_set1_epi32((int32_t)(tree * inner)));
            _mm256_storeu_si256((__m256i *)(at + (i / LANES * 2 + tree) * LANES), node);
        }
    }
}

__attribute__((target("avx512f,avx512vl"))) static void
top_levels_avx512(const an_gbt_test *tests, size_t inner, const uint32_t *v, size_t width,
                  size_t n, uint32_t *at)
{
    top_levels(tests, inner, v, width, n, at, left_bit_avx512);
}

__attribute__((target("avx2"))) static void
top_levels_avx2(const an_gbt_test *tests, size_t inner, const uint32_t *v, size_t width,
                size_t n, uint32_t *at)
{
    top_levels(tests, inner, v, width, n, at, left_bit_avx2);
}
#endif

/* Trees t and t + 1 (a pair of the same group) over the block's rows in
 * groups of LANES, 2 LANES walks in lock step (v as complete_block keeps
 * it; sum has whole groups). */
static void walk_pair(const an_gbt_forest *f, size_t t, const uint32_t *v, size_t width,
                      size_t n, double *sum, int vector)
{
    const an_gbt_group *g = &f->groups[t / LANES];
    size_t inner = inner_of(g->depth), l = t % LANES;
    /* the pair's tests: the second tree's node i at inner + i (a last
     * odd tree walks its padding lane) */
    const an_gbt_test *tests = f->tests + g->tests + l * inner;
    const double *leaf = f->leaves + g->leaves + l * (inner + 1);
    /* the pair walks as deep as its deeper tree goes, to node p at
     * that depth; below p every test goes right, to the group's
     * depth, where the leaf is: node (p + 2) 2^shift - 2 */
    size_t depth = t + 1 < f->n_trees && f->depths[t + 1] > f->depths[t] ? f->depths[t + 1]
                                                                          : f->depths[t];
    depth = depth ? depth : 1;
    size_t shift = g->depth - depth, top = 0;
    uint32_t start[2 * BLOCK]; /* each row's node in the first and the second tree */
#if FLAT_AVX512
    if (vector >= AN_GBT_AVX2 && depth >= TOP) {
        if (vector == AN_GBT_AVX512)
            top_levels_avx512(tests, inner, v, width, n, start);
        else
            top_levels_avx2(tests, inner, v, width, n, start);
        top = TOP;
    }
#else
    (void)vector;
#endif
    for (size_t i = 0; i < n; i += LANES) {
        const uint32_t *rows = v + i / LANES * width;
        const uint32_t *from = start + i / LANES * 2 * LANES;
        size_t at[LANES], at2[LANES];
        for (size_t k = 0; k < LANES; k++) {
            at[k] = top ? from[k] : 0;
            at2[k] = top ? from[LANES + k] : inner;
        }
        for (size_t d = top; d < depth; d++)
            for (size_t k = 0; k < LANES; k++) {
                an_gbt_test a = tests[at[k]], b = tests[at2[k]];
                at[k] = step(at[k], a, rows[a.value + k]);
                at2[k] = step(at2[k], b, rows[b.value + k]) - inner;
            }
        /* the leaves: inner + leaf index for the first tree, 2 inner +
         * leaf index for the second (a whole group of lanes in a loop
         * of constant length, whose walks stay in registers) */
        size_t lanes = n - i < LANES ? n - i : LANES;
        if (lanes == LANES && t + 1 < f->n_trees)
            for (size_t k = 0; k < LANES; k++) {
                sum[i + k] += leaf[((at[k] + 2) << shift) - 2 - inner];
                sum[i + k] += leaf[((at2[k] - inner + 2) << shift) - 1];
            }
        else
            for (size_t k = 0; k < lanes; k++) {
                sum[i + k] += leaf[((at[k] + 2) << shift) - 2 - inner];
                if (t + 1 < f->n_trees)
                    sum[i + k] += leaf[((at2[k] - inner + 2) << shift) - 1];
            }
    }
}

/* Trees [t, end), each at most SHALLOW deep, over the block's rows in
 * groups of LANES (v as complete_block keeps it; sum has whole groups). */
static void shallow_block(const an_gbt_forest *f, size_t t, size_t end, const uint32_t *v,
                          size_t width, size_t n, double *sum)
{
    for (; t < end; t++) {
        shallow_tree s = shallow_of(f, t);
        for (size_t i = 0; i < n; i += LANES)
            shallow_lanes(&s, v + i / LANES * width, sum + i);
    }
}

/* Rows [begin, begin + n) (n at most BLOCK) through every tree: their
 * keys first, in groups of LANES rows (v holds BLOCK rows), then two
 * neighbouring trees at a time, LANES rows walking each. */
static void complete_block(const an_gbt_forest *f, const double *x, size_t begin, size_t n,
                           uint32_t *v, double *sum, int vector)
{
    size_t cols = f->n_features, width = 2 * cols * LANES; /* keys of LANES rows */
    size_t i = 0;
#if FLAT_AVX512
    if (vector == AN_GBT_AVX512)
        for (; i + LANES <= n; i += LANES)
            two_copies_avx512(x + (begin + i) * cols, cols, v + i / LANES * width);
#endif
    for (; i < n; i++)
        two_copies(x + (begin + i) * cols, cols, v + i / LANES * width + i % LANES);
    for (i = 0; i < n; i++)
        sum[i] = f->base_margin;
    for (size_t i = n; i % LANES; i++) { /* a short block's last lanes: any keys */
        for (size_t j = 0; j < 2 * cols; j++)
            v[i / LANES * width + j * LANES + i % LANES] = 0;
        sum[i] = 0;
    }
    for (size_t t = 0, next; t < f->n_trees; t = next) {
        next = t + 2;
        /* a run of pairs of shallow trees (the pairs stay those of the
         * walk below, in one group) */
        size_t end = t, flat = vector == AN_GBT_AVX512 ? FLAT_DEPTH : SHALLOW;
        while (end < f->n_trees && f->depths[end] <= flat &&
               (end + 1 == f->n_trees || f->depths[end + 1] <= flat))
            end += 2;
        if (end > t) {
            next = end < f->n_trees ? end : f->n_trees;
#if FLAT_AVX512
            if (vector == AN_GBT_AVX512) {
                flat_block_avx512(f, t, next, v, width, n, sum);
                continue;
            }
#endif
            shallow_block(f, t, next, v, width, n, sum);
            continue;
        }
        walk_pair(f, t, v, width, n, sum, vector);
    }
}

/* ---- the node layout (deeper forests) ---- */

/* One row walks LANES trees side by side, as many steps as the deepest of
 * them (a leaf stays put), then adds their leaves in tree order. */
static double node_margin(const an_gbt_forest *f, const double *row)
{
    double sum = f->base_margin;
    for (size_t t = 0; t < f->n_trees; t += LANES) {
        size_t lanes = f->n_trees - t < LANES ? f->n_trees - t : LANES;
        uint32_t at[LANES], depth = 0;
        for (size_t l = 0; l < lanes; l++) {
            at[l] = f->roots[t + l];
            depth = f->depths[t + l] > depth ? f->depths[t + l] : depth;
        }
        for (uint32_t d = 0; d < depth; d++)
            for (size_t l = 0; l < lanes; l++)
                at[l] = an_gbt_step(f->nodes, at[l], row);
        for (size_t l = 0; l < lanes; l++)
            sum += f->leaf[at[l]];
    }
    return sum;
}

/* Rows [begin, begin + n) (n at most BLOCK) through every tree. */
static void node_block(const an_gbt_forest *f, const double *x, size_t begin, size_t n,
                       double *sum)
{
    size_t cols = f->n_features;
    for (size_t i = 0; i < n; i++)
        sum[i] = f->base_margin;
    for (size_t t = 0; t < f->n_trees; t++) {
        uint32_t root = f->roots[t], depth = f->depths[t];
        for (size_t i = 0; i < n; i += LANES) {
            size_t lanes = n - i < LANES ? n - i : LANES;
            uint32_t at[LANES];
            const double *row[LANES];
            for (size_t l = 0; l < lanes; l++) {
                at[l] = root;
                row[l] = x + (begin + i + l) * cols;
            }
            for (uint32_t d = 0; d < depth; d++)
                for (size_t l = 0; l < lanes; l++)
                    at[l] = an_gbt_step(f->nodes, at[l], row[l]);
            for (size_t l = 0; l < lanes; l++)
                sum[i + l] += f->leaf[at[l]];
        }
    }
}

/* ---- scoring ---- */

double an_gbt_score_of_margin(const an_gbt_forest *f, double margin)
{
    return f->objective == AN_GBT_LOGISTIC ? 1.0 / (1.0 + exp(-margin)) : margin;
}

/* The dense copies' length in the row's scratch (after the block's): the
 * values rounded up to whole registers (row_registers' 2, 4 or 8). */
static size_t dense_length(size_t n_values)
{
    return n_values <= 128 ? 128 : (n_values + 15) / 16 * 16;
}

size_t an_gbt_score_scratch_bytes(const an_gbt_forest *f)
{
    size_t values = 2 * f->n_features;
    return f->tests ? (values * LANES + dense_length(values)) * sizeof(uint32_t) : 0;
}

double an_gbt_score_row(const an_gbt_forest *f, const double *row, void *scratch)
{
    return an_gbt_score_row_on(f, row, scratch, an_gbt_vector());
}

double an_gbt_score_row_on(const an_gbt_forest *f, const double *row, void *scratch, int vector)
{
    if (!f->tests)
        return an_gbt_score_of_margin(f, node_margin(f, row));
#if FLAT_AVX512
    if (vector == AN_GBT_AVX512 && an_gbt_vector() == AN_GBT_AVX512) {
        size_t values = 2 * f->n_features;
        uint32_t *dense = (uint32_t *)scratch + values * LANES;
        dense_copies_avx512(row, f->n_features, dense, dense_length(values));
        return an_gbt_score_of_margin(f, row_margin_avx512(f, dense));
    }
#else
    (void)vector;
#endif
    two_copies(row, f->n_features, scratch);
    return an_gbt_score_of_margin(f, complete_margin(f, scratch));
}

typedef struct batch_job {
    const an_gbt_forest *f;
    const double *x;
    size_t rows;
    uint32_t *copies; /* per worker: BLOCK rows' two copies */
    double *scores;
    int vector; /* the instruction sets to use: AN_GBT_SSE2, _AVX2 or _AVX512 */
} batch_job;

/* Rows [begin LANES, end LANES) (within the batch), BLOCK at a time. */
static void score_lanes(void *ctx, size_t begin, size_t end, size_t worker)
{
    const batch_job *job = ctx;
    const an_gbt_forest *f = job->f;
    uint32_t *v = job->copies ? job->copies + worker * BLOCK * 2 * f->n_features : NULL;
    double sum[BLOCK];
    size_t hi = end * LANES < job->rows ? end * LANES : job->rows;
    for (size_t lo = begin * LANES; lo < hi; lo += BLOCK) {
        size_t n = hi - lo < BLOCK ? hi - lo : BLOCK;
        if (f->tests)
            complete_block(f, job->x, lo, n, v, sum, job->vector);
        else
            node_block(f, job->x, lo, n, sum);
        for (size_t i = 0; i < n; i++)
            job->scores[lo + i] = an_gbt_score_of_margin(f, sum[i]);
    }
}

/* The batch is shared out in whole groups of LANES rows, evenly (a batch
 * of 3355 rows on 2 threads: 210 and 209 groups, not 27 and 26 blocks),
 * each thread at least MIN_STEPS_PER_THREAD tree levels of work (the rows
 * times the sum of the trees' depths) and MIN_ROWS_PER_THREAD rows: a
 * smaller share finishes before a sleeping thread is awake to take it
 * (cardio's 550 test rows, 280 levels a row, some 100 us on one thread,
 * took as long on two: the caller had run both halves before the second
 * thread woke). */
enum { MIN_ROWS_PER_THREAD = 256, MIN_STEPS_PER_THREAD = 200000 };

/* Rows a thread takes at least. */
static size_t least_rows(const an_gbt_forest *f)
{
    size_t levels = 0;
    for (size_t t = 0; t < f->n_trees; t++)
        levels += f->depths[t] ? f->depths[t] : 1;
    size_t rows = levels ? MIN_STEPS_PER_THREAD / levels : MIN_ROWS_PER_THREAD;
    return rows > MIN_ROWS_PER_THREAD ? rows : MIN_ROWS_PER_THREAD;
}

anoma_status an_gbt_score_rows(const an_gbt_forest *f, const double *x, size_t rows,
                               size_t n_threads, double *scores)
{
    return an_gbt_score_rows_on(f, x, rows, n_threads, an_gbt_vector(), scores);
}

anoma_status an_gbt_score_rows_on(const an_gbt_forest *f, const double *x, size_t rows,
                                  size_t n_threads, int vector, double *scores)
{
    size_t groups = (rows + LANES - 1) / LANES, least = (least_rows(f) + LANES - 1) / LANES;
    size_t workers = an_parallel_workers(groups, n_threads, least);
    int best = an_gbt_vector();
    batch_job job = {f, x, rows, NULL, scores, vector < best ? vector : best};
    if (f->tests && rows) {
        job.copies = an_malloc_array(workers * BLOCK, 2 * f->n_features * sizeof(uint32_t));
        if (!job.copies)
            return an_no_memory();
    }
    an_parallel_for(groups, workers, least, score_lanes, &job);
    an_free(job.copies);
    return ANOMA_OK;
}

/* kd_search_ab: the KD-tree's batch self-query (the search LOF's outlier
 * mode makes: every training row, its own row left out, in groups that
 * follow the tree) through two versions of lib/neighbors/kdtree.c linked
 * into one program, alternating round by round so that both see the same
 * machine load. Each searches the tree its own version builds (the same
 * rows, so a change to the tree's shape is measured with the search);
 * the before version's functions carry the prefix before_. Prints the
 * best and mean CPU seconds of each, their ratios after / before (< 1:
 * after faster) and whether the answers are the same bit for bit.
 *
 *     git show BASE:lib/neighbors/kdtree.c > /tmp/kdtree_before.c
 *     P=; for f in build search search_group search_group_with kernel_best drain \
 *                  group_end group_of; do
 *         P="$P -Dan_kd_$f=before_an_kd_$f"; done
 *     F="-std=c11 -O3 -D_GNU_SOURCE -pthread -Ilib -Iinclude -Ibuild/include"
 *     cc $F $P -c /tmp/kdtree_before.c -o /tmp/kdtree_before.o
 *     cc $F bench/kd_search_ab.c lib/neighbors/kdtree.c /tmp/kdtree_before.o \
 *         build/lib/libanoma_internal.a -lopenblas -llapacke -lz -ljson-c -lm \
 *         -o /tmp/kd_search_ab
 *     /tmp/kd_search_ab DATA.csv [K=20] [ROUNDS=5]
 *
 * DATA.csv: a header line, then numbers; the last column (the label) is
 * left out. BASE's kdtree.c must compile against the current knn.h. */
#include "neighbors/knn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void before_an_kd_search_group(const an_knn_index *ix, an_kd_group *g);
anoma_status before_an_kd_build(an_knn_index *ix);
size_t before_an_kd_group_end(const an_knn_index *ix, size_t slot);

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double *load_csv(const char *path, size_t *n, size_t *d)
{
    static char line[1 << 16];
    FILE *f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f))
        return NULL;
    size_t cols = 1;
    for (const char *c = line; *c; c++)
        cols += *c == ',';
    *d = cols - 1;
    size_t cap = 1024, rows = 0;
    double *x = malloc(cap * *d * sizeof *x);
    while (x && fgets(line, sizeof line, f)) {
        if (rows == cap) {
            cap *= 2;
            x = realloc(x, cap * *d * sizeof *x);
            if (!x)
                break;
        }
        char *p = line;
        for (size_t j = 0; j < *d; j++) {
            x[rows * *d + j] = strtod(p, &p);
            p += *p == ',';
        }
        rows++;
    }
    fclose(f);
    *n = rows;
    return x;
}

/* Every indexed row's k nearest others, in the tree's groups (as
 * lib/neighbors/index.c does for a self-query of every row). */
static void self_query(const an_knn_index *ix, size_t k, int before, an_nb *heaps,
                       double *work, double *dist, size_t *index)
{
    an_kd_group g;
    g.lo = work;
    g.hi = work + ix->d;
    g.centre = g.hi + ix->d;
    g.columns = g.centre + ix->d;
    for (size_t pos = 0; pos < ix->n;) {
        size_t stop = ix->n - pos < AN_KD_GROUP ? ix->n : pos + AN_KD_GROUP;
        size_t group_end = before ? before_an_kd_group_end(ix, pos) : an_kd_group_end(ix, pos);
        stop = group_end < stop ? group_end : stop;
        g.count = stop - pos;
        for (size_t t = 0; t < g.count; t++) {
            size_t i = ix->perm[pos + t];
            g.rows[t] = ix->x + i * ix->d;
            g.exclude[t] = i;
            an_nb_heap_init(&g.heaps[t], heaps + t * k, k);
        }
        if (before)
            before_an_kd_search_group(ix, &g);
        else
            an_kd_search_group(ix, &g);
        for (size_t t = 0; t < g.count; t++) {
            size_t i = ix->perm[pos + t];
            an_nb_heap_drain(&g.heaps[t], dist + i * k, index + i * k);
        }
        pos = stop;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA.csv [K] [ROUNDS]\n", argv[0]);
        return 2;
    }
    size_t n, d, k = argc > 2 ? (size_t)atoi(argv[2]) : 20;
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    double *x = load_csv(argv[1], &n, &d);
    an_knn_index ix[2]; /* after, before */
    if (!x || n <= k || an_knn_build(&ix[0], x, n, d, AN_KNN_KD_TREE) != ANOMA_OK ||
        an_knn_build(&ix[1], x, n, d, AN_KNN_KD_TREE) != ANOMA_OK) {
        fprintf(stderr, "%s: cannot load or index (k must be below the rows)\n", argv[1]);
        return 1;
    }
    an_knn_free(&ix[1]); /* and the before version's own tree of the same rows */
    memset(&ix[1], 0, sizeof ix[1]);
    ix[1].x = x;
    ix[1].n = n;
    ix[1].d = d;
    ix[1].algorithm = AN_KNN_KD_TREE;
    if (before_an_kd_build(&ix[1]) != ANOMA_OK)
        return 1;
    double *dist[2], *work = malloc(AN_KD_GROUP_WORK(d) * sizeof *work);
    size_t *index[2];
    an_nb *heaps = malloc(AN_KD_GROUP * k * sizeof *heaps);
    for (int v = 0; v < 2; v++) {
        dist[v] = malloc(n * k * sizeof *dist[v]);
        index[v] = malloc(n * k * sizeof *index[v]);
    }
    double best[2] = {1e300, 1e300}, sum[2] = {0, 0};
    for (int r = 0; r < rounds; r++)
        for (int v = 0; v < 2; v++) {
            int before = r % 2 ? v : !v; /* before first on odd rounds */
            double t0 = cpu_seconds();
            self_query(&ix[before], k, before, heaps, work, dist[before], index[before]);
            double t = cpu_seconds() - t0;
            sum[before] += t;
            best[before] = t < best[before] ? t : best[before];
        }
    int same = !memcmp(dist[0], dist[1], n * k * sizeof *dist[0]) &&
               !memcmp(index[0], index[1], n * k * sizeof *index[0]);
    printf("%s %zu x %zu k=%zu rounds=%d: before best %.4f s mean %.4f, after best %.4f s "
           "mean %.4f; after/before best %.3f mean %.3f; same answers: %s\n",
           argv[1], n, d, k, rounds, best[1], sum[1] / rounds, best[0], sum[0] / rounds,
           best[0] / best[1], sum[0] / sum[1], same ? "yes" : "NO");
    return same ? 0 : 1;
}

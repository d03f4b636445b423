/* knn_new_rows: the query of new rows alone (what LOF's and kNN's
 * score_samples ask of the engine), one thread, timed in CPU seconds of
 * the process (best of REPS), on ROWS x COLS doubles read from a raw file
 * (native float64, row-major). The queries are bench/lof.py's novelty
 * rows in kind: QUERIES training rows drawn with replacement, each value
 * + 1e-3. The KD-tree and the small-set scan run in turn in the same
 * process, each REPS times, and each prints a hash of the neighbours and
 * distances (the two must match bit for bit). Build it against the
 * internal static library:
 *
 *     cc -O3 -D_GNU_SOURCE -Ilib -Iinclude -Ibuild-bench/lib \
 *        -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/knn_new_rows.c \
 *        build-bench/lib/libanoma_internal.a -lopenblas -lz -lm -lpthread -o /tmp/knr
 *     OPENBLAS_NUM_THREADS=1 /tmp/knr FILE COLS [K=20] [REPS=5] [QUERIES=2000]
 *
 * A data set to a raw file: numpy's X.astype("float64").tofile(FILE). */
#include "neighbors/knn.h"
#include "raw_rows.h"

#include <stdint.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE COLS [K] [REPS] [QUERIES]\n", argv[0]);
        return 2;
    }
    size_t d = strtoul(argv[2], NULL, 10), k = argc > 3 ? strtoul(argv[3], NULL, 10) : 20;
    int reps = argc > 4 ? atoi(argv[4]) : 5;
    size_t m = argc > 5 ? strtoul(argv[5], NULL, 10) : 2000;
    size_t n = 0;
    double *x = read_raw_rows(argv[1], d, &n), *q = malloc(m * d * sizeof *q);
    double *dist = malloc(m * k * sizeof *dist);
    size_t *index = malloc(m * k * sizeof *index);
    if (!x || !q || !dist || !index)
        return 1;
    uint64_t s = 1;
    for (size_t i = 0; i < m; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        size_t row = (size_t)(s >> 33) % n;
        for (size_t j = 0; j < d; j++)
            q[i * d + j] = x[row * d + j] + 1e-3;
    }
    const char *names[2] = {"kd_tree", "small"};
    an_knn_algorithm choices[2] = {AN_KNN_KD_TREE, AN_KNN_SMALL};
    an_knn_index ix[2];
    double best[2] = {1e300, 1e300};
    for (int a = 0; a < 2; a++)
        if (an_knn_build(&ix[a], x, n, d, choices[a]) != ANOMA_OK)
            return 1;
    for (int r = 0; r < reps; r++)
        for (int a = 0; a < 2; a++) { /* alternating */
            double t0 = cpu_seconds();
            if (an_knn_query(&ix[a], q, m, k, 1, dist, index) != ANOMA_OK)
                return 1;
            double t = cpu_seconds() - t0;
            best[a] = t < best[a] ? t : best[a];
        }
    for (int a = 0; a < 2; a++) {
        if (an_knn_query(&ix[a], q, m, k, 1, dist, index) != ANOMA_OK)
            return 1;
        printf("%s %s %zu x %zu k=%zu %zu queries best CPU %.6f s (%.2f us a query) answer "
               "%016llx\n",
               argv[1], names[a], n, d, k, m, best[a], 1e6 * best[a] / (double)m,
               answer_hash(dist, index, m * k));
        an_knn_free(&ix[a]);
    }
    free(x);
    free(q);
    free(dist);
    free(index);
    return 0;
}

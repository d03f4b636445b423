/* knn_self_query: the self-query alone (brute unless told) (what LOF's and kNN's fit ask
 * of the engine: every training row's k nearest, in blocks of 4096 rows as
 * lof.c takes them), one thread, timed in CPU seconds of the process (best
 * of REPS), on ROWS x COLS doubles read from a raw file (native float64,
 * row-major). Prints a hash of the neighbours and distances, so that two
 * builds can be checked for the same answer bit for bit. It links the
 * internal static library, so build it once per tree and alternate runs:
 *
 *     cc -O3 -D_GNU_SOURCE -Ilib -Iinclude -Ibuild-bench/lib \
 *        -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/knn_self_query.c \
 *        build-bench/lib/libanoma_internal.a -lopenblas -lz -lm -lpthread -o /tmp/ksq
 *     OPENBLAS_NUM_THREADS=1 /tmp/ksq FILE COLS [K=20] [REPS=3] [ALGORITHM=brute]
 *
 * ALGORITHM: brute, kd_tree, small or small_wide (small.c's scan) or
 * auto (the rule in knn.h).
 *
 * A data set to a raw file: numpy's X.astype("float64").tofile(FILE). */
#include "neighbors/knn.h"
#include "raw_rows.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE COLS [K] [REPS]\n", argv[0]);
        return 2;
    }
    size_t d = strtoul(argv[2], NULL, 10), k = argc > 3 ? strtoul(argv[3], NULL, 10) : 20;
    int reps = argc > 4 ? atoi(argv[4]) : 3;
    const char *algo = argc > 5 ? argv[5] : "brute";
    an_knn_algorithm choice = !strcmp(algo, "auto")      ? AN_KNN_AUTO
                              : !strcmp(algo, "kd_tree") ? AN_KNN_KD_TREE
                              : !strcmp(algo, "small")   ? AN_KNN_SMALL
                              : !strcmp(algo, "small_wide") ? AN_KNN_SMALL_WIDE
                                                         : AN_KNN_BRUTE;
    size_t n = 0;
    double *x = read_raw_rows(argv[1], d, &n);
    if (!x)
        return 1;
    double *dist = malloc(n * k * sizeof *dist);
    size_t *index = malloc(n * k * sizeof *index);
    if (!dist || !index)
        return 1;
    an_knn_index ix;
    if (an_knn_build(&ix, x, n, d, choice) != ANOMA_OK)
        return 1;
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_seconds();
        for (size_t b = 0; b < n; b += 4096) {
            size_t m = n - b < 4096 ? n - b : 4096;
            if (an_knn_self_query(&ix, b, m, k, 1, dist + b * k, index + b * k) != ANOMA_OK)
                return 1;
        }
        double t = cpu_seconds() - t0;
        best = t < best ? t : best;
    }
    unsigned long long hash = answer_hash(dist, index, n * k);
    printf("%s %s %zu x %zu k=%zu best CPU %.6f s answer %016llx\n", argv[1], algo, n, d, k, best, hash);
    an_knn_free(&ix);
    free(x);
    free(dist);
    free(index);
    return 0;
}

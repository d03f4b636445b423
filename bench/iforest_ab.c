/* iforest_ab: batch and single-row scoring of one isolation forest through
 * two builds of libanoma, in one process, alternating call by call, so that
 * both see the same machine load (a before/after comparison on a busy
 * machine). Both builds fit the same forest (100 trees of 256 rows, seed 0)
 * on ROWS x COLS standard-normal values; the best batch time per row and
 * the best single-row time of each are printed, their ratio B/A, and
 * whether the two gave the same scores bit for bit.
 *
 *     cc -O2 bench/iforest_ab.c -Iinclude -ldl -lm -o /tmp/iforest_ab
 *     /tmp/iforest_ab BEFORE.so AFTER.so 100000 10 15 ["extra detector params"]
 *
 * NANFRAC=0.01 in the environment makes that share of the values NaN. */
#define _GNU_SOURCE
#include <anoma/anoma.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
static unsigned long long s = 88172645463325252ULL;
static double u01(void) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return (s >> 11) * (1.0 / 9007199254740992.0);
}
typedef struct {
  anoma_status (*create)(const char *, anoma_model **);
  anoma_status (*add)(anoma_model *, const char *, const char *, const char *);
  anoma_status (*fit)(anoma_model *, const anoma_matrix *, const int *,
                      const double *);
  anoma_status (*score)(const anoma_model *, const anoma_matrix *, double *);
  anoma_status (*rs_create)(const anoma_model *, anoma_row_scorer **);
  anoma_status (*rs_score)(anoma_row_scorer *, const double *, size_t, double *,
                           int *);
  const char *(*err)(void);
  anoma_model *m;
  anoma_row_scorer *rs;
} lib;
static void load(lib *l, const char *path) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "%s\n", dlerror());
    exit(1);
  }
  l->create = dlsym(h, "anoma_model_create");
  l->add = dlsym(h, "anoma_model_add_detector");
  l->fit = dlsym(h, "anoma_model_fit");
  l->score = dlsym(h, "anoma_model_score");
  l->rs_create = dlsym(h, "anoma_row_scorer_create");
  l->rs_score = dlsym(h, "anoma_row_scorer_score");
  l->err = dlsym(h, "anoma_last_error");
}
int main(int argc, char **argv) {
  size_t rows = atol(argv[3]), cols = atol(argv[4]);
  int rounds = atoi(argv[5]);
  const char *extra = argc > 6 ? argv[6] : "";
  double nanfrac = getenv("NANFRAC") ? atof(getenv("NANFRAC")) : 0;
  double *x = malloc(rows * cols * 8), *sa = malloc(rows * 8),
         *sb = malloc(rows * 8);
  for (size_t i = 0; i < rows * cols; i += 2) {
    double a = u01(), b = u01();
    double r = sqrt(-2 * log(a + 1e-300));
    x[i] = r * cos(6.283185307179586 * b);
    if (i + 1 < rows * cols)
      x[i + 1] = r * sin(6.283185307179586 * b);
  }
  if (nanfrac > 0)
    for (size_t i = 0; i < rows * cols; i++)
      if (u01() < nanfrac)
        x[i] = NAN;
  lib L[2];
  char dp[256];
  snprintf(dp, sizeof dp, "n_trees=100 max_samples=256 seed=0 %s", extra);
  anoma_matrix xm = anoma_matrix_f64(x, rows, cols);
  for (int k = 0; k < 2; k++) {
    load(&L[k], argv[1 + k]);
    if (L[k].create("n_threads=1", &L[k].m) ||
        L[k].add(L[k].m, "iforest", dp, NULL) ||
        L[k].fit(L[k].m, &xm, NULL, NULL) || L[k].rs_create(L[k].m, &L[k].rs)) {
      fprintf(stderr, "%s\n", L[k].err());
      return 1;
    }
  }
  double best[2] = {1e9, 1e9}, rbest[2] = {1e9, 1e9};
  double *S[2] = {sa, sb};
  for (int r = 0; r < rounds; r++)
    for (int k = 0; k < 2; k++) {
      double t = now();
      L[k].score(L[k].m, &xm, S[k]);
      t = now() - t;
      if (t < best[k])
        best[k] = t;
      size_t n = rows < 20000 ? rows : 20000;
      t = now();
      for (size_t i = 0; i < n; i++) {
        double v;
        int f;
        L[k].rs_score(L[k].rs, x + i * cols, cols, &v, &f);
      }
      t = now() - t;
      if (t < rbest[k] * n / rows)
        rbest[k] = t * rows / n;
    }
  int same = memcmp(sa, sb, rows * 8) == 0;
  printf("A batch %.1f ns/row row %.1f | B batch %.1f ns/row row %.1f | B/A "
         "batch %.3f row %.3f | scores %s\n",
         best[0] / rows * 1e9, rbest[0] / rows * 1e9, best[1] / rows * 1e9,
         rbest[1] / rows * 1e9, best[1] / best[0], rbest[1] / rbest[0],
         same ? "identical" : "DIFFER");
  return 0;
}

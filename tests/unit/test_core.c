/* Core: status codes, parameters, random numbers, threads, byte codec. */
#include "testing.h"

#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"
#include "core/order.h"
#include "core/params.h"
#include "core/radix_sort.h"
#include "core/rng.h"
#include "core/stats.h"
#include "core/threads.h"
#include "io/bytes.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_status_names(void)
{
    CHECK(!strcmp(anoma_status_str(ANOMA_OK), "ANOMA_OK"));
    CHECK(!strcmp(anoma_status_str(ANOMA_ERR_SHAPE), "ANOMA_ERR_SHAPE"));
    CHECK(!strcmp(anoma_status_str((anoma_status)-999), "ANOMA_UNKNOWN_STATUS"));
    /* Every code from OK down to the last error has a name and a text. */
    for (int code = 0; code >= ANOMA_ERR_INTERNAL; code--) {
        CHECK(strcmp(anoma_status_str((anoma_status)code), "ANOMA_UNKNOWN_STATUS") != 0);
        CHECK(strcmp(anoma_status_text((anoma_status)code), "unknown status") != 0);
    }
    CHECK(!strcmp(anoma_status_text(ANOMA_ERR_NO_MEMORY), "out of memory"));
    CHECK(an_error(ANOMA_ERR_IO, "cannot open %s", "x.csv") == ANOMA_ERR_IO);
    CHECK(!strcmp(anoma_last_error(), "cannot open x.csv"));
    anoma_clear_error();
    CHECK(!strcmp(anoma_last_error(), ""));
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", ANOMA_VERSION_MAJOR, ANOMA_VERSION_MINOR,
             ANOMA_VERSION_PATCH);
    CHECK(!strcmp(anoma_version(), expect));
    CHECK(anoma_version_number() == ANOMA_VERSION_NUMBER);
}

static const anoma_param_info schema[] = {
    {"n", ANOMA_PARAM_INT, 1, 10, "3", "", "count"},
    {"rate", ANOMA_PARAM_DOUBLE, 0, 0.5, "auto", "auto", "rate or auto"},
    {"flag", ANOMA_PARAM_BOOL, 0, 1, "false", "", "flag"},
    {"mode", ANOMA_PARAM_CHOICE, 0, 0, "mean", "mean|max", "mode"},
};

static void test_params(void)
{
    an_params p;
    CHECK_OK(an_params_init(&p, "thing", schema, 4));
    CHECK(an_params_int(&p, "n") == 3);
    CHECK(an_params_is(&p, "rate", "auto"));
    CHECK_OK(an_params_parse(&p, "  n=7 rate=0.25\tflag=yes mode=max "));
    CHECK(an_params_int(&p, "n") == 7);
    CHECK(an_params_double(&p, "rate") == 0.25);
    CHECK(an_params_bool(&p, "flag") == 1);
    CHECK(an_params_choice(&p, "mode") == 1);

    /* Errors name the key and range, and leave the values as they were. */
    CHECK_STATUS(an_params_parse(&p, "n=2 n_trees=5"), ANOMA_ERR_UNKNOWN_PARAM);
    CHECK(strstr(anoma_last_error(), "n_trees") != NULL);
    CHECK(an_params_int(&p, "n") == 7);
    CHECK_STATUS(an_params_parse(&p, "n=11"), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "[1, 10]") != NULL);
    CHECK_STATUS(an_params_parse(&p, "n=2.5"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(an_params_parse(&p, "rate=nan"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(an_params_parse(&p, "rate=inf"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(an_params_parse(&p, "rate=0.6"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(an_params_parse(&p, "mode=min"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(an_params_parse(&p, "flag"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(an_params_parse(&p, "=3"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(an_params_set(&p, "n", ""), ANOMA_ERR_PARAM_VALUE);

    an_strbuf sb = {0};
    an_params_format(&p, &sb);
    CHECK(!strcmp(sb.data, "n=7 rate=0.25 flag=yes mode=max"));
    an_strbuf_free(&sb);
    an_params_free(&p);
}

/* Parameter numbers follow the CSV reader's rule: decimal only. A value too
 * small for a normal double is refused as underflowing, not as out of range. */
static void test_params_number_syntax(void)
{
    an_params p;
    CHECK_OK(an_params_init(&p, "thing", schema, 4));
    CHECK_OK(an_params_parse(&p, "rate=2.5e-1 n=+4"));
    CHECK(an_params_double(&p, "rate") == 0.25 && an_params_int(&p, "n") == 4);
    static const char *const hex[] = {"rate=0x1p-3", "rate=-0x1p-3", "rate=0X.2", "n=0x5"};
    for (size_t i = 0; i < 4; i++) {
        CHECK_STATUS(an_params_parse(&p, hex[i]), ANOMA_ERR_PARAM_VALUE);
        CHECK(strstr(anoma_last_error(), "hexadecimal numbers are not accepted") != NULL);
    }
    static const char *const tiny[] = {"rate=1e-320", "rate=1e-400", "rate=4.9e-324"};
    for (size_t i = 0; i < 3; i++) {
        CHECK_STATUS(an_params_parse(&p, tiny[i]), ANOMA_ERR_PARAM_VALUE);
        CHECK(strstr(anoma_last_error(), "underflows") != NULL);
        CHECK(strstr(anoma_last_error(), "expected a number in") == NULL);
    }
    CHECK(an_params_double(&p, "rate") == 0.25); /* all refused, nothing changed */
    CHECK_OK(an_params_parse(&p, "rate=2.2250738585072014e-308")); /* the smallest normal */
    an_params_free(&p);

    /* As a user meets it: an isolation forest's max_samples. */
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_STATUS(anoma_model_add_detector(m, "iforest", "max_samples=1e-320", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "max_samples=1e-320: the value underflows") != NULL);
    CHECK_STATUS(anoma_model_add_detector(m, "iforest", "max_samples=0x100", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "hexadecimal") != NULL);
    CHECK_STATUS(anoma_model_set_param(m, "contamination", "1e999"), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "out of the range of a double") != NULL);
    anoma_model_free(m);
}

/* Numbers in parameters read the same whatever locale the host set. */
static void test_params_locale(void)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *set = NULL;
    for (size_t i = 0; i < 4 && !set; i++)
        set = setlocale(LC_NUMERIC, names[i]);
    if (!set) {
        test_skip("no comma-decimal locale installed");
        return;
    }
    double v = 0;
    CHECK(an_parse_double("1.5", &v) && v == 1.5);
    CHECK(!an_parse_double("1,5", &v));
    setlocale(LC_NUMERIC, "C");
}

static void test_rng(void)
{
    an_rng a, b, c;
    an_rng_init(&a, 42, 0);
    an_rng_init(&b, 42, 0);
    an_rng_init(&c, 42, 1);
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = an_rng_next(&a), y = an_rng_next(&b), z = an_rng_next(&c);
        same &= x == y;
        differ |= x != z;
    }
    CHECK(same);
    CHECK(differ);

    /* Uniform(0,1): mean 1/2, variance 1/12; below(7) hits every value. */
    enum { N = 200000 };
    double sum = 0, sum2 = 0;
    size_t counts[7] = {0};
    for (int i = 0; i < N; i++) {
        double u = an_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        sum += u;
        sum2 += u * u;
        counts[an_rng_below(&a, 7)]++;
    }
    double mean = sum / N, var = sum2 / N - mean * mean;
    CHECK(fabs(mean - 0.5) < 0.005);
    CHECK(fabs(var - 1.0 / 12) < 0.002);
    for (int k = 0; k < 7; k++)
        CHECK(fabs((double)counts[k] / N - 1.0 / 7) < 0.005);
    double nsum = 0, nsum2 = 0;
    for (int i = 0; i < N; i++) {
        double z = an_rng_normal(&a);
        nsum += z;
        nsum2 += z * z;
    }
    CHECK(fabs(nsum / N) < 0.01);
    CHECK(fabs(nsum2 / N - 1) < 0.02);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorting and selection against the C library's qsort, on sizes around the
 * insertion-sort cut-off, heavy ties, sorted and reversed input. */
static void test_sort_select(void)
{
    enum { MAX = 3000 };
    static double v[MAX], ref[MAX], w[MAX];
    an_rng rng;
    an_rng_init(&rng, 7, 0);
    size_t sizes[] = {1, 2, 3, 15, 16, 17, 33, 100, 257, 1000, MAX};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        for (int pattern = 0; pattern < 4; pattern++) {
            for (size_t i = 0; i < n; i++)
                v[i] = pattern == 0   ? an_rng_normal(&rng)
                       : pattern == 1 ? (double)an_rng_below(&rng, 5) /* ties */
                       : pattern == 2 ? (double)i                     /* sorted */
                                      : (double)(n - i);              /* reversed */
            memcpy(ref, v, n * sizeof *v);
            qsort(ref, n, sizeof *ref, compare_doubles);
            memcpy(w, v, n * sizeof *v);
            an_sort_doubles(w, n);
            CHECK(!memcmp(w, ref, n * sizeof *w));
            size_t k = (size_t)an_rng_below(&rng, n);
            memcpy(w, v, n * sizeof *v);
            an_select_doubles(w, n, k);
            CHECK(w[k] == ref[k]);
            int split_ok = 1;
            for (size_t i = 0; i < n; i++)
                split_ok &= i < k ? w[i] <= w[k] : w[i] >= w[k];
            CHECK(split_ok);
            memcpy(w, v, n * sizeof *v);
            CHECK(an_median(w, n) == an_median_sorted(ref, n));
            for (double q = 0; q <= 1.0; q += 0.05) {
                memcpy(w, v, n * sizeof *v);
                CHECK(an_quantile(w, n, q) == an_quantile_sorted(ref, n, q));
            }
        }
    }
}

/* The radix sort against qsort: signs, zeros of both signs, infinities,
 * subnormals, extremes, ties, and sizes where some passes move nothing. */
static void test_radix_sort(void)
{
    enum { MAX = 20000 };
    static double v[MAX], ref[MAX];
    static uint64_t scratch[2 * MAX];
    const double special[] = {-INFINITY, INFINITY, -0.0, 0.0, 5e-324, -5e-324, DBL_MAX,
                              -DBL_MAX, DBL_MIN, -DBL_MIN, 1.0, -1.0};
    an_rng rng;
    an_rng_init(&rng, 11, 0);
    size_t sizes[] = {0, 1, 2, 3, 100, 4096, MAX};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        for (int pattern = 0; pattern < 5; pattern++) {
            for (size_t i = 0; i < n; i++) {
                double x = an_rng_normal(&rng);
                v[i] = pattern == 0   ? x * 1e3
                       : pattern == 1 ? special[an_rng_below(&rng, 12)]
                       : pattern == 2 ? (double)an_rng_below(&rng, 3) /* one digit differs */
                       : pattern == 3 ? ldexp(x, (int)an_rng_below(&rng, 2000) - 1000)
                                      : (double)(n - i);
            }
            memcpy(ref, v, n * sizeof *v);
            qsort(ref, n, sizeof *ref, compare_doubles);
            an_radix_sort_doubles(v, n, scratch);
            int same = 1; /* as values: -0 == +0, as a comparison sort has them */
            for (size_t i = 0; i < n; i++)
                same &= v[i] == ref[i];
            CHECK(same);
        }
    }
}

/* Items by their key bits [low, low + bits), then by their first
 * position: the order of a stable sort by that key. */
typedef struct placed_item {
    uint64_t item;
    size_t position;
} placed_item;

static unsigned sort_low, sort_bits;

static uint64_t key_bits(uint64_t item)
{
    return item >> sort_low & (sort_bits == 64 ? UINT64_MAX : (UINT64_C(1) << sort_bits) - 1);
}

static int compare_keys_then_position(const void *a, const void *b)
{
    const placed_item *x = a, *y = b;
    uint64_t kx = key_bits(x->item), ky = key_bits(y->item);
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return (x->position > y->position) - (x->position < y->position);
}

/* The radix sort of items by a range of their bits against qsort by (key,
 * position): key ranges that end inside a digit, at the top bit and below
 * a row number (as gbt's cuts sort them), few distinct keys among random
 * other bits so that stability shows, keys spread wide so every pass moves,
 * and sizes where some passes move nothing. */
static void test_radix_sort_bits(void)
{
    enum { MAX = 5000 };
    static uint64_t items[MAX], tmp[MAX];
    static placed_item ref[MAX];
    static const unsigned ranges[][2] = {{0, 64}, {32, 32}, {5, 13}, {60, 4}, {0, 1}, {17, 47}};
    an_rng rng;
    an_rng_init(&rng, 5, 0);
    size_t sizes[] = {0, 1, 2, 257, MAX};
    for (size_t r = 0; r < sizeof ranges / sizeof *ranges; r++) {
        sort_low = ranges[r][0];
        sort_bits = ranges[r][1];
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            for (int few = 0; few < 2; few++) {
                size_t n = sizes[s];
                for (size_t i = 0; i < n; i++) {
                    uint64_t item = an_rng_next(&rng);
                    if (few) /* key 0..6, shifted to the top of its range */
                        item = (item & ~(key_bits(UINT64_MAX) << sort_low)) |
                               key_bits(an_rng_below(&rng, 7) << (sort_bits > 3 ? sort_bits - 3 : 0))
                                   << sort_low;
                    items[i] = item;
                    ref[i] = (placed_item){item, i};
                }
                qsort(ref, n, sizeof *ref, compare_keys_then_position);
                const uint64_t *sorted = an_radix_sort_u64(items, tmp, n, sort_low, sort_bits);
                int same = 1;
                for (size_t i = 0; i < n; i++)
                    same &= sorted[i] == ref[i].item;
                CHECK(same);
            }
        }
    }
}

static void add_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    int *hits = ctx;
    (void)worker;
    for (size_t i = begin; i < end; i++)
        hits[i]++;
}

static void test_threads(void)
{
    enum { N = 1001 };
    static int hits[N];
    for (size_t threads = 0; threads <= 5; threads++) {
        memset(hits, 0, sizeof hits);
        an_parallel_for(N, threads, 1, add_range, hits);
        int all_once = 1;
        for (int i = 0; i < N; i++)
            all_once &= hits[i] == 1;
        CHECK(all_once);
    }
    CHECK(an_parallel_workers(10, 4, 100) == 1);
    CHECK(an_parallel_workers(1000, 4, 100) == 4);
    an_parallel_for(0, 4, 1, add_range, hits); /* empty range is fine */
}

/* an_matrix_check_finite scans a double matrix in chunks of 4096 values
 * and then cell by cell: an infinity anywhere (either sign, at a chunk's
 * edges, in a strided view or next to NaN) is found at its own row and
 * column, NaN passes, and an infinity in the padding between rows is not
 * the matrix's. */
static void test_check_finite(void)
{
    enum { ROWS = 1000, COLS = 7, STRIDE = 9 };
    double *x = malloc(ROWS * STRIDE * sizeof *x);
    for (size_t i = 0; i < ROWS * STRIDE; i++)
        x[i] = i % 5 == 0 ? NAN : (double)i - 3000;
    anoma_matrix dense = {x, ROWS * STRIDE / COLS, COLS, COLS, ANOMA_F64};
    anoma_matrix strided = {x, ROWS, COLS, STRIDE, ANOMA_F64};
    CHECK_OK(an_matrix_check_finite(&dense, "fit"));
    CHECK_OK(an_matrix_check_finite(&strided, "fit"));
    static const size_t cells[] = {0, 1, 16, 4103, 4095, 4096, 4097, 585 * 7 + 6, 8191, ROWS * 9 / 7 * 7 - 1};
    for (size_t c = 0; c < sizeof cells / sizeof *cells; c++) {
        double keep = x[cells[c]];
        x[cells[c]] = c % 2 ? INFINITY : -INFINITY;
        char want[96];
        snprintf(want, sizeof want, "fit: infinite value at row %zu, column %zu", cells[c] / COLS,
                 cells[c] % COLS);
        CHECK_STATUS(an_matrix_check_finite(&dense, "fit"), ANOMA_ERR_NONFINITE);
        CHECK(strstr(anoma_last_error(), want) != NULL);
        size_t row = cells[c] / STRIDE, col = cells[c] % STRIDE;
        if (col < COLS) {
            snprintf(want, sizeof want, "fit: infinite value at row %zu, column %zu", row, col);
            CHECK_STATUS(an_matrix_check_finite(&strided, "fit"), ANOMA_ERR_NONFINITE);
            CHECK(strstr(anoma_last_error(), want) != NULL);
        } else {
            CHECK_OK(an_matrix_check_finite(&strided, "fit")); /* padding */
        }
        x[cells[c]] = keep;
    }
    free(x);
}

/* (value, row) pairs as a plain comparison sort orders them: values by <
 * (so -0 and +0 tie), then the row. The reference for an_sort_rows_by_value. */
typedef struct value_row {
    double value;
    size_t row;
} value_row;

static int compare_value_rows(const void *a, const void *b)
{
    const value_row *x = a, *y = b;
    if (x->value < y->value)
        return -1;
    if (y->value < x->value)
        return 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* an_lower_bound and an_upper_bound against a linear scan, and an_sort_rows_by_value against
 * qsort, on columns with many ties, -0 and +0, and a stride. */
static void test_order(void)
{
    enum { MAX = 3000, STRIDE = 3 };
    static double x[MAX * STRIDE], sorted_values[MAX];
    static size_t rows[MAX];
    static value_row ref[MAX];
    an_rng rng;
    an_rng_init(&rng, 5, 0);
    /* the last two sizes again with close values (the radix sort's runs of
     * equal top bits, short ones ordered by insertion) and few ties */
    size_t sizes[] = {0, 1, 2, 7, 64, 255, MAX, 256, 700, MAX};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        int close = s >= 7;
        for (size_t i = 0; i < n * STRIDE; i++) {
            uint64_t pick = an_rng_below(&rng, 6);
            double sign = an_rng_below(&rng, 2) ? 1 : -1;
            x[i] = pick == 0 ? -0.0
                   : pick == 1 ? 0.0
                   : close ? sign * ((double)an_rng_below(&rng, 200) * 0x1p-18 +
                                     (double)an_rng_below(&rng, 8) * 0x1p-45)
                           : (double)an_rng_below(&rng, 9) - 4;
        }
        for (size_t i = 0; i < n; i++) {
            rows[i] = n - 1 - i; /* any distinct rows, here backwards */
            ref[i] = (value_row){x[rows[i] * STRIDE + 1], rows[i]};
        }
        qsort(ref, n, sizeof *ref, compare_value_rows);
        CHECK_OK(an_sort_rows_by_value(rows, n, x + 1, STRIDE, sorted_values));
        int same = 1;
        for (size_t i = 0; i < n; i++)
            same &= rows[i] == ref[i].row && sorted_values[i] == ref[i].value;
        CHECK(same);
        for (double v = -5; v <= 5; v += close ? 0.001953125 : 0.5) {
            size_t expected = 0;
            while (expected < n && sorted_values[expected] < v)
                expected++;
            CHECK(an_lower_bound(sorted_values, n, v) == expected);
            size_t above = 0;
            while (above < n && sorted_values[above] <= v)
                above++;
            CHECK(an_upper_bound(sorted_values, n, v) == above);
        }
    }
    test_alloc_install(0);
    CHECK_STATUS(an_sort_rows_by_value(rows, 4, x, 1, NULL), ANOMA_ERR_NO_MEMORY);
    CHECK(test_alloc_live() == 0);
    test_alloc_restore();
}

/* A NaN or an infinity at any place, the tail past the last group of four
 * included, is found; the largest finite values are not. */
static void test_any_nonfinite(void)
{
    double v[11] = {0};
    for (size_t n = 0; n <= 11; n++) {
        for (size_t i = 0; i < n; i++)
            v[i] = i % 2 ? DBL_MAX : -DBL_MAX;
        CHECK(!an_any_nonfinite(v, n));
        for (size_t at = 0; at < n; at++) {
            const double bad[] = {NAN, INFINITY, -INFINITY};
            for (size_t b = 0; b < 3; b++) {
                double keep = v[at];
                v[at] = bad[b];
                CHECK(an_any_nonfinite(v, n));
                v[at] = keep;
            }
        }
    }
}

/* The first value that is not finite, on both sides of the block
 * boundaries of the quick scan, with a second one after it. */
static void test_first_not_finite(void)
{
    enum { N = 9000 };
    static double v[N];
    for (size_t i = 0; i < N; i++)
        v[i] = (double)i - 4500.0;
    CHECK(an_first_not_finite(v, N) == N);
    const size_t at[] = {0, 1, 4095, 4096, 4097, 8191, 8192, N - 1};
    for (size_t a = 0; a < sizeof at / sizeof *at; a++) {
        double keep = v[at[a]], later = v[N - 1];
        v[at[a]] = a % 2 ? NAN : -INFINITY;
        if (at[a] < N - 1)
            v[N - 1] = INFINITY;
        CHECK(an_first_not_finite(v, N) == at[a]);
        v[N - 1] = later;
        v[at[a]] = keep;
    }
}

static void test_bytes(void)
{
    an_writer w = {0};
    an_put_u32(&w, 0xA1B2C3D4u);
    an_put_f64(&w, -1.5);
    an_put_str(&w, "zscore");
    an_put_u64(&w, 3);
    double v[3] = {1, 2, 3};
    an_put_f64_array(&w, v, 3);
    CHECK_OK(an_writer_status(&w));
    CHECK(w.data[0] == 0xD4 && w.data[3] == 0xA1); /* little-endian */

    an_reader r = an_reader_make(w.data, w.len, "test");
    CHECK(an_get_u32(&r) == 0xA1B2C3D4u);
    CHECK(an_get_f64(&r) == -1.5);
    char *s = an_get_str(&r);
    CHECK(s && !strcmp(s, "zscore"));
    an_free(s);
    size_t n = an_get_count(&r, 10, 8);
    CHECK(n == 3);
    double back[3];
    an_get_f64_array(&r, back, n);
    CHECK(back[2] == 3);
    CHECK_OK(an_reader_status(&r));
    an_get_u8(&r); /* past the end */
    CHECK_STATUS(an_reader_status(&r), ANOMA_ERR_FORMAT);

    /* A count larger than the bytes left fails before any allocation. */
    an_writer big = {0};
    an_put_u64(&big, (uint64_t)1 << 60);
    an_reader rb = an_reader_make(big.data, big.len, "test");
    CHECK(an_get_count(&rb, SIZE_MAX, 8) == 0 && rb.failed);
    an_writer_free(&big);
    /* Truncated string. */
    an_reader rt = an_reader_make(w.data, 16, "test");
    an_get_u32(&rt);
    an_get_f64(&rt);
    CHECK(an_get_str(&rt) == NULL && rt.failed);
    an_writer_free(&w);
}

int main(void)
{
    RUN(test_status_names);
    RUN(test_params);
    RUN(test_params_number_syntax);
    RUN(test_params_locale);
    RUN(test_rng);
    RUN(test_sort_select);
    RUN(test_radix_sort);
    RUN(test_radix_sort_bits);
    RUN(test_order);
    RUN(test_any_nonfinite);
    RUN(test_first_not_finite);
    RUN(test_threads);
    RUN(test_bytes);
    RUN(test_check_finite);
    return test_summary();
}

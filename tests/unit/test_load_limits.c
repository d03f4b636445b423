/* Hostile model files that ask for more than they hold: decompression
 * bombs (sections declaring gigabytes) and counts larger than the bytes
 * left. Each must be refused before the library allocates or inflates what
 * it declares; the test allocator records the largest request and refuses
 * large ones, so a regression fails here without taking the memory. Files
 * are built by hand from docs/model-format.md. */
#include "testing.h"
#include "model/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { TYPE_META = 1, TYPE_MODEL = 2, TYPE_DETECTOR = 4 };
enum { REQUIRED = 1, ZLIB = 2 };
#define MIB ((size_t)1 << 20)

typedef struct file {
    unsigned char *data;
    size_t len, cap;
} file;

static void grow(file *f, size_t n)
{
    if (f->len + n > f->cap) {
        f->cap = (f->len + n) * 2;
        f->data = realloc(f->data, f->cap);
    }
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t crc(const unsigned char *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static void file_header(file *f, uint32_t n_sections)
{
    static const unsigned char magic[8] = {0x89, 'A', 'N', 'O', 'M', 'A', 0x0D, 0x0A};
    grow(f, 24);
    unsigned char *h = f->data + f->len;
    memcpy(h, magic, 8);
    put_le(h + 8, 1, 2);
    put_le(h + 10, 0, 2);
    put_le(h + 12, 0, 4);
    put_le(h + 16, n_sections, 4);
    put_le(h + 20, crc(h, 20), 4);
    f->len += 24;
}

/* A section whose header declares `raw` bytes for `stored` stored ones. */
static void section(file *f, uint32_t type, uint32_t flags, const void *stored, size_t n,
                    uint64_t raw)
{
    grow(f, 32 + n);
    unsigned char *h = f->data + f->len;
    put_le(h, type, 4);
    put_le(h + 4, flags, 4);
    put_le(h + 8, n, 8);
    put_le(h + 16, raw, 8);
    memcpy(h + 32, stored, n);
    put_le(h + 24, crc(h + 32, n), 4);
    put_le(h + 28, crc(h, 28), 4);
    f->len += 32 + n;
}

static void plain(file *f, uint32_t type, const void *payload, size_t n)
{
    section(f, type, REQUIRED, payload, n, n);
}

/* Stored bytes that may claim 4 GiB: deflate's 1032:1 bound allows it. */
static unsigned char *bomb_bytes(size_t *n)
{
    *n = (size_t)(((uint64_t)1 << 32) / 1032) + 1;
    return calloc(*n, 1);
}

/* Load with the test allocator, refusing requests over `cap`. */
static anoma_status load(const file *f, const char *options, size_t cap, size_t *largest)
{
    anoma_model *m = NULL;
    test_alloc_install(-1);
    test_alloc_cap(cap);
    anoma_status st = anoma_model_load_memory_with(f->data, f->len, options, &m);
    *largest = test_alloc_largest();
    anoma_model_free(m);
    CHECK(test_alloc_live() == 0);
    test_alloc_restore();
    return st;
}

static void test_bomb_without_required_sections(void)
{
    /* One zlib section declaring 4 GiB, in a 4 MB file without the
     * metadata and model sections: refused from the table alone. */
    size_t n;
    unsigned char *zeros = bomb_bytes(&n);
    file f = {0};
    file_header(&f, 1);
    section(&f, TYPE_DETECTOR, REQUIRED | ZLIB, zeros, n, (uint64_t)1 << 32);
    size_t largest;
    CHECK_STATUS(load(&f, NULL, 64 * MIB, &largest), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "0 metadata sections, expected exactly 1") != NULL);
    CHECK(largest < MIB);
    free(f.data);
    free(zeros);
}

/* A small valid metadata section: no names, n_features columns. */
static size_t meta_payload(unsigned char *p, uint64_t n_features, int has_names)
{
    size_t at = 0;
    put_le(p + at, 5, 4), at += 4;
    memcpy(p + at, "0.2.0", 5), at += 5;
    put_le(p + at, 0, 4), at += 4; /* parameters: none */
    put_le(p + at, 10, 8), at += 8;
    put_le(p + at, n_features, 8), at += 8;
    p[at++] = (unsigned char)has_names;
    return at;
}

static size_t model_payload(unsigned char *p)
{
    double threshold = 1;
    memcpy(p, &threshold, 8); /* little-endian hosts, as the file */
    put_le(p + 8, 1, 4);
    return 12;
}

static void test_bombs_over_max_bytes(void)
{
    size_t n;
    unsigned char *zeros = bomb_bytes(&n);
    unsigned char meta[64], model[16];
    size_t n_meta = meta_payload(meta, 3, 0), n_model = model_payload(model);

    /* Six 4 GiB sections in a 25 MB file ask for 24 GiB. */
    file f = {0};
    file_header(&f, 8);
    plain(&f, TYPE_META, meta, n_meta);
    plain(&f, TYPE_MODEL, model, n_model);
    for (int i = 0; i < 6; i++)
        section(&f, TYPE_DETECTOR, REQUIRED | ZLIB, zeros, n, (uint64_t)1 << 32);
    size_t largest;
    CHECK_STATUS(load(&f, NULL, 64 * MIB, &largest), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "max_bytes") != NULL);
    CHECK(largest < MIB);

    /* One declaring 4 GiB, with every required section, under a host limit
     * of 100 MB. */
    f.len = 0;
    file_header(&f, 3);
    plain(&f, TYPE_META, meta, n_meta);
    plain(&f, TYPE_MODEL, model, n_model);
    section(&f, TYPE_DETECTOR, REQUIRED | ZLIB, zeros, n, (uint64_t)1 << 32);
    CHECK_STATUS(load(&f, "max_bytes=100000000", 64 * MIB, &largest), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "more than") || strstr(anoma_last_error(), "past the"));
    CHECK(strstr(anoma_last_error(), "max_bytes") != NULL);
    CHECK(largest < MIB);
    free(f.data);
    free(zeros);
}

static void test_max_bytes_option(void)
{
    static double x[40];
    for (int i = 0; i < 40; i++)
        x[i] = (i * 7919) % 13;
    anoma_model *m = NULL, *back = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    anoma_matrix view = anoma_matrix_f64(x, 20, 2);
    CHECK_OK(anoma_model_fit(m, &view, NULL, NULL));
    unsigned char buf[4096];
    size_t size = 0;
    CHECK_OK(anoma_model_save_memory(m, buf, sizeof buf, &size));

    char options[64];
    snprintf(options, sizeof options, "max_bytes=%zu", size);
    CHECK_OK(anoma_model_load_memory_with(buf, size, options, &back));
    anoma_model_free(back);
    snprintf(options, sizeof options, "max_bytes=%zu", size - 1);
    CHECK_STATUS(anoma_model_load_memory_with(buf, size, options, &back), ANOMA_ERR_FORMAT);
    CHECK(back == NULL && strstr(anoma_last_error(), "max_bytes") != NULL);
    CHECK_OK(anoma_model_load_memory_with(buf, size, "", &back));
    anoma_model_free(back);
    CHECK_STATUS(anoma_model_load_memory_with(buf, size, "max_bytes=lots", &back),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "max_bytes") != NULL);
    CHECK_STATUS(anoma_model_load_memory_with(buf, size, "max_bytes=0", &back),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(anoma_model_load_memory_with(buf, size, "max_size=10", &back),
                 ANOMA_ERR_UNKNOWN_PARAM);

    /* The file form applies the limit to the file's size before reading it. */
    char path[] = "/tmp/anoma_limits_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(anoma_model_save(m, path));
    CHECK_OK(anoma_model_load_with(path, NULL, &back));
    anoma_model_free(back);
    snprintf(options, sizeof options, "max_bytes=%zu", size - 1);
    CHECK_STATUS(anoma_model_load_with(path, options, &back), ANOMA_ERR_FORMAT);
    CHECK_STATUS(anoma_model_load_with(path, "n_threads=2", &back), ANOMA_ERR_UNKNOWN_PARAM);
    unlink(path);
    anoma_model_free(m);
}

static void test_feature_count_over_bytes_left(void)
{
    /* A 1.8 KB model whose metadata declares the most feature names a
     * model holds but holds a few hundred bytes: refused before an array
     * for all of them is made. */
    unsigned char meta[1600], model[16], detector[64] = {0};
    size_t n_meta = meta_payload(meta, AN_MODEL_MAX_FEATURES, 1);
    while (n_meta + 5 <= sizeof meta) { /* names "a" as far as they go */
        put_le(meta + n_meta, 1, 4);
        meta[n_meta + 4] = 'a';
        n_meta += 5;
    }
    file f = {0};
    file_header(&f, 3);
    plain(&f, TYPE_META, meta, n_meta);
    plain(&f, TYPE_MODEL, model, model_payload(model));
    plain(&f, TYPE_DETECTOR, detector, sizeof detector);
    CHECK(f.len < 2000);
    size_t largest;
    CHECK_STATUS(load(&f, NULL, 64 * MIB, &largest), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "1048576 feature names") != NULL);
    CHECK(largest < 64 * 1024);
    free(f.data);
}

static void test_unnamed_feature_count_over_limit(void)
{
    /* A 100-byte metadata section declaring 2^24 unnamed features: each
     * unnamed column gets a generated name on load, so the count alone
     * once made a load take millions of allocations (found by
     * fuzz_model_payloads). Refused by the limit, before any of them. */
    unsigned char meta[64], model[16], detector[64] = {0};
    file f = {0};
    file_header(&f, 3);
    plain(&f, TYPE_META, meta, meta_payload(meta, (uint64_t)1 << 24, 0));
    plain(&f, TYPE_MODEL, model, model_payload(model));
    plain(&f, TYPE_DETECTOR, detector, sizeof detector);
    size_t largest;
    CHECK_STATUS(load(&f, NULL, 64 * MIB, &largest), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "feature count out of range") != NULL);
    CHECK(largest < 64 * 1024);
    free(f.data);
}

static void test_fit_and_add_within_what_a_load_accepts(void)
{
    /* Every model that fits must load: fit, set_feature_names and
     * add_detector refuse what the loader would. */
    size_t cols = (size_t)AN_MODEL_MAX_FEATURES + 1;
    double *x = calloc(cols, sizeof *x);
    anoma_model *m = NULL;
    CHECK_STATUS(anoma_model_create("", &m), ANOMA_OK);
    CHECK_STATUS(anoma_model_add_detector(m, "zscore", "", NULL), ANOMA_OK);
    anoma_matrix one_row = anoma_matrix_f64(x, 1, cols);
    CHECK_STATUS(anoma_model_fit(m, &one_row, NULL, NULL), ANOMA_ERR_SHAPE);
    CHECK(strstr(anoma_last_error(), "at most 1048576") != NULL);
    const char *name = "a";
    const char **names = calloc(cols, sizeof *names);
    for (size_t j = 0; names && j < cols; j++)
        names[j] = name;
    CHECK_STATUS(anoma_model_set_feature_names(m, names, cols), ANOMA_ERR_SHAPE);
    for (size_t k = 1; k < AN_MODEL_MAX_DETECTORS; k++)
        CHECK_STATUS(anoma_model_add_detector(m, "zscore", "", NULL), ANOMA_OK);
    CHECK_STATUS(anoma_model_add_detector(m, "zscore", "", NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(anoma_model_n_detectors(m) == AN_MODEL_MAX_DETECTORS);
    anoma_model_free(m);
    free(names);
    free(x);
}

static void test_fit_rows_over_limit(void)
{
    /* More rows than a fit's 32-bit row indices hold: refused from the
     * shape alone, before the data are read (the matrix points at one
     * value, so a read past it would be caught by the sanitizer build). */
    double one = 1.0;
    anoma_model *m = NULL;
    CHECK_STATUS(anoma_model_create("", &m), ANOMA_OK);
    CHECK_STATUS(anoma_model_add_detector(m, "zscore", "", NULL), ANOMA_OK);
    anoma_matrix tall = anoma_matrix_f64(&one, (size_t)UINT32_MAX + 1, 1);
    CHECK_STATUS(anoma_model_fit(m, &tall, NULL, NULL), ANOMA_ERR_SHAPE);
    CHECK(strstr(anoma_last_error(), "a fit takes at most 4294967295") != NULL);
    anoma_matrix one_row = anoma_matrix_f64(&one, 1, 1);
    CHECK_STATUS(anoma_model_fit(m, &one_row, NULL, NULL), ANOMA_OK); /* still usable */
    anoma_model_free(m);
}

int main(void)
{
    RUN(test_bomb_without_required_sections);
    RUN(test_bombs_over_max_bytes);
    RUN(test_max_bytes_option);
    RUN(test_feature_count_over_bytes_left);
    RUN(test_unnamed_feature_count_over_limit);
    RUN(test_fit_and_add_within_what_a_load_accepts);
    RUN(test_fit_rows_over_limit);
    return test_summary();
}

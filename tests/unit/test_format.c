/* The model file container (lib/io/format.h): layout, round trips, and
 * hostile input. The reference for the layout is docs/model-format.md: the
 * hand-built files below are written from it with zlib directly, never with
 * the encoder under test. */
#include "testing.h"

#include "core/alloc.h"
#include "io/format.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const uint32_t all_types[] = {AN_SECTION_META, AN_SECTION_MODEL, AN_SECTION_PIPELINE,
                                     AN_SECTION_DETECTOR};
#define N_ALL_TYPES (sizeof all_types / sizeof all_types[0])

/* Hand-built files, straight from the spec. */

static void le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t crc(const void *p, size_t n) { return (uint32_t)crc32(0, p, (uInt)n); }

/* 24-byte file header at p. */
static size_t ref_file_header(unsigned char *p, unsigned major, unsigned minor, uint32_t flags,
                              uint32_t count)
{
    static const unsigned char magic[8] = {0x89, 'A', 'N', 'O', 'M', 'A', 0x0D, 0x0A};
    memcpy(p, magic, 8);
    le(p + 8, major, 2);
    le(p + 10, minor, 2);
    le(p + 12, flags, 4);
    le(p + 16, count, 4);
    le(p + 20, crc(p, 20), 4);
    return 24;
}

/* 32-byte section header at p with the given declared lengths. */
static size_t ref_section_header(unsigned char *p, uint32_t type, uint32_t flags, uint64_t stored,
                                 uint64_t raw, uint32_t payload_crc)
{
    le(p, type, 4);
    le(p + 4, flags, 4);
    le(p + 8, stored, 8);
    le(p + 16, raw, 8);
    le(p + 24, payload_crc, 4);
    le(p + 28, crc(p, 28), 4);
    return 32;
}

/* A whole section: header then `stored` bytes of payload. */
static size_t ref_section(unsigned char *p, uint32_t type, uint32_t flags, const void *payload,
                          size_t stored, size_t raw)
{
    size_t n = ref_section_header(p, type, flags, stored, raw, crc(payload, stored));
    memcpy(p + n, payload, stored);
    return n + stored;
}

static int section_is(const an_section *s, uint32_t type, uint32_t flags, const void *data,
                      size_t size)
{
    return s->type == type && s->flags == flags && s->size == size && s->data &&
           (size == 0 || memcmp(s->data, data, size) == 0);
}

static anoma_status decode_all(const void *data, size_t size, an_section_list *out)
{
    return an_format_decode(data, size, all_types, N_ALL_TYPES, out);
}

/* A small valid file with a compressed and a raw section, made by the encoder. */
static void small_file(an_writer *w)
{
    char text[300];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "anomaly "[i % 8];
    an_section s[2] = {
        {AN_SECTION_META, AN_SECTION_REQUIRED, (const unsigned char *)text, sizeof text},
        {AN_SECTION_MODEL, 0, (const unsigned char *)"tiny", 4},
    };
    CHECK_OK(an_format_encode(s, 2, w));
}

static void test_round_trip(void)
{
    size_t big_size = 100000;
    unsigned char *big = malloc(big_size);
    unsigned char noise[1000];
    for (size_t i = 0; i < big_size; i++)
        big[i] = (unsigned char)("0123456789,"[i % 11] + (i % 1000 == 0));
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)(test_lcg(&x) >> 23);

    an_section in[4] = {
        {AN_SECTION_META, AN_SECTION_REQUIRED, big, big_size},
        /* Only REQUIRED is taken from input flags. */
        {AN_SECTION_MODEL, AN_SECTION_ZLIB | 0x80, (const unsigned char *)"abc", 3},
        {AN_SECTION_PIPELINE, AN_SECTION_REQUIRED, NULL, 0},
        {AN_SECTION_DETECTOR, 0, noise, sizeof noise},
    };
    an_writer w = {0};
    CHECK_OK(an_format_encode(in, 4, &w));
    CHECK(w.len < big_size); /* the large payload was compressed */
    CHECK(w.len > 24 + 4 * 32 + 3 + sizeof noise);

    /* First section header: ZLIB chosen, stored length smaller than raw. */
    uint64_t stored = 0, raw = 0;
    for (int i = 7; i >= 0; i--) {
        stored = stored << 8 | w.data[24 + 8 + i];
        raw = raw << 8 | w.data[24 + 16 + i];
    }
    CHECK(w.data[24 + 4] == (AN_SECTION_REQUIRED | AN_SECTION_ZLIB));
    CHECK(raw == big_size && stored < raw / 10);

    an_section_list list;
    CHECK_OK(decode_all(w.data, w.len, &list));
    CHECK(list.n == 4);
    if (list.n == 4) {
        CHECK(section_is(&list.items[0], AN_SECTION_META, AN_SECTION_REQUIRED | AN_SECTION_ZLIB,
                         big, big_size));
        CHECK(section_is(&list.items[1], AN_SECTION_MODEL, 0, "abc", 3));
        CHECK(section_is(&list.items[2], AN_SECTION_PIPELINE, AN_SECTION_REQUIRED, NULL, 0));
        CHECK(section_is(&list.items[3], AN_SECTION_DETECTOR, 0, noise, sizeof noise));
    }
    an_section_list_free(&list);
    CHECK(list.items == NULL && list.n == 0);
    an_section_list_free(&list); /* twice is harmless */

    /* Appends to what the writer holds; zero sections is a valid file. */
    an_writer w2 = {0};
    an_put_bytes(&w2, "xy", 2);
    CHECK_OK(an_format_encode(NULL, 0, &w2));
    CHECK(w2.len == 2 + 24);
    CHECK_OK(decode_all(w2.data + 2, w2.len - 2, &list));
    CHECK(list.n == 0);
    an_section_list_free(&list);

    an_writer_free(&w2);
    an_writer_free(&w);
    free(big);
}

static void test_hand_built_reference(void)
{
    static unsigned char file[8192];
    const char *hello = "hello, model";
    char text[2000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "threshold=0.5 "[i % 14];
    unsigned char packed[1024];
    uLongf packed_len = sizeof packed;
    CHECK(compress2(packed, &packed_len, (const Bytef *)text, sizeof text, 6) == Z_OK);

    size_t n = ref_file_header(file, 1, 1, 0, 2); /* what this library writes: 1.1 */
    n += ref_section(file + n, AN_SECTION_MODEL, AN_SECTION_REQUIRED, hello, strlen(hello),
                     strlen(hello));
    n += ref_section(file + n, AN_SECTION_DETECTOR, AN_SECTION_ZLIB, packed, packed_len,
                     sizeof text);

    an_section_list list;
    CHECK_OK(decode_all(file, n, &list));
    CHECK(list.n == 2);
    if (list.n == 2) {
        CHECK(section_is(&list.items[0], AN_SECTION_MODEL, AN_SECTION_REQUIRED, hello,
                         strlen(hello)));
        CHECK(section_is(&list.items[1], AN_SECTION_DETECTOR, AN_SECTION_ZLIB, text,
                         sizeof text));
    }
    an_section_list_free(&list);

    /* The encoder writes exactly these bytes. */
    an_section in[2] = {
        {AN_SECTION_MODEL, AN_SECTION_REQUIRED, (const unsigned char *)hello, strlen(hello)},
        {AN_SECTION_DETECTOR, 0, (const unsigned char *)text, sizeof text},
    };
    an_writer w = {0};
    CHECK_OK(an_format_encode(in, 2, &w));
    CHECK(w.len == n && memcmp(w.data, file, n) == 0);
    an_writer_free(&w);

    /* Spot checks of fixed offsets in the header. */
    CHECK(file[0] == 0x89 && file[6] == 0x0D && file[7] == 0x0A);
    CHECK(file[8] == 1 && file[9] == 0 && file[10] == 1 && file[16] == 2);
}

/* The example in docs/model-format.md, byte for byte. */
static void test_documented_example(void)
{
    static const unsigned char doc[56] = {
        0x89, 0x41, 0x4e, 0x4f, 0x4d, 0x41, 0x0d, 0x0a, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x92, 0x2c, 0x5c, 0x2b, 0x02, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf4, 0xe8, 0x3e, 0x02,
    };
    an_section_list list;
    CHECK_OK(decode_all(doc, sizeof doc, &list));
    CHECK(list.n == 1 && section_is(&list.items[0], AN_SECTION_MODEL, AN_SECTION_REQUIRED, "", 0));
    an_section_list_free(&list);

    an_section in = {AN_SECTION_MODEL, AN_SECTION_REQUIRED, NULL, 0};
    an_writer w = {0};
    CHECK_OK(an_format_encode(&in, 1, &w));
    CHECK(w.len == sizeof doc && memcmp(w.data, doc, sizeof doc) == 0);
    an_writer_free(&w);
}

static void test_every_bit_flip(void)
{
    an_writer w = {0};
    small_file(&w);
    int bad = 0;
    for (size_t bit = 0; bit < w.len * 8; bit++) {
        w.data[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        an_section_list list = {(an_section *)1, 99, 0};
        anoma_status st = decode_all(w.data, w.len, &list);
        if (st != ANOMA_ERR_FORMAT && st != ANOMA_ERR_VERSION) {
            if (bad++ < 5)
                test_fail(__FILE__, __LINE__, "flipping bit %zu gave %s", bit,
                          anoma_status_str(st));
            if (st == ANOMA_OK)
                an_section_list_free(&list);
        } else if (list.items != NULL || list.n != 0) {
            test_fail(__FILE__, __LINE__, "bit %zu: error left sections in *out", bit);
        }
        w.data[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    an_section_list list;
    CHECK_OK(decode_all(w.data, w.len, &list)); /* restored */
    an_section_list_free(&list);
    an_writer_free(&w);
}

static void test_every_truncation(void)
{
    an_writer w = {0};
    small_file(&w);
    for (size_t len = 0; len < w.len; len++) {
        an_section_list list;
        anoma_status st = decode_all(w.data, len, &list);
        if (st != ANOMA_ERR_FORMAT) {
            test_fail(__FILE__, __LINE__, "truncating to %zu bytes gave %s", len,
                      anoma_status_str(st));
            an_section_list_free(&list);
        }
    }
    an_section_list list;
    CHECK_STATUS(decode_all(NULL, 0, &list), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "header") != NULL);
    an_writer_free(&w);
}

static void test_trailing_bytes(void)
{
    an_writer w = {0};
    small_file(&w);
    unsigned char zeros[32] = {0};
    an_section_list list;
    an_put_u8(&w, 0);
    CHECK_STATUS(decode_all(w.data, w.len, &list), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "after the last section") != NULL);
    an_put_bytes(&w, zeros, sizeof zeros);
    CHECK_STATUS(decode_all(w.data, w.len, &list), ANOMA_ERR_FORMAT);
    an_writer_free(&w);
}

/* A test allocator: counts live blocks, remembers the largest request, and
 * fails the fail_at-th call (0: never). */
static struct {
    long live, calls, fail_at;
    size_t largest;
} talloc;

static int take_call(size_t size)
{
    if (size > talloc.largest)
        talloc.largest = size;
    return ++talloc.calls != talloc.fail_at;
}

static void *t_malloc(void *user, size_t size)
{
    (void)user;
    void *p = take_call(size) ? malloc(size) : NULL;
    talloc.live += p != NULL;
    return p;
}

static void *t_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    void *p = take_call(size) ? realloc(ptr, size) : NULL;
    talloc.live += p != NULL && ptr == NULL;
    return p;
}

static void t_free(void *user, void *ptr)
{
    (void)user;
    if (ptr) {
        talloc.live--;
        free(ptr);
    }
}

static void use_test_allocator(long fail_at)
{
    static const anoma_allocator a = {t_malloc, t_realloc, t_free, NULL};
    talloc.calls = 0;
    talloc.fail_at = fail_at;
    talloc.largest = 0;
    anoma_set_allocator(&a);
}

static void test_huge_lengths(void)
{
    static unsigned char file[4096];
    unsigned char payload[20] = "0123456789abcdefghi";
    an_section_list list;
    use_test_allocator(0);

    /* Declared stored length far beyond the file. */
    size_t n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section_header(file + n, AN_SECTION_META, 0, (uint64_t)1 << 40, (uint64_t)1 << 40,
                            crc(payload, 20));
    memcpy(file + n, payload, 20);
    CHECK_STATUS(decode_all(file, n + 20, &list), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "byte 24") != NULL);

    /* Raw length above the limit, raw and compressed. */
    n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section_header(file + n, AN_SECTION_META, 0, 20, (uint64_t)1 << 33, crc(payload, 20));
    memcpy(file + n, payload, 20);
    CHECK_STATUS(decode_all(file, n + 20, &list), ANOMA_ERR_FORMAT);
    n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section_header(file + n, AN_SECTION_META, AN_SECTION_ZLIB, 20, UINT64_MAX,
                            crc(payload, 20));
    memcpy(file + n, payload, 20);
    CHECK_STATUS(decode_all(file, n + 20, &list), ANOMA_ERR_FORMAT);

    /* Under the limit, but more than 20 compressed bytes can inflate to. */
    n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section_header(file + n, AN_SECTION_META, AN_SECTION_ZLIB, 20, (uint64_t)1 << 31,
                            crc(payload, 20));
    memcpy(file + n, payload, 20);
    CHECK_STATUS(decode_all(file, n + 20, &list), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "inflate") != NULL);

    /* A section count that cannot fit. */
    n = ref_file_header(file, 1, 0, 0, UINT32_MAX);
    CHECK_STATUS(decode_all(file, n + 64, &list), ANOMA_ERR_FORMAT);

    CHECK(talloc.largest < 4096); /* none of the declared sizes was allocated */
    CHECK(talloc.live == 0);
    anoma_set_allocator(NULL);
}

static void test_bad_sections(void)
{
    static unsigned char file[4096];
    an_section_list list;
    char text[500];
    memset(text, 'z', sizeof text);
    unsigned char packed[600];
    uLongf packed_len = sizeof packed;
    CHECK(compress2(packed, &packed_len, (const Bytef *)text, sizeof text, 6) == Z_OK);

    /* Unknown section flag bit. */
    size_t n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section(file + n, AN_SECTION_META, 1u << 2, "abc", 3, 3);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "flags") != NULL);

    /* Reserved file header flags. */
    n = ref_file_header(file, 1, 0, 1, 1);
    n += ref_section(file + n, AN_SECTION_META, 0, "abc", 3, 3);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);

    /* Uncompressed, but raw != stored. */
    n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section(file + n, AN_SECTION_META, 0, "abc", 3, 4);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);

    /* ZLIB flag on bytes that are not a zlib stream. */
    n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section(file + n, AN_SECTION_META, AN_SECTION_ZLIB, "abcdefgh", 8, 8);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);

    /* A good zlib stream with a wrong raw length, either way. */
    n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section(file + n, AN_SECTION_META, AN_SECTION_ZLIB, packed, packed_len,
                     sizeof text + 1);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "fewer") != NULL);
    n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section(file + n, AN_SECTION_META, AN_SECTION_ZLIB, packed, packed_len,
                     sizeof text - 1);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "more") != NULL);

    /* Bytes after the zlib stream inside the payload. */
    packed[packed_len] = 0;
    n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section(file + n, AN_SECTION_META, AN_SECTION_ZLIB, packed, packed_len + 1,
                     sizeof text);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);

    /* A truncated zlib stream. */
    n = ref_file_header(file, 1, 0, 0, 1);
    n += ref_section(file + n, AN_SECTION_META, AN_SECTION_ZLIB, packed, packed_len - 3,
                     sizeof text);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);

    /* Error messages say where. */
    n = ref_file_header(file, 1, 0, 0, 2);
    n += ref_section(file + n, AN_SECTION_META, 0, "abc", 3, 3);
    n += ref_section(file + n, AN_SECTION_META, 0, "abc", 3, 3);
    file[n - 1] ^= 1;
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "byte 59") != NULL);
}

static void test_versions(void)
{
    static unsigned char file[256];
    an_section_list list;

    size_t n = ref_file_header(file, AN_FORMAT_MAJOR + 1, 0, 0, 1);
    n += ref_section(file + n, AN_SECTION_META, 0, "abc", 3, 3);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_VERSION);
    char versions[64];
    snprintf(versions, sizeof versions, "%d.0", AN_FORMAT_MAJOR + 1);
    CHECK(strstr(anoma_last_error(), versions) != NULL);
    snprintf(versions, sizeof versions, "%d.%d", AN_FORMAT_MAJOR, AN_FORMAT_MINOR);
    CHECK(strstr(anoma_last_error(), versions) != NULL);

    /* A newer minor of the same major is read. */
    n = ref_file_header(file, AN_FORMAT_MAJOR, AN_FORMAT_MINOR + 7, 0, 1);
    n += ref_section(file + n, AN_SECTION_META, 0, "abc", 3, 3);
    CHECK_OK(decode_all(file, n, &list));
    CHECK(list.n == 1 && section_is(&list.items[0], AN_SECTION_META, 0, "abc", 3));
    an_section_list_free(&list);

    n = ref_file_header(file, 0, 9, 0, 0);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_FORMAT);
}

static void test_unknown_sections(void)
{
    static unsigned char file[256];
    an_section_list list;

    size_t n = ref_file_header(file, 1, 0, 0, 3);
    n += ref_section(file + n, 99, 0, "future", 6, 6);
    n += ref_section(file + n, AN_SECTION_META, AN_SECTION_REQUIRED, "abc", 3, 3);
    n += ref_section(file + n, 1000, 0, "", 0, 0);
    CHECK_OK(decode_all(file, n, &list));
    CHECK(list.n == 1 && section_is(&list.items[0], AN_SECTION_META, AN_SECTION_REQUIRED, "abc", 3));
    an_section_list_free(&list);

    /* "Known" is the caller's list: here META is unknown, and required. */
    const uint32_t only_model[] = {AN_SECTION_MODEL};
    CHECK_STATUS(an_format_decode(file, n, only_model, 1, &list), ANOMA_ERR_VERSION);
    CHECK(strstr(anoma_last_error(), "section type 1 ") != NULL);

    n = ref_file_header(file, 1, 0, 0, 2);
    n += ref_section(file + n, AN_SECTION_META, 0, "abc", 3, 3);
    n += ref_section(file + n, 99, AN_SECTION_REQUIRED, "future", 6, 6);
    CHECK_STATUS(decode_all(file, n, &list), ANOMA_ERR_VERSION);
    CHECK(strstr(anoma_last_error(), "section type 99") != NULL);
    CHECK(list.items == NULL && list.n == 0);
}

static void test_allocation_failures(void)
{
    use_test_allocator(0);
    an_writer w = {0};
    small_file(&w);
    an_section_list list;
    CHECK_OK(decode_all(w.data, w.len, &list));
    an_section_list_free(&list);
    long live_before = talloc.live; /* the writer's buffer */

    int reached_ok = 0;
    for (long k = 1; k <= 200 && !reached_ok; k++) {
        use_test_allocator(k);
        anoma_status st = decode_all(w.data, w.len, &list);
        if (st == ANOMA_OK) {
            reached_ok = 1;
            CHECK(list.n == 2);
            an_section_list_free(&list);
        } else if (st != ANOMA_ERR_NO_MEMORY) {
            test_fail(__FILE__, __LINE__, "decode failing allocation %ld gave %s", k,
                      anoma_status_str(st));
        }
        if (talloc.live != live_before)
            test_fail(__FILE__, __LINE__, "decode failing allocation %ld leaked %ld blocks", k,
                      talloc.live - live_before);
    }
    CHECK(reached_ok);

    /* The encoder too. */
    reached_ok = 0;
    for (long k = 1; k <= 200 && !reached_ok; k++) {
        use_test_allocator(k);
        an_writer w2 = {0};
        char text[300];
        memset(text, 'q', sizeof text);
        an_section s = {AN_SECTION_META, 0, (const unsigned char *)text, sizeof text};
        anoma_status st = an_format_encode(&s, 1, &w2);
        if (st == ANOMA_OK)
            reached_ok = 1;
        else if (st != ANOMA_ERR_NO_MEMORY)
            test_fail(__FILE__, __LINE__, "encode failing allocation %ld gave %s", k,
                      anoma_status_str(st));
        an_writer_free(&w2);
        if (talloc.live != live_before)
            test_fail(__FILE__, __LINE__, "encode failing allocation %ld leaked %ld blocks", k,
                      talloc.live - live_before);
    }
    CHECK(reached_ok);

    use_test_allocator(0);
    an_writer_free(&w);
    CHECK(talloc.live == 0);
    anoma_set_allocator(NULL);
}

/* Names in dir, other than . and .., joined by spaces. */
static void list_dir(const char *dir, char *out, size_t cap)
{
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%s", used ? " " : "", e->d_name);
    }
    closedir(d);
}

static void test_files(void)
{
    char dir[] = "/tmp/anoma_format_XXXXXX";
    if (!mkdtemp(dir)) {
        test_skip("cannot create a temporary directory");
        return;
    }
    char path[256], names[512], missing[256];
    snprintf(path, sizeof path, "%s/model.anoma", dir);
    snprintf(missing, sizeof missing, "%s/nothing-here", dir);

    an_writer w = {0};
    small_file(&w);
    CHECK_OK(an_file_write_atomic(path, w.data, w.len));
    list_dir(dir, names, sizeof names);
    CHECK(!strcmp(names, "model.anoma"));

    unsigned char *data = NULL;
    size_t size = 0;
    CHECK_OK(an_file_read(path, 1 << 20, &data, &size));
    CHECK(size == w.len && data && memcmp(data, w.data, size) == 0);
    an_free(data);

    /* Overwriting replaces the file and leaves nothing else behind. */
    CHECK_OK(an_file_write_atomic(path, "short", 5));
    list_dir(dir, names, sizeof names);
    CHECK(!strcmp(names, "model.anoma"));
    CHECK_OK(an_file_read(path, 5, &data, &size));
    CHECK(size == 5 && data && memcmp(data, "short", 5) == 0);
    an_free(data);

    /* An empty file round-trips too. */
    CHECK_OK(an_file_write_atomic(path, NULL, 0));
    CHECK_OK(an_file_read(path, 5, &data, &size));
    CHECK(size == 0);
    an_free(data);

    CHECK_OK(an_file_write_atomic(path, w.data, w.len));
    CHECK_STATUS(an_file_read(path, w.len - 1, &data, &size), ANOMA_ERR_FORMAT);
    CHECK(data == NULL && size == 0);
    CHECK_STATUS(an_file_read(dir, 1 << 20, &data, &size), ANOMA_ERR_IO);
    CHECK(strstr(anoma_last_error(), dir) != NULL);
    CHECK_STATUS(an_file_read(missing, 1 << 20, &data, &size), ANOMA_ERR_IO);
    CHECK(strstr(anoma_last_error(), "nothing-here") != NULL);
    CHECK(data == NULL && size == 0);

    /* Writing into a missing directory fails cleanly. */
    char nested[300];
    snprintf(nested, sizeof nested, "%s/no/such/dir/m.anoma", dir);
    CHECK_STATUS(an_file_write_atomic(nested, "x", 1), ANOMA_ERR_IO);
    CHECK(strstr(anoma_last_error(), "no/such/dir") != NULL);

    /* Renaming over a directory fails, and the temporary file is removed. */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    CHECK(mkdir(sub, 0700) == 0);
    CHECK_STATUS(an_file_write_atomic(sub, "x", 1), ANOMA_ERR_IO);
    list_dir(dir, names, sizeof names);
    CHECK(strstr(names, ".tmp.") == NULL);

    rmdir(sub);
    unlink(path);
    CHECK(rmdir(dir) == 0);
    an_writer_free(&w);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_hand_built_reference);
    RUN(test_documented_example);
    RUN(test_every_bit_flip);
    RUN(test_every_truncation);
    RUN(test_trailing_bytes);
    RUN(test_huge_lengths);
    RUN(test_bad_sections);
    RUN(test_versions);
    RUN(test_unknown_sections);
    RUN(test_allocation_failures);
    RUN(test_files);
    return test_summary();
}

/* The model file container: framing, compression and checking of sections.
 * docs/model-format.md is the byte-by-byte description; keep the two in step.
 *
 * The decoder treats its input as hostile: every length is checked against
 * the bytes that remain and against AN_FORMAT_MAX_PAYLOAD before it is used,
 * and nothing is allocated before the declared sizes have been bounded. */
#include "io/format.h"
#include "core/alloc.h"
#include "core/error.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

#define FILE_HEADER_SIZE 24
#define SECTION_HEADER_SIZE 32
#define ZLIB_LEVEL 6
/* deflate never expands more than 1032:1; the constant covers the zlib
 * header, the adler32 trailer and a final empty block. */
#define ZLIB_MAX_RATIO 1032
#define ZLIB_RATIO_SLACK 64

static const unsigned char magic[8] = {0x89, 'A', 'N', 'O', 'M', 'A', 0x0D, 0x0A};

/* Flags a reader of this major version understands. */
#define KNOWN_SECTION_FLAGS ((uint32_t)(AN_SECTION_REQUIRED | AN_SECTION_ZLIB))

/* Little-endian stores and loads on raw bytes. */

static void store_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t load_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint16_t load_u16(const unsigned char *p) { return (uint16_t)load_le(p, 2); }
static uint32_t load_u32(const unsigned char *p) { return (uint32_t)load_le(p, 4); }
static uint64_t load_u64(const unsigned char *p) { return load_le(p, 8); }

/* zlib's crc32() takes a uInt length; payloads may be longer. */
uint32_t an_crc32(const unsigned char *data, size_t size)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (size > 0) {
        uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
        crc = crc32(crc, data, chunk);
        data += chunk;
        size -= chunk;
    }
    return (uint32_t)crc;
}

/* zlib allocates through the library's allocator like everything else, so a
 * host allocator sees (and tests can fail) zlib's state and window too. */
static voidpf an_zalloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return an_malloc_array(items, size);
}

static void an_zfree(voidpf opaque, voidpf ptr)
{
    (void)opaque;
    an_free(ptr);
}

/* Hand zlib at most UINT_MAX bytes at a time from a size_t-long buffer. */
static void refill(Bytef **next, uInt *avail, const unsigned char **from, size_t *left)
{
    if (*avail != 0 || *left == 0)
        return;
    uInt chunk = *left > UINT_MAX ? UINT_MAX : (uInt)*left;
    *next = (Bytef *)*from;
    *avail = chunk;
    *from += chunk;
    *left -= chunk;
}

/* Compress `in` into a new allocation if, and only if, the zlib stream is
 * strictly shorter than the input. *out is NULL when compression does not pay.
 * The output buffer is one byte shorter than the input, so a stream that
 * does not pay stops as soon as it fills it. */
static anoma_status an_deflate_if_smaller(const unsigned char *in, size_t in_size,
                                          unsigned char **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    if (in_size < 2)
        return ANOMA_OK; /* a zlib stream is never shorter than 8 bytes */

    size_t cap = in_size - 1;
    unsigned char *buf = an_malloc(cap);
    if (!buf)
        return an_no_memory();

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    zs.zalloc = an_zalloc;
    zs.zfree = an_zfree;
    int rc = deflateInit(&zs, ZLIB_LEVEL);
    if (rc != Z_OK) {
        an_free(buf);
        return rc == Z_MEM_ERROR ? an_no_memory()
                                 : an_error(ANOMA_ERR_INTERNAL, "deflateInit failed (%d)", rc);
    }

    const unsigned char *in_next = in, *out_next = buf;
    size_t in_left = in_size, out_left = cap;
    int pays = 0;
    anoma_status status = ANOMA_OK;
    for (;;) {
        refill(&zs.next_in, &zs.avail_in, &in_next, &in_left);
        refill(&zs.next_out, &zs.avail_out, &out_next, &out_left);
        int flush = in_left == 0 ? Z_FINISH : Z_NO_FLUSH;
        rc = deflate(&zs, flush);
        if (rc == Z_STREAM_END) {
            pays = 1;
            break;
        }
        if (rc == Z_MEM_ERROR) {
            status = an_no_memory();
            break;
        }
        if (rc != Z_OK) {
            status = an_error(ANOMA_ERR_INTERNAL, "deflate failed (%d)", rc);
            break;
        }
        if (zs.avail_out == 0 && out_left == 0)
            break; /* compressed form would not be smaller */
    }
    size_t produced = cap - out_left - zs.avail_out;
    deflateEnd(&zs);

    if (status != ANOMA_OK || !pays) {
        an_free(buf);
        return status;
    }
    *out = buf;
    *out_size = produced;
    return ANOMA_OK;
}

/* Inflate `in` into exactly out_size bytes: the stream must end, use all of
 * its input and produce exactly out_size bytes. */
static anoma_status an_inflate_exact(const unsigned char *in, size_t in_size, unsigned char *out,
                                     size_t out_size, size_t offset, uint32_t type)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    zs.zalloc = an_zalloc;
    zs.zfree = an_zfree;
    int rc = inflateInit(&zs);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? an_no_memory()
                                 : an_error(ANOMA_ERR_INTERNAL, "inflateInit failed (%d)", rc);

    const unsigned char *in_next = in, *out_next = out;
    size_t in_left = in_size, out_left = out_size;
    zs.next_out = out; /* non-NULL even when out_size is 0 */
    do {
        refill(&zs.next_in, &zs.avail_in, &in_next, &in_left);
        refill(&zs.next_out, &zs.avail_out, &out_next, &out_left);
        rc = inflate(&zs, Z_NO_FLUSH);
    } while (rc == Z_OK);

    int in_used = zs.avail_in == 0 && in_left == 0;
    int out_full = zs.avail_out == 0 && out_left == 0;
    inflateEnd(&zs);

    if (rc == Z_MEM_ERROR)
        return an_no_memory();
    if (rc == Z_STREAM_END && in_used && out_full)
        return ANOMA_OK;

    const char *why;
    if (rc == Z_STREAM_END)
        why = !out_full ? "inflates to fewer bytes than its declared raw length"
                        : "has bytes after the end of its zlib stream";
    else if (rc == Z_BUF_ERROR && out_full && !in_used)
        why = "inflates to more bytes than its declared raw length";
    else if (rc == Z_BUF_ERROR)
        why = "has a truncated zlib stream";
    else
        why = "has a corrupt zlib stream";
    return an_error(ANOMA_ERR_FORMAT, "model file: section of type %u at byte %zu %s", type,
                    offset, why);
}

/* Encoding. */

static void encode_file_header(unsigned char h[FILE_HEADER_SIZE], uint32_t n_sections)
{
    memcpy(h, magic, sizeof magic);
    store_le(h + 8, AN_FORMAT_MAJOR, 2);
    store_le(h + 10, AN_FORMAT_MINOR, 2);
    store_le(h + 12, 0, 4); /* header flags: reserved */
    store_le(h + 16, n_sections, 4);
    store_le(h + 20, an_crc32(h, 20), 4);
}

static void encode_section_header(unsigned char h[SECTION_HEADER_SIZE], uint32_t type,
                                  uint32_t flags, uint64_t stored, uint64_t raw,
                                  uint32_t payload_crc)
{
    store_le(h, type, 4);
    store_le(h + 4, flags, 4);
    store_le(h + 8, stored, 8);
    store_le(h + 16, raw, 8);
    store_le(h + 24, payload_crc, 4);
    store_le(h + 28, an_crc32(h, 28), 4);
}

static anoma_status encode_section(const an_section *s, size_t index, an_writer *out)
{
    if (!s->data && s->size > 0)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "model file: section %zu has no data but a size of %zu", index, s->size);
    if ((uint64_t)s->size > AN_FORMAT_MAX_PAYLOAD)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "model file: section %zu is %zu bytes, more than the %llu a reader accepts",
                        index, s->size, (unsigned long long)AN_FORMAT_MAX_PAYLOAD);

    unsigned char *packed;
    size_t packed_size;
    AN_TRY(an_deflate_if_smaller(s->data, s->size, &packed, &packed_size));

    uint32_t flags = s->flags & AN_SECTION_REQUIRED;
    const unsigned char *stored = s->data;
    size_t stored_size = s->size;
    if (packed) {
        flags |= AN_SECTION_ZLIB;
        stored = packed;
        stored_size = packed_size;
    }

    unsigned char h[SECTION_HEADER_SIZE];
    encode_section_header(h, s->type, flags, stored_size, s->size,
                          an_crc32(stored, stored_size));
    an_put_bytes(out, h, sizeof h);
    an_put_bytes(out, stored, stored_size);
    an_free(packed);
    return an_writer_status(out);
}

anoma_status an_format_encode(const an_section *sections, size_t n, an_writer *out)
{
    if (!out || (!sections && n > 0))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_format_encode: NULL argument");
    if (n > UINT32_MAX)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "model file: %zu sections, more than a file can hold", n);

    size_t start = out->len; /* on failure, leave out as it was */
    unsigned char h[FILE_HEADER_SIZE];
    encode_file_header(h, (uint32_t)n);
    an_put_bytes(out, h, sizeof h);
    anoma_status status = an_writer_status(out);
    for (size_t i = 0; status == ANOMA_OK && i < n; i++)
        status = encode_section(&sections[i], i, out);
    if (status != ANOMA_OK && out->len > start)
        out->len = start;
    return status;
}

/* Decoding. */

void an_section_list_free(an_section_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        an_free((void *)list->items[i].data);
    an_free(list->items);
    list->items = NULL;
    list->n = 0;
}

static anoma_status check_file_header(const unsigned char *p, size_t size, uint32_t *n_sections)
{
    if (size < FILE_HEADER_SIZE)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: %zu bytes is shorter than the %d-byte file header", size,
                        FILE_HEADER_SIZE);
    if (memcmp(p, magic, sizeof magic) != 0)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: bad magic number at byte 0 (not a libanoma model file)");
    uint32_t crc = load_u32(p + 20), computed = an_crc32(p, 20);
    if (crc != computed)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: file header checksum mismatch at byte 20 (stored 0x%08x, "
                        "computed 0x%08x)",
                        crc, computed);

    unsigned major = load_u16(p + 8), minor = load_u16(p + 10);
    if (major > AN_FORMAT_MAJOR)
        return an_error(ANOMA_ERR_VERSION,
                        "model file: format version %u.%u at byte 8 is newer than the %d.%d this "
                        "library reads; written by a newer libanoma?",
                        major, minor, AN_FORMAT_MAJOR, AN_FORMAT_MINOR);
    if (major == 0)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: format major version 0 at byte 8 does not exist");
    if (major < AN_FORMAT_MAJOR)
        return an_error(ANOMA_ERR_VERSION,
                        "model file: format version %u.%u at byte 8 is older than the %d.x this "
                        "library reads",
                        major, minor, AN_FORMAT_MAJOR);

    uint32_t flags = load_u32(p + 12);
    if (flags != 0)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: unknown file header flags 0x%08x at byte 12", flags);

    *n_sections = load_u32(p + 16);
    size_t left = size - FILE_HEADER_SIZE;
    if (*n_sections > left / SECTION_HEADER_SIZE)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: section count %u at byte 16 cannot fit in the %zu bytes "
                        "that follow the header",
                        *n_sections, left);
    return ANOMA_OK;
}

/* What a checked section header says. */
typedef struct section_frame {
    uint32_t type, flags;
    size_t stored, raw;
    const unsigned char *payload;
} section_frame;

/* Check the section header at byte `at`, and its payload's bounds and CRC. */
static anoma_status check_section(const unsigned char *p, size_t size, size_t at,
                                  section_frame *f)
{
    if (size - at < SECTION_HEADER_SIZE)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: truncated section header at byte %zu (%zu bytes left, "
                        "need %d)",
                        at, size - at, SECTION_HEADER_SIZE);
    const unsigned char *h = p + at;
    uint32_t crc = load_u32(h + 28);
    if (crc != an_crc32(h, 28))
        return an_error(ANOMA_ERR_FORMAT, "model file: section header checksum mismatch at byte %zu",
                        at + 28);

    f->type = load_u32(h);
    f->flags = load_u32(h + 4);
    uint64_t stored = load_u64(h + 8), raw = load_u64(h + 16);
    uint32_t payload_crc = load_u32(h + 24);
    size_t left = size - at - SECTION_HEADER_SIZE;

    if (f->flags & ~KNOWN_SECTION_FLAGS)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: unknown section flags 0x%08x at byte %zu", f->flags, at + 4);
    if (stored > left)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: section at byte %zu declares %llu stored bytes but only %zu "
                        "remain",
                        at, (unsigned long long)stored, left);
    if (stored > AN_FORMAT_MAX_PAYLOAD)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: section at byte %zu declares %llu stored bytes, more than "
                        "the %llu a reader accepts",
                        at, (unsigned long long)stored, (unsigned long long)AN_FORMAT_MAX_PAYLOAD);
    if (raw > AN_FORMAT_MAX_PAYLOAD || raw > SIZE_MAX)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: section at byte %zu declares %llu raw bytes, more than the "
                        "%llu a reader accepts",
                        at, (unsigned long long)raw, (unsigned long long)AN_FORMAT_MAX_PAYLOAD);

    f->payload = h + SECTION_HEADER_SIZE;
    f->stored = (size_t)stored;
    f->raw = (size_t)raw;
    uint32_t computed = an_crc32(f->payload, f->stored);
    if (payload_crc != computed)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: payload checksum mismatch in section at byte %zu (stored "
                        "0x%08x, computed 0x%08x)",
                        at, payload_crc, computed);

    if (f->flags & AN_SECTION_ZLIB) {
        /* Bound the allocation by what the stored bytes could inflate to. */
        if (raw > (uint64_t)ZLIB_MAX_RATIO * stored + ZLIB_RATIO_SLACK)
            return an_error(ANOMA_ERR_FORMAT,
                            "model file: section at byte %zu declares %llu raw bytes, more than "
                            "%llu compressed bytes can inflate to",
                            at, (unsigned long long)raw, (unsigned long long)stored);
    } else if (raw != stored) {
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: uncompressed section at byte %zu has raw length %llu but "
                        "stored length %llu",
                        at, (unsigned long long)raw, (unsigned long long)stored);
    }
    return ANOMA_OK;
}

/* The payload of a checked section, as a new allocation of f->raw bytes. */
static anoma_status load_payload(const section_frame *f, size_t at, unsigned char **data)
{
    unsigned char *buf = an_malloc(f->raw);
    if (!buf)
        return an_no_memory();
    anoma_status status = ANOMA_OK;
    if (f->flags & AN_SECTION_ZLIB)
        status = an_inflate_exact(f->payload, f->stored, buf, f->raw, at, f->type);
    else if (f->raw > 0)
        memcpy(buf, f->payload, f->raw);
    if (status != ANOMA_OK) {
        an_free(buf);
        return status;
    }
    *data = buf;
    return ANOMA_OK;
}

static const an_section_rule *rule_for(uint32_t type, const an_section_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rules[i].type == type)
            return &rules[i];
    return NULL;
}

/* The whole section table, checked before anything is inflated: every
 * header and CRC, unknown required types, the count of each known type
 * against its rule, and the declared raw sizes of the kept sections against
 * max_bytes. The kept frames go to frames[0..*n_kept). */
static anoma_status check_table(const unsigned char *p, size_t size, uint32_t n_sections,
                                const an_section_rule *rules, size_t n_rules, uint64_t max_bytes,
                                section_frame *frames, size_t *offsets, size_t *n_kept)
{
    size_t at = FILE_HEADER_SIZE, kept = 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n_sections; i++) {
        section_frame f = {0};
        AN_TRY(check_section(p, size, at, &f));
        if (rule_for(f.type, rules, n_rules)) {
            if (f.raw > max_bytes - total)
                return an_error(ANOMA_ERR_FORMAT,
                                "model file: the section at byte %zu declares %zu raw bytes, "
                                "taking the file past the %llu bytes accepted (load option "
                                "max_bytes)",
                                at, f.raw, (unsigned long long)max_bytes);
            total += f.raw;
            offsets[kept] = at;
            frames[kept++] = f;
        } else if (f.flags & AN_SECTION_REQUIRED) {
            return an_error(ANOMA_ERR_VERSION,
                            "model file: requires section type %u (at byte %zu) that this "
                            "library does not know; written by a newer libanoma?",
                            f.type, at);
        }
        at += SECTION_HEADER_SIZE + f.stored;
    }
    if (at != size)
        return an_error(ANOMA_ERR_FORMAT,
                        "model file: %zu unexpected bytes at byte %zu, after the last section",
                        size - at, at);
    for (size_t r = 0; r < n_rules; r++) {
        size_t count = 0;
        for (size_t k = 0; k < kept; k++)
            count += frames[k].type == rules[r].type;
        if (count >= rules[r].min && count <= rules[r].max)
            continue;
        if (rules[r].min == rules[r].max)
            return an_error(ANOMA_ERR_FORMAT, "model file: %zu %s sections, expected exactly %u",
                            count, rules[r].name, rules[r].min);
        return an_error(ANOMA_ERR_FORMAT, "model file: %zu %s sections, expected %u to %u",
                        count, rules[r].name, rules[r].min, rules[r].max);
    }
    *n_kept = kept;
    return ANOMA_OK;
}

anoma_status an_format_decode_checked(const void *data, size_t size, const an_section_rule *rules,
                                      size_t n_rules, uint64_t max_bytes, an_section_list *out)
{
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_format_decode: out is NULL");
    out->items = NULL;
    out->n = 0;
    if ((!data && size > 0) || (!rules && n_rules > 0))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_format_decode: NULL argument");

    const unsigned char *p = data;
    uint32_t n_sections = 0;
    AN_TRY(check_file_header(p, size, &n_sections));

    /* Bounded by the file size: n_sections <= size / 32. */
    section_frame *frames = AN_NEW_ARRAY(section_frame, n_sections + 1);
    size_t *offsets = AN_NEW_ARRAY(size_t, n_sections + 1);
    an_section_list list = {AN_NEW_ARRAY(an_section, n_sections + 1), 0, load_u16(p + 10)};
    size_t n_kept = 0;
    anoma_status status = frames && offsets && list.items ? ANOMA_OK : an_no_memory();
    if (status == ANOMA_OK)
        status = check_table(p, size, n_sections, rules, n_rules, max_bytes, frames, offsets,
                             &n_kept);
    for (size_t k = 0; k < n_kept && status == ANOMA_OK; k++) {
        unsigned char *payload = NULL;
        status = load_payload(&frames[k], offsets[k], &payload);
        if (status == ANOMA_OK)
            list.items[list.n++] = (an_section){frames[k].type, frames[k].flags, payload,
                                                frames[k].raw};
    }
    an_free(frames);
    an_free(offsets);
    if (status != ANOMA_OK) {
        an_section_list_free(&list);
        return status;
    }
    *out = list;
    return ANOMA_OK;
}

anoma_status an_format_decode(const void *data, size_t size, const uint32_t *known,
                              size_t n_known, an_section_list *out)
{
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_format_decode: out is NULL");
    out->items = NULL;
    out->n = 0;
    if (!known && n_known > 0)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "an_format_decode: NULL argument");
    an_section_rule *rules = AN_NEW_ARRAY(an_section_rule, n_known + 1);
    if (!rules)
        return an_no_memory();
    for (size_t i = 0; i < n_known; i++)
        rules[i] = (an_section_rule){known[i], 0, UINT32_MAX, "known"};
    anoma_status status =
        an_format_decode_checked(data, size, rules, n_known, AN_FORMAT_DEFAULT_MAX_BYTES, out);
    an_free(rules);
    return status;
}

/* libFuzzer target for the section readers behind the checksums.
 *
 * The input is a model file whose framing the harness repairs before
 * loading: each section's payload is taken as its raw bytes (compressed
 * here when the section's ZLIB flag is set), and the lengths, payload CRCs,
 * header CRCs and section count are recomputed. Mutations then reach the
 * payload decoders of the model, detectors, pipeline steps, ensemble and
 * probability sections instead of stopping at a checksum. Seeds are the
 * model corpus with payloads inflated (tests/fuzz/unpack_model.py). A model
 * that loads is exercised as in fuzz_model. */
#include "anoma/anoma.h"
#include "exercise_model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { FILE_HEADER = 24, SECTION_HEADER = 32, ZLIB_FLAG = 1u << 1 };

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* Rebuild data as a well-framed file in out (sized by the caller for the
 * worst case); returns its length. */
static size_t repair(const uint8_t *data, size_t size, uint8_t *out)
{
    memcpy(out, data, FILE_HEADER);
    size_t in = FILE_HEADER, len = FILE_HEADER;
    uint32_t sections = 0;
    while (size - in >= SECTION_HEADER) {
        const uint8_t *h = data + in;
        uint64_t stored = get_u64(h + 8);
        size_t avail = size - in - SECTION_HEADER;
        size_t raw = stored < avail ? (size_t)stored : avail;
        const uint8_t *payload = h + SECTION_HEADER;
        uint8_t *o = out + len;
        memcpy(o, h, 8); /* type and flags as given */
        uint32_t flags = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
                         (uint32_t)h[7] << 24;
        uLongf packed = (uLongf)compressBound((uLong)raw);
        if (flags & ZLIB_FLAG) {
            if (compress2(o + SECTION_HEADER, &packed, payload, (uLong)raw, 6) != Z_OK)
                return 0;
        } else {
            memcpy(o + SECTION_HEADER, payload, raw);
            packed = (uLongf)raw;
        }
        put_u64(o + 8, packed);
        put_u64(o + 16, raw);
        put_u32(o + 24, crc(o + SECTION_HEADER, packed));
        put_u32(o + 28, crc(o, 28));
        len += SECTION_HEADER + packed;
        in += SECTION_HEADER + raw;
        sections++;
    }
    put_u32(out + 16, sections);
    put_u32(out + 20, crc(out, 20));
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FILE_HEADER || size > (1u << 24))
        return 0;
    /* Worst case per section: compressBound of its payload plus a header. */
    size_t cap = FILE_HEADER + (size / SECTION_HEADER + 1) * (SECTION_HEADER + 64) +
                 compressBound((uLong)size);
    uint8_t *file = malloc(cap);
    if (!file)
        return 0;
    size_t len = repair(data, size, file);
    anoma_model *m = NULL;
    if (len > 0 && anoma_model_load_memory(file, len, &m) == ANOMA_OK) {
        fuzz_exercise_model(m);
        anoma_model_free(m);
    }
    free(file);
    return 0;
}

/* The model file container: magic, version, then framed sections.
 * docs/model-format.md describes the bytes. This layer knows nothing of
 * models: it frames, compresses and checks payloads. */
#ifndef AN_IO_FORMAT_H
#define AN_IO_FORMAT_H

#include "io/bytes.h"

#define AN_FORMAT_MAJOR 1
#define AN_FORMAT_MINOR 1

/* Section types. */
enum {
    AN_SECTION_META = 1,     /* library version, parameters, feature names, shape */
    AN_SECTION_MODEL = 2,    /* threshold, combination, normalisation */
    AN_SECTION_PIPELINE = 3, /* feature pipeline steps */
    AN_SECTION_DETECTOR = 4, /* one detector: name, parameters, fitted state */
    AN_SECTION_PROBABILITY = 5, /* optional: how a score becomes a probability */
    AN_SECTION_ENSEMBLE = 6,    /* members' rank knots and vote thresholds */
    AN_SECTION_SHARED_ROWS = 7, /* a training matrix detectors reference */
};

/* Section flags. */
enum {
    AN_SECTION_REQUIRED = 1u << 0, /* a reader that does not know the type must refuse the file */
    AN_SECTION_ZLIB = 1u << 1,     /* payload is zlib-compressed (set by the encoder) */
};

/* Largest payload a reader accepts, compressed or not. */
#define AN_FORMAT_MAX_PAYLOAD ((uint64_t)1 << 32)

typedef struct an_section {
    uint32_t type;
    uint32_t flags;            /* AN_SECTION_REQUIRED on input; ZLIB is the encoder's choice */
    const unsigned char *data; /* uncompressed payload */
    size_t size;
} an_section;

/* The whole file image for these sections, in order; payloads are
 * compressed when that makes them smaller. Appends to `out`. */
anoma_status an_format_encode(const an_section *sections, size_t n, an_writer *out);

/* Decoded sections; each `data` is owned by the list. */
typedef struct an_section_list {
    an_section *items;
    size_t n;
    unsigned minor; /* the file's format minor: what its payloads may hold */
} an_section_list;

/* The largest total of raw (inflated) section bytes a reader accepts unless
 * told otherwise: the largest single section, so a one-detector model the
 * library can save always loads by default. */
#define AN_FORMAT_DEFAULT_MAX_BYTES AN_FORMAT_MAX_PAYLOAD

/* What a file must hold: sections of `type` occur min..max times. */
typedef struct an_section_rule {
    uint32_t type;
    uint32_t min, max;
    const char *name; /* for messages: "metadata" */
} an_section_rule;

/* Check and decode a file image. The whole section table is checked before
 * anything is inflated: every header and CRC, the count of each type in
 * `rules`, and the raw sizes of those sections, whose total must not exceed
 * max_bytes. Sections of a type not in `rules` are dropped when optional and
 * refused (ANOMA_ERR_VERSION) when required. A newer major version is
 * ANOMA_ERR_VERSION; any inconsistency (bad magic, CRC, length, count,
 * size, truncation, failed inflate) is ANOMA_ERR_FORMAT. */
anoma_status an_format_decode_checked(const void *data, size_t size, const an_section_rule *rules,
                                      size_t n_rules, uint64_t max_bytes, an_section_list *out);
/* As an_format_decode_checked() with any number of sections of each `known`
 * type and AN_FORMAT_DEFAULT_MAX_BYTES. */
anoma_status an_format_decode(const void *data, size_t size, const uint32_t *known,
                              size_t n_known, an_section_list *out);
void an_section_list_free(an_section_list *list);

/* CRC-32 (zlib's) of size bytes: the checksum of sections and of stream
 * states. */
uint32_t an_crc32(const unsigned char *data, size_t size);

/* Save under the saving rule (include/anoma/file.h): follow symbolic links,
 * refuse anything but a regular file or a new path, write a temporary file
 * beside the target, fsync it and rename it over the target, keeping the
 * old file's mode. Every writer in the library goes through this. */
anoma_status an_file_write_atomic(const char *path, const void *data, size_t size);
/* Read a whole file (at most max bytes) into a new allocation (an_free). */
anoma_status an_file_read(const char *path, size_t max, unsigned char **data, size_t *size);

#endif

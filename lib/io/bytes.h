/* Little-endian, fixed-width encoding of payloads in model files.
 *
 * The writer grows a buffer and remembers a failed allocation; the reader
 * checks every read against the bytes left and, once a read fails, returns
 * zeros from then on, so a loader can read a whole record and test
 * `r->failed` once. Every count read from a file is bounded by the bytes
 * left before anything is allocated for it: through an_get_count(), or
 * an_reader_can_hold() for a count read as part of a record. */
#ifndef AN_IO_BYTES_H
#define AN_IO_BYTES_H

#include "anoma/common.h"

typedef struct an_writer {
    unsigned char *data;
    size_t len, cap;
    int failed; /* an allocation failed */
} an_writer;

void an_put_bytes(an_writer *w, const void *bytes, size_t n);
void an_put_u8(an_writer *w, uint8_t v);
void an_put_u32(an_writer *w, uint32_t v);
void an_put_u64(an_writer *w, uint64_t v);
void an_put_f64(an_writer *w, double v);
/* u32 length then the bytes (no NUL). */
void an_put_str(an_writer *w, const char *s);
void an_put_f64_array(an_writer *w, const double *v, size_t n);
void an_put_u32_array(an_writer *w, const uint32_t *v, size_t n);
/* float32 values as their IEEE-754 bits (u32 each). */
void an_put_f32_array(an_writer *w, const float *v, size_t n);
void an_writer_free(an_writer *w);
/* ANOMA_ERR_NO_MEMORY if an allocation failed along the way. */
anoma_status an_writer_status(const an_writer *w);

typedef struct an_reader {
    const unsigned char *data;
    size_t len, pos;
    int failed;       /* a read went past the end or a check failed */
    int no_memory;    /* ... or an allocation for what was read failed */
    const char *what; /* names the section for messages */
} an_reader;

an_reader an_reader_make(const void *data, size_t len, const char *what);
int an_get_bytes(an_reader *r, void *out, size_t n);
uint8_t an_get_u8(an_reader *r);
uint32_t an_get_u32(an_reader *r);
uint64_t an_get_u64(an_reader *r);
double an_get_f64(an_reader *r);
/* Whether n elements of at least elem_size bytes each fit in the bytes left;
 * fails the reader when they do not. The one check on a count read from a
 * file before anything is allocated for it. */
int an_reader_can_hold(an_reader *r, uint64_t n, size_t elem_size);
/* A u64 count, failing when it exceeds max or when count * elem_size bytes
 * cannot remain in the payload (an_reader_can_hold). */
size_t an_get_count(an_reader *r, size_t max, size_t elem_size);
/* A string written by an_put_str, as a new allocation (an_free). NULL on failure. */
char *an_get_str(an_reader *r);
void an_get_f64_array(an_reader *r, double *out, size_t n);
void an_get_u32_array(an_reader *r, uint32_t *out, size_t n);
void an_get_f32_array(an_reader *r, float *out, size_t n);
/* Mark the reader failed (for checks made by the caller). */
void an_reader_fail(an_reader *r);
/* ANOMA_ERR_FORMAT with a message naming the section if the reader failed. */
anoma_status an_reader_status(const an_reader *r);

#endif

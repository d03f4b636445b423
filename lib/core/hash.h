/* A 64-bit hash of bytes: FNV-1a, then splitmix64's final mix so that the
 * low bits (which open addressing uses) depend on every input bit. Not for
 * defence against chosen keys; fixed across platforms, so it may be saved. */
#ifndef AN_CORE_HASH_H
#define AN_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t an_hash_bytes(const void *data, size_t n);

/* an_hash_bytes(text, strlen(text)) in one pass. */
uint64_t an_hash_text(const char *text);

#endif

#include "core/hash.h"

static const uint64_t fnv_basis = 1469598103934665603ull, fnv_prime = 1099511628211ull;

/* splitmix64's finaliser */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

uint64_t an_hash_bytes(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = fnv_basis;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * fnv_prime;
    return mix(h);
}

uint64_t an_hash_text(const char *text)
{
    uint64_t h = fnv_basis;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * fnv_prime;
    return mix(h);
}

#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void an_rng_init(an_rng *rng, uint64_t seed, uint64_t stream)
{
    /* Mix the stream number through its own SplitMix step so that
     * neighbouring (seed, stream) pairs give unrelated states. */
    uint64_t mix = stream;
    uint64_t x = seed ^ splitmix64(&mix);
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t an_rng_next(an_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double an_rng_uniform(an_rng *rng) { return (double)(an_rng_next(rng) >> 11) * 0x1.0p-53; }

uint64_t an_rng_below(an_rng *rng, uint64_t n)
{
    /* Lemire's multiply-shift with rejection of the biased low range. */
    __uint128_t m = (__uint128_t)an_rng_next(rng) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t floor = -n % n;
        while (low < floor) {
            m = (__uint128_t)an_rng_next(rng) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double an_rng_normal(an_rng *rng)
{
    double u1 = 1.0 - an_rng_uniform(rng); /* (0, 1]: log is finite */
    double u2 = an_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

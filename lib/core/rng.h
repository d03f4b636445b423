/* Deterministic, splittable random numbers: xoshiro256** seeded through
 * SplitMix64 from (seed, stream). Each unit of parallel work (a tree, a
 * chunk) takes its own stream number, so results never depend on which
 * thread ran it or on the thread count. */
#ifndef AN_CORE_RNG_H
#define AN_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct an_rng {
    uint64_t s[4];
} an_rng;

/* Independent generator number `stream` of the family named by `seed`. */
void an_rng_init(an_rng *rng, uint64_t seed, uint64_t stream);
uint64_t an_rng_next(an_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double an_rng_uniform(an_rng *rng);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t an_rng_below(an_rng *rng, uint64_t n);
/* Standard normal deviate (Box-Muller, one value per call). */
double an_rng_normal(an_rng *rng);

#endif

/* Run-time choice of a vectorised clone of a hot loop. */
#ifndef AN_CORE_CLONES_H
#define AN_CORE_CLONES_H

/* An AVX2 clone (x86-64-v3) beside the default one, picked when the
 * library loads. Both give the same bits as long as the file is compiled
 * without contraction into fused multiply-adds (ISO C mode, as the
 * project's c_std=c11, or -ffp-contract=off) and the loop's order of
 * operations per element does not depend on the vector width. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define AN_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define AN_VECTOR_CLONES
#endif

#endif

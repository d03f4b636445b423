/* stream_latency: a stream's throughput and per-push latency over many
 * entities, in C, so that no interpreter overhead is counted. Run by
 * bench/stream.py.
 *
 * usage: stream_latency MODEL ENTITIES PUSHES REPEATS
 *
 * The model reads 4 number columns (amount, clicks, x2, x3). Keys are
 * "user-N"; the rows are drawn as bench/stream.py draws the training data.
 * Phases, each printed as "key value" lines:
 *   first_sight  every entity pushed once (each push makes an entity)
 *   throughput   PUSHES pushes to uniformly random known entities, best of
 *                REPEATS, as pushes per second on this one thread (wall
 *                clock), and throughput_cpu per second of the process's CPU
 *                time (per core, whatever else the machine runs)
 *   p50 p99 p999 the same pushes timed one by one (ns, clock overhead
 *                included, clock_ns = its cost, measured alone)
 *   entity_bytes, memory_bytes, state_bytes, save_ms, restore_ms */
#include "latency.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { COLS = 4 };

static uint64_t rng_state = 88172645463325252ull;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double normal(void)
{
    double u = uniform() + 1e-300, v = uniform();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* A row like bench/stream.py's training rows: a positive amount with rare
 * spikes, clicks, two normals. */
static void draw_row(double *row)
{
    row[0] = 40 + 10 * normal() + (uniform() < 0.01 ? 400 : 0);
    row[1] = floor(3 + 1.5 * fabs(normal()));
    row[2] = normal();
    row[3] = 2 * normal() + 1;
}

/* CPU seconds of this process: on a machine shared with other jobs, the
 * time the pushes actually ran, so pushes per CPU second is per core. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fputs("usage: stream_latency MODEL ENTITIES PUSHES REPEATS\n", stderr);
        return 2;
    }
    size_t entities = (size_t)atol(argv[2]), pushes = (size_t)atol(argv[3]);
    long repeats = atol(argv[4]);
    anoma_model *model;
    if (anoma_model_load(argv[1], &model) != ANOMA_OK)
        return latency_fail("stream_latency", argv[1]);
    if (anoma_model_n_features(model) != COLS)
        return latency_fail("stream_latency", "the model must read 4 columns");
    char *keys = malloc(entities * 32);
    size_t *who = malloc(pushes * sizeof *who);
    double *rows = malloc(pushes * COLS * sizeof *rows), *lat = malloc(pushes * sizeof *lat);
    if (!keys || !who || !rows || !lat || !entities || !pushes || repeats <= 0)
        return 2;
    for (size_t e = 0; e < entities; e++)
        snprintf(keys + 32 * e, 32, "user-%zu", e);
    for (size_t i = 0; i < pushes; i++) {
        who[i] = (size_t)(uniform() * (double)entities);
        draw_row(rows + i * COLS);
    }
    char options[64];
    snprintf(options, sizeof options, "max_entities=%zu", entities);
    anoma_stream *s;
    if (anoma_stream_create(model, options, &s) != ANOMA_OK)
        return latency_fail("stream_latency", "stream");
    double score, checksum = 0, t = latency_now(), first[COLS];
    for (size_t e = 0; e < entities; e++) {
        draw_row(first);
        if (anoma_stream_push(s, keys + 32 * e, (double)e, first, COLS, &score, NULL, NULL) != ANOMA_OK)
            return latency_fail("stream_latency", "push");
        checksum += score;
    }
    printf("first_sight %.1f\n", (double)entities / (latency_now() - t));
    anoma_stream_event ev;
    (void)latency_report; /* the row scorers' harness; here only the clock */
    double best = 1e300, best_cpu = 1e300, clock_ns = 1e300;
    for (long r = 0; r < repeats; r++) {
        double cpu = cpu_now();
        t = latency_now();
        for (size_t i = 0; i < pushes; i++) {
            if (anoma_stream_push(s, keys + 32 * who[i], (double)i, rows + i * COLS, COLS, &score, NULL,
                                  NULL) != ANOMA_OK)
                return latency_fail("stream_latency", "push");
            checksum += score;
        }
        t = latency_now() - t;
        cpu = cpu_now() - cpu;
        best = t < best ? t : best;
        best_cpu = cpu < best_cpu ? cpu : best_cpu;
        while (anoma_stream_next_event(s, &ev))
            ;
    }
    printf("throughput %.1f\nthroughput_cpu %.1f\n", (double)pushes / best,
           (double)pushes / best_cpu);
    for (size_t i = 0; i < pushes; i++) {
        double t0 = latency_now();
        anoma_stream_push(s, keys + 32 * who[i], (double)i, rows + i * COLS, COLS, &score, NULL, NULL);
        lat[i] = 1e9 * (latency_now() - t0);
        checksum += score;
    }
    for (long r = 0; r < 5; r++) { /* the timer alone */
        t = latency_now();
        double sink = 0;
        for (size_t i = 0; i < pushes; i++)
            sink += latency_now();
        t = 1e9 * (latency_now() - t) / (double)pushes;
        clock_ns = t < clock_ns ? t : clock_ns;
        checksum += sink * 0;
    }
    qsort(lat, pushes, sizeof *lat, compare);
    printf("p50 %.1f\np99 %.1f\np999 %.1f\nclock_ns %.1f\n", lat[pushes / 2],
           lat[(size_t)(0.99 * (double)pushes)], lat[(size_t)(0.999 * (double)pushes)], clock_ns);
    printf("entities %zu\nentity_bytes %zu\nmemory_bytes %zu\n", anoma_stream_n_entities(s),
           anoma_stream_entity_bytes(s), anoma_stream_memory_bytes(s));
    size_t size = 0;
    t = latency_now();
    anoma_stream_save(s, NULL, 0, &size);
    unsigned char *state = malloc(size);
    if (!state || anoma_stream_save(s, state, size, &size) != ANOMA_OK)
        return latency_fail("stream_latency", "save");
    printf("state_bytes %zu\nsave_ms %.1f\n", size, 1e3 * (latency_now() - t) / 2);
    t = latency_now();
    if (anoma_stream_restore(s, state, size) != ANOMA_OK)
        return latency_fail("stream_latency", "restore");
    printf("restore_ms %.1f\nchecksum %.17g\n", 1e3 * (latency_now() - t), checksum);
    free(state);
    anoma_stream_free(s);
    anoma_model_free(model);
    free(keys);
    free(who);
    free(rows);
    free(lat);
    return 0;
}

/* libFuzzer target: a stream state's payload must be restored or refused
 * without crashing, leaking or reading out of bounds, and a stream that
 * accepted one must push and save. The target frames the bytes itself
 * (magic, version, this model's fingerprint, length, CRC-32) so the fuzzer
 * reaches the entity records instead of stopping at the checksum. The
 * model, made once: a window step and an isolation forest on one column,
 * so entity states carry a window block and alert state. */
#include "anoma/anoma.h"
#include "io/format.h"
#include "stream/stream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static anoma_model *model;

static anoma_model *make_model(void)
{
    static double x[64];
    for (size_t i = 0; i < 64; i++)
        x[i] = (double)((i * 37) % 11);
    anoma_matrix view = anoma_matrix_f64(x, 64, 1);
    anoma_model *m = NULL;
    if (anoma_model_create(NULL, &m) != ANOMA_OK ||
        anoma_model_add_step(m, "window", "lags=1 rolling=3 stats=mean ewma_alpha=0.5", NULL) !=
            ANOMA_OK ||
        anoma_model_add_step(m, "imputer", NULL, NULL) != ANOMA_OK ||
        anoma_model_add_detector(m, "iforest", "n_trees=5 seed=1", NULL) != ANOMA_OK ||
        anoma_model_fit(m, &view, NULL, NULL) != ANOMA_OK)
        abort();
    return m;
}

static void put(unsigned char *p, uint64_t v, int bytes)
{
    for (int b = 0; b < bytes; b++)
        p[b] = (unsigned char)(v >> (8 * b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!model)
        model = make_model();
    anoma_stream *s = NULL;
    if (anoma_stream_create(model, "alert_min=1 max_entities=64 max_events=4", &s) != ANOMA_OK)
        abort();
    unsigned char *framed = malloc(size + 36);
    if (!framed)
        abort();
    memcpy(framed, "ANOMASTA", 8);
    put(framed + 8, 2, 2); /* format 2.0: bound to s->fingerprint */
    put(framed + 10, 0, 2);
    put(framed + 12, 0, 4);
    put(framed + 16, s->fingerprint, 8);
    put(framed + 24, size, 8);
    if (size)
        memcpy(framed + 32, data, size);
    put(framed + 32 + size, an_crc32(framed, 32 + size), 4);
    if (anoma_stream_restore(s, framed, size + 36) == ANOMA_OK) {
        double row = 3, score;
        anoma_stream_push(s, "k", 1, &row, 1, &score, NULL, NULL);
        size_t saved = 0;
        anoma_stream_save(s, NULL, 0, &saved);
    }
    free(framed);
    anoma_stream_free(s);
    return 0;
}

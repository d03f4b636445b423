/* libFuzzer target: the model reader must reject or accept any bytes
 * without crashing, leaking or reading out of bounds; a model it accepts
 * must score (members and probability too), save and reload identically.
 * Mutations rarely get past the checksums here: fuzz_model_payloads
 * repairs them to reach the section readers. */
#include "anoma/anoma.h"
#include "exercise_model.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    anoma_model *m = NULL;
    if (anoma_model_load_memory(data, size, &m) != ANOMA_OK)
        return 0;
    fuzz_exercise_model(m);
    anoma_model_free(m);
    return 0;
}

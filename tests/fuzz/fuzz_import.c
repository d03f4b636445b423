/* libFuzzer target: a detector's payload as a host hands it to
 * anoma_model_import_detector (a converter's output, a payload from another
 * process). Input: detector name, NUL, parameters, NUL, the input width as
 * two bytes (little-endian), then the payload. Any bytes are imported or
 * refused with a status; an imported model goes through every use a host
 * makes of it (exercise_model.c). Seeds: the DETECTOR sections of the model
 * corpus, cut out by import_seeds.py. */
#include "exercise_model.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *name_end = memchr(data, 0, size);
    if (!name_end)
        return 0;
    const uint8_t *params = name_end + 1;
    const uint8_t *params_end = memchr(params, 0, size - (size_t)(params - data));
    if (!params_end)
        return 0;
    const uint8_t *rest = params_end + 1;
    size_t left = size - (size_t)(rest - data);
    if (left < 2)
        return 0;
    size_t n_features = (size_t)rest[0] | (size_t)rest[1] << 8;
    anoma_model *m = NULL;
    if (anoma_model_create("threshold=0", &m) != ANOMA_OK)
        return 0;
    if (anoma_model_import_detector(m, (const char *)data, (const char *)params, rest + 2, left - 2,
                                    n_features) == ANOMA_OK)
        fuzz_exercise_model(m);
    anoma_model_free(m);
    return 0;
}

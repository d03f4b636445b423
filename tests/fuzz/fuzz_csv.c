/* libFuzzer target: the CSV reader must parse or refuse any text cleanly. */
#include "anoma/anoma.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    anoma_frame *f = NULL;
    if (anoma_csv_read_memory((const char *)data, size, "label=label text=name", &f) == ANOMA_OK)
        anoma_frame_free(f);
    f = NULL;
    if (anoma_csv_read_memory((const char *)data, size, NULL, &f) == ANOMA_OK)
        anoma_frame_free(f);
    return 0;
}

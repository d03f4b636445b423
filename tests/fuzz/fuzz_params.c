/* libFuzzer target: parameter text, as a host passes it when it makes a
 * model, a detector or a step. Input: one byte that picks the component
 * (model, or the detector or step at that position of the registry), then
 * the text. Any text is accepted or refused with a status; accepted text,
 * formatted back by the library, must parse again and format to the same
 * text, else abort() so the fuzzer reports the input. */
#include "anoma/anoma.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { TEXT_CAP = 1 << 16 };

static size_t registry_size(anoma_component_kind kind)
{
    size_t n = 0;
    while (anoma_component_name(kind, n))
        n++;
    return n;
}

/* The params of the model's last component as text, in buf. */
static anoma_status formatted(const anoma_model *m, anoma_component_kind kind, char *buf)
{
    if (kind == ANOMA_KIND_MODEL)
        return anoma_model_params(m, buf, TEXT_CAP, NULL);
    if (kind == ANOMA_KIND_DETECTOR)
        return anoma_model_detector_params(m, 0, buf, TEXT_CAP, NULL);
    return anoma_model_step_params(m, 0, buf, TEXT_CAP, NULL);
}

/* A model with one component of that kind and name, made from text. */
static anoma_model *make(anoma_component_kind kind, const char *name, const char *text)
{
    anoma_model *m = NULL;
    anoma_status st = anoma_model_create(kind == ANOMA_KIND_MODEL ? text : NULL, &m);
    if (st == ANOMA_OK && kind == ANOMA_KIND_DETECTOR)
        st = anoma_model_add_detector(m, name, text, NULL);
    else if (st == ANOMA_OK && kind == ANOMA_KIND_STEP)
        st = anoma_model_add_step(m, name, text, NULL);
    if (st != ANOMA_OK) {
        anoma_model_free(m);
        return NULL;
    }
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > TEXT_CAP / 2)
        return 0;
    anoma_component_kind kind = (anoma_component_kind)(data[0] % 3);
    const char *name = "model";
    if (kind != ANOMA_KIND_MODEL)
        name = anoma_component_name(kind, (size_t)(data[0] / 3) % registry_size(kind));
    char *text = malloc(size), *first = malloc(TEXT_CAP), *second = malloc(TEXT_CAP);
    if (!text || !first || !second)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    anoma_model *m = make(kind, name, text);
    if (m && formatted(m, kind, first) == ANOMA_OK) {
        anoma_model *again = make(kind, name, first);
        if (!again || formatted(again, kind, second) != ANOMA_OK || strcmp(first, second))
            abort();
        anoma_model_free(again);
    }
    anoma_model_free(m);
    free(text);
    free(first);
    free(second);
    return 0;
}

/* The shared part of the neural detectors' payloads (payload.h). */
#include "nn/payload.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

void an_nn_payload_release(an_nn_payload *p)
{
    an_free(p->center);
    an_free(p->scale);
    an_free(p->weights);
    an_nn_free(&p->net);
    memset(p, 0, sizeof *p);
}

anoma_status an_nn_payload_alloc(an_nn_payload *p, size_t f)
{
    an_nn_payload_release(p);
    p->n_features = f;
    p->center = AN_NEW_ARRAY(double, f);
    p->scale = AN_NEW_ARRAY(double, f);
    p->weights = AN_NEW_ARRAY(double, f);
    if (!p->center || !p->scale || !p->weights) {
        an_nn_payload_release(p);
        return an_no_memory();
    }
    return ANOMA_OK;
}

static anoma_status bad(an_reader *r, const char *who, const char *what)
{
    an_reader_fail(r);
    return an_error(ANOMA_ERR_FORMAT, "%s: %s", who, what);
}

/* The scaling and the weights, checked; their sum kept as given, so that a
 * saved model writes back the same bytes. */
static anoma_status read_scaling(an_nn_payload *p, an_reader *r, size_t f, const char *who)
{
    if (!an_reader_can_hold(r, 3 * (uint64_t)f, 8))
        return bad(r, who, "scaling and weights truncated");
    AN_TRY(an_nn_payload_alloc(p, f));
    an_get_f64_array(r, p->center, f);
    an_get_f64_array(r, p->scale, f);
    an_get_f64_array(r, p->weights, f);
    double total = 0;
    for (size_t j = 0; j < f; j++) {
        if (!isfinite(p->center[j]) || !(p->scale[j] > 0) || !isfinite(p->scale[j]))
            return bad(r, who, "center must be finite and scale finite and > 0");
        if (!(p->weights[j] >= 0) || !isfinite(p->weights[j]))
            return bad(r, who, "feature weights must be finite and >= 0");
        total += p->weights[j];
    }
    if (!(total > 0) || !isfinite(total))
        return bad(r, who, "feature weights must not all be 0");
    p->weight_total = total;
    return ANOMA_OK;
}

anoma_status an_nn_payload_read(an_nn_payload *p, an_reader *r, size_t f, size_t in_steps,
                                const char *who)
{
    anoma_status st = read_scaling(p, r, f, who);
    if (st == ANOMA_OK)
        st = an_nn_read(&p->net, r, in_steps, f);
    if (st != ANOMA_OK)
        an_nn_payload_release(p);
    return st;
}

void an_nn_payload_write(const an_nn_payload *p, an_writer *w)
{
    an_put_f64_array(w, p->center, p->n_features);
    an_put_f64_array(w, p->scale, p->n_features);
    an_put_f64_array(w, p->weights, p->n_features);
    an_nn_write(&p->net, w);
}

size_t an_nn_payload_memory_bytes(const an_nn_payload *p)
{
    return 3 * p->n_features * sizeof(double) + an_nn_memory_bytes(&p->net);
}

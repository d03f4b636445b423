/* Running the graph: layer after layer between two activation buffers, and
 * large batches cut into blocks that run in parallel. */
#include "nn/nn.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <string.h>

/* Sequences per block: bounds the scratch of one worker (a block of 256
 * windows of 64 steps at 128 hidden units is 8 MB of LSTM projections)
 * while leaving each SGEMM rows enough to be efficient. */
enum { BLOCK = 256 };

static int mul(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }

/* Steps after each layer, from the input's. */
static size_t steps_after(const an_nn_layer *l, size_t steps)
{
    if (l->kind == AN_NN_REPEAT)
        return l->count;
    if (an_nn_gates(l->kind) && !l->sequences)
        return 1;
    return steps;
}

size_t an_nn_scratch_floats(const an_nn *net, size_t batch)
{
    size_t steps = net->in_steps, act = 0, work = 0;
    for (size_t k = 0; k < net->n_layers; k++) {
        const an_nn_layer *l = &net->layers[k];
        size_t rows, n, g, w;
        if (an_nn_gates(l->kind)) {
            /* xp, hp, h, c: (batch * steps + batch) * g + 2 * batch * out */
            if (!mul(batch, steps, &rows) || !mul(rows + batch, an_nn_gates(l->kind) * l->out, &g) ||
                !mul(2 * batch, l->out, &w) || g > SIZE_MAX - w)
                return 0;
            if (g + w > work)
                work = g + w;
        }
        steps = steps_after(l, steps);
        if (!mul(batch, steps, &rows) || !mul(rows, l->out, &n))
            return 0;
        if (n > act)
            act = n;
    }
    if (act > (SIZE_MAX - work) / 2)
        return 0;
    return 2 * act + work + 1; /* + 1: never 0 for a valid graph */
}

void an_nn_forward_block(const an_nn *net, const float *x, size_t batch, float *out,
                         float *scratch)
{
    size_t act = 0, steps = net->in_steps;
    for (size_t k = 0; k < net->n_layers; k++) {
        steps = steps_after(&net->layers[k], steps);
        size_t n = batch * steps * net->layers[k].out;
        if (n > act)
            act = n;
    }
    float *buf[2] = {scratch, scratch + act}, *work = scratch + 2 * act;
    const float *cur = x;
    steps = net->in_steps;
    size_t width = net->in_features;
    size_t cur_steps = steps; /* steps cur holds: 1 when a repeat was left implicit */
    for (size_t k = 0; k < net->n_layers; k++) {
        const an_nn_layer *l = &net->layers[k];
        float *dst = k + 1 == net->n_layers ? out : cur == buf[0] ? buf[1] : buf[0];
        size_t next = steps_after(l, steps);
        int last = k + 1 == net->n_layers;
        switch (l->kind) {
        case AN_NN_LSTM:
        case AN_NN_GRU:
        case AN_NN_RNN:
            an_nn_recurrent(l, cur, batch, steps, cur_steps, dst, work);
            break;
        case AN_NN_LINEAR:
            an_nn_linear(l, cur, batch * steps, dst);
            break;
        case AN_NN_REPEAT: /* one step in, count steps out */
            if (!last && an_nn_gates(net->layers[k + 1].kind)) {
                /* a recurrent layer reads the one step at every step: it
                 * projects it once (an_nn_recurrent), so nothing is copied */
                steps = next;
                width = l->out;
                continue;
            }
            for (size_t b = 0; b < batch; b++)
                for (size_t t = 0; t < next; t++)
                    memcpy(dst + (b * next + t) * width, cur + b * width, width * sizeof *dst);
            break;
        case AN_NN_ACTIVATION:
            memcpy(dst, cur, batch * steps * width * sizeof *dst);
            an_nn_activate(l->activation, dst, batch * steps * width);
            break;
        }
        cur = dst;
        steps = cur_steps = next;
        width = l->out;
    }
}

typedef struct forward_job {
    const an_nn *net;
    const float *x;
    float *out;
    size_t batch, in_size, out_size;
    float **scratch; /* one per worker */
} forward_job;

static void forward_blocks(void *ctx, size_t begin, size_t end, size_t worker)
{
    const forward_job *job = ctx;
    for (size_t b = begin; b < end; b++) {
        size_t first = b * BLOCK, n = job->batch - first < BLOCK ? job->batch - first : BLOCK;
        an_nn_forward_block(job->net, job->x + first * job->in_size, n,
                            job->out + first * job->out_size, job->scratch[worker]);
    }
}

anoma_status an_nn_forward(const an_nn *net, const float *x, size_t batch, size_t n_threads,
                           float *out)
{
    if (!batch)
        return ANOMA_OK;
    size_t block = batch < BLOCK ? batch : BLOCK;
    size_t blocks = (batch + BLOCK - 1) / BLOCK;
    size_t floats = an_nn_scratch_floats(net, block);
    if (!floats)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "network: a block of %zu sequences is too "
                        "large to size", block);
    size_t workers = an_parallel_workers(blocks, n_threads, 1);
    float **scratch = AN_NEW_ZEROED(float *, workers);
    if (!scratch)
        return an_no_memory();
    anoma_status st = ANOMA_OK;
    for (size_t w = 0; w < workers && st == ANOMA_OK; w++)
        if (!(scratch[w] = an_malloc_aligned(floats * sizeof(float), 64)))
            st = an_no_memory();
    if (st == ANOMA_OK) {
        forward_job job = {net, x, out, batch, net->in_steps * net->in_features,
                           net->out_steps * net->out_features, scratch};
        an_parallel_for(blocks, n_threads, 1, forward_blocks, &job);
    }
    for (size_t w = 0; w < workers; w++)
        an_free_aligned(scratch[w]);
    an_free(scratch);
    return st;
}

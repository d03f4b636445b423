/* The graph's stored form, checked layer by layer, and its description.
 *
 * A graph is u32 n_layers, then per layer u32 kind, u32 in, u32 out,
 * u32 option (recurrent: bit 0 set = all steps, else the last; GRU: bit 1
 * set = the reset before the recurrent product; REPEAT: the count;
 * ACTIVATION: the function; LINEAR: 0), then its float32 arrays in PyTorch's
 * layout (nn.h). Every width, count and array is checked against the
 * bounds, the previous layer and the bytes left before it is allocated. */
#include "nn/nn.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

size_t an_nn_gates(an_nn_kind kind)
{
    return kind == AN_NN_LSTM ? 4 : kind == AN_NN_GRU ? 3 : kind == AN_NN_RNN ? 1 : 0;
}

const char *an_nn_kind_name(an_nn_kind kind)
{
    static const char *const names[] = {"?", "lstm", "gru", "rnn", "linear", "repeat",
                                        "activation"};
    return kind >= AN_NN_LSTM && kind <= AN_NN_ACTIVATION ? names[kind] : names[0];
}

const char *an_nn_activation_name(an_nn_activation a)
{
    static const char *const names[] = {"identity", "tanh", "sigmoid", "relu"};
    return a <= AN_NN_RELU ? names[a] : "?";
}

/* The float arrays of a layer: sizes of w_ih, w_hh, b_ih, b_hh. */
static void array_sizes(const an_nn_layer *l, size_t n[4])
{
    size_t g = an_nn_gates(l->kind) * l->out;
    memset(n, 0, 4 * sizeof *n);
    if (g) {
        n[0] = g * l->in;
        n[1] = g * l->out;
        n[2] = n[3] = g;
    } else if (l->kind == AN_NN_LINEAR) {
        n[0] = l->out * l->in;
        n[2] = l->out;
    }
}

static void arrays(an_nn_layer *l, float **a[4])
{
    a[0] = &l->w_ih;
    a[1] = &l->w_hh;
    a[2] = &l->b_ih;
    a[3] = &l->b_hh;
}

static anoma_status bad(an_reader *r, size_t k, const char *what)
{
    an_reader_fail(r);
    return an_error(ANOMA_ERR_FORMAT, "%s: network layer %zu: %s", r->what ? r->what : "payload",
                    k, what);
}

/* Layer k's header, checked against the width and steps before it. */
static anoma_status read_header(an_reader *r, size_t k, an_nn_layer *l, size_t width,
                                size_t steps)
{
    uint32_t kind = an_get_u32(r), in = an_get_u32(r), out = an_get_u32(r), opt = an_get_u32(r);
    if (r->failed)
        return bad(r, k, "truncated");
    if (kind < AN_NN_LSTM || kind > AN_NN_ACTIVATION)
        return bad(r, k, "unknown layer kind");
    l->kind = (an_nn_kind)kind;
    if (in != width)
        return bad(r, k, "input width differs from the previous layer's output");
    if (out == 0 || out > AN_NN_MAX_WIDTH)
        return bad(r, k, "output width out of range [1, 65536]");
    l->in = in;
    l->out = out;
    switch (l->kind) {
    case AN_NN_GRU: /* bit 1: the reset before the recurrent product */
        if (opt > 3)
            return bad(r, k, "option must be 0 to 3 (bit 0: all steps, bit 1: reset before)");
        l->sequences = (int)(opt & 1);
        l->reset_before = (int)(opt >> 1);
        break;
    case AN_NN_LSTM:
    case AN_NN_RNN:
        if (opt > 1)
            return bad(r, k, "option must be 0 (last state) or 1 (all steps)");
        l->sequences = (int)opt;
        break;
    case AN_NN_LINEAR:
        if (opt)
            return bad(r, k, "option must be 0");
        break;
    case AN_NN_REPEAT:
        if (out != in || steps != 1)
            return bad(r, k, "repeat takes one step and keeps its width");
        if (opt == 0 || opt > AN_NN_MAX_STEPS)
            return bad(r, k, "repeat count out of range [1, 1048576]");
        l->count = opt;
        break;
    case AN_NN_ACTIVATION:
        if (out != in)
            return bad(r, k, "an activation keeps its width");
        if (opt > AN_NN_RELU)
            return bad(r, k, "unknown activation");
        l->activation = (an_nn_activation)opt;
        break;
    }
    return ANOMA_OK;
}

anoma_status an_nn_read(an_nn *net, an_reader *r, size_t in_steps, size_t in_features)
{
    memset(net, 0, sizeof *net);
    if (in_steps == 0 || in_steps > AN_NN_MAX_STEPS || in_features == 0 ||
        in_features > AN_NN_MAX_WIDTH)
        return bad(r, 0, "input shape out of range");
    size_t n = an_get_count(r, AN_NN_MAX_LAYERS, 16);
    if (r->failed || n == 0) {
        an_reader_fail(r);
        return an_error(ANOMA_ERR_FORMAT, "%s: network: layer count out of range [1, %d]",
                        r->what ? r->what : "payload", AN_NN_MAX_LAYERS);
    }
    net->layers = AN_NEW_ZEROED(an_nn_layer, n);
    if (!net->layers)
        return an_no_memory();
    net->n_layers = n;
    net->in_steps = in_steps;
    net->in_features = in_features;
    size_t width = in_features, steps = in_steps;
    for (size_t k = 0; k < n; k++) {
        an_nn_layer *l = &net->layers[k];
        anoma_status st = read_header(r, k, l, width, steps);
        size_t sizes[4];
        float **dst[4];
        arrays(l, dst);
        if (st == ANOMA_OK) {
            array_sizes(l, sizes);
            for (int a = 0; a < 4 && st == ANOMA_OK; a++) {
                if (!sizes[a])
                    continue;
                if (!an_reader_can_hold(r, sizes[a], 4))
                    st = bad(r, k, "weights truncated");
                else if (!(*dst[a] = AN_NEW_ARRAY(float, sizes[a])))
                    st = an_no_memory();
                else
                    an_get_f32_array(r, *dst[a], sizes[a]);
                net->n_params += sizes[a];
            }
        }
        if (st == ANOMA_OK && l->w_hh && !r->failed) { /* for batch 1 (matvec.c) */
            size_t rows = an_nn_gates(l->kind) * l->out;
            if (!(l->w_hh_packed = AN_NEW_ARRAY(float, an_nn_packed_floats(rows, l->out))))
                st = an_no_memory();
            else
                an_nn_pack(l->w_hh, rows, l->out, l->w_hh_packed);
        }
        if (st != ANOMA_OK) {
            an_nn_free(net);
            return st;
        }
        if (l->kind == AN_NN_REPEAT)
            steps = l->count;
        else if (an_nn_gates(l->kind) && !l->sequences)
            steps = 1;
        width = l->out;
    }
    net->out_steps = steps;
    net->out_features = width;
    if (r->failed) {
        an_nn_free(net);
        return an_error(ANOMA_ERR_FORMAT, "%s: network truncated", r->what ? r->what : "payload");
    }
    return ANOMA_OK;
}

void an_nn_write(const an_nn *net, an_writer *w)
{
    an_put_u64(w, net->n_layers);
    for (size_t k = 0; k < net->n_layers; k++) {
        an_nn_layer *l = &net->layers[k];
        uint32_t opt = l->kind == AN_NN_REPEAT       ? (uint32_t)l->count
                       : l->kind == AN_NN_ACTIVATION ? (uint32_t)l->activation
                                                     : (uint32_t)(l->sequences | l->reset_before << 1);
        an_put_u32(w, (uint32_t)l->kind);
        an_put_u32(w, (uint32_t)l->in);
        an_put_u32(w, (uint32_t)l->out);
        an_put_u32(w, opt);
        size_t sizes[4];
        float **src[4];
        arrays(l, src);
        array_sizes(l, sizes);
        for (int a = 0; a < 4; a++)
            if (sizes[a])
                an_put_f32_array(w, *src[a], sizes[a]);
    }
}

void an_nn_free(an_nn *net)
{
    for (size_t k = 0; net->layers && k < net->n_layers; k++) {
        an_free(net->layers[k].w_ih);
        an_free(net->layers[k].w_hh);
        an_free(net->layers[k].b_ih);
        an_free(net->layers[k].b_hh);
        an_free(net->layers[k].w_hh_packed);
    }
    an_free(net->layers);
    memset(net, 0, sizeof *net);
}

size_t an_nn_memory_bytes(const an_nn *net)
{
    size_t bytes = net->n_layers * sizeof *net->layers + net->n_params * sizeof(float);
    for (size_t k = 0; k < net->n_layers; k++) {
        const an_nn_layer *l = &net->layers[k];
        if (l->w_hh_packed)
            bytes += an_nn_packed_floats(an_nn_gates(l->kind) * l->out, l->out) * sizeof(float);
    }
    return bytes;
}

void an_nn_describe(const an_nn *net, an_strbuf *out)
{
    an_strbuf_printf(out, "  network: input %zu steps x %zu features, output %zu x %zu, "
                     "%zu parameters\n", net->in_steps, net->in_features, net->out_steps,
                     net->out_features, net->n_params);
    for (size_t k = 0; k < net->n_layers; k++) {
        const an_nn_layer *l = &net->layers[k];
        an_strbuf_printf(out, "    %zu: %s", k, an_nn_kind_name(l->kind));
        if (an_nn_gates(l->kind))
            an_strbuf_printf(out, " %zu -> %zu, %s%s", l->in, l->out,
                             l->sequences ? "all steps" : "last state",
                             l->reset_before ? ", reset before the product" : "");
        else if (l->kind == AN_NN_LINEAR)
            an_strbuf_printf(out, " %zu -> %zu per step", l->in, l->out);
        else if (l->kind == AN_NN_REPEAT)
            an_strbuf_printf(out, " x %zu", l->count);
        else
            an_strbuf_printf(out, " %s", an_nn_activation_name(l->activation));
        an_strbuf_printf(out, "\n");
    }
}

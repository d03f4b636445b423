/* The ensemble policy, in one place: normalisation of each member's raw
 * score learned on the calibration rows, each member's own threshold for a
 * vote, the weights, and the combination into the model's score.
 *
 * Decisions (docs/model.md, "Ensembles"):
 * - robust scales by the interquartile range (NumPy's linear percentiles
 *   75 and 25), as scikit-learn's RobustScaler, not by MAD * 1.4826: the
 *   IQR needs no symmetry, and detector scores are skewed;
 * - a zero or non-finite spread keeps a scale of 1 (constant scores stay
 *   as they are, shifted) rather than dividing by zero;
 * - rank keeps quantile knots (score_distribution.c), not every score;
 * - a vote reads each member's raw score against the member's own
 *   threshold, so no normalisation changes who flags. */
#include "model/model.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/quoting.h"
#include "core/stats.h"

#include <math.h>
#include <string.h>

enum { ENSEMBLE_LAYOUT = 1 };

/* ---- parameters ---- */

/* Parse the weights list into w (NULL: only check), counting its items. */
static anoma_status parse_weights(const char *text, double *w, size_t max, size_t *count)
{
    const char *problem = an_quoting_problem(text);
    if (problem)
        return an_error(ANOMA_ERR_PARAM_VALUE, "model parameter weights=%s: %s", text, problem);
    an_strbuf item = {0};
    const char *cursor = text;
    anoma_status st = ANOMA_OK;
    size_t n = 0;
    while (st == ANOMA_OK && an_list_next(&cursor, &item)) {
        double v;
        if (item.failed)
            st = an_no_memory();
        else if (!an_parse_double(item.data ? item.data : "", &v) || !(v > 0))
            st = an_error(ANOMA_ERR_PARAM_VALUE, "model parameter weights=%s: item %zu ('%s') "
                          "is not a positive number; give one positive weight per detector, "
                          "such as weights=2,1", text, n + 1, item.data ? item.data : "");
        else if (w && n < max)
            w[n] = v;
        n++;
    }
    an_strbuf_free(&item);
    *count = n;
    return st;
}

anoma_status an_ensemble_check_weights_text(const char *text)
{
    size_t n;
    return parse_weights(text, NULL, 0, &n);
}

/* The weights parameter checked against the detectors and the combination;
 * read into the members when `m` is given (else only checked). */
static anoma_status read_weights(const anoma_model *m, anoma_model *into)
{
    const char *text = an_params_text(&m->params, "weights");
    for (size_t k = 0; into && k < m->n_detectors; k++)
        into->detectors[k].weight = 1;
    if (!*text)
        return ANOMA_OK;
    if (!an_params_is(&m->params, "ensemble", "wmean") &&
        !an_params_is(&m->params, "ensemble", "vote"))
        return an_error(ANOMA_ERR_PARAM_VALUE, "model parameters weights=%s and ensemble=%s: "
                        "only ensemble=wmean and ensemble=vote use weights; set one of them, or "
                        "leave weights out", text, an_params_text(&m->params, "ensemble"));
    double *w = AN_NEW_ARRAY(double, m->n_detectors ? m->n_detectors : 1);
    if (!w)
        return an_no_memory();
    size_t count = 0;
    anoma_status st = parse_weights(text, w, m->n_detectors, &count);
    if (st == ANOMA_OK && count != m->n_detectors)
        st = an_error(ANOMA_ERR_PARAM_VALUE, "model parameter weights=%s has %zu weight%s; the "
                      "model has %zu detector%s: give one per detector, in the order they were "
                      "added", text, count, count == 1 ? "" : "s", m->n_detectors,
                      m->n_detectors == 1 ? "" : "s");
    for (size_t k = 0; st == ANOMA_OK && into && k < m->n_detectors; k++)
        into->detectors[k].weight = w[k];
    an_free(w);
    return st;
}

anoma_status an_ensemble_check(const anoma_model *m) { return read_weights(m, NULL); }

anoma_status an_ensemble_resolve(anoma_model *m)
{
    an_normalize n = (an_normalize)an_params_choice(&m->params, "normalize");
    if (n == AN_NORM_AUTO)
        n = m->n_detectors > 1 ? AN_NORM_STANDARD : AN_NORM_NONE;
    m->normalize = n;
    m->combine = (an_combine)an_params_choice(&m->params, "ensemble");
    return read_weights(m, m);
}

/* ---- learning ---- */

/* Member d's shift and scale (or rank knots) from its raw calibration
 * scores; `sorted` is scratch of `rows` doubles. */
static anoma_status learn_normalisation(an_model_detector *d, an_normalize how, const double *raw,
                                        size_t rows, double *sorted)
{
    d->shift = 0;
    d->scale = 1;
    an_distribution_free(&d->ranks);
    if (!rows && how == AN_NORM_RANK)
        return an_error(ANOMA_ERR_UNSUPPORTED, "normalize=rank: detector '%s' has no training "
                        "scores to rank among (an imported detector alone)", d->vt->name);
    if (!rows)
        return ANOMA_OK;
    if (how == AN_NORM_STANDARD) {
        double mean = 0, ss = 0;
        for (size_t i = 0; i < rows; i++)
            mean += raw[i];
        mean /= (double)rows;
        for (size_t i = 0; i < rows; i++)
            ss += (raw[i] - mean) * (raw[i] - mean);
        d->shift = mean;
        d->scale = sqrt(ss / (double)rows);
    } else if (how == AN_NORM_MINMAX) {
        double lo = raw[0], hi = raw[0];
        for (size_t i = 1; i < rows; i++) {
            lo = fmin(lo, raw[i]);
            hi = fmax(hi, raw[i]);
        }
        d->shift = lo;
        d->scale = hi - lo;
    } else if (how == AN_NORM_ROBUST) {
        memcpy(sorted, raw, rows * sizeof *sorted);
        an_sort_doubles(sorted, rows);
        d->shift = an_median_sorted(sorted, rows);
        d->scale = an_quantile_sorted(sorted, rows, 0.75) - an_quantile_sorted(sorted, rows, 0.25);
    } else if (how == AN_NORM_RANK) {
        AN_TRY(an_distribution_learn(&d->ranks, raw, rows));
        if (!d->ranks.n) /* every score NaN: ranks of nothing */
            return an_error(ANOMA_ERR_NONFINITE, "normalize=rank: detector '%s' scores every "
                            "calibration row NaN", d->vt->name);
    }
    if (!(d->scale > 0) || !isfinite(d->scale)) /* constant scores: keep them as they are */
        d->scale = 1;
    return ANOMA_OK;
}

/* Member k's own threshold for a vote: the contamination quantile of its
 * raw calibration scores, or with contamination=auto its detector's rule. */
static anoma_status learn_vote_threshold(anoma_model *m, size_t k, const double *raw, size_t rows,
                                         double *scratch)
{
    an_model_detector *d = &m->detectors[k];
    if (an_params_is(&m->params, "contamination", "auto")) {
        if (!d->vt->auto_threshold)
            return an_error(ANOMA_ERR_PARAM_VALUE, "ensemble=vote with contamination=auto: "
                            "detector %zu ('%s') has no threshold of its own to vote with; give "
                            "a rate such as contamination=0.1", k, d->vt->name);
        return d->vt->auto_threshold(&d->params, &d->vote_threshold);
    }
    if (!rows)
        return an_error(ANOMA_ERR_UNSUPPORTED, "ensemble=vote: detector %zu ('%s') has no "
                        "threshold to vote with: the model scored no training row (an imported "
                        "detector alone); set contamination=auto to use its own rule", k,
                        d->vt->name);
    memcpy(scratch, raw, rows * sizeof *scratch);
    d->vote_threshold =
        an_quantile(scratch, rows, 1.0 - an_params_double(&m->params, "contamination"));
    return ANOMA_OK;
}

anoma_status an_ensemble_learn(anoma_model *m, double *const *raw, size_t rows)
{
    AN_TRY(an_ensemble_resolve(m));
    double *scratch = rows ? AN_NEW_ARRAY(double, rows) : NULL;
    if (rows && !scratch)
        return an_no_memory();
    anoma_status st = ANOMA_OK;
    for (size_t k = 0; k < m->n_detectors && st == ANOMA_OK; k++) {
        an_model_detector *d = &m->detectors[k];
        st = learn_normalisation(d, m->normalize, rows ? raw[k] : NULL, rows, scratch);
        d->vote_threshold = NAN;
        if (st == ANOMA_OK && m->combine == AN_COMBINE_VOTE)
            st = learn_vote_threshold(m, k, rows ? raw[k] : NULL, rows, scratch);
    }
    an_free(scratch);
    return st;
}

/* ---- scoring ---- */

double an_ensemble_normalized(const anoma_model *m, size_t k, double raw)
{
    const an_model_detector *d = &m->detectors[k];
    if (m->normalize == AN_NORM_RANK)
        return an_distribution_rank(&d->ranks, raw);
    return (raw - d->shift) / d->scale;
}

int an_ensemble_is_identity(const anoma_model *m)
{
    return m->n_detectors == 1 && m->normalize == AN_NORM_NONE && m->combine != AN_COMBINE_VOTE;
}

double an_ensemble_combine(const anoma_model *m, const double *raw)
{
    if (an_ensemble_is_identity(m))
        return raw[0];
    size_t n = m->n_detectors;
    double acc = 0, total = 0;
    switch (m->combine) {
    case AN_COMBINE_MAX:
        acc = -INFINITY;
        for (size_t k = 0; k < n; k++)
            acc = fmax(acc, an_ensemble_normalized(m, k, raw[k]));
        return acc;
    case AN_COMBINE_MEAN:
        for (size_t k = 0; k < n; k++)
            acc += an_ensemble_normalized(m, k, raw[k]);
        return acc / (double)n;
    case AN_COMBINE_WMEAN:
        for (size_t k = 0; k < n; k++) {
            acc += m->detectors[k].weight * an_ensemble_normalized(m, k, raw[k]);
            total += m->detectors[k].weight;
        }
        return acc / total;
    case AN_COMBINE_VOTE:
        for (size_t k = 0; k < n; k++) {
            if (raw[k] > m->detectors[k].vote_threshold)
                acc += m->detectors[k].weight;
            total += m->detectors[k].weight;
        }
        return acc / total;
    }
    return NAN;
}

/* ---- describing, saving, loading ---- */

void an_ensemble_describe(const anoma_model *m, size_t k, an_strbuf *sb)
{
    const an_model_detector *d = &m->detectors[k];
    if (m->normalize == AN_NORM_RANK)
        an_strbuf_printf(sb, "  normalisation: rank among %zu knots from %.17g to %.17g\n",
                         d->ranks.n, d->ranks.knots[0], d->ranks.knots[d->ranks.n - 1]);
    else if (m->normalize != AN_NORM_NONE)
        an_strbuf_printf(sb, "  normalisation: (score - %.17g) / %.17g\n", d->shift, d->scale);
    if (m->combine == AN_COMBINE_WMEAN || m->combine == AN_COMBINE_VOTE)
        an_strbuf_printf(sb, "  weight: %.17g\n", d->weight);
    if (m->combine == AN_COMBINE_VOTE)
        an_strbuf_printf(sb, "  votes when its score is above %.17g\n", d->vote_threshold);
}

int an_ensemble_has_section(const anoma_model *m)
{
    return m->normalize == AN_NORM_RANK || m->combine == AN_COMBINE_VOTE;
}

void an_ensemble_save(const anoma_model *m, an_writer *w)
{
    an_put_u32(w, ENSEMBLE_LAYOUT);
    an_put_u64(w, m->n_detectors);
    for (size_t k = 0; k < m->n_detectors; k++) {
        an_put_f64(w, m->detectors[k].vote_threshold);
        an_distribution_save(&m->detectors[k].ranks, w);
    }
}

static anoma_status load_error(const char *what)
{
    return an_error(ANOMA_ERR_FORMAT, "model file: ensemble section: %s", what);
}

anoma_status an_ensemble_load(anoma_model *m, const void *data, size_t size)
{
    anoma_status st = an_ensemble_resolve(m);
    if (st != ANOMA_OK)
        return an_error(ANOMA_ERR_FORMAT, "model file: %s", anoma_last_error());
    for (size_t k = 0; k < m->n_detectors; k++)
        m->detectors[k].vote_threshold = NAN;
    if (!data)
        return an_ensemble_has_section(m)
                   ? load_error("missing, but the parameters say normalize=rank or ensemble=vote")
                   : ANOMA_OK;
    an_reader r = an_reader_make(data, size, "ensemble");
    uint32_t layout = an_get_u32(&r);
    uint64_t n = an_get_u64(&r);
    AN_TRY(an_reader_status(&r));
    if (layout != ENSEMBLE_LAYOUT)
        return an_error(layout ? ANOMA_ERR_VERSION : ANOMA_ERR_FORMAT, "model file: ensemble "
                        "layout %u; this library reads %d", (unsigned)layout, ENSEMBLE_LAYOUT);
    if (n != m->n_detectors)
        return load_error("its member count differs from the detector count");
    for (size_t k = 0; k < m->n_detectors; k++) {
        an_model_detector *d = &m->detectors[k];
        d->vote_threshold = an_get_f64(&r);
        AN_TRY(an_reader_status(&r));
        AN_TRY(an_distribution_load(&d->ranks, &r, "ensemble rank"));
        if (m->combine == AN_COMBINE_VOTE && !isfinite(d->vote_threshold))
            return load_error("a member's vote threshold is not finite");
        if (m->normalize == AN_NORM_RANK && !d->ranks.n)
            return load_error("a member has no rank knots");
    }
    if (r.pos != r.len)
        return load_error("trailing bytes");
    return ANOMA_OK;
}

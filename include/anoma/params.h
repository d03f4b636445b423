/**
 * @file params.h
 * @brief Parameter schemas: what each component accepts, for help text and bindings.
 *
 * Components take their parameters as `key=value` text separated by spaces,
 * for example `"contamination=0.05 combine=max"`.
 *
 * Quoting. A value is one or more items separated by commas (a list such as
 * `columns=a,b` reads each item; a single value such as `fill_value` reads
 * the whole value, commas included). An item is bare (any characters but
 * whitespace, `"` and backslash) or in double quotes, where every character
 * stands for itself (space, comma, `=`) except `\"` (a quote) and `\\` (a
 * backslash): `columns="device type","a,b",x=y` names the three columns
 * `device type`, `a,b` and `x=y`. An unterminated quote, a backslash outside
 * quotes or before any other character, a quote inside a bare item and
 * text right after a closing quote are ::ANOMA_ERR_PARAM_VALUE naming the
 * component and the key. The same rule holds wherever parameter text is
 * taken (anoma_model_create(), anoma_model_add_step(), set_param calls, the
 * CSV reader's options, the `anoma` tool's `--step`), and a model keeps and
 * saves its values as written. Unknown keys and values
 * outside the accepted range are errors whose message names the key and the
 * range. Numbers are decimal and read in the C locale, as in CSV files:
 * hexadecimal (`0x1p3`), `inf` and `nan` are refused, and so is a value
 * whose magnitude is below the smallest normal double (`1e-320`), with a
 * message saying it underflows. The schemas below let a program list the keys, types, ranges,
 * defaults and one-line docs of every component without creating one.
 */
#ifndef ANOMA_PARAMS_H
#define ANOMA_PARAMS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Kinds of configurable component. @since 0.1.0 */
typedef enum anoma_component_kind {
    ANOMA_KIND_MODEL = 0,    /**< the model bundle itself (one component, "model") */
    ANOMA_KIND_DETECTOR = 1, /**< detectors, such as "zscore" */
    ANOMA_KIND_STEP = 2      /**< feature pipeline steps */
} anoma_component_kind;

/**
 * @brief Capabilities of a component, as bits of the value that
 * anoma_component_flags() gives.
 *
 * A program (the `anoma` tool, a binding) reads them instead of trying a
 * call and looking at the error.
 * @since 0.2.0
 */
typedef enum anoma_component_flag {
    /** The detector learns from labels (anomaly = 1): its score is the
        probability of the anomaly class rather than a distance from normal. */
    ANOMA_FLAG_SUPERVISED = 1u << 0,
    /** The detector explains a score feature by feature:
        anoma_model_feature_scores() and anoma_row_scorer_feature_scores()
        work on it. */
    ANOMA_FLAG_FEATURE_SCORES = 1u << 1,
    /** The detector keeps per-entity state (a window, a recurrent network's
        hidden state): an observation's score depends on the entity's earlier
        ones, so it scores through a stream, and batch and row scoring of a
        model that holds it are refused with ::ANOMA_ERR_UNSUPPORTED. */
    ANOMA_FLAG_STATEFUL = 1u << 2,
    /** Fitting needs labels: anoma_model_fit() without them is
        ::ANOMA_ERR_INVALID_ARGUMENT naming the detector. */
    ANOMA_FLAG_NEEDS_LABELS = 1u << 3,
    /** The detector uses sample weights in fitting. anoma_model_fit() and
        anoma_model_fit_frame() refuse weights (::ANOMA_ERR_INVALID_ARGUMENT)
        for a model none of whose detectors has this flag, as they refuse
        labels for a model with no ::ANOMA_FLAG_SUPERVISED detector, rather
        than ignore them. Of this version's detectors, "ocsvm" has it. */
    ANOMA_FLAG_SAMPLE_WEIGHTS = 1u << 4,
    /** The detector needs complete rows (it measures distances between
        them): anoma_model_fit() and batch scoring refuse a missing value
        (NaN) with ::ANOMA_ERR_INVALID_ARGUMENT naming its row and feature,
        and the row scorer scores such a row NaN. Put an "imputer" step in
        the model's pipeline first. @since 0.2.0 */
    ANOMA_FLAG_COMPLETE_ROWS = 1u << 5
} anoma_component_flag;

/** Value types of a parameter. @since 0.1.0 */
typedef enum anoma_param_type {
    ANOMA_PARAM_INT = 0,    /**< integer in [min, max] */
    ANOMA_PARAM_DOUBLE = 1, /**< finite real in [min, max] */
    ANOMA_PARAM_BOOL = 2,   /**< true/false, 1/0, yes/no */
    ANOMA_PARAM_CHOICE = 3, /**< one of the words in `choices` */
    ANOMA_PARAM_TEXT = 4    /**< free text without spaces */
} anoma_param_type;

/**
 * @brief Description of one parameter. Frozen layout; strings are static.
 * @since 0.1.0
 */
typedef struct anoma_param_info {
    const char *key;           /**< the key, such as "n_trees" */
    anoma_param_type type;     /**< value type */
    double min;                /**< smallest accepted value (numbers) */
    double max;                /**< largest accepted value (numbers) */
    const char *default_value; /**< default as text ("" when none) */
    const char *choices;       /**< words separated by '|': the values of a choice, or
                                    words a number also accepts (such as "auto"); else "" */
    const char *doc;           /**< one-line description */
} anoma_param_info;

/**
 * @brief Name of the @p index-th component of a kind, to list them.
 * @return a static string, or NULL past the last one.
 * @since 0.1.0
 */
ANOMA_API const char *anoma_component_name(anoma_component_kind kind, size_t index);

/**
 * @brief One-line summary of a component, or NULL if unknown.
 * @since 0.1.0
 */
ANOMA_API const char *anoma_component_summary(anoma_component_kind kind, const char *name);

/**
 * @brief Describe parameter @p index of component @p name.
 * @param kind component kind; for ::ANOMA_KIND_MODEL the name is "model".
 * @param name component name, such as "zscore".
 * @param index 0-based; iterate until ::ANOMA_ERR_INVALID_ARGUMENT.
 * @param out receives the description.
 * @return ::ANOMA_OK; ::ANOMA_ERR_UNKNOWN_NAME for an unknown component;
 *         ::ANOMA_ERR_INVALID_ARGUMENT past the last parameter.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_component_param(anoma_component_kind kind, const char *name,
                                             size_t index, anoma_param_info *out);

/**
 * @brief What a component can do, as ::anoma_component_flag bits.
 * @param kind component kind.
 * @param name component name, such as "iforest" (for ::ANOMA_KIND_MODEL, "model").
 * @param flags receives the bits (0 when the component has none of them).
 *        Of them, a pipeline step can only have ::ANOMA_FLAG_STATEFUL (its
 *        output depends on the entity's earlier rows, as window features).
 * @return ::ANOMA_OK; ::ANOMA_ERR_UNKNOWN_NAME for an unknown component;
 *         ::ANOMA_ERR_INVALID_ARGUMENT for a NULL argument. Thread-safe.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_component_flags(anoma_component_kind kind, const char *name,
                                             unsigned *flags);

/**
 * @brief Item @p index of a parameter list, with its quoting read.
 *
 * Lists follow the quoting rule above: `"device type","a,b",x` has the
 * three items `device type`, `a,b` and `x`. For a program that takes lists
 * of names from its users in the library's own syntax (the `anoma` tool's
 * `--features`, `--drop` and `--keep` read theirs with it).
 * @param list the list text, such as the value of `columns=`.
 * @param index 0-based item; iterate until ::ANOMA_ERR_INVALID_ARGUMENT.
 *        An empty item between commas is "".
 * @param item receives the item, NUL-terminated, when it fits in @p cap
 *        bytes; may be NULL when @p cap is 0 (to ask for the length).
 * @param cap bytes at @p item.
 * @param length receives the item's length without the NUL, also when it
 *        does not fit; may be NULL.
 * @return ::ANOMA_OK; ::ANOMA_ERR_PARAM_VALUE when @p list breaks the
 *         quoting rule (the message says how); ::ANOMA_ERR_INVALID_ARGUMENT
 *         past the last item or for a NULL argument;
 *         ::ANOMA_ERR_BUFFER_TOO_SMALL when the item does not fit;
 *         ::ANOMA_ERR_NO_MEMORY. Thread-safe.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_param_list_item(const char *list, size_t index, char *item,
                                             size_t cap, size_t *length);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_PARAMS_H */

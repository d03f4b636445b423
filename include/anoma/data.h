/**
 * @file data.h
 * @brief Input data: dense matrix views and frames of named, typed columns.
 *
 * A matrix view describes caller-owned memory; libanoma never copies or keeps
 * it past the call it is passed to. Missing values are NaN; +-Inf is an
 * input error unless a component documents otherwise.
 */
#ifndef ANOMA_DATA_H
#define ANOMA_DATA_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Element type of a matrix view. @since 0.1.0 */
typedef enum anoma_dtype {
    ANOMA_F64 = 0, /**< double */
    ANOMA_F32 = 1  /**< float */
} anoma_dtype;

/**
 * @brief A row-major view of caller-owned dense data. Frozen layout.
 *
 * Element (i, j) is at `data + (i * row_stride + j) * sizeof(element)`.
 * `row_stride >= cols`; a stride larger than `cols` views a column slice.
 * @since 0.1.0
 */
typedef struct anoma_matrix {
    const void *data;  /**< first element */
    size_t rows;       /**< number of rows (observations) */
    size_t cols;       /**< number of columns (features) */
    size_t row_stride; /**< elements between the starts of two rows */
    anoma_dtype dtype; /**< element type */
} anoma_matrix;

/**
 * @brief A view of a contiguous row-major double array.
 * @since 0.1.0
 */
static inline anoma_matrix anoma_matrix_f64(const double *data, size_t rows, size_t cols)
{
    anoma_matrix m = {data, rows, cols, cols, ANOMA_F64};
    return m;
}

/**
 * @brief A view of a contiguous row-major float array.
 * @since 0.1.0
 */
static inline anoma_matrix anoma_matrix_f32(const float *data, size_t rows, size_t cols)
{
    anoma_matrix m = {data, rows, cols, cols, ANOMA_F32};
    return m;
}

/** Column types of a frame. @since 0.1.0 */
typedef enum anoma_column_type {
    ANOMA_COL_DOUBLE = 0,    /**< double; NaN is missing */
    ANOMA_COL_INT64 = 1,     /**< int64_t */
    ANOMA_COL_STRING = 2,    /**< NUL-terminated UTF-8 text; NULL is missing */
    ANOMA_COL_TIMESTAMP = 3  /**< int64_t seconds since 1970-01-01 UTC */
} anoma_column_type;

/**
 * @brief A missing value in an ::ANOMA_COL_TIMESTAMP column (INT64_MIN,
 * which no real timestamp needs). ::ANOMA_COL_INT64 columns have no missing
 * value: whole numbers with gaps are ::ANOMA_COL_DOUBLE.
 * @since 0.2.0
 */
#define ANOMA_TIMESTAMP_MISSING INT64_MIN

/**
 * @brief A table of named, typed columns of equal length.
 *
 * Looking a column up by name, and the duplicate-name check when one is
 * added, take constant time on average (the names are hashed).
 *
 * Columns are added by pointer and not copied: the caller keeps the arrays
 * alive and unchanged while the frame is used, unless the frame was made by
 * a reader (such as anoma_csv_read()), in which case the frame owns them.
 * A frame is single-owner: do not change it from two threads at once.
 * @since 0.1.0
 */
typedef struct anoma_frame anoma_frame;

/**
 * @brief Create an empty frame for columns of @p rows values.
 * @param rows number of rows every column will have (may be 0).
 * @param out receives the frame; free it with anoma_frame_free().
 * @return ::ANOMA_OK, ::ANOMA_ERR_INVALID_ARGUMENT, ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_frame_create(size_t rows, anoma_frame **out);

/** @brief Free a frame and what it owns; accepts NULL. @since 0.1.0 */
ANOMA_API void anoma_frame_free(anoma_frame *frame);

/**
 * @brief Add a column by pointer, without copying.
 *
 * @param frame the frame.
 * @param name column name, copied; must be non-empty and unique in the frame.
 * @param type what @p values points to: `const double *` for
 *        ::ANOMA_COL_DOUBLE, `const int64_t *` for ::ANOMA_COL_INT64 and
 *        ::ANOMA_COL_TIMESTAMP, `const char *const *` for ::ANOMA_COL_STRING.
 * @param values the frame's row count of values, kept by pointer.
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT for a NULL, empty or
 *         duplicate name, a NULL @p values or an unknown type;
 *         ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_frame_add_column(anoma_frame *frame, const char *name,
                                              anoma_column_type type, const void *values);

/** @brief Number of rows. @since 0.1.0 */
ANOMA_API size_t anoma_frame_rows(const anoma_frame *frame);

/** @brief Number of columns. @since 0.1.0 */
ANOMA_API size_t anoma_frame_cols(const anoma_frame *frame);

/**
 * @brief Name of column @p index, or NULL if out of range. The string is
 * owned by the frame. @since 0.1.0
 */
ANOMA_API const char *anoma_frame_column_name(const anoma_frame *frame, size_t index);

/**
 * @brief Find a column by name.
 * @param frame the frame.
 * @param name the column name.
 * @param index receives its position.
 * @return ::ANOMA_OK, ::ANOMA_ERR_UNKNOWN_NAME when absent, or
 *         ::ANOMA_ERR_INVALID_ARGUMENT for a NULL argument.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_frame_find_column(const anoma_frame *frame, const char *name,
                                               size_t *index);

/**
 * @brief Type and values of column @p index.
 * @param frame the frame.
 * @param index column position.
 * @param type receives the type (may be NULL).
 * @param values receives the pointer given to anoma_frame_add_column()
 *        (or owned by the frame); see that function for its element type.
 * @return ::ANOMA_OK or ::ANOMA_ERR_INVALID_ARGUMENT for a bad index.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_frame_column(const anoma_frame *frame, size_t index,
                                          anoma_column_type *type, const void **values);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_DATA_H */

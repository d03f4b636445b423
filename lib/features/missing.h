/* What "missing" means for a cell, and the 0/1 indicator column the
 * imputer (add_indicator=true) and missing_indicator make from it. */
#ifndef AN_FEATURES_MISSING_H
#define AN_FEATURES_MISSING_H

#include "features/step.h"

#include <math.h>

/* NaN for a number, NULL for a text; a timestamp is never missing here. */
static inline int an_cell_missing(an_cell_type type, an_cell cell)
{
    return type == AN_CELL_NUMBER ? isnan(cell.num) : type == AN_CELL_TEXT ? !cell.text : 0;
}

/* Whether any of a training column's cells is missing. */
static inline int an_column_has_missing(an_cell_type type, const an_cell *col, size_t rows)
{
    for (size_t i = 0; i < rows; i++)
        if (an_cell_missing(type, col[i]))
            return 1;
    return 0;
}

/* out[i] = 1 where in[i] is missing, else 0. */
static inline void an_missing_indicator(an_cell_type type, const an_cell *in, an_cell *out,
                                        size_t rows)
{
    for (size_t i = 0; i < rows; i++)
        out[i].num = an_cell_missing(type, in[i]);
}

#endif

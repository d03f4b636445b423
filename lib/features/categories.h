/* The categories of a text column: its distinct non-missing texts sorted by
 * their bytes (scikit-learn's order for str: UTF-8 byte order is code point
 * order), how many training rows hold each, and how many are missing. The
 * encoders (one_hot, ordinal, frequency) and the imputer's most_frequent
 * strategy learn this, and look texts up in it. */
#ifndef AN_FEATURES_CATEGORIES_H
#define AN_FEATURES_CATEGORIES_H

#include "core/name_index.h"
#include "features/step.h"

typedef struct an_categories {
    size_t n;       /* distinct non-missing texts */
    char **texts;   /* n, sorted by strcmp, distinct, owned */
    size_t *counts; /* n: training rows holding each text (NULL after a load without counts) */
    size_t missing; /* training rows with a missing value */
    an_name_index index; /* text -> position, for an_categories_find */
} an_categories;

/* Learn the categories of a text column of `rows` cells (c empty on entry). */
anoma_status an_categories_fit(an_categories *c, const an_cell *col, size_t rows);
void an_categories_free(an_categories *c);

/* Index the texts for an_categories_find: fit and load do it; a step that
 * fills texts itself calls it once they are all in place. */
anoma_status an_categories_index(an_categories *c);

/* Position of a (non-NULL) text among the categories, -1 when absent: one
 * hash and, on a hit, one comparison, whatever the number of categories. */
long an_categories_find(const an_categories *c, const char *text);

/* The most common text (the first in sorted order among ties, as
 * scikit-learn's most_frequent picks the smallest); n >= 1 with counts. */
size_t an_categories_mode(const an_categories *c);

/* Payload: u64 n, then each text (a u32 length and its bytes) followed,
 * with_counts, by its u64 count, then the u64 missing count when with_counts. */
void an_categories_save(const an_categories *c, an_writer *w, int with_counts);
/* Reads what save wrote and checks that the texts are sorted and distinct
 * (and the counts positive); messages name the step and the column. */
anoma_status an_categories_load(an_categories *c, an_reader *r, int with_counts, const char *step,
                                const char *column);

size_t an_categories_memory(const an_categories *c);

#endif

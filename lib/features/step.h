/* The one interface every pipeline step implements.
 *
 * A step is a vtable plus an opaque state, like a detector
 * (lib/detectors/detector.h). The executor (pipeline.c) does the checking,
 * the column placement, the blocking and the file framing; a step sees only
 * the columns it asked for, as column-major arrays of cells, and writes its
 * output columns into memory the executor owns.
 *
 * Life of a step: create (from validated parameters) -> fit, which resolves
 * `columns=` against the input schema and declares, in an an_step_io, the
 * input columns it reads and the output columns it makes -> transform of any
 * number of rows up to the prepared block size, into caller memory, with no
 * allocation -> save / load of the fitted state with a payload version.
 *
 * To add a step: write its file with a vtable, list it in registry.c, add
 * its tests and its section of docs/features.md. */
#ifndef AN_FEATURES_STEP_H
#define AN_FEATURES_STEP_H

#include "anoma/params.h"
#include "core/params.h"
#include "core/strbuf.h"
#include "io/bytes.h"

#include <stdint.h>

/* What a cell holds. Frame INT64 columns enter as NUMBER. */
typedef enum an_cell_type {
    AN_CELL_NUMBER = 0,    /* num; NaN = missing */
    AN_CELL_TEXT = 1,      /* text, pointing into caller memory, never copied; NULL = missing */
    AN_CELL_TIMESTAMP = 2, /* i64 seconds since 1970-01-01 UTC */
} an_cell_type;

/* One value: 8 bytes whatever the type. */
typedef union an_cell {
    double num;
    int64_t i64;
    const char *text;
} an_cell;

/* Rows the executor hands a step at once in batch work; the row scorer uses
 * blocks of one row, through the same code. */
enum { AN_BLOCK_ROWS = 256 };

/* Alignment the executor guarantees for a step's scratch memory (allocated
 * with an_malloc_aligned). */
enum { AN_STEP_SCRATCH_ALIGN = 64 };

/* entity_input's answer when all rows are one entity. */
#define AN_STEP_NO_ENTITY ((size_t)-1)

/* Names and types of a list of columns. The strings belong to whoever made
 * the schema (the executor); a step copies what it keeps. */
typedef struct an_schema {
    size_t n;
    const char *const *names;
    const an_cell_type *types;
} an_schema;

/* The columns a fitted step reads and the ones it makes, filled by fit
 * (through the helpers below) and kept, saved and restored by the executor.
 * Placement rule: inputs with keep = 0 are consumed (removed); the outputs
 * are inserted where the first consumed input was (or at the end when the
 * step consumes nothing); every other column keeps its place. */
typedef struct an_step_io {
    size_t n_inputs;
    size_t *inputs;      /* positions in the step's input schema, in the order transform sees them */
    unsigned char *keep; /* per input: 1 = read but left in place, 0 = consumed */
    size_t n_outputs;
    char **output_names; /* owned */
    an_cell_type *output_types;
} an_step_io;

/* Read input column `position` (keep: leave it in place). */
anoma_status an_step_io_add_input(an_step_io *io, size_t position, int keep);
/* Declare the next output column; the name is printf-formatted and copied. */
anoma_status an_step_io_add_output(an_step_io *io, an_cell_type type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void an_step_io_free(an_step_io *io);

/* Resolve a `columns=a,b,c` parameter (empty = every column whose type is in
 * `accepted`, a mask of 1u << an_cell_type) against the schema and add each
 * column as a consumed input, in schema order for the default and in the
 * given order otherwise; names are read with the quoting rule
 * (core/quoting.h: columns="device type","a,b"). An unknown name, a name
 * listed twice or a column of another type is an error naming the step, the
 * column and what it expected; `at_least_one` makes an empty selection an
 * error. */
anoma_status an_step_resolve_columns(const char *step, const char *columns,
                                     const an_schema *schema, unsigned accepted,
                                     int at_least_one, an_step_io *io);
/* The same for one column given by its name as it is (no quoting). */
anoma_status an_step_resolve_column(const char *step, const char *name, const an_schema *schema,
                                    unsigned accepted, an_step_io *io);

/* Name of a cell type for messages: "number", "text", "timestamp". */
const char *an_cell_type_name(an_cell_type type);

/* Training data as a step sees it: the whole output of the previous step. */
typedef struct an_step_fit_data {
    const an_schema *schema;       /* the step's input columns */
    const an_cell *const *columns; /* schema->n columns of `rows` cells each */
    size_t rows;
    size_t n_threads;              /* 0 = all cores */
} an_step_fit_data;

/* Where a transform failed (a documented run-time error, such as an unseen
 * category in "error" mode): the row within the block. The step has set the
 * message (naming column and value); the executor adds the row number. */
typedef struct an_step_fault {
    size_t row;
} an_step_fault;

typedef struct an_step_vtable {
    const char *name;    /* registry key, such as "standard_scaler" */
    const char *summary; /* one line for help text */
    const anoma_param_info *params;
    size_t n_params;
    unsigned flags;           /* ANOMA_FLAG_*: of them only ANOMA_FLAG_STATEFUL applies */
    uint32_t payload_version; /* written with the payload; load receives the file's */
    /* 1 when transform or entity_transform may refuse a row for its values
     * (an unseen category, a missing value, a bad timestamp). A stream keeps
     * a copy of the entity's earlier steps' state only when a later step
     * may refuse, so a step that refuses must say so here; a stateful step
     * must refuse before it changes its own entity state. */
    unsigned char refuses_rows;

    /* New unfitted state for these (validated) parameters. */
    anoma_status (*create)(const an_params *params, void **state);
    void (*destroy)(void *state);

    /* Learn from data and fill io (empty on entry). On error the executor
     * destroys the state and re-creates it. Resolving `columns=` happens
     * here, so a bad name is a fit error. */
    anoma_status (*fit)(void *state, const an_step_fit_data *data, an_step_io *io);

    /* Bytes of scratch transform needs for blocks of up to block_rows rows
     * (NULL or 0: none). Aligned to AN_STEP_SCRATCH_ALIGN. */
    size_t (*scratch_bytes)(const void *state, size_t block_rows);

    /* Transform `rows` rows: in[k] is the k-th io input column, out[k] the
     * k-th output column, `rows` cells each. Allocates nothing. Returns
     * ANOMA_OK, or a documented run-time error with the message set and
     * fault->row filled. */
    anoma_status (*transform)(const void *state, const an_cell *const *in, an_cell *const *out,
                              size_t rows, void *scratch, an_step_fault *fault);

    /* Fitted state to and from a payload. load gets the payload version the
     * file recorded, the step's input schema and its io as saved (already
     * checked against that schema: positions in range); it must check that
     * the payload agrees with both and check every count it reads. */
    anoma_status (*save)(const void *state, an_writer *w);
    anoma_status (*load)(void *state, an_reader *r, uint32_t version, const an_schema *schema,
                         const an_step_io *io);

    /* Optional, for a step that only passes columns through (select): the
     * io input each output is, unchanged, one entry per output (NULL: the
     * step computes its outputs). The executor then points the outputs at
     * those columns and never calls transform in batch or row work; fit
     * still calls it. */
    const size_t *(*passthrough)(const void *state);

    /* Bytes the fitted state holds. */
    size_t (*memory_bytes)(const void *state);
    /* Human-readable summary of the fitted state (for anoma inspect). */
    void (*describe)(const void *state, an_strbuf *out);

    /* ---- stateful part: all set with ANOMA_FLAG_STATEFUL, else all NULL ----
     * For features that depend on earlier rows of the same entity (lags,
     * rolling windows), shaped like the detectors' stateful part: an entity
     * (a user, a sensor) owns one block of entity_bytes at entity_align,
     * which the caller (a stream, or the batch executor walking rows in
     * order, lib/features/entity_map.h) allocates and keeps; the fitted state
     * stays immutable. entity_bytes = 0: this fitted step keeps no state (a
     * parameter turned it off), and the executor calls transform. */
    size_t (*entity_bytes)(const void *state);
    size_t entity_align;
    /* Make a block the state of an entity never seen (empty history). */
    void (*entity_init)(const void *state, void *entity);
    /* Transform one row of the entity and fold it into its state (in[k] and
     * out[k] point at one cell each); allocates nothing. */
    anoma_status (*entity_transform)(const void *state, void *entity, const an_cell *const *in,
                                     an_cell *const *out, void *scratch, an_step_fault *fault);
    /* Which io input holds the entity key in batch work, or
     * AN_STEP_NO_ENTITY when every row belongs to one entity. */
    size_t (*entity_input)(const void *state);
    /* The entity's state as portable bytes and back, checked as load is. */
    anoma_status (*entity_save)(const void *state, const void *entity, an_writer *w);
    anoma_status (*entity_restore)(const void *state, void *entity, an_reader *r);
} an_step_vtable;

/* The registry: NULL when unknown. */
const an_step_vtable *an_step_find(const char *name);
/* The index-th registered step, NULL past the end. */
const an_step_vtable *an_step_at(size_t index);

#endif

/* The pipeline executor: an input schema, steps in order, and the plan that
 * places each step's columns.
 *
 * Columns are "slots": the input columns first, then each step's outputs in
 * step order. The plan lists, for each step, the slots of the columns it
 * sees (its input schema), and the slots of the final output. It is built
 * from the steps' an_step_io at fit and again at load, by one rule: a step's
 * consumed columns are removed and its outputs inserted where the first of
 * them was (at the end when it consumes none); the rest keep their order.
 *
 * Running a block: the input slots point at the block's input cells, each
 * step's output slots at buffers of the work area, so passthrough columns
 * are never copied. A work wires every step's columns once, when it is
 * made; a block only sets the pointers to its input columns. The same code
 * runs blocks of AN_BLOCK_ROWS rows (batch) and of one row (row scorer), so
 * both give the same values. */
#ifndef AN_FEATURES_PIPELINE_H
#define AN_FEATURES_PIPELINE_H

#include "anoma/data.h"
#include "features/step.h"

typedef struct an_pipeline_step {
    const an_step_vtable *vt;
    an_params params;
    void *state;
    an_step_io io; /* filled by fit or load */
} an_pipeline_step;

typedef struct an_pipeline {
    an_pipeline_step *steps;
    size_t n_steps;
    int fitted;
    /* the input schema, fixed at fit */
    size_t n_inputs;
    char **input_names;
    an_cell_type *input_types;
    /* the plan (see above) */
    size_t n_slots;
    const char **slot_names; /* into input_names and the steps' io */
    an_cell_type *slot_types;
    size_t *step_first_slot; /* per step: slot of its first output */
    size_t *stage_begin;     /* per step and the end: start of its column list in stage_slots */
    size_t *stage_slots;
    size_t n_outputs;        /* the final columns: stage_slots + stage_begin[n_steps] */
    size_t scratch_bytes;    /* per block of AN_BLOCK_ROWS rows, largest step */
    size_t max_step_columns; /* most inputs or outputs of one step */
} an_pipeline;

/* Where input values come from: a matrix (every input a number), or one
 * (type, values) pair per input column, in input order (a frame's columns
 * matched by name, or a typed row). */
typedef struct an_input_column {
    anoma_column_type type;
    const void *values;
} an_input_column;

typedef struct an_input {
    const anoma_matrix *matrix;
    const an_input_column *columns;
    size_t rows;
} an_input;

void an_pipeline_free(an_pipeline *p);

/* Append a step from its name and key=value text (unfitted pipeline). */
anoma_status an_pipeline_add(an_pipeline *p, const char *name, const char *params);

/* Set the input schema (copied). */
anoma_status an_pipeline_set_input(an_pipeline *p, size_t n, const char *const *names,
                                   const an_cell_type *types);

/* Fit every step in order on the previous one's full output, then fill
 * *dense (a new rows x n_outputs row-major array, an_free) with the final
 * output for the detectors. On failure the steps are unfitted again. */
anoma_status an_pipeline_fit(an_pipeline *p, const an_input *in, size_t n_threads,
                             double **dense);

/* Build the plan from the input schema and every step's io (fit and load);
 * checks that the final columns are all numbers. */
anoma_status an_pipeline_plan(an_pipeline *p);

/* Check an input's column types against the schema; `what` names the call. */
anoma_status an_input_check(const an_pipeline *p, const an_input *in, const char *what);

/* Point slot[0 .. n_inputs) at rows [start, start + rows) of in, converting
 * into `converted` (n_inputs columns of `stride` cells) where the
 * representation differs. A number that is +-Inf is an error naming column
 * and row. */
anoma_status an_input_cells(const an_pipeline *p, const an_input *in, size_t start, size_t rows,
                            const an_cell **slot, an_cell *converted, size_t stride);

/* The plan of the first `upto` steps, while fitting (the later ones are not
 * fitted yet): the last stage is what step `upto` will see. */
anoma_status an_pipeline_plan_steps(an_pipeline *p, size_t upto);
/* The columns step s sees (or the final ones for s = n_steps), into caller
 * arrays of the stage's width. */
an_schema an_pipeline_stage(const an_pipeline *p, size_t s, const char **names,
                            an_cell_type *types);
/* The step among the first `upto` whose output slot is, or AN_NO_STEP for
 * an input column. */
#define AN_NO_STEP ((size_t)-1)
size_t an_pipeline_slot_step(const an_pipeline *p, size_t upto, size_t slot);
/* Bytes of per-entity state step s keeps: 0 for a stateless step. */
size_t an_pipeline_step_state_bytes(const an_pipeline *p, size_t s);
/* 1 when some step keeps per-entity state: batch work then runs the steps
 * from the first such step on in input order, on the calling thread. */
int an_pipeline_is_stateful(const an_pipeline *p);
/* The steps [0, n) whose entity states a later step's refusal of the same
 * row could leave changed: n is the index of the last step that may refuse
 * a row (0 when none), so a row's run needs no undo for steps from n on. */
size_t an_pipeline_undo_steps(const an_pipeline *p);
/* A map for step s's entity states (NULL, with ANOMA_OK, for a stateless step). */
struct an_entity_map;
anoma_status an_pipeline_step_map(const an_pipeline *p, size_t s, struct an_entity_map **map);
/* What running a step needs besides its columns: its scratch, and for a
 * stateful step its entity map (from an_pipeline_step_map; NULL for a
 * stateless step) and room for one row's cell pointers (the step's input
 * and output counts). A stream gives instead the one entity's block in
 * `entity` (one row, map NULL): its key, not a column, picks the state. */
typedef struct an_step_memory {
    void *scratch;
    struct an_entity_map *map;
    const an_cell **row_in;
    an_cell **row_out;
    void *entity;
} an_step_memory;
/* Run step s on rows [start, start + rows); errors gain the row number. A
 * stateful step runs row by row in order, each row with its entity's state. */
anoma_status an_pipeline_run_step(const an_pipeline *p, size_t s, const an_cell *const *in,
                                  an_cell *const *out, size_t rows, size_t start,
                                  const an_step_memory *memory);
/* Back to unfitted: fresh states, no io, no plan. */
void an_pipeline_unfit(an_pipeline *p);

/* Transform rows [0, in->rows) into out (rows x n_outputs, row-major) with
 * up to n_threads threads: blocks in parallel, and with stateful steps the
 * steps before the first of them in parallel, the rest in input order (the
 * same values for every thread count). Errors name the column and the row. */
anoma_status an_pipeline_transform(const an_pipeline *p, const an_input *in, size_t n_threads,
                                   double *out);
/* The same for rows [first, first + rows) of in, into out (rows x
 * n_outputs); errors name rows of in. Stateful steps start their entities
 * empty at every call: only a stateless pipeline can be run in parts. */
anoma_status an_pipeline_transform_rows(const an_pipeline *p, const an_input *in, size_t first,
                                        size_t rows, size_t n_threads, double *out);

/* Memory for running blocks of up to block_rows rows: made once, reused for
 * every block (one per thread). It also holds the stateful steps' entity
 * states, so blocks run through one work continue each entity's history:
 * batch transforms make one work per call, a row scorer keeps one for its
 * life. */
typedef struct an_pipeline_work an_pipeline_work;
anoma_status an_pipeline_work_create(const an_pipeline *p, size_t block_rows,
                                     an_pipeline_work **out);
void an_pipeline_work_free(an_pipeline_work *w);
/* Rows [start, start + rows) of in (rows <= block_rows) into out, row-major
 * with n_outputs values per row. Allocates nothing. */
anoma_status an_pipeline_run_block(const an_pipeline *p, an_pipeline_work *w, const an_input *in,
                                   size_t start, size_t rows, double *out);

/* One row (row `start` of in) into out with the given entity states:
 * states[s] is stateful step s's block (NULL for a step without state), so
 * the caller's entity key, not a step's entity column, picks the history.
 * The stream's path (lib/stream). Allocates nothing; on error the blocks
 * may be part-updated (the caller keeps a copy). */
anoma_status an_pipeline_run_row_states(const an_pipeline *p, an_pipeline_work *w,
                                        const an_input *in, size_t start, void *const *states,
                                        double *out);

/* Columns of cells (numbers) into rows x n_columns doubles, row-major. */
void an_cells_to_rows(const an_cell *const *columns, size_t n_columns, size_t rows, double *out);

/* Save / load: the input schema and each step (see docs/model-format.md). */
void an_pipeline_save(const an_pipeline *p, an_writer *w);
/* One step as the pipeline saves it: name, parameters, columns, payload. */
void an_pipeline_save_step(const an_pipeline_step *step, an_writer *w);
anoma_status an_pipeline_load(an_pipeline *p, an_reader *r);

size_t an_pipeline_memory_bytes(const an_pipeline *p);
void an_pipeline_describe(const an_pipeline *p, an_strbuf *out);

#endif

/* What a fuzz target does with a model the reader accepted: every use a
 * host makes of it must stay safe, and saving must be stable. */
#ifndef ANOMA_FUZZ_EXERCISE_MODEL_H
#define ANOMA_FUZZ_EXERCISE_MODEL_H

#include "anoma/anoma.h"

/* Describe, score two rows (batch, members, probability, feature scores,
 * row scorer), then save, reload and save again: the two saved files must
 * be byte-identical, else abort() so the fuzzer reports the input. */
void fuzz_exercise_model(const anoma_model *m);

#endif

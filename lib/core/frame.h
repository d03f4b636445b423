/* Internal side of anoma_frame: what readers need beyond the public API. */
#ifndef AN_CORE_FRAME_H
#define AN_CORE_FRAME_H

#include "anoma/data.h"

/* Make the frame own buffer (any an_malloc'd block, such as a column's
 * values or the storage its strings point into); anoma_frame_free()
 * releases it with an_free. Ownership passes whatever happens: on failure
 * (ANOMA_ERR_NO_MEMORY) the buffer has already been freed, so a reader can
 * hand a buffer over first and add the column that points into it next,
 * with no leak on any path. NULL is accepted and ignored. */
anoma_status an_frame_adopt(anoma_frame *frame, void *buffer);

/* A frame holding its own copy of f's columns (names, values, strings),
 * so that it outlives the caller's arrays; free with anoma_frame_free. */
anoma_status an_frame_copy(const anoma_frame *f, anoma_frame **out);

#endif

/*
 * IDX files (the MNIST / Fashion-MNIST format), gzipped, read whole or not at
 * all: a caller either gets every image and label of a split or an error
 * message naming the file, never a partly filled array.
 */
#ifndef VCONV_EXAMPLES_IDX_H
#define VCONV_EXAMPLES_IDX_H

#include <stddef.h>
#include <stdint.h>

typedef struct idx_split {
  int64_t count;   /* images (= labels) */
  int64_t rows, cols;
  uint8_t *pixels; /* count x rows x cols, row-major */
  uint8_t *labels; /* count, each < 10 */
} idx_split;

/*
 * Loads <dir>/<prefix>-images-idx3-ubyte.gz and <dir>/<prefix>-labels-idx1-ubyte.gz.
 * Returns 0, or -1 with a one-line message in err (the file and what is wrong:
 * missing, not gzip or truncated, wrong magic number, a size the header
 * disagrees with, a label out of range, image and label counts differing).
 */
int idx_load_split(const char *dir, const char *prefix, idx_split *out, char *err, size_t err_size);
void idx_free_split(idx_split *split);

/* One IDX file: magic 0x0000 08 <ndim> (unsigned bytes), ndim big-endian
 * sizes, then the data.  dims receives ndim sizes (ndim must match). */
int idx_load_file(const char *path, int ndim, int64_t *dims, uint8_t **data, char *err,
                  size_t err_size);

#endif

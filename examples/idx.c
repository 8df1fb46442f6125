#include "idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Largest file the loader accepts: Fashion-MNIST's training images are 47 MB
 * uncompressed; a header claiming more is corrupt, not a bigger dataset. */
#define IDX_MAX_BYTES ((int64_t)1 << 31)

static int fail(char *err, size_t n, const char *path, const char *what) {
  snprintf(err, n, "%s: %s", path, what);
  return -1;
}

/* Reads exactly n bytes; a short read is an error (zlib tells truncation
 * and corruption apart, and a plain short file is "ends early"). */
static int read_exact(gzFile f, void *buf, size_t n, const char *path, char *err, size_t en) {
  unsigned char *p = buf;
  while (n > 0) {
    unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
    int got = gzread(f, p, chunk);
    if (got < 0) {
      int code;
      const char *msg = gzerror(f, &code);
      char what[256];
      snprintf(what, sizeof what, "not a valid gzip stream (%s)", msg ? msg : "read error");
      return fail(err, en, path, what);
    }
    if (got == 0) {
      int code;
      const char *msg = gzerror(f, &code);
      if (code != Z_OK) {
        char what[256];
        snprintf(what, sizeof what, "truncated or corrupt gzip stream (%s)", msg);
        return fail(err, en, path, what);
      }
      return fail(err, en, path, "ends before the size its header gives");
    }
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

int idx_load_file(const char *path, int ndim, int64_t *dims, uint8_t **data, char *err,
                  size_t err_size) {
  *data = NULL;
  FILE *probe = fopen(path, "rb");
  if (!probe) {
    char what[256];
    snprintf(what, sizeof what, "cannot open (%s)", strerror(errno));
    return fail(err, err_size, path, what);
  }
  fclose(probe);
  gzFile f = gzopen(path, "rb");
  if (!f) return fail(err, err_size, path, "cannot open as gzip");
  if (gzdirect(f)) {
    /* gzopen reads a file that is not gzip transparently; the dataset's
     * files are gzip, so anything else (an empty file too) is the wrong file. */
    gzclose(f);
    return fail(err, err_size, path, "not a gzip file");
  }
  unsigned char head[4 + 4 * 4];
  if (read_exact(f, head, 4 + 4 * (size_t)ndim, path, err, err_size)) {
    gzclose(f);
    return -1;
  }
  if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || head[3] != (unsigned char)ndim) {
    char what[128];
    snprintf(what, sizeof what,
             "wrong magic number 0x%02x%02x%02x%02x (expected 0x000008%02x: unsigned bytes, %d dimensions)",
             head[0], head[1], head[2], head[3], ndim, ndim);
    gzclose(f);
    return fail(err, err_size, path, what);
  }
  int64_t total = 1;
  for (int i = 0; i < ndim; i++) {
    const unsigned char *b = head + 4 + 4 * i;
    dims[i] = ((int64_t)b[0] << 24) | ((int64_t)b[1] << 16) | ((int64_t)b[2] << 8) | b[3];
    if (dims[i] == 0 || total > IDX_MAX_BYTES / dims[i]) {
      gzclose(f);
      return fail(err, err_size, path, "header gives an empty or implausibly large size");
    }
    total *= dims[i];
  }
  uint8_t *buf = malloc((size_t)total);
  if (!buf) {
    gzclose(f);
    return fail(err, err_size, path, "out of memory");
  }
  if (read_exact(f, buf, (size_t)total, path, err, err_size)) {
    free(buf);
    gzclose(f);
    return -1;
  }
  /* Data past the header's size means the header is wrong about the file;
   * reading on also makes zlib check the gzip trailer (CRC and length). */
  unsigned char extra;
  int got = gzread(f, &extra, 1);
  int code = Z_OK;
  const char *msg = gzerror(f, &code);
  if (got > 0) {
    free(buf);
    gzclose(f);
    return fail(err, err_size, path, "holds more data than its header gives");
  }
  if (got < 0 || code != Z_OK) {
    char what[256];
    snprintf(what, sizeof what, "truncated or corrupt gzip stream (%s)", msg ? msg : "read error");
    free(buf);
    gzclose(f);
    return fail(err, err_size, path, what);
  }
  if (gzclose(f) != Z_OK) {
    free(buf);
    return fail(err, err_size, path, "read error on close");
  }
  *data = buf;
  return 0;
}

int idx_load_split(const char *dir, const char *prefix, idx_split *out, char *err, size_t err_size) {
  memset(out, 0, sizeof *out);
  char ipath[4096], lpath[4096];
  snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
  snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
  int64_t idims[3], ldims[1];
  uint8_t *pixels = NULL, *labels = NULL;
  if (idx_load_file(ipath, 3, idims, &pixels, err, err_size)) return -1;
  if (idx_load_file(lpath, 1, ldims, &labels, err, err_size)) {
    free(pixels);
    return -1;
  }
  if (idims[0] != ldims[0]) {
    char what[4200];
    snprintf(what, sizeof what, "%lld labels for %lld images in %s", (long long)ldims[0],
             (long long)idims[0], ipath);
    free(pixels);
    free(labels);
    return fail(err, err_size, lpath, what);
  }
  for (int64_t i = 0; i < ldims[0]; i++) {
    if (labels[i] > 9) {
      char what[96];
      snprintf(what, sizeof what, "label %u of item %lld is not a class 0-9", labels[i],
               (long long)i);
      free(pixels);
      free(labels);
      return fail(err, err_size, lpath, what);
    }
  }
  out->count = idims[0];
  out->rows = idims[1];
  out->cols = idims[2];
  out->pixels = pixels;
  out->labels = labels;
  return 0;
}

void idx_free_split(idx_split *split) {
  free(split->pixels);
  free(split->labels);
  memset(split, 0, sizeof *split);
}

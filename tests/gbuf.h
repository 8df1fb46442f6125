/*
 * Buffers that end exactly where an inaccessible page starts (mmap, then
 * mprotect PROT_NONE on the page after the data), so a read or write one
 * element past the end faults at once, with or without a sanitizer.
 */
#ifndef VCONV_TEST_GBUF_H
#define VCONV_TEST_GBUF_H

#include <stddef.h>

typedef struct gbuf {
  unsigned char *map;
  size_t maplen;
  float *data; /* n floats ending exactly where an inaccessible page starts */
  size_t n;
} gbuf;

/* bytes (0 allowed) ending at the guard page; exits the process if mmap fails. */
void *gbuf_alloc_bytes(gbuf *b, size_t bytes);
/* n floats (at least one is mapped) ending at the guard page. */
float *gbuf_alloc(gbuf *b, size_t n);
void gbuf_free(gbuf *b);

#endif

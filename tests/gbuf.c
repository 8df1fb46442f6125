/* Buffers ending at a guard page (see gbuf.h). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "gbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void) {
  static size_t ps;
  if (!ps) ps = (size_t)sysconf(_SC_PAGESIZE);
  return ps;
}

void *gbuf_alloc_bytes(gbuf *b, size_t bytes) {
  const size_t ps = page_size(), pages = (bytes + ps - 1) / ps + 1;
  b->maplen = pages * ps;
  b->map = mmap(NULL, b->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b->map == MAP_FAILED) {
    printf("FAIL: mmap of %zu bytes\n", b->maplen);
    exit(1);
  }
  if (mprotect(b->map + (pages - 1) * ps, ps, PROT_NONE) != 0) {
    printf("FAIL: mprotect\n");
    exit(1);
  }
  return b->map + (pages - 1) * ps - bytes;
}

float *gbuf_alloc(gbuf *b, size_t n) {
  b->n = n;
  b->data = gbuf_alloc_bytes(b, (n ? n : 1) * sizeof(float));
  return b->data;
}

void gbuf_free(gbuf *b) {
  if (b->map) munmap(b->map, b->maplen);
  b->map = NULL;
}

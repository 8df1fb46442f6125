/* The machine plans are made for, detected once per process. */
#include <pthread.h>

#include "plan.h"

static vconv_machine machine;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int64_t clamp64(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : x > hi ? hi : x; }

static void detect(void) {
  vconv_cpu_info ci;
  int64_t l1 = 32 << 10, l2 = 256 << 10, l3 = 2 << 20, cores = 1;
  if (vconv_get_cpu_info(&ci) == VCONV_OK) {
    if (ci.l1d_bytes > 0) l1 = ci.l1d_bytes;
    if (ci.l2_bytes > 0) l2 = ci.l2_bytes;
    if (ci.l3_bytes > 0) l3 = ci.l3_bytes;
    if (ci.cores > 0) cores = ci.cores;
  }
  /* Implausible reports (a VM here claims a 508 MiB L3) must not size buffers. */
  machine.l1d = clamp64(l1, 16 << 10, 128 << 10);
  machine.l2 = clamp64(l2, 128 << 10, 4 << 20);
  machine.l3 = clamp64(l3, 1 << 20, 32 << 20);
  machine.cores = cores;
}

const vconv_machine *vconv_i_machine(void) {
  pthread_once(&once, detect);
  return &machine;
}

/* Internal interface of the tier-agnostic drivers (baseline code). */
#ifndef VCONV_OPS_H
#define VCONV_OPS_H

#include "dispatch.h"
#include "kernel.h"
#include "vconv.h"

vconv_status vconv_i_conv_resolve(const vconv_conv2d_desc *d, vconv_conv_shape *s);
vconv_status vconv_i_pool_resolve(const vconv_pool2d_desc *d, vconv_pool_shape *s);

/* An operator running the planned choice (plan/) on the resolved shape *s. */
struct vconv_i_choice;
vconv_status vconv_i_conv_make(const vconv_conv_shape *s, const struct vconv_i_choice *choice,
                               const float *weights, const float *bias, vconv_conv2d_op **op);
const struct vconv_i_choice *vconv_i_conv_choice_of(const vconv_conv2d_op *op);

/* How many workers run() uses for `pieces` pieces of work. */
size_t vconv_i_workers(const vconv_parallel *par, size_t pieces);

/* Below about this much work per worker, handing work to another thread
 * costs more than it saves: a spinning pool's handover (publish, claim,
 * finish, three cache-line transfers) is about 0.5 us; LeNet-5's pooling
 * layers take 0.1-0.2 us on one core. */
#define VCONV_I_MIN_WORKER_NS 1000.0
/* Pieces one worker must get at least, for an operation estimated at work_ns. */
size_t vconv_i_grain(double work_ns, size_t pieces);
/* Pieces per claim on the shared counter: claims of several small pieces, as
 * two cores bouncing the counter's cache line (~0.1-0.2 us a claim) cost more
 * than a small piece (a 27 x 27 pooling plane). */
#define VCONV_I_CLAIM_NS 1000.0
size_t vconv_i_chunk(double work_ns, size_t pieces);
/* vconv_i_workers when every worker must get at least `grain` pieces. */
size_t vconv_i_workers_grain(const vconv_parallel *par, size_t pieces, size_t grain);

/* Runs piece(arg, scratch, i) for every i in [0, pieces): vconv_i_workers()
 * workers on the caller's parallel-for (or the calling thread) take pieces
 * from a shared counter; worker w's scratch is scratch + w * scratch_stride. */
typedef void (*vconv_i_piece_fn)(void *arg, void *scratch, size_t piece);
void vconv_i_run_pieces(const vconv_parallel *par, size_t pieces, unsigned char *scratch,
                        size_t scratch_stride, vconv_i_piece_fn piece, void *arg);
/* Rough single-thread speed of a tier in vector lanes (times a per-algorithm
 * rate measured on AlexNet: about 5 multiply-adds and 1.5 pooling taps per
 * lane and ns); only used to keep tiny operations on one thread. */
static inline double vconv_i_lanes(vconv_isa isa) {
  switch (isa) {
    case VCONV_ISA_SSE41: case VCONV_ISA_NEON: return 4;
    case VCONV_ISA_AVX2: return 8;
    case VCONV_ISA_AVX512: return 16;
    default: return 1;
  }
}

/* Same with vconv_i_workers_grain(par, pieces, grain) workers claiming up to
 * `chunk` pieces at a time. */
void vconv_i_run_split(const vconv_parallel *par, size_t pieces, size_t grain, size_t chunk,
                       unsigned char *scratch, size_t scratch_stride, vconv_i_piece_fn piece,
                       void *arg);

/* A worker's scratch of task_bytes, rounded up to whole cache lines, and the
 * workspace of `workers` such slices plus 64 bytes to align a caller's memory;
 * both SIZE_MAX where they would not fit (allocation then fails). */
size_t vconv_i_slice_bytes(size_t task_bytes);
size_t vconv_i_slices_bytes(size_t slice_bytes, size_t workers);

/* The caller's workspace (checked against need), aligned up to a cache line,
 * or one allocated for the call (*owned, freed with vconv_i_free); *ws NULL
 * when need is 0. */
vconv_status vconv_i_scratch(size_t need, void *workspace, size_t workspace_size,
                             unsigned char **ws, void **owned);

/* Cache-line aligned allocation of `bytes` (any size); free with vconv_i_free. */
void *vconv_i_alloc(size_t bytes);
void vconv_i_free(void *p);

#endif

/* Internal interface of the tier-agnostic drivers (baseline code). */
#ifndef VCONV_OPS_H
#define VCONV_OPS_H

#include "dispatch.h"
#include "kernel.h"
#include "vconv.h"

vconv_status vconv_i_conv_resolve(const vconv_conv2d_desc *d, vconv_conv_shape *s);
vconv_status vconv_i_pool_resolve(const vconv_pool2d_desc *d, vconv_pool_shape *s);

/* How many workers run() uses for `pieces` pieces of work. */
size_t vconv_i_workers(const vconv_parallel *par, size_t pieces);

/* Runs piece(arg, scratch, i) for every i in [0, pieces): vconv_i_workers()
 * workers on the caller's parallel-for (or the calling thread) take pieces
 * from a shared counter; worker w's scratch is scratch + w * scratch_stride. */
typedef void (*vconv_i_piece_fn)(void *arg, void *scratch, size_t piece);
void vconv_i_run_pieces(const vconv_parallel *par, size_t pieces, unsigned char *scratch,
                        size_t scratch_stride, vconv_i_piece_fn piece, void *arg);

/* Cache-line aligned allocation of `bytes` (any size); free with vconv_i_free. */
void *vconv_i_alloc(size_t bytes);
void vconv_i_free(void *p);

#endif

/* Internal interface of the tier-agnostic drivers (baseline code). */
#ifndef VCONV_OPS_H
#define VCONV_OPS_H

#include "dispatch.h"
#include "kernel.h"
#include "vconv.h"

vconv_status vconv_i_conv_resolve(const vconv_conv2d_desc *d, vconv_conv_shape *s);
vconv_status vconv_i_pool_resolve(const vconv_pool2d_desc *d, vconv_pool_shape *s);

/* Runs task(arg, i) for i in [0, n) on the caller's parallel-for, or inline. */
void vconv_i_parallel(const vconv_parallel *par, size_t n, vconv_task_fn task, void *arg);

/* Cache-line aligned allocation of `bytes` (any size); free with vconv_i_free. */
void *vconv_i_alloc(size_t bytes);
void vconv_i_free(void *p);

#endif

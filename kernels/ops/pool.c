/* Pooling operators: create (validate, select), run, destroy. */
#include <stdlib.h>

#include "ops.h"

struct vconv_pool2d_op {
  vconv_pool_shape shape;
  const vconv_pool_kernel *kernel;
  size_t task_count;
};

vconv_status vconv_pool2d_create_for_isa(const vconv_pool2d_desc *desc, vconv_isa isa,
                                         vconv_pool2d_op **out) {
  if (!desc || !out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  vconv_pool_shape s;
  vconv_status st = vconv_i_pool_resolve(desc, &s);
  if (st != VCONV_OK) return st;
  vconv_isa tier;
  if ((st = vconv_i_resolve_isa(isa, &tier)) != VCONV_OK) return st;
  const vconv_pool_kernel *kernel;
  if ((st = vconv_i_select_pool(tier, &kernel)) != VCONV_OK) return st;
  vconv_pool2d_op *op = calloc(1, sizeof *op);
  if (!op) return VCONV_ERR_OUT_OF_MEMORY;
  op->shape = s;
  op->kernel = kernel;
  op->task_count = kernel->task_count(&s);
  *out = op;
  return VCONV_OK;
}

vconv_status vconv_pool2d_create(const vconv_pool2d_desc *desc, vconv_pool2d_op **op) {
  return vconv_pool2d_create_for_isa(desc, VCONV_ISA_AUTO, op);
}

vconv_status vconv_pool1d_create(const vconv_pool1d_desc *desc, vconv_pool2d_op **op) {
  if (!desc) return VCONV_ERR_NULL_POINTER;
  vconv_pool2d_desc d;
  vconv_pool1d_to_2d(desc, &d);
  return vconv_pool2d_create(&d, op);
}

size_t vconv_pool2d_workspace_size(const vconv_pool2d_op *op, const vconv_parallel *parallel) {
  (void)op;
  (void)parallel;
  return 0;
}

typedef struct pool_call {
  const vconv_pool2d_op *op;
  const float *in;
  float *out;
} pool_call;

static void pool_piece(void *arg, void *scratch, size_t i) {
  (void)scratch;
  const pool_call *c = arg;
  c->op->kernel->run(&c->op->shape, c->in, c->out, i);
}

vconv_status vconv_pool2d_run(const vconv_pool2d_op *op, const float *input, float *output,
                              void *workspace, size_t workspace_size,
                              const vconv_parallel *parallel) {
  (void)workspace;
  (void)workspace_size;
  if (!op || !input || !output) return VCONV_ERR_NULL_POINTER;
  pool_call call = {op, input, output};
  vconv_i_run_pieces(parallel, op->task_count, NULL, 0, pool_piece, &call);
  return VCONV_OK;
}

const char *vconv_pool2d_kernel_name(const vconv_pool2d_op *op) { return op ? op->kernel->name : NULL; }
vconv_isa vconv_pool2d_isa(const vconv_pool2d_op *op) { return op ? op->kernel->isa : VCONV_ISA_AUTO; }

void vconv_pool2d_destroy(vconv_pool2d_op *op) { free(op); }

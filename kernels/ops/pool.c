/* Pooling operators: create (validate, select, copy the window weights), run
 * forward (with or without indices) and backward, destroy. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

struct vconv_pool2d_op {
  vconv_pool_shape shape;
  const vconv_pool_kernel *kernel;
  size_t task_count, task_workspace;       /* forward */
  size_t bwd_task_count, bwd_task_workspace; /* backward */
  /* least tasks per worker and most per claim (vconv_i_grain, vconv_i_chunk) */
  size_t grain, bwd_grain, chunk, bwd_chunk;
  float *weights; /* WEIGHTED: the operator's copy, shape.weights points here */
};

vconv_status vconv_pool2d_create_for_isa(const vconv_pool2d_desc *desc, vconv_isa isa,
                                         vconv_pool2d_op **out) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  if (!desc) return VCONV_ERR_NULL_POINTER;
  vconv_pool_shape s;
  vconv_status st = vconv_i_pool_resolve(desc, &s);
  if (st != VCONV_OK) return st;
  vconv_isa tier;
  if ((st = vconv_i_resolve_isa(isa, &tier)) != VCONV_OK) return st;
  const vconv_pool_kernel *kernel;
  if ((st = vconv_i_select_pool(tier, &kernel)) != VCONV_OK) return st;
  vconv_pool2d_op *op = calloc(1, sizeof *op);
  if (!op) return VCONV_ERR_OUT_OF_MEMORY;
  if (s.kind == VCONV_POOL_WEIGHTED) {
    const size_t n = (size_t)(s.R * s.S);
    if (!(op->weights = malloc(n * sizeof(float)))) {
      free(op);
      return VCONV_ERR_OUT_OF_MEMORY;
    }
    memcpy(op->weights, s.weights, n * sizeof(float));
    s.weights = op->weights;
  }
  op->shape = s;
  op->kernel = kernel;
  op->task_count = kernel->task_count(&s);
  op->task_workspace = kernel->task_workspace(&s);
  op->bwd_task_count = kernel->bwd_task_count(&s);
  op->bwd_task_workspace = kernel->bwd_task_workspace(&s);
  const double taps_ns = (double)s.N * (double)s.C * (double)(s.P * s.Q) * (double)(s.R * s.S) /
                         (1.5 * vconv_i_lanes(kernel->isa));
  op->grain = vconv_i_grain(taps_ns, op->task_count);
  op->bwd_grain = vconv_i_grain(taps_ns, op->bwd_task_count);
  op->chunk = vconv_i_chunk(taps_ns, op->task_count);
  op->bwd_chunk = vconv_i_chunk(taps_ns, op->bwd_task_count);
  *out = op;
  return VCONV_OK;
}

vconv_status vconv_pool2d_create(const vconv_pool2d_desc *desc, vconv_pool2d_op **op) {
  return vconv_pool2d_create_for_isa(desc, VCONV_ISA_AUTO, op);
}

vconv_status vconv_pool1d_create(const vconv_pool1d_desc *desc, vconv_pool2d_op **op) {
  if (op) *op = NULL;
  if (!desc) return VCONV_ERR_NULL_POINTER;
  vconv_pool2d_desc d;
  vconv_pool1d_to_2d(desc, &d);
  return vconv_pool2d_create(&d, op);
}

/* Each worker's scratch is a cache-line multiple. */
static size_t slice(size_t bytes) { return vconv_i_slice_bytes(bytes); }

static size_t need_for(size_t task_ws, size_t tasks, size_t grain, const vconv_parallel *parallel) {
  return task_ws ? vconv_i_slices_bytes(slice(task_ws), vconv_i_workers_grain(parallel, tasks, grain))
                 : 0;
}

size_t vconv_pool2d_workspace_size(const vconv_pool2d_op *op, const vconv_parallel *parallel) {
  if (!op) return 0;
  const size_t f = need_for(op->task_workspace, op->task_count, op->grain, parallel);
  const size_t b = need_for(op->bwd_task_workspace, op->bwd_task_count, op->bwd_grain, parallel);
  return f > b ? f : b;
}

typedef struct pool_call {
  const vconv_pool2d_op *op;
  const float *in;
  float *out;
  int32_t *idx;
  vconv_pool_grads grads;
} pool_call;

static void fwd_piece(void *arg, void *scratch, size_t i) {
  const pool_call *c = arg;
  c->op->kernel->run(&c->op->shape, c->in, c->out, c->idx, scratch, i);
}

static void bwd_piece(void *arg, void *scratch, size_t i) {
  const pool_call *c = arg;
  c->op->kernel->backward(&c->op->shape, &c->grads, scratch, i);
}

static vconv_status forward(const vconv_pool2d_op *op, const float *input, float *output,
                            int32_t *indices, void *workspace, size_t workspace_size,
                            const vconv_parallel *parallel) {
  const size_t need = need_for(op->task_workspace, op->task_count, op->grain, parallel);
  unsigned char *ws;
  void *owned;
  const vconv_status st = vconv_i_scratch(need, workspace, workspace_size, &ws, &owned);
  if (st != VCONV_OK) return st;
  pool_call call = {op, input, output, indices, {0}};
  vconv_i_run_split(parallel, op->task_count, op->grain, op->chunk, ws, slice(op->task_workspace),
                    fwd_piece, &call);
  vconv_i_free(owned);
  return VCONV_OK;
}

vconv_status vconv_pool2d_run(const vconv_pool2d_op *op, const float *input, float *output,
                              void *workspace, size_t workspace_size,
                              const vconv_parallel *parallel) {
  if (!op || !input || !output) return VCONV_ERR_NULL_POINTER;
  return forward(op, input, output, NULL, workspace, workspace_size, parallel);
}

/* Kinds whose windows come from one tap. */
static int has_indices(const vconv_pool_shape *s) {
  return s->kind == VCONV_POOL_MAX || (s->kind == VCONV_POOL_STOCHASTIC && s->training);
}

/* Indices are int32 flat positions in one input plane. */
static int plane_fits_int32(const vconv_pool_shape *s) { return s->H * s->W <= INT32_MAX; }

/* Every index in [-1, H*W): what run_with_indices can have written. */
static int indices_ok(const vconv_pool_shape *s, const int32_t *indices) {
  const int64_t n = s->N * s->C * s->P * s->Q, hw = s->H * s->W;
  int bad = 0;
  for (int64_t i = 0; i < n; i++) bad |= indices[i] < -1 || indices[i] >= hw;
  return !bad;
}

vconv_status vconv_pool2d_flat_indices(const vconv_pool2d_op *op, const int32_t *indices,
                                       int64_t *flat) {
  if (!op || !indices || !flat) return VCONV_ERR_NULL_POINTER;
  const vconv_pool_shape *s = &op->shape;
  if (!has_indices(s)) return VCONV_ERR_UNSUPPORTED_OPTION;
  if (!indices_ok(s, indices)) return VCONV_ERR_INVALID_ARGUMENT;
  const int64_t PQ = s->P * s->Q, hw = s->H * s->W, n = s->N * s->C * PQ;
  for (int64_t i = 0; i < n; i++) {
    /* The input plane of output element i: n * C + c. */
    const int64_t plane = s->layout == VCONV_LAYOUT_NCHW ? i / PQ : i / (PQ * s->C) * s->C + i % s->C;
    flat[i] = indices[i] < 0 ? -1 : plane * hw + indices[i];
  }
  return VCONV_OK;
}

vconv_status vconv_pool2d_run_with_indices(const vconv_pool2d_op *op, const float *input,
                                           float *output, int32_t *indices, void *workspace,
                                           size_t workspace_size, const vconv_parallel *parallel) {
  if (!op || !input || !output || !indices) return VCONV_ERR_NULL_POINTER;
  if (!has_indices(&op->shape)) return VCONV_ERR_UNSUPPORTED_OPTION;
  if (!plane_fits_int32(&op->shape)) return VCONV_ERR_SIZE_OVERFLOW;
  return forward(op, input, output, indices, workspace, workspace_size, parallel);
}

vconv_status vconv_pool2d_backward(const vconv_pool2d_op *op, const float *input,
                                   const float *output, const int32_t *indices,
                                   const float *grad_output, float *grad_input, void *workspace,
                                   size_t workspace_size, const vconv_parallel *parallel) {
  if (!op || !grad_output || !grad_input) return VCONV_ERR_NULL_POINTER;
  const vconv_pool_shape *s = &op->shape;
  switch (s->kind) {
    case VCONV_POOL_MAX:
      if (!indices && !input) return VCONV_ERR_NULL_POINTER;
      break;
    case VCONV_POOL_L2:
    case VCONV_POOL_LP:
      if (!input || !output) return VCONV_ERR_NULL_POINTER;
      break;
    case VCONV_POOL_STOCHASTIC:
      if (!input && (!s->training || !indices)) return VCONV_ERR_NULL_POINTER;
      break;
    default: break;
  }
  if (has_indices(s) && !plane_fits_int32(s)) return VCONV_ERR_SIZE_OVERFLOW;
  /* The kernels write through the indices: a caller's must name a tap of its plane. */
  if (has_indices(s) && indices && !indices_ok(s, indices)) return VCONV_ERR_INVALID_ARGUMENT;
  const size_t need = need_for(op->bwd_task_workspace, op->bwd_task_count, op->bwd_grain, parallel);
  unsigned char *ws;
  void *owned;
  const vconv_status st = vconv_i_scratch(need, workspace, workspace_size, &ws, &owned);
  if (st != VCONV_OK) return st;
  pool_call call = {op, NULL, NULL, NULL, {input, output, indices, grad_output, grad_input}};
  /* What the kind does not use stays NULL, so a kernel cannot read it by mistake. */
  if (s->kind != VCONV_POOL_L2 && s->kind != VCONV_POOL_LP) call.grads.output = NULL;
  if (!has_indices(s)) call.grads.indices = NULL;
  vconv_i_run_split(parallel, op->bwd_task_count, op->bwd_grain, op->bwd_chunk, ws,
                    slice(op->bwd_task_workspace), bwd_piece, &call);
  vconv_i_free(owned);
  return VCONV_OK;
}

const char *vconv_pool2d_kernel_name(const vconv_pool2d_op *op) { return op ? op->kernel->name : NULL; }
vconv_isa vconv_pool2d_isa(const vconv_pool2d_op *op) { return op ? op->kernel->isa : VCONV_ISA_AUTO; }

void vconv_pool2d_destroy(vconv_pool2d_op *op) {
  if (!op) return;
  free(op->weights);
  free(op);
}

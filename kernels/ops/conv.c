/* Convolution operators: create (validate, select, pack once), run, destroy. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

struct vconv_conv2d_op {
  vconv_conv_shape shape;
  const vconv_conv_kernel *kernel;
  float *packed;
  float *bias;          /* NULL when the descriptor has none */
  unsigned char *conn;  /* the operator's copy of the connection table */
  size_t task_workspace;
  size_t task_count;
};

void *vconv_i_alloc(size_t bytes) {
  const size_t align = 64;
  if (bytes > SIZE_MAX - align) return NULL;
  return aligned_alloc(align, (bytes + align - 1) / align * align + (bytes == 0 ? align : 0));
}

void vconv_i_free(void *p) { free(p); }

size_t vconv_i_workers(const vconv_parallel *par, size_t pieces) {
  size_t w = par && par->parallel_for && par->threads > 1 ? par->threads : 1;
  return w < pieces ? w : (pieces ? pieces : 1);
}

typedef struct pieces_call {
  atomic_size_t next;
  size_t pieces;
  unsigned char *scratch;
  size_t stride;
  vconv_i_piece_fn piece;
  void *arg;
} pieces_call;

static void worker(void *arg, size_t w) {
  pieces_call *c = arg;
  void *scratch = c->scratch ? c->scratch + w * c->stride : NULL;
  for (size_t i; (i = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed)) < c->pieces;)
    c->piece(c->arg, scratch, i);
}

void vconv_i_run_pieces(const vconv_parallel *par, size_t pieces, unsigned char *scratch,
                        size_t scratch_stride, vconv_i_piece_fn piece, void *arg) {
  pieces_call c = {0, pieces, scratch, scratch_stride, piece, arg};
  const size_t workers = vconv_i_workers(par, pieces);
  if (workers > 1)
    par->parallel_for(par->context, workers, worker, &c);
  else
    worker(&c, 0);
}

vconv_status vconv_conv2d_create_for_isa(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                         vconv_isa isa, const float *weights, const float *bias,
                                         vconv_conv2d_op **out) {
  if (!desc || !weights || !out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  vconv_conv_shape s;
  vconv_status st = vconv_i_conv_resolve(desc, &s);
  if (st != VCONV_OK) return st;
  if ((int)algo < 0 || (int)algo >= VCONV_ALGO_COUNT) return VCONV_ERR_INVALID_ALGORITHM;
  vconv_isa tier;
  if ((st = vconv_i_resolve_isa(isa, &tier)) != VCONV_OK) return st;
  const vconv_conv_kernel *kernel;
  if ((st = vconv_i_select_conv(algo, tier, &s, &kernel)) != VCONV_OK) return st;

  vconv_conv2d_op *op = calloc(1, sizeof *op);
  if (!op) return VCONV_ERR_OUT_OF_MEMORY;
  const size_t conn_bytes = (size_t)(s.K * s.Cg);
  if (s.conn) {
    if (!(op->conn = malloc(conn_bytes))) goto oom;
    memcpy(op->conn, s.conn, conn_bytes);
    s.conn = op->conn;
  }
  if (bias) {
    if (!(op->bias = vconv_i_alloc((size_t)s.K * sizeof(float)))) goto oom;
    memcpy(op->bias, bias, (size_t)s.K * sizeof(float));
  }
  const size_t packed_floats = kernel->packed_floats(&s);
  if (packed_floats > SIZE_MAX / sizeof(float)) goto oom;
  if (!(op->packed = vconv_i_alloc(packed_floats * sizeof(float)))) goto oom;
  kernel->pack(&s, weights, op->packed);
  op->shape = s;
  op->kernel = kernel;
  op->task_count = kernel->task_count(&s);
  op->task_workspace = kernel->task_workspace(&s);
  *out = op;
  return VCONV_OK;
oom:
  vconv_conv2d_destroy(op);
  return VCONV_ERR_OUT_OF_MEMORY;
}

vconv_status vconv_conv2d_create(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                 const float *weights, const float *bias, vconv_conv2d_op **op) {
  return vconv_conv2d_create_for_isa(desc, algo, VCONV_ISA_AUTO, weights, bias, op);
}

vconv_status vconv_conv1d_create(const vconv_conv1d_desc *desc, vconv_algorithm algo,
                                 const float *weights, const float *bias, vconv_conv2d_op **op) {
  if (!desc) return VCONV_ERR_NULL_POINTER;
  vconv_conv2d_desc d;
  vconv_conv1d_to_2d(desc, &d);
  return vconv_conv2d_create(&d, algo, weights, bias, op);
}

/* Each worker's scratch is a cache-line multiple. */
static size_t slice_bytes(const vconv_conv2d_op *op) { return (op->task_workspace + 63) / 64 * 64; }

size_t vconv_conv2d_workspace_size(const vconv_conv2d_op *op, const vconv_parallel *parallel) {
  if (!op || op->task_workspace == 0) return 0;
  /* + 64: slack to align unaligned caller memory */
  return slice_bytes(op) * vconv_i_workers(parallel, op->task_count) + 64;
}

typedef struct conv_call {
  const vconv_conv2d_op *op;
  const float *in;
  float *out;
} conv_call;

static void conv_piece(void *arg, void *scratch, size_t i) {
  const conv_call *c = arg;
  c->op->kernel->run(&c->op->shape, c->op->packed, c->op->bias, c->in, c->out, scratch, i);
}

vconv_status vconv_conv2d_run(const vconv_conv2d_op *op, const float *input, float *output,
                              void *workspace, size_t workspace_size,
                              const vconv_parallel *parallel) {
  if (!op || !input || !output) return VCONV_ERR_NULL_POINTER;
  const size_t need = vconv_conv2d_workspace_size(op, parallel);
  void *owned = NULL;
  if (need && !workspace) {
    if (!(workspace = owned = vconv_i_alloc(need))) return VCONV_ERR_OUT_OF_MEMORY;
    workspace_size = need;
  }
  if (need && workspace_size < need) return VCONV_ERR_WORKSPACE_TOO_SMALL;
  unsigned char *ws = NULL;
  if (need) ws = (unsigned char *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
  conv_call call = {op, input, output};
  vconv_i_run_pieces(parallel, op->task_count, ws, slice_bytes(op), conv_piece, &call);
  vconv_i_free(owned);
  return VCONV_OK;
}

const char *vconv_conv2d_kernel_name(const vconv_conv2d_op *op) { return op ? op->kernel->name : NULL; }
vconv_algorithm vconv_conv2d_algorithm(const vconv_conv2d_op *op) {
  return op ? op->kernel->algo : VCONV_ALGO_AUTO;
}
vconv_isa vconv_conv2d_isa(const vconv_conv2d_op *op) { return op ? op->kernel->isa : VCONV_ISA_AUTO; }

void vconv_conv2d_destroy(vconv_conv2d_op *op) {
  if (!op) return;
  vconv_i_free(op->packed);
  vconv_i_free(op->bias);
  free(op->conn);
  free(op);
}

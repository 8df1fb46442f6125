/*
 * Locally connected and tiled convolution operators: validation (the
 * convolution's own checks, then the bias kind, the tile and the weight
 * count), create (select the tier, pack once), the three passes, destroy.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define MAX_ELEMS                                                                        \
  ((int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float)) < VCONV_MAX_ELEMENTS                \
       ? (int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float))                               \
       : VCONV_MAX_ELEMENTS)

struct vconv_local2d_op {
  vconv_local_shape shape;
  const vconv_local_kernel *kernel;
  float *packed;
  size_t fwd_tasks, panel_tasks, data_tasks, weight_tasks;
  size_t data_scratch;       /* per worker */
  size_t panel_bytes;        /* 0: the backward passes read grad_output in place */
  /* least tasks per worker and most per claim (vconv_i_grain, vconv_i_chunk) */
  size_t fwd_grain, fwd_chunk, panel_grain, panel_chunk, data_grain, data_chunk, weight_grain,
      weight_chunk;
};

void vconv_local2d_desc_init(vconv_local2d_desc *d) {
  if (!d) return;
  memset(d, 0, sizeof *d);
  d->stride_h = d->stride_w = 1;
  d->dilation_h = d->dilation_w = 1;
  d->groups = 1;
  d->padding_mode = VCONV_PADDING_EXPLICIT;
  d->layout = VCONV_LAYOUT_NCHW;
  d->activation = VCONV_ACTIVATION_NONE;
  d->bias = VCONV_LOCAL_BIAS_NONE;
}

/* 0 is the output extent; otherwise 1 <= t <= out and t | out. */
static vconv_status resolve_tile(int64_t t, int64_t out, int64_t *r) {
  if (t == 0) t = out;
  if (t < 0 || t > out || out % t) return VCONV_ERR_INVALID_TILE;
  *r = t;
  return VCONV_OK;
}

static vconv_status local_resolve(const vconv_local2d_desc *d, vconv_local_shape *s,
                                  int64_t *weights, int64_t *biases) {
  vconv_conv2d_desc c;
  vconv_conv2d_desc_init(&c);
  c.batch = d->batch;
  c.in_channels = d->in_channels;
  c.in_height = d->in_height;
  c.in_width = d->in_width;
  c.out_channels = d->out_channels;
  c.kernel_h = d->kernel_h;
  c.kernel_w = d->kernel_w;
  c.stride_h = d->stride_h;
  c.stride_w = d->stride_w;
  c.dilation_h = d->dilation_h;
  c.dilation_w = d->dilation_w;
  c.pad_top = d->pad_top;
  c.pad_bottom = d->pad_bottom;
  c.pad_left = d->pad_left;
  c.pad_right = d->pad_right;
  c.padding_mode = d->padding_mode;
  c.groups = d->groups;
  c.layout = d->layout;
  c.activation = d->activation;
  c.act_min = d->act_min;
  c.act_max = d->act_max;
  vconv_status st = vconv_i_conv_resolve(&c, &s->c);
  if (st != VCONV_OK) return st;
  if ((unsigned)d->bias > VCONV_LOCAL_BIAS_POSITION) return VCONV_ERR_INVALID_ARGUMENT;
  s->bias = d->bias;
  if ((st = resolve_tile(d->tile_h, s->c.P, &s->th)) != VCONV_OK ||
      (st = resolve_tile(d->tile_w, s->c.Q, &s->tw)) != VCONV_OK)
    return st;
  /* The conv checks held one kernel's weights; there are th * tw of them. */
  const int64_t dims[] = {s->th, s->tw, s->c.K, s->c.Cg, s->c.R, s->c.S};
  int64_t n = 1;
  for (int i = 0; i < 6; i++)
    if (__builtin_mul_overflow(n, dims[i], &n) || n > MAX_ELEMS) return VCONV_ERR_SIZE_OVERFLOW;
  if (weights) *weights = n;
  if (biases)
    *biases = d->bias == VCONV_LOCAL_BIAS_NONE      ? 0
              : d->bias == VCONV_LOCAL_BIAS_CHANNEL ? s->c.K
                                                    : s->th * s->tw * s->c.K;
  return VCONV_OK;
}

vconv_status vconv_local2d_output_size(const vconv_local2d_desc *d, int64_t *out_h,
                                       int64_t *out_w) {
  if (!d || !out_h || !out_w) return VCONV_ERR_NULL_POINTER;
  vconv_local_shape s;
  const vconv_status st = local_resolve(d, &s, NULL, NULL);
  if (st != VCONV_OK) return st;
  *out_h = s.c.P;
  *out_w = s.c.Q;
  return VCONV_OK;
}

vconv_status vconv_local2d_param_count(const vconv_local2d_desc *d, int64_t *weights,
                                       int64_t *biases) {
  if (!d) return VCONV_ERR_NULL_POINTER;
  vconv_local_shape s;
  return local_resolve(d, &s, weights, biases);
}

vconv_status vconv_local2d_create_for_isa(const vconv_local2d_desc *desc, vconv_isa isa,
                                          const float *weights, const float *bias,
                                          vconv_local2d_op **out) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  if (!desc || !weights) return VCONV_ERR_NULL_POINTER;
  vconv_local_shape s;
  vconv_status st = local_resolve(desc, &s, NULL, NULL);
  if (st != VCONV_OK) return st;
  if (s.bias != VCONV_LOCAL_BIAS_NONE && !bias) return VCONV_ERR_NULL_POINTER;
  vconv_isa tier;
  if ((st = vconv_i_resolve_isa(isa, &tier)) != VCONV_OK) return st;
  const vconv_local_kernel *kernel;
  if ((st = vconv_i_select_local(tier, &kernel)) != VCONV_OK) return st;
  vconv_local2d_op *op = calloc(1, sizeof *op);
  if (!op) return VCONV_ERR_OUT_OF_MEMORY;
  const size_t floats = kernel->packed_floats(&s);
  if (floats > SIZE_MAX / sizeof(float) || !(op->packed = vconv_i_alloc(floats * sizeof(float)))) {
    free(op);
    return VCONV_ERR_OUT_OF_MEMORY;
  }
  kernel->pack(&s, weights, s.bias != VCONV_LOCAL_BIAS_NONE ? bias : NULL, op->packed);
  op->shape = s;
  op->kernel = kernel;
  op->fwd_tasks = kernel->fwd_tasks(&s);
  op->panel_tasks = kernel->panel_tasks(&s);
  op->data_tasks = kernel->bwd_data_tasks(&s);
  op->weight_tasks = kernel->bwd_weights_tasks(&s);
  op->data_scratch = kernel->bwd_data_scratch(&s);
  const size_t panel = kernel->panel_floats(&s);
  op->panel_bytes = panel > SIZE_MAX / sizeof(float) ? SIZE_MAX
                                                     : vconv_i_slice_bytes(panel * sizeof(float));
  const vconv_conv_shape *c = &s.c;
  const double macs = (double)c->N * (double)c->K * (double)(c->P * c->Q) * (double)(c->Cg * c->R * c->S);
  const double work_ns = macs / (5 * vconv_i_lanes(kernel->isa));
  const double copy_ns = (double)c->N * (double)c->K * (double)(c->P * c->Q) / 4;
  op->fwd_grain = vconv_i_grain(work_ns, op->fwd_tasks);
  op->fwd_chunk = vconv_i_chunk(work_ns, op->fwd_tasks);
  op->panel_grain = vconv_i_grain(copy_ns, op->panel_tasks);
  op->panel_chunk = vconv_i_chunk(copy_ns, op->panel_tasks);
  op->data_grain = vconv_i_grain(work_ns, op->data_tasks);
  op->data_chunk = vconv_i_chunk(work_ns, op->data_tasks);
  op->weight_grain = vconv_i_grain(work_ns, op->weight_tasks);
  op->weight_chunk = vconv_i_chunk(work_ns, op->weight_tasks);
  *out = op;
  return VCONV_OK;
}

vconv_status vconv_local2d_create(const vconv_local2d_desc *desc, const float *weights,
                                  const float *bias, vconv_local2d_op **op) {
  return vconv_local2d_create_for_isa(desc, VCONV_ISA_AUTO, weights, bias, op);
}

/* The panel first, then each worker's slice of the backward-data scratch. */
static size_t data_need(const vconv_local2d_op *op, const vconv_parallel *par) {
  const size_t slices = vconv_i_slices_bytes(
      vconv_i_slice_bytes(op->data_scratch),
      vconv_i_workers_grain(par, op->data_tasks, op->data_grain));
  return op->panel_bytes > SIZE_MAX - slices ? SIZE_MAX : op->panel_bytes + slices;
}

static size_t weight_need(const vconv_local2d_op *op) {
  return op->panel_bytes ? vconv_i_slices_bytes(op->panel_bytes, 1) : 0; /* one panel, shared */
}

size_t vconv_local2d_workspace_size(const vconv_local2d_op *op, const vconv_parallel *parallel) {
  if (!op) return 0;
  const size_t d = data_need(op, parallel), w = weight_need(op);
  return d > w ? d : w; /* forward needs none */
}

typedef struct local_call {
  const vconv_local2d_op *op;
  const float *in, *dy, *panel;
  float *out, *grad_w, *grad_b;
} local_call;

static void fwd_piece(void *arg, void *scratch, size_t i) {
  (void)scratch;
  const local_call *c = arg;
  c->op->kernel->forward(&c->op->shape, c->op->packed, c->in, c->out, i);
}

static void panel_piece(void *arg, void *scratch, size_t i) {
  const local_call *c = arg;
  c->op->kernel->panel(&c->op->shape, c->dy, scratch, i);
}

static void data_piece(void *arg, void *scratch, size_t i) {
  const local_call *c = arg;
  c->op->kernel->backward_data(&c->op->shape, c->op->packed, c->panel, c->out, scratch, i);
}

static void weight_piece(void *arg, void *scratch, size_t i) {
  (void)scratch;
  const local_call *c = arg;
  c->op->kernel->backward_weights(&c->op->shape, c->panel, c->in, c->grad_w, c->grad_b, i);
}

vconv_status vconv_local2d_run(const vconv_local2d_op *op, const float *input, float *output,
                               void *workspace, size_t workspace_size,
                               const vconv_parallel *parallel) {
  (void)workspace;
  (void)workspace_size;
  if (!op || !input || !output) return VCONV_ERR_NULL_POINTER;
  local_call call = {op, input, NULL, NULL, output, NULL, NULL};
  vconv_i_run_split(parallel, op->fwd_tasks, op->fwd_grain, op->fwd_chunk, NULL, 0, fwd_piece,
                    &call);
  return VCONV_OK;
}

/* The output gradient as the kernels' panel: built in the workspace's first
 * panel_bytes (every worker of the split writing its own rows), or in place. */
static const float *make_panel(const vconv_local2d_op *op, const float *dy, unsigned char *ws,
                               const vconv_parallel *parallel) {
  if (!op->panel_bytes) return dy;
  local_call call = {op, NULL, dy, NULL, NULL, NULL, NULL};
  /* panel_piece takes the panel as its scratch: every worker gets the same one. */
  vconv_i_run_split(parallel, op->panel_tasks, op->panel_grain, op->panel_chunk, ws, 0,
                    panel_piece, &call);
  return (const float *)ws;
}

vconv_status vconv_local2d_backward_data(const vconv_local2d_op *op, const float *grad_output,
                                         float *grad_input, void *workspace, size_t workspace_size,
                                         const vconv_parallel *parallel) {
  if (!op || !grad_output || !grad_input) return VCONV_ERR_NULL_POINTER;
  unsigned char *ws;
  void *owned;
  const vconv_status st = vconv_i_scratch(data_need(op, parallel), workspace, workspace_size, &ws, &owned);
  if (st != VCONV_OK) return st;
  local_call call = {op, NULL, NULL, make_panel(op, grad_output, ws, parallel), grad_input, NULL, NULL};
  vconv_i_run_split(parallel, op->data_tasks, op->data_grain, op->data_chunk, ws + op->panel_bytes,
                    vconv_i_slice_bytes(op->data_scratch), data_piece, &call);
  vconv_i_free(owned);
  return VCONV_OK;
}

vconv_status vconv_local2d_backward_weights(const vconv_local2d_op *op, const float *input,
                                            const float *grad_output, float *grad_weights,
                                            float *grad_bias, void *workspace,
                                            size_t workspace_size, const vconv_parallel *parallel) {
  if (!op || !input || !grad_output || !grad_weights) return VCONV_ERR_NULL_POINTER;
  unsigned char *ws;
  void *owned;
  const vconv_status st = vconv_i_scratch(weight_need(op), workspace, workspace_size, &ws, &owned);
  if (st != VCONV_OK) return st;
  if (op->shape.bias == VCONV_LOCAL_BIAS_NONE) grad_bias = NULL;
  local_call call = {op, input, NULL, make_panel(op, grad_output, ws, parallel), NULL,
                     grad_weights, grad_bias};
  vconv_i_run_split(parallel, op->weight_tasks, op->weight_grain, op->weight_chunk, NULL, 0,
                    weight_piece, &call);
  vconv_i_free(owned);
  return VCONV_OK;
}

const char *vconv_local2d_kernel_name(const vconv_local2d_op *op) { return op ? op->kernel->name : NULL; }
vconv_isa vconv_local2d_isa(const vconv_local2d_op *op) { return op ? op->kernel->isa : VCONV_ISA_AUTO; }

void vconv_local2d_destroy(vconv_local2d_op *op) {
  if (!op) return;
  vconv_i_free(op->packed);
  free(op);
}

/*
 * Descriptor validation and resolution: the one place where the limits of
 * vconv.h (VCONV_MAX_EXTENT, VCONV_MAX_PLANE, VCONV_MAX_ELEMENTS) are checked.
 * Every check has its own status, and every derived size is checked before
 * anything is allocated or indexed.  What the limits buy the kernels: every
 * coordinate, padded or not, and every product of a coordinate with a stride
 * or dilation fits int64 many times over, and every offset a kernel forms
 * from the padded extents stays within 2^42 bytes of its tensor, so plain
 * int64 and pointer arithmetic cannot wrap.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops.h"

/* Elements of one tensor: the public limit, and on 32-bit targets what ptrdiff_t spans. */
#define MAX_ELEMS                                                                        \
  ((int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float)) < VCONV_MAX_ELEMENTS                \
       ? (int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float))                               \
       : VCONV_MAX_ELEMENTS)

static int mul_ok(int64_t a, int64_t b, int64_t limit, int64_t *r) {
  return !__builtin_mul_overflow(a, b, r) && *r <= limit;
}

static int product_ok(const int64_t *v, int n) {
  int64_t r = 1;
  for (int i = 0; i < n; i++)
    if (!mul_ok(r, v[i], MAX_ELEMS, &r)) return 0;
  return 1;
}

static int extent_ok(int64_t v) { return v <= VCONV_MAX_EXTENT; }

/* out = floor((padded - keff) / stride) + 1, or ceil(...) + 1 in ceil mode. */
typedef struct axis {
  int64_t in, k, stride, dilation, pad_begin, pad_end; /* in: resolved padding */
  int64_t keff, out;
} axis;

/*
 * Resolves the padding of one axis for a named mode and computes its output
 * size.  The caller has checked signs; here every field and every derived
 * extent is held to VCONV_MAX_EXTENT, which keeps all the arithmetic below
 * (products of two extents at most) inside int64.
 */
static vconv_status resolve_axis(axis *a, vconv_padding_mode mode, int ceil_mode) {
  if (!extent_ok(a->in) || !extent_ok(a->k) || !extent_ok(a->stride) || !extent_ok(a->dilation))
    return VCONV_ERR_SIZE_OVERFLOW;
  if (mode == VCONV_PADDING_EXPLICIT && (!extent_ok(a->pad_begin) || !extent_ok(a->pad_end)))
    return VCONV_ERR_SIZE_OVERFLOW;
  a->keff = (a->k - 1) * a->dilation + 1;
  if (!extent_ok(a->keff)) return VCONV_ERR_SIZE_OVERFLOW;
  switch (mode) {
    case VCONV_PADDING_EXPLICIT: break;
    case VCONV_PADDING_VALID: a->pad_begin = a->pad_end = 0; break;
    case VCONV_PADDING_SAME:
    case VCONV_PADDING_SAME_LOWER: {
      const int64_t out = a->in / a->stride + (a->in % a->stride != 0);
      int64_t total = (out - 1) * a->stride + a->keff - a->in;
      if (total < 0) total = 0;
      const int64_t small = total / 2;
      a->pad_begin = mode == VCONV_PADDING_SAME ? small : total - small;
      a->pad_end = total - a->pad_begin;
      break;
    }
    case VCONV_PADDING_FULL: a->pad_begin = a->pad_end = a->keff - 1; break;
    default: return VCONV_ERR_INVALID_PADDING_MODE;
  }
  const int64_t padded = a->in + a->pad_begin + a->pad_end;
  if (!extent_ok(padded)) return VCONV_ERR_SIZE_OVERFLOW;
  if (a->keff > padded) return VCONV_ERR_KERNEL_TOO_LARGE;
  const int64_t span = padded - a->keff;
  a->out = span / a->stride + 1;
  /* The last window must start inside the input or its leading padding. */
  if (ceil_mode && span % a->stride != 0 && a->out * a->stride < a->in + a->pad_begin) a->out += 1;
  return VCONV_OK;
}

/* The padded input plane, whose coordinates the kernels' offsets are formed in. */
static int plane_ok(const axis *h, const axis *w) {
  int64_t plane;
  return mul_ok(h->in + h->pad_begin + h->pad_end, w->in + w->pad_begin + w->pad_end,
                VCONV_MAX_PLANE, &plane);
}

/*
 * A stride beyond the padded extent is taken as that extent (both leave one
 * output, and out = (padded - k_eff) / stride + 1 still holds), and the
 * dilation of a one-tap axis as 1: so no kernel multiplies a huge but
 * meaningless value into its offsets or sizes its scratch by it.  The outputs
 * do not change.
 */
static void normalise(int64_t padded, int64_t taps, int64_t *stride, int64_t *dilation) {
  if (*stride > padded) *stride = padded;
  if (taps == 1) *dilation = 1;
}

vconv_status vconv_i_conv_resolve(const vconv_conv2d_desc *d, vconv_conv_shape *s) {
  if (!d || !s) return VCONV_ERR_NULL_POINTER;
  if (d->layout != VCONV_LAYOUT_NCHW && d->layout != VCONV_LAYOUT_NHWC)
    return VCONV_ERR_INVALID_LAYOUT;
  if ((unsigned)d->padding_mode > VCONV_PADDING_SAME_LOWER) return VCONV_ERR_INVALID_PADDING_MODE;
  if (d->batch <= 0 || d->in_channels <= 0 || d->in_height <= 0 || d->in_width <= 0 ||
      d->out_channels <= 0)
    return VCONV_ERR_INVALID_SIZE;
  if (d->kernel_h <= 0 || d->kernel_w <= 0) return VCONV_ERR_INVALID_KERNEL_SIZE;
  if (d->stride_h <= 0 || d->stride_w <= 0) return VCONV_ERR_INVALID_STRIDE;
  if (d->dilation_h <= 0 || d->dilation_w <= 0) return VCONV_ERR_INVALID_DILATION;
  if (d->padding_mode == VCONV_PADDING_EXPLICIT &&
      (d->pad_top < 0 || d->pad_bottom < 0 || d->pad_left < 0 || d->pad_right < 0))
    return VCONV_ERR_INVALID_PADDING;
  if (d->groups <= 0 || d->in_channels % d->groups || d->out_channels % d->groups)
    return VCONV_ERR_INVALID_GROUPS;
  switch (d->activation) {
    case VCONV_ACTIVATION_NONE:
    case VCONV_ACTIVATION_RELU: break;
    case VCONV_ACTIVATION_CLAMP:
      if (isnan(d->act_min) || isnan(d->act_max) || d->act_min > d->act_max)
        return VCONV_ERR_INVALID_ACTIVATION;
      break;
    default: return VCONV_ERR_INVALID_ACTIVATION;
  }

  axis h = {d->in_height, d->kernel_h, d->stride_h, d->dilation_h, d->pad_top, d->pad_bottom, 0, 0};
  axis w = {d->in_width, d->kernel_w, d->stride_w, d->dilation_w, d->pad_left, d->pad_right, 0, 0};
  vconv_status st = resolve_axis(&h, d->padding_mode, 0);
  if (st == VCONV_OK) st = resolve_axis(&w, d->padding_mode, 0);
  if (st != VCONV_OK) return st;

  if (!extent_ok(d->batch) || !extent_ok(d->in_channels) || !extent_ok(d->out_channels) ||
      !plane_ok(&h, &w))
    return VCONV_ERR_SIZE_OVERFLOW;
  const int64_t in_dims[] = {d->batch, d->in_channels, h.in + h.pad_begin + h.pad_end,
                             w.in + w.pad_begin + w.pad_end};
  const int64_t out_dims[] = {d->batch, d->out_channels, h.out, w.out};
  const int64_t w_dims[] = {d->out_channels, d->in_channels / d->groups, d->kernel_h, d->kernel_w};
  if (!product_ok(in_dims, 4) || !product_ok(out_dims, 4) || !product_ok(w_dims, 4))
    return VCONV_ERR_SIZE_OVERFLOW;

  memset(s, 0, sizeof *s);
  s->N = d->batch;
  s->C = d->in_channels;
  s->H = d->in_height;
  s->W = d->in_width;
  s->K = d->out_channels;
  s->P = h.out;
  s->Q = w.out;
  s->R = d->kernel_h;
  s->S = d->kernel_w;
  s->sh = d->stride_h;
  s->sw = d->stride_w;
  s->dh = d->dilation_h;
  s->dw = d->dilation_w;
  s->pt = h.pad_begin;
  s->pb = h.pad_end;
  s->pl = w.pad_begin;
  s->pr = w.pad_end;
  normalise(s->H + s->pt + s->pb, s->R, &s->sh, &s->dh);
  normalise(s->W + s->pl + s->pr, s->S, &s->sw, &s->dw);
  s->G = d->groups;
  s->Cg = d->in_channels / d->groups;
  s->Kg = d->out_channels / d->groups;
  s->layout = d->layout;
  s->act = d->activation;
  s->act_min = d->activation == VCONV_ACTIVATION_NONE ? -INFINITY
               : d->activation == VCONV_ACTIVATION_RELU ? 0.0f : d->act_min;
  s->act_max = d->activation == VCONV_ACTIVATION_CLAMP ? d->act_max : INFINITY;
  s->conn = d->connections;
  if (s->conn) {
    for (int64_t k = 0; k < s->K; k++) {
      int64_t any = 0;
      for (int64_t c = 0; c < s->Cg; c++) any |= s->conn[k * s->Cg + c] != 0;
      if (!any) return VCONV_ERR_INVALID_CONNECTION_TABLE;
    }
  }
  return VCONV_OK;
}

vconv_status vconv_i_pool_resolve(const vconv_pool2d_desc *d, vconv_pool_shape *s) {
  if (!d || !s) return VCONV_ERR_NULL_POINTER;
  if (d->layout != VCONV_LAYOUT_NCHW && d->layout != VCONV_LAYOUT_NHWC)
    return VCONV_ERR_INVALID_LAYOUT;
  if ((unsigned)d->kind > VCONV_POOL_STOCHASTIC) return VCONV_ERR_INVALID_POOL_KIND;
  const int global = d->global != 0;
  if (!global && ((unsigned)d->padding_mode > VCONV_PADDING_SAME_LOWER ||
                  d->padding_mode == VCONV_PADDING_FULL))
    return VCONV_ERR_INVALID_PADDING_MODE;
  if (d->batch <= 0 || d->channels <= 0 || d->in_height <= 0 || d->in_width <= 0)
    return VCONV_ERR_INVALID_SIZE;

  /* Global pooling is the window H x W at stride 1 without padding. */
  axis h = {d->in_height, d->window_h, d->stride_h, d->dilation_h, d->pad_top, d->pad_bottom, 0, 0};
  axis w = {d->in_width, d->window_w, d->stride_w, d->dilation_w, d->pad_left, d->pad_right, 0, 0};
  vconv_padding_mode mode = d->padding_mode;
  int ceil_mode = d->ceil_mode != 0;
  if (global) {
    h = (axis){d->in_height, d->in_height, 1, 1, 0, 0, 0, 0};
    w = (axis){d->in_width, d->in_width, 1, 1, 0, 0, 0, 0};
    mode = VCONV_PADDING_EXPLICIT;
    ceil_mode = 0;
  } else {
    if (h.k <= 0 || w.k <= 0) return VCONV_ERR_INVALID_KERNEL_SIZE;
    if (h.stride <= 0 || w.stride <= 0) return VCONV_ERR_INVALID_STRIDE;
    if (h.dilation <= 0 || w.dilation <= 0) return VCONV_ERR_INVALID_DILATION;
    if ((h.dilation != 1 || w.dilation != 1) &&
        (d->kind == VCONV_POOL_WEIGHTED || d->kind == VCONV_POOL_STOCHASTIC))
      return VCONV_ERR_UNSUPPORTED_OPTION;
    if (mode == VCONV_PADDING_EXPLICIT &&
        (h.pad_begin < 0 || h.pad_end < 0 || w.pad_begin < 0 || w.pad_end < 0))
      return VCONV_ERR_INVALID_PADDING;
    /* Padding below the dilated window keeps a tap of the first and last window
     * inside.  Saturated: a product past VCONV_MAX_EXTENT fails resolve_axis. */
    int64_t keh, kew;
    if (__builtin_mul_overflow(h.k - 1, h.dilation, &keh)) keh = INT64_MAX;
    if (__builtin_mul_overflow(w.k - 1, w.dilation, &kew)) kew = INT64_MAX;
    if (mode == VCONV_PADDING_EXPLICIT &&
        (h.pad_begin > keh || h.pad_end > keh || w.pad_begin > kew || w.pad_end > kew))
      return VCONV_ERR_INVALID_PADDING;
  }
  vconv_status st = resolve_axis(&h, mode, ceil_mode);
  if (st == VCONV_OK) st = resolve_axis(&w, mode, ceil_mode);
  if (st != VCONV_OK) return st;

  if (!extent_ok(d->batch) || !extent_ok(d->channels) || !plane_ok(&h, &w))
    return VCONV_ERR_SIZE_OVERFLOW;
  const int64_t in_dims[] = {d->batch, d->channels, h.in + h.pad_begin + h.pad_end,
                             w.in + w.pad_begin + w.pad_end};
  const int64_t out_dims[] = {d->batch, d->channels, h.out, w.out};
  if (!product_ok(in_dims, 4) || !product_ok(out_dims, 4)) return VCONV_ERR_SIZE_OVERFLOW;

  memset(s, 0, sizeof *s);
  s->N = d->batch;
  s->C = d->channels;
  s->H = d->in_height;
  s->W = d->in_width;
  s->P = h.out;
  s->Q = w.out;
  s->R = h.k;
  s->S = w.k;
  s->sh = h.stride;
  s->sw = w.stride;
  s->dh = h.dilation;
  s->dw = w.dilation;
  s->pt = h.pad_begin;
  s->pb = h.pad_end;
  s->pl = w.pad_begin;
  s->pr = w.pad_end;
  normalise(s->H + s->pt + s->pb, s->R, &s->sh, &s->dh);
  normalise(s->W + s->pl + s->pr, s->S, &s->sw, &s->dw);
  s->kind = d->kind;
  s->layout = d->layout;
  s->training = d->training != 0;
  s->seed = d->seed;
  if (d->kind == VCONV_POOL_WEIGHTED) {
    /* The weights' float sum in scan order: the kernels' divisor for whole windows. */
    if (!d->window_weights) return VCONV_ERR_NULL_POINTER;
    const int64_t taps = s->R * s->S; /* at most the padded plane */
    float sum = 0.0f;
    for (int64_t i = 0; i < taps; i++) {
      const float x = d->window_weights[i];
      if (!(x >= 0.0f) || isinf(x)) return VCONV_ERR_INVALID_ARGUMENT;
      sum += x;
    }
    if (!(sum > 0.0f) || isinf(sum)) return VCONV_ERR_INVALID_ARGUMENT;
    s->weights = d->window_weights;
    s->wsum = sum;
  }
  return VCONV_OK;
}

void vconv_conv2d_desc_init(vconv_conv2d_desc *d) {
  if (!d) return;
  memset(d, 0, sizeof *d);
  d->stride_h = d->stride_w = 1;
  d->dilation_h = d->dilation_w = 1;
  d->groups = 1;
  d->padding_mode = VCONV_PADDING_EXPLICIT;
  d->layout = VCONV_LAYOUT_NCHW;
  d->activation = VCONV_ACTIVATION_NONE;
}

vconv_status vconv_conv2d_output_size(const vconv_conv2d_desc *d, int64_t *out_h, int64_t *out_w) {
  if (!d || !out_h || !out_w) return VCONV_ERR_NULL_POINTER;
  vconv_conv_shape s;
  vconv_status st = vconv_i_conv_resolve(d, &s);
  if (st != VCONV_OK) return st;
  *out_h = s.P;
  *out_w = s.Q;
  return VCONV_OK;
}

vconv_status vconv_conv2d_param_count(const vconv_conv2d_desc *d, int has_bias, int64_t *count) {
  if (!d || !count) return VCONV_ERR_NULL_POINTER;
  vconv_conv_shape s;
  vconv_status st = vconv_i_conv_resolve(d, &s);
  if (st != VCONV_OK) return st;
  int64_t pairs = s.K * s.Cg;
  if (s.conn) {
    pairs = 0;
    for (int64_t i = 0; i < s.K * s.Cg; i++) pairs += s.conn[i] != 0;
  }
  *count = pairs * s.R * s.S + (has_bias ? s.K : 0);
  return VCONV_OK;
}

void vconv_pool2d_desc_init(vconv_pool2d_desc *d) {
  if (!d) return;
  memset(d, 0, sizeof *d);
  d->kind = VCONV_POOL_MAX;
  d->stride_h = d->stride_w = 1;
  d->dilation_h = d->dilation_w = 1;
  d->padding_mode = VCONV_PADDING_EXPLICIT;
  d->layout = VCONV_LAYOUT_NCHW;
}

vconv_status vconv_pool2d_output_size(const vconv_pool2d_desc *d, int64_t *out_h, int64_t *out_w) {
  if (!d || !out_h || !out_w) return VCONV_ERR_NULL_POINTER;
  vconv_pool_shape s;
  vconv_status st = vconv_i_pool_resolve(d, &s);
  if (st != VCONV_OK) return st;
  *out_h = s.P;
  *out_w = s.Q;
  return VCONV_OK;
}

/* ---- 1-D over 2-D ------------------------------------------------------- */

void vconv_conv1d_desc_init(vconv_conv1d_desc *d) {
  if (!d) return;
  memset(d, 0, sizeof *d);
  d->stride = d->dilation = d->groups = 1;
  d->padding_mode = VCONV_PADDING_EXPLICIT;
  d->layout = VCONV_LAYOUT_NCHW;
  d->activation = VCONV_ACTIVATION_NONE;
}

vconv_status vconv_conv1d_to_2d(const vconv_conv1d_desc *a, vconv_conv2d_desc *d) {
  if (!a || !d) return VCONV_ERR_NULL_POINTER;
  vconv_conv2d_desc_init(d);
  d->batch = a->batch;
  d->in_channels = a->in_channels;
  d->in_height = 1;
  d->in_width = a->in_width;
  d->out_channels = a->out_channels;
  d->kernel_h = 1;
  d->kernel_w = a->kernel;
  d->stride_w = a->stride;
  d->dilation_w = a->dilation;
  d->pad_left = a->pad_left;
  d->pad_right = a->pad_right;
  d->padding_mode = a->padding_mode; /* a height-1 kernel gets no vertical padding in any mode */
  d->groups = a->groups;
  d->layout = a->layout;
  d->activation = a->activation;
  d->act_min = a->act_min;
  d->act_max = a->act_max;
  d->connections = a->connections;
  return VCONV_OK;
}

vconv_status vconv_conv1d_output_size(const vconv_conv1d_desc *a, int64_t *out_w) {
  if (!a || !out_w) return VCONV_ERR_NULL_POINTER;
  vconv_conv2d_desc d;
  int64_t out_h;
  vconv_conv1d_to_2d(a, &d);
  return vconv_conv2d_output_size(&d, &out_h, out_w);
}

void vconv_pool1d_desc_init(vconv_pool1d_desc *d) {
  if (!d) return;
  memset(d, 0, sizeof *d);
  d->kind = VCONV_POOL_MAX;
  d->stride = d->dilation = 1;
  d->padding_mode = VCONV_PADDING_EXPLICIT;
  d->layout = VCONV_LAYOUT_NCHW;
}

vconv_status vconv_pool1d_to_2d(const vconv_pool1d_desc *a, vconv_pool2d_desc *d) {
  if (!a || !d) return VCONV_ERR_NULL_POINTER;
  vconv_pool2d_desc_init(d);
  d->batch = a->batch;
  d->channels = a->channels;
  d->in_height = 1;
  d->in_width = a->in_width;
  d->kind = a->kind;
  d->window_h = 1;
  d->window_w = a->window;
  d->stride_w = a->stride;
  d->pad_left = a->pad_left;
  d->pad_right = a->pad_right;
  d->padding_mode = a->padding_mode;
  d->ceil_mode = a->ceil_mode;
  d->layout = a->layout;
  d->dilation_w = a->dilation;
  d->global = a->global;
  d->window_weights = a->window_weights;
  d->training = a->training;
  d->seed = a->seed;
  return VCONV_OK;
}

vconv_status vconv_pool1d_output_size(const vconv_pool1d_desc *a, int64_t *out_w) {
  if (!a || !out_w) return VCONV_ERR_NULL_POINTER;
  vconv_pool2d_desc d;
  int64_t out_h;
  vconv_pool1d_to_2d(a, &d);
  return vconv_pool2d_output_size(&d, &out_h, out_w);
}

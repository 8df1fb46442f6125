/* A calibration shape and its descriptor: shared by tools/vconv-calibrate,
 * which measures plans on it, and plan/cost.c, which fits its model to those
 * measurements.  Public API only (the tool sees nothing else). */
#ifndef VCONV_CAL_SHAPE_H
#define VCONV_CAL_SHAPE_H

#include "vconv.h"

/* NCHW (nhwc 0) or NHWC, square kernel, symmetric padding. */
typedef struct vconv_cal_shape {
  int64_t N, C, H, W, K, R, S, stride, pad, groups, nhwc;
} vconv_cal_shape;

static inline void vconv_cal_desc(const vconv_cal_shape *s, vconv_conv2d_desc *d) {
  vconv_conv2d_desc_init(d);
  d->batch = s->N;
  d->in_channels = s->C;
  d->in_height = s->H;
  d->in_width = s->W;
  d->out_channels = s->K;
  d->kernel_h = s->R;
  d->kernel_w = s->S;
  d->stride_h = d->stride_w = s->stride;
  d->pad_top = d->pad_bottom = d->pad_left = d->pad_right = s->pad;
  d->groups = s->groups;
  d->layout = s->nhwc ? VCONV_LAYOUT_NHWC : VCONV_LAYOUT_NCHW;
}

#endif

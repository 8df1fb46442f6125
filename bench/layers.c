/* LeNet-5 and AlexNet, as tabulated in the source documents (shared/notes/seeds.md). */
#include "bench.h"

/* LeNet-5 C3 (LeCun 1998): map j < 6 reads {j, j+1, j+2} mod 6; 6 <= j < 12 reads
 * {j-6 .. j-3} mod 6; 12..14 read {0,1,3,4}, {1,2,4,5}, {0,2,3,5}; 15 reads all. */
static const unsigned char c3_table[16 * 6] = {
    1, 1, 1, 0, 0, 0, /* 0 */ 0, 1, 1, 1, 0, 0, /* 1 */ 0, 0, 1, 1, 1, 0, /* 2 */
    0, 0, 0, 1, 1, 1, /* 3 */ 1, 0, 0, 0, 1, 1, /* 4 */ 1, 1, 0, 0, 0, 1, /* 5 */
    1, 1, 1, 1, 0, 0, /* 6 */ 0, 1, 1, 1, 1, 0, /* 7 */ 0, 0, 1, 1, 1, 1, /* 8 */
    1, 0, 0, 1, 1, 1, /* 9 */ 1, 1, 0, 0, 1, 1, /* 10 */ 1, 1, 1, 0, 0, 1, /* 11 */
    1, 1, 0, 1, 1, 0, /* 12 */ 0, 1, 1, 0, 1, 1, /* 13 */ 1, 0, 1, 1, 0, 1, /* 14 */
    1, 1, 1, 1, 1, 1, /* 15 */
};

#define CONV(net, name, C, H, K, R, st, pad, g) \
  {net, name, 0, C, H, H, K, R, R, st, pad, g, VCONV_POOL_MAX, NULL}
#define POOL(net, name, C, H, R, st, kind) {net, name, 1, C, H, H, C, R, R, st, 0, 1, kind, NULL}

/* S2 and S4 are the sources' subsampling: an average (here padding-free, so
 * include/exclude pad agree; VCONV_POOL_AVG_INCLUDE_PAD is used). */
const bench_layer bench_layers[] = {
    CONV("lenet5", "c1", 1, 32, 6, 5, 1, 0, 1),
    POOL("lenet5", "s2", 6, 28, 2, 2, VCONV_POOL_AVG_INCLUDE_PAD),
    CONV("lenet5", "c3", 6, 14, 16, 5, 1, 0, 1),
    {"lenet5", "c3t", 0, 6, 14, 14, 16, 5, 5, 1, 0, 1, VCONV_POOL_MAX, c3_table},
    POOL("lenet5", "s4", 16, 10, 2, 2, VCONV_POOL_AVG_INCLUDE_PAD),
    CONV("lenet5", "c5", 16, 5, 120, 5, 1, 0, 1),
    CONV("alexnet", "conv1", 3, 227, 96, 11, 4, 0, 1),
    POOL("alexnet", "pool1", 96, 55, 3, 2, VCONV_POOL_MAX),
    CONV("alexnet", "conv2", 96, 27, 256, 5, 1, 2, 1),
    POOL("alexnet", "pool2", 256, 27, 3, 2, VCONV_POOL_MAX),
    CONV("alexnet", "conv3", 256, 13, 384, 3, 1, 1, 1),
    CONV("alexnet", "conv4", 384, 13, 384, 3, 1, 1, 1),
    CONV("alexnet", "conv5", 384, 13, 256, 3, 1, 1, 1),
    POOL("alexnet", "pool3", 256, 13, 3, 2, VCONV_POOL_MAX),
    /* The 2-group Caffe form: only the layers that differ from the dense table. */
    CONV("alexnet_g2", "conv2", 96, 27, 256, 5, 1, 2, 2),
    CONV("alexnet_g2", "conv4", 384, 13, 384, 3, 1, 1, 2),
    CONV("alexnet_g2", "conv5", 384, 13, 256, 3, 1, 1, 2),
};
const size_t bench_layer_count = sizeof bench_layers / sizeof bench_layers[0];

int64_t bench_out_h(const bench_layer *l) { return (l->H + 2 * l->pad - l->R) / l->stride + 1; }
int64_t bench_out_w(const bench_layer *l) { return (l->W + 2 * l->pad - l->S) / l->stride + 1; }

void bench_conv_desc(const bench_layer *l, int64_t batch, vconv_layout layout,
                     vconv_conv2d_desc *d) {
  vconv_conv2d_desc_init(d);
  d->batch = batch;
  d->in_channels = l->C;
  d->in_height = l->H;
  d->in_width = l->W;
  d->out_channels = l->K;
  d->kernel_h = l->R;
  d->kernel_w = l->S;
  d->stride_h = d->stride_w = l->stride;
  d->pad_top = d->pad_bottom = d->pad_left = d->pad_right = l->pad;
  d->groups = l->groups;
  d->layout = layout;
  d->connections = l->conn;
}

void bench_pool_desc(const bench_layer *l, int64_t batch, vconv_layout layout,
                     vconv_pool2d_desc *d) {
  vconv_pool2d_desc_init(d);
  d->batch = batch;
  d->channels = l->C;
  d->in_height = l->H;
  d->in_width = l->W;
  d->kind = l->pool_kind;
  d->window_h = l->R;
  d->window_w = l->S;
  d->stride_h = d->stride_w = l->stride;
  d->layout = layout;
}

size_t bench_in_floats(const bench_layer *l, int64_t batch) {
  return (size_t)(batch * l->C * l->H * l->W);
}
size_t bench_out_floats(const bench_layer *l, int64_t batch) {
  return (size_t)(batch * l->K * bench_out_h(l) * bench_out_w(l));
}
size_t bench_weight_floats(const bench_layer *l) {
  return l->is_pool ? 0 : (size_t)(l->K * (l->C / l->groups) * l->R * l->S);
}

double bench_flops(const bench_layer *l, int64_t batch) {
  if (l->is_pool) return 0.0;
  double pairs = (double)l->K * (double)(l->C / l->groups);
  if (l->conn) {
    pairs = 0.0;
    for (int64_t i = 0; i < l->K * l->C; i++) pairs += l->conn[i] != 0;
  }
  return 2.0 * (double)batch * pairs * (double)(l->R * l->S) *
         (double)(bench_out_h(l) * bench_out_w(l));
}

double bench_bytes(const bench_layer *l, int64_t batch) {
  return 4.0 * (double)(bench_in_floats(l, batch) + bench_out_floats(l, batch) +
                        bench_weight_floats(l));
}

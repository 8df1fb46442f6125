/*
 * Fuzz target: vconv_wisdom_import on fuzzed file contents.
 *
 * The file is either the input's bytes as they are, or (framed) the header
 * this library and CPU write (taken from an export of empty wisdom), the
 * input's bytes as the entry lines, and a trailer whose line count and
 * checksum (64-bit FNV-1a over everything before it, as the file carries it)
 * are right, so that the entry parser is reached.  Import is all or nothing:
 * a refused file leaves the held wisdom as it was.  After an import, the
 * first entry's shape (read back from its key, the text export writes) is
 * created with the planner and run at the entry's thread count, and checked
 * against the float64 reference: a kernel that wisdom names for a shape it
 * cannot run must not be used.
 */
#define _GNU_SOURCE /* memfd_create */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "ref.h"
#include "wino_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];
static char *head, *baseline;
static size_t head_len, baseline_len, baseline_count;

static void setup(void) {
  fd = memfd_create("vconv-wisdom", 0);
  if (fd < 0) fz_fail("memfd_create failed");
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  vconv_wisdom_forget();
  if (vconv_wisdom_export(path) != VCONV_OK) fz_fail("export of empty wisdom failed");
  const off_t n = lseek(fd, 0, SEEK_END);
  head = malloc((size_t)n + 1);
  if (pread(fd, head, (size_t)n, 0) != n) fz_fail("reading the exported header failed");
  head[n] = '\0';
  /* Everything before the trailer "end 0 <sum>\n" is the header. */
  char *end = strstr(head, "\nend 0 ");
  if (!end) fz_fail("exported empty wisdom has no trailer: %s", head);
  head_len = (size_t)(end + 1 - head);
  /* A file with one entry (a measured tiny layer), imported before every
   * input: a refused import must leave it held. */
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = d.in_channels = d.out_channels = 1;
  d.in_height = d.in_width = 4;
  d.kernel_h = d.kernel_w = 3;
  const float w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  vconv_conv2d_op *op = NULL;
  if (vconv_conv2d_create_planned(&d, VCONV_ALGO_AUTO, VCONV_PLAN_MEASURE, NULL, w, NULL, &op) != VCONV_OK)
    fz_fail("measuring create of a 4x4 layer failed");
  vconv_conv2d_destroy(op);
  baseline_count = vconv_wisdom_count();
  if (baseline_count == 0 || vconv_wisdom_export(path) != VCONV_OK) fz_fail("no wisdom to export");
  const off_t bn = lseek(fd, 0, SEEK_END);
  baseline = malloc((size_t)bn);
  if (pread(fd, baseline, (size_t)bn, 0) != bn) fz_fail("reading the exported wisdom failed");
  baseline_len = (size_t)bn;
}

static void put_file(const void *p, size_t n) {
  if (ftruncate(fd, 0) != 0 || pwrite(fd, p, n, 0) != (ssize_t)n) fz_fail("writing the file failed");
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * UINT64_C(0x100000001b3);
  return h;
}

/* The shape of one entry line "conv <key> kernel <plan> ns <t>", the key as
 * export writes it; 0 if the line is not one this check can run. */
static int entry_shape(const char *line, vconv_conv2d_desc *d, size_t *threads) {
  int64_t v[16];
  int layout, act;
  double lo, hi;
  uint64_t conn;
  if (sscanf(line,
             "conv %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64
             " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64
             " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %d %d %la %la %" SCNx64
             " threads %zu",
             &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11],
             &v[12], &v[13], &v[14], &v[15], &layout, &act, &lo, &hi, &conn, threads) != 22)
    return 0;
  if (conn != 0 || !fz_ref_range(v, 16)) return 0; /* a table's hash names no table */
  vconv_conv2d_desc_init(d);
  d->batch = v[0];
  d->in_channels = v[1];
  d->in_height = v[2];
  d->in_width = v[3];
  d->out_channels = v[4];
  d->kernel_h = v[5];
  d->kernel_w = v[6];
  d->stride_h = v[7];
  d->stride_w = v[8];
  d->dilation_h = v[9];
  d->dilation_w = v[10];
  d->pad_top = v[11];
  d->pad_bottom = v[12];
  d->pad_left = v[13];
  d->pad_right = v[14];
  d->groups = v[15];
  d->layout = (vconv_layout)layout;
  d->activation = (vconv_activation)act;
  d->act_min = (float)lo;
  d->act_max = (float)hi;
  return 1;
}

static int64_t prod(int64_t a, int64_t b, int64_t c, int64_t e) {
  int64_t n;
  if (!fz_mul(a, b, &n) || !fz_mul(n, c, &n) || !fz_mul(n, e, &n)) return -1;
  return n;
}

/* Creates the entry's shape with the planner (which consults the wisdom just
 * imported), runs it and compares with the reference. */
static void run_entry(const vconv_conv2d_desc *d, size_t threads) {
  int64_t P, Q;
  if (vconv_conv2d_output_size(d, &P, &Q) != VCONV_OK) return;
  const int64_t Cg = d->in_channels / d->groups;
  const int64_t nin = prod(d->batch, d->in_channels, d->in_height, d->in_width);
  const int64_t nw = prod(d->out_channels, Cg, d->kernel_h, d->kernel_w);
  const int64_t nout = prod(d->batch, d->out_channels, P, Q), taps = prod(Cg, d->kernel_h, d->kernel_w, 1);
  int64_t work;
  if (nin < 0 || nw < 0 || nout < 0 || taps < 0 || nin > FZ_MAX_FLOATS || nw > FZ_MAX_FLOATS ||
      !fz_mul(nout, taps, &work) || work > FZ_MAX_REF_WORK)
    return;
  fbuf xb, wb, yb;
  float *x = fbuf_alloc(&xb, (size_t)nin * sizeof(float), 0);
  float *w = fbuf_alloc(&wb, (size_t)nw * sizeof(float), 0);
  float *y = fbuf_alloc(&yb, (size_t)nout * sizeof(float), 0);
  const fz_data spec = {0x5eed, 0, 0};
  fz_fill(&spec, x, (size_t)nin);
  fz_data wspec = spec;
  wspec.seed = 0x3e1;
  fz_fill(&wspec, w, (size_t)nw);
  double wmax = 0;
  for (int64_t i = 0; i < nw; i++)
    if (fabsf(w[i]) > wmax) wmax = fabsf(w[i]);
  fz_pool pool;
  fz_pool_init(&pool, threads, 0);
  vconv_conv2d_op *op = NULL;
  if (vconv_conv2d_create_planned(d, VCONV_ALGO_AUTO, 0, &pool.par, w, NULL, &op) != VCONV_OK) goto out;
  if (vconv_conv2d_run(op, x, y, NULL, 0, &pool.par) != VCONV_OK)
    fz_fail("run of the shape of an imported entry failed (%s)", vconv_conv2d_kernel_name(op));
  double *yr = malloc(sizeof(double) * (size_t)nout * 2), *ar = yr + nout;
  int32_t *nr = malloc(sizeof(int32_t) * (size_t)nout);
  if (ref_conv2d(d, x, w, NULL, yr, ar, nr) != REF_OK) fz_fail("the reference rejects an accepted shape");
  const int wi = wino_tile_index(vconv_conv2d_algorithm(op));
  ref_wino_tile tile;
  double *z = NULL;
  if (wi >= 0) {
    vconv_conv2d_desc dn = *d;
    dn.layout = VCONV_LAYOUT_NCHW;
    float *xn = malloc(sizeof(float) * (size_t)nin);
    ref_relayout(x, d->layout, xn, VCONV_LAYOUT_NCHW, d->batch, d->in_channels, d->in_height, d->in_width);
    z = malloc(sizeof(double) * (size_t)nout);
    if (wino_bound(wi, &dn, xn, w, NULL, wmax, &tile, z) != REF_OK)
      fz_fail("wisdom ran %s on a shape that tile cannot take", vconv_conv2d_kernel_name(op));
    free(xn);
  }
  for (int64_t b = 0; b < d->batch; b++)
    for (int64_t k = 0; k < d->out_channels; k++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const int64_t i = ref_index(d->layout, d->out_channels, P, Q, b, k, p, q);
          const double tol =
              z ? ref_wino_tol(&tile, Cg, z[ref_index(VCONV_LAYOUT_NCHW, d->out_channels, P, Q, b, k, p, q)], ar[i], nr[i])
                : ref_conv_tol(nr[i], ar[i]);
          if (!(fabs((double)y[i] - yr[i]) <= tol)) {
            fz_describe_conv(d, 0);
            fz_fail("%s, chosen through imported wisdom, is outside the error bound at %lld: %.9g vs %.17g",
                    vconv_conv2d_kernel_name(op), (long long)i, (double)y[i], yr[i]);
          }
        }
  free(z);
  free(yr);
  free(nr);
out:
  vconv_conv2d_destroy(op);
  fbuf_free(&xb);
  fbuf_free(&wb);
  fbuf_free(&yb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fd < 0) setup();
  if (size == 0) return 0;
  vconv_wisdom_forget();
  put_file(baseline, baseline_len);
  if (vconv_wisdom_import(path) != VCONV_OK || vconv_wisdom_count() != baseline_count)
    fz_fail("the baseline wisdom file does not import");
  /* First byte: raw or framed; framed with a wrong count now and then. */
  const uint8_t mode = data[0];
  data++, size--;
  char *file = NULL;
  size_t len;
  if (mode < 0x40) {
    put_file(data, size);
    len = size;
  } else {
    size_t lines = 0;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    if (mode >= 0xf0) lines += (size_t)(mode & 3) - 2 + ((mode & 3) >= 2);
    file = malloc(head_len + size + 64);
    memcpy(file, head, head_len);
    memcpy(file + head_len, data, size);
    len = head_len + size;
    const uint64_t sum = fnv1a(UINT64_C(0xcbf29ce484222325), file, len);
    len += (size_t)snprintf(file + len, 64, "end %zu %016" PRIx64 "\n", lines, sum);
    put_file(file, len);
  }
  const size_t held = vconv_wisdom_count();
  const vconv_status st = vconv_wisdom_import(path);
  const size_t after = vconv_wisdom_count();
  if (st != VCONV_OK && after != held) fz_fail("refused import (status %d) changed the wisdom held", st);
  if (st == VCONV_OK && mode >= 0x40 && size && data[size - 1] == '\n') {
    /* The first entry line, if it names a shape small enough to run. */
    const char *nl = memchr(data, '\n', size);
    char *line = malloc((size_t)(nl - (const char *)data) + 1);
    memcpy(line, data, (size_t)(nl - (const char *)data));
    line[nl - (const char *)data] = '\0';
    vconv_conv2d_desc d;
    size_t threads;
    if (entry_shape(line, &d, &threads)) run_entry(&d, threads);
    free(line);
  }
  if (st == VCONV_OK) {
    /* What was imported exports and imports again unchanged. */
    if (vconv_wisdom_export(path) != VCONV_OK) fz_fail("export after import failed");
    if (vconv_wisdom_import(path) != VCONV_OK || vconv_wisdom_count() != after)
      fz_fail("an exported file does not import back");
  }
  free(file);
  return 0;
}

/* What the fuzz targets share (see fuzz.h). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "fuzz.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ref.h"
#include "util.h"

/* The parallel-for fz_parallel handed out for this input, for the failure report. */
static const vconv_parallel *last_par;
static int have_par;

/* ---- the input ----------------------------------------------------------- */

void fz_init(fz *f, const uint8_t *data, size_t size) {
  have_par = 0;
  last_par = NULL;
  f->p = data;
  f->n = size;
  f->i = 0;
  f->tame = fz_u8(f) < 0x80;
}

uint8_t fz_u8(fz *f) { return f->i < f->n ? f->p[f->i++] : 0; }

uint64_t fz_u64(fz *f) {
  uint64_t v = 0;
  for (int k = 0; k < 8; k++) v |= (uint64_t)fz_u8(f) << (8 * k);
  return v;
}

/* Where index arithmetic overflows: the int64 ends, int32 and uint32 ends
 * (a 32-bit index somewhere), products' square roots, powers of two. */
static const int64_t extremes[] = {
    INT64_MIN, INT64_MIN + 1, -((int64_t)1 << 62), -((int64_t)1 << 32),
    -((int64_t)1 << 31) - 1, -((int64_t)1 << 31), -65536, -1000,
    -2, -1, 0, 1,
    2, 3, 7, 8,
    255, 256, 1000, 4096,
    65535, 65536, 65537, ((int64_t)1 << 20),
    ((int64_t)1 << 24), ((int64_t)1 << 24) + 1, ((int64_t)1 << 30), ((int64_t)1 << 31) - 2,
    ((int64_t)1 << 31) - 1, ((int64_t)1 << 31), ((int64_t)1 << 31) + 1, ((int64_t)1 << 32) - 1,
    ((int64_t)1 << 32), ((int64_t)1 << 32) + 1, ((int64_t)1 << 40), 3037000499,
    3037000500, ((int64_t)1 << 53), ((int64_t)1 << 53) + 1, ((int64_t)1 << 61),
    ((int64_t)1 << 62) - 1, ((int64_t)1 << 62), ((int64_t)1 << 62) + 1, INT64_MAX / 3,
    INT64_MAX / 2, INT64_MAX / 2 + 1, INT64_MAX - 1, INT64_MAX,
};
#define NEXTREMES (sizeof extremes / sizeof extremes[0])

/* lo..hi from the byte `first` (and one more byte for spans above 256). */
static int64_t small(fz *f, uint8_t first, int64_t lo, int64_t hi) {
  const uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
  uint64_t v = first;
  if (span > 256) v |= (uint64_t)fz_u8(f) << 8;
  return (int64_t)((uint64_t)lo + v % span);
}

int64_t fz_field(fz *f, int64_t lo, int64_t hi) {
  const uint8_t b = fz_u8(f);
  if (f->tame || b < 0xc0) return small(f, b, lo, hi);
  if (b < 0xf0) return extremes[(b - 0xc0) % NEXTREMES];
  if (b < 0xf8) {
    /* An extreme plus -128..127, wrapping like the two's complement it tests. */
    const int64_t e = extremes[fz_u8(f) % NEXTREMES];
    return (int64_t)((uint64_t)e + (uint64_t)(int64_t)(int8_t)fz_u8(f));
  }
  return (int64_t)fz_u64(f);
}

int fz_enum(fz *f, int lo, int hi) {
  const uint8_t b = fz_u8(f);
  if (f->tame || b < 0xf0) return lo + b % (hi - lo + 1);
  static const int odd[] = {-1, INT32_MIN, INT32_MAX, 1000};
  if (b < 0xf8) return hi + 1 + (b & 3);
  return odd[b & 3];
}

float fz_float(fz *f) {
  const uint8_t b = fz_u8(f);
  if (b < 0xc0) return ((float)b - 96.0f) / 16.0f;
  static const float specials[] = {
      0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 1e-40f, -1e-40f,
      FLT_MIN, -FLT_MIN, 0x1p-149f, FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, NAN,
      -NAN, 1e30f, -1e30f, 1e-30f, 0x1p100f, 0x1p-100f, 3.0f, 0.1f,
  };
  if (b < 0xf0) return specials[(b - 0xc0) % (sizeof specials / sizeof specials[0])];
  uint32_t u = 0;
  for (int k = 0; k < 4; k++) u |= (uint32_t)fz_u8(f) << (8 * k);
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

size_t fz_threads(fz *f) {
  const uint8_t b = fz_u8(f);
  if (b < 0xc0) return b % 9;
  static const uint64_t big[] = {
      16, 63, 64, 1000, 65536, ((uint64_t)1 << 31) - 1, (uint64_t)1 << 31, (uint64_t)1 << 32,
      ((uint64_t)1 << 32) + 1, (uint64_t)1 << 62, (uint64_t)1 << 63, ((uint64_t)1 << 63) + 1,
      UINT64_MAX - 1, UINT64_MAX,
  };
  const uint64_t t = b < 0xf8 ? big[(b - 0xc0) % (sizeof big / sizeof big[0])] : fz_u64(f);
  return t > SIZE_MAX ? SIZE_MAX : (size_t)t;
}

/* ---- checked arithmetic ---------------------------------------------------- */

int fz_mul(int64_t a, int64_t b, int64_t *out) {
  return a >= 0 && b >= 0 && !__builtin_mul_overflow(a, b, out);
}

int fz_add(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }

int fz_ref_range(const int64_t *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i] < -FZ_REF_FIELD_MAX || v[i] > FZ_REF_FIELD_MAX) return 0;
  return 1;
}

int64_t fz_prod4(int64_t a, int64_t b, int64_t c, int64_t e) {
  int64_t n;
  if (!fz_mul(a, b, &n) || !fz_mul(n, c, &n) || !fz_mul(n, e, &n)) return -1;
  return n;
}

/* ---- buffers --------------------------------------------------------------- */

static size_t page(void) {
  static size_t ps;
  if (!ps) ps = (size_t)sysconf(_SC_PAGESIZE);
  return ps;
}

void *fbuf_alloc(fbuf *b, size_t bytes, int head) {
  const size_t ps = page(), data_pages = (bytes + ps - 1) / ps + (bytes == 0);
  b->maplen = (data_pages + 1) * ps;
  b->map = mmap(NULL, b->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b->map == MAP_FAILED) fz_fail("mmap of %zu bytes failed", b->maplen);
  unsigned char *guard = head ? b->map : b->map + data_pages * ps;
  if (mprotect(guard, ps, PROT_NONE) != 0) fz_fail("mprotect failed");
  unsigned char *lo = head ? b->map + ps : b->map;
  b->data = head ? lo : lo + data_pages * ps - bytes;
  b->bytes = bytes;
  /* NaN around the data on its pages: a stray read that does not fault still
   * poisons the result. */
  const float nan = NAN;
  for (unsigned char *q = lo; q + sizeof nan <= (unsigned char *)b->data; q += sizeof nan)
    memcpy(q, &nan, sizeof nan);
  for (unsigned char *q = (unsigned char *)b->data + bytes; q + sizeof nan <= lo + data_pages * ps;
       q += sizeof nan)
    memcpy(q, &nan, sizeof nan);
  return b->data;
}

void fbuf_free(fbuf *b) {
  if (b->map) munmap(b->map, b->maplen);
  b->map = NULL;
}

float fz_sentinel(void) {
  const uint32_t bits = 0x7fa5f00du;
  float x;
  memcpy(&x, &bits, sizeof x);
  return x;
}

int fz_is_sentinel(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  return bits == 0x7fa5f00du;
}

void fz_ws_make(fz *f, size_t need, fz_ws *w) {
  const uint8_t mode = fz_u8(f), misalign = fz_u8(f) % 64;
  *w = (fz_ws){0};
  w->too_small = mode % 4 == 3 && need > 0;
  if (mode % 4 != 0 && need > 0) {
    w->size = w->too_small ? need - 1 - fz_u8(f) % (need < 64 ? need : 64) : need;
    w->block = malloc(w->size + misalign + 1);
    w->ptr = w->block + misalign;
  } else if (mode % 4 == 2) {
    w->ptr = w; /* a workspace of 0 bytes is never touched */
  }
}

void fz_ws_free(fz_ws *w) {
  free(w->block);
  *w = (fz_ws){0};
}

/* ---- convolution descriptors -------------------------------------------------- */

void fz_conv_desc(fz *f, vconv_conv2d_desc *d) {
  vconv_conv2d_desc_init(d);
  d->batch = fz_field(f, 1, 3);
  d->in_channels = fz_field(f, 1, 17);
  d->in_height = fz_field(f, 1, 20);
  d->in_width = fz_field(f, 1, 20);
  d->out_channels = fz_field(f, 1, 17);
  d->kernel_h = fz_field(f, 1, 7);
  d->kernel_w = fz_field(f, 1, 7);
  d->stride_h = fz_field(f, 1, 3);
  d->stride_w = fz_field(f, 1, 3);
  d->dilation_h = fz_field(f, 1, 3);
  d->dilation_w = fz_field(f, 1, 3);
  d->pad_top = fz_field(f, 0, 3);
  d->pad_bottom = fz_field(f, 0, 3);
  d->pad_left = fz_field(f, 0, 3);
  d->pad_right = fz_field(f, 0, 3);
  d->padding_mode = (vconv_padding_mode)fz_enum(f, 0, 4);
  d->groups = fz_field(f, 1, 4);
  d->layout = (vconv_layout)fz_enum(f, 0, 1);
  d->activation = (vconv_activation)fz_enum(f, 0, 2);
  if (d->activation == VCONV_ACTIVATION_CLAMP) {
    d->act_min = fz_float(f);
    d->act_max = fz_float(f);
  }
}

int64_t fz_conv_weight_count(const vconv_conv2d_desc *d) {
  if (d->groups < 1 || d->in_channels < 1 || d->out_channels < 1 || d->kernel_h < 1 ||
      d->kernel_w < 1 || d->in_channels % d->groups || d->out_channels % d->groups)
    return -1;
  return fz_prod4(d->out_channels, d->in_channels / d->groups, d->kernel_h, d->kernel_w);
}

int64_t fz_conv_sizes(const vconv_conv2d_desc *d, int64_t P, int64_t Q, int64_t *nx, int64_t *ny) {
  *nx = fz_prod4(d->batch, d->in_channels, d->in_height, d->in_width);
  *ny = fz_prod4(d->batch, d->out_channels, P, Q);
  const int64_t taps =
      d->groups >= 1 ? fz_prod4(d->in_channels / d->groups, d->kernel_h, d->kernel_w, 1) : -1;
  int64_t work;
  if (*ny < 0 || taps < 0 || !fz_mul(*ny, taps, &work)) return -1;
  return work;
}

void fz_conv_table(fz *f, vconv_conv2d_desc *d, int want, int64_t max, fbuf *tb) {
  int64_t nt;
  if (!want || fz_conv_weight_count(d) < 0 ||
      !fz_mul(d->out_channels, d->in_channels / d->groups, &nt) || nt < 1 || nt > max)
    return;
  unsigned char *t = fbuf_alloc(tb, (size_t)nt, 0);
  for (int64_t i = 0; i < nt; i++) t[i] = fz_u8(f) % 4 != 0;
  d->connections = t;
}

/* ---- tensor data ------------------------------------------------------------ */

fz_data fz_data_spec(fz *f, int min_scale, int max_scale, int allow_special) {
  fz_data s;
  s.seed = fz_u8(f) | (uint64_t)fz_u8(f) << 8;
  s.scale = min_scale + fz_u8(f) % (max_scale - min_scale + 1);
  const uint8_t b = fz_u8(f);
  s.special = allow_special && b >= 0xc0 ? 1 + (b & 7) : 0;
  return s;
}

void fz_fill(const fz_data *s, float *x, size_t n) {
  test_rng rng;
  rng_seed(&rng, s->seed);
  const float scale = ldexpf(1.0f, s->scale);
  static const float specials[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -0x1p-149f, FLT_MIN};
  for (size_t i = 0; i < n; i++) {
    x[i] = rng_sym(&rng) * scale;
    if (s->special && rng_chance(&rng, 1, 1 + s->special))
      x[i] = specials[rng_next(&rng) % (sizeof specials / sizeof specials[0])];
  }
}

float *fz_buf_filled(fbuf *b, int64_t n, int head, const fz_data *spec, float **copy) {
  float *p = fbuf_alloc(b, (size_t)(n ? n : 1) * sizeof(float), head);
  fz_fill(spec, p, (size_t)n);
  *copy = malloc(sizeof(float) * (size_t)(n ? n : 1));
  memcpy(*copy, p, sizeof(float) * (size_t)n);
  return p;
}

float *fz_buf_blank(fbuf *b, int64_t n, int head) {
  float *p = fbuf_alloc(b, (size_t)(n ? n : 1) * sizeof(float), head);
  for (int64_t i = 0; i < n; i++) p[i] = fz_sentinel();
  return p;
}

static void (*describe_hook)(void);

void fz_set_describe(void (*describe)(void)) { describe_hook = describe; }

void fz_check_written(const float *y, int64_t n, const char *what) {
  for (int64_t i = 0; i < n; i++)
    if (fz_is_sentinel(y[i])) {
      if (describe_hook) describe_hook();
      fz_fail("%s[%lld] of %lld never written", what, (long long)i, (long long)n);
    }
}

void fz_update_weights(const vconv_conv2d_desc *d, const float *w, int64_t nw, float *out) {
  const int64_t taps = d->kernel_h * d->kernel_w;
  for (int64_t i = 0; i < nw; i++) {
    const int64_t pair = i / taps;
    out[i] = d->connections && !d->connections[pair] ? NAN : -w[pair * taps + (taps - 1 - i % taps)];
  }
}

void fz_check_same_bits(const char *what, const float *y, const float *z, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (memcmp(&y[i], &z[i], sizeof(float)) != 0 && !(isnan(y[i]) && isnan(z[i]))) {
      if (describe_hook) describe_hook();
      fz_fail("%s[%lld] of %lld: %.9g against %.9g", what, (long long)i, (long long)n, (double)y[i],
              (double)z[i]);
    }
}

void fz_check_conv_tol(const char *what, const char *kernel, const float *y, const double *r,
                       const double *a, const int32_t *n, int64_t count) {
  for (int64_t i = 0; i < count; i++) {
    const double err = (double)y[i] == r[i] ? 0.0 : fabs((double)y[i] - r[i]);
    const double tol = ref_conv_tol(n[i], a[i]);
    if (!(err <= tol)) {
      if (describe_hook) describe_hook();
      fz_fail("%s: %s[%lld] = %.9g, reference %.17g, |err| %.3g > tol %.3g", kernel, what,
              (long long)i, (double)y[i], r[i], err, tol);
    }
  }
}

void fz_check_tols(const char *what, const char *kernel, const float *y, const double *r,
                   const double *tol, int64_t count) {
  for (int64_t i = 0; i < count; i++) {
    const double err = (double)y[i] == r[i] ? 0.0 : fabs((double)y[i] - r[i]);
    if (!(err <= tol[i])) {
      if (describe_hook) describe_hook();
      fz_fail("%s: %s[%lld] = %.9g, reference %.17g, |err| %.3g > tol %.3g", kernel, what,
              (long long)i, (double)y[i], r[i], err, tol[i]);
    }
  }
}

/* ---- the caller's parallel-for ---------------------------------------------- */

static void serial_for(void *context, size_t n, vconv_task_fn task, void *task_arg) {
  fz_pool *p = context;
  const size_t most = p->par.threads ? p->par.threads : 1;
  if (n > most) fz_fail("parallel_for called with n = %zu tasks for threads = %zu", n, p->par.threads);
  p->calls++;
  p->tasks += n;
  for (size_t k = 0; k < n; k++) task(task_arg, p->backwards ? n - 1 - k : k);
}

const vconv_parallel *fz_pool_init(fz_pool *pool, size_t threads, int backwards) {
  memset(pool, 0, sizeof *pool);
  pool->par = (vconv_parallel){serial_for, pool, threads};
  pool->backwards = backwards;
  return &pool->par;
}

const vconv_parallel *fz_parallel(fz *f, fz_pool *pool) {
  const uint8_t b = fz_u8(f);
  memset(pool, 0, sizeof *pool);
  have_par = 1;
  last_par = NULL;
  if (b < 0x20) return NULL;
  last_par = &pool->par;
  fz_pool_init(pool, fz_threads(f), b & 1);
  /* A NULL parallel_for means the calling thread, whatever threads says. */
  if (b < 0x30) pool->par.parallel_for = NULL;
  return &pool->par;
}

/* ---- failures ---------------------------------------------------------------- */

void fz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (have_par && last_par)
    fprintf(stderr, "  parallel: %s, threads %zu\n",
            last_par->parallel_for ? "serial parallel_for" : "NULL parallel_for", last_par->threads);
  else if (have_par)
    fputs("  parallel: NULL (the calling thread)\n", stderr);
  fputs("FUZZ FAILURE: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fflush(stderr);
  abort();
}

void fz_describe_conv(const vconv_conv2d_desc *d, int bias) {
  fprintf(stderr,
          "  conv2d N=%lld C=%lld H=%lld W=%lld K=%lld R=%lld S=%lld stride=%lld,%lld "
          "dilation=%lld,%lld pad(t,b,l,r)=%lld,%lld,%lld,%lld mode=%d groups=%lld layout=%d "
          "act=%d [%a, %a] table=%s bias=%s\n",
          (long long)d->batch, (long long)d->in_channels, (long long)d->in_height,
          (long long)d->in_width, (long long)d->out_channels, (long long)d->kernel_h,
          (long long)d->kernel_w, (long long)d->stride_h, (long long)d->stride_w,
          (long long)d->dilation_h, (long long)d->dilation_w, (long long)d->pad_top,
          (long long)d->pad_bottom, (long long)d->pad_left, (long long)d->pad_right,
          (int)d->padding_mode, (long long)d->groups, (int)d->layout, (int)d->activation,
          (double)d->act_min, (double)d->act_max, d->connections ? "yes" : "no",
          bias ? "yes" : "no");
}

void fz_describe_pool(const vconv_pool2d_desc *d) {
  fprintf(stderr,
          "  pool2d N=%lld C=%lld H=%lld W=%lld kind=%d window=%lldx%lld stride=%lld,%lld "
          "dilation=%lld,%lld pad(t,b,l,r)=%lld,%lld,%lld,%lld mode=%d ceil=%d layout=%d "
          "global=%d weights=%s training=%d seed=%llu\n",
          (long long)d->batch, (long long)d->channels, (long long)d->in_height,
          (long long)d->in_width, (int)d->kind, (long long)d->window_h, (long long)d->window_w,
          (long long)d->stride_h, (long long)d->stride_w, (long long)d->dilation_h,
          (long long)d->dilation_w, (long long)d->pad_top, (long long)d->pad_bottom,
          (long long)d->pad_left, (long long)d->pad_right, (int)d->padding_mode, d->ceil_mode,
          (int)d->layout, d->global, d->window_weights ? "yes" : "no", d->training,
          (unsigned long long)d->seed);
}

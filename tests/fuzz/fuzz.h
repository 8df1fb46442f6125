/*
 * What the fuzz targets share: a reader that turns fuzz bytes into
 * descriptor fields (small values, or the extremes where overflow lives),
 * buffers with a guard page, a caller's parallel-for whose thread count comes
 * from the input, tensor data and the failure report.
 *
 * Every target calls the public API (include/vconv.h) only.  A target aborts
 * on a broken promise of the header (wrong result, wrong status, a write it
 * should not make); AddressSanitizer, UndefinedBehaviorSanitizer and the guard
 * pages catch the rest.
 */
#ifndef VCONV_FUZZ_H
#define VCONV_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "vconv.h"

/* What one input may cost: tensors the target allocates, the multiply-adds it
 * lets the library run, and those it checks against the float64 reference
 * (under ASan at -O1, a few milliseconds each). */
#define FZ_MAX_FLOATS ((int64_t)1 << 20)
#define FZ_MAX_RUN_WORK ((int64_t)1 << 23)
#define FZ_MAX_REF_WORK ((int64_t)1 << 18)
/* Descriptor fields up to this magnitude keep the references' own int64
 * arithmetic (tests/ref.c, tests/pool_ref.c) in range, so they can check. */
#define FZ_REF_FIELD_MAX ((int64_t)1 << 36)

/* ---- the input ----------------------------------------------------------- */

typedef struct fz {
  const uint8_t *p;
  size_t n, i;
  /* Tame inputs draw every field from its small range: valid shapes are then
   * common, and they are what the reference comparison runs on most. */
  int tame;
} fz;

/* The first byte decides tame or wild. */
void fz_init(fz *f, const uint8_t *data, size_t size);
/* Past the end every read gives 0. */
uint8_t fz_u8(fz *f);
uint64_t fz_u64(fz *f);
/*
 * A descriptor field.  Tame: lo..hi.  Wild: three bytes in four lo..hi, else
 * one of the extremes (INT64_MIN/MAX, +-2^31 +-1, 2^32, 2^62, ...), an extreme
 * plus a small signed offset, or 8 raw bytes.
 */
int64_t fz_field(fz *f, int64_t lo, int64_t hi);
/* A value of an enum or int option: lo..hi in tame inputs and mostly in wild
 * ones, else anything an int holds (unknown enum values must be rejected). */
int fz_enum(fz *f, int lo, int hi);
/* A float: small dyadic values, or 0, -0, subnormals, FLT_MAX, +-inf, NaN, raw bits. */
float fz_float(fz *f);
/* A caller's thread count: 0..8 mostly, else 2^31, 2^32, 2^63, SIZE_MAX, ... */
size_t fz_threads(fz *f);

/* ---- checked arithmetic ---------------------------------------------------- */

/* *out = a * b (or a + b); 0 if that overflows int64 or a factor is negative. */
int fz_mul(int64_t a, int64_t b, int64_t *out);
int fz_add(int64_t a, int64_t b, int64_t *out);
/* 1 if every value lies in [-FZ_REF_FIELD_MAX, FZ_REF_FIELD_MAX]. */
int fz_ref_range(const int64_t *v, size_t n);
/* a * b * c * e, or -1 if that overflows or a factor is negative. */
int64_t fz_prod4(int64_t a, int64_t b, int64_t c, int64_t e);

/* ---- buffers --------------------------------------------------------------- */

/*
 * bytes of memory next to a PROT_NONE page: after the data (tail, the
 * default: an over-read past the end faults at once) or before it (head: one
 * before the start faults).  The start's alignment follows from the size at
 * the tail (every float offset modulo a cache line occurs); at the head it is
 * a page.  The whole page around the data holds NaN.
 */
typedef struct fbuf {
  unsigned char *map;
  size_t maplen;
  void *data;
  size_t bytes;
} fbuf;
void *fbuf_alloc(fbuf *b, size_t bytes, int head);
void fbuf_free(fbuf *b);

/*
 * The workspace a run gets, for an operator that asks for `need` bytes: the
 * library's own (NULL, 0), exactly enough at any alignment, a 0-byte block
 * that must never be touched, or too little (then the run must answer
 * VCONV_ERR_WORKSPACE_TOO_SMALL).
 */
typedef struct fz_ws {
  unsigned char *block;
  void *ptr;
  size_t size;
  int too_small;
} fz_ws;
void fz_ws_make(fz *f, size_t need, fz_ws *w);
void fz_ws_free(fz_ws *w);

/* A NaN with a payload the library never makes: an output still holding it
 * was never written. */
float fz_sentinel(void);
int fz_is_sentinel(float x);

/* ---- convolution descriptors -------------------------------------------------- */

/* Every field of a 2-D convolution from the input (small or extreme, see
 * fz_field); the activation's bounds too when it is CLAMP. */
void fz_conv_desc(fz *f, vconv_conv2d_desc *d);
/* Elements of the OIHW weights, or -1 if the descriptor does not define them. */
int64_t fz_conv_weight_count(const vconv_conv2d_desc *d);
/* Elements of the input (N*C*H*W) and output (N*K*P*Q) and the multiply-adds
 * of the convolution (output elements x taps); -1 for what overflows. */
int64_t fz_conv_sizes(const vconv_conv2d_desc *d, int64_t P, int64_t Q, int64_t *nx, int64_t *ny);
/* The connection table of d (K * C/G bytes behind a guard page, a quarter of
 * them 0) when `want` and the table is at most max bytes; else d is unchanged. */
void fz_conv_table(fz *f, vconv_conv2d_desc *d, int want, int64_t max, fbuf *tb);

/* ---- tensor data ------------------------------------------------------------ */

/*
 * Fills x[0..n) from the input: values of [-1, 1] on a 2^-23 grid times
 * 2^scale (plain), optionally with NaN, +-inf, +-0 and subnormals sprinkled in
 * (specials).  Returns 1 if the data is plain.
 */
typedef struct fz_data {
  uint64_t seed;
  int scale;   /* exponent of the magnitude */
  int special; /* 0: plain; else one value in `special` is special */
} fz_data;
fz_data fz_data_spec(fz *f, int min_scale, int max_scale, int allow_special);
void fz_fill(const fz_data *spec, float *x, size_t n);

/* n floats behind a guard page (at the head if `head`): filled from spec, with
 * a malloc'd copy in *copy; or every element fz_sentinel(). */
float *fz_buf_filled(fbuf *b, int64_t n, int head, const fz_data *spec, float **copy);
float *fz_buf_blank(fbuf *b, int64_t n, int head);
/* Checks that fail through fz_fail, after the target's description of its
 * operands (fz_set_describe; none by default): every element of y written
 * (no fz_sentinel() left), and every element within ref_conv_tol(n[i], a[i])
 * of the reference r (equal values first: inf == inf is no error). */
void fz_set_describe(void (*describe)(void));
void fz_check_written(const float *y, int64_t n, const char *what);
void fz_check_conv_tol(const char *what, const char *kernel, const float *y, const double *r,
                       const double *a, const int32_t *n, int64_t count);
/* Weights for an update_weights check: w's nw weights, each kernel reversed
 * and negated, NaN where the descriptor's table leaves a pair unconnected
 * (never read as values). */
void fz_update_weights(const vconv_conv2d_desc *d, const float *w, int64_t nw, float *out);
/* Fails unless y and z hold the same bits (NaN matches NaN, whatever its payload). */
void fz_check_same_bits(const char *what, const float *y, const float *z, int64_t n);
/* The same within tol[i] (a Winograd plan's bound). */
void fz_check_tols(const char *what, const char *kernel, const float *y, const double *r,
                   const double *tol, int64_t count);

/* ---- the caller's parallel-for ---------------------------------------------- */

/*
 * Runs every task on the calling thread, in order or backwards (any order is
 * allowed), after checking the header's promise n <= threads (0 counts as 1).
 */
typedef struct fz_pool {
  vconv_parallel par;
  int backwards;
  size_t calls, tasks;
} fz_pool;
/* The serial pool claiming `threads` threads. */
const vconv_parallel *fz_pool_init(fz_pool *pool, size_t threads, int backwards);
/* NULL (the calling thread), a NULL parallel_for, or the serial pool above
 * claiming fz_threads() threads. */
const vconv_parallel *fz_parallel(fz *f, fz_pool *pool);

/* ---- failures ---------------------------------------------------------------- */

/* Prints what failed and aborts: libFuzzer saves the input as crash-<sha1>. */
_Noreturn void fz_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* stderr lines describing the operands of the failing call. */
void fz_describe_conv(const vconv_conv2d_desc *d, int bias);
void fz_describe_pool(const vconv_pool2d_desc *d);

#endif

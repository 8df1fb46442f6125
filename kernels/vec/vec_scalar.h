/* One lane of plain C: the tier that stands for a CPU without SIMD. */
#define VEC_W 1
#define VEC_ISA VCONV_ISA_SCALAR

typedef float vf;

static inline vf vf_zero(void) { return 0.0f; }
static inline vf vf_set1(float x) { return x; }
static inline vf vf_loadu(const float *p) { return *p; }
static inline void vf_storeu(float *p, vf v) { *p = v; }
static inline vf vf_load_part(const float *p, int n) { (void)n; return *p; }
static inline void vf_store_part(float *p, vf v, int n) { (void)n; *p = v; }
static inline vf vf_add(vf a, vf b) { return a + b; }
static inline vf vf_mul(vf a, vf b) { return a * b; }
static inline vf vf_div(vf a, vf b) { return a / b; }
/* ISO C mode keeps a*b+c unfused, matching a CPU without FMA. */
static inline vf vf_fmadd(vf a, vf b, vf c) { return a * b + c; }
static inline vf vf_max_nan(vf acc, vf x) { return (x > acc || x != x) ? x : acc; }
static inline vf vf_lower(vf lo, vf x) { return x < lo ? lo : x; }
static inline vf vf_upper(vf hi, vf x) { return x > hi ? hi : x; }

/* Direct convolution helpers. */
/* Lanes [lo, hi) from p[lo..hi-1], the others 0; masked lanes are never touched. */
static inline vf vf_load_lanes(const float *p, int lo, int hi) { return lo <= 0 && hi >= 1 ? *p : 0.0f; }
/* VEC_W x VEC_W transpose in place: one lane is its own transpose. */
static inline void vf_transpose_block(vf *r) { (void)r; }

/* Pooling helpers. */
#include <math.h>
/*
 * Max for pooling, one rule in every tier and in any evaluation order: NaN if
 * either operand is NaN, and for operands that compare equal the bitwise OR,
 * so -0 beats +0.  It is what OR-ing x86's maxps in both operand orders gives
 * (maxps returns its second operand on ties and NaN), the cheapest rule there
 * that does not depend on the order in which a window is scanned.
 */
static inline vf vf_maximum(vf acc, vf x) {
  if (x > acc) return x;
  if (acc > x) return acc;
  union { float f; unsigned u; } a = {acc}, b = {x}; /* equal, or a NaN */
  a.u |= b.u;
  return a.f;
}
/* a where x equals y or x is NaN, else b: the first tap of a window that
 * gives its maximum y, when the taps are offered last to first. */
static inline vf vf_pick_match(vf x, vf y, vf a, vf b) { return (x == y || x != x) ? a : b; }
/* The lane (a whole number below 2^24) as int32 at p. */
static inline void vf_store_i32(int32_t *p, vf v, int n) { (void)n; *p = (int32_t)v; }
/* *p as a float. */
static inline vf vf_load_i32(const int32_t *p, int n) { (void)n; return (float)*p; }
/* The inverse of vf_deinterleave. */
static inline void vf_interleave(vf e, vf o, vf *lo, vf *hi) { *lo = e; *hi = o; }
static inline vf vf_sqrt(vf x) { return sqrtf(x); }
/* Even and odd lanes of the 2 * VEC_W floats a:b (a first). */
static inline void vf_deinterleave(vf a, vf b, vf *even, vf *odd) { *even = a; *odd = b; }
/* Lanes 1 .. VEC_W-1 of lo, then lane 0 of hi. */
static inline vf vf_alignr1(vf hi, vf lo) { (void)lo; return hi; }
/* Lanes VEC_W/2 .. VEC_W-1, then 0 .. VEC_W/2-1 (one lane: itself). */
static inline vf vf_swap_halves(vf v) { return v; }

/* AArch64 Advanced SIMD: 4 lanes with FMA. */
#include <arm_neon.h>

#define VEC_W 4
#define VEC_ISA VCONV_ISA_NEON

typedef float32x4_t vf;

static inline vf vf_zero(void) { return vdupq_n_f32(0.0f); }
static inline vf vf_set1(float x) { return vdupq_n_f32(x); }
static inline vf vf_loadu(const float *p) { return vld1q_f32(p); }
static inline void vf_storeu(float *p, vf v) { vst1q_f32(p, v); }
/* Exactly p[0..n-1], in registers: a vector read back from scalar stores
 * would wait for store forwarding on every row tail. */
static inline vf vf_load_part(const float *p, int n) {
  const float32x2_t z = vdup_n_f32(0.0f);
  switch (n) {
    case 1: return vcombine_f32(vld1_lane_f32(p, z, 0), z);
    case 2: return vcombine_f32(vld1_f32(p), z);
    case 3: return vcombine_f32(vld1_f32(p), vld1_lane_f32(p + 2, z, 0));
    default: return n >= 4 ? vld1q_f32(p) : vdupq_n_f32(0.0f);
  }
}
static inline void vf_store_part(float *p, vf v, int n) {
  float t[4];
  vst1q_f32(t, v);
  for (int i = 0; i < n; i++) p[i] = t[i];
}
static inline vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf vf_div(vf a, vf b) { return vdivq_f32(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
/* FMAX returns NaN when either operand is NaN. */
static inline vf vf_max_nan(vf acc, vf x) { return vmaxq_f32(acc, x); }
/* FMAXNM/FMINNM would drop a NaN x; select keeps it. */
static inline vf vf_lower(vf lo, vf x) { return vbslq_f32(vcltq_f32(x, lo), lo, x); }
static inline vf vf_upper(vf hi, vf x) { return vbslq_f32(vcgtq_f32(x, hi), hi, x); }

/* Direct convolution helpers. */
/* Lanes [lo, hi) from p[lo..hi-1], the others 0; masked lanes are never touched. */
static inline vf vf_load_lanes(const float *p, int lo, int hi) {
  const vf v = vf_load_part(p + lo, hi - lo), z = vdupq_n_f32(0.0f);
  switch (lo) { /* lanes up by lo, zeros below */
    case 1: return vextq_f32(z, v, 3);
    case 2: return vextq_f32(z, v, 2);
    case 3: return vextq_f32(z, v, 1);
    default: return lo <= 0 ? v : z;
  }
}
/* VEC_W x VEC_W transpose in place: lane j of r[i] trades places with lane i of r[j]. */
static inline void vf_transpose_block(vf *r) {
  const float32x4x2_t a = vtrnq_f32(r[0], r[1]), b = vtrnq_f32(r[2], r[3]);
  r[0] = vcombine_f32(vget_low_f32(a.val[0]), vget_low_f32(b.val[0]));
  r[1] = vcombine_f32(vget_low_f32(a.val[1]), vget_low_f32(b.val[1]));
  r[2] = vcombine_f32(vget_high_f32(a.val[0]), vget_high_f32(b.val[0]));
  r[3] = vcombine_f32(vget_high_f32(a.val[1]), vget_high_f32(b.val[1]));
}

/* Pooling helpers. */
/* NaN if either is NaN, OR of the two on ties (-0 beats +0): the same in every
 * tier and scan order (vec_scalar.h explains the rule).  FMAX propagates NaN but
 * gives +0 for (+0, -0), so equal operands take the OR instead. */
static inline vf vf_maximum(vf acc, vf x) {
  const uint32x4_t eq = vceqq_f32(acc, x);
  const float32x4_t both = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(acc), vreinterpretq_u32_f32(x)));
  return vbslq_f32(eq, both, vmaxq_f32(acc, x));
}
/* a where x equals y or x is NaN, else b (vec_scalar.h). */
static inline vf vf_pick_match(vf x, vf y, vf a, vf b) {
  const uint32x4_t m = vorrq_u32(vceqq_f32(x, y), vmvnq_u32(vceqq_f32(x, x)));
  return vbslq_f32(m, a, b);
}
/* Lanes 0 .. n-1 (whole numbers below 2^24) as int32 at p. */
static inline void vf_store_i32(int32_t *p, vf v, int n) {
  const int32x4_t i = vcvtq_s32_f32(v);
  if (n == VEC_W) {
    vst1q_s32(p, i);
    return;
  }
  int32_t t[4];
  vst1q_s32(t, i);
  for (int l = 0; l < n; l++) p[l] = t[l];
}
/* p[0 .. n-1] (int32) as floats, other lanes 0. */
static inline vf vf_load_i32(const int32_t *p, int n) {
  int32_t t[4] = {0, 0, 0, 0};
  for (int l = 0; l < n; l++) t[l] = p[l];
  return vcvtq_f32_s32(vld1q_s32(t));
}
/* The inverse of vf_deinterleave: e0 o0 e1 o1 ... into lo (first) and hi. */
static inline void vf_interleave(vf e, vf o, vf *lo, vf *hi) {
  *lo = vzip1q_f32(e, o);
  *hi = vzip2q_f32(e, o);
}
static inline vf vf_sqrt(vf x) { return vsqrtq_f32(x); }
/* Even and odd lanes of the 2 * VEC_W floats a:b (a first). */
static inline void vf_deinterleave(vf a, vf b, vf *even, vf *odd) {
  *even = vuzp1q_f32(a, b);
  *odd = vuzp2q_f32(a, b);
}
/* Lanes 1 .. VEC_W-1 of lo, then lane 0 of hi. */
static inline vf vf_alignr1(vf hi, vf lo) { return vextq_f32(lo, hi, 1); }
/* Lanes VEC_W/2 .. VEC_W-1, then 0 .. VEC_W/2-1 (one lane: itself). */
static inline vf vf_swap_halves(vf v) { return vextq_f32(v, v, 2); }

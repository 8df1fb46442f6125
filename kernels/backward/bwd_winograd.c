/*
 * The data gradient by Winograd, compiled per tier: at stride 1 it is the
 * forward convolution of vconv_bwd_data_as_forward (kernel.h), so the tier's
 * own forward tile kernels (kernels/winograd) run it, and nothing about the
 * tiles is written twice.  The paths are the tiles of variants.h; the
 * planner picks one with the forward cost model and accuracy rule on that
 * forward shape (kernels/ops/conv_bwd.c), and the kernel's own choice is the
 * first tile, the most accurate, that applies.
 *
 * Packed weights: the tile's packed weights, then the rotated and exchanged
 * OIHW copy they are packed from (pack has no scratch of its own).
 */
#include <stdint.h>

#include "kernel.h"
#include "vec/vec.h"
#include "variants.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define TILE_EXTERN(tn, ...) extern const vconv_conv_kernel VCONV_TIERED(vconv_winograd_##tn##_kernel);
VCONV_WINO_TILES(TILE_EXTERN)
#define TILE_ENTRY(tn, ...) &VCONV_TIERED(vconv_winograd_##tn##_kernel),
static const vconv_conv_kernel *const tiles[] = {VCONV_WINO_TILES(TILE_ENTRY)};
#define TILE_NAME(tn, ...) #tn,
static const char *const bwn_paths[] = {VCONV_WINO_TILES(TILE_NAME)};
#define NTILES ((int)(sizeof tiles / sizeof tiles[0]))

static size_t rotated_floats(const vconv_conv_shape *s) { return (size_t)(s->K * s->Cg * s->R * s->S); }

/* The forward tile's plan inside ours: the same sizes, less the copy, path 0. */
static vconv_conv_plan tile_plan(const vconv_conv_shape *s, const vconv_conv_plan *pl) {
  vconv_conv_plan fp = *pl;
  fp.packed_floats -= rotated_floats(s);
  fp.path = 0;
  return fp;
}

static int bwn_plan(const vconv_conv_shape *s, const vconv_machine *m, int path, vconv_conv_plan *pl) {
  vconv_conv_shape f;
  if (!vconv_bwd_data_as_forward(s, &f)) return 0;
  const int first = path == VCONV_PATH_ANY ? 0 : path, last = path == VCONV_PATH_ANY ? NTILES : path + 1;
  for (int t = first; t < last; t++) {
    if (!tiles[t]->plan(&f, m, 0, pl)) continue;
    if (pl->packed_floats > SIZE_MAX / sizeof(float) - rotated_floats(s)) return 0;
    pl->packed_floats += rotated_floats(s);
    pl->path = t;
    return 1;
  }
  return 0;
}

static void bwn_pack(const vconv_conv_shape *s, const vconv_conv_plan *pl, const float *w,
                     float *packed) {
  vconv_conv_shape f;
  vconv_bwd_data_as_forward(s, &f);
  const vconv_conv_plan fp = tile_plan(s, pl);
  float *rot = packed + fp.packed_floats;
  const int64_t R = s->R, S = s->S;
  for (int64_t g = 0; g < s->G; g++)
    for (int64_t c = 0; c < s->Cg; c++)
      for (int64_t k = 0; k < s->Kg; k++)
        for (int64_t r = 0; r < R; r++)
          for (int64_t t = 0; t < S; t++)
            rot[(((g * s->Cg + c) * s->Kg + k) * R + r) * S + t] =
                w[(((g * s->Kg + k) * s->Cg + c) * R + (R - 1 - r)) * S + (S - 1 - t)];
  tiles[pl->path]->pack(&f, &fp, rot, packed);
}

static void bwn_run(const vconv_conv_shape *s, const vconv_conv_plan *pl, const float *packed,
                    const float *bias, const float *grad_output, float *grad_input, void *workspace,
                    size_t task) {
  vconv_conv_shape f;
  vconv_bwd_data_as_forward(s, &f);
  const vconv_conv_plan fp = tile_plan(s, pl);
  tiles[pl->path]->run(&f, &fp, packed, bias, grad_output, grad_input, workspace, task);
}

const vconv_conv_bwd_kernel VCONV_TIERED(vconv_bwd_data_winograd_kernel) = {
    .kind = VCONV_BWD_DATA,
    .algo = VCONV_ALGO_WINOGRAD,
    .isa = VEC_ISA,
    .name = "bwd_data_winograd/" STR(VCONV_TIER),
    .paths = bwn_paths,
    .npaths = NTILES,
    .plan = bwn_plan,
    .pack = bwn_pack,
    .run_data = bwn_run,
    .run_weights = NULL,
};

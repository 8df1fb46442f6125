/* Names and messages. */
#include "vconv.h"
#include "vconv_config.h"

const char *vconv_version(void) { return VCONV_BUILD_VERSION; }

const char *vconv_status_string(vconv_status status) {
  switch (status) {
    case VCONV_OK: return "success";
    case VCONV_ERR_NULL_POINTER: return "a required pointer is NULL";
    case VCONV_ERR_INVALID_SIZE: return "batch, channel and spatial sizes must be positive";
    case VCONV_ERR_INVALID_KERNEL_SIZE: return "kernel/window sizes must be positive";
    case VCONV_ERR_KERNEL_TOO_LARGE: return "the (dilated) kernel is larger than the padded input";
    case VCONV_ERR_INVALID_STRIDE: return "strides must be positive";
    case VCONV_ERR_INVALID_DILATION: return "dilations must be positive";
    case VCONV_ERR_INVALID_PADDING:
      return "padding must be non-negative (and smaller than the window for pooling)";
    case VCONV_ERR_INVALID_PADDING_MODE: return "unknown or inapplicable padding mode";
    case VCONV_ERR_INVALID_GROUPS:
      return "groups must be positive and divide input and output channels";
    case VCONV_ERR_SIZE_OVERFLOW: return "a size beyond the library's limits (VCONV_MAX_*)";
    case VCONV_ERR_INVALID_LAYOUT: return "unknown layout";
    case VCONV_ERR_INVALID_ACTIVATION: return "unknown activation or invalid clamp bounds";
    case VCONV_ERR_INVALID_POOL_KIND: return "unknown pooling kind";
    case VCONV_ERR_INVALID_ALGORITHM: return "unknown algorithm";
    case VCONV_ERR_UNSUPPORTED_ALGORITHM:
      return "algorithm not built into this library or not applicable to this shape";
    case VCONV_ERR_INVALID_ISA: return "unknown instruction-set tier, or a tier of another architecture";
    case VCONV_ERR_ISA_UNAVAILABLE:
      return "instruction-set tier not built, not supported by this CPU, or above the cap";
    case VCONV_ERR_ISA_LOCKED: return "the tier cap is already fixed (set it before first use)";
    case VCONV_ERR_OUT_OF_MEMORY: return "out of memory";
    case VCONV_ERR_WORKSPACE_TOO_SMALL: return "workspace smaller than the operator's workspace size";
    case VCONV_ERR_INVALID_CONNECTION_TABLE:
      return "connection table leaves an output channel without inputs";
    case VCONV_ERR_INVALID_ARGUMENT: return "argument out of range";
    case VCONV_ERR_UNSUPPORTED_OPTION:
      return "option not supported by this kind (dilated weighted or stochastic pooling, indices)";
    case VCONV_ERR_IO: return "the wisdom file cannot be opened, read or written";
    case VCONV_ERR_WISDOM_MISMATCH:
      return "the wisdom file is from another library version, kernel registry or CPU";
    case VCONV_ERR_WISDOM_CORRUPT: return "the wisdom file is malformed, truncated or altered";
    case VCONV_ERR_INVALID_TILE:
      return "tile size negative, larger than the output or not dividing it";
  }
  return "unknown vconv status";
}

const char *vconv_algorithm_name(vconv_algorithm algo) {
  switch (algo) {
    case VCONV_ALGO_AUTO: return "auto";
    case VCONV_ALGO_DIRECT: return "direct";
    case VCONV_ALGO_IM2COL: return "im2col";
    case VCONV_ALGO_WINOGRAD: return "winograd";
    case VCONV_ALGO_WINOGRAD_F2X2_3X3: return "winograd_f2x2_3x3";
    case VCONV_ALGO_WINOGRAD_F4X4_3X3: return "winograd_f4x4_3x3";
    case VCONV_ALGO_WINOGRAD_F6X6_3X3: return "winograd_f6x6_3x3";
    case VCONV_ALGO_WINOGRAD_F2X2_5X5: return "winograd_f2x2_5x5";
    case VCONV_ALGO_WINOGRAD_F4X5_3X3: return "winograd_f4x5_3x3";
  }
  return NULL;
}

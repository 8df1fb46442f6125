/*
 * vconv_get_cpu_info(): what the machine is, for vconv-info, benchmark
 * context and (later) cache blocking.  Never used for dispatch (dispatch/cpu.c
 * does its own CPUID + XGETBV), and never libcpuid (0.6.2 misnames Zen 5; its
 * brand string is the same CPUID 0x80000002-4 text read here at 3 CPUIDs
 * instead of ~85).
 *
 * Sources, best first; each later one only fills the fields still unknown:
 *   1. hwloc (VCONV_HAVE_HWLOC, runtime ABI 2.x): package info keys, object
 *      counts, the caches above core 0              -> source "hwloc"
 *   2. x86: CPUID (vendor, brand, family/model/stepping, deterministic cache
 *      parameters: leaf 4 on Intel, 0x8000001D on AMD/Hygon, else the legacy
 *      AMD leaves 0x80000005/6)                     -> source "cpuid"
 *   3. the OS: sysconf (online CPUs, cache sizes where nonzero), Linux sysfs
 *      cache directories of cpu0, /proc/cpuinfo (implementer / model name)
 *                                                   -> source "sysconf"
 * `source` names the first source that gave anything.
 *
 * Caches are those core 0 sees: its L1d and L2 and the L3 instance it shares
 * (one per CCX/CCD on AMD, so less than the package total there).  All three
 * sources can describe that instance; a per-package total would need sharing
 * counts that hypervisors misreport (a Firecracker guest here reports one L3
 * per vCPU, each of 508 MB, in both CPUID and hwloc).  Values are the
 * machine's word, not checked for plausibility.
 *
 * Detection runs once per process (pthread_once): CPUID traps to the
 * hypervisor (~4 us each in a KVM guest) and a hwloc topology load takes ~5 ms.
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vconv.h"
#include "vconv_config.h"

#if VCONV_HAVE_HWLOC
#  include <hwloc.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#  define SYSINFO_X86 1
#  include <cpuid.h>
#else
#  define SYSINFO_X86 0
#endif

/* ------------------------------------------------------------------------ */
/* Helpers                                                                    */

/* Copy src into dst[size]: always NUL-terminated, truncated if needed, with
 * leading and trailing white space removed (Intel pads its brand string). */
static void copy_trimmed(char *dst, size_t size, const char *src, size_t src_len) {
  if (size == 0) return;
  dst[0] = '\0';
  if (!src) return;
  size_t b = 0, e = src_len;
  while (b < e && (isspace((unsigned char)src[b]) || src[b] == '\0')) b++;
  while (e > b && (isspace((unsigned char)src[e - 1]) || src[e - 1] == '\0')) e--;
  size_t n = e - b;
  if (n > size - 1) n = size - 1;
  memcpy(dst, src + b, n);
  dst[n] = '\0';
}

static void fill_string(char *dst, size_t size, const char *src) {
  if (dst[0] == '\0' && src) copy_trimmed(dst, size, src, strlen(src));
}

#if SYSINFO_X86
static void fill_int(int *dst, long v) {
  if (*dst < 0 && v >= 0 && v <= 0x7fffffffL) *dst = (int)v;
}
#endif

static void fill_count(int *dst, long v) {
  if (*dst <= 0 && v > 0 && v <= 0x7fffffffL) *dst = (int)v;
}

static void fill_size(int64_t *dst, long long v) {
  if (*dst <= 0 && v > 0) *dst = (int64_t)v;
}

/* Non-negative decimal or 0x-hex number, or -1. */
static long parse_number(const char *s) {
  if (!s) return -1;
  char *end;
  long v = strtol(s, &end, 0);
  if (end == s || v < 0) return -1;
  return v;
}

static int info_complete(const vconv_cpu_info *info) {
  return info->vendor[0] && info->brand[0] && info->packages > 0 && info->cores > 0 &&
         info->threads > 0 && info->l1d_bytes > 0 && info->l2_bytes > 0 && info->l3_bytes > 0 &&
         info->cache_line_bytes > 0 &&
         (!SYSINFO_X86 || (info->family >= 0 && info->model >= 0 && info->stepping >= 0));
}

/* ------------------------------------------------------------------------ */
/* 1. hwloc                                                                   */

#if VCONV_HAVE_HWLOC
/* The data (or unified) cache of the given level above obj, or NULL. */
static hwloc_obj_t cache_above(hwloc_obj_t obj, unsigned level) {
  for (hwloc_obj_t o = obj ? obj->parent : NULL; o; o = o->parent)
    if (hwloc_obj_type_is_dcache(o->type) && o->attr->cache.depth == level) return o;
  return NULL;
}

static int from_hwloc(vconv_cpu_info *info) {
  /* A 1.x or 3.x library behind a 2.x header would misread the structures. */
  if ((hwloc_get_api_version() >> 16) != (HWLOC_API_VERSION >> 16)) return 0;
  hwloc_topology_t t;
  if (hwloc_topology_init(&t) != 0) return 0;
  if (hwloc_topology_load(t) != 0) {
    hwloc_topology_destroy(t);
    return 0;
  }

  hwloc_obj_t pkg = hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, 0);
  if (pkg) {
    fill_string(info->vendor, sizeof info->vendor, hwloc_obj_get_info_by_name(pkg, "CPUVendor"));
    fill_string(info->brand, sizeof info->brand, hwloc_obj_get_info_by_name(pkg, "CPUModel"));
#  if SYSINFO_X86
    /* Display family/model: hwloc applies the extended-family/model rules. */
    fill_int(&info->family, parse_number(hwloc_obj_get_info_by_name(pkg, "CPUFamilyNumber")));
    fill_int(&info->model, parse_number(hwloc_obj_get_info_by_name(pkg, "CPUModelNumber")));
    fill_int(&info->stepping, parse_number(hwloc_obj_get_info_by_name(pkg, "CPUStepping")));
#  endif
  }
  fill_count(&info->packages, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE));
  fill_count(&info->cores, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE));
  fill_count(&info->threads, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU));

  hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, 0);
  if (!core) core = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, 0);
  hwloc_obj_t l1 = cache_above(core, 1), l2 = cache_above(core, 2), l3 = cache_above(core, 3);
  if (l1) fill_size(&info->l1d_bytes, (long long)l1->attr->cache.size);
  if (l2) fill_size(&info->l2_bytes, (long long)l2->attr->cache.size);
  if (l3) fill_size(&info->l3_bytes, (long long)l3->attr->cache.size);
  hwloc_obj_t line_from = l1 ? l1 : l2 ? l2 : l3;
  if (line_from) fill_size(&info->cache_line_bytes, (long long)line_from->attr->cache.linesize);

  hwloc_topology_destroy(t);
  return 1;
}
#endif

/* ------------------------------------------------------------------------ */
/* 2. CPUID                                                                   */

#if SYSINFO_X86
/* Sizes from the deterministic cache parameters (leaf 4 / 0x8000001D share
 * the layout).  Returns 1 if any cache was described. */
static int cpuid_caches(unsigned leaf, vconv_cpu_info *info) {
  int any = 0;
  for (unsigned sub = 0; sub < 16; sub++) {
    unsigned a, b, c, d;
    __cpuid_count(leaf, sub, a, b, c, d);
    (void)d;
    const unsigned type = a & 0x1f, level = (a >> 5) & 7;
    if (type == 0) break;
    if (type == 2) continue; /* instruction cache */
    const long long line = (b & 0xfff) + 1, parts = ((b >> 12) & 0x3ff) + 1,
                    ways = ((b >> 22) & 0x3ff) + 1, sets = (long long)c + 1;
    const long long size = line * parts * ways * sets;
    any = 1;
    if (level == 1) {
      fill_size(&info->l1d_bytes, size);
      fill_size(&info->cache_line_bytes, line);
    } else if (level == 2) {
      fill_size(&info->l2_bytes, size);
    } else if (level == 3) {
      fill_size(&info->l3_bytes, size);
    }
  }
  return any;
}

static int from_cpuid(vconv_cpu_info *info) {
  unsigned a, b, c, d;
  const unsigned max_leaf = __get_cpuid_max(0, NULL);
  if (max_leaf == 0) return 0;

  char vendor[13];
  __cpuid(0, a, b, c, d);
  memcpy(vendor, &b, 4);
  memcpy(vendor + 4, &d, 4);
  memcpy(vendor + 8, &c, 4);
  vendor[12] = '\0';
  fill_string(info->vendor, sizeof info->vendor, vendor);
  const int amd_like = !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");

  unsigned clflush_line = 0;
  if (max_leaf >= 1) {
    __cpuid(1, a, b, c, d);
    const unsigned base_family = (a >> 8) & 0xf, ext_family = (a >> 20) & 0xff;
    const unsigned base_model = (a >> 4) & 0xf, ext_model = (a >> 16) & 0xf;
    const unsigned family = base_family == 0xf ? base_family + ext_family : base_family;
    const unsigned model =
        (base_family == 0x6 || base_family == 0xf) ? (ext_model << 4) + base_model : base_model;
    fill_int(&info->family, (long)family);
    fill_int(&info->model, (long)model);
    fill_int(&info->stepping, (long)(a & 0xf));
    if ((d >> 19) & 1) clflush_line = ((b >> 8) & 0xff) * 8; /* CLFSH */
  }

  const unsigned max_ext = __get_cpuid_max(0x80000000, NULL);
  if (max_ext >= 0x80000004 && info->brand[0] == '\0') {
    unsigned regs[12];
    for (unsigned i = 0; i < 3; i++)
      __cpuid(0x80000002 + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
    char brand[49];
    memcpy(brand, regs, 48);
    brand[48] = '\0';
    fill_string(info->brand, sizeof info->brand, brand);
  }

  if (info->l1d_bytes <= 0 || info->l2_bytes <= 0 || info->l3_bytes <= 0) {
    int done = 0;
    if (amd_like) {
      int topoext = 0;
      if (max_ext >= 0x80000001) {
        __cpuid(0x80000001, a, b, c, d);
        topoext = (c >> 22) & 1;
      }
      if (topoext && max_ext >= 0x8000001d) done = cpuid_caches(0x8000001d, info);
      if (!done && max_ext >= 0x80000006) {
        /* Legacy AMD leaves: L1d in KiB, L2 in KiB, L3 in 512 KiB units. */
        if (max_ext >= 0x80000005) {
          __cpuid(0x80000005, a, b, c, d);
          fill_size(&info->l1d_bytes, (long long)(c >> 24) * 1024);
          fill_size(&info->cache_line_bytes, (long long)(c & 0xff));
        }
        __cpuid(0x80000006, a, b, c, d);
        fill_size(&info->l2_bytes, (long long)(c >> 16) * 1024);
        fill_size(&info->l3_bytes, (long long)(d >> 18) * 512 * 1024);
      }
    } else if (max_leaf >= 4) {
      cpuid_caches(4, info);
    }
  }
  fill_size(&info->cache_line_bytes, (long long)clflush_line);
  return 1;
}
#endif

/* ------------------------------------------------------------------------ */
/* 3. The OS                                                                  */

static long long sysconf_positive(int name) {
  long v = sysconf(name);
  return v > 0 ? (long long)v : 0;
}

#if defined(__linux__)
/* Overridable to test the parsers on other machines' files. */
#  ifndef VCONV_SYSINFO_CPUINFO
#    define VCONV_SYSINFO_CPUINFO "/proc/cpuinfo"
#  endif
#  ifndef VCONV_SYSINFO_SYSFS_CACHE
#    define VCONV_SYSINFO_SYSFS_CACHE "/sys/devices/system/cpu/cpu0/cache"
#  endif

/* First line of a small sysfs file, or "" . */
static void read_line(const char *path, char *buf, size_t size) {
  buf[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (!fgets(buf, (int)size, f)) buf[0] = '\0';
  fclose(f);
  buf[strcspn(buf, "\n")] = '\0';
}

/* Sizes of cpu0's data/unified caches from /sys (what sysconf lacks on ARM). */
static void sysfs_caches(vconv_cpu_info *info) {
  for (int i = 0; i < 16; i++) {
    char path[96], type[32], level[16], size[32], line[16];
    snprintf(path, sizeof path, VCONV_SYSINFO_SYSFS_CACHE "/index%d/type", i);
    read_line(path, type, sizeof type);
    if (!type[0]) break;
    if (strcmp(type, "Data") != 0 && strcmp(type, "Unified") != 0) continue;
    snprintf(path, sizeof path, VCONV_SYSINFO_SYSFS_CACHE "/index%d/level", i);
    read_line(path, level, sizeof level);
    snprintf(path, sizeof path, VCONV_SYSINFO_SYSFS_CACHE "/index%d/size", i);
    read_line(path, size, sizeof size);
    snprintf(path, sizeof path, VCONV_SYSINFO_SYSFS_CACHE "/index%d/coherency_line_size",
             i);
    read_line(path, line, sizeof line);
    char *end;
    long long bytes = strtoll(size, &end, 10);
    if (end == size || bytes <= 0) continue;
    if (*end == 'K') bytes *= 1024;
    else if (*end == 'M') bytes *= 1024 * 1024;
    const long lvl = parse_number(level);
    if (lvl == 1) {
      fill_size(&info->l1d_bytes, bytes);
      fill_size(&info->cache_line_bytes, parse_number(line));
    } else if (lvl == 2) {
      fill_size(&info->l2_bytes, bytes);
    } else if (lvl == 3) {
      fill_size(&info->l3_bytes, bytes);
    }
  }
}


/* The ARM vendor for a MIDR implementer code. */
static const char *arm_implementer_name(long code) {
  switch (code) {
    case 0x41: return "ARM";
    case 0x42: return "Broadcom";
    case 0x43: return "Cavium";
    case 0x46: return "Fujitsu";
    case 0x48: return "HiSilicon";
    case 0x4e: return "NVIDIA";
    case 0x50: return "APM";
    case 0x51: return "Qualcomm";
    case 0x53: return "Samsung";
    case 0x56: return "Marvell";
    case 0x61: return "Apple";
    case 0x69: return "Intel";
    case 0x6d: return "Microsoft";
    case 0xc0: return "Ampere";
    default: return NULL;
  }
}

/* Vendor and brand from the first processor block of /proc/cpuinfo. */
static void proc_cpuinfo(vconv_cpu_info *info) {
  FILE *f = fopen(VCONV_SYSINFO_CPUINFO, "r");
  if (!f) return;
  char line[512];
  long implementer = -1, variant = -1, part = -1, revision = -1;
  char model_name[128] = "", vendor_id[32] = "";
  int seen_processor = 0;
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!colon) {
      if (seen_processor && line[0] == '\n') break; /* end of the first block */
      continue;
    }
    char *key_end = colon;
    while (key_end > line && isspace((unsigned char)key_end[-1])) key_end--;
    const size_t key_len = (size_t)(key_end - line);
    const char *value = colon + 1;
    value += strspn(value, " \t");
    const size_t value_len = strcspn(value, "\n");
#  define KEY_IS(k) (key_len == sizeof(k) - 1 && !memcmp(line, k, sizeof(k) - 1))
    if (KEY_IS("processor")) {
      seen_processor = 1;
    } else if (KEY_IS("CPU implementer")) {
      if (implementer < 0) implementer = parse_number(value);
    } else if (KEY_IS("CPU variant")) {
      if (variant < 0) variant = parse_number(value);
    } else if (KEY_IS("CPU part")) {
      if (part < 0) part = parse_number(value);
    } else if (KEY_IS("CPU revision")) {
      if (revision < 0) revision = parse_number(value);
    } else if (KEY_IS("model name") || KEY_IS("Processor") || KEY_IS("cpu model")) {
      if (!model_name[0]) copy_trimmed(model_name, sizeof model_name, value, value_len);
    } else if (KEY_IS("vendor_id") || KEY_IS("vendor")) {
      if (!vendor_id[0]) copy_trimmed(vendor_id, sizeof vendor_id, value, value_len);
    }
#  undef KEY_IS
  }
  fclose(f);

  const char *vendor = implementer >= 0 ? arm_implementer_name(implementer) : NULL;
  char buf[32];
  if (!vendor && implementer >= 0) {
    snprintf(buf, sizeof buf, "implementer 0x%02x", (unsigned)(implementer & 0xff));
    vendor = buf;
  }
  if (vendor) fill_string(info->vendor, sizeof info->vendor, vendor);
  else if (vendor_id[0]) fill_string(info->vendor, sizeof info->vendor, vendor_id);

  if (model_name[0]) {
    fill_string(info->brand, sizeof info->brand, model_name);
  } else if (part >= 0) {
    /* AArch64 kernels print no model name: name the part as MIDR does. */
    char brand[96];
    snprintf(brand, sizeof brand, "%s part 0x%03x r%up%u", vendor ? vendor : "CPU",
             (unsigned)(part & 0xfff), (unsigned)(variant >= 0 ? variant & 0xf : 0),
             (unsigned)(revision >= 0 ? revision & 0xf : 0));
    fill_string(info->brand, sizeof info->brand, brand);
  }
}
#endif

static int from_os(vconv_cpu_info *info) {
  const vconv_cpu_info before = *info;
  /* Only what is missing: glibc answers the cache queries on x86 with CPUID. */
  if (info->threads <= 0) fill_count(&info->threads, (long)sysconf_positive(_SC_NPROCESSORS_ONLN));
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  if (info->l1d_bytes <= 0) fill_size(&info->l1d_bytes, sysconf_positive(_SC_LEVEL1_DCACHE_SIZE));
  if (info->l2_bytes <= 0) fill_size(&info->l2_bytes, sysconf_positive(_SC_LEVEL2_CACHE_SIZE));
  if (info->l3_bytes <= 0) fill_size(&info->l3_bytes, sysconf_positive(_SC_LEVEL3_CACHE_SIZE));
  if (info->cache_line_bytes <= 0)
    fill_size(&info->cache_line_bytes, sysconf_positive(_SC_LEVEL1_DCACHE_LINESIZE));
#endif
#if defined(__linux__)
  if (info->l1d_bytes <= 0 || info->l2_bytes <= 0 || info->l3_bytes <= 0 ||
      info->cache_line_bytes <= 0)
    sysfs_caches(info);
  if (!info->vendor[0] || !info->brand[0]) proc_cpuinfo(info);
#endif
  return memcmp(&before, info, sizeof before) != 0;
}

/* ------------------------------------------------------------------------ */
/* Once per process                                                           */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static vconv_cpu_info cached;

static void detect(void) {
  vconv_cpu_info info;
  memset(&info, 0, sizeof info);
  info.family = info.model = info.stepping = -1;
  info.packages = info.cores = info.threads = -1;
  const char *source = "";

#if VCONV_HAVE_HWLOC
  if (from_hwloc(&info)) source = "hwloc";
#endif
#if SYSINFO_X86
  if (!info_complete(&info) && from_cpuid(&info) && !source[0]) source = "cpuid";
#endif
  if (!info_complete(&info) && from_os(&info) && !source[0]) source = "sysconf";

  copy_trimmed(info.source, sizeof info.source, source, strlen(source));
  cached = info;
}

vconv_status vconv_get_cpu_info(vconv_cpu_info *info) {
  if (!info) return VCONV_ERR_NULL_POINTER;
  pthread_once(&once, detect);
  *info = cached;
  return VCONV_OK;
}

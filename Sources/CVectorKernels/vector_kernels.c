// Instantiates kernels_body.h per variant and decides which variants this machine can run.
#include "vector_kernels.h"

#include <stdatomic.h>
#include <stddef.h>

// No variant may fuse a multiply and an add on its own: that would round differently from the baseline, which has
// no FMA, and replicas on CPUs of different kinds would drift apart.
#pragma clang fp contract(off)

// The baseline's 8-lane vectors are two SSE registers (two independent halves per step, as the Swift SIMD8 code
// this replaced); clang warns that passing them would change the ABI, but every helper is always inlined, so no
// vector crosses a call.
#pragma clang diagnostic ignored "-Wpsabi"

#define VK_SUFFIX baseline
#define VK_TARGET
#define VK_LANES 8
#include "kernels_body.h"
#undef VK_SUFFIX
#undef VK_TARGET
#undef VK_LANES

#if defined(__x86_64__)
#include <cpuid.h>

#define VK_SUFFIX avx2
#define VK_TARGET __attribute__((target("avx2,fma")))
#define VK_LANES 8
#include "kernels_body.h"
#undef VK_SUFFIX
#undef VK_TARGET
#undef VK_LANES

#define VK_SUFFIX avx512
#define VK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define VK_LANES 16
#include "kernels_body.h"
#undef VK_SUFFIX
#undef VK_TARGET
#undef VK_LANES

// XCR0, the register state the OS saves on a context switch: bits 1-2 XMM and YMM, bits 5-7 the AVX-512 opmask
// and upper ZMM registers. A CPU may report AVX without the OS saving its registers (then using them faults).
static unsigned long long vk_xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static const char *vk_x86_reason(int variant) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return "cpuid leaf 1 is not available";
    bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28);
    if (!avx) return "the CPU lacks AVX (cpuid)";
    if (!osxsave) return "the OS has not enabled XSAVE (cpuid OSXSAVE), so AVX registers are not saved";
    unsigned long long xcr0 = vk_xcr0();
    if ((xcr0 & 0x6) != 0x6) return "the OS does not save the AVX (YMM) register state (XCR0)";
    if (__get_cpuid_max(0, NULL) < 7) return "cpuid leaf 7 is not available";
    __cpuid_count(7, 0, a, b, c, d);
    bool avx2 = b & (1u << 5);
    if (!avx2) return "the CPU lacks AVX2 (cpuid)";
    if (!fma) return "the CPU lacks FMA (cpuid)";
    if (variant == VK_VARIANT_AVX2) return NULL;
    bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
    if (!(f && dq && bw && vl)) return "the CPU lacks AVX-512 F, DQ, BW or VL (cpuid)";
    if ((xcr0 & 0xE0) != 0xE0) return "the OS does not save the AVX-512 (opmask and ZMM) register state (XCR0)";
    return NULL;
}
#endif

const VKKernels *vk_kernels(int variant) {
    switch (variant) {
    case VK_VARIANT_BASELINE: return &kernels_baseline;
#if defined(__x86_64__)
    case VK_VARIANT_AVX2: return &kernels_avx2;
    case VK_VARIANT_AVX512: return &kernels_avx512;
#endif
    default: return NULL;
    }
}

const char *vk_unsupported_reason(int variant) {
    if (variant == VK_VARIANT_BASELINE) return NULL;
    if (variant < 0 || variant >= VK_VARIANT_COUNT) return "no such variant";
#if defined(__x86_64__)
    return vk_x86_reason(variant);
#else
    return "this build is not for x86-64";
#endif
}

int vk_best_supported(void) {
    int best = VK_VARIANT_BASELINE;
    for (int v = VK_VARIANT_BASELINE + 1; v < VK_VARIANT_COUNT; v++) {
        if (vk_unsupported_reason(v) == NULL) best = v;
    }
    return best;
}

static atomic_int vk_choice = -1;

int vk_selected(void) { return atomic_load_explicit(&vk_choice, memory_order_acquire); }

void vk_select(int variant) { atomic_store_explicit(&vk_choice, variant, memory_order_release); }

// The element-wise, Winograd-transform and accumulation kernels of Numerics, each built for several instruction
// sets ("variants": baseline x86-64 or whatever the target architecture's default is, AVX2+FMA, AVX-512), with the
// CPU and OS checks that say which of them this process may run. Swift cannot compile one function for another
// instruction set, so the bodies live here, written once (kernels_body.h) and compiled per variant.
#ifndef VQVAE2_VECTOR_KERNELS_H
#define VQVAE2_VECTOR_KERNELS_H

#include <stdbool.h>

/// The variants, lowest first; the numbers are their order and how ranks agree (the lowest wins).
enum {
    VK_VARIANT_BASELINE = 0,
    VK_VARIANT_AVX2 = 1,
    VK_VARIANT_AVX512 = 2,
    VK_VARIANT_COUNT = 3,
};

/// One variant's kernels. Counts and strides are in floats; no pointer may alias another except where noted.
typedef struct VKKernels {
    /// y = x < 0 ? 0 : x over `count` floats (NaN and -0 pass through).
    void (*relu_forward)(const float *x, float *y, long count);
    /// dx = y > 0 ? dy : 0.
    void (*relu_backward)(const float *y, const float *dy, float *dx, long count);
    /// Per row of x [rows, 2c] = [a | b]: gates = [tanh a | sigmoid b], y [rows, c] = tanh a * sigmoid b.
    void (*gate_forward)(const float *x, float *gates, float *y, long rows, long channels);
    /// The gate's backward from the saved gates and dy [rows, c] into dx [rows, 2c].
    void (*gate_backward)(const float *gates, const float *dy, float *dx, long rows, long channels);
    /// Winograd B^T d B of one tile: `rows` holds the R x 4 patch rows (R = 4 when `tall`, else 3), each
    /// `channels` floats; position xi goes to destination + xi * stride.
    void (*winograd_input)(const float *const *rows, bool tall, long channels, float *destination, long stride);
    /// Winograd A^T m A + bias of one tile: m's position xi at source + xi * stride; the four output rows (which
    /// may all be one discard row) in `outputs`.
    void (*winograd_output)(const float *source, long stride, const float *bias, float *const *outputs, bool tall,
                            long channels);
    /// Winograd A dy A^T of one tile's 2x2 output gradient rows in `rows`; position xi to destination + xi * stride.
    void (*winograd_gradient)(const float *const *rows, bool tall, long channels, float *destination, long stride);
    /// to += from over `count` floats.
    void (*add)(float *to, const float *from, long count);
} VKKernels;

/// The kernels of `variant`, or NULL when this build does not carry it (the x86 variants on another architecture).
const VKKernels *vk_kernels(int variant);

/// The highest variant that this CPU and its OS support and this build carries.
int vk_best_supported(void);

/// Why `variant` cannot run here, or NULL when it can: a missing cpuid feature, register state the OS does not
/// save (XCR0), or a build for another architecture.
const char *vk_unsupported_reason(int variant);

/// The process-wide choice: the one piece of global mutable state here, an atomic, because every layer of every
/// model must run the same variant (bit-identical replicas across ranks) and threading it through every layer's
/// initialiser would touch every file of the model. -1 before the first `vk_select`.
int vk_selected(void);

/// Makes `variant` (which must be supported) the process's choice.
void vk_select(int variant);

#endif

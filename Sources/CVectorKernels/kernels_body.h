// The kernel bodies, included by vector_kernels.c once per variant with VK_SUFFIX (the name suffix), VK_TARGET (the
// function attribute: empty for the baseline) and VK_LANES (floats per vector) defined. Every kernel does the same
// operations in the same order in every variant, lane by lane, with floating-point contraction off (the pragma in
// vector_kernels.c): the variants give the same bits. Remainders that do not fill a vector go through one padded
// vector rather than scalar code, so that the split between vector and scalar work, which depends on the lane
// count, cannot change a result.

#define VK_JOIN2(a, b) a##_##b
#define VK_JOIN(a, b) VK_JOIN2(a, b)
#define VK(name) VK_JOIN(name, VK_SUFFIX)
#define VK_FN static inline __attribute__((always_inline)) VK_TARGET
#define L VK_LANES

typedef float VK(vf) __attribute__((ext_vector_type(VK_LANES)));
typedef float VK(vfu) __attribute__((ext_vector_type(VK_LANES), aligned(4)));
typedef int VK(vi) __attribute__((ext_vector_type(VK_LANES)));
typedef unsigned VK(vu) __attribute__((ext_vector_type(VK_LANES)));
#define vf VK(vf)
#define vi VK(vi)
#define vu VK(vu)

VK_FN vf VK(load)(const float *p) { return *(const VK(vfu) *)p; }
VK_FN void VK(store)(vf v, float *p) { *(VK(vfu) *)p = v; }
VK_FN vf VK(splat)(float x) { return (vf)x; }
// Lanes of a where mask is set (all ones), of b elsewhere: a blend, which keeps NaNs where max/min would not.
VK_FN vf VK(pick)(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }

// The first `count` (< L) floats of p in a vector, the rest zero.
VK_FN vf VK(load_part)(const float *p, long count) {
    vf v = VK(splat)(0);
    for (long i = 0; i < count; i++) v[i] = p[i];
    return v;
}
VK_FN void VK(store_part)(vf v, float *p, long count) {
    for (long i = 0; i < count; i++) p[i] = v[i];
}

// e^x with Cephes' range reduction x = n ln2 + r, |r| <= ln2/2, and its degree-7 polynomial for e^r; x is clamped
// to [-87, 88] so that 2^n stays a normal float (below -87 the result is about e^-87 instead of subnormal).
VK_FN vf VK(exp)(vf x) {
    x = VK(pick)(x < -87.0f, VK(splat)(-87.0f), x);
    x = VK(pick)(x > 88.0f, VK(splat)(88.0f), x);
    // Adding 1.5 * 2^23 rounds x/ln2 to an integer held in the low mantissa bits.
    const vf magic = VK(splat)(12582912.0f);
    vf shifted = x * 1.44269504f + magic;
    vf n = shifted - magic;
    vf r = x - n * 0.693359375f - n * -2.1219444e-4f;
    vf p = VK(splat)(1.98756915e-4f);
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.16665796e-2f;
    p = p * r + 0.166666655f;
    p = p * r + 0.50000001f;
    p = p * r * r + r + 1.0f;
    // 2^n: n sits in the low bits of `shifted` (bit pattern 0x4B400000 + n); move it to the exponent.
    vu bits = (vu)shifted - 0x4B400000u + 127u;
    return p * (vf)(bits << 23);
}

// 1 / (1 + e^-x); with the clamp in exp, neither tail overflows.
VK_FN vf VK(sigmoid)(vf x) { return 1.0f / (1.0f + VK(exp)(-x)); }

// tanh x = 1 - 2 / (e^2x + 1), and its Taylor series below |x| = 1/8, where that difference would cancel.
VK_FN vf VK(tanh)(vf x) {
    vf large = 1.0f - 2.0f / (VK(exp)(x + x) + 1.0f);
    vf x2 = x * x;
    vf series = x2 * VK(splat)(-17.0f / 315.0f) + VK(splat)(2.0f / 15.0f);
    series = series * x2 + VK(splat)(-1.0f / 3.0f);
    vf small = x + x * x2 * series;
    vf magnitude = VK(pick)(x < 0.0f, -x, x);
    return VK(pick)(magnitude < 0.125f, small, large);
}

VK_FN vf VK(relu)(vf v) { return VK(pick)(v < 0.0f, VK(splat)(0), v); }

static VK_TARGET void VK(relu_forward)(const float *x, float *y, long count) {
    long i = 0;
    for (; i + L <= count; i += L) VK(store)(VK(relu)(VK(load)(x + i)), y + i);
    if (i < count) VK(store_part)(VK(relu)(VK(load_part)(x + i, count - i)), y + i, count - i);
}

VK_FN vf VK(relu_gradient)(vf y, vf dy) { return VK(pick)(y > 0.0f, dy, VK(splat)(0)); }

static VK_TARGET void VK(relu_backward)(const float *y, const float *dy, float *dx, long count) {
    long i = 0;
    for (; i + L <= count; i += L) VK(store)(VK(relu_gradient)(VK(load)(y + i), VK(load)(dy + i)), dx + i);
    if (i < count) {
        long rest = count - i;
        VK(store_part)(VK(relu_gradient)(VK(load_part)(y + i, rest), VK(load_part)(dy + i, rest)), dx + i, rest);
    }
}

static VK_TARGET void VK(gate_forward)(const float *x, float *gates, float *y, long rows, long c) {
    for (long r = 0; r < rows; r++) {
        const float *a = x + r * 2 * c;
        float *g = gates + r * 2 * c, *out = y + r * c;
        for (long j = 0; j < c; j += L) {
            long n = c - j < L ? c - j : L;
            vf t = VK(tanh)(n == L ? VK(load)(a + j) : VK(load_part)(a + j, n));
            vf s = VK(sigmoid)(n == L ? VK(load)(a + c + j) : VK(load_part)(a + c + j, n));
            if (n == L) {
                VK(store)(t, g + j);
                VK(store)(s, g + c + j);
                VK(store)(t * s, out + j);
            } else {
                VK(store_part)(t, g + j, n);
                VK(store_part)(s, g + c + j, n);
                VK(store_part)(t * s, out + j, n);
            }
        }
    }
}

static VK_TARGET void VK(gate_backward)(const float *gates, const float *dy, float *dx, long rows, long c) {
    for (long r = 0; r < rows; r++) {
        const float *g = gates + r * 2 * c, *d = dy + r * c;
        float *da = dx + r * 2 * c;
        long j = 0;
        for (; j + L <= c; j += L) {
            vf t = VK(load)(g + j), s = VK(load)(g + c + j), dj = VK(load)(d + j);
            VK(store)(dj * s * (1.0f - t * t), da + j);
            VK(store)(dj * t * s * (1.0f - s), da + c + j);
        }
        // Each lane's result depends on that lane alone, so the remainder may run scalar with the same operations.
        for (; j < c; j++) {
            float t = g[j], s = g[c + j];
            da[j] = d[j] * s * (1.0f - t * t);
            da[c + j] = d[j] * t * s * (1.0f - s);
        }
    }
}

// Winograd's per-tile transforms (F(2, 3) along rows, F(2, 3) or F(2, 2) down columns: Sources/Numerics/Winograd.swift)
// only add and subtract, lane by lane, so their remainders also run scalar. They are written once for a lane type T
// (vf or float) through the macro below.
#define VK_WINOGRAD(T, SUFFIX, LOAD, STORE)                                                                       \
    /* B^T along each column of the patch, then along each row: F(2, 3)'s for both when tall, else F(2, 2)'s    \
       down the columns. */                                                                                     \
    VK_FN void VK(input_##SUFFIX)(const float *const *rows, bool tall, long c, float *dst, long stride) {      \
        T out[16];                                                                                              \
        if (tall) {                                                                                             \
            for (int j = 0; j < 4; j++) {                                                                       \
                T d0 = LOAD(rows[j] + c), d1 = LOAD(rows[4 + j] + c);                                           \
                T d2 = LOAD(rows[8 + j] + c), d3 = LOAD(rows[12 + j] + c);                                      \
                out[j] = d0 - d2;                                                                               \
                out[4 + j] = d1 + d2;                                                                           \
                out[8 + j] = d2 - d1;                                                                           \
                out[12 + j] = d1 - d3;                                                                          \
            }                                                                                                   \
        } else {                                                                                                \
            for (int j = 0; j < 4; j++) {                                                                       \
                T d0 = LOAD(rows[j] + c), d1 = LOAD(rows[4 + j] + c), d2 = LOAD(rows[8 + j] + c);               \
                out[j] = d0 - d1;                                                                               \
                out[4 + j] = d1;                                                                                \
                out[8 + j] = d2 - d1;                                                                           \
            }                                                                                                   \
        }                                                                                                       \
        int lines = tall ? 4 : 3;                                                                               \
        for (int i = 0; i < lines; i++) {                                                                       \
            T e0 = out[4 * i], e1 = out[4 * i + 1], e2 = out[4 * i + 2], e3 = out[4 * i + 3];                   \
            float *to = dst + c + 4 * i * stride;                                                               \
            STORE(e0 - e2, to);                                                                                 \
            STORE(e1 + e2, to + stride);                                                                        \
            STORE(e2 - e1, to + 2 * stride);                                                                    \
            STORE(e1 - e3, to + 3 * stride);                                                                    \
        }                                                                                                       \
    }                                                                                                           \
    /* A^T along each column of m, then along each row, and the bias. */                                        \
    VK_FN void VK(output_##SUFFIX)(const float *src, long stride, const float *bias, float *const *outputs,     \
                                   bool tall, long c) {                                                         \
        T top[4], bottom[4];                                                                                    \
        for (int j = 0; j < 4; j++) {                                                                           \
            T m0 = LOAD(src + c + j * stride), m1 = LOAD(src + c + (4 + j) * stride);                           \
            T m2 = LOAD(src + c + (8 + j) * stride);                                                            \
            if (tall) {                                                                                         \
                T m3 = LOAD(src + c + (12 + j) * stride);                                                       \
                top[j] = m0 + m1 + m2;                                                                          \
                bottom[j] = m1 - m2 - m3;                                                                       \
            } else {                                                                                            \
                top[j] = m0 + m1;                                                                               \
                bottom[j] = m1 + m2;                                                                            \
            }                                                                                                   \
        }                                                                                                       \
        T b = LOAD(bias + c);                                                                                   \
        STORE(top[0] + top[1] + top[2] + b, outputs[0] + c);                                                    \
        STORE(top[1] - top[2] - top[3] + b, outputs[1] + c);                                                    \
        STORE(bottom[0] + bottom[1] + bottom[2] + b, outputs[2] + c);                                           \
        STORE(bottom[1] - bottom[2] - bottom[3] + b, outputs[3] + c);                                           \
    }                                                                                                           \
    /* A along each column of the 2x2 gradient, then along each row (F(2, 3)'s), or F(2, 2)'s A down columns. */ \
    VK_FN void VK(gradient_##SUFFIX)(const float *const *rows, bool tall, long c, float *dst, long stride) {   \
        T g0 = LOAD(rows[0] + c), g1 = LOAD(rows[1] + c), g2 = LOAD(rows[2] + c), g3 = LOAD(rows[3] + c);       \
        T left[4], right[4];                                                                                    \
        left[0] = g0;                                                                                           \
        right[0] = g1;                                                                                          \
        left[1] = g0 + g2;                                                                                      \
        right[1] = g1 + g3;                                                                                     \
        if (tall) {                                                                                             \
            left[2] = g0 - g2;                                                                                  \
            right[2] = g1 - g3;                                                                                 \
            left[3] = -g2;                                                                                      \
            right[3] = -g3;                                                                                     \
        } else {                                                                                                \
            left[2] = g2;                                                                                       \
            right[2] = g3;                                                                                      \
        }                                                                                                       \
        int lines = tall ? 4 : 3;                                                                               \
        for (int i = 0; i < lines; i++) {                                                                       \
            float *to = dst + c + 4 * i * stride;                                                               \
            STORE(left[i], to);                                                                                 \
            STORE(left[i] + right[i], to + stride);                                                             \
            STORE(left[i] - right[i], to + 2 * stride);                                                         \
            STORE(-right[i], to + 3 * stride);                                                                  \
        }                                                                                                       \
    }

#define VK_SCALAR_LOAD(p) (*(p))
#define VK_SCALAR_STORE(v, p) (*(p) = (v))
VK_WINOGRAD(vf, vector, VK(load), VK(store))
VK_WINOGRAD(float, scalar, VK_SCALAR_LOAD, VK_SCALAR_STORE)

static VK_TARGET void VK(winograd_input)(const float *const *rows, bool tall, long channels, float *dst,
                                         long stride) {
    long c = 0;
    for (; c + L <= channels; c += L) VK(input_vector)(rows, tall, c, dst, stride);
    for (; c < channels; c++) VK(input_scalar)(rows, tall, c, dst, stride);
}

static VK_TARGET void VK(winograd_output)(const float *src, long stride, const float *bias, float *const *outputs,
                                          bool tall, long channels) {
    long c = 0;
    for (; c + L <= channels; c += L) VK(output_vector)(src, stride, bias, outputs, tall, c);
    for (; c < channels; c++) VK(output_scalar)(src, stride, bias, outputs, tall, c);
}

static VK_TARGET void VK(winograd_gradient)(const float *const *rows, bool tall, long channels, float *dst,
                                            long stride) {
    long c = 0;
    for (; c + L <= channels; c += L) VK(gradient_vector)(rows, tall, c, dst, stride);
    for (; c < channels; c++) VK(gradient_scalar)(rows, tall, c, dst, stride);
}

static VK_TARGET void VK(add)(float *to, const float *from, long count) {
    long i = 0;
    for (; i + L <= count; i += L) VK(store)(VK(load)(to + i) + VK(load)(from + i), to + i);
    for (; i < count; i++) to[i] += from[i];
}

static const VKKernels VK(kernels) = {
    .relu_forward = VK(relu_forward),
    .relu_backward = VK(relu_backward),
    .gate_forward = VK(gate_forward),
    .gate_backward = VK(gate_backward),
    .winograd_input = VK(winograd_input),
    .winograd_output = VK(winograd_output),
    .winograd_gradient = VK(winograd_gradient),
    .add = VK(add),
};

#undef vf
#undef vi
#undef vu
#undef L
#undef VK_FN
#undef VK
#undef VK_JOIN
#undef VK_JOIN2
#undef VK_WINOGRAD
#undef VK_SCALAR_LOAD
#undef VK_SCALAR_STORE

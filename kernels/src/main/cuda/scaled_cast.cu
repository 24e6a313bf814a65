// Scaled casts and amax for fp8 training (SPEC 8: per-tensor scaled E4M3 / E5M2, bf16).
//
//   cast_scaled_f32_<dt>(const float* x, <dt>* y, const float* scale, long long n, int vec)
//       y = saturate(round_dt(x * scale)), dt in e4m3, e5m2, bf16. The product is one fp32
//       multiply (__fmul_rn, never contracted), then the engine's RNE codecs of common.cuh
//       (float_to_e4m3 / float_to_e5m2 / float_to_bf16): fp8 saturates overflow and +-inf to the
//       largest finite value already; for bf16 an infinite result is replaced by +-max finite
//       (0x7F7F / 0xFF7F). NaN stays NaN (canonical NaN of the format, sign kept).
//   cast_scaled_<dt>_f32(const <dt>* x, float* y, const float* scale, long long n, int vec)
//       y = decode(x) * scale (exact decode, one fp32 multiply).
//   amax_<dt>(const <dt>* x, unsigned int* out, long long n, int vec), dt in f32, bf16, e4m3, e5m2
//       *out = bits of max |x| as an fp32, combined with atomicMax over the bit patterns (for
//       non-negative floats the unsigned order is the numeric order, and every NaN with the sign
//       cleared sorts above +inf, so NaN propagates). *out must be 0 before the launch. fp8 and
//       bf16 compare their magnitude codes (monotone in magnitude, NaN codes above infinity) and
//       decode once per thread. The result does not depend on the order of the atomics.
//
// The scale is read on the device from a one-element fp32 tensor, so a training step never
// waits for the host.
// Work split: 1-D grid-stride loops. With vec = 1 (the Java side checks that both buffers start
// at multiples of the pack and n covers whole packs up to a scalar tail) a thread moves 8
// elements per iteration with 16-byte loads / stores where the element size allows (fp32: two
// float4, bf16: one uint4, fp8: one uint2); amax reads 16 bytes per iteration; the remaining
// n % pack elements (or all of them with vec = 0) go one per thread.
// CPU reference: io.reg4rec.engine.cpu.CpuScaledCast.
#include "common.cuh"

__device__ __forceinline__ bf16_t float_to_bf16_saturating(float f) {
    bf16_t b = float_to_bf16(f);
    if ((b & 0x7FFFu) == 0x7F80u) b = (bf16_t)((b & 0x8000u) | 0x7F7Fu);
    return b;
}

template <typename Tag> struct Narrow;
template <> struct Narrow<e4m3_tag> { static __device__ __forceinline__ fp8_t apply(float v) { return float_to_e4m3(v); } };
template <> struct Narrow<e5m2_tag> { static __device__ __forceinline__ fp8_t apply(float v) { return float_to_e5m2(v); } };
template <> struct Narrow<bf16_t> { static __device__ __forceinline__ bf16_t apply(float v) { return float_to_bf16_saturating(v); } };

// ---------------------------------------------------------------- 8-element packs

__device__ __forceinline__ void load8(const float* p, float v[8]) {
    float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}
__device__ __forceinline__ void store8(float* p, const float v[8]) {
    reinterpret_cast<float4*>(p)[0] = make_float4(v[0], v[1], v[2], v[3]);
    reinterpret_cast<float4*>(p)[1] = make_float4(v[4], v[5], v[6], v[7]);
}
__device__ __forceinline__ void load8(const bf16_t* p, bf16_t v[8]) {
    uint4 w = *reinterpret_cast<const uint4*>(p);
    uint32_t ws[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
    for (int i = 0; i < 4; i++) { v[2 * i] = (bf16_t)(ws[i] & 0xFFFFu); v[2 * i + 1] = (bf16_t)(ws[i] >> 16); }
}
__device__ __forceinline__ void store8(bf16_t* p, const bf16_t v[8]) {
    uint32_t ws[4];
#pragma unroll
    for (int i = 0; i < 4; i++) ws[i] = (uint32_t)v[2 * i] | ((uint32_t)v[2 * i + 1] << 16);
    *reinterpret_cast<uint4*>(p) = make_uint4(ws[0], ws[1], ws[2], ws[3]);
}
__device__ __forceinline__ void load8(const fp8_t* p, fp8_t v[8]) {
    uint2 w = *reinterpret_cast<const uint2*>(p);
#pragma unroll
    for (int i = 0; i < 4; i++) { v[i] = (fp8_t)(w.x >> (8 * i)); v[4 + i] = (fp8_t)(w.y >> (8 * i)); }
}
__device__ __forceinline__ void store8(fp8_t* p, const fp8_t v[8]) {
    uint32_t lo = 0, hi = 0;
#pragma unroll
    for (int i = 0; i < 4; i++) { lo |= (uint32_t)v[i] << (8 * i); hi |= (uint32_t)v[4 + i] << (8 * i); }
    *reinterpret_cast<uint2*>(p) = make_uint2(lo, hi);
}

#define GLOBAL_THREAD ((long long)blockIdx.x * blockDim.x + threadIdx.x)
#define GLOBAL_THREADS ((long long)blockDim.x * gridDim.x)

// ---------------------------------------------------------------- casts

// x * scale, except that a NaN x stays itself: the GPU's multiply returns a canonical positive
// NaN, the CPU reference (like IEEE's recommendation) keeps the operand's sign and payload.
__device__ __forceinline__ float scaled_keep_nan(float x, float s) { return isnan(x) ? x : __fmul_rn(x, s); }

template <typename Tag>
__device__ void cast_scaled_narrow(const float* __restrict__ x, typename Dt<Tag>::storage* __restrict__ y,
                                   const float* __restrict__ scale, long long n, int vec) {
    typedef typename Dt<Tag>::storage S;
    const float s = *scale;
    long long tail = 0;
    if (vec) {
        long long packs = n >> 3;
        for (long long i = GLOBAL_THREAD; i < packs; i += GLOBAL_THREADS) {
            float a[8];
            S b[8];
            load8(x + 8 * i, a);
#pragma unroll
            for (int k = 0; k < 8; k++) b[k] = Narrow<Tag>::apply(scaled_keep_nan(a[k], s));
            store8(y + 8 * i, b);
        }
        tail = packs << 3;
    }
    for (long long i = tail + GLOBAL_THREAD; i < n; i += GLOBAL_THREADS) y[i] = Narrow<Tag>::apply(scaled_keep_nan(x[i], s));
}

template <typename Tag>
__device__ void cast_scaled_widen(const typename Dt<Tag>::storage* __restrict__ x, float* __restrict__ y,
                                  const float* __restrict__ scale, long long n, int vec) {
    typedef typename Dt<Tag>::storage S;
    const float s = *scale;
    long long tail = 0;
    if (vec) {
        long long packs = n >> 3;
        for (long long i = GLOBAL_THREAD; i < packs; i += GLOBAL_THREADS) {
            S a[8];
            float b[8];
            load8(x + 8 * i, a);
#pragma unroll
            for (int k = 0; k < 8; k++) b[k] = scaled_keep_nan(Dt<Tag>::load(a[k]), s);
            store8(y + 8 * i, b);
        }
        tail = packs << 3;
    }
    for (long long i = tail + GLOBAL_THREAD; i < n; i += GLOBAL_THREADS) y[i] = scaled_keep_nan(Dt<Tag>::load(x[i]), s);
}

#define CAST_SCALED_ENTRIES(sfx, Tag)                                                                              \
    extern "C" __global__ void cast_scaled_f32_##sfx(const float* x, Dt<Tag>::storage* y, const float* scale,     \
                                                     long long n, int vec) {                                       \
        cast_scaled_narrow<Tag>(x, y, scale, n, vec);                                                              \
    }                                                                                                              \
    extern "C" __global__ void cast_scaled_##sfx##_f32(const Dt<Tag>::storage* x, float* y, const float* scale,   \
                                                     long long n, int vec) {                                       \
        cast_scaled_widen<Tag>(x, y, scale, n, vec);                                                               \
    }

CAST_SCALED_ENTRIES(e4m3, e4m3_tag)
CAST_SCALED_ENTRIES(e5m2, e5m2_tag)
CAST_SCALED_ENTRIES(bf16, bf16_t)

// ---------------------------------------------------------------- amax

// Magnitude keys: per storage type, a value whose unsigned order is the order of |x| (NaN
// highest), and the fp32 bit pattern of the magnitude a key stands for.
template <typename Tag> struct Magnitude;
template <> struct Magnitude<float> {
    static __device__ __forceinline__ uint32_t key(float v) { return __float_as_uint(v) & 0x7FFFFFFFu; }
    static __device__ __forceinline__ uint32_t bits(uint32_t key) { return key; }
    static __device__ __forceinline__ uint32_t word_max(uint32_t w) { return w & 0x7FFFFFFFu; }
};
template <> struct Magnitude<bf16_t> {
    static __device__ __forceinline__ uint32_t key(bf16_t v) { return v & 0x7FFFu; }
    static __device__ __forceinline__ uint32_t bits(uint32_t key) { return key << 16; }
    static __device__ __forceinline__ uint32_t word_max(uint32_t w) { return max(w & 0x7FFFu, (w >> 16) & 0x7FFFu); }
};
template <typename Tag> struct Fp8Magnitude {
    static __device__ __forceinline__ uint32_t key(fp8_t v) { return v & 0x7Fu; }
    static __device__ __forceinline__ uint32_t bits(uint32_t key) { return __float_as_uint(Dt<Tag>::load((fp8_t)key)); }
    static __device__ __forceinline__ uint32_t word_max(uint32_t w) {
        w &= 0x7F7F7F7Fu;
        return max(max(w & 0xFFu, (w >> 8) & 0xFFu), max((w >> 16) & 0xFFu, w >> 24));
    }
};
template <> struct Magnitude<e4m3_tag> : Fp8Magnitude<e4m3_tag> {};
template <> struct Magnitude<e5m2_tag> : Fp8Magnitude<e5m2_tag> {};

template <typename Tag>
__device__ void amax_kernel(const typename Dt<Tag>::storage* __restrict__ x, unsigned int* out, long long n, int vec) {
    typedef typename Dt<Tag>::storage S;
    const long long perPack = 16 / sizeof(S);
    uint32_t m = 0;
    long long tail = 0;
    if (vec) {
        long long packs = n / perPack;
        const uint4* xp = reinterpret_cast<const uint4*>(x);
        for (long long i = GLOBAL_THREAD; i < packs; i += GLOBAL_THREADS) {
            uint4 w = xp[i];
            m = max(m, max(max(Magnitude<Tag>::word_max(w.x), Magnitude<Tag>::word_max(w.y)),
                           max(Magnitude<Tag>::word_max(w.z), Magnitude<Tag>::word_max(w.w))));
        }
        tail = packs * perPack;
    }
    for (long long i = tail + GLOBAL_THREAD; i < n; i += GLOBAL_THREADS) m = max(m, Magnitude<Tag>::key(x[i]));
    uint32_t b = Magnitude<Tag>::bits(m);
    b = __reduce_max_sync(0xFFFFFFFFu, b);
    __shared__ uint32_t warpMax[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warpMax[warp] = b;
    __syncthreads();
    if (warp == 0) {
        uint32_t v = lane < (int)(blockDim.x >> 5) ? warpMax[lane] : 0u;
        v = __reduce_max_sync(0xFFFFFFFFu, v);
        if (lane == 0 && v != 0u) atomicMax(out, v);
    }
}

#define AMAX_ENTRY(sfx, Tag)                                                                                \
    extern "C" __global__ void amax_##sfx(const Dt<Tag>::storage* x, unsigned int* out, long long n, int vec) { \
        amax_kernel<Tag>(x, out, n, vec);                                                                   \
    }

FOR_FLOAT_DTYPES(AMAX_ENTRY)

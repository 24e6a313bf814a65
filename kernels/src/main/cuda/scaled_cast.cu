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
// at multiples of 4 elements; amax: of 16 bytes) casts move quads of 4 elements as one word
// (fp32 float4, bf16 uint2, fp8 uint32), amax 16-byte words; a thread takes 4 words per
// iteration, strided by the grid's thread count so that each warp instruction covers one
// contiguous run of whole sectors on the read and on the write side, and issues the 4 loads
// before any store (more bytes in flight). Loads and stores are streaming (__ldcs / __stcs).
// The remaining elements (or all of them with vec = 0) go one per thread.
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

// ---------------------------------------------------------------- 4-element quads

// A quad is 4 consecutive elements moved as one word: fp32 float4 (16 bytes), bf16 uint2 (8),
// fp8 uint32 (4). Lane l of a warp touches quad base + l, so every load and store instruction of
// a warp covers one contiguous run of whole 32-byte sectors on both sides of the cast.
template <typename S> struct Quad;
template <> struct Quad<float> {
    typedef float4 word;
    static __device__ __forceinline__ void unpack(word w, float v[4]) { v[0] = w.x; v[1] = w.y; v[2] = w.z; v[3] = w.w; }
    static __device__ __forceinline__ word pack(const float v[4]) { return make_float4(v[0], v[1], v[2], v[3]); }
};
template <> struct Quad<bf16_t> {
    typedef uint2 word;
    static __device__ __forceinline__ void unpack(word w, bf16_t v[4]) {
        v[0] = (bf16_t)(w.x & 0xFFFFu); v[1] = (bf16_t)(w.x >> 16); v[2] = (bf16_t)(w.y & 0xFFFFu); v[3] = (bf16_t)(w.y >> 16);
    }
    static __device__ __forceinline__ word pack(const bf16_t v[4]) {
        return make_uint2((uint32_t)v[0] | ((uint32_t)v[1] << 16), (uint32_t)v[2] | ((uint32_t)v[3] << 16));
    }
};
template <> struct Quad<fp8_t> {
    typedef unsigned int word;
    static __device__ __forceinline__ void unpack(word w, fp8_t v[4]) {
#pragma unroll
        for (int i = 0; i < 4; i++) v[i] = (fp8_t)(w >> (8 * i));
    }
    static __device__ __forceinline__ word pack(const fp8_t v[4]) {
        return (uint32_t)v[0] | ((uint32_t)v[1] << 8) | ((uint32_t)v[2] << 16) | ((uint32_t)v[3] << 24);
    }
};

// Quads a thread has in flight per loop iteration: its loads are all issued before the first
// store, so each thread keeps 4 independent reads outstanding.
#define CAST_UNROLL 4

#define GLOBAL_THREAD ((long long)blockIdx.x * blockDim.x + threadIdx.x)
#define GLOBAL_THREADS ((long long)blockDim.x * gridDim.x)

// ---------------------------------------------------------------- casts

// x * scale, except that a NaN x stays itself: the GPU's multiply returns a canonical positive
// NaN, the CPU reference (like IEEE's recommendation) keeps the operand's sign and payload.
__device__ __forceinline__ float scaled_keep_nan(float x, float s) { return isnan(x) ? x : __fmul_rn(x, s); }

// y[i] = f(x[i]) over n elements. vec = 1: quads (both buffers start at a multiple of 4
// elements), each thread taking quads t, t + T, t + 2T, t + 3T per iteration (T threads in the
// grid) with streaming loads and stores (the data is touched once); then n % 4 scalars.
template <typename In, typename Out, typename F>
__device__ __forceinline__ void map_quads(const In* __restrict__ x, Out* __restrict__ y, long long n, int vec, F f) {
    typedef typename Quad<In>::word InWord;
    typedef typename Quad<Out>::word OutWord;
    long long tail = 0;
    if (vec) {
        const long long quads = n >> 2, T = GLOBAL_THREADS;
        const InWord* xq = reinterpret_cast<const InWord*>(x);
        OutWord* yq = reinterpret_cast<OutWord*>(y);
        for (long long base = GLOBAL_THREAD; base < quads; base += CAST_UNROLL * T) {
            InWord w[CAST_UNROLL];
#pragma unroll
            for (int u = 0; u < CAST_UNROLL; u++)
                if (base + u * T < quads) w[u] = __ldcs(xq + base + u * T);
#pragma unroll
            for (int u = 0; u < CAST_UNROLL; u++) {
                if (base + u * T < quads) {
                    In a[4];
                    Out b[4];
                    Quad<In>::unpack(w[u], a);
#pragma unroll
                    for (int k = 0; k < 4; k++) b[k] = f(a[k]);
                    __stcs(yq + base + u * T, Quad<Out>::pack(b));
                }
            }
        }
        tail = quads << 2;
    }
    for (long long i = tail + GLOBAL_THREAD; i < n; i += GLOBAL_THREADS) y[i] = f(x[i]);
}

template <typename Tag>
__device__ void cast_scaled_narrow(const float* __restrict__ x, typename Dt<Tag>::storage* __restrict__ y,
                                   const float* __restrict__ scale, long long n, int vec) {
    const float s = *scale;
    map_quads(x, y, n, vec, [s](float v) { return Narrow<Tag>::apply(scaled_keep_nan(v, s)); });
}

template <typename Tag>
__device__ void cast_scaled_widen(const typename Dt<Tag>::storage* __restrict__ x, float* __restrict__ y,
                                  const float* __restrict__ scale, long long n, int vec) {
    typedef typename Dt<Tag>::storage S;
    const float s = *scale;
    map_quads(x, y, n, vec, [s](S v) { return scaled_keep_nan(Dt<Tag>::load(v), s); });
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
        const long long T = GLOBAL_THREADS;
        for (long long base = GLOBAL_THREAD; base < packs; base += CAST_UNROLL * T) {
            uint4 w[CAST_UNROLL];
#pragma unroll
            for (int u = 0; u < CAST_UNROLL; u++) w[u] = base + u * T < packs ? __ldcs(xp + base + u * T) : make_uint4(0, 0, 0, 0);
#pragma unroll
            for (int u = 0; u < CAST_UNROLL; u++)
                m = max(m, max(max(Magnitude<Tag>::word_max(w[u].x), Magnitude<Tag>::word_max(w[u].y)),
                               max(Magnitude<Tag>::word_max(w[u].z), Magnitude<Tag>::word_max(w[u].w))));
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

// Shared device helpers for every kernel family: dtype conversions (bit-exact with the CPU
// reference io.reg4rec.engine.Bf16 / Fp8), the strided-iteration struct passed by value from
// Java, and the grid-stride loop idiom.
//
// Conversions follow the engine's rules: float -> bf16 and float -> fp8 round to nearest even;
// fp8 saturates finite overflow and +-inf to the format's largest finite value (E4M3: 448,
// E5M2: 57344); NaN stays NaN. Float -> integer truncates toward zero and saturates (cvt.rzi);
// NaN maps to 0 as in Java's (int)/(long) casts, which needs an explicit test: on sm_90 the
// conversion gives INT_MIN for NaN.
#pragma once
#include <stdint.h>
#include <type_traits>

#define REG4REC_MAX_DIMS 8

// Up to three operands walked in lock step over one logical shape. All fields are 64-bit so the
// Java side can pass the struct as a long[] of 1 + 8 + 3 * 8 = 33 values with no padding.
struct Strided {
    long long rank;
    long long size[REG4REC_MAX_DIMS];
    long long stride[3][REG4REC_MAX_DIMS];
};

// Element offsets (in elements) of logical element i (row-major over size[]) for the first
// NOPS operands. Rank 1 is the common, coalesced case and skips the division loop.
template <int NOPS>
__device__ __forceinline__ void strided_offsets(const Strided& s, long long i, long long* off) {
#pragma unroll
    for (int k = 0; k < NOPS; k++) off[k] = 0;
    if (s.rank == 1) {
#pragma unroll
        for (int k = 0; k < NOPS; k++) off[k] = i * s.stride[k][0];
        return;
    }
    for (int d = (int)s.rank - 1; d >= 0; d--) {
        long long sz = s.size[d];
        long long c = i % sz;
        i /= sz;
#pragma unroll
        for (int k = 0; k < NOPS; k++) off[k] += c * s.stride[k][d];
    }
}

#define GRID_STRIDE_LOOP(i, n)                                                          \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)blockDim.x * gridDim.x)

// ---------------------------------------------------------------- bf16

typedef uint16_t bf16_t;

__device__ __forceinline__ float bf16_to_float(bf16_t h) {
    return __uint_as_float(((uint32_t)h) << 16);
}

__device__ __forceinline__ bf16_t float_to_bf16(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (bf16_t)(((u >> 16) & 0x8000u) | 0x7FC0u);  // canonical quiet NaN, sign kept
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (bf16_t)(u >> 16);
}

// ---------------------------------------------------------------- fp8

typedef uint8_t fp8_t;

// Generic float -> fp8 with EXP exponent bits, MAN mantissa bits and bias BIAS; MAXCODE is the
// largest finite magnitude code and NANCODE the magnitude code written for NaN.
template <int MAN, int BIAS, int MAXCODE, int NANCODE>
__device__ __forceinline__ fp8_t float_to_fp8(float f) {
    uint32_t u = __float_as_uint(f);
    uint32_t sign = (u >> 24) & 0x80u;
    uint32_t a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return (fp8_t)(sign | NANCODE);
    if (a >= 0x7F800000u) return (fp8_t)(sign | MAXCODE);  // +-inf saturates
    int e = (int)(a >> 23) - 127;
    uint32_t code;
    if (e < 1 - BIAS) {
        // Subnormal (or zero) in fp8: count units of 2^(1 - BIAS - MAN), rounding to nearest even.
        // Scaling by a power of two is exact, so rintf sees the exact quotient.
        float q = rintf(__uint_as_float(a) * __uint_as_float((uint32_t)(127 + BIAS - 1 + MAN) << 23));
        code = (uint32_t)q;  // may reach 1 << MAN: the smallest normal, which is the right code
    } else {
        const int shift = 23 - MAN;
        uint32_t r = a + ((1u << (shift - 1)) - 1u) + ((a >> shift) & 1u);
        code = (r >> shift) - ((uint32_t)(127 - BIAS) << MAN);
    }
    if (code > (uint32_t)MAXCODE) code = MAXCODE;
    return (fp8_t)(sign | code);
}

template <int MAN, int BIAS, bool HAS_INF>
__device__ __forceinline__ float fp8_to_float(fp8_t c) {
    const int EXPBITS = 7 - MAN;
    uint32_t sign = ((uint32_t)c & 0x80u) << 24;
    uint32_t e = ((uint32_t)c >> MAN) & ((1u << EXPBITS) - 1u);
    uint32_t m = (uint32_t)c & ((1u << MAN) - 1u);
    float mag;
    if (HAS_INF) {
        if (e == (1u << EXPBITS) - 1u) mag = m == 0 ? __int_as_float(0x7F800000) : __int_as_float(0x7FC00000);
        else if (e == 0) mag = ldexpf((float)m, 1 - BIAS - MAN);
        else mag = ldexpf((float)(m | (1u << MAN)), (int)e - BIAS - MAN);
    } else {
        if (e == (1u << EXPBITS) - 1u && m == (1u << MAN) - 1u) mag = __int_as_float(0x7FC00000);
        else if (e == 0) mag = ldexpf((float)m, 1 - BIAS - MAN);
        else mag = ldexpf((float)(m | (1u << MAN)), (int)e - BIAS - MAN);
    }
    return __uint_as_float(__float_as_uint(mag) | sign);
}

// E4M3 (OCP "fn" variant): bias 7, no infinities, S.1111.111 is NaN, max 448 = 0x7E.
__device__ __forceinline__ fp8_t float_to_e4m3(float f) { return float_to_fp8<3, 7, 0x7E, 0x7F>(f); }
__device__ __forceinline__ float e4m3_to_float(fp8_t c) { return fp8_to_float<3, 7, false>(c); }
// E5M2: bias 15, IEEE-like infinities and NaNs, max 57344 = 0x7B; NaN written as S.1111111 (0x7F).
__device__ __forceinline__ fp8_t float_to_e5m2(float f) { return float_to_fp8<2, 15, 0x7B, 0x7F>(f); }
__device__ __forceinline__ float e5m2_to_float(fp8_t c) { return fp8_to_float<2, 15, true>(c); }

// fp64 -> fp32 with round-to-odd: a later round-to-nearest-even to a format with at least two
// fewer significand bits (bf16, fp8) then equals one direct rounding of the double (as the CPU's
// Bf16.fromDouble / Fp8.*FromDouble do). Truncation gives the lower-magnitude neighbour; when
// inexact, setting the last bit picks whichever neighbour is odd.
__device__ __forceinline__ float double_to_float_round_to_odd(double d) {
    float f = __double2float_rz(d);
    if (f != f || (double)f == d) return f;
    return __uint_as_float(__float_as_uint(f) | 1u);
}

// ---------------------------------------------------------------- dtype traits

// Each storage type maps to a compute type: float for the floating dtypes, itself for integers.
// E4M3 and E5M2 share uint8_t storage, so they are told apart by tag types.
struct e4m3_tag {};
struct e5m2_tag {};

template <typename Tag> struct Dt;
template <> struct Dt<float> {
    typedef float storage; typedef float compute;
    static __device__ __forceinline__ float load(float v) { return v; }
    static __device__ __forceinline__ float store(float v) { return v; }
};
template <> struct Dt<bf16_t> {
    typedef bf16_t storage; typedef float compute;
    static __device__ __forceinline__ float load(bf16_t v) { return bf16_to_float(v); }
    static __device__ __forceinline__ bf16_t store(float v) { return float_to_bf16(v); }
};
template <> struct Dt<e4m3_tag> {
    typedef fp8_t storage; typedef float compute;
    static __device__ __forceinline__ float load(fp8_t v) { return e4m3_to_float(v); }
    static __device__ __forceinline__ fp8_t store(float v) { return float_to_e4m3(v); }
};
template <> struct Dt<e5m2_tag> {
    typedef fp8_t storage; typedef float compute;
    static __device__ __forceinline__ float load(fp8_t v) { return e5m2_to_float(v); }
    static __device__ __forceinline__ fp8_t store(float v) { return float_to_e5m2(v); }
};
template <> struct Dt<int32_t> {
    typedef int32_t storage; typedef int32_t compute;
    static __device__ __forceinline__ int32_t load(int32_t v) { return v; }
    static __device__ __forceinline__ int32_t store(int32_t v) { return v; }
};
template <> struct Dt<int64_t> {
    typedef int64_t storage; typedef int64_t compute;
    static __device__ __forceinline__ int64_t load(int64_t v) { return v; }
    static __device__ __forceinline__ int64_t store(int64_t v) { return v; }
};

// Conversions between compute types with Java's semantics.
template <typename To> __device__ __forceinline__ To convert_float(float v);
template <> __device__ __forceinline__ float convert_float<float>(float v) { return v; }
template <> __device__ __forceinline__ int32_t convert_float<int32_t>(float v) { return v != v ? 0 : __float2int_rz(v); }
template <> __device__ __forceinline__ int64_t convert_float<int64_t>(float v) { return v != v ? 0 : __float2ll_rz(v); }

template <typename To> __device__ __forceinline__ To convert_long(long long v);
template <> __device__ __forceinline__ float convert_long<float>(long long v) { return __ll2float_rn(v); }
template <> __device__ __forceinline__ int32_t convert_long<int32_t>(long long v) { return (int32_t)v; }
template <> __device__ __forceinline__ int64_t convert_long<int64_t>(long long v) { return (int64_t)v; }

template <typename To, typename From> __device__ __forceinline__ To convert_compute(From v);
template <> __device__ __forceinline__ float convert_compute<float, float>(float v) { return v; }
template <> __device__ __forceinline__ int32_t convert_compute<int32_t, float>(float v) { return convert_float<int32_t>(v); }
template <> __device__ __forceinline__ int64_t convert_compute<int64_t, float>(float v) { return convert_float<int64_t>(v); }
template <> __device__ __forceinline__ float convert_compute<float, int32_t>(int32_t v) { return __int2float_rn(v); }
template <> __device__ __forceinline__ float convert_compute<float, int64_t>(int64_t v) { return __ll2float_rn(v); }
template <> __device__ __forceinline__ int32_t convert_compute<int32_t, int32_t>(int32_t v) { return v; }
template <> __device__ __forceinline__ int64_t convert_compute<int64_t, int32_t>(int32_t v) { return (int64_t)v; }
template <> __device__ __forceinline__ int32_t convert_compute<int32_t, int64_t>(int64_t v) { return (int32_t)v; }
template <> __device__ __forceinline__ int64_t convert_compute<int64_t, int64_t>(int64_t v) { return v; }

// Stores a double with one rounding (fp32: RNE; bf16 / fp8: round-to-odd to fp32, then RNE);
// integers truncate toward zero with saturation, NaN -> 0 (Java's (int) / (long) casts).
template <typename Tag> __device__ __forceinline__ typename Dt<Tag>::storage store_double(double d);
template <> __device__ __forceinline__ float store_double<float>(double d) { return __double2float_rn(d); }
template <> __device__ __forceinline__ bf16_t store_double<bf16_t>(double d) { return float_to_bf16(double_to_float_round_to_odd(d)); }
template <> __device__ __forceinline__ fp8_t store_double<e4m3_tag>(double d) { return float_to_e4m3(double_to_float_round_to_odd(d)); }
template <> __device__ __forceinline__ fp8_t store_double<e5m2_tag>(double d) { return float_to_e5m2(double_to_float_round_to_odd(d)); }
template <> __device__ __forceinline__ int32_t store_double<int32_t>(double d) { return d != d ? 0 : __double2int_rz(d); }
template <> __device__ __forceinline__ int64_t store_double<int64_t>(double d) { return d != d ? 0 : __double2ll_rz(d); }

// Device-side error reports, read by the host at its next synchronisation: err[0] is the kind
// (the first report wins), err[1] and err[2] its details.
#define DEVICE_ERROR_INDEX 1ull
#define DEVICE_ERROR_INT_DIV_ZERO 2ull
__device__ __forceinline__ void report_device_error(unsigned long long* err, unsigned long long kind, long long a, long long b) {
    if (atomicCAS(err, 0ull, kind) == 0ull) {
        err[1] = (unsigned long long)a;
        err[2] = (unsigned long long)b;
    }
}

// Instantiates MACRO(name_suffix, tag) for every dtype the CUDA backend supports.
#define FOR_ALL_DTYPES(MACRO) \
    MACRO(f32, float)         \
    MACRO(bf16, bf16_t)       \
    MACRO(e4m3, e4m3_tag)     \
    MACRO(e5m2, e5m2_tag)     \
    MACRO(i32, int32_t)       \
    MACRO(i64, int64_t)

#define FOR_FLOAT_DTYPES(MACRO) \
    MACRO(f32, float)           \
    MACRO(bf16, bf16_t)         \
    MACRO(e4m3, e4m3_tag)       \
    MACRO(e5m2, e5m2_tag)

#define FOR_INT_DTYPES(MACRO) \
    MACRO(i32, int32_t)       \
    MACRO(i64, int64_t)

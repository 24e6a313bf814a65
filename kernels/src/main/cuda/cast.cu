// Cast and strided copy: out[i] = convert(x[offset(i)]) for every pair of dtypes the CUDA backend
// supports (f32, bf16, e4m3, e5m2, i32, i64). With equal dtypes it is the strided -> contiguous
// copy behind contiguous(), copyToHost of views and copyFrom.
//
// Entry points: cast_<src>_<dst>(Strided layout, const S* x, D* out, long long n), where
// layout.size is the shape and layout.stride[0] x's element strides; out is contiguous.
// Conversion: one rounding, as the CPU reference (values are exact in fp64): bf16 RNE, fp8 RNE
// saturating to the largest finite value, NaN kept (canonical quiet NaN, sign kept);
// float -> int truncates toward zero with saturation and NaN -> 0 (Java's cast); int -> float
// rounds to nearest even once; int -> int wraps.
//
// Work split: 1-D grid-stride loop, one element per thread per iteration.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#cast (bit patterns: io.reg4rec.engine.Bf16 / Fp8).
#include "common.cuh"

// One conversion with the CPU reference's rounding: floating sources round once into the target;
// integer sources convert to fp32 with one RNE, to bf16 / fp8 through an
// exact (or RNE, beyond 2^53) fp64 and one rounding, and to integers by wrapping.
// Floating sources stay in fp32 (their values are exact there, and no fp64 round trip can touch a
// NaN's sign): fp32 -> bf16 / fp8 is then the single rounding, and fp32 -> int truncates.
template <typename From, typename To, bool FROM_INT = !std::is_same<typename Dt<From>::compute, float>::value>
struct Convert {
    static __device__ __forceinline__ typename Dt<To>::storage apply(typename Dt<From>::storage x) {
        return Dt<To>::store(convert_compute<typename Dt<To>::compute, float>(Dt<From>::load(x)));
    }
};
template <typename From, typename To>
struct Convert<From, To, true> {
    static __device__ __forceinline__ typename Dt<To>::storage apply(typename Dt<From>::storage x) {
        long long v = (long long)x;
        if (std::is_same<To, float>::value) return (typename Dt<To>::storage)__ll2float_rn(v);
        if (std::is_same<typename Dt<To>::compute, float>::value) return store_double<To>(__ll2double_rn(v));
        return (typename Dt<To>::storage)v;
    }
};

template <typename From, typename To>
__device__ void cast_kernel(Strided layout, const typename Dt<From>::storage* __restrict__ x,
                            typename Dt<To>::storage* __restrict__ out, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        long long off[1];
        strided_offsets<1>(layout, i, off);
        out[i] = Convert<From, To>::apply(x[off[0]]);
    }
}

#define CAST_ENTRY(sfxFrom, TagFrom, sfxTo, TagTo)                                                     \
    extern "C" __global__ void cast_##sfxFrom##_##sfxTo(Strided layout, const Dt<TagFrom>::storage* x, \
                                                        Dt<TagTo>::storage* out, long long n) {        \
        cast_kernel<TagFrom, TagTo>(layout, x, out, n);                                                \
    }

#define CAST_FROM(sfxFrom, TagFrom)              \
    CAST_ENTRY(sfxFrom, TagFrom, f32, float)     \
    CAST_ENTRY(sfxFrom, TagFrom, bf16, bf16_t)   \
    CAST_ENTRY(sfxFrom, TagFrom, e4m3, e4m3_tag) \
    CAST_ENTRY(sfxFrom, TagFrom, e5m2, e5m2_tag) \
    CAST_ENTRY(sfxFrom, TagFrom, i32, int32_t)   \
    CAST_ENTRY(sfxFrom, TagFrom, i64, int64_t)

FOR_ALL_DTYPES(CAST_FROM)

// Indexing along one axis: gather and scatter-add.
//   gather:      out[..i..] = x[..index[..i..]..]          (out contiguous, shaped like index)
//   scatter-add: dst[..index[..i..]..] += src[..i..]       (dst contiguous; in place)
// "..index[..i..].." means: the coordinates of element i of index, with the coordinate on
// `axis` replaced by the index value. An index outside [0, axisSize) is not used (gather writes
// 0) and the first such value is recorded in err[0..2] = {1, value, axisSize} (common.cuh); the host checks
// err at its next synchronisation and throws.
//
// Entry points:
//   gather_b<bytes>_<it>(Strided layout, int axis, long long axisSize, const T* x, const I* index,
//                        T* out, long long n, unsigned long long* err)
//       bytes in 1, 2, 4, 8 (gather only moves bits), it in i32, i64; layout.size = index shape,
//       stride[0] = x strides, stride[1] = index strides.
//   scatter_add_<dt>_<it>(Strided layout, int axis, long long axisSize, T* dst, const I* index,
//                         const T* src, long long n, unsigned long long* err)
//       dt in f32, bf16, e4m3, e5m2, i32, i64; stride[0] = dst strides, [1] index, [2] src.
//       f32, i32, i64 use atomicAdd; bf16 and fp8 use a compare-and-swap loop on the aligned
//       32-bit word that holds the element (add in fp32, round with the dtype's rule). The order
//       of concurrent additions is not fixed, so float results may differ in the last bits.
// Work split: 1-D grid-stride loop, one index element per thread per iteration.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#gather / #scatterAdd.
#include "common.cuh"

__device__ __forceinline__ void record_bad_index(unsigned long long* err, long long value, long long axisSize) {
    report_device_error(err, DEVICE_ERROR_INDEX, value, axisSize);
}

// Offsets of index element i in (x or dst) without the axis term, and in index (and src).
template <int NOPS>
__device__ __forceinline__ void offsets_skipping_axis(const Strided& s, int axis, long long i, long long* off) {
#pragma unroll
    for (int k = 0; k < NOPS; k++) off[k] = 0;
    for (int d = (int)s.rank - 1; d >= 0; d--) {
        long long sz = s.size[d];
        long long c = i % sz;
        i /= sz;
        if (d != axis) off[0] += c * s.stride[0][d];
#pragma unroll
        for (int k = 1; k < NOPS; k++) off[k] += c * s.stride[k][d];
    }
}

template <typename T, typename I>
__device__ void gather_kernel(Strided layout, int axis, long long axisSize, const T* __restrict__ x,
                              const I* __restrict__ index, T* __restrict__ out, long long n, unsigned long long* err) {
    GRID_STRIDE_LOOP(i, n) {
        long long off[2];
        offsets_skipping_axis<2>(layout, axis, i, off);
        long long idx = (long long)index[off[1]];
        if (idx < 0 || idx >= axisSize) {
            record_bad_index(err, idx, axisSize);
            out[i] = (T)0;
        } else {
            out[i] = x[off[0] + idx * layout.stride[0][axis]];
        }
    }
}

__device__ __forceinline__ void atomic_add_value(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add_value(int32_t* p, int32_t v) { atomicAdd((int*)p, (int)v); }
__device__ __forceinline__ void atomic_add_value(int64_t* p, int64_t v) {
    atomicAdd((unsigned long long*)p, (unsigned long long)v);  // two's complement: wraps like Java
}

// bf16 / fp8: read-modify-write of the enclosing aligned 32-bit word until no one raced us.
template <typename Tag>
__device__ __forceinline__ void atomic_add_narrow(typename Dt<Tag>::storage* p, float v) {
    typedef typename Dt<Tag>::storage S;
    unsigned long long addr = (unsigned long long)p;
    unsigned int* word = (unsigned int*)(addr & ~3ull);
    unsigned int shift = (unsigned int)(addr & 3ull) * 8u;
    unsigned int mask = (sizeof(S) == 2 ? 0xFFFFu : 0xFFu) << shift;
    unsigned int old = *((volatile unsigned int*)word), assumed;
    do {
        assumed = old;
        S cur = (S)((assumed & mask) >> shift);
        S next = Dt<Tag>::store(Dt<Tag>::load(cur) + v);
        unsigned int nw = (assumed & ~mask) | (((unsigned int)next << shift) & mask);
        old = atomicCAS(word, assumed, nw);
    } while (old != assumed);
}

template <typename Tag> struct ScatterAdd {
    static __device__ __forceinline__ void add(typename Dt<Tag>::storage* p, typename Dt<Tag>::storage v) {
        atomic_add_value(p, v);
    }
};
template <> struct ScatterAdd<bf16_t> {
    static __device__ __forceinline__ void add(bf16_t* p, bf16_t v) { atomic_add_narrow<bf16_t>(p, bf16_to_float(v)); }
};
template <> struct ScatterAdd<e4m3_tag> {
    static __device__ __forceinline__ void add(fp8_t* p, fp8_t v) { atomic_add_narrow<e4m3_tag>(p, e4m3_to_float(v)); }
};
template <> struct ScatterAdd<e5m2_tag> {
    static __device__ __forceinline__ void add(fp8_t* p, fp8_t v) { atomic_add_narrow<e5m2_tag>(p, e5m2_to_float(v)); }
};

template <typename Tag, typename I>
__device__ void scatter_add_kernel(Strided layout, int axis, long long axisSize, typename Dt<Tag>::storage* dst,
                                   const I* __restrict__ index, const typename Dt<Tag>::storage* __restrict__ src,
                                   long long n, unsigned long long* err) {
    GRID_STRIDE_LOOP(i, n) {
        long long off[3];
        offsets_skipping_axis<3>(layout, axis, i, off);
        long long idx = (long long)index[off[1]];
        if (idx < 0 || idx >= axisSize) {
            record_bad_index(err, idx, axisSize);
        } else {
            ScatterAdd<Tag>::add(dst + off[0] + idx * layout.stride[0][axis], src[off[2]]);
        }
    }
}

#define GATHER_ENTRY(bytes, T, isfx, I)                                                                   \
    extern "C" __global__ void gather_b##bytes##_##isfx(Strided layout, int axis, long long axisSize,     \
                                                        const T* x, const I* index, T* out, long long n,  \
                                                        unsigned long long* err) {                        \
        gather_kernel<T, I>(layout, axis, axisSize, x, index, out, n, err);                               \
    }
#define GATHER_ENTRIES(bytes, T) GATHER_ENTRY(bytes, T, i32, int32_t) GATHER_ENTRY(bytes, T, i64, int64_t)
GATHER_ENTRIES(1, uint8_t)
GATHER_ENTRIES(2, uint16_t)
GATHER_ENTRIES(4, uint32_t)
GATHER_ENTRIES(8, unsigned long long)

#define SCATTER_ENTRY(sfx, Tag, isfx, I)                                                                      \
    extern "C" __global__ void scatter_add_##sfx##_##isfx(Strided layout, int axis, long long axisSize,      \
                                                          Dt<Tag>::storage* dst, const I* index,             \
                                                          const Dt<Tag>::storage* src, long long n,          \
                                                          unsigned long long* err) {                         \
        scatter_add_kernel<Tag, I>(layout, axis, axisSize, dst, index, src, n, err);                         \
    }
#define SCATTER_ENTRIES(sfx, Tag) SCATTER_ENTRY(sfx, Tag, i32, int32_t) SCATTER_ENTRY(sfx, Tag, i64, int64_t)
FOR_ALL_DTYPES(SCATTER_ENTRIES)

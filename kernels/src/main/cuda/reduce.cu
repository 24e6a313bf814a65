// Reductions along one axis of a contiguous tensor seen as [outer, len, inner]:
// out[o, i] = op over j of x[o, j, i], for op in SUM, MAX, MIN (out has x's dtype) and ARGMAX,
// ARGMIN (out is int64, the first index on ties). Floating values accumulate in fp64 (as the CPU
// reference does) and round through fp32 on store; integer sums wrap like Java. MAX / MIN propagate NaN (Java's Math.max); ARGMAX /
// ARGMIN treat NaN as the extreme value. Deterministic: no atomics, a fixed combination tree.
//
// Entry points (dt in f32, bf16, e4m3, e5m2, i32, i64; op = ordinal of ReduceOp):
//   reduce_rows_<dt>(int op, const T* x, void* out, long long outer, long long len)
//       inner == 1: one 256-thread block per row (grid-stride over rows); each thread folds a
//       strided slice of the row, then a warp-shuffle + shared-memory tree combines the partials.
//   reduce_cols_<dt>(int op, const T* x, void* out, long long outer, long long len, long long inner)
//       inner > 1: a 32 x 8 block covers 32 adjacent inner positions (coalesced loads); the 8
//       rows of threads fold interleaved slices of len, combined in shared memory in fixed order.
//       Grid-stride over outer * ceil(inner / 32) column groups.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#reduce.
#include "common.cuh"

enum ReduceOp { R_SUM, R_MAX, R_MIN, R_ARGMAX, R_ARGMIN };

template <typename C> struct Acc { C v; long long idx; };  // idx < 0: nothing folded yet

// Accumulator type: fp64 for the floating dtypes, the integer itself otherwise.
template <typename Tag> struct AccOf { typedef typename Dt<Tag>::compute type; };
template <> struct AccOf<float> { typedef double type; };
template <> struct AccOf<bf16_t> { typedef double type; };
template <> struct AccOf<e4m3_tag> { typedef double type; };
template <> struct AccOf<e5m2_tag> { typedef double type; };

__device__ __forceinline__ double to_acc(float v) { return (double)v; }
__device__ __forceinline__ int32_t to_acc(int32_t v) { return v; }
__device__ __forceinline__ int64_t to_acc(int64_t v) { return v; }

__device__ __forceinline__ bool is_nan(double v) { return v != v; }
__device__ __forceinline__ bool is_nan(int32_t) { return false; }
__device__ __forceinline__ bool is_nan(int64_t) { return false; }

template <typename C>
__device__ __forceinline__ Acc<C> combine(int op, Acc<C> a, Acc<C> b) {
    if (a.idx < 0) return b;
    if (b.idx < 0) return a;
    if (op == R_SUM) {
        Acc<C> r;
        r.v = a.v + b.v;
        r.idx = a.idx < b.idx ? a.idx : b.idx;
        return r;
    }
    bool wantMax = op == R_MAX || op == R_ARGMAX;
    bool an = is_nan(a.v), bn = is_nan(b.v);
    bool takeB;
    if (an || bn) takeB = bn && (!an || b.idx < a.idx);
    else if (a.v == b.v) takeB = b.idx < a.idx;
    else takeB = wantMax ? (b.v > a.v) : (b.v < a.v);
    return takeB ? b : a;
}

template <typename C>
__device__ __forceinline__ Acc<C> shfl_down(Acc<C> a, int delta) {
    Acc<C> r;
    r.v = __shfl_down_sync(0xFFFFFFFFu, a.v, delta);
    r.idx = __shfl_down_sync(0xFFFFFFFFu, a.idx, delta);
    return r;
}

template <typename Tag, typename A>
__device__ __forceinline__ typename Dt<Tag>::storage store_acc(A v) {
    if constexpr (std::is_same<A, double>::value) return Dt<Tag>::store(__double2float_rn(v));
    else return Dt<Tag>::store(v);
}

template <typename Tag>
__device__ __forceinline__ void write_result(int op, void* out, long long o, Acc<typename AccOf<Tag>::type> a) {
    typedef typename AccOf<Tag>::type A;
    if (op == R_ARGMAX || op == R_ARGMIN) {
        ((int64_t*)out)[o] = a.idx < 0 ? 0 : a.idx;
    } else {
        A v = a.idx < 0 ? (A)0 : a.v;
        ((typename Dt<Tag>::storage*)out)[o] = store_acc<Tag, A>(v);
    }
}

template <typename Tag>
__device__ void reduce_rows(int op, const typename Dt<Tag>::storage* __restrict__ x, void* out, long long outer, long long len) {
    typedef typename AccOf<Tag>::type C;
    __shared__ Acc<C> partial[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (long long row = blockIdx.x; row < outer; row += gridDim.x) {
        const typename Dt<Tag>::storage* xr = x + row * len;
        Acc<C> acc;
        acc.v = 0;
        acc.idx = -1;
        for (long long j = threadIdx.x; j < len; j += blockDim.x) {
            Acc<C> e;
            e.v = to_acc(Dt<Tag>::load(xr[j]));
            e.idx = j;
            acc = combine(op, acc, e);
        }
        for (int d = 16; d > 0; d >>= 1) acc = combine(op, acc, shfl_down(acc, d));
        if (lane == 0) partial[warp] = acc;
        __syncthreads();
        if (warp == 0) {
            Acc<C> a;
            a.v = 0;
            a.idx = -1;
            if (lane < warps) a = partial[lane];
            for (int d = 16; d > 0; d >>= 1) a = combine(op, a, shfl_down(a, d));
            if (lane == 0) write_result<Tag>(op, out, row, a);
        }
        __syncthreads();  // partial[] is reused by the next row
    }
}

#define COL_LANES 32
#define COL_SLICES 8

template <typename Tag>
__device__ void reduce_cols(int op, const typename Dt<Tag>::storage* __restrict__ x, void* out, long long outer, long long len, long long inner) {
    typedef typename AccOf<Tag>::type C;
    __shared__ Acc<C> partial[COL_SLICES][COL_LANES];
    long long innerGroups = (inner + COL_LANES - 1) / COL_LANES;
    long long groups = outer * innerGroups;
    for (long long g = blockIdx.x; g < groups; g += gridDim.x) {
        long long o = g / innerGroups;
        long long i = (g % innerGroups) * COL_LANES + threadIdx.x;
        Acc<C> acc;
        acc.v = 0;
        acc.idx = -1;
        if (i < inner) {
            const typename Dt<Tag>::storage* xc = x + o * len * inner + i;
            for (long long j = threadIdx.y; j < len; j += COL_SLICES) {
                Acc<C> e;
                e.v = to_acc(Dt<Tag>::load(xc[j * inner]));
                e.idx = j;
                acc = combine(op, acc, e);
            }
        }
        partial[threadIdx.y][threadIdx.x] = acc;
        __syncthreads();
        if (threadIdx.y == 0 && i < inner) {
            Acc<C> a = partial[0][threadIdx.x];
            for (int s = 1; s < COL_SLICES; s++) a = combine(op, a, partial[s][threadIdx.x]);
            write_result<Tag>(op, out, o * inner + i, a);
        }
        __syncthreads();
    }
}

#define REDUCE_ENTRIES(sfx, Tag)                                                                     \
    extern "C" __global__ void reduce_rows_##sfx(int op, const Dt<Tag>::storage* x, void* out,      \
                                                 long long outer, long long len) {                   \
        reduce_rows<Tag>(op, x, out, outer, len);                                                    \
    }                                                                                                \
    extern "C" __global__ void reduce_cols_##sfx(int op, const Dt<Tag>::storage* x, void* out,      \
                                                 long long outer, long long len, long long inner) {  \
        reduce_cols<Tag>(op, x, out, outer, len, inner);                                             \
    }

FOR_ALL_DTYPES(REDUCE_ENTRIES)

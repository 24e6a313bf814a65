// Reductions along one axis of a contiguous tensor seen as [outer, len, inner]:
// out[o, i] = op over j of x[o, j, i], for op in SUM, MAX, MIN (out has x's dtype) and ARGMAX,
// ARGMIN (out is int64, the first index on ties). Floating values accumulate in fp64 (as the CPU
// reference does) and round through fp32 on store; integer sums wrap like Java. MAX / MIN propagate NaN (Java's Math.max); ARGMAX /
// ARGMIN treat NaN as the extreme value. Deterministic: no atomics, a fixed combination tree.
//
// Entry points (dt in f32, bf16, e4m3, e5m2, i32, i64; op = ordinal of ReduceOp; A is the
// accumulator type: double for floats, the integer type otherwise):
//   reduce_rows_<dt>(int op, const T* x, void* out, long long outer, long long len)
//       inner == 1: one 256-thread block per row (grid-stride over rows); each thread folds a
//       strided slice of the row, then a warp-shuffle + shared-memory tree combines the partials.
//   reduce_cols_<dt>(int op, const T* x, void* out, long long outer, long long len, long long inner)
//       inner > 1: a 32 x 8 block covers 32 adjacent inner positions (coalesced loads); the 8
//       rows of threads fold interleaved slices of len, combined in shared memory in fixed order.
//       Grid-stride over outer * ceil(inner / 32) column groups.
//   Two passes when there are too few rows / column groups to fill the GPU (e.g. a sum of all
//   elements): the reduced axis is cut into `chunks` segments of chunkLen,
//   reduce_rows_partial_<dt>(op, x, A* vals, long long* idx, outer, len, chunks, chunkLen) and
//   reduce_cols_partial_<dt>(op, x, vals, idx, outer, len, inner, chunks, chunkLen)
//       write one (value, first index) per segment, laid out [outer, chunks, inner]; then
//   reduce_rows_combine_<dt>(op, vals, idx, out, outer, chunks) and
//   reduce_cols_combine_<dt>(op, vals, idx, out, outer, chunks, inner)
//       fold the segments in the same fixed tree. The split depends only on the shape, so
//       results are reproducible run to run and across GPUs.
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

// Where folded values come from: the tensor itself, or the partials of a first pass.
template <typename Tag> struct RawInput {
    typedef typename AccOf<Tag>::type A;
    const typename Dt<Tag>::storage* x;
    __device__ __forceinline__ Acc<A> get(long long off, long long j) const {
        Acc<A> e;
        e.v = to_acc(Dt<Tag>::load(x[off]));
        e.idx = j;
        return e;
    }
};
template <typename Tag> struct PartialInput {
    typedef typename AccOf<Tag>::type A;
    const A* vals;
    const long long* idx;
    __device__ __forceinline__ Acc<A> get(long long off, long long) const {
        Acc<A> e;
        e.v = vals[off];
        e.idx = idx[off];
        return e;
    }
};

// Where results go: the output tensor, or the partials of a first pass.
template <typename Tag> struct FinalSink {
    int op;
    void* out;
    __device__ __forceinline__ void put(long long at, Acc<typename AccOf<Tag>::type> a) const { write_result<Tag>(op, out, at, a); }
};
template <typename Tag> struct PartialSink {
    typedef typename AccOf<Tag>::type A;
    A* vals;
    long long* idx;
    __device__ __forceinline__ void put(long long at, Acc<A> a) const {
        vals[at] = a.idx < 0 ? (A)0 : a.v;
        idx[at] = a.idx;
    }
};

// Rows of length len; task (r, c) folds segment c of row r and is written at r * chunks + c.
template <typename Tag, typename In, typename Sink>
__device__ void reduce_rows(int op, In in, Sink sink, long long rows, long long len, long long chunks, long long chunkLen) {
    typedef typename AccOf<Tag>::type C;
    __shared__ Acc<C> partial[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (long long task = blockIdx.x; task < rows * chunks; task += gridDim.x) {
        long long r = task / chunks, c = task % chunks;
        long long j0 = c * chunkLen, j1 = min(len, j0 + chunkLen);
        Acc<C> acc;
        acc.v = 0;
        acc.idx = -1;
        for (long long j = j0 + threadIdx.x; j < j1; j += blockDim.x) acc = combine(op, acc, in.get(r * len + j, j));
        for (int d = 16; d > 0; d >>= 1) acc = combine(op, acc, shfl_down(acc, d));
        if (lane == 0) partial[warp] = acc;
        __syncthreads();
        if (warp == 0) {
            Acc<C> a;
            a.v = 0;
            a.idx = -1;
            if (lane < warps) a = partial[lane];
            for (int d = 16; d > 0; d >>= 1) a = combine(op, a, shfl_down(a, d));
            if (lane == 0) sink.put(task, a);
        }
        __syncthreads();  // partial[] is reused by the next task
    }
}

#define COL_LANES 32
#define COL_SLICES 8

// [outer, len, inner]; task (o, c, group) folds segment c of 32 columns, written at (o * chunks + c) * inner + i.
template <typename Tag, typename In, typename Sink>
__device__ void reduce_cols(int op, In in, Sink sink, long long outer, long long len, long long inner, long long chunks, long long chunkLen) {
    typedef typename AccOf<Tag>::type C;
    __shared__ Acc<C> partial[COL_SLICES][COL_LANES];
    long long innerGroups = (inner + COL_LANES - 1) / COL_LANES;
    long long groups = outer * chunks * innerGroups;
    for (long long g = blockIdx.x; g < groups; g += gridDim.x) {
        long long o = g / (chunks * innerGroups), rem = g % (chunks * innerGroups);
        long long c = rem / innerGroups;
        long long i = (rem % innerGroups) * COL_LANES + threadIdx.x;
        long long j0 = c * chunkLen, j1 = min(len, j0 + chunkLen);
        Acc<C> acc;
        acc.v = 0;
        acc.idx = -1;
        if (i < inner) {
            long long base = o * len * inner + i;
            for (long long j = j0 + threadIdx.y; j < j1; j += COL_SLICES) acc = combine(op, acc, in.get(base + j * inner, j));
        }
        partial[threadIdx.y][threadIdx.x] = acc;
        __syncthreads();
        if (threadIdx.y == 0 && i < inner) {
            Acc<C> a = partial[0][threadIdx.x];
            for (int sl = 1; sl < COL_SLICES; sl++) a = combine(op, a, partial[sl][threadIdx.x]);
            sink.put((o * chunks + c) * inner + i, a);
        }
        __syncthreads();
    }
}

#define REDUCE_ENTRIES(sfx, Tag)                                                                                   \
    extern "C" __global__ void reduce_rows_##sfx(int op, const Dt<Tag>::storage* x, void* out, long long outer,   \
                                                 long long len) {                                                  \
        reduce_rows<Tag>(op, RawInput<Tag>{x}, FinalSink<Tag>{op, out}, outer, len, 1, len);                        \
    }                                                                                                              \
    extern "C" __global__ void reduce_cols_##sfx(int op, const Dt<Tag>::storage* x, void* out, long long outer,   \
                                                 long long len, long long inner) {                                 \
        reduce_cols<Tag>(op, RawInput<Tag>{x}, FinalSink<Tag>{op, out}, outer, len, inner, 1, len);                 \
    }                                                                                                              \
    extern "C" __global__ void reduce_rows_partial_##sfx(int op, const Dt<Tag>::storage* x, AccOf<Tag>::type* vals, \
                                                         long long* idx, long long outer, long long len,           \
                                                         long long chunks, long long chunkLen) {                   \
        reduce_rows<Tag>(op, RawInput<Tag>{x}, PartialSink<Tag>{vals, idx}, outer, len, chunks, chunkLen);          \
    }                                                                                                              \
    extern "C" __global__ void reduce_cols_partial_##sfx(int op, const Dt<Tag>::storage* x, AccOf<Tag>::type* vals, \
                                                         long long* idx, long long outer, long long len,           \
                                                         long long inner, long long chunks, long long chunkLen) {  \
        reduce_cols<Tag>(op, RawInput<Tag>{x}, PartialSink<Tag>{vals, idx}, outer, len, inner, chunks, chunkLen);   \
    }                                                                                                              \
    extern "C" __global__ void reduce_rows_combine_##sfx(int op, const AccOf<Tag>::type* vals, const long long* idx, \
                                                         void* out, long long outer, long long chunks) {           \
        reduce_rows<Tag>(op, PartialInput<Tag>{vals, idx}, FinalSink<Tag>{op, out}, outer, chunks, 1, chunks);      \
    }                                                                                                              \
    extern "C" __global__ void reduce_cols_combine_##sfx(int op, const AccOf<Tag>::type* vals, const long long* idx, \
                                                         void* out, long long outer, long long chunks,             \
                                                         long long inner) {                                        \
        reduce_cols<Tag>(op, PartialInput<Tag>{vals, idx}, FinalSink<Tag>{op, out}, outer, chunks, inner, 1, chunks); \
    }

FOR_ALL_DTYPES(REDUCE_ENTRIES)

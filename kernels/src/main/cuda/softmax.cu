// Softmax and log-softmax along one axis of a contiguous tensor seen as [outer, len, inner],
// exponentials in fp32 whatever the dtype, the sum and the final combination in fp64 (so a
// log-softmax value near 0, i.e. -log(s) with s close to 1, keeps its relative accuracy):
//   m = max_j x[o, j, i];  s = sum_j exp(x[o, j, i] - m)
//   softmax = exp(x - m) / s;  log-softmax = x - m - log(s)
//
// Entry points (dt in f32, bf16, e4m3, e5m2; out contiguous, same dtype as x):
//   softmax_rows_<dt>(const T* x, T* out, long long outer, long long len, int log)
//       inner == 1: one 256-thread block per row (grid-stride over rows); the max and the sum are
//       block reductions (warp shuffles, then one warp over the per-warp partials).
// Rounding: results round to fp32, then to the dtype (the CPU reference's rule).
//   softmax_cols_<dt>(const T* x, T* out, long long outer, long long len, long long inner, int log)
//       inner > 1: one thread per (outer, inner) column, three passes over len; adjacent threads
//       read adjacent inner positions, so loads coalesce. 1-D grid-stride over outer * inner.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#softmax.
#include "common.cuh"

template <typename T>
__device__ __forceinline__ T block_reduce(T v, bool isMax, T* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int d = 16; d > 0; d >>= 1) {
        T o = __shfl_down_sync(0xFFFFFFFFu, v, d);
        v = isMax ? fmax(v, o) : v + o;
    }
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        T a = lane < warps ? scratch[lane] : (isMax ? (T)-INFINITY : (T)0);
        for (int d = 16; d > 0; d >>= 1) {
            T o = __shfl_down_sync(0xFFFFFFFFu, a, d);
            a = isMax ? fmax(a, o) : a + o;
        }
        if (lane == 0) scratch[32] = a;
    }
    __syncthreads();
    T r = scratch[32];
    __syncthreads();  // scratch is reused by the next reduction
    return r;
}

template <typename Tag>
__device__ __forceinline__ typename Dt<Tag>::storage softmax_value(float x, float m, double s, double logS, int logMode) {
    if (logMode) return Dt<Tag>::store(__double2float_rn((double)x - (double)m - logS));
    return Dt<Tag>::store(__double2float_rn((double)expf(x - m) / s));
}

template <typename Tag>
__device__ void softmax_rows(const typename Dt<Tag>::storage* __restrict__ x, typename Dt<Tag>::storage* __restrict__ out,
                             long long outer, long long len, int logMode) {
    __shared__ float scratchF[33];
    __shared__ double scratchD[33];
    for (long long row = blockIdx.x; row < outer; row += gridDim.x) {
        const typename Dt<Tag>::storage* xr = x + row * len;
        typename Dt<Tag>::storage* orow = out + row * len;
        float m = -INFINITY;
        for (long long j = threadIdx.x; j < len; j += blockDim.x) m = fmaxf(m, Dt<Tag>::load(xr[j]));
        m = block_reduce<float>(m, true, scratchF);
        double s = 0.0;
        for (long long j = threadIdx.x; j < len; j += blockDim.x) s += (double)expf(Dt<Tag>::load(xr[j]) - m);
        s = block_reduce<double>(s, false, scratchD);
        double logS = log(s);
        for (long long j = threadIdx.x; j < len; j += blockDim.x) orow[j] = softmax_value<Tag>(Dt<Tag>::load(xr[j]), m, s, logS, logMode);
    }
}

template <typename Tag>
__device__ void softmax_cols(const typename Dt<Tag>::storage* __restrict__ x, typename Dt<Tag>::storage* __restrict__ out,
                             long long outer, long long len, long long inner, int logMode) {
    GRID_STRIDE_LOOP(c, outer * inner) {
        long long o = c / inner, i = c % inner;
        long long base = o * len * inner + i;
        float m = -INFINITY;
        for (long long j = 0; j < len; j++) m = fmaxf(m, Dt<Tag>::load(x[base + j * inner]));
        double s = 0.0;
        for (long long j = 0; j < len; j++) s += (double)expf(Dt<Tag>::load(x[base + j * inner]) - m);
        double logS = log(s);
        for (long long j = 0; j < len; j++) out[base + j * inner] = softmax_value<Tag>(Dt<Tag>::load(x[base + j * inner]), m, s, logS, logMode);
    }
}

#define SOFTMAX_ENTRIES(sfx, Tag)                                                                       \
    extern "C" __global__ void softmax_rows_##sfx(const Dt<Tag>::storage* x, Dt<Tag>::storage* out,    \
                                                  long long outer, long long len, int logMode) {        \
        softmax_rows<Tag>(x, out, outer, len, logMode);                                                 \
    }                                                                                                   \
    extern "C" __global__ void softmax_cols_##sfx(const Dt<Tag>::storage* x, Dt<Tag>::storage* out,    \
                                                  long long outer, long long len, long long inner,      \
                                                  int logMode) {                                        \
        softmax_cols<Tag>(x, out, outer, len, inner, logMode);                                          \
    }

FOR_FLOAT_DTYPES(SOFTMAX_ENTRIES)

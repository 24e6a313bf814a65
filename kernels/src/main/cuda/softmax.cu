// Softmax and log-softmax along one axis of a contiguous tensor seen as [outer, len, inner],
// computed in fp32 whatever the dtype:
//   m = max_j x[o, j, i];  s = sum_j exp(x[o, j, i] - m)
//   softmax = exp(x - m) / s;  log-softmax = x - m - log(s)
//
// Entry points (dt in f32, bf16, e4m3, e5m2; out contiguous, same dtype as x):
//   softmax_rows_<dt>(const T* x, T* out, long long outer, long long len, int log)
//       inner == 1: one 256-thread block per row (grid-stride over rows); the max and the sum are
//       block reductions (warp shuffles, then one warp over the per-warp partials).
//   softmax_cols_<dt>(const T* x, T* out, long long outer, long long len, long long inner, int log)
//       inner > 1: one thread per (outer, inner) column, three passes over len; adjacent threads
//       read adjacent inner positions, so loads coalesce. 1-D grid-stride over outer * inner.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#softmax.
#include "common.cuh"

__device__ __forceinline__ float block_reduce(float v, bool isMax, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int d = 16; d > 0; d >>= 1) {
        float o = __shfl_down_sync(0xFFFFFFFFu, v, d);
        v = isMax ? fmaxf(v, o) : v + o;
    }
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float a = lane < warps ? scratch[lane] : (isMax ? -INFINITY : 0.0f);
        for (int d = 16; d > 0; d >>= 1) {
            float o = __shfl_down_sync(0xFFFFFFFFu, a, d);
            a = isMax ? fmaxf(a, o) : a + o;
        }
        if (lane == 0) scratch[32] = a;
    }
    __syncthreads();
    float r = scratch[32];
    __syncthreads();  // scratch is reused by the next reduction
    return r;
}

template <typename Tag>
__device__ void softmax_rows(const typename Dt<Tag>::storage* __restrict__ x, typename Dt<Tag>::storage* __restrict__ out,
                             long long outer, long long len, int logMode) {
    __shared__ float scratch[33];
    for (long long row = blockIdx.x; row < outer; row += gridDim.x) {
        const typename Dt<Tag>::storage* xr = x + row * len;
        typename Dt<Tag>::storage* orow = out + row * len;
        float m = -INFINITY;
        for (long long j = threadIdx.x; j < len; j += blockDim.x) m = fmaxf(m, Dt<Tag>::load(xr[j]));
        m = block_reduce(m, true, scratch);
        float s = 0.0f;
        for (long long j = threadIdx.x; j < len; j += blockDim.x) s += expf(Dt<Tag>::load(xr[j]) - m);
        s = block_reduce(s, false, scratch);
        if (logMode) {
            float ls = logf(s);
            for (long long j = threadIdx.x; j < len; j += blockDim.x) orow[j] = Dt<Tag>::store(Dt<Tag>::load(xr[j]) - m - ls);
        } else {
            for (long long j = threadIdx.x; j < len; j += blockDim.x) orow[j] = Dt<Tag>::store(expf(Dt<Tag>::load(xr[j]) - m) / s);
        }
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
        float s = 0.0f;
        for (long long j = 0; j < len; j++) s += expf(Dt<Tag>::load(x[base + j * inner]) - m);
        if (logMode) {
            float ls = logf(s);
            for (long long j = 0; j < len; j++) out[base + j * inner] = Dt<Tag>::store(Dt<Tag>::load(x[base + j * inner]) - m - ls);
        } else {
            for (long long j = 0; j < len; j++) out[base + j * inner] = Dt<Tag>::store(expf(Dt<Tag>::load(x[base + j * inner]) - m) / s);
        }
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

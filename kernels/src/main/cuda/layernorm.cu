// Fused layer normalisation over the last axis of a contiguous [rows, cols] tensor, forward and
// backward, fp32 math for every storage dtype:
//   mean = sum_j x / cols;  var = sum_j (x - mean)^2 / cols (two passes over the row);
//   rstd = 1 / sqrt(var + eps);  out = (x - mean) rstd gamma + beta
//   backward, with xhat = (x - mean) rstd and d = dy gamma:
//   dx = rstd (d - mean_j d - xhat mean_j (d xhat));  dgamma = sum_rows dy xhat;  dbeta = sum_rows dy
//
// Entry points (dt in f32, bf16; gamma, beta, out, dx of x's dtype; mean, rstd fp32 [rows]):
//   layer_norm_forward_<dt>(x, gamma, beta, out, mean, rstd, rows, cols, eps, hasGamma, hasBeta)
//   layer_norm_backward_dx_<dt>(x, gamma, mean, rstd, dy, dx, rows, cols, hasGamma)
//       Work split for both: a 2-D block of blockDim.x threads per row and blockDim.y rows per
//       block. The host picks one warp per row (32 x 8) for rows of up to 1024 columns, else one
//       block of 64..1024 threads per row (blockDim.y = 1). Threads stride over the row's columns,
//       sums are warp shuffles (xor, a fixed tree) plus, for multi-warp rows, one pass over 32
//       per-warp partials in shared memory. Blocks stride over groups of blockDim.y rows.
//   layer_norm_param_partials_<dt>(x, mean, rstd, dy, partialGamma, partialBeta, rows, cols, rowsPerChunk)
//       grid (ceil(cols / blockDim.x), chunks): one thread per column and chunk of rowsPerChunk
//       rows, summing dy xhat and dy over the chunk's rows in order into fp32 partials
//       [chunks, cols] (coalesced: adjacent threads read adjacent columns).
//   layer_norm_param_reduce_<dt>(partialGamma, partialBeta, gradGamma, gradBeta, chunks, cols, wantGamma, wantBeta)
//       one thread per column (grid-stride) sums the chunk partials in chunk order.
// No atomics anywhere, and the chunking depends only on the shape, so results are reproducible.
// CPU reference: io.reg4rec.engine.cpu.CpuLayerNorm.
#include "common.cuh"

// Sum of v over the threads of this row (threads with the same threadIdx.y); every thread gets
// the total. scratch holds 32 floats; blockDim.x > 32 implies blockDim.y == 1.
__device__ __forceinline__ float row_sum(float v, float* scratch) {
    for (int d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, d);
    if (blockDim.x <= 32) return v;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float a = lane < warps ? scratch[lane] : 0.0f;
    for (int d = 16; d > 0; d >>= 1) a += __shfl_xor_sync(0xFFFFFFFFu, a, d);
    __syncthreads();  // scratch is reused by the next sum
    return a;
}

template <typename Tag>
__device__ void layer_norm_forward(const typename Dt<Tag>::storage* __restrict__ x, const typename Dt<Tag>::storage* __restrict__ gamma,
                                   const typename Dt<Tag>::storage* __restrict__ beta, typename Dt<Tag>::storage* __restrict__ out,
                                   float* __restrict__ mean, float* __restrict__ rstd, long long rows, long long cols, float eps,
                                   int hasGamma, int hasBeta) {
    __shared__ float scratch[32];
    for (long long base = (long long)blockIdx.x * blockDim.y; base < rows; base += (long long)gridDim.x * blockDim.y) {
        long long row = base + threadIdx.y;
        bool active = row < rows;  // the whole block runs the loop body: row_sum may synchronise
        const typename Dt<Tag>::storage* xr = x + (active ? row : 0) * cols;
        float s = 0.0f;
        if (active) for (long long j = threadIdx.x; j < cols; j += blockDim.x) s += Dt<Tag>::load(xr[j]);
        float mu = __fdiv_rn(row_sum(s, scratch), (float)cols);
        float q = 0.0f;
        if (active) {
            for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
                float d = Dt<Tag>::load(xr[j]) - mu;
                q += d * d;
            }
        }
        float var = __fdiv_rn(row_sum(q, scratch), (float)cols);
        float inv = __fdiv_rn(1.0f, __fsqrt_rn(var + eps));
        if (!active) continue;
        if (threadIdx.x == 0) {
            mean[row] = mu;
            rstd[row] = inv;
        }
        typename Dt<Tag>::storage* orow = out + row * cols;
        for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
            float y = (Dt<Tag>::load(xr[j]) - mu) * inv;
            if (hasGamma) y *= Dt<Tag>::load(gamma[j]);
            if (hasBeta) y += Dt<Tag>::load(beta[j]);
            orow[j] = Dt<Tag>::store(y);
        }
    }
}

template <typename Tag>
__device__ void layer_norm_backward_dx(const typename Dt<Tag>::storage* __restrict__ x, const typename Dt<Tag>::storage* __restrict__ gamma,
                                       const float* __restrict__ mean, const float* __restrict__ rstd,
                                       const typename Dt<Tag>::storage* __restrict__ dy, typename Dt<Tag>::storage* __restrict__ dx,
                                       long long rows, long long cols, int hasGamma) {
    __shared__ float scratch[32];
    for (long long base = (long long)blockIdx.x * blockDim.y; base < rows; base += (long long)gridDim.x * blockDim.y) {
        long long row = base + threadIdx.y;
        bool active = row < rows;
        long long r = active ? row : 0;
        const typename Dt<Tag>::storage* xr = x + r * cols;
        const typename Dt<Tag>::storage* dyr = dy + r * cols;
        float mu = mean[r], inv = rstd[r];
        float sumD = 0.0f, sumDX = 0.0f;
        if (active) {
            for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
                float xhat = (Dt<Tag>::load(xr[j]) - mu) * inv;
                float d = Dt<Tag>::load(dyr[j]);
                if (hasGamma) d *= Dt<Tag>::load(gamma[j]);
                sumD += d;
                sumDX += d * xhat;
            }
        }
        float meanD = __fdiv_rn(row_sum(sumD, scratch), (float)cols);
        float meanDX = __fdiv_rn(row_sum(sumDX, scratch), (float)cols);
        if (!active) continue;
        typename Dt<Tag>::storage* dxr = dx + row * cols;
        for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
            float xhat = (Dt<Tag>::load(xr[j]) - mu) * inv;
            float d = Dt<Tag>::load(dyr[j]);
            if (hasGamma) d *= Dt<Tag>::load(gamma[j]);
            dxr[j] = Dt<Tag>::store(inv * (d - meanD - xhat * meanDX));
        }
    }
}

template <typename Tag>
__device__ void layer_norm_param_partials(const typename Dt<Tag>::storage* __restrict__ x, const float* __restrict__ mean,
                                          const float* __restrict__ rstd, const typename Dt<Tag>::storage* __restrict__ dy,
                                          float* __restrict__ partialGamma, float* __restrict__ partialBeta,
                                          long long rows, long long cols, long long rowsPerChunk) {
    long long col = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long chunk = blockIdx.y;
    if (col >= cols) return;
    long long first = chunk * rowsPerChunk;
    long long last = min(rows, first + rowsPerChunk);
    float sg = 0.0f, sb = 0.0f;
    for (long long r = first; r < last; r++) {
        float g = Dt<Tag>::load(dy[r * cols + col]);
        float xhat = (Dt<Tag>::load(x[r * cols + col]) - mean[r]) * rstd[r];
        sg += g * xhat;
        sb += g;
    }
    partialGamma[chunk * cols + col] = sg;
    partialBeta[chunk * cols + col] = sb;
}

template <typename Tag>
__device__ void layer_norm_param_reduce(const float* __restrict__ partialGamma, const float* __restrict__ partialBeta,
                                        typename Dt<Tag>::storage* __restrict__ gradGamma, typename Dt<Tag>::storage* __restrict__ gradBeta,
                                        long long chunks, long long cols, int wantGamma, int wantBeta) {
    GRID_STRIDE_LOOP(col, cols) {
        float sg = 0.0f, sb = 0.0f;
        for (long long c = 0; c < chunks; c++) {
            sg += partialGamma[c * cols + col];
            sb += partialBeta[c * cols + col];
        }
        if (wantGamma) gradGamma[col] = Dt<Tag>::store(sg);
        if (wantBeta) gradBeta[col] = Dt<Tag>::store(sb);
    }
}

#define LAYER_NORM_ENTRIES(sfx, Tag)                                                                                      \
    extern "C" __global__ void layer_norm_forward_##sfx(const Dt<Tag>::storage* x, const Dt<Tag>::storage* gamma,         \
                                                        const Dt<Tag>::storage* beta, Dt<Tag>::storage* out, float* mean,  \
                                                        float* rstd, long long rows, long long cols, float eps,           \
                                                        int hasGamma, int hasBeta) {                                      \
        layer_norm_forward<Tag>(x, gamma, beta, out, mean, rstd, rows, cols, eps, hasGamma, hasBeta);                     \
    }                                                                                                                     \
    extern "C" __global__ void layer_norm_backward_dx_##sfx(const Dt<Tag>::storage* x, const Dt<Tag>::storage* gamma,     \
                                                            const float* mean, const float* rstd,                         \
                                                            const Dt<Tag>::storage* dy, Dt<Tag>::storage* dx,             \
                                                            long long rows, long long cols, int hasGamma) {               \
        layer_norm_backward_dx<Tag>(x, gamma, mean, rstd, dy, dx, rows, cols, hasGamma);                                  \
    }                                                                                                                     \
    extern "C" __global__ void layer_norm_param_partials_##sfx(const Dt<Tag>::storage* x, const float* mean,              \
                                                               const float* rstd, const Dt<Tag>::storage* dy,             \
                                                               float* partialGamma, float* partialBeta, long long rows,   \
                                                               long long cols, long long rowsPerChunk) {                  \
        layer_norm_param_partials<Tag>(x, mean, rstd, dy, partialGamma, partialBeta, rows, cols, rowsPerChunk);           \
    }                                                                                                                     \
    extern "C" __global__ void layer_norm_param_reduce_##sfx(const float* partialGamma, const float* partialBeta,         \
                                                             Dt<Tag>::storage* gradGamma, Dt<Tag>::storage* gradBeta,     \
                                                             long long chunks, long long cols, int wantGamma,             \
                                                             int wantBeta) {                                              \
        layer_norm_param_reduce<Tag>(partialGamma, partialBeta, gradGamma, gradBeta, chunks, cols, wantGamma, wantBeta);  \
    }

LAYER_NORM_ENTRIES(f32, float)
LAYER_NORM_ENTRIES(bf16, bf16_t)

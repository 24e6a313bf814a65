// Fused softmax cross-entropy per row of contiguous logits [rows, classes], with an ignore index
// and PyTorch's label smoothing s, fp32 math for every storage dtype; probabilities are never
// written to memory:
//   lse = log sum_j exp(x_j)   (online: a running max m and a sum rescaled whenever m grows)
//   loss = (1 - s) (lse - x_t) + s (lse - sum_j x_j / classes),  0 when t == ignoreIndex
//   dlogits_j = g (exp(x_j - lse) - (1 - s) [j == t] - s / classes),  0 when t == ignoreIndex
//
// Entry points (dt in f32, bf16; it in i32, i64; losses, lse and gradLosses fp32 [rows]):
//   cross_entropy_forward_<dt>_<it>(logits, targets, losses, lse, rows, classes, ignoreIndex, smoothing, err)
//       one block per row (grid-stride over rows); each thread folds its strided columns into
//       (max, rescaled sum, sum of logits), then the block combines the triples by warp
//       shuffles and one warp over the 32 per-warp partials (a fixed tree: reproducible).
//   cross_entropy_backward_<dt>_<it>(logits, targets, lse, gradLosses, gradLogits, rows, classes, ignoreIndex, smoothing, err)
//       one block per row, threads stride over the columns; no reduction.
// A target outside [0, classes) that is not ignoreIndex is reported through err (DEVICE_ERROR_INDEX;
// the host throws at its next synchronisation); that row's loss is NaN and its gradient zero.
// CPU reference: io.reg4rec.engine.cpu.CpuCrossEntropy.
#include "common.cuh"

struct SoftmaxFold {
    float m;     // running max
    float s;     // sum of exp(x - m)
    float sumX;  // sum of x (label smoothing)
};

__device__ __forceinline__ SoftmaxFold fold_combine(SoftmaxFold a, SoftmaxFold b) {
    SoftmaxFold r;
    r.sumX = a.sumX + b.sumX;
    if (b.m == -INFINITY) { r.m = a.m; r.s = a.s; return r; }
    if (a.m == -INFINITY) { r.m = b.m; r.s = b.s; return r; }
    if (b.m > a.m) { r.m = b.m; r.s = a.s * expf(a.m - b.m) + b.s; }
    else { r.m = a.m; r.s = a.s + b.s * expf(b.m - a.m); }
    return r;
}

__device__ __forceinline__ SoftmaxFold fold_shuffle(SoftmaxFold v, int delta) {
    SoftmaxFold o;
    o.m = __shfl_xor_sync(0xFFFFFFFFu, v.m, delta);
    o.s = __shfl_xor_sync(0xFFFFFFFFu, v.s, delta);
    o.sumX = __shfl_xor_sync(0xFFFFFFFFu, v.sumX, delta);
    return o;
}

template <typename I>
__device__ __forceinline__ bool target_in_range(I t, long long classes) {
    return (long long)t >= 0 && (long long)t < classes;
}

template <typename Tag, typename I>
__device__ void cross_entropy_forward(const typename Dt<Tag>::storage* __restrict__ logits, const I* __restrict__ targets,
                                      float* __restrict__ losses, float* __restrict__ lseOut, long long rows, long long classes,
                                      long long ignoreIndex, float smoothing, unsigned long long* err) {
    __shared__ float sm[32], ss[32], sx[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const typename Dt<Tag>::storage* xr = logits + row * classes;
        SoftmaxFold f = {-INFINITY, 0.0f, 0.0f};
        for (long long j = threadIdx.x; j < classes; j += blockDim.x) {
            float v = Dt<Tag>::load(xr[j]);
            f.sumX += v;
            if (v > f.m) {
                f.s = (f.m == -INFINITY ? 0.0f : f.s * expf(f.m - v)) + 1.0f;
                f.m = v;
            } else if (v != -INFINITY) {
                f.s += expf(v - f.m);
            }
        }
        for (int d = 16; d > 0; d >>= 1) f = fold_combine(f, fold_shuffle(f, d));
        if (lane == 0) { sm[warp] = f.m; ss[warp] = f.s; sx[warp] = f.sumX; }
        __syncthreads();
        if (warp == 0) {
            SoftmaxFold a = {-INFINITY, 0.0f, 0.0f};
            if (lane < warps) { a.m = sm[lane]; a.s = ss[lane]; a.sumX = sx[lane]; }
            for (int d = 16; d > 0; d >>= 1) a = fold_combine(a, fold_shuffle(a, d));
            if (lane == 0) {
                float lse = a.m + logf(a.s);
                I t = targets[row];
                float loss = 0.0f;
                if ((long long)t != ignoreIndex) {
                    if (!target_in_range(t, classes)) {
                        report_device_error(err, DEVICE_ERROR_INDEX, (long long)t, classes);
                        loss = __int_as_float(0x7FC00000);
                    } else {
                        loss = (1.0f - smoothing) * (lse - Dt<Tag>::load(xr[(long long)t]));
                        // only with smoothing: the mean logit may be -inf when classes are masked
                        if (smoothing > 0.0f) loss += smoothing * (lse - a.sumX / (float)classes);
                    }
                }
                losses[row] = loss;
                lseOut[row] = lse;
            }
        }
        __syncthreads();  // the shared partials are rewritten for the next row
    }
}

template <typename Tag, typename I>
__device__ void cross_entropy_backward(const typename Dt<Tag>::storage* __restrict__ logits, const I* __restrict__ targets,
                                       const float* __restrict__ lse, const float* __restrict__ gradLosses,
                                       typename Dt<Tag>::storage* __restrict__ gradLogits, long long rows, long long classes,
                                       long long ignoreIndex, float smoothing, unsigned long long* err) {
    float uniform = smoothing / (float)classes, onTarget = 1.0f - smoothing;
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const typename Dt<Tag>::storage* xr = logits + row * classes;
        typename Dt<Tag>::storage* gr = gradLogits + row * classes;
        I t = targets[row];
        bool ignored = (long long)t == ignoreIndex;
        bool bad = !ignored && !target_in_range(t, classes);
        if (bad && threadIdx.x == 0) report_device_error(err, DEVICE_ERROR_INDEX, (long long)t, classes);
        if (ignored || bad) {
            for (long long j = threadIdx.x; j < classes; j += blockDim.x) gr[j] = Dt<Tag>::store(0.0f);
            continue;
        }
        float g = gradLosses[row], s = lse[row];
        for (long long j = threadIdx.x; j < classes; j += blockDim.x) {
            float p = expf(Dt<Tag>::load(xr[j]) - s);
            float d = p - uniform - (j == (long long)t ? onTarget : 0.0f);
            gr[j] = Dt<Tag>::store(g * d);
        }
    }
}

#define CROSS_ENTROPY_ENTRIES_FOR(sfx, Tag, isfx, I)                                                                        \
    extern "C" __global__ void cross_entropy_forward_##sfx##_##isfx(const Dt<Tag>::storage* logits, const I* targets,      \
                                                                    float* losses, float* lse, long long rows,             \
                                                                    long long classes, long long ignoreIndex,              \
                                                                    float smoothing, unsigned long long* err) {           \
        cross_entropy_forward<Tag, I>(logits, targets, losses, lse, rows, classes, ignoreIndex, smoothing, err);            \
    }                                                                                                                       \
    extern "C" __global__ void cross_entropy_backward_##sfx##_##isfx(const Dt<Tag>::storage* logits, const I* targets,     \
                                                                     const float* lse, const float* gradLosses,            \
                                                                     Dt<Tag>::storage* gradLogits, long long rows,         \
                                                                     long long classes, long long ignoreIndex,             \
                                                                     float smoothing, unsigned long long* err) {          \
        cross_entropy_backward<Tag, I>(logits, targets, lse, gradLosses, gradLogits, rows, classes, ignoreIndex,            \
                                       smoothing, err);                                                                     \
    }

CROSS_ENTROPY_ENTRIES_FOR(f32, float, i32, int32_t)
CROSS_ENTROPY_ENTRIES_FOR(f32, float, i64, int64_t)
CROSS_ENTROPY_ENTRIES_FOR(bf16, bf16_t, i32, int32_t)
CROSS_ENTROPY_ENTRIES_FOR(bf16, bf16_t, i64, int64_t)

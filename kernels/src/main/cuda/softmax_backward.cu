// Backward of softmax / log-softmax along the last axis of contiguous [rows, len] tensors, from
// the forward's output y and the output gradient g (both contiguous, same dtype):
//   softmax:      out = y * (g - s),        s = sum_j g_j y_j
//   log-softmax:  out = g - exp(y) * s,     s = sum_j g_j
// The sum accumulates in fp32 over the row (each lane strides the row, then a warp-shuffle tree:
// a fixed order, so repeated runs give identical bits); each output is computed in fp32 and
// rounded once to the dtype.
//
// Entry points: softmax_backward_<dt>(const T* y, const T* g, T* out, long long rows, long long len,
// int log), dt in f32, bf16.
// Work split: one warp per row (8 warps per 256-thread block, grid-stride over rows); rows in
// attention are short (tens of keys), so a warp keeps every lane busy without block reductions.
// CPU reference: io.reg4rec.engine.cpu.CpuSoftmaxBackward.
#include "common.cuh"

template <typename Tag>
__device__ void softmax_backward_kernel(const typename Dt<Tag>::storage* __restrict__ y,
                                        const typename Dt<Tag>::storage* __restrict__ g,
                                        typename Dt<Tag>::storage* __restrict__ out,
                                        long long rows, long long len, int log) {
    int lane = threadIdx.x & 31;
    long long warpsPerGrid = (long long)gridDim.x * (blockDim.x >> 5);
    for (long long r = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warpsPerGrid) {
        const typename Dt<Tag>::storage* yr = y + r * len;
        const typename Dt<Tag>::storage* gr = g + r * len;
        float s = 0.0f;
        for (long long j = lane; j < len; j += 32) {
            float gj = Dt<Tag>::load(gr[j]);
            s = log ? __fadd_rn(s, gj) : __fadd_rn(s, __fmul_rn(gj, Dt<Tag>::load(yr[j])));
        }
        for (int d = 16; d > 0; d >>= 1) s = __fadd_rn(s, __shfl_xor_sync(0xFFFFFFFFu, s, d));
        for (long long j = lane; j < len; j += 32) {
            float yj = Dt<Tag>::load(yr[j]), gj = Dt<Tag>::load(gr[j]);
            float v = log ? __fsub_rn(gj, __fmul_rn(expf(yj), s)) : __fmul_rn(yj, __fsub_rn(gj, s));
            out[r * len + j] = Dt<Tag>::store(v);
        }
    }
}

#define SOFTMAX_BACKWARD_ENTRY(sfx, Tag)                                                                       \
    extern "C" __global__ void softmax_backward_##sfx(const Dt<Tag>::storage* y, const Dt<Tag>::storage* g,   \
                                                      Dt<Tag>::storage* out, long long rows, long long len,   \
                                                      int log) {                                              \
        softmax_backward_kernel<Tag>(y, g, out, rows, len, log);                                              \
    }

SOFTMAX_BACKWARD_ENTRY(f32, float)
SOFTMAX_BACKWARD_ENTRY(bf16, bf16_t)

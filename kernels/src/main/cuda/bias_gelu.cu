// Bias plus GELU (tanh approximation, as elementwise.cu's U_GELU / U_GELU_GRAD) over contiguous
// [rows, cols], forward and backward, so a feed-forward block's bias add, activation and
// activation gradient are one kernel each way:
//   forward:   t = x + bias[j] (fp32, one rounding), out = 0.5 t (1 + tanh(c (t + a t^3)))
//   backward:  t as above, out = g * gelu'(t), gelu'(t) = 0.5 (1 + th) + 0.5 t (1 - th^2) c (1 + 3 a t^2)
// c = sqrt(2 / pi), a = 0.044715; all math in fp32, the result rounded once to the dtype; bias
// may be null (then t = x).
//
// Entry points (dt in f32, bf16; all pointers contiguous, bias [cols] or null):
//   bias_gelu_<dt>(const T* x, const T* bias, T* out, long long n, long long cols)
//   bias_gelu_backward_<dt>(const T* x, const T* bias, const T* g, T* out, long long n, long long cols)
// Work split: 1-D grid-stride loop over the n = rows * cols elements, one per thread per step.
// CPU reference: io.reg4rec.engine.cpu.CpuBiasGelu.
#include "common.cuh"

#define BIAS_GELU_C 0.7978845608028654f  // sqrt(2 / pi)
#define BIAS_GELU_A 0.044715f

template <typename Tag>
__device__ __forceinline__ float biased(const typename Dt<Tag>::storage* x, const typename Dt<Tag>::storage* bias,
                                        long long i, long long cols) {
    float t = Dt<Tag>::load(x[i]);
    return bias == nullptr ? t : __fadd_rn(t, Dt<Tag>::load(bias[i % cols]));
}

template <typename Tag>
__device__ void bias_gelu_kernel(const typename Dt<Tag>::storage* __restrict__ x, const typename Dt<Tag>::storage* __restrict__ bias,
                                 typename Dt<Tag>::storage* __restrict__ out, long long n, long long cols) {
    GRID_STRIDE_LOOP(i, n) {
        float t = biased<Tag>(x, bias, i, cols);
        float th = tanhf(BIAS_GELU_C * (t + BIAS_GELU_A * t * t * t));
        out[i] = Dt<Tag>::store(0.5f * t * (1.0f + th));
    }
}

template <typename Tag>
__device__ void bias_gelu_backward_kernel(const typename Dt<Tag>::storage* __restrict__ x, const typename Dt<Tag>::storage* __restrict__ bias,
                                          const typename Dt<Tag>::storage* __restrict__ g, typename Dt<Tag>::storage* __restrict__ out,
                                          long long n, long long cols) {
    GRID_STRIDE_LOOP(i, n) {
        float t = biased<Tag>(x, bias, i, cols);
        float th = tanhf(BIAS_GELU_C * (t + BIAS_GELU_A * t * t * t));
        float dudx = BIAS_GELU_C * (1.0f + 3.0f * BIAS_GELU_A * t * t);
        float d = 0.5f * (1.0f + th) + 0.5f * t * (1.0f - th * th) * dudx;
        out[i] = Dt<Tag>::store(__fmul_rn(Dt<Tag>::load(g[i]), d));
    }
}

#define BIAS_GELU_ENTRIES(sfx, Tag)                                                                                  \
    extern "C" __global__ void bias_gelu_##sfx(const Dt<Tag>::storage* x, const Dt<Tag>::storage* bias,              \
                                               Dt<Tag>::storage* out, long long n, long long cols) {                 \
        bias_gelu_kernel<Tag>(x, bias, out, n, cols);                                                                \
    }                                                                                                                \
    extern "C" __global__ void bias_gelu_backward_##sfx(const Dt<Tag>::storage* x, const Dt<Tag>::storage* bias,     \
                                                        const Dt<Tag>::storage* g, Dt<Tag>::storage* out,            \
                                                        long long n, long long cols) {                               \
        bias_gelu_backward_kernel<Tag>(x, bias, g, out, n, cols);                                                    \
    }

BIAS_GELU_ENTRIES(f32, float)
BIAS_GELU_ENTRIES(bf16, bf16_t)

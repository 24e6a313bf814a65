// Fused inverted dropout: out[i] = x[i] * (keep(i) ? scale : 0) (so -0 and NaN survive a drop, as
// with a 0/1 mask) with keep(i) = uniform(seed, i) >= p,
// the counter-based uniform of io.reg4rec.engine.CounterRng (SplitMix64 finaliser of
// seed + (i + 1) * 0x9E3779B97F4A7C15, top 24 bits times 2^-24), compared with p in fp64 (exact:
// u has 24 significant bits). scale = 1 / (1 - p) rounded to fp32 by the caller; the product is
// one fp32 multiply (__fmul_rn), rounded to the storage dtype. The mask is never stored: the
// backward pass calls the same kernel on the output gradient with the same seed.
//
// With a bias (not null, [cols]): x[i] + bias[i % cols] (fp32, one rounding) replaces x[i]. With a
// residual (not null): out[i] = residual[i] + that product, one more fp32 rounding (__fadd_rn), so
// "h + dropout(y W^T + b)" of a residual block is one kernel after the GEMM.
//
// Entry points: dropout_<dt>(const T* x, const T* bias, long long cols, const T* residual, T* out,
// long long seed, double p, float scale, long long n), dt in f32, bf16; all contiguous, bias and
// residual may be null.
// Work split: 1-D grid-stride loop, one element per thread per iteration (memory bound:
// one read and one write per element).
// CPU reference: io.reg4rec.engine.cpu.CpuDropout.
#include "common.cuh"

__device__ __forceinline__ unsigned long long dropout_mix(unsigned long long seed, unsigned long long counter) {
    unsigned long long z = seed + (counter + 1ull) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

template <typename Tag>
__device__ void dropout_kernel(const typename Dt<Tag>::storage* __restrict__ x, const typename Dt<Tag>::storage* bias,
                               long long cols, const typename Dt<Tag>::storage* residual,
                               typename Dt<Tag>::storage* out, long long seed, double p, float scale, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        float u = (float)(dropout_mix((unsigned long long)seed, (unsigned long long)i) >> 40) * 0x1.0p-24f;
        float xi = Dt<Tag>::load(x[i]);
        if (bias != nullptr) xi = __fadd_rn(xi, Dt<Tag>::load(bias[i % cols]));
        float v = __fmul_rn(xi, (double)u >= p ? scale : 0.0f);
        if (residual != nullptr) v = __fadd_rn(Dt<Tag>::load(residual[i]), v);
        out[i] = Dt<Tag>::store(v);
    }
}

#define DROPOUT_ENTRY(sfx, Tag)                                                                      \
    extern "C" __global__ void dropout_##sfx(const Dt<Tag>::storage* x, const Dt<Tag>::storage* bias,     \
                                             long long cols, const Dt<Tag>::storage* residual,              \
                                             Dt<Tag>::storage* out, long long seed, double p, float scale,  \
                                             long long n) {                                                 \
        dropout_kernel<Tag>(x, bias, cols, residual, out, seed, p, scale, n);                               \
    }

DROPOUT_ENTRY(f32, float)
DROPOUT_ENTRY(bf16, bf16_t)

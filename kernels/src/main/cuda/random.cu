// Counter-based random fills, the same generator as io.reg4rec.engine.CounterRng: element i of a
// fill seeded with s depends only on (s, i), so the result is independent of the launch shape.
//   mix(s, c)   = SplitMix64 finaliser of s + (c + 1) * 0x9E3779B97F4A7C15
//   uniform     = (mix >> 40) * 2^-24                      (fp32, exact)
//   normal(i)   = sqrt(-2 ln(1 - u1)) * cos(2 pi u2),      u1 = uniform(2i), u2 = uniform(2i + 1), in fp64
// UNIFORM on [a, b): a + (b - a) * u;  NORMAL(mean a, std b): a + b * z; both in fp64, then the
// dtype's store rule (fp32 round, then bf16 / fp8 RNE).
//
// Entry points: random_uniform_<dt>(T* out, long long seed, double a, double b, long long n) and
// random_normal_<dt>(...), dt in f32, bf16, e4m3, e5m2; out contiguous.
// Work split: 1-D grid-stride loop, one element per thread per iteration.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#random over CounterRng.
#include "common.cuh"

__device__ __forceinline__ unsigned long long rng_mix(unsigned long long seed, unsigned long long counter) {
    unsigned long long z = seed + (counter + 1ull) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

__device__ __forceinline__ float rng_uniform(unsigned long long seed, unsigned long long counter) {
    return (float)(rng_mix(seed, counter) >> 40) * 0x1.0p-24f;
}

__device__ __forceinline__ float rng_normal(unsigned long long seed, unsigned long long counter) {
    float u1 = rng_uniform(seed, 2ull * counter);
    float u2 = rng_uniform(seed, 2ull * counter + 1ull);
    double r = sqrt(-2.0 * log(1.0 - (double)u1));
    return (float)(r * cos(2.0 * 3.141592653589793 * (double)u2));
}

template <typename Tag>
__device__ void uniform_kernel(typename Dt<Tag>::storage* __restrict__ out, long long seed, double a, double b, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        float u = rng_uniform((unsigned long long)seed, (unsigned long long)i);
        out[i] = Dt<Tag>::store((float)(a + (b - a) * (double)u));
    }
}

template <typename Tag>
__device__ void normal_kernel(typename Dt<Tag>::storage* __restrict__ out, long long seed, double a, double b, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        float z = rng_normal((unsigned long long)seed, (unsigned long long)i);
        out[i] = Dt<Tag>::store((float)(a + b * (double)z));
    }
}

#define RANDOM_ENTRIES(sfx, Tag)                                                                       \
    extern "C" __global__ void random_uniform_##sfx(Dt<Tag>::storage* out, long long seed, double a,   \
                                                    double b, long long n) {                           \
        uniform_kernel<Tag>(out, seed, a, b, n);                                                       \
    }                                                                                                  \
    extern "C" __global__ void random_normal_##sfx(Dt<Tag>::storage* out, long long seed, double a,    \
                                                   double b, long long n) {                            \
        normal_kernel<Tag>(out, seed, a, b, n);                                                        \
    }

FOR_FLOAT_DTYPES(RANDOM_ENTRIES)

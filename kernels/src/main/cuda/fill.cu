// Fill: out[i] = value for a contiguous tensor of n elements.
//
// Entry points: fill_<dt>(T* out, float valueF, long long valueI, long long n) for
// f32, bf16, e4m3, e5m2 (valueF rounded by the dtype's store rule) and i32, i64 (valueI).
//
// Work split: 1-D grid-stride loop, one element per thread per iteration.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#fill.
#include "common.cuh"

template <typename Tag>
__device__ void fill_kernel(typename Dt<Tag>::storage* __restrict__ out, typename Dt<Tag>::storage v, long long n) {
    GRID_STRIDE_LOOP(i, n) out[i] = v;
}

#define FILL_FLOAT(sfx, Tag)                                                                          \
    extern "C" __global__ void fill_##sfx(Dt<Tag>::storage* out, float vf, long long vi, long long n) { \
        fill_kernel<Tag>(out, Dt<Tag>::store(vf), n);                                                 \
    }
#define FILL_INT(sfx, Tag)                                                                            \
    extern "C" __global__ void fill_##sfx(Dt<Tag>::storage* out, float vf, long long vi, long long n) { \
        fill_kernel<Tag>(out, (Dt<Tag>::storage)vi, n);                                               \
    }

FOR_FLOAT_DTYPES(FILL_FLOAT)
FOR_INT_DTYPES(FILL_INT)

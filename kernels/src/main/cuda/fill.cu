// Fill: out[i] = bits for a contiguous tensor of n elements. The host encodes the value into the
// dtype's bit pattern (with the CPU reference's rounding), so the kernel only moves bits.
//
// Entry points: fill_b1(uint8_t*, ...), fill_b2, fill_b4, fill_b8, each
//   (T* out, unsigned long long bits, long long n)
// Work split: 1-D grid-stride loop, one element per thread per iteration.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#fill.
#include "common.cuh"

template <typename T>
__device__ void fill_kernel(T* __restrict__ out, T v, long long n) {
    GRID_STRIDE_LOOP(i, n) out[i] = v;
}

#define FILL_ENTRY(bytes, T)                                                                           \
    extern "C" __global__ void fill_b##bytes(T* out, unsigned long long bits, long long n) {          \
        fill_kernel<T>(out, (T)bits, n);                                                               \
    }

FILL_ENTRY(1, uint8_t)
FILL_ENTRY(2, uint16_t)
FILL_ENTRY(4, uint32_t)
FILL_ENTRY(8, unsigned long long)

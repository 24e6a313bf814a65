// Fused AdamW: one launch updates a whole flat fp32 parameter buffer and its two moment buffers
// in place (decoupled weight decay, as PyTorch's AdamW):
//   m = b1 m + (1 - b1) g
//   v = b2 v + (1 - b2) g g
//   p = p (1 - lr wd) - (m / (sqrt(v / (1 - b2^t)) + eps)) (lr / (1 - b1^t))
//
// Entry point:
//   adamw_f32(float* p, const float* g, float* m, float* v, long long n,
//             float b1, float omb1, float b2, float omb2, float correction2, float eps,
//             float step_size, float decay)
// The scalars are the fp32 coefficients of io.reg4rec.engine.AdamWHyper#coefficients (omb1 =
// 1 - b1, correction2 = 1 - b2^t, step_size = lr / (1 - b1^t), decay = 1 - lr wd, exactly 1
// without decay). Every operation is rounded to fp32 in the order written above with the _rn
// intrinsics, which also keep nvcc from contracting a*b+c into an FMA, so results equal the CPU
// reference bit for bit.
//
// Work split: a 1-D grid-stride loop, one element per thread per iteration; each element is
// independent (read g, m, v, p once; write m, v, p once), so the kernel is bound by memory
// bandwidth (28 bytes per element).
// p, g, m and v are distinct buffers of n elements.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#adamwStep.
#include "common.cuh"
#include "adamw.cuh"

extern "C" __global__ void adamw_f32(float* p, const float* g, float* m,
                                     float* v, long long n, float b1, float omb1, float b2, float omb2,
                                     float correction2, float eps, float step_size, float decay) {
    GRID_STRIDE_LOOP(i, n) {
        adamw_element(p[i], g[i], m[i], v[i], b1, omb1, b2, omb2, correction2, eps, step_size, decay);
    }
}

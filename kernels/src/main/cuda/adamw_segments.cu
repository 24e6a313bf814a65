// Fused AdamW over many parameters in one launch (the multi-tensor form of adamw.cu, same
// formula and fp32 rounding, bit for bit):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g g
//   p = p (1 - lr wd) - (m / (sqrt(v / (1 - b2^t)) + eps)) (lr / (1 - b1^t))
// Parameters and gradients stay where they are; a table gives, per segment s, the addresses of
// its parameter and gradient and its first element in the flat moments m and v.
//
// Entry point:
//   adamw_segments_f32(const long long* table, int segments, float* m, float* v, long long n,
//                      float b1, float omb1, float b2, float omb2, float correction2, float eps,
//                      float step_size, float decay)
// table: 3 * segments long longs, (param address, grad address, start) per segment, starts
// increasing from 0; segment s covers flat elements [start_s, start_{s+1}) (the last ends at n).
// Work split: 1-D grid-stride loop over the n flat elements; each thread finds its element's
// segment by binary search over the starts, which the block first copies into shared memory
// (dynamic, 8 bytes per segment: the launcher caps segments per launch at 4096).
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#adamwStepSegments (adamwStep per segment).
#include "common.cuh"
#include "adamw.cuh"

extern "C" __global__ void adamw_segments_f32(const long long* __restrict__ table, int segments, float* m, float* v,
                                              long long n, float b1, float omb1, float b2, float omb2,
                                              float correction2, float eps, float step_size, float decay) {
    extern __shared__ long long starts[];
    for (int s = threadIdx.x; s < segments; s += blockDim.x) starts[s] = table[3 * s + 2];
    __syncthreads();
    GRID_STRIDE_LOOP(i, n) {
        int lo = 0, hi = segments - 1;   // the last segment whose start <= i
        while (lo < hi) {
            int mid = (lo + hi + 1) >> 1;
            if (starts[mid] <= i) lo = mid; else hi = mid - 1;
        }
        float* p = (float*)table[3 * lo];
        const float* g = (const float*)table[3 * lo + 1];
        long long j = i - starts[lo];
        adamw_element(p[j], g[j], m[i], v[i], b1, omb1, b2, omb2, correction2, eps, step_size, decay);
    }
}

// Fused AdamW over many parameters in one launch (the multi-tensor form of adamw.cu, same
// formula and fp32 rounding, bit for bit):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g g
//   p = p (1 - lr wd) - (m / (sqrt(v / (1 - b2^t)) + eps)) (lr / (1 - b1^t))
// The clipped entry point first scales every gradient element by the global-norm clip factor
//   c = min(1, max_norm / (sqrt(sum_of_squares[0]) + 1e-6))      (fp32, adamw.cuh clip_scale)
// read from a device scalar (no host round trip), as clip_grad_norm_ followed by the step; the
// gradients in memory are left unchanged.
// Parameters and gradients stay where they are; a table gives, per segment s, the addresses of
// its parameter and gradient and its first element in the flat moments m and v.
//
// Entry points:
//   adamw_segments_f32(const long long* table, int segments, float* m, float* v, long long n,
//                      float b1, float omb1, float b2, float omb2, float correction2, float eps,
//                      float step_size, float decay)
//   adamw_segments_clipped_f32(... the same ..., const float* sum_of_squares, float max_norm)
// table: 3 * segments long longs, (param address, grad address, start) per segment, starts
// increasing from 0; segment s covers flat elements [start_s, start_{s+1}) (the last ends at n).
// Work split: 1-D grid-stride loop over the n flat elements; each thread finds its element's
// segment by binary search over the starts, which the block first copies into shared memory
// (dynamic, 8 bytes per segment: the launcher caps segments per launch at 4096; segments.cuh).
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#adamwStepSegments (adamwStep per segment) and
// io.reg4rec.engine.cpu.CpuGradNorm#adamwStepSegmentsClipped.
#include "common.cuh"
#include "adamw.cuh"
#include "segments.cuh"

template <bool CLIP>
__device__ __forceinline__ void adamw_segments(const long long* __restrict__ table, int segments, float* m, float* v,
                                               long long n, float b1, float omb1, float b2, float omb2, float correction2,
                                               float eps, float step_size, float decay, float scale) {
    extern __shared__ long long starts[];
    load_segment_starts<3>(table, segments, starts);
    __syncthreads();
    GRID_STRIDE_LOOP(i, n) {
        int s = segment_of(starts, segments, i);
        float* p = (float*)table[3 * s];
        const float* g = (const float*)table[3 * s + 1];
        long long j = i - starts[s];
        float gj = CLIP ? __fmul_rn(g[j], scale) : g[j];
        adamw_element(p[j], gj, m[i], v[i], b1, omb1, b2, omb2, correction2, eps, step_size, decay);
    }
}

extern "C" __global__ void adamw_segments_f32(const long long* __restrict__ table, int segments, float* m, float* v,
                                              long long n, float b1, float omb1, float b2, float omb2,
                                              float correction2, float eps, float step_size, float decay) {
    adamw_segments<false>(table, segments, m, v, n, b1, omb1, b2, omb2, correction2, eps, step_size, decay, 1.0f);
}

extern "C" __global__ void adamw_segments_clipped_f32(const long long* __restrict__ table, int segments, float* m,
                                                      float* v, long long n, float b1, float omb1, float b2, float omb2,
                                                      float correction2, float eps, float step_size, float decay,
                                                      const float* __restrict__ sum_of_squares, float max_norm) {
    float scale = clip_scale(sum_of_squares[0], max_norm);
    adamw_segments<true>(table, segments, m, v, n, b1, omb1, b2, omb2, correction2, eps, step_size, decay, scale);
}

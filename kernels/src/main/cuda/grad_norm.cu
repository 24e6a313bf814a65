// Sum of squares over many fp32 tensors in one launch, for the global gradient norm:
//   out[0] = (accumulate ? out[0] : 0) + sum_s sum_j x_s[j]^2
// deterministic: the reduction order depends only on n, the segment table and the grid size,
// never on timing, so equal inputs give equal bits.
//
// Entry point:
//   sum_of_squares_segments_f32(const long long* table, int segments, long long n,
//                               unsigned int* blocks_done, float* partials, float* out, int accumulate)
// table: 2 * segments long longs, (address, start) per segment: the segment table of
// adamw_segments.cu without the gradient column (segments.cuh); segment s covers flat elements
// [start_s, start_{s+1}), the last ends at n. blocks_done is a zeroed counter, partials holds
// gridDim.x floats of scratch.
// Work split: 1-D grid-stride loop over the n flat elements (each element's segment by binary
// search over the starts, copied into dynamic shared memory: 8 bytes per segment, the launcher
// caps segments per launch at 4096). Each thread accumulates its elements in fp32 (fma, in loop
// order), the block adds its threads' sums by a fixed shared-memory tree and writes one fp32
// partial; the block that finishes last (a fenced atomic counter) adds the gridDim.x partials in
// block order, by the same strided loop and tree, and writes out[0]. One launch, no second kernel.
// CPU reference: io.reg4rec.engine.cpu.CpuGradNorm#sumOfSquaresSegments (in double, then rounded).
#include "common.cuh"
#include "segments.cuh"

#define GRAD_NORM_BLOCK 256

// Sum of the block's values by a fixed tree (the same pairs every time); the result in thread 0.
__device__ __forceinline__ float block_sum(float value, float* scratch) {
    scratch[threadIdx.x] = value;
    __syncthreads();
#pragma unroll
    for (int width = GRAD_NORM_BLOCK / 2; width > 0; width >>= 1) {
        if (threadIdx.x < width) scratch[threadIdx.x] = __fadd_rn(scratch[threadIdx.x], scratch[threadIdx.x + width]);
        __syncthreads();
    }
    return scratch[0];
}

extern "C" __global__ void __launch_bounds__(GRAD_NORM_BLOCK)
sum_of_squares_segments_f32(const long long* __restrict__ table, int segments, long long n, unsigned int* blocks_done,
                            float* partials, float* out, int accumulate) {
    extern __shared__ long long starts[];
    __shared__ float scratch[GRAD_NORM_BLOCK];
    __shared__ bool last_block;
    load_segment_starts<2>(table, segments, starts);
    __syncthreads();
    float sum = 0.0f;
    GRID_STRIDE_LOOP(i, n) {
        int s = segment_of(starts, segments, i);
        float x = ((const float*)table[2 * s])[i - starts[s]];
        sum = __fmaf_rn(x, x, sum);
    }
    float mine = block_sum(sum, scratch);
    if (threadIdx.x == 0) {
        partials[blockIdx.x] = mine;
        __threadfence();   // the partial is visible device-wide before the counter says so
        last_block = atomicAdd(blocks_done, 1u) == gridDim.x - 1;
    }
    __syncthreads();
    if (!last_block) return;
    // every other block's partial is written and fenced; read them from L2 (not a stale L1 line)
    float total = 0.0f;
    for (int b = threadIdx.x; b < (int)gridDim.x; b += blockDim.x) total = __fadd_rn(total, __ldcg(partials + b));
    __syncthreads();   // scratch is reused
    total = block_sum(total, scratch);
    if (threadIdx.x == 0) out[0] = accumulate ? __fadd_rn(out[0], total) : total;
}

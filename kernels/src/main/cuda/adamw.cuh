// One AdamW element update in fp32, shared by adamw.cu and adamw_segments.cu so both round
// exactly alike (the _rn intrinsics also keep nvcc from contracting a*b+c into an FMA):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g g
//   p = p decay - (m / (sqrt(v / correction2) + eps)) step_size
#pragma once

__device__ __forceinline__ void adamw_element(float& p, float g, float& m, float& v, float b1, float omb1, float b2,
                                              float omb2, float correction2, float eps, float step_size, float decay) {
    float mi = __fadd_rn(__fmul_rn(m, b1), __fmul_rn(g, omb1));
    float vi = __fadd_rn(__fmul_rn(v, b2), __fmul_rn(__fmul_rn(g, g), omb2));
    m = mi;
    v = vi;
    float denominator = __fadd_rn(__fsqrt_rn(__fdiv_rn(vi, correction2)), eps);
    float step = __fmul_rn(__fdiv_rn(mi, denominator), step_size);
    p = __fsub_rn(__fmul_rn(p, decay), step);
}

// The factor clip_grad_norm_ scales every gradient by, from the sum of squares of all of them:
//   c = min(1, max_norm / (sqrt(sum_of_squares) + 1e-6))
// each operation rounded to fp32 in that order. A NaN norm gives a NaN factor (as torch.clamp),
// so a poisoned step shows up in the parameters instead of being silently taken unclipped.
__device__ __forceinline__ float clip_scale(float sum_of_squares, float max_norm) {
    float factor = __fdiv_rn(max_norm, __fadd_rn(__fsqrt_rn(sum_of_squares), 1e-6f));
    return factor > 1.0f ? 1.0f : factor;
}

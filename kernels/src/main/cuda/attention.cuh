// Shared by the fused attention kernel files (attention.cu: tiled / decode; attention_short.cu:
// key sets of at most 64): the argument struct passed by value from Java (CudaAttention#args),
// constants of the base-2 softmax and the key mask.
#pragma once
#include "common.cuh"

struct AttnArgs {
    long long batch, heads, tq, tk;
    long long q[3], k[3], v[3], o[3], g[3];  // batch, head, time strides (elements) of q, k, v, out, gradOut
    long long pad[2];                        // batch and key strides of the padding mask
};

#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

// 0 for a key that exists and is not padded, -inf otherwise.
__device__ __forceinline__ float key_bias(const float* pad, const AttnArgs& a, long long b, long long j) {
    if (j >= a.tk) return -INFINITY;
    if (pad != nullptr && pad[b * a.pad[0] + j * a.pad[1]] != 0.f) return -INFINITY;
    return 0.f;
}

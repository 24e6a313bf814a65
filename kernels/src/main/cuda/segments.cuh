// Segment tables of the multi-tensor kernels (adamw_segments.cu, grad_norm.cu): tensors stay
// where they are, and a table of long longs gives, per segment, WIDTH columns whose last is the
// segment's first element in the flat index space (starts increasing from 0; segment s covers
// [start_s, start_{s+1}), the last ends at n). Each block copies the starts into shared memory
// and every element finds its segment by binary search over them.
#pragma once

// Copies the starts (column WIDTH - 1 of the table) into shared memory; the caller syncs.
template <int WIDTH>
__device__ __forceinline__ void load_segment_starts(const long long* __restrict__ table, int segments, long long* starts) {
    for (int s = threadIdx.x; s < segments; s += blockDim.x) starts[s] = table[WIDTH * s + WIDTH - 1];
}

// The last segment whose start is <= i.
__device__ __forceinline__ int segment_of(const long long* starts, int segments, long long i) {
    int lo = 0, hi = segments - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= i) lo = mid; else hi = mid - 1;
    }
    return lo;
}

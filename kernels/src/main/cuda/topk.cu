// Top-k along the rows of a contiguous [rows, n] tensor: per row the k largest values in
// descending order and their column indices (I32). Order: NaN (any payload) above +inf, -0.0
// equal to +0.0, equal values by ascending index, so the result is deterministic and equals the
// CPU reference bit for bit (values are the selected elements' own bits).
//
// Each value maps to an unsigned order key (float bits; negatives inverted, positives with the
// sign bit set; NaN -> 0xFFFFFFFF, zeros -> 0x80000000) whose unsigned order is the order above.
// Per row:
//   1. radix select of the k-th largest key, 8 bits per pass from the top (4 passes for f32, 2
//      for bf16, whose keys only differ in the top 16 bits): a 256-bin shared-memory histogram of
//      the keys that match the digits chosen so far (warp-aggregated with __match_any_sync, so a
//      narrow value range does not serialise on one bin), then a block scan from the top bin
//      picks the bin holding the k-th key. It stops early once every key of the chosen bin is
//      needed. Then "above" = masked key > prefix (all taken) and "tie" = masked key == prefix
//      (the `desired` lowest-index ones taken).
//   2. gather in index order, one block-sized chunk at a time, positions from a block-wide
//      exclusive scan (no atomics): survivors land in a shared buffer of (key, index) pairs.
//   3. bitonic sort of the buffer (size: the next power of two >= k, padded with index INT_MAX)
//      by (key desc, index asc); the first k pairs are written out.
//
// Entry points: topk_<dt>(const T* x, T* values, int* indices, long long rows, int n, int k,
// int sort_size, int cached), dt in f32, bf16. Dynamic shared memory: sort_size keys and
// sort_size indices, then n keys when cached != 0 (the row's keys are computed once into shared
// memory and every pass reads them there; otherwise each pass re-reads the row from global memory).
// Work split: one block per row (grid-stride over rows); blockDim a multiple of 32, 256 to 1024.
// CPU reference: io.reg4rec.engine.cpu.CpuTopK.
#include "common.cuh"

#define TOPK_BINS 256

__device__ __forceinline__ uint32_t topk_order_key(uint32_t bits) {
    uint32_t mag = bits & 0x7FFFFFFFu;
    if (mag > 0x7F800000u) return 0xFFFFFFFFu;
    if (mag == 0u) return 0x80000000u;
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

template <typename Tag> struct TopKKey;
template <> struct TopKKey<float> {
    static const int PASSES = 4;
    static __device__ __forceinline__ uint32_t of(float v) { return topk_order_key(__float_as_uint(v)); }
};
template <> struct TopKKey<bf16_t> {
    static const int PASSES = 2;
    static __device__ __forceinline__ uint32_t of(bf16_t v) { return topk_order_key((uint32_t)v << 16); }
};

// Exclusive prefix sum of v over the block in thread order; total receives the block's sum.
// Every thread of the block must call it; warp_sums holds 32 ints.
__device__ __forceinline__ int topk_block_exclusive_scan(int v, int* warp_sums, int& total) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    int incl = v;
#pragma unroll
    for (int d = 1; d < 32; d <<= 1) {
        int t = __shfl_up_sync(0xFFFFFFFFu, incl, d);
        if (lane >= d) incl += t;
    }
    if (lane == 31) warp_sums[warp] = incl;
    __syncthreads();
    if (warp == 0) {
        int s = lane < warps ? warp_sums[lane] : 0;
#pragma unroll
        for (int d = 1; d < 32; d <<= 1) {
            int t = __shfl_up_sync(0xFFFFFFFFu, s, d);
            if (lane >= d) s += t;
        }
        warp_sums[lane] = s;
    }
    __syncthreads();
    int before = warp > 0 ? warp_sums[warp - 1] : 0;
    total = warp_sums[warps - 1];
    __syncthreads();  // warp_sums is free for the next scan
    return before + incl - v;
}

// Whether (ka, ia) comes before (kb, ib) in the output: a larger key, or an equal key and a lower index.
__device__ __forceinline__ bool topk_before(uint32_t ka, int ia, uint32_t kb, int ib) {
    return ka > kb || (ka == kb && ia < ib);
}

template <typename Tag>
__device__ void topk_kernel(const typename Dt<Tag>::storage* __restrict__ x, typename Dt<Tag>::storage* __restrict__ values,
                            int* __restrict__ indices, long long rows, int n, int k, int sort_size, int cached) {
    extern __shared__ uint32_t topk_shared[];
    uint32_t* sort_keys = topk_shared;
    int* sort_index = (int*)(topk_shared + sort_size);
    uint32_t* row_keys = topk_shared + 2 * sort_size;
    __shared__ int hist[TOPK_BINS];
    __shared__ int warp_sums[32];
    __shared__ uint32_t chosen_digit;
    __shared__ int chosen_desired, chosen_count;

    const int tid = threadIdx.x, lane = tid & 31, bd = blockDim.x;
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const typename Dt<Tag>::storage* xr = x + row * n;
        if (cached) {
            for (int j = tid; j < n; j += bd) row_keys[j] = TopKKey<Tag>::of(xr[j]);
        }
        __syncthreads();

        // 1. radix select
        uint32_t prefix = 0u, mask = 0u;
        int desired = k;
        for (int pass = 0; pass < TopKKey<Tag>::PASSES; pass++) {
            const int shift = 24 - 8 * pass;
            for (int b = tid; b < TOPK_BINS; b += bd) hist[b] = 0;
            __syncthreads();
            for (int base = 0; base < n; base += bd) {  // the same trip count for every lane: warp-wide intrinsics below
                int j = base + tid;
                uint32_t key = 0u;
                if (j < n) key = cached ? row_keys[j] : TopKKey<Tag>::of(xr[j]);
                bool match = j < n && (key & mask) == prefix;
                unsigned matching = __ballot_sync(0xFFFFFFFFu, match);
                if (match) {
                    uint32_t digit = (key >> shift) & 0xFFu;
                    unsigned peers = __match_any_sync(matching, digit);
                    if (lane == __ffs(peers) - 1) atomicAdd(&hist[digit], __popc(peers));
                }
            }
            __syncthreads();
            // threads 0..255 hold the bins from the top digit down; the scan counts keys at or above each
            int count = tid < TOPK_BINS ? hist[TOPK_BINS - 1 - tid] : 0, total;
            int above = topk_block_exclusive_scan(count, warp_sums, total);
            if (tid < TOPK_BINS && above < desired && above + count >= desired) {
                chosen_digit = (uint32_t)(TOPK_BINS - 1 - tid);
                chosen_desired = desired - above;
                chosen_count = count;
            }
            __syncthreads();
            prefix |= chosen_digit << shift;
            mask |= 0xFFu << shift;
            desired = chosen_desired;
            if (chosen_count == desired) break;  // every key of the bin is taken: no ties to split
        }
        const int num_above = k - desired;

        // 2. gather in index order: above-threshold keys at [0, num_above), ties after them
        int above_seen = 0, ties_seen = 0;
        for (int base = 0; base < n && (above_seen < num_above || ties_seen < desired); base += bd) {
            int j = base + tid;
            uint32_t key = 0u;
            if (j < n) key = cached ? row_keys[j] : TopKKey<Tag>::of(xr[j]);
            bool is_above = j < n && (key & mask) > prefix;
            bool is_tie = j < n && (key & mask) == prefix;
            int total;
            // both counts in one scan: a chunk holds at most 1024 of each, well inside 16 bits
            int before = topk_block_exclusive_scan(((int)is_above << 16) | (int)is_tie, warp_sums, total);
            if (is_above) {
                int pos = above_seen + (before >> 16);
                sort_keys[pos] = key;
                sort_index[pos] = j;
            }
            if (is_tie) {
                int rank = ties_seen + (before & 0xFFFF);
                if (rank < desired) {
                    sort_keys[num_above + rank] = key;
                    sort_index[num_above + rank] = j;
                }
            }
            above_seen += total >> 16;
            ties_seen += total & 0xFFFF;
        }
        for (int p = k + tid; p < sort_size; p += bd) {
            sort_keys[p] = 0u;
            sort_index[p] = 0x7FFFFFFF;
        }
        __syncthreads();

        // 3. bitonic sort by (key desc, index asc)
        for (int size = 2; size <= sort_size; size <<= 1) {
            for (int stride = size >> 1; stride > 0; stride >>= 1) {
                for (int t = tid; t < (sort_size >> 1); t += bd) {
                    int i = 2 * t - (t & (stride - 1));
                    int j = i + stride;
                    uint32_t ki = sort_keys[i], kj = sort_keys[j];
                    int ii = sort_index[i], ij = sort_index[j];
                    bool forward = (i & size) == 0;
                    bool swap = forward ? topk_before(kj, ij, ki, ii) : topk_before(ki, ii, kj, ij);
                    if (swap) {
                        sort_keys[i] = kj;
                        sort_keys[j] = ki;
                        sort_index[i] = ij;
                        sort_index[j] = ii;
                    }
                }
                __syncthreads();
            }
        }
        for (int p = tid; p < k; p += bd) {
            int j = sort_index[p];
            values[row * k + p] = xr[j];
            indices[row * k + p] = j;
        }
        __syncthreads();  // the buffers are rewritten for the next row
    }
}

#define TOPK_ENTRY(sfx, Tag)                                                                                       \
    extern "C" __global__ void __launch_bounds__(1024, 1) topk_##sfx(const Dt<Tag>::storage* x, Dt<Tag>::storage* values, \
                                                                  int* indices, long long rows, int n, int k,         \
                                                                  int sort_size, int cached) {                        \
        topk_kernel<Tag>(x, values, indices, rows, n, k, sort_size, cached);                                           \
    }

TOPK_ENTRY(f32, float)
TOPK_ENTRY(bf16, bf16_t)

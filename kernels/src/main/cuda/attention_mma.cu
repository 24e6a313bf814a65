// Fused scaled dot-product attention forward for bf16 on tensor cores (FlashAttention-2 forward
// with mma.sync.m16n8k16 bf16 -> fp32): the same function, masks and outputs as attention.cu (see
// there and CpuAttention). Used for long key sets (the short-key kernel covers Tk <= 64); the
// backward stays on attention.cu's SIMT kernels.
//
// Entry points, HD in {32, 64, 128}:
//   attention_mma_fwd_bf16_<HD>(q, k, v, pad, out, lse, args, causal, scale, qTiles)
// The host guarantees 16-byte aligned rows: every stride of q, k, v a multiple of 8 elements and
// each base 16-byte aligned (CudaAttention#mmaAligned); out and lse are contiguous.
//
// Work split: a 1-D grid of B H qTiles blocks of 128 threads; a block owns one (b, h) and 64
// consecutive query rows, warp w rows 16 w .. 16 w + 15 of them, held as mma A fragments in
// registers for the whole kernel (loaded once from global memory). Keys go through shared memory in
// tiles of 64: K row-major and V transposed (V^T[dim][key]), both as bf16 with rows padded by 8
// elements so each fragment load (one 32-bit word per lane) hits 32 distinct banks. Per tile a warp
// computes S = Q K^T (16 x 64, fp32 accumulators: thread (g = lane / 4, t = lane % 4) holds rows
// g and g + 8, keys 8 n + 2 t, 8 n + 2 t + 1 of each n-tile), scales and masks it, updates its
// running max / sum per row (max over the 4 lanes of a row by xor-shuffles; the sum stays
// per-lane until the end), rescales the O accumulators, converts P to bf16 A fragments in place
// (the accumulator layout of two adjacent n-tiles is the A layout of one 16-key k-step) and adds
// P V. With causal the key loop stops after the block's last row's last visible key.
// Scores, softmax and accumulation are fp32; P is rounded to bf16 for the P V product (as in
// FlashAttention); out = O / l is rounded once on store; lse = m + log l per row.
#include "attention.cuh"
#include "gemm_tc.cuh"

#define MMA_ROWS 64
#define MMA_KEYS 64
#define MMA_THREADS 128

template <int HD>
struct MmaAttnTile {
    static constexpr int KW = HD / 2 + 4;        // 32-bit words per shared K row
    static constexpr int VW = MMA_KEYS / 2 + 4;  // 32-bit words per shared V^T row
    static constexpr int KSTEPS = HD / 16;       // k-steps of S = Q K^T
    static constexpr int DTILES = HD / 8;        // n-tiles of O
    static constexpr int CHUNKS = HD / 8;        // 16-byte chunks per global row
};

// Two floats as a bf16x2 word, lo in the low half (round to nearest even).
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

template <int HD>
__device__ void attention_mma_fwd(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k, const bf16_t* __restrict__ v,
                                  const float* __restrict__ pad, bf16_t* __restrict__ out, float* __restrict__ lse,
                                  const AttnArgs& a, int causal, float scale, long long qTiles) {
    using T = MmaAttnTile<HD>;
    __shared__ __align__(16) uint32_t ks[MMA_KEYS * T::KW];
    __shared__ __align__(16) uint32_t vt[HD * T::VW];
    __shared__ float kbias[MMA_KEYS];
    bf16_t* vtHalf = reinterpret_cast<bf16_t*>(vt);

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const long long tile = blockIdx.x % qTiles, bh = blockIdx.x / qTiles;
    const long long b = bh / a.heads, h = bh % a.heads;
    const long long i0 = tile * MMA_ROWS;
    const long long shift = a.tk - a.tq;
    const float c = scale * LOG2E;
    long long rowIndex[2];
    rowIndex[0] = i0 + 16 * warp + g;
    rowIndex[1] = rowIndex[0] + 8;

    // Q A fragments: k-step kk, register 0: row g, dims 16 kk + 2 t (+1); 1: row g + 8; 2, 3: dims + 8.
    uint32_t qa[T::KSTEPS][4];
    {
        const bf16_t* qb = q + b * a.q[0] + h * a.q[1];
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long i = rowIndex[half];
            const uint32_t* row = reinterpret_cast<const uint32_t*>(qb + (i < a.tq ? i : 0) * a.q[2]);
#pragma unroll
            for (int kk = 0; kk < T::KSTEPS; kk++) {
                qa[kk][half] = i < a.tq ? row[8 * kk + t] : 0u;
                qa[kk][half + 2] = i < a.tq ? row[8 * kk + 4 + t] : 0u;
            }
        }
    }

    float o[T::DTILES][4];
#pragma unroll
    for (int n = 0; n < T::DTILES; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) o[n][e] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

    long long kEnd = a.tk;
    if (causal) {
        long long lastRow = (i0 + MMA_ROWS < a.tq ? i0 + MMA_ROWS : a.tq) - 1;
        long long limit = lastRow + shift + 1;
        kEnd = limit < 0 ? 0 : (limit < kEnd ? limit : kEnd);
    }
    const bf16_t* kb = k + b * a.k[0] + h * a.k[1];
    const bf16_t* vb = v + b * a.v[0] + h * a.v[1];

    for (long long k0 = 0; k0 < kEnd; k0 += MMA_KEYS) {
        __syncthreads();  // the previous tile is consumed
        // 16-byte chunks; consecutive threads take consecutive keys of one chunk column, so the
        // transposed 16-bit stores into V^T fall on distinct banks.
        for (int idx = threadIdx.x; idx < MMA_KEYS * T::CHUNKS; idx += MMA_THREADS) {
            const int r = idx % MMA_KEYS, ch = idx / MMA_KEYS;
            const long long j = k0 + r;
            uint4 kv = make_uint4(0u, 0u, 0u, 0u), vv = make_uint4(0u, 0u, 0u, 0u);
            if (j < a.tk) {
                kv = *reinterpret_cast<const uint4*>(kb + j * a.k[2] + 8 * ch);
                vv = *reinterpret_cast<const uint4*>(vb + j * a.v[2] + 8 * ch);
            }
            *reinterpret_cast<uint4*>(&ks[r * T::KW + 4 * ch]) = kv;
            const uint32_t w[4] = {vv.x, vv.y, vv.z, vv.w};
#pragma unroll
            for (int e = 0; e < 4; e++) {
                vtHalf[(8 * ch + 2 * e) * (2 * T::VW) + r] = (bf16_t)(w[e] & 0xFFFFu);
                vtHalf[(8 * ch + 2 * e + 1) * (2 * T::VW) + r] = (bf16_t)(w[e] >> 16);
            }
        }
        for (int j = threadIdx.x; j < MMA_KEYS; j += MMA_THREADS) kbias[j] = key_bias(pad, a, b, k0 + j);
        __syncthreads();

        // S = Q K^T: B fragment of n-tile n, k-step kk: key 8 n + g, dims 16 kk + 2 t (+1) and + 8.
        float s[MMA_KEYS / 8][4];
#pragma unroll
        for (int n = 0; n < MMA_KEYS / 8; n++) {
#pragma unroll
            for (int e = 0; e < 4; e++) s[n][e] = 0.f;
#pragma unroll
            for (int kk = 0; kk < T::KSTEPS; kk++) {
                const uint32_t bfrag[2] = {ks[(8 * n + g) * T::KW + 8 * kk + t], ks[(8 * n + g) * T::KW + 8 * kk + 4 + t]};
                mma_16x8<KIND_BF16>(s[n], qa[kk], bfrag);
            }
        }

        // Scale, mask, online softmax per row (half 0: row g, elements 0, 1; half 1: row g + 8, elements 2, 3).
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long limit = causal ? rowIndex[half] + shift : a.tk;
            float tileMax = -INFINITY;
#pragma unroll
            for (int n = 0; n < MMA_KEYS / 8; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int jl = 8 * n + 2 * t + e;
                    float x = fmaf(s[n][2 * half + e], c, kbias[jl]);
                    if (k0 + jl > limit) x = -INFINITY;
                    s[n][2 * half + e] = x;
                    tileMax = fmaxf(tileMax, x);
                }
            tileMax = fmaxf(tileMax, __shfl_xor_sync(0xFFFFFFFFu, tileMax, 1));
            tileMax = fmaxf(tileMax, __shfl_xor_sync(0xFFFFFFFFu, tileMax, 2));
            const float mNew = fmaxf(m[half], tileMax);
            const bool none = mNew == -INFINITY;  // nothing visible to this row yet
            const float alpha = none ? 1.f : exp2f(m[half] - mNew);
            float sum = 0.f;
#pragma unroll
            for (int n = 0; n < MMA_KEYS / 8; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const float p = none ? 0.f : exp2f(s[n][2 * half + e] - mNew);
                    s[n][2 * half + e] = p;
                    sum += p;
                }
            l[half] = fmaf(l[half], alpha, sum);
            m[half] = mNew;
#pragma unroll
            for (int n = 0; n < T::DTILES; n++) {
                o[n][2 * half] *= alpha;
                o[n][2 * half + 1] *= alpha;
            }
        }

        // O += P V: k-step kk covers keys 16 kk .. 16 kk + 15 = n-tiles 2 kk and 2 kk + 1 of S;
        // B fragment of dim tile n: V^T row 8 n + g, keys 16 kk + 2 t (+1) and + 8.
#pragma unroll
        for (int kk = 0; kk < MMA_KEYS / 16; kk++) {
            const uint32_t pa[4] = {pack_bf16x2(s[2 * kk][0], s[2 * kk][1]), pack_bf16x2(s[2 * kk][2], s[2 * kk][3]),
                                    pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]), pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int n = 0; n < T::DTILES; n++) {
                const uint32_t bfrag[2] = {vt[(8 * n + g) * T::VW + 8 * kk + t], vt[(8 * n + g) * T::VW + 8 * kk + 4 + t]};
                mma_16x8<KIND_BF16>(o[n], pa, bfrag);
            }
        }
    }

#pragma unroll
    for (int half = 0; half < 2; half++) {
        float total = l[half];
        total += __shfl_xor_sync(0xFFFFFFFFu, total, 1);
        total += __shfl_xor_sync(0xFFFFFFFFu, total, 2);
        const long long i = rowIndex[half];
        if (i >= a.tq) continue;
        const float inv = total > 0.f ? 1.f / total : 0.f;
        bf16_t* row = out + b * a.o[0] + h * a.o[1] + i * a.o[2];
#pragma unroll
        for (int n = 0; n < T::DTILES; n++) {
            row[8 * n + 2 * t] = float_to_bf16(o[n][2 * half] * inv);
            row[8 * n + 2 * t + 1] = float_to_bf16(o[n][2 * half + 1] * inv);
        }
        if (t == 0) lse[bh * a.tq + i] = total > 0.f ? (m[half] + log2f(total)) * LN2 : -INFINITY;
    }
}

#define ATTENTION_MMA_ENTRY(HD)                                                                                                  \
    extern "C" __global__ void __launch_bounds__(MMA_THREADS) attention_mma_fwd_bf16_##HD(                                      \
        const bf16_t* q, const bf16_t* k, const bf16_t* v, const float* pad, bf16_t* out, float* lse, AttnArgs a, int causal,   \
        float scale, long long qTiles) {                                                                                         \
        attention_mma_fwd<HD>(q, k, v, pad, out, lse, a, causal, scale, qTiles);                                                 \
    }

ATTENTION_MMA_ENTRY(32)
ATTENTION_MMA_ENTRY(64)
ATTENTION_MMA_ENTRY(128)

// Fused scaled dot-product attention for bf16 on tensor cores (FlashAttention-2 with
// mma.sync.m16n8k16 bf16 -> fp32): the same function, masks, outputs and gradients as attention.cu
// (see there and CpuAttention). Used for long key sets (the short-key kernels cover Tk <= 64).
//
// Entry points:
//   attention_mma_fwd_bf16_<HD>(q, k, v, pad, out, lse, args, causal, scale, qTiles)          HD 32, 64, 128
//   attention_mma_bwd_dq_bf16_<HD>(q, k, v, pad, out, gout, lse, rowD, gq, args, causal, scale, qTiles)   HD 32, 64
//   attention_mma_bwd_dkdv_bf16_<HD>(q, k, v, pad, gout, lse, rowD, gk, gv, args, causal, scale, kTiles) HD 32, 64
// (argument lists as attention.cu's fwd / bwd_dq / bwd_dkdv). The host guarantees 16-byte aligned
// rows: every stride of q, k, v (and out, gradOut) a multiple of 8 elements and each base 16-byte
// aligned (CudaAttention#mmaAligned); out, lse and the gradients are contiguous.
//
// Forward work split: a 1-D grid of B H qTiles blocks of 128 threads; a block owns one (b, h) and 64
// consecutive query rows, warp w rows 16 w .. 16 w + 15 of them, held as mma A fragments in
// registers for the whole kernel (loaded once from global memory). Keys go through shared memory in
// tiles of 64 rows of K and of V, row-major bf16 with rows padded by 8 elements (so fragment word
// loads and ldmatrix rows hit distinct banks), copied by cp.async: with head dim <= 64 two stages,
// the next tile's copies in flight while this one is used. Per tile a warp computes S = Q K^T
// (16 x 64, fp32 accumulators: thread (g = lane / 4, t = lane % 4) holds rows g and g + 8, keys
// 8 n + 2 t, 8 n + 2 t + 1 of each n-tile), scales and masks it, updates its running max / sum
// per row (max over the 4 lanes of a row by xor-shuffles; the sum stays per-lane until the end),
// rescales the O accumulators, converts P to bf16 A fragments in place (the accumulator layout of
// two adjacent n-tiles is the A layout of one 16-key k-step) and adds P V, V's B fragments read
// transposed by ldmatrix.trans.
// With causal the key loop stops after the block's last row's last visible key.
// Scores, softmax and accumulation are fp32; P is rounded to bf16 for the P V product (as in
// FlashAttention); out = O / l is rounded once on store; lse = m + log l per row.
//
// Backward: the same two-pass split as attention.cu (dQ and D, then dK / dV; one writer per
// element), 64 rows per block of 128 threads, each kernel's own rows as A fragments in registers
// and the other operand streamed through shared memory row-major in 64-row tiles. Products whose B
// operand is that tile untransposed (P V-like: dQ = dS K, dV = P^T dO, dK = dS^T Q) read it with
// ldmatrix.trans; P and dS are rounded to bf16 for those products, as in FlashAttention-2.
#include "attention.cuh"
#include "gemm_tc.cuh"

#define MMA_ROWS 64
#define MMA_KEYS 64
#define MMA_THREADS 128
// Forward K / V pipeline depth: two stages (next tile in flight during this one) while they fit the
// 48 KiB of static shared memory.
#define MMA_FWD_STAGES(HD) ((HD) <= 64 ? 2 : 1)

// Two floats as a bf16x2 word, lo in the low half (round to nearest even).
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// Row-major bf16 tile in shared memory: rows of HD elements padded by 8 (16 bytes), so fragment
// word loads (row 8 n + g, word w + t) and ldmatrix row addresses hit distinct banks.
template <int HD>
struct MmaRowTile {
    static constexpr int W = HD / 2 + 4;  // 32-bit words per row
};

// Rows [t0, t0 + 64) of one (b, h) of a [.., T, HD] bf16 operand into tile[64][W] (zeros past T)
// with cp.async, so every 16-byte copy of the tile is in flight at once; the caller waits
// (cp_async_wait<0>) and synchronises.
template <int HD>
__device__ __forceinline__ void mma_load_rows(uint32_t* tile, const bf16_t* base, long long timeStride, long long t0, long long T) {
    constexpr int CH = HD / 8, W = MmaRowTile<HD>::W;
    const uint32_t dst = (uint32_t)__cvta_generic_to_shared(tile);
#pragma unroll
    for (int it = 0; it < 64 * CH / MMA_THREADS; it++) {
        const int idx = threadIdx.x + it * MMA_THREADS, r = idx / CH, ch = idx % CH;
        const long long row = t0 + r;
        const bool inside = row < T;
        cp_async_16(dst + (uint32_t)((r * W + 4 * ch) * 4), base + (inside ? row * timeStride + 8 * ch : 0), inside ? 16 : 0);
    }
}

// A fragments (16 rows x HD, k-step kk) of rows r0 = row for half 0 and r0 + 8 for half 1 of a
// global bf16 operand; rows at or past T give zeros.
template <int HD>
__device__ __forceinline__ void mma_load_a(uint32_t (&fa)[HD / 16][4], const bf16_t* base, long long timeStride, long long row,
                                           long long T, int t) {
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const long long i = row + 8 * half;
        const uint32_t* r = reinterpret_cast<const uint32_t*>(base + (i < T ? i : 0) * timeStride);
#pragma unroll
        for (int kk = 0; kk < HD / 16; kk++) {
            fa[kk][half] = i < T ? r[8 * kk + t] : 0u;
            fa[kk][half + 2] = i < T ? r[8 * kk + 4 + t] : 0u;
        }
    }
}

// acc[n] (16 x 8, n < 8) += A (16 x HD, fragments fa) times tile^T: tile rows are the 64 output columns.
template <int HD>
__device__ __forceinline__ void mma_a_times_tile_t(float (&acc)[8][4], const uint32_t (&fa)[HD / 16][4], const uint32_t* tile,
                                                   int g, int t) {
    constexpr int W = MmaRowTile<HD>::W;
#pragma unroll
    for (int n = 0; n < 8; n++)
#pragma unroll
        for (int kk = 0; kk < HD / 16; kk++) {
            const uint32_t bfrag[2] = {tile[(8 * n + g) * W + 8 * kk + t], tile[(8 * n + g) * W + 8 * kk + 4 + t]};
            mma_16x8<KIND_BF16>(acc[n], fa[kk], bfrag);
        }
}

// acc[n] (16 x 8, n < HD / 8) += A (16 x 64; fragments from the fp32 accumulators x: k-step kk is
// n-tiles 2 kk, 2 kk + 1, rounded to bf16) times tile (64 rows = k, HD columns), the B fragments
// read transposed by ldmatrix: matrix m of lane L is rows 16 kk + 8 (m & 1) + (L & 7), columns
// 8 (n + (m >> 1)) .. + 7, giving B fragments of dim tiles n and n + 1.
template <int HD>
__device__ __forceinline__ void mma_x_times_tile(float (&acc)[HD / 8][4], const float (&x)[8][4], const uint32_t* tile, int lane) {
    constexpr int W = MmaRowTile<HD>::W;
    const uint32_t base = (uint32_t)__cvta_generic_to_shared(tile);
    const int m = lane >> 3;
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
        const uint32_t pa[4] = {pack_bf16x2(x[2 * kk][0], x[2 * kk][1]), pack_bf16x2(x[2 * kk][2], x[2 * kk][3]),
                                pack_bf16x2(x[2 * kk + 1][0], x[2 * kk + 1][1]), pack_bf16x2(x[2 * kk + 1][2], x[2 * kk + 1][3])};
        const int row = 16 * kk + 8 * (m & 1) + (lane & 7);
#pragma unroll
        for (int n = 0; n < HD / 8; n += 2) {
            uint32_t r[4];
            ldmatrix_x4_trans(base + (uint32_t)((row * W + 4 * (n + (m >> 1))) * 4), r);
            mma_16x8<KIND_BF16>(acc[n], pa, r);
            mma_16x8<KIND_BF16>(acc[n + 1], pa, r + 2);
        }
    }
}

// ---------------------------------------------------------------- forward

template <int HD>
__device__ void attention_mma_fwd(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k, const bf16_t* __restrict__ v,
                                  const float* __restrict__ pad, bf16_t* __restrict__ out, float* __restrict__ lse,
                                  const AttnArgs& a, int causal, float scale, long long qTiles) {
    constexpr int W = MmaRowTile<HD>::W, STAGES = MMA_FWD_STAGES(HD);
    __shared__ __align__(16) uint32_t ks[STAGES][MMA_KEYS * W];
    __shared__ __align__(16) uint32_t vs[STAGES][MMA_KEYS * W];
    __shared__ float kbias[STAGES][MMA_KEYS];

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const long long tile = blockIdx.x % qTiles, bh = blockIdx.x / qTiles;
    const long long b = bh / a.heads, h = bh % a.heads;
    const long long i0 = tile * MMA_ROWS, row0 = i0 + 16 * warp + g;
    const long long shift = a.tk - a.tq;
    const float c = scale * LOG2E;

    uint32_t qa[HD / 16][4];
    mma_load_a<HD>(qa, q + b * a.q[0] + h * a.q[1], a.q[2], row0, a.tq, t);

    float o[HD / 8][4];
#pragma unroll
    for (int n = 0; n < HD / 8; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) o[n][e] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

    long long kEnd = a.tk;
    if (causal) {
        long long lastRow = (i0 + MMA_ROWS < a.tq ? i0 + MMA_ROWS : a.tq) - 1;
        long long limit = lastRow + shift + 1;
        kEnd = limit < 0 ? 0 : (limit < kEnd ? limit : kEnd);
    }
    const long long nTiles = (kEnd + MMA_KEYS - 1) / MMA_KEYS;
    const bf16_t* kb = k + b * a.k[0] + h * a.k[1];
    const bf16_t* vb = v + b * a.v[0] + h * a.v[1];
    // K and V tile of keys [k0, k0 + 64) into stage st by cp.async, the key mask by plain stores.
    auto issue = [&](long long k0, int st) {
        mma_load_rows<HD>(ks[st], kb, a.k[2], k0, a.tk);
        mma_load_rows<HD>(vs[st], vb, a.v[2], k0, a.tk);
        cp_async_commit();
        for (int j = threadIdx.x; j < MMA_KEYS; j += MMA_THREADS) kbias[st][j] = key_bias(pad, a, b, k0 + j);
    };
    if (nTiles > 0) issue(0, 0);

    for (long long it = 0; it < nTiles; it++) {
        const int st = STAGES == 2 ? (int)(it & 1) : 0;
        const long long k0 = it * MMA_KEYS;
        if (STAGES == 2 && it + 1 < nTiles) {
            issue(k0 + MMA_KEYS, st ^ 1);  // that stage was consumed before the last iteration's final barrier
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();

        float s[8][4];
#pragma unroll
        for (int n = 0; n < 8; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) s[n][e] = 0.f;
        mma_a_times_tile_t<HD>(s, qa, ks[st], g, t);

        // Scale, mask, online softmax per row (half 0: row g, elements 0, 1; half 1: row g + 8, elements 2, 3).
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long limit = causal ? row0 + 8 * half + shift : a.tk;
            float tileMax = -INFINITY;
#pragma unroll
            for (int n = 0; n < 8; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int jl = 8 * n + 2 * t + e;
                    float x = fmaf(s[n][2 * half + e], c, kbias[st][jl]);
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
            for (int n = 0; n < 8; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const float p = none ? 0.f : exp2f(s[n][2 * half + e] - mNew);
                    s[n][2 * half + e] = p;
                    sum += p;
                }
            l[half] = fmaf(l[half], alpha, sum);
            m[half] = mNew;
#pragma unroll
            for (int n = 0; n < HD / 8; n++) {
                o[n][2 * half] *= alpha;
                o[n][2 * half + 1] *= alpha;
            }
        }
        mma_x_times_tile<HD>(o, s, vs[st], lane);  // O += P V
        __syncthreads();  // stage st is consumed
        if (STAGES == 1 && it + 1 < nTiles) issue(k0 + MMA_KEYS, 0);
    }

#pragma unroll
    for (int half = 0; half < 2; half++) {
        float total = l[half];
        total += __shfl_xor_sync(0xFFFFFFFFu, total, 1);
        total += __shfl_xor_sync(0xFFFFFFFFu, total, 2);
        const long long i = row0 + 8 * half;
        if (i >= a.tq) continue;
        const float inv = total > 0.f ? 1.f / total : 0.f;
        bf16_t* row = out + b * a.o[0] + h * a.o[1] + i * a.o[2];
#pragma unroll
        for (int n = 0; n < HD / 8; n++) {
            row[8 * n + 2 * t] = float_to_bf16(o[n][2 * half] * inv);
            row[8 * n + 2 * t + 1] = float_to_bf16(o[n][2 * half + 1] * inv);
        }
        if (t == 0) lse[bh * a.tq + i] = total > 0.f ? (m[half] + log2f(total)) * LN2 : -INFINITY;
    }
}

// ---------------------------------------------------------------- backward (HD 32 and 64)

// dQ (and D): a block per (b, h, 64 query rows), warp w rows 16 w ..; Q and dO as A fragments in
// registers, D_i = dO_i . O_i from the same fragment positions (written to rowD for the dK/dV
// kernel). Per 64-key tile (K and V row-major in shared memory): S = Q K^T, dP = dO V^T,
// P = exp(S - lse), dS = P (dP - D), dQ += dS K (K read transposed by ldmatrix).
template <int HD>
__device__ void attention_mma_bwd_dq(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k, const bf16_t* __restrict__ v,
                                     const float* __restrict__ pad, const bf16_t* __restrict__ out, const bf16_t* __restrict__ gout,
                                     const float* __restrict__ lse, float* __restrict__ rowD, bf16_t* __restrict__ gq,
                                     const AttnArgs& a, int causal, float scale, long long qTiles) {
    constexpr int W = MmaRowTile<HD>::W;
    __shared__ __align__(16) uint32_t ks[64 * W];
    __shared__ __align__(16) uint32_t vs[64 * W];
    __shared__ float kbias[64];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const long long tile = blockIdx.x % qTiles, bh = blockIdx.x / qTiles;
    const long long b = bh / a.heads, h = bh % a.heads;
    const long long i0 = tile * 64, row0 = i0 + 16 * warp + g;
    const long long shift = a.tk - a.tq;
    const float c = scale * LOG2E;

    uint32_t qa[HD / 16][4], ga[HD / 16][4], oa[HD / 16][4];
    mma_load_a<HD>(qa, q + b * a.q[0] + h * a.q[1], a.q[2], row0, a.tq, t);
    mma_load_a<HD>(ga, gout + b * a.g[0] + h * a.g[1], a.g[2], row0, a.tq, t);
    mma_load_a<HD>(oa, out + b * a.o[0] + h * a.o[1], a.o[2], row0, a.tq, t);
    float rowDv[2], lse2[2];
#pragma unroll
    for (int half = 0; half < 2; half++) {
        float part = 0.f;
#pragma unroll
        for (int kk = 0; kk < HD / 16; kk++)
#pragma unroll
            for (int w = half; w < 4; w += 2) {
                const uint32_t x = ga[kk][w], y = oa[kk][w];
                part = fmaf(__uint_as_float(x << 16), __uint_as_float(y << 16), part);
                part = fmaf(__uint_as_float(x & 0xFFFF0000u), __uint_as_float(y & 0xFFFF0000u), part);
            }
        part += __shfl_xor_sync(0xFFFFFFFFu, part, 1);
        part += __shfl_xor_sync(0xFFFFFFFFu, part, 2);
        rowDv[half] = part;
        const long long i = row0 + 8 * half;
        lse2[half] = i < a.tq ? lse[bh * a.tq + i] * LOG2E : -INFINITY;
        if (i < a.tq && t == 0) rowD[bh * a.tq + i] = part;
    }

    float dq[HD / 8][4];
#pragma unroll
    for (int n = 0; n < HD / 8; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) dq[n][e] = 0.f;

    long long kEnd = a.tk;
    if (causal) {
        long long lastRow = (i0 + 64 < a.tq ? i0 + 64 : a.tq) - 1;
        long long limit = lastRow + shift + 1;
        kEnd = limit < 0 ? 0 : (limit < kEnd ? limit : kEnd);
    }
    for (long long k0 = 0; k0 < kEnd; k0 += 64) {
        __syncthreads();
        mma_load_rows<HD>(ks, k + b * a.k[0] + h * a.k[1], a.k[2], k0, a.tk);
        mma_load_rows<HD>(vs, v + b * a.v[0] + h * a.v[1], a.v[2], k0, a.tk);
        cp_async_commit();
        for (int j = threadIdx.x; j < 64; j += MMA_THREADS) kbias[j] = key_bias(pad, a, b, k0 + j);
        cp_async_wait<0>();
        __syncthreads();

        float s[8][4], dp[8][4];
#pragma unroll
        for (int n = 0; n < 8; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                s[n][e] = 0.f;
                dp[n][e] = 0.f;
            }
        mma_a_times_tile_t<HD>(s, qa, ks, g, t);
        mma_a_times_tile_t<HD>(dp, ga, vs, g, t);
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long limit = causal ? row0 + 8 * half + shift : a.tk;
            const bool live = lse2[half] != -INFINITY;
#pragma unroll
            for (int n = 0; n < 8; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int jl = 8 * n + 2 * t + e;
                    const bool visible = live && kbias[jl] == 0.f && k0 + jl <= limit;
                    const float p = visible ? exp2f(fmaf(s[n][2 * half + e], c, -lse2[half])) : 0.f;
                    s[n][2 * half + e] = p * (dp[n][2 * half + e] - rowDv[half]);  // dS
                }
        }
        mma_x_times_tile<HD>(dq, s, ks, lane);
    }
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const long long i = row0 + 8 * half;
        if (i >= a.tq) continue;
        bf16_t* r = gq + (bh * a.tq + i) * HD;
#pragma unroll
        for (int n = 0; n < HD / 8; n++) {
            r[8 * n + 2 * t] = float_to_bf16(dq[n][2 * half] * scale);
            r[8 * n + 2 * t + 1] = float_to_bf16(dq[n][2 * half + 1] * scale);
        }
    }
}

// dK, dV: a block per (b, h, 64 keys), warp w keys 16 w ..; K and V as A fragments in registers.
// Per 64-query tile (Q, dO row-major in shared memory, lse and D per query): S^T = K Q^T,
// dP^T = V dO^T, P^T = exp(S^T - lse), dS^T = P^T (dP^T - D), dV += P^T dO, dK += dS^T Q (dO and Q
// read transposed by ldmatrix). With causal the query loop starts at the first query that sees
// the block's first key.
template <int HD>
__device__ void attention_mma_bwd_dkdv(const bf16_t* __restrict__ q, const bf16_t* __restrict__ k, const bf16_t* __restrict__ v,
                                       const float* __restrict__ pad, const bf16_t* __restrict__ gout, const float* __restrict__ lse,
                                       const float* __restrict__ rowD, bf16_t* __restrict__ gk, bf16_t* __restrict__ gv,
                                       const AttnArgs& a, int causal, float scale, long long kTiles) {
    constexpr int W = MmaRowTile<HD>::W;
    __shared__ __align__(16) uint32_t qs[64 * W];
    __shared__ __align__(16) uint32_t gs[64 * W];
    __shared__ float lse2s[64];
    __shared__ float ds[64];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const long long tile = blockIdx.x % kTiles, bh = blockIdx.x / kTiles;
    const long long b = bh / a.heads, h = bh % a.heads;
    const long long j0 = tile * 64, key0 = j0 + 16 * warp + g;
    const long long shift = a.tk - a.tq;
    const float c = scale * LOG2E;

    uint32_t ka[HD / 16][4], va[HD / 16][4];
    mma_load_a<HD>(ka, k + b * a.k[0] + h * a.k[1], a.k[2], key0, a.tk, t);
    mma_load_a<HD>(va, v + b * a.v[0] + h * a.v[1], a.v[2], key0, a.tk, t);
    bool keyVisible[2];
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const long long j = key0 + 8 * half;
        keyVisible[half] = j < a.tk && key_bias(pad, a, b, j) == 0.f;
    }

    float dk[HD / 8][4], dv[HD / 8][4];
#pragma unroll
    for (int n = 0; n < HD / 8; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            dk[n][e] = 0.f;
            dv[n][e] = 0.f;
        }

    long long iBegin = 0;
    if (causal) iBegin = j0 - shift > 0 ? j0 - shift : 0;
    for (long long t0 = iBegin; t0 < a.tq; t0 += 64) {
        __syncthreads();
        mma_load_rows<HD>(qs, q + b * a.q[0] + h * a.q[1], a.q[2], t0, a.tq);
        mma_load_rows<HD>(gs, gout + b * a.g[0] + h * a.g[1], a.g[2], t0, a.tq);
        cp_async_commit();
        for (int r = threadIdx.x; r < 64; r += MMA_THREADS) {
            const long long i = t0 + r;
            lse2s[r] = i < a.tq ? lse[bh * a.tq + i] * LOG2E : -INFINITY;
            ds[r] = i < a.tq ? rowD[bh * a.tq + i] : 0.f;
        }
        cp_async_wait<0>();
        __syncthreads();

        float s[8][4], dp[8][4];
#pragma unroll
        for (int n = 0; n < 8; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                s[n][e] = 0.f;
                dp[n][e] = 0.f;
            }
        mma_a_times_tile_t<HD>(s, ka, qs, g, t);
        mma_a_times_tile_t<HD>(dp, va, gs, g, t);
        // element (key row g / g + 8, query column 8 n + 2 t + e): P^T in s, dS^T in dp
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long j = key0 + 8 * half;
#pragma unroll
            for (int n = 0; n < 8; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int il = 8 * n + 2 * t + e;
                    const float l2 = lse2s[il];
                    const bool visible = keyVisible[half] && l2 != -INFINITY && (!causal || j <= t0 + il + shift);
                    const float p = visible ? exp2f(fmaf(s[n][2 * half + e], c, -l2)) : 0.f;
                    s[n][2 * half + e] = p;
                    dp[n][2 * half + e] = p * (dp[n][2 * half + e] - ds[il]);
                }
        }
        mma_x_times_tile<HD>(dv, s, gs, lane);
        mma_x_times_tile<HD>(dk, dp, qs, lane);
    }
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const long long j = key0 + 8 * half;
        if (j >= a.tk) continue;
        bf16_t* rk = gk + (bh * a.tk + j) * HD;
        bf16_t* rv = gv + (bh * a.tk + j) * HD;
#pragma unroll
        for (int n = 0; n < HD / 8; n++) {
            rk[8 * n + 2 * t] = float_to_bf16(dk[n][2 * half] * scale);
            rk[8 * n + 2 * t + 1] = float_to_bf16(dk[n][2 * half + 1] * scale);
            rv[8 * n + 2 * t] = float_to_bf16(dv[n][2 * half]);
            rv[8 * n + 2 * t + 1] = float_to_bf16(dv[n][2 * half + 1]);
        }
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

#define ATTENTION_MMA_BWD_ENTRIES(HD)                                                                                            \
    extern "C" __global__ void __launch_bounds__(MMA_THREADS) attention_mma_bwd_dq_bf16_##HD(                                   \
        const bf16_t* q, const bf16_t* k, const bf16_t* v, const float* pad, const bf16_t* out, const bf16_t* gout,             \
        const float* lse, float* rowD, bf16_t* gq, AttnArgs a, int causal, float scale, long long qTiles) {                     \
        attention_mma_bwd_dq<HD>(q, k, v, pad, out, gout, lse, rowD, gq, a, causal, scale, qTiles);                              \
    }                                                                                                                            \
    extern "C" __global__ void __launch_bounds__(MMA_THREADS) attention_mma_bwd_dkdv_bf16_##HD(                                 \
        const bf16_t* q, const bf16_t* k, const bf16_t* v, const float* pad, const bf16_t* gout, const float* lse,              \
        const float* rowD, bf16_t* gk, bf16_t* gv, AttnArgs a, int causal, float scale, long long kTiles) {                     \
        attention_mma_bwd_dkdv<HD>(q, k, v, pad, gout, lse, rowD, gk, gv, a, causal, scale, kTiles);                             \
    }

ATTENTION_MMA_BWD_ENTRIES(32)
ATTENTION_MMA_BWD_ENTRIES(64)

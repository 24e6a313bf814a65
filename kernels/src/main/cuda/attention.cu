// Fused scaled dot-product attention (FlashAttention-2 style), forward and backward, over
// q [B, H, Tq, HD], k and v [B, H, Tk, HD] (strided views; the last dimension contiguous):
//   s_ij = scale q_i . k_j   for the keys query i may see (keyPadding[b, j] == 0, and with causal
//                             j <= i + Tk - Tq, bottom-right aligned)
//   out_i = sum_j softmax(s_i)_j v_j,   lse_i = log sum_j exp(s_ij)
// A query that sees no key gets out = 0, lse = -inf and zero gradients. Scores, softmax and every
// accumulation are fp32 whatever the dtype (bf16 is loaded to fp32 and rounded once on store).
// Exponentials are base 2 on scores pre-multiplied by log2(e).
//
// Entry points, dt in {f32, bf16}, HD in {32, 64, 128}; AttnArgs holds the shape and the
// (batch, head, time) strides in elements; pad is a float [B, Tk] mask (nonzero = masked) or null:
//   attention_fwd_<dt>_<HD>(q, k, v, pad, out, lse, args, causal, scale, qTiles)
//   attention_bwd_dq_<dt>_<HD>(q, k, v, pad, out, gout, lse, rowD, gq, args, causal, scale, qTiles)
//   attention_bwd_dkdv_<dt>_<HD>(q, k, v, pad, gout, lse, rowD, gk, gv, args, causal, scale, kTiles)
//   attention_decode_<dt>_<HD>(q, k, v, pad, out, lse, args, causal, scale)
//   attention_decode_split_<dt>_<HD>(q, k, v, pad, part, args, causal, scale, splits, chunk)
//   attention_decode_combine_<dt>_<HD>(part, out, lse, args, splits)
// out / gq / gk / gv / lse / rowD are contiguous.
//
// Work split.
//   fwd and bwd_dq: a 1-D grid of B*H*qTiles blocks; a block owns one (b, h) and a tile of
//   R = blockDim.x / G consecutive query rows, G = HD / 16 lanes per row. Lane g of a row group
//   holds 16 of the row's dims (float4 chunks g, g + G, g + 2G, g + 3G) in registers, so a dot
//   product is 16 FMAs plus log2(G) xor-shuffles within the group. K and V stream through shared
//   memory in tiles of BT keys (converted to fp32; BT = 64, 32 for HD 128); with causal the key
//   loop stops after the block's last row's last visible key. The forward keeps BT scores per
//   lane in registers and rescales its running max / sum / accumulator once per tile (online
//   softmax: no score matrix is materialised). bwd_dq recomputes P = exp(s - lse) per key,
//   writes rowD_i = dO_i . O_i for bwd_dkdv, and accumulates dQ = scale sum_j P (dO.v_j - D) k_j.
//   bwd_dkdv: B*H*kTiles blocks; a block owns R key rows (k_j, v_j, dK_j, dV_j in registers) and
//   streams tiles of BT queries (q, dO, lse, D) through shared memory, starting, with causal, at
//   the first query that sees the tile's first key. dQ and dK/dV are separate kernels, so every
//   gradient element has one writer (deterministic, no atomics).
//   decode (Tq <= 4, chosen by the host): one 256-thread block per (b, h); warp w takes keys
//   w, w + 8, ...; each lane holds HD / 32 dims, a score is a full-warp xor reduction, each warp
//   keeps its own online softmax state per query; the 8 partial states are merged through shared
//   memory at the end. When B*H is small the host splits the keys: decode_split runs B*H*splits
//   blocks, block (bh, s) taking keys [s chunk, (s + 1) chunk) and writing its unnormalised state
//   (max, sum, weighted V) to a float workspace; decode_combine (a block per (b, h)) merges them.
// Threads whose row (or key) lies past the end compute on a clamped index and do not store, so
// shuffles always see full groups; every global access is bounds-checked against Tq / Tk.
// CPU reference: io.reg4rec.engine.cpu.CpuAttention.
#include "attention.cuh"

template <int HD>
struct AttnTile {
    static constexpr int G = HD / 16;             // lanes per query (or key) row
    static constexpr int C = HD / 4;              // float4 chunks per row
    static constexpr int BT = HD == 128 ? 32 : 64; // rows per shared-memory tile
};

template <typename Tag>
__device__ __forceinline__ float ld(const typename Dt<Tag>::storage* p, long long i) {
    return Dt<Tag>::load(p[i]);
}

// Lane g's 16 dims of a row: dims 4 (g + G c) + e, c, e in 0..3.
template <typename Tag, int HD>
__device__ __forceinline__ void load_row16(const typename Dt<Tag>::storage* row, int lane, float factor, float* r) {
    constexpr int G = AttnTile<HD>::G;
#pragma unroll
    for (int c = 0; c < 4; c++)
#pragma unroll
        for (int e = 0; e < 4; e++) r[4 * c + e] = ld<Tag>(row, 4 * (lane + G * c) + e) * factor;
}

template <typename Tag, int HD>
__device__ __forceinline__ void store_row16(typename Dt<Tag>::storage* row, int lane, float factor, const float* r) {
    constexpr int G = AttnTile<HD>::G;
#pragma unroll
    for (int c = 0; c < 4; c++)
#pragma unroll
        for (int e = 0; e < 4; e++) row[4 * (lane + G * c) + e] = Dt<Tag>::store(r[4 * c + e] * factor);
}

// Partial dot of a lane's 16 dims with a shared-memory row of float4 chunks.
template <int HD>
__device__ __forceinline__ float dot16(const float* r, const float4* shRow, int lane) {
    constexpr int G = AttnTile<HD>::G;
    float s = 0.f;
#pragma unroll
    for (int c = 0; c < 4; c++) {
        float4 x = shRow[lane + G * c];
        s = fmaf(r[4 * c], x.x, s);
        s = fmaf(r[4 * c + 1], x.y, s);
        s = fmaf(r[4 * c + 2], x.z, s);
        s = fmaf(r[4 * c + 3], x.w, s);
    }
    return s;
}

template <int HD>
__device__ __forceinline__ void axpy16(float* acc, float p, const float4* shRow, int lane) {
    constexpr int G = AttnTile<HD>::G;
#pragma unroll
    for (int c = 0; c < 4; c++) {
        float4 x = shRow[lane + G * c];
        acc[4 * c] = fmaf(p, x.x, acc[4 * c]);
        acc[4 * c + 1] = fmaf(p, x.y, acc[4 * c + 1]);
        acc[4 * c + 2] = fmaf(p, x.z, acc[4 * c + 2]);
        acc[4 * c + 3] = fmaf(p, x.w, acc[4 * c + 3]);
    }
}

template <int G>
__device__ __forceinline__ float group_sum(float v) {
#pragma unroll
    for (int o = 1; o < G; o <<= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    return v;
}

// Loads rows [t0, t0 + BT) of a [.., T, HD] operand of (b, h) into shared memory as fp32 (zeros past T).
template <typename Tag, int HD>
__device__ __forceinline__ void load_tile(float4* sh, const typename Dt<Tag>::storage* base, const long long* strides,
                                          long long b, long long h, long long t0, long long T) {
    constexpr int BT = AttnTile<HD>::BT;
    float* f = reinterpret_cast<float*>(sh);
    const typename Dt<Tag>::storage* p = base + b * strides[0] + h * strides[1];
    for (int idx = threadIdx.x; idx < BT * HD; idx += blockDim.x) {
        int r = idx / HD, d = idx % HD;
        long long t = t0 + r;
        f[idx] = t < T ? ld<Tag>(p, t * strides[2] + d) : 0.f;
    }
}

// ---------------------------------------------------------------- forward

template <typename Tag, int HD>
__device__ void attention_fwd(const typename Dt<Tag>::storage* __restrict__ q, const typename Dt<Tag>::storage* __restrict__ k,
                              const typename Dt<Tag>::storage* __restrict__ v, const float* __restrict__ pad,
                              typename Dt<Tag>::storage* __restrict__ out, float* __restrict__ lse, const AttnArgs& a,
                              int causal, float scale, long long qTiles) {
    constexpr int G = AttnTile<HD>::G, C = AttnTile<HD>::C, BT = AttnTile<HD>::BT;
    __shared__ float4 ks[BT][C];
    __shared__ float4 vs[BT][C];
    __shared__ float kbias[BT];
    const int rows = blockDim.x / G, group = threadIdx.x / G, lane = threadIdx.x % G;
    const long long tile = blockIdx.x % qTiles, bh = blockIdx.x / qTiles;
    const long long b = bh / a.heads, h = bh % a.heads;
    const long long i0 = tile * rows, i = i0 + group;
    const bool rowValid = i < a.tq;
    const long long ic = rowValid ? i : a.tq - 1;
    const long long shift = a.tk - a.tq;

    float qf[16], acc[16];
    load_row16<Tag, HD>(q + b * a.q[0] + h * a.q[1] + ic * a.q[2], lane, scale * LOG2E, qf);
#pragma unroll
    for (int d = 0; d < 16; d++) acc[d] = 0.f;
    float m = -INFINITY, l = 0.f;

    long long kEnd = a.tk;
    if (causal) {
        long long lastRow = (i0 + rows < a.tq ? i0 + rows : a.tq) - 1;
        long long limit = lastRow + shift + 1;
        kEnd = limit < 0 ? 0 : (limit < kEnd ? limit : kEnd);
    }
    const long long rowLimit = causal ? ic + shift : a.tk;  // last key this row may see

    for (long long k0 = 0; k0 < kEnd; k0 += BT) {
        __syncthreads();  // the previous tile is consumed
        load_tile<Tag, HD>(&ks[0][0], k, a.k, b, h, k0, a.tk);
        load_tile<Tag, HD>(&vs[0][0], v, a.v, b, h, k0, a.tk);
        for (int j = threadIdx.x; j < BT; j += blockDim.x) kbias[j] = key_bias(pad, a, b, k0 + j);
        __syncthreads();

        float s[BT];
        float tileMax = -INFINITY;
#pragma unroll
        for (int j = 0; j < BT; j++) {
            float sj = group_sum<G>(dot16<HD>(qf, ks[j], lane)) + kbias[j];
            if (k0 + j > rowLimit) sj = -INFINITY;
            s[j] = sj;
            tileMax = fmaxf(tileMax, sj);
        }
        float mNew = fmaxf(m, tileMax);
        if (mNew == -INFINITY) continue;  // nothing visible to this row yet (no shuffles below)
        float alpha = exp2f(m - mNew);
        l *= alpha;
#pragma unroll
        for (int d = 0; d < 16; d++) acc[d] *= alpha;
#pragma unroll
        for (int j = 0; j < BT; j++) {
            float p = exp2f(s[j] - mNew);
            l += p;
            axpy16<HD>(acc, p, vs[j], lane);
        }
        m = mNew;
    }
    if (rowValid) {
        float inv = l > 0.f ? 1.f / l : 0.f;
        store_row16<Tag, HD>(out + b * a.o[0] + h * a.o[1] + i * a.o[2], lane, inv, acc);
        if (lane == 0) lse[bh * a.tq + i] = l > 0.f ? (m + log2f(l)) * LN2 : -INFINITY;
    }
}

// ---------------------------------------------------------------- backward: dQ (and D)

template <typename Tag, int HD>
__device__ void attention_bwd_dq(const typename Dt<Tag>::storage* __restrict__ q, const typename Dt<Tag>::storage* __restrict__ k,
                                 const typename Dt<Tag>::storage* __restrict__ v, const float* __restrict__ pad,
                                 const typename Dt<Tag>::storage* __restrict__ out, const typename Dt<Tag>::storage* __restrict__ gout,
                                 const float* __restrict__ lse, float* __restrict__ rowD, typename Dt<Tag>::storage* __restrict__ gq,
                                 const AttnArgs& a, int causal, float scale, long long qTiles) {
    constexpr int G = AttnTile<HD>::G, C = AttnTile<HD>::C, BT = AttnTile<HD>::BT;
    __shared__ float4 ks[BT][C];
    __shared__ float4 vs[BT][C];
    __shared__ float kbias[BT];
    const int rows = blockDim.x / G, group = threadIdx.x / G, lane = threadIdx.x % G;
    const long long tile = blockIdx.x % qTiles, bh = blockIdx.x / qTiles;
    const long long b = bh / a.heads, h = bh % a.heads;
    const long long i0 = tile * rows, i = i0 + group;
    const bool rowValid = i < a.tq;
    const long long ic = rowValid ? i : a.tq - 1;
    const long long shift = a.tk - a.tq;

    float qf[16], dof[16], of[16], dq[16];
    load_row16<Tag, HD>(q + b * a.q[0] + h * a.q[1] + ic * a.q[2], lane, scale * LOG2E, qf);
    load_row16<Tag, HD>(gout + b * a.g[0] + h * a.g[1] + ic * a.g[2], lane, 1.f, dof);
    load_row16<Tag, HD>(out + b * a.o[0] + h * a.o[1] + ic * a.o[2], lane, 1.f, of);
    float dPart = 0.f;
#pragma unroll
    for (int d = 0; d < 16; d++) {
        dPart = fmaf(dof[d], of[d], dPart);
        dq[d] = 0.f;
    }
    const float D = group_sum<G>(dPart);
    const float rowLse = lse[bh * a.tq + ic];
    const bool dead = !rowValid || rowLse == -INFINITY;
    const float lse2 = rowLse * LOG2E;
    if (rowValid && lane == 0) rowD[bh * a.tq + i] = D;

    long long kEnd = a.tk;
    if (causal) {
        long long lastRow = (i0 + rows < a.tq ? i0 + rows : a.tq) - 1;
        long long limit = lastRow + shift + 1;
        kEnd = limit < 0 ? 0 : (limit < kEnd ? limit : kEnd);
    }
    const long long rowLimit = causal ? ic + shift : a.tk;

    for (long long k0 = 0; k0 < kEnd; k0 += BT) {
        __syncthreads();
        load_tile<Tag, HD>(&ks[0][0], k, a.k, b, h, k0, a.tk);
        load_tile<Tag, HD>(&vs[0][0], v, a.v, b, h, k0, a.tk);
        for (int j = threadIdx.x; j < BT; j += blockDim.x) kbias[j] = key_bias(pad, a, b, k0 + j);
        __syncthreads();
#pragma unroll 4
        for (int j = 0; j < BT; j++) {
            float s = group_sum<G>(dot16<HD>(qf, ks[j], lane));
            float dp = group_sum<G>(dot16<HD>(dof, vs[j], lane));
            bool visible = !dead && kbias[j] == 0.f && k0 + j <= rowLimit;
            float p = visible ? exp2f(s - lse2) : 0.f;
            float ds = p * (dp - D);
            axpy16<HD>(dq, ds, ks[j], lane);
        }
    }
    if (rowValid) store_row16<Tag, HD>(gq + (bh * a.tq + i) * HD, lane, scale, dq);
}

// ---------------------------------------------------------------- backward: dK, dV

template <typename Tag, int HD>
__device__ void attention_bwd_dkdv(const typename Dt<Tag>::storage* __restrict__ q, const typename Dt<Tag>::storage* __restrict__ k,
                                   const typename Dt<Tag>::storage* __restrict__ v, const float* __restrict__ pad,
                                   const typename Dt<Tag>::storage* __restrict__ gout, const float* __restrict__ lse,
                                   const float* __restrict__ rowD, typename Dt<Tag>::storage* __restrict__ gk,
                                   typename Dt<Tag>::storage* __restrict__ gv, const AttnArgs& a, int causal, float scale,
                                   long long kTiles) {
    constexpr int G = AttnTile<HD>::G, C = AttnTile<HD>::C, BT = AttnTile<HD>::BT;
    __shared__ float4 qs[BT][C];
    __shared__ float4 gs[BT][C];
    __shared__ float lse2s[BT];
    __shared__ float ds_[BT];
    const int rows = blockDim.x / G, group = threadIdx.x / G, lane = threadIdx.x % G;
    const long long tile = blockIdx.x % kTiles, bh = blockIdx.x / kTiles;
    const long long b = bh / a.heads, h = bh % a.heads;
    const long long j0 = tile * rows, j = j0 + group;
    const bool keyValid = j < a.tk;
    const long long jc = keyValid ? j : a.tk - 1;
    const long long shift = a.tk - a.tq;
    const bool keyVisible = keyValid && key_bias(pad, a, b, j) == 0.f;

    float kf[16], vf[16], dk[16], dv[16];
    load_row16<Tag, HD>(k + b * a.k[0] + h * a.k[1] + jc * a.k[2], lane, 1.f, kf);
    load_row16<Tag, HD>(v + b * a.v[0] + h * a.v[1] + jc * a.v[2], lane, 1.f, vf);
#pragma unroll
    for (int d = 0; d < 16; d++) {
        dk[d] = 0.f;
        dv[d] = 0.f;
    }
    const float sl2 = scale * LOG2E;
    long long iBegin = 0;
    if (causal) iBegin = j0 - shift > 0 ? j0 - shift : 0;  // earlier queries see none of this tile's keys

    for (long long t0 = iBegin; t0 < a.tq; t0 += BT) {
        __syncthreads();
        load_tile<Tag, HD>(&qs[0][0], q, a.q, b, h, t0, a.tq);
        load_tile<Tag, HD>(&gs[0][0], gout, a.g, b, h, t0, a.tq);
        for (int r = threadIdx.x; r < BT; r += blockDim.x) {
            long long i = t0 + r;
            lse2s[r] = i < a.tq ? lse[bh * a.tq + i] * LOG2E : -INFINITY;
            ds_[r] = i < a.tq ? rowD[bh * a.tq + i] : 0.f;
        }
        __syncthreads();
#pragma unroll 4
        for (int r = 0; r < BT; r++) {
            float s = group_sum<G>(dot16<HD>(kf, qs[r], lane)) * sl2;
            float dp = group_sum<G>(dot16<HD>(vf, gs[r], lane));
            float l2 = lse2s[r];
            bool visible = keyVisible && l2 != -INFINITY && (!causal || j <= t0 + r + shift);
            float p = visible ? exp2f(s - l2) : 0.f;
            axpy16<HD>(dv, p, gs[r], lane);
            float dsr = p * (dp - ds_[r]);
            axpy16<HD>(dk, dsr, qs[r], lane);
        }
    }
    if (keyValid) {
        store_row16<Tag, HD>(gk + (bh * a.tk + j) * HD, lane, scale, dk);
        store_row16<Tag, HD>(gv + (bh * a.tk + j) * HD, lane, 1.f, dv);
    }
}

// ---------------------------------------------------------------- decode (Tq <= 4)

#define DECODE_WARPS 8
#define DECODE_MAX_Q 4

// Keys [kBegin, kEnd) of one (b, h). With split == false writes out and lse; with split == true
// writes the block's unnormalised state for attention_decode_combine: per query r the max M (base
// 2), the sum total = sum_j exp2(s_j - M) and o = sum_j exp2(s_j - M) v_j at
// part[((bh * splits + split) * Tq + r) * (HD + 2) + (0 .. HD - 1, HD: M, HD + 1: total)].
template <typename Tag, int HD, bool SPLIT>
__device__ void attention_decode(const typename Dt<Tag>::storage* __restrict__ q, const typename Dt<Tag>::storage* __restrict__ k,
                                 const typename Dt<Tag>::storage* __restrict__ v, const float* __restrict__ pad,
                                 typename Dt<Tag>::storage* __restrict__ out, float* __restrict__ lse, float* __restrict__ part,
                                 const AttnArgs& a, int causal, float scale, long long bh, long long kBegin, long long kEnd,
                                 long long partRow) {
    constexpr int L = HD / 32;  // dims per lane: lane + 32 t
    __shared__ float sm[DECODE_WARPS][DECODE_MAX_Q];
    __shared__ float sl[DECODE_WARPS][DECODE_MAX_Q];
    __shared__ float sacc[DECODE_WARPS][DECODE_MAX_Q][HD];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const long long b = bh / a.heads, h = bh % a.heads;
    const long long shift = a.tk - a.tq;
    const int nq = (int)a.tq;

    float qf[DECODE_MAX_Q][L], acc[DECODE_MAX_Q][L], m[DECODE_MAX_Q], l[DECODE_MAX_Q];
#pragma unroll
    for (int r = 0; r < DECODE_MAX_Q; r++) {
        m[r] = -INFINITY;
        l[r] = 0.f;
#pragma unroll
        for (int t = 0; t < L; t++) {
            acc[r][t] = 0.f;
            qf[r][t] = r < nq ? ld<Tag>(q, b * a.q[0] + h * a.q[1] + r * a.q[2] + lane + 32 * t) * (scale * LOG2E) : 0.f;
        }
    }
    const typename Dt<Tag>::storage* kb = k + b * a.k[0] + h * a.k[1];
    const typename Dt<Tag>::storage* vb = v + b * a.v[0] + h * a.v[1];
    for (long long j = kBegin + warp; j < kEnd; j += DECODE_WARPS) {
        if (key_bias(pad, a, b, j) != 0.f) continue;  // warp-uniform
        float kf[L], vf[L];
#pragma unroll
        for (int t = 0; t < L; t++) {
            kf[t] = ld<Tag>(kb, j * a.k[2] + lane + 32 * t);
            vf[t] = ld<Tag>(vb, j * a.v[2] + lane + 32 * t);
        }
#pragma unroll
        for (int r = 0; r < DECODE_MAX_Q; r++) {
            if (r >= nq || (causal && j > r + shift)) continue;  // warp-uniform
            float s = 0.f;
#pragma unroll
            for (int t = 0; t < L; t++) s = fmaf(qf[r][t], kf[t], s);
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, o);
            float mNew = fmaxf(m[r], s);
            float alpha = exp2f(m[r] - mNew), p = exp2f(s - mNew);
            l[r] = l[r] * alpha + p;
#pragma unroll
            for (int t = 0; t < L; t++) acc[r][t] = fmaf(acc[r][t], alpha, p * vf[t]);
            m[r] = mNew;
        }
    }
#pragma unroll
    for (int r = 0; r < DECODE_MAX_Q; r++) {
        if (lane == 0) {
            sm[warp][r] = m[r];
            sl[warp][r] = l[r];
        }
#pragma unroll
        for (int t = 0; t < L; t++) sacc[warp][r][lane + 32 * t] = acc[r][t];
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < nq * HD; idx += blockDim.x) {
        int r = idx / HD, d = idx % HD;
        float M = -INFINITY;
        for (int w = 0; w < DECODE_WARPS; w++) M = fmaxf(M, sm[w][r]);
        float total = 0.f, o = 0.f;
        if (M != -INFINITY) {
            for (int w = 0; w < DECODE_WARPS; w++) {
                float f = exp2f(sm[w][r] - M);
                total = fmaf(sl[w][r], f, total);
                o = fmaf(sacc[w][r][d], f, o);
            }
        }
        if (SPLIT) {
            float* row = part + (partRow + r) * (HD + 2);
            row[d] = o;
            if (d == 0) {
                row[HD] = M;
                row[HD + 1] = total;
            }
        } else {
            float value = total > 0.f ? o / total : 0.f;
            out[b * a.o[0] + h * a.o[1] + r * a.o[2] + d] = Dt<Tag>::store(value);
            if (d == 0) lse[bh * a.tq + r] = total > 0.f ? (M + log2f(total)) * LN2 : -INFINITY;
        }
    }
}

// Merges the `splits` partial states of attention_decode<.., true> per (b, h, query): one block per
// (b, h), a thread per (query, dim).
template <typename Tag, int HD>
__device__ void attention_decode_combine(const float* __restrict__ part, typename Dt<Tag>::storage* __restrict__ out,
                                         float* __restrict__ lse, const AttnArgs& a, long long splits) {
    const long long bh = blockIdx.x, b = bh / a.heads, h = bh % a.heads;
    for (int idx = threadIdx.x; idx < a.tq * HD; idx += blockDim.x) {
        const int r = idx / HD, d = idx % HD;
        float M = -INFINITY;
        for (long long sp = 0; sp < splits; sp++) M = fmaxf(M, part[((bh * splits + sp) * a.tq + r) * (HD + 2) + HD]);
        float total = 0.f, o = 0.f;
        if (M != -INFINITY) {
            for (long long sp = 0; sp < splits; sp++) {
                const float* row = part + ((bh * splits + sp) * a.tq + r) * (HD + 2);
                const float f = exp2f(row[HD] - M);  // 0 for a split that saw no key (M = -inf)
                total = fmaf(row[HD + 1], f, total);
                o = fmaf(row[d], f, o);
            }
        }
        out[b * a.o[0] + h * a.o[1] + r * a.o[2] + d] = Dt<Tag>::store(total > 0.f ? o / total : 0.f);
        if (d == 0) lse[bh * a.tq + r] = total > 0.f ? (M + log2f(total)) * LN2 : -INFINITY;
    }
}

// ---------------------------------------------------------------- entry points

#define ATTENTION_ENTRIES(SUF, Tag, HD)                                                                                        \
    extern "C" __global__ void __launch_bounds__(256) attention_fwd_##SUF##_##HD(                                             \
        const Dt<Tag>::storage* q, const Dt<Tag>::storage* k, const Dt<Tag>::storage* v, const float* pad,                    \
        Dt<Tag>::storage* out, float* lse, AttnArgs a, int causal, float scale, long long qTiles) {                           \
        attention_fwd<Tag, HD>(q, k, v, pad, out, lse, a, causal, scale, qTiles);                                              \
    }                                                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) attention_bwd_dq_##SUF##_##HD(                                          \
        const Dt<Tag>::storage* q, const Dt<Tag>::storage* k, const Dt<Tag>::storage* v, const float* pad,                    \
        const Dt<Tag>::storage* out, const Dt<Tag>::storage* gout, const float* lse, float* rowD, Dt<Tag>::storage* gq,      \
        AttnArgs a, int causal, float scale, long long qTiles) {                                                               \
        attention_bwd_dq<Tag, HD>(q, k, v, pad, out, gout, lse, rowD, gq, a, causal, scale, qTiles);                           \
    }                                                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) attention_bwd_dkdv_##SUF##_##HD(                                        \
        const Dt<Tag>::storage* q, const Dt<Tag>::storage* k, const Dt<Tag>::storage* v, const float* pad,                    \
        const Dt<Tag>::storage* gout, const float* lse, const float* rowD, Dt<Tag>::storage* gk, Dt<Tag>::storage* gv,        \
        AttnArgs a, int causal, float scale, long long kTiles) {                                                               \
        attention_bwd_dkdv<Tag, HD>(q, k, v, pad, gout, lse, rowD, gk, gv, a, causal, scale, kTiles);                          \
    }                                                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) attention_decode_##SUF##_##HD(                                          \
        const Dt<Tag>::storage* q, const Dt<Tag>::storage* k, const Dt<Tag>::storage* v, const float* pad,                    \
        Dt<Tag>::storage* out, float* lse, AttnArgs a, int causal, float scale) {                                              \
        attention_decode<Tag, HD, false>(q, k, v, pad, out, lse, nullptr, a, causal, scale, blockIdx.x, 0, a.tk, 0);          \
    }                                                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) attention_decode_split_##SUF##_##HD(                                    \
        const Dt<Tag>::storage* q, const Dt<Tag>::storage* k, const Dt<Tag>::storage* v, const float* pad, float* part,       \
        AttnArgs a, int causal, float scale, long long splits, long long chunk) {                                             \
        const long long bh = blockIdx.x / splits, split = blockIdx.x % splits;                                                 \
        const long long k0 = split * chunk, k1 = k0 + chunk < a.tk ? k0 + chunk : a.tk;                                        \
        attention_decode<Tag, HD, true>(q, k, v, pad, nullptr, nullptr, part, a, causal, scale, bh, k0, k1, blockIdx.x * a.tq); \
    }                                                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) attention_decode_combine_##SUF##_##HD(                                  \
        const float* part, Dt<Tag>::storage* out, float* lse, AttnArgs a, long long splits) {                                  \
        attention_decode_combine<Tag, HD>(part, out, lse, a, splits);                                                          \
    }

ATTENTION_ENTRIES(f32, float, 32)
ATTENTION_ENTRIES(f32, float, 64)
ATTENTION_ENTRIES(f32, float, 128)
ATTENTION_ENTRIES(bf16, bf16_t, 32)
ATTENTION_ENTRIES(bf16, bf16_t, 64)
ATTENTION_ENTRIES(bf16, bf16_t, 128)

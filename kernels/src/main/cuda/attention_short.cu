// Fused scaled dot-product attention for short key sets (Tk <= 64, head dim 32 or 64): the same
// function, masks and outputs as attention.cu (see there and CpuAttention), specialised for the
// model's shapes (50 x 50, 9 x 9, 9 x 50 with head dim 32), where the whole K and V of one
// (batch, head) fit in shared memory. The softmax is exact (one max and one sum per row, no online
// rescaling) and every product is a register-blocked SIMT tile over shared memory. fp32 arithmetic
// whatever the dtype; bf16 is converted once on load and rounded once on store.
//
// Entry points, dt in {f32, bf16}, HD in {32, 64}; dynamic shared memory sized by the host
// (CudaAttention#shortForwardSharedBytes / #shortBackwardSharedBytes, same formulas as below):
//   attention_short_fwd_<dt>_<HD>(q, k, v, pad, out, lse, args, causal, scale, vec, qChunks)
//   attention_short_fwd_<dt>_<HD>_capped64(...)  the forward under __launch_bounds__(128, 8)
//   attention_short_bwd_<dt>_<HD>(q, k, v, pad, out, gout, lse, gq, gk, gv, args, causal, scale, vec)
// vec bit 0: every row of q, k, v starts 16-byte aligned, so K, V and Q tiles load as 16-byte vectors;
// bit 1 (forward): every row of out starts 4-element aligned, so a thread stores its 4 dims as one vector.
//
// Threads. A block has 8 G threads (G at most 16; a multiple of 4 in the backward, any count in the
// forward, whose shuffles stay within a group's 8 lanes); thread t is (group t / 8, sub t % 8). Keys are padded to TKP = Tk rounded up to 8 (zero rows, masked). Shared-memory
// rows are padded to HD + 4 and TKP + 4 floats so the float4 reads below are free of bank conflicts.
//   Scores (S = Q K^T, and dP = dO V^T in the backward): thread (g, sub) owns rows g + G ii and
//   keys sub + 8 jj (jj < TKP / 8); per 4 dims it reads one float4 per row and per key. Row
//   max / sum are xor-shuffles over the 8 subs (lanes of one group share a warp).
//   Row products (O = P V, dQ = dS K): thread (g, sub) owns the same rows and dims 4 (sub + 8 c) .. + 3.
//   Key products (dV = P^T dO, dK = dS^T Q): thread (g, sub) owns keys 4 g .. 4 g + 3 (so 4 G >= Tk)
//   and dims 4 (sub + 8 c) .. + 3, reading one float4 of P / dS per query row.
// Forward: a block per (b, h, chunk of R = 4 G query rows); grid B H qChunks. K, V, the key mask and
//   the chunk's Q are loaded to shared memory; after the scores are in registers, P (normalised)
//   replaces Q and K in shared memory, then O = P V.
// Backward: a block per (b, h), looping over chunks of R = 2 G query rows (G when Tq <= G), so dK and dV stay in
//   registers over every query and each gradient element has one writer (no atomics). Per chunk:
//   Q and dO to shared memory and D_i = dO_i . O_i (while loading); S and dP; P = exp(S - lse) and
//   dS = P (dP - D) to shared memory; dQ = scale dS K stored; dV += P^T dO and dK += dS^T Q.
// A row past Tq computes on zero rows and stores nothing; a row that sees no key gets out = 0,
// lse = -inf and zero gradients.
#include "attention.cuh"

#define SHORT_MAX_KEYS 64

template <int HD>
struct ShortTile {
    static constexpr int LDH = HD + 4;  // floats per shared row of Q, K, V, dO
    static constexpr int DC = HD / 32;  // float4 dim chunks per thread in the row / key products
};

__device__ __forceinline__ int short_tkp(long long tk) { return (int)((tk + 7) & ~7LL); }

__device__ __forceinline__ float component(const float4& x, int e) {
    return e == 0 ? x.x : e == 1 ? x.y : e == 2 ? x.z : x.w;
}

__device__ __forceinline__ float dot4(const float4& x, const float4& y, float acc) {
    acc = fmaf(x.x, y.x, acc);
    acc = fmaf(x.y, y.y, acc);
    acc = fmaf(x.z, y.z, acc);
    return fmaf(x.w, y.w, acc);
}

__device__ __forceinline__ const float4& f4(const float* p) { return *reinterpret_cast<const float4*>(p); }

// Rows [t0, t0 + count) of one (b, h) of a [.., T, HD] operand into sh[count][LDH] as fp32, zeros past T.
// With vec (rows 16-byte aligned: CudaAttention#shortVectorLoads) 16-byte loads, else element loads;
// either way each thread issues SHORT_LOADS_IN_FLIGHT loads before it stores, so their latencies overlap.
#define SHORT_LOADS_IN_FLIGHT 4
template <typename Tag, int HD>
__device__ __forceinline__ void short_load_rows(float* __restrict__ sh, const typename Dt<Tag>::storage* __restrict__ base,
                                                long long timeStride, long long t0, long long T, int count, bool vec) {
    typedef typename Dt<Tag>::storage S;
    constexpr int LDH = ShortTile<HD>::LDH, U = SHORT_LOADS_IN_FLIGHT;
    if (vec) {
        constexpr int V = 16 / sizeof(S), CH = HD / V;  // elements per chunk, chunks per row
        const int n = count * CH;
        for (int first = threadIdx.x; first < n; first += U * blockDim.x) {
            uint4 x[U];
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int idx = first + u * blockDim.x, r = idx / CH, ch = idx % CH;
                x[u] = make_uint4(0u, 0u, 0u, 0u);
                if (idx < n && t0 + r < T) x[u] = *reinterpret_cast<const uint4*>(base + (t0 + r) * timeStride + ch * V);
            }
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int idx = first + u * blockDim.x, r = idx / CH, ch = idx % CH;
                if (idx >= n) continue;
                float* dst = sh + r * LDH + ch * V;
                if constexpr (V == 4) {
                    *reinterpret_cast<float4*>(dst) = make_float4(__uint_as_float(x[u].x), __uint_as_float(x[u].y),
                                                                  __uint_as_float(x[u].z), __uint_as_float(x[u].w));
                } else {
                    // bf16 -> fp32 is a 16-bit shift; two float4 stores per 8 elements: with rows of HD + 4 floats,
                    // each quarter-warp phase of a 16-byte store touches 32 distinct banks (scalar stores were 4-way conflicted)
                    *reinterpret_cast<float4*>(dst) = make_float4(__uint_as_float(x[u].x << 16), __uint_as_float(x[u].x & 0xFFFF0000u),
                                                                  __uint_as_float(x[u].y << 16), __uint_as_float(x[u].y & 0xFFFF0000u));
                    *reinterpret_cast<float4*>(dst + 4) = make_float4(__uint_as_float(x[u].z << 16), __uint_as_float(x[u].z & 0xFFFF0000u),
                                                                      __uint_as_float(x[u].w << 16), __uint_as_float(x[u].w & 0xFFFF0000u));
                }
            }
        }
    } else {
        const int n = count * HD;
        for (int first = threadIdx.x; first < n; first += U * blockDim.x) {
            float x[U];
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int idx = first + u * blockDim.x, r = idx / HD, d = idx % HD;
                x[u] = idx < n && t0 + r < T ? Dt<Tag>::load(base[(t0 + r) * timeStride + d]) : 0.f;
            }
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int idx = first + u * blockDim.x;
                if (idx < n) sh[(idx / HD) * LDH + idx % HD] = x[u];
            }
        }
    }
}

// Max / sum over the 8 lanes of this thread's group only (mask of its own 8 lanes), so a block whose thread
// count is not a multiple of 32 (any group count in the forward) never names a lane that does not exist.
__device__ __forceinline__ unsigned group_mask() { return 0xFFu << (threadIdx.x & 24); }

__device__ __forceinline__ float group_max(float v) {
    const unsigned m = group_mask();
#pragma unroll
    for (int o = 1; o < 8; o <<= 1) v = fmaxf(v, __shfl_xor_sync(m, v, o));
    return v;
}

__device__ __forceinline__ float group_sum(float v) {
    const unsigned m = group_mask();
#pragma unroll
    for (int o = 1; o < 8; o <<= 1) v += __shfl_xor_sync(m, v, o);
    return v;
}

template <int N>
__device__ __forceinline__ float sub_max(float v) {
#pragma unroll
    for (int o = 1; o < N; o <<= 1) v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
    return v;
}

template <int N>
__device__ __forceinline__ float sub_sum(float v) {
#pragma unroll
    for (int o = 1; o < N; o <<= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    return v;
}

// acc[ii][4 c + e] += sum_j a[row_ii][j] b[j][4 (sub + 8 c) + e] over j < tkp, rows row_ii = g + G ii (ii < nii).
template <int HD, int RI>
__device__ __forceinline__ void short_row_product(float (&acc)[RI][4 * ShortTile<HD>::DC], const float* a, int lda,
                                                  const float* bsh, int g, int G, int sub, int nii, int tkp) {
    constexpr int LDH = ShortTile<HD>::LDH, DC = ShortTile<HD>::DC;
    for (int j = 0; j < tkp; j += 4) {
        float4 pr[RI];
#pragma unroll
        for (int ii = 0; ii < RI; ii++)
            if (ii < nii) pr[ii] = f4(a + (g + G * ii) * lda + j);
#pragma unroll
        for (int jj = 0; jj < 4; jj++) {
#pragma unroll
            for (int c = 0; c < DC; c++) {
                float4 x = f4(bsh + (j + jj) * LDH + 4 * (sub + 8 * c));
#pragma unroll
                for (int ii = 0; ii < RI; ii++) {
                    if (ii >= nii) continue;
                    float p = component(pr[ii], jj);
                    acc[ii][4 * c] = fmaf(p, x.x, acc[ii][4 * c]);
                    acc[ii][4 * c + 1] = fmaf(p, x.y, acc[ii][4 * c + 1]);
                    acc[ii][4 * c + 2] = fmaf(p, x.z, acc[ii][4 * c + 2]);
                    acc[ii][4 * c + 3] = fmaf(p, x.w, acc[ii][4 * c + 3]);
                }
            }
        }
    }
}

// Stores the row-product registers of row i (dims 4 (sub + 8 c) + e) times factor.
template <typename Tag, int HD>
__device__ __forceinline__ void short_store_row(typename Dt<Tag>::storage* row, const float* r, int sub, float factor) {
#pragma unroll
    for (int c = 0; c < ShortTile<HD>::DC; c++)
#pragma unroll
        for (int e = 0; e < 4; e++) row[4 * (sub + 8 * c) + e] = Dt<Tag>::store(r[4 * c + e] * factor);
}

// Same as short_store_row with one 16-byte (fp32) or 8-byte (bf16) store per 4 dims: the row must be 4-element aligned.
template <typename Tag, int HD>
__device__ __forceinline__ void short_store_row_vec(typename Dt<Tag>::storage* row, const float* r, int sub) {
    typedef typename Dt<Tag>::storage S;
#pragma unroll
    for (int c = 0; c < ShortTile<HD>::DC; c++) {
        S* dst = row + 4 * (sub + 8 * c);
        if constexpr (sizeof(S) == 4) {
            *reinterpret_cast<float4*>(dst) = make_float4(r[4 * c], r[4 * c + 1], r[4 * c + 2], r[4 * c + 3]);
        } else {
            uint2 w;
            w.x = (uint32_t)Dt<Tag>::store(r[4 * c]) | ((uint32_t)Dt<Tag>::store(r[4 * c + 1]) << 16);
            w.y = (uint32_t)Dt<Tag>::store(r[4 * c + 2]) | ((uint32_t)Dt<Tag>::store(r[4 * c + 3]) << 16);
            *reinterpret_cast<uint2*>(dst) = w;
        }
    }
}

// ---------------------------------------------------------------- forward

template <typename Tag, int HD>
__device__ void attention_short_fwd(const typename Dt<Tag>::storage* __restrict__ q, const typename Dt<Tag>::storage* __restrict__ k,
                                    const typename Dt<Tag>::storage* __restrict__ v, const float* __restrict__ pad,
                                    typename Dt<Tag>::storage* __restrict__ out, float* __restrict__ lse, const AttnArgs& a,
                                    int causal, float scale, int vec, long long qChunks) {
    constexpr int LDH = ShortTile<HD>::LDH, DC = ShortTile<HD>::DC, RI = 4;
    extern __shared__ float4 shortSmem4[];
    float* smem = reinterpret_cast<float*>(shortSmem4);
    const int G = blockDim.x >> 3, g = threadIdx.x >> 3, sub = threadIdx.x & 7;
    const int R = RI * G, tkp = short_tkp(a.tk), ldp = tkp + 4;
    const long long chunk = blockIdx.x % qChunks, bh = blockIdx.x / qChunks;
    const long long b = bh / a.heads, h = bh % a.heads;
    const long long i0 = chunk * R;
    const int rowsHere = (int)(a.tq - i0 < R ? a.tq - i0 : R);
    const int nii = (rowsHere + G - 1) / G, njj = tkp / 8;
    const long long shift = a.tk - a.tq;

    float* qs = smem;                                       // [R][LDH]
    float* ks = qs + R * LDH;                               // [tkp][LDH]
    float* ps = smem;                                       // [R][ldp], once Q and K are consumed
    const int qkSize = (R + tkp) * LDH, pSize = R * ldp;
    float* vs = smem + (qkSize > pSize ? qkSize : pSize);   // [tkp][LDH]
    float* kb = vs + tkp * LDH;                             // [tkp]

    const bool vecIn = (vec & 1) != 0, vecOut = (vec & 2) != 0;
    short_load_rows<Tag, HD>(qs, q + b * a.q[0] + h * a.q[1], a.q[2], i0, a.tq, R, vecIn);
    short_load_rows<Tag, HD>(ks, k + b * a.k[0] + h * a.k[1], a.k[2], 0, a.tk, tkp, vecIn);
    short_load_rows<Tag, HD>(vs, v + b * a.v[0] + h * a.v[1], a.v[2], 0, a.tk, tkp, vecIn);
    for (int j = threadIdx.x; j < tkp; j += blockDim.x) kb[j] = key_bias(pad, a, b, j);
    __syncthreads();

    float s[RI][8];
#pragma unroll
    for (int ii = 0; ii < RI; ii++)
#pragma unroll
        for (int jj = 0; jj < 8; jj++) s[ii][jj] = 0.f;
#pragma unroll 2
    for (int d = 0; d < HD; d += 4) {
        float4 x[RI];
#pragma unroll
        for (int ii = 0; ii < RI; ii++)
            if (ii < nii) x[ii] = f4(qs + (g + G * ii) * LDH + d);
#pragma unroll
        for (int jj = 0; jj < 8; jj++) {
            if (jj >= njj) continue;
            float4 y = f4(ks + (sub + 8 * jj) * LDH + d);
#pragma unroll
            for (int ii = 0; ii < RI; ii++)
                if (ii < nii) s[ii][jj] = dot4(x[ii], y, s[ii][jj]);
        }
    }
    __syncthreads();  // Q and K are consumed: P overwrites them

    const float c = scale * LOG2E;
#pragma unroll
    for (int ii = 0; ii < RI; ii++) {
        if (ii >= nii) continue;  // block-uniform: the shuffles below see every lane
        const long long i = i0 + g + G * ii;
        float m = -INFINITY;
#pragma unroll
        for (int jj = 0; jj < 8; jj++) {
            if (jj >= njj) continue;
            const int j = sub + 8 * jj;
            float x = fmaf(s[ii][jj], c, kb[j]);
            if (causal && j > i + shift) x = -INFINITY;
            s[ii][jj] = x;
            m = fmaxf(m, x);
        }
        m = group_max(m);
        float l = 0.f;
#pragma unroll
        for (int jj = 0; jj < 8; jj++) {
            if (jj >= njj) continue;
            float p = m == -INFINITY ? 0.f : exp2f(s[ii][jj] - m);
            s[ii][jj] = p;
            l += p;
        }
        l = group_sum(l);
        const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
        for (int jj = 0; jj < 8; jj++)
            if (jj < njj) ps[(g + G * ii) * ldp + sub + 8 * jj] = s[ii][jj] * inv;
        if (sub == 0 && i < a.tq) lse[bh * a.tq + i] = l > 0.f ? (m + log2f(l)) * LN2 : -INFINITY;
    }
    __syncthreads();

    float o[RI][4 * DC];
#pragma unroll
    for (int ii = 0; ii < RI; ii++)
#pragma unroll
        for (int e = 0; e < 4 * DC; e++) o[ii][e] = 0.f;
    short_row_product<HD, RI>(o, ps, ldp, vs, g, G, sub, nii, tkp);
#pragma unroll
    for (int ii = 0; ii < RI; ii++) {
        const long long i = i0 + g + G * ii;
        if (ii < nii && i < a.tq) {
            typename Dt<Tag>::storage* row = out + b * a.o[0] + h * a.o[1] + i * a.o[2];
            if (vecOut) short_store_row_vec<Tag, HD>(row, o[ii], sub);
            else short_store_row<Tag, HD>(row, o[ii], sub, 1.f);
        }
    }
}

// ---------------------------------------------------------------- backward

template <typename Tag, int HD>
__device__ void attention_short_bwd(const typename Dt<Tag>::storage* __restrict__ q, const typename Dt<Tag>::storage* __restrict__ k,
                                    const typename Dt<Tag>::storage* __restrict__ v, const float* __restrict__ pad,
                                    const typename Dt<Tag>::storage* __restrict__ out, const typename Dt<Tag>::storage* __restrict__ gout,
                                    const float* __restrict__ lse, typename Dt<Tag>::storage* __restrict__ gq,
                                    typename Dt<Tag>::storage* __restrict__ gk, typename Dt<Tag>::storage* __restrict__ gv,
                                    const AttnArgs& a, int causal, float scale, int vec) {
    constexpr int LDH = ShortTile<HD>::LDH, DC = ShortTile<HD>::DC, RI = 2;
    extern __shared__ float4 shortSmem4[];
    float* smem = reinterpret_cast<float*>(shortSmem4);
    const int G = blockDim.x >> 3, g = threadIdx.x >> 3, sub = threadIdx.x & 7;
    // rows per chunk: RI G, or fewer whole groups of G when Tq is short (less shared memory)
    const int riUsed = (int)((a.tq + G - 1) / G < RI ? (a.tq + G - 1) / G : RI), R = riUsed * G;
    const int tkp = short_tkp(a.tk), ldp = tkp + 4, njj = tkp / 8;
    const long long bh = blockIdx.x, b = bh / a.heads, h = bh % a.heads;
    const long long shift = a.tk - a.tq;
    const float c = scale * LOG2E;

    float* ks = smem;               // [tkp][LDH]
    float* vs = ks + tkp * LDH;     // [tkp][LDH]
    float* qs = vs + tkp * LDH;     // [R][LDH]
    float* gs = qs + R * LDH;       // [R][LDH]  dO
    float* ps = gs + R * LDH;       // [R][ldp]  P
    float* dss = ps + R * ldp;      // [R][ldp]  dS
    float* kb = dss + R * ldp;      // [tkp]

    short_load_rows<Tag, HD>(ks, k + b * a.k[0] + h * a.k[1], a.k[2], 0, a.tk, tkp, vec);
    short_load_rows<Tag, HD>(vs, v + b * a.v[0] + h * a.v[1], a.v[2], 0, a.tk, tkp, vec);
    for (int j = threadIdx.x; j < tkp; j += blockDim.x) kb[j] = key_bias(pad, a, b, j);

    float dk[4][4 * DC], dv[4][4 * DC];
#pragma unroll
    for (int jj = 0; jj < 4; jj++)
#pragma unroll
        for (int e = 0; e < 4 * DC; e++) {
            dk[jj][e] = 0.f;
            dv[jj][e] = 0.f;
        }
    const bool ownsKeys = 4 * g < tkp;

    const typename Dt<Tag>::storage* qb = q + b * a.q[0] + h * a.q[1];
    const typename Dt<Tag>::storage* gb = gout + b * a.g[0] + h * a.g[1];
    const typename Dt<Tag>::storage* ob = out + b * a.o[0] + h * a.o[1];
    for (long long i0 = 0; i0 < a.tq; i0 += R) {
        const int rowsHere = (int)(a.tq - i0 < R ? a.tq - i0 : R);
        const int nii = (rowsHere + G - 1) / G;
        __syncthreads();  // the previous chunk's Q, dO, P, dS are consumed

        // Q and dO rows to shared memory, D_i = dO_i . O_i and lse_i (base 2) in registers.
        float rowD[RI], lse2[RI];
#pragma unroll
        for (int ii = 0; ii < RI; ii++) {
            const int r = g + G * ii;
            const long long i = i0 + r;
            float part = 0.f;
#pragma unroll
            for (int e = 0; e < HD / 8; e++) {
                const int d = sub + 8 * e;
                float qv = 0.f, gv_ = 0.f;
                if (i < a.tq) {
                    qv = Dt<Tag>::load(qb[i * a.q[2] + d]);
                    gv_ = Dt<Tag>::load(gb[i * a.g[2] + d]);
                    part = fmaf(gv_, Dt<Tag>::load(ob[i * a.o[2] + d]), part);
                }
                if (ii < riUsed) {
                    qs[r * LDH + d] = qv;
                    gs[r * LDH + d] = gv_;
                }
            }
            rowD[ii] = sub_sum<8>(part);
            lse2[ii] = i < a.tq ? lse[bh * a.tq + i] * LOG2E : -INFINITY;
        }
        __syncthreads();

        // S = Q K^T and dP = dO V^T, then P and dS to shared memory (zeros for rows past the chunk).
        {
            float s[RI][8], dp[RI][8];
#pragma unroll
            for (int ii = 0; ii < RI; ii++)
#pragma unroll
                for (int jj = 0; jj < 8; jj++) {
                    s[ii][jj] = 0.f;
                    dp[ii][jj] = 0.f;
                }
#pragma unroll 2
            for (int d = 0; d < HD; d += 4) {
                float4 x[RI], y[RI];
#pragma unroll
                for (int ii = 0; ii < RI; ii++) {
                    if (ii >= nii) continue;
                    x[ii] = f4(qs + (g + G * ii) * LDH + d);
                    y[ii] = f4(gs + (g + G * ii) * LDH + d);
                }
#pragma unroll
                for (int jj = 0; jj < 8; jj++) {
                    if (jj >= njj) continue;
                    const float4 kv = f4(ks + (sub + 8 * jj) * LDH + d);
                    const float4 vv = f4(vs + (sub + 8 * jj) * LDH + d);
#pragma unroll
                    for (int ii = 0; ii < RI; ii++) {
                        if (ii >= nii) continue;
                        s[ii][jj] = dot4(x[ii], kv, s[ii][jj]);
                        dp[ii][jj] = dot4(y[ii], vv, dp[ii][jj]);
                    }
                }
            }
#pragma unroll
            for (int ii = 0; ii < RI; ii++) {
                const int r = g + G * ii;
                const long long i = i0 + r;
                const bool rowLive = ii < nii && lse2[ii] != -INFINITY;
#pragma unroll
                for (int jj = 0; jj < 8; jj++) {
                    if (jj >= njj) continue;
                    const int j = sub + 8 * jj;
                    const bool visible = rowLive && kb[j] == 0.f && (!causal || j <= i + shift);
                    const float p = visible ? exp2f(fmaf(s[ii][jj], c, -lse2[ii])) : 0.f;
                    if (ii < riUsed) {
                        ps[r * ldp + j] = p;
                        dss[r * ldp + j] = p * (dp[ii][jj] - rowD[ii]);
                    }
                }
            }
        }
        __syncthreads();

        // dQ = scale dS K for this chunk's rows.
        {
            float dq[RI][4 * DC];
#pragma unroll
            for (int ii = 0; ii < RI; ii++)
#pragma unroll
                for (int e = 0; e < 4 * DC; e++) dq[ii][e] = 0.f;
            short_row_product<HD, RI>(dq, dss, ldp, ks, g, G, sub, nii, tkp);
#pragma unroll
            for (int ii = 0; ii < RI; ii++) {
                const long long i = i0 + g + G * ii;
                if (ii < nii && i < a.tq) short_store_row<Tag, HD>(gq + (bh * a.tq + i) * HD, dq[ii], sub, scale);
            }
        }

        // dV += P^T dO and dK += dS^T Q for keys 4 g .. 4 g + 3.
        if (ownsKeys) {
            for (int r = 0; r < rowsHere; r++) {
                const float4 p4 = f4(ps + r * ldp + 4 * g), ds4 = f4(dss + r * ldp + 4 * g);
#pragma unroll
                for (int cc = 0; cc < DC; cc++) {
                    const float4 go = f4(gs + r * LDH + 4 * (sub + 8 * cc)), qq = f4(qs + r * LDH + 4 * (sub + 8 * cc));
#pragma unroll
                    for (int jj = 0; jj < 4; jj++) {
                        const float p = component(p4, jj), ds = component(ds4, jj);
                        dv[jj][4 * cc] = fmaf(p, go.x, dv[jj][4 * cc]);
                        dv[jj][4 * cc + 1] = fmaf(p, go.y, dv[jj][4 * cc + 1]);
                        dv[jj][4 * cc + 2] = fmaf(p, go.z, dv[jj][4 * cc + 2]);
                        dv[jj][4 * cc + 3] = fmaf(p, go.w, dv[jj][4 * cc + 3]);
                        dk[jj][4 * cc] = fmaf(ds, qq.x, dk[jj][4 * cc]);
                        dk[jj][4 * cc + 1] = fmaf(ds, qq.y, dk[jj][4 * cc + 1]);
                        dk[jj][4 * cc + 2] = fmaf(ds, qq.z, dk[jj][4 * cc + 2]);
                        dk[jj][4 * cc + 3] = fmaf(ds, qq.w, dk[jj][4 * cc + 3]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int jj = 0; jj < 4; jj++) {
        const long long j = 4 * g + jj;
        if (j < a.tk) {
            short_store_row<Tag, HD>(gk + (bh * a.tk + j) * HD, dk[jj], sub, scale);
            short_store_row<Tag, HD>(gv + (bh * a.tk + j) * HD, dv[jj], sub, 1.f);
        }
    }
}

// ---------------------------------------------------------------- entry points

#define ATTENTION_SHORT_ENTRIES(SUF, Tag, HD)                                                                                  \
    extern "C" __global__ void __launch_bounds__(128) attention_short_fwd_##SUF##_##HD(                                       \
        const Dt<Tag>::storage* q, const Dt<Tag>::storage* k, const Dt<Tag>::storage* v, const float* pad,                    \
        Dt<Tag>::storage* out, float* lse, AttnArgs a, int causal, float scale, int vec, long long qChunks) {                 \
        attention_short_fwd<Tag, HD>(q, k, v, pad, out, lse, a, causal, scale, vec, qChunks);                                  \
    }                                                                                                                          \
    extern "C" __global__ void __launch_bounds__(128) attention_short_bwd_##SUF##_##HD(                                       \
        const Dt<Tag>::storage* q, const Dt<Tag>::storage* k, const Dt<Tag>::storage* v, const float* pad,                    \
        const Dt<Tag>::storage* out, const Dt<Tag>::storage* gout, const float* lse, Dt<Tag>::storage* gq,                    \
        Dt<Tag>::storage* gk, Dt<Tag>::storage* gv, AttnArgs a, int causal, float scale, int vec) {                            \
        attention_short_bwd<Tag, HD>(q, k, v, pad, out, gout, lse, gq, gk, gv, a, causal, scale, vec);                         \
    }

// The same forwards held to 64 registers (8 blocks of 128 threads per multiprocessor instead of 7, a few
// bytes spilled to L1): CudaAttention picks these under AttentionTuning's shortFwdRegs=capped64.
#define ATTENTION_SHORT_FWD_CAPPED(SUF, Tag, HD)                                                                               \
    extern "C" __global__ void __launch_bounds__(128, 8) attention_short_fwd_##SUF##_##HD##_capped64(                         \
        const Dt<Tag>::storage* q, const Dt<Tag>::storage* k, const Dt<Tag>::storage* v, const float* pad,                    \
        Dt<Tag>::storage* out, float* lse, AttnArgs a, int causal, float scale, int vec, long long qChunks) {                 \
        attention_short_fwd<Tag, HD>(q, k, v, pad, out, lse, a, causal, scale, vec, qChunks);                                  \
    }

ATTENTION_SHORT_FWD_CAPPED(f32, float, 32)
ATTENTION_SHORT_FWD_CAPPED(f32, float, 64)
ATTENTION_SHORT_FWD_CAPPED(bf16, bf16_t, 32)
ATTENTION_SHORT_FWD_CAPPED(bf16, bf16_t, 64)

ATTENTION_SHORT_ENTRIES(f32, float, 32)
ATTENTION_SHORT_ENTRIES(f32, float, 64)
ATTENTION_SHORT_ENTRIES(bf16, bf16_t, 32)
ATTENTION_SHORT_ENTRIES(bf16, bf16_t, 64)

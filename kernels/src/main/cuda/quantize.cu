// MPQ quantization primitives (SPEC 1, Eq. 1, and SPEC 4 relaxed retrieval), fp32.
//
//   codeword_norms_f32(const float* C, float* norms, long long rows, int dc)
//       norms[r] = ||C[r]||^2 for the M * D codewords; one warp per codeword.
//   nearest_codeword_f32(z [N, M, dc], C [M, D, dc], norms [M, D], int* idx [N, M],
//                        float* dist [N, M], long long N, int M, int D, int dc)
//       idx = argmin_j ||z[n, m] - C[m, j]||^2, ties to the lowest j. The argmin is taken over
//       the expanded score ||c_j||^2 - 2 z.c_j (||z||^2 is the same for every j), computed as a
//       GEMM-like tiled product: blockIdx.y is the codebook, blockIdx.x a tile of 128 items; the
//       block walks the codewords in tiles of 64 and dc in chunks of 16 staged in shared memory
//       (z chunk [16][128], codeword chunk [16][64], k-major, rows padded to keep float4 reads
//       aligned). 256 threads as 16 x 16: thread (ty, tx) accumulates 8 items x 4 codewords in
//       registers and keeps its running minimum per item; the 16 threads sharing items (one
//       half-warp) combine (score, j) pairs with xor shuffles. dist is then recomputed directly,
//       sum_k (z - c)^2 of the chosen codeword, one warp per item, so it carries no cancellation
//       error; only near-ties in the expanded score may choose a different j than the fp64 CPU.
//       Compute-bound: 2 N M D dc flops against 4 N M dc bytes of z. Used for dc > 128.
//   codeword_split_tf32(C, norms, cHi, cLo, rows, dc, kPad)
//       Once per lookup: the norms and each codeword split as c = hi + lo (both tf32, zero
//       padded to kPad = dc rounded up to 8), one warp per codeword.
//   nearest_codeword_tf32x3(z, C, norms, cHi, cLo, idx, dist, N, M, D, dc, vec)   (dc <= 128)
//       The same argmin on tensor cores: z.c = zhi.chi + zhi.clo + zlo.chi (3xTF32, mma.sync
//       m16n8k8 with fp32 accumulation; the dropped zlo.clo is below fp32 rounding), so scores
//       carry fp32-level error like the SIMT kernel and only near-ties may differ from the
//       CPU. blockIdx.y is the codebook, blockIdx.x a tile of 128 items held in shared memory
//       (fp32, split when loaded into fragments) for the whole walk over the codewords, which
//       come in tiles of 64 already split (dynamic shared memory: 256 rows of dc rounded up to 8,
//       plus 4 floats so fragment reads are free of bank conflicts). 8 warps as 4 (items) x 2
//       (codewords), 32 x 32 per warp: 2 x 4 mma tiles. Each thread keeps the best (score, j)
//       of its 4 items; lanes of a fragment row, then the two codeword warps, combine with
//       ties to the lowest j; the chosen distance is recomputed exactly as above (z from shared
//       memory).
//   codeword_sum_f32(C, const int* idx, gates, out [N, dc], N, M, D, dc, err)
//       out[n] = sum_m gates[n, m] C[m, idx[n, m]]: one warp per item (grid-stride), lanes over
//       dc; lanes 0..31 load 32 (index, gate) pairs at a time and broadcast them by shuffles.
//   codeword_sum_backward_f32(C, idx, gates, gradOut, gradC, gradGates, N, M, D, dc, err)
//       gradGates[n, m] = gradOut[n] . C[m, idx[n, m]] (warp reduction) and
//       gradC[m, idx[n, m]] += gates[n, m] gradOut[n] by atomicAdd: the summation order into a
//       codeword varies from run to run (fp32 results may differ in the last bits; the CPU
//       reference is deterministic).
//   codeword_sum_vec_f32 / codeword_sum_backward_vec_f32(..., lanesLog2, err)
//       The same with dc % 4 == 0 and 16-byte aligned C, out / gradOut, gradC: a group of
//       2^lanesLog2 lanes (the next power of two of dc / 4, at most 32) per item, each lane a
//       float4 column quad; the sum loads 8 codebooks' (index, gate) pairs and codeword quads
//       before its FMAs (same summation order as above); the backward uses float4 atomics on sm_90.
//   An index outside [0, D) is reported through err (read at the next synchronisation as an
//   IndexOutOfBoundsException) and that codeword is skipped.
//   relaxed_match_count_i32(const int* paths [P, M], const int* items [N, M], int* counts [P, N],
//                           long long P, long long N, int M)
//       counts[p, n] = #{m : paths[p, m] == items[n, m]}, M <= 16. blockIdx.x covers 256 items
//       (one per thread, its row held in registers), blockIdx.y strides over groups of 32 paths
//       staged in shared memory; writes are coalesced along n.
// CPU reference: io.reg4rec.engine.cpu.CpuQuantization.
#include "common.cuh"

#define NC_TM 128
#define NC_TN 64
#define NC_TK 16
#define NC_THREADS 256

extern "C" __global__ void codeword_norms_f32(const float* __restrict__ C, float* __restrict__ norms, long long rows, int dc) {
    const int lane = threadIdx.x & 31;
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const long long warps = ((long long)gridDim.x * blockDim.x) >> 5;
    for (long long r = warp; r < rows; r += warps) {
        float s = 0.0f;
        for (int k = lane; k < dc; k += 32) {
            float c = C[r * dc + k];
            s = fmaf(c, c, s);
        }
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, o);
        if (lane == 0) norms[r] = s;
    }
}

__device__ __forceinline__ bool better(float v, int j, float bv, int bj) {
    return v < bv || (v == bv && j < bj);
}

extern "C" __global__ void __launch_bounds__(NC_THREADS)
nearest_codeword_f32(const float* __restrict__ z, const float* __restrict__ C, const float* __restrict__ norms,
                     int* __restrict__ outIdx, float* __restrict__ outDist, long long N, int M, int D, int dc) {
    __shared__ __align__(16) float zs[NC_TK][NC_TM + 4];
    __shared__ __align__(16) float cs[NC_TK][NC_TN + 4];
    __shared__ int chosen[NC_TM];
    const int m = blockIdx.y;
    const long long n0 = (long long)blockIdx.x * NC_TM;
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const float* Cm = C + (long long)m * D * dc;

    float bestV[8];
    int bestJ[8];
#pragma unroll
    for (int i = 0; i < 8; i++) { bestV[i] = __int_as_float(0x7F800000); bestJ[i] = 0x7FFFFFFF; }

    for (int j0 = 0; j0 < D; j0 += NC_TN) {
        float acc[8][4];
#pragma unroll
        for (int i = 0; i < 8; i++)
#pragma unroll
            for (int c = 0; c < 4; c++) acc[i][c] = 0.0f;
        for (int k0 = 0; k0 < dc; k0 += NC_TK) {
#pragma unroll
            for (int r = 0; r < (NC_TM * NC_TK) / NC_THREADS; r++) {
                int e = tid + r * NC_THREADS, item = e >> 4, kk = e & 15;
                long long n = n0 + item;
                int k = k0 + kk;
                zs[kk][item] = (n < N && k < dc) ? z[(n * M + m) * dc + k] : 0.0f;
            }
#pragma unroll
            for (int r = 0; r < (NC_TN * NC_TK) / NC_THREADS; r++) {
                int e = tid + r * NC_THREADS, cw = e >> 4, kk = e & 15;
                int j = j0 + cw, k = k0 + kk;
                cs[kk][cw] = (j < D && k < dc) ? Cm[(long long)j * dc + k] : 0.0f;
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < NC_TK; kk++) {
                float4 a0 = *reinterpret_cast<const float4*>(&zs[kk][ty * 8]);
                float4 a1 = *reinterpret_cast<const float4*>(&zs[kk][ty * 8 + 4]);
                float4 b = *reinterpret_cast<const float4*>(&cs[kk][tx * 4]);
                float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
                float bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
                for (int i = 0; i < 8; i++)
#pragma unroll
                    for (int c = 0; c < 4; c++) acc[i][c] = fmaf(av[i], bv[c], acc[i][c]);
            }
            __syncthreads();
        }
        // Codewords are visited in increasing j within a thread, so a strict < keeps the lowest j.
#pragma unroll
        for (int c = 0; c < 4; c++) {
            int j = j0 + tx * 4 + c;
            if (j < D) {
                float cn = norms[(long long)m * D + j];
#pragma unroll
                for (int i = 0; i < 8; i++) {
                    float score = fmaf(-2.0f, acc[i][c], cn);
                    if (score < bestV[i]) { bestV[i] = score; bestJ[i] = j; }
                }
            }
        }
    }
    // Combine across the 16 threads (tx) of a half-warp that share these 8 items.
#pragma unroll
    for (int i = 0; i < 8; i++) {
        float v = bestV[i];
        int j = bestJ[i];
#pragma unroll
        for (int o = 8; o > 0; o >>= 1) {
            float ov = __shfl_xor_sync(0xFFFFFFFFu, v, o);
            int oj = __shfl_xor_sync(0xFFFFFFFFu, j, o);
            if (better(ov, oj, v, j)) { v = ov; j = oj; }
        }
        // A NaN score never wins: fall back to codeword 0 (the CPU reference's choice too).
        if (tx == 0) chosen[ty * 8 + i] = j < D ? j : 0;
    }
    __syncthreads();
    // Exact distance of the chosen codeword, one warp per item.
    const int lane = tid & 31, warpId = tid >> 5;
    for (int item = warpId; item < NC_TM; item += NC_THREADS / 32) {
        long long n = n0 + item;
        if (n >= N) break;
        int j = chosen[item];
        const float* zr = z + (n * M + m) * dc;
        const float* cr = Cm + (long long)j * dc;
        float s = 0.0f;
        for (int k = lane; k < dc; k += 32) {
            float d = zr[k] - cr[k];
            s = fmaf(d, d, s);
        }
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, o);
        if (lane == 0) {
            outIdx[n * M + m] = j;
            outDist[n * M + m] = s;
        }
    }
}

// ---------------------------------------------------------------- nearest codeword on tensor cores

#define NT_ITEMS 128                  // items per block (4 warps along items, 32 each)
#define NT_CODES 64                   // codewords per tile (2 warps along codewords, 32 each)
#define NT_THREADS 256
#define NT_LOADS 8                    // global loads per thread in flight while filling shared memory

__device__ __forceinline__ uint32_t to_tf32(float x) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}

// x = hi + lo with both parts tf32: hi carries the top 11 significant bits, lo the next 11.
__device__ __forceinline__ void split_tf32(float x, uint32_t& hi, uint32_t& lo) {
    hi = to_tf32(x);
    lo = to_tf32(x - __uint_as_float(hi));
}

__device__ __forceinline__ void mma_tf32(float* d, const uint32_t* a, const uint32_t* b) {
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Stride (floats) of one item / codeword row in shared memory: dc rounded up to the mma's k of 8,
// plus 4 so that the fragment reads (8 rows x 4 columns per instruction) hit 32 distinct banks.
__device__ __forceinline__ int nt_row_stride(int dc) { return ((dc + 7) & ~7) + 4; }

// Once per lookup: norms[r] = ||C[r]||^2 and the tf32 split of every codeword, rows padded with
// zeros to kPad = dc rounded up to 8 (cHi, cLo: [M * D, kPad]); one warp per codeword.
extern "C" __global__ void codeword_split_tf32(const float* __restrict__ C, float* __restrict__ norms,
                                               uint32_t* __restrict__ cHi, uint32_t* __restrict__ cLo, long long rows,
                                               int dc, int kPad) {
    const int lane = threadIdx.x & 31;
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const long long warps = ((long long)gridDim.x * blockDim.x) >> 5;
    for (long long r = warp; r < rows; r += warps) {
        float s = 0.0f;
        for (int k = lane; k < kPad; k += 32) {
            const float c = k < dc ? C[r * dc + k] : 0.0f;
            s = fmaf(c, c, s);
            uint32_t hi, lo;
            split_tf32(c, hi, lo);
            cHi[r * kPad + k] = hi;
            cLo[r * kPad + k] = lo;
        }
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, o);
        if (lane == 0) norms[r] = s;
    }
}

extern "C" __global__ void __launch_bounds__(NT_THREADS)
nearest_codeword_tf32x3(const float* __restrict__ z, const float* __restrict__ C, const float* __restrict__ norms,
                        const uint32_t* __restrict__ splitHi, const uint32_t* __restrict__ splitLo,
                        int* __restrict__ outIdx, float* __restrict__ outDist, long long N, int M, int D, int dc, int vec) {
    extern __shared__ __align__(16) float ntShared[];
    __shared__ float pairV[2][NT_ITEMS];
    __shared__ int pairJ[2][NT_ITEMS];
    __shared__ int chosen[NT_ITEMS];
    const int ld = nt_row_stride(dc), kPad = (dc + 7) & ~7;
    float* zs = ntShared;                                                  // [NT_ITEMS][ld] fp32
    uint32_t* cHi = reinterpret_cast<uint32_t*>(zs + NT_ITEMS * ld);       // [NT_CODES][ld] tf32
    uint32_t* cLo = cHi + NT_CODES * ld;                                   // [NT_CODES][ld] tf32
    const int m = blockIdx.y;
    const long long n0 = (long long)blockIdx.x * NT_ITEMS;
    const int tid = threadIdx.x, lane = tid & 31, warpId = tid >> 5;
    const int wm = warpId & 3, wn = warpId >> 2;       // warp's 32 items, 32 codewords of a tile
    const int gid = lane >> 2, tig = lane & 3;         // mma fragment coordinates
    const float* Cm = C + (long long)m * D * dc;

    // The block's items stay in shared memory for every codeword tile (zero rows past N, zero
    // columns past dc, which add nothing to the products). The tile is walked as a flat range
    // of quads (vec: dc % 4 == 0, 16-byte aligned z) or floats, NT_LOADS per thread issued
    // before any store; row = e / width by a multiply-high (exact for these small e).
    {
        const int width = vec ? (kPad >> 2) : kPad, total = NT_ITEMS * width;
        const uint32_t magic = 0xFFFFFFFFu / (uint32_t)width + 1u;
        for (int e0 = 0; e0 < total; e0 += NT_THREADS * NT_LOADS) {
            float4 v[NT_LOADS];
#pragma unroll
            for (int r = 0; r < NT_LOADS; r++) {
                const int e = e0 + r * NT_THREADS + tid;
                const int item = (int)__umulhi((uint32_t)e, magic), col = e - item * width;
                const long long n = n0 + item;
                v[r] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                if (e < total && n < N) {
                    const float* zr = z + (n * M + m) * dc;
                    if (vec) {
                        if (4 * col < dc) v[r] = __ldcs(reinterpret_cast<const float4*>(zr) + col);
                    } else if (col < dc) {
                        v[r].x = zr[col];
                    }
                }
            }
#pragma unroll
            for (int r = 0; r < NT_LOADS; r++) {
                const int e = e0 + r * NT_THREADS + tid;
                const int item = (int)__umulhi((uint32_t)e, magic), col = e - item * width;
                if (e < total) {
                    if (vec) *reinterpret_cast<float4*>(zs + item * ld + 4 * col) = v[r];
                    else zs[item * ld + col] = v[r].x;
                }
            }
        }
    }

    // Running minimum of the expanded score per item this thread sees: items
    // wm * 32 + mt * 16 + gid + 8 h, slot 2 mt + h.
    float bestV[4];
    int bestJ[4];
#pragma unroll
    for (int i = 0; i < 4; i++) { bestV[i] = __int_as_float(0x7F800000); bestJ[i] = 0x7FFFFFFF; }

    for (int j0 = 0; j0 < D; j0 += NT_CODES) {
        __syncthreads();  // the previous tile's codewords are no longer read (and zs is complete)
        // The tile's pre-split, zero-padded codeword quads as a flat range, NT_LOADS / 2 quads
        // of hi and of lo per thread in flight; rows past D are zero.
        {
            const int width = kPad >> 2, total = NT_CODES * width;
            const uint32_t magic = 0xFFFFFFFFu / (uint32_t)width + 1u;
            for (int e0 = 0; e0 < total; e0 += NT_THREADS * (NT_LOADS / 2)) {
                uint4 hi[NT_LOADS / 2], lo[NT_LOADS / 2];
#pragma unroll
                for (int r = 0; r < NT_LOADS / 2; r++) {
                    const int e = e0 + r * NT_THREADS + tid;
                    const int cw = (int)__umulhi((uint32_t)e, magic), col = e - cw * width;
                    const int j = j0 + cw;
                    hi[r] = make_uint4(0u, 0u, 0u, 0u);
                    lo[r] = hi[r];
                    if (e < total && j < D) {
                        const long long row = ((long long)m * D + j) * kPad;
                        hi[r] = reinterpret_cast<const uint4*>(splitHi + row)[col];
                        lo[r] = reinterpret_cast<const uint4*>(splitLo + row)[col];
                    }
                }
#pragma unroll
                for (int r = 0; r < NT_LOADS / 2; r++) {
                    const int e = e0 + r * NT_THREADS + tid;
                    const int cw = (int)__umulhi((uint32_t)e, magic), col = e - cw * width;
                    if (e < total) {
                        *reinterpret_cast<uint4*>(cHi + cw * ld + 4 * col) = hi[r];
                        *reinterpret_cast<uint4*>(cLo + cw * ld + 4 * col) = lo[r];
                    }
                }
            }
        }
        __syncthreads();

        float acc[2][4][4];
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < 4; nt++)
#pragma unroll
                for (int r = 0; r < 4; r++) acc[mt][nt][r] = 0.0f;

        for (int k = 0; k < kPad; k += 8) {
            uint32_t aHi[2][4], aLo[2][4], bHi[4][2], bLo[4][2];
#pragma unroll
            for (int mt = 0; mt < 2; mt++) {
                const float* zr = zs + (wm * 32 + mt * 16 + gid) * ld + k + tig;
                split_tf32(zr[0], aHi[mt][0], aLo[mt][0]);
                split_tf32(zr[8 * ld], aHi[mt][1], aLo[mt][1]);
                split_tf32(zr[4], aHi[mt][2], aLo[mt][2]);
                split_tf32(zr[8 * ld + 4], aHi[mt][3], aLo[mt][3]);
            }
#pragma unroll
            for (int nt = 0; nt < 4; nt++) {
                const int off = (wn * 32 + nt * 8 + gid) * ld + k + tig;
                bHi[nt][0] = cHi[off];
                bHi[nt][1] = cHi[off + 4];
                bLo[nt][0] = cLo[off];
                bLo[nt][1] = cLo[off + 4];
            }
            // 3xTF32: the small cross terms first, then hi * hi (lo * lo is below fp32's rounding).
#pragma unroll
            for (int mt = 0; mt < 2; mt++)
#pragma unroll
                for (int nt = 0; nt < 4; nt++) {
                    mma_tf32(acc[mt][nt], aLo[mt], bHi[nt]);
                    mma_tf32(acc[mt][nt], aHi[mt], bLo[nt]);
                    mma_tf32(acc[mt][nt], aHi[mt], bHi[nt]);
                }
        }

        // Scores of this tile; j increases through the loops, so a strict < keeps the lowest j.
#pragma unroll
        for (int nt = 0; nt < 4; nt++) {
#pragma unroll
            for (int c = 0; c < 2; c++) {
                const int j = j0 + wn * 32 + nt * 8 + 2 * tig + c;
                if (j < D) {
                    const float cn = norms[(long long)m * D + j];
#pragma unroll
                    for (int mt = 0; mt < 2; mt++)
#pragma unroll
                        for (int h = 0; h < 2; h++) {
                            const float score = fmaf(-2.0f, acc[mt][nt][2 * h + c], cn);
                            if (score < bestV[2 * mt + h]) { bestV[2 * mt + h] = score; bestJ[2 * mt + h] = j; }
                        }
                }
            }
        }
    }

    // The 4 lanes of a fragment row (tig) hold different codewords of the same items; then the
    // two warps along codewords meet in shared memory.
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float v = bestV[i];
        int j = bestJ[i];
#pragma unroll
        for (int o = 1; o <= 2; o <<= 1) {
            const float ov = __shfl_xor_sync(0xFFFFFFFFu, v, o);
            const int oj = __shfl_xor_sync(0xFFFFFFFFu, j, o);
            if (better(ov, oj, v, j)) { v = ov; j = oj; }
        }
        if (tig == 0) {
            const int item = wm * 32 + (i >> 1) * 16 + gid + 8 * (i & 1);
            pairV[wn][item] = v;
            pairJ[wn][item] = j;
        }
    }
    __syncthreads();
    if (tid < NT_ITEMS) {
        float v = pairV[0][tid];
        int j = pairJ[0][tid];
        if (better(pairV[1][tid], pairJ[1][tid], v, j)) j = pairJ[1][tid];
        // A NaN score never wins: fall back to codeword 0 (the CPU reference's choice too).
        chosen[tid] = j < D ? j : 0;
    }
    __syncthreads();
    // Exact distance of the chosen codeword, one warp per item, z from shared memory.
    for (int item = warpId; item < NT_ITEMS; item += NT_THREADS / 32) {
        const long long n = n0 + item;
        if (n >= N) break;
        const int j = chosen[item];
        const float* zr = zs + item * ld;
        const float* cr = Cm + (long long)j * dc;
        float s = 0.0f;
        for (int k = lane; k < dc; k += 32) {
            const float d = zr[k] - cr[k];
            s = fmaf(d, d, s);
        }
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, o);
        if (lane == 0) {
            outIdx[n * M + m] = j;
            outDist[n * M + m] = s;
        }
    }
}

extern "C" __global__ void codeword_sum_f32(const float* __restrict__ C, const int* __restrict__ idx,
                                            const float* __restrict__ gates, float* __restrict__ out, long long N, int M,
                                            int D, int dc, unsigned long long* err) {
    const int lane = threadIdx.x & 31;
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const long long warps = ((long long)gridDim.x * blockDim.x) >> 5;
    for (long long n = warp; n < N; n += warps) {
        for (int k0 = 0; k0 < dc; k0 += 128) {
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int m0 = 0; m0 < M; m0 += 32) {
                int myJ = 0;
                float myG = 0.0f;
                if (m0 + lane < M) {
                    myJ = idx[n * M + m0 + lane];
                    myG = gates[n * M + m0 + lane];
                    if (myJ < 0 || myJ >= D) {
                        if (k0 == 0) report_device_error(err, DEVICE_ERROR_INDEX, myJ, D);
                        myJ = -1;
                    }
                }
                int count = min(32, M - m0);
                for (int mm = 0; mm < count; mm++) {
                    int j = __shfl_sync(0xFFFFFFFFu, myJ, mm);
                    float g = __shfl_sync(0xFFFFFFFFu, myG, mm);
                    if (j < 0) continue;
                    const float* c = C + ((long long)(m0 + mm) * D + j) * dc;
#pragma unroll
                    for (int r = 0; r < 4; r++) {
                        int k = k0 + lane + 32 * r;
                        if (k < dc) acc[r] = fmaf(g, c[k], acc[r]);
                    }
                }
            }
#pragma unroll
            for (int r = 0; r < 4; r++) {
                int k = k0 + lane + 32 * r;
                if (k < dc) out[n * dc + k] = acc[r];
            }
        }
    }
}

extern "C" __global__ void codeword_sum_backward_f32(const float* __restrict__ C, const int* __restrict__ idx,
                                                     const float* __restrict__ gates, const float* __restrict__ gradOut,
                                                     float* gradC, float* __restrict__ gradGates, long long N, int M,
                                                     int D, int dc, unsigned long long* err) {
    const int lane = threadIdx.x & 31;
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const long long warps = ((long long)gridDim.x * blockDim.x) >> 5;
    for (long long n = warp; n < N; n += warps) {
        const float* go = gradOut + n * dc;
        for (int m = 0; m < M; m++) {
            int j = idx[n * M + m];
            float g = gates[n * M + m];
            float dot = 0.0f;
            if (j >= 0 && j < D) {
                const float* c = C + ((long long)m * D + j) * dc;
                float* gc = gradC + ((long long)m * D + j) * dc;
                for (int k = lane; k < dc; k += 32) {
                    float gk = go[k];
                    dot = fmaf(gk, c[k], dot);
                    atomicAdd(gc + k, g * gk);
                }
            } else if (lane == 0) {
                report_device_error(err, DEVICE_ERROR_INDEX, j, D);
            }
            for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xFFFFFFFFu, dot, o);
            if (lane == 0) gradGates[n * M + m] = dot;
        }
    }
}

// ---------------------------------------------------------------- vectorised codeword sum

#define CS_UNROLL 8   // codebooks whose (index, gate) and codeword quads are loaded before the FMAs
#define CSB_UNROLL 4  // the same for the backward

__device__ __forceinline__ float4 fma4(float g, float4 c, float4 a) {
    return make_float4(fmaf(g, c.x, a.x), fmaf(g, c.y, a.y), fmaf(g, c.z, a.z), fmaf(g, c.w, a.w));
}

// Item geometry of the vectorised codeword kernels: a group of G = 2^lanesLog2 lanes per item,
// lane sub of its group owning the float4 column quads sub, sub + G, ...
#define ITEM_GROUP_GEOMETRY                                                                 \
    const int G = 1 << lanesLog2;                                                           \
    const int lane = threadIdx.x & 31;                                                      \
    const int sub = lane & (G - 1);                                                         \
    const long long itemsPerWarp = 32 >> lanesLog2;                                         \
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;          \
    const long long warps = ((long long)gridDim.x * blockDim.x) >> 5;                       \
    const int quads = dc >> 2;

extern "C" __global__ void codeword_sum_vec_f32(const float* __restrict__ C, const int* __restrict__ idx,
                                                const float* __restrict__ gates, float* __restrict__ out, long long N,
                                                int M, int D, int dc, int lanesLog2, unsigned long long* err) {
    ITEM_GROUP_GEOMETRY
    for (long long first = warp * itemsPerWarp; first < N; first += warps * itemsPerWarp) {
        const long long n = first + (lane >> lanesLog2);
        if (n >= N) continue;  // no shuffles below: lanes may leave
        const int* ir = idx + n * M;
        const float* gr = gates + n * M;
        for (int q = sub; q < quads; q += G) {
            float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            for (int m0 = 0; m0 < M; m0 += CS_UNROLL) {
                int js[CS_UNROLL];
                float gs[CS_UNROLL];
                float4 cs[CS_UNROLL];
#pragma unroll
                for (int u = 0; u < CS_UNROLL; u++) {
                    const int m = m0 + u;
                    js[u] = m < M ? ir[m] : 0;
                    gs[u] = m < M ? gr[m] : 0.0f;
                }
#pragma unroll
                for (int u = 0; u < CS_UNROLL; u++) {
                    const int m = m0 + u;
                    const bool valid = m < M && js[u] >= 0 && js[u] < D;
                    if (m < M && !valid && q == sub && sub == 0) report_device_error(err, DEVICE_ERROR_INDEX, js[u], D);
                    cs[u] = valid ? __ldg(reinterpret_cast<const float4*>(C + ((long long)m * D + js[u]) * dc) + q)
                                  : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                    js[u] = valid ? 1 : 0;
                }
                // Codebooks in increasing m, as the scalar kernel; an invalid index adds nothing.
#pragma unroll
                for (int u = 0; u < CS_UNROLL; u++)
                    if (js[u]) acc = fma4(gs[u], cs[u], acc);
            }
            __stcs(reinterpret_cast<float4*>(out + n * dc) + q, acc);
        }
    }
}

// gradGates[n, m] = gradOut[n] . C[m, j] and gradC[m, j] += gates[n, m] gradOut[n], j = idx[n, m].
// Four codebooks at a time: their (index, gate) pairs, then per column quad of gradOut their
// four codeword quads, are loaded before the arithmetic; the dot products are group-reduced by
// xor shuffles (every lane of the warp joins: the item loop is warp-uniform). On sm_90 the
// codeword gradient goes out as one float4 atomic per quad. An invalid index (reported) gets
// gradGates 0 and no codeword gradient, as in the scalar kernel.
extern "C" __global__ void codeword_sum_backward_vec_f32(const float* __restrict__ C, const int* __restrict__ idx,
                                                         const float* __restrict__ gates,
                                                         const float* __restrict__ gradOut, float* gradC,
                                                         float* __restrict__ gradGates, long long N, int M, int D,
                                                         int dc, int lanesLog2, unsigned long long* err) {
    ITEM_GROUP_GEOMETRY
    for (long long first = warp * itemsPerWarp; first < N; first += warps * itemsPerWarp) {
        const long long n = first + (lane >> lanesLog2);
        const bool item = n < N;
        for (int m0 = 0; m0 < M; m0 += CSB_UNROLL) {
            int js[CSB_UNROLL];
            float gs[CSB_UNROLL], dots[CSB_UNROLL];
            bool valid[CSB_UNROLL];
#pragma unroll
            for (int u = 0; u < CSB_UNROLL; u++) {
                const int m = m0 + u;
                const bool here = item && m < M;
                js[u] = here ? idx[n * M + m] : 0;
                gs[u] = here ? gates[n * M + m] : 0.0f;
                valid[u] = here && js[u] >= 0 && js[u] < D;
                if (here && !valid[u] && sub == 0) report_device_error(err, DEVICE_ERROR_INDEX, js[u], D);
                dots[u] = 0.0f;
            }
            if (item) {
                const float4* go4 = reinterpret_cast<const float4*>(gradOut + n * dc);
                for (int q = sub; q < quads; q += G) {
                    const float4 go = __ldg(go4 + q);
                    float4 cs[CSB_UNROLL];
#pragma unroll
                    for (int u = 0; u < CSB_UNROLL; u++)
                        cs[u] = valid[u] ? __ldg(reinterpret_cast<const float4*>(C + ((long long)(m0 + u) * D + js[u]) * dc) + q)
                                         : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
                    for (int u = 0; u < CSB_UNROLL; u++) {
                        if (!valid[u]) continue;
                        dots[u] = fmaf(go.x, cs[u].x, dots[u]);
                        dots[u] = fmaf(go.y, cs[u].y, dots[u]);
                        dots[u] = fmaf(go.z, cs[u].z, dots[u]);
                        dots[u] = fmaf(go.w, cs[u].w, dots[u]);
                        const float g = gs[u];
                        const float4 add = make_float4(g * go.x, g * go.y, g * go.z, g * go.w);
                        float4* gc4 = reinterpret_cast<float4*>(gradC + ((long long)(m0 + u) * D + js[u]) * dc) + q;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
                        atomicAdd(gc4, add);
#else
                        float* gc = reinterpret_cast<float*>(gc4);
                        atomicAdd(gc, add.x);
                        atomicAdd(gc + 1, add.y);
                        atomicAdd(gc + 2, add.z);
                        atomicAdd(gc + 3, add.w);
#endif
                    }
                }
            }
#pragma unroll
            for (int u = 0; u < CSB_UNROLL; u++) {
                float dot = dots[u];
                for (int o = G >> 1; o > 0; o >>= 1) dot += __shfl_xor_sync(0xFFFFFFFFu, dot, o);
                if (item && m0 + u < M && sub == 0) gradGates[n * M + m0 + u] = dot;
            }
        }
    }
}

#define MATCH_MAX_M 16
#define MATCH_PATHS 32

extern "C" __global__ void relaxed_match_count_i32(const int* __restrict__ paths, const int* __restrict__ items,
                                                   int* __restrict__ counts, long long P, long long N, int M) {
    __shared__ int sp[MATCH_PATHS][MATCH_MAX_M];
    const long long n = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    int it[MATCH_MAX_M];
#pragma unroll
    for (int k = 0; k < MATCH_MAX_M; k++) it[k] = (n < N && k < M) ? items[n * M + k] : 0;
    for (long long p0 = (long long)blockIdx.y * MATCH_PATHS; p0 < P; p0 += (long long)gridDim.y * MATCH_PATHS) {
        __syncthreads();  // the previous group's paths are no longer read
        for (int e = threadIdx.x; e < MATCH_PATHS * MATCH_MAX_M; e += blockDim.x) {
            int pp = e / MATCH_MAX_M, k = e % MATCH_MAX_M;
            sp[pp][k] = (p0 + pp < P && k < M) ? paths[(p0 + pp) * M + k] : 0;
        }
        __syncthreads();
        if (n < N) {
            int group = (int)min((long long)MATCH_PATHS, P - p0);
            for (int pp = 0; pp < group; pp++) {
                int c = 0;
#pragma unroll
                for (int k = 0; k < MATCH_MAX_M; k++) c += (k < M && sp[pp][k] == it[k]) ? 1 : 0;
                counts[(p0 + pp) * N + n] = c;
            }
        }
    }
}

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
//       Compute-bound: 2 N M D dc flops against 4 N M dc bytes of z.
//   codeword_sum_f32(C, const int* idx, gates, out [N, dc], N, M, D, dc, err)
//       out[n] = sum_m gates[n, m] C[m, idx[n, m]]: one warp per item (grid-stride), lanes over
//       dc; lanes 0..31 load 32 (index, gate) pairs at a time and broadcast them by shuffles.
//   codeword_sum_backward_f32(C, idx, gates, gradOut, gradC, gradGates, N, M, D, dc, err)
//       gradGates[n, m] = gradOut[n] . C[m, idx[n, m]] (warp reduction) and
//       gradC[m, idx[n, m]] += gates[n, m] gradOut[n] by atomicAdd: the summation order into a
//       codeword varies from run to run (fp32 results may differ in the last bits; the CPU
//       reference is deterministic).
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

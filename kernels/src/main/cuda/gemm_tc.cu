// Tensor-core GEMMs on mma.sync (sm_80+ for bf16, sm_89+ for fp8), row-major, strided-batched:
//   C[b] (m x n) = epilogue(scale * op(A[b]) (m x k) * op(B[b]) (k x n)),  fp32 accumulation,
//   op(A)(i, p) = A K-major ? A[i * lda + p] : A[p * lda + i]
//   op(B)(p, j) = B K-major ? B[j * ldb + p] : B[p * ldb + j]
// with batch strides strideA / strideB in elements (0 broadcasts one operand) and C contiguous
// (m * n apart per batch). The epilogue, in fp32, then one rounding to C's dtype:
//   v = scale * acc                  scale = aScale[0] * bScale[0] for fp8, 1 for bf16
//   v = v + bias[j * biasStride]     when a bias is given (fp32 or bf16)
//   v = gelu(v)                      when asked: tanh approximation, as UnaryOp.GELU
//   v = v + residual[b * residualBatchStride + i * residualLd + j]   when given (fp32 or bf16)
//
// Entry points (parameters: A, B, C, bias, residual, aScale, bScale, TcShape by value):
//   tc_gemm_bf16_{nn,nt,tn,tt}_{f32,bf16}: bf16 operands; the first letter is A's transpose flag
//     (n: A stored m x k, K-major; t: A stored k x m), the second B's (n: B stored k x n;
//     t: B stored n x k, K-major); the suffix is C's dtype.
//   tc_gemm_{e4m3_e4m3,e5m2_e4m3,e4m3_e5m2}_{f32,bf16}: fp8 operands (A type first), both
//     K-major ("TN"): fp8 mma takes K-major fragments and ldmatrix cannot transpose bytes, so
//     the caller repacks other layouts first (tc_repack_b1).
//   tc_repack_b1 / tc_repack_b2: dst[b][r][c] = src[b * sB + r * sR + c * sC] for c < cols,
//     0 for cols <= c < dstLd: copies an operand into a 16-byte-aligned padded (and, through the
//     strides, possibly transposed) buffer. 32 x 32 tiles through shared memory, 32 x 8 threads.
// Preconditions (checked in Java, io.reg4rec.engine.cuda.OwnTensorCoreGemm): A, B 16-byte
// aligned; lda, ldb, strideA, strideB multiples of 16 bytes; k > 0.
//
// Work split: one 256-thread block (8 warps) per 128 x 128 tile of C, tiles numbered in groups
// of 8 tile-rows so that consecutive blocks share operand tiles in L2. The K loop walks 128-byte
// slices (64 bf16 or 128 fp8) through a 3-stage cp.async pipeline in dynamic shared memory
// (3 x 32 KiB): a K-major operand tile is 128 rows of 128 bytes, an MN-major one (bf16 only) 64
// k-rows of 256 bytes; 16-byte chunks are XOR-swizzled with (row & 7) so the 8 row addresses of
// every ldmatrix phase hit 8 distinct bank groups. Out-of-range bytes are zero-filled by
// cp.async's src-size operand, so any m, n, k works. Warp w owns rows 64 (w / 4) .. +64 and
// columns 32 (w % 4) .. +32 of the tile: 4 x 4 mma tiles of 16 x 8 with fp32 accumulators.
// Fragments come from ldmatrix.x4 (.trans for MN-major operands). An fp8 m16n8k32 fragment has
// the byte layout of a bf16 m16n8k16 fragment (4 consecutive bytes where bf16 has 2 elements),
// so both kinds share the addressing; only the mma instruction differs.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#matmulEpilogue / #matmulScaled.
#include "gemm_tc.cuh"

template <int KIND, bool A_KMAJOR, bool B_KMAJOR, typename OutTag>
__device__ __forceinline__ void tc_gemm(const unsigned char* __restrict__ A, const unsigned char* __restrict__ B,
                                        typename Dt<OutTag>::storage* __restrict__ C, const void* bias, const void* residual,
                                        const float* aScale, const float* bScale, const TcShape& s) {
    constexpr int ELEM = KIND == KIND_BF16 ? 2 : 1;
    extern __shared__ __align__(128) unsigned char smem[];
    const uint32_t smemBase = (uint32_t)__cvta_generic_to_shared(smem);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int warpM = (warp >> 2) * 64, warpN = (warp & 3) * 32;

    long long batchIndex, row0, col0;
    tile_origin(s, batchIndex, row0, col0);

    const unsigned char* Ab = A + batchIndex * s.strideA * ELEM;
    const unsigned char* Bb = B + batchIndex * s.strideB * ELEM;
    const long long ldaBytes = s.lda * ELEM, ldbBytes = s.ldb * ELEM, kBytes = s.k * ELEM;
    const int kTiles = (int)((kBytes + TC_BK_BYTES - 1) / TC_BK_BYTES);

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

    auto loadStage = [&](int slot, int kTile) {
        const uint32_t aTile = smemBase + slot * TC_STAGE_BYTES, bTile = aTile + TC_TILE_BYTES;
        const long long kByte0 = (long long)kTile * TC_BK_BYTES;
        load_tile<ELEM, A_KMAJOR>(aTile, Ab, ldaBytes, row0, s.m, kByte0, kBytes, tid);
        load_tile<ELEM, B_KMAJOR>(bTile, Bb, ldbBytes, col0, s.n, kByte0, kBytes, tid);
    };

#pragma unroll
    for (int st = 0; st < TC_STAGES - 1; st++) {
        if (st < kTiles) loadStage(st, st);
        cp_async_commit();
    }

    for (int kt = 0; kt < kTiles; kt++) {
        cp_async_wait<TC_STAGES - 2>();
        __syncthreads();  // stage kt visible to all; everyone is done reading stage kt - 1
        const int next = kt + TC_STAGES - 1;
        if (next < kTiles) loadStage(next % TC_STAGES, next);
        cp_async_commit();

        const uint32_t aTile = smemBase + (kt % TC_STAGES) * TC_STAGE_BYTES, bTile = aTile + TC_TILE_BYTES;
#pragma unroll
        for (int ks = 0; ks < 4; ks++) {  // 32 bytes of k per step: k16 bf16 or k32 fp8
            uint32_t af[4][4], bfr[4][2];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                if constexpr (A_KMAJOR) {
                    // matrices: rows 0-7 / 8-15 of the 16-row slice x k chunks 2 ks / 2 ks + 1
                    const int r = warpM + i * 16 + (lane & 15);
                    ldmatrix_x4(aTile + kmajor_offset(r, ks * 2 + (lane >> 4)), af[i]);
                } else {
                    // stored [k][m]: matrices (k 0-7, m 0-7), (k 0-7, m 8-15), (k 8-15, m 0-7), (k 8-15, m 8-15)
                    const int kr = ks * 16 + (lane & 7) + ((lane >> 4) << 3);
                    const int chunk = ((warpM + i * 16) >> 3) + ((lane >> 3) & 1);
                    ldmatrix_x4_trans(aTile + mnmajor_offset(kr, chunk), af[i]);
                }
            }
#pragma unroll
            for (int p = 0; p < 2; p++) {  // two 8-column mma tiles per ldmatrix.x4
                uint32_t r[4];
                if constexpr (B_KMAJOR) {
                    // stored [n][k]: matrices (n 0-7, k lo), (n 0-7, k hi), (n 8-15, k lo), (n 8-15, k hi)
                    const int nr = warpN + p * 16 + (lane & 7) + ((lane >> 4) << 3);
                    ldmatrix_x4(bTile + kmajor_offset(nr, ks * 2 + ((lane >> 3) & 1)), r);
                } else {
                    // stored [k][n]: matrices (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15)
                    const int kr = ks * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
                    const int chunk = ((warpN + p * 16) >> 3) + (lane >> 4);
                    ldmatrix_x4_trans(bTile + mnmajor_offset(kr, chunk), r);
                }
                bfr[2 * p][0] = r[0];
                bfr[2 * p][1] = r[1];
                bfr[2 * p + 1][0] = r[2];
                bfr[2 * p + 1][1] = r[3];
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) mma_16x8<KIND>(acc[i][j], af[i], bfr[j]);
        }
    }
    cp_async_wait<0>();

    // Epilogue straight from the accumulators.
    const float scale = KIND == KIND_BF16 ? 1.0f : aScale[0] * bScale[0];
    store_accumulators<4, 4, OutTag>(acc, row0 + warpM, col0 + warpN, scale, C + batchIndex * s.m * s.n, bias, residual, batchIndex, s);
}

// bf16 needs sm_80 and fp8 sm_89: below that an entry point is empty (Java never launches it).
#if defined(__CUDA_ARCH__)
#define TC_ARCH __CUDA_ARCH__
#else
#define TC_ARCH 0
#endif
constexpr bool tc_supported(int kind) { return kind == KIND_BF16 ? TC_ARCH >= 800 : TC_ARCH >= 890; }

#define TC_ENTRY(name, KIND, AK, BK, OutTag)                                                                        \
    extern "C" __global__ void __launch_bounds__(TC_THREADS, 2)                                                    \
        name(const unsigned char* A, const unsigned char* B, Dt<OutTag>::storage* C, const void* bias,              \
             const void* residual, const float* aScale, const float* bScale, TcShape s) {                           \
        if constexpr (tc_supported(KIND)) tc_gemm<KIND, AK, BK, OutTag>(A, B, C, bias, residual, aScale, bScale, s); \
    }

// bf16: transA n <=> A K-major; transB t <=> B K-major.
TC_ENTRY(tc_gemm_bf16_nn_f32, KIND_BF16, true, false, float)
TC_ENTRY(tc_gemm_bf16_nt_f32, KIND_BF16, true, true, float)
TC_ENTRY(tc_gemm_bf16_tn_f32, KIND_BF16, false, false, float)
TC_ENTRY(tc_gemm_bf16_tt_f32, KIND_BF16, false, true, float)
TC_ENTRY(tc_gemm_bf16_nn_bf16, KIND_BF16, true, false, bf16_t)
TC_ENTRY(tc_gemm_bf16_nt_bf16, KIND_BF16, true, true, bf16_t)
TC_ENTRY(tc_gemm_bf16_tn_bf16, KIND_BF16, false, false, bf16_t)
TC_ENTRY(tc_gemm_bf16_tt_bf16, KIND_BF16, false, true, bf16_t)
// fp8: both operands K-major.
TC_ENTRY(tc_gemm_e4m3_e4m3_f32, KIND_E4M3_E4M3, true, true, float)
TC_ENTRY(tc_gemm_e5m2_e4m3_f32, KIND_E5M2_E4M3, true, true, float)
TC_ENTRY(tc_gemm_e4m3_e5m2_f32, KIND_E4M3_E5M2, true, true, float)
TC_ENTRY(tc_gemm_e4m3_e4m3_bf16, KIND_E4M3_E4M3, true, true, bf16_t)
TC_ENTRY(tc_gemm_e5m2_e4m3_bf16, KIND_E5M2_E4M3, true, true, bf16_t)
TC_ENTRY(tc_gemm_e4m3_e5m2_bf16, KIND_E4M3_E5M2, true, true, bf16_t)

// ---------------------------------------------------------------- operand repacking

// One block per (batch, 32-row tile, 32-column tile of the padded destination); threads (x, y)
// = 32 x 8. Reads walk the source's unit-stride direction (columns when sC == 1, else rows) so
// they coalesce for a transposing copy too; writes walk destination columns.
template <typename T>
__device__ __forceinline__ void repack(const T* __restrict__ src, T* __restrict__ dst, long long rows, long long cols,
                                       long long sB, long long sR, long long sC, long long dstLd, long long batch) {
    __shared__ T tile[32][33];
    const long long tilesR = (rows + 31) / 32, tilesC = (dstLd + 31) / 32;
    const long long id = blockIdx.x;
    const long long b = id / (tilesR * tilesC), rem = id % (tilesR * tilesC);
    const long long r0 = (rem / tilesC) * 32, c0 = (rem % tilesC) * 32;
    const T* sb = src + b * sB;
    const int tx = threadIdx.x, ty = threadIdx.y;
    const bool alongColumns = sC == 1;
    for (int yy = ty; yy < 32; yy += 8) {
        const int lr = alongColumns ? yy : tx, lc = alongColumns ? tx : yy;  // tile coordinates read by this thread
        const long long r = r0 + lr, c = c0 + lc;
        T v = 0;
        if (r < rows && c < cols) v = sb[r * sR + c * sC];
        tile[lr][lc] = v;
    }
    __syncthreads();
    T* db = dst + b * rows * dstLd;
    for (int yy = ty; yy < 32; yy += 8) {
        const long long r = r0 + yy, c = c0 + tx;
        if (r < rows && c < dstLd) db[r * dstLd + c] = tile[yy][tx];
    }
}

extern "C" __global__ void __launch_bounds__(256) tc_repack_b1(const uint8_t* src, uint8_t* dst, long long rows, long long cols,
                                                               long long sB, long long sR, long long sC, long long dstLd, long long batch) {
    repack<uint8_t>(src, dst, rows, cols, sB, sR, sC, dstLd, batch);
}
extern "C" __global__ void __launch_bounds__(256) tc_repack_b2(const uint16_t* src, uint16_t* dst, long long rows, long long cols,
                                                               long long sB, long long sR, long long sC, long long dstLd, long long batch) {
    repack<uint16_t>(src, dst, rows, cols, sB, sR, sC, dstLd, batch);
}

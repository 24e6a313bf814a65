// The engine's own CUDA-core batched GEMM: fp32 always (when cuBLAS is not used), bf16 below
// sm_80 or when forced with -Dreg4rec.gemm=own-simt (bf16 on tensor cores: gemm_tc.cu). Row-major: for each batch b,
//   C[b] (m x n) = op(A[b]) (m x k) * op(B[b]) (k x n),   fp32 accumulation,
//   op(A)(i, p) = transA ? A[p * lda + i] : A[i * lda + p]
//   op(B)(p, j) = transB ? B[j * ldb + p] : B[p * ldb + j]
// with batch strides strideA / strideB (0 broadcasts one operand) and C contiguous (m * n apart).
//
// Entry points, all with the parameters
//   (const T* A, const T* B, O* C, int m, int n, int k, long long lda, long long ldb,
//    int transA, int transB, long long strideA, long long strideB, long long batch):
//   gemm_f32_f32, gemm_bf16_bf16, gemm_bf16_f32 (inputs_output): fp32 FMA on CUDA cores, any GPU.
//
// CUDA-core kernels: 128 x 128 output tiles, one 256-thread block per tile (grid-stride over
// batch * tilesM * tilesN, so no grid dimension limit applies). Each step stages a 128 x 8 slice
// of op(A) and an 8 x 128 slice of op(B) in shared memory as fp32 (loads follow the operand's
// contiguous direction, so they coalesce for either transpose); each thread then accumulates
// an 8 x 8 register block at rows ty + 16 r and columns tx + 16 c (conflict-free shared reads).
// Out-of-range elements load as 0 and are not stored.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#matmul.
#include "common.cuh"

#define TILE_M 128
#define TILE_N 128
#define TILE_K 8
#define THREADS 256
#define PER_THREAD 8  // 8 x 8 outputs per thread; 16 x 16 threads

template <typename InTag, typename OutTag>
__device__ void gemm_kernel(const typename Dt<InTag>::storage* __restrict__ A, const typename Dt<InTag>::storage* __restrict__ B,
                            typename Dt<OutTag>::storage* __restrict__ C, int m, int n, int k, long long lda, long long ldb,
                            int transA, int transB, long long strideA, long long strideB, long long batch) {
    // +4 columns: the transposed-direction stores (8 threads, consecutive k, same row) hit
    // 8 different banks instead of one.
    __shared__ float As[TILE_K][TILE_M + 4];
    __shared__ float Bs[TILE_K][TILE_N + 4];
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;
    const long long tilesM = (m + TILE_M - 1) / TILE_M, tilesN = (n + TILE_N - 1) / TILE_N;
    const long long tiles = batch * tilesM * tilesN;
    for (long long tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        long long b = tile / (tilesM * tilesN), rem = tile % (tilesM * tilesN);
        int row0 = (int)(rem / tilesN) * TILE_M, col0 = (int)(rem % tilesN) * TILE_N;
        const typename Dt<InTag>::storage* Ab = A + b * strideA;
        const typename Dt<InTag>::storage* Bb = B + b * strideB;
        float acc[PER_THREAD][PER_THREAD];
#pragma unroll
        for (int r = 0; r < PER_THREAD; r++)
#pragma unroll
            for (int c = 0; c < PER_THREAD; c++) acc[r][c] = 0.0f;

        for (int p0 = 0; p0 < k; p0 += TILE_K) {
#pragma unroll
            for (int q = 0; q < (TILE_M * TILE_K) / THREADS; q++) {
                int e = t + q * THREADS;
                int i, p;  // tile-local row of op(A) and k position
                if (transA) { i = e % TILE_M; p = e / TILE_M; }   // A^T stored: rows of A contiguous along i
                else { i = e / TILE_K; p = e % TILE_K; }          // contiguous along p
                int gi = row0 + i, gp = p0 + p;
                float v = 0.0f;
                if (gi < m && gp < k) {
                    long long off = transA ? (long long)gp * lda + gi : (long long)gi * lda + gp;
                    v = Dt<InTag>::load(Ab[off]);
                }
                As[p][i] = v;
            }
#pragma unroll
            for (int q = 0; q < (TILE_N * TILE_K) / THREADS; q++) {
                int e = t + q * THREADS;
                int j, p;
                if (transB) { j = e / TILE_K; p = e % TILE_K; }   // B^T stored: contiguous along p
                else { j = e % TILE_N; p = e / TILE_N; }          // contiguous along j
                int gj = col0 + j, gp = p0 + p;
                float v = 0.0f;
                if (gj < n && gp < k) {
                    long long off = transB ? (long long)gj * ldb + gp : (long long)gp * ldb + gj;
                    v = Dt<InTag>::load(Bb[off]);
                }
                Bs[p][j] = v;
            }
            __syncthreads();
#pragma unroll
            for (int p = 0; p < TILE_K; p++) {
                float af[PER_THREAD], bfr[PER_THREAD];
#pragma unroll
                for (int r = 0; r < PER_THREAD; r++) af[r] = As[p][ty + 16 * r];
#pragma unroll
                for (int c = 0; c < PER_THREAD; c++) bfr[c] = Bs[p][tx + 16 * c];
#pragma unroll
                for (int r = 0; r < PER_THREAD; r++)
#pragma unroll
                    for (int c = 0; c < PER_THREAD; c++) acc[r][c] = fmaf(af[r], bfr[c], acc[r][c]);
            }
            __syncthreads();
        }
        typename Dt<OutTag>::storage* Cb = C + b * (long long)m * n;
#pragma unroll
        for (int r = 0; r < PER_THREAD; r++) {
            int gi = row0 + ty + 16 * r;
            if (gi >= m) continue;
#pragma unroll
            for (int c = 0; c < PER_THREAD; c++) {
                int gj = col0 + tx + 16 * c;
                if (gj < n) Cb[(long long)gi * n + gj] = Dt<OutTag>::store(acc[r][c]);
            }
        }
    }
}

#define GEMM_ENTRY(name, InTag, OutTag)                                                                          \
    extern "C" __global__ void __launch_bounds__(THREADS) name(                                                  \
        const Dt<InTag>::storage* A, const Dt<InTag>::storage* B, Dt<OutTag>::storage* C, int m, int n, int k,   \
        long long lda, long long ldb, int transA, int transB, long long strideA, long long strideB,              \
        long long batch) {                                                                                       \
        gemm_kernel<InTag, OutTag>(A, B, C, m, n, k, lda, ldb, transA, transB, strideA, strideB, batch);         \
    }

GEMM_ENTRY(gemm_f32_f32, float, float)
GEMM_ENTRY(gemm_bf16_bf16, bf16_t, bf16_t)
GEMM_ENTRY(gemm_bf16_f32, bf16_t, float)

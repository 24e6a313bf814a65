// nvcc-arch: sm_90a
// GEMMs on Hopper's warpgroup MMA (wgmma.mma_async, sm_90a only; the build compiles this file for
// sm_90a alone, so the module loads only on compute capability 9.0): bf16 with any transposes and
// fp8 (both operands K-major). Same problem, operand rules and epilogue as gemm_tc.cu, whose
// header describes them:
//   C[b] = epilogue(scale * op(A[b]) (m x k) * op(B[b]) (k x n)), fp32 accumulation.
//
// Entry points (parameters: A, B, C, bias, residual, aScale, bScale, TcShape, partial,
// kTilesPerSlice):
//   wg_gemm_bf16_{nn,nt,tn,tt}_{f32,bf16}_<variant>: bf16; transpose letters as gemm_tc.cu's.
//   wg_gemm_{e4m3_e4m3,e5m2_e4m3,e4m3_e5m2}_{f32,bf16}_<variant>: fp8, A [m, k] and B [n, k].
//   <variant> = n<BN>_s<STAGES>_w<WAIT> (WgmmaTuning.VARIANTS): tile width BN (128 or 256), ring
//   stages, wgmma groups left in flight per step (0 or 1). n128_s3 fits twice per multiprocessor
//   (launch bounds of 2 blocks, 128 registers); the others run one block per multiprocessor.
//   With partial == null the block writes C through the
//   epilogue; otherwise (split-K) it writes its raw fp32 sums to
//   partial[(blockIdx.y * batch + b) * m * n + i * n + j] and wg_splitk_reduce_{f32,bf16} adds
//   the slices in slice order (deterministic), applies scale and epilogue and writes C.
//
// Work split: one 256-thread block (2 warpgroups) per 128 x BN tile of C and per k slice
// (blockIdx.y: k tiles [y * kTilesPerSlice, +kTilesPerSlice)), tiles ordered as in gemm_tc.cu.
// Operand tiles of 128 bytes of k (64 bf16 or 128 fp8) stream through a STAGES-stage
// cp.async ring ((128 + BN) x 128 bytes per stage) in wgmma's 128-byte
// swizzled layouts, every stage 1024-byte aligned (the dynamic buffer is aligned up by hand):
//   K-major tile (rows of m or n, 128 bytes of k each): 16-byte chunk c of row r at
//     r * 128 + (c ^ (r & 7)) * 16; descriptor: stride byte offset 1024 (8-row groups), k step
//     of 32 bytes = start address + 32 (the hardware applies the XOR to the final address).
//   MN-major tile (bf16, stored [k][m or n]): 64-element column blocks of 8 KiB, each 64 k-rows
//     of 128 bytes: element (kRow, x) at (x / 64) * 8192 + kRow * 128 + ((x % 64 / 8) ^ (kRow & 7))
//     * 16 + (x % 8) * 2; descriptor: leading byte offset 8192 (next 64 of m / n), stride byte
//     offset 1024 (next 8 k-rows), k step of 16 = start address + 2048; wgmma's transpose flag.
// Pipeline: at step i the loads for k tile i + STAGES - 1 - WAIT are issued; with WAIT 1 the
// wgmmas of tile i - 1 may still run while tile i's are issued (wgmma.wait_group 1), with WAIT 0
// each step waits for its own wgmmas (one more tile in flight instead). The slot refilled at
// step i is the one tile i - 1 - WAIT used, whose wgmmas every thread waited for before the barrier.
// cp.async writes through the generic proxy, so each thread fences them to the async proxy
// (fence.proxy.async) before the barrier that publishes a stage. Warpgroup w multiplies rows
// 64 w .. +64 of the A tile by the whole B tile: per stage 4 wgmma m64nBNk16 (bf16) or k32
// (fp8). The accumulators have the mma.sync layout per warp (warp q of a warpgroup owns rows
// 16 q .. +16), so the epilogue is gemm_tc.cuh's store_accumulators.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#matmulEpilogue / #matmulScaled.
#include "wgmma.cuh"

#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "gemm_wgmma.cu needs sm_90a (its first line asks build-kernels.sh for it): wgmma would compile to nothing"
#endif

#define WG_BM 128
#define WG_THREADS 256
#define WG_K_BYTES 128
// Dynamic shared memory of a variant: the ring plus 1 KiB to align it (WgmmaTuning.Variant#sharedBytes).
#define WG_SMEM_BYTES(BN, STAGES) ((STAGES) * (WG_BM + (BN)) * WG_K_BYTES + 1024)
// Blocks per multiprocessor a variant is built for: 2 when two rings fit in the 227 KiB a
// multiprocessor gives its blocks (then at most 128 registers per thread), else 1.
#define WG_MIN_BLOCKS(BN, STAGES) (2 * (WG_SMEM_BYTES(BN, STAGES) + 1024) <= 232448 ? 2 : 1)
static_assert(WG_MIN_BLOCKS(128, 3) == 2, "128 x 128 tiles with 3 stages: two blocks per multiprocessor");

// ---------------------------------------------------------------- operand tiles

// K-major tile of ROWS rows (of m or n) x 128 bytes of k, rows outer0 .. of X (ldBytes apart),
// bytes kByte0 .. of each row; out-of-range bytes are zero-filled. Every thread copies ROWS / 32
// chunks of 16 bytes.
template <int ROWS>
__device__ __forceinline__ void wg_load_kmajor(uint32_t tile, const unsigned char* base, long long ldBytes, long long outer0,
                                               long long outerSize, long long kByte0, long long kBytes, int tid) {
    const int row = tid >> 3, chunk = tid & 7;  // rows row + 32 q; chunk fixed per thread
    const long long kb = kByte0 + chunk * 16;
    const int kValid = kb >= kBytes ? 0 : (int)min(16LL, kBytes - kb);
#pragma unroll
    for (int q = 0; q < ROWS / 32; q++) {
        const int r = row + 32 * q;
        const long long o = outer0 + r;
        const int bytes = o < outerSize ? kValid : 0;
        const unsigned char* src = bytes > 0 ? base + o * ldBytes + kb : base;
        cp_async_16(tile + (uint32_t)(r * 128 + ((chunk ^ (r & 7)) << 4)), src, bytes);
    }
}

// MN-major bf16 tile: 64 k-rows (kRow0 ..) x COLS elements of m or n (outer0 ..), stored in
// 64-element column blocks of 8 KiB (see the header). Every thread copies COLS / 32 chunks.
template <int COLS>
__device__ __forceinline__ void wg_load_mnmajor(uint32_t tile, const unsigned char* base, long long ldBytes, long long outer0,
                                                long long outerSize, long long kRow0, long long kSize, int tid) {
    constexpr int CHUNKS = COLS / 8, ROWS_PER_PASS = WG_THREADS / CHUNKS;
    const int chunk = tid % CHUNKS, row = tid / CHUNKS;  // k-rows row + ROWS_PER_PASS q
    const long long ob = outer0 * 2 + chunk * 16, obEnd = outerSize * 2;
    const int oValid = ob >= obEnd ? 0 : (int)min(16LL, obEnd - ob);
    const uint32_t column = (uint32_t)((chunk >> 3) * 8192);
#pragma unroll
    for (int q = 0; q < 64 / ROWS_PER_PASS; q++) {
        const int r = row + ROWS_PER_PASS * q;
        const long long kRow = kRow0 + r;
        const int bytes = kRow < kSize ? oValid : 0;
        const unsigned char* src = bytes > 0 ? base + kRow * ldBytes + ob : base;
        cp_async_16(tile + column + (uint32_t)(r * 128 + (((chunk & 7) ^ (r & 7)) << 4)), src, bytes);
    }
}

// ---------------------------------------------------------------- the GEMM

template <int KIND, int BN, int STAGES, int WAIT, bool A_KMAJOR, bool B_KMAJOR, typename OutTag>
__device__ __forceinline__ void wg_gemm(const unsigned char* __restrict__ A, const unsigned char* __restrict__ B,
                                        typename Dt<OutTag>::storage* __restrict__ C, const void* bias, const void* residual,
                                        const float* aScale, const float* bScale, const TcShape& s, float* __restrict__ partial,
                                        long long kTilesPerSlice) {
    constexpr int ELEM = KIND == KIND_BF16 ? 2 : 1;
    static_assert(WAIT == 0 || WAIT == 1, "wgmma groups left in flight");
    static_assert(STAGES >= 2 + WAIT, "the ring holds the tile in use, the one still read by a pending wgmma group and one in flight");
    // Tiles loaded ahead of the one being multiplied: the slot refilled at step i must no longer be
    // read, i.e. belong to tile i - 1 - WAIT (waited for by every thread before the barrier).
    constexpr int AHEAD = STAGES - 1 - WAIT;
    constexpr int A_BYTES = WG_BM * WG_K_BYTES, STAGE_BYTES = (WG_BM + BN) * WG_K_BYTES;
    static_assert(KIND == KIND_BF16 || (A_KMAJOR && B_KMAJOR), "fp8 operands are K-major");
    extern __shared__ __align__(1024) unsigned char smem[];
    const uint32_t smemBase = ((uint32_t)__cvta_generic_to_shared(smem) + 1023u) & ~1023u;
    const int tid = threadIdx.x, warpgroup = tid >> 7, warpInGroup = (tid >> 5) & 3;

    long long batchIndex, row0, col0;
    tile_origin<WG_BM, BN>(s, batchIndex, row0, col0);
    const unsigned char* Ab = A + batchIndex * s.strideA * ELEM;
    const unsigned char* Bb = B + batchIndex * s.strideB * ELEM;
    const long long ldaBytes = s.lda * ELEM, ldbBytes = s.ldb * ELEM, kBytes = s.k * ELEM;
    const long long kTiles = (kBytes + WG_K_BYTES - 1) / WG_K_BYTES;
    const long long kBegin = (long long)blockIdx.y * kTilesPerSlice;
    const int tiles = (int)max(0LL, min(kTiles, kBegin + kTilesPerSlice) - kBegin);

    float acc[1][BN / 8][4];
    float* d = &acc[0][0][0];
#pragma unroll
    for (int r = 0; r < BN / 2; r++) d[r] = 0.0f;

    auto loadStage = [&](int slot, long long kTile) {
        const uint32_t aTile = smemBase + slot * STAGE_BYTES, bTile = aTile + A_BYTES;
        const long long kByte0 = kTile * WG_K_BYTES;
        if constexpr (A_KMAJOR) wg_load_kmajor<WG_BM>(aTile, Ab, ldaBytes, row0, s.m, kByte0, kBytes, tid);
        else wg_load_mnmajor<WG_BM>(aTile, Ab, ldaBytes, row0, s.m, kByte0 / 2, s.k, tid);
        if constexpr (B_KMAJOR) wg_load_kmajor<BN>(bTile, Bb, ldbBytes, col0, s.n, kByte0, kBytes, tid);
        else wg_load_mnmajor<BN>(bTile, Bb, ldbBytes, col0, s.n, kByte0 / 2, s.k, tid);
    };

#pragma unroll
    for (int st = 0; st < AHEAD; st++) {
        if (st < tiles) loadStage(st, kBegin + st);
        cp_async_commit();
    }
    for (int i = 0; i < tiles; i++) {
        // Groups committed so far: tiles 0 .. i + AHEAD - 1 of the slice; tile i must be complete.
        cp_async_wait<AHEAD - 1>();
        fence_async_proxy();
        // Tile i visible to both warpgroups; both passed wgmma.wait_group WAIT after tile i - 1, so
        // the wgmmas of tile i - 1 - WAIT are done and its slot, (i + AHEAD) % STAGES, can be refilled.
        __syncthreads();
        const int next = i + AHEAD;
        if (next < tiles) loadStage(next % STAGES, kBegin + next);
        cp_async_commit();

        const uint32_t aTile = smemBase + (i % STAGES) * STAGE_BYTES, bTile = aTile + A_BYTES;
        wg_fence();
#pragma unroll
        for (int ks = 0; ks < 4; ks++) {
            const uint64_t descA = A_KMAJOR ? wg_descriptor(aTile + warpgroup * 64 * WG_K_BYTES + ks * 32, 16, 1024)
                                            : wg_descriptor(aTile + warpgroup * 8192 + ks * 2048, 8192, 1024);
            const uint64_t descB = B_KMAJOR ? wg_descriptor(bTile + ks * 32, 16, 1024) : wg_descriptor(bTile + ks * 2048, 8192, 1024);
            wgmma_step<KIND, BN, A_KMAJOR ? 0 : 1, B_KMAJOR ? 0 : 1>(d, descA, descB);
        }
        wg_commit();
        wg_wait<WAIT>();
    }
    wg_wait<0>();
    wg_fence_accumulators<BN / 2>(d);
    cp_async_wait<0>();

    const long long rowBase = row0 + warpgroup * 64 + warpInGroup * 16;
    if (partial != nullptr) {
        TcShape raw = s;  // plain fp32 sums: no epilogue; pairs stay 8-byte aligned when n is even
        raw.biasKind = EPI_NONE;
        raw.residualKind = EPI_NONE;
        raw.gelu = 0;
        raw.pairStores = s.n % 2 == 0 ? 1 : 0;
        store_accumulators<1, BN / 8, float>(acc, rowBase, col0, 1.0f, partial + ((long long)blockIdx.y * s.batch + batchIndex) * s.m * s.n,
                                             nullptr, nullptr, batchIndex, raw);
    } else {
        const float scale = KIND == KIND_BF16 ? 1.0f : aScale[0] * bScale[0];
        store_accumulators<1, BN / 8, OutTag>(acc, rowBase, col0, scale, C + batchIndex * s.m * s.n, bias, residual, batchIndex, s);
    }
}

#define WG_ENTRY(name, KIND, BN, STAGES, WAIT, AK, BK, OutTag)                                                          \
    extern "C" __global__ void __launch_bounds__(WG_THREADS, WG_MIN_BLOCKS(BN, STAGES))                                 \
        name(const unsigned char* A, const unsigned char* B, Dt<OutTag>::storage* C, const void* bias,                  \
             const void* residual, const float* aScale, const float* bScale, TcShape s, float* partial,                 \
             long long kTilesPerSlice) {                                                                                \
        wg_gemm<KIND, BN, STAGES, WAIT, AK, BK, OutTag>(A, B, C, bias, residual, aScale, bScale, s, partial, kTilesPerSlice); \
    }
// The variants (WgmmaTuning.VARIANTS): _n<BN>_s<STAGES>_w<WAIT>.
#define WG_ENTRY_WIDTHS(name, KIND, AK, BK, OutTag)                 \
    WG_ENTRY(name##_n128_s3_w0, KIND, 128, 3, 0, AK, BK, OutTag)   \
    WG_ENTRY(name##_n128_s4_w1, KIND, 128, 4, 1, AK, BK, OutTag)   \
    WG_ENTRY(name##_n128_s6_w1, KIND, 128, 6, 1, AK, BK, OutTag)   \
    WG_ENTRY(name##_n256_s3_w0, KIND, 256, 3, 0, AK, BK, OutTag)   \
    WG_ENTRY(name##_n256_s4_w1, KIND, 256, 4, 1, AK, BK, OutTag)

// bf16: transA n <=> A K-major; transB t <=> B K-major.
WG_ENTRY_WIDTHS(wg_gemm_bf16_nn_f32, KIND_BF16, true, false, float)
WG_ENTRY_WIDTHS(wg_gemm_bf16_nt_f32, KIND_BF16, true, true, float)
WG_ENTRY_WIDTHS(wg_gemm_bf16_tn_f32, KIND_BF16, false, false, float)
WG_ENTRY_WIDTHS(wg_gemm_bf16_tt_f32, KIND_BF16, false, true, float)
WG_ENTRY_WIDTHS(wg_gemm_bf16_nn_bf16, KIND_BF16, true, false, bf16_t)
WG_ENTRY_WIDTHS(wg_gemm_bf16_nt_bf16, KIND_BF16, true, true, bf16_t)
WG_ENTRY_WIDTHS(wg_gemm_bf16_tn_bf16, KIND_BF16, false, false, bf16_t)
WG_ENTRY_WIDTHS(wg_gemm_bf16_tt_bf16, KIND_BF16, false, true, bf16_t)
// fp8: both operands K-major.
WG_ENTRY_WIDTHS(wg_gemm_e4m3_e4m3_f32, KIND_E4M3_E4M3, true, true, float)
WG_ENTRY_WIDTHS(wg_gemm_e5m2_e4m3_f32, KIND_E5M2_E4M3, true, true, float)
WG_ENTRY_WIDTHS(wg_gemm_e4m3_e5m2_f32, KIND_E4M3_E5M2, true, true, float)
WG_ENTRY_WIDTHS(wg_gemm_e4m3_e4m3_bf16, KIND_E4M3_E4M3, true, true, bf16_t)
WG_ENTRY_WIDTHS(wg_gemm_e5m2_e4m3_bf16, KIND_E5M2_E4M3, true, true, bf16_t)
WG_ENTRY_WIDTHS(wg_gemm_e4m3_e5m2_bf16, KIND_E4M3_E5M2, true, true, bf16_t)

// ---------------------------------------------------------------- split-K reduction

// C[idx] = epilogue(scale * sum over slices of partial[slice * total + idx]), slices added in
// order; idx = (b * m + i) * n + j over total = batch * m * n. Grid-stride, one element per
// thread per step. aScale / bScale null: scale 1 (bf16).
template <typename OutTag>
__device__ __forceinline__ void wg_reduce(const float* __restrict__ partial, typename Dt<OutTag>::storage* C, const void* bias,
                                          const void* residual, const float* aScale, const float* bScale, const TcShape& s,
                                          long long slices) {
    const long long mn = s.m * s.n, total = s.batch * mn;
    const float scale = aScale == nullptr ? 1.0f : aScale[0] * bScale[0];
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (long long)gridDim.x * blockDim.x) {
        float v = 0.0f;
        for (long long sl = 0; sl < slices; sl++) v += partial[sl * total + idx];
        v *= scale;
        const long long b = idx / mn, r = idx % mn, row = r / s.n, col = r % s.n;
        if (s.biasKind != EPI_NONE) v += load_epilogue_value(bias, s.biasKind, col * s.biasStride);
        if (s.gelu) v = gelu_tanh(v);
        if (s.residualKind != EPI_NONE)
            v += load_epilogue_value(residual, s.residualKind, b * s.residualBatchStride + row * s.residualLd + col);
        C[idx] = Dt<OutTag>::store(v);
    }
}

extern "C" __global__ void __launch_bounds__(256) wg_splitk_reduce_f32(const float* partial, float* C, const void* bias, const void* residual,
                                                                       const float* aScale, const float* bScale, TcShape s, long long slices) {
    wg_reduce<float>(partial, C, bias, residual, aScale, bScale, s, slices);
}
extern "C" __global__ void __launch_bounds__(256) wg_splitk_reduce_bf16(const float* partial, bf16_t* C, const void* bias, const void* residual,
                                                                        const float* aScale, const float* bScale, TcShape s, long long slices) {
    wg_reduce<bf16_t>(partial, C, bias, residual, aScale, bScale, s, slices);
}

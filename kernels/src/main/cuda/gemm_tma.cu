// nvcc-arch: sm_90a
// GEMMs on Hopper's warpgroup MMA fed by the Tensor Memory Accelerator (sm_90a only; the build
// compiles this file for sm_90a alone): bf16 with any transposes and fp8 (both operands K-major).
// Same problem, operand rules and epilogue as gemm_tc.cu / gemm_wgmma.cu:
//   C[b] = epilogue(scale * op(A[b]) (m x k) * op(B[b]) (k x n)), fp32 accumulation.
//
// Entry points (parameters: tensor map of A, tensor map of B, C, bias, residual, aScale, bScale,
// TcShape):
//   tma_gemm_bf16_{nn,nt,tn,tt}_{f32,bf16}_<variant>: bf16; transpose letters as gemm_tc.cu's.
//   tma_gemm_{e4m3_e4m3,e5m2_e4m3,e4m3_e5m2}_{f32,bf16}_<variant>: fp8, A [m, k] and B [n, k].
//   <variant> = n<BN>_s<STAGES> (OwnTensorCoreGemm.TMA_VARIANTS): tile width, ring stages.
// The tensor maps (io.reg4rec.engine.cuda.TensorMaps, cuTensorMapEncodeTiled) are passed by value
// as __grid_constant__ kernel parameters; each is 3-D: {inner, outer, batch} with the inner
// dimension contiguous, 128-byte swizzle, out-of-range elements zero-filled by the TMA unit (so
// m, n and k tails need no padding). A broadcast operand (TcShape stride 0) has batch extent 1
// and is always read at batch coordinate 0. Boxes (inner x outer elements):
//   K-major operand (A stored [m, k], B stored [n, k]): one box of 128 bytes of k x rows (128 for
//     A, BN for B): row r of the tile at r * 128 bytes, 16-byte chunk c at chunk c ^ (r & 7).
//   MN-major bf16 operand (A stored [k, m], B stored [k, n]): boxes of 64 elements of m or n x 64
//     k-rows, one 8 KiB column block each (rows / 64 per tile), the layout gemm_wgmma.cu's header
//     describes; wgmma reads it with its transpose flag.
// The descriptors wgmma reads these tiles through are gemm_wgmma.cu's (wgmma.cuh); every stage
// starts on a 1024-byte boundary, as the 128-byte swizzle pattern requires.
//
// Work split: persistent blocks of 384 threads (3 warpgroups), one block per multiprocessor
// (gridDim.x = min(tiles, multiprocessors)); block x computes the 128 x BN tiles x, x + gridDim.x,
// ... of C, numbered as gemm_tc.cuh's tile_origin (groups of 8 tile-rows, so the blocks running
// at one time share B tiles in L2).
//   Warpgroup 0, the producer, drops to 40 registers (setmaxnreg); one thread issues, for every
//   k tile of 128 bytes, the TMA loads of the A and B tiles into the next of STAGES ring slots:
//   it waits until the slot's "empty" mbarrier completes, announces the stage's byte count on
//   the slot's "full" mbarrier (arrive.expect_tx) and the loads complete those bytes there.
//   Warpgroups 1 and 2, the consumers, raise to 232 registers; consumer w multiplies rows
//   64 w .. +64 of the A tile by the whole B tile: it waits on the slot's "full" mbarrier, issues
//   4 wgmma m64nBNk16 (bf16) or k32 (fp8), and once wgmma.wait_group 1 shows the previous k
//   tile's wgmmas done, lane 0 of each consumer warp arrives on that slot's "empty" mbarrier
//   (8 arrivals free a slot). After the last k tile a consumer applies the epilogue straight from
//   its accumulators (gemm_tc.cuh's store_accumulators: the wgmma accumulator layout is the
//   mma.sync one per warp), while the producer is already loading the next tile's stages.
// Phases: iteration i (counted over all tiles of the block) uses slot i % STAGES in phase
// (i / STAGES) & 1; consumers wait for that parity on "full", the producer for the opposite one
// on "empty" (which a fresh barrier reports complete, so the first pass does not block).
// No split-K here: OwnTensorCoreGemm keeps gemm_wgmma.cu for shapes whose plan splits k.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#matmulEpilogue / #matmulScaled.
#include "wgmma.cuh"

#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "gemm_tma.cu needs sm_90a (its first line asks build-kernels.sh for it): wgmma and setmaxnreg would compile to nothing"
#endif

#define TMA_BM 128
#define TMA_THREADS 384
#define TMA_K_BYTES 128
#define TMA_CONSUMER_WARPS 8
#define TMA_PRODUCER_REGS 40
#define TMA_CONSUMER_REGS 232
// Dynamic shared memory of a variant: the ring, 1 KiB to align it, 256 bytes of mbarriers
// (OwnTensorCoreGemm.TmaVariant#sharedBytes).
#define TMA_SMEM_BYTES(BN, STAGES) ((STAGES) * (TMA_BM + (BN)) * TMA_K_BYTES + 1024 + 256)
static_assert(TMA_SMEM_BYTES(256, 4) <= 232448, "128 x 256 tiles, 4 stages: within the 227 KiB of a multiprocessor");
static_assert(TMA_SMEM_BYTES(128, 6) <= 232448, "128 x 128 tiles, 6 stages: within the 227 KiB of a multiprocessor");
static_assert(TMA_PRODUCER_REGS * 128 + TMA_CONSUMER_REGS * 256 <= 65536, "register file of one multiprocessor");

// CUtensorMap: 128 opaque bytes, 64-byte aligned.
struct alignas(64) TmaMap {
    unsigned long long opaque[16];
};

// ---------------------------------------------------------------- mbarrier, TMA and register PTX

__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// Makes the initialised barriers visible to the async proxy (the TMA unit) before first use.
__device__ __forceinline__ void mbar_init_fence() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Spins until the barrier's phase of the given parity has completed.
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
    asm volatile(
        "{\n.reg .pred done;\n"
        "TMA_MBAR_WAIT:\n"
        "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
        "@!done bra TMA_MBAR_WAIT;\n}\n" ::"r"(bar),
        "r"(parity)
        : "memory");
}
__device__ __forceinline__ void tma_prefetch_map(const TmaMap* map) {
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}
// One box of the 3-D tensor map at element coordinates (c0 inner, c1, c2 batch) into shared
// memory at dst; its bytes complete on the mbarrier bar.
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const TmaMap* map, uint32_t bar, int c0, int c1, int c2) {
    asm volatile(
        "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5}], [%2];\n" ::"r"(dst),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(bar), "r"(c0), "r"(c1), "r"(c2)
        : "memory");
}
template <int REGS>
__device__ __forceinline__ void regs_decrease() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(REGS)); }
template <int REGS>
__device__ __forceinline__ void regs_increase() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(REGS)); }

// ---------------------------------------------------------------- the GEMM

template <int KIND, int BN, int STAGES, bool A_KMAJOR, bool B_KMAJOR, typename OutTag>
__device__ __forceinline__ void tma_gemm(const TmaMap& mapA, const TmaMap& mapB, typename Dt<OutTag>::storage* __restrict__ C,
                                         const void* bias, const void* residual, const float* aScale, const float* bScale,
                                         const TcShape& s) {
    constexpr int ELEM = KIND == KIND_BF16 ? 2 : 1;
    constexpr int K_ELEMS = TMA_K_BYTES / ELEM;  // k elements per k tile: 64 bf16 or 128 fp8
    constexpr uint32_t A_BYTES = TMA_BM * TMA_K_BYTES, STAGE_BYTES = (TMA_BM + BN) * TMA_K_BYTES;
    static_assert(KIND == KIND_BF16 || (A_KMAJOR && B_KMAJOR), "fp8 operands are K-major");
    static_assert(BN % 64 == 0 && BN <= 256, "a K-major box has at most 256 rows; MN-major tiles are whole 64-column blocks");
    static_assert(2 * STAGES * 8 <= 256, "mbarriers fit their 256 bytes");
    extern __shared__ __align__(1024) unsigned char smem[];
    const uint32_t ring = ((uint32_t)__cvta_generic_to_shared(smem) + 1023u) & ~1023u;
    const uint32_t fullBars = ring + STAGES * STAGE_BYTES, emptyBars = fullBars + STAGES * 8;
    const int tid = threadIdx.x, warpgroup = tid >> 7;

    if (tid == 0) {
#pragma unroll
        for (int st = 0; st < STAGES; st++) {
            mbar_init(fullBars + st * 8, 1);                    // the producer's arrive.expect_tx
            mbar_init(emptyBars + st * 8, TMA_CONSUMER_WARPS);  // lane 0 of every consumer warp
        }
        mbar_init_fence();
    }
    __syncthreads();

    const long long tilesM = (s.m + TMA_BM - 1) / TMA_BM, tilesN = (s.n + BN - 1) / BN;
    const long long totalTiles = s.batch * tilesM * tilesN;
    const long long kTiles = (s.k + K_ELEMS - 1) / K_ELEMS;

    if (warpgroup == 0) {
        regs_decrease<TMA_PRODUCER_REGS>();
        if (tid != 0) return;
        tma_prefetch_map(&mapA);
        tma_prefetch_map(&mapB);
        unsigned long long it = 0;
        for (long long tile = blockIdx.x; tile < totalTiles; tile += gridDim.x) {
            long long batchIndex, row0, col0;
            tile_origin<TMA_BM, BN>(s, tile, batchIndex, row0, col0);
            const int batchA = s.strideA == 0 ? 0 : (int)batchIndex, batchB = s.strideB == 0 ? 0 : (int)batchIndex;
            for (long long kt = 0; kt < kTiles; kt++, it++) {
                const uint32_t slot = (uint32_t)(it % STAGES), phase = (uint32_t)((it / STAGES) & 1);
                mbar_wait(emptyBars + slot * 8, phase ^ 1);
                const uint32_t full = fullBars + slot * 8, aTile = ring + slot * STAGE_BYTES, bTile = aTile + A_BYTES;
                // Out-of-range parts of a box are zero-filled and still count: always the whole stage.
                mbar_arrive_expect_tx(full, STAGE_BYTES);
                const int k0 = (int)(kt * K_ELEMS);
                if constexpr (A_KMAJOR) {
                    tma_load_3d(aTile, &mapA, full, k0, (int)row0, batchA);
                } else {
#pragma unroll
                    for (int c = 0; c < TMA_BM / 64; c++) tma_load_3d(aTile + c * 8192, &mapA, full, (int)row0 + 64 * c, k0, batchA);
                }
                if constexpr (B_KMAJOR) {
                    tma_load_3d(bTile, &mapB, full, k0, (int)col0, batchB);
                } else {
#pragma unroll
                    for (int c = 0; c < BN / 64; c++) tma_load_3d(bTile + c * 8192, &mapB, full, (int)col0 + 64 * c, k0, batchB);
                }
            }
        }
        return;
    }

    regs_increase<TMA_CONSUMER_REGS>();
    const int consumer = warpgroup - 1, warpInGroup = (tid >> 5) & 3, lane = tid & 31;
    const float scale = KIND == KIND_BF16 ? 1.0f : aScale[0] * bScale[0];
    float acc[1][BN / 8][4];
    float* d = &acc[0][0][0];
    unsigned long long it = 0;
    for (long long tile = blockIdx.x; tile < totalTiles; tile += gridDim.x) {
        long long batchIndex, row0, col0;
        tile_origin<TMA_BM, BN>(s, tile, batchIndex, row0, col0);
#pragma unroll
        for (int r = 0; r < BN / 2; r++) d[r] = 0.0f;
        for (long long kt = 0; kt < kTiles; kt++, it++) {
            const uint32_t slot = (uint32_t)(it % STAGES), phase = (uint32_t)((it / STAGES) & 1);
            mbar_wait(fullBars + slot * 8, phase);
            const uint32_t aTile = ring + slot * STAGE_BYTES, bTile = aTile + A_BYTES;
            wg_fence();
#pragma unroll
            for (int ks = 0; ks < 4; ks++) {
                const uint64_t descA = A_KMAJOR ? wg_descriptor(aTile + consumer * 64 * TMA_K_BYTES + ks * 32, 16, 1024)
                                                : wg_descriptor(aTile + consumer * 8192 + ks * 2048, 8192, 1024);
                const uint64_t descB = B_KMAJOR ? wg_descriptor(bTile + ks * 32, 16, 1024) : wg_descriptor(bTile + ks * 2048, 8192, 1024);
                wgmma_step<KIND, BN, A_KMAJOR ? 0 : 1, B_KMAJOR ? 0 : 1>(d, descA, descB);
            }
            wg_commit();
            // The previous k tile's wgmmas are done: its slot may be refilled.
            wg_wait<1>();
            if (kt > 0 && lane == 0) mbar_arrive(emptyBars + (uint32_t)((it - 1) % STAGES) * 8);
        }
        wg_wait<0>();
        if (kTiles > 0 && lane == 0) mbar_arrive(emptyBars + (uint32_t)((it - 1) % STAGES) * 8);

        const long long rowBase = row0 + consumer * 64 + warpInGroup * 16;
        store_accumulators<1, BN / 8, OutTag>(acc, rowBase, col0, scale, C + batchIndex * s.m * s.n, bias, residual, batchIndex, s);
    }
}

#define TMA_ENTRY(name, KIND, BN, STAGES, AK, BK, OutTag)                                                                      \
    extern "C" __global__ void __launch_bounds__(TMA_THREADS, 1)                                                              \
        name(const __grid_constant__ TmaMap mapA, const __grid_constant__ TmaMap mapB, Dt<OutTag>::storage* C, const void* bias, \
             const void* residual, const float* aScale, const float* bScale, TcShape s) {                                     \
        tma_gemm<KIND, BN, STAGES, AK, BK, OutTag>(mapA, mapB, C, bias, residual, aScale, bScale, s);                        \
    }
// The variants (OwnTensorCoreGemm.TMA_VARIANTS): _n<BN>_s<STAGES>.
#define TMA_ENTRY_VARIANTS(name, KIND, AK, BK, OutTag)       \
    TMA_ENTRY(name##_n256_s4, KIND, 256, 4, AK, BK, OutTag) \
    TMA_ENTRY(name##_n128_s6, KIND, 128, 6, AK, BK, OutTag)

// bf16: transA n <=> A K-major; transB t <=> B K-major.
TMA_ENTRY_VARIANTS(tma_gemm_bf16_nn_f32, KIND_BF16, true, false, float)
TMA_ENTRY_VARIANTS(tma_gemm_bf16_nt_f32, KIND_BF16, true, true, float)
TMA_ENTRY_VARIANTS(tma_gemm_bf16_tn_f32, KIND_BF16, false, false, float)
TMA_ENTRY_VARIANTS(tma_gemm_bf16_tt_f32, KIND_BF16, false, true, float)
TMA_ENTRY_VARIANTS(tma_gemm_bf16_nn_bf16, KIND_BF16, true, false, bf16_t)
TMA_ENTRY_VARIANTS(tma_gemm_bf16_nt_bf16, KIND_BF16, true, true, bf16_t)
TMA_ENTRY_VARIANTS(tma_gemm_bf16_tn_bf16, KIND_BF16, false, false, bf16_t)
TMA_ENTRY_VARIANTS(tma_gemm_bf16_tt_bf16, KIND_BF16, false, true, bf16_t)
// fp8: both operands K-major.
TMA_ENTRY_VARIANTS(tma_gemm_e4m3_e4m3_f32, KIND_E4M3_E4M3, true, true, float)
TMA_ENTRY_VARIANTS(tma_gemm_e5m2_e4m3_f32, KIND_E5M2_E4M3, true, true, float)
TMA_ENTRY_VARIANTS(tma_gemm_e4m3_e5m2_f32, KIND_E4M3_E5M2, true, true, float)
TMA_ENTRY_VARIANTS(tma_gemm_e4m3_e4m3_bf16, KIND_E4M3_E4M3, true, true, bf16_t)
TMA_ENTRY_VARIANTS(tma_gemm_e5m2_e4m3_bf16, KIND_E5M2_E4M3, true, true, bf16_t)
TMA_ENTRY_VARIANTS(tma_gemm_e4m3_e5m2_bf16, KIND_E4M3_E5M2, true, true, bf16_t)

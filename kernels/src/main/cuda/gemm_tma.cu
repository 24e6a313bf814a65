// nvcc-arch: sm_90a
// GEMMs on Hopper's warpgroup MMA fed by the Tensor Memory Accelerator (sm_90a only; the build
// compiles this file for sm_90a alone): bf16 with any transposes and fp8 (both operands K-major).
// Same problem, operand rules and epilogue as gemm_tc.cu / gemm_wgmma.cu:
//   C[b] = epilogue(scale * op(A[b]) (m x k) * op(B[b]) (k x n)), fp32 accumulation.
//
// Entry points (parameters: tensor maps of A, B and C, C, bias, residual, aScale, bScale, TcShape,
// storeViaTma):
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
//   its accumulators (gemm_tc.cuh's epilogue_accumulators: the wgmma accumulator layout is the
//   mma.sync one per warp), while the producer is already loading the next tile's stages.
//   Output: with storeViaTma (bf16 C, 128 x 128 tiles; the launcher sets it when C's rows meet
//   TMA's 16-byte rule), the consumers write the epilogue's bf16 pairs into a 32 KiB staging tile
//   (two 128 x 64 boxes, 128-byte swizzled like the operand tiles, so the writes are free of bank
//   conflicts) and thread 128 hands it to the TMA unit (cp.async.bulk.tensor store through C's
//   tensor map {n, m, batch}, rows and columns beyond C clipped). The stores run while the next
//   tile's k loop does; the staging tile is reused only after they have read it
//   (cp.async.bulk.wait_group.read). Storing straight from the registers instead cost about a
//   third of the time at 4096^3 on the H200 (bench/RESULTS.md). Otherwise (fp32 C, 128 x 256
//   tiles, unaligned C) the consumers store from the registers.
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
#define TMA_STORE_THREAD 128  // the first consumer thread issues the output tile's TMA stores
#define TMA_CONSUMER_REGS 232
// The bf16 output tile staged for the TMA store (128 x 128 tiles only): two 128-row boxes of 64 columns.
#define TMA_STAGING_BYTES(BN) ((BN) == 128 ? TMA_BM * 128 * 2 : 0)
#define TMA_STORE_BOX_BYTES (TMA_BM * 64 * 2)
// Dynamic shared memory of a variant: the ring, the output staging, 1 KiB to align them, 256 bytes
// of mbarriers (WgmmaTuning.TmaVariant#sharedBytes).
#define TMA_SMEM_BYTES(BN, STAGES) ((STAGES) * (TMA_BM + (BN)) * TMA_K_BYTES + TMA_STAGING_BYTES(BN) + 1024 + 256)
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
// One box of the 3-D tensor map of C from shared memory at src (bulk-group completion).
__device__ __forceinline__ void tma_store_3d(const TmaMap* map, uint32_t src, int c0, int c1, int c2) {
    asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%2, %3, %4}], [%1];\n" ::"l"(reinterpret_cast<uint64_t>(map)),
                 "r"(src), "r"(c0), "r"(c1), "r"(c2)
                 : "memory");
}
__device__ __forceinline__ void bulk_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
// Until the committed bulk stores have read their shared memory (it may then be written again).
__device__ __forceinline__ void bulk_wait_read() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
// Until the committed bulk stores are complete (before the block exits).
__device__ __forceinline__ void bulk_wait_all() { asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory"); }
// Named barrier 1 over the two consumer warpgroups (256 threads).
__device__ __forceinline__ void consumers_sync() { asm volatile("bar.sync 1, 256;\n" ::: "memory"); }
template <int REGS>
__device__ __forceinline__ void regs_decrease() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(REGS)); }
template <int REGS>
__device__ __forceinline__ void regs_increase() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(REGS)); }

// ---------------------------------------------------------------- the GEMM

template <int KIND, int BN, int STAGES, bool A_KMAJOR, bool B_KMAJOR, typename OutTag>
__device__ __forceinline__ void tma_gemm(const TmaMap& mapA, const TmaMap& mapB, const TmaMap& mapC,
                                         typename Dt<OutTag>::storage* __restrict__ C, const void* bias, const void* residual,
                                         const float* aScale, const float* bScale, const TcShape& s, int storeViaTma) {
    constexpr int ELEM = KIND == KIND_BF16 ? 2 : 1;
    constexpr int K_ELEMS = TMA_K_BYTES / ELEM;  // k elements per k tile: 64 bf16 or 128 fp8
    constexpr uint32_t A_BYTES = TMA_BM * TMA_K_BYTES, STAGE_BYTES = (TMA_BM + BN) * TMA_K_BYTES;
    static_assert(KIND == KIND_BF16 || (A_KMAJOR && B_KMAJOR), "fp8 operands are K-major");
    static_assert(BN % 64 == 0 && BN <= 256, "a K-major box has at most 256 rows; MN-major tiles are whole 64-column blocks");
    static_assert(2 * STAGES * 8 <= 256, "mbarriers fit their 256 bytes");
    extern __shared__ __align__(1024) unsigned char smem[];
    const uint32_t ring = ((uint32_t)__cvta_generic_to_shared(smem) + 1023u) & ~1023u;
    // Only bf16 outputs of 128 x 128 tiles are staged for a TMA store (storeViaTma, set by the launcher).
    constexpr bool STAGED = TMA_STAGING_BYTES(BN) > 0 && std::is_same<OutTag, bf16_t>::value;
    const uint32_t staging = ring + STAGES * STAGE_BYTES;
    const uint32_t fullBars = staging + TMA_STAGING_BYTES(BN), emptyBars = fullBars + STAGES * 8;
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
        wg_fence_accumulators<BN / 2>(d);
        if (kTiles > 0 && lane == 0) mbar_arrive(emptyBars + (uint32_t)((it - 1) % STAGES) * 8);

        const long long rowBase = row0 + consumer * 64 + warpInGroup * 16;
        if constexpr (STAGED) {
            if (storeViaTma) {
                // The previous tile's stores have read the staging tile before anyone overwrites it.
                if (tid == TMA_STORE_THREAD) bulk_wait_read();
                consumers_sync();
                // Column pair (c, c + 1) of tile row r: box c / 64, 16-byte chunk (c % 64) / 8 swizzled with r % 8.
                auto stage = [&](uint32_t r, uint32_t c, float v0, float v1) {
                    const uint32_t at = staging + (c >> 6) * TMA_STORE_BOX_BYTES + r * 128 + ((((c & 63) >> 3) ^ (r & 7)) << 4) + (c & 7) * 2;
                    const uint32_t pair = (uint32_t)Dt<bf16_t>::store(v0) | ((uint32_t)Dt<bf16_t>::store(v1) << 16);
                    asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(at), "r"(pair) : "memory");
                };
                if (plain_epilogue(s)) {
                    // Rows and columns beyond C are staged too (zero-filled operands: harmless) and clipped by the store.
                    const int g = lane >> 2, q = lane & 3;
#pragma unroll
                    for (int half = 0; half < 2; half++) {
                        const uint32_t r = (uint32_t)(consumer * 64 + warpInGroup * 16 + half * 8 + g);
#pragma unroll
                        for (int j = 0; j < BN / 8; j++) stage(r, (uint32_t)(j * 8 + 2 * q), acc[0][j][half * 2] * scale, acc[0][j][half * 2 + 1] * scale);
                    }
                } else {
                    epilogue_accumulators<1, BN / 8>(acc, rowBase, col0, scale, bias, residual, batchIndex, s,
                                                     [&](long long row, long long col, float v0, float v1) {
                        stage((uint32_t)(row - row0), (uint32_t)(col - col0), v0, v1);
                    });
                }
                fence_async_proxy();  // the generic-proxy writes become visible to the TMA unit
                consumers_sync();
                if (tid == TMA_STORE_THREAD) {
                    tma_store_3d(&mapC, staging, (int)col0, (int)row0, (int)batchIndex);
                    if (col0 + 64 < s.n) tma_store_3d(&mapC, staging + TMA_STORE_BOX_BYTES, (int)col0 + 64, (int)row0, (int)batchIndex);
                    bulk_commit();
                }
                continue;
            }
        }
        store_accumulators<1, BN / 8, OutTag>(acc, rowBase, col0, scale, C + batchIndex * s.m * s.n, bias, residual, batchIndex, s);
    }
    if constexpr (STAGED) {
        if (storeViaTma && tid == TMA_STORE_THREAD) bulk_wait_all();
    }
}

#define TMA_ENTRY(name, KIND, BN, STAGES, AK, BK, OutTag)                                                                      \
    extern "C" __global__ void __launch_bounds__(TMA_THREADS, 1)                                                              \
        name(const __grid_constant__ TmaMap mapA, const __grid_constant__ TmaMap mapB, const __grid_constant__ TmaMap mapC,       \
             Dt<OutTag>::storage* C, const void* bias, const void* residual, const float* aScale, const float* bScale, TcShape s,  \
             int storeViaTma) {                                                                                                \
        tma_gemm<KIND, BN, STAGES, AK, BK, OutTag>(mapA, mapB, mapC, C, bias, residual, aScale, bScale, s, storeViaTma);     \
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

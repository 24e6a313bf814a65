// nvcc-arch: sm_90a
// fp8 GEMM on Hopper's warpgroup MMA (wgmma.mma_async, sm_90a only; the build compiles this file
// for sm_90a alone, so the module loads only on compute capability 9.0). Same problem, operand
// rules (both operands K-major, 16-byte aligned rows) and epilogue as the fp8 entry points of
// gemm_tc.cu, whose header describes them:
//   C[b] = aScale[0] * bScale[0] * A[b] (m x k, K-major) * B[b]^T (B stored n x k), fp32 accumulation.
//
// Entry points (parameters as gemm_tc.cu's: A, B, C, bias, residual, aScale, bScale, TcShape):
//   wg_gemm_{e4m3_e4m3,e5m2_e4m3,e4m3_e5m2}_{f32,bf16}.
//
// Work split: one 256-thread block (2 warpgroups) per 128 x 128 tile of C, tiles ordered as in
// gemm_tc.cu. Operand tiles (128 rows x 128 bytes of k) stream through the same 3-stage cp.async
// pipeline and the same swizzled layout, which is exactly wgmma's 128-byte swizzle when the tile
// starts on a 1024-byte boundary (the dynamic buffer is aligned up by hand): chunk c of row r at
// chunk c ^ (r & 7), 8-row groups 1024 bytes apart. Warpgroup w multiplies rows 64 w .. +64 of
// the A tile by the whole B tile: per stage 4 wgmma m64n128k32 from shared-memory descriptors,
// the k step advancing the descriptors' start address by 32 bytes inside the swizzled rows.
// cp.async writes through the generic proxy, so each thread fences them to the async proxy
// (fence.proxy.async) before the barrier that publishes a stage; wgmma.wait_group 0 ends each
// stage, so the next barrier also guarantees the stage being refilled is no longer read.
// The accumulators have the mma.sync layout per warp (warp q of a warpgroup owns rows 16 q ..
// +16), so the epilogue is gemm_tc.cuh's store_accumulators.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#matmulScaled.
#include "gemm_tc.cuh"

#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "gemm_wgmma.cu needs sm_90a (its first line asks build-kernels.sh for it): wgmma would compile to nothing"
#endif

#define WG_SMEM_BYTES (TC_SMEM_BYTES + 1024)  // + slack to align the tiles to 1024 bytes: OwnTensorCoreGemm

// Shared-memory matrix descriptor of a K-major, 128-byte-swizzled tile starting at addr.
__device__ __forceinline__ uint64_t wg_descriptor(uint32_t addr) {
    uint64_t d = 0;
    d |= (uint64_t)((addr & 0x3FFFF) >> 4);  // bits 0-13: start address / 16
    d |= (uint64_t)1 << 16;                  // bits 16-29: leading-dimension byte offset / 16 (unused when swizzled K-major)
    d |= (uint64_t)(1024 >> 4) << 32;        // bits 32-45: stride byte offset / 16: 8 rows x 128 bytes
    d |= (uint64_t)1 << 62;                  // bits 62-63: 1 = 128-byte swizzle
    return d;
}

__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
__device__ __forceinline__ void fence_async_proxy() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// d (64 fp32 per thread: 16 tiles of 8 columns x 4) += A (64 x 32 bytes) * B (128 x 32 bytes)^T.
template <int KIND>
__device__ __forceinline__ void wgmma_m64n128k32(float* d, uint64_t descA, uint64_t descB, int accumulate) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if constexpr (KIND == KIND_E4M3_E4M3) {
        asm volatile(
            "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
            "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
            "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
            : "l"(descA), "l"(descB), "r"(accumulate));
    } else if constexpr (KIND == KIND_E5M2_E4M3) {
        asm volatile(
            "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
            "wgmma.mma_async.sync.aligned.m64n128k32.f32.e5m2.e4m3 "
            "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
            : "l"(descA), "l"(descB), "r"(accumulate));
    } else if constexpr (KIND == KIND_E4M3_E5M2) {
        asm volatile(
            "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
            "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e5m2 "
            "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
            : "l"(descA), "l"(descB), "r"(accumulate));
    }
#endif
}

template <int KIND, typename OutTag>
__device__ __forceinline__ void wg_gemm(const unsigned char* __restrict__ A, const unsigned char* __restrict__ B,
                                        typename Dt<OutTag>::storage* __restrict__ C, const void* bias, const void* residual,
                                        const float* aScale, const float* bScale, const TcShape& s) {
    extern __shared__ __align__(1024) unsigned char smem[];
    const uint32_t smemBase = ((uint32_t)__cvta_generic_to_shared(smem) + 1023u) & ~1023u;
    const int tid = threadIdx.x, warpgroup = tid >> 7, warpInGroup = (tid >> 5) & 3;

    long long batchIndex, row0, col0;
    tile_origin(s, batchIndex, row0, col0);
    const unsigned char* Ab = A + batchIndex * s.strideA;
    const unsigned char* Bb = B + batchIndex * s.strideB;
    const long long kBytes = s.k;
    const int kTiles = (int)((kBytes + TC_BK_BYTES - 1) / TC_BK_BYTES);

    float acc[1][16][4];
    float* d = &acc[0][0][0];
#pragma unroll
    for (int r = 0; r < 64; r++) d[r] = 0.0f;

    auto loadStage = [&](int slot, int kTile) {
        const uint32_t aTile = smemBase + slot * TC_STAGE_BYTES, bTile = aTile + TC_TILE_BYTES;
        const long long kByte0 = (long long)kTile * TC_BK_BYTES;
        load_tile<1, true>(aTile, Ab, s.lda, row0, s.m, kByte0, kBytes, tid);
        load_tile<1, true>(bTile, Bb, s.ldb, col0, s.n, kByte0, kBytes, tid);
    };

#pragma unroll
    for (int st = 0; st < TC_STAGES - 1; st++) {
        if (st < kTiles) loadStage(st, st);
        cp_async_commit();
    }
    for (int kt = 0; kt < kTiles; kt++) {
        cp_async_wait<TC_STAGES - 2>();
        fence_async_proxy();
        __syncthreads();
        const int next = kt + TC_STAGES - 1;
        if (next < kTiles) loadStage(next % TC_STAGES, next);
        cp_async_commit();

        const uint32_t aTile = smemBase + (kt % TC_STAGES) * TC_STAGE_BYTES + warpgroup * 64 * TC_BK_BYTES;
        const uint32_t bTile = smemBase + (kt % TC_STAGES) * TC_STAGE_BYTES + TC_TILE_BYTES;
        wg_fence();
#pragma unroll
        for (int ks = 0; ks < 4; ks++) wgmma_m64n128k32<KIND>(d, wg_descriptor(aTile + ks * 32), wg_descriptor(bTile + ks * 32), 1);
        wg_commit();
        wg_wait_all();
    }
    cp_async_wait<0>();

    const float scale = aScale[0] * bScale[0];
    store_accumulators<1, 16, OutTag>(acc, row0 + warpgroup * 64 + warpInGroup * 16, col0, scale, C + batchIndex * s.m * s.n,
                                      bias, residual, batchIndex, s);
}

#define WG_ENTRY(name, KIND, OutTag)                                                                        \
    extern "C" __global__ void __launch_bounds__(TC_THREADS, 2)                                            \
        name(const unsigned char* A, const unsigned char* B, Dt<OutTag>::storage* C, const void* bias,      \
             const void* residual, const float* aScale, const float* bScale, TcShape s) {                   \
        wg_gemm<KIND, OutTag>(A, B, C, bias, residual, aScale, bScale, s);                                  \
    }

WG_ENTRY(wg_gemm_e4m3_e4m3_f32, KIND_E4M3_E4M3, float)
WG_ENTRY(wg_gemm_e5m2_e4m3_f32, KIND_E5M2_E4M3, float)
WG_ENTRY(wg_gemm_e4m3_e5m2_f32, KIND_E4M3_E5M2, float)
WG_ENTRY(wg_gemm_e4m3_e4m3_bf16, KIND_E4M3_E4M3, bf16_t)
WG_ENTRY(wg_gemm_e5m2_e4m3_bf16, KIND_E5M2_E4M3, bf16_t)
WG_ENTRY(wg_gemm_e4m3_e5m2_bf16, KIND_E4M3_E5M2, bf16_t)

// Hopper warpgroup-MMA primitives shared by gemm_wgmma.cu (cp.async ring) and gemm_tma.cu (TMA +
// mbarrier ring): shared-memory matrix descriptors of 128-byte-swizzled tiles, the wgmma
// fence / commit / wait wrappers and one k step (wgmma m64nBNk16 bf16 or k32 fp8) over a
// 64-row slice of A and the whole BN-row B tile. sm_90a only (the including files check).
#pragma once
#include "gemm_tc.cuh"

// Shared-memory matrix descriptor of a 128-byte-swizzled tile: start address, leading and stride
// byte offsets (all in 16-byte units, 14 bits each), layout type 1 = 128-byte swizzle.
__device__ __forceinline__ uint64_t wg_descriptor(uint32_t addr, uint32_t leadingBytes, uint32_t strideBytes) {
    uint64_t d = 0;
    d |= (uint64_t)((addr & 0x3FFFF) >> 4);
    d |= (uint64_t)((leadingBytes >> 4) & 0x3FFF) << 16;
    d |= (uint64_t)((strideBytes >> 4) & 0x3FFF) << 32;
    d |= (uint64_t)1 << 62;
    return d;
}

__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wg_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
// Pins the accumulators after wgmma.wait_group: the compiler may not move reads of d[0 .. N) above
// this point (the wait itself names no registers), so no epilogue read races an unfinished wgmma.
template <int N>
__device__ __forceinline__ void wg_fence_accumulators(float* d) {
#pragma unroll
    for (int r = 0; r < N; r++) asm volatile("" : "+f"(d[r])::"memory");
}
__device__ __forceinline__ void fence_async_proxy() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// Accumulator register lists of wgmma m64n128 (64 fp32 per thread) and m64n256 (128).
#define WG_REGS_64 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define WG_REGS_128 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}"
#define WG_ACC_64(d) \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
    "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
    "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
    "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define WG_ACC_128(d) \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
    "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
    "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
    "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), \
    "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
    "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), \
    "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
    "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])

// One wgmma: d (BN / 2 fp32 per thread) += A (64 x 32 bytes of k) * B (BN x 32 bytes of k)^T, the
// operands in shared memory. TRANS_A / TRANS_B: 1 = MN-major (bf16 only), 0 = K-major.
#define WG_MMA_BF16(NSHAPE, REGS, ACC, IA, IB, IP, ITA, ITB)                                                   \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" IP ", 0;\n"                                          \
                 "wgmma.mma_async.sync.aligned.m64" NSHAPE "k16.f32.bf16.bf16 " REGS ", %" IA ", %" IB         \
                 ", p, 1, 1, %" ITA ", %" ITB ";\n}\n"                                                         \
                 : ACC(d) : "l"(descA), "l"(descB), "r"(1), "n"(TRANS_A), "n"(TRANS_B))
#define WG_MMA_FP8(NSHAPE, TYPES, REGS, ACC, IA, IB, IP)                                                       \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" IP ", 0;\n"                                          \
                 "wgmma.mma_async.sync.aligned.m64" NSHAPE "k32.f32." TYPES " " REGS ", %" IA ", %" IB         \
                 ", p, 1, 1;\n}\n"                                                                              \
                 : ACC(d) : "l"(descA), "l"(descB), "r"(1))

template <int KIND, int BN, int TRANS_A, int TRANS_B>
__device__ __forceinline__ void wgmma_step(float* d, uint64_t descA, uint64_t descB) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    static_assert(BN == 128 || BN == 256, "tile width");
    static_assert(KIND == KIND_BF16 || (TRANS_A == 0 && TRANS_B == 0), "fp8 wgmma takes K-major operands only");
    if constexpr (BN == 128) {
        if constexpr (KIND == KIND_BF16) WG_MMA_BF16("n128", WG_REGS_64, WG_ACC_64, "64", "65", "66", "67", "68");
        else if constexpr (KIND == KIND_E4M3_E4M3) WG_MMA_FP8("n128", "e4m3.e4m3", WG_REGS_64, WG_ACC_64, "64", "65", "66");
        else if constexpr (KIND == KIND_E5M2_E4M3) WG_MMA_FP8("n128", "e5m2.e4m3", WG_REGS_64, WG_ACC_64, "64", "65", "66");
        else if constexpr (KIND == KIND_E4M3_E5M2) WG_MMA_FP8("n128", "e4m3.e5m2", WG_REGS_64, WG_ACC_64, "64", "65", "66");
    } else {
        if constexpr (KIND == KIND_BF16) WG_MMA_BF16("n256", WG_REGS_128, WG_ACC_128, "128", "129", "130", "131", "132");
        else if constexpr (KIND == KIND_E4M3_E4M3) WG_MMA_FP8("n256", "e4m3.e4m3", WG_REGS_128, WG_ACC_128, "128", "129", "130");
        else if constexpr (KIND == KIND_E5M2_E4M3) WG_MMA_FP8("n256", "e5m2.e4m3", WG_REGS_128, WG_ACC_128, "128", "129", "130");
        else if constexpr (KIND == KIND_E4M3_E5M2) WG_MMA_FP8("n256", "e4m3.e5m2", WG_REGS_128, WG_ACC_128, "128", "129", "130");
    }
#endif
}

// Shared pieces of the tensor-core GEMM kernels (gemm_tc.cu: mma.sync; gemm_wgmma.cu: sm_90a
// wgmma): the by-value shape struct, cp.async / ldmatrix / mma wrappers, the swizzled
// shared-memory layouts, the operand-tile loader and the fused epilogue. See gemm_tc.cu's header
// for the layouts and the epilogue's formula.
#pragma once
#include "common.cuh"

#define TC_BM 128
#define TC_BN 128
#define TC_BK_BYTES 128
#define TC_STAGES 3
#define TC_THREADS 256
#define TC_TILE_BYTES (TC_BM * TC_BK_BYTES)
#define TC_STAGE_BYTES (2 * TC_TILE_BYTES)
#define TC_SMEM_BYTES (TC_STAGES * TC_STAGE_BYTES)  // 96 KiB: OwnTensorCoreGemm.SHARED_BYTES
#define TC_GROUP_M 8

#define KIND_BF16 0
#define KIND_E4M3_E4M3 1
#define KIND_E5M2_E4M3 2
#define KIND_E4M3_E5M2 3

#define EPI_NONE 0
#define EPI_F32 1
#define EPI_BF16 2

// Sizes and epilogue switches; every field 8 bytes so Java passes it as a long[] of 15.
struct TcShape {
    long long m, n, k;
    long long lda, ldb;          // elements
    long long strideA, strideB;  // elements; 0 broadcasts
    long long batch;
    long long biasStride;        // elements between consecutive bias values
    long long biasKind;          // EPI_NONE, EPI_F32, EPI_BF16
    long long residualLd, residualBatchStride, residualKind;
    long long gelu;              // 1: apply GELU after the bias
    long long pairStores;        // 1: n even and C 8-byte aligned, so column pairs store as one
};

// ---------------------------------------------------------------- PTX wrappers

__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, int srcBytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(srcBytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t addr, uint32_t* r) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t addr, uint32_t* r) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}

// D = A * B + D for one 16 x 8 tile; a: 4 registers, b: 2 registers, d: 4 fp32.
template <int KIND>
__device__ __forceinline__ void mma_16x8(float* d, const uint32_t* a, const uint32_t* b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (KIND == KIND_BF16) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
    if constexpr (KIND == KIND_E4M3_E4M3) {
        asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else if constexpr (KIND == KIND_E5M2_E4M3) {
        asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e5m2.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else if constexpr (KIND == KIND_E4M3_E5M2) {
        asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e5m2.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
#endif
}

// ---------------------------------------------------------------- shared-memory layouts

// K-major tile: 128 rows (m or n) of 128 bytes = 8 chunks of 16 B; chunk c of row r is stored
// at chunk c ^ (r & 7).
__device__ __forceinline__ uint32_t kmajor_offset(int row, int chunk) {
    return (uint32_t)(row * 128 + ((chunk ^ (row & 7)) << 4));
}
// MN-major tile (bf16): 64 k-rows of 256 bytes = 16 chunks (8 elements of m or n each); the two
// 128-byte halves are swizzled like K-major rows.
__device__ __forceinline__ uint32_t mnmajor_offset(int row, int chunk) {
    return (uint32_t)(row * 256 + ((chunk & 8) << 4) + (((chunk & 7) ^ (row & 7)) << 4));
}

// Issues the cp.async copies of one operand tile: `outer0` is the tile's first row of op(X)
// along m (for A) or n (for B), kByte0 the first byte along k. Every thread copies 4 chunks.
template <int ELEM, bool KMAJOR>
__device__ __forceinline__ void load_tile(uint32_t tile, const unsigned char* base, long long ldBytes, long long outer0,
                                          long long outerSize, long long kByte0, long long kBytes, int tid) {
    if constexpr (KMAJOR) {
        const int row = tid >> 3, chunk = tid & 7;  // rows row + 32 q; chunk fixed per thread
        const long long kb = kByte0 + chunk * 16;
        const int kValid = kb >= kBytes ? 0 : (int)min(16LL, kBytes - kb);
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const int r = row + 32 * q;
            const long long o = outer0 + r;
            const int bytes = o < outerSize ? kValid : 0;
            const unsigned char* src = bytes > 0 ? base + o * ldBytes + kb : base;
            cp_async_16(tile + kmajor_offset(r, chunk), src, bytes);
        }
    } else {
        const int row = tid >> 4, chunk = tid & 15;  // k-rows row + 16 q
        const long long ob = outer0 * ELEM + chunk * 16, obEnd = outerSize * ELEM;
        const int oValid = ob >= obEnd ? 0 : (int)min(16LL, obEnd - ob);
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const int r = row + 16 * q;
            const long long kRow = kByte0 / ELEM + r;
            const int bytes = kRow * ELEM < kBytes ? oValid : 0;
            const unsigned char* src = bytes > 0 ? base + kRow * ldBytes + ob : base;
            cp_async_16(tile + mnmajor_offset(r, chunk), src, bytes);
        }
    }
}

// The batch and the first row and column of BM x BN tile number `tile` of C (128 x 128 for the
// mma.sync kernels), numbering tiles in groups of TC_GROUP_M tile-rows so that blocks running
// together share operand tiles in L2.
template <int BM = TC_BM, int BN = TC_BN>
__device__ __forceinline__ void tile_origin(const TcShape& s, long long tile, long long& batchIndex, long long& row0, long long& col0) {
    const long long tilesM = (s.m + BM - 1) / BM, tilesN = (s.n + BN - 1) / BN;
    const long long perBatch = tilesM * tilesN;
    batchIndex = tile / perBatch;
    const long long t = tile % perBatch;
    const long long groupSpan = (long long)TC_GROUP_M * tilesN;
    const long long firstM = (t / groupSpan) * TC_GROUP_M;
    const long long groupRows = min((long long)TC_GROUP_M, tilesM - firstM);
    row0 = (firstM + (t % groupSpan) % groupRows) * BM;
    col0 = ((t % groupSpan) / groupRows) * BN;
}

// This block's tile (one tile per block, numbered by blockIdx.x).
template <int BM = TC_BM, int BN = TC_BN>
__device__ __forceinline__ void tile_origin(const TcShape& s, long long& batchIndex, long long& row0, long long& col0) {
    tile_origin<BM, BN>(s, (long long)blockIdx.x, batchIndex, row0, col0);
}

__device__ __forceinline__ float load_epilogue_value(const void* p, long long kind, long long index) {
    return kind == EPI_F32 ? static_cast<const float*>(p)[index] : bf16_to_float(static_cast<const bf16_t*>(p)[index]);
}

__device__ __forceinline__ float gelu_tanh(float x) {
    const float c = 0.7978845608028654f, a = 0.044715f;  // sqrt(2 / pi), cubic coefficient (elementwise.cu)
    return 0.5f * x * (1.0f + tanhf(c * (x + a * x * x * x)));
}

// Applies the epilogue to a warp's accumulators and hands each column pair to sink(row, col, v0,
// v1): acc[i][j] is the 16 x 8 tile at rows rowBase + 16 i, columns colBase + 8 j; thread (g =
// lane / 4, q = lane % 4) holds rows g and g + 8, columns 2 q and 2 q + 1 of each (the mma.sync
// and wgmma accumulator layout). Only pairs with row < m and col < n reach the sink; v1 is
// meaningless when col + 1 == n.
template <int MT, int NT, typename Sink>
__device__ __forceinline__ void epilogue_accumulators(float (&acc)[MT][NT][4], long long rowBase, long long colBase, float scale,
                                                      const void* bias, const void* residual, long long batchIndex, const TcShape& s,
                                                      Sink sink) {
    const int lane = threadIdx.x & 31;
    const unsigned char* res = static_cast<const unsigned char*>(residual);
    const long long resBatch = batchIndex * s.residualBatchStride;
    const int g = lane >> 2, q = lane & 3;
#pragma unroll
    for (int i = 0; i < MT; i++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const long long row = rowBase + i * 16 + g + half * 8;
            if (row >= s.m) continue;
#pragma unroll
            for (int j = 0; j < NT; j++) {
                const long long col = colBase + j * 8 + 2 * q;
                if (col >= s.n) continue;
                float v[2];
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const long long c = col + e;
                    float x = acc[i][j][half * 2 + e] * scale;
                    if (c < s.n) {
                        if (s.biasKind != EPI_NONE) x += load_epilogue_value(bias, s.biasKind, c * s.biasStride);
                        if (s.gelu) x = gelu_tanh(x);
                        if (s.residualKind != EPI_NONE)
                            x += load_epilogue_value(res, s.residualKind, resBatch + row * s.residualLd + c);
                    }
                    v[e] = x;
                }
                sink(row, col, v[0], v[1]);
            }
        }
    }
}

// Whether the epilogue is the bare scaled product (no bias, GELU or residual).
__device__ __forceinline__ bool plain_epilogue(const TcShape& s) {
    return s.biasKind == EPI_NONE && !s.gelu && s.residualKind == EPI_NONE;
}

// The epilogue stored straight from the registers into C (row-major [m, n] of batch Cb). A warp
// slice wholly inside C with a plain epilogue and paired stores takes a lean loop: one row
// pointer per row, constant offsets per column pair. The general loop's per-element bounds and
// epilogue checks in 64-bit arithmetic made the epilogue instruction-bound: it cost a third of a
// 4096^3 TMA GEMM's time on the H200 (bench/RESULTS.md).
template <int MT, int NT, typename OutTag>
__device__ __forceinline__ void store_accumulators(float (&acc)[MT][NT][4], long long rowBase, long long colBase, float scale,
                                                   typename Dt<OutTag>::storage* __restrict__ Cb, const void* bias,
                                                   const void* residual, long long batchIndex, const TcShape& s) {
    if (s.pairStores && plain_epilogue(s) && rowBase + MT * 16 <= s.m && colBase + NT * 8 <= s.n) {
        const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
#pragma unroll
        for (int i = 0; i < MT; i++) {
#pragma unroll
            for (int half = 0; half < 2; half++) {
                typename Dt<OutTag>::storage* rowStart = Cb + (rowBase + i * 16 + g + half * 8) * s.n + colBase + 2 * q;
#pragma unroll
                for (int j = 0; j < NT; j++) {
                    const float v0 = acc[i][j][half * 2] * scale, v1 = acc[i][j][half * 2 + 1] * scale;
                    if constexpr (std::is_same<OutTag, float>::value) {
                        *reinterpret_cast<float2*>(rowStart + j * 8) = make_float2(v0, v1);
                    } else {
                        *reinterpret_cast<uint32_t*>(rowStart + j * 8) = (uint32_t)Dt<OutTag>::store(v0) | ((uint32_t)Dt<OutTag>::store(v1) << 16);
                    }
                }
            }
        }
        return;
    }
    epilogue_accumulators<MT, NT>(acc, rowBase, colBase, scale, bias, residual, batchIndex, s, [&](long long row, long long col, float v0, float v1) {
        const long long at = row * s.n + col;
        if (s.pairStores) {  // col is even and n even, so col + 1 < n
            if constexpr (std::is_same<OutTag, float>::value) {
                *reinterpret_cast<float2*>(Cb + at) = make_float2(v0, v1);
            } else {
                *reinterpret_cast<uint32_t*>(Cb + at) = (uint32_t)Dt<OutTag>::store(v0) | ((uint32_t)Dt<OutTag>::store(v1) << 16);
            }
        } else {
            Cb[at] = Dt<OutTag>::store(v0);
            if (col + 1 < s.n) Cb[at + 1] = Dt<OutTag>::store(v1);
        }
    });
}

package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.GemmArguments;
import io.reg4rec.engine.Tensor;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;

/**
 * Launches the engine's tensor-core GEMM kernels (kernels/src/main/cuda/gemm_tc.cu, mma.sync, and
 * gemm_wgmma.cu, Hopper wgmma for fp8): bf16 with an optional fused epilogue (any transposes) and
 * fp8 with per-tensor scales. Which GEMM runs
 * where is decided by {@link CudaGemm}; this class only prepares operands and launches.
 *
 * <p>Layout rules of the kernels, met here by repacking rather than by rejecting: every operand
 * row starts on a 16-byte boundary (leading dimension and batch stride multiples of 8 bf16 or
 * 16 fp8 elements, data pointer 16-byte aligned) with unit stride along the row, and fp8
 * operands are K-major (A stored [m, k], B stored [n, k]), because fp8 mma.sync takes K-major
 * fragments and ldmatrix cannot transpose bytes. An operand that breaks a rule is first copied
 * (tc_repack_b1 / b2) into a zero-padded buffer of that form, transposed where fp8 needs it;
 * so any shape and view gives the right answer, and the fast path needs no copy.
 */
final class OwnTensorCoreGemm {
    static final String MODULE = "gemm_tc", WGMMA_MODULE = "gemm_wgmma";
    static final int TILE = 128, THREADS = 256;
    /** Dynamic shared memory of one block: 3 stages x (A + B) x 128 x 128 bytes (TC_SMEM_BYTES). */
    static final int SHARED_BYTES = 3 * 2 * 128 * 128;
    /** gemm_wgmma.cu's WG_SMEM_BYTES: the same stages plus 1 KiB to align them to wgmma's 1024-byte swizzle atoms. */
    static final int WGMMA_SHARED_BYTES = SHARED_BYTES + 1024;
    private static final int EPI_NONE = 0, EPI_F32 = 1, EPI_BF16 = 2;

    private final CudaBackend backend;
    private final Set<String> sharedMemoryRaised = ConcurrentHashMap.newKeySet();

    OwnTensorCoreGemm(CudaBackend backend) {
        this.backend = backend;
    }

    /** bf16 x bf16 (fp32 accumulation) with the epilogue of {@link io.reg4rec.engine.Backend#matmulEpilogue}; needs sm_80+. */
    void bf16(GemmArguments g, Tensor a, boolean ta, Tensor b, boolean tb, Tensor bias, boolean gelu, Tensor residual, Tensor out) {
        if (a.dtype() != DType.BF16 || b.dtype() != DType.BF16) {
            throw new IllegalArgumentException("bf16 tensor-core GEMM: operands must be BF16, got " + a.describe() + " x " + b.describe());
        }
        if (g.batch == 0 || g.m == 0 || g.n == 0) return;
        try (Operand pa = Operand.prepare(backend, a, false); Operand pb = Operand.prepare(backend, b, false)) {
            String name = "tc_gemm_bf16_" + (ta ? "t" : "n") + (tb ? "t" : "n") + "_" + outSuffix(out);
            launch(MODULE, name, SHARED_BYTES, g, pa, pb, bias, gelu, residual, null, null, out);
        }
    }

    /**
     * fp8 x fp8 scaled GEMM of {@link io.reg4rec.engine.Backend#matmulScaled}: on mma.sync (sm_89+,
     * gemm_tc.cu) or, with {@code wgmma}, on Hopper's warpgroup MMA (sm_90 only, gemm_wgmma.cu).
     */
    void fp8(GemmArguments g, Tensor a, boolean ta, Tensor b, boolean tb, Tensor aScale, Tensor bScale, Tensor out, boolean wgmma) {
        if (g.batch == 0 || g.m == 0 || g.n == 0) return;
        // Both operands K-major: A stored [m, k] (ta false), B stored [n, k] (tb true).
        try (Operand pa = Operand.prepare(backend, a, ta); Operand pb = Operand.prepare(backend, b, !tb)) {
            String name = (wgmma ? "wg_gemm_" : "tc_gemm_") + fp8Suffix(a.dtype()) + "_" + fp8Suffix(b.dtype()) + "_" + outSuffix(out);
            launch(wgmma ? WGMMA_MODULE : MODULE, name, wgmma ? WGMMA_SHARED_BYTES : SHARED_BYTES, g, pa, pb, null, false, null,
                    aScale, bScale, out);
        }
    }

    private void launch(String module, String name, int sharedBytes, GemmArguments g, Operand pa, Operand pb, Tensor bias, boolean gelu, Tensor residual,
                        Tensor aScale, Tensor bScale, Tensor out) {
        Tensor res = residual == null || residual.size(2) == 1 || residual.stride(2) == 1 ? residual : residual.contiguous();
        try {
            int outBytes = out.dtype().byteSize();
            boolean pairStores = g.n % 2 == 0 && (out.offset() * outBytes) % 8 == 0;
            long[] shape = {
                    g.m, g.n, g.k, pa.ld, pb.ld, pa.batchStride, pb.batchStride, g.batch,
                    bias == null ? 0 : bias.stride(0), epilogueKind(bias),
                    res == null ? 0 : (res.size(1) == 1 ? g.n : res.stride(1)),
                    res == null || res.size(0) == 1 ? 0 : res.stride(0), epilogueKind(res),
                    gelu ? 1 : 0, pairStores ? 1 : 0};
            long tiles = (long) g.batch * ((g.m + TILE - 1) / TILE) * ((g.n + TILE - 1) / TILE);
            if (tiles > KernelLaunch.MAX_GRID_X) {
                throw new IllegalArgumentException("tensor-core GEMM " + g + ": " + tiles + " tiles of " + TILE + " x " + TILE
                        + " exceed the grid limit " + KernelLaunch.MAX_GRID_X);
            }
            raiseSharedMemory(module, name, sharedBytes);
            backend.kernel(module, name)
                    .ptr(backend.pointer(pa.tensor)).ptr(backend.pointer(pb.tensor)).ptr(backend.pointer(out))
                    .ptr(bias == null ? new CUdeviceptr() : backend.pointer(bias))
                    .ptr(res == null ? new CUdeviceptr() : backend.pointer(res))
                    .ptr(aScale == null ? new CUdeviceptr() : backend.pointer(aScale))
                    .ptr(bScale == null ? new CUdeviceptr() : backend.pointer(bScale))
                    .struct(shape)
                    .launch(backend.stream(), tiles, 1, THREADS, 1, sharedBytes);
        } finally {
            if (res != residual) res.close();
        }
    }

    /** Kernels above 48 KiB of dynamic shared memory must opt in, once per function. */
    private void raiseSharedMemory(String module, String name, int bytes) {
        String key = module + "/" + name;
        if (sharedMemoryRaised.contains(key)) return;
        CUfunction f = backend.function(module, name);
        CudaBackend.check(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "cuFuncSetAttribute(" + name + ", MAX_DYNAMIC_SHARED_SIZE_BYTES, " + bytes + ")");
        sharedMemoryRaised.add(key);
    }

    private static int epilogueKind(Tensor t) {
        if (t == null) return EPI_NONE;
        return t.dtype() == DType.F32 ? EPI_F32 : EPI_BF16;
    }

    private static String outSuffix(Tensor out) {
        return switch (out.dtype()) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            default -> throw new IllegalArgumentException("tensor-core GEMM: out must be F32 or BF16, got " + out.describe());
        };
    }

    private static String fp8Suffix(DType t) {
        return switch (t) {
            case F8E4M3 -> "e4m3";
            case F8E5M2 -> "e5m2";
            default -> throw new IllegalArgumentException("fp8 GEMM: operand must be F8E4M3 or F8E5M2, got " + t);
        };
    }

    /** An operand as the kernel reads it: the tensor itself, or a packed copy owned (and closed) here. */
    private static final class Operand implements AutoCloseable {
        final Tensor tensor;
        final boolean owned;
        /** Elements between rows, and between batches (0: one matrix for every batch). */
        final long ld, batchStride;

        private Operand(Tensor tensor, boolean owned, long ld, long batchStride) {
            this.tensor = tensor;
            this.owned = owned;
            this.ld = ld;
            this.batchStride = batchStride;
        }

        /**
         * x as stored ([batch or 1, rows, cols]) when it meets the 16-byte rules, else a padded
         * copy; with {@code transpose} always a copy of its transpose ([batch, cols, rows]).
         */
        static Operand prepare(CudaBackend backend, Tensor x, boolean transpose) {
            int elem = x.dtype().byteSize(), align = 16 / elem;
            int batch = x.size(0), rows = x.size(1), cols = x.size(2);
            if (x.numel() == 0) return new Operand(x, false, align, 0);  // k = 0: nothing is read
            if (!transpose) {
                long ld = rows == 1 ? align : x.stride(1);
                long batchStride = batch == 1 ? 0 : x.stride(0);
                boolean unitRows = cols == 1 || x.stride(2) == 1;
                if (unitRows && ld >= cols && ld % align == 0 && batchStride >= 0 && batchStride % align == 0
                        && (x.offset() * elem) % 16 == 0) {
                    return new Operand(x, false, ld, batchStride);
                }
            }
            int packedRows = transpose ? cols : rows, packedCols = transpose ? rows : cols;
            long ld = (packedCols + align - 1L) / align * align;
            if (ld > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor-core GEMM: operand " + x.describe() + " is too wide to pad");
            Tensor packed = Tensor.empty(x.device(), x.dtype(), batch, packedRows, (int) ld);
            try {
                long tilesR = (packedRows + 31L) / 32, tilesC = (ld + 31) / 32;
                backend.kernel(MODULE, elem == 1 ? "tc_repack_b1" : "tc_repack_b2")
                        .ptr(backend.pointer(x)).ptr(backend.pointer(packed))
                        .i64(packedRows).i64(packedCols).i64(batch == 1 ? 0 : x.stride(0))
                        .i64(transpose ? x.stride(2) : x.stride(1)).i64(transpose ? x.stride(1) : x.stride(2))
                        .i64(ld).i64(batch)
                        .launch(backend.stream(), (long) batch * tilesR * tilesC, 1, 32, 8, 0);
            } catch (RuntimeException e) {
                packed.close();
                throw e;
            }
            return new Operand(packed, true, ld, batch == 1 ? 0 : (long) packedRows * ld);
        }

        @Override
        public void close() {
            if (owned) tensor.close();
        }
    }
}

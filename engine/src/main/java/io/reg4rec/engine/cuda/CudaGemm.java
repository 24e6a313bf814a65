package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.GemmArguments;
import io.reg4rec.engine.Tensor;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.runtime.cudaStream_t;

import java.util.Locale;

import static jcuda.cudaDataType.CUDA_R_16BF;
import static jcuda.cudaDataType.CUDA_R_32F;
import static jcuda.jcublas.cublasComputeType.CUBLAS_COMPUTE_32F;
import static jcuda.jcublas.cublasGemmAlgo.CUBLAS_GEMM_DEFAULT;
import static jcuda.jcublas.cublasMath.CUBLAS_DEFAULT_MATH;
import static jcuda.jcublas.cublasOperation.CUBLAS_OP_N;
import static jcuda.jcublas.cublasOperation.CUBLAS_OP_T;

/**
 * The one place that chooses how a CUDA matmul runs. The rule, per call:
 * <pre>
 *   operation        dtype  auto choice                          why (OwnGemmBench on an H200, medians)
 *   matmul           bf16   cuBLAS when JCublas loads,           cuBLAS 0.184 ms at 4096^3, 1.403 ms at 8192^3,
 *                           else own tensor cores (below)        0.036-0.040 ms on every model shape; own
 *                                                                mma.sync 0.496 / 3.658 ms, 0.074-0.911 ms
 *   matmul           fp32   cuBLAS when JCublas loads, else      no own fp32 tensor-core kernel
 *                           gemm.cu (CUDA cores)
 *   matmulScaled     fp8    own: wgmma on 9.0, mma.sync on 8.9   JCublas has no cuBLASLt (the only fp8 route);
 *                                                                wgmma 0.237 / 1.540 ms vs mma.sync (emulated
 *                                                                on sm_90) 0.543 / 4.158 ms at 4096^3 / 8192^3
 *   matmulEpilogue   bf16   own tensor cores (below)             JCublas2 cannot fuse bias / GELU / residual
 *   own tensor cores bf16   wgmma on 9.0, mma.sync on 8.0+       wgmma is Hopper's full-rate MMA; mma.sync
 *                                                                reaches 277-301 TFLOP/s there at most
 *   wgmma on 9.0     both   TMA kernel (gemm_tma.cu) when        bf16 0.231 / 1.901 ms at 4096^3 / 8192^3 vs
 *                           OwnTensorCoreGemm#tmaRoute takes     cp.async wgmma 0.351 / 2.762 ms; at k = 128
 *                           the shape (k >= 128, one wave of     (51200 x 640 x 128) 0.067 vs 0.080 ms
 *                           tiles, no k split), else cp.async    (bench/RESULTS.md, fourth session)
 *                           wgmma (gemm_wgmma.cu)
 * </pre>
 * The wgmma kernels also choose their tile width and k split (split-K for small m x n with long
 * k, such as the weight gradients) in {@link OwnTensorCoreGemm#plan}. bf16 matmul keeps cuBLAS
 * when JCublas loads: the own kernels reach 81% / 85% of it at 4096^3 / 8192^3 and 57-103% on
 * the model's shapes.
 *
 * <p>System properties force a choice; they are read on every call so tests and benchmarks can
 * switch: {@code reg4rec.gemm} = {@code cublas} | {@code own} | {@code own-simt} | {@code auto}
 * (default) for matmul; {@code reg4rec.gemm.bf16} and {@code reg4rec.gemm.fp8} = {@code auto} |
 * {@code mma} | {@code wgmma} for the own bf16 and fp8 tensor-core kernel.
 *
 * <p>cuBLAS runs through JCublas2 when its natives load (they need libcublas.so.12, which on a
 * CUDA 13 host a compatibility shim provides).
 * Row-major C = A·B is computed by cuBLAS as the column-major product C^T = B^T·A^T: a
 * row-major matrix with leading dimension ld is its own transpose in column-major order, so no
 * data moves. The cuBLAS functions called are cublasCreate_v2, cublasSetStream_v2,
 * cublasSetWorkspace_v2, cublasSetMathMode, cublasGetVersion_v2, cublasSgemmStridedBatched and cublasGemmStridedBatchedEx
 * (through JCublas2's *_new binding, which passes the cublasComputeType_t through unchanged; the
 * older binding would first call cublasGetMathMode). The handle lives as long as the JVM, and so
 * does its workspace: {@link #WORKSPACE_BYTES_SM90} on compute capability 9.x and above, else
 * {@link #WORKSPACE_BYTES_OTHER}, allocated once from the driver (not from the caching allocator)
 * as NVIDIA recommends for Hopper and as PyTorch does; without it cuBLAS falls back to a small
 * default pool that limits the kernels it can choose.
 */
public final class CudaGemm {
    /**
     * CUBLAS: JCublas2. OWN: the engine's kernels, bf16 on tensor cores (wgmma on 9.0, gemm_wgmma.cu;
     * mma.sync on sm_80+, gemm_tc.cu). OWN_SIMT: the engine's CUDA-core kernel for every dtype (the
     * fallback below sm_80).
     */
    public enum Impl { CUBLAS, OWN, OWN_SIMT }

    public static final String PROPERTY = "reg4rec.gemm";

    /** Which own tensor-core kernel runs a GEMM: {@link #fp8Kernel()}, {@link #bf16Kernel()}. */
    public enum TensorCoreKernel {
        /** mma.sync (gemm_tc.cu): bf16 on sm_80+, fp8 (m16n8k32) on sm_89+. */
        MMA,
        /** Hopper warpgroup MMA (gemm_wgmma.cu, built for sm_90a), compute capability 9.0 only. */
        WGMMA,
        /**
         * The TMA-fed, warp-specialised warpgroup-MMA kernel (gemm_tma.cu, sm_90a) where
         * OwnTensorCoreGemm#tmaRoute takes the shape and the tensor maps encode, else WGMMA.
         */
        TMA
    }

    /** {@code reg4rec.gemm.fp8} = {@code auto} (default: TMA on 9.0, else MMA) | {@code mma} | {@code wgmma} | {@code tma}; read on every call. */
    public static final String FP8_PROPERTY = "reg4rec.gemm.fp8";
    /** {@code reg4rec.gemm.bf16} = {@code auto} (default: TMA on 9.0, else MMA) | {@code mma} | {@code wgmma} | {@code tma}; read on every call. */
    public static final String BF16_PROPERTY = "reg4rec.gemm.bf16";
    /** Host-side alpha = 1 and beta = 0 for every GEMM (read by cuBLAS during the call; never written). */
    private static final Pointer ALPHA_ONE = Pointer.to(new float[]{1f}), BETA_ZERO = Pointer.to(new float[]{0f});
    static final long WORKSPACE_BYTES_SM90 = 32L << 20, WORKSPACE_BYTES_OTHER = 4L << 20;

    private static final Object LIBRARY_LOCK = new Object();
    private static Boolean libraryLoaded;
    private static String libraryProblem;

    private final CudaBackend backend;
    private final OwnTensorCoreGemm tensorCores;
    private cublasHandle handle;
    private String handleProblem;
    private int cublasVersion;
    /** The handle's workspace (null when none could be set: cuBLAS then uses its default pool). */
    private CUdeviceptr workspace;
    private long workspaceBytes;

    CudaGemm(CudaBackend backend) {
        this.backend = backend;
        this.tensorCores = new OwnTensorCoreGemm(backend);
    }

    /** The implementation a matmul would use now (initialising cuBLAS if needed). */
    public Impl implementation() {
        String setting = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        switch (setting) {
            case "own":
                return Impl.OWN;
            case "own-simt":
                return Impl.OWN_SIMT;
            case "cublas":
                if (!cublasReady()) {
                    throw new IllegalStateException("-D" + PROPERTY + "=cublas was requested but JCublas is unavailable on "
                            + backend.device() + ": " + cublasProblem());
                }
                return Impl.CUBLAS;
            case "auto":
            case "":
                return cublasReady() ? Impl.CUBLAS : Impl.OWN;
            default:
                throw new IllegalArgumentException("-D" + PROPERTY + "=" + setting + ": expected cublas, own, own-simt or auto");
        }
    }

    /** Whether JCublas loaded and a handle exists for this device. */
    public synchronized boolean cublasReady() {
        if (!loadLibrary()) return false;
        if (handle == null && handleProblem == null) createHandle();
        return handle != null;
    }

    /** Why cuBLAS is not used, or null when it is ready. */
    public synchronized String cublasProblem() {
        if (!loadLibrary()) return libraryProblem;
        return handleProblem;
    }

    /** cuBLAS's version number (e.g. 130001), or 0 when unavailable. */
    public synchronized int cublasVersion() {
        return cublasReady() ? cublasVersion : 0;
    }

    private static boolean loadLibrary() {
        synchronized (LIBRARY_LOCK) {
            if (libraryLoaded == null) {
                try {
                    JCublas2.setExceptionsEnabled(true);
                    JCublas2.initialize();
                    libraryLoaded = true;
                } catch (Throwable t) {
                    libraryLoaded = false;
                    libraryProblem = NativeErrors.summarize(t);
                    System.err.println("[reg4rec] JCublas is unavailable (" + libraryProblem
                            + "); CUDA matmul uses the engine's own GEMM kernel");
                }
            }
            return libraryLoaded;
        }
    }

    private void createHandle() {
        backend.makeCurrent();
        cublasHandle h = new cublasHandle();
        try {
            JCublas2.cublasCreate(h);
            JCublas2.cublasSetStream(h, new cudaStream_t(backend.stream()));
            // After cublasSetStream, which resets the handle to the default workspace pool.
            setWorkspace(h);
            // Default math: fp32 GEMMs stay in fp32 (no TF32), as the CPU reference computes them.
            JCublas2.cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
            int[] version = new int[1];
            JCublas2.cublasGetVersion(h, version);
            cublasVersion = version[0];
            handle = h;
        } catch (Throwable t) {
            handleProblem = "creating a cuBLAS handle on " + backend.device() + " failed: " + NativeErrors.summarize(t);
            System.err.println("[reg4rec] JCublas is unavailable (" + handleProblem + "); CUDA matmul uses the engine's own GEMM kernel");
        }
    }

    private void setWorkspace(cublasHandle h) {
        long bytes = backend.computeCapability() >= 90 ? WORKSPACE_BYTES_SM90 : WORKSPACE_BYTES_OTHER;
        CUdeviceptr p = new CUdeviceptr();
        try {
            CudaBackend.check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc");
        } catch (RuntimeException e) {
            System.err.println("[reg4rec] no cuBLAS workspace of " + bytes + " B on " + backend.device() + " (" + NativeErrors.summarize(e)
                    + "); cuBLAS uses its default pool");
            return;
        }
        try {
            JCublas2.cublasSetWorkspace(h, p, bytes);
            workspace = p;
            workspaceBytes = bytes;
        } catch (RuntimeException | LinkageError e) {
            JCudaDriver.cuMemFree(p);
            System.err.println("[reg4rec] cublasSetWorkspace failed on " + backend.device() + " (" + NativeErrors.summarize(e)
                    + "); cuBLAS uses its default pool");
        }
    }

    /** Bytes of the workspace given to the cuBLAS handle (0 when none is set or cuBLAS is unavailable). */
    public synchronized long cublasWorkspaceBytes() {
        return cublasReady() ? workspaceBytes : 0;
    }

    /** See {@link io.reg4rec.engine.Backend#matmul}. */
    void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor out) {
        DType in = a.dtype();
        DType outType = out.dtype();
        if (in != b.dtype() || (in != DType.F32 && in != DType.BF16) || (outType != in && outType != DType.F32)) {
            throw new IllegalArgumentException("matmul on CUDA: inputs must both be F32 or both BF16 with output F32 or the inputs' dtype, got "
                    + a.describe() + " x " + b.describe() + " -> " + out.describe());
        }
        int[] as = a.shape(), bs = b.shape(), os = out.shape();
        int batch = os[0], m = os[1], n = os[2];
        int k = transposeA ? as[1] : as[2];
        if (a.stride(2) != 1 || b.stride(2) != 1 || !out.isContiguous()) {
            throw new IllegalArgumentException("matmul on CUDA: operands need unit stride in their last dimension and a contiguous output, got strides "
                    + java.util.Arrays.toString(a.strides()) + ", " + java.util.Arrays.toString(b.strides()));
        }
        if (batch == 0 || m == 0 || n == 0) return;
        if (k == 0) {
            backend.fill(out, 0.0);
            return;
        }
        long lda = Math.max(a.stride(1), 1), ldb = Math.max(b.stride(1), 1);
        long strideA = as[0] == 1 ? 0 : a.stride(0), strideB = bs[0] == 1 ? 0 : b.stride(0);
        Impl impl = implementation();
        // cuBLAS takes int leading dimensions and needs ld >= the stored row length.
        boolean cublasFits = lda <= Integer.MAX_VALUE && ldb <= Integer.MAX_VALUE
                && lda >= (transposeA ? m : k) && ldb >= (transposeB ? k : n);
        backend.makeCurrent();
        if (impl == Impl.CUBLAS && cublasFits) {
            cublas(a, transposeA, b, transposeB, out, batch, m, n, k, (int) lda, (int) ldb, strideA, strideB);
        } else if (impl != Impl.OWN_SIMT && a.dtype() == DType.BF16 && backend.computeCapability() >= 80) {
            tensorCores.bf16(GemmArguments.check("matmul", a, transposeA, b, transposeB, out), a, transposeA, b, transposeB,
                    null, false, null, out, bf16Kernel());
        } else {
            own(a, transposeA, b, transposeB, out, batch, m, n, k, lda, ldb, strideA, strideB);
        }
    }

    /**
     * See {@link io.reg4rec.engine.Backend#matmulScaled}: always the own fp8 kernel (JCublas has
     * no cuBLASLt binding, the only cuBLAS route to fp8), which needs compute capability 8.9+.
     */
    void matmulScaled(Tensor a, boolean ta, Tensor b, boolean tb, Tensor aScale, Tensor bScale, Tensor out) {
        GemmArguments g = GemmArguments.checkScaled(a, ta, b, tb, aScale, bScale, out);
        if (backend.computeCapability() < 89) {
            throw new UnsupportedOperationException("matmulScaled: fp8 tensor-core GEMM needs compute capability 8.9 or newer (mma.sync with e4m3/e5m2), "
                    + backend.device() + " (" + backend.deviceName() + ") has " + backend.computeCapability() / 10 + "." + backend.computeCapability() % 10);
        }
        TensorCoreKernel kernel = fp8Kernel();
        backend.makeCurrent();
        tensorCores.fp8(g, a, ta, b, tb, aScale, bScale, out, kernel);
    }

    /**
     * The kernel fp8 GEMMs use now: the TMA-fed wgmma kernel where it exists (sm_90a code runs on
     * compute capability 9.0 only; it hands shapes it does not take to the cp.async wgmma kernel),
     * else mma.sync, unless {@link #FP8_PROPERTY} says otherwise.
     */
    public TensorCoreKernel fp8Kernel() {
        return tensorCoreKernel(FP8_PROPERTY);
    }

    /**
     * The own kernel bf16 GEMMs use now (matmul with {@link Impl#OWN}, and matmulEpilogue): the
     * TMA-fed wgmma kernel on compute capability 9.0 (falling back to the cp.async one per shape),
     * else mma.sync, unless {@link #BF16_PROPERTY} says otherwise.
     */
    public TensorCoreKernel bf16Kernel() {
        return tensorCoreKernel(BF16_PROPERTY);
    }

    private TensorCoreKernel tensorCoreKernel(String property) {
        boolean hopper = backend.computeCapability() == 90;
        String setting = System.getProperty(property, "auto").trim().toLowerCase(Locale.ROOT);
        switch (setting) {
            case "mma":
                return TensorCoreKernel.MMA;
            case "wgmma":
            case "tma":
                if (!hopper) {
                    throw new IllegalStateException("-D" + property + "=" + setting + " needs compute capability 9.0 (sm_90a code), "
                            + backend.device() + " has " + backend.computeCapability() / 10 + "." + backend.computeCapability() % 10);
                }
                return setting.equals("tma") ? TensorCoreKernel.TMA : TensorCoreKernel.WGMMA;
            case "auto":
            case "":
                return hopper ? TensorCoreKernel.TMA : TensorCoreKernel.MMA;
            default:
                throw new IllegalArgumentException("-D" + property + "=" + setting + ": expected auto, mma, wgmma or tma");
        }
    }

    /**
     * Whether {@link #FP8_PROPERTY} (fp8) or {@link #BF16_PROPERTY} says {@code tma}: then the TMA
     * kernel runs on every shape whose plan has no k split, small ones included (tests, benchmarks).
     */
    static boolean tmaForced(boolean fp8) {
        return System.getProperty(fp8 ? FP8_PROPERTY : BF16_PROPERTY, "auto").trim().equalsIgnoreCase("tma");
    }

    /**
     * See {@link io.reg4rec.engine.Backend#matmulEpilogue}: always an own bf16 tensor-core kernel
     * ({@link #bf16Kernel()}), the ones that can fuse the epilogue (cuBLAS through JCublas2
     * cannot); needs sm_80+.
     */
    void matmulEpilogue(Tensor a, boolean ta, Tensor b, boolean tb, Tensor bias, boolean gelu, Tensor residual, Tensor out) {
        GemmArguments g = GemmArguments.checkEpilogue(a, ta, b, tb, bias, residual, out);
        if (backend.computeCapability() < 80) {
            throw new UnsupportedOperationException("matmulEpilogue: the bf16 tensor-core GEMM needs compute capability 8.0 or newer, "
                    + backend.device() + " (" + backend.deviceName() + ") has " + backend.computeCapability() / 10 + "." + backend.computeCapability() % 10);
        }
        backend.makeCurrent();
        tensorCores.bf16(g, a, ta, b, tb, bias, gelu, residual, out, bf16Kernel());
    }

    private void cublas(Tensor a, boolean ta, Tensor b, boolean tb, Tensor out, int batch, int m, int n, int k,
                        int lda, int ldb, long strideA, long strideB) {
        Pointer alpha = ALPHA_ONE, beta = BETA_ZERO;
        // Column-major C^T (n x m, ld n) = op(B)^T (n x k) * op(A)^T (k x m).
        int opFirst = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        int opSecond = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
        long strideC = (long) m * n;
        try {
            synchronized (this) {
                if (a.dtype() == DType.F32) {
                    JCublas2.cublasSgemmStridedBatched(handle, opFirst, opSecond, n, m, k, alpha,
                            backend.pointer(b), ldb, strideB, backend.pointer(a), lda, strideA, beta,
                            backend.pointer(out), n, strideC, batch);
                } else {
                    int outType = out.dtype() == DType.BF16 ? CUDA_R_16BF : CUDA_R_32F;
                    JCublas2.cublasGemmStridedBatchedEx_new(handle, opFirst, opSecond, n, m, k, alpha,
                            backend.pointer(b), CUDA_R_16BF, ldb, strideB, backend.pointer(a), CUDA_R_16BF, lda, strideA, beta,
                            backend.pointer(out), outType, n, strideC, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
                }
            }
        } catch (RuntimeException e) {
            throw new IllegalStateException("cuBLAS matmul " + a.describe() + (ta ? "^T" : "") + " x " + b.describe() + (tb ? "^T" : "")
                    + " -> " + out.describe() + " on " + backend.device() + " failed: " + e.getMessage(), e);
        }
    }

    private void own(Tensor a, boolean ta, Tensor b, boolean tb, Tensor out, int batch, int m, int n, int k,
                     long lda, long ldb, long strideA, long strideB) {
        String name = a.dtype() == DType.F32 ? "gemm_f32_f32" : "gemm_bf16_" + (out.dtype() == DType.BF16 ? "bf16" : "f32");
        long tiles = (long) batch * ((m + 127) / 128) * ((n + 127) / 128);
        backend.kernel("gemm", name)
                .ptr(backend.pointer(a)).ptr(backend.pointer(b)).ptr(backend.pointer(out))
                .i32(m).i32(n).i32(k).i64(lda).i64(ldb).i32(ta ? 1 : 0).i32(tb ? 1 : 0)
                .i64(strideA).i64(strideB).i64(batch)
                .launch(backend.stream(), Math.min(tiles, 1L << 24), 256);
    }
}

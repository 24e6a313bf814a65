package io.reg4rec.engine;

/**
 * The primitive operations a device must implement; everything else is composed above them.
 *
 * <p>Callers ({@link Tensor}) validate shapes and dtypes and allocate outputs before calling in,
 * so implementations may assume well-formed arguments. Unless a method says otherwise, input
 * tensors may be strided views (any strides, including 0 for broadcast dimensions) and output
 * tensors are contiguous and on this backend's device.
 */
public interface Backend {
    Device device();

    /** Allocates uninitialised storage for {@code numel} elements. */
    Storage allocate(DType dtype, long numel);

    /** Copies a host array (of {@link DType#hostArrayType()}) into storage starting at element 0. */
    void copyFromHost(Object hostArray, Storage dst);

    /** Copies {@code src} (any strides) into a new host array in row-major order. */
    Object copyToHost(Tensor src);

    /**
     * dst = src converted to dst's dtype: floats round to nearest even, fp8 saturates to the
     * format's largest finite value, NaN stays NaN; float to int truncates toward zero.
     */
    void cast(Tensor src, Tensor dst);

    void unary(UnaryOp op, Tensor x, Tensor out);

    /** a and b are already broadcast (stride-0 views) to out's shape; all three share a dtype. */
    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out);

    /** out = op(a, scalar) elementwise, or op(scalar, a) when {@code scalarFirst}. */
    void binaryScalar(BinaryOp op, Tensor a, double scalar, boolean scalarFirst, Tensor out);

    /**
     * Reduces contiguous {@code x} along {@code axis}; out has x's shape with that axis of size 1.
     * Float sums accumulate in fp32 or wider.
     */
    void reduce(ReduceOp op, Tensor x, int axis, Tensor out);

    /**
     * Batched GEMM over rank-3 operands [batch, rows, cols]: out[b] = op(a[b]) x op(b[b]) with op
     * the transpose when asked. Each operand's last dimension is contiguous (stride 1); batch
     * stride may be 0 for a broadcast operand. out is contiguous with dtype F32 or the inputs'.
     * Inputs F32 or BF16 (same dtype), accumulation in fp32; F64 on the CPU, in fp64.
     */
    void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor out);

    /** out[..i..] = x[..index[..i..]..] along axis (index has out's shape; I64 or I32). */
    void gather(Tensor x, int axis, Tensor index, Tensor out);

    /** dst[..index[..i..]..] += src[..i..] along axis, in place on contiguous dst. */
    void scatterAdd(Tensor dst, int axis, Tensor index, Tensor src);

    /** Softmax (or log-softmax) of contiguous x along axis, computed in fp32. */
    void softmax(Tensor x, int axis, boolean log, Tensor out);

    void fill(Tensor out, double value);

    /** Fills element i from {@link CounterRng} with (seed, i); parameters per {@link Distribution}. */
    void random(Tensor out, Distribution distribution, long seed, double a, double b);

    /**
     * One fused AdamW update (formula and fp32 rounding in {@link AdamWHyper}): param, m and v
     * are updated in place from grad. All four are contiguous F32 tensors of one shape on this
     * device, and at least one element ({@link AdamWHyper#apply} checks).
     */
    void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWHyper hyper);

    /** Waits until queued work is done. */
    void synchronize();

    /** Allocator statistics for this device. */
    MemoryStats memoryStats();

    // ---- own GEMM

    /**
     * fp8 GEMM with per-tensor scales: out[b] = aScale * bScale * op(a[b]) op(b[b]), products and
     * sums in fp32 or wider, one rounding to out's dtype (BF16 or F32). a and b are F8E4M3 or
     * F8E5M2 (at most one E5M2: the gradient operand), the stored matrices [batch or 1, rows,
     * cols] with any strides, op the transpose when asked; aScale and bScale are one-element F32
     * tensors on this device. Rules and messages: {@link GemmArguments#checkScaled}. On CUDA this
     * needs compute capability 8.9+; layouts other than A [m, k] and B stored [n, k] (both
     * K-major) are repacked first.
     */
    void matmulScaled(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor aScale, Tensor bScale, Tensor out);

    /**
     * BF16 GEMM with a fused epilogue, in fp32 with one rounding to out's dtype (BF16 or F32):
     * v = op(a[b]) op(b[b]); v += bias[j] when bias (an [n] F32 or BF16 tensor) is given; v =
     * gelu(v) (tanh approximation, {@link UnaryOp#GELU}) when asked; v += residual[b, i, j] when
     * residual ([batch or 1, m, n], F32 or BF16) is given. Operands as in
     * {@link #matmulScaled}; residual may be out itself (each element is read before it is
     * written). Rules and messages: {@link GemmArguments#checkEpilogue}.
     */
    void matmulEpilogue(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor bias, boolean gelu, Tensor residual, Tensor out);
}

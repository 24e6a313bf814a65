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

    // ---- fused layer norm and cross-entropy

    /**
     * Layer normalisation of each row of contiguous x [rows, cols]:
     * out = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps) with the biased variance.
     * gamma and beta are contiguous [cols] of x's dtype, or null (1 and 0). mean and rstd [rows]
     * receive the row statistics for the backward pass: F32 (F64 when x is F64). x and out are
     * F32 or BF16 (math in fp32), or F64 on the CPU (math in fp64). Checked by
     * {@link FusedOps#checkLayerNorm}.
     */
    void layerNormForward(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor out, Tensor mean, Tensor rstd);

    /**
     * Gradients of {@link #layerNormForward} from gradOut [rows, cols] (x's dtype) and the saved
     * mean and rstd: gradX [rows, cols] always; gradGamma and gradBeta [cols] (x's dtype) when
     * not null (gradGamma only with gamma; gamma null means 1). The column sums over rows are reduced in a fixed order (no float atomics),
     * so repeated runs give identical bits.
     */
    void layerNormBackward(Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor gradOut,
                           Tensor gradX, Tensor gradGamma, Tensor gradBeta);

    /**
     * Per-row softmax cross-entropy of contiguous logits [rows, classes] (F32 or BF16, math in
     * fp32; F64 on the CPU) against targets [rows] (I32 or I64, contiguous):
     * losses[r] = (1 - s) * (lse - x[r, t]) + s * (lse - mean_j x[r, j]) with s the label
     * smoothing and lse = log sum_j exp(x[r, j]) (PyTorch's label smoothing); 0 where the
     * target equals ignoreIndex. losses and logSumExp [rows] are F32 (F64 for F64 logits);
     * logSumExp is saved for the backward pass. Probabilities are never materialised. A target
     * outside [0, classes) that is not ignoreIndex is an IndexOutOfBoundsException (on CUDA at
     * the next synchronisation). Checked by {@link FusedOps#checkCrossEntropy}.
     */
    void crossEntropyForward(Tensor logits, Tensor targets, long ignoreIndex, double labelSmoothing,
                             Tensor losses, Tensor logSumExp);

    /**
     * gradLogits[r, j] = gradLosses[r] * (exp(x[r, j] - lse[r]) - (1 - s) [j == t] - s / classes),
     * zero on ignored rows; gradLogits has the logits' dtype and shape, gradLosses [rows] the
     * dtype of the losses.
     */
    void crossEntropyBackward(Tensor logits, Tensor targets, Tensor logSumExp, Tensor gradLosses,
                              long ignoreIndex, double labelSmoothing, Tensor gradLogits);

    // ---- attention

    /**
     * Fused scaled dot-product attention, forward: out = softmax(scale q k^T + mask) v per (batch,
     * head), with logSumExp[b, h, i] = log sum_j exp(scale q_i . k_j) over the keys query i may
     * see (saved for {@link #attentionBackward}). Shapes and rules are in {@link Attention}: q [B,
     * H, Tq, hd], k and v [B, H, Tk, hd] (strided views allowed when the last dimension is
     * contiguous, e.g. slices of a key/value cache), keyPadding null or [B, Tk] (nonzero = masked),
     * causal masking bottom-right aligned (key j hidden from query i when j > i + Tk - Tq). A query
     * that sees no key gets out = 0 and logSumExp = -inf. out and logSumExp are contiguous.
     */
    void attentionForward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor logSumExp);

    /**
     * Gradients of {@link #attentionForward} given gradOut (like out; last dimension contiguous):
     * gradQ like q, gradK and gradV like k, all contiguous and overwritten. Fully masked query rows
     * and keys no query sees get zero gradients.
     */
    void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor gradOut,
                           Tensor logSumExp, Tensor gradQ, Tensor gradK, Tensor gradV);

    // ---- quantization, divergence, scaled casts
    // Every tensor passed to these methods is contiguous and on this backend's device; the
    // implementations check shapes and dtypes themselves ({@link QuantChecks}) since no Tensor
    // method fronts them.

    /**
     * MPQ token lookup (SPEC 1, Eq. 1): for item n and codebook m, indices[n, m] = argmin_j
     * ||z[n, m] - codebooks[m, j]||^2 (ties: the lowest j) and distances[n, m] that squared distance.
     * z [N, M, dc] and codebooks [M, D, dc] share a dtype (F32; F64 on the CPU); indices [N, M]
     * I32; distances [N, M] of z's dtype. The CPU computes in fp64; CUDA picks the argmin from the
     * expanded form ||c||^2 - 2 z.c in fp32 (near-ties may pick another j) and reports the direct
     * sum of squared differences of the chosen codeword.
     */
    void nearestCodeword(Tensor z, Tensor codebooks, Tensor indices, Tensor distances);

    /**
     * out[n] = sum_m gates[n, m] * codebooks[m, indices[n, m]]: codebooks [M, D, dc], indices
     * [N, M] I32 in [0, D), gates [N, M] and out [N, dc] of the codebooks' dtype (F32; F64 on the CPU).
     */
    void codewordSum(Tensor codebooks, Tensor indices, Tensor gates, Tensor out);

    /**
     * Backward of {@link #codewordSum}: gradCodebooks [M, D, dc] += scatter of gates[n, m] *
     * gradOut[n] into row indices[n, m] of codebook m (accumulated into, not overwritten);
     * gradGates [N, M] = gradOut[n] . codebooks[m, indices[n, m]] (overwritten). The CPU is
     * deterministic; CUDA scatters with atomic adds (summation order varies between runs).
     */
    void codewordSumBackward(Tensor codebooks, Tensor indices, Tensor gates, Tensor gradOut, Tensor gradCodebooks, Tensor gradGates);

    /**
     * counts[p, n] = number of codebooks m with paths[p, m] == items[n, m] (relaxed retrieval:
     * keep items with count >= M - d). paths [P, M], items [N, M], counts [P, N], all I32, M <= 16.
     */
    void relaxedMatchCount(Tensor paths, Tensor items, Tensor counts);

    /**
     * Jensen-Shannon divergence of each row, natural log: out[r] = 0.5 KL(p_r || m_r) + 0.5
     * KL(q_r || m_r), m = (p + q) / 2, with 0 log 0 = 0 (zeros in p or q are fine). p, q [R, C]
     * and out [R] share a dtype (F32; F64 on the CPU). Entries are taken as given (no
     * renormalisation); they must be non-negative.
     */
    void jsDivergence(Tensor p, Tensor q, Tensor out);

    /**
     * out[r] = KL(p_r || q_r) = sum_c p log(p / q), natural log, 0 log(0 / q) = 0; a row with
     * some q = 0 < p gives +infinity. Shapes and dtypes as {@link #jsDivergence}.
     */
    void klDivergence(Tensor p, Tensor q, Tensor out);

    /**
     * Backward of {@link #jsDivergence}: gradP = 0.5 gradOut[r] log(2p / (p + q)), gradQ likewise
     * with q. Where an entry is 0 its partial derivative diverges (to -infinity); this method
     * returns 0 there (the entry is outside the support, as in 0 log 0 = 0), so gradients stay finite.
     */
    void jsDivergenceBackward(Tensor p, Tensor q, Tensor gradOut, Tensor gradP, Tensor gradQ);

    /**
     * out[0] = max |x| over all elements (0 for an empty x); x any floating dtype (not F64 on
     * CUDA), out [1] F32. NaN propagates: any NaN in x makes out NaN.
     */
    void amax(Tensor x, Tensor out);

    /**
     * Scaled cast for fp8 training, scale a [1] F32 tensor on this device (read there, no host
     * sync). F32 -> F8E4M3 / F8E5M2 / BF16: dst = saturate(round(src * scale)), the product
     * rounded to fp32 first, then round to nearest even into dst, finite overflow and +-infinity
     * saturating to the format's largest finite value (bf16 too), NaN staying NaN.
     * F8E4M3 / F8E5M2 / BF16 -> F32: dst = float(src) * scale (one fp32 rounding).
     */
    void castScaled(Tensor src, Tensor dst, Tensor scale);

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

    // ---- train-step fusions

    /**
     * Inverted dropout in one pass, optionally of x plus a bias and added to a residual:
     * out[i] = residual[i] + (x[i] + bias[i mod cols]) * f (residual and bias 0 when null; the
     * biased value rounded to fp32 first for F32 / BF16) with f = scale where {@link CounterRng#uniform}(seed, i) >= p
     * (compared exactly, in double), else f = 0 (x * 0 keeps -0 and NaN); i is the row-major element index and scale =
     * 1 / (1 - p), rounded to fp32 for F32 and BF16 (the product in fp32, then rounded to out's
     * dtype) and kept in double for F64. The mask is the one a {@link Distribution#UNIFORM} fill
     * with this seed gives, so the backward pass is this same op on the output gradient. The sum
     * with the residual is one more rounding (fp32 for F32 / BF16, then the dtype's store).
     * x, residual (or null) and out are contiguous, of one floating dtype and shape, bias (or
     * null) contiguous [cols] of that dtype, cols = x's last dimension; checked by {@link FusedDropout}.
     */
    void dropout(Tensor x, Tensor bias, Tensor residual, long seed, double p, Tensor out);

    /**
     * Backward of softmax (log false) or log-softmax (log true) along the last axis: from the
     * forward's output y and the output gradient g, out = y * (g - sum_j g_j y_j) for softmax and
     * out = g - exp(y) * sum_j g_j for log-softmax, per row. y, g and out are contiguous, of one
     * floating shape (rank >= 1) and dtype; F32 / BF16 compute in fp32, F64 (CPU) in double.
     * Checked by {@link FusedSoftmax}.
     */
    void softmaxBackward(Tensor y, Tensor g, boolean log, Tensor out);

    /**
     * AdamW over many parameters in one op, each updated as {@link #adamwStep} would: params[s]
     * and grads[s] are contiguous F32 tensors of one numel n_s on this device (anywhere in
     * memory, not overlapping), their moments the elements [o_s, o_s + n_s) of the flat
     * contiguous F32 m and v with o_s = n_0 + ... + n_{s-1}; the n_s sum to m's numel (> 0).
     * Checked by {@link FusedAdamW}.
     */
    void adamwStepSegments(Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper);

    /**
     * out = gelu(x + bias[j]) (tanh approximation, {@link UnaryOp#GELU}) over contiguous x
     * [..., cols] with bias contiguous [cols] or null; the sum rounded to fp32 first (F32 / BF16;
     * double for F64), the result once to the dtype. Checked by {@link FusedBiasGelu}.
     */
    void biasGelu(Tensor x, Tensor bias, Tensor out);

    /**
     * out = gradOut * gelu'(x + bias[j]) ({@link UnaryOp#GELU_GRAD} of the rounded sum, as fp32,
     * times gradOut in fp32; double for F64); operands as {@link #biasGelu}, gradOut like x.
     */
    void biasGeluBackward(Tensor x, Tensor bias, Tensor gradOut, Tensor out);

    // ---- top-k

    /**
     * Per row of contiguous x [rows, n] (F32 or BF16; F64 on the CPU): the k largest values in
     * descending order into values [rows, k] (x's dtype, the elements' own bits) and their column
     * positions into indices [rows, k] (I32). Order: NaN above +infinity, -0.0 equal to +0.0,
     * -infinity an ordinary value; equal values (all NaNs are equal) in ascending index order, so
     * the result is deterministic. 1 <= k <= min(n, {@link TopKChecks#MAX_K}); rows may be 0.
     * Checked by {@link TopKChecks#check}.
     */
    void topk(Tensor x, int k, Tensor values, Tensor indices);

    // ---- gradient norm

    /**
     * out[0] = sum over all xs of x^2: xs contiguous F32 tensors of any sizes (empty ones
     * allowed, any number of them) on this device, out a [1] F32 tensor here (its old value is
     * ignored). Deterministic: the summation order depends only on the sizes (fp32 partials in a
     * fixed order on CUDA, one launch; double then one rounding on the CPU). Checked by {@link GradNorm}.
     */
    void sumOfSquaresSegments(Tensor[] xs, Tensor out);

    /**
     * {@link #adamwStepSegments} with every gradient element first multiplied by
     * c = min(1, maxNorm / (sqrt(sumOfSquares[0]) + 1e-6)), computed here in fp32 from the [1] F32
     * device scalar sumOfSquares (no host read): clip_grad_norm_ then the step. The gradients in
     * memory are left unchanged. Checked by {@link FusedAdamW#applyClipped}.
     */
    void adamwStepSegmentsClipped(Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper, Tensor sumOfSquares, double maxNorm);
}

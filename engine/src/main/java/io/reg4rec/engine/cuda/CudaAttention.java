package io.reg4rec.engine.cuda;

import io.reg4rec.engine.Attention;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;
import jcuda.driver.CUdeviceptr;

/**
 * Launches the fused attention kernels (attention.cu, attention_short.cu, attention_mma.cu; each
 * file's header describes its work split) for one {@link CudaBackend}. Every argument is checked
 * here, before any launch: dtype F32 or BF16, head dim one of {@link Attention#CUDA_HEAD_DIMS},
 * shapes and strides per {@link Attention}. A keyPadding mask that is not F32 is converted to a
 * temporary F32 copy (nonzero stays nonzero for every dtype the CUDA backend holds).
 *
 * <p>Kernel choice, forward, first match:
 * <ol>
 * <li>Tq <= {@link #DECODE_MAX_QUERIES}: attention.cu's decode kernel (keys over warps; over
 *     blocks too, with a combine pass, when B*H is small: {@link #decodeSplits});
 * <li>1 <= Tk <= {@link #SHORT_MAX_KEYS} and head dim 32 or 64 (the model's shapes):
 *     attention_short.cu (K and V of a (b, h) whole in shared memory, exact softmax);
 *     BF16 goes to rule 3 instead when {@link AttentionTuning} says {@code bf16Short=mma};
 * <li>BF16 with 16-byte aligned rows ({@link #mmaAligned}): attention_mma.cu's tensor-core forward;
 * <li>otherwise attention.cu's tiled SIMT forward, R query rows per block (R the next power of two
 *     of Tq, capped at 64; 32 for head dim 128).
 * </ol>
 * Backward: the short kernel (dQ, dK, dV in one block per (b, h)) under rule 2 with Tq <=
 * {@link #SHORT_BACKWARD_MAX_QUERIES}; then BF16, head dim 32 or 64, aligned rows of q, k, v, out
 * and gradOut: attention_mma.cu's tensor-core pair; otherwise attention.cu's SIMT pair (dQ and D,
 * then dK / dV).
 */
final class CudaAttention {
    static final int DECODE_MAX_QUERIES = 4;
    private static final int DECODE_THREADS = 256;
    /** A decode split streams at least this many keys (8 warps, 16 keys each), so the combine pass stays cheap. */
    static final int DECODE_MIN_KEYS_PER_SPLIT = 128;
    static final int SHORT_MAX_KEYS = 64;
    /** attention_mma.cu: query rows and threads per block. */
    private static final int MMA_ROWS = 64, MMA_THREADS = 128;
    /** The short backward runs one block per (b, h) over every query: beyond this the tiled pair has more parallelism. */
    static final int SHORT_BACKWARD_MAX_QUERIES = 512;
    /** The most dynamic shared memory a short kernel asks for (head dim 64, 64 keys): above the default 48 KiB. */
    private static final int SHORT_MAX_SHARED_BYTES = shortBackwardSharedBytes(64, 32, SHORT_MAX_KEYS, 16);

    private final java.util.Set<String> sharedMemoryRaised = new java.util.HashSet<>();

    private final CudaBackend cuda;

    CudaAttention(CudaBackend cuda) {
        this.cuda = cuda;
    }

    /**
     * Key splits of the decode kernel: enough blocks for about 4 per multiprocessor when B*H alone
     * gives fewer, each split at least {@link #DECODE_MIN_KEYS_PER_SPLIT} keys; 1 means no split.
     */
    static int decodeSplits(long bh, int tk, int multiprocessors) {
        long wanted = (4L * multiprocessors + bh - 1) / bh;
        long byKeys = tk / DECODE_MIN_KEYS_PER_SPLIT;
        return (int) Math.max(1, Math.min(wanted, Math.min(byKeys, 64)));
    }

    /** Validates the CUDA-specific limits; returns the kernel name suffix "dt_hd". */
    private static String variant(String op, Tensor q) {
        DType t = q.dtype();
        if (t != DType.F32 && t != DType.BF16) {
            throw new IllegalArgumentException(op + " on CUDA: q, k, v must be F32 or BF16, got " + q.describe()
                    + (t == DType.F64 ? " (F64 exists for the CPU reference and gradient checks)" : ""));
        }
        int hd = q.size(3);
        boolean supported = false;
        for (int d : Attention.CUDA_HEAD_DIMS) supported |= d == hd;
        if (!supported) {
            throw new IllegalArgumentException(op + " on CUDA: head dim " + hd + " of q " + q.describe()
                    + " is not supported; the kernels are compiled for head dims " + java.util.Arrays.toString(Attention.CUDA_HEAD_DIMS));
        }
        return (t == DType.F32 ? "f32" : "bf16") + "_" + hd;
    }

    /** Lanes per row (head dim / 16) and rows per block for a tiled kernel over {@code len} rows. */
    private static int rowsPerBlock(int hd, int len) {
        int lanes = hd / 16;
        int cap = hd == 128 ? 32 : 64;
        int rows = Integer.highestOneBit(Math.max(1, len - 1)) << 1;
        if (len <= 1) rows = 1;
        rows = Math.min(rows, cap);
        return Math.max(rows, 32 / lanes);  // whole warps: a row group never straddles a partial warp
    }

    private static boolean shortKeys(int hd, int tk) {
        return (hd == 32 || hd == 64) && tk >= 1 && tk <= SHORT_MAX_KEYS;
    }

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    /** Thread groups (8 threads each) of the short forward: a multiple of 4, at most 16; a block covers 4 per group query rows. */
    static int shortForwardGroups(int tq) {
        return shortForwardGroups(tq, AttentionTuning.ShortGroups.ROUND4);
    }

    /** Thread groups of the short forward under the given {@link AttentionTuning.ShortGroups} rule (1 to 16). */
    static int shortForwardGroups(int tq, AttentionTuning.ShortGroups rule) {
        int rows = Math.min(tq, 64);
        return switch (rule) {
            case ROUND4 -> roundUp((rows + 3) / 4, 4);
            case EXACT -> Math.max(1, (rows + 3) / 4);
            case HALF -> Math.max(1, ((rows + 1) / 2 + 3) / 4);
        };
    }

    /** Thread groups of the short backward: 4 keys per group (all Tk keys), 2 query rows per group per chunk. */
    static int shortBackwardGroups(int tq, int tk) {
        return roundUp(Math.max((tk + 3) / 4, (Math.min(tq, 32) + 1) / 2), 4);
    }

    /** attention_short.cu's forward layout: max(Q + K, P) then V and the key mask, rows padded to HD + 4 and TKP + 4 floats. */
    static int shortForwardSharedBytes(int hd, int tk, int groups) {
        int tkp = roundUp(tk, 8), ldh = hd + 4, rows = 4 * groups;
        return Float.BYTES * (Math.max((rows + tkp) * ldh, rows * (tkp + 4)) + tkp * ldh + tkp);
    }

    /** attention_short.cu's backward layout: K, V, Q, dO, P, dS and the key mask; chunks of 2 groups' rows, 1 when Tq fits. */
    static int shortBackwardSharedBytes(int hd, int tq, int tk, int groups) {
        int tkp = roundUp(tk, 8), ldh = hd + 4, rows = groups * Math.min(2, (tq + groups - 1) / groups);
        return Float.BYTES * (2 * tkp * ldh + 2 * rows * ldh + 2 * rows * (tkp + 4) + tkp);
    }

    /** Kernels above 48 KiB of dynamic shared memory must opt in, once per function. */
    private void allowSharedMemory(String name, int bytes) {
        if (bytes <= 48 * 1024 || sharedMemoryRaised.contains(name)) return;
        CudaBackend.check(jcuda.driver.JCudaDriver.cuFuncSetAttribute(cuda.function("attention_short", name),
                        jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, SHORT_MAX_SHARED_BYTES),
                "cuFuncSetAttribute(" + name + ", MAX_DYNAMIC_SHARED_SIZE_BYTES, " + SHORT_MAX_SHARED_BYTES + ")");
        sharedMemoryRaised.add(name);
    }

    /**
     * Whether every row of the given BF16 operands starts 16-byte aligned (offset and the batch, head, time strides
     * multiples of 8 BF16 elements; device allocations are 256-byte aligned), as the tensor-core
     * forward's vector loads need.
     */
    static boolean mmaAligned(Tensor... ts) {
        return rowsAligned(8, ts);
    }

    /** Whether the short kernels may load rows of q, k, v as 16-byte vectors (4 F32 or 8 BF16 elements). */
    static boolean shortVectorLoads(Tensor q, Tensor k, Tensor v) {
        return rowsAligned(16 / q.dtype().byteSize(), q, k, v);
    }

    /** Offsets and batch, head, time strides (of dims longer than 1) all multiples of {@code elements}. */
    private static boolean rowsAligned(int elements, Tensor... ts) {
        for (Tensor t : ts) {
            if (t.offset() % elements != 0) return false;
            for (int d = 0; d < 3; d++) if (t.size(d) > 1 && t.stride(d) % elements != 0) return false;
        }
        return true;
    }

    /** The AttnArgs struct: sizes, then (batch, head, time) strides of q, k, v, out, gradOut, then the mask's. */
    private static long[] args(Tensor q, Tensor k, Tensor v, Tensor out, Tensor gradOut, Tensor pad) {
        long[] a = new long[21];
        a[0] = q.size(0);
        a[1] = q.size(1);
        a[2] = q.size(2);
        a[3] = k.size(2);
        Tensor[] ts = {q, k, v, out, gradOut};
        for (int t = 0; t < ts.length; t++) {
            if (ts[t] == null) continue;
            for (int d = 0; d < 3; d++) a[4 + 3 * t + d] = ts[t].stride(d);
        }
        if (pad != null) {
            a[19] = pad.stride(0);
            a[20] = pad.stride(1);
        }
        return a;
    }

    /** keyPadding as an F32 tensor (a view when it already is F32), or null. */
    private static Tensor floatMask(Tensor keyPadding) {
        if (keyPadding == null) return null;
        return keyPadding.dtype() == DType.F32 ? keyPadding.expand(keyPadding.shape()) : keyPadding.to(DType.F32);
    }

    private CUdeviceptr maskPointer(Tensor mask) {
        return mask == null ? new CUdeviceptr() : cuda.pointer(mask);
    }

    void forward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor logSumExp) {
        Attention.checkInputs("attentionForward", q, k, v, keyPadding, scale);
        Attention.checkForwardOutputs("attentionForward", q, out, logSumExp);
        String variant = variant("attentionForward", q);
        int batch = q.size(0), heads = q.size(1), tq = q.size(2), hd = q.size(3);
        long bh = (long) batch * heads;
        if (bh == 0 || tq == 0) return;
        try (Tensor mask = floatMask(keyPadding)) {
            long[] a = args(q, k, v, out, null, mask);
            int tk = k.size(2);
            int splits = decodeSplits(bh, tk, cuda.multiprocessorCount());
            if (tq <= DECODE_MAX_QUERIES && splits > 1) {
                long chunk = (tk + splits - 1) / splits;
                CachingAllocator.Block part = cuda.allocator().allocate(bh * splits * tq * (hd + 2L) * Float.BYTES);
                try {
                    cuda.kernel("attention", "attention_decode_split_" + variant)
                            .ptr(cuda.pointer(q)).ptr(cuda.pointer(k)).ptr(cuda.pointer(v)).ptr(maskPointer(mask)).ptr(part.pointer())
                            .struct(a).i32(causal ? 1 : 0).f32((float) scale).i64(splits).i64(chunk)
                            .launch(cuda.stream(), bh * splits, DECODE_THREADS);
                    cuda.kernel("attention", "attention_decode_combine_" + variant)
                            .ptr(part.pointer()).ptr(cuda.pointer(out)).ptr(cuda.pointer(logSumExp)).struct(a).i64(splits)
                            .launch(cuda.stream(), bh, DECODE_THREADS);
                } finally {
                    // later work on this stream runs after both kernels, so the block may be reused at once
                    cuda.allocator().release(part);
                }
                return;
            }
            if (tq <= DECODE_MAX_QUERIES) {
                cuda.kernel("attention", "attention_decode_" + variant)
                        .ptr(cuda.pointer(q)).ptr(cuda.pointer(k)).ptr(cuda.pointer(v)).ptr(maskPointer(mask))
                        .ptr(cuda.pointer(out)).ptr(cuda.pointer(logSumExp)).struct(a).i32(causal ? 1 : 0).f32((float) scale)
                        .launch(cuda.stream(), bh, DECODE_THREADS);
                return;
            }
            AttentionTuning.Setting tuning = AttentionTuning.current();
            boolean bf16ByMma = q.dtype() == DType.BF16 && tuning.bf16Short() == AttentionTuning.Bf16Short.MMA && mmaAligned(q, k, v);
            if (shortKeys(hd, k.size(2)) && !bf16ByMma) {
                int groups = shortForwardGroups(tq, tuning.shortGroups()), bytes = shortForwardSharedBytes(hd, k.size(2), groups);
                long chunks = (tq + 4L * groups - 1) / (4L * groups);
                String name = "attention_short_fwd_" + variant
                        + (tuning.shortFwdRegs() == AttentionTuning.ShortFwdRegs.CAPPED64 ? "_capped64" : "");
                allowSharedMemory(name, bytes);
                cuda.kernel("attention_short", name)
                        .ptr(cuda.pointer(q)).ptr(cuda.pointer(k)).ptr(cuda.pointer(v)).ptr(maskPointer(mask))
                        .ptr(cuda.pointer(out)).ptr(cuda.pointer(logSumExp)).struct(a).i32(causal ? 1 : 0).f32((float) scale).i32((shortVectorLoads(q, k, v) ? 1 : 0) | (rowsAligned(4, out) ? 2 : 0)).i64(chunks)
                        .launch(cuda.stream(), bh * chunks, 1, 8 * groups, 1, bytes);
                return;
            }
            if (q.dtype() == DType.BF16 && mmaAligned(q, k, v)) {
                long tiles = (tq + MMA_ROWS - 1) / MMA_ROWS;
                cuda.kernel("attention_mma", "attention_mma_fwd_" + variant)
                        .ptr(cuda.pointer(q)).ptr(cuda.pointer(k)).ptr(cuda.pointer(v)).ptr(maskPointer(mask))
                        .ptr(cuda.pointer(out)).ptr(cuda.pointer(logSumExp)).struct(a).i32(causal ? 1 : 0).f32((float) scale).i64(tiles)
                        .launch(cuda.stream(), bh * tiles, MMA_THREADS);
                return;
            }
            int rows = rowsPerBlock(hd, tq);
            long tiles = (tq + rows - 1) / rows;
            cuda.kernel("attention", "attention_fwd_" + variant)
                    .ptr(cuda.pointer(q)).ptr(cuda.pointer(k)).ptr(cuda.pointer(v)).ptr(maskPointer(mask))
                    .ptr(cuda.pointer(out)).ptr(cuda.pointer(logSumExp)).struct(a).i32(causal ? 1 : 0).f32((float) scale).i64(tiles)
                    .launch(cuda.stream(), bh * tiles, rows * (hd / 16));
        }
    }

    void backward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor gradOut,
                  Tensor logSumExp, Tensor gradQ, Tensor gradK, Tensor gradV) {
        Attention.checkInputs("attentionBackward", q, k, v, keyPadding, scale);
        Attention.checkBackwardArguments("attentionBackward", q, k, out, gradOut, logSumExp, gradQ, gradK, gradV);
        String variant = variant("attentionBackward", q);
        int batch = q.size(0), heads = q.size(1), tq = q.size(2), hd = q.size(3), tk = k.size(2);
        long bh = (long) batch * heads;
        if (bh == 0) return;
        if (tq >= 1 && tq <= SHORT_BACKWARD_MAX_QUERIES && shortKeys(hd, tk)) {
            try (Tensor mask = floatMask(keyPadding)) {
                long[] a = args(q, k, v, out, gradOut, mask);
                int groups = shortBackwardGroups(tq, tk), bytes = shortBackwardSharedBytes(hd, tq, tk, groups);
                String name = "attention_short_bwd_" + variant;
                allowSharedMemory(name, bytes);
                cuda.kernel("attention_short", name)
                        .ptr(cuda.pointer(q)).ptr(cuda.pointer(k)).ptr(cuda.pointer(v)).ptr(maskPointer(mask)).ptr(cuda.pointer(out))
                        .ptr(cuda.pointer(gradOut)).ptr(cuda.pointer(logSumExp)).ptr(cuda.pointer(gradQ)).ptr(cuda.pointer(gradK))
                        .ptr(cuda.pointer(gradV)).struct(a).i32(causal ? 1 : 0).f32((float) scale).i32(shortVectorLoads(q, k, v) ? 1 : 0)
                        .launch(cuda.stream(), bh, 1, 8 * groups, 1, bytes);
            }
            return;
        }
        CachingAllocator.Block rowD = cuda.allocator().allocate(Math.max(1, bh * tq) * Float.BYTES);
        try (Tensor mask = floatMask(keyPadding)) {
            long[] a = args(q, k, v, out, gradOut, mask);
            CUdeviceptr pq = cuda.pointer(q), pk = cuda.pointer(k), pv = cuda.pointer(v), pm = maskPointer(mask);
            // tensor cores for aligned BF16 rows of head dim 32 / 64 (64 rows per block), else the SIMT pair
            boolean mma = q.dtype() == DType.BF16 && hd <= 64 && mmaAligned(q, k, v, out, gradOut);
            String family = mma ? "attention_mma" : "attention", prefix = mma ? "attention_mma_bwd_" : "attention_bwd_";
            if (tq > 0) {
                int rows = mma ? MMA_ROWS : rowsPerBlock(hd, tq);
                long tiles = (tq + rows - 1) / rows;
                cuda.kernel(family, prefix + "dq_" + variant)
                        .ptr(pq).ptr(pk).ptr(pv).ptr(pm).ptr(cuda.pointer(out)).ptr(cuda.pointer(gradOut)).ptr(cuda.pointer(logSumExp))
                        .ptr(rowD.pointer()).ptr(cuda.pointer(gradQ)).struct(a).i32(causal ? 1 : 0).f32((float) scale).i64(tiles)
                        .launch(cuda.stream(), bh * tiles, mma ? MMA_THREADS : rows * (hd / 16));
            }
            if (tk > 0) {
                int rows = mma ? MMA_ROWS : rowsPerBlock(hd, tk);
                long tiles = (tk + rows - 1) / rows;
                cuda.kernel(family, prefix + "dkdv_" + variant)
                        .ptr(pq).ptr(pk).ptr(pv).ptr(pm).ptr(cuda.pointer(gradOut)).ptr(cuda.pointer(logSumExp)).ptr(rowD.pointer())
                        .ptr(cuda.pointer(gradK)).ptr(cuda.pointer(gradV)).struct(a).i32(causal ? 1 : 0).f32((float) scale).i64(tiles)
                        .launch(cuda.stream(), bh * tiles, mma ? MMA_THREADS : rows * (hd / 16));
            }
        } finally {
            // later work on this stream runs after both kernels, so the block may be reused at once
            cuda.allocator().release(rowD);
        }
    }
}

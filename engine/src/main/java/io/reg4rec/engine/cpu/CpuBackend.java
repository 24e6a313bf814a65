package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The pure-Java CPU backend and numerical reference. Float dtypes compute in double and round
 * to fp32 before storing (so F32 results equal fp32 arithmetic for + - * / and sqrt, and are
 * correctly rounded for the transcendental functions); BF16 and fp8 are loaded exactly and rounded
 * on store; F64 computes in double; integers in long. Every output element is computed
 * independently, and reductions sum in a fixed order, so results do not depend on the thread count.
 */
public final class CpuBackend implements Backend {
    private static final CpuBackend INSTANCE = new CpuBackend();

    /** Elements per buffered chunk of an elementwise op. */
    private static final int CHUNK = 1024;
    /** Below this many elements per thread an op stays on the calling thread. */
    private static final long GRAIN = 1L << 15;

    private final AtomicLong inUse = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong live = new AtomicLong();

    private CpuBackend() {}

    public static Backend instance() { return INSTANCE; }

    @Override
    public Device device() { return Device.CPU; }

    // ---------------------------------------------------------------- memory

    @Override
    public Storage allocate(DType dtype, long numel) {
        CpuStorage s = new CpuStorage(this, dtype, numel);
        requests.incrementAndGet();
        live.incrementAndGet();
        long now = inUse.addAndGet(s.bytes());
        peak.accumulateAndGet(now, Math::max);
        return s;
    }

    void onFree(long bytes) {
        inUse.addAndGet(-bytes);
        live.decrementAndGet();
    }

    @Override
    public MemoryStats memoryStats() {
        long r = requests.get();
        return new MemoryStats(inUse.get(), 0, peak.get(), r, r, live.get());
    }

    @Override
    public void synchronize() {}

    @Override
    public void copyFromHost(Object hostArray, Storage dst) {
        if (!(dst instanceof CpuStorage cs)) throw new IllegalArgumentException("copyFromHost: storage on " + dst.device() + " is not a CPU storage");
        Object target = cs.array();
        if (hostArray.getClass() != target.getClass()) {
            throw new IllegalArgumentException("copyFromHost: a " + dst.dtype() + " storage needs a " + target.getClass().getSimpleName()
                    + ", got " + hostArray.getClass().getSimpleName());
        }
        int length = java.lang.reflect.Array.getLength(hostArray);
        if (length > dst.numel()) throw new IllegalArgumentException("copyFromHost: " + length + " elements do not fit a storage of " + dst.numel());
        System.arraycopy(hostArray, 0, target, 0, length);
    }

    @Override
    public Object copyToHost(Tensor src) {
        View v = View.of(src);
        long n = v.numel();
        Object out = src.dtype().newHostArray((int) n);
        if (v.contiguous) {
            System.arraycopy(v.array, (int) v.offset, out, 0, (int) n);
            return out;
        }
        forChunks(n, (start, len, idx, d, l) -> {
            v.offsets(start, len, idx);
            View.copyRaw(v.array, idx, len, out, (int) start);
        });
        return out;
    }

    // ---------------------------------------------------------------- elementwise

    /** One chunk of an elementwise op, with per-thread scratch buffers of {@link #CHUNK} entries. */
    @FunctionalInterface
    private interface ChunkBody {
        void run(long start, int len, int[] idx, double[] dbuf, long[] lbuf);
    }

    /** Splits [0, total) into chunks, over the pool when large enough. */
    private static void forChunks(long total, ChunkBody body) {
        CpuPool.parallelFor(total, GRAIN, (s, e) -> {
            int[] idx = new int[CHUNK];
            double[] d = new double[CHUNK];
            long[] l = new long[CHUNK];
            for (long c = s; c < e; c += CHUNK) body.run(c, (int) Math.min(CHUNK, e - c), idx, d, l);
        });
    }

    @Override
    public void cast(Tensor src, Tensor dst) {
        View in = View.of(src), out = View.of(dst);
        long n = out.numel();
        if (in.dtype == out.dtype) {
            forChunks(n, (start, len, idx, d, l) -> {
                in.offsets(start, len, idx);
                View.copyRaw(in.array, idx, len, out.array, (int) (out.offset + start));
            });
        } else if (!in.dtype.isFloating()) {
            forChunks(n, (start, len, idx, d, l) -> {
                in.loadLong(start, len, l, idx);
                out.storeLong(start, len, l);
            });
        } else {
            forChunks(n, (start, len, idx, d, l) -> {
                in.loadDouble(start, len, d, idx);
                out.storeDouble(start, len, d);
            });
        }
    }

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out) {
        View in = View.of(x), o = View.of(out);
        if (!o.dtype.isFloating()) {
            if (op != UnaryOp.NEG && op != UnaryOp.ABS) throw new IllegalArgumentException(op + ": needs a floating tensor, got " + x.describe());
            forChunks(o.numel(), (start, len, idx, d, l) -> {
                in.loadLong(start, len, l, idx);
                if (op == UnaryOp.NEG) for (int i = 0; i < len; i++) l[i] = -l[i];
                else for (int i = 0; i < len; i++) l[i] = Math.abs(l[i]);
                o.storeLong(start, len, l);
            });
            return;
        }
        forChunks(o.numel(), (start, len, idx, d, l) -> {
            in.loadDouble(start, len, d, idx);
            Elementwise.unary(op, d, len);
            View.roundThroughFloat(o.dtype, d, len);
            o.storeDouble(start, len, d);
        });
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        View va = View.of(a), vb = View.of(b), o = View.of(out);
        checkSameDtype(op.name().toLowerCase(), a, b, out);
        if (!o.dtype.isFloating()) {
            if (op == BinaryOp.POW) throw new IllegalArgumentException("pow: needs floating tensors, got " + a.describe());
            forChunks(o.numel(), (start, len, idx, d, l) -> {
                long[] rhs = new long[len];
                va.loadLong(start, len, l, idx);
                vb.loadLong(start, len, rhs, idx);
                Elementwise.binaryLong(op, l, rhs, len);
                o.storeLong(start, len, l);
            });
            return;
        }
        forChunks(o.numel(), (start, len, idx, d, l) -> {
            double[] rhs = new double[len];
            va.loadDouble(start, len, d, idx);
            vb.loadDouble(start, len, rhs, idx);
            Elementwise.binary(op, d, rhs, len);
            View.roundThroughFloat(o.dtype, d, len);
            o.storeDouble(start, len, d);
        });
    }

    private static void checkSameDtype(String op, Tensor a, Tensor b, Tensor out) {
        if (a.dtype() != b.dtype() || a.dtype() != out.dtype()) {
            throw new IllegalArgumentException(op + ": dtype mismatch " + a.describe() + ", " + b.describe() + " -> " + out.describe());
        }
    }

    @Override
    public void binaryScalar(BinaryOp op, Tensor a, double scalar, boolean scalarFirst, Tensor out) {
        View va = View.of(a), o = View.of(out);
        boolean integral = scalar == Math.rint(scalar) && Math.abs(scalar) < 0x1p62;
        if (!o.dtype.isFloating() && op == BinaryOp.POW) throw new IllegalArgumentException("pow: needs a floating tensor, got " + a.describe());
        if (!o.dtype.isFloating() && integral) {
            long s = (long) scalar;
            forChunks(o.numel(), (start, len, idx, d, l) -> {
                long[] other = new long[len];
                Arrays.fill(other, s);
                va.loadLong(start, len, l, idx);
                if (scalarFirst) {
                    Elementwise.binaryLong(op, other, l, len);
                    System.arraycopy(other, 0, l, 0, len);
                } else {
                    Elementwise.binaryLong(op, l, other, len);
                }
                o.storeLong(start, len, l);
            });
            return;
        }
        // Floats see the scalar rounded to fp32 (F64: as is) and compute in double, which for
        // + - * / rounds to exactly the fp32 result; integers with a fractional scalar compute in
        // double and truncate the result toward zero.
        double s = o.dtype == DType.F64 || !o.dtype.isFloating() ? scalar : (float) scalar;
        forChunks(o.numel(), (start, len, idx, d, l) -> {
            double[] other = new double[len];
            Arrays.fill(other, s);
            va.loadDouble(start, len, d, idx);
            double[] lhs = d, rhs = other;
            if (scalarFirst) { lhs = other; rhs = d; }
            Elementwise.binary(op, lhs, rhs, len);
            View.roundThroughFloat(o.dtype, lhs, len);
            o.storeDouble(start, len, lhs);
        });
    }

    @Override
    public void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWHyper hyper) {
        View pv = View.of(param), gv = View.of(grad), mv = View.of(m), vv = View.of(v);
        float[] p = (float[]) pv.array, g = (float[]) gv.array, ma = (float[]) mv.array, va = (float[]) vv.array;
        int po = (int) pv.offset, go = (int) gv.offset, mo = (int) mv.offset, vo = (int) vv.offset;
        float[] c = hyper.coefficients();
        float b1 = c[AdamWHyper.BETA1], omb1 = c[AdamWHyper.ONE_MINUS_BETA1], b2 = c[AdamWHyper.BETA2], omb2 = c[AdamWHyper.ONE_MINUS_BETA2];
        float correction2 = c[AdamWHyper.CORRECTION2], eps = c[AdamWHyper.EPS], stepSize = c[AdamWHyper.STEP_SIZE], decay = c[AdamWHyper.DECAY];
        // fp32 arithmetic, one rounding per operation in the documented order (Java never fuses a*b+c)
        CpuPool.parallelFor(param.numel(), GRAIN, (start, end) -> {
            for (int i = (int) start; i < (int) end; i++) {
                float gi = g[go + i];
                float mi = ma[mo + i] * b1 + gi * omb1;
                float vi = va[vo + i] * b2 + (gi * gi) * omb2;
                ma[mo + i] = mi;
                va[vo + i] = vi;
                float denominator = (float) Math.sqrt(vi / correction2) + eps;
                float step = (mi / denominator) * stepSize;
                p[po + i] = p[po + i] * decay - step;
            }
        });
    }

    @Override
    public void fill(Tensor out, double value) {
        View o = View.of(out);
        long n = o.numel();
        int from = (int) o.offset, to = (int) (o.offset + n);
        switch (o.dtype) {
            case F64 -> Arrays.fill((double[]) o.array, from, to, value);
            case F32 -> Arrays.fill((float[]) o.array, from, to, (float) value);
            case BF16 -> Arrays.fill((short[]) o.array, from, to, Bf16.fromDouble(value));
            case F8E4M3 -> Arrays.fill((byte[]) o.array, from, to, Fp8.e4m3FromDouble(value));
            case F8E5M2 -> Arrays.fill((byte[]) o.array, from, to, Fp8.e5m2FromDouble(value));
            case I32 -> Arrays.fill((int[]) o.array, from, to, (int) value);
            case I64 -> Arrays.fill((long[]) o.array, from, to, (long) value);
        }
    }

    @Override
    public void random(Tensor out, Distribution distribution, long seed, double a, double b) {
        View o = View.of(out);
        if (!o.dtype.isFloating()) throw new IllegalArgumentException("random: dtype must be floating, got " + out.describe());
        boolean fp32 = o.dtype != DType.F64;
        forChunks(o.numel(), (start, len, idx, d, l) -> {
            for (int i = 0; i < len; i++) {
                long counter = start + i;
                d[i] = distribution == Distribution.UNIFORM
                        ? a + (b - a) * CounterRng.uniform(seed, counter)
                        : a + b * CounterRng.normal(seed, counter);
            }
            if (fp32) View.roundThroughFloat(o.dtype, d, len);
            o.storeDouble(start, len, d);
        });
    }

    // ---------------------------------------------------------------- reductions and softmax

    @Override
    public void reduce(ReduceOp op, Tensor x, int axis, Tensor out) {
        // Any layout works here (elements are addressed by linear index), not only the contiguous one the contract asks for.
        View in = View.of(x), o = View.of(out);
        int[] shape = in.shape;
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
        int n = shape[axis];
        long outputs = outer * inner;
        if (outputs == 0) return;
        if (n == 0 && op != ReduceOp.SUM) throw new IllegalArgumentException(op.name().toLowerCase() + ": cannot reduce an empty dimension of " + x.describe());
        Reductions.reduce(op, in, o, outer, n, inner, GRAIN);
    }

    @Override
    public void softmax(Tensor x, int axis, boolean log, Tensor out) {
        View in = View.of(x), o = View.of(out);
        if (!o.dtype.isFloating()) throw new IllegalArgumentException((log ? "logSoftmax" : "softmax") + ": needs a floating tensor, got " + x.describe());
        int[] shape = in.shape;
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
        Reductions.softmax(in, o, outer, shape[axis], inner, log, GRAIN);
    }

    // ---------------------------------------------------------------- indexing

    @Override
    public void gather(Tensor x, int axis, Tensor index, Tensor out) {
        View vx = View.of(x), vi = View.of(index), o = View.of(out);
        if (vx.dtype != o.dtype) throw new IllegalArgumentException("gather: dtype mismatch " + x.describe() + " -> " + out.describe());
        checkIndices("gather", vi, axis, vx.shape[axis]);
        // x seen with the index's shape and a zero stride along axis: the offset of every
        // non-axis coordinate; the index then moves along axis.
        long[] baseStrides = Arrays.copyOf(vx.strides, vx.strides.length);
        long axisStride = baseStrides[axis];
        baseStrides[axis] = 0;
        View base = vx.relayout(vi.shape, baseStrides, vx.offset);
        forChunks(o.numel(), (start, len, idx, d, l) -> {
            int[] ind = new int[len];
            vi.offsets(start, len, ind);
            base.offsets(start, len, idx);
            for (int i = 0; i < len; i++) idx[i] = (int) (idx[i] + vi.indexAt(ind[i]) * axisStride);
            View.copyRaw(vx.array, idx, len, o.array, (int) (o.offset + start));
        });
    }

    @Override
    public void scatterAdd(Tensor dst, int axis, Tensor index, Tensor src) {
        View vd = View.of(dst), vi = View.of(index), vs = View.of(src);
        if (!vd.contiguous) throw new IllegalArgumentException("scatterAdd: destination " + dst.describe() + " must be contiguous");
        if (vd.dtype != vs.dtype) throw new IllegalArgumentException("scatterAdd: dtype mismatch: destination " + dst.describe() + ", source " + src.describe());
        checkIndices("scatterAdd", vi, axis, vd.shape[axis]);
        long[] baseStrides = Arrays.copyOf(vd.strides, vd.strides.length);
        long axisStride = baseStrides[axis];
        baseStrides[axis] = 0;
        View base = vd.relayout(vi.shape, baseStrides, vd.offset);
        long n = vi.numel();
        // Sequential in linear order: colliding positions add up in one fixed order.
        int[] idx = new int[CHUNK], ind = new int[CHUNK], srcIdx = new int[CHUNK];
        double[] dv = new double[CHUNK];
        long[] lv = new long[CHUNK];
        boolean floating = vd.dtype.isFloating();
        for (long start = 0; start < n; start += CHUNK) {
            int len = (int) Math.min(CHUNK, n - start);
            vi.offsets(start, len, ind);
            base.offsets(start, len, idx);
            for (int i = 0; i < len; i++) idx[i] = (int) (idx[i] + vi.indexAt(ind[i]) * axisStride);
            if (floating) {
                vs.loadDouble(start, len, dv, srcIdx);
                Elementwise.accumulate(vd.array, vd.dtype, idx, dv, len);
            } else {
                vs.loadLong(start, len, lv, srcIdx);
                if (vd.dtype == DType.I64) { long[] a = (long[]) vd.array; for (int i = 0; i < len; i++) a[idx[i]] += lv[i]; }
                else { int[] a = (int[]) vd.array; for (int i = 0; i < len; i++) a[idx[i]] += (int) lv[i]; }
            }
        }
    }

    /** Validates every index before anything is written. */
    private static void checkIndices(String op, View index, int axis, int size) {
        if (index.dtype != DType.I32 && index.dtype != DType.I64) throw new IllegalArgumentException(op + ": index must be I32 or I64, got " + index.dtype);
        long n = index.numel();
        CpuPool.parallelFor(n, GRAIN, (s, e) -> {
            int[] idx = new int[CHUNK];
            for (long c = s; c < e; c += CHUNK) {
                int len = (int) Math.min(CHUNK, e - c);
                index.offsets(c, len, idx);
                for (int i = 0; i < len; i++) {
                    long v = index.indexAt(idx[i]);
                    if (v < 0 || v >= size) {
                        throw new IndexOutOfBoundsException(op + ": index " + v + " at position " + Arrays.toString(coordinates(index.shape, c + i))
                                + " is out of range for dimension " + axis + " of size " + size);
                    }
                }
            }
        });
    }

    private static int[] coordinates(int[] shape, long linear) {
        int[] c = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            c[d] = (int) (linear % shape[d]);
            linear /= shape[d];
        }
        return c;
    }

    // ---------------------------------------------------------------- GEMM

    @Override
    public void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor out) {
        Gemm.matmul(View.of(a), transposeA, View.of(b), transposeB, View.of(out), a, b, out);
    }

    // ---- fused layer norm and cross-entropy

    @Override
    public void layerNormForward(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor out, Tensor mean, Tensor rstd) {
        FusedOps.checkLayerNorm("layerNorm on cpu", x, gamma, beta, eps, out, mean, rstd);
        CpuLayerNorm.forward(x, gamma, beta, eps, out, mean, rstd);
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor gradOut, Tensor gradX, Tensor gradGamma, Tensor gradBeta) {
        FusedOps.checkLayerNormBackward("layerNormBackward on cpu", x, gamma, mean, rstd, gradOut, gradX, gradGamma, gradBeta);
        CpuLayerNorm.backward(x, gamma, mean, rstd, gradOut, gradX, gradGamma, gradBeta);
    }

    @Override
    public void crossEntropyForward(Tensor logits, Tensor targets, long ignoreIndex, double labelSmoothing, Tensor losses, Tensor logSumExp) {
        FusedOps.checkCrossEntropy("crossEntropy on cpu", logits, targets, labelSmoothing, losses, logSumExp);
        CpuCrossEntropy.forward(logits, targets, ignoreIndex, labelSmoothing, losses, logSumExp);
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, Tensor logSumExp, Tensor gradLosses, long ignoreIndex,
                                     double labelSmoothing, Tensor gradLogits) {
        FusedOps.checkCrossEntropyBackward("crossEntropyBackward on cpu", logits, targets, logSumExp, gradLosses, labelSmoothing, gradLogits);
        CpuCrossEntropy.backward(logits, targets, logSumExp, gradLosses, ignoreIndex, labelSmoothing, gradLogits);
    }

    // ---- attention

    @Override
    public void attentionForward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor logSumExp) {
        CpuAttention.forward(q, k, v, keyPadding, causal, scale, out, logSumExp);
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor gradOut,
                                  Tensor logSumExp, Tensor gradQ, Tensor gradK, Tensor gradV) {
        CpuAttention.backward(q, k, v, keyPadding, causal, scale, out, gradOut, logSumExp, gradQ, gradK, gradV);
    }

    // ---- quantization, divergence, scaled casts

    @Override
    public void nearestCodeword(Tensor z, Tensor codebooks, Tensor indices, Tensor distances) {
        QuantChecks.nearestCodeword(Device.CPU, true, z, codebooks, indices, distances);
        CpuQuantization.nearestCodeword(z, codebooks, indices, distances);
    }

    @Override
    public void codewordSum(Tensor codebooks, Tensor indices, Tensor gates, Tensor out) {
        QuantChecks.codewordSum(Device.CPU, true, codebooks, indices, gates, out);
        CpuQuantization.codewordSum(codebooks, indices, gates, out);
    }

    @Override
    public void codewordSumBackward(Tensor codebooks, Tensor indices, Tensor gates, Tensor gradOut, Tensor gradCodebooks, Tensor gradGates) {
        QuantChecks.codewordSumBackward(Device.CPU, true, codebooks, indices, gates, gradOut, gradCodebooks, gradGates);
        CpuQuantization.codewordSumBackward(codebooks, indices, gates, gradOut, gradCodebooks, gradGates);
    }

    @Override
    public void relaxedMatchCount(Tensor paths, Tensor items, Tensor counts) {
        QuantChecks.relaxedMatchCount(Device.CPU, paths, items, counts);
        CpuQuantization.relaxedMatchCount(paths, items, counts);
    }

    @Override
    public void jsDivergence(Tensor p, Tensor q, Tensor out) {
        QuantChecks.divergence("jsDivergence", Device.CPU, true, p, q, out);
        CpuDivergence.jsDivergence(p, q, out);
    }

    @Override
    public void klDivergence(Tensor p, Tensor q, Tensor out) {
        QuantChecks.divergence("klDivergence", Device.CPU, true, p, q, out);
        CpuDivergence.klDivergence(p, q, out);
    }

    @Override
    public void jsDivergenceBackward(Tensor p, Tensor q, Tensor gradOut, Tensor gradP, Tensor gradQ) {
        QuantChecks.jsDivergenceBackward(Device.CPU, true, p, q, gradOut, gradP, gradQ);
        CpuDivergence.jsDivergenceBackward(p, q, gradOut, gradP, gradQ);
    }

    @Override
    public void amax(Tensor x, Tensor out) {
        QuantChecks.amax(Device.CPU, true, x, out);
        CpuScaledCast.amax(x, out);
    }

    @Override
    public void castScaled(Tensor src, Tensor dst, Tensor scale) {
        QuantChecks.castScaled(Device.CPU, src, dst, scale);
        CpuScaledCast.castScaled(src, dst, scale);
    }

    // ---- own GEMM

    @Override
    public void matmulScaled(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor aScale, Tensor bScale, Tensor out) {
        CpuFusedGemm.matmulScaled(a, transposeA, b, transposeB, aScale, bScale, out);
    }

    @Override
    public void matmulEpilogue(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor bias, boolean gelu, Tensor residual, Tensor out) {
        CpuFusedGemm.matmulEpilogue(a, transposeA, b, transposeB, bias, gelu, residual, out);
    }

    // ---- train-step fusions

    @Override
    public void dropout(Tensor x, Tensor bias, Tensor residual, long seed, double p, Tensor out) {
        CpuDropout.apply(x, bias, residual, seed, p, out);
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor g, boolean log, Tensor out) { CpuSoftmaxBackward.apply(y, g, log, out); }

    @Override
    public void adamwStepSegments(Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper) {
        // the reference: adamwStep per segment on slices of the moments
        long start = 0;
        for (int s = 0; s < params.length; s++) {
            long n = params[s].numel();
            if (n > 0) {
                try (Tensor p = params[s].reshape(-1); Tensor g = grads[s].reshape(-1);
                     Tensor ms = m.slice(0, (int) start, (int) (start + n)); Tensor vs = v.slice(0, (int) start, (int) (start + n))) {
                    adamwStep(p, g, ms, vs, hyper);
                }
            }
            start += n;
        }
    }

    @Override
    public void biasGelu(Tensor x, Tensor bias, Tensor out) { CpuBiasGelu.apply(x, bias, null, out); }

    @Override
    public void biasGeluBackward(Tensor x, Tensor bias, Tensor gradOut, Tensor out) { CpuBiasGelu.apply(x, bias, gradOut, out); }

    // ---- top-k

    @Override
    public void topk(Tensor x, int k, Tensor values, Tensor indices) {
        TopKChecks.check("topk on cpu", Device.CPU, true, x, k, values, indices);
        CpuTopK.apply(x, k, values, indices);
    }

    // ---- gradient norm

    @Override
    public void sumOfSquaresSegments(Tensor[] xs, Tensor out) { CpuGradNorm.sumOfSquaresSegments(xs, out); }

    @Override
    public void adamwStepSegmentsClipped(Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper, Tensor sumOfSquares, double maxNorm) {
        CpuGradNorm.adamwStepSegmentsClipped(this, params, grads, m, v, hyper, sumOfSquares, maxNorm);
    }
}

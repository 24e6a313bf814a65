package io.reg4rec.autograd;

import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.FusedOps;
import io.reg4rec.engine.Shapes;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.UnaryOp;

import java.util.Arrays;

/**
 * The differentiable ops: each forward is one or a few engine Tensor ops, each derivative is
 * written once in Tensor ops, so both run on every backend. Derivatives run inside a scope the
 * backward pass opens per node, so their temporaries need no explicit close.
 */
final class Ops {
    private Ops() {}

    /** A view of t with the same shape and strides (retains t's storage). */
    static Tensor alias(Tensor t) {
        return t.expand(t.shape());
    }

    private static Variable[] in(Variable... v) { return v; }

    private static Tensor[] grads(Tensor... g) { return g; }

    // ---------------------------------------------------------------- broadcasting

    /** Sums g over the axes broadcasting added (leading) or stretched (size 1 in shape), back to shape. */
    static Tensor sumToShape(Tensor g, int[] shape) {
        if (Arrays.equals(g.shape(), shape)) return g;
        Tensor cur = g;
        int lead = g.rank() - shape.length;
        if (lead < 0) throw new IllegalStateException("gradient " + g.describe() + " has fewer dimensions than its input " + Arrays.toString(shape));
        for (int i = 0; i < lead; i++) cur = cur.sum(0, false);
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 1 && cur.size(i) != 1) cur = cur.sum(i, true);
        }
        return cur;
    }

    // ---------------------------------------------------------------- binary

    static Variable add(Variable a, Variable b) {
        Tensor out = a.data().add(b.data());
        int[] sa = a.shape(), sb = b.shape();
        return Variable.result("add", out, in(a, b), node -> g -> grads(
                node.needs(0) ? sumToShape(g, sa) : null,
                node.needs(1) ? sumToShape(g, sb) : null));
    }

    static Variable sub(Variable a, Variable b) {
        Tensor out = a.data().sub(b.data());
        int[] sa = a.shape(), sb = b.shape();
        return Variable.result("sub", out, in(a, b), node -> g -> grads(
                node.needs(0) ? sumToShape(g, sa) : null,
                node.needs(1) ? sumToShape(g.neg(), sb) : null));
    }

    static Variable mul(Variable a, Variable b) {
        Tensor out = a.data().mul(b.data());
        int[] sa = a.shape(), sb = b.shape();
        return Variable.result("mul", out, in(a, b), node -> {
            Tensor savedB = node.needs(0) ? node.save(b.data()) : null;
            Tensor savedA = node.needs(1) ? node.save(a.data()) : null;
            return g -> grads(
                    node.needs(0) ? sumToShape(g.mul(savedB), sa) : null,
                    node.needs(1) ? sumToShape(g.mul(savedA), sb) : null);
        });
    }

    static Variable div(Variable a, Variable b) {
        Tensor out = a.data().div(b.data());
        int[] sa = a.shape(), sb = b.shape();
        return Variable.result("div", out, in(a, b), node -> {
            Tensor savedB = node.save(b.data());
            Tensor savedOut = node.needs(1) ? node.save(out) : null;
            return g -> {
                Tensor gOverB = g.div(savedB);
                // d(a/b)/db = -(a/b)/b
                return grads(
                        node.needs(0) ? sumToShape(gOverB, sa) : null,
                        node.needs(1) ? sumToShape(gOverB.mul(savedOut).neg(), sb) : null);
            };
        });
    }

    // ---------------------------------------------------------------- with a scalar

    static Variable addScalar(Variable x, double s) {
        return Variable.result("addScalar", x.data().add(s), in(x), node -> g -> grads(alias(g)));
    }

    static Variable mulScalar(Variable x, double s) {
        return Variable.result("mulScalar", x.data().mul(s), in(x), node -> g -> grads(g.mul(s)));
    }

    static Variable divScalar(Variable x, double s) {
        return Variable.result("divScalar", x.data().div(s), in(x), node -> g -> grads(g.div(s)));
    }

    static Variable rsubScalar(Variable x, double s) {
        return Variable.result("rsubScalar", x.data().binaryReversed(BinaryOp.SUB, s), in(x), node -> g -> grads(g.neg()));
    }

    static Variable rdivScalar(Variable x, double s) {
        Tensor out = x.data().binaryReversed(BinaryOp.DIV, s);
        return Variable.result("rdivScalar", out, in(x), node -> {
            Tensor savedX = node.save(x.data());
            Tensor savedOut = node.save(out);
            // d(s/x)/dx = -s/x^2 = -out/x
            return g -> grads(g.mul(savedOut).div(savedX).neg());
        });
    }

    static Variable powScalar(Variable x, double p) {
        Tensor out = x.data().pow(p);
        return Variable.result("powScalar", out, in(x), node -> {
            Tensor savedX = node.save(x.data());
            return g -> grads(p == 1 ? alias(g) : p == 2 ? g.mul(savedX).mul(2.0) : g.mul(savedX.pow(p - 1)).mul(p));
        });
    }

    // ---------------------------------------------------------------- unary

    static Variable neg(Variable x) {
        return Variable.result("neg", x.data().neg(), in(x), node -> g -> grads(g.neg()));
    }

    static Variable exp(Variable x) {
        Tensor out = x.data().exp();
        return Variable.result("exp", out, in(x), node -> {
            Tensor y = node.save(out);
            return g -> grads(g.mul(y));
        });
    }

    static Variable log(Variable x) {
        return Variable.result("log", x.data().log(), in(x), node -> {
            Tensor savedX = node.save(x.data());
            return g -> grads(g.div(savedX));
        });
    }

    static Variable sqrt(Variable x) {
        Tensor out = x.data().sqrt();
        return Variable.result("sqrt", out, in(x), node -> {
            Tensor y = node.save(out);
            return g -> grads(g.div(y).mul(0.5));
        });
    }

    static Variable rsqrt(Variable x) {
        Tensor out = x.data().rsqrt();
        return Variable.result("rsqrt", out, in(x), node -> {
            Tensor y = node.save(out);
            // d(x^-1/2)/dx = -1/2 x^-3/2 = -1/2 y^3
            return g -> grads(g.mul(y.mul(y).mul(y)).mul(-0.5));
        });
    }

    static Variable tanh(Variable x) {
        Tensor out = x.data().tanh();
        return Variable.result("tanh", out, in(x), node -> {
            Tensor y = node.save(out);
            return g -> grads(g.mul(y.mul(y).binaryReversed(BinaryOp.SUB, 1.0)));
        });
    }

    static Variable sigmoid(Variable x) {
        Tensor out = x.data().sigmoid();
        return Variable.result("sigmoid", out, in(x), node -> {
            Tensor y = node.save(out);
            return g -> grads(g.mul(y.mul(y.binaryReversed(BinaryOp.SUB, 1.0))));
        });
    }

    static Variable relu(Variable x) {
        return Variable.result("relu", x.data().relu(), in(x), node -> {
            Tensor savedX = node.save(x.data());
            return g -> grads(g.mul(savedX.unary(UnaryOp.STEP)));
        });
    }

    static Variable gelu(Variable x) {
        return Variable.result("gelu", x.data().gelu(), in(x), node -> {
            Tensor savedX = node.save(x.data());
            return g -> grads(g.mul(savedX.unary(UnaryOp.GELU_GRAD)));
        });
    }

    // ---------------------------------------------------------------- masks and casts

    static Variable maskedFill(Variable x, Tensor mask, double value) {
        Tensor out;
        Tensor keep = mask.binaryReversed(BinaryOp.SUB, 1.0);
        try (Tensor kept = x.data().mul(keep); Tensor filled = mask.mul(value)) {
            out = kept.add(filled);
        } catch (RuntimeException e) {
            keep.close();
            throw e;
        }
        int[] sx = x.shape();
        Variable r = Variable.result("maskedFill", out, in(x), node -> {
            Tensor k = node.own(alias(keep));
            return g -> grads(sumToShape(g.mul(k), sx));
        });
        keep.close();
        return r;
    }

    static Variable where(Tensor cond, Variable a, Variable b) {
        Tensor out;
        Tensor notCond = cond.binaryReversed(BinaryOp.SUB, 1.0);
        try (Tensor fromA = a.data().mul(cond); Tensor fromB = b.data().mul(notCond)) {
            out = fromA.add(fromB);
        } catch (RuntimeException e) {
            notCond.close();
            throw e;
        }
        int[] sa = a.shape(), sb = b.shape();
        Variable r = Variable.result("where", out, in(a, b), node -> {
            Tensor c = node.save(cond);
            Tensor nc = node.own(alias(notCond));
            return g -> grads(
                    node.needs(0) ? sumToShape(g.mul(c), sa) : null,
                    node.needs(1) ? sumToShape(g.mul(nc), sb) : null);
        });
        notCond.close();
        return r;
    }

    static Variable cast(Variable x, DType dtype) {
        Tensor out = x.data().to(dtype);
        if (!dtype.isFloating()) return Variable.constant(out);
        DType from = x.dtype();
        return Variable.result("to(" + dtype + ")", out, in(x), node -> g -> grads(g.to(from)));
    }

    // ---------------------------------------------------------------- matmul

    /** The matrix product, with an explicit zero result when the inner dimension is empty. */
    static Tensor matmulOrZeros(Tensor a, Tensor b) {
        int k = a.size(-1);
        if (k != 0 || b.size(-2) != 0) return a.matmul(b);
        int m = a.size(-2), n = b.size(-1);
        int batch = Math.max(a.rank() == 3 ? a.size(0) : 1, b.rank() == 3 ? b.size(0) : 1);
        int[] shape = a.rank() == 2 && b.rank() == 2 ? new int[]{m, n} : new int[]{batch, m, n};
        return Tensor.zeros(a.device(), a.dtype(), shape);
    }

    static Variable matmul(Variable a, Variable b) {
        Tensor out = matmulOrZeros(a.data(), b.data());
        int[] sa = a.shape(), sb = b.shape();
        // b a transposed view of a [n, k] matrix (a Linear's weight): its gradient is computed as
        // (g^T a)^T, so it lands in the weight's own layout and reaches the weight without a copy
        boolean bTransposed = sb.length == 2 && sb[0] > 1 && b.data().stride(0) == 1 && b.data().stride(1) == sb[0];
        // likewise a batch of transposed matrices (keys in q k^T), when nothing is broadcast
        boolean bBatchTransposed = sb.length == 3 && sa.length == 3 && sa[0] == sb[0] && sb[1] > 1
                && b.data().stride(1) == 1 && b.data().stride(2) == sb[1];
        return Variable.result("matmul", out, in(a, b), node -> {
            Tensor savedB = node.needs(0) ? node.save(b.data()) : null;
            Tensor savedA = node.needs(1) ? node.save(a.data()) : null;
            return g -> {
                Tensor ga = null, gb = null;
                if (node.needs(0)) ga = sumToShape(matmulOrZeros(g, savedB.transpose(-1, -2)), sa);
                if (node.needs(1)) {
                    if (sa.length == 3 && sb.length == 2) {
                        // A shared weight: fold the batch into rows, one GEMM instead of a batch and a sum.
                        int k = sa[2], n = sb[1];
                        gb = bTransposed ? matmulOrZeros(g.reshape(-1, n).transpose(0, 1), savedA.reshape(-1, k)).transpose(0, 1)
                                : matmulOrZeros(savedA.reshape(-1, k).transpose(0, 1), g.reshape(-1, n));
                    } else if (bTransposed && sa.length == 2) {
                        gb = matmulOrZeros(g.transpose(0, 1), savedA).transpose(0, 1);
                    } else if (bBatchTransposed) {
                        gb = matmulOrZeros(g.transpose(1, 2), savedA).transpose(1, 2);
                    } else {
                        gb = sumToShape(matmulOrZeros(savedA.transpose(-1, -2), g), sb);
                    }
                }
                return grads(ga, gb);
            };
        });
    }

    // ---------------------------------------------------------------- reductions

    static Variable sum(Variable x, int axis, boolean keepDim) {
        int d = Shapes.axis(axis, x.rank(), "sum");
        int[] sx = x.shape();
        return Variable.result("sum", x.data().sum(d, keepDim), in(x), node -> g -> grads((keepDim ? g : g.unsqueeze(d)).expand(sx)));
    }

    static Variable mean(Variable x, int axis, boolean keepDim) {
        int d = Shapes.axis(axis, x.rank(), "mean");
        int[] sx = x.shape();
        int n = sx[d];
        return Variable.result("mean", x.data().mean(d, keepDim), in(x),
                node -> g -> grads((keepDim ? g : g.unsqueeze(d)).div(n).expand(sx)));
    }

    static Variable sumAll(Variable x) {
        int[] sx = x.shape();
        return Variable.result("sumAll", x.data().sumAll(), in(x), node -> g -> grads(broadcastScalar(g, sx)));
    }

    static Variable meanAll(Variable x) {
        int[] sx = x.shape();
        long n = x.numel();
        Tensor out;
        try (Tensor s = x.data().sumAll()) {
            out = s.div(n);
        }
        return Variable.result("meanAll", out, in(x), node -> g -> grads(broadcastScalar(g.div(n), sx)));
    }

    private static Tensor broadcastScalar(Tensor g, int[] shape) {
        int[] ones = new int[shape.length];
        Arrays.fill(ones, 1);
        return g.reshape(ones).expand(shape);
    }

    static Variable max(Variable x, int axis, boolean keepDim) {
        int d = Shapes.axis(axis, x.rank(), "max");
        int[] sx = x.shape();
        Tensor out = x.data().max(d, keepDim);
        return Variable.result("max", out, in(x), node -> {
            Tensor argmax = node.own(x.data().argmax(d, true));
            return g -> {
                Tensor gx = Tensor.zeros(g.device(), g.dtype(), sx);
                gx.scatterAddInPlace(d, argmax, keepDim ? g : g.unsqueeze(d));
                return grads(gx);
            };
        });
    }

    static Variable softmax(Variable x, int axis, boolean log) {
        int d = Shapes.axis(axis, x.rank(), log ? "logSoftmax" : "softmax");
        Tensor out = log ? x.data().logSoftmax(d) : x.data().softmax(d);
        return Variable.result(log ? "logSoftmax" : "softmax", out, in(x), node -> {
            Tensor y = node.save(out);
            if (d == x.rank() - 1) return g -> grads(io.reg4rec.engine.FusedSoftmax.backward(y, g, log));   // one fused op
            if (log) {
                // d logsoftmax: g - softmax * sum(g)
                return g -> grads(g.sub(y.exp().mul(g.sum(d, true))));
            }
            // d softmax: y * (g - sum(g * y))
            return g -> grads(y.mul(g.sub(g.mul(y).sum(d, true))));
        });
    }

    // ---------------------------------------------------------------- views

    static Variable reshape(Variable x, int[] shape) {
        int[] sx = x.shape();
        return Variable.result("reshape", x.data().reshape(shape), in(x), node -> g -> grads(g.reshape(sx)));
    }

    static Variable transpose(Variable x, int dim0, int dim1) {
        return Variable.result("transpose", x.data().transpose(dim0, dim1), in(x), node -> g -> grads(g.transpose(dim0, dim1)));
    }

    static Variable permute(Variable x, int[] order) {
        Tensor out = x.data().permute(order);
        int[] inverse = new int[order.length];
        for (int i = 0; i < order.length; i++) inverse[Shapes.axis(order[i], order.length, "permute")] = i;
        return Variable.result("permute", out, in(x), node -> g -> grads(g.permute(inverse)));
    }

    static Variable slice(Variable x, int dim, int start, int end) {
        int d = Shapes.axis(dim, x.rank(), "slice");
        int[] sx = x.shape();
        return Variable.result("slice", x.data().slice(d, start, end), in(x), node -> g -> grads(placeInZeros(g, sx, d, start)));
    }

    static Variable select(Variable x, int dim, int index) {
        int d = Shapes.axis(dim, x.rank(), "select");
        int[] sx = x.shape();
        return Variable.result("select", x.data().select(d, index), in(x), node -> g -> grads(placeInZeros(g.unsqueeze(d), sx, d, index)));
    }

    /** A zero tensor of shape with g written at [start, start + g.size(d)) of dimension d. */
    private static Tensor placeInZeros(Tensor g, int[] shape, int d, int start) {
        Tensor out = Tensor.zeros(g.device(), g.dtype(), shape);
        if (g.numel() > 0) out.scatterAddInPlace(d, rangeIndex(g, d, start), g);
        return out;
    }

    /** I64 indices start, start+1, ... along dimension d, broadcast to like's shape. */
    private static Tensor rangeIndex(Tensor like, int d, int start) {
        int len = like.size(d);
        long[] idx = new long[len];
        for (int i = 0; i < len; i++) idx[i] = start + i;
        int[] lineShape = new int[like.rank()];
        Arrays.fill(lineShape, 1);
        lineShape[d] = len;
        try (Tensor line = Tensor.fromHost(like.device(), DType.I64, idx, lineShape)) {
            return line.expand(like.shape());
        }
    }

    static Variable unsqueeze(Variable x, int dim) {
        int d = Shapes.axis(dim, x.rank() + 1, "unsqueeze");
        return Variable.result("unsqueeze", x.data().unsqueeze(d), in(x), node -> g -> grads(g.squeeze(d)));
    }

    static Variable squeeze(Variable x, int dim) {
        int d = Shapes.axis(dim, x.rank(), "squeeze");
        return Variable.result("squeeze", x.data().squeeze(d), in(x), node -> g -> grads(g.unsqueeze(d)));
    }

    static Variable expand(Variable x, int[] shape) {
        int[] sx = x.shape();
        return Variable.result("expand", x.data().expand(shape), in(x), node -> g -> grads(sumToShape(g, sx)));
    }

    // ---------------------------------------------------------------- indexing

    static Variable gather(Variable x, int axis, Tensor index) {
        int d = Shapes.axis(axis, x.rank(), "gather");
        int[] sx = x.shape();
        return Variable.result("gather", x.data().gather(d, index), in(x), node -> {
            Tensor idx = node.save(index);
            return g -> {
                Tensor gx = Tensor.zeros(g.device(), g.dtype(), sx);
                if (g.numel() > 0) gx.scatterAddInPlace(d, idx, g);
                return grads(gx);
            };
        });
    }

    static Variable indexSelect(Variable x, Tensor index) {
        int[] sx = x.shape();
        return Variable.result("indexSelect", x.data().indexSelect(index), in(x), node -> {
            Tensor idx = node.save(index);
            return g -> {
                Tensor gx = Tensor.zeros(g.device(), g.dtype(), sx);
                if (g.numel() > 0) {
                    int[] lineShape = new int[sx.length];
                    Arrays.fill(lineShape, 1);
                    lineShape[0] = idx.size(0);
                    gx.scatterAddInPlace(0, idx.reshape(lineShape).expand(g.shape()), g);
                }
                return grads(gx);
            };
        });
    }

    static Variable concat(int axis, Variable[] parts) {
        if (parts.length == 0) throw new IllegalArgumentException("concat: needs at least one part");
        Variable first = parts[0];
        int d = Shapes.axis(axis, first.rank(), "concat");
        int[] outShape = first.shape();
        outShape[d] = 0;
        for (Variable p : parts) {
            int[] s = p.shape();
            boolean fits = s.length == outShape.length && p.dtype() == first.dtype() && p.device().equals(first.device());
            for (int i = 0; fits && i < s.length; i++) fits = i == d || s[i] == outShape[i];
            if (!fits) {
                throw new IllegalArgumentException("concat along " + d + ": part " + p.data().describe() + " on " + p.device()
                        + " does not fit " + first.data().describe() + " on " + first.device());
            }
            outShape[d] += s[d];
        }
        Tensor out = Tensor.zeros(first.device(), first.dtype(), outShape);
        int[] starts = new int[parts.length];
        int offset = 0;
        for (int i = 0; i < parts.length; i++) {
            starts[i] = offset;
            Tensor p = parts[i].data();
            if (p.numel() > 0) {
                try (Tensor idx = rangeIndex(p, d, offset)) {
                    out.scatterAddInPlace(d, idx, p);
                }
            }
            offset += p.size(d);
        }
        int[] lengths = Arrays.stream(parts).mapToInt(p -> p.size(d)).toArray();
        return Variable.result("concat", out, parts.clone(), node -> g -> {
            Tensor[] gs = new Tensor[parts.length];
            for (int i = 0; i < parts.length; i++) {
                if (node.needs(i)) gs[i] = g.slice(d, starts[i], starts[i] + lengths[i]);
            }
            return gs;
        });
    }

    // ---- fused layer norm and cross-entropy

    /** Layer norm over the last axis in one fused op each way; gamma / beta [cols] or null. */
    static Variable layerNorm(Variable x, Variable gamma, Variable beta, double eps) {
        FusedOps.LayerNormResult r = FusedOps.layerNorm(x.data(), gamma == null ? null : gamma.data(), beta == null ? null : beta.data(), eps);
        Variable[] inputs = gamma == null && beta == null ? in(x) : gamma == null ? in(x, beta) : beta == null ? in(x, gamma) : in(x, gamma, beta);
        int gammaAt = gamma == null ? -1 : 1, betaAt = beta == null ? -1 : gamma == null ? 1 : 2;
        Variable out = Variable.result("layerNorm", r.out(), inputs, node -> {
            Tensor savedX = node.save(x.data());
            Tensor savedGamma = gamma == null ? null : node.save(gamma.data());
            Tensor mean = node.own(r.mean()), rstd = node.own(r.rstd());
            boolean wantGamma = gammaAt > 0 && node.needs(gammaAt), wantBeta = betaAt > 0 && node.needs(betaAt);
            return g -> {
                FusedOps.LayerNormGrads grads = FusedOps.layerNormBackward(savedX, savedGamma, mean, rstd, g, wantGamma, wantBeta);
                Tensor[] result = new Tensor[inputs.length];
                result[0] = grads.gradX();
                if (gammaAt > 0) result[gammaAt] = grads.gradGamma();
                if (betaAt > 0) result[betaAt] = grads.gradBeta();
                return result;
            };
        });
        if (!out.requiresGrad()) {
            r.mean().close();
            r.rstd().close();
        }
        return out;
    }

    /**
     * Per-position softmax cross-entropy of logits [..., classes] against targets [...] (I32 or
     * I64) in one fused op each way; 0 at ignored positions. The losses are F32 (F64 for F64 logits).
     */
    static Variable crossEntropy(Variable logits, Tensor targets, long ignoreIndex, double labelSmoothing) {
        FusedOps.CrossEntropyResult r = FusedOps.crossEntropy(logits.data(), targets, ignoreIndex, labelSmoothing);
        Variable out = Variable.result("crossEntropy", r.losses(), in(logits), node -> {
            Tensor savedLogits = node.save(logits.data());
            Tensor savedTargets = node.save(targets);
            Tensor lse = node.own(r.logSumExp());
            return g -> grads(FusedOps.crossEntropyBackward(savedLogits, savedTargets, lse, g, ignoreIndex, labelSmoothing));
        });
        if (!out.requiresGrad()) r.logSumExp().close();
        return out;
    }

    // ---- attention

    /**
     * Fused attention (see {@link io.reg4rec.engine.Attention}): the forward saves q, k, v, out,
     * the row log-sum-exps and the padding mask; the backward is one backend attentionBackward call.
     */
    static Variable attention(Variable q, Variable k, Variable v, Tensor keyPadding, boolean causal, double scale) {
        io.reg4rec.engine.Attention.Result r = io.reg4rec.engine.Attention.forward(q.data(), k.data(), v.data(), keyPadding, causal, scale);
        Tensor out = r.out(), lse = r.logSumExp();
        Variable result = Variable.result("attention", out, in(q, k, v), node -> {
            Tensor sq = node.save(q.data()), sk = node.save(k.data()), sv = node.save(v.data()), so = node.save(out);
            Tensor sl = node.own(lse);
            Tensor sp = keyPadding == null ? null : node.save(keyPadding);
            return g -> {
                io.reg4rec.engine.Attention.Gradients gr = io.reg4rec.engine.Attention.backward(sq, sk, sv, sp, causal, scale, so, g, sl);
                // unneeded gradients are temporaries of the node's backward scope
                return grads(node.needs(0) ? gr.gradQ() : null, node.needs(1) ? gr.gradK() : null, node.needs(2) ? gr.gradV() : null);
            };
        });
        if (!result.requiresGrad()) lse.close();
        return result;
    }

    // ---- quantization

    /**
     * q[n] = sum_m gates[n, m] codebooks[m, indices[n, m]] through Backend#codewordSum; indices
     * are constants. Backward runs Backend#codewordSumBackward once for both gradients.
     */
    static Variable codewordSum(Variable codebooks, Tensor indices, Variable gates) {
        Tensor cb = codebooks.data().contiguous(), idx = indices.contiguous(), gt = gates.data().contiguous();
        if (cb.rank() != 3 || idx.rank() != 2) {
            cb.close(); idx.close(); gt.close();
            throw new IllegalArgumentException("codewordSum: codebooks must be [M, D, dc] and indices [N, M], got " + codebooks.data().describe() + " and " + indices.describe());
        }
        Tensor out = Tensor.empty(cb.device(), cb.dtype(), idx.size(0), cb.size(2));
        try {
            cb.backend().codewordSum(cb, idx, gt, out);
        } catch (RuntimeException e) {
            out.close(); cb.close(); idx.close(); gt.close();
            throw e;
        }
        Variable result = Variable.result("codewordSum", out, in(codebooks, gates), node -> {
            Tensor savedCb = node.own(cb), savedIdx = node.own(idx), savedGates = node.own(gt);
            return g -> {
                Tensor gradCb = Tensor.zeros(savedCb.device(), savedCb.dtype(), savedCb.shape());
                Tensor gradGates = Tensor.empty(savedCb.device(), savedCb.dtype(), savedGates.shape());
                savedCb.backend().codewordSumBackward(savedCb, savedIdx, savedGates, g.contiguous(), gradCb, gradGates);
                return grads(node.needs(0) ? gradCb : null, node.needs(1) ? gradGates : null);
            };
        });
        if (result.gradFn() == null) { cb.close(); idx.close(); gt.close(); }   // nothing saved them
        return result;
    }

    /** Row-wise Jensen-Shannon divergence [R, C] x [R, C] -> [R] through Backend#jsDivergence. */
    static Variable jsDivergence(Variable p, Variable q) {
        Tensor pt = p.data().contiguous(), qt = q.data().contiguous();
        if (pt.rank() != 2) {
            pt.close(); qt.close();
            throw new IllegalArgumentException("jsDivergence: p must be [R, C], got " + p.data().describe());
        }
        Tensor out = Tensor.empty(pt.device(), pt.dtype(), pt.size(0));
        try {
            pt.backend().jsDivergence(pt, qt, out);
        } catch (RuntimeException e) {
            out.close(); pt.close(); qt.close();
            throw e;
        }
        Variable result = Variable.result("jsDivergence", out, in(p, q), node -> {
            Tensor savedP = node.own(pt), savedQ = node.own(qt);
            return g -> {
                Tensor gp = Tensor.empty(savedP.device(), savedP.dtype(), savedP.shape());
                Tensor gq = Tensor.empty(savedP.device(), savedP.dtype(), savedP.shape());
                savedP.backend().jsDivergenceBackward(savedP, savedQ, g.contiguous(), gp, gq);
                return grads(node.needs(0) ? gp : null, node.needs(1) ? gq : null);
            };
        });
        if (result.gradFn() == null) { pt.close(); qt.close(); }
        return result;
    }

    // ---- train-step fusions

    /**
     * Inverted dropout through one backend op each way ({@link io.reg4rec.engine.FusedDropout}):
     * nothing is saved, the backward pass redraws the same mask from the seed.
     */
    static Variable dropout(Variable x, long seed, double p) {
        Tensor out = io.reg4rec.engine.FusedDropout.apply(x.data(), seed, p);
        return Variable.result("dropout", out, in(x), node -> g -> grads(io.reg4rec.engine.FusedDropout.apply(g, seed, p)));
    }

    /** gelu(x + bias) over the last axis in one fused op each way; bias [cols] or null. */
    static Variable biasGelu(Variable x, Variable bias) {
        Tensor out = io.reg4rec.engine.FusedBiasGelu.forward(x.data(), bias == null ? null : bias.data());
        int cols = x.size(-1);
        Variable[] inputs = bias == null ? in(x) : in(x, bias);
        return Variable.result("biasGelu", out, inputs, node -> {
            Tensor savedX = node.save(x.data());
            Tensor savedBias = bias == null ? null : node.save(bias.data());
            return g -> {
                Tensor gx = io.reg4rec.engine.FusedBiasGelu.backward(savedX, savedBias, g);
                if (bias == null) return grads(gx);
                Tensor gb = node.needs(1) ? sumToShape(gx.reshape(-1, cols), new int[]{cols}) : null;
                return grads(node.needs(0) ? gx : null, gb);
            };
        });
    }

    /**
     * x [b, t, d] plus bias [d], as heads [b, heads, t, d / heads] (contiguous): one broadcast add
     * that reads x through the head-split view, so the bias add and the head layout copy are one
     * op. Backward: x's gradient is one copy back to [b, t, d], bias's its row sum.
     */
    static Variable addBiasSplitHeads(Variable x, Variable bias, int heads) {
        int[] sx = x.shape();
        if (sx.length != 3 || sx[2] % heads != 0 || bias.rank() != 1 || bias.size(0) != sx[2]) {
            throw new IllegalArgumentException("addBiasSplitHeads: needs x [b, t, d] with d divisible by " + heads + " and bias [d], got "
                    + x.data().describe() + " and " + bias.data().describe());
        }
        int b = sx[0], t = sx[1], d = sx[2], hd = d / heads;
        Tensor out;
        try (Tensor split = x.data().reshape(b, t, heads, hd); Tensor xv = split.permute(0, 2, 1, 3);
             Tensor bv = bias.data().reshape(1, heads, 1, hd)) {
            out = xv.add(bv);
        }
        return Variable.result("addBiasSplitHeads", out, in(x, bias), node -> g -> {
            Tensor gx = g.permute(0, 2, 1, 3).reshape(b, t, d);
            return grads(node.needs(0) ? gx : null, node.needs(1) ? gx.reshape(-1, d).sum(0, false) : null);
        });
    }

    /** residual + dropout(x) in one op each way (same shapes): the residual's gradient is g itself. */
    static Variable addDropout(Variable residual, Variable x, long seed, double p) {
        Tensor out = io.reg4rec.engine.FusedDropout.apply(x.data(), residual.data(), seed, p);
        return Variable.result("addDropout", out, in(residual, x), node -> g -> grads(
                node.needs(0) ? alias(g) : null,
                node.needs(1) ? io.reg4rec.engine.FusedDropout.apply(g, seed, p) : null));
    }

    /** residual + dropout(x + bias) in one op each way; bias [cols] gets the row sum of x's gradient. */
    static Variable addDropout(Variable residual, Variable x, Variable bias, long seed, double p) {
        Tensor out = io.reg4rec.engine.FusedDropout.apply(x.data(), bias.data(), residual.data(), seed, p);
        int cols = x.size(-1);
        return Variable.result("addBiasDropout", out, in(residual, x, bias), node -> g -> {
            Tensor gx = node.needs(1) || node.needs(2) ? io.reg4rec.engine.FusedDropout.apply(g, seed, p) : null;
            return grads(node.needs(0) ? alias(g) : null, node.needs(1) ? gx : null,
                    node.needs(2) ? sumToShape(gx.reshape(-1, cols), new int[]{cols}) : null);
        });
    }
}

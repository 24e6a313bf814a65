package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Distribution;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every differentiable op, forward and backward, on the CPU (F32) and on CUDA (F32) from the same
 * random inputs and the same random output gradient: the values and every input gradient must
 * agree. One table of cases (odd shapes, broadcasting, strided views), one comparison loop.
 *
 * <p>Tolerance: per array, |cpu - gpu| <= tol * max|cpu| + 1e-7 per element, with tol = 2e-5 by
 * default (the CPU rounds double results to fp32, CUDA computes in fp32 with up to a few ulp from
 * the transcendental intrinsics and other summation orders); reductions over longer axes, matmul
 * and the fused ops state their own tol in the table.
 */
class CudaOpGradientTest {
    private static final double DEFAULT_TOL = 2e-5;

    /** The op under test; constants (masks, indices, targets) are built on the CPU and moved to {@code device}. */
    @FunctionalInterface
    interface OpFunction {
        Variable apply(Variable[] v, Device device);
    }

    /** One input: its shape and the uniform range its values are drawn from. */
    record Input(int[] shape, double lo, double hi) {}

    record Case(String name, Input[] inputs, double tol, OpFunction f) {}

    private static Input in(double lo, double hi, int... shape) { return new Input(shape, lo, hi); }

    private static Input any(int... shape) { return in(-2, 2, shape); }

    private static Input positive(int... shape) { return in(0.5, 2, shape); }

    private static Case op(String name, OpFunction f, Input... inputs) { return new Case(name, inputs, DEFAULT_TOL, f); }

    private static Case op(String name, double tol, OpFunction f, Input... inputs) { return new Case(name, inputs, tol, f); }

    private static Tensor indices(Device d, long[] v, int... shape) {
        try (Tensor c = Tensor.of(Device.CPU, v, shape)) {
            return c.to(d);
        }
    }

    private static Tensor floats(Device d, float[] v, int... shape) {
        try (Tensor c = Tensor.of(Device.CPU, v, shape)) {
            return c.to(d);
        }
    }

    /** A 0/1 F32 mask of shape with ones where (i * 7) % 3 == 0. */
    private static Tensor mask(Device d, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] m = new float[n];
        for (int i = 0; i < n; i++) m[i] = (i * 7) % 3 == 0 ? 1 : 0;
        return floats(d, m, shape);
    }

    private static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        // binary, same shape and broadcasting both ways
        c.add(op("add", (v, d) -> v[0].add(v[1]), any(3, 5, 7), any(3, 5, 7)));
        c.add(op("add broadcast", (v, d) -> v[0].add(v[1]), any(3, 5, 7), any(5, 1)));
        c.add(op("sub broadcast", (v, d) -> v[0].sub(v[1]), any(7), any(3, 5, 7)));
        c.add(op("mul broadcast", (v, d) -> v[0].mul(v[1]), any(3, 1, 7), any(5, 1)));
        c.add(op("div broadcast", (v, d) -> v[0].div(v[1]), any(3, 5, 7), positive(1, 5, 1)));
        c.add(op("same variable twice", (v, d) -> v[0].mul(v[0]).div(v[0].add(3.0)), positive(11)));
        // with a scalar
        c.add(op("addScalar", (v, d) -> v[0].add(0.7), any(9, 3)));
        c.add(op("subScalar", (v, d) -> v[0].sub(1.3), any(9, 3)));
        c.add(op("mulScalar", (v, d) -> v[0].mul(-1.7), any(9, 3)));
        c.add(op("divScalar", (v, d) -> v[0].div(2.5), any(9, 3)));
        c.add(op("rsubScalar", (v, d) -> v[0].rsub(2.0), any(9, 3)));
        c.add(op("rdivScalar", (v, d) -> v[0].rdiv(3.0), positive(9, 3)));
        for (double p : new double[]{2, 3, 0.5, -1.5}) c.add(op("pow " + p, (v, d) -> v[0].pow(p), positive(9, 3)));
        c.add(op("square", (v, d) -> v[0].square(), any(13)));
        // unary
        c.add(op("neg", (v, d) -> v[0].neg(), any(5, 3)));
        c.add(op("exp", (v, d) -> v[0].exp(), any(5, 3)));
        c.add(op("log", (v, d) -> v[0].log(), positive(5, 3)));
        c.add(op("sqrt", (v, d) -> v[0].sqrt(), positive(5, 3)));
        c.add(op("rsqrt", (v, d) -> v[0].rsqrt(), positive(5, 3)));
        c.add(op("tanh", (v, d) -> v[0].tanh(), any(5, 3)));
        c.add(op("sigmoid", (v, d) -> v[0].sigmoid(), any(5, 3)));
        c.add(op("relu", (v, d) -> v[0].relu(), any(5, 3)));
        c.add(op("gelu", (v, d) -> v[0].gelu(), any(5, 3)));
        // masks and casts
        c.add(op("maskedFill", (v, d) -> v[0].maskedFill(mask(d, 3, 1, 7), -1e4), any(3, 5, 7)));
        c.add(op("where", (v, d) -> Variable.where(mask(d, 5, 7), v[0], v[1]), any(3, 5, 7), any(7)));
        c.add(op("cast to bf16 and back", 1.0 / 128, (v, d) -> v[0].to(DType.BF16).mul(1.5).to(DType.F32), any(4, 9)));
        // matrix products
        c.add(op("matmul 2d", 1e-5, (v, d) -> v[0].matmul(v[1]), any(7, 13), any(13, 5)));
        c.add(op("matmul batched", 1e-5, (v, d) -> v[0].matmul(v[1]), any(3, 7, 13), any(3, 13, 5)));
        c.add(op("matmul 3d x 2d", 1e-5, (v, d) -> v[0].matmul(v[1]), any(3, 7, 13), any(13, 5)));
        c.add(op("matmul 2d x 3d", 1e-5, (v, d) -> v[0].matmul(v[1]), any(7, 13), any(3, 13, 5)));
        c.add(op("matmul batch 1 x batch 3", 1e-5, (v, d) -> v[0].matmul(v[1]), any(1, 7, 13), any(3, 13, 5)));
        c.add(op("matmul transposed operands", 1e-5, (v, d) -> v[0].transpose(0, 1).matmul(v[1].transpose(-1, -2)), any(13, 7), any(3, 5, 13)));
        // reductions
        c.add(op("sum axis", (v, d) -> v[0].sum(1, false), any(3, 5, 7)));
        c.add(op("sum keepDim", (v, d) -> v[0].sum(-1, true), any(3, 5, 7)));
        c.add(op("mean axis", (v, d) -> v[0].mean(0, false), any(3, 5, 7)));
        c.add(op("mean keepDim", (v, d) -> v[0].mean(1, true), any(3, 5, 7)));
        c.add(op("sumAll", 1e-4, (v, d) -> v[0].sumAll(), any(3, 5, 7)));
        c.add(op("meanAll", 1e-4, (v, d) -> v[0].meanAll(), any(3, 5, 7)));
        c.add(op("max", (v, d) -> v[0].max(1, false), any(3, 5, 7)));
        c.add(op("max keepDim", (v, d) -> v[0].max(-1, true), any(3, 5, 7)));
        c.add(op("softmax last", (v, d) -> v[0].softmax(-1), any(3, 5, 7)));
        c.add(op("softmax middle", (v, d) -> v[0].softmax(1), any(3, 5, 7)));
        c.add(op("logSoftmax last", (v, d) -> v[0].logSoftmax(-1), any(3, 5, 7)));
        c.add(op("logSoftmax first", (v, d) -> v[0].logSoftmax(0), any(3, 5, 7)));
        // views (followed by an elementwise op so the gradient meets strided data)
        c.add(op("reshape", (v, d) -> v[0].reshape(5, -1).mul(v[0].reshape(5, -1)), any(3, 5, 7)));
        c.add(op("transpose", (v, d) -> v[0].transpose(0, 2).exp(), any(3, 5, 7)));
        c.add(op("permute", (v, d) -> v[0].permute(2, 0, 1).tanh(), any(3, 5, 7)));
        c.add(op("slice", (v, d) -> v[0].slice(1, 1, 4).exp(), any(3, 5, 7)));
        c.add(op("select", (v, d) -> v[0].select(2, 3).sigmoid(), any(3, 5, 7)));
        c.add(op("unsqueeze", (v, d) -> v[0].unsqueeze(1).mul(v[1]), any(3, 7), any(5, 1)));
        c.add(op("squeeze", (v, d) -> v[0].squeeze(1).exp(), any(3, 1, 7)));
        c.add(op("expand", (v, d) -> v[0].expand(3, 5, 7).mul(v[1]), any(5, 1), any(3, 5, 7)));
        // indexing
        c.add(op("gather", (v, d) -> v[0].gather(1, indices(d, new long[]{0, 4, 4, 2, 1, 3, 0, 0, 2}, 3, 3)), any(3, 5)));
        c.add(op("gather repeated rows", (v, d) -> v[0].gather(0, indices(d, new long[]{2, 2, 0, 1, 2, 2, 2, 0}, 2, 4)), any(3, 4)));
        c.add(op("indexSelect", (v, d) -> v[0].indexSelect(indices(d, new long[]{6, 0, 6, 3, 3, 3, 1}, 7)), any(7, 9)));
        c.add(op("concat", (v, d) -> Variable.concat(1, v[0], v[1], v[2]).tanh(), any(3, 2, 5), any(3, 1, 5), any(3, 4, 5)));
        // fused ops
        c.add(op("layerNorm affine", 1e-4, (v, d) -> v[0].layerNorm(v[1], v[2], 1e-5), any(3, 5, 33), positive(33), any(33)));
        c.add(op("layerNorm plain", 1e-4, (v, d) -> v[0].layerNorm(null, null, 1e-5), any(17, 1031)));
        c.add(op("layerNorm beta only", 1e-4, (v, d) -> v[0].layerNorm(null, v[1], 1e-3), any(9, 7), any(7)));
        c.add(op("crossEntropy", 1e-4, (v, d) -> v[0].crossEntropy(indices(d, new long[]{3, -100, 0, 299, 17, -100, 5}, 7), -100, 0.0),
                in(-4, 4, 7, 300)));
        c.add(op("crossEntropy smoothed", 1e-4, (v, d) -> v[0].crossEntropy(indices(d, new long[]{3, 1, -1, 0, 2, 2}, 2, 3), -1, 0.1),
                in(-4, 4, 2, 3, 1025)));
        c.add(op("softmaxCrossEntropy loss", 1e-4, (v, d) -> Losses.softmaxCrossEntropy(v[0], indices(d, new long[]{1, 0, 4, 4, 2}, 5)), any(5, 5)));
        return c;
    }

    /** The output followed by each input's gradient (zeros where none arrived), as floats. */
    private static List<float[]> run(Case k, Device device) {
        List<float[]> out = new ArrayList<>();
        try (Scope scope = Scope.open()) {
            Variable[] v = new Variable[k.inputs.length];
            for (int i = 0; i < v.length; i++) {
                Input spec = k.inputs[i];
                Tensor host = Tensor.random(Device.CPU, DType.F32, Distribution.UNIFORM, 1000L * (i + 1) + k.name.hashCode(), spec.lo, spec.hi, spec.shape);
                v[i] = Variable.input(host.to(device), "in" + i);
            }
            Variable y = k.f.apply(v, device);
            Tensor gradOut = Tensor.randn(Device.CPU, y.dtype(), 77, y.shape()).to(device);
            y.backward(gradOut);
            out.add(y.data().toFloatArray());
            for (Variable x : v) {
                out.add(x.grad() == null ? new float[(int) x.numel()] : x.grad().toFloatArray());
                x.zeroGrad();
            }
        }
        return out;
    }

    @Test
    @Tag("gpu")
    void everyOpMatchesTheCpuForwardAndBackward() {
        assumeTrue(Engine.cudaAvailable(), "no CUDA device");
        List<String> failures = new ArrayList<>();
        for (Case k : cases()) {
            List<float[]> cpu, gpu;
            try {
                cpu = run(k, Device.CPU);
                gpu = run(k, Device.cuda(0));
            } catch (RuntimeException e) {
                failures.add(k.name + ": threw " + e);
                continue;
            }
            for (int a = 0; a < cpu.size(); a++) {
                String what = k.name + (a == 0 ? " value" : " gradient of input " + (a - 1));
                String problem = compare(cpu.get(a), gpu.get(a), k.tol);
                if (problem != null) failures.add(what + ": " + problem);
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " mismatches:\n" + String.join("\n", failures));
    }

    /** Null when every element is within tol * max|expected| + 1e-7, else a description of the worst one. */
    private static String compare(float[] expected, float[] actual, double tol) {
        if (expected.length != actual.length) return "length " + actual.length + ", expected " + expected.length;
        double scale = 0;
        for (float e : expected) scale = Math.max(scale, Math.abs(e));
        double bound = tol * scale + 1e-7, worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs((double) expected[i] - actual[i]);
            if (Double.isNaN(diff)) diff = Float.isNaN(expected[i]) && Float.isNaN(actual[i]) ? 0 : Double.POSITIVE_INFINITY;
            if (diff > worst) {
                worst = diff;
                worstAt = i;
            }
        }
        if (worst <= bound) return null;
        return "element " + worstAt + " is " + actual[worstAt] + ", expected " + expected[worstAt] + " (|diff| " + worst + " > " + bound + ")";
    }

    /** The table itself runs on the CPU (CPU against CPU): every case builds, and backward reaches every input. */
    @Test
    void everyCaseRunsOnTheCpu() {
        for (Case k : cases()) {
            List<float[]> a = run(k, Device.CPU), b = run(k, Device.CPU);
            for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i), k.name + " is not deterministic on the CPU");
        }
    }
}

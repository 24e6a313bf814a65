package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Checks analytic gradients against central finite differences, in F64 on the CPU backend.
 *
 * <p>A non-scalar output y is reduced to the scalar L = sum(y * r) with a fixed random r, so one
 * backward pass (with output gradient r) checks the whole Jacobian against r. For every element
 * x_j of every input, the numeric derivative is (L(x_j + h) - L(x_j - h)) / 2h with h = 1e-6
 * (truncation error O(h^2) about 1e-12, rounding error about 1e-16 |L| / h). The error of one
 * element is |analytic - numeric| / max(|analytic|, |numeric|, 1e-3): relative, with an absolute
 * floor so that gradients that are exactly zero compare by absolute error.
 *
 * <pre>{@code
 * GradCheck.of(v -> v[0].matmul(v[1]).tanh())
 *          .input("x", x).input("w", w)
 *          .run().assertBelow(1e-6);
 * }</pre>
 * The function must build any constants it uses (masks, targets) in F64 on the CPU.
 */
public final class GradCheck {
    private static final double DENOMINATOR_FLOOR = 1e-3;

    /** The worst element over all inputs. */
    public record Result(double maxError, String worstInput, long worstIndex, double analytic, double numeric, long checkedElements) {
        public boolean passed(double tolerance) {
            return maxError <= tolerance;
        }

        /** Throws an AssertionError naming the worst input and element when the error exceeds tolerance. */
        public Result assertBelow(double tolerance) {
            if (!passed(tolerance)) throw new AssertionError("gradient check failed: " + this + " (tolerance " + tolerance + ")");
            return this;
        }

        @Override
        public String toString() {
            if (worstInput == null) return "no elements checked";
            return String.format("worst relative error %.3e at %s[%d]: analytic %.10g, numeric %.10g (%d elements checked)",
                    maxError, worstInput, worstIndex, analytic, numeric, checkedElements);
        }
    }

    private final Function<Variable[], Variable> function;
    private final List<String> names = new ArrayList<>();
    private final List<int[]> shapes = new ArrayList<>();
    private final List<double[]> values = new ArrayList<>();
    private double step = 1e-6;
    private long seed = 42;
    /** The fixed random r, shaped like the output; made by the analytic pass, lives in run()'s scope. */
    private Tensor projectionTensor;

    private GradCheck(Function<Variable[], Variable> function) {
        this.function = function;
    }

    /** The function under test; it receives the inputs in the order they are added. */
    public static GradCheck of(Function<Variable[], Variable> function) {
        return new GradCheck(function);
    }

    /** Adds an input; its values are copied (converted to F64), the caller keeps the tensor. */
    public GradCheck input(String name, Tensor value) {
        try (Tensor cpu = value.to(Device.CPU); Tensor f64 = cpu.to(DType.F64)) {
            names.add(name);
            shapes.add(value.shape());
            values.add((double[]) f64.toHost());
        }
        return this;
    }

    /** The finite-difference step h (default 1e-6). */
    public GradCheck step(double h) {
        this.step = h;
        return this;
    }

    /** Seed of the random projection r. */
    public GradCheck seed(long seed) {
        this.seed = seed;
        return this;
    }

    public Result run() {
        try (Scope scope = Scope.open()) {
            double[][] analytic = analyticGradients();
            Tensor projection = projectionTensor;
            double worst = -1, worstAnalytic = 0, worstNumeric = 0;
            String worstName = null;
            long worstIndex = -1, checked = 0;
            for (int i = 0; i < values.size(); i++) {
                double[] x = values.get(i);
                for (int j = 0; j < x.length; j++) {
                    double original = x[j];
                    x[j] = original + step;
                    double plus = projectedOutput(projection);
                    x[j] = original - step;
                    double minus = projectedOutput(projection);
                    x[j] = original;
                    double numeric = (plus - minus) / (2 * step);
                    double a = analytic[i][j];
                    double error = Math.abs(a - numeric) / Math.max(Math.max(Math.abs(a), Math.abs(numeric)), DENOMINATOR_FLOOR);
                    if (Double.isNaN(error)) error = Double.POSITIVE_INFINITY;
                    checked++;
                    if (error > worst) {
                        worst = error;
                        worstName = names.get(i);
                        worstIndex = j;
                        worstAnalytic = a;
                        worstNumeric = numeric;
                    }
                }
            }
            return new Result(Math.max(worst, 0), worstName, worstIndex, worstAnalytic, worstNumeric, checked);
        }
    }

    private Variable[] variables(boolean requireGrad) {
        Variable[] vars = new Variable[values.size()];
        for (int i = 0; i < vars.length; i++) {
            Tensor t = Tensor.fromHost(Device.CPU, DType.F64, values.get(i), shapes.get(i));
            vars[i] = requireGrad ? Variable.input(t, names.get(i)) : Variable.constant(t);
        }
        return vars;
    }

    private double[][] analyticGradients() {
        Variable[] vars = variables(true);
        Variable out = function.apply(vars);
        if (out.dtype() != DType.F64) {
            throw new IllegalStateException("gradient check: the function must compute in F64 (build constants in F64), its output is " + out.data().describe());
        }
        projectionTensor = Tensor.randn(Device.CPU, DType.F64, seed, out.shape());
        if (out.requiresGrad()) out.backward(projectionTensor);
        double[][] grads = new double[vars.length][];
        for (int i = 0; i < vars.length; i++) {
            Tensor g = vars[i].grad();
            if (g == null) {
                grads[i] = new double[values.get(i).length];
            } else {
                if (!Arrays.equals(g.shape(), shapes.get(i))) {
                    throw new AssertionError("gradient of " + names.get(i) + " has shape " + Arrays.toString(g.shape())
                            + ", the input has " + Arrays.toString(shapes.get(i)));
                }
                grads[i] = (double[]) g.toHost();
            }
            vars[i].zeroGrad();
        }
        return grads;
    }

    private double projectedOutput(Tensor projection) {
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            Variable out = function.apply(variables(false));
            if (!Arrays.equals(out.shape(), projection.shape())) {
                throw new IllegalStateException("gradient check: the output shape changed from " + Arrays.toString(projection.shape())
                        + " to " + Arrays.toString(out.shape()));
            }
            if (out.numel() == 0) return 0;
            Tensor dot = out.data().mul(projection).sumAll();
            return ((double[]) dot.toHost())[0];
        }
    }
}

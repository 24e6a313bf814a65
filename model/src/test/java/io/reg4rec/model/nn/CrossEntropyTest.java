package io.reg4rec.model.nn;

import io.reg4rec.autograd.GradCheck;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class CrossEntropyTest {
    /** The loss computed directly in doubles. */
    private static double reference(double[] logits, long[] targets, int classes, long ignore, double eps) {
        double total = 0;
        int counted = 0;
        for (int r = 0; r < targets.length; r++) {
            if (targets[r] == ignore) continue;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) max = Math.max(max, logits[r * classes + c]);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.exp(logits[r * classes + c] - max);
            double logZ = max + Math.log(sum);
            double nll = logZ - logits[(int) (r * classes + targets[r])];
            double smooth = 0;
            for (int c = 0; c < classes; c++) smooth += (logZ - logits[r * classes + c]) / classes;
            total += (1 - eps) * nll + eps * smooth;
            counted++;
        }
        return counted == 0 ? 0 : total / counted;
    }

    @Test
    void matchesTheDirectFormulaWithIgnoredLabelsAndSmoothing() {
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.randn(Device.CPU, DType.F64, 3, 2, 3, 5);
            long[] t = {4, -100, 0, 2, -100, 1};
            Tensor targets = Tensor.of(Device.CPU, t, 2, 3);
            double[] l = (double[]) logits.toHost();
            for (double eps : new double[]{0.0, 0.1}) {
                double got = ((double[]) CrossEntropy.loss(Variable.constant(logits), targets, -100, eps).data().toHost())[0];
                assertEquals(reference(l, t, 5, -100, eps), got, 1e-12, "eps " + eps);
            }
        }
    }

    @Test
    void gradientChecksWithIgnoredLabelsAndSmoothing() {
        try (Scope s = Scope.open()) {
            Tensor targets = Tensor.of(Device.CPU, new long[]{4, 7, 0, 2, 7, 1}, 6);
            GradCheck.of(v -> CrossEntropy.loss(v[0], targets, 7, 0.2))
                    .input("logits", Tensor.randn(Device.CPU, DType.F64, 4, 6, 5))
                    .run().assertBelow(1e-6);
            GradCheck.of(v -> CrossEntropy.loss(v[0], targets, 7, 0.0))
                    .input("logits", Tensor.randn(Device.CPU, DType.F64, 5, 6, 5))
                    .run().assertBelow(1e-6);
        }
    }

    @Test
    void ignoredRowsGetNoGradientAndAnAllIgnoredBatchGivesZero() {
        try (Scope s = Scope.open()) {
            Variable logits = Variable.input(Tensor.randn(Device.CPU, DType.F32, 6, 3, 4), "logits");
            Tensor targets = Tensor.of(Device.CPU, new int[]{1, -100, 3}, 3);
            CrossEntropy.loss(logits, targets, -100, 0.1).backward();
            float[] g = logits.grad().toFloatArray();
            for (int c = 0; c < 4; c++) assertEquals(0f, g[4 + c]);
            Variable none = CrossEntropy.loss(Variable.constant(Tensor.randn(Device.CPU, DType.F32, 7, 2, 4)),
                    Tensor.of(Device.CPU, new long[]{-100, -100}, 2), -100, 0.1);
            assertEquals(0.0, none.item());
            logits.zeroGrad();
        }
    }

    @Test
    void rejectsMismatchedShapes() {
        try (Scope s = Scope.open()) {
            Variable logits = Variable.constant(Tensor.zeros(Device.CPU, DType.F32, 3, 4));
            assertThrows(IllegalArgumentException.class, () -> CrossEntropy.loss(logits, Tensor.of(Device.CPU, new long[]{1, 2}, 2)));
        }
    }
}

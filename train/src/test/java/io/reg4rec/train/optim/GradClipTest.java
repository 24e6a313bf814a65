package io.reg4rec.train.optim;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class GradClipTest {
    /** Parameters whose gradients are (3, 4) and (12): global norm 13. */
    private static List<Variable> withGradients() {
        Variable a = Variable.parameter(Tensor.of(Device.CPU, new float[]{1.5f, 2f}, 2), "a");
        Variable b = Variable.parameter(Tensor.of(Device.CPU, new float[]{6f}, 1), "b");
        try (Scope s = Scope.open()) {
            a.square().sumAll().add(b.square().sumAll()).backward();   // gradients 2a, 2b
        }
        return List.of(a, b);
    }

    @Test
    void scalesAllGradientsByTheGlobalNormAndReturnsThePreClipNorm() {
        List<Variable> params = withGradients();
        try {
            assertEquals(13.0, GradClip.clipGlobalNorm(params, 6.5), 1e-5);
            float[] ga = params.get(0).grad().toFloatArray(), gb = params.get(1).grad().toFloatArray();
            assertArrayEquals(new float[]{1.5f, 2f}, ga, 1e-5f);
            assertArrayEquals(new float[]{6f}, gb, 1e-5f);
            assertEquals(6.5, GradClip.clipGlobalNorm(params, 100), 1e-5, "now within the limit: unchanged");
            assertArrayEquals(new float[]{6f}, params.get(1).grad().toFloatArray(), 1e-5f);
        } finally {
            params.forEach(Variable::close);
        }
    }

    @Test
    void noGradientsGiveZero() {
        Variable a = Variable.parameter(Tensor.of(Device.CPU, new float[]{1}, 1), "a");
        try {
            assertEquals(0.0, GradClip.clipGlobalNorm(List.of(a), 1.0));
        } finally {
            a.close();
        }
    }

    @Test
    void aLargeGradientGivesTheFp64Norm() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        float[] big = new float[70_001];
        double expected = 0;
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) (r.nextDouble() - 0.5);
            expected += (double) big[i] * big[i];
        }
        Variable a = Variable.parameter(Tensor.of(Device.CPU, big, 70_001), "a");
        Variable b = Variable.parameter(Tensor.of(Device.CPU, new float[6], 2, 3), "b");
        try (Scope s = Scope.open()) {
            // a's gradient is a itself, b's the transposed constant (sum of squares 91)
            Tensor c = Tensor.of(Device.CPU, new float[]{1, 2, 3, 4, 5, 6}, 3, 2);
            a.square().sumAll().mul(0.5).add(b.mul(Variable.constant(c.transpose(0, 1))).sumAll()).backward();
            expected += 91;
            assertEquals(Math.sqrt(expected), GradClip.clipGlobalNorm(List.of(a, b), 1e9), 1e-4 * Math.sqrt(expected));
            double clipped = GradClip.clipGlobalNorm(List.of(a, b), 1.0);
            assertEquals(Math.sqrt(expected), clipped, 1e-4 * Math.sqrt(expected));
            assertEquals(1.0, GradClip.clipGlobalNorm(List.of(a, b), 1e9), 1e-4, "the clipped gradients have norm 1");
        } finally {
            a.close();
            b.close();
        }
    }
}

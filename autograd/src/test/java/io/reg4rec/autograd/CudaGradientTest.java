package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The same derivatives on CUDA: an MLP with softmax cross-entropy matches the CPU's gradients. */
@Tag("gpu")
class CudaGradientTest {

    /** Runs forward and backward on one device; returns the loss followed by every parameter gradient, as floats. */
    private static List<float[]> lossAndGradients(Device device, List<Tensor> initial, Tensor x, Tensor targets) {
        List<float[]> out = new ArrayList<>();
        try (Scope scope = Scope.open()) {
            List<Variable> p = new ArrayList<>();
            for (int i = 0; i < initial.size(); i++) p.add(Variable.input(initial.get(i).to(device), "p" + i));
            Variable input = Variable.constant(x.to(device));
            Variable hidden = input.matmul(p.get(0)).add(p.get(1)).gelu();
            Variable hidden2 = hidden.matmul(p.get(2)).add(p.get(3)).tanh();
            Variable logits = hidden2.matmul(p.get(4)).add(p.get(5));
            Variable loss = Losses.softmaxCrossEntropy(logits, targets.to(device));
            loss.backward();
            out.add(new float[]{(float) loss.item()});
            for (Variable v : p) {
                out.add(v.grad().toFloatArray());
                v.zeroGrad();
            }
        }
        return out;
    }

    @Test
    void mlpGradientsOnCudaMatchTheCpu() {
        assumeTrue(Engine.cudaAvailable(), "no CUDA device");
        try (Scope scope = Scope.open()) {
            int[][] shapes = {{24, 64}, {64}, {64, 32}, {32}, {32, 10}, {10}};
            List<Tensor> initial = new ArrayList<>();
            for (int i = 0; i < shapes.length; i++) initial.add(Tensor.randn(Device.CPU, DType.F32, 100 + i, shapes[i]).mul(0.3));
            Tensor x = Tensor.randn(Device.CPU, DType.F32, 7, 16, 24);
            long[] t = new long[16];
            for (int i = 0; i < t.length; i++) t[i] = (i * 7) % 10;
            Tensor targets = Tensor.of(Device.CPU, t, 16);

            List<float[]> cpu = lossAndGradients(Device.CPU, initial, x, targets);
            List<float[]> gpu = lossAndGradients(Device.cuda(0), initial, x, targets);
            for (int k = 0; k < cpu.size(); k++) {
                float[] a = cpu.get(k), b = gpu.get(k);
                assertEquals(a.length, b.length);
                double scale = 0, diff = 0;
                for (int i = 0; i < a.length; i++) {
                    scale = Math.max(scale, Math.abs(a[i]));
                    diff = Math.max(diff, Math.abs(a[i] - b[i]));
                }
                String what = k == 0 ? "loss" : "gradient of p" + (k - 1);
                assertTrue(diff <= 1e-4 * scale, what + ": max difference " + diff + " relative to max " + scale);
            }
        }
    }
}

package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A training loop in per-step scopes neither frees parameters nor leaks. */
class TrainingMemoryTest {

    private static long inUseBytes() {
        return Engine.backend(Device.CPU).memoryStats().inUseBytes();
    }

    private static Tensor randn(long seed, double scale, int... shape) {
        try (Tensor t = Tensor.randn(Device.CPU, DType.F32, seed, shape)) {
            return t.mul(scale);
        }
    }

    @Test
    void fiftyStepsInPerStepScopesHoldMemorySteady() {
        List<Variable> params = List.of(
                Variable.parameter(randn(1, 0.5, 4, 8), "w1"),
                Variable.parameter(Tensor.zeros(Device.CPU, DType.F32, 8), "b1"),
                Variable.parameter(randn(2, 0.5, 8, 3), "w2"),
                Variable.parameter(Tensor.zeros(Device.CPU, DType.F32, 3), "b2"));
        Tensor x = randn(3, 1.0, 6, 4);
        Tensor targets = Tensor.of(Device.CPU, new long[]{0, 1, 2, 0, 1, 2}, 6);
        double lr = 0.2;
        long atStep10 = -1, atStep50 = -1;
        double firstLoss = Double.NaN, lastLoss = Double.NaN;
        long beforeTraining = inUseBytes();
        try {
            for (int step = 1; step <= 50; step++) {
                try (Scope s = Scope.open()) {
                    Variable input = Variable.constant(x.reshape(6, 4));
                    Variable hidden = input.matmul(params.get(0)).add(params.get(1)).gelu();
                    Variable logits = hidden.matmul(params.get(2)).add(params.get(3));
                    Variable loss = Losses.softmaxCrossEntropy(logits, targets);
                    // odd steps also build a graph that is never backpropagated: the scope must free it
                    if (step % 2 == 1) hidden.exp().sumAll();
                    loss.backward();
                    double value = loss.item();
                    if (step == 1) firstLoss = value;
                    lastLoss = value;
                    try (NoGrad ignored = NoGrad.enter()) {
                        for (Variable p : params) p.update(p.data().sub(p.grad().mul(lr)));
                    }
                    // every other step keeps the gradients alive across the scope, the rest zero them
                    if (step % 2 == 0) for (Variable p : params) p.zeroGrad();
                }
                if (step == 10) atStep10 = inUseBytes();
                if (step == 50) atStep50 = inUseBytes();
            }
            assertEquals(atStep10, atStep50, "CPU bytes in use at step 10 and step 50");
            assertEquals(beforeTraining, atStep50, "with gradients zeroed, only parameters and data remain");
            assertTrue(lastLoss < firstLoss * 0.8, "the loss falls: " + firstLoss + " -> " + lastLoss);
            for (Variable p : params) assertFalse(p.data().isClosed());
        } finally {
            for (Variable p : params) p.close();
            x.close();
            targets.close();
        }
    }
}

package io.reg4rec.train.optim;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.model.nn.EncoderDecoderTransformer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** On the CPU the same seeds give bit-identical training, dropout and label smoothing included. */
class DeterminismTest {
    private static final ReverseTask TASK = new ReverseTask(5);

    /** Trains a few steps; returns every parameter's raw bits followed by the losses' bits. */
    private static List<int[]> train(long modelSeed, int steps) {
        List<int[]> out = new ArrayList<>();
        try (EncoderDecoderTransformer model = TASK.model(Device.CPU, modelSeed, 0.1);
             AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Options.defaults())) {
            int[] losses = new int[steps];
            for (int step = 0; step < steps; step++) {
                try (Scope s = Scope.open()) {
                    losses[step] = Float.floatToRawIntBits((float) ReverseTask.trainStep(model, optimizer, TASK.batch(Device.CPU, 50 + step, 16), 1e-3, 0.1));
                }
            }
            for (Variable p : model.parameters()) {
                float[] v = p.data().toFloatArray();
                int[] bits = new int[v.length];
                for (int i = 0; i < v.length; i++) bits[i] = Float.floatToRawIntBits(v[i]);
                out.add(bits);
            }
            out.add(losses);
        }
        return out;
    }

    @Test
    void sameSeedGivesBitIdenticalParameters() {
        List<int[]> a = train(11, 4), b = train(11, 4);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i), "tensor " + i);
        List<int[]> c = train(12, 4);
        assertFalse(java.util.Arrays.equals(a.get(0), c.get(0)), "another seed trains another model");
    }

    @Test
    void trainingStepsHoldMemorySteady() {
        try (EncoderDecoderTransformer model = TASK.model(Device.CPU, 3, 0.1);
             AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Options.defaults())) {
            long atStep2 = 0;
            for (int step = 0; step < 8; step++) {
                try (Scope s = Scope.open()) {
                    ReverseTask.trainStep(model, optimizer, TASK.batch(Device.CPU, step, 8), 1e-3, 0.1);
                }
                if (step == 2) atStep2 = Engine.backend(Device.CPU).memoryStats().inUseBytes();
            }
            assertEquals(atStep2, Engine.backend(Device.CPU).memoryStats().inUseBytes());
        }
    }
}

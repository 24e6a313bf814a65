package io.reg4rec.train.optim;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.model.nn.EncoderDecoderTransformer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The must-show test: a small encoder-decoder transformer (width 32, 2 heads, one encoder and one
 * decoder layer) learns to reverse random 6-digit sequences on the CPU, reaching at least 95%
 * token accuracy under greedy decoding on held-out sequences.
 */
class ReverseTaskTrainingTest {
    static final int STEPS = 200;

    @Test
    void smallTransformerLearnsToReverseSequences() {
        ReverseTask task = new ReverseTask(6);
        LrSchedule schedule = LrSchedule.warmupCosine(5e-3, 20, STEPS, 5e-4);
        long start = System.nanoTime();
        double firstLoss = 0, lastLoss = 0;
        try (EncoderDecoderTransformer model = task.model(Device.CPU, 7);
             AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Options.defaults())) {
            for (int step = 0; step < STEPS; step++) {
                try (Scope scope = Scope.open()) {
                    double loss = ReverseTask.trainStep(model, optimizer, task.batch(Device.CPU, 1000 + step, 64), schedule.lr(step), 0.0);
                    if (step == 0) firstLoss = loss;
                    lastLoss = loss;
                }
            }
            double trainSeconds = (System.nanoTime() - start) / 1e9;
            double accuracy = task.greedyAccuracy(model, Device.CPU, 424242, 256);
            System.out.printf("reverse task: loss %.4f -> %.4f over %d steps in %.1f s, held-out greedy token accuracy %.4f%n",
                    firstLoss, lastLoss, STEPS, trainSeconds, accuracy);
            assertTrue(accuracy >= 0.95, "held-out token accuracy " + accuracy + " < 0.95 (loss " + firstLoss + " -> " + lastLoss + ")");
        }
    }
}

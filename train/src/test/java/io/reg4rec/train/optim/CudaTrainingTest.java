package io.reg4rec.train.optim;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.model.nn.EncoderDecoderTransformer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The reverse-task training on CUDA: steady device memory over 10,000 steps, and the CPU's losses. */
@Tag("gpu")
class CudaTrainingTest {
    private static final Device CUDA = Device.cuda(0);

    @Test
    void tenThousandStepsKeepDeviceMemorySteady() {
        assumeTrue(Engine.cudaAvailable(), "no CUDA device");
        ReverseTask task = new ReverseTask(6);
        int steps = 10_000;
        LrSchedule schedule = LrSchedule.warmupCosine(3e-3, 100, steps, 1e-4);
        long atStep100 = -1, atStep10000 = -1;
        double lastLoss = Double.NaN;
        try (EncoderDecoderTransformer model = task.model(CUDA, 7, 0.1);
             AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Options.defaults())) {
            for (int step = 1; step <= steps; step++) {
                try (Scope scope = Scope.open()) {
                    lastLoss = ReverseTask.trainStep(model, optimizer, task.batch(CUDA, step, 32), schedule.lr(step - 1), 0.1);
                }
                if (step == 100) atStep100 = Engine.backend(CUDA).memoryStats().inUseBytes();
                if (step == steps) atStep10000 = Engine.backend(CUDA).memoryStats().inUseBytes();
            }
            System.out.println("CUDA reverse task: final loss " + lastLoss + ", " + Engine.backend(CUDA).memoryStats());
            assertEquals(atStep100, atStep10000, "CUDA bytes in use at step 100 and step 10,000");
            assertTrue(task.greedyAccuracy(model, CUDA, 424242, 256) >= 0.95, "the CUDA run also learns the task");
        }
    }

    @Test
    void cpuAndCudaLossesAgreeFromTheSameWeights() {
        assumeTrue(Engine.cudaAvailable(), "no CUDA device");
        ReverseTask task = new ReverseTask(6);
        int steps = 5;
        double[] cpuLosses = new double[steps], cudaLosses = new double[steps];
        try (EncoderDecoderTransformer cpu = task.model(Device.CPU, 21);
             EncoderDecoderTransformer cuda = task.model(CUDA, 99)) {
            // copy the CPU's initial weights so the comparison does not rest on the initialisers
            Map<String, Variable> cudaParams = cuda.namedParameters();
            try (NoGrad ignored = NoGrad.enter()) {
                cpu.namedParameters().forEach((name, p) -> cudaParams.get(name).update(p.data()));
            }
            try (AdamW cpuOpt = new AdamW(cpu.namedParameters(), AdamW.Options.defaults());
                 AdamW cudaOpt = new AdamW(cuda.namedParameters(), AdamW.Options.defaults())) {
                for (int step = 0; step < steps; step++) {
                    try (Scope scope = Scope.open()) {
                        cpuLosses[step] = ReverseTask.trainStep(cpu, cpuOpt, task.batch(Device.CPU, 300 + step, 32), 1e-3, 0.1);
                        cudaLosses[step] = ReverseTask.trainStep(cuda, cudaOpt, task.batch(CUDA, 300 + step, 32), 1e-3, 0.1);
                    }
                }
            }
        }
        for (int step = 0; step < steps; step++) {
            assertEquals(cpuLosses[step], cudaLosses[step], 1e-3, "loss at step " + step);
        }
    }
}

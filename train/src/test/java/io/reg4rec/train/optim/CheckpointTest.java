package io.reg4rec.train.optim;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.io.SafeTensors;
import io.reg4rec.model.io.SafeTensorsException;
import io.reg4rec.model.nn.EncoderDecoderTransformer;
import io.reg4rec.model.nn.Linear;
import io.reg4rec.train.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Optimizer state in checkpoints: resume is bit-identical on the CPU, writes are atomic, mismatches are named. */
class CheckpointTest {
    private static final ReverseTask TASK = new ReverseTask(5);
    private static final double LR = 3e-3, SMOOTHING = 0.1;

    @TempDir
    Path dir;

    private static List<int[]> parameterBits(EncoderDecoderTransformer model) {
        List<int[]> out = new ArrayList<>();
        for (Variable p : model.parameters()) {
            float[] v = p.data().toFloatArray();
            int[] bits = new int[v.length];
            for (int i = 0; i < v.length; i++) bits[i] = Float.floatToRawIntBits(v[i]);
            out.add(bits);
        }
        return out;
    }

    private static double step(EncoderDecoderTransformer model, AdamW optimizer, int step) {
        try (Scope s = Scope.open()) {
            return ReverseTask.trainStep(model, optimizer, TASK.batch(Device.CPU, 500 + step, 16), LR, SMOOTHING);
        }
    }

    @Test
    void resumingFromACheckpointContinuesBitIdentically() throws IOException {
        int n = 3, k = 3;
        AdamW.Options options = AdamW.Options.defaults().withWeightDecay(0.05);
        List<int[]> straight;
        double[] straightLosses = new double[k];
        try (EncoderDecoderTransformer model = TASK.model(Device.CPU, 21); AdamW opt = new AdamW(model.namedParameters(), options)) {
            for (int s = 0; s < n + k; s++) {
                double loss = step(model, opt, s);
                if (s >= n) straightLosses[s - n] = loss;
            }
            straight = parameterBits(model);
        }
        Path file = dir.resolve("ckpt.safetensors");
        try (EncoderDecoderTransformer model = TASK.model(Device.CPU, 21); AdamW opt = new AdamW(model.namedParameters(), options)) {
            for (int s = 0; s < n; s++) step(model, opt, s);
            Checkpoint.save(file, model, opt, Map.of("epoch", "0", "next_step", Integer.toString(n)));
        }
        // a fresh model from another seed and a fresh optimizer built from the file's hyper-parameters
        try (EncoderDecoderTransformer model = TASK.model(Device.CPU, 99);
             AdamW opt = new AdamW(model.namedParameters(), AdamW.readOptions(file))) {
            Map<String, String> meta = Checkpoint.load(file, model, opt);
            assertEquals("3", meta.get("next_step"));
            assertEquals(n, opt.steps());
            for (int s = n; s < n + k; s++) {
                assertEquals(Double.doubleToRawLongBits(straightLosses[s - n]), Double.doubleToRawLongBits(step(model, opt, s)), "loss of step " + s);
            }
            List<int[]> resumed = parameterBits(model);
            assertEquals(straight.size(), resumed.size());
            for (int i = 0; i < straight.size(); i++) assertArrayEquals(straight.get(i), resumed.get(i), "parameter " + i);
        }
    }

    @Test
    void optimizerStateAloneRoundTripsWithItsHyperParameters() throws IOException {
        Path file = dir.resolve("adamw.safetensors");
        AdamW.Options options = new AdamW.Options(0.8, 0.95, 1e-7, 0.1, true);
        try (Scope s = Scope.open(); Linear a = new Linear(Device.CPU, 3, 2, true, 1); Linear b = new Linear(Device.CPU, 3, 2, true, 2);
             AdamW optA = new AdamW(a.namedParameters(), options); AdamW optB = new AdamW(b.namedParameters(), options)) {
            for (int i = 0; i < 2; i++) {
                a.namedParameters().values().forEach(p -> p.mul(p).sumAll().backward());
                optA.step(0.01);
                a.zeroGrad();
            }
            optA.save(file);
            assertEquals(options, AdamW.readOptions(file));
            optB.load(file);
            assertEquals(2, optB.steps());
            Map<String, Tensor> sa = optA.state(), sb = optB.state();
            assertEquals(sa.keySet(), sb.keySet());
            for (String key : sa.keySet()) assertArrayEquals(sa.get(key).toFloatArray(), sb.get(key).toFloatArray(), key);
            // other hyper-parameters are refused by name
            try (AdamW other = new AdamW(b.namedParameters(), options.withWeightDecay(0.2))) {
                SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> other.load(file));
                assertTrue(e.getMessage().contains("adamw.weight_decay"), e.getMessage());
            }
        }
    }

    @Test
    void mismatchedCheckpointNamesTheTensorAndChangesNothing() throws IOException {
        Path file = dir.resolve("small.safetensors");
        try (Linear small = new Linear(Device.CPU, 4, 3, true, 1); AdamW opt = new AdamW(small.namedParameters(), AdamW.Options.defaults())) {
            Checkpoint.save(file, small, opt, Map.of());
        }
        try (Linear wide = new Linear(Device.CPU, 5, 3, true, 2); AdamW opt = new AdamW(wide.namedParameters(), AdamW.Options.defaults())) {
            String weightName = wide.namedParameters().keySet().iterator().next();
            float[] before = wide.namedParameters().get(weightName).data().toFloatArray();
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> Checkpoint.load(file, wide, opt));
            assertTrue(e.getMessage().contains("'model." + weightName + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("'optimizer.exp_avg." + weightName + "'"), e.getMessage());
            assertArrayEquals(before, wide.namedParameters().get(weightName).data().toFloatArray(), "nothing was loaded");
            assertEquals(0, opt.steps());
        }
        try (Linear noBias = new Linear(Device.CPU, 4, 3, false, 1); AdamW opt = new AdamW(noBias.namedParameters(), AdamW.Options.defaults())) {
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> Checkpoint.load(file, noBias, opt));
            assertTrue(e.getMessage().contains("unexpected tensor 'model.bias'") || e.getMessage().contains("unexpected tensor 'model."), e.getMessage());
        }
    }

    @Test
    void writesAreAtomicAndLeaveNoTemporaryFiles() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        try (Linear model = new Linear(Device.CPU, 4, 3, true, 1); AdamW opt = new AdamW(model.namedParameters(), AdamW.Options.defaults())) {
            Checkpoint.save(file, model, opt, Map.of("tag", "first"));
            Checkpoint.save(file, model, opt, Map.of("tag", "second"));
            assertEquals("second", SafeTensors.readHeader(file).metadata().get("tag"));
            // a save that fails (a released tensor) leaves the previous checkpoint in place
            Tensor released = Tensor.zeros(Device.CPU, DType.F32, 2);
            released.close();
            assertThrows(IllegalArgumentException.class, () -> SafeTensors.save(file, Map.of("x", released), Map.of()));
            assertEquals("second", SafeTensors.readHeader(file).metadata().get("tag"));
            assertThrows(IllegalArgumentException.class, () -> Checkpoint.save(file, model, opt, Map.of(AdamW.META_STEP, "7")));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "only the checkpoint, no temporary files");
        }
    }
}

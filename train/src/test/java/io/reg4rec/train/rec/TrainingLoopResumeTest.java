package io.reg4rec.train.rec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.model.nn.Module;
import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.LeaveOneOut;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A run that crashes in epoch 2 and is resumed from its last.safetensors ends with exactly the
 * weights and epoch-2 losses of the run that was never interrupted (CPU, dropout on, confidence
 * orders from epoch 2 on), and its metrics.jsonl continues the first one.
 */
class TrainingLoopResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Delegates to a task and fails at the first batch of the given epoch (a crash). */
    record CrashingTask(RecTask inner, int crashEpoch) implements RecTask {
        public String name() { return inner.name(); }
        public Module model() { return inner.model(); }
        public int trainingUnits() { return inner.trainingUnits(); }
        public int unitLength(int unit) { return inner.unitLength(unit); }
        public Ranker ranker() { return inner.ranker(); }
        public int maxHistory() { return inner.maxHistory(); }

        public StepLoss loss(int[] units, int epoch, SplittableRandom rng) {
            if (epoch == crashEpoch) throw new IllegalStateException("simulated crash");
            return inner.loss(units, epoch, rng);
        }
    }

    @Test
    void resumedRunMatchesTheUninterruptedOne(@TempDir Path tmp) throws Exception {
        Dataset data = ChainData.dataset(60, 40, 4, 7, 5);
        LeaveOneOut split = LeaveOneOut.split(data);
        ItemCatalog catalog = ChainData.catalog(data, 3, 8, 9);
        TrainConfig config = TrainConfig.defaults().withEpochs(2).withBatchSize(32).withLearningRate(3e-3).withPatience(0).withEvalBatch(64).withSeed(4);
        Reg4RecTrainer.Options options = Reg4RecTrainer.Options.defaults().withBeam(4, 1);
        Path straight = tmp.resolve("straight"), interrupted = tmp.resolve("interrupted"), resumed = tmp.resolve("resumed");
        var cfg = Reg4RecTrainerTest.tinyConfig(catalog.numCategories()).withDropout(0.1);

        Map<String, float[]> expected;
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, cfg, catalog, 7)) {
            new TrainingLoop(new Reg4RecTrainer(model, split, options, null), split, config, straight, null, false).run(null);
            expected = weights(model);
        }
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, cfg, catalog, 7)) {
            RecTask crashing = new CrashingTask(new Reg4RecTrainer(model, split, options, null), 1);
            IllegalStateException crash = assertThrows(IllegalStateException.class,
                    () -> new TrainingLoop(crashing, split, config, interrupted, null, false).run(null));
            assertEquals("simulated crash", crash.getMessage());
        }
        assertEquals(1, Files.readAllLines(interrupted.resolve(TrainingLoop.METRICS)).size());
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, cfg, catalog, 7)) {   // the same seed: dropout masks derive from it
            TrainingLoop.Result r = new TrainingLoop(new Reg4RecTrainer(model, split, options, null), split, config, resumed, null, false)
                    .run(interrupted.resolve(TrainingLoop.LAST));
            assertEquals(2, r.epochsDone());
            Map<String, float[]> got = weights(model);
            assertEquals(expected.keySet(), got.keySet());
            expected.forEach((name, w) -> assertArrayEquals(w, got.get(name), name + " after resuming"));
        }
        List<String> a = Files.readAllLines(straight.resolve(TrainingLoop.METRICS)), b = Files.readAllLines(resumed.resolve(TrainingLoop.METRICS));
        assertEquals(2, a.size());
        assertEquals(1, b.size(), "the resumed run logs epoch 2 only");
        JsonNode x = JSON.readTree(a.get(1)), y = JSON.readTree(b.get(0));
        for (String key : new String[]{"epoch", "steps", "lr", "loss", "token_loss", "category_loss", "validation"}) {
            assertEquals(x.get(key), y.get(key), key + " of epoch 2");
        }
    }

    @Test
    void checkpointOfAnotherTaskIsRefused(@TempDir Path tmp) throws Exception {
        Dataset data = ChainData.dataset(30, 20, 4, 5, 5);
        LeaveOneOut split = LeaveOneOut.split(data);
        ItemCatalog catalog = ChainData.catalog(data, 3, 8, 9);
        TrainConfig config = TrainConfig.defaults().withEpochs(1).withBatchSize(32).withPatience(0);
        var cfg = Reg4RecTrainerTest.tinyConfig(catalog.numCategories());
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, cfg, catalog, 7)) {
            new TrainingLoop(new Reg4RecTrainer(model, split, Reg4RecTrainer.Options.defaults().withBeam(2, 0), null), split, config, tmp.resolve("a"), null, false).run(null);
        }
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, cfg.withFixedOrder(true), catalog, 7)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                    new TrainingLoop(new TigerTrainer(model, split, 2), split, config.withEpochs(2), tmp.resolve("b"), null, false)
                            .run(tmp.resolve("a").resolve(TrainingLoop.LAST)));
            assertTrue(e.getMessage().contains("'reg4rec', not of tiger"), e.getMessage());
        }
    }

    static Map<String, float[]> weights(Module model) {
        Map<String, float[]> out = new java.util.TreeMap<>();
        for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) out.put(e.getKey(), e.getValue().data().toFloatArray());
        return out;
    }
}

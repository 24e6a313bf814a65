package io.reg4rec.train.rec;

import io.reg4rec.engine.Device;
import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.model.rec.Reg4RecConfig;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.LeaveOneOut;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * REG4Rec through the real trainer, loop and evaluator on the chain data (the answer is known):
 * after a few epochs CRSS beam search + relaxed retrieval must rank the true next item far above
 * the training-popularity ranking.
 */
class Reg4RecTrainerTest {
    static final int M = 3, D = 8;

    static Reg4RecConfig tinyConfig(int categories) {
        return Reg4RecConfig.paper(M, D, categories).withWidths(32, 2, 64).withLayers(1, 1).withMaxHistory(8).withDropout(0.0);
    }

    @Test
    void learnsTheChainFarAbovePopularity(@TempDir Path dir) throws Exception {
        Dataset data = ChainData.dataset(300, 100, 5, 9, 11);
        LeaveOneOut split = LeaveOneOut.split(data);
        ItemCatalog catalog = ChainData.catalog(data, M, D, 5);
        double[] popularity = Catalogs.trainingPopularity(split);
        TrainConfig config = TrainConfig.defaults().withEpochs(8).withBatchSize(64).withLearningRate(4e-3).withPatience(0).withEvalBatch(128).withSeed(3);
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, tinyConfig(catalog.numCategories()), catalog, 7)) {
            Reg4RecTrainer trainer = new Reg4RecTrainer(model, split, Reg4RecTrainer.Options.defaults().withBeam(10, 1), popularity);
            long start = System.nanoTime();
            RecPipeline.ModelResult r = RecPipeline.trainAndTest(trainer, split, config, dir, null, null, false);
            RankingEvaluation.Result pop = RecPipeline.test(new PopularityRanker(popularity), null, split, 8, 128, false);
            double reg = r.test().metrics().recall(10), base = pop.metrics().recall(10);
            System.out.printf("chain: REG4Rec test %s vs popularity %s (%.1f s)%n", r.test().metrics(), pop.metrics(), (System.nanoTime() - start) / 1e9);
            assertTrue(reg >= 3 * base && reg > 0.5, "REG4Rec R@10 " + reg + " vs popularity " + base);
            assertTrue(r.test().metrics().ndcg(10) > 3 * pop.metrics().ndcg(10), "NDCG@10 too");
            List<String> lines = Files.readAllLines(dir.resolve(TrainingLoop.METRICS));
            assertEquals(8, lines.size(), "one JSON line per epoch");
            assertTrue(lines.get(0).contains("\"token_loss\"") && lines.get(0).contains("\"ndcg@10\""), lines.get(0));
            assertTrue(Files.exists(dir.resolve(TrainingLoop.LAST)) && Files.exists(dir.resolve(TrainingLoop.BEST)));
        }
    }

    @Test
    void confidenceOrdersStartAfterTheRandomEpochsAndArePermutations() {
        Dataset data = ChainData.dataset(40, 30, 4, 6, 1);
        LeaveOneOut split = LeaveOneOut.split(data);
        ItemCatalog catalog = ChainData.catalog(data, M, D, 2);
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, tinyConfig(catalog.numCategories()), catalog, 7)) {
            Reg4RecTrainer trainer = new Reg4RecTrainer(model, split, Reg4RecTrainer.Options.defaults().withOrders(1, 1.0), null);
            LeaveOneOut.Examples ex = split.trainingExamples(8);
            int[][] h = java.util.Arrays.copyOf(ex.histories(), 16);
            int[] t = java.util.Arrays.copyOf(ex.targets(), 16);
            int[][] own = io.reg4rec.model.rec.DecodingOrders.targetConfidence(model, h, t);
            int[][] later = trainer.orders(h, t, 1, new java.util.SplittableRandom(1));
            assertArrayEquals(own, later, "with share 1 every example after the random epochs takes the model's confidence order");
            assertTrue(model.isTraining(), "the model is back in training mode");
            int[][] first = trainer.orders(h, t, 0, new java.util.SplittableRandom(1));
            for (int[] o : first) assertArrayEquals(new int[]{0, 1, 2}, java.util.Arrays.stream(o).sorted().toArray());
            assertArrayEquals(io.reg4rec.model.rec.DecodingOrders.random(16, M, new java.util.SplittableRandom(1)), first, "epoch 0: random orders only");
        }
    }
}

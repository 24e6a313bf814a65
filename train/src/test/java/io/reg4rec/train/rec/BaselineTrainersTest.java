package io.reg4rec.train.rec;

import io.reg4rec.engine.Device;
import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.model.rec.SasRec;
import io.reg4rec.model.rec.SasRecConfig;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.LeaveOneOut;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** SASRec and TIGER through the same loop on the chain data: both must beat popularity by far. */
class BaselineTrainersTest {
    @Test
    void sasrecAndTigerLearnTheChain(@TempDir Path dir) throws Exception {
        Dataset data = ChainData.dataset(300, 100, 5, 9, 11);
        LeaveOneOut split = LeaveOneOut.split(data);
        double[] popularity = Catalogs.trainingPopularity(split);
        double base = RecPipeline.test(new PopularityRanker(popularity), null, split, 8, 128, false).metrics().recall(10);
        TrainConfig config = TrainConfig.defaults().withEpochs(6).withBatchSize(32).withLearningRate(5e-3).withPatience(0).withEvalBatch(128).withSeed(3);
        try (SasRec sasrec = new SasRec(Device.CPU, new SasRecConfig(data.numItems(), 8, 32, 2, 64, 1, 0.0), 5)) {
            RecPipeline.ModelResult r = RecPipeline.trainAndTest(new SasRecTrainer(sasrec, split), split, config, dir.resolve("sasrec"), null, null, false);
            System.out.println("chain: SASRec " + r.test().metrics() + ", popularity R@10 " + base);
            assertTrue(r.test().metrics().recall(10) >= 3 * base, "SASRec R@10 " + r.test().metrics().recall(10) + " vs popularity " + base);
        }
        ItemCatalog catalog = ChainData.catalog(data, 3, 8, 5);
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, Reg4RecTrainerTest.tinyConfig(catalog.numCategories()).withFixedOrder(true), catalog, 7)) {
            RecPipeline.ModelResult r = RecPipeline.trainAndTest(new TigerTrainer(model, split, 10), split, config.withBatchSize(64).withEpochs(8),
                    dir.resolve("tiger"), null, null, false);
            System.out.println("chain: TIGER " + r.test().metrics());
            assertTrue(r.test().metrics().recall(10) >= 3 * base, "TIGER R@10 " + r.test().metrics().recall(10) + " vs popularity " + base);
        }
    }
}

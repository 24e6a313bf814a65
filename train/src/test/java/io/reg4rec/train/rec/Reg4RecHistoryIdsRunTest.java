package io.reg4rec.train.rec;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.model.io.SafeTensorsException;
import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.model.rec.Reg4RecConfig;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.train.Checkpoint;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.optim.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The history item-id option through the run folder that evaluate and recommend read: run.json
 * keeps the flag, the checkpoint holds the id table, and runs written before the option (no
 * {@code historyItemIds} in run.json) still load as token-only models.
 */
class Reg4RecHistoryIdsRunTest {
    static final int M = 3, D = 8;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TABLE = "history_items.weight";

    private record Run(Dataset data, int[][] tokens, int[] categories, double[] popularity, ItemCatalog catalog) {}

    private static Run chainRun() {
        Dataset data = ChainData.dataset(20, 30, 3, 6, 1);
        int[][] tokens = ChainData.tokens(data.numItems(), M, D, 5);
        int[] categories = Catalogs.denseCategories(data);
        return new Run(data, tokens, categories, Catalogs.trainingPopularity(LeaveOneOut.split(data)), Catalogs.catalog(tokens, categories, D));
    }

    private static Reg4RecConfig config(ItemCatalog catalog, boolean ids) {
        return Reg4RecTrainerTest.tinyConfig(catalog.numCategories()).withHistoryItemIds(ids);
    }

    /** Writes run.json + tokens.txt and the model's weights as reg4rec/best.safetensors. */
    private static void writeRunFolder(Path dir, Run run, Reg4RecModel model) throws IOException {
        RecPipeline.writeRun(dir, run.data(), model.config(), run.categories(), run.popularity(), run.tokens(), Reg4RecTrainer.Options.defaults());
        try (AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Options.defaults())) {
            Checkpoint.save(dir.resolve(RecPipeline.REG4REC_DIR).resolve(TrainingLoop.BEST), model, optimizer, Map.of());
        }
    }

    private static void assertSameWeights(Reg4RecModel expected, Reg4RecModel actual) {
        assertEquals(expected.namedParameters().keySet(), actual.namedParameters().keySet());
        for (Map.Entry<String, Variable> e : expected.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().data().toFloatArray(), actual.namedParameters().get(e.getKey()).data().toFloatArray(), 0f, e.getKey());
        }
    }

    @Test
    void theFlagAndTheIdTableSurviveTheRunFolder(@TempDir Path dir) throws IOException {
        Run run = chainRun();
        try (Reg4RecModel trained = new Reg4RecModel(Device.CPU, config(run.catalog(), true), run.catalog(), 7)) {
            writeRunFolder(dir, run, trained);
            assertTrue(JSON.readTree(dir.resolve(RecPipeline.RUN_JSON).toFile()).get("config").get("historyItemIds").asBoolean(), "run.json records the flag");
            assertTrue(RecPipeline.readRun(dir).config().historyItemIds());
            try (Reg4RecModel loaded = RecPipeline.loadReg4Rec(dir, null, Device.CPU)) {
                assertTrue(loaded.config().historyItemIds());
                assertArrayEquals(new int[]{run.data().numItems() + 1, 32}, loaded.namedParameters().get(TABLE).shape());
                assertSameWeights(trained, loaded);   // loadReg4Rec builds from seed 0, so equal weights come from the file
            }
        }
    }

    @Test
    void aRunWrittenBeforeTheOptionStillLoads(@TempDir Path dir) throws IOException {
        Run run = chainRun();
        try (Reg4RecModel trained = new Reg4RecModel(Device.CPU, config(run.catalog(), false), run.catalog(), 7)) {
            writeRunFolder(dir, run, trained);
            // the run.json of an older build: no historyItemIds in the config
            Path runJson = dir.resolve(RecPipeline.RUN_JSON);
            ObjectNode n = (ObjectNode) JSON.readTree(runJson.toFile());
            assertNotNull(((ObjectNode) n.get("config")).remove("historyItemIds"));
            Files.writeString(runJson, JSON.writeValueAsString(n));
            assertFalse(Files.readString(runJson).contains("historyItemIds"));

            assertFalse(RecPipeline.readRun(dir).config().historyItemIds(), "absent means off");
            try (Reg4RecModel loaded = RecPipeline.loadReg4Rec(dir, null, Device.CPU)) {
                assertFalse(loaded.namedParameters().containsKey(TABLE));
                assertSameWeights(trained, loaded);
            }

            // the same token-only weights do not fit a model with the id table, and the error names it
            ((ObjectNode) n.get("config")).put("historyItemIds", true);
            Files.writeString(runJson, JSON.writeValueAsString(n));
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> RecPipeline.loadReg4Rec(dir, null, Device.CPU));
            assertTrue(e.getMessage().contains("model." + TABLE), e.getMessage());
        }
    }

    @Test
    void settingsCarryTheFlagToReg4RecAndTiger() {
        RunSettings on = RunSettings.small().withHistoryItemIds(true).withDropout(0.2).withCodebooks(3, 16);
        assertTrue(on.historyItemIds(), "the with-ers keep the flag");
        assertTrue(on.reg4recConfig(4).historyItemIds());
        assertFalse(RunSettings.small().reg4recConfig(4).historyItemIds());
        assertFalse(RunSettings.paper().historyItemIds());
        Run run = chainRun();
        RunSettings tiny = RunSettings.small().withCodebooks(M, D).withWidths(32, 2, 64).withHistoryItemIds(true);
        try (Reg4RecModel tiger = RecPipeline.tigerModel(Device.CPU, tiny, run.catalog(), 3)) {
            assertTrue(tiger.config().fixedOrder() && tiger.config().historyItemIds(), "TIGER's config is built from the same settings");
            assertTrue(tiger.namedParameters().containsKey(TABLE));
        }
    }
}

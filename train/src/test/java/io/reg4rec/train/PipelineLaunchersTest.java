package io.reg4rec.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.io.SafeTensors;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.Datasets;
import io.reg4rec.train.data.SyntheticConfig;
import io.reg4rec.train.rec.RecPipeline;
import io.reg4rec.train.rec.TrainingLoop;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The launchers end to end on a tiny synthetic dataset written in the S3Rec layout: pipeline
 * (features, MPQ, REG4Rec training, test, table, results.json), then evaluate on its run folder
 * (the same test metrics as the pipeline reported), recommend, and clear usage errors.
 */
class PipelineLaunchersTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Writes a small synthetic dataset as sequences.txt + item_attributes.json. */
    static Path tinyData(Path dir) throws IOException {
        Dataset d = Datasets.synthetic(SyntheticConfig.defaults().withSize(150, 120));
        Files.createDirectories(dir);
        StringBuilder seq = new StringBuilder();
        int[][] sequences = d.sequences();
        for (int u = 0; u < sequences.length; u++) {
            seq.append(u + 1);
            for (int item : sequences[u]) seq.append(' ').append(item);
            seq.append('\n');
        }
        Files.writeString(dir.resolve("sequences.txt"), seq.toString());
        StringBuilder attrs = new StringBuilder("{");
        int[][] a = d.itemAttributes();
        for (int i = 1; i <= d.numItems(); i++) {
            attrs.append(i == 1 ? "" : ", ").append('"').append(i).append("\": ").append(java.util.Arrays.toString(a[i]));
        }
        Files.writeString(dir.resolve("item_attributes.json"), attrs.append('}').toString());
        return dir;
    }

    record Outcome(int status, String stdout, String stderr) {}

    /** Runs a launcher's static run(args) with stdout and stderr captured. */
    static Outcome capture(Callable<Integer> launcher) throws Exception {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int status = launcher.call();
            return new Outcome(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void pipelineThenEvaluateAndRecommend(@TempDir Path tmp) throws Exception {
        Path data = tinyData(tmp.resolve("data")), run = tmp.resolve("run");
        Outcome p = capture(() -> Pipeline.run(tinyArgs(data, 2, "--out", run.toString())));
        assertEquals(0, p.status(), p.stderr());
        assertTrue(p.stdout().contains("REG4Rec") && p.stdout().contains("Popularity") && p.stdout().contains("Last-item transitions")
                && p.stdout().contains("R@10"), p.stdout());
        for (String f : new String[]{RecPipeline.RUN_JSON, RecPipeline.TOKENS, RecPipeline.TOKENIZER, Pipeline.RESULTS,
                "reg4rec/" + TrainingLoop.METRICS, "reg4rec/" + TrainingLoop.LAST, "reg4rec/" + TrainingLoop.BEST}) {
            assertTrue(Files.isRegularFile(run.resolve(f)), f + " written");
        }
        List<String> epochs = Files.readAllLines(run.resolve("reg4rec").resolve(TrainingLoop.METRICS));
        assertEquals(2, epochs.size());
        for (String line : epochs) {
            JsonNode e = JSON.readTree(line);
            assertTrue(e.get("loss").asDouble() > 0 && e.has("token_loss") && e.has("category_loss") && e.has("train_seconds"), line);
            for (String k : new String[]{"recall@5", "ndcg@5", "recall@10", "ndcg@10"}) {
                double v = e.get("validation").get(k).asDouble();
                assertTrue(v >= 0 && v <= 1, k + " = " + v);
            }
        }
        JsonNode results = JSON.readTree(run.resolve(Pipeline.RESULTS).toFile());
        assertEquals(3, results.get("models").size(), "popularity, last-item transitions, REG4Rec");
        JsonNode reg4rec = results.get("models").get(2);
        assertEquals("REG4Rec", reg4rec.get("model").asText());
        assertEquals(150, reg4rec.get("testUsers").asInt());
        double pipelineNdcg = reg4rec.get("ndcg@10").asDouble();

        // evaluate the run folder: the same best weights, the same test metrics
        Path evalJson = tmp.resolve("eval.json");
        Outcome e = capture(() -> Evaluate.run("--run", run.toString(), "--data", data.toString(), "--device", "cpu", "--no-progress", "--out", evalJson.toString()));
        assertEquals(0, e.status(), e.stderr());
        assertEquals(pipelineNdcg, JSON.readTree(evalJson.toFile()).get("ndcg@10").asDouble(), 1e-12, "evaluate reproduces the pipeline's test NDCG@10");

        Outcome r = capture(() -> Recommend.run("--run", run.toString(), "--history", "1,2,3", "--history", "5", "-k", "4", "--exclude-history", "--device", "cpu"));
        assertEquals(0, r.status(), r.stderr());
        String[] lines = r.stdout().strip().split("\n");
        assertEquals(2, lines.length, r.stdout());
        assertTrue(lines[0].startsWith("1,2,3\t"), lines[0]);
        String[] items = lines[0].split("\t")[1].split(" ");
        assertTrue(items.length >= 1 && items.length <= 4, lines[0]);
        for (String item : items) assertFalse(List.of("1", "2", "3").contains(item), "history items excluded: " + lines[0]);

        // resume: continue the finished 2-epoch run to 3 epochs from its last checkpoint
        Outcome c = capture(() -> Pretrain.run(tinyArgs(data, 3, "--out", tmp.resolve("run2").toString(), "--resume",
                run.resolve("reg4rec").resolve(TrainingLoop.LAST).toString())));
        assertEquals(0, c.status(), c.stderr());
        assertTrue(c.stderr().contains("resumed from") && c.stderr().contains("epoch 3/3"), c.stderr());
        assertTrue(c.stderr().contains("MPQ tokens of the resumed run"), "the checkpoint's own tokens are reused: " + c.stderr());
        assertArrayEquals(Files.readAllBytes(run.resolve(RecPipeline.TOKENS)), Files.readAllBytes(tmp.resolve("run2").resolve(RecPipeline.TOKENS)));
        assertEquals(1, Files.readAllLines(tmp.resolve("run2").resolve("reg4rec").resolve(TrainingLoop.METRICS)).size(), "only epoch 3 was trained");
    }

    @Test
    void sasrecItemEmbeddingsBecomeAFeatureBlock(@TempDir Path tmp) throws Exception {
        Path data = tinyData(tmp.resolve("data")), run = tmp.resolve("run");
        Outcome p = capture(() -> Pipeline.run(tinyArgs(data, 1, "--out", run.toString(), "--sasrec-features", "APPEND", "--sasrec-epochs", "2",
                "--transition-features", "96")));
        assertEquals(0, p.status(), p.stderr());
        try (Scope s = Scope.open()) {
            Map<String, Tensor> table = SafeTensors.load(run.resolve(Pipeline.SASREC_ITEMS), Device.CPU);
            Tensor items = table.get("sasrec_items");
            int numItems = JSON.readTree(run.resolve(RecPipeline.RUN_JSON).toFile()).get("numItems").asInt();
            assertArrayEquals(new int[]{numItems + 1, 32}, items.shape(), "one row per item (and padding), the SASRec width");
        }
        assertTrue(p.stderr().contains("pipeline: 384 item features"), "256 built columns + 96 transition columns + 32 SASRec columns: "
                + p.stderr());
        JsonNode models = JSON.readTree(run.resolve(Pipeline.RESULTS).toFile()).get("models");
        assertEquals(4, models.size());
        assertEquals("SASRec", models.get(3).get("model").asText(), "the SASRec trained for the features is reported, not trained twice");
        assertTrue(Files.isRegularFile(run.resolve("sasrec").resolve(TrainingLoop.BEST)));
    }

    /**
     * --history-ids and layer counts: pretrain writes them and the id table, recommend rebuilds the
     * model from the run folder alone.
     */
    @Test
    void historyIdsAndDepthTravelThroughTheRunFolder(@TempDir Path tmp) throws Exception {
        Path data = tinyData(tmp.resolve("data")), run = tmp.resolve("run");
        Outcome p = capture(() -> Pretrain.run(tinyArgs(data, 1, "--out", run.toString(), "--history-ids", "--encoder-layers", "2", "--decoder-layers", "3")));
        assertEquals(0, p.status(), p.stderr());
        assertTrue(p.stderr().contains("history item ids"), p.stderr());
        JsonNode runJson = JSON.readTree(run.resolve(RecPipeline.RUN_JSON).toFile());
        assertTrue(runJson.get("config").get("historyItemIds").asBoolean(), runJson.toString());
        assertEquals(2, runJson.get("config").get("encoderLayers").asInt(), runJson.toString());
        assertEquals(3, runJson.get("config").get("decoderLayers").asInt(), runJson.toString());
        int numItems = runJson.get("numItems").asInt();
        SafeTensors.Header best = SafeTensors.readHeader(run.resolve("reg4rec").resolve(TrainingLoop.BEST));
        SafeTensors.Entry table = best.entries().stream().filter(e -> e.name().equals("model.history_items.weight")).findFirst().orElseThrow();
        assertTrue(best.entries().stream().anyMatch(e -> e.name().startsWith("model.decoder.layers.2.")), "the third decoder layer is saved");
        assertArrayEquals(new int[]{numItems + 1, 32}, table.shape(), "one row per item and the padding row, model width");
        Outcome r = capture(() -> Recommend.run("--run", run.toString(), "--history", "1,2,3", "-k", "4", "--device", "cpu"));
        assertEquals(0, r.status(), r.stderr());
        assertTrue(r.stdout().startsWith("1,2,3\t"), r.stdout());
    }

    /** Tiny sizes for the tiny data, so a run takes seconds. */
    static String[] tinyArgs(Path data, int epochs, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("--data", data.toString(), "--device", "cpu", "-M", "3", "-D", "16", "--width", "32",
                "--ffn", "64", "--heads", "2", "--tokenizer-epochs", "4", "--epochs", Integer.toString(epochs), "--batch-size", "128", "--beam", "5",
                "--no-progress", "--seed", "3"));
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    @Test
    void badArgumentsGiveClearErrors(@TempDir Path tmp) throws Exception {
        assertUsage(capture(() -> Pipeline.run("--baselines", "sasrec,foo")), "unknown model 'foo'");
        assertUsage(capture(() -> Pipeline.run("--epochs", "-1")), "epochs -1 < 0");
        assertUsage(capture(() -> Pipeline.run("--mismatches", "4")), "must be below M = 4");
        assertUsage(capture(() -> Pipeline.run("--decoder-layers", "0")), "decoder layers");
        assertUsage(capture(() -> Pipeline.run("--transition-features", "3")), "must be even");
        assertUsage(capture(() -> Pipeline.run("--data", tmp.resolve("missing").toString(), "--device", "cpu")), "no such folder");
        assertUsage(capture(() -> Pipeline.run("--epochs", "two")), "--epochs");
        assertUsage(capture(() -> Pretrain.run("--resume", tmp.resolve("nope.safetensors").toString())), "no such file");
        assertUsage(capture(() -> Evaluate.run()), "--run");
        assertUsage(capture(() -> Evaluate.run("--run", tmp.toString(), "--split", "train")), "--split must be test or validation");
        assertUsage(capture(() -> Recommend.run("--run", tmp.toString())), "no histories");
        assertUsage(capture(() -> Recommend.run("--run", tmp.toString(), "--history", "1,x")), "'x' is not an item id");
        Outcome notARun = capture(() -> Recommend.run("--run", tmp.toString(), "--history", "1"));
        assertEquals(1, notARun.status());
        assertTrue(notARun.stderr().contains("run.json is missing"), notARun.stderr());
        if (!Engine.cudaAvailable()) assertUsage(capture(() -> Pipeline.run("--device", "cuda")), "--device cuda");
        Outcome help = capture(() -> Pipeline.run("--help"));
        assertEquals(0, help.status());
        assertTrue(help.stdout().contains("--baselines") && help.stdout().contains("M=4, D=64"), help.stdout());
    }

    static void assertUsage(Outcome o, String expected) {
        assertEquals(2, o.status(), o.stderr());
        assertTrue(o.stderr().contains(expected), "stderr should mention '" + expected + "': " + o.stderr());
    }
}

package io.reg4rec.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.reg4rec.engine.Engine;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code evaluate --diagnose} on a one-epoch pipeline run: the usual metrics, the diagnostics printed and written next to --out (CPU, and CUDA when present). */
class SearchDiagnosticsLauncherTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void evaluateWritesDiagnosticsNextToTheMetrics(@TempDir Path tmp) throws Exception {
        Path data = PipelineLaunchersTest.tinyData(tmp.resolve("data")), run = trainedRun(data, tmp.resolve("run"));
        JsonNode diag = diagnose(run, data, tmp, "cpu");
        assertEquals(tmp.resolve("eval-cpu.diagnostics.json"), Evaluate.diagnosticsFile(tmp.resolve("eval-cpu.json")));
        assertEquals(tmp.resolve("eval.out.diagnostics.json"), Evaluate.diagnosticsFile(tmp.resolve("eval.out")));
        assertEquals(5, diag.get("beam").asInt());
        assertEquals(3, diag.get("stepSurvival").size());
        assertTrue(diag.get("retrieval").has("d0") && diag.get("retrieval").has("d2"), diag.toString());
    }

    /**
     * The same diagnostics on CUDA for a CPU-trained run: consistent on their own, and near the
     * CPU's (GEMMs round differently, so a near tie between beams may flip for a few of the 60 users:
     * fractions within 0.05, i.e. 3 users).
     */
    @Test
    @Tag("gpu")
    void diagnosticsOnCudaMatchTheCpu(@TempDir Path tmp) throws Exception {
        assumeTrue(Engine.cudaAvailable(), "no CUDA device");
        Path data = PipelineLaunchersTest.tinyData(tmp.resolve("data")), run = trainedRun(data, tmp.resolve("run"));
        JsonNode cpu = diagnose(run, data, tmp, "cpu"), gpu = diagnose(run, data, tmp, "cuda");
        assertEquals("cuda:0", gpu.get("device").asText());
        for (String o : new String[]{"HIT", "SEARCH_ERROR", "MODEL_ERROR"}) {
            assertEquals(cpu.get("outcomes").get(o).asDouble(), gpu.get("outcomes").get(o).asDouble(), 0.05, o);
        }
        for (int s = 0; s < 3; s++) assertEquals(cpu.get("stepSurvival").get(s).asDouble(), gpu.get("stepSurvival").get(s).asDouble(), 0.05, "step " + s);
        assertEquals(cpu.get("logProb").get("target").get("mean").asDouble(), gpu.get("logProb").get("target").get("mean").asDouble(), 1e-2, "mean target log-prob");
    }

    private static Path trainedRun(Path data, Path run) throws Exception {
        PipelineLaunchersTest.Outcome p = PipelineLaunchersTest.capture(() -> Pipeline.run(PipelineLaunchersTest.tinyArgs(data, 1, "--out", run.toString())));
        assertEquals(0, p.status(), p.stderr());
        return run;
    }

    /** evaluate --diagnose on 60 users: checks what holds on any device and returns the diagnostics file. */
    private static JsonNode diagnose(Path run, Path data, Path tmp, String device) throws Exception {
        Path metrics = tmp.resolve("eval-" + device + ".json");
        PipelineLaunchersTest.Outcome e = PipelineLaunchersTest.capture(() -> Evaluate.run("--run", run.toString(), "--data", data.toString(), "--device", device,
                "--no-progress", "--users", "60", "--diagnose", "--out", metrics.toString()));
        assertEquals(0, e.status(), e.stderr());
        assertTrue(e.stdout().contains("recall@10") && e.stdout().contains("diagnostics: {"), e.stdout());
        JsonNode diag = JSON.readTree(tmp.resolve("eval-" + device + ".diagnostics.json").toFile()), plain = JSON.readTree(metrics.toFile());
        assertEquals(60, diag.get("users").asInt());
        JsonNode outcomes = diag.get("outcomes");
        assertEquals(1.0, outcomes.get("HIT").asDouble() + outcomes.get("SEARCH_ERROR").asDouble() + outcomes.get("MODEL_ERROR").asDouble(), 1e-12);
        int d = plain.get("mismatches").asInt();
        for (String k : new String[]{"recall@5", "ndcg@5", "recall@10", "ndcg@10"}) {
            assertEquals(plain.get(k).asDouble(), diag.get("retrieval").get("d" + d).get(k).asDouble(), 1e-12, k + " at the run's d equals evaluate's on " + device);
        }
        return diag;
    }
}

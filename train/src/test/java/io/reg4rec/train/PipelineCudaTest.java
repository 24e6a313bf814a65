package io.reg4rec.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.reg4rec.engine.Engine;
import io.reg4rec.train.rec.TrainingLoop;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The launchers' whole path on CUDA (tokenizer, training, checkpoints, beam search, baselines):
 * the tiny pipeline with both baselines, then evaluate and recommend on the GPU; and a run folder
 * trained on the CPU evaluates on CUDA to nearly the CPU's figures (GEMMs may round differently).
 */
@Tag("gpu")
class PipelineCudaTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static String[] onDevice(String[] args, String device) {
        String[] out = args.clone();
        for (int i = 0; i < out.length - 1; i++) if (out[i].equals("--device")) out[i + 1] = device;
        return out;
    }

    @Test
    void pipelineEvaluateAndRecommendRunOnCuda(@TempDir Path tmp) throws Exception {
        assumeTrue(Engine.cudaAvailable(), "no CUDA device");
        Path data = PipelineLaunchersTest.tinyData(tmp.resolve("data")), gpu = tmp.resolve("gpu"), cpu = tmp.resolve("cpu");
        PipelineLaunchersTest.Outcome p = PipelineLaunchersTest.capture(() -> Pipeline.run(onDevice(
                PipelineLaunchersTest.tinyArgs(data, 2, "--out", gpu.toString(), "--baselines", "sasrec,tiger"), "cuda")));
        assertEquals(0, p.status(), p.stderr());
        JsonNode results = JSON.readTree(gpu.resolve(Pipeline.RESULTS).toFile());
        assertEquals("cuda:0", results.get("device").asText());
        assertEquals(5, results.get("models").size(), "popularity, last-item transitions, REG4Rec, SASRec, TIGER");
        for (JsonNode m : results.get("models")) {
            double r10 = m.get("recall@10").asDouble();
            assertTrue(r10 >= 0 && r10 <= 1, m.toString());
        }
        assertTrue(Files.isRegularFile(gpu.resolve("reg4rec").resolve(TrainingLoop.BEST)));
        PipelineLaunchersTest.Outcome r = PipelineLaunchersTest.capture(() -> Recommend.run("--run", gpu.toString(), "--history", "1,2,3", "--device", "cuda"));
        assertEquals(0, r.status(), r.stderr());
        assertEquals(10, r.stdout().strip().split("\t")[1].split(" ").length, r.stdout());

        // a CPU-trained run evaluated on both devices
        PipelineLaunchersTest.Outcome c = PipelineLaunchersTest.capture(() -> Pipeline.run(PipelineLaunchersTest.tinyArgs(data, 2, "--out", cpu.toString())));
        assertEquals(0, c.status(), c.stderr());
        double cpuNdcg = JSON.readTree(cpu.resolve(Pipeline.RESULTS).toFile()).get("models").get(2).get("ndcg@10").asDouble();
        Path evalJson = tmp.resolve("eval.json");
        PipelineLaunchersTest.Outcome e = PipelineLaunchersTest.capture(() -> Evaluate.run("--run", cpu.toString(), "--data", data.toString(),
                "--device", "cuda", "--no-progress", "--out", evalJson.toString()));
        assertEquals(0, e.status(), e.stderr());
        double gpuNdcg = JSON.readTree(evalJson.toFile()).get("ndcg@10").asDouble();
        System.out.println("tiny run: test NDCG@10 on cpu " + cpuNdcg + ", evaluated on cuda " + gpuNdcg + "; " + Arrays.toString(new double[]{cpuNdcg, gpuNdcg}));
        assertEquals(cpuNdcg, gpuNdcg, 0.02, "the same weights rank nearly alike on both devices");
    }
}

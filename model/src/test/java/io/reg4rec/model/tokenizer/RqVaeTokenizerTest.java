package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class RqVaeTokenizerTest {
    private static float[][] features;
    private static RqVaeTokenizer trained;
    private static TokenizerReport report;

    @BeforeAll
    static void train() {
        features = SyntheticFeatures.clustered(2000, 50, 64, 0.5, 7);
        trained = new RqVaeTokenizer(MpqTokenizerTest.SMALL.withHidden(List.of(64), List.of(64)), 64);
        report = trained.train(features, ProgressListener.NONE);
        System.out.println(report);
    }

    @AfterAll
    static void release() {
        trained.close();
    }

    @Test
    void reconstructsFarBetterThanTheMeanWithFewCollisions() {
        assertTrue(report.relativeReconLoss() < 0.3, report.toString());
        assertTrue(report.tokens().minUtilisation() >= 0.9, report.toString());
        // levels after the first split the within-cluster spread, so items rarely share all four tokens
        assertTrue(report.tokens().collisionRate() < 0.25, report.toString());
        assertTrue(Double.isNaN(report.orthLoss()));
        assertEquals("rqvae", report.kind());
    }

    @Test
    void tokensAreOrderedAndSurviveSaveAndLoad(@TempDir Path dir) throws Exception {
        assertTrue(trained.orderedTokens());
        Path file = dir.resolve("rq.safetensors");
        trained.save(file);
        try (Tokenizer loaded = Tokenizer.load(file, Device.CPU)) {
            assertInstanceOf(RqVaeTokenizer.class, loaded);
            int[][] before = trained.tokenize(features), after = loaded.tokenize(features);
            assertArrayEquals(new int[]{-1, -1, -1, -1}, after[0]);
            for (int i = 0; i < before.length; i++) assertArrayEquals(before[i], after[i]);
        }
    }

    @Test
    void firstLevelCarriesTheCoarseStructure() {
        // the first level's codewords are larger than the last level's residual codewords
        float[][] first = trained.codebooks().groupValues(0), last = trained.codebooks().groupValues(3);
        assertTrue(meanNorm(first) > 2 * meanNorm(last), meanNorm(first) + " vs " + meanNorm(last));
    }

    @Test
    void everyParameterGetsAGradient() {
        float[][] few = SyntheticFeatures.clustered(64, 4, 12, 0.3, 5);
        TokenizerConfig c = MpqTokenizerTest.SMALL.withCodebooks(3, 8).withCodeDim(4).withHidden(List.of(6), List.of(10)).withCodebookUpkeep(2, 64, 3);
        try (RqVaeTokenizer t = new RqVaeTokenizer(c, 12); Scope scope = Scope.open()) {
            Tensor x = MpqTokenizerTest.rows(few);
            try (NoGrad ignored = NoGrad.enter()) {
                t.initialiseCodebooks(x, 1);
            }
            VqTokenizer.StepLosses losses = t.trainingLosses(Variable.constant(x));
            losses.recon().backward();
            for (Map.Entry<String, Variable> e : t.network().namedParameters().entrySet()) {
                if (e.getKey().startsWith("codebooks")) continue;
                assertTrue(MpqTokenizerTest.norm(e.getValue()) > 0, "recon gives no gradient to " + e.getKey());
            }
            t.network().zeroGrad();
            t.trainingLosses(Variable.constant(x)).total().backward();
            for (Map.Entry<String, Variable> e : t.network().namedParameters().entrySet()) {
                assertTrue(MpqTokenizerTest.norm(e.getValue()) > 0, "no gradient for " + e.getKey());
            }
            // every level's codebook slice is trained
            float[] g = t.network().namedParameters().get("codebooks.codewords").grad().toFloatArray();
            int perLevel = 8 * 4;
            for (int l = 0; l < 3; l++) {
                double s = 0;
                for (int i = l * perLevel; i < (l + 1) * perLevel; i++) s += Math.abs(g[i]);
                assertTrue(s > 0, "level " + l + " codebook has no gradient");
            }
            t.network().zeroGrad();
        }
    }

    private static double meanNorm(float[][] rows) {
        double total = 0;
        for (float[] r : rows) {
            double s = 0;
            for (float v : r) s += v * v;
            total += Math.sqrt(s);
        }
        return total / rows.length;
    }
}

package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class MpqTokenizerTest {
    /** 2,000 items from 50 Gaussian clusters in 64 dimensions; M = 4 codebooks of D = 32. */
    static final TokenizerConfig SMALL = TokenizerConfig.defaults().withCodebooks(4, 32).withCodeDim(16)
            .withHidden(List.of(32), List.of(64)).withTraining(1e-2, 60, 256).withCodebookUpkeep(20, 1024, 10);

    private static float[][] features;
    private static MpqTokenizer trained;
    private static TokenizerReport report;

    @BeforeAll
    static void train() {
        features = SyntheticFeatures.clustered(2000, 50, 64, 0.5, 7);
        trained = new MpqTokenizer(SMALL, 64);
        report = trained.train(features, ProgressListener.NONE);
        System.out.println(report);
    }

    @AfterAll
    static void release() {
        trained.close();
    }

    @Test
    void reconstructsFarBetterThanTheMeanAndUsesEveryCodebook() {
        // the clusters alone explain 1 / 1.25 of the variance: a ratio of 0.2 is the cluster-level optimum
        assertTrue(report.relativeReconLoss() < 0.3, report.toString());
        assertTrue(report.epochLosses()[report.epochLosses().length - 1] < report.epochLosses()[0], report.toString());
        assertTrue(report.tokens().minUtilisation() >= 0.9, report.toString());
        for (double p : report.tokens().perplexity()) assertTrue(p > 16, report.toString());
        assertTrue(Double.isFinite(report.orthLoss()) && report.orthLoss() > 0);
        assertEquals(60L * 8, report.steps());
    }

    @Test
    void tokenizeIsDeterministicWithAPaddingRow() {
        int[][] a = trained.tokenize(features), b = trained.tokenize(features);
        assertEquals(features.length, a.length);
        assertArrayEquals(new int[]{-1, -1, -1, -1}, a[0]);
        for (int i = 0; i < a.length; i++) assertArrayEquals(a[i], b[i]);
        assertEquals(report.tokens().collisionRate(), TokenStats.of(a, 32).collisionRate());
    }

    @Test
    void saveAndLoadGiveIdenticalTokens(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mpq.safetensors");
        trained.save(file);
        try (Tokenizer loaded = Tokenizer.load(file, Device.CPU)) {
            assertInstanceOf(MpqTokenizer.class, loaded);
            assertEquals(SMALL, loaded.config());
            assertFalse(loaded.orderedTokens());
            int[][] before = trained.tokenize(features), after = loaded.tokenize(features);
            for (int i = 0; i < before.length; i++) assertArrayEquals(before[i], after[i]);
            assertEquals(report.reconLoss(), loaded.evaluate(features).reconLoss(), 1e-9);
            Path tokens = dir.resolve("tokens.txt");
            TokenFiles.write(tokens, after);
            int[][] read = TokenFiles.read(tokens);
            for (int i = 0; i < read.length; i++) assertArrayEquals(after[i], read[i]);
        }
    }

    @Test
    void trainingIsDeterministicBySeed() {
        float[][] few = SyntheticFeatures.clustered(300, 10, 16, 0.3, 3);
        TokenizerConfig c = SMALL.withCodebooks(3, 8).withCodeDim(4).withHidden(List.of(8), List.of(16)).withTraining(1e-2, 3, 64).withCodebookUpkeep(2, 128, 5);
        float[] first, second, other;
        int[][] t1, t2;
        try (MpqTokenizer a = new MpqTokenizer(c, 16); MpqTokenizer b = new MpqTokenizer(c, 16); MpqTokenizer d = new MpqTokenizer(c.withSeed(99), 16)) {
            a.train(few, ProgressListener.NONE);
            b.train(few, ProgressListener.NONE);
            d.train(few, ProgressListener.NONE);
            first = a.net().codebooks.codewords().data().toFloatArray();
            second = b.net().codebooks.codewords().data().toFloatArray();
            other = d.net().codebooks.codewords().data().toFloatArray();
            t1 = a.tokenize(few);
            t2 = b.tokenize(few);
        }
        assertArrayEquals(first, second);
        assertFalse(Arrays.equals(first, other));
        for (int i = 0; i < t1.length; i++) assertArrayEquals(t1[i], t2[i]);
    }

    @Test
    void facetedItemsGetFewCollisions() {
        // items made of 4 independent facets of 32 values each: distinct items should get distinct token sets
        float[][] faceted = SyntheticFeatures.factored(2000, 4, 32, 64, 0.5, 7);
        try (MpqTokenizer t = new MpqTokenizer(SMALL.withTraining(1e-2, 40, 256), 64)) {
            TokenizerReport r = t.train(faceted, ProgressListener.NONE);
            System.out.println("faceted " + r);
            assertTrue(r.tokens().collisionRate() < 0.15, r.toString());
            assertTrue(r.relativeReconLoss() < 0.8, r.toString());
            assertTrue(r.tokens().minUtilisation() >= 0.9, r.toString());
        }
    }

    @Test
    void everyParameterGetsAGradient() {
        float[][] few = SyntheticFeatures.clustered(64, 4, 12, 0.3, 5);
        TokenizerConfig c = SMALL.withCodebooks(3, 8).withCodeDim(4).withHidden(List.of(6), List.of(10)).withCodebookUpkeep(2, 64, 3);
        try (MpqTokenizer t = new MpqTokenizer(c, 12); Scope scope = Scope.open()) {
            Tensor x = rows(few);
            try (var ignored = io.reg4rec.autograd.NoGrad.enter()) {
                t.initialiseCodebooks(x, 1);
            }
            // the reconstruction alone reaches experts (straight through the quantiser), the gate and the decoder
            VqTokenizer.StepLosses reconOnly = t.trainingLosses(Variable.constant(x));
            reconOnly.recon().backward();
            for (Map.Entry<String, Variable> e : t.network().namedParameters().entrySet()) {
                if (e.getKey().startsWith("codebooks")) continue;
                assertTrue(norm(e.getValue()) > 0, "recon gives no gradient to " + e.getKey());
            }
            t.network().zeroGrad();
            VqTokenizer.StepLosses all = t.trainingLosses(Variable.constant(x));
            all.total().backward();
            for (Map.Entry<String, Variable> e : t.network().namedParameters().entrySet()) {
                assertTrue(norm(e.getValue()) > 0, "no gradient for " + e.getKey());
            }
            assertEquals(List.of("experts.w0", "experts.b0", "experts.w1", "experts.b1", "gate.weight", "codebooks.codewords",
                    "decoder.l0.weight", "decoder.l0.bias", "decoder.l1.weight", "decoder.l1.bias"), List.copyOf(t.network().namedParameters().keySet()));
            t.network().zeroGrad();
        }
    }

    @Test
    void orthogonalityLossMatchesHandComputedValues() {
        try (Scope scope = Scope.open()) {
            // M = 2 experts, F = 2, h = 1: columns (3, 0) and (1, 1) normalise to (1, 0), (1, 1)/sqrt 2;
            // W̄ᵀW̄ = [[1, 1/sqrt 2], [1/sqrt 2, 1]], so ||W̄ᵀW̄ - I||^2 = 2 * 1/2 = 1 (the n <= F path)
            Variable two = Variable.constant(Tensor.of(Device.CPU, new float[]{3, 0, 1, 1}, 2, 2, 1));
            assertEquals(1.0, MpqTokenizer.orthogonalityLoss(two).item(), 1e-6);
            // M = 3, F = 2, h = 1: (1, 0), (0, 2), (1, 1): cosines 0, 1/sqrt 2, 1/sqrt 2, loss 2 * (0 + 1/2 + 1/2) = 2 (the n > F path)
            Variable three = Variable.constant(Tensor.of(Device.CPU, new float[]{1, 0, 0, 2, 1, 1}, 3, 2, 1));
            assertEquals(2.0, MpqTokenizer.orthogonalityLoss(three).item(), 1e-5);
            // M = 2, F = 3, h = 2 with orthogonal columns: zero; experts' columns are concatenated, not summed
            Variable orthogonal = Variable.constant(Tensor.of(Device.CPU, new float[]{1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 5, 0}, 2, 3, 2));
            assertEquals(1.0, MpqTokenizer.orthogonalityLoss(orthogonal).item(), 1e-6);   // three columns span 3 dims, the fourth is zero
        }
    }

    @Test
    void orthogonalityLossAgreesWithTheDirectFormulaOnRandomWeights() {
        try (Scope scope = Scope.open()) {
            for (int[] s : new int[][]{{3, 10, 2}, {4, 5, 3}}) {
                Tensor w = Tensor.randn(Device.CPU, io.reg4rec.engine.DType.F32, 17, s);
                float[] v = w.toFloatArray();
                int m = s[0], f = s[1], h = s[2], n = m * h;
                double[][] cols = new double[n][f];
                for (int r = 0; r < m; r++) for (int i = 0; i < f; i++) for (int k = 0; k < h; k++) cols[r * h + k][i] = v[(r * f + i) * h + k];
                for (double[] c : cols) {
                    double norm = Math.sqrt(Arrays.stream(c).map(x -> x * x).sum());
                    for (int i = 0; i < f; i++) c[i] /= norm;
                }
                double expected = 0;
                for (int a = 0; a < n; a++) {
                    for (int b = 0; b < n; b++) {
                        double dot = 0;
                        for (int i = 0; i < f; i++) dot += cols[a][i] * cols[b][i];
                        double d = dot - (a == b ? 1 : 0);
                        expected += d * d;
                    }
                }
                assertEquals(expected, MpqTokenizer.orthogonalityLoss(Variable.constant(w)).item(), 1e-4 * Math.max(1, expected), Arrays.toString(s));
            }
        }
    }

    @Test
    void rejectsFeatureRowsOfTheWrongWidth() {
        float[][] bad = SyntheticFeatures.clustered(5, 2, 64, 0.1, 1);
        bad[3] = new float[63];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trained.tokenize(bad));
        assertTrue(e.getMessage().contains("item 3") && e.getMessage().contains("64"), e.getMessage());
    }

    static Tensor rows(float[][] table) {
        int n = table.length - 1, f = table[1].length;
        float[] flat = new float[n * f];
        for (int i = 1; i <= n; i++) System.arraycopy(table[i], 0, flat, (i - 1) * f, f);
        return Tensor.of(Device.CPU, flat, n, f);
    }

    static double norm(Variable p) {
        if (p.grad() == null) return 0;
        double s = 0;
        for (float g : p.grad().toFloatArray()) s += (double) g * g;
        return Math.sqrt(s);
    }
}

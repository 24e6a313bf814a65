package io.reg4rec.model.tokenizer;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The VQ machinery both tokenizers share: lookup, k-means++ initialisation, dead-codeword re-seeding. */
class TokenizerCodebooksTest {

    @Test
    void nearestMatchesABruteForceSearch() {
        int g = 3, d = 17, dim = 5, b = 41;
        try (Codebooks books = new Codebooks(Device.CPU, g, d, dim, 4); Scope scope = Scope.open()) {
            Tensor latents = Tensor.randn(Device.CPU, DType.F32, 9, g, b, dim);
            long[] got = books.nearest(latents).toLongArray();
            float[] e = latents.toFloatArray();
            for (int r = 0; r < g; r++) {
                float[][] book = books.groupValues(r);
                long[] inGroup;
                try (Tensor slice = latents.select(0, r)) {
                    inGroup = books.nearestInGroup(r, slice).toLongArray();
                }
                for (int i = 0; i < b; i++) {
                    int best = -1;
                    double bestDistance = Double.MAX_VALUE;
                    for (int j = 0; j < d; j++) {
                        double s = 0;
                        for (int k = 0; k < dim; k++) {
                            double diff = e[(r * b + i) * dim + k] - book[j][k];
                            s += diff * diff;
                        }
                        if (s < bestDistance) { bestDistance = s; best = j; }
                    }
                    assertEquals(best, got[r * b + i], "group " + r + " row " + i);
                    assertEquals(best, inGroup[i], "group " + r + " row " + i + " (single group)");
                }
            }
        }
    }

    @Test
    void kMeansPlusPlusPutsACodewordOnEveryTightCluster() {
        double[][] centres = {{10, 0}, {0, 10}, {-10, 0}, {0, -10}};
        SplittableRandom rng = new SplittableRandom(1);
        float[][] points = new float[400][];
        for (int i = 0; i < points.length; i++) {
            double[] c = centres[i % 4];
            points[i] = new float[]{(float) (c[0] + 0.1 * rng.nextGaussian()), (float) (c[1] + 0.1 * rng.nextGaussian())};
        }
        try (Codebooks books = new Codebooks(Device.CPU, 1, 4, 2, 3)) {
            books.initialiseKMeans(0, points, 5, 10);
            float[][] words = books.groupValues(0);
            for (double[] c : centres) {
                double nearest = Double.MAX_VALUE;
                for (float[] w : words) nearest = Math.min(nearest, Math.hypot(w[0] - c[0], w[1] - c[1]));
                assertTrue(nearest < 0.1, "no codeword near " + c[0] + "," + c[1]);
            }
        }
    }

    @Test
    void kMeansWithFewerDistinctPointsThanCodewordsStillFillsEveryCodeword() {
        float[][] points = {{1, 1}, {1, 1}, {2, 2}};
        try (Codebooks books = new Codebooks(Device.CPU, 1, 5, 2, 3)) {
            books.initialiseKMeans(0, points, 5, 10);
            for (float[] w : books.groupValues(0)) {
                boolean nearAPoint = Math.hypot(w[0] - 1, w[1] - 1) < 0.01 || Math.hypot(w[0] - 2, w[1] - 2) < 0.01;
                assertTrue(nearAPoint, w[0] + "," + w[1]);
            }
        }
    }

    @Test
    void deadCodewordsAreReseededToBatchRowsAfterTheirIdleSteps() {
        int deadAfter = 3;
        try (Codebooks books = new Codebooks(Device.CPU, 2, 4, 2, 3); Scope scope = Scope.open()) {
            books.initialiseKMeans(0, new float[][]{{0, 0}, {1, 0}, {0, 1}, {1, 1}}, 1, 5);
            books.initialiseKMeans(1, new float[][]{{0, 0}, {1, 0}, {0, 1}, {1, 1}}, 1, 5);
            float[] rows = {50, 50, 60, 60, 70, 70};
            List<Tensor> candidates = List.of(Tensor.of(Device.CPU, rows, 3, 2), Tensor.of(Device.CPU, rows, 3, 2));
            // group 0 never picks codeword 3; group 1 picks every codeword over the steps
            long[][][] batches = {{{0, 1, 2}, {0, 1, 2}}, {{0, 1, 2}, {3, 3, 3}}, {{0, 1, 2}, {0, 1, 2}}};
            SplittableRandom rng = new SplittableRandom(2);
            for (long step = 1; step <= 2; step++) {
                assertArrayEquals(new int[]{0, 0}, books.upkeep(batches[(int) step - 1], candidates, step, deadAfter, true, rng), "step " + step);
            }
            float[] before = books.groupValues(0)[3];
            int[] reseeded = books.upkeep(batches[2], candidates, 3, deadAfter, true, rng);
            assertArrayEquals(new int[]{1, 0}, reseeded);
            float[] after = books.groupValues(0)[3];
            assertFalse(java.util.Arrays.equals(before, after));
            assertTrue(after[0] == after[1] && (after[0] == 50 || after[0] == 60 || after[0] == 70), after[0] + "," + after[1]);
            assertEquals(0, books.idleSteps(0, 3, 3));
            // with re-seeding switched off, usage is still recorded but nothing moves
            assertArrayEquals(new int[]{0, 0}, books.upkeep(batches[0], candidates, 10, deadAfter, false, rng));
        }
    }

    @Test
    void trainingReseedsCodewordsThatTightClustersLeaveIdle() {
        // 4 tight clusters and 16 codewords per codebook: most codewords lose their items and get re-seeded
        float[][] tight = SyntheticFeatures.clustered(400, 4, 16, 0.05, 3);
        TokenizerConfig c = MpqTokenizerTest.SMALL.withCodebooks(2, 16).withCodeDim(4).withHidden(List.of(8), List.of(16))
                .withTraining(1e-2, 10, 100).withCodebookUpkeep(4, 400, 5);
        try (MpqTokenizer t = new MpqTokenizer(c, 16)) {
            TokenizerReport r = t.train(tight, ProgressListener.NONE);
            int total = 0;
            for (int n : r.reseeded()) total += n;
            assertTrue(total > 0, r.toString());
        }
    }
}

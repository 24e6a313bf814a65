package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MPQ's expert-redundancy term and the collision resolution. */
class MpqDiversityTest {

    @Test
    void redundancyIsOneForTheSameCodeUpToRotationAndScaleAndNearZeroForIndependentCodes() {
        try (Scope scope = Scope.open()) {
            int b = 4000, d = 3;
            float[] a = Tensor.randn(Device.CPU, DType.F32, 1, b, d).toFloatArray();
            float[] independent = Tensor.randn(Device.CPU, DType.F32, 2, b, d).toFloatArray();
            float[] rotated = new float[b * d];
            double c = Math.cos(0.7), s = Math.sin(0.7);
            for (int i = 0; i < b; i++) {   // rotate in the (0, 1) plane, scale by 3, shift by 5
                rotated[i * d] = (float) (3 * (c * a[i * d] - s * a[i * d + 1]) + 5);
                rotated[i * d + 1] = (float) (3 * (s * a[i * d] + c * a[i * d + 1]) + 5);
                rotated[i * d + 2] = 3 * a[i * d + 2] + 5;
            }
            assertEquals(1.0, MpqTokenizer.expertRedundancy(codes(b, d, a, rotated)).item(), 1e-4);
            assertTrue(MpqTokenizer.expertRedundancy(codes(b, d, a, independent)).item() < 0.01);
            assertEquals(0.0, MpqTokenizer.expertRedundancy(codes(b, d, a)).item());
        }
    }

    @Test
    void redundancyMatchesTheDirectFormula() {
        try (Scope scope = Scope.open()) {
            int m = 3, b = 50, d = 4;
            float[] v = Tensor.randn(Device.CPU, DType.F32, 9, m, b, d).toFloatArray();
            for (int i = 0; i < b * d; i++) v[b * d + i] += 0.8f * v[i];   // expert 1 partly copies expert 0
            double[][][] cov = new double[m][m][];
            double[][] mean = new double[m][d];
            for (int r = 0; r < m; r++) for (int i = 0; i < b; i++) for (int k = 0; k < d; k++) mean[r][k] += v[(r * b + i) * d + k] / (double) b;
            double[][] norms = new double[m][m];
            for (int r = 0; r < m; r++) {
                for (int q = 0; q < m; q++) {
                    for (int k = 0; k < d; k++) {
                        for (int l = 0; l < d; l++) {
                            double x = 0;
                            for (int i = 0; i < b; i++) x += (v[(r * b + i) * d + k] - mean[r][k]) * (v[(q * b + i) * d + l] - mean[q][l]);
                            x /= b;
                            norms[r][q] += x * x;
                        }
                    }
                }
            }
            double expected = 0;
            for (int r = 0; r < m; r++) for (int q = 0; q < m; q++) if (r != q) expected += norms[r][q] / Math.sqrt(norms[r][r] * norms[q][q]);
            expected /= m * (m - 1);
            Variable e = Variable.constant(Tensor.of(Device.CPU, v, m, b, d));
            assertEquals(expected, MpqTokenizer.expertRedundancy(e).item(), 1e-4);
            assertTrue(expected > 0.1, "the copied expert must show up: " + expected);
        }
    }

    private static Variable codes(int b, int d, float[]... experts) {
        float[] all = new float[experts.length * b * d];
        for (int r = 0; r < experts.length; r++) System.arraycopy(experts[r], 0, all, r * b * d, b * d);
        return Variable.constant(Tensor.of(Device.CPU, all, experts.length, b, d));
    }

    @Test
    void resolutionMovesAllButTheNearestItemOfAGroupToTheCheapestFreeRunnerUp() {
        // items 1, 2, 3 share (0, 0); item 2 is nearest to its codewords and keeps them.
        // item 1: cheapest runner-up is codebook 1 -> 1 (extra 0.1); item 3: codebook 1 -> 1 would
        // give (0, 1), now item 1's set, so it takes codebook 0 -> 2 (extra 0.3) instead.
        int[][][] candidates = {null,
                {{0, 2}, {0, 1}},
                {{0, 1}, {0, 1}},
                {{0, 2}, {0, 1}},
                {{1, 0}, {1, 0}}};
        float[][][] distances = {null,
                {{1.0f, 1.5f}, {1.0f, 1.1f}},
                {{0.2f, 0.9f}, {0.2f, 0.9f}},
                {{1.0f, 1.3f}, {1.0f, 1.2f}},
                {{0.5f, 0.6f}, {0.5f, 0.6f}}};
        DistinctTokens r = DistinctTokens.resolve(candidates, distances, new boolean[]{true, true});
        assertArrayEquals(new int[]{-1, -1}, r.tokens()[0]);
        assertArrayEquals(new int[]{0, 1}, r.tokens()[1]);
        assertArrayEquals(new int[]{0, 0}, r.tokens()[2]);
        assertArrayEquals(new int[]{2, 0}, r.tokens()[3]);
        assertArrayEquals(new int[]{1, 1}, r.tokens()[4]);
        assertEquals(3, r.collidingBefore());
        assertEquals(2, r.movedItems());
        assertEquals(0, r.unresolved());
        assertArrayEquals(new int[]{1, 1}, r.movedPerCodebook());
        assertEquals(0.2, r.meanExtraDistance(), 1e-6);
        // only codebook 1 adjustable: item 3 finds no free set and stays in a shared one
        DistinctTokens lastOnly = DistinctTokens.resolve(candidates, distances, new boolean[]{false, true});
        assertEquals(1, lastOnly.movedItems());
        assertEquals(1, lastOnly.unresolved());
        assertArrayEquals(new int[]{0, 0}, lastOnly.tokens()[3]);
    }

    /**
     * 2,000 items on an 8-dimensional linear manifold in 64 dimensions, M = 4 codebooks of D = 32:
     * with the paper's loss the experts encode overlapping directions (collision rate about 0.44);
     * the redundancy term decorrelates them (about 0.04 instead of 0.36) and collisions drop (about 0.24).
     */
    @Test
    void redundancyTermCutsCollisionsAndResolutionRemovesTheRest() {
        float[][] features = SyntheticFeatures.lowRank(2000, 8, 64, 0.1, 7);
        TokenizerConfig base = MpqTokenizerTest.SMALL.withTraining(1e-2, 30, 256);
        double plain, plainRedundancy;
        try (MpqTokenizer t = new MpqTokenizer(base.withDiversity(0), 64)) {
            plain = t.train(features, ProgressListener.NONE).tokens().collisionRate();
            plainRedundancy = t.expertRedundancy(features);
        }
        try (MpqTokenizer t = new MpqTokenizer(base.withDiversity(1), 64)) {
            TokenizerReport r = t.train(features, ProgressListener.NONE);
            double redundancy = t.expertRedundancy(features);
            System.out.println("paper's loss: collisions " + plain + ", redundancy " + plainRedundancy + "; with the redundancy term: "
                    + redundancy + ", " + r);
            assertTrue(redundancy < plainRedundancy / 3, "redundancy " + redundancy + " vs " + plainRedundancy + " without the term");
            assertTrue(r.tokens().collisionRate() < 0.75 * plain, "collisions " + r.tokens().collisionRate() + " vs " + plain + " without the term");
            assertTrue(r.tokens().minUtilisation() >= 0.9, r.toString());
            assertTrue(r.relativeReconLoss() < 0.6, r.toString());

            int[][] plainTokens = t.tokenize(features);
            DistinctTokens resolved = t.tokenizeDistinct(features, 8);
            TokenStats after = TokenStats.of(resolved.tokens(), 32);
            assertTrue(after.collisionRate() <= r.tokens().collisionRate());
            assertEquals(Math.round(r.tokens().collisionRate() * 2000), resolved.collidingBefore());
            int moved = 0;
            Set<List<Integer>> sets = new HashSet<>();
            for (int i = 1; i < plainTokens.length; i++) {
                int changed = 0;
                for (int k = 0; k < 4; k++) if (plainTokens[i][k] != resolved.tokens()[i][k]) changed++;
                assertTrue(changed <= 1, "item " + i + " moved in " + changed + " codebooks");
                moved += changed;
                sets.add(Arrays.stream(resolved.tokens()[i]).boxed().toList());
            }
            assertEquals(resolved.movedItems(), moved);
            // what still collides is the unresolved items and the items they share a set with
            assertTrue(after.collisionRate() * 2000 <= 2 * resolved.unresolved() + 1e-9, after + " with " + resolved.unresolved() + " unresolved");
            assertTrue(resolved.unresolved() < resolved.collidingBefore() / 4 + 1, resolved.toString());
            assertEquals(after.distinctTokenSets(), sets.size());
        }
    }

    @Test
    void configJsonCarriesTheDiversityWeightAndOldCheckpointsReadAsZero() {
        TokenizerConfig c = TokenizerConfig.defaults().withDiversity(0.25);
        assertEquals(c, TokenizerConfig.fromJson(c.toJson(), Device.CPU));
        String old = c.toJson().replace(",\"diversity\":0.25", "");
        assertEquals(0.0, TokenizerConfig.fromJson(old, Device.CPU).diversity());
    }
}

package io.reg4rec.model.rec;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class SasRecTest {
    static SasRecConfig small(int items) {
        return new SasRecConfig(items, 8, 32, 2, 64, 2, 0.0);
    }

    @Test
    void attentionIsCausalAndPaddingDoesNotLeak() {
        try (Scope s = Scope.open(); SasRec model = new SasRec(Device.CPU, small(20), 1)) {
            model.eval();
            try (NoGrad ignored = NoGrad.enter()) {
                Variable a = model.hidden(new int[][]{{1, 2, 3, 4}, {5, 6}});
                Variable b = model.hidden(new int[][]{{1, 2, 3, 9}, {5, 6}});
                assertArrayEquals(new int[]{2, 4, 32}, a.shape());
                float[] x = a.data().toFloatArray(), y = b.data().toFloatArray();
                for (int p = 0; p < 3; p++) {
                    for (int j = 0; j < 32; j++) assertEquals(x[p * 32 + j], y[p * 32 + j], 1e-6, "position " + p + " must not see a later item");
                }
                boolean lastDiffers = false;
                for (int j = 0; j < 32; j++) lastDiffers |= Math.abs(x[3 * 32 + j] - y[3 * 32 + j]) > 1e-4;
                assertTrue(lastDiffers);
                // a left-padded short sequence scores as it does alone (padding masked out)
                float[][] batched = model.scores(new int[][]{{1, 2, 3, 4}, {5, 6}});
                float[][] alone = model.scores(new int[][]{{5, 6}});
                for (int i = 1; i <= 20; i++) assertEquals(alone[0][i], batched[1][i], 1e-4);
                assertTrue(batched[0][0] < -1e8, "padding item never scored");
            }
        }
    }

    @Test
    void lossCountsEveryNextItemAndReachesEveryParameter() {
        try (Scope s = Scope.open(); SasRec model = new SasRec(Device.CPU, small(20), 1)) {
            Variable loss = model.loss(new int[][]{{1, 2, 3, 4}, {5, 6}, {7}});
            assertTrue(loss.item() > 0.5 * Math.log(20) && loss.item() < 2 * Math.log(20), "about log(N) at init: " + loss.item());
            loss.backward();
            for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) assertNotNull(e.getValue().grad(), e.getKey());
            model.zeroGrad();
        }
    }

    @Test
    void topKIsTheScoresSortedBestFirstWithoutPadding() {
        try (Scope s = Scope.open(); SasRec model = new SasRec(Device.CPU, small(20), 3)) {
            model.eval();
            int[][] histories = {{1, 2, 3, 4}, {5, 6}, {7}};
            float[][] scores = model.scores(histories);
            for (int k : new int[]{1, 5, 20, 50}) {
                int[][] top = model.topK(histories, k);
                for (int b = 0; b < histories.length; b++) {
                    float[] row = scores[b];
                    int[] expected = java.util.stream.IntStream.rangeClosed(1, 20).boxed()
                            .sorted((x, y) -> row[x] != row[y] ? Float.compare(row[y], row[x]) : Integer.compare(x, y))
                            .limit(k).mapToInt(Integer::intValue).toArray();
                    assertArrayEquals(expected, top[b], "history " + b + ", k " + k);
                }
            }
        }
    }

    @Test
    void sasRecLearnsTheChainFarAbovePopularity() {
        int items = Reg4RecLearningTest.ITEMS;
        SplittableRandom rng = new SplittableRandom(5);
        int[] trainTargetCounts = new int[items + 1];
        long start = System.nanoTime();
        try (SasRec model = new SasRec(Device.CPU, small(items), 2); TestAdam adam = new TestAdam(model.parameters())) {
            double first = Double.NaN, last = Double.NaN;
            for (int step = 0; step < 120; step++) {
                try (Scope s = Scope.open()) {
                    int[][] histories = Reg4RecLearningTest.batchHistories(32, rng);
                    int[] targets = Reg4RecLearningTest.targetsOf(histories);
                    int[][] sequences = new int[32][];
                    for (int i = 0; i < 32; i++) {
                        sequences[i] = java.util.Arrays.copyOf(histories[i], histories[i].length + 1);
                        sequences[i][histories[i].length] = targets[i];
                        for (int j = 1; j < sequences[i].length; j++) trainTargetCounts[sequences[i][j]]++;
                    }
                    Variable loss = model.loss(sequences);
                    loss.backward();
                    adam.step(3e-3);
                    if (step == 0) first = loss.item();
                    last = loss.item();
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            model.eval();
            int[][] test = Reg4RecLearningTest.batchHistories(200, new SplittableRandom(99));
            int[] targets = Reg4RecLearningTest.targetsOf(test);
            int[][] top = model.topK(test, 10);
            int hits = 0;
            for (int u = 0; u < test.length; u++) if (Reg4RecLearningTest.contains(top[u], targets[u])) hits++;
            double hit = hits / 200.0, popularity = Reg4RecLearningTest.popularityHitAt10(trainTargetCounts, targets);
            System.out.printf("SASRec chain: loss %.3f -> %.3f in 120 steps (%.1f s); hit@10 %.3f, popularity hit@10 %.3f%n", first, last, seconds, hit, popularity);
            assertTrue(last < first / 3);
            assertTrue(hit > 0.8 && hit > 4 * popularity, "hit@10 " + hit + " vs popularity " + popularity);
        }
    }
}

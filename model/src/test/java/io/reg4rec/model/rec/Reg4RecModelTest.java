package io.reg4rec.model.rec;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.DecoderCache;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class Reg4RecModelTest {
    static final int M = 3, D = 5, C = 4, ITEMS = 30;

    static Reg4RecConfig smallConfig() {
        return Reg4RecConfig.paper(M, D, C).withWidths(16, 2, 32).withMaxHistory(6).withDropout(0.1);
    }

    static final int[][] HISTORIES = {{1, 2, 3}, {7}, {4, 5, 6, 7, 8, 9, 10, 11, 12}};
    static final int[] TARGETS = {4, 8, 13};
    static final int[][] ORDERS = {{2, 0, 1}, {0, 1, 2}, {1, 2, 0}};

    @Test
    void paperConfigHasThePaperSizes() {
        Reg4RecConfig c = Reg4RecConfig.paper(8, 300, 10);
        assertEquals(128, c.dModel());
        assertEquals(640, c.dFeedForward());
        assertEquals(1, c.encoderLayers());
        assertEquals(2, c.decoderLayers());
        assertEquals(50, c.maxHistory());
        assertEquals(2400, c.pairs());
    }

    @Test
    void teacherForcedShapesAndUsedCodebooksMasked() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, smallConfig(), catalog, 7)) {
            Reg4RecModel.EncodedHistory enc = model.encode(HISTORIES);
            assertArrayEquals(new int[]{3, 6, 16}, enc.memory().shape(), "history longer than maxHistory is truncated to 6");
            float[] pad = enc.padding().toFloatArray();
            assertArrayEquals(new float[]{1, 1, 1, 0, 0, 0}, java.util.Arrays.copyOfRange(pad, 0, 6));
            assertArrayEquals(new float[]{1, 1, 1, 1, 1, 0}, java.util.Arrays.copyOfRange(pad, 6, 12));
            Reg4RecModel.TeacherForced out = model.teacherForced(enc, TARGETS, ORDERS);
            assertArrayEquals(new int[]{3, M, M * D}, out.tokenLogits().shape());
            assertArrayEquals(new int[]{3, M, C}, out.categoryLogits().shape());
            float[] logits = out.tokenLogits().data().toFloatArray();
            for (int u = 0; u < 3; u++) {
                for (int step = 0; step < M; step++) {
                    for (int c = 0; c < M; c++) {
                        boolean used = false;
                        for (int k = 0; k < step; k++) used |= ORDERS[u][k] == c;
                        for (int t = 0; t < D; t++) {
                            float v = logits[((u * M + step) * M + c) * D + t];
                            if (used) assertEquals(Reg4RecModel.MASKED_LOGIT, v, 1.0, "used codebook " + c + " at step " + step);
                            else assertTrue(Math.abs(v) < 100, "unused codebook logit is a real value: " + v);
                        }
                    }
                }
            }
        }
    }

    /** HISTORIES -> TARGETS in ORDERS, teacher-forced without dropout (the model stays in eval mode). */
    private static Reg4RecModel.TeacherForced evalModeTeacherForced(Reg4RecModel model) {
        model.eval();
        return model.teacherForced(model.encode(HISTORIES), TARGETS, ORDERS);
    }

    /** The set token loss, checked against a host computation from the same teacher-forced logits. */
    @Test
    void setTokenLossSumsTheUndecodedTargetPairs() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, smallConfig(), catalog, 7)) {
            Reg4RecModel.TeacherForced out = evalModeTeacherForced(model);
            Variable set = model.setTokenLoss(out.tokenLogits(), TARGETS, ORDERS);
            float[] logits = out.tokenLogits().data().toFloatArray();
            int pairs = M * D;
            double expected = 0, orderLoss = 0;
            for (int u = 0; u < TARGETS.length; u++) {
                int used = 0;
                for (int step = 0; step < M; step++) {
                    int row = (u * M + step) * pairs;
                    double max = Double.NEGATIVE_INFINITY, z = 0;
                    for (int j = 0; j < pairs; j++) max = Math.max(max, logits[row + j]);
                    for (int j = 0; j < pairs; j++) z += Math.exp(logits[row + j] - max);
                    double mass = 0;
                    for (int c = 0; c < M; c++) {
                        if ((used & (1 << c)) != 0) continue;
                        mass += Math.exp(logits[row + c * D + catalog.token(TARGETS[u], c)] - max) / z;
                    }
                    int next = ORDERS[u][step];
                    double nextProb = Math.exp(logits[row + next * D + catalog.token(TARGETS[u], next)] - max) / z;
                    expected -= Math.log(mass);
                    orderLoss -= Math.log(nextProb);
                    used |= 1 << next;
                }
            }
            expected /= TARGETS.length * M;
            orderLoss /= TARGETS.length * M;
            assertEquals(expected, set.item(), 1e-5);
            assertTrue(set.item() < orderLoss, "the set's mass is at least the next pair's: " + set.item() + " vs " + orderLoss);
            model.train();
            Reg4RecModel.PretrainLoss loss = model.loss(HISTORIES, TARGETS, ORDERS, true, 0);
            loss.total().backward();
            for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) assertNotNull(e.getValue().grad(), "no gradient for " + e.getKey());
            model.zeroGrad();
        }
    }

    /** The catalog term, checked against a host softmax over every item's summed BOS pair logits. */
    @Test
    void catalogLossIsTheFullSoftmaxOverItemsAtTheFirstStep() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, smallConfig(), catalog, 7)) {
            Reg4RecModel.TeacherForced out = evalModeTeacherForced(model);
            float[] logits = out.tokenLogits().data().toFloatArray();
            double expected = 0;
            for (int u = 0; u < TARGETS.length; u++) {
                int row = u * M * M * D;   // step 0 of user u
                double[] itemScores = new double[ITEMS];
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 1; i <= ITEMS; i++) {
                    for (int r = 0; r < M; r++) itemScores[i - 1] += logits[row + r * D + catalog.token(i, r)];
                    max = Math.max(max, itemScores[i - 1]);
                }
                double z = 0;
                for (double v : itemScores) z += Math.exp(v - max);
                expected -= itemScores[TARGETS[u] - 1] - max - Math.log(z);
            }
            expected /= TARGETS.length;
            assertEquals(expected, model.catalogLoss(out.tokenLogits().select(1, 0), TARGETS).item(), 1e-5);

            model.train();
            Reg4RecModel.PretrainLoss plain = model.loss(HISTORIES, TARGETS, ORDERS);
            assertNull(plain.catalogLoss(), "off by default");
            Reg4RecModel.PretrainLoss loss = model.loss(HISTORIES, TARGETS, ORDERS, false, 0.5);
            assertEquals(loss.tokenLoss().item() + loss.categoryLoss().item() + 0.5 * loss.catalogLoss().item(), loss.total().item(), 1e-5);
            loss.total().backward();
            for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) assertNotNull(e.getValue().grad(), "no gradient for " + e.getKey());
            model.zeroGrad();
            assertThrows(IllegalArgumentException.class, () -> model.loss(HISTORIES, TARGETS, ORDERS, false, -1));
        }
    }

    @Test
    void lossIsFiniteAndReachesEveryParameter() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, smallConfig(), catalog, 7)) {
            Reg4RecModel.PretrainLoss loss = model.loss(HISTORIES, TARGETS, ORDERS);
            double token = loss.tokenLoss().item(), cate = loss.categoryLoss().item();
            assertTrue(token > 0 && token < 3 * Math.log(M * D), "token CE near log(M*D) at init: " + token);
            assertTrue(cate > 0 && cate < 3 * Math.log(C), "category CE near log(C) at init: " + cate);
            assertEquals(token + cate, loss.total().item(), 1e-5);
            double stepHits = loss.stepAccuracy().item() * TARGETS.length * M, categoryHits = loss.categoryAccuracy().item() * TARGETS.length * M;
            assertTrue(stepHits >= 0 && stepHits <= TARGETS.length * M && categoryHits >= 0 && categoryHits <= TARGETS.length * M);
            assertEquals(Math.rint(stepHits), stepHits, 1e-3, "a share of whole steps");
            assertEquals(Math.rint(categoryHits), categoryHits, 1e-3, "a share of whole steps");
            loss.total().backward();
            for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) {
                assertNotNull(e.getValue().grad(), "no gradient for " + e.getKey());
            }
            model.zeroGrad();
        }
    }

    @Test
    void crssTrainingNeedsOrdersAndRejectsNonPermutations() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, smallConfig(), catalog, 7)) {
            assertThrows(IllegalArgumentException.class, () -> model.loss(HISTORIES, TARGETS, null));
            assertThrows(IllegalArgumentException.class, () -> model.loss(HISTORIES, TARGETS, new int[][]{{0, 0, 1}, {0, 1, 2}, {1, 2, 0}}));
        }
    }

    @Test
    void fixedOrderAllowsOnlyTheCurrentCodebook() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, smallConfig().withFixedOrder(true), catalog, 7)) {
            Reg4RecModel.TeacherForced out = model.teacherForced(model.encode(HISTORIES), TARGETS, null);
            float[] logits = out.tokenLogits().data().toFloatArray();
            for (int u = 0; u < 3; u++) {
                for (int step = 0; step < M; step++) {
                    for (int c = 0; c < M; c++) {
                        float v = logits[((u * M + step) * M + c) * D];
                        if (c == step) assertTrue(Math.abs(v) < 100);
                        else assertEquals(Reg4RecModel.MASKED_LOGIT, v, 1.0);
                    }
                }
            }
            assertThrows(IllegalArgumentException.class, () -> model.loss(HISTORIES, TARGETS, ORDERS));
            assertTrue(Double.isFinite(model.loss(HISTORIES, TARGETS, null).total().item()));
        }
    }

    /** The cached one-position-at-a-time decoder reproduces the full teacher-forced pass, also after rows are re-selected and duplicated. */
    @Test
    void incrementalDecodingMatchesTeacherForcing() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        int[][] altOrders = {{2, 1, 0}, {1, 0, 2}, {1, 0, 2}};   // shares step 0 with ORDERS only for user 2
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, smallConfig(), catalog, 7)) {
            model.eval();
            try (NoGrad ignored = NoGrad.enter()) {
                Reg4RecModel.EncodedHistory enc = model.encode(HISTORIES);
                float[] full = logProbs(model, model.teacherForced(enc, TARGETS, ORDERS));
                float[] fullAlt = logProbs(model, model.teacherForced(enc, TARGETS, altOrders));
                float[] fullCats = model.teacherForced(enc, TARGETS, ORDERS).categoryLogits().data().toFloatArray();
                int users = 3, pairs = M * D;
                try (DecoderCache cache = model.startDecoding(enc)) {
                    // step 0: one row per user
                    Reg4RecModel.StepOutput out0 = model.decodeStep(cache, null, null);
                    float[] step0 = model.maskedLogProbs(out0.tokenLogits(), model.disallowedCodebooks(new int[users], 0)).data().toFloatArray();
                    float[] cats0 = out0.categoryLogits().data().toFloatArray();
                    for (int u = 0; u < users; u++) {
                        for (int k = 0; k < pairs; k++) assertEquals(full[(u * M) * pairs + k], step0[u * pairs + k], 1e-4);
                        for (int k = 0; k < C; k++) assertEquals(fullCats[(u * M) * C + k], cats0[u * C + k], 1e-4);
                    }
                    // two rows per user from here on: row 2u follows ORDERS, row 2u+1 follows altOrders
                    cache.reorder(new int[]{0, 0, 1, 1, 2, 2}, 2);
                    int[][][] orders = {ORDERS, altOrders};
                    float[][] fulls = {full, fullAlt};
                    for (int step = 1; step < M; step++) {
                        int[] inCb = new int[2 * users], inTok = new int[2 * users], used = new int[2 * users];
                        for (int u = 0; u < users; u++) {
                            for (int v = 0; v < 2; v++) {
                                int row = 2 * u + v;
                                inCb[row] = orders[v][u][step - 1];
                                inTok[row] = catalog.token(TARGETS[u], inCb[row]);
                                for (int k = 0; k < step; k++) used[row] |= 1 << orders[v][u][k];
                            }
                        }
                        Reg4RecModel.StepOutput out = model.decodeStep(cache, inCb, inTok);
                        float[] lp = model.maskedLogProbs(out.tokenLogits(), model.disallowedCodebooks(used, step)).data().toFloatArray();
                        for (int u = 0; u < users; u++) {
                            for (int v = 0; v < 2; v++) {
                                for (int k = 0; k < pairs; k++) {
                                    assertEquals(fulls[v][(u * M + step) * pairs + k], lp[(2 * u + v) * pairs + k], 1e-4, "user " + u + " variant " + v + " step " + step);
                                }
                            }
                        }
                    }
                    assertEquals(M, cache.length());
                    assertThrows(IllegalStateException.class, () -> model.decodeStep(cache, new int[6], new int[6]));
                }
            }
        }
    }

    private static float[] logProbs(Reg4RecModel model, Reg4RecModel.TeacherForced out) {
        try (Tensor lp = out.tokenLogits().data().logSoftmax(-1)) {
            return lp.toFloatArray();
        }
    }

    @Test
    void incrementalDecodingRefusesToRecordGradients() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, smallConfig(), catalog, 7)) {
            assertThrows(IllegalStateException.class, () -> model.startDecoding(model.encode(HISTORIES)));
        }
    }

    @Test
    void randomOrdersArePermutations() {
        int[][] orders = DecodingOrders.random(200, 8, new SplittableRandom(3));
        int[] firstCounts = new int[8];
        for (int[] o : orders) {
            assertEquals(0xFF, java.util.Arrays.stream(o).map(c -> 1 << c).sum());
            firstCounts[o[0]]++;
        }
        for (int c : firstCounts) assertTrue(c > 5, "every codebook comes first sometimes");
    }

    @Test
    void confidenceOrdersArePermutations() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, smallConfig(), catalog, 7)) {
            model.eval();
            for (int[][] orders : new int[][][]{DecodingOrders.greedyCrss(model, HISTORIES), DecodingOrders.targetConfidence(model, HISTORIES, TARGETS)}) {
                assertEquals(3, orders.length);
                for (int[] o : orders) assertEquals(7, java.util.Arrays.stream(o).map(c -> 1 << c).sum());
            }
            assertTrue(Double.isFinite(model.loss(HISTORIES, TARGETS, DecodingOrders.targetConfidence(model, HISTORIES, TARGETS)).total().item()));
        }
    }
}

package io.reg4rec.model.rec;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The optional learned item-id embedding of history items (Reg4RecConfig.historyItemIds). */
class Reg4RecHistoryIdsTest {
    static final int M = Reg4RecModelTest.M, D = Reg4RecModelTest.D, C = Reg4RecModelTest.C, ITEMS = Reg4RecModelTest.ITEMS, WIDTH = 16;
    // maxHistory 6: user 2 keeps items 7..12, so items 4, 5 and 6 of its history are cut off
    static final int[][] HISTORIES = Reg4RecModelTest.HISTORIES;
    static final String TABLE = "history_items.weight";

    private static Reg4RecConfig config(boolean ids) {
        Reg4RecConfig c = Reg4RecModelTest.smallConfig().withHistoryItemIds(ids);
        assertEquals(WIDTH, c.dModel());
        return c;
    }

    @Test
    void offByDefault() {
        assertFalse(Reg4RecConfig.paper(8, 300, 10).historyItemIds());
        assertTrue(Reg4RecConfig.paper(8, 300, 10).withHistoryItemIds(true).withDropout(0.2).withFixedOrder(true).historyItemIds(), "the with-ers keep the flag");
    }

    /** One row per item plus the padding row, registered only when on; every other parameter is initialised as without it. */
    @Test
    void theTableAddsOneRowPerItemAndPaddingOnlyWhenOn() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel off = new Reg4RecModel(Device.CPU, config(false), catalog, 7);
             Reg4RecModel on = new Reg4RecModel(Device.CPU, config(true), catalog, 7)) {
            assertEquals((long) (ITEMS + 1) * WIDTH, on.parameterCount() - off.parameterCount());
            Map<String, Variable> offParams = off.namedParameters(), onParams = on.namedParameters();
            assertFalse(offParams.containsKey(TABLE));
            assertArrayEquals(new int[]{ITEMS + 1, WIDTH}, onParams.get(TABLE).shape());
            Set<String> extra = new HashSet<>(onParams.keySet());
            extra.removeAll(offParams.keySet());
            assertEquals(Set.of(TABLE), extra);
            for (Map.Entry<String, Variable> e : offParams.entrySet()) {
                assertArrayEquals(e.getValue().data().toFloatArray(), onParams.get(e.getKey()).data().toFloatArray(), 0f, e.getKey() + " initialised as without the flag");
            }
            float[] table = onParams.get(TABLE).data().toFloatArray();
            double sumSq = 0;
            for (float v : table) sumSq += v * v;
            double std = Math.sqrt(sumSq / table.length), tokenStd = 1.0 / Math.sqrt(WIDTH);
            assertEquals(tokenStd, std, 0.15 * tokenStd, "initialised with the token table's std");
        }
    }

    /** The loss trains exactly the rows of the items the encoder saw. */
    @Test
    void gradientReachesTheRowsOfSeenItemsOnly() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, config(true), catalog, 7)) {
            model.loss(HISTORIES, Reg4RecModelTest.TARGETS, Reg4RecModelTest.ORDERS).total().backward();
            float[] grad = model.namedParameters().get(TABLE).grad().toFloatArray();
            Set<Integer> seen = Set.of(1, 2, 3, 7, 8, 9, 10, 11, 12);
            for (int item = 1; item <= ITEMS; item++) {
                double norm = 0;
                for (int k = 0; k < WIDTH; k++) norm += Math.abs(grad[item * WIDTH + k]);
                if (seen.contains(item)) assertTrue(norm > 0, "item " + item + " was in a history");
                else assertEquals(0.0, norm, "item " + item + " was not seen by the encoder");
            }
            model.zeroGrad();
        }
    }

    /** Changing one row of the id table changes the encoding of exactly the users whose (truncated) history holds that item. */
    @Test
    void encodeFollowsTheIdTable() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 1);
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, config(true), catalog, 7); NoGrad ignored = NoGrad.enter()) {
            model.eval();
            float[] before = model.encode(HISTORIES).memory().data().toFloatArray();
            int perUser = before.length / HISTORIES.length;

            shiftRow(model, 7, 0.5f);   // in user 1's history and in user 2's last 6
            float[] after7 = model.encode(HISTORIES).memory().data().toFloatArray();
            assertArrayEquals(Arrays.copyOfRange(before, 0, perUser), Arrays.copyOfRange(after7, 0, perUser), 1e-6f, "user 0 has no item 7");
            for (int u = 1; u < 3; u++) {
                double change = 0;
                for (int i = u * perUser; i < (u + 1) * perUser; i++) change = Math.max(change, Math.abs(after7[i] - before[i]));
                assertTrue(change > 1e-3, "user " + u + " holds item 7: its encoding changes, max change " + change);
            }

            shiftRow(model, 5, 0.5f);    // only in the part of user 2's history beyond maxHistory
            shiftRow(model, 13, 0.5f);   // in no history
            assertArrayEquals(after7, model.encode(HISTORIES).memory().data().toFloatArray(), 1e-6f, "rows of unseen items do not matter");
        }
    }

    /** Adds a pattern that varies over the row (a constant shift would vanish in the layer norms). */
    private static void shiftRow(Reg4RecModel model, int item, float delta) {
        Variable table = model.namedParameters().get(TABLE);
        float[] w = table.data().toFloatArray();
        for (int k = 0; k < WIDTH; k++) w[item * WIDTH + k] += (float) (delta * Math.sin(k + 1.0));
        try (Tensor t = Tensor.of(Device.CPU, w, ITEMS + 1, WIDTH)) {
            table.update(t);
        }
    }
}

package io.reg4rec.train.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeaveOneOutTest {
    private static Dataset small() {
        int[][] seqs = {{1, 2, 3, 4, 5}, {6, 7}, {3, 1, 6}, {4}};
        int[][] attrs = new int[8][];
        for (int i = 0; i < 8; i++) attrs[i] = new int[0];
        return Dataset.of("small", 7, seqs, new int[8], attrs, 0, null, null);
    }

    @Test
    void splitsLastTwoItemsOff() {
        LeaveOneOut s = LeaveOneOut.split(small());
        assertArrayEquals(new int[]{1, 2, 3}, s.trainPart(0));
        assertArrayEquals(new int[]{3}, s.trainPart(2));
        assertArrayEquals(new int[]{4, 0, 1, 0}, s.validationTargets());
        assertArrayEquals(new int[]{5, 0, 6, 0}, s.testTargets());
        assertEquals(2, s.numEvaluable());
    }

    @Test
    void shortUsersTrainOnEverythingAndAreNotEvaluated() {
        LeaveOneOut s = LeaveOneOut.split(small());
        assertArrayEquals(new int[]{6, 7}, s.trainPart(1));
        assertArrayEquals(new int[]{4}, s.trainPart(3));
        assertFalse(s.evaluable(1));
        assertFalse(s.evaluable(3));
        assertTrue(s.evaluable(0));
    }

    @Test
    void trainingExamplesAreEveryPrefixCapped() {
        LeaveOneOut.Examples e = LeaveOneOut.split(small()).trainingExamples(2);
        // user 0: (1)->2, (1,2)->3; user 1: (6)->7; user 2: none (train part has one item); user 3: none
        assertEquals(3, e.size());
        assertArrayEquals(new int[][]{{1}, {1, 2}, {6}}, e.histories());
        assertArrayEquals(new int[]{2, 3, 7}, e.targets());
        assertArrayEquals(new int[]{0, 0, 1}, e.users());
        LeaveOneOut.Examples capped = LeaveOneOut.split(Dataset.of("long", 9, new int[][]{{1, 2, 3, 4, 5, 6, 7, 8, 9}},
                new int[10], emptyAttributes(9), 0, null, null)).trainingExamples(3);
        assertArrayEquals(new int[]{4, 5, 6}, capped.histories()[5]);
        assertEquals(7, capped.targets()[5]);
        assertEquals(6, capped.size());
    }

    @Test
    void validationAndTestInputs() {
        LeaveOneOut s = LeaveOneOut.split(small());
        LeaveOneOut.Examples v = s.validationInputs(50);
        assertArrayEquals(new int[][]{{1, 2, 3}, {3}}, v.histories());
        assertArrayEquals(new int[]{4, 1}, v.targets());
        assertArrayEquals(new int[]{0, 2}, v.users());
        LeaveOneOut.Examples t = s.testInputs(50);
        assertArrayEquals(new int[][]{{1, 2, 3, 4}, {3, 1}}, t.histories());
        assertArrayEquals(new int[]{5, 6}, t.targets());
        LeaveOneOut.Examples tc = s.testInputs(2);
        assertArrayEquals(new int[]{3, 4}, tc.histories()[0]);
        assertThrows(IllegalArgumentException.class, () -> s.testInputs(0));
    }

    @Test
    void trainingNeverSeesEvaluationTargets() {
        Dataset d = Datasets.synthetic(SyntheticConfig.defaults().withSize(300, 200));
        LeaveOneOut s = LeaveOneOut.split(d);
        LeaveOneOut.Examples e = s.trainingExamples();
        int[] val = s.validationTargets(), test = s.testTargets();
        for (int k = 0; k < e.size(); k++) {
            int u = e.users()[k];
            int[] seq = d.sequence(u);
            // the target is at a position before the last two of the user's sequence
            int pos = indexOf(seq, e.targets()[k]);
            assertTrue(pos < seq.length - 2, "example target at position " + pos + " of " + seq.length);
            for (int h : e.histories()[k]) assertTrue(h != val[u] && h != test[u]);
        }
    }

    private static int indexOf(int[] a, int x) {
        for (int i = 0; i < a.length; i++) if (a[i] == x) return i;
        return -1;
    }

    private static int[][] emptyAttributes(int numItems) {
        int[][] a = new int[numItems + 1][];
        for (int i = 0; i <= numItems; i++) a[i] = new int[0];
        return a;
    }
}

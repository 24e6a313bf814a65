package io.reg4rec.train.rec;

import io.reg4rec.train.data.LeaveOneOut;

/** Batches of next-item examples picked by unit index. */
final class Examples {
    private Examples() {}

    record Batch(int[][] histories, int[] targets) {}

    static Batch pick(LeaveOneOut.Examples examples, int[] units) {
        int[][] histories = new int[units.length][];
        int[] targets = new int[units.length];
        for (int i = 0; i < units.length; i++) {
            histories[i] = examples.histories()[units[i]];
            targets[i] = examples.targets()[units[i]];
        }
        return new Batch(histories, targets);
    }
}

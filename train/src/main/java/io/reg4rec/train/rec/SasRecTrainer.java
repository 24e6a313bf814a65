package io.reg4rec.train.rec;

import io.reg4rec.autograd.Variable;
import io.reg4rec.model.nn.Module;
import io.reg4rec.model.rec.SasRec;
import io.reg4rec.train.data.LeaveOneOut;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The SASRec baseline as a {@link RecTask}: one training unit per user whose training part has at
 * least two items (its last maxLength + 1 items: every position predicts the next, full-softmax
 * cross-entropy over all items); ranking by the scores of all items at the last position.
 */
public final class SasRecTrainer implements RecTask {
    private final SasRec model;
    private final int[][] sequences;

    public SasRecTrainer(SasRec model, LeaveOneOut split) {
        this.model = model;
        int keep = model.config().maxLength() + 1;
        List<int[]> seqs = new ArrayList<>();
        for (int[] part : split.trainParts()) {
            if (part.length >= 2) seqs.add(Arrays.copyOfRange(part, Math.max(0, part.length - keep), part.length));
        }
        this.sequences = seqs.toArray(new int[0][]);
    }

    @Override
    public String name() { return "sasrec"; }

    @Override
    public Module model() { return model; }

    @Override
    public int trainingUnits() { return sequences.length; }

    @Override
    public int unitLength(int unit) { return sequences[unit].length; }

    @Override
    public int maxHistory() { return model.config().maxLength(); }

    @Override
    public StepLoss loss(int[] units, int epoch, SplittableRandom rng) {
        int[][] batch = new int[units.length][];
        for (int i = 0; i < units.length; i++) batch[i] = sequences[units[i]];
        Variable loss = model.loss(batch);
        return new StepLoss(loss, Map.of("loss", loss.data()));
    }

    @Override
    public Ranker ranker() {
        return model::topK;
    }
}

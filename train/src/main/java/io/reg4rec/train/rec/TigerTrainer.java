package io.reg4rec.train.rec;

import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.Module;
import io.reg4rec.model.rec.DecodedPath;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.model.rec.Tiger;
import io.reg4rec.train.data.LeaveOneOut;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The TIGER baseline as a {@link RecTask}: the same encoder-decoder body in fixed order (RQ-VAE
 * level s at step s), trained on the same next-item examples with the fixed-order token loss
 * (+ the category loss, as REG4Rec, so the comparison isolates tokens and decoding), ranked by
 * trie-constrained beam search (every beam a real item; items sharing a sequence in id order).
 */
public final class TigerTrainer implements RecTask {
    private final Tiger tiger;
    private final LeaveOneOut.Examples examples;
    private final int beamWidth;

    public TigerTrainer(Reg4RecModel fixedOrderModel, LeaveOneOut split, int beamWidth) {
        if (beamWidth < 1) throw new IllegalArgumentException("TigerTrainer: beam width must be >= 1, got " + beamWidth);
        this.tiger = new Tiger(fixedOrderModel);
        this.examples = split.trainingExamples(fixedOrderModel.config().maxHistory());
        this.beamWidth = beamWidth;
    }

    @Override
    public String name() { return "tiger"; }

    @Override
    public Module model() { return tiger.model(); }

    @Override
    public int trainingUnits() { return examples.size(); }

    @Override
    public int unitLength(int unit) { return examples.histories()[unit].length; }

    @Override
    public int maxHistory() { return tiger.model().config().maxHistory(); }

    @Override
    public StepLoss loss(int[] units, int epoch, SplittableRandom rng) {
        Examples.Batch batch = Examples.pick(examples, units);
        Reg4RecModel.PretrainLoss loss = tiger.loss(batch.histories(), batch.targets());
        Map<String, Tensor> parts = new LinkedHashMap<>();
        parts.put("loss", loss.total().data());
        parts.put("token_loss", loss.tokenLoss().data());
        parts.put("category_loss", loss.categoryLoss().data());
        parts.put("step_accuracy", loss.stepAccuracy());
        return new StepLoss(loss.total(), parts);
    }

    @Override
    public Ranker ranker() {
        return (histories, topK) -> {
            List<List<DecodedPath>> beams = tiger.beamSearch(histories, beamWidth);
            int[][] out = new int[histories.length][];
            for (int u = 0; u < out.length; u++) out[u] = tiger.rank(beams.get(u), topK);
            return out;
        };
    }
}

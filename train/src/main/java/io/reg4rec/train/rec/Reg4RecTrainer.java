package io.reg4rec.train.rec;

import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.Module;
import io.reg4rec.model.rec.DecodingOrders;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.train.data.LeaveOneOut;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * REG4Rec pre-training as a {@link RecTask}: next-item examples from the leave-one-out training
 * parts (every prefix of a user's training part, its most recent maxHistory items, predicts the
 * item that followed), loss L_token + w L_cate (Eq. 6-7) teacher-forced in a decoding order per
 * example.
 *
 * <p><b>Decoding orders</b> ("CRSS diversifies path combinations"): during the first
 * {@code randomOnlyEpochs} epochs every example gets a uniformly random permutation of the
 * codebooks (the model's confidences mean nothing yet); afterwards a share
 * {@code confidenceShare} of each batch gets the model's own teacher-forced confidence order
 * ({@link DecodingOrders#targetConfidence}: most confident unused codebook first, computed in eval
 * mode without gradient), the rest random permutations. Random orders keep every order trained,
 * so beam search can merge paths of any order; confidence orders train the orders CRSS takes at
 * inference. Defaults: 1 warm-up epoch, then 50/50.
 */
public final class Reg4RecTrainer implements RecTask {
    /**
     * @param randomOnlyEpochs epochs at the start with random orders only
     * @param confidenceShare  share of each later batch decoded in the model's confidence order
     * @param beamWidth        CRSS beam width of validation and test
     * @param maxMismatches    d of relaxed retrieval
     * @param catalogBeams     beam search extends token sets only towards catalog items ({@link io.reg4rec.model.rec.CatalogSetConstraint})
     * @param setTokenLoss     train with the order-free token loss ({@link Reg4RecModel#loss(int[][], int[], int[][], boolean, double)}) instead of Eq. 6
     * @param catalogLossWeight weight of the catalog term (a full softmax over items at the first step, {@code Reg4RecModel#catalogLoss}); 0 = off
     */
    public record Options(int randomOnlyEpochs, double confidenceShare, int beamWidth, int maxMismatches, boolean catalogBeams, boolean setTokenLoss,
                          double catalogLossWeight) {
        public Options {
            if (randomOnlyEpochs < 0) throw new IllegalArgumentException("Reg4RecTrainer: random-only epochs must be >= 0, got " + randomOnlyEpochs);
            if (!(confidenceShare >= 0 && confidenceShare <= 1)) throw new IllegalArgumentException("Reg4RecTrainer: confidence share must be in [0, 1], got " + confidenceShare);
            if (beamWidth < 1) throw new IllegalArgumentException("Reg4RecTrainer: beam width must be >= 1, got " + beamWidth);
            if (maxMismatches < 0) throw new IllegalArgumentException("Reg4RecTrainer: mismatches must be >= 0, got " + maxMismatches);
            if (!(catalogLossWeight >= 0 && Double.isFinite(catalogLossWeight))) {
                throw new IllegalArgumentException("Reg4RecTrainer: catalog loss weight must be a finite number >= 0, got " + catalogLossWeight);
            }
        }

        public static Options defaults() {
            return new Options(1, 0.5, Reg4RecEvaluator.DEFAULT_BEAM, Reg4RecEvaluator.DEFAULT_MISMATCHES, false, false, 0);
        }

        public Options withBeam(int beam, int mismatches) {
            return new Options(randomOnlyEpochs, confidenceShare, beam, mismatches, catalogBeams, setTokenLoss, catalogLossWeight);
        }

        public Options withOrders(int randomEpochs, double share) {
            return new Options(randomEpochs, share, beamWidth, maxMismatches, catalogBeams, setTokenLoss, catalogLossWeight);
        }

        public Options withCatalogBeams(boolean on) {
            return new Options(randomOnlyEpochs, confidenceShare, beamWidth, maxMismatches, on, setTokenLoss, catalogLossWeight);
        }

        public Options withSetTokenLoss(boolean on) {
            return new Options(randomOnlyEpochs, confidenceShare, beamWidth, maxMismatches, catalogBeams, on, catalogLossWeight);
        }

        public Options withCatalogLoss(double weight) {
            return new Options(randomOnlyEpochs, confidenceShare, beamWidth, maxMismatches, catalogBeams, setTokenLoss, weight);
        }
    }

    private final Reg4RecModel model;
    private final LeaveOneOut.Examples examples;
    private final Options options;
    private final Reg4RecEvaluator evaluator;

    /** @param itemPrior relaxed retrieval's tie-break per item id ({@link Catalogs#trainingPopularity}) */
    public Reg4RecTrainer(Reg4RecModel model, LeaveOneOut split, Options options, double[] itemPrior) {
        this.model = model;
        this.examples = split.trainingExamples(model.config().maxHistory());
        this.options = options;
        this.evaluator = new Reg4RecEvaluator(model, options.beamWidth(), options.maxMismatches(), options.catalogBeams(), itemPrior);
    }

    @Override
    public String name() { return "reg4rec"; }

    @Override
    public Module model() { return model; }

    @Override
    public int trainingUnits() { return examples.size(); }

    @Override
    public int unitLength(int unit) { return examples.histories()[unit].length; }

    @Override
    public int maxHistory() { return model.config().maxHistory(); }

    @Override
    public Ranker ranker() { return evaluator; }

    /** The decoding orders of one batch (see the class comment); the units arrive shuffled, so the first share is a random subset. */
    int[][] orders(int[][] histories, int[] targets, int epoch, SplittableRandom rng) {
        int n = targets.length, m = model.config().codebooks();
        int[][] orders = DecodingOrders.random(n, m, rng);
        int confident = epoch < options.randomOnlyEpochs() ? 0 : (int) Math.round(options.confidenceShare() * n);
        if (confident > 0) {
            model.eval();   // the model's own confidence, without dropout noise
            try {
                int[][] own = DecodingOrders.targetConfidence(model, java.util.Arrays.copyOf(histories, confident), java.util.Arrays.copyOf(targets, confident));
                System.arraycopy(own, 0, orders, 0, confident);
            } finally {
                model.train();
            }
        }
        return orders;
    }

    @Override
    public StepLoss loss(int[] units, int epoch, SplittableRandom rng) {
        Examples.Batch batch = Examples.pick(examples, units);
        int[][] orders = orders(batch.histories(), batch.targets(), epoch, rng);
        Reg4RecModel.PretrainLoss loss = model.loss(batch.histories(), batch.targets(), orders, options.setTokenLoss(), options.catalogLossWeight());
        Map<String, Tensor> parts = new LinkedHashMap<>();
        parts.put("loss", loss.total().data());
        parts.put("token_loss", loss.tokenLoss().data());
        parts.put("category_loss", loss.categoryLoss().data());
        if (loss.catalogLoss() != null) parts.put("catalog_loss", loss.catalogLoss().data());
        parts.put("step_accuracy", loss.stepAccuracy());
        parts.put("category_accuracy", loss.categoryAccuracy());
        return new StepLoss(loss.total(), parts);
    }
}

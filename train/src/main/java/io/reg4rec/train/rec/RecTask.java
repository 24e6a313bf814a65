package io.reg4rec.train.rec;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.Module;

import java.util.Map;
import java.util.SplittableRandom;

/**
 * What {@link TrainingLoop} needs from one recommender: its module, its training units (examples
 * or sequences, indexed 0..trainingUnits()-1, which the loop shuffles and batches), a loss for a
 * batch of units, and a {@link Ranker} for validation and test.
 */
public interface RecTask {
    /**
     * The loss of one batch: the total to differentiate, and named single-value parts for the
     * epoch log (e.g. the loss itself, accuracies), left on the device: the loop sums them there
     * and reads the sums only now and then, so a step does not wait for the device.
     */
    record StepLoss(Variable total, Map<String, Tensor> parts) {}

    /** A short name for logs, files and tables ("reg4rec", "sasrec", "tiger"). */
    String name();

    Module model();

    /** Number of training units the loop draws batches from. */
    int trainingUnits();

    /**
     * The loss of the given units, in training mode, inside the loop's step scope. {@code rng}
     * is this batch's own generator (derived from the seed, epoch and batch, so a resumed run
     * draws the same), {@code epoch} is 0-based.
     */
    StepLoss loss(int[] units, int epoch, SplittableRandom rng);

    /** The ranking side (called in eval mode, under no gradient). */
    Ranker ranker();

    /**
     * The length of a unit's input (its history), or 0 when unknown. With lengths the loop batches
     * units of similar length together (see {@link TrainingLoop}), so short histories are not
     * padded to the longest of a random batch.
     */
    default int unitLength(int unit) { return 0; }

    /** Most recent history items the model reads (evaluation histories are capped to it). */
    int maxHistory();
}

package io.reg4rec.model.rec;

/**
 * A decoded token set with the path that produced it.
 *
 * @param tokens            token per codebook (-1 where a partial path has not reached the codebook)
 * @param order             codebook chosen at each step, in step order
 * @param score             the path's log-probability (the sum of stepLogProbs; for a beam that
 *                          merged several orders, their combination under the merge rule)
 * @param stepLogProbs      log-probability of the chosen pair at each step
 * @param categoryProbs     the category distribution at each step ([steps][C]); null when not recorded
 * @param mergedPaths       number of decoding orders merged into this token set (1 without merging)
 */
public record DecodedPath(int[] tokens, int[] order, double score, double[] stepLogProbs, float[][] categoryProbs, int mergedPaths) {
    /** Number of steps decoded. */
    public int steps() { return order.length; }
}

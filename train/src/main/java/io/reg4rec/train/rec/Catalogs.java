package io.reg4rec.train.rec;

import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.LeaveOneOut;

import java.util.Arrays;

/** Builds what the generative models need from a dataset: the item catalog and the item prior. */
public final class Catalogs {
    private Catalogs() {}

    /**
     * Dense category ids 0..C-1 per item id (entry 0 = 0) from the dataset's labels, which need not
     * be dense (derived labels are attribute ids): labels are numbered in ascending order, so the
     * category head has one class per label that occurs, not one per attribute.
     */
    public static int[] denseCategories(Dataset dataset) {
        int[] labels = dataset.itemCategory();
        int[] distinct = Arrays.stream(labels, 1, labels.length).distinct().sorted().toArray();
        int[] out = new int[labels.length];
        for (int i = 1; i < labels.length; i++) out[i] = Arrays.binarySearch(distinct, labels[i]);
        return out;
    }

    /** Number of classes of {@link #denseCategories}. */
    public static int numCategories(int[] denseCategories) {
        int max = 0;
        for (int c : denseCategories) max = Math.max(max, c);
        return max + 1;
    }

    /** The catalog of tokens [numItems + 1][M] (row 0 padding, ignored) and dense categories. */
    public static ItemCatalog catalog(int[][] tokens, int[] denseCategories, int codewords) {
        int[][] rows = new int[tokens.length][];
        rows[0] = new int[tokens[1].length];
        for (int i = 1; i < tokens.length; i++) rows[i] = tokens[i];
        return new ItemCatalog(rows, denseCategories, numCategories(denseCategories), codewords);
    }

    /**
     * Interactions per item in the users' training parts only (index = item id; entry 0 = 0): the
     * popularity that breaks ties in relaxed retrieval and ranks the popularity baseline. Validation
     * and test targets never count.
     */
    public static double[] trainingPopularity(LeaveOneOut split) {
        double[] counts = new double[split.dataset().numItems() + 1];
        for (int[] part : split.trainParts()) for (int item : part) counts[item]++;
        return counts;
    }
}

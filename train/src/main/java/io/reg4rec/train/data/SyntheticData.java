package io.reg4rec.train.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A synthetic dataset with structure a sequential recommender can learn, deterministic by seed.
 *
 * <p>Generative story. Categories have random unit centre vectors in a facet space; each has
 * subcategories whose centres lie near it, and items lie near their subcategory centre (item ids
 * are shuffled, so ids carry no cluster information). Items have a log-normal popularity, one
 * brand of their category and the attributes [brand, category, subcategory] (brand first, as in
 * the Amazon data). Their text is a few words: two from their subcategory's word list, one from
 * their category's, one noise word and the brand's word, so text features see the clusters too.
 *
 * <p>A user has 1-3 latent intents, each a vector near a subcategory centre. Before each step the
 * user may switch intent; the current interest mixes the intent with the last item's vector
 * (sequential drift). The next item is drawn in two stages, a subcategory by softmax over
 * sharpness x (centre . interest), then an unseen item of it by softmax over sharpness x
 * (item . interest) + log popularity. Sequences never repeat an item.
 */
public final class SyntheticData {
    private static final int WORDS_PER_SUBCATEGORY = 6;
    private static final int WORDS_PER_CATEGORY = 4;
    private static final int NOISE_WORDS = 50;

    private SyntheticData() {}

    public static Dataset generate(SyntheticConfig cfg) {
        Random rng = new Random(cfg.seed());
        int d = cfg.facetDim(), numCat = cfg.numCategories(), perCat = cfg.subcategoriesPerCategory();
        int numSub = numCat * perCat;
        double[][] catCentre = new double[numCat][];
        for (int c = 0; c < numCat; c++) catCentre[c] = unit(gaussian(rng, d));
        double[][] subCentre = new double[numSub][];
        for (int s = 0; s < numSub; s++) subCentre[s] = unit(axpy(catCentre[s / perCat], 0.7, unit(gaussian(rng, d))));
        // category masses differ (a head and a tail), so the data is not uniform
        double[] subMass = new double[numSub];
        for (int s = 0; s < numSub; s++) subMass[s] = 1.0 / Math.sqrt(1 + s / perCat) * (0.5 + rng.nextDouble());

        int numItems = cfg.numItems();
        int[] permutation = shuffledIds(rng, numItems);
        int[] subOfItem = new int[numItems + 1];
        double[][] itemVec = new double[numItems + 1][];
        double[] logPop = new double[numItems + 1];
        List<List<Integer>> itemsOfSub = new ArrayList<>();
        for (int s = 0; s < numSub; s++) itemsOfSub.add(new ArrayList<>());
        for (int k = 0; k < numItems; k++) {
            int item = permutation[k];
            int s = k < numSub ? k : sample(rng, subMass); // every subcategory gets at least one item
            subOfItem[item] = s;
            itemVec[item] = unit(axpy(subCentre[s], 0.5, unit(gaussian(rng, d))));
            logPop[item] = 0.8 * rng.nextGaussian();
            itemsOfSub.get(s).add(item);
        }

        int brands = numCat * cfg.brandsPerCategory();
        int numAttributes = brands + numCat + numSub;
        int[] category = new int[numItems + 1];
        int[][] attributes = new int[numItems + 1][];
        String[] text = new String[numItems + 1];
        attributes[0] = new int[0];
        for (int item = 1; item <= numItems; item++) {
            int s = subOfItem[item], c = s / perCat;
            int brand = c * cfg.brandsPerCategory() + rng.nextInt(cfg.brandsPerCategory());
            category[item] = c + 1;
            attributes[item] = new int[]{brand + 1, brands + c + 1, brands + numCat + s + 1};
            int w1 = rng.nextInt(WORDS_PER_SUBCATEGORY), w2 = (w1 + 1 + rng.nextInt(WORDS_PER_SUBCATEGORY - 1)) % WORDS_PER_SUBCATEGORY;
            text[item] = "sub" + s + "w" + w1 + " sub" + s + "w" + w2 + " cat" + c + "w" + rng.nextInt(WORDS_PER_CATEGORY)
                    + " noise" + rng.nextInt(NOISE_WORDS) + " brand" + brand;
        }

        int[][] sequences = new int[cfg.numUsers()][];
        double[] subLogits = new double[numSub];
        for (int u = 0; u < cfg.numUsers(); u++) {
            int numIntents = cfg.minIntents() + rng.nextInt(cfg.maxIntents() - cfg.minIntents() + 1);
            double[][] intents = new double[numIntents][];
            for (int k = 0; k < numIntents; k++) intents[k] = unit(axpy(subCentre[sample(rng, subMass)], 0.3, unit(gaussian(rng, d))));
            int length = Math.min(cfg.maxLength(), cfg.minLength() + geometric(rng, cfg.meanExtraLength()));
            int[] seq = new int[length];
            boolean[] seen = new boolean[numItems + 1];
            int current = 0, last = 0;
            for (int t = 0; t < length; t++) {
                if (numIntents > 1 && rng.nextDouble() < cfg.intentSwitch()) current = (current + 1 + rng.nextInt(numIntents - 1)) % numIntents;
                double[] interest = last == 0 ? intents[current] : unit(blend(intents[current], itemVec[last], cfg.drift()));
                int item = 0;
                while (item == 0) {
                    for (int s = 0; s < numSub; s++) subLogits[s] = cfg.sharpness() * dot(subCentre[s], interest);
                    int s = sampleSoftmax(rng, subLogits);
                    item = sampleItem(rng, itemsOfSub.get(s), itemVec, logPop, interest, cfg.sharpness(), seen);
                }
                seen[item] = true;
                seq[t] = item;
                last = item;
            }
            sequences[u] = seq;
        }
        String name = "synthetic-u" + cfg.numUsers() + "-i" + numItems + "-s" + cfg.seed();
        return Dataset.of(name, numItems, sequences, category, attributes, numAttributes, text, null);
    }

    /** An unseen item of the subcategory by softmax, or 0 when the user has seen all of them. */
    private static int sampleItem(Random rng, List<Integer> items, double[][] itemVec, double[] logPop, double[] interest,
                                  double sharpness, boolean[] seen) {
        double[] logits = new double[items.size()];
        boolean any = false;
        for (int k = 0; k < logits.length; k++) {
            int item = items.get(k);
            logits[k] = seen[item] ? Double.NEGATIVE_INFINITY : sharpness * dot(itemVec[item], interest) + logPop[item];
            any |= !seen[item];
        }
        return any ? items.get(sampleSoftmax(rng, logits)) : 0;
    }

    private static int sampleSoftmax(Random rng, double[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (double l : logits) max = Math.max(max, l);
        double[] w = new double[logits.length];
        for (int k = 0; k < logits.length; k++) w[k] = Math.exp(logits[k] - max);
        return sample(rng, w);
    }

    private static int sample(Random rng, double[] weights) {
        double total = 0;
        for (double w : weights) total += w;
        double r = rng.nextDouble() * total;
        for (int k = 0; k < weights.length; k++) {
            r -= weights[k];
            if (r < 0) return k;
        }
        for (int k = weights.length - 1; k >= 0; k--) if (weights[k] > 0) return k; // rounding at the end
        throw new IllegalStateException("sample: all weights are zero");
    }

    private static int geometric(Random rng, double mean) {
        if (mean <= 0) return 0;
        double p = 1.0 / (1.0 + mean);
        return (int) Math.floor(Math.log(1 - rng.nextDouble()) / Math.log(1 - p));
    }

    private static int[] shuffledIds(Random rng, int n) {
        int[] ids = new int[n];
        for (int k = 0; k < n; k++) ids[k] = k + 1;
        for (int k = n - 1; k > 0; k--) {
            int j = rng.nextInt(k + 1);
            int tmp = ids[k];
            ids[k] = ids[j];
            ids[j] = tmp;
        }
        return ids;
    }

    private static double[] gaussian(Random rng, int d) {
        double[] v = new double[d];
        for (int k = 0; k < d; k++) v[k] = rng.nextGaussian();
        return v;
    }

    private static double[] axpy(double[] base, double scale, double[] add) {
        double[] out = base.clone();
        for (int k = 0; k < out.length; k++) out[k] += scale * add[k];
        return out;
    }

    private static double[] blend(double[] a, double[] b, double weightOfB) {
        double[] out = new double[a.length];
        for (int k = 0; k < a.length; k++) out[k] = (1 - weightOfB) * a[k] + weightOfB * b[k];
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int k = 0; k < a.length; k++) s += a[k] * b[k];
        return s;
    }

    private static double[] unit(double[] v) {
        double n = Math.sqrt(dot(v, v));
        if (n == 0) return v;
        double[] out = new double[v.length];
        for (int k = 0; k < v.length; k++) out[k] = v[k] / n;
        return out;
    }
}

package io.reg4rec.model.rec;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

/** Synthetic catalogs and sequences for the rec tests. */
final class Synthetic {
    private Synthetic() {}

    /** numItems items with distinct random token sets (M codebooks of D tokens); category (i - 1) % categories. */
    static ItemCatalog catalog(int numItems, int codebooks, int codewords, int categories, long seed) {
        if (Math.pow(codewords, codebooks) < numItems) throw new IllegalArgumentException(numItems + " distinct token sets do not exist with M=" + codebooks + ", D=" + codewords);
        SplittableRandom rng = new SplittableRandom(seed);
        int[][] tokens = new int[numItems + 1][codebooks];
        int[] cats = new int[numItems + 1];
        Set<String> seen = new HashSet<>();
        for (int i = 1; i <= numItems; i++) {
            do {
                for (int r = 0; r < codebooks; r++) tokens[i][r] = rng.nextInt(codewords);
            } while (!seen.add(java.util.Arrays.toString(tokens[i])));
            cats[i] = (i - 1) % categories;
        }
        return new ItemCatalog(tokens, cats, categories, codewords);
    }

    /** The chain rule of the learning tests: item i is followed by i + 1 (wrapping to 1). */
    static int next(int item, int numItems) {
        return item % numItems + 1;
    }

    /** A history of 1..maxLength chain items starting anywhere; its target is the chain's next item. */
    static int[] chainHistory(int numItems, int maxLength, SplittableRandom rng) {
        int len = 1 + rng.nextInt(maxLength);
        int[] h = new int[len];
        h[0] = 1 + rng.nextInt(numItems);
        for (int j = 1; j < len; j++) h[j] = next(h[j - 1], numItems);
        return h;
    }
}

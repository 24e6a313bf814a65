package io.reg4rec.train.rec;

import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.train.data.Dataset;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A dataset where the right answer is known: item i is always followed by item i + 1 (wrapping),
 * users start anywhere, so popularity is nearly uniform (about 10 / numItems at R@10) while a
 * sequential model can reach R@10 near 1. Items get distinct random token sets and 4 categories.
 */
final class ChainData {
    private ChainData() {}

    static Dataset dataset(int users, int items, int minLength, int maxLength, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[][] sequences = new int[users][];
        for (int u = 0; u < users; u++) {
            int len = minLength + rng.nextInt(maxLength - minLength + 1);
            int[] s = new int[len];
            s[0] = 1 + rng.nextInt(items);
            for (int j = 1; j < len; j++) s[j] = s[j - 1] % items + 1;
            sequences[u] = s;
        }
        int[] category = new int[items + 1];
        int[][] attributes = new int[items + 1][];
        attributes[0] = new int[0];
        for (int i = 1; i <= items; i++) {
            category[i] = 1 + (i - 1) % 4;
            attributes[i] = new int[]{category[i]};
        }
        return Dataset.of("chain", items, sequences, category, attributes, 4, null, null);
    }

    /** Distinct random token sets [numItems + 1][M] (row 0 padding). */
    static int[][] tokens(int items, int codebooks, int codewords, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[][] tokens = new int[items + 1][codebooks];
        Set<String> seen = new HashSet<>();
        for (int i = 1; i <= items; i++) {
            do {
                for (int r = 0; r < codebooks; r++) tokens[i][r] = rng.nextInt(codewords);
            } while (!seen.add(java.util.Arrays.toString(tokens[i])));
        }
        return tokens;
    }

    static ItemCatalog catalog(Dataset d, int codebooks, int codewords, long seed) {
        return Catalogs.catalog(tokens(d.numItems(), codebooks, codewords, seed), Catalogs.denseCategories(d), codewords);
    }
}

package io.reg4rec.model.tokenizer;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How a token table [numItems + 1][M] (row 0 the padding row, skipped) uses the codebooks.
 *
 * @param utilisation        per codebook: fraction of its codewords used by at least one item
 * @param perplexity         per codebook: exp(entropy) of the codeword usage distribution over items
 *                           (D when usage is uniform, 1 when one codeword takes every item)
 * @param collisionRate      fraction of items whose full token set is also some other item's
 * @param distinctTokenSets  number of different token sets
 * @param largestGroup       the most items sharing one token set
 */
public record TokenStats(double[] utilisation, double[] perplexity, double collisionRate, int distinctTokenSets, int largestGroup) {

    public static TokenStats of(int[][] tokens, int codebookSize) {
        int items = tokens.length - 1;
        if (items < 1) throw new IllegalArgumentException("TokenStats: no items (only " + tokens.length + " rows, row 0 is padding)");
        int m = tokens[1].length;
        double[] utilisation = new double[m], perplexity = new double[m];
        for (int r = 0; r < m; r++) {
            long[] counts = new long[codebookSize];
            for (int i = 1; i <= items; i++) {
                int c = tokens[i][r];
                if (c < 0 || c >= codebookSize) throw new IllegalArgumentException("TokenStats: item " + i + " codebook " + r + " token " + c + " outside [0, " + codebookSize + ")");
                counts[c]++;
            }
            int used = 0;
            double entropy = 0;
            for (long n : counts) {
                if (n == 0) continue;
                used++;
                double p = (double) n / items;
                entropy -= p * Math.log(p);
            }
            utilisation[r] = (double) used / codebookSize;
            perplexity[r] = Math.exp(entropy);
        }
        Map<List<Integer>, Integer> groups = new HashMap<>();
        for (int i = 1; i <= items; i++) groups.merge(Arrays.stream(tokens[i]).boxed().toList(), 1, Integer::sum);
        int colliding = 0, largest = 0;
        for (int size : groups.values()) {
            if (size > 1) colliding += size;
            largest = Math.max(largest, size);
        }
        return new TokenStats(utilisation, perplexity, (double) colliding / items, groups.size(), largest);
    }

    public double minUtilisation() {
        return Arrays.stream(utilisation).min().orElse(0);
    }
}

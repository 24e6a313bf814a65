package io.reg4rec.model.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A token table after deterministic collision resolution ({@link Tokenizer#tokenizeDistinct}),
 * with what the resolution did. Not part of MPQ's training: a post-processing step that keeps
 * tokens as M parallel codebooks (unlike TIGER, which appends an extra token). Within each group
 * of items sharing a full token set, the item nearest to its codewords keeps its tokens; every
 * other item, in item-id order, moves ONE codebook to a runner-up codeword: the (codebook,
 * codeword) whose squared distance to the item's latent grows least among those that give a
 * token set no other item holds. Only the codebooks the tokenizer allows are moved (all for MPQ,
 * the last residual level for RQ-VAE, since an earlier level would change later residuals).
 *
 * @param tokens              [numItems + 1][M], row 0 padding; equal to {@link Tokenizer#tokenize} except for moved items
 * @param collidingBefore     items whose token set was shared before resolution
 * @param movedItems          items given a runner-up codeword
 * @param unresolved          moved-candidate items for which none of the examined runner-ups was free (they keep a shared set)
 * @param movedPerCodebook    per codebook, how many items were moved there
 * @param meanExtraDistance   over moved items, the mean growth of the squared latent-to-codeword distance
 * @param meanQuantisationDistance over all items and codebooks, the mean squared latent-to-codeword distance (scale for the above)
 */
public record DistinctTokens(int[][] tokens, int collidingBefore, int movedItems, int unresolved, int[] movedPerCodebook,
                             double meanExtraDistance, double meanQuantisationDistance) {

    /**
     * Resolves collisions given, per item i (1..N) and codebook r, the examined codewords in
     * increasing squared distance ({@code candidates[i][r]}, first = the nearest, i.e. the token)
     * and those distances ({@code distances[i][r]}).
     */
    static DistinctTokens resolve(int[][][] candidates, float[][][] distances, boolean[] adjustable) {
        int n = candidates.length - 1, m = adjustable.length;
        int[][] tokens = new int[n + 1][m];
        Arrays.fill(tokens[0], Tokenizer.PADDING_TOKEN);
        double quantisation = 0;
        Map<Key, List<Integer>> groups = new HashMap<>();
        double[] ownDistance = new double[n + 1];
        for (int i = 1; i <= n; i++) {
            for (int r = 0; r < m; r++) {
                tokens[i][r] = candidates[i][r][0];
                ownDistance[i] += distances[i][r][0];
            }
            quantisation += ownDistance[i];
            groups.computeIfAbsent(new Key(tokens[i].clone()), k -> new ArrayList<>()).add(i);
        }
        Map<Key, Integer> taken = new HashMap<>();
        groups.forEach((k, items) -> taken.put(k, items.size()));

        List<Integer> toMove = new ArrayList<>();
        int collidingBefore = 0;
        for (List<Integer> items : groups.values()) {
            if (items.size() < 2) continue;
            collidingBefore += items.size();
            // the owner: nearest to its codewords, ties to the lower item id
            int owner = items.stream().min(Comparator.<Integer>comparingDouble(i -> ownDistance[i]).thenComparingInt(i -> i)).orElseThrow();
            for (int i : items) if (i != owner) toMove.add(i);
        }
        toMove.sort(Integer::compare);

        int moved = 0, unresolved = 0;
        int[] perCodebook = new int[m];
        double extraTotal = 0;
        for (int i : toMove) {
            int bestR = -1, bestJ = -1;
            double bestExtra = Double.POSITIVE_INFINITY;
            for (int r = 0; r < m; r++) {
                if (!adjustable[r]) continue;
                for (int j = 1; j < candidates[i][r].length; j++) {
                    double extra = distances[i][r][j] - distances[i][r][0];
                    if (extra >= bestExtra) break;   // candidates are sorted: later ones only grow
                    int[] trial = tokens[i].clone();
                    trial[r] = candidates[i][r][j];
                    if (!taken.containsKey(new Key(trial))) {
                        bestExtra = extra;
                        bestR = r;
                        bestJ = j;
                        break;
                    }
                }
            }
            if (bestR < 0) {
                unresolved++;
                continue;
            }
            Key old = new Key(tokens[i].clone());
            taken.merge(old, -1, (a, b) -> a + b == 0 ? null : a + b);
            tokens[i][bestR] = candidates[i][bestR][bestJ];
            taken.put(new Key(tokens[i].clone()), 1);
            moved++;
            perCodebook[bestR]++;
            extraTotal += bestExtra;
        }
        return new DistinctTokens(tokens, collidingBefore, moved, unresolved, perCodebook, moved == 0 ? 0 : extraTotal / moved,
                quantisation / ((double) n * m));
    }

    /** A token set as a hash key. */
    private record Key(int[] tokens) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(tokens, k.tokens);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(tokens);
        }
    }
}

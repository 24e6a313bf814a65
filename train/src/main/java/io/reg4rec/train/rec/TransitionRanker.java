package io.reg4rec.train.rec;

import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.eval.RankingMetrics;

import java.util.Arrays;

/**
 * A first-order Markov floor: the items that followed the history's last item in the users'
 * training parts, most often first (ties by popularity, then id), then the most popular items.
 * Validation and test targets never count. On Amazon Beauty it ranks above the generative
 * models pre-trained here, which says how much of the next item the last one already tells.
 */
public final class TransitionRanker implements Ranker {
    private final int[][] followers;
    private final int[] byPopularity;
    private final float[] popularity;

    /** @param popularity per item id (entry 0 ignored), {@link Catalogs#trainingPopularity} */
    public TransitionRanker(LeaveOneOut split, double[] popularity) {
        int numItems = split.dataset().numItems();
        if (popularity.length != numItems + 1) {
            throw new IllegalArgumentException("TransitionRanker: popularity has " + popularity.length + " entries, the catalog " + (numItems + 1));
        }
        this.popularity = new float[popularity.length];
        for (int i = 1; i < popularity.length; i++) this.popularity[i] = (float) popularity[i];
        // every training transition as one long (from, to), sorted so equal pairs are adjacent
        int pairs = 0;
        for (int[] part : split.trainParts()) pairs += Math.max(0, part.length - 1);
        long[] codes = new long[pairs];
        int n = 0;
        for (int[] part : split.trainParts()) {
            for (int j = 0; j + 1 < part.length; j++) codes[n++] = (long) part[j] * (numItems + 1) + part[j + 1];
        }
        Arrays.sort(codes);
        int[] distinctPerItem = new int[numItems + 1];
        for (int i = 0; i < n; i++) if (i == 0 || codes[i] != codes[i - 1]) distinctPerItem[(int) (codes[i] / (numItems + 1))]++;
        followers = new int[numItems + 1][];
        int[][] counts = new int[numItems + 1][];
        for (int item = 0; item <= numItems; item++) {
            followers[item] = new int[distinctPerItem[item]];
            counts[item] = new int[distinctPerItem[item]];
        }
        int[] filled = new int[numItems + 1];
        for (int i = 0; i < n; ) {
            int j = i;
            while (j < n && codes[j] == codes[i]) j++;
            int from = (int) (codes[i] / (numItems + 1)), to = (int) (codes[i] % (numItems + 1));
            followers[from][filled[from]] = to;
            counts[from][filled[from]++] = j - i;
            i = j;
        }
        for (int item = 1; item <= numItems; item++) sortByCount(followers[item], counts[item]);
        byPopularity = RankingMetrics.topK(this.popularity, numItems, null);
    }

    private void sortByCount(int[] items, int[] counts) {
        Integer[] order = new Integer[items.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> counts[a] != counts[b] ? Integer.compare(counts[b], counts[a])
                : popularity[items[a]] != popularity[items[b]] ? Float.compare(popularity[items[b]], popularity[items[a]])
                : Integer.compare(items[a], items[b]));
        int[] sorted = new int[items.length];
        for (int i = 0; i < order.length; i++) sorted[i] = items[order[i]];
        System.arraycopy(sorted, 0, items, 0, items.length);
    }

    @Override
    public int[][] rank(int[][] histories, int topK) {
        int[][] out = new int[histories.length][];
        for (int u = 0; u < histories.length; u++) {
            int[] next = histories[u].length == 0 ? new int[0] : followers[histories[u][histories[u].length - 1]];
            int[] list = new int[Math.min(topK, popularity.length - 1)];
            int size = 0;
            for (int i = 0; i < next.length && size < list.length; i++) list[size++] = next[i];
            for (int i = 0; size < list.length; i++) {
                if (!contains(list, size, byPopularity[i])) list[size++] = byPopularity[i];
            }
            out[u] = list;
        }
        return out;
    }

    private static boolean contains(int[] list, int size, int item) {
        for (int i = 0; i < size; i++) if (list[i] == item) return true;
        return false;
    }
}

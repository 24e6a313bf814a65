package io.reg4rec.train.eval;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Recall@K and NDCG@K over full rankings (SPEC section 9), averaged over users.
 *
 * <p>Each user contributes a ranked list of item ids (best first, from a ranking over all items;
 * it may be shorter than K, missing positions count as misses) and a set of relevant items (one
 * target in leave-one-out). Recall@K = |relevant in top K| / |relevant|; NDCG@K = DCG@K / IDCG@K
 * with DCG@K = sum over hits at 0-based rank r < K of 1 / log2(r + 2) and IDCG@K the DCG of
 * min(K, |relevant|) hits at the top. With one target both reduce to the usual hit rate and
 * 1 / log2(rank + 2). Repeated items in a ranked list count once (the first occurrence).
 *
 * <p>Use one accumulator per split (validation, test): {@link #add} per user, then read
 * {@link #recall}, {@link #ndcg} or {@link #summary}.
 */
public final class RankingMetrics {
    /** The cut-offs of the paper's tables. */
    public static final int[] DEFAULT_KS = {5, 10};

    private final String split;
    private final int[] ks;
    private final double[] recallSum, ndcgSum;
    private long users;

    /** An accumulator for a named split (for example "validation" or "test") at cut-offs ks. */
    public RankingMetrics(String split, int... ks) {
        if (ks.length == 0) throw new IllegalArgumentException("RankingMetrics: need at least one cut-off K");
        for (int k : ks) if (k < 1) throw new IllegalArgumentException("RankingMetrics: K must be >= 1, got " + k);
        this.split = split;
        this.ks = ks.clone();
        this.recallSum = new double[ks.length];
        this.ndcgSum = new double[ks.length];
    }

    /** An accumulator at K = 5 and 10. */
    public RankingMetrics(String split) {
        this(split, DEFAULT_KS);
    }

    public String split() { return split; }

    /** Users added so far. */
    public long users() { return users; }

    /** Adds one user with a single target item. */
    public void add(int[] ranked, int target) {
        add(ranked, new int[]{target});
    }

    /** Adds one user with a set of relevant items (at least one). */
    public void add(int[] ranked, int[] relevant) {
        if (relevant.length == 0) throw new IllegalArgumentException("RankingMetrics: a user needs at least one relevant item");
        for (int i = 0; i < ks.length; i++) {
            recallSum[i] += recallAt(ranked, relevant, ks[i]);
            ndcgSum[i] += ndcgAt(ranked, relevant, ks[i]);
        }
        users++;
    }

    /** Mean Recall@k over the users added; k must be one of the cut-offs. */
    public double recall(int k) {
        return mean(recallSum, k);
    }

    /** Mean NDCG@k over the users added; k must be one of the cut-offs. */
    public double ndcg(int k) {
        return mean(ndcgSum, k);
    }

    private double mean(double[] sums, int k) {
        for (int i = 0; i < ks.length; i++) {
            if (ks[i] == k) {
                if (users == 0) throw new IllegalStateException("RankingMetrics " + split + ": no users added");
                return sums[i] / users;
            }
        }
        throw new IllegalArgumentException("RankingMetrics " + split + ": K=" + k + " is not one of " + Arrays.toString(ks));
    }

    /** The split's metrics as an ordered map: "recall@5", "ndcg@5", "recall@10", ... */
    public Map<String, Double> summary() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (int k : ks) {
            out.put("recall@" + k, recall(k));
            out.put("ndcg@" + k, ndcg(k));
        }
        return out;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(split).append(" (").append(users).append(" users):");
        if (users > 0) summary().forEach((name, v) -> sb.append(' ').append(name).append('=').append(String.format("%.4f", v)));
        return sb.toString();
    }

    // ---------------------------------------------------------------- per-user metrics

    /** Recall@k of one ranked list. */
    public static double recallAt(int[] ranked, int[] relevant, int k) {
        int hits = 0;
        int limit = Math.min(k, ranked.length);
        for (int r = 0; r < limit; r++) if (contains(relevant, ranked[r]) && firstOccurrence(ranked, r)) hits++;
        return hits / (double) distinctCount(relevant);
    }

    /** NDCG@k of one ranked list. */
    public static double ndcgAt(int[] ranked, int[] relevant, int k) {
        double dcg = 0;
        int limit = Math.min(k, ranked.length);
        for (int r = 0; r < limit; r++) if (contains(relevant, ranked[r]) && firstOccurrence(ranked, r)) dcg += discount(r);
        double idcg = 0;
        int ideal = Math.min(k, distinctCount(relevant));
        for (int r = 0; r < ideal; r++) idcg += discount(r);
        return dcg / idcg;
    }

    /** 1 / log2(rank + 2) for a 0-based rank. */
    static double discount(int rank) {
        return 1.0 / (Math.log(rank + 2) / Math.log(2));
    }

    private static boolean contains(int[] a, int x) {
        for (int v : a) if (v == x) return true;
        return false;
    }

    private static boolean firstOccurrence(int[] a, int r) {
        for (int q = 0; q < r; q++) if (a[q] == a[r]) return false;
        return true;
    }

    private static int distinctCount(int[] a) {
        return (int) Arrays.stream(a).distinct().count();
    }

    // ---------------------------------------------------------------- ranking from scores

    /**
     * The k best item ids (1..scores.length - 1; index 0 is padding and never ranked) by
     * descending score, ties by smaller item id; items with excluded[item] true are skipped
     * (excluded may be null). NaN scores rank last.
     */
    public static int[] topK(float[] scores, int k, boolean[] excluded) {
        if (k < 1) throw new IllegalArgumentException("topK: k must be >= 1, got " + k);
        // a bounded min-heap of (score, item) keeps the best k seen so far
        int[] heap = new int[k];
        int size = 0;
        for (int item = 1; item < scores.length; item++) {
            if (excluded != null && excluded[item]) continue;
            if (size < k) {
                heap[size] = item;
                siftUp(heap, size++, scores);
            } else if (better(item, heap[0], scores)) {
                heap[0] = item;
                siftDown(heap, size, scores);
            }
        }
        int[] out = new int[size];
        for (int r = size - 1; r >= 0; r--) {
            out[r] = heap[0];
            heap[0] = heap[r];
            siftDown(heap, r, scores);
        }
        return out;
    }

    /**
     * The 0-based rank of target in the full ranking of {@link #topK} (the number of non-excluded
     * items that rank ahead of it), without sorting.
     */
    public static int rankOf(float[] scores, int target, boolean[] excluded) {
        int ahead = 0;
        for (int item = 1; item < scores.length; item++) {
            if (item == target || (excluded != null && excluded[item])) continue;
            if (better(item, target, scores)) ahead++;
        }
        return ahead;
    }

    /** True when item a ranks ahead of item b: higher score (NaN lowest), then smaller id. */
    private static boolean better(int a, int b, float[] scores) {
        float sa = scores[a], sb = scores[b];
        boolean na = Float.isNaN(sa), nb = Float.isNaN(sb);
        if (na != nb) return nb;
        if (!na && sa != sb) return sa > sb;
        return a < b;
    }

    private static void siftUp(int[] heap, int i, float[] scores) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!better(heap[parent], heap[i], scores)) break;
            swap(heap, i, parent);
            i = parent;
        }
    }

    private static void siftDown(int[] heap, int size, float[] scores) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, worst = i;
            if (l < size && better(heap[worst], heap[l], scores)) worst = l;
            if (r < size && better(heap[worst], heap[r], scores)) worst = r;
            if (worst == i) return;
            swap(heap, i, worst);
            i = worst;
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

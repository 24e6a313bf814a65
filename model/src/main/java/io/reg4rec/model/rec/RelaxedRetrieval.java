package io.reg4rec.model.rec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Relaxed retrieval (SPEC section 4): a generated token set retrieves the items whose tokens match
 * it on at least M - d codebooks (d = maxMismatches).
 *
 * <p>Ranking over a user's beams (best first): beams are taken in score order; a beam contributes
 * its matching items by number of matches (exact matches first), ties broken by the item prior
 * (higher first, e.g. training popularity, when given) and then by item id; an item already
 * placed by a better beam is not placed again (each item once, at its best), and lower beams
 * fill the list until topK items are placed. Matches are counted through one inverted index per
 * codebook (token -> items holding it), so a beam touches only the union of its M posting lists.
 *
 * <p>Not thread-safe (a scratch count array is reused); use one instance per thread.
 */
public final class RelaxedRetrieval {
    private final ItemCatalog catalog;
    private final int[][][] postings;
    private final double[] prior;
    private final int[] counts;
    private final int[] touched;

    public RelaxedRetrieval(ItemCatalog catalog) {
        this(catalog, null);
    }

    /** @param itemPrior per item (index 0 unused) tie-break score, higher first; null for item id order */
    public RelaxedRetrieval(ItemCatalog catalog, double[] itemPrior) {
        if (itemPrior != null && itemPrior.length != catalog.numItems() + 1) {
            throw new IllegalArgumentException("RelaxedRetrieval: item prior has " + itemPrior.length + " entries, needs numItems + 1 = " + (catalog.numItems() + 1));
        }
        this.catalog = catalog;
        this.prior = itemPrior == null ? null : itemPrior.clone();
        int m = catalog.codebooks(), dCodes = catalog.codewords(), n = catalog.numItems();
        int[][] sizes = new int[m][dCodes];
        for (int i = 1; i <= n; i++) for (int r = 0; r < m; r++) sizes[r][catalog.token(i, r)]++;
        this.postings = new int[m][dCodes][];
        for (int r = 0; r < m; r++) for (int c = 0; c < dCodes; c++) postings[r][c] = new int[sizes[r][c]];
        int[][] fill = new int[m][dCodes];
        for (int i = 1; i <= n; i++) {
            for (int r = 0; r < m; r++) {
                int c = catalog.token(i, r);
                postings[r][c][fill[r][c]++] = i;
            }
        }
        this.counts = new int[n + 1];
        this.touched = new int[n];
    }

    public ItemCatalog catalog() { return catalog; }

    /** Items holding token c in codebook r, ascending (a copy). */
    public int[] posting(int codebook, int token) { return postings[codebook][token].clone(); }

    /**
     * Items matching tokens (-1 entries never match) on at least {@code minMatches} codebooks,
     * most matches first, then prior, then id.
     */
    public int[] matching(int[] tokens, int minMatches) {
        int m = catalog.codebooks();
        if (tokens.length != m) throw new IllegalArgumentException("RelaxedRetrieval: token set has " + tokens.length + " codebooks, catalog has " + m);
        if (minMatches < 1) throw new IllegalArgumentException("RelaxedRetrieval: minMatches must be at least 1, got " + minMatches);
        int touchedCount = 0;
        for (int r = 0; r < m; r++) {
            int c = tokens[r];
            if (c < 0) continue;
            if (c >= catalog.codewords()) throw new IllegalArgumentException("RelaxedRetrieval: token " + c + " of codebook " + r + " outside [0, " + catalog.codewords() + ")");
            for (int item : postings[r][c]) {
                if (counts[item]++ == 0) touched[touchedCount++] = item;
            }
        }
        List<int[]> hits = new ArrayList<>();
        for (int i = 0; i < touchedCount; i++) {
            int item = touched[i];
            if (counts[item] >= minMatches) hits.add(new int[]{item, counts[item]});
            counts[item] = 0;
        }
        Comparator<int[]> byMatches = Comparator.comparingInt((int[] h) -> -h[1]);
        if (prior != null) byMatches = byMatches.thenComparingDouble(h -> -prior[h[0]]);
        hits.sort(byMatches.thenComparingInt(h -> h[0]));
        int[] out = new int[hits.size()];
        for (int i = 0; i < out.length; i++) out[i] = hits.get(i)[0];
        return out;
    }

    /** The ranked items of one token set: those within maxMismatches, up to topK. */
    public int[] retrieve(int[] tokens, int maxMismatches, int topK) {
        return rank(List.of(tokens), maxMismatches, topK);
    }

    /** Ranks over token sets given best first (see the class comment); at most topK distinct items. */
    public int[] rank(List<int[]> tokenSetsBestFirst, int maxMismatches, int topK) {
        if (maxMismatches < 0 || maxMismatches >= catalog.codebooks()) {
            throw new IllegalArgumentException("RelaxedRetrieval: maxMismatches must be in [0, M) = [0, " + catalog.codebooks() + "), got " + maxMismatches);
        }
        if (topK <= 0) throw new IllegalArgumentException("RelaxedRetrieval: topK must be positive, got " + topK);
        int minMatches = catalog.codebooks() - maxMismatches;
        boolean[] placed = new boolean[catalog.numItems() + 1];
        int[] out = new int[topK];
        int size = 0;
        for (int[] tokens : tokenSetsBestFirst) {
            for (int item : matching(tokens, minMatches)) {
                if (placed[item]) continue;
                placed[item] = true;
                out[size++] = item;
                if (size == topK) return out;
            }
        }
        return Arrays.copyOf(out, size);
    }

    /** Ranks over decoded paths, taken in descending score order (stable for ties). */
    public int[] rankPaths(List<DecodedPath> paths, int maxMismatches, int topK) {
        List<DecodedPath> sorted = new ArrayList<>(paths);
        sorted.sort(Comparator.comparingDouble((DecodedPath p) -> -p.score()));
        List<int[]> sets = new ArrayList<>(sorted.size());
        for (DecodedPath p : sorted) sets.add(p.tokens());
        return rank(sets, maxMismatches, topK);
    }
}

package io.reg4rec.model.rec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Keeps CRSS beams on the catalog's token sets, in any decoding order: a beam holding some
 * (codebook, token) pairs may take, in a free codebook, only the tokens of the items that hold all
 * of those pairs. Every finished beam is then some item's token set (exact matches for relaxed
 * retrieval), the unordered counterpart of TIGER's prefix trie ({@link TokenTrie}).
 * Candidates come from the shortest posting list among the beam's pairs.
 */
public final class CatalogSetConstraint implements CrssDecoder.PairConstraint {
    private final ItemCatalog catalog;
    private final int codebooks;
    /** postings[c][t]: the items whose codebook c holds token t, ascending. */
    private final int[][][] postings;
    /** The tokens codebook c takes in some item (ascending), or null when it takes all D. */
    private final int[][] usedTokens;

    public CatalogSetConstraint(ItemCatalog catalog) {
        this.catalog = catalog;
        this.codebooks = catalog.codebooks();
        int d = catalog.codewords();
        this.postings = new int[codebooks][d][];
        this.usedTokens = new int[codebooks][];
        for (int c = 0; c < codebooks; c++) {
            List<List<Integer>> lists = new ArrayList<>(d);
            for (int t = 0; t < d; t++) lists.add(new ArrayList<>());
            for (int item = 1; item <= catalog.numItems(); item++) lists.get(catalog.token(item, c)).add(item);
            int[] used = new int[d];
            int count = 0;
            for (int t = 0; t < d; t++) {
                postings[c][t] = lists.get(t).stream().mapToInt(Integer::intValue).toArray();
                if (postings[c][t].length > 0) used[count++] = t;
            }
            usedTokens[c] = count == d ? null : Arrays.copyOf(used, count);
        }
    }

    @Override
    public int[] allowedTokens(int[] tokens, int step, int codebook) {
        int[] shortest = null;
        for (int c = 0; c < codebooks; c++) {
            if (tokens[c] < 0) continue;
            int[] list = postings[c][tokens[c]];
            if (shortest == null || list.length < shortest.length) shortest = list;
        }
        if (shortest == null) return usedTokens[codebook];
        boolean[] seen = new boolean[catalog.codewords()];
        int count = 0;
        int[] out = new int[Math.min(shortest.length, catalog.codewords())];
        for (int item : shortest) {
            if (!holdsAll(item, tokens)) continue;
            int t = catalog.token(item, codebook);
            if (!seen[t]) {
                seen[t] = true;
                out[count++] = t;
            }
        }
        int[] allowed = Arrays.copyOf(out, count);
        Arrays.sort(allowed);
        return allowed;
    }

    private boolean holdsAll(int item, int[] tokens) {
        for (int c = 0; c < codebooks; c++) if (tokens[c] >= 0 && catalog.token(item, c) != tokens[c]) return false;
        return true;
    }
}

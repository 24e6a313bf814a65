package io.reg4rec.model.rec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * A trie of the catalog's token sequences read in codebook order 0..M-1 (TIGER's semantic ids):
 * the valid continuations of a prefix, and the items at a complete sequence. As a
 * {@link CrssDecoder.PairConstraint} it allows, at step s, only codebook s and only the tokens
 * that extend the beam's prefix to some item's prefix, so constrained beam search produces valid
 * items only.
 */
public final class TokenTrie implements CrssDecoder.PairConstraint {
    private final int depth;
    private final int[][] childTokens;
    private final int[][] childNodes;
    private final int[][] leafItems;

    public TokenTrie(ItemCatalog catalog) {
        this.depth = catalog.codebooks();
        List<TreeMap<Integer, Integer>> children = new ArrayList<>();
        List<List<Integer>> items = new ArrayList<>();
        children.add(new TreeMap<>());
        items.add(new ArrayList<>());
        for (int item = 1; item <= catalog.numItems(); item++) {
            int node = 0;
            for (int r = 0; r < depth; r++) {
                Integer next = children.get(node).get(catalog.token(item, r));
                if (next == null) {
                    next = children.size();
                    children.add(new TreeMap<>());
                    items.add(new ArrayList<>());
                    children.get(node).put(catalog.token(item, r), next);
                }
                node = next;
            }
            items.get(node).add(item);
        }
        int n = children.size();
        childTokens = new int[n][];
        childNodes = new int[n][];
        leafItems = new int[n][];
        for (int i = 0; i < n; i++) {
            childTokens[i] = children.get(i).keySet().stream().mapToInt(Integer::intValue).toArray();
            childNodes[i] = children.get(i).values().stream().mapToInt(Integer::intValue).toArray();
            leafItems[i] = items.get(i).stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** The node reached by tokens[0..length-1], or -1 when that is no item's prefix. */
    public int node(int[] tokens, int length) {
        int node = 0;
        for (int r = 0; r < length; r++) {
            int at = tokens[r] < 0 ? -1 : Arrays.binarySearch(childTokens[node], tokens[r]);
            if (at < 0) return -1;
            node = childNodes[node][at];
        }
        return node;
    }

    /** Tokens that extend the prefix tokens[0..length-1] (ascending; empty when it is no valid prefix). */
    public int[] continuations(int[] tokens, int length) {
        int node = node(tokens, length);
        return node < 0 ? new int[0] : childTokens[node].clone();
    }

    /** Items whose full token sequence is tokens (ascending; empty when none). */
    public int[] items(int[] tokens) {
        if (tokens.length != depth) throw new IllegalArgumentException("TokenTrie: needs " + depth + " tokens, got " + tokens.length);
        int node = node(tokens, depth);
        return node < 0 ? new int[0] : leafItems[node].clone();
    }

    @Override
    public int[] allowedTokens(int[] tokens, int step, int codebook) {
        if (codebook != step) return new int[0];
        return continuations(tokens, step);
    }

    /** Number of trie nodes (root included). */
    public int size() { return childTokens.length; }
}

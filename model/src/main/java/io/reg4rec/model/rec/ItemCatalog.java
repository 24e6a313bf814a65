package io.reg4rec.model.rec;

import java.util.Arrays;

/**
 * The items as the generative models see them: item i (1..numItems; 0 is padding) has one token
 * per codebook, {@code token(i, r)} in [0, codewords), and a category in [0, numCategories).
 * Row 0 of the arrays is ignored. Immutable (the arrays are copied).
 */
public final class ItemCatalog {
    private final int[][] tokens;
    private final int[] categories;
    private final int numCategories;
    private final int codebooks;
    private final int codewords;

    /**
     * @param tokens        [numItems + 1][codebooks], row 0 padding
     * @param categories    [numItems + 1], entry 0 ignored
     * @param numCategories number of categories
     * @param codewords     tokens per codebook (D)
     */
    public ItemCatalog(int[][] tokens, int[] categories, int numCategories, int codewords) {
        if (tokens.length < 2 || categories.length != tokens.length) {
            throw new IllegalArgumentException("ItemCatalog: needs at least one item and one category per token row, got "
                    + (tokens.length - 1) + " token rows and " + categories.length + " categories (both include row 0)");
        }
        if (numCategories <= 0 || codewords <= 0) throw new IllegalArgumentException("ItemCatalog: numCategories and codewords must be positive, got " + numCategories + ", " + codewords);
        this.codebooks = tokens[1].length;
        if (codebooks <= 0 || codebooks > 30) throw new IllegalArgumentException("ItemCatalog: 1..30 codebooks supported, got " + codebooks);
        this.tokens = new int[tokens.length][];
        this.tokens[0] = new int[codebooks];
        for (int i = 1; i < tokens.length; i++) {
            if (tokens[i].length != codebooks) throw new IllegalArgumentException("ItemCatalog: item " + i + " has " + tokens[i].length + " tokens, item 1 has " + codebooks);
            for (int r = 0; r < codebooks; r++) {
                int t = tokens[i][r];
                if (t < 0 || t >= codewords) throw new IllegalArgumentException("ItemCatalog: item " + i + " codebook " + r + " token " + t + " outside [0, " + codewords + ")");
            }
            if (categories[i] < 0 || categories[i] >= numCategories) {
                throw new IllegalArgumentException("ItemCatalog: item " + i + " category " + categories[i] + " outside [0, " + numCategories + ")");
            }
            this.tokens[i] = tokens[i].clone();
        }
        this.categories = categories.clone();
        this.categories[0] = 0;
        this.numCategories = numCategories;
        this.codewords = codewords;
    }

    public int numItems() { return tokens.length - 1; }

    /** M. */
    public int codebooks() { return codebooks; }

    /** D. */
    public int codewords() { return codewords; }

    public int numCategories() { return numCategories; }

    public int token(int item, int codebook) { return tokens[checkItem(item)][codebook]; }

    /** A copy of the item's token set, indexed by codebook. */
    public int[] tokens(int item) { return tokens[checkItem(item)].clone(); }

    public int category(int item) { return categories[checkItem(item)]; }

    /** Number of codebooks on which the item's token equals tokens[r] (entries below 0 never match). */
    public int matches(int item, int[] tokenSet) {
        int[] own = tokens[checkItem(item)];
        int n = 0;
        for (int r = 0; r < codebooks; r++) if (own[r] == tokenSet[r]) n++;
        return n;
    }

    /** Throws unless item is in 1..numItems. */
    public int checkItem(int item) {
        if (item < 1 || item >= tokens.length) throw new IllegalArgumentException("ItemCatalog: item " + item + " outside 1.." + numItems());
        return item;
    }

    @Override
    public String toString() {
        return "ItemCatalog(" + numItems() + " items, M=" + codebooks + ", D=" + codewords + ", " + numCategories + " categories, item 1 " + Arrays.toString(tokens[1]) + ")";
    }
}

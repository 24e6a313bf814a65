package io.reg4rec.train.data;

import java.util.Arrays;

/**
 * An immutable sequential-recommendation dataset: users 1..U, each with a chronological item
 * sequence, items 1..I (0 is padding) with a single category label, a list of attribute ids and
 * keyword text.
 *
 * <p>Indexing: {@link #sequences()} is indexed by user id - 1; the per-item arrays
 * ({@link #itemCategory()}, {@link #itemAttributes()}, {@link #itemText()},
 * {@link #itemTextTokens()}) by item id, with length numItems + 1 and an empty/zero entry at 0.
 * Accessors return copies (arrays are small next to a training run), so no caller can change
 * the dataset another component sees.
 */
public final class Dataset {
    private final String name;
    private final int numItems;
    private final int[][] sequences;
    private final int[] itemCategory;
    private final int numCategories;
    private final int[][] itemAttributes;
    private final int numAttributes;
    private final String[] itemText;
    private final String[] itemTextTokens;

    private Dataset(String name, int numItems, int[][] sequences, int[] itemCategory, int[][] itemAttributes,
                    int numAttributes, String[] itemText, String[] itemTextTokens) {
        this.name = name;
        this.numItems = numItems;
        this.sequences = sequences;
        this.itemCategory = itemCategory;
        this.itemAttributes = itemAttributes;
        this.numAttributes = numAttributes;
        this.itemText = itemText;
        this.itemTextTokens = itemTextTokens;
        int maxCategory = 0;
        for (int c : itemCategory) maxCategory = Math.max(maxCategory, c);
        this.numCategories = maxCategory + 1;
    }

    /**
     * Builds a dataset after checking every invariant (so loaders and tests cannot produce a
     * half-valid one). Arrays are copied.
     *
     * @param sequences      per user (index = user id - 1), item ids in 1..numItems, at least one each
     * @param itemCategory   length numItems + 1, labels >= 0 (0 = unknown), entry 0 must be 0
     * @param itemAttributes length numItems + 1, attribute ids in 1..numAttributes, entry 0 empty
     * @param itemText       length numItems + 1 or null (all empty); null entries become ""
     * @param itemTextTokens length numItems + 1 or null (all empty): extra noisy text tokens
     *                       (GRAM's {@code |▁tok|tok} strings for the Amazon data)
     */
    public static Dataset of(String name, int numItems, int[][] sequences, int[] itemCategory, int[][] itemAttributes,
                             int numAttributes, String[] itemText, String[] itemTextTokens) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("Dataset: name must not be blank");
        if (numItems < 1) throw new IllegalArgumentException("Dataset " + name + ": numItems must be >= 1, got " + numItems);
        if (sequences.length < 1) throw new IllegalArgumentException("Dataset " + name + ": no users");
        int[][] seqs = new int[sequences.length][];
        for (int u = 0; u < sequences.length; u++) {
            int[] s = sequences[u];
            if (s == null || s.length == 0) throw new IllegalArgumentException("Dataset " + name + ": user " + (u + 1) + " has no items");
            for (int item : s) {
                if (item < 1 || item > numItems) {
                    throw new IllegalArgumentException("Dataset " + name + ": user " + (u + 1) + " has item " + item + " outside 1.." + numItems);
                }
            }
            seqs[u] = s.clone();
        }
        checkLength(name, "itemCategory", itemCategory.length, numItems);
        if (itemCategory[0] != 0) throw new IllegalArgumentException("Dataset " + name + ": itemCategory[0] (padding) must be 0");
        for (int i = 1; i <= numItems; i++) {
            if (itemCategory[i] < 0) throw new IllegalArgumentException("Dataset " + name + ": item " + i + " has negative category " + itemCategory[i]);
        }
        checkLength(name, "itemAttributes", itemAttributes.length, numItems);
        if (numAttributes < 0) throw new IllegalArgumentException("Dataset " + name + ": numAttributes must be >= 0");
        int[][] attrs = new int[numItems + 1][];
        attrs[0] = new int[0];
        if (itemAttributes[0] != null && itemAttributes[0].length > 0) {
            throw new IllegalArgumentException("Dataset " + name + ": itemAttributes[0] (padding) must be empty");
        }
        for (int i = 1; i <= numItems; i++) {
            int[] a = itemAttributes[i] == null ? new int[0] : itemAttributes[i].clone();
            for (int id : a) {
                if (id < 1 || id > numAttributes) {
                    throw new IllegalArgumentException("Dataset " + name + ": item " + i + " has attribute " + id + " outside 1.." + numAttributes);
                }
            }
            attrs[i] = a;
        }
        return new Dataset(name, numItems, seqs, itemCategory.clone(), attrs, numAttributes,
                textColumn(name, "itemText", itemText, numItems), textColumn(name, "itemTextTokens", itemTextTokens, numItems));
    }

    private static void checkLength(String name, String what, int length, int numItems) {
        if (length != numItems + 1) {
            throw new IllegalArgumentException("Dataset " + name + ": " + what + " must have length numItems + 1 = " + (numItems + 1) + ", got " + length);
        }
    }

    private static String[] textColumn(String name, String what, String[] text, int numItems) {
        String[] out = new String[numItems + 1];
        Arrays.fill(out, "");
        if (text == null) return out;
        checkLength(name, what, text.length, numItems);
        for (int i = 1; i <= numItems; i++) out[i] = text[i] == null ? "" : text[i];
        return out;
    }

    public String name() { return name; }

    public int numUsers() { return sequences.length; }

    /** Item ids are 1..numItems; 0 is padding. */
    public int numItems() { return numItems; }

    /** Per user (index = user id - 1), chronological item ids (oldest first). A deep copy. */
    public int[][] sequences() {
        int[][] out = new int[sequences.length][];
        for (int u = 0; u < sequences.length; u++) out[u] = sequences[u].clone();
        return out;
    }

    /** One user's chronological items (index = user id - 1), a copy. */
    public int[] sequence(int userIndex) { return sequences[userIndex].clone(); }

    /** Length of one user's sequence (index = user id - 1). */
    public int sequenceLength(int userIndex) { return sequences[userIndex].length; }

    /** Total number of (user, item) interactions. */
    public long numInteractions() {
        long n = 0;
        for (int[] s : sequences) n += s.length;
        return n;
    }

    /** Category label per item id (length numItems + 1; 0 = unknown and the padding entry). */
    public int[] itemCategory() { return itemCategory.clone(); }

    /** Max category label + 1 (labels need not be dense). */
    public int numCategories() { return numCategories; }

    /** Attribute ids (1..numAttributes) per item id; entry 0 and items without attributes are empty. A deep copy. */
    public int[][] itemAttributes() {
        int[][] out = new int[itemAttributes.length][];
        for (int i = 0; i < itemAttributes.length; i++) out[i] = itemAttributes[i].clone();
        return out;
    }

    /** Attribute ids are 1..numAttributes. */
    public int numAttributes() { return numAttributes; }

    /** Keyword text per item id (may be empty strings). */
    public String[] itemText() { return itemText.clone(); }

    /** Extra noisy text tokens per item id (GRAM's hierarchical tokens for Amazon; may be empty). */
    public String[] itemTextTokens() { return itemTextTokens.clone(); }

    @Override
    public String toString() {
        return "Dataset[" + name + ": " + numUsers() + " users, " + numItems + " items, " + numInteractions()
                + " interactions, " + numAttributes + " attributes, " + numCategories + " category labels]";
    }
}

package io.reg4rec.train.data;

/**
 * The heuristic single category label of data/README.md, derived from attribute lists of the
 * form [brand (if known), category-path elements without the root...]:
 * <ol>
 *   <li>category attributes are those that occur at list position > 0 for some item (a brand
 *       is always at position 0, so this rules brands out);</li>
 *   <li>attributes present on at least 90% of the items are root-like and dropped;</li>
 *   <li>an item's label is the first remaining category attribute in its list, else 0 (unknown).</li>
 * </ol>
 */
public final class CategoryLabels {
    /** Share of items at or above which an attribute counts as root-like. */
    public static final double ROOT_LIKE_SHARE = 0.9;

    private CategoryLabels() {}

    /** Labels per item id (length numItems + 1, entry 0 = 0) from attributes per item id. */
    public static int[] derive(int[][] itemAttributes, int numItems, int numAttributes) {
        boolean[] categoryAttribute = new boolean[numAttributes + 1];
        int[] itemsWith = new int[numAttributes + 1];
        for (int i = 1; i <= numItems; i++) {
            int[] a = itemAttributes[i];
            for (int p = 0; p < a.length; p++) {
                if (p > 0) categoryAttribute[a[p]] = true;
            }
            for (int id : distinct(a)) itemsWith[id]++;
        }
        int[] label = new int[numItems + 1];
        for (int i = 1; i <= numItems; i++) {
            for (int id : itemAttributes[i]) {
                if (categoryAttribute[id] && itemsWith[id] < ROOT_LIKE_SHARE * numItems) {
                    label[i] = id;
                    break;
                }
            }
        }
        return label;
    }

    private static int[] distinct(int[] ids) {
        if (ids.length < 2) return ids;
        return java.util.Arrays.stream(ids).distinct().toArray();
    }
}

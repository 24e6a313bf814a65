package io.reg4rec.train.data;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticDataTest {
    private static final Dataset DEFAULT = Datasets.synthetic(SyntheticConfig.defaults());

    @Test
    void defaultShape() {
        assertEquals(2000, DEFAULT.numUsers());
        assertEquals(1000, DEFAULT.numItems());
        assertEquals(9, DEFAULT.numCategories(), "labels 1..8 plus 0");
        Set<Integer> used = new HashSet<>();
        for (int i = 1; i <= DEFAULT.numItems(); i++) used.add(DEFAULT.itemCategory()[i]);
        assertEquals(8, used.size());
        assertFalse(used.contains(0));
        for (int u = 0; u < DEFAULT.numUsers(); u++) {
            int[] s = DEFAULT.sequence(u);
            assertTrue(s.length >= 5 && s.length <= 50, "length " + s.length);
            assertEquals(s.length, java.util.Arrays.stream(s).distinct().count(), "no repeated item");
        }
        int[][] attributes = DEFAULT.itemAttributes();
        String[] text = DEFAULT.itemText();
        for (int i = 1; i <= DEFAULT.numItems(); i++) {
            assertEquals(3, attributes[i].length);
            assertFalse(text[i].isBlank());
        }
        // the README heuristic recovers the category structure (brand at position 0, then category, subcategory)
        int[] derived = CategoryLabels.derive(attributes, DEFAULT.numItems(), DEFAULT.numAttributes());
        int[] category = DEFAULT.itemCategory();
        for (int i = 1; i <= DEFAULT.numItems(); i++) {
            for (int j = 1; j <= DEFAULT.numItems(); j++) {
                assertEquals(category[i] == category[j], derived[i] == derived[j]);
            }
        }
    }

    @Test
    void deterministicBySeed() {
        Dataset again = Datasets.synthetic(SyntheticConfig.defaults());
        assertArrayEquals(DEFAULT.sequences(), again.sequences());
        assertArrayEquals(DEFAULT.itemText(), again.itemText());
        Dataset other = Datasets.synthetic(SyntheticConfig.defaults().withSeed(43));
        assertFalse(java.util.Arrays.deepEquals(DEFAULT.sequences(), other.sequences()));
    }

    @Test
    void nextItemsFollowTheCurrentIntent() {
        // consecutive items share a category far more often than the popularity-weighted chance
        int[] cat = DEFAULT.itemCategory();
        long same = 0, pairs = 0;
        long[] count = new long[DEFAULT.numCategories()];
        long total = 0;
        for (int[] s : DEFAULT.sequences()) {
            for (int t = 0; t < s.length; t++) {
                count[cat[s[t]]]++;
                total++;
                if (t > 0) {
                    pairs++;
                    if (cat[s[t]] == cat[s[t - 1]]) same++;
                }
            }
        }
        double chance = 0;
        for (long c : count) chance += Math.pow(c / (double) total, 2);
        double observed = same / (double) pairs;
        assertTrue(observed > 2 * chance, "same-category transitions " + observed + " vs chance " + chance);
        assertTrue(observed < 0.98, "not trivially constant: " + observed);
    }

    @Test
    void invalidConfigIsRejected() {
        SyntheticConfig d = SyntheticConfig.defaults();
        assertThrows(IllegalArgumentException.class, () -> new SyntheticConfig(10, 1000, 8, 4, 5, 16, 1, 3, 2, 4, 50, 0.1, 0.3, 6, 1));
        assertThrows(IllegalArgumentException.class, () -> d.withSize(10, 20));
    }
}

package io.reg4rec.train.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class S3RecDataTest {
    static Path fixture() {
        try {
            return Path.of(S3RecDataTest.class.getResource("/s3rec-tiny/sequences.txt").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void loadsTheFixture() {
        Dataset d = Datasets.loadS3Rec(fixture());
        assertEquals("s3rec-tiny", d.name());
        assertEquals(4, d.numUsers());
        assertEquals(6, d.numItems());
        assertEquals(14, d.numInteractions());
        assertArrayEquals(new int[]{6, 5, 4, 1}, d.sequences()[2]);
        assertArrayEquals(new int[]{1, 3}, d.sequence(3));
        assertEquals(9, d.numAttributes());
        assertArrayEquals(new int[]{8, 1, 4}, d.itemAttributes()[3]);
        assertArrayEquals(new int[0], d.itemAttributes()[0]);
        assertArrayEquals(new int[]{0, 2, 2, 4, 4, 5, 0}, d.itemCategory());
        assertEquals(6, d.numCategories());
        assertEquals("coconut oil 4 oz", d.itemText()[3]);
        assertEquals("", d.itemText()[5]);
        assertEquals("|opi|\u2581red|esque", d.itemTextTokens()[1]);
        assertEquals("", d.itemText()[0]);
    }

    @Test
    void withoutItemsTsvTheCategoryIsDerivedFromAttributes(@TempDir Path dir) throws IOException {
        copy(fixture(), dir, "sequences.txt", "item_attributes.json");
        Dataset d = Datasets.loadS3Rec(dir);
        // attribute 1 is on every item (root-like), brands 7, 8, 9 only ever at position 0
        assertArrayEquals(new int[]{0, 2, 2, 4, 4, 5, 0}, d.itemCategory());
        for (String t : d.itemText()) assertEquals("", t);
    }

    @Test
    void datasetAccessorsReturnCopies() {
        Dataset d = Datasets.loadS3Rec(fixture());
        d.sequences()[0][0] = 99;
        d.itemCategory()[1] = 99;
        d.itemAttributes()[1][0] = 99;
        assertEquals(1, d.sequence(0)[0]);
        assertEquals(2, d.itemCategory()[1]);
        assertEquals(7, d.itemAttributes()[1][0]);
    }

    // ---------------------------------------------------------------- malformed input

    @Test
    void badItemId(@TempDir Path dir) throws IOException {
        expectError(dir, "1 1 2\n2 3 x 4\n", ":2:", "bad item id \"x\"");
        expectError(dir, "1 1 2\n2 3 0 4\n", ":2:", "bad item id 0");
        expectError(dir, "1 1 2\n-2 3 4\n", ":2:", "bad user id -2");
    }

    @Test
    void raggedLine(@TempDir Path dir) throws IOException {
        expectError(dir, "1 1 2\n2\n3 4 5\n", ":2:", "at least one item id");
    }

    @Test
    void duplicateUserLine(@TempDir Path dir) throws IOException {
        expectError(dir, "1 1 2\n2 2 3\n1 4 5\n", ":3:", "duplicate line for user 1 (first on line 1)");
    }

    @Test
    void userIdGap(@TempDir Path dir) throws IOException {
        expectError(dir, "1 1 2\n3 2 3\n", "sequences.txt", "user 2 is missing");
    }

    @Test
    void nonUtf8(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("sequences.txt"), new byte[]{'1', ' ', '1', '\n', '2', ' ', (byte) 0xC3, (byte) 0x28, '\n'});
        Files.writeString(dir.resolve("item_attributes.json"), "{}");
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(e.getMessage().contains("sequences.txt:2:") && e.getMessage().contains("UTF-8"), e.getMessage());
        assertEquals(2, e.line());
    }

    @Test
    void missingFiles(@TempDir Path dir) throws IOException {
        DataFileException noSeq = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(noSeq.getMessage().contains("sequences.txt") && noSeq.getMessage().contains("not found"), noSeq.getMessage());
        Files.writeString(dir.resolve("sequences.txt"), "1 1 2\n");
        DataFileException noAttr = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(noAttr.getMessage().contains("item_attributes.json") && noAttr.getMessage().contains("not found"), noAttr.getMessage());
    }

    @Test
    void unknownItemInAttributes(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("sequences.txt"), "1 1 2\n2 2 3\n");
        Files.writeString(dir.resolve("item_attributes.json"), "{\"1\": [1],\n \"2\": [2],\n \"99\": [3]}");
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(e.getMessage().contains("item_attributes.json:3:") && e.getMessage().contains("unknown item 99"), e.getMessage());
    }

    @Test
    void malformedAttributesJson(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("sequences.txt"), "1 1 2\n2 2 3\n");
        Files.writeString(dir.resolve("item_attributes.json"), "{\"1\": [1],\n \"2\": [2, \n");
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(e.getMessage().contains("item_attributes.json") && e.getMessage().contains("malformed JSON"), e.getMessage());
        Files.writeString(dir.resolve("item_attributes.json"), "{\"1\": [1],\n \"2\": [\"a\"]}");
        e = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(e.getMessage().contains("item_attributes.json:2:") && e.getMessage().contains("integers"), e.getMessage());
    }

    @Test
    void inconsistentItemsTsv(@TempDir Path dir) throws IOException {
        copy(fixture(), dir, "sequences.txt", "item_attributes.json", "items.tsv");
        Path tsv = dir.resolve("items.tsv");
        String good = Files.readString(tsv);
        Files.writeString(tsv, good.replace("1\tB001\t2\t7 1 2 3", "1\tB001\t2\t7 1 2"));
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(e.getMessage().contains("items.tsv:2:") && e.getMessage().contains("differ"), e.getMessage());
        Files.writeString(tsv, good.replace("face cream\t\n", "face cream\n"));
        e = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(e.getMessage().contains("items.tsv:5:") && e.getMessage().contains("6 tab-separated"), e.getMessage());
        Files.writeString(tsv, good.substring(0, good.indexOf("6\tB006")));
        e = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(e.getMessage().contains("item 6 has no row"), e.getMessage());
        Files.writeString(tsv, good.replace("item_id\t", "id\t"));
        e = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(e.getMessage().contains("items.tsv:1:") && e.getMessage().contains("header"), e.getMessage());
    }

    private static void expectError(Path dir, String sequences, String... expected) throws IOException {
        Files.writeString(dir.resolve("sequences.txt"), sequences, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("item_attributes.json"), "{}");
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadS3Rec(dir));
        assertTrue(e.getMessage().contains("sequences.txt"), e.getMessage());
        for (String x : expected) assertTrue(e.getMessage().contains(x), "\"" + x + "\" not in: " + e.getMessage());
    }

    private static void copy(Path from, Path to, String... names) throws IOException {
        for (String n : names) Files.copy(from.resolve(n), to.resolve(n));
    }

    // ---------------------------------------------------------------- the real data (skipped when absent)

    @Test
    void realBeautyMatchesTheReadme(@TempDir Path tmp) throws IOException {
        Path dir = RealData.dir("beauty");
        assumeTrue(dir != null, "real Beauty data not present");
        Dataset d = Datasets.loadS3Rec(dir);
        checkReadmeStatistics(d, 22_363, 12_101, 198_502, 5, 204, 637, 3.72, 8, 0);
        int[] c = d.itemCategory();
        int[] count = new int[d.numCategories()];
        for (int i = 1; i <= d.numItems(); i++) count[c[i]]++;
        assertEquals(3_813, count[17]);
        assertEquals(3_261, count[4]);
        assertEquals(2_627, count[1]);
        checkDerivedCategoriesMatch(dir, tmp, d);
    }

    @Test
    void realSportsMatchesTheReadme(@TempDir Path tmp) throws IOException {
        Path dir = RealData.dir("sports");
        assumeTrue(dir != null, "real Sports data not present");
        Dataset d = Datasets.loadS3Rec(dir);
        checkReadmeStatistics(d, 35_598, 18_357, 296_337, 5, 296, 2_277, 6.02, 46, 243);
        checkDerivedCategoriesMatch(dir, tmp, d);
    }

    private static void checkReadmeStatistics(Dataset d, int users, int items, long interactions, int minLength, int maxLength,
                                              int distinctAttributes, double avgAttributes, int labels, int unknown) {
        assertEquals(users, d.numUsers());
        assertEquals(items, d.numItems());
        assertEquals(interactions, d.numInteractions());
        int min = Integer.MAX_VALUE, max = 0;
        for (int u = 0; u < d.numUsers(); u++) {
            min = Math.min(min, d.sequenceLength(u));
            max = Math.max(max, d.sequenceLength(u));
        }
        assertEquals(minLength, min);
        assertEquals(maxLength, max);
        java.util.Set<Integer> distinct = new java.util.HashSet<>();
        long total = 0;
        for (int[] a : d.itemAttributes()) {
            total += a.length;
            for (int x : a) distinct.add(x);
        }
        assertEquals(distinctAttributes, distinct.size());
        assertEquals(avgAttributes, total / (double) d.numItems(), 0.005);
        java.util.Set<Integer> labelSet = new java.util.HashSet<>();
        int unknownCount = 0;
        int[] c = d.itemCategory();
        for (int i = 1; i <= d.numItems(); i++) {
            if (c[i] == 0) unknownCount++;
            else labelSet.add(c[i]);
        }
        assertEquals(labels, labelSet.size());
        assertEquals(unknown, unknownCount);
        for (String t : d.itemText()) assertTrue(t != null);
    }

    /** The README's heuristic, re-derived from the attributes alone, gives items.tsv's category column. */
    private static void checkDerivedCategoriesMatch(Path dir, Path tmp, Dataset withTsv) throws IOException {
        copy(dir, tmp, "sequences.txt", "item_attributes.json");
        Dataset derived = Datasets.loadS3Rec(tmp);
        assertArrayEquals(withTsv.itemCategory(), derived.itemCategory());
    }
}

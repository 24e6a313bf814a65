package io.reg4rec.train.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The raw loader on fixtures in the Amazon 2014 format (train/src/test/resources/amazon-raw).
 *
 * <p>The fixture: core users U1..U6 review items A..E; user X reviews A, B, C, F (4 reviews);
 * Y reviews A, B, C, D, G; F is reviewed by X, U1..U4 and G by X, Y, U1, U5, U6. The 5-core
 * filter needs three rounds: X goes (4 reviews), then F and G (4 each without X), then Y (4
 * without G). U2 reviews A twice (times 50 and 10: the earliest, 10, is kept); U3 reviews D and
 * C at the same time 300 with D first in the file. Users first appear in the order U3, X, U1,
 * Y, U2, U4, U5, U6, so the kept ones get ids U3=1, U1=2, U2=3, U4=4, U5=5, U6=6; walking their
 * sequences gives item ids B=1, D=2, C=3, A=4, E=5.
 *
 * <p>Metadata: A is a JSON line with brand Cococare and path Beauty > Skin Care > Body >
 * Moisturizers; B a Python-style single-quoted line without brand, path Beauty > Makeup > Nails;
 * C has brand OPI and two paths (Makeup > Nails, Tools &amp; Accessories); D brand Cococare, Skin
 * Care > Face; E has no metadata line; F's line is ignored (F is filtered out).
 */
class AmazonRawDataTest {
    private static Path resource(String name) {
        try {
            return Path.of(AmazonRawDataTest.class.getResource("/amazon-raw/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final Path REVIEWS = resource("reviews_Tiny_5.json.gz");
    private static final Path META = resource("meta_Tiny.json.gz");

    @Test
    void fiveCoreFilterChronologyAndIds() {
        Dataset d = Datasets.loadAmazonRaw(REVIEWS, META, "tiny");
        assertEquals("tiny", d.name());
        assertEquals(6, d.numUsers());
        assertEquals(5, d.numItems());
        int[][] expected = {
                {1, 2, 3, 4, 5}, // U3: B D C A E (D before C: same time, input order)
                {5, 2, 3, 1, 4}, // U1: E D C B A (F, G filtered out)
                {4, 1, 3, 2, 5}, // U2: A B C D E (the earlier of the two A reviews)
                {3, 4, 5, 1, 2}, // U4: C A E B D
                {2, 5, 4, 1, 3}, // U5: D E A B C
                {4, 3, 5, 1, 2}, // U6: A C E B D
        };
        assertArrayEquals(expected, d.sequences());
        assertEquals(30, d.numInteractions());
    }

    @Test
    void attributesCategoriesAndText() {
        Dataset d = Datasets.loadAmazonRaw(REVIEWS, META, "tiny");
        // attribute ids by first appearance over items 1..5 (B, D, C, A, E):
        // Makeup=1, Nails=2, brand Cococare=3, Skin Care=4, Face=5, brand OPI=6, Tools & Accessories=7, Body=8, Moisturizers=9
        assertEquals(9, d.numAttributes());
        int[][] attrs = d.itemAttributes();
        assertArrayEquals(new int[]{1, 2}, attrs[1]);
        assertArrayEquals(new int[]{3, 4, 5}, attrs[2]);
        assertArrayEquals(new int[]{6, 1, 2, 7}, attrs[3]);
        assertArrayEquals(new int[]{3, 4, 8, 9}, attrs[4]);
        assertArrayEquals(new int[0], attrs[5]);
        // brands (3, 6) are never category attributes; Makeup is at position 0 for B but position 1 for C
        assertArrayEquals(new int[]{0, 1, 4, 1, 4, 0}, d.itemCategory());
        assertEquals("nail lacquer 'red'", d.itemText()[1]);
        assertEquals("nail polish \u00e9clat", d.itemText()[3]);
        assertEquals("", d.itemText()[5]);
    }

    @Test
    void truncatedGzip(@TempDir Path dir) throws IOException {
        byte[] full = Files.readAllBytes(REVIEWS);
        Path cut = dir.resolve("reviews_cut.json.gz");
        Files.write(cut, Arrays.copyOf(full, full.length / 2));
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadAmazonRaw(cut, META, "cut"));
        assertTrue(e.getMessage().contains("reviews_cut.json.gz") && e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.line() > 1, "the line being read when the data ended: " + e.line());
    }

    @Test
    void notGzipAtAll(@TempDir Path dir) throws IOException {
        Path fake = dir.resolve("reviews.json.gz");
        Files.writeString(fake, "{\"reviewerID\": \"u\"}\n");
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadAmazonRaw(fake, META, "x"));
        assertTrue(e.getMessage().contains("reviews.json.gz") && e.getMessage().contains("gzip"), e.getMessage());
    }

    @Test
    void malformedReviewLines(@TempDir Path dir) throws IOException {
        String ok = "{\"reviewerID\": \"u1\", \"asin\": \"a\", \"unixReviewTime\": 5}\n";
        expectReviewError(dir, ok + ok + "{\"reviewerID\": \"u2\", \"asin\": \n", ":3:", "malformed JSON");
        expectReviewError(dir, ok + "{\"reviewerID\": \"u2\", \"asin\": \"b\"}\n", ":2:", "unixReviewTime");
        expectReviewError(dir, ok + "{\"reviewerID\": \"u2\", \"asin\": \"b\", \"unixReviewTime\": \"soon\"}\n", ":2:", "unixReviewTime");
        expectReviewError(dir, "{\"asin\": \"b\", \"unixReviewTime\": 1}\n", ":1:", "reviewerID");
        expectReviewError(dir, ok + "[1, 2]\n", ":2:", "one JSON object");
        byte[] bad = (ok + "{\"reviewerID\": \"u\u00e9\", \"asin\": \"b\", \"unixReviewTime\": 1}\n").getBytes(StandardCharsets.ISO_8859_1);
        Path file = dir.resolve("reviews_latin1.json.gz");
        writeGzip(file, bad);
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadAmazonRaw(file, META, "x"));
        assertTrue(e.getMessage().contains("reviews_latin1.json.gz:2:") && e.getMessage().contains("UTF-8"), e.getMessage());
    }

    @Test
    void metadataProblems(@TempDir Path dir) throws IOException {
        Path meta = dir.resolve("meta.json.gz");
        writeGzip(meta, ("{\"asin\": \"A\", \"brand\": \"x\"}\n{\"asin\": \"B\"}\n{\"asin\": \"A\"}\n").getBytes(StandardCharsets.UTF_8));
        DataFileException dup = assertThrows(DataFileException.class, () -> Datasets.loadAmazonRaw(REVIEWS, meta, "x"));
        assertTrue(dup.getMessage().contains("meta.json.gz:3:") && dup.getMessage().contains("duplicate metadata for asin A"), dup.getMessage());
        writeGzip(meta, ("{\"asin\": \"A\", \"categories\": \"Beauty\"}\n").getBytes(StandardCharsets.UTF_8));
        DataFileException cats = assertThrows(DataFileException.class, () -> Datasets.loadAmazonRaw(REVIEWS, meta, "x"));
        assertTrue(cats.getMessage().contains("meta.json.gz:1:") && cats.getMessage().contains("categories"), cats.getMessage());
        DataFileException missing = assertThrows(DataFileException.class,
                () -> Datasets.loadAmazonRaw(REVIEWS, dir.resolve("nope.json.gz"), "x"));
        assertTrue(missing.getMessage().contains("nope.json.gz") && missing.getMessage().contains("not found"), missing.getMessage());
    }

    @Test
    void nothingSurvivesTheFilter(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("reviews_small.json.gz");
        writeGzip(file, "{\"reviewerID\": \"u1\", \"asin\": \"a\", \"unixReviewTime\": 5}\n".getBytes(StandardCharsets.UTF_8));
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadAmazonRaw(file, META, "x"));
        assertTrue(e.getMessage().contains("5-core"), e.getMessage());
    }

    private static void expectReviewError(Path dir, String content, String... expected) throws IOException {
        Path file = dir.resolve("reviews_bad.json.gz");
        writeGzip(file, content.getBytes(StandardCharsets.UTF_8));
        DataFileException e = assertThrows(DataFileException.class, () -> Datasets.loadAmazonRaw(file, META, "x"));
        assertTrue(e.getMessage().contains("reviews_bad.json.gz"), e.getMessage());
        for (String x : expected) assertTrue(e.getMessage().contains(x), "\"" + x + "\" not in: " + e.getMessage());
    }

    private static void writeGzip(Path file, byte[] content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(content);
        }
        Files.write(file, bytes.toByteArray());
    }
}

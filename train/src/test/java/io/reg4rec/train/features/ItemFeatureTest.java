package io.reg4rec.train.features;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.io.SafeTensors;
import io.reg4rec.train.data.DataFileException;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.Datasets;
import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.data.RealData;
import io.reg4rec.train.data.SyntheticConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ItemFeatureTest {
    private static Dataset synthetic;
    private static LeaveOneOut split;
    private static float[][] features;

    @BeforeAll
    static void build() {
        synthetic = Datasets.synthetic(SyntheticConfig.defaults().withSize(600, 300));
        split = LeaveOneOut.split(synthetic);
        features = ItemFeatures.build(synthetic, split, FeatureConfig.defaults());
    }

    @Test
    void shapeRowZeroAndBlockNorms() {
        FeatureConfig cfg = FeatureConfig.defaults();
        assertEquals(synthetic.numItems() + 1, features.length);
        assertEquals(256, cfg.builtDim());
        for (float[] row : features) assertEquals(256, row.length);
        for (float x : features[0]) assertEquals(0f, x);
        // every synthetic item has text, attributes and (almost always) training interactions: each block has norm 1
        int[] widths = {cfg.textDim(), cfg.attributeDim(), cfg.collaborativeDim()};
        int[] seen = new int[synthetic.numItems() + 1];
        for (int[] t : split.trainParts()) for (int i : t) seen[i]++;
        for (int i = 1; i <= synthetic.numItems(); i++) {
            int offset = 0;
            for (int b = 0; b < 3; b++) {
                double s = 0;
                for (int j = offset; j < offset + widths[b]; j++) s += features[i][j] * features[i][j];
                offset += widths[b];
                if (b == 2 && seen[i] == 0) assertEquals(0, s, 0.0, "an item never trained on has a zero collaborative block");
                else assertEquals(1, s, 1e-4, "block " + b + " of item " + i);
            }
        }
    }

    @Test
    void deterministicForASeed() {
        float[][] again = ItemFeatures.build(synthetic, split, FeatureConfig.defaults());
        for (int i = 0; i < features.length; i++) assertArrayEquals(features[i], again[i]);
    }

    /** The synthetic data with the validation and test targets of 40 users changed to items they never had. */
    private static Dataset changedEvaluationTargets() {
        int[][] seqs = synthetic.sequences();
        for (int u = 0; u < 40; u++) {
            int[] s = seqs[u];
            int replaced = 0;
            for (int cand = synthetic.numItems(); cand >= 1 && replaced < 2; cand--) {
                if (!contains(s, cand)) s[s.length - 1 - replaced++] = cand;
            }
        }
        return Dataset.of(synthetic.name(), synthetic.numItems(), seqs, synthetic.itemCategory(), synthetic.itemAttributes(),
                synthetic.numAttributes(), synthetic.itemText(), synthetic.itemTextTokens());
    }

    @Test
    void validationAndTestTargetsDoNotLeak() {
        Dataset changed = changedEvaluationTargets();
        LeaveOneOut changedSplit = LeaveOneOut.split(changed);
        assertFalse(java.util.Arrays.equals(split.testTargets(), changedSplit.testTargets()));
        float[][] again = ItemFeatures.build(changed, changedSplit, FeatureConfig.defaults());
        for (int i = 0; i < features.length; i++) assertArrayEquals(features[i], again[i], "item " + i);
        // and the collaborative block does react to training interactions (the test above is not vacuous)
        int[][] moreTraining = synthetic.sequences();
        int[] s = moreTraining[0];
        s[0] = s[1] == 1 ? 2 : 1;
        if (contains(java.util.Arrays.copyOfRange(s, 1, s.length), s[0])) s[0] = firstMissing(s);
        Dataset trainChanged = Dataset.of(synthetic.name(), synthetic.numItems(), moreTraining, synthetic.itemCategory(),
                synthetic.itemAttributes(), synthetic.numAttributes(), synthetic.itemText(), synthetic.itemTextTokens());
        float[][] third = ItemFeatures.build(trainChanged, LeaveOneOut.split(trainChanged), FeatureConfig.defaults());
        boolean differs = false;
        for (int i = 0; i < features.length && !differs; i++) differs = !java.util.Arrays.equals(features[i], third[i]);
        assertTrue(differs, "changing a training item must change the collaborative features");
    }

    @Test
    void transitionPmiIsDirected() {
        // 1 -> 2 twice, 3 -> 1 once: PMI(a, b) = ln(count * total / (from(a) * to(b)))
        SparseMatrix pmi = ItemFeatures.transitionPmi(new int[][]{{1, 2}, {1, 2}, {3, 1}}, 3);
        assertEquals(Math.log(2 * 3 / (2.0 * 2)), entry(pmi, 1, 2), 1e-6);
        assertEquals(Math.log(3), entry(pmi, 3, 1), 1e-6);
        assertEquals(0, entry(pmi, 2, 1));
        assertEquals(0, entry(pmi, 1, 3));
    }

    private static float entry(SparseMatrix m, int row, int col) {
        for (int p = m.rowStart[row]; p < m.rowStart[row + 1]; p++) if (m.colIndex[p] == col) return m.values[p];
        return 0f;
    }

    @Test
    void transitionBlockIsAppendedAndReadsOnlyTrainingParts() {
        FeatureConfig cfg = FeatureConfig.defaults().withTransitions(32, 1f);
        float[][] f = ItemFeatures.build(synthetic, split, cfg);
        boolean[] moves = new boolean[synthetic.numItems() + 1];
        for (int[] t : split.trainParts()) if (t.length > 1) for (int i : t) moves[i] = true;
        for (int i = 1; i <= synthetic.numItems(); i++) {
            assertEquals(288, f[i].length);
            assertArrayEquals(features[i], java.util.Arrays.copyOf(f[i], 256), "the built blocks are unchanged, item " + i);
            double s = 0;
            for (int j = 256; j < 288; j++) s += f[i][j] * f[i][j];
            assertEquals(moves[i] ? 1 : 0, s, 1e-4, "transition block norm of item " + i);
        }
        Dataset changed = changedEvaluationTargets();
        float[][] again = ItemFeatures.build(changed, LeaveOneOut.split(changed), cfg);
        for (int i = 0; i < f.length; i++) assertArrayEquals(f[i], again[i], "item " + i);
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class, () -> FeatureConfig.defaults().withTransitions(33, 1f));
        assertTrue(odd.getMessage().contains("even"), odd.getMessage());
    }

    @Test
    void collaborativeNeighboursShareTheCategory() {
        // the collaborative block alone: an item's nearest neighbour should mostly share its category (chance ~ 1/8)
        FeatureConfig cfg = FeatureConfig.defaults().withDims(0, 0, 32);
        float[][] f = ItemFeatures.build(synthetic, split, cfg);
        double agreement = neighbourCategoryAgreement(f, synthetic.itemCategory());
        assertTrue(agreement > 0.5, "nearest-neighbour category agreement " + agreement);
        FeatureConfig textOnly = FeatureConfig.defaults().withDims(32, 0, 0);
        double textAgreement = neighbourCategoryAgreement(ItemFeatures.build(synthetic, split, textOnly), synthetic.itemCategory());
        assertTrue(textAgreement > 0.8, "text nearest-neighbour category agreement " + textAgreement);
    }

    private static double neighbourCategoryAgreement(float[][] f, int[] category) {
        int agree = 0, total = 0;
        for (int i = 1; i < f.length; i++) {
            double best = Double.NEGATIVE_INFINITY;
            int arg = -1;
            for (int j = 1; j < f.length; j++) {
                if (j == i) continue;
                double s = 0;
                for (int k = 0; k < f[i].length; k++) s += f[i][k] * f[j][k];
                if (s > best) { best = s; arg = j; }
            }
            if (best <= 0) continue;
            total++;
            if (category[arg] == category[i]) agree++;
        }
        return agree / (double) total;
    }

    @Test
    void embeddingFileCsvAppendAndReplace(@TempDir Path dir) throws IOException {
        Dataset d = Datasets.synthetic(SyntheticConfig.defaults().withSize(60, 40));
        LeaveOneOut s = LeaveOneOut.split(d);
        StringBuilder csv = new StringBuilder("item_id,a,b,c\n");
        for (int i = d.numItems(); i >= 1; i--) csv.append(i).append(',').append(i).append(",0,").append(-2 * i).append('\n');
        Path file = dir.resolve("emb.csv");
        Files.writeString(file, csv);
        FeatureConfig small = FeatureConfig.defaults().withDims(8, 8, 8);
        float[][] appended = ItemFeatures.build(d, s, small.withEmbeddingFile(file, FeatureConfig.EmbeddingMode.APPEND, 2f));
        float[][] replaced = ItemFeatures.build(d, s, small.withEmbeddingFile(file, FeatureConfig.EmbeddingMode.REPLACE, 1f));
        assertEquals(27, appended[1].length);
        assertEquals(3, replaced[1].length);
        float n = (float) Math.sqrt(5);
        assertArrayEquals(new float[]{1 / n, 0, -2 / n}, replaced[7], 1e-6f);
        assertArrayEquals(new float[]{2 / n, 0, -4 / n}, java.util.Arrays.copyOfRange(appended[7], 24, 27), 1e-6f);
        float[][] plain = ItemFeatures.build(d, s, small);
        assertArrayEquals(plain[7], java.util.Arrays.copyOfRange(appended[7], 0, 24));
    }

    @Test
    void embeddingFileSafeTensors(@TempDir Path dir) throws IOException {
        Dataset d = Datasets.synthetic(SyntheticConfig.defaults().withSize(60, 40));
        float[] values = new float[(d.numItems() + 1) * 4];
        for (int k = 0; k < values.length; k++) values[k] = (k % 7) - 3;
        Path file = dir.resolve("emb.safetensors");
        try (Tensor t = Tensor.of(Device.CPU, values, d.numItems() + 1, 4)) {
            SafeTensors.save(file, Map.of("item_embeddings", t));
        }
        float[][] rows = EmbeddingFile.read(file, d.numItems());
        assertArrayEquals(new float[4], rows[0]);
        assertArrayEquals(java.util.Arrays.copyOfRange(values, 4 * 5, 4 * 6), rows[5]);
        DataFileException wrongRows = assertThrows(DataFileException.class, () -> EmbeddingFile.read(file, d.numItems() + 1));
        assertTrue(wrongRows.getMessage().contains("emb.safetensors"), wrongRows.getMessage());
    }

    @Test
    void malformedEmbeddingCsv(@TempDir Path dir) throws IOException {
        assertCsvError(dir, "1,0.5,1\n2,0.5\n3,1,1\n", 3, "line 2", ":2:");
        assertCsvError(dir, "1,0.5\n2,abc\n3,1\n", 3, ":2:", "bad value");
        assertCsvError(dir, "1,0.5\n1,0.5\n", 3, ":2:", "twice");
        assertCsvError(dir, "1,0.5\n9,0.5\n", 3, ":2:", "unknown item 9");
        assertCsvError(dir, "1,0.5\n2,0.5\n", 3, "item 3", "no embedding");
    }

    private static void assertCsvError(Path dir, String content, int numItems, String... expected) throws IOException {
        Path file = dir.resolve("bad.csv");
        Files.writeString(file, content);
        DataFileException e = assertThrows(DataFileException.class, () -> EmbeddingFile.read(file, numItems));
        assertTrue(e.getMessage().contains("bad.csv"), e.getMessage());
        boolean any = false;
        for (String x : expected) any |= e.getMessage().contains(x);
        assertTrue(any, e.getMessage());
    }

    @Test
    void beautyFeaturesUnderAMinute() {
        Path dir = RealData.dir("beauty");
        assumeTrue(dir != null, "real Beauty data not present");
        Dataset beauty = Datasets.loadS3Rec(dir);
        LeaveOneOut s = LeaveOneOut.split(beauty);
        long start = System.nanoTime();
        float[][] f = ItemFeatures.build(beauty, s, FeatureConfig.defaults());
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("Beauty item features: %d x %d in %.2f s on %d cores%n", f.length, f[1].length, seconds,
                Runtime.getRuntime().availableProcessors());
        assertEquals(beauty.numItems() + 1, f.length);
        assertEquals(256, f[1].length);
        assertTrue(seconds < 60, "Beauty features took " + seconds + " s");
        // the collaborative block's nearest neighbour should share an item's category far more often than chance
        int[] cat = beauty.itemCategory();
        int from = 96 + 64, width = 96;
        int agree = 0, total = 0;
        for (int i = 1; i <= beauty.numItems(); i += 97) {
            double best = Double.NEGATIVE_INFINITY;
            int arg = -1;
            for (int j = 1; j <= beauty.numItems(); j++) {
                if (j == i) continue;
                double dot = 0;
                for (int k = from; k < from + width; k++) dot += f[i][k] * f[j][k];
                if (dot > best) { best = dot; arg = j; }
            }
            total++;
            if (cat[arg] == cat[i]) agree++;
        }
        double chance = 0;
        int[] count = new int[beauty.numCategories()];
        for (int i = 1; i <= beauty.numItems(); i++) count[cat[i]]++;
        for (int c : count) chance += Math.pow(c / (double) beauty.numItems(), 2);
        double agreement = agree / (double) total;
        System.out.printf("Beauty collaborative nearest-neighbour category agreement: %.3f over %d items (chance %.3f)%n", agreement, total, chance);
        assertTrue(agreement > 1.5 * chance, "agreement " + agreement + " vs chance " + chance);
    }

    private static boolean contains(int[] a, int x) {
        for (int v : a) if (v == x) return true;
        return false;
    }

    private static int firstMissing(int[] a) {
        for (int c = 1; ; c++) if (!contains(a, c)) return c;
    }
}

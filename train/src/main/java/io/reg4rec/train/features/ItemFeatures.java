package io.reg4rec.train.features;

import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.LeaveOneOut;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Item feature vectors v_i (SPEC: "build v_i from what the files hold"), [numItems + 1][F] with
 * row 0 (padding) zero. Blocks, each reduced to its configured width by randomized SVD, then
 * L2-normalised per row and multiplied by its weight, then concatenated in this order:
 * <ol>
 *   <li>text: TF-IDF over the item's keyword text and extra text tokens ({@link TextTokens}),
 *       tf = 1 + ln(count), idf = ln(N / df), tokens kept when 2 <= df <= N / 2, rows L2-normalised
 *       before the SVD (latent semantic analysis);</li>
 *   <li>attributes: multi-hot attribute ids weighted by idf = ln(N / df) (an attribute on every item
 *       weighs nothing), rows L2-normalised;</li>
 *   <li>collaborative: positive PMI of item co-occurrence within {@code window} positions
 *       (weight 1 / distance) in the users' TRAINING parts only, with context-distribution smoothing
 *       (context counts to the power 0.75). Validation and test targets never enter it, so no
 *       evaluation target leaks into the features.</li>
 *   <li>transitions (off by default): PMI of directed adjacent transitions a -> b in the training
 *       parts; an item's block is the SVD embedding of its row (what follows it) beside that of its
 *       column (what precedes it). On Beauty the last item alone predicts the next one well (a
 *       transition count floor beats the paper's TIGER), and tokens that share such profiles are
 *       easier to predict from a history.</li>
 * </ol>
 * Rows of U are scaled by sigma^exponent before normalisation. Items with nothing in a block
 * (no text, no attributes, never in a training part) get zeros there. A block is padded with zero
 * columns when the data has lower rank than its width, so F is always the configured sum.
 *
 * <p>A user embedding file ({@link EmbeddingFile}) either replaces the blocks or is appended after
 * them. Everything is deterministic for a seed (the engine's CPU GEMM sums in a fixed order for any
 * thread count).
 */
public final class ItemFeatures {
    /** Context-distribution smoothing exponent of the PPMI block (Levy, Goldberg and Dagan, 2015). */
    static final double CONTEXT_SMOOTHING = 0.75;

    private ItemFeatures() {}

    /**
     * The features of every item: [numItems + 1][F], F = textDim + attributeDim + collaborativeDim
     * (+ the embedding file's width when appended; = that width alone when it replaces the blocks).
     * The collaborative block reads only split's training parts.
     */
    public static float[][] build(Dataset d, LeaveOneOut split, FeatureConfig cfg) {
        if (split.dataset() != d) throw new IllegalArgumentException("ItemFeatures: the split belongs to dataset " + split.dataset().name() + ", not " + d.name());
        int numItems = d.numItems();
        float[][] embedding = cfg.embeddingFile() == null ? null : EmbeddingFile.read(cfg.embeddingFile(), numItems);
        if (embedding != null && cfg.embeddingMode() == FeatureConfig.EmbeddingMode.REPLACE) {
            return concatenate(numItems, new float[][][]{embedding}, new float[]{cfg.embeddingWeight()});
        }
        float[][] text = cfg.textDim() == 0 ? null : textBlock(d, cfg);
        float[][] attributes = cfg.attributeDim() == 0 ? null : attributeBlock(d, cfg);
        float[][] collaborative = cfg.collaborativeDim() == 0 ? null : collaborativeBlock(d, split, cfg);
        float[][] transitions = cfg.transitionDim() == 0 ? null : transitionBlock(d, split, cfg);
        return concatenate(numItems,
                new float[][][]{text, attributes, collaborative, transitions, embedding},
                new float[]{cfg.textWeight(), cfg.attributeWeight(), cfg.collaborativeWeight(), cfg.transitionWeight(), cfg.embeddingWeight()});
    }

    // ---------------------------------------------------------------- blocks

    static float[][] textBlock(Dataset d, FeatureConfig cfg) {
        int numItems = d.numItems();
        String[] text = d.itemText(), tokens = d.itemTextTokens();
        Map<String, Integer> vocabulary = new HashMap<>();
        int[][] itemTokens = new int[numItems + 1][];
        itemTokens[0] = new int[0];
        for (int i = 1; i <= numItems; i++) {
            List<String> t = TextTokens.tokens(text[i], tokens[i]);
            int[] ids = new int[t.size()];
            for (int k = 0; k < ids.length; k++) ids[k] = vocabulary.computeIfAbsent(t.get(k), x -> vocabulary.size());
            itemTokens[i] = ids;
        }
        int[] df = documentFrequency(itemTokens, vocabulary.size());
        SparseMatrix tfidf = weightedCounts(itemTokens, vocabulary.size(), df, numItems, 2, numItems / 2.0, true);
        return reduce(tfidf.normalizeRows(), cfg.textDim(), cfg, 1);
    }

    static float[][] attributeBlock(Dataset d, FeatureConfig cfg) {
        int numItems = d.numItems();
        int[][] attributes = d.itemAttributes();
        int vocab = d.numAttributes() + 1;
        int[] df = documentFrequency(attributes, vocab);
        SparseMatrix weighted = weightedCounts(attributes, vocab, df, numItems, 1, numItems, false);
        return reduce(weighted.normalizeRows(), cfg.attributeDim(), cfg, 2);
    }

    static float[][] collaborativeBlock(Dataset d, LeaveOneOut split, FeatureConfig cfg) {
        SparseMatrix ppmi = ppmi(split.trainParts(), d.numItems(), cfg.window());
        return reduce(ppmi, cfg.collaborativeDim(), cfg, 3);
    }

    static float[][] transitionBlock(Dataset d, LeaveOneOut split, FeatureConfig cfg) {
        SparseMatrix pmi = transitionPmi(split.trainParts(), d.numItems());
        int half = cfg.transitionDim() / 2;
        float[][] followers = reduce(pmi, half, cfg, 4), predecessors = reduce(pmi.transposed(), half, cfg, 5);
        float[][] out = new float[d.numItems() + 1][2 * half];
        for (int i = 0; i <= d.numItems(); i++) {
            System.arraycopy(followers[i], 0, out[i], 0, half);
            System.arraycopy(predecessors[i], 0, out[i], half, half);
        }
        return out;
    }

    /** Positive PMI of adjacent transitions a -> b (row a, column b) over the given sequences, without smoothing. */
    static SparseMatrix transitionPmi(int[][] sequences, int numItems) {
        int pairs = 0;
        for (int[] s : sequences) pairs += Math.max(0, s.length - 1);
        int[] r = new int[pairs], c = new int[pairs];
        float[] v = new float[pairs];
        int n = 0;
        for (int[] s : sequences) {
            for (int p = 0; p + 1 < s.length; p++) {
                r[n] = s[p]; c[n] = s[p + 1]; v[n++] = 1f;
            }
        }
        SparseMatrix counts = SparseMatrix.fromTriplets(numItems + 1, numItems + 1, r, c, v, n);
        double[] from = new double[numItems + 1], to = new double[numItems + 1];
        for (int i = 0; i <= numItems; i++) {
            for (int p = counts.rowStart[i]; p < counts.rowStart[i + 1]; p++) {
                from[i] += counts.values[p];
                to[counts.colIndex[p]] += counts.values[p];
            }
        }
        final double total = n;
        return counts.mapValues((i, j, count) -> {
            double pmi = Math.log(count * total / (from[i] * to[j]));
            return pmi > 0 ? (float) pmi : 0f;
        });
    }

    /** Positive PMI of windowed co-occurrence counts over the given sequences (items 1..numItems, rows/cols by item id). */
    static SparseMatrix ppmi(int[][] sequences, int numItems, int window) {
        int pairs = 0;
        for (int[] s : sequences) for (int p = 0; p < s.length; p++) pairs += 2 * Math.min(window, s.length - 1 - p);
        int[] r = new int[pairs], c = new int[pairs];
        float[] v = new float[pairs];
        int n = 0;
        for (int[] s : sequences) {
            for (int p = 0; p < s.length; p++) {
                for (int q = p + 1; q <= Math.min(s.length - 1, p + window); q++) {
                    float w = 1f / (q - p);
                    r[n] = s[p]; c[n] = s[q]; v[n++] = w;
                    r[n] = s[q]; c[n] = s[p]; v[n++] = w;
                }
            }
        }
        SparseMatrix counts = SparseMatrix.fromTriplets(numItems + 1, numItems + 1, r, c, v, n);
        double[] rowSum = new double[numItems + 1];
        double total = 0;
        for (int i = 0; i <= numItems; i++) {
            for (int p = counts.rowStart[i]; p < counts.rowStart[i + 1]; p++) rowSum[i] += counts.values[p];
            total += rowSum[i];
        }
        if (total == 0) return counts;
        double smoothedTotal = 0;
        double[] context = new double[numItems + 1];
        for (int i = 0; i <= numItems; i++) {
            context[i] = Math.pow(rowSum[i], CONTEXT_SMOOTHING); // the matrix is symmetric: column sums = row sums
            smoothedTotal += context[i];
        }
        final double t = total, st = smoothedTotal;
        return counts.mapValues((i, j, count) -> {
            double pmi = Math.log(count / t) - Math.log(rowSum[i] / t) - Math.log(context[j] / st);
            return pmi > 0 ? (float) pmi : 0f;
        });
    }

    private static int[] documentFrequency(int[][] docs, int vocab) {
        int[] df = new int[vocab];
        for (int[] doc : docs) {
            for (int k = 0; k < doc.length; k++) {
                boolean first = true;
                for (int q = 0; q < k; q++) if (doc[q] == doc[k]) { first = false; break; }
                if (first) df[doc[k]]++;
            }
        }
        return df;
    }

    /** Items x terms with (1 + ln tf) idf (or idf alone when logTf is false), terms outside [minDf, maxDf] dropped. */
    private static SparseMatrix weightedCounts(int[][] docs, int vocab, int[] df, int numItems, int minDf, double maxDf, boolean logTf) {
        int total = 0;
        for (int[] doc : docs) total += doc.length;
        int[] r = new int[total], c = new int[total];
        float[] v = new float[total];
        int n = 0;
        for (int i = 1; i < docs.length; i++) {
            for (int term : docs[i]) {
                if (df[term] < minDf || df[term] > maxDf) continue;
                r[n] = i; c[n] = term; v[n] = 1f;
                n++;
            }
        }
        SparseMatrix tf = SparseMatrix.fromTriplets(numItems + 1, vocab, r, c, v, n);
        return tf.mapValues((i, term, count) -> {
            double idf = Math.log((double) numItems / df[term]);
            return (float) ((logTf ? 1 + Math.log(count) : 1) * idf);
        });
    }

    /** [rows][dim] embedding of a sparse matrix's rows by randomized SVD; salt separates the blocks' seeds. */
    private static float[][] reduce(SparseMatrix m, int dim, FeatureConfig cfg, int salt) {
        RandomizedSvd.Result svd = RandomizedSvd.compute(m, dim, cfg.oversample(), cfg.powerIterations(),
                cfg.singularValueExponent(), cfg.seed() * 31 + salt);
        float[][] out = new float[m.rows][dim];
        for (int i = 0; i < m.rows; i++) {
            if (m.rowLength(i) == 0) continue; // nothing known about the item in this block: exact zeros
            System.arraycopy(svd.embedding(), i * dim, out[i], 0, dim);
        }
        return out;
    }

    /** Row-L2-normalises each non-null block, scales it and concatenates; row 0 stays zero. */
    private static float[][] concatenate(int numItems, float[][][] blocks, float[] weights) {
        int width = 0;
        for (float[][] b : blocks) if (b != null) width += b[0].length;
        float[][] out = new float[numItems + 1][width];
        int offset = 0;
        for (int k = 0; k < blocks.length; k++) {
            float[][] b = blocks[k];
            if (b == null) continue;
            int w = b[0].length;
            for (int i = 1; i <= numItems; i++) {
                double s = 0;
                for (float x : b[i]) s += (double) x * x;
                if (s == 0) continue;
                float scale = (float) (weights[k] / Math.sqrt(s));
                for (int j = 0; j < w; j++) out[i][offset + j] = b[i][j] * scale;
            }
            offset += w;
        }
        return out;
    }
}

package io.reg4rec.train.features;

import java.nio.file.Path;

/**
 * How {@link ItemFeatures} builds item vectors.
 *
 * @param textDim              columns of the keyword-text block (TF-IDF reduced by randomized SVD), 0 = off
 * @param attributeDim         columns of the attribute block (TF-IDF multi-hot reduced by randomized SVD), 0 = off
 * @param collaborativeDim     columns of the collaborative block (PPMI of training co-occurrence reduced by randomized SVD), 0 = off
 * @param transitionDim        columns of the transition block (PMI of training transitions a -> b: half from what follows the item,
 *                             half from what precedes it, each reduced by randomized SVD; even), 0 = off
 * @param textWeight           scale of the (row-L2-normalised) text block
 * @param attributeWeight      scale of the attribute block
 * @param collaborativeWeight  scale of the collaborative block
 * @param transitionWeight     scale of the transition block
 * @param window               co-occurrence window: items at most this many positions apart in a training part count, weighted 1 / distance
 * @param powerIterations      randomized-SVD power iterations (more = sharper top singular vectors)
 * @param oversample           randomized-SVD extra sketch columns beyond the block's dimension
 * @param singularValueExponent rows of U are scaled by sigma^exponent before normalisation (0.5 as in PPMI-SVD word vectors)
 * @param seed                 seed of the random sketches (results are deterministic for a seed)
 * @param embeddingFile        optional user-supplied item embeddings (CSV {@code item_id,v1,...} or .safetensors holding one
 *                             [numItems + 1, E] tensor); null = none
 * @param embeddingMode        whether the file replaces the built blocks or is appended as a fourth block
 * @param embeddingWeight      scale of the (row-L2-normalised) embedding block
 */
public record FeatureConfig(int textDim, int attributeDim, int collaborativeDim, int transitionDim,
                            float textWeight, float attributeWeight, float collaborativeWeight, float transitionWeight,
                            int window, int powerIterations, int oversample, double singularValueExponent, long seed,
                            Path embeddingFile, EmbeddingMode embeddingMode, float embeddingWeight) {

    /** What a user embedding file does to the built features. */
    public enum EmbeddingMode {
        /** The features are the file's vectors alone (row-L2-normalised, times embeddingWeight). */
        REPLACE,
        /** The file's vectors are a block after the built ones. */
        APPEND
    }

    public FeatureConfig {
        if (textDim < 0 || attributeDim < 0 || collaborativeDim < 0) throw new IllegalArgumentException("FeatureConfig: block dimensions must be >= 0");
        if (transitionDim < 0 || transitionDim % 2 != 0) {
            throw new IllegalArgumentException("FeatureConfig: the transition block's width must be even and >= 0 (half per direction), got " + transitionDim);
        }
        if (window < 1) throw new IllegalArgumentException("FeatureConfig: window must be >= 1, got " + window);
        if (powerIterations < 0) throw new IllegalArgumentException("FeatureConfig: powerIterations must be >= 0");
        if (oversample < 0) throw new IllegalArgumentException("FeatureConfig: oversample must be >= 0");
        if (embeddingMode == null) embeddingMode = EmbeddingMode.APPEND;
        if (embeddingFile == null && textDim + attributeDim + collaborativeDim + transitionDim == 0) {
            throw new IllegalArgumentException("FeatureConfig: every block is off and no embedding file is given");
        }
    }

    /** 96 text + 64 attribute + 96 collaborative = 256 columns, no transition block, equal weights, window 3, 3 power iterations. */
    public static FeatureConfig defaults() {
        return new FeatureConfig(96, 64, 96, 0, 1f, 1f, 1f, 1f, 3, 3, 16, 0.5, 7L, null, EmbeddingMode.APPEND, 1f);
    }

    public FeatureConfig withDims(int text, int attribute, int collaborative) {
        return new FeatureConfig(text, attribute, collaborative, transitionDim, textWeight, attributeWeight, collaborativeWeight, transitionWeight,
                window, powerIterations, oversample, singularValueExponent, seed, embeddingFile, embeddingMode, embeddingWeight);
    }

    public FeatureConfig withWeights(float text, float attribute, float collaborative) {
        return new FeatureConfig(textDim, attributeDim, collaborativeDim, transitionDim, text, attribute, collaborative, transitionWeight,
                window, powerIterations, oversample, singularValueExponent, seed, embeddingFile, embeddingMode, embeddingWeight);
    }

    /** The transition block at this width (even; 0 = off) and weight. */
    public FeatureConfig withTransitions(int dim, float weight) {
        return new FeatureConfig(textDim, attributeDim, collaborativeDim, dim, textWeight, attributeWeight, collaborativeWeight, weight,
                window, powerIterations, oversample, singularValueExponent, seed, embeddingFile, embeddingMode, embeddingWeight);
    }

    public FeatureConfig withEmbeddingFile(Path file, EmbeddingMode mode, float weight) {
        return new FeatureConfig(textDim, attributeDim, collaborativeDim, transitionDim, textWeight, attributeWeight, collaborativeWeight, transitionWeight,
                window, powerIterations, oversample, singularValueExponent, seed, file, mode, weight);
    }

    public FeatureConfig withSeed(long newSeed) {
        return new FeatureConfig(textDim, attributeDim, collaborativeDim, transitionDim, textWeight, attributeWeight, collaborativeWeight, transitionWeight,
                window, powerIterations, oversample, singularValueExponent, newSeed, embeddingFile, embeddingMode, embeddingWeight);
    }

    /** Columns built from the dataset (text + attribute + collaborative + transition). */
    public int builtDim() { return textDim + attributeDim + collaborativeDim + transitionDim; }
}

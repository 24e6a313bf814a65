package io.reg4rec.train.data;

/**
 * Shape of a synthetic dataset ({@link SyntheticData}).
 *
 * @param numUsers           users, each with a sequence of at least minLength items
 * @param numItems           items, spread over the categories
 * @param numCategories      top-level categories (labels 1..numCategories)
 * @param subcategoriesPerCategory finer clusters inside each category (attributes and words hang on them)
 * @param brandsPerCategory  brands per category (one brand attribute per item)
 * @param facetDim           dimension of the latent facet space of items and intents
 * @param minIntents         fewest latent intents per user (>= 1)
 * @param maxIntents         most latent intents per user
 * @param minLength          shortest sequence (>= 3 so every user has train, validation and test items)
 * @param meanExtraLength    mean of the geometric number of items beyond minLength
 * @param maxLength          longest sequence
 * @param intentSwitch       probability of switching to another of the user's intents before a step
 * @param drift              weight of the last item in the current interest (sequential drift), 0..1
 * @param sharpness          inverse temperature of the choice among subcategories and items
 * @param seed               every random choice derives from it
 */
public record SyntheticConfig(int numUsers, int numItems, int numCategories, int subcategoriesPerCategory,
                              int brandsPerCategory, int facetDim, int minIntents, int maxIntents,
                              int minLength, double meanExtraLength, int maxLength,
                              double intentSwitch, double drift, double sharpness, long seed) {

    public SyntheticConfig {
        require(numUsers >= 1, "numUsers >= 1");
        require(numCategories >= 1, "numCategories >= 1");
        require(subcategoriesPerCategory >= 1, "subcategoriesPerCategory >= 1");
        require(numItems >= numCategories * subcategoriesPerCategory, "numItems >= numCategories * subcategoriesPerCategory");
        require(brandsPerCategory >= 1, "brandsPerCategory >= 1");
        require(facetDim >= 2, "facetDim >= 2");
        require(minIntents >= 1 && maxIntents >= minIntents, "1 <= minIntents <= maxIntents");
        require(minLength >= 3 && maxLength >= minLength, "3 <= minLength <= maxLength");
        require(maxLength <= numItems, "maxLength <= numItems (items do not repeat in a sequence)");
        require(meanExtraLength >= 0, "meanExtraLength >= 0");
        require(intentSwitch >= 0 && intentSwitch <= 1, "0 <= intentSwitch <= 1");
        require(drift >= 0 && drift <= 1, "0 <= drift <= 1");
        require(sharpness > 0, "sharpness > 0");
    }

    private static void require(boolean ok, String rule) {
        if (!ok) throw new IllegalArgumentException("SyntheticConfig: need " + rule);
    }

    /** The embedded default: 2,000 users, 1,000 items, 8 categories, seed 42. */
    public static SyntheticConfig defaults() {
        return new SyntheticConfig(2000, 1000, 8, 4, 5, 16, 1, 3, 5, 4.0, 50, 0.15, 0.35, 6.0, 42L);
    }

    public SyntheticConfig withSize(int users, int items) {
        return new SyntheticConfig(users, items, numCategories, subcategoriesPerCategory, brandsPerCategory, facetDim,
                minIntents, maxIntents, minLength, meanExtraLength, Math.min(maxLength, items), intentSwitch, drift, sharpness, seed);
    }

    public SyntheticConfig withSeed(long newSeed) {
        return new SyntheticConfig(numUsers, numItems, numCategories, subcategoriesPerCategory, brandsPerCategory, facetDim,
                minIntents, maxIntents, minLength, meanExtraLength, maxLength, intentSwitch, drift, sharpness, newSeed);
    }
}

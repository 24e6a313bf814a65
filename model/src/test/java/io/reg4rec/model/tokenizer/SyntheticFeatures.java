package io.reg4rec.model.tokenizer;

import java.util.SplittableRandom;

/** Clustered item features for tokenizer tests: Gaussian blobs around random centres. */
final class SyntheticFeatures {
    private SyntheticFeatures() {}

    /**
     * {@code float[items + 1][dim]}, row 0 zeros (padding); item i belongs to cluster i % clusters,
     * centres are N(0, 1) per dimension and items scatter around them with standard deviation noise.
     */
    static float[][] clustered(int items, int clusters, int dim, double noise, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[][] centres = new double[clusters][dim];
        for (double[] c : centres) for (int f = 0; f < dim; f++) c[f] = gaussian(rng);
        float[][] out = new float[items + 1][dim];
        for (int i = 1; i <= items; i++) {
            double[] c = centres[i % clusters];
            for (int f = 0; f < dim; f++) out[i][f] = (float) (c[f] + noise * gaussian(rng));
        }
        return out;
    }

    private static double gaussian(SplittableRandom rng) {
        double u1 = rng.nextDouble(), u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    /**
     * Items built from independent facets: item i picks one of {@code values} vectors in each of
     * {@code facets} facets (N(0, 1) per dimension) and adds them up, plus N(0, noise^2) per dimension.
     */
    static float[][] factored(int items, int facets, int values, int dim, double noise, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[][][] table = new double[facets][values][dim];
        for (double[][] facet : table) for (double[] v : facet) for (int f = 0; f < dim; f++) v[f] = gaussian(rng);
        float[][] out = new float[items + 1][dim];
        for (int i = 1; i <= items; i++) {
            for (double[][] facet : table) {
                double[] v = facet[rng.nextInt(values)];
                for (int f = 0; f < dim; f++) out[i][f] += (float) v[f];
            }
            for (int f = 0; f < dim; f++) out[i][f] += (float) (noise * gaussian(rng));
        }
        return out;
    }

    /**
     * Items on a low-rank linear manifold: a random N(0, 1) point in {@code rank} dimensions mapped
     * into {@code dim} by a fixed random N(0, 1) matrix, plus N(0, noise^2) per dimension; no clusters.
     */
    static float[][] lowRank(int items, int rank, int dim, double noise, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[][] basis = new double[rank][dim];
        for (double[] b : basis) for (int f = 0; f < dim; f++) b[f] = gaussian(rng);
        float[][] out = new float[items + 1][dim];
        double[] z = new double[rank];
        for (int i = 1; i <= items; i++) {
            for (int k = 0; k < rank; k++) z[k] = gaussian(rng);
            for (int f = 0; f < dim; f++) {
                double v = noise * gaussian(rng);
                for (int k = 0; k < rank; k++) v += z[k] * basis[k][f];
                out[i][f] = (float) v;
            }
        }
        return out;
    }
}

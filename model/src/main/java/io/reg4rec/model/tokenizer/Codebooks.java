package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.Init;
import io.reg4rec.model.nn.Module;
import org.apache.commons.math3.ml.clustering.CentroidCluster;
import org.apache.commons.math3.ml.clustering.DoublePoint;
import org.apache.commons.math3.ml.clustering.KMeansPlusPlusClusterer;
import org.apache.commons.math3.ml.distance.EuclideanDistance;
import org.apache.commons.math3.random.Well19937c;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * G codebooks of D codewords of width d, one trainable parameter {@code codewords [G, D, d]}
 * (MPQ: one codebook per expert; RQ-VAE: one per residual level), with what keeps a vector
 * quantiser alive: nearest-codeword lookup (Eq. 1), k-means++ initialisation from encoder
 * outputs, and re-seeding of codewords that no training batch has picked for a while.
 *
 * <p>Codewords are trained by gradient (the codebook term ||sg(e) - z||^2 of the VQ-VAE loss),
 * not by EMA updates: the codebook stays an ordinary parameter that any optimizer handles.
 */
final class Codebooks extends Module {
    private final int groups;
    private final int size;
    private final int dim;
    private final Variable codewords;
    /** Per group and codeword, the last training step whose batch picked it. */
    private final long[][] lastUsed;

    Codebooks(Device device, int groups, int size, int dim, long seed) {
        this.groups = groups;
        this.size = size;
        this.dim = dim;
        // placeholder values until k-means++ initialisation replaces them
        this.codewords = registerParameter("codewords", Init.normal(device, DType.F32, seed, 1.0 / Math.sqrt(dim), groups, size, dim));
        this.lastUsed = new long[groups][size];
    }

    int groups() { return groups; }

    int size() { return size; }

    int dim() { return dim; }

    Variable codewords() { return codewords; }

    // ---------------------------------------------------------------- lookup

    /** Token c_r = argmin_j ||e^r - z^r_j|| for every group: latents [G, B, d] to I64 [G, B]. */
    Tensor nearest(Tensor latents) {
        int[] s = latents.shape();
        if (s.length != 3 || s[0] != groups || s[2] != dim) {
            throw new IllegalArgumentException("Codebooks.nearest: latents " + latents.describe() + " must be [" + groups + ", B, " + dim + "]");
        }
        return nearestCodewords(latents, codewords.data());
    }

    /** The nearest codeword of group g for each row of latents [B, d], as I64 [B]. */
    Tensor nearestInGroup(int group, Tensor latents) {
        checkGroup(group);
        if (latents.rank() != 2 || latents.size(1) != dim) {
            throw new IllegalArgumentException("Codebooks.nearestInGroup: latents " + latents.describe() + " must be [B, " + dim + "]");
        }
        try (Tensor book = codewords.data().slice(0, group, group + 1); Tensor rows = latents.unsqueeze(0);
             Tensor idx = nearestCodewords(rows, book)) {
            return idx.squeeze(0);
        }
    }

    /**
     * The only place tokens are computed: the backend's quantization lookup (Eq. 1,
     * argmin_j ||e - z_j||^2, first index on ties; the CUDA kernel of quantize.cu on a GPU).
     * latents [G, B, d], codewords [G, D, d] to I64 [G, B].
     */
    private static Tensor nearestCodewords(Tensor latents, Tensor codewords) {
        try (Scope scope = Scope.open()) {
            int groups = latents.size(0), rows = latents.size(1);
            Tensor byRow = latents.transpose(0, 1).contiguous();                    // [B, G, d]
            Tensor indices = Tensor.empty(latents.device(), DType.I32, rows, groups);
            Tensor distances = Tensor.empty(latents.device(), latents.dtype(), rows, groups);
            Engine.backend(latents.device()).nearestCodeword(byRow, codewords.contiguous(), indices, distances);
            return indices.transpose(0, 1).to(DType.I64).keep();
        }
    }

    /** Squared distances ||e - z_j||^2 of latents [G, B, d] to every codeword of their group, [G, B, D]. */
    Tensor distances(Tensor latents) {
        int[] s = latents.shape();
        if (s.length != 3 || s[0] != groups || s[2] != dim) {
            throw new IllegalArgumentException("Codebooks.distances: latents " + latents.describe() + " must be [" + groups + ", B, " + dim + "]");
        }
        return squaredDistances(latents, codewords.data());
    }

    /** Squared distances of latents [B, d] to group g's codewords, [B, D]. */
    Tensor distancesInGroup(int group, Tensor latents) {
        checkGroup(group);
        if (latents.rank() != 2 || latents.size(1) != dim) {
            throw new IllegalArgumentException("Codebooks.distancesInGroup: latents " + latents.describe() + " must be [B, " + dim + "]");
        }
        try (Tensor book = codewords.data().slice(0, group, group + 1); Tensor rows = latents.unsqueeze(0);
             Tensor d = squaredDistances(rows, book)) {
            return d.squeeze(0).contiguous();
        }
    }

    private static Tensor squaredDistances(Tensor latents, Tensor codewords) {
        try (Scope scope = Scope.open()) {
            Tensor dots = latents.matmul(codewords.transpose(1, 2));                             // [G, B, D]
            Tensor codewordNorms = codewords.mul(codewords).sum(2, true).transpose(1, 2);        // [G, 1, D]
            Tensor latentNorms = latents.mul(latents).sum(2, true);                              // [G, B, 1]
            return codewordNorms.sub(dots.mul(2.0)).add(latentNorms).keep();
        }
    }

    /**
     * The codewords picked by tokens [G, B] (I64), [G, B, d]; gradients reach the picked rows.
     * Temporaries belong to the caller's scope (the graph saves the index).
     */
    Variable select(Tensor tokens) {
        int b = tokens.size(1);
        long[] offsets = new long[groups];
        for (int g = 0; g < groups; g++) offsets[g] = (long) g * size;
        Tensor flat = tokens.add(Tensor.fromHost(tokens.device(), DType.I64, offsets, groups, 1)).reshape(groups * b);
        return codewords.reshape(groups * size, dim).indexSelect(flat).reshape(groups, b, dim);
    }

    /** The codewords of group g picked by tokens [B] (I64), [B, d]. */
    Variable selectInGroup(int group, Tensor tokens) {
        checkGroup(group);
        Tensor flat = tokens.add(Tensor.scalar(tokens.device(), DType.I64, (double) group * size));
        return codewords.reshape(groups * size, dim).indexSelect(flat);
    }

    private void checkGroup(int group) {
        if (group < 0 || group >= groups) throw new IllegalArgumentException("Codebooks: group " + group + " outside [0, " + groups + ")");
    }

    // ---------------------------------------------------------------- initialisation and upkeep

    /**
     * Replaces group g's codewords by k-means++ centroids of points (encoder outputs), after
     * {@code iterations} Lloyd steps. With fewer distinct points than codewords, the remaining
     * codewords are random points with a little noise, so that none is left unused by design.
     */
    void initialiseKMeans(int group, float[][] points, long seed, int iterations) {
        checkGroup(group);
        List<DoublePoint> data = new ArrayList<>(points.length);
        for (float[] p : points) {
            double[] d = new double[dim];
            for (int i = 0; i < dim; i++) d[i] = p[i];
            data.add(new DoublePoint(d));
        }
        int distinct = (int) Arrays.stream(points).map(p -> Arrays.toString(p)).distinct().count();
        int k = Math.min(size, distinct);
        float[][] centres = new float[size][];
        SplittableRandom rng = new SplittableRandom(seed);
        if (k >= 2) {
            // maxIterations counts the seeding pass too; -1 would mean "until converged"
            KMeansPlusPlusClusterer<DoublePoint> kmeans = new KMeansPlusPlusClusterer<>(k, Math.max(1, iterations), new EuclideanDistance(), new Well19937c(seed));
            List<CentroidCluster<DoublePoint>> clusters = kmeans.cluster(data);
            for (int j = 0; j < clusters.size(); j++) centres[j] = toFloats(clusters.get(j).getCenter().getPoint());
        } else {
            centres[0] = points[0].clone();
            k = 1;
        }
        for (int j = k; j < size; j++) centres[j] = jitter(points[rng.nextInt(points.length)], rng);
        setGroup(group, centres);
        Arrays.fill(lastUsed[group], 0);
    }

    /**
     * Records which codewords the batch picked (tokens [G][B]) at this step and, when allowed,
     * moves every codeword unused for {@code deadAfter} steps onto a random row of that group's
     * candidates [B, d] (the batch's encoder outputs, or residuals for RQ-VAE); distinct rows while
     * the batch has enough. Returns the number re-seeded per group.
     */
    int[] upkeep(long[][] tokens, List<Tensor> candidates, long step, int deadAfter, boolean reseed, SplittableRandom rng) {
        int[] reseeded = new int[groups];
        List<float[]> hostBook = null;
        for (int g = 0; g < groups; g++) {
            for (long t : tokens[g]) lastUsed[g][(int) t] = step;
            if (!reseed) continue;
            List<Integer> dead = new ArrayList<>();
            for (int j = 0; j < size; j++) if (step - lastUsed[g][j] >= deadAfter) dead.add(j);
            if (dead.isEmpty()) continue;
            float[] rows = candidates.get(g).contiguous().toFloatArray();
            int b = rows.length / dim;
            int[] order = permutation(b, rng);
            float[] book = codewords.data().select(0, g).contiguous().toFloatArray();
            for (int i = 0; i < dead.size(); i++) {
                int j = dead.get(i);
                int row = order[i % b];
                System.arraycopy(rows, row * dim, book, j * dim, dim);
                if (i >= b) {
                    float[] noisy = jitter(Arrays.copyOfRange(book, j * dim, (j + 1) * dim), rng);
                    System.arraycopy(noisy, 0, book, j * dim, dim);
                }
                lastUsed[g][j] = step;
            }
            setGroup(g, book);
            reseeded[g] = dead.size();
        }
        return reseeded;
    }

    private void setGroup(int group, float[][] centres) {
        float[] flat = new float[size * dim];
        for (int j = 0; j < size; j++) System.arraycopy(centres[j], 0, flat, j * dim, dim);
        setGroup(group, flat);
    }

    private void setGroup(int group, float[] flat) {
        try (NoGrad ignored = NoGrad.enter(); Tensor values = Tensor.of(codewords.device(), flat, size, dim);
             Tensor slot = codewords.data().select(0, group)) {
            slot.copyFrom(values);
        }
    }

    /** Host copy of group g's codewords, [D][d]. */
    float[][] groupValues(int group) {
        checkGroup(group);
        float[] flat;
        try (Tensor slot = codewords.data().select(0, group)) {
            flat = slot.contiguous().toFloatArray();
        }
        float[][] out = new float[size][];
        for (int j = 0; j < size; j++) out[j] = Arrays.copyOfRange(flat, j * dim, (j + 1) * dim);
        return out;
    }

    /** Steps since codeword j of group g was last picked by a training batch. */
    long idleSteps(int group, int codeword, long step) {
        return step - lastUsed[group][codeword];
    }

    private float[] jitter(float[] p, SplittableRandom rng) {
        double norm = 0;
        for (float v : p) norm += v * v;
        double scale = 1e-3 * Math.max(Math.sqrt(norm / p.length), 1e-3);
        float[] out = p.clone();
        for (int i = 0; i < out.length; i++) out[i] += (float) (scale * (2 * rng.nextDouble() - 1));
        return out;
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static int[] permutation(int n, SplittableRandom rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}

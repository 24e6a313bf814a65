package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.Init;
import io.reg4rec.model.nn.Linear;
import io.reg4rec.model.nn.Module;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MPQ, the MoE parallel quantization codebooks of REG4Rec (paper section 3.3.1, SPEC section 1).
 *
 * <pre>
 *   e^r = E_r(v)                       M expert MLPs, F -> d_c           [M, B, d_c]
 *   c_r = argmin_j ||e^r - z^r_j||     Eq. (1), one codebook per expert
 *   h   = softmax(W_g v)               routing gate over the experts    [B, M]
 *   q   = sum_r h^r z^r_{c_r}                                              [B, d_c]
 *   L   = ||v - dec(q)||^2 + alpha ||W̄ᵀW̄ - I||_F^2                       Eq. (2)-(4)
 *       + ||sg(e^r) - z^r||^2 + beta ||e^r - sg(z^r)||^2                   (VQ-VAE codebook and commitment terms)
 *       + gamma S mean_{r != s} RV(e^r, e^s)                               (expert redundancy, ours)
 * </pre>
 * z^r enters q through a straight-through estimator (forward value z^r, gradient passed to e^r),
 * so the experts learn from the reconstruction, the gate through its weights h^r, and the
 * codewords from the codebook term. W̄ is the column-wise L2-normalised concatenation of the
 * experts' first-layer projection matrices W_r [F, h] (one column per hidden unit). Codebooks are
 * initialised by k-means++ on expert outputs and dead codewords re-seeded ({@link Codebooks}).
 * Tokens are unordered: an item is the set {(r, c_r)}.
 *
 * <p>The expert-redundancy term is not in the paper. Without it the straight-through gradient
 * treats q as if it were continuous, so nothing tells the experts that quantising the same
 * dominant structure M times wastes the M codebooks: on clustered features every expert's
 * codebook ends up encoding the same clusters and items of one cluster share all M tokens (a
 * collision rate of 0.67 on a 12,101-item clustered test set, 0.024 on real Beauty features). RV(e^r, e^s) =
 * ||C_rs||_F^2 / sqrt(||C_rr||_F^2 ||C_ss||_F^2), with C_rs the batch cross-covariance of two
 * experts' latent codes, is the multivariate correlation of the two codes (0: no linear
 * dependence, 1: the same code up to rotation and scale); penalising its mean over expert pairs
 * (weight gamma = {@link TokenizerConfig#diversity()} times S, the items' mean squared distance to
 * their mean, so that gamma means the same at any feature scale: RV is scale-free, the
 * reconstruction loss is not) makes each expert encode what the others do not, the parallel
 * counterpart of what residual levels do in RQ-VAE. L_orth keeps the paper's
 * alpha; the experts, gate, parallel codebooks and sum q are unchanged.
 */
public final class MpqTokenizer extends VqTokenizer {
    public static final String KIND = "mpq";
    /** Keeps the column normalisation finite for an all-zero column. */
    static final double NORM_EPS = 1e-12;

    /** Parameter names (checkpoint keys): experts.w0.., experts.b0.., gate.weight, codebooks.codewords, decoder.l0.... */
    static final class Network extends Module {
        final ExpertMlps experts;
        final Linear gate;
        final Codebooks codebooks;
        final Mlp decoder;

        Network(TokenizerConfig c, int features) {
            long seed = c.seed();
            experts = registerModule("experts", new ExpertMlps(c.device(), c.numCodebooks(), Mlp.widths(features, c.encoderHidden(), c.codeDim()), Init.childSeed(seed, 0)));
            gate = registerModule("gate", new Linear(c.device(), features, c.numCodebooks(), false, Init.childSeed(seed, 1)));
            codebooks = registerModule("codebooks", new Codebooks(c.device(), c.numCodebooks(), c.codebookSize(), c.codeDim(), Init.childSeed(seed, 2)));
            decoder = registerModule("decoder", new Mlp(c.device(), Mlp.widths(c.codeDim(), c.decoderHidden(), features), Init.childSeed(seed, 3)));
        }
    }

    private final Network net;

    public MpqTokenizer(TokenizerConfig config, int featureDim) {
        super(config, featureDim);
        this.net = new Network(config, featureDim);
    }

    @Override
    public String kind() { return KIND; }

    @Override
    public boolean orderedTokens() { return false; }

    @Override
    Module network() { return net; }

    @Override
    Codebooks codebooks() { return net.codebooks; }

    /** Gate weights h(v) as [M, B, 1], ready to scale each expert's codeword. */
    private Variable gateWeights(Variable x) {
        return net.gate.forward(x).softmax(1).transpose(0, 1).unsqueeze(2);
    }

    @Override
    void initialiseCodebooks(Tensor sample, long seed) {
        Tensor latents = net.experts.forward(Variable.constant(sample)).data();   // [M, S, d_c]
        for (int r = 0; r < config.numCodebooks(); r++) {
            net.codebooks.initialiseKMeans(r, rowsOf(latents.select(0, r)), Init.childSeed(seed, r), config.kmeansIterations());
        }
    }

    static float[][] rowsOf(Tensor matrix) {
        int rows = matrix.size(0), cols = matrix.size(1);
        float[] flat = matrix.contiguous().toFloatArray();
        float[][] out = new float[rows][cols];
        for (int i = 0; i < rows; i++) System.arraycopy(flat, i * cols, out[i], 0, cols);
        return out;
    }

    @Override
    StepLosses trainingLosses(Variable x) {
        int b = x.size(0);
        Variable e = net.experts.forward(x);                                        // [M, B, d_c]
        Tensor tokens = net.codebooks.nearest(e.data());                            // [M, B]
        Variable z = net.codebooks.select(tokens);                                  // [M, B, d_c]
        Variable straightThrough = e.add(Variable.constant(z.data().sub(e.data())));
        Variable q = straightThrough.mul(gateWeights(x)).sum(0, false);            // [B, d_c]
        Variable recon = net.decoder.forward(q).sub(x).square().sumAll().div(b);
        Variable codebook = z.sub(e.detach()).square().sumAll().div(b);
        Variable commitment = e.sub(z.detach()).square().sumAll().div(b);
        Variable vq = codebook.add(commitment.mul(config.beta()));
        Variable orth = orthogonalityLoss(net.experts.firstLayerWeights());
        Variable total = recon.add(orth.mul(config.alpha())).add(vq);
        if (config.diversity() > 0 && config.numCodebooks() > 1) total = total.add(expertRedundancy(e).mul(config.diversity() * featureSpread));
        long[] flat = tokens.toLongArray();
        long[][] perCodebook = new long[config.numCodebooks()][];
        List<Tensor> candidates = new ArrayList<>();
        for (int r = 0; r < config.numCodebooks(); r++) {
            perCodebook[r] = Arrays.copyOfRange(flat, r * b, (r + 1) * b);
            candidates.add(e.data().select(0, r));
        }
        return new StepLosses(total, recon, orth, vq, perCodebook, candidates);
    }

    /**
     * L_orth = ||W̄ᵀW̄ - I||_F^2 (Eq. 3) for the experts' projections w [M, F, h]: W̄ [F, M h] has
     * expert r's columns at r h .. r h + h - 1, each scaled to unit length. When M h > F the
     * [M h, M h] Gram matrix is replaced by the smaller [F, F] one through the identity
     * ||W̄ᵀW̄ - I||^2 = ||W̄W̄ᵀ||^2 - 2 tr(W̄ᵀW̄) + M h, with tr(W̄ᵀW̄) = sum_j ||w̄_j||^2.
     */
    static Variable orthogonalityLoss(Variable w) {
        int m = w.size(0), f = w.size(1), h = w.size(2), n = m * h;
        Variable bar = w.permute(1, 0, 2).reshape(f, n);
        Variable normalised = bar.mul(bar.square().sum(0, true).add(NORM_EPS).rsqrt());
        if (n <= f) {
            Variable gram = normalised.transpose(0, 1).matmul(normalised);
            float[] eye = new float[n * n];
            for (int i = 0; i < n; i++) eye[i * n + i] = 1f;
            return gram.sub(Variable.constant(Tensor.fromHost(w.device(), DType.F32, eye, n, n))).square().sumAll();
        }
        Variable outer = normalised.matmul(normalised.transpose(0, 1));
        return outer.square().sumAll().sub(normalised.square().sumAll().mul(2.0)).add(n);
    }

    /**
     * The mean RV coefficient over ordered pairs of distinct experts, for latent codes e [M, B, d]:
     * C = Ē^T Ē / B over the batch-centred codes side by side (Ē [B, M d]); block (r, s) of C is
     * C_rs, and RV_rs = ||C_rs||_F^2 / sqrt(||C_rr||_F^2 ||C_ss||_F^2). In [0, 1]; 0 for one expert.
     */
    static Variable expertRedundancy(Variable e) {
        int m = e.size(0), b = e.size(1), d = e.size(2);
        if (m < 2) return Variable.constant(Tensor.scalar(e.device(), DType.F32, 0.0));
        Variable centred = e.sub(e.mean(1, true));
        Variable side = centred.permute(1, 0, 2).reshape(b, m * d);
        Variable cov = side.transpose(0, 1).matmul(side).div(b);                                  // [M d, M d]
        Variable blocks = cov.square().reshape(m, d, m, d).sum(3, false).sum(1, false);          // [M, M]: ||C_rs||_F^2
        float[] eye = new float[m * m], offDiagonal = new float[m * m];
        for (int r = 0; r < m; r++) for (int s = 0; s < m; s++) (r == s ? eye : offDiagonal)[r * m + s] = 1f;
        Variable self = blocks.mul(Variable.constant(Tensor.of(e.device(), eye, m, m))).sum(1, true);   // [M, 1]: ||C_rr||_F^2
        Variable rv = blocks.mul(self.matmul(self.transpose(0, 1)).add(NORM_EPS).rsqrt());
        return rv.mul(Variable.constant(Tensor.of(e.device(), offDiagonal, m, m))).sumAll().div((double) m * (m - 1));
    }

    /** {@link #expertRedundancy} of the current experts on items 1..N of a feature table (mean over chunks of up to 4,096 items). */
    public double expertRedundancy(float[][] features) {
        int n = features.length - 1;
        double total = 0;
        int chunks = 0;
        for (int start = 1; start <= n; start += INFERENCE_CHUNK) {
            int end = Math.min(n + 1, start + INFERENCE_CHUNK);
            float[] flat = new float[(end - start) * featureDim];
            for (int i = start; i < end; i++) {
                if (features[i] == null || features[i].length != featureDim) {
                    throw new IllegalArgumentException("MpqTokenizer.expertRedundancy: item " + i + " must have " + featureDim + " features");
                }
                System.arraycopy(features[i], 0, flat, (i - start) * featureDim, featureDim);
            }
            try (Scope scope = Scope.open(); NoGrad ignored = NoGrad.enter()) {
                total += expertRedundancy(net.experts.forward(Variable.constant(Tensor.of(config.device(), flat, end - start, featureDim)))).item();
            }
            chunks++;
        }
        return total / chunks;
    }

    @Override
    long[][] encode(Tensor batch) {
        Tensor latents = net.experts.forward(Variable.constant(batch)).data();
        long[] flat = net.codebooks.nearest(latents).toLongArray();
        int b = batch.size(0);
        long[][] out = new long[config.numCodebooks()][];
        for (int r = 0; r < out.length; r++) out[r] = Arrays.copyOfRange(flat, r * b, (r + 1) * b);
        return out;
    }

    @Override
    Tensor codewordDistances(Tensor batch) {
        return net.codebooks.distances(net.experts.forward(Variable.constant(batch)).data());
    }

    /** Parallel codebooks: any one may change without touching the others. */
    @Override
    boolean[] adjustableCodebooks() {
        boolean[] all = new boolean[config.numCodebooks()];
        Arrays.fill(all, true);
        return all;
    }

    @Override
    Tensor reconstruct(Tensor batch) {
        Variable x = Variable.constant(batch);
        Tensor latents = net.experts.forward(x).data();
        Variable z = net.codebooks.select(net.codebooks.nearest(latents));
        return net.decoder.forward(z.mul(gateWeights(x)).sum(0, false)).data();
    }

    @Override
    double orthLoss() {
        return orthogonalityLoss(net.experts.firstLayerWeights()).item();
    }

    Network net() { return net; }
}

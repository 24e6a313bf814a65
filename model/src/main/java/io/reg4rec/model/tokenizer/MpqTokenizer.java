package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.Variable;
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
 * </pre>
 * z^r enters q through a straight-through estimator (forward value z^r, gradient passed to e^r),
 * so the experts learn from the reconstruction, the gate through its weights h^r, and the
 * codewords from the codebook term. W̄ is the column-wise L2-normalised concatenation of the
 * experts' first-layer projection matrices W_r [F, h] (one column per hidden unit). Codebooks are
 * initialised by k-means++ on expert outputs and dead codewords re-seeded ({@link Codebooks}).
 * Tokens are unordered: an item is the set {(r, c_r)}.
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

package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.Init;
import io.reg4rec.model.nn.Module;

import java.util.ArrayList;
import java.util.List;

/**
 * RQ-VAE (residual quantization, as in TIGER), the tokenizer of the "w/o MPQ" ablation and of
 * the TIGER baseline: one encoder MLP F -> d_c, M levels of D codewords each, a decoder MLP.
 *
 * <pre>
 *   e = E(v);  r_1 = e;  c_l = argmin_j ||r_l - z^l_j||;  r_{l+1} = r_l - z^l_{c_l}
 *   q = sum_l z^l_{c_l}  (straight-through to e);  L = ||v - dec(q)||^2
 *       + sum_l ( ||sg(r_l) - z^l||^2 + beta ||r_l - sg(z^l)||^2 )
 * </pre>
 * The residual r_l carries gradient to the encoder only (earlier levels' codewords are held
 * constant in it). Tokens are ordered: token l is meaningful after tokens 1..l-1. Codebooks are
 * initialised level by level by k-means++ on the sample's residuals, and a dead codeword of level
 * l is re-seeded to a batch residual of level l.
 */
public final class RqVaeTokenizer extends VqTokenizer {
    public static final String KIND = "rqvae";

    /** Parameter names (checkpoint keys): encoder.l0.., codebooks.codewords, decoder.l0... */
    static final class Network extends Module {
        final Mlp encoder;
        final Codebooks codebooks;
        final Mlp decoder;

        Network(TokenizerConfig c, int features) {
            long seed = c.seed();
            encoder = registerModule("encoder", new Mlp(c.device(), Mlp.widths(features, c.encoderHidden(), c.codeDim()), Init.childSeed(seed, 0)));
            codebooks = registerModule("codebooks", new Codebooks(c.device(), c.numCodebooks(), c.codebookSize(), c.codeDim(), Init.childSeed(seed, 2)));
            decoder = registerModule("decoder", new Mlp(c.device(), Mlp.widths(c.codeDim(), c.decoderHidden(), features), Init.childSeed(seed, 3)));
        }
    }

    private final Network net;

    public RqVaeTokenizer(TokenizerConfig config, int featureDim) {
        super(config, featureDim);
        this.net = new Network(config, featureDim);
    }

    @Override
    public String kind() { return KIND; }

    @Override
    public boolean orderedTokens() { return true; }

    @Override
    Module network() { return net; }

    @Override
    Codebooks codebooks() { return net.codebooks; }

    @Override
    void initialiseCodebooks(Tensor sample, long seed) {
        Tensor residual = net.encoder.forward(Variable.constant(sample)).data();
        for (int l = 0; l < config.numCodebooks(); l++) {
            net.codebooks.initialiseKMeans(l, MpqTokenizer.rowsOf(residual), Init.childSeed(seed, l), config.kmeansIterations());
            Tensor picked = net.codebooks.selectInGroup(l, net.codebooks.nearestInGroup(l, residual)).data();
            residual = residual.sub(picked);
        }
    }

    @Override
    StepLosses trainingLosses(Variable x) {
        int b = x.size(0), m = config.numCodebooks();
        Variable e = net.encoder.forward(x);                                        // [B, d_c]
        Tensor quantised = Tensor.zeros(x.device(), DType.F32, b, config.codeDim());
        Tensor residual = e.data();
        Variable vq = null;
        long[][] tokens = new long[m][];
        List<Tensor> candidates = new ArrayList<>();
        for (int l = 0; l < m; l++) {
            candidates.add(residual);
            Tensor idx = net.codebooks.nearestInGroup(l, residual);
            tokens[l] = idx.toLongArray();
            Variable z = net.codebooks.selectInGroup(l, idx);                       // [B, d_c]
            Variable r = e.sub(Variable.constant(quantised));                       // r_l, gradient to the encoder only
            Variable level = z.sub(r.detach()).square().sumAll().add(r.sub(z.detach()).square().sumAll().mul(config.beta()));
            vq = vq == null ? level : vq.add(level);
            quantised = quantised.add(z.data());
            residual = e.data().sub(quantised);
        }
        vq = vq.div(b);
        Variable q = e.add(Variable.constant(quantised.sub(e.data())));             // value sum_l z^l, gradient to e
        Variable recon = net.decoder.forward(q).sub(x).square().sumAll().div(b);
        return new StepLosses(recon.add(vq), recon, null, vq, tokens, candidates);
    }

    @Override
    long[][] encode(Tensor batch) {
        long[][] tokens = new long[config.numCodebooks()][];
        quantise(batch, tokens);
        return tokens;
    }

    /** The sum of the picked codewords over all levels, [B, d_c]; fills tokens[l] when given. */
    private Tensor quantise(Tensor batch, long[][] tokens) {
        Tensor residual = net.encoder.forward(Variable.constant(batch)).data();
        Tensor quantised = Tensor.zeros(batch.device(), DType.F32, batch.size(0), config.codeDim());
        for (int l = 0; l < config.numCodebooks(); l++) {
            Tensor idx = net.codebooks.nearestInGroup(l, residual);
            if (tokens != null) tokens[l] = idx.toLongArray();
            Tensor z = net.codebooks.selectInGroup(l, idx).data();
            quantised = quantised.add(z);
            residual = residual.sub(z);
        }
        return quantised;
    }

    /** Level l's distances are those of the residual left by the nearest codewords of levels 1..l-1. */
    @Override
    Tensor codewordDistances(Tensor batch) {
        Tensor residual = net.encoder.forward(Variable.constant(batch)).data();
        Variable[] levels = new Variable[config.numCodebooks()];
        for (int l = 0; l < levels.length; l++) {
            levels[l] = Variable.constant(net.codebooks.distancesInGroup(l, residual).unsqueeze(0));
            residual = residual.sub(net.codebooks.selectInGroup(l, net.codebooks.nearestInGroup(l, residual)).data());
        }
        return Variable.concat(0, levels).data();
    }

    /** Only the last level: changing an earlier one would change every later level's residual. */
    @Override
    boolean[] adjustableCodebooks() {
        boolean[] last = new boolean[config.numCodebooks()];
        last[last.length - 1] = true;
        return last;
    }

    @Override
    Tensor reconstruct(Tensor batch) {
        return net.decoder.forward(Variable.constant(quantise(batch, null))).data();
    }

    @Override
    double orthLoss() { return Double.NaN; }

    Network net() { return net; }
}

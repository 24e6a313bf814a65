package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

/**
 * A pre-norm encoder-decoder transformer over token ids: learned token and position embeddings
 * for source and target, an encoder stack, a decoder stack (causal self-attention plus
 * cross-attention) and a linear head to target-vocabulary logits.
 *
 * <p>A source position may hold one token ([batch, len]) or a set of tokens
 * ([batch, len, tokensPerPosition], embedded as the sum of its tokens' embeddings, as a history
 * item made of several codebook tokens is).
 */
public final class EncoderDecoderTransformer extends Module {
    private final TransformerConfig config;
    private final Embedding sourceTokens;
    private final Embedding sourcePositions;
    private final Embedding targetTokens;
    private final Embedding targetPositions;
    private final Dropout embeddingDropout;
    private final TransformerEncoder encoder;
    private final TransformerDecoder decoder;
    private final Linear head;

    public EncoderDecoderTransformer(Device device, TransformerConfig config, int sourceVocabulary, int targetVocabulary,
                                     int maxSourceLength, int maxTargetLength, int encoderLayers, int decoderLayers, long seed) {
        this.config = config;
        int d = config.dModel();
        double embeddingStd = 1.0 / Math.sqrt(d);
        this.sourceTokens = registerModule("source_tokens", new Embedding(device, sourceVocabulary, d, embeddingStd, Init.childSeed(seed, 0)));
        this.sourcePositions = registerModule("source_positions", new Embedding(device, maxSourceLength, d, embeddingStd, Init.childSeed(seed, 1)));
        this.targetTokens = registerModule("target_tokens", new Embedding(device, targetVocabulary, d, embeddingStd, Init.childSeed(seed, 2)));
        this.targetPositions = registerModule("target_positions", new Embedding(device, maxTargetLength, d, embeddingStd, Init.childSeed(seed, 3)));
        this.embeddingDropout = registerModule("dropout", new Dropout(config.dropout(), Init.childSeed(seed, 4)));
        this.encoder = registerModule("encoder", new TransformerEncoder(device, config, encoderLayers, Init.childSeed(seed, 5)));
        this.decoder = registerModule("decoder", new TransformerDecoder(device, config, decoderLayers, Init.childSeed(seed, 6)));
        this.head = registerModule("head", new Linear(device, d, targetVocabulary, true, Init.childSeed(seed, 7)));
    }

    /** The encoder's output [batch, len, d] for source [batch, len] or [batch, len, k]; padding [batch, len] or null. */
    public Variable encode(Tensor source, Tensor sourcePadding) {
        if (source.rank() != 2 && source.rank() != 3) throw new IllegalArgumentException("encode: source must be [batch, len] or [batch, len, k], got " + source.describe());
        Variable tokens = sourceTokens.forward(source);
        if (source.rank() == 3) tokens = tokens.sum(2, false);
        return encoder.forward(embeddingDropout.forward(addPositions(tokens, sourcePositions)), sourcePadding);
    }

    /** Logits [batch, tq, targetVocabulary] for decoder input [batch, tq] over the encoder's memory. */
    public Variable decode(Tensor targetInput, Tensor targetPadding, Variable memory, Tensor memoryPadding) {
        if (targetInput.rank() != 2) throw new IllegalArgumentException("decode: target input must be [batch, len], got " + targetInput.describe());
        Variable x = embeddingDropout.forward(addPositions(targetTokens.forward(targetInput), targetPositions));
        return head.forward(decoder.forward(x, targetPadding, memory, memoryPadding));
    }

    /** encode then decode: logits [batch, tq, targetVocabulary]. */
    public Variable forward(Tensor source, Tensor sourcePadding, Tensor targetInput, Tensor targetPadding) {
        return decode(targetInput, targetPadding, encode(source, sourcePadding), sourcePadding);
    }

    private static Variable addPositions(Variable tokens, Embedding positions) {
        int len = tokens.size(1);
        if (len > positions.count()) throw new IllegalArgumentException("sequence of length " + len + " exceeds the " + positions.count() + " learned positions");
        // all positions in use: add the table itself (a broadcast add; its gradient one reduction),
        // no index upload, gather or scatter
        if (len == positions.count()) return tokens.add(positions.weight());
        try (Tensor index = Tensor.arange(tokens.device(), len)) {
            return tokens.add(positions.forward(index));
        }
    }

    public TransformerConfig config() { return config; }
}

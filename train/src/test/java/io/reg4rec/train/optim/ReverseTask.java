package io.reg4rec.train.optim;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.CrossEntropy;
import io.reg4rec.model.nn.EncoderDecoderTransformer;
import io.reg4rec.model.nn.TransformerConfig;

import java.util.SplittableRandom;

/**
 * A synthetic sequence task for training tests: the decoder must output the source digits in
 * reverse order. Tokens: 0 = padding, 1 = BOS, 2..11 = digits 0..9.
 */
final class ReverseTask {
    static final int BOS = 1;
    static final int DIGITS = 10;
    static final int VOCABULARY = 2 + DIGITS;

    final int length;

    ReverseTask(int length) {
        this.length = length;
    }

    /** A batch: source [b, len], decoder input [b, len] (BOS + reversed prefix) and labels [b, len] (reversed source). */
    record Batch(Tensor source, Tensor decoderInput, Tensor labels, long[] labelValues) {}

    /** Random sequences drawn from seed; the tensors belong to the caller's scope. */
    Batch batch(Device device, long seed, int size) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] src = new long[size * length], in = new long[size * length], out = new long[size * length];
        for (int b = 0; b < size; b++) {
            for (int i = 0; i < length; i++) src[b * length + i] = 2 + random.nextInt(DIGITS);
            for (int i = 0; i < length; i++) {
                out[b * length + i] = src[b * length + length - 1 - i];
                in[b * length + i] = i == 0 ? BOS : out[b * length + i - 1];
            }
        }
        return new Batch(Tensor.of(device, src, size, length), Tensor.of(device, in, size, length), Tensor.of(device, out, size, length), out);
    }

    EncoderDecoderTransformer model(Device device, long seed) {
        return model(device, seed, 0.0);
    }

    /** Width 32, 2 heads, feed-forward 64, one encoder and one decoder layer. */
    EncoderDecoderTransformer model(Device device, long seed, double dropout) {
        TransformerConfig config = new TransformerConfig(32, 2, 64, dropout);
        return new EncoderDecoderTransformer(device, config, VOCABULARY, VOCABULARY, length, length, 1, 1, seed);
    }

    /** One training step (forward, backward, clipping, AdamW); returns the loss. */
    static double trainStep(EncoderDecoderTransformer model, AdamW optimizer, Batch batch, double lr, double labelSmoothing) {
        try (Scope scope = Scope.open()) {
            Variable logits = model.forward(batch.source(), null, batch.decoderInput(), null);
            Variable loss = CrossEntropy.loss(logits, batch.labels(), CrossEntropy.IGNORE, labelSmoothing);
            loss.backward();
            double value = loss.item();
            GradClip.clipGlobalNorm(model.parameters(), 1.0);
            optimizer.step(lr);
            model.zeroGrad();
            return value;
        }
    }

    /** Token accuracy of greedy autoregressive decoding (no teacher forcing) on fresh sequences. */
    double greedyAccuracy(EncoderDecoderTransformer model, Device device, long seed, int size) {
        boolean wasTraining = model.isTraining();
        model.eval();
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            Batch batch = batch(device, seed, size);
            Variable memory = model.encode(batch.source(), null);
            long[] decoded = new long[size * length];
            for (int t = 0; t < length; t++) {
                long[] prefix = new long[size * (t + 1)];
                for (int b = 0; b < size; b++) {
                    prefix[b * (t + 1)] = BOS;
                    for (int i = 1; i <= t; i++) prefix[b * (t + 1) + i] = decoded[b * length + i - 1];
                }
                try (Scope step = Scope.open()) {
                    Variable logits = model.decode(Tensor.of(device, prefix, size, t + 1), null, memory, null);
                    long[] next = logits.data().select(1, t).argmax(1, false).toLongArray();
                    for (int b = 0; b < size; b++) decoded[b * length + t] = next[b];
                }
            }
            int correct = 0;
            for (int i = 0; i < decoded.length; i++) if (decoded[i] == batch.labelValues()[i]) correct++;
            return (double) correct / decoded.length;
        } finally {
            model.setTraining(wasTraining);
        }
    }
}

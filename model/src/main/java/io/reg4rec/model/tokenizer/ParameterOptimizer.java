package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.Variable;

import java.util.Map;

/**
 * The one thing the tokenizer training loop needs from an optimizer: apply the gradients
 * accumulated on the parameters with a learning rate. The loop clears the gradients itself.
 *
 * <p>The model module cannot depend on the train module's {@code AdamW}, so the loop takes a
 * {@link Factory}; {@link TokenizerAdam#factory()} is the default, and a launcher in the train
 * module can pass {@code params -> { AdamW a = new AdamW(params, options); return wrap(a) }}.
 */
public interface ParameterOptimizer extends AutoCloseable {
    /** One update from the current gradients. */
    void step(double learningRate);

    /** Releases optimizer state (never the parameters). */
    @Override
    default void close() {}

    /** Builds an optimizer over named trainable leaves (a module's {@code namedParameters()}). */
    @FunctionalInterface
    interface Factory {
        ParameterOptimizer create(Map<String, Variable> parameters);
    }
}

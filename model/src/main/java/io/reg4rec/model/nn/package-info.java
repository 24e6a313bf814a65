/**
 * Neural-network layers composed from {@link io.reg4rec.autograd.Variable} ops, so they run on
 * every backend: {@link io.reg4rec.model.nn.Module} (named parameter tree, train/eval mode,
 * close), {@link io.reg4rec.model.nn.Linear}, {@link io.reg4rec.model.nn.Embedding},
 * {@link io.reg4rec.model.nn.LayerNorm}, {@link io.reg4rec.model.nn.Dropout} (counter-seeded
 * masks), {@link io.reg4rec.model.nn.MultiHeadAttention}, pre-norm transformer encoder and
 * decoder layers and stacks, {@link io.reg4rec.model.nn.EncoderDecoderTransformer} and
 * {@link io.reg4rec.model.nn.CrossEntropy} (ignored labels, label smoothing).
 *
 * <p>A training step, with the model and optimizer created once outside any scope:
 * <pre>{@code
 * try (Scope step = Scope.open()) {
 *     Variable logits = model.forward(source, sourcePadding, decoderInput, null);
 *     Variable loss = CrossEntropy.loss(logits, labels, CrossEntropy.IGNORE, 0.1);
 *     loss.backward();
 *     GradClip.clipGlobalNorm(model.parameters(), 1.0);
 *     optimizer.step(schedule.lr(stepIndex));
 *     model.zeroGrad();
 * }
 * }</pre>
 * Seeds: every module takes a seed and derives its members' seeds with
 * {@link io.reg4rec.model.nn.Init#childSeed}; the same seeds give the same weights and dropout
 * masks on the CPU and on CUDA.
 */
package io.reg4rec.model.nn;

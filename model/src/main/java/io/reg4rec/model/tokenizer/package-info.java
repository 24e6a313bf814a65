/**
 * Item tokenizers: {@link io.reg4rec.model.tokenizer.MpqTokenizer} (REG4Rec's MoE parallel
 * quantization codebooks, unordered tokens) and {@link io.reg4rec.model.tokenizer.RqVaeTokenizer}
 * (the residual-quantization baseline, ordered tokens), both behind
 * {@link io.reg4rec.model.tokenizer.Tokenizer}.
 *
 * <pre>{@code
 * try (Tokenizer t = new MpqTokenizer(TokenizerConfig.defaults(), features[1].length)) {
 *     TokenizerReport report = t.train(features, ProgressListener.NONE);   // features[0] is padding
 *     int[][] tokens = t.tokenize(features);                                // tokens[0] is all -1
 *     t.save(dir.resolve("mpq.safetensors"));
 *     TokenFiles.write(dir.resolve("tokens.txt"), tokens);
 * }
 * }</pre>
 * Training runs on the engine's autograd with a pluggable optimizer
 * ({@link io.reg4rec.model.tokenizer.ParameterOptimizer}); the default is
 * {@link io.reg4rec.model.tokenizer.TokenizerAdam}. On the CPU, a seed gives the same weights
 * and tokens on every run.
 */
package io.reg4rec.model.tokenizer;

/**
 * The recommenders built on the layers of {@link io.reg4rec.model.nn}: the REG4Rec generative
 * model ({@link io.reg4rec.model.rec.Reg4RecModel}: history encoder, decoder emitting one
 * (codebook, token) pair per step, token and category heads, the pre-training loss over a given
 * decoding order), decoding orders for training ({@link io.reg4rec.model.rec.DecodingOrders}),
 * CRSS greedy and beam decoding with merging of token sets reached in different orders
 * ({@link io.reg4rec.model.rec.CrssDecoder}), relaxed retrieval of items from generated token
 * sets ({@link io.reg4rec.model.rec.RelaxedRetrieval}), and the baselines: TIGER's fixed-order,
 * prefix-constrained decoding on the same body ({@link io.reg4rec.model.rec.Tiger},
 * {@link io.reg4rec.model.rec.TokenTrie}) and SASRec ({@link io.reg4rec.model.rec.SasRec}).
 *
 * <p>A pre-training step (optimizer and schedule from the train module):
 * <pre>{@code
 * try (Scope step = Scope.open()) {
 *     int[][] orders = DecodingOrders.random(batch, M, rng);
 *     Reg4RecModel.PretrainLoss loss = model.loss(histories, targets, orders);
 *     loss.total().backward();
 *     optimizer.step(lr);
 *     model.zeroGrad();
 * }
 * }</pre>
 * Inference: {@code model.eval()}, then {@code new CrssDecoder(model).beamSearch(histories, B)}
 * and {@code retrieval.rankPaths(beams.get(u), d, K)} per user.
 */
package io.reg4rec.model.rec;

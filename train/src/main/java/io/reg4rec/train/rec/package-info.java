/**
 * Training and evaluation of the recommenders: one generic {@link io.reg4rec.train.rec.TrainingLoop}
 * (shuffled length-bucketed batches, AdamW with warm-up + cosine, gradient clipping, validation
 * R@5/N@5/R@10/N@10 after each epoch, early stopping on NDCG@10, atomic checkpoints with exact
 * resume, JSON lines) over a {@link io.reg4rec.train.rec.RecTask} per model:
 * {@link io.reg4rec.train.rec.Reg4RecTrainer} (L_token + L_cate, random and confidence decoding
 * orders), {@link io.reg4rec.train.rec.TigerTrainer} and {@link io.reg4rec.train.rec.SasRecTrainer}.
 * Ranking goes through {@link io.reg4rec.train.rec.Ranker}s ({@link io.reg4rec.train.rec.Reg4RecEvaluator}:
 * CRSS beam search + relaxed retrieval) scored by {@link io.reg4rec.train.rec.RankingEvaluation}.
 * {@link io.reg4rec.train.rec.RecPipeline} strings the steps together for the launchers.
 *
 * <pre>{@code
 * LeaveOneOut split = LeaveOneOut.split(dataset);
 * try (Reg4RecModel model = new Reg4RecModel(device, config, catalog, seed)) {
 *     RecTask task = new Reg4RecTrainer(model, split, Reg4RecTrainer.Options.defaults(), Catalogs.trainingPopularity(split));
 *     TrainingLoop.Result r = new TrainingLoop(task, split, TrainConfig.defaults(), outDir, System.err, true).run(null);
 *     RankingEvaluation.Result test = RecPipeline.test(task.ranker(), model, split, 50, 256, false);
 * }
 * }</pre>
 */
package io.reg4rec.train.rec;

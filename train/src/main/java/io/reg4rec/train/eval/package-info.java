/**
 * Evaluation: {@link io.reg4rec.train.eval.RankingMetrics} (Recall@K and NDCG@K over full rankings,
 * averaged over users, one accumulator per split) and helpers to rank all items from a score vector.
 */
package io.reg4rec.train.eval;

package io.reg4rec.train.rec;

/** Ranks items for histories: the evaluation side of a recommender. */
@FunctionalInterface
public interface Ranker {
    /**
     * The topK best items (ids 1..numItems, best first; a list may be shorter when the model
     * retrieves fewer) for each history (item ids, oldest first). Called with the model in eval
     * mode; must not change model state.
     */
    int[][] rank(int[][] histories, int topK);
}

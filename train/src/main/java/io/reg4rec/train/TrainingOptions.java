package io.reg4rec.train;

import io.reg4rec.train.features.FeatureConfig;
import io.reg4rec.train.rec.Reg4RecTrainer;
import io.reg4rec.train.rec.RunSettings;
import io.reg4rec.train.rec.TrainConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * Options of the launchers that train (pipeline, pretrain). Sizes left unset take the preset of
 * the data: the paper's sizes for --data, the small preset for the embedded synthetic dataset
 * ({@link RunSettings#paper()}, {@link RunSettings#small()}).
 */
final class TrainingOptions {
    @Option(names = "--data", paramLabel = "DIR",
            description = "dataset in the S3Rec layout (sequences.txt, item_attributes.json, optional items.tsv); absent: the embedded synthetic "
                    + "dataset (2,000 users, 1,000 items)")
    Path data;

    @Option(names = "--device", paramLabel = "DEVICE",
            description = "auto, cpu, cuda or cuda:N (default: -Dreg4rec.device, else REG4REC_DEVICE, else auto: cuda:0 when usable, else cpu)")
    String device;

    @Option(names = "--seed", defaultValue = "42", description = "seeds features, tokenizer, weights, data and decoding orders (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--epochs", paramLabel = "N", description = "most training epochs (default: 30 with --data, 5 synthetic)")
    Integer epochs;

    @Option(names = "--patience", paramLabel = "N", description = "stop after N epochs without a better validation NDCG@10, 0 = never (default: 5 with --data, 2 synthetic)")
    Integer patience;

    @Option(names = "--batch-size", paramLabel = "B", description = "training examples per step (default: 256)")
    Integer batchSize;

    @Option(names = "--lr", paramLabel = "LR", description = "peak AdamW learning rate, 5%% linear warm-up then cosine to 5%% (default: 1e-3)")
    Double learningRate;

    @Option(names = "--weight-decay", paramLabel = "WD", description = "AdamW decoupled weight decay on matrices (default: 0.01)")
    Double weightDecay;

    @Option(names = {"-M", "--codebooks"}, paramLabel = "M", description = "codebooks = tokens per item (default: 8 with --data, 4 synthetic)")
    Integer codebooks;

    @Option(names = {"-D", "--codewords"}, paramLabel = "D", description = "codewords per codebook (default: 300 with --data, 64 synthetic)")
    Integer codewords;

    @Option(names = "--width", paramLabel = "W", description = "model width (default: 128 with --data, 64 synthetic)")
    Integer width;

    @Option(names = "--ffn", paramLabel = "F", description = "feed-forward width (default: 640 with --data, 256 synthetic)")
    Integer ffn;

    @Option(names = "--heads", paramLabel = "H", description = "attention heads (default: 4 with --data, 2 synthetic)")
    Integer heads;

    @Option(names = "--encoder-layers", paramLabel = "N", description = "encoder layers of REG4Rec and TIGER (default: 1, the paper's)")
    Integer encoderLayers;

    @Option(names = "--decoder-layers", paramLabel = "N", description = "decoder layers of REG4Rec and TIGER (default: 2, the paper's)")
    Integer decoderLayers;

    @Option(names = "--dropout", paramLabel = "P", description = "dropout of REG4Rec and TIGER (default: 0.1)")
    Double dropout;

    @Option(names = "--sasrec-dropout", paramLabel = "P", description = "dropout of the SASRec baseline (default: 0.2)")
    Double sasrecDropout;

    @Option(names = "--tokenizer-epochs", paramLabel = "N", description = "tokenizer passes over the items (default: 100 with --data, 30 synthetic)")
    Integer tokenizerEpochs;

    @Option(names = "--beam", paramLabel = "B", description = "CRSS beam width at validation and test (default: 20)")
    Integer beam;

    @Option(names = "--mismatches", paramLabel = "d", description = "relaxed retrieval: tokens a retrieved item may differ in (default: 1)")
    Integer mismatches;

    @Option(names = "--sasrec-epochs", paramLabel = "N",
            description = "most epochs of SASRec (baseline or --sasrec-features), which learns far less per epoch than the generative models "
                    + "(one unit per user); early stopping applies (default: 8 x --epochs)")
    Integer sasrecEpochs;

    @Option(names = "--sasrec-features", paramLabel = "MODE",
            description = "train SASRec on the training parts first and use its item embeddings (OUT/sasrec-items.safetensors) as item features "
                    + "for the MPQ tokenizer: APPEND (one more block beside text, attributes and co-occurrence) or REPLACE (alone); default: off")
    FeatureConfig.EmbeddingMode sasrecFeatures;

    @Option(names = "--transition-features", paramLabel = "N", defaultValue = "0",
            description = "append an N-column block (even) of training transitions to the tokenizer's item features: what follows and what "
                    + "precedes each item (PMI, randomized SVD); 0 = off (default: ${DEFAULT-VALUE})")
    int transitionFeatures;

    @Option(names = "--set-loss", description = "REG4Rec's token loss counts every not yet decoded pair of the target's set as right at each step "
            + "(order-free), instead of Eq. 6's cross-entropy of the order's next pair (default: off)")
    boolean setLoss;

    @Option(names = "--catalog-loss", paramLabel = "W",
            description = "add W x a full softmax over the catalog's items at REG4Rec's first step (an item scored by the sum of its M pairs' "
                    + "logits), beside L_token + L_cate; 0 = off (default: 0)")
    Double catalogLoss;

    @Option(names = "--catalog-beams", description = "beam search extends token sets only towards catalog items (every beam ends on an item), "
            + "instead of free CRSS beams mapped to items by relaxed retrieval alone (default: off)")
    boolean catalogBeams;

    @Option(names = "--history-ids", description = "a history item's input is its token embeddings plus a learned item-id embedding (one row per item), "
            + "in REG4Rec and TIGER; run.json keeps it for evaluate and recommend (default: off, tokens only)")
    boolean historyIds;

    @Option(names = "--confidence-share", paramLabel = "S",
            description = "share of each batch trained in the model's own confidence order after the random-order epochs, the rest in random orders (default: 0.5)")
    Double confidenceShare;

    @Option(names = "--random-order-epochs", paramLabel = "N", description = "first epochs trained in random decoding orders only (default: 1)")
    Integer randomOrderEpochs;

    @Option(names = "--val-users", paramLabel = "N", description = "validate on the first N users only, 0 = all (default: all with --data, 500 synthetic; test always uses all)")
    Integer validationUsers;

    @Option(names = "--eval-batch", paramLabel = "U", description = "users per ranking batch (default: 256)")
    Integer evalBatch;

    @Option(names = "--no-progress", description = "no progress bars on stderr (epoch lines and results still come)")
    boolean noProgress;

    /** The item features of the tokenizer: the defaults with this run's seed and transition block. */
    FeatureConfig featureConfig() {
        try {
            return FeatureConfig.defaults().withSeed(seed).withTransitions(transitionFeatures, 1f);
        } catch (IllegalArgumentException e) {
            throw new LauncherSupport.UsageException("--transition-features: " + e.getMessage());
        }
    }

    /** The preset of the data with every option given here applied. */
    RunSettings settings() {
        RunSettings s = data == null ? RunSettings.small() : RunSettings.paper();
        featureConfig();   // a bad --transition-features is a usage error before any work
        try {
            s = s.withCodebooks(codebooks != null ? codebooks : s.codebooks(), codewords != null ? codewords : s.codewords())
                    .withWidths(width != null ? width : s.dModel(), heads != null ? heads : s.heads(), ffn != null ? ffn : s.dFeedForward());
            if (sasrecEpochs != null && sasrecEpochs < 0) throw new IllegalArgumentException("--sasrec-epochs must be >= 0, got " + sasrecEpochs);
            s = s.withLayers(encoderLayers != null ? encoderLayers : s.encoderLayers(), decoderLayers != null ? decoderLayers : s.decoderLayers());
            if (tokenizerEpochs != null) s = s.withTokenizerEpochs(tokenizerEpochs);
            if (dropout != null) s = s.withDropout(dropout);
            if (sasrecDropout != null) s = s.withSasrecDropout(sasrecDropout);
            if (historyIds) s = s.withHistoryItemIds(true);
            TrainConfig t = s.train().withSeed(seed);
            if (epochs != null) t = t.withEpochs(epochs);
            if (patience != null) t = t.withPatience(patience);
            if (batchSize != null) t = t.withBatchSize(batchSize);
            if (learningRate != null) t = t.withLearningRate(learningRate);
            if (weightDecay != null) t = t.withWeightDecay(weightDecay);
            if (validationUsers != null) t = t.withValidationUsers(validationUsers);
            if (evalBatch != null) t = t.withEvalBatch(evalBatch);
            Reg4RecTrainer.Options o = s.reg4rec();
            o = o.withBeam(beam != null ? beam : o.beamWidth(), mismatches != null ? mismatches : o.maxMismatches())
                    .withOrders(randomOrderEpochs != null ? randomOrderEpochs : o.randomOnlyEpochs(), confidenceShare != null ? confidenceShare : o.confidenceShare());
            if (catalogBeams) o = o.withCatalogBeams(true);
            if (setLoss) o = o.withSetTokenLoss(true);
            if (catalogLoss != null) o = o.withCatalogLoss(catalogLoss);
            return s.withTrain(t).withReg4rec(o);
        } catch (IllegalArgumentException e) {
            throw new LauncherSupport.UsageException(e.getMessage());
        }
    }
}

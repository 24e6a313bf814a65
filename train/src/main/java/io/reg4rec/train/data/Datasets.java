package io.reg4rec.train.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Dataset loaders and the synthetic generator.
 *
 * <p>Every loader validates the whole input before returning; any problem raises
 * {@link DataFileException} naming the file and line. Nothing is returned half-loaded.
 */
public final class Datasets {
    /** Header of items.tsv, as data/README.md specifies it. */
    static final String ITEMS_TSV_HEADER = "item_id\tasin\tcategory\tattributes\ttext_idgenrec\ttokens_gram";
    /** The k of the k-core filter of {@link #loadAmazonRaw}. */
    public static final int CORE = 5;

    /** Strict JSON for S3Rec files; lenient (single quotes, as Python's str(dict)) for raw Amazon meta lines. */
    private static final JsonFactory STRICT_JSON = JsonFactory.builder().build();
    private static final ObjectMapper STRICT_MAPPER = new ObjectMapper(STRICT_JSON);
    private static final ObjectMapper LENIENT_JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
            .enable(JsonReadFeature.ALLOW_BACKSLASH_ESCAPING_ANY_CHARACTER)
            .build();

    private Datasets() {}

    // ------------------------------------------------------------------ S3Rec layout

    /**
     * Loads the S3Rec layout of data/README.md from dir: sequences.txt and item_attributes.json
     * (required) and items.tsv (optional). Without items.tsv the category labels are derived
     * from the attributes by {@link CategoryLabels} and the item text is empty. The dataset is
     * named after the directory.
     *
     * <p>Checked: user ids 1..U each on exactly one line, every line a user id followed by at
     * least one item id, integers only, item ids >= 1 (numItems = the largest); attribute keys
     * must be known items, attribute ids >= 1; items.tsv must have the header, 6 tab-separated
     * fields per row, each item exactly once, and attribute lists equal to item_attributes.json.
     */
    public static Dataset loadS3Rec(Path dir) {
        Path seqFile = dir.resolve("sequences.txt");
        int[][] sequences = readSequences(seqFile);
        int numItems = 0;
        for (int[] s : sequences) for (int item : s) numItems = Math.max(numItems, item);
        Path attrFile = dir.resolve("item_attributes.json");
        int[][] attributes = readItemAttributes(attrFile, numItems);
        int numAttributes = 0;
        for (int[] a : attributes) for (int id : a) numAttributes = Math.max(numAttributes, id);
        Path itemsFile = dir.resolve("items.tsv");
        int[] category;
        String[] text = null, tokens = null;
        if (Files.exists(itemsFile)) {
            ItemsTable table = readItemsTsv(itemsFile, numItems, attributes);
            category = table.category;
            text = table.text;
            tokens = table.tokens;
        } else {
            category = CategoryLabels.derive(attributes, numItems, numAttributes);
        }
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return Dataset.of(name == null ? "dataset" : name.toString(), numItems, sequences, category, attributes,
                numAttributes, text, tokens);
    }

    /** sequences.txt: "user_id item_id item_id ..." per line; blank lines are skipped. */
    static int[][] readSequences(Path file) {
        Map<Integer, int[]> byUser = new HashMap<>();
        Map<Integer, Long> lineOfUser = new HashMap<>();
        int maxUser = 0;
        try (LineSource lines = LineSource.open(file)) {
            String line;
            while ((line = lines.next()) != null) {
                String trimmed = line.strip();
                if (trimmed.isEmpty()) continue;
                String[] fields = trimmed.split("\\s+");
                if (fields.length < 2) throw lines.error("expected a user id followed by at least one item id, got \"" + abbreviate(trimmed) + "\"");
                int user = parseId(lines, fields[0], "user id");
                Long previous = lineOfUser.putIfAbsent(user, lines.lineNumber());
                if (previous != null) throw lines.error("duplicate line for user " + user + " (first on line " + previous + ")");
                int[] items = new int[fields.length - 1];
                for (int f = 1; f < fields.length; f++) items[f - 1] = parseId(lines, fields[f], "item id");
                byUser.put(user, items);
                maxUser = Math.max(maxUser, user);
            }
        }
        if (byUser.isEmpty()) throw new DataFileException(file, 0, "no users");
        if (byUser.size() != maxUser) {
            int missing = 1;
            while (byUser.containsKey(missing)) missing++;
            throw new DataFileException(file, 0, "user ids must be 1.." + maxUser + " without gaps; user " + missing + " is missing");
        }
        int[][] sequences = new int[maxUser][];
        for (var e : byUser.entrySet()) sequences[e.getKey() - 1] = e.getValue();
        return sequences;
    }

    private static int parseId(LineSource lines, String field, String what) {
        int v;
        try {
            v = Integer.parseInt(field);
        } catch (NumberFormatException e) {
            throw lines.error("bad " + what + " \"" + abbreviate(field) + "\" (not an integer)");
        }
        if (v < 1) throw lines.error("bad " + what + " " + v + " (ids start at 1; 0 is padding)");
        return v;
    }

    /** item_attributes.json: one JSON object {"item_id": [attr_id, ...], ...}. Items not listed get no attributes. */
    static int[][] readItemAttributes(Path file, int numItems) {
        int[][] attributes = new int[numItems + 1][];
        try (InputStream in = Files.newInputStream(file); JsonParser p = STRICT_JSON.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw jsonError(file, p, "expected a JSON object {\"item_id\": [attribute ids]}");
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                int item;
                try {
                    item = Integer.parseInt(key);
                } catch (NumberFormatException e) {
                    throw jsonError(file, p, "item key \"" + abbreviate(key) + "\" is not an integer");
                }
                if (item < 1 || item > numItems) throw jsonError(file, p, "unknown item " + item + " (sequences.txt has items 1.." + numItems + ")");
                if (attributes[item] != null) throw jsonError(file, p, "item " + item + " listed twice");
                if (p.nextToken() != JsonToken.START_ARRAY) throw jsonError(file, p, "item " + item + ": expected an array of attribute ids");
                int[] ids = new int[8];
                int n = 0;
                while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (t != JsonToken.VALUE_NUMBER_INT) throw jsonError(file, p, "item " + item + ": attribute ids must be integers, got " + t);
                    long id = p.getLongValue();
                    if (id < 1 || id > Integer.MAX_VALUE) throw jsonError(file, p, "item " + item + ": bad attribute id " + id);
                    if (n == ids.length) ids = Arrays.copyOf(ids, n * 2);
                    ids[n++] = (int) id;
                }
                attributes[item] = Arrays.copyOf(ids, n);
            }
            if (t != JsonToken.END_OBJECT) throw jsonError(file, p, "expected an item key or the end of the object, got " + t);
            if (p.nextToken() != null) throw jsonError(file, p, "trailing content after the JSON object");
        } catch (NoSuchFileException e) {
            throw new DataFileException(file, 0, "file not found", e);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            throw new DataFileException(file, loc == null ? 0 : loc.getLineNr(), "malformed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new DataFileException(file, 0, "read failed: " + e.getMessage(), e);
        }
        attributes[0] = new int[0];
        for (int i = 1; i <= numItems; i++) if (attributes[i] == null) attributes[i] = new int[0];
        return attributes;
    }

    private static DataFileException jsonError(Path file, JsonParser p, String message) {
        return new DataFileException(file, p.currentLocation().getLineNr(), message);
    }

    private record ItemsTable(int[] category, String[] text, String[] tokens) {}

    /** items.tsv: header, then item_id, asin, category, attributes, text_idgenrec, tokens_gram per item. */
    private static ItemsTable readItemsTsv(Path file, int numItems, int[][] attributes) {
        int[] category = new int[numItems + 1];
        String[] text = new String[numItems + 1];
        String[] tokens = new String[numItems + 1];
        long[] lineOfItem = new long[numItems + 1];
        try (LineSource lines = LineSource.open(file)) {
            String header = lines.next();
            if (header == null || !header.equals(ITEMS_TSV_HEADER)) {
                throw new DataFileException(file, 1, "expected the header \"" + ITEMS_TSV_HEADER.replace("\t", "\\t") + "\"");
            }
            String line;
            while ((line = lines.next()) != null) {
                if (line.isEmpty()) continue;
                String[] f = line.split("\t", -1);
                if (f.length != 6) throw lines.error("expected 6 tab-separated fields, got " + f.length);
                int item = parseId(lines, f[0], "item id");
                if (item > numItems) throw lines.error("unknown item " + item + " (sequences.txt has items 1.." + numItems + ")");
                if (lineOfItem[item] != 0) throw lines.error("item " + item + " listed twice (first on line " + lineOfItem[item] + ")");
                lineOfItem[item] = lines.lineNumber();
                try {
                    category[item] = Integer.parseInt(f[2]);
                } catch (NumberFormatException e) {
                    throw lines.error("bad category \"" + abbreviate(f[2]) + "\" for item " + item);
                }
                if (category[item] < 0) throw lines.error("negative category " + category[item] + " for item " + item);
                int[] listed = f[3].isBlank() ? new int[0] : parseInts(lines, f[3].strip().split(" +"), "attribute id");
                if (!Arrays.equals(listed, attributes[item])) {
                    throw lines.error("attributes of item " + item + " " + Arrays.toString(listed)
                            + " differ from item_attributes.json " + Arrays.toString(attributes[item]));
                }
                text[item] = f[4];
                tokens[item] = f[5];
            }
        }
        for (int i = 1; i <= numItems; i++) {
            if (lineOfItem[i] == 0) throw new DataFileException(file, 0, "item " + i + " has no row (every item 1.." + numItems + " needs one)");
        }
        return new ItemsTable(category, text, tokens);
    }

    private static int[] parseInts(LineSource lines, String[] fields, String what) {
        int[] out = new int[fields.length];
        for (int i = 0; i < fields.length; i++) out[i] = parseId(lines, fields[i], what);
        return out;
    }

    static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    // ------------------------------------------------------------------ raw Amazon 2014 files

    /**
     * Loads raw Amazon 2014 files (McAuley et al.): reviews (one JSON object per line with
     * reviewerID, asin, unixReviewTime; gzip when the name ends in .gz) and metadata (one object
     * per line with asin and optional title, brand, categories; Python-style single-quoted lines
     * as in the original meta_*.json.gz are accepted too).
     *
     * <p>Processing, S3Rec-style: every review is an interaction; a repeated (user, item) pair
     * keeps only its earliest review; users and items are then filtered to a {@value #CORE}-core
     * (both removed repeatedly until every remaining user and item has at least 5 interactions);
     * each user's items are sorted by unixReviewTime, ties in input order. User ids 1.. follow
     * the order in which users first appear in the reviews file; item ids 1.. the order of first
     * appearance when walking the users' sequences by user id. Attributes per item: [brand (if
     * any)] then every category-path element except the root (first occurrence kept), ids 1.. by
     * first appearance over items in id order (brands and category names are separate id
     * spaces). Category labels come from {@link CategoryLabels}; item text is the lower-cased
     * title. Kept items without a metadata line get no attributes and empty text; metadata for
     * items that are not kept is ignored.
     */
    public static Dataset loadAmazonRaw(Path reviewsJsonGz, Path metaJsonGz, String name) {
        Interactions raw = readReviews(reviewsJsonGz);
        int[][] sequencesByRawUser = fiveCoreSequences(raw);
        // user ids by first appearance, item ids by first appearance over the sequences
        List<int[]> sequences = new ArrayList<>();
        int[] itemId = new int[raw.itemKeys.size()];
        List<String> asinOfItem = new ArrayList<>();
        asinOfItem.add("");
        for (int[] rawSeq : sequencesByRawUser) {
            if (rawSeq == null) continue;
            int[] seq = new int[rawSeq.length];
            for (int t = 0; t < rawSeq.length; t++) {
                int rawItem = rawSeq[t];
                if (itemId[rawItem] == 0) {
                    itemId[rawItem] = asinOfItem.size();
                    asinOfItem.add(raw.itemKeys.get(rawItem));
                }
                seq[t] = itemId[rawItem];
            }
            sequences.add(seq);
        }
        if (sequences.isEmpty()) throw new DataFileException(reviewsJsonGz, 0, "no user and item survive the " + CORE + "-core filter");
        int numItems = asinOfItem.size() - 1;
        Map<String, Integer> itemOfAsin = new HashMap<>();
        for (int i = 1; i <= numItems; i++) itemOfAsin.put(asinOfItem.get(i), i);
        Meta meta = readMeta(metaJsonGz, itemOfAsin, numItems);
        int[] category = CategoryLabels.derive(meta.attributes, numItems, meta.numAttributes);
        return Dataset.of(name, numItems, sequences.toArray(new int[0][]), category, meta.attributes, meta.numAttributes, meta.titles, null);
    }

    /** Reviews in input order: raw user/item indices (first appearance), times. */
    private static final class Interactions {
        final List<String> userKeys = new ArrayList<>();
        final List<String> itemKeys = new ArrayList<>();
        int[] user = new int[1024], item = new int[1024];
        long[] time = new long[1024];
        int size;

        void add(int u, int i, long t) {
            if (size == user.length) {
                user = Arrays.copyOf(user, size * 2);
                item = Arrays.copyOf(item, size * 2);
                time = Arrays.copyOf(time, size * 2);
            }
            user[size] = u;
            item[size] = i;
            time[size] = t;
            size++;
        }
    }

    private static Interactions readReviews(Path file) {
        Interactions out = new Interactions();
        Map<String, Integer> users = new HashMap<>(), items = new HashMap<>();
        try (LineSource lines = LineSource.open(file)) {
            String line;
            while ((line = lines.next()) != null) {
                if (line.isBlank()) continue;
                JsonNode node = parseJsonLine(lines, line, false);
                String user = requiredText(lines, node, "reviewerID");
                String asin = requiredText(lines, node, "asin");
                JsonNode time = node.get("unixReviewTime");
                if (time == null || !time.canConvertToLong() || !time.isIntegralNumber()) {
                    throw lines.error("missing or non-integer \"unixReviewTime\"");
                }
                int u = users.computeIfAbsent(user, k -> { out.userKeys.add(k); return out.userKeys.size() - 1; });
                int i = items.computeIfAbsent(asin, k -> { out.itemKeys.add(k); return out.itemKeys.size() - 1; });
                out.add(u, i, time.longValue());
            }
        }
        if (out.size == 0) throw new DataFileException(file, 0, "no reviews");
        return out;
    }

    private static JsonNode parseJsonLine(LineSource lines, String line, boolean lenient) {
        JsonNode node;
        try {
            node = lenient ? LENIENT_JSON.readTree(line) : STRICT_MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw lines.error("malformed JSON: " + e.getOriginalMessage(), e);
        }
        if (node == null || !node.isObject()) throw lines.error("expected one JSON object per line");
        return node;
    }

    private static String requiredText(LineSource lines, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) throw lines.error("missing or empty string field \"" + field + "\"");
        return v.asText();
    }

    /**
     * The k-core filter, then per raw user the chronological raw item sequence (null for removed
     * users). Repeated (user, item) pairs keep their earliest review before filtering.
     */
    private static int[][] fiveCoreSequences(Interactions raw) {
        int n = raw.size;
        // chronological order, ties by input order (a stable sort on time)
        Integer[] order = new Integer[n];
        for (int k = 0; k < n; k++) order[k] = k;
        Arrays.sort(order, (a, b) -> Long.compare(raw.time[a], raw.time[b]));
        boolean[] kept = new boolean[n];
        HashMap<Long, Boolean> seenPair = new HashMap<>();
        for (int k : order) {
            long key = ((long) raw.user[k] << 32) | raw.item[k];
            kept[k] = seenPair.putIfAbsent(key, Boolean.TRUE) == null;
        }
        int numUsers = raw.userKeys.size(), numItems = raw.itemKeys.size();
        boolean[] userAlive = new boolean[numUsers], itemAlive = new boolean[numItems];
        Arrays.fill(userAlive, true);
        Arrays.fill(itemAlive, true);
        while (true) {
            int[] userCount = new int[numUsers], itemCount = new int[numItems];
            for (int k = 0; k < n; k++) {
                if (kept[k] && userAlive[raw.user[k]] && itemAlive[raw.item[k]]) {
                    userCount[raw.user[k]]++;
                    itemCount[raw.item[k]]++;
                }
            }
            boolean changed = false;
            for (int u = 0; u < numUsers; u++) {
                if (userAlive[u] && userCount[u] < CORE) { userAlive[u] = false; changed = true; }
            }
            for (int i = 0; i < numItems; i++) {
                if (itemAlive[i] && itemCount[i] < CORE) { itemAlive[i] = false; changed = true; }
            }
            if (!changed) break;
        }
        int[] length = new int[numUsers];
        for (int k = 0; k < n; k++) if (kept[k] && userAlive[raw.user[k]] && itemAlive[raw.item[k]]) length[raw.user[k]]++;
        int[][] seq = new int[numUsers][];
        int[] fill = new int[numUsers];
        for (int u = 0; u < numUsers; u++) if (length[u] > 0) seq[u] = new int[length[u]];
        for (int k : order) {
            int u = raw.user[k];
            if (kept[k] && userAlive[u] && itemAlive[raw.item[k]]) seq[u][fill[u]++] = raw.item[k];
        }
        return seq;
    }

    private record Meta(int[][] attributes, int numAttributes, String[] titles) {}

    private static Meta readMeta(Path file, Map<String, Integer> itemOfAsin, int numItems) {
        List<String>[] names = newListArray(numItems + 1);
        String[] titles = new String[numItems + 1];
        long[] lineOfItem = new long[numItems + 1];
        try (LineSource lines = LineSource.open(file)) {
            String line;
            while ((line = lines.next()) != null) {
                if (line.isBlank()) continue;
                JsonNode node = parseJsonLine(lines, line, true);
                String asin = requiredText(lines, node, "asin");
                Integer item = itemOfAsin.get(asin);
                if (item == null) continue;
                if (lineOfItem[item] != 0) throw lines.error("duplicate metadata for asin " + asin + " (first on line " + lineOfItem[item] + ")");
                lineOfItem[item] = lines.lineNumber();
                List<String> attrs = new ArrayList<>();
                JsonNode brand = node.get("brand");
                if (brand != null && !brand.isNull()) {
                    if (!brand.isTextual()) throw lines.error("\"brand\" must be a string");
                    if (!brand.asText().isBlank()) attrs.add("brand:" + brand.asText().strip());
                }
                JsonNode categories = node.get("categories");
                if (categories != null && !categories.isNull()) {
                    if (!categories.isArray()) throw lines.error("\"categories\" must be a list of category paths");
                    for (JsonNode path : categories) {
                        if (!path.isArray()) throw lines.error("\"categories\" must be a list of category paths (lists of strings)");
                        for (int p = 1; p < path.size(); p++) {
                            if (!path.get(p).isTextual()) throw lines.error("category path elements must be strings");
                            String c = "category:" + path.get(p).asText().strip();
                            if (!attrs.contains(c)) attrs.add(c);
                        }
                    }
                }
                names[item] = attrs;
                JsonNode title = node.get("title");
                titles[item] = title != null && title.isTextual() ? title.asText().toLowerCase(java.util.Locale.ROOT).strip() : "";
            }
        }
        Map<String, Integer> attributeIds = new LinkedHashMap<>();
        int[][] attributes = new int[numItems + 1][];
        attributes[0] = new int[0];
        for (int i = 1; i <= numItems; i++) {
            List<String> list = names[i] == null ? List.of() : names[i];
            int[] ids = new int[list.size()];
            for (int p = 0; p < ids.length; p++) ids[p] = attributeIds.computeIfAbsent(list.get(p), k -> attributeIds.size() + 1);
            attributes[i] = ids;
        }
        return new Meta(attributes, attributeIds.size(), titles);
    }

    @SuppressWarnings("unchecked")
    private static List<String>[] newListArray(int n) {
        return (List<String>[]) new List[n];
    }

    // ------------------------------------------------------------------ synthetic

    /**
     * The dataset a launcher uses: the S3Rec layout in dir when dir is given, else the embedded
     * default synthetic dataset ({@link SyntheticConfig#defaults()}), so the product runs without data.
     */
    public static Dataset loadOrSynthetic(Path dirOrNull) {
        return dirOrNull == null ? synthetic(SyntheticConfig.defaults()) : loadS3Rec(dirOrNull);
    }

    /** A synthetic dataset with learnable structure; see {@link SyntheticConfig} and {@link SyntheticData}. */
    public static Dataset synthetic(SyntheticConfig cfg) {
        return SyntheticData.generate(cfg);
    }
}

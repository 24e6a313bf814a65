package io.reg4rec.train.features;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Tokenisation of the two item text columns into one vocabulary with separate namespaces:
 * keyword text (text_idgenrec, or a raw title) becomes lower-cased words of letters and digits,
 * at least 2 characters long ("w:" prefix); GRAM token strings ({@code |▁opi|esque|}) are split
 * on '|' with the word-start mark '▁' removed ("g:" prefix, so a GRAM sub-word never merges with a
 * keyword of the same spelling).
 */
final class TextTokens {
    private static final Pattern NON_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");
    private static final char WORD_START = '\u2581';

    private TextTokens() {}

    static List<String> tokens(String keywordText, String gramTokens) {
        List<String> out = new ArrayList<>();
        if (keywordText != null && !keywordText.isBlank()) {
            for (String w : NON_WORD.split(keywordText.toLowerCase(Locale.ROOT))) {
                if (w.length() >= 2) out.add("w:" + w);
            }
        }
        if (gramTokens != null && !gramTokens.isBlank()) {
            for (String piece : gramTokens.split("\\|")) {
                String t = piece.strip();
                while (!t.isEmpty() && t.charAt(0) == WORD_START) t = t.substring(1);
                if (!t.isEmpty()) out.add("g:" + t.toLowerCase(Locale.ROOT));
            }
        }
        return out;
    }
}

package io.reg4rec.model.tokenizer;

import io.reg4rec.engine.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Token files, token statistics and config round trips. */
class TokenizerFilesTest {

    @Test
    void tokenFileHasOneLinePerItemAndReadsBack(@TempDir Path dir) throws IOException {
        int[][] tokens = {{-1, -1, -1}, {3, 0, 2}, {1, 1, 1}};
        Path file = dir.resolve("t.txt");
        TokenFiles.write(file, tokens);
        assertEquals(java.util.List.of("1 3 0 2", "2 1 1 1"), Files.readAllLines(file));
        int[][] back = TokenFiles.read(file);
        for (int i = 0; i < tokens.length; i++) assertArrayEquals(tokens[i], back[i]);
    }

    @Test
    void tokenFileReaderNamesTheBadLine(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("bad.txt");
        Files.writeString(file, "1 3 0\n3 1 1\n");
        IOException e = assertThrows(IOException.class, () -> TokenFiles.read(file));
        assertTrue(e.getMessage().contains(":2:") && e.getMessage().contains("expected item 2"), e.getMessage());
    }

    @Test
    void statsCountUtilisationPerplexityAndCollisions() {
        int[][] tokens = {{-1, -1}, {0, 1}, {0, 1}, {1, 1}, {2, 0}};
        TokenStats s = TokenStats.of(tokens, 4);
        assertArrayEquals(new double[]{0.75, 0.5}, s.utilisation(), 1e-12);
        // codebook 0 usage 2/4, 1/4, 1/4: perplexity exp(H) = 2^(1.5)
        assertEquals(Math.pow(2, 1.5), s.perplexity()[0], 1e-9);
        assertEquals(0.5, s.collisionRate(), 1e-12);   // items 1 and 2 share {0, 1}
        assertEquals(3, s.distinctTokenSets());
        assertEquals(2, s.largestGroup());
    }

    @Test
    void configSurvivesItsJson() {
        TokenizerConfig c = TokenizerConfig.defaults().withCodebooks(5, 77).withSeed(123).withLosses(0.5, 0.3);
        assertEquals(c, TokenizerConfig.fromJson(c.toJson(), Device.CPU));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.withCodebooks(0, 1));
        assertTrue(e.getMessage().contains("numCodebooks") && e.getMessage().contains("codebookSize"), e.getMessage());
    }
}

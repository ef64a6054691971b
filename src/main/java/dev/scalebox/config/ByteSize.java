package dev.scalebox.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sizes as people write them: {@code 100G}, {@code 512M}, {@code 2T} (binary units), or plain bytes. */
public final class ByteSize {

    private static final Pattern FORMAT = Pattern.compile("(\\d{1,15})\\s*([KMGT]?)(?:I?B)?");

    private ByteSize() {
    }

    public static long parse(String text) {
        Matcher m = FORMAT.matcher(text.strip().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size like 100G, 512M or 2T");
        }
        int shift = switch (m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        long value = Long.parseLong(m.group(1));
        if (value > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return value << shift;
    }

    /** The largest whole unit that writes {@code bytes} exactly: {@code 20G}, {@code 512M}, {@code 1000}. */
    public static String format(long bytes) {
        String[] units = {"T", "G", "M", "K"};
        int[] shifts = {40, 30, 20, 10};
        for (int i = 0; i < units.length; i++) {
            if (bytes != 0 && bytes % (1L << shifts[i]) == 0) {
                return (bytes >> shifts[i]) + units[i];
            }
        }
        return Long.toString(bytes);
    }
}

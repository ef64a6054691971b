package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;

import java.util.regex.Pattern;

/**
 * The one rule for names that become file names: templates, VM ids and volume ids. A valid name
 * is lower-case letters, digits, dot, underscore and hyphen, starts with a letter or digit, is at
 * most 63 characters and holds no "..", so it can never leave its directory.
 */
public final class Names {

    private static final Pattern VALID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    private Names() {
    }

    public static boolean isValid(String name) {
        return name != null && VALID.matcher(name).matches() && !name.contains("..");
    }

    /** Returns {@code name} when valid, else a 400 that says what {@code kind} of name is wrong and why. */
    public static String require(String kind, String name) {
        if (name == null || name.isEmpty()) {
            throw new ScaleboxException.BadRequest(kind + " is required");
        }
        if (!isValid(name)) {
            throw new ScaleboxException.BadRequest("Invalid " + kind + " '" + printable(name)
                    + "': use 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'");
        }
        return name;
    }

    /** Shortens and escapes a hostile value so an error message can quote it safely. */
    static String printable(String value) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < value.length() && out.length() < 70; i++) {
            char c = value.charAt(i);
            out.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return value.length() > 70 ? out + "..." : out.toString();
    }
}

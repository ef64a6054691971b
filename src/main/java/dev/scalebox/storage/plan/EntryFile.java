package dev.scalebox.storage.plan;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A configuration file that Scalebox owns, made of entries by key: the exports file (a line per
 * exported path) and the Samba include (a section per share). Rendered in key order under a
 * header, so the same entries always give the same bytes and a file edited by hand shows as drift.
 */
enum EntryFile {

    EXPORTS("# Written by 'scalebox storage apply'. Edits by hand are set back at the next apply.\n") {
        @Override
        Map<String, String> parse(String text) {
            Map<String, String> entries = new TreeMap<>();
            text.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
                    .forEach(l -> entries.put(l.split("\\s+", 2)[0], l));
            return entries;
        }

        @Override
        String render(Map<String, String> entries) {
            StringBuilder out = new StringBuilder(header);
            entries.values().forEach(line -> out.append(line).append('\n'));
            return out.toString();
        }
    },

    SHARES("# Written by 'scalebox storage apply' and included by smb.conf. Edits by hand are set back at the next apply.\n") {
        @Override
        Map<String, String> parse(String text) {
            Map<String, String> entries = new TreeMap<>();
            String name = null;
            StringBuilder block = new StringBuilder();
            for (String line : text.lines().toList()) {
                String s = line.strip();
                if (s.startsWith("[") && s.endsWith("]")) {
                    if (name != null) {
                        entries.put(name, block.toString().strip());
                    }
                    name = s.substring(1, s.length() - 1);
                    block.setLength(0);
                }
                if (name != null && !s.isEmpty() && !s.startsWith("#") && !s.startsWith(";")) {
                    block.append(line).append('\n');
                }
            }
            if (name != null) {
                entries.put(name, block.toString().strip());
            }
            return entries;
        }

        @Override
        String render(Map<String, String> entries) {
            StringBuilder out = new StringBuilder(header);
            entries.values().forEach(block -> out.append('\n').append(block).append('\n'));
            return out.toString();
        }
    };

    final String header;

    EntryFile(String header) {
        this.header = header;
    }

    abstract Map<String, String> parse(String text);

    abstract String render(Map<String, String> entries);

    /** {@code text} with the entry for {@code key} replaced, added or (when empty) removed. */
    String with(String text, String key, Optional<String> entry) {
        Map<String, String> entries = parse(text);
        entry.ifPresentOrElse(e -> entries.put(key, e), () -> entries.remove(key));
        return render(entries);
    }
}

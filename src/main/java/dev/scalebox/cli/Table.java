package dev.scalebox.cli;

import java.util.List;

/** Plain-text tables for people; {@code --json} is for machines. */
final class Table {

    private Table() {
    }

    /** Prints rows under a header, each column as wide as its widest cell. */
    static void print(List<String> header, List<List<String>> rows) {
        int[] widths = new int[header.size()];
        for (List<String> row : concat(header, rows)) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        for (List<String> row : concat(header, rows)) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                line.append(i == row.size() - 1 ? row.get(i) : String.format("%-" + (widths[i] + 2) + "s", row.get(i)));
            }
            System.out.println(line.toString().stripTrailing());
        }
    }

    static void keyValue(List<List<String>> rows) {
        int width = rows.stream().mapToInt(r -> r.get(0).length()).max().orElse(0);
        rows.forEach(r -> System.out.println(String.format("%-" + (width + 2) + "s", r.get(0)) + r.get(1)));
    }

    static String gib(long bytes) {
        return String.format("%.1f GiB", bytes / (double) (1L << 30));
    }

    private static List<List<String>> concat(List<String> header, List<List<String>> rows) {
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(header), rows.stream()).toList();
    }
}

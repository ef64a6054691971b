package dev.scalebox.cli;

import dev.scalebox.api.Json;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Plain-text tables for people; {@code --json} is for machines. */
final class Table {

    private Table() {
    }

    /** Prints a listing from the API: as JSON with {@code json}, else a table of {@code row} of each item. */
    static void listing(JsonNode items, boolean json, List<String> header, Function<JsonNode, List<String>> row) {
        if (json) {
            System.out.println(Json.MAPPER.writeValueAsString(items));
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        items.forEach(item -> rows.add(row.apply(item)));
        print(header, rows);
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

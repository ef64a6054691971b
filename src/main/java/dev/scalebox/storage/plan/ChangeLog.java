package dev.scalebox.storage.plan;

import dev.scalebox.config.ByteSize;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The changes of an apply as the journal keeps them (JSON, never a password), and the changes
 * that undo them: properties, quotas, exports, shares, role links whose dataset holds nothing
 * yet and datasets that are still empty can be reverted; pools, images, mounts, enabled quotas
 * and passwords are not, and are named as such.
 */
public final class ChangeLog {

    /** What a rollback will do, and what it cannot revert. */
    public record Undo(List<Change> changes, List<String> cannot) {
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private ChangeLog() {
    }

    public static String toJson(List<Change> changes) {
        List<Map<String, String>> entries = new ArrayList<>();
        for (Change change : changes) {
            Map<String, String> e = new LinkedHashMap<>();
            e.put("kind", change.getClass().getSimpleName());
            e.put("description", change.describe());
            switch (change) {
                case Change.SetCompression c -> put(e, c.path(), c.from().name(), c.to().name());
                case Change.SetNodatacow c -> put(e, c.path(), Boolean.toString(c.from()), Boolean.toString(c.to()));
                case Change.SetQuota c -> put(e, c.path(), size(c.from()), size(c.to()));
                case Change.CreateDataset c -> e.put("path", c.path().toString());
                case Change.SetExport c -> {
                    e.put("file", c.file().toString());
                    entry(e, c.path(), c.from(), c.to());
                }
                case Change.SetShare c -> {
                    e.put("file", c.include().toString());
                    e.put("smb_conf", c.smbConf().toString());
                    entry(e, c.name(), c.from(), c.to());
                }
                case Change.LinkRole c -> {
                    e.put("path", c.link().toString());
                    e.put("to", c.target().toString());
                    e.put("from", c.from().map(Path::toString).orElse(""));
                }
                default -> {
                }
            }
            entries.add(e);
        }
        return JSON.writeValueAsString(entries);
    }

    /** The changes that undo {@code json}'s, last first. */
    public static Undo undo(String json, StorageHost host) {
        List<Change> changes = new ArrayList<>();
        List<String> cannot = new ArrayList<>();
        List<JsonNode> entries = new ArrayList<>();
        JSON.readTree(json).forEach(entries::add);
        for (JsonNode e : entries.reversed()) {
            String kind = e.path("kind").asString();
            Path path = e.has("path") ? Path.of(e.get("path").asString()) : null;
            switch (kind) {
                case "SetCompression" -> changes.add(new Change.SetCompression(path,
                        PlanFile.Compression.valueOf(e.get("to").asString()), PlanFile.Compression.valueOf(e.get("from").asString())));
                case "SetNodatacow" -> changes.add(new Change.SetNodatacow(path, e.get("to").asBoolean(), e.get("from").asBoolean()));
                case "SetQuota" -> changes.add(new Change.SetQuota(path, size(e.get("to").asString()), size(e.get("from").asString())));
                case "SetExport" -> changes.add(new Change.SetExport(Path.of(e.get("file").asString()),
                        e.get("key").asString(), optional(e.get("to")), optional(e.get("from"))));
                case "SetShare" -> changes.add(new Change.SetShare(Path.of(e.get("smb_conf").asString()),
                        Path.of(e.get("file").asString()), e.get("key").asString(), optional(e.get("to")),
                        optional(e.get("from"))));
                case "LinkRole" -> {
                    if (host.isEmpty(Path.of(e.get("to").asString()))) {
                        changes.add(new Change.UnlinkRole(path, optional(e.get("from")).map(Path::of)));
                    } else {
                        cannot.add(e.get("description").asString() + ": disks are kept there now; kept");
                    }
                }
                case "CreateDataset" -> {
                    if (Files.isDirectory(path) && host.isEmpty(path)) {
                        changes.add(new Change.DeleteEmptyDataset(path));
                    } else {
                        cannot.add(e.get("description").asString() + ": it holds data now; kept");
                    }
                }
                default -> cannot.add(e.get("description").asString() + ": not reverted; undo it by hand if needed");
            }
        }
        return new Undo(List.copyOf(changes), List.copyOf(cannot));
    }

    private static void entry(Map<String, String> e, String key, java.util.Optional<String> from, java.util.Optional<String> to) {
        e.put("key", key);
        e.put("from", from.orElse(""));
        e.put("to", to.orElse(""));
    }

    private static java.util.Optional<String> optional(JsonNode text) {
        return java.util.Optional.of(text.asString()).filter(t -> !t.isEmpty());
    }

    private static void put(Map<String, String> e, Path path, String from, String to) {
        e.put("path", path.toString());
        e.put("from", from);
        e.put("to", to);
    }

    private static String size(OptionalLong bytes) {
        return bytes.isPresent() ? Long.toString(bytes.getAsLong()) : "none";
    }

    private static OptionalLong size(String text) {
        return text.equals("none") ? OptionalLong.empty() : OptionalLong.of(ByteSize.parse(text));
    }
}

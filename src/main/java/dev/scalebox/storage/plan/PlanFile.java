package dev.scalebox.storage.plan;

import dev.scalebox.ScaleboxException;
import dev.scalebox.config.ByteSize;
import dev.scalebox.storage.Names;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The storage file: pools (btrfs on devices or loop images) and datasets (subvolumes with
 * properties). Read strictly: an unknown key, a wrong type or a reference to an undeclared pool is
 * an error that names the file's line and column.
 */
public record PlanFile(List<Pool> pools, List<Dataset> datasets) {

    public enum Profile { single, raid1, raid10 }

    public enum Compression { zstd, lzo, none }

    public enum Role { templates, vms, volumes, backups, shared }

    /** A device: a block device path, or a loop image made with {@code sizeBytes} when missing. */
    public record Device(Path path, boolean image, long sizeBytes) {
    }

    public record Pool(String name, List<Device> devices, Profile profile, Path mount, List<String> options) {
    }

    public record Dataset(String name, String pool, Compression compression, boolean nodatacow, OptionalLong quotaBytes,
                          Optional<Role> role) {
        public Path path(Pool in) {
            return in.mount().resolve(name);
        }
    }

    public Pool pool(String name) {
        return pools.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
    }

    /** A mistake in the file, with where it is. */
    public static final class Invalid extends ScaleboxException.BadRequest {
        Invalid(String message) {
            super(message);
        }
    }

    private static final Set<String> TOP = Set.of("pools", "datasets");
    private static final Set<String> POOL_KEYS = Set.of("name", "driver", "devices", "profile", "mount", "options");
    private static final Set<String> DEVICE_KEYS = Set.of("image", "size");
    private static final Set<String> DATASET_KEYS = Set.of("name", "pool", "compression", "nodatacow", "quota", "role");
    private static final Set<String> NOT_YET = Set.of("exports", "shares");

    public static PlanFile read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new Invalid(file + " does not exist");
        }
        YAMLMapper yaml = new YAMLMapper();
        Map<String, String> where = new HashMap<>();
        JsonNode root;
        try {
            try (JsonParser parser = yaml.createParser(file.toFile())) {
                for (JsonToken t = parser.nextToken(); t != null; t = parser.nextToken()) {
                    var at = parser.currentTokenLocation();
                    where.putIfAbsent(parser.streamReadContext().pathAsPointer().toString(),
                            "line " + at.getLineNr() + ", column " + at.getColumnNr());
                }
            }
            root = yaml.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new Invalid(file + ": not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr() + ")" : ""));
        }
        return new Reader(file, where).read(root);
    }

    private record Reader(Path file, Map<String, String> where) {

        PlanFile read(JsonNode root) {
            if (root == null || root.isMissingNode() || root.isNull()) {
                return new PlanFile(List.of(), List.of());
            }
            object(root, "", TOP);
            List<Pool> pools = new ArrayList<>();
            JsonNode poolNodes = root.path("pools");
            for (int i = 0; i < list(poolNodes, "/pools").size(); i++) {
                pools.add(pool(poolNodes.get(i), "/pools/" + i));
            }
            unique(pools.stream().map(Pool::name).toList(), "/pools", "pool");
            Set<Path> mounts = new HashSet<>();
            for (int i = 0; i < pools.size(); i++) {
                if (!mounts.add(pools.get(i).mount())) {
                    throw error("/pools/" + i + "/mount", "two pools are mounted on " + pools.get(i).mount());
                }
            }
            Set<String> poolNames = new HashSet<>(pools.stream().map(Pool::name).toList());
            List<Dataset> datasets = new ArrayList<>();
            JsonNode datasetNodes = root.path("datasets");
            for (int i = 0; i < list(datasetNodes, "/datasets").size(); i++) {
                Dataset d = dataset(datasetNodes.get(i), "/datasets/" + i);
                if (!poolNames.contains(d.pool())) {
                    throw error("/datasets/" + i + "/pool", "pool '" + d.pool() + "' is not declared under pools");
                }
                datasets.add(d);
            }
            unique(datasets.stream().map(d -> d.pool() + "/" + d.name()).toList(), "/datasets", "dataset");
            return new PlanFile(List.copyOf(pools), List.copyOf(datasets));
        }

        private Pool pool(JsonNode node, String at) {
            object(node, at, POOL_KEYS);
            String name = name(node, at);
            String driver = Optional.ofNullable(text(node, at, "driver", false)).orElse("btrfs");
            if (driver.equals("zfs")) {
                throw error(at + "/driver", "the zfs driver is not available yet (btrfs is; zfs is the next driver)");
            }
            if (!driver.equals("btrfs")) {
                throw error(at + "/driver", "unknown driver '" + driver + "'; use btrfs");
            }
            List<Device> devices = new ArrayList<>();
            JsonNode deviceNodes = node.path("devices");
            if (list(deviceNodes, at + "/devices").isEmpty()) {
                throw error(at + "/devices", "a pool needs at least one device");
            }
            for (int i = 0; i < deviceNodes.size(); i++) {
                devices.add(device(deviceNodes.get(i), at + "/devices/" + i));
            }
            Profile profile = choice(node, at, "profile", Profile.class).orElse(Profile.single);
            int least = profile == Profile.raid1 ? 2 : profile == Profile.raid10 ? 4 : 1;
            if (devices.size() < least) {
                throw error(at + "/devices", profile + " needs at least " + least + " devices, not " + devices.size());
            }
            Path mount = absolute(text(node, at, "mount", true), at + "/mount");
            List<String> options = new ArrayList<>();
            JsonNode optionNodes = node.path("options");
            for (int i = 0; i < list(optionNodes, at + "/options").size(); i++) {
                String option = scalar(optionNodes.get(i), at + "/options/" + i);
                if (!option.matches("[a-z0-9_]+(=[A-Za-z0-9_:.]+)?")) {
                    throw error(at + "/options/" + i, "'" + option + "' is not a mount option");
                }
                options.add(option);
            }
            return new Pool(name, List.copyOf(devices), profile, mount, List.copyOf(options));
        }

        private Device device(JsonNode node, String at) {
            if (node.isString()) {
                Path path = absolute(node.asString(), at);
                if (!path.startsWith("/dev/")) {
                    throw error(at, path + " is not a device under /dev; for a loop image write {image: PATH, size: SIZE}");
                }
                return new Device(path, false, 0);
            }
            object(node, at, DEVICE_KEYS);
            Path image = absolute(text(node, at, "image", true), at + "/image");
            long size = bytes(text(node, at, "size", true), at + "/size");
            if (size < (256L << 20)) {
                throw error(at + "/size", "a btrfs device needs at least 256M");
            }
            return new Device(image, true, size);
        }

        private Dataset dataset(JsonNode node, String at) {
            object(node, at, DATASET_KEYS);
            String name = name(node, at);
            String pool = text(node, at, "pool", true);
            Compression compression = choice(node, at, "compression", Compression.class).orElse(Compression.none);
            boolean nodatacow = false;
            if (node.has("nodatacow")) {
                if (!node.get("nodatacow").isBoolean()) {
                    throw error(at + "/nodatacow", "must be true or false");
                }
                nodatacow = node.get("nodatacow").asBoolean();
            }
            if (nodatacow && compression != Compression.none) {
                throw error(at + "/nodatacow", "btrfs does not compress nodatacow files; drop one of the two");
            }
            String quota = text(node, at, "quota", false);
            OptionalLong quotaBytes = quota == null || quota.equals("none") ? OptionalLong.empty()
                    : OptionalLong.of(bytes(quota, at + "/quota"));
            return new Dataset(name, pool, compression, nodatacow, quotaBytes, choice(node, at, "role", Role.class));
        }

        private String name(JsonNode node, String at) {
            String name = text(node, at, "name", true);
            try {
                return Names.require("name", name);
            } catch (ScaleboxException e) {
                throw error(at + "/name", e.getMessage());
            }
        }

        private void object(JsonNode node, String at, Set<String> keys) {
            if (!node.isObject()) {
                throw error(at, "must be a mapping");
            }
            for (String key : node.propertyNames()) {
                if (NOT_YET.contains(key) && at.isEmpty()) {
                    throw error("/" + key, "'" + key + "' is not supported yet by this version of Scalebox");
                }
                if (!keys.contains(key)) {
                    throw error(at + "/" + key, "unknown key '" + key + "'; expected one of " + keys.stream().sorted().toList());
                }
            }
        }

        private List<JsonNode> list(JsonNode node, String at) {
            if (node.isMissingNode() || node.isNull()) {
                return List.of();
            }
            if (!node.isArray()) {
                throw error(at, "must be a list");
            }
            List<JsonNode> items = new ArrayList<>();
            node.forEach(items::add);
            return items;
        }

        private String text(JsonNode node, String at, String key, boolean required) {
            JsonNode value = node.get(key);
            if (value == null || value.isNull()) {
                if (required) {
                    throw error(at, "'" + key + "' is required");
                }
                return null;
            }
            return scalar(value, at + "/" + key);
        }

        private String scalar(JsonNode value, String at) {
            if (!value.isValueNode()) {
                throw error(at, "must be a single value");
            }
            return value.asString();
        }

        private <E extends Enum<E>> Optional<E> choice(JsonNode node, String at, String key, Class<E> type) {
            String value = text(node, at, key, false);
            if (value == null) {
                return Optional.empty();
            }
            try {
                return Optional.of(Enum.valueOf(type, value));
            } catch (IllegalArgumentException e) {
                throw error(at + "/" + key, "'" + value + "' is not one of " + List.of(type.getEnumConstants()));
            }
        }

        private long bytes(String value, String at) {
            try {
                return ByteSize.parse(value);
            } catch (IllegalArgumentException e) {
                throw error(at, "'" + value + "' is not a size such as 512M or 20G");
            }
        }

        private Path absolute(String value, String at) {
            Path path = Path.of(value);
            if (!path.isAbsolute() || !path.normalize().equals(path)) {
                throw error(at, "'" + value + "' must be an absolute path without . or ..");
            }
            return path;
        }

        private void unique(List<String> names, String at, String what) {
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < names.size(); i++) {
                if (!seen.add(names.get(i))) {
                    throw error(at + "/" + i, "the " + what + " '" + names.get(i) + "' is declared twice");
                }
            }
        }

        private Invalid error(String pointer, String message) {
            String location = where.get(pointer);
            for (String p = pointer; location == null && p.contains("/"); p = p.substring(0, p.lastIndexOf('/'))) {
                location = where.get(p);
            }
            return new Invalid(file + (location != null ? " (" + location + ")" : "") + ": " + pointer + ": " + message);
        }
    }
}

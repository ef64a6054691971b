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
 * The storage file: pools (btrfs on devices or loop images), datasets (subvolumes with
 * properties and a Scalebox role), NFS exports and Samba shares of datasets. Read strictly: an
 * unknown key, a wrong type or a reference to an undeclared pool, dataset or user is an error
 * that names the file's line and column. A password is never read from it, only the name of the
 * file or environment variable that holds one.
 */
public record PlanFile(List<Pool> pools, List<Dataset> datasets, List<Export> exports, List<Share> shares,
                       List<ShareUser> shareUsers) {

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
        public String ref() {
            return pool + "/" + name;
        }

        public Path path(Pool in) {
            return in.mount().resolve(name);
        }
    }

    /** An NFS export of a dataset to clients given as CIDRs, each with the same options. */
    public record Export(String dataset, List<String> clients, List<String> options) {
    }

    /** A Samba share of a dataset. */
    public record Share(String name, String dataset, List<String> validUsers, boolean readOnly) {
    }

    /**
     * A Samba user. Its password comes from {@code passwordFile} or the environment variable
     * {@code passwordEnv}; with neither, the user must already be known to Samba.
     */
    public record ShareUser(String name, Optional<Path> passwordFile, Optional<String> passwordEnv) {
    }

    /** The dataset that {@code ref} ("POOL/NAME") names. */
    public Dataset dataset(String ref) {
        return datasets.stream().filter(d -> d.ref().equals(ref)).findFirst().orElseThrow();
    }

    /** Where a dataset is mounted. */
    public Path path(Dataset dataset) {
        return dataset.path(pool(dataset.pool()));
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

    private static final Set<String> TOP = Set.of("pools", "datasets", "exports", "shares", "share_users");
    private static final Set<String> POOL_KEYS = Set.of("name", "driver", "devices", "profile", "mount", "options");
    private static final Set<String> DEVICE_KEYS = Set.of("image", "size");
    private static final Set<String> DATASET_KEYS = Set.of("name", "pool", "compression", "nodatacow", "quota", "role");
    private static final Set<String> EXPORT_KEYS = Set.of("dataset", "clients", "options");
    private static final Set<String> SHARE_KEYS = Set.of("name", "dataset", "valid_users", "read_only");
    private static final Set<String> SHARE_USER_KEYS = Set.of("name", "password_file", "password_env");
    /** The options an export line may carry, as exports(5) names them. */
    private static final Set<String> EXPORT_OPTIONS = Set.of("rw", "ro", "sync", "async", "subtree_check",
            "no_subtree_check", "root_squash", "no_root_squash", "all_squash", "no_all_squash", "secure", "insecure",
            "wdelay", "no_wdelay", "hide", "nohide", "crossmnt", "nocrossmnt", "secure_locks", "insecure_locks",
            "acl", "no_acl", "anonuid", "anongid", "fsid", "sec");
    /** Sections smb.conf reserves for itself. */
    private static final Set<String> RESERVED_SHARES = Set.of("global", "homes", "printers", "print$");
    /** Roles whose disks are reflink clones of each other, so they must share a filesystem. */
    private static final Set<Role> CLONED_ROLES = Set.of(Role.templates, Role.vms, Role.volumes);

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
                return new PlanFile(List.of(), List.of(), List.of(), List.of(), List.of());
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
            unique(datasets.stream().map(Dataset::ref).toList(), "/datasets", "dataset");
            roles(datasets);
            Set<String> refs = new HashSet<>(datasets.stream().map(Dataset::ref).toList());

            List<Export> exports = new ArrayList<>();
            JsonNode exportNodes = root.path("exports");
            for (int i = 0; i < list(exportNodes, "/exports").size(); i++) {
                exports.add(export(exportNodes.get(i), "/exports/" + i, refs));
            }
            unique(exports.stream().map(Export::dataset).toList(), "/exports", "export of dataset");

            List<ShareUser> users = new ArrayList<>();
            JsonNode userNodes = root.path("share_users");
            for (int i = 0; i < list(userNodes, "/share_users").size(); i++) {
                users.add(shareUser(userNodes.get(i), "/share_users/" + i));
            }
            unique(users.stream().map(ShareUser::name).toList(), "/share_users", "share user");
            Set<String> userNames = new HashSet<>(users.stream().map(ShareUser::name).toList());

            List<Share> shares = new ArrayList<>();
            JsonNode shareNodes = root.path("shares");
            for (int i = 0; i < list(shareNodes, "/shares").size(); i++) {
                shares.add(share(shareNodes.get(i), "/shares/" + i, refs, userNames));
            }
            unique(shares.stream().map(s -> s.name().toLowerCase(java.util.Locale.ROOT)).toList(), "/shares", "share");
            return new PlanFile(List.copyOf(pools), List.copyOf(datasets), List.copyOf(exports), List.copyOf(shares),
                    List.copyOf(users));
        }

        /** Each role once; the cloned roles in one pool, since a reflink cannot cross filesystems. */
        private void roles(List<Dataset> datasets) {
            Map<Role, Integer> seen = new HashMap<>();
            String clonedPool = null;
            Boolean clonedNodatacow = null;
            for (int i = 0; i < datasets.size(); i++) {
                Dataset d = datasets.get(i);
                if (d.role().isEmpty()) {
                    continue;
                }
                Role role = d.role().get();
                if (seen.put(role, i) != null) {
                    throw error("/datasets/" + i + "/role", "role " + role + " is already given to /datasets/" + seen.get(role));
                }
                if (CLONED_ROLES.contains(role)) {
                    if (clonedPool != null && !clonedPool.equals(d.pool())) {
                        throw error("/datasets/" + i + "/pool", "the templates, vms and volumes roles must be in one pool"
                                + " (VM disks are reflink clones of templates, which cannot cross filesystems)");
                    }
                    if (clonedNodatacow != null && clonedNodatacow != d.nodatacow()) {
                        throw error("/datasets/" + i + "/nodatacow", "the templates, vms and volumes roles must agree on"
                                + " nodatacow (btrfs cannot reflink between nodatacow and copy-on-write files)");
                    }
                    clonedPool = d.pool();
                    clonedNodatacow = d.nodatacow();
                }
            }
            if (seen.containsKey(Role.templates) != seen.containsKey(Role.vms)) {
                Role given = seen.containsKey(Role.templates) ? Role.templates : Role.vms;
                throw error("/datasets/" + seen.get(given) + "/role", "roles templates and vms go together, in one pool"
                        + " (VM disks are reflink clones of templates); give the other role to a dataset of the same pool");
            }
        }

        private Export export(JsonNode node, String at, Set<String> datasets) {
            object(node, at, EXPORT_KEYS);
            String dataset = datasetRef(node, at, datasets);
            List<String> clients = scalars(node, at, "clients", "an export needs at least one client, such as 192.168.1.0/24",
                    client -> Cidr.valid(client) ? null : "'" + client + "' is not a CIDR such as 192.168.1.0/24 or fd00::/64");
            List<String> options = scalars(node, at, "options", null, option -> {
                String key = option.contains("=") ? option.substring(0, option.indexOf('=')) : option;
                return option.matches("[a-z_]+(=[A-Za-z0-9:._-]+)?") && EXPORT_OPTIONS.contains(key) ? null
                        : "'" + option + "' is not an export option; expected one of " + EXPORT_OPTIONS.stream().sorted().toList();
            });
            return new Export(dataset, clients, options);
        }

        private ShareUser shareUser(JsonNode node, String at) {
            object(node, at, SHARE_USER_KEYS);
            String name = text(node, at, "name", true);
            if (!name.matches("[a-z_][a-z0-9_-]{0,31}")) {
                throw error(at + "/name", "'" + name + "' is not a user name (lower case letters, digits, _ and -)");
            }
            String file = text(node, at, "password_file", false);
            String env = text(node, at, "password_env", false);
            if (file != null && env != null) {
                throw error(at, "give password_file or password_env, not both");
            }
            if (env != null && !env.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw error(at + "/password_env", "'" + env + "' is not an environment variable name");
            }
            return new ShareUser(name, Optional.ofNullable(file).map(f -> absolute(f, at + "/password_file")),
                    Optional.ofNullable(env));
        }

        private Share share(JsonNode node, String at, Set<String> datasets, Set<String> users) {
            object(node, at, SHARE_KEYS);
            String name = text(node, at, "name", true);
            if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,79}") || RESERVED_SHARES.contains(name.toLowerCase(java.util.Locale.ROOT))) {
                throw error(at + "/name", "'" + name + "' cannot name a share (letters, digits, _ . and -;"
                        + " not global, homes or printers)");
            }
            String dataset = datasetRef(node, at, datasets);
            List<String> validUsers = scalars(node, at, "valid_users",
                    "a share needs at least one user (guest shares are not offered)",
                    user -> users.contains(user) ? null : "user '" + user + "' is not declared under share_users");
            return new Share(name, dataset, validUsers, flag(node, at, "read_only"));
        }

        private String datasetRef(JsonNode node, String at, Set<String> datasets) {
            String ref = text(node, at, "dataset", true);
            if (!datasets.contains(ref)) {
                throw error(at + "/dataset", "dataset '" + ref + "' is not declared under datasets (write it as POOL/NAME)");
            }
            return ref;
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
            List<String> options = scalars(node, at, "options", null, option ->
                    option.matches("[a-z0-9_]+(=[A-Za-z0-9_:.]+)?") ? null : "'" + option + "' is not a mount option");
            return new Pool(name, List.copyOf(devices), profile, mount, options);
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
            boolean nodatacow = flag(node, at, "nodatacow");
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
                if (key.toLowerCase(java.util.Locale.ROOT).contains("password") && !keys.contains(key)) {
                    throw error(at + "/" + key, "a password is never written in the storage file; put it in a file"
                            + " readable only by root and name it with password_file, or name an environment variable"
                            + " with password_env");
                }
                if (!keys.contains(key)) {
                    throw error(at + "/" + key, "unknown key '" + key + "'; expected one of " + keys.stream().sorted().toList());
                }
            }
        }

        /**
         * The values of list {@code key}, each given to {@code problem}, which names what is wrong
         * with one (null when nothing is). With {@code whenEmpty}, an empty list is that error.
         */
        private List<String> scalars(JsonNode node, String at, String key, String whenEmpty,
                                     java.util.function.UnaryOperator<String> problem) {
            List<JsonNode> items = list(node.path(key), at + "/" + key);
            if (items.isEmpty() && whenEmpty != null) {
                throw error(at + "/" + key, whenEmpty);
            }
            List<String> values = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                String value = scalar(items.get(i), at + "/" + key + "/" + i);
                String wrong = problem.apply(value);
                if (wrong != null) {
                    throw error(at + "/" + key + "/" + i, wrong);
                }
                values.add(value);
            }
            return List.copyOf(values);
        }

        private boolean flag(JsonNode node, String at, String key) {
            if (!node.has(key)) {
                return false;
            }
            if (!node.get(key).isBoolean()) {
                throw error(at + "/" + key, "must be true or false");
            }
            return node.get(key).asBoolean();
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
            if (!value.matches("[A-Za-z0-9/_.:+@-]+")) {
                throw error(at, "'" + value + "' has a space, quote or other character that fstab, exports and smb.conf"
                        + " cannot hold; use letters, digits and / _ . : + @ -");
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

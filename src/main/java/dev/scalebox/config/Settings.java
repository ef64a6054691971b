package dev.scalebox.config;

import dev.scalebox.ScaleboxException;
import dev.scalebox.network.Egress;
import dev.scalebox.network.Subnet;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The resolved configuration. Each setting comes from a command-line flag, else the environment
 * variable of its name, else the YAML file given with {@code --config}, else its default; every
 * value is checked here, so a bad one stops the start with a message that names the setting.
 */
public final class Settings {

    private final Map<Setting, String> values;
    private final Map<Setting, String> sources;

    private Settings(Map<Setting, String> values, Map<Setting, String> sources) {
        this.values = values;
        this.sources = sources;
        validate();
    }

    /** Resolves the settings from flags, the environment and an optional YAML file. */
    public static Settings load(Map<Setting, String> flags, Map<String, String> env, Optional<Path> configFile) {
        Map<Setting, String> fromFile = configFile.map(Settings::readYaml).orElse(Map.of());
        Map<Setting, String> values = new EnumMap<>(Setting.class);
        Map<Setting, String> sources = new EnumMap<>(Setting.class);
        for (Setting s : Setting.values()) {
            if (flags.get(s) != null) {
                values.put(s, flags.get(s));
                sources.put(s, "flag");
            } else if (env.get(s.name()) != null && !env.get(s.name()).isEmpty()) {
                values.put(s, env.get(s.name()));
                sources.put(s, "environment");
            } else if (fromFile.containsKey(s)) {
                values.put(s, fromFile.get(s));
                sources.put(s, configFile.get().toString());
            } else {
                s.defaultValue().ifPresent(v -> {
                    values.put(s, v);
                    sources.put(s, "default");
                });
            }
        }
        return new Settings(values, sources);
    }

    /** The settings given by a flag, the environment or a file, rather than left to their default. */
    public Map<Setting, String> chosen() {
        Map<Setting, String> chosen = new EnumMap<>(Setting.class);
        values.forEach((s, v) -> {
            if (!"default".equals(sources.get(s))) {
                chosen.put(s, v);
            }
        });
        return chosen;
    }

    public static Settings defaults() {
        return load(Map.of(), Map.of(), Optional.empty());
    }

    public Path dataDir() { return Path.of(values.get(Setting.DATA_DIR)); }
    public int apiPort() { return integer(Setting.API_PORT); }
    public String apiBind() { return values.get(Setting.API_BIND); }
    public Optional<String> apiToken() { return optional(Setting.API_TOKEN); }
    public int portMin() { return integer(Setting.PORT_MIN); }
    public int portMax() { return integer(Setting.PORT_MAX); }
    public int defaultDiskSizeGib() { return integer(Setting.DEFAULT_DISK_SIZE_GIB); }
    public int maxDiskSizeGib() { return integer(Setting.MAX_DISK_SIZE_GIB); }
    public String bindAddress() { return values.get(Setting.BIND_ADDRESS); }
    public String accel() { return values.get(Setting.ACCEL); }
    public boolean bridged() { return values.get(Setting.NETWORK).equals("bridge"); }
    public String networkBridge() { return values.get(Setting.NETWORK_BRIDGE); }
    public Subnet networkCidr() { return Subnet.parse(values.get(Setting.NETWORK_CIDR)).orElseThrow(); }
    public Egress egressDefault() { return egress(Setting.EGRESS_DEFAULT); }
    public Egress boxEgress() { return egress(Setting.BOX_EGRESS); }
    public Optional<String> httpDomain() { return optional(Setting.HTTP_DOMAIN); }
    public int httpsPort() { return integer(Setting.HTTPS_PORT); }
    public String httpsBind() { return values.get(Setting.HTTPS_BIND); }
    public Optional<String> httpAcmeEmail() { return optional(Setting.HTTP_ACME_EMAIL); }

    private Egress egress(Setting s) {
        String v = values.get(s).strip();
        return v.matches("[a-z]+") ? Egress.named(v) : Egress.allow(List.of(v.split("\\s*,\\s*")));
    }
    public int tcgCacheMib() { return integer(Setting.TCG_CACHE_MIB); }
    public String kvmCpuModel() { return values.get(Setting.KVM_CPU_MODEL); }

    /** MAX_CONCURRENT_STARTS, or empty for {@code auto} (derived from the cores and the accelerator). */
    public java.util.OptionalInt maxConcurrentStarts() {
        String v = values.get(Setting.MAX_CONCURRENT_STARTS).strip();
        return v.equals("auto") ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(Integer.parseInt(v));
    }
    public int defaultVcpuCount() { return integer(Setting.DEFAULT_VCPU_COUNT); }
    public int defaultMemSizeMib() { return integer(Setting.DEFAULT_MEM_SIZE_MIB); }
    public int templateSnapshotsMax() { return integer(Setting.TEMPLATE_SNAPSHOTS_MAX); }
    public int warmGuests() { return integer(Setting.WARM_GUESTS); }

    /** The host name clients should ssh to. */
    public String sshHost() {
        return optional(Setting.SSH_HOST).orElseGet(() ->
                bindAddress().equals("0.0.0.0") || bindAddress().equals("::") ? "127.0.0.1" : bindAddress());
    }

    /** The PostgreSQL store of STORE_URL, or empty for the embedded SQLite. */
    public Optional<StoreUrl> store() {
        return optional(Setting.STORE_URL).map(url -> new StoreUrl(url, optional(Setting.STORE_USER),
                optional(Setting.STORE_PASSWORD_FILE).map(Path::of)));
    }

    public String hostName() {
        return optional(Setting.HOST_NAME).orElseGet(HostName::ofMachine);
    }

    /** HOST_URL, or the API's own address. */
    public String hostUrl() {
        return optional(Setting.HOST_URL).orElseGet(() -> {
            String bind = apiBind();
            String host = bind.equals("0.0.0.0") || bind.equals("::") ? hostName() : bind.contains(":") ? "[" + bind + "]" : bind;
            return "http://" + host + ":" + apiPort();
        });
    }

    /** HOST_GATEWAY, or the gateway's own address. */
    public String hostGateway() {
        return optional(Setting.HOST_GATEWAY).orElseGet(() -> {
            String bind = gatewayBind();
            String host = bind.equals("0.0.0.0") || bind.equals("::") ? hostName() : bind.contains(":") ? "[" + bind + "]" : bind;
            return host + ":" + gatewayPort();
        });
    }

    public java.time.Duration hostHeartbeatInterval() {
        return java.time.Duration.ofSeconds(integer(Setting.HOST_HEARTBEAT_INTERVAL));
    }

    public Optional<Path> clusterSecretFile() { return optional(Setting.CLUSTER_SECRET_FILE).map(Path::of); }

    public java.time.Duration hostDeadAfter() { return java.time.Duration.ofSeconds(integer(Setting.HOST_DEAD_AFTER)); }

    public Path storageImage() { return Path.of(values.get(Setting.STORAGE_IMAGE)); }
    public Optional<String> templateMirror() { return optional(Setting.TEMPLATE_MIRROR); }

    public int gatewayPort() { return integer(Setting.GATEWAY_PORT); }
    public String gatewayBind() { return values.get(Setting.GATEWAY_BIND); }
    public boolean gatewayOpenSignup() { return values.get(Setting.GATEWAY_SIGNUP).equals("open"); }
    public String boxTemplate() { return values.get(Setting.BOX_TEMPLATE); }
    public java.time.Duration boxIdleSuspend() { return java.time.Duration.ofSeconds(integer(Setting.BOX_IDLE_SUSPEND)); }
    public int boxMemMib() { return integer(Setting.BOX_MEM_MIB); }
    public int boxVcpus() { return integer(Setting.BOX_VCPUS); }
    public int maxBoxes() { return integer(Setting.MAX_BOXES); }
    public int poolMinFree() { return integer(Setting.POOL_VOLUMES_MIN_FREE); }
    public int poolMaxFree() { return integer(Setting.POOL_VOLUMES_MAX_FREE); }
    public int poolVolumesTotal() { return integer(Setting.POOL_VOLUMES_TOTAL); }
    public int poolInstancesMinFree() { return integer(Setting.POOL_INSTANCES_MIN_FREE); }
    public int poolInstancesMaxFree() { return integer(Setting.POOL_INSTANCES_MAX_FREE); }
    public int poolInstancesTotal() { return integer(Setting.POOL_INSTANCES_TOTAL); }
    public java.time.Duration poolCheckInterval() { return java.time.Duration.ofSeconds(integer(Setting.POOL_CHECK_INTERVAL)); }
    public java.time.Duration poolCooldown() { return java.time.Duration.ofSeconds(integer(Setting.POOL_SCALE_DOWN_COOLDOWN)); }

    public OptionalLong storageSize() {
        return optional(Setting.STORAGE_SIZE).map(v -> OptionalLong.of(ByteSize.parse(v))).orElse(OptionalLong.empty());
    }

    private void validate() {
        requireAbsolutePath(Setting.DATA_DIR);
        requireAbsolutePath(Setting.STORAGE_IMAGE);
        requirePort(Setting.API_PORT, 1);
        requirePort(Setting.PORT_MIN, 1024);
        requirePort(Setting.PORT_MAX, 1024);
        if (portMin() > portMax()) {
            throw bad(Setting.PORT_MIN, "must not be above PORT_MAX (" + portMax() + ")");
        }
        requireRange(Setting.MAX_DISK_SIZE_GIB, 1, 65536);
        requireRange(Setting.DEFAULT_DISK_SIZE_GIB, 1, maxDiskSizeGib());
        requireRange(Setting.DEFAULT_VCPU_COUNT, 1, 1024);
        requireRange(Setting.DEFAULT_MEM_SIZE_MIB, 128, 1024 * 1024);
        requireRange(Setting.TEMPLATE_SNAPSHOTS_MAX, 0, 64);
        requireRange(Setting.WARM_GUESTS, 0, 16);
        requirePort(Setting.GATEWAY_PORT, 1);
        requireRange(Setting.BOX_IDLE_SUSPEND, 1, 30 * 24 * 3600);
        requireRange(Setting.BOX_MEM_MIB, 128, 1024 * 1024);
        requireRange(Setting.BOX_VCPUS, 1, 1024);
        requireRange(Setting.MAX_BOXES, 1, 100_000);
        requireRange(Setting.POOL_VOLUMES_TOTAL, 1, 100_000);
        requireRange(Setting.POOL_VOLUMES_MAX_FREE, 0, poolVolumesTotal());
        requireRange(Setting.POOL_VOLUMES_MIN_FREE, 0, poolMaxFree());
        requireRange(Setting.POOL_INSTANCES_MAX_FREE, 0, 1000);
        requireRange(Setting.POOL_INSTANCES_MIN_FREE, 0, poolInstancesMaxFree());
        requireRange(Setting.POOL_INSTANCES_TOTAL, 1, 10000);
        requireRange(Setting.POOL_CHECK_INTERVAL, 1, 24 * 3600);
        requireRange(Setting.POOL_SCALE_DOWN_COOLDOWN, 0, 7 * 24 * 3600);
        if (!values.get(Setting.GATEWAY_SIGNUP).matches("registered|open")) {
            throw bad(Setting.GATEWAY_SIGNUP, "must be registered or open");
        }
        if (gatewayBind().isBlank()) {
            throw bad(Setting.GATEWAY_BIND, "must be an address");
        }
        requireRange(Setting.TCG_CACHE_MIB, 8, 4096);
        if (!kvmCpuModel().matches("[A-Za-z0-9][A-Za-z0-9._+=,-]{0,199}")) {
            throw bad(Setting.KVM_CPU_MODEL, "must be a QEMU CPU model name (qemu-system-x86_64 -cpu help lists them), or host");
        }
        if (!values.get(Setting.MAX_CONCURRENT_STARTS).strip().equals("auto")) {
            requireRange(Setting.MAX_CONCURRENT_STARTS, 1, 1000);
        }
        if (!accel().matches("auto|kvm|tcg")) {
            throw bad(Setting.ACCEL, "must be auto, kvm or tcg");
        }
        if (!values.get(Setting.NETWORK).matches("bridge|user")) {
            throw bad(Setting.NETWORK, "must be bridge or user");
        }
        if (!networkBridge().matches("[a-z][a-z0-9]{0,14}")) {
            throw bad(Setting.NETWORK_BRIDGE, "must be a lower-case interface name of at most 15 letters and digits");
        }
        Optional<Subnet> cidr = Subnet.parse(values.get(Setting.NETWORK_CIDR));
        if (cidr.isEmpty() || cidr.get().prefix() < 8 || cidr.get().prefix() > 29) {
            throw bad(Setting.NETWORK_CIDR, "must be an IPv4 network A.B.C.D/N, N from 8 to 29, with no host bits set");
        }
        if (bridged() && !bindAddress().matches("0\\.0\\.0\\.0|::")
                && Subnet.parse(bindAddress()).filter(a -> a.prefix() == 32).isEmpty()) {
            throw bad(Setting.BIND_ADDRESS, "must be an IPv4 address, 0.0.0.0 or :: with NETWORK=bridge");
        }
        for (Setting s : List.of(Setting.EGRESS_DEFAULT, Setting.BOX_EGRESS)) {
            try {
                egress(s);
            } catch (ScaleboxException e) {
                throw bad(s, e.getMessage());
            }
        }
        if (bindAddress().isBlank()) {
            throw bad(Setting.BIND_ADDRESS, "must be an address");
        }
        requirePort(Setting.HTTPS_PORT, 1);
        httpDomain().ifPresent(domain -> {
            if (!domain.matches("([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
                    || domain.length() > 200) {
                throw bad(Setting.HTTP_DOMAIN, "must be a lower-case DNS name such as vms.example.com");
            }
            if (!bridged()) {
                throw bad(Setting.HTTP_DOMAIN, "needs NETWORK=bridge: Caddy reaches each VM at its address on the bridge");
            }
        });
        if (httpsBind().isBlank()) {
            throw bad(Setting.HTTPS_BIND, "must be an address");
        }
        httpAcmeEmail().ifPresent(email -> {
            if (!email.matches("[^@\\s]+@[^@\\s]+\\.[^@\\s]+")) {
                throw bad(Setting.HTTP_ACME_EMAIL, "must be an email address");
            }
        });
        if (apiBind().isBlank()) {
            throw bad(Setting.API_BIND, "must be an address");
        }
        apiToken().ifPresent(t -> {
            if (t.length() < 16 || !t.matches("[\\x21-\\x7e]+")) {
                throw bad(Setting.API_TOKEN, "must be at least 16 printable characters without spaces");
            }
        });
        optional(Setting.STORE_URL).ifPresent(url -> {
            if (!StoreUrl.valid(url)) {
                throw bad(Setting.STORE_URL, "must be jdbc:postgresql://HOST[:PORT]/DATABASE");
            }
        });
        for (Setting s : List.of(Setting.STORE_PASSWORD_FILE, Setting.CLUSTER_SECRET_FILE)) {
            optional(s).ifPresent(file -> {
                if (!Path.of(file).isAbsolute()) {
                    throw bad(s, "must be an absolute path");
                }
                if (!Files.isReadable(Path.of(file))) {
                    throw bad(s, "cannot be read: " + file);
                }
            });
        }
        optional(Setting.HOST_NAME).ifPresent(name -> {
            if (!HostName.valid(name)) {
                throw bad(Setting.HOST_NAME, "must be one lower-case DNS label: letters, digits and dashes, at most 63");
            }
        });
        optional(Setting.HOST_URL).ifPresent(url -> {
            if (!url.matches("https?://([A-Za-z0-9.\\-]+|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?") || url.length() > 400) {
                throw bad(Setting.HOST_URL, "must be http(s)://HOST[:PORT], with no path");
            }
        });
        optional(Setting.HOST_GATEWAY).ifPresent(address -> {
            if (!address.matches("([A-Za-z0-9.\\-]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}") || address.length() > 300) {
                throw bad(Setting.HOST_GATEWAY, "must be HOST:PORT");
            }
        });
        requireRange(Setting.HOST_HEARTBEAT_INTERVAL, 1, 60);
        requireRange(Setting.HOST_DEAD_AFTER, 2 * integer(Setting.HOST_HEARTBEAT_INTERVAL), 3600);
        optional(Setting.STORAGE_SIZE).ifPresent(v -> {
            try {
                ByteSize.parse(v);
            } catch (IllegalArgumentException e) {
                throw bad(Setting.STORAGE_SIZE, e.getMessage());
            }
        });
    }

    private void requireAbsolutePath(Setting s) {
        if (!Path.of(values.get(s)).isAbsolute()) {
            throw bad(s, "must be an absolute path");
        }
    }

    private void requirePort(Setting s, int min) {
        requireRange(s, min, 65535);
    }

    private void requireRange(Setting s, int min, int max) {
        int v;
        try {
            v = Integer.parseInt(values.get(s).strip());
        } catch (NumberFormatException e) {
            throw bad(s, "is not a whole number");
        }
        if (v < min || v > max) {
            throw bad(s, "must be between " + min + " and " + max);
        }
    }

    private int integer(Setting s) {
        return Integer.parseInt(values.get(s).strip());
    }

    private Optional<String> optional(Setting s) {
        return Optional.ofNullable(values.get(s));
    }

    private ConfigException bad(Setting s, String why) {
        return new ConfigException("Invalid setting " + s.name() + "='" + values.get(s) + "' (from "
                + sources.get(s) + "): " + why);
    }

    private static Map<Setting, String> readYaml(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("Configuration file " + file + " does not exist");
        }
        JsonNode root;
        try {
            ObjectMapper yaml = new YAMLMapper();
            root = yaml.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new ConfigException("Configuration file " + file + " is not valid YAML: " + e.getOriginalMessage());
        }
        Map<Setting, String> values = new EnumMap<>(Setting.class);
        if (root == null || root.isMissingNode() || root.isNull()) {
            return values;
        }
        if (!root.isObject()) {
            throw new ConfigException("Configuration file " + file + " must be a mapping of setting: value");
        }
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            Setting s;
            try {
                s = Setting.valueOf(e.getKey().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException unknown) {
                throw new ConfigException("Configuration file " + file + ": unknown setting '" + e.getKey() + "'");
            }
            if (!e.getValue().isValueNode()) {
                throw new ConfigException("Configuration file " + file + ": " + e.getKey() + " must be a single value");
            }
            values.put(s, e.getValue().asString());
        }
        return values;
    }
}

package dev.scalebox.config;

import java.util.Optional;

/**
 * Every setting Scalebox reads, by its environment variable name (the original scalebox's names).
 * In a YAML file the same names are written in lower case ({@code data_dir: /srv/scalebox}).
 */
public enum Setting {
    DATA_DIR("/var/lib/scalebox", "the data directory"),
    API_PORT("8080", "the HTTP API port"),
    API_BIND("127.0.0.1", "the address the HTTP API listens on"),
    API_TOKEN(null, "the API bearer token (generated into DATA_DIR/api-token when unset)"),
    PORT_MIN("22001", "the lowest host port forwarded to a VM's SSH"),
    PORT_MAX("32000", "the highest host port forwarded to a VM's SSH"),
    BIND_ADDRESS("127.0.0.1", "the host address VMs' SSH ports are forwarded on"),
    SSH_HOST(null, "the host name put in VMs' ssh commands (default BIND_ADDRESS, or 127.0.0.1 for a wildcard)"),
    NETWORK("bridge", "the guests' network: bridge (a bridge of Scalebox's own, guests isolated from the host) or user"
            + " (QEMU's user-mode network, in which guests reach the host's loopback)"),
    NETWORK_BRIDGE("scalebox0", "the name of the guests' bridge, also the name of Scalebox's nftables tables"),
    NETWORK_CIDR("10.77.0.0/16", "the guests' IPv4 subnet on the bridge; the bridge takes its first address"),
    EGRESS_DEFAULT("internet", "where a VM may connect to when its create gives no egress: internet (public addresses),"
            + " all (the private ranges too), none, or a comma-separated list of CIDR or CIDR:port"),
    BOX_EGRESS("internet", "where boxes of the gateway may connect to, in the form of EGRESS_DEFAULT"),
    HTTP_DOMAIN(null, "the domain under which each VM is published at https://NAME.HTTP_DOMAIN through Caddy;"
            + " unset, VMs have no HTTPS address"),
    HTTPS_PORT("443", "the port of the VMs' HTTPS addresses"),
    HTTPS_BIND("127.0.0.1", "the address Caddy listens on for the VMs' HTTPS addresses"),
    HTTP_ACME_EMAIL(null, "with a public HTTP_DOMAIN, the email for ACME (Let's Encrypt) certificates; unset,"
            + " Caddy's internal CA signs them"),
    ACCEL("auto", "the accelerator: auto (KVM when usable, else TCG), kvm or tcg"),
    MAX_CONCURRENT_STARTS("auto", "how much starting work (boots, resumes, golden states, ready boxes, warm instances,"
            + " warm guests, snapshot copies) runs at once, in cores: a boot costs its vCPUs under TCG, anything else 1; auto is the cores"),
    KVM_CPU_MODEL("host", "the CPU model guests see under KVM: host (this host's own CPU), or a QEMU model all the hosts"
            + " of a store have (e.g. EPYC-v4, Skylake-Server-v4), so that boxes' memory resumes on any of them"),
    TCG_CACHE_MIB("64", "the translation cache of each VM under TCG, MiB: smaller saves host memory, larger boots faster"),
    DEFAULT_VCPU_COUNT("2", "the vCPUs of a VM when the request gives none"),
    DEFAULT_MEM_SIZE_MIB("2048", "the memory of a VM when the request gives none"),
    TEMPLATE_SNAPSHOTS_MAX("4", "how many memory snapshots (one per VM shape) each template keeps, the least recently"
            + " used dropped first; VMs of a shape with one start by resuming it; 0: every VM boots"),
    WARM_GUESTS("1", "how many guests resumed from a template's snapshot wait, idle and unreachable, for the next creates"
            + " of its shape (the default shape from the start, any other once a create used it); 0: each create resumes"
            + " its own"),
    DEFAULT_DISK_SIZE_GIB("2", "the disk size of a VM when the request gives none (its template's when larger)"),
    MAX_DISK_SIZE_GIB("100", "the largest disk size a request may ask for"),
    STORE_URL(null, "the shared store of several hosts, jdbc:postgresql://HOST[:PORT]/DATABASE; unset, the store is"
            + " SQLite in DATA_DIR"),
    STORE_USER(null, "the PostgreSQL user of STORE_URL (the driver's default when unset)"),
    STORE_PASSWORD_FILE(null, "a file holding the PostgreSQL password of STORE_URL (none when unset)"),
    HOST_NAME(null, "this host's name among the hosts of a shared store (default the machine's hostname, up to its first dot)"),
    HOST_URL(null, "the address other hosts reach this host's API at, http(s)://HOST[:PORT] on the cluster network"
            + " (default http://API_BIND:API_PORT, with the host's name for a wildcard API_BIND)"),
    HOST_GATEWAY(null, "the address other hosts reach this host's SSH gateway at, HOST:PORT on the cluster network"
            + " (default GATEWAY_BIND:GATEWAY_PORT, with the host's name for a wildcard GATEWAY_BIND)"),
    HOST_HEARTBEAT_INTERVAL("5", "seconds between two heartbeats of this host"),
    HOST_DEAD_AFTER("30", "seconds without a heartbeat after which a host is down"),
    CLUSTER_SECRET_FILE(null, "a file holding the secret the hosts of a store share (32 characters or more), with which"
            + " they pass each other the actions on their VMs; unset, an action on another host's VM is refused"),
    STORAGE_IMAGE("/var/lib/scalebox.img", "the loop image of the btrfs pool"),
    STORAGE_SIZE(null, "the size of the btrfs pool image (e.g. 100G); automatic when unset"),
    TEMPLATE_MIRROR(null, "the Debian mirror for template builds; mmdebstrap's default when unset"),
    GATEWAY_PORT("2222", "the SSH gateway's port"),
    GATEWAY_BIND("127.0.0.1", "the address the SSH gateway listens on"),
    GATEWAY_SIGNUP("registered", "who gets a box: registered (keys added through /users) or open (any key)"),
    BOX_TEMPLATE("debian-base", "the template new boxes are made from"),
    BOX_IDLE_SUSPEND("300", "seconds a box stays up after its last session closes, before it is suspended"),
    BOX_MEM_MIB("1024", "memory of each box, MiB"),
    BOX_VCPUS("2", "vCPUs of each box"),
    MAX_BOXES("100", "the most users' boxes this host keeps"),
    POOL_VOLUMES_MIN_FREE("2", "ready boxes kept for new users when none were asked for lately"),
    POOL_VOLUMES_MAX_FREE("5", "ready boxes kept while new users keep coming"),
    POOL_VOLUMES_TOTAL("105", "the most box volumes (users' boxes, ready ones and ones being made) this host keeps"),
    POOL_INSTANCES_MIN_FREE("1", "warm instances (blank QEMUs waiting for a box to resume) kept when no new user came lately"),
    POOL_INSTANCES_MAX_FREE("2", "warm instances kept while new users keep coming"),
    POOL_INSTANCES_TOTAL("50", "the most box instances (QEMUs of boxes: in use, warm, being made) running at once"),
    POOL_CHECK_INTERVAL("30", "seconds between two checks of the pool"),
    POOL_SCALE_DOWN_COOLDOWN("120", "seconds without a new user before the pool shrinks back to its minimum");

    private final String defaultValue;
    private final String description;

    Setting(String defaultValue, String description) {
        this.defaultValue = defaultValue;
        this.description = description;
    }

    public Optional<String> defaultValue() {
        return Optional.ofNullable(defaultValue);
    }

    public String description() {
        return description;
    }

    /** The key of this setting in a YAML configuration file. */
    public String yamlKey() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}

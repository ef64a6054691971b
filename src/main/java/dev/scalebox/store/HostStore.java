package dev.scalebox.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.ToIntFunction;

/**
 * Host records: each host writes its own row on every heartbeat; the leader marks a host
 * {@code down}, and only while its beats have not moved since the leader last looked.
 */
public final class HostStore {

    /**
     * A host: the URL other hosts reach its API at, the name clients ssh to for its VMs, its state
     * ({@code up}, {@code draining}, {@code down}) and why, its capacity and load (the one-minute
     * load average, in thousandths), the QEMU and CPU that its memory states need, its beats, and
     * where other hosts reach its SSH gateway ({@code HOST:PORT}) and the gateway's host key (both
     * null before its gateway started), and its box pool (null too).
     */
    public record Row(String name, String url, String sshHost, String state, String stateReason, int cores,
                      long memTotalMib, long memFreeMib, long poolTotalBytes, long poolFreeBytes, int loadMilli,
                      String qemuVersion, String cpuModel, long beats, Instant startedAt, Instant heartbeatAt,
                      String gateway, String gatewayHostKey, BoxPool boxPool) {
    }

    /**
     * A box pool's levels: ready boxes, warm instances, box instances (running boxes and warm ones)
     * against POOL_INSTANCES_TOTAL, and box volumes against POOL_VOLUMES_TOTAL.
     */
    public record BoxPool(int ready, int warm, int instances, int instancesTotal, int volumes, int volumesTotal) {

        /** Whether one more box can resume here: under the total, or in a warm instance. */
        public boolean hasInstanceRoom() {
            return instances < instancesTotal || warm > 0;
        }

        public BoxPool plus(BoxPool o) {
            return new BoxPool(ready + o.ready, warm + o.warm, instances + o.instances, instancesTotal + o.instancesTotal,
                    volumes + o.volumes, volumesTotal + o.volumesTotal);
        }
    }

    /** The box pools of {@code hosts} hosts (those not down) added up, by the leader {@code keptBy} at {@code keptAt}. */
    public record BoxPoolTotals(int hosts, BoxPool pool, String keptBy, Instant keptAt) {
    }

    private final Database db;

    HostStore(Database db) {
        this.db = db;
    }

    /**
     * One heartbeat of {@code r.name()}: its facts written, its beats counted up, and a host that
     * was down up again; a drained host stays drained.
     */
    public void beat(Row r) {
        db.update("record the heartbeat of host " + r.name(), "INSERT INTO hosts (name, url, ssh_host, state, state_reason,"
                        + " cores, mem_total_mib, mem_free_mib, pool_total_bytes, pool_free_bytes, load_milli, qemu_version,"
                        + " cpu_model, beats, started_at, heartbeat_at, gateway, gateway_host_key, box_ready, box_warm,"
                        + " box_instances, box_instances_total, box_volumes, box_volumes_total)"
                        + " VALUES (?,?,?,'up',NULL,?,?,?,?,?,?,?,?,1,?,?,?,?,?,?,?,?,?,?)"
                        + " ON CONFLICT (name) DO UPDATE SET url = excluded.url, ssh_host = excluded.ssh_host,"
                        + " state = 'up', state_reason = NULL,"
                        + " cores = excluded.cores, mem_total_mib = excluded.mem_total_mib,"
                        + " mem_free_mib = excluded.mem_free_mib, pool_total_bytes = excluded.pool_total_bytes,"
                        + " pool_free_bytes = excluded.pool_free_bytes, load_milli = excluded.load_milli,"
                        + " qemu_version = excluded.qemu_version, cpu_model = excluded.cpu_model,"
                        + " beats = hosts.beats + 1, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,"
                        + " gateway = excluded.gateway, gateway_host_key = excluded.gateway_host_key,"
                        + " box_ready = excluded.box_ready, box_warm = excluded.box_warm,"
                        + " box_instances = excluded.box_instances, box_instances_total = excluded.box_instances_total,"
                        + " box_volumes = excluded.box_volumes, box_volumes_total = excluded.box_volumes_total",
                r.name(), r.url(), r.sshHost(), r.cores(), r.memTotalMib(), r.memFreeMib(), r.poolTotalBytes(),
                r.poolFreeBytes(), r.loadMilli(), r.qemuVersion(), r.cpuModel(), r.startedAt().toString(),
                r.heartbeatAt().toString(), r.gateway(), r.gatewayHostKey(),
                pool(r, BoxPool::ready), pool(r, BoxPool::warm), pool(r, BoxPool::instances),
                pool(r, BoxPool::instancesTotal), pool(r, BoxPool::volumes), pool(r, BoxPool::volumesTotal));
    }

    private static Integer pool(Row r, ToIntFunction<BoxPool> level) {
        return r.boxPool() == null ? null : level.applyAsInt(r.boxPool());
    }

    /** Writes the box pools' totals, as the leader keeps them. */
    public void keepTotals(BoxPoolTotals t) {
        BoxPool p = t.pool();
        db.update("keep the box pools' totals", "INSERT INTO box_pool_totals (id, hosts, ready, warm, instances,"
                        + " instances_total, volumes, volumes_total, kept_by, kept_at) VALUES (1,?,?,?,?,?,?,?,?,?)"
                        + " ON CONFLICT (id) DO UPDATE SET hosts = excluded.hosts, ready = excluded.ready,"
                        + " warm = excluded.warm, instances = excluded.instances, instances_total = excluded.instances_total,"
                        + " volumes = excluded.volumes, volumes_total = excluded.volumes_total, kept_by = excluded.kept_by,"
                        + " kept_at = excluded.kept_at",
                t.hosts(), p.ready(), p.warm(), p.instances(), p.instancesTotal(), p.volumes(), p.volumesTotal(), t.keptBy(),
                t.keptAt().toString());
    }

    /** The box pools' totals as the leader last kept them; empty before any leader did. */
    public Optional<BoxPoolTotals> totals() {
        return db.query("read the box pools' totals", "SELECT * FROM box_pool_totals WHERE id = 1", rs ->
                new BoxPoolTotals(rs.getInt("hosts"), boxPool(rs, ""), rs.getString("kept_by"),
                        Instant.parse(rs.getString("kept_at"))))
                .stream().findFirst();
    }

    /** Marks {@code name} down with {@code reason}, unless it has beaten since it was seen at {@code beats}. */
    public boolean markDown(String name, long beats, String reason) {
        return db.update("mark host " + name + " down", "UPDATE hosts SET state = 'down', state_reason = ?"
                + " WHERE name = ? AND beats = ? AND state <> 'down'", reason, name, beats) > 0;
    }

    /** Drains host {@code name} (no new VMs go there), or undrains it; false when there is no such host. */
    public boolean drain(String name, boolean draining) {
        return db.update("drain host " + name, "UPDATE hosts SET draining = ? WHERE name = ?", draining ? 1 : 0, name) > 0;
    }

    public Optional<Row> find(String name) {
        return db.query("read hosts", "SELECT * FROM hosts WHERE name = ?", HostStore::row, name).stream().findFirst();
    }

    public List<Row> list() {
        return db.query("read hosts", "SELECT * FROM hosts ORDER BY name", HostStore::row);
    }

    /** A drained host that is up reads {@code draining}; one that is down reads {@code down}. */
    private static Row row(ResultSet rs) throws SQLException {
        boolean drained = rs.getInt("draining") != 0 && rs.getString("state").equals("up");
        return new Row(rs.getString("name"), rs.getString("url"), rs.getString("ssh_host"),
                drained ? "draining" : rs.getString("state"),
                drained ? "drained: it takes no new VMs until undrained" : rs.getString("state_reason"),
                rs.getInt("cores"), rs.getLong("mem_total_mib"), rs.getLong("mem_free_mib"),
                rs.getLong("pool_total_bytes"), rs.getLong("pool_free_bytes"), rs.getInt("load_milli"),
                rs.getString("qemu_version"), rs.getString("cpu_model"), rs.getLong("beats"),
                Instant.parse(rs.getString("started_at")), Instant.parse(rs.getString("heartbeat_at")),
                rs.getString("gateway"), rs.getString("gateway_host_key"),
                rs.getObject("box_ready") == null ? null : boxPool(rs, "box_"));
    }

    /** A box pool read from the columns named {@code prefix} and its levels. */
    private static BoxPool boxPool(ResultSet rs, String prefix) throws SQLException {
        return new BoxPool(rs.getInt(prefix + "ready"), rs.getInt(prefix + "warm"), rs.getInt(prefix + "instances"),
                rs.getInt(prefix + "instances_total"), rs.getInt(prefix + "volumes"), rs.getInt(prefix + "volumes_total"));
    }
}

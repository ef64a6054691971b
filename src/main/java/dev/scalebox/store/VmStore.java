package dev.scalebox.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * VM records, as one host sees them: {@link #list} and the new records it makes are its own,
 * {@link #find} and {@link #listAll} reach every host's. Names and SSH ports are unique across the
 * store, so two creates can never take the same one.
 */
public final class VmStore {

    /**
     * A stored VM; {@code status} is the lower-case state name, {@code box} whether it is a box
     * of the gateway, whose disk is a volume; {@code ip} its address on the bridge (null until it
     * has one), {@code egress} where it may connect to, in its stored form, {@code httpPort} the
     * port of its web server that its HTTPS address leads to; {@code startedFrom} how its guest
     * last came to run ({@code snapshot} or {@code boot}, null before), {@code sshHostKey} the
     * public SSH host key Scalebox made for it; {@code host} the host it lives on (null in a new
     * row: the store's own host).
     */
    public record Row(String id, String name, String template, String status, String statusReason, int vcpuCount,
                      int memSizeMib, int diskSizeGib, int sshPort, Instant createdAt, boolean box, String ip,
                      String egress, int httpPort, String startedFrom, String sshHostKey, String host) {
        /** A VM that has not run yet. */
        public Row(String id, String name, String template, String status, String statusReason, int vcpuCount,
                   int memSizeMib, int diskSizeGib, int sshPort, Instant createdAt, boolean box, String ip,
                   String egress, int httpPort) {
            this(id, name, template, status, statusReason, vcpuCount, memSizeMib, diskSizeGib, sshPort, createdAt, box, ip,
                    egress, httpPort, null, null, null);
        }

        public Row withStatus(String newStatus, String reason) {
            return new Row(id, name, template, newStatus, reason, vcpuCount, memSizeMib, diskSizeGib, sshPort, createdAt,
                    box, ip, egress, httpPort, startedFrom, sshHostKey, host);
        }

        public Row withSizes(int vcpus, int memMib, int diskGib) {
            return new Row(id, name, template, status, statusReason, vcpus, memMib, diskGib, sshPort, createdAt, box, ip,
                    egress, httpPort, startedFrom, sshHostKey, host);
        }

        public Row withNetwork(String newIp, String newEgress) {
            return new Row(id, name, template, status, statusReason, vcpuCount, memSizeMib, diskSizeGib, sshPort, createdAt,
                    box, newIp, newEgress, httpPort, startedFrom, sshHostKey, host);
        }
    }

    private final Database db;
    private final String host;

    VmStore(Database db, String host) {
        this.db = db;
        this.host = host;
    }

    /** Inserts a new VM, on this store's host unless the row names another; false when its name or port is taken. */
    public boolean insert(Row r) {
        return db.update("save VM " + r.id(), "INSERT INTO vms (id, name, template, status, status_reason, vcpu_count,"
                        + " mem_size_mib, disk_size_gib, ssh_port, created_at, kind, ip, egress, http_port, host)"
                        + " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                r.id(), r.name(), r.template(), r.status(), r.statusReason(), r.vcpuCount(), r.memSizeMib(),
                r.diskSizeGib(), r.sshPort(), r.createdAt().toString(), r.box() ? "box" : "vm", r.ip(), r.egress(),
                r.httpPort(), r.host() == null ? host : r.host()) >= 0;
    }

    public void update(Row r) {
        db.update("update VM " + r.id(), "UPDATE vms SET status = ?, status_reason = ?, vcpu_count = ?,"
                        + " mem_size_mib = ?, disk_size_gib = ?, ssh_port = ? WHERE id = ?",
                r.status(), r.statusReason(), r.vcpuCount(), r.memSizeMib(), r.diskSizeGib(), r.sshPort(), r.id());
    }

    /** Sets the VM's address and egress; {@link #update} leaves both alone, so a row read earlier cannot undo this. */
    public void setNetwork(String id, String ip, String egress) {
        db.update("set the network of VM " + id, "UPDATE vms SET ip = ?, egress = ? WHERE id = ?", ip, egress, id);
    }

    /** Records how the VM's guest came to run, and the host key it runs with (kept when null). */
    public void setStart(String id, String startedFrom, String sshHostKey) {
        db.update("record the start of VM " + id, "UPDATE vms SET started_from = ?, ssh_host_key = COALESCE(?, ssh_host_key)"
                + " WHERE id = ?", startedFrom, sshHostKey, id);
    }

    /**
     * Makes VM {@code id} host {@code to}'s, with no address (its new host gives one); false when
     * it is not this host's.
     */
    public boolean handOver(String id, String to) {
        return db.update("hand VM " + id + " over to host " + to, "UPDATE vms SET host = ?, ip = NULL WHERE id = ? AND host = ?",
                to, id, host) > 0;
    }

    /** Gives VM {@code id} another name; false when the name is taken. */
    public boolean rename(String id, String name) {
        return db.update("rename VM " + id, "UPDATE vms SET name = ? WHERE id = ?", name, id) >= 0;
    }

    public Optional<Row> find(String idOrName) {
        return db.query("read VMs", "SELECT * FROM vms WHERE id = ? OR name = ?", VmStore::row, idOrName, idOrName)
                .stream().findFirst();
    }

    /** This host's VMs. */
    public List<Row> list() {
        return db.query("read VMs", "SELECT * FROM vms WHERE host = ? ORDER BY created_at, id", VmStore::row, host);
    }

    /** Every host's VMs. */
    public List<Row> listAll() {
        return db.query("read VMs", "SELECT * FROM vms ORDER BY created_at, id", VmStore::row);
    }

    /** How many VMs each host holds, counted by the store. */
    public java.util.Map<String, Long> countByHost() {
        return db.query("count VMs", "SELECT host, COUNT(*) AS vms FROM vms WHERE host IS NOT NULL GROUP BY host",
                        rs -> java.util.Map.entry(rs.getString("host"), rs.getLong("vms"))).stream()
                .collect(java.util.stream.Collectors.toMap(java.util.Map.Entry::getKey, java.util.Map.Entry::getValue));
    }

    /** The host this store's new VMs and {@link #list} belong to. */
    public String host() {
        return host;
    }

    public void delete(String id) {
        db.update("delete VM " + id, "DELETE FROM vms WHERE id = ?", id);
    }

    private static Row row(ResultSet rs) throws SQLException {
        return new Row(rs.getString("id"), rs.getString("name"), rs.getString("template"), rs.getString("status"),
                rs.getString("status_reason"), rs.getInt("vcpu_count"), rs.getInt("mem_size_mib"),
                rs.getInt("disk_size_gib"), rs.getInt("ssh_port"), Instant.parse(rs.getString("created_at")),
                "box".equals(rs.getString("kind")), rs.getString("ip"), rs.getString("egress"),
                rs.getInt("http_port"), rs.getString("started_from"), rs.getString("ssh_host_key"),
                rs.getString("host"));
    }
}

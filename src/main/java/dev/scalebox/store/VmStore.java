package dev.scalebox.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** VM records. Names and SSH ports are unique, so two creates can never take the same one. */
public final class VmStore {

    /** A stored VM; {@code status} is the lower-case state name. */
    public record Row(String id, String name, String template, String status, String statusReason, int vcpuCount,
                      int memSizeMib, int diskSizeGib, int sshPort, Instant createdAt) {
        public Row withStatus(String newStatus, String reason) {
            return new Row(id, name, template, newStatus, reason, vcpuCount, memSizeMib, diskSizeGib, sshPort, createdAt);
        }

        public Row withSizes(int vcpus, int memMib, int diskGib) {
            return new Row(id, name, template, status, statusReason, vcpus, memMib, diskGib, sshPort, createdAt);
        }
    }

    private final Database db;

    VmStore(Database db) {
        this.db = db;
    }

    /** Inserts a new VM; false when its name or port is taken. */
    public boolean insert(Row r) {
        try (Connection c = db.connection();
             PreparedStatement st = c.prepareStatement("INSERT INTO vms (id, name, template, status, status_reason,"
                     + " vcpu_count, mem_size_mib, disk_size_gib, ssh_port, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)")) {
            bind(st, r);
            st.executeUpdate();
            return true;
        } catch (SQLException e) {
            if (e.getMessage() != null && e.getMessage().contains("UNIQUE")) {
                return false;
            }
            throw new StoreException("save VM " + r.id(), e);
        }
    }

    public void update(Row r) {
        try (Connection c = db.connection();
             PreparedStatement st = c.prepareStatement("UPDATE vms SET status = ?, status_reason = ?, vcpu_count = ?,"
                     + " mem_size_mib = ?, disk_size_gib = ?, ssh_port = ? WHERE id = ?")) {
            st.setString(1, r.status());
            st.setString(2, r.statusReason());
            st.setInt(3, r.vcpuCount());
            st.setInt(4, r.memSizeMib());
            st.setInt(5, r.diskSizeGib());
            st.setInt(6, r.sshPort());
            st.setString(7, r.id());
            st.executeUpdate();
        } catch (SQLException e) {
            throw new StoreException("update VM " + r.id(), e);
        }
    }

    public Optional<Row> find(String idOrName) {
        return query("SELECT * FROM vms WHERE id = ? OR name = ?", idOrName).stream().findFirst();
    }

    public List<Row> list() {
        return query("SELECT * FROM vms ORDER BY created_at, id", null);
    }

    public void delete(String id) {
        try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement("DELETE FROM vms WHERE id = ?")) {
            st.setString(1, id);
            st.executeUpdate();
        } catch (SQLException e) {
            throw new StoreException("delete VM " + id, e);
        }
    }

    private static void bind(PreparedStatement st, Row r) throws SQLException {
        st.setString(1, r.id());
        st.setString(2, r.name());
        st.setString(3, r.template());
        st.setString(4, r.status());
        st.setString(5, r.statusReason());
        st.setInt(6, r.vcpuCount());
        st.setInt(7, r.memSizeMib());
        st.setInt(8, r.diskSizeGib());
        st.setInt(9, r.sshPort());
        st.setString(10, r.createdAt().toString());
    }

    private List<Row> query(String sql, String key) {
        try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement(sql)) {
            if (key != null) {
                st.setString(1, key);
                st.setString(2, key);
            }
            List<Row> rows = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Row(rs.getString("id"), rs.getString("name"), rs.getString("template"),
                            rs.getString("status"), rs.getString("status_reason"), rs.getInt("vcpu_count"),
                            rs.getInt("mem_size_mib"), rs.getInt("disk_size_gib"), rs.getInt("ssh_port"),
                            Instant.parse(rs.getString("created_at"))));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new StoreException("read VMs", e);
        }
    }
}
